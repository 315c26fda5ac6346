//! 照会番号 registration: `OQSsiimm01req` registers the facility's own patient ID against a
//! qualification; `OQSmuimm01req` registers many and is answered with a ReceptionNumber whose
//! results `OQSmuimm02req` fetches. The server answers bulk registrations at once, so the
//! terminal keeps their results in its state folder until they are asked for.
//!
//! The real ReferenceNumberRegistrationInfo carries no birthdate; the server's search needs one,
//! so it comes from an optional `Birthdate` element or from the patient book (see `patients`).

use std::sync::atomic::{AtomicU64, Ordering};

use onshi_proto::v1::{
    QualificationConfirmSearchInfo, ReferenceNumberRegistration, ReferenceNumberResult, RegisterReferenceNumberRequest,
    RegisterReferenceNumbersRequest, RequestHeader, ResultHeader,
};

use super::{Answer, Context, failed_header, now_compact, request_header, status_header};
use crate::error_codes;
use crate::layout;
use crate::xml_in::{self, Document, Element};
use crate::xml_out::XmlOut;

/// The most registrations one gRPC call carries.
const PER_CALL: usize = 1_000;

/// A registration read from the file, or why it cannot be sent.
struct Entry {
    registration: ReferenceNumberRegistration,
    missing_birthdate: bool,
}

fn entry(ctx: &Context, e: &Element) -> Entry {
    let mut info = QualificationConfirmSearchInfo {
        insurer_number: e.text_of("InsurerNumber").to_owned(),
        insured_card_symbol: e.text_of("InsuredCardSymbol").to_owned(),
        insured_identification_number: e.text_of("InsuredIdentificationNumber").to_owned(),
        insured_branch_number: e.text_of("InsuredBranchNumber").to_owned(),
        birthdate: e.text_of("Birthdate").to_owned(),
        ..Default::default()
    };
    if info.birthdate.is_empty()
        && let Some(p) = ctx.patients.find(
            &info.insurer_number,
            &info.insured_card_symbol,
            &info.insured_identification_number,
            &info.insured_branch_number,
        )
    {
        info.birthdate = p.birthdate;
    }
    Entry {
        missing_birthdate: info.birthdate.is_empty(),
        registration: ReferenceNumberRegistration {
            qualification_confirm_search_info: Some(info),
            reference_number: e.text_of("ReferenceNumber").to_owned(),
        },
    }
}

const BIRTHDATE_UNKNOWN: &str =
    "生年月日が不明です。先に資格確認（カード読取または OQSsiquc01）を行うか、Birthdate を指定してください";

fn header_of(out: &mut XmlOut, h: &ResultHeader, ctx: &Context) {
    out.open("MessageHeader");
    layout::short_header_fields(out, h, ctx.encoding);
    out.close();
}

fn registration_info(out: &mut XmlOut, r: &ReferenceNumberRegistration) {
    let info = r.qualification_confirm_search_info.clone().unwrap_or_default();
    out.open("ReferenceNumberRegistrationInfo");
    out.leaf("ReferenceNumber", &r.reference_number);
    out.leaf("InsurerNumber", &layout::padded_insurer(&info.insurer_number));
    out.leaf("InsuredCardSymbol", &info.insured_card_symbol);
    out.leaf("InsuredIdentificationNumber", &info.insured_identification_number);
    out.leaf("InsuredBranchNumber", &info.insured_branch_number);
    out.close();
}

fn outcome(out: &mut XmlOut, r: &ReferenceNumberResult) {
    out.leaf("ProcessingResultStatus", &r.processing_result_status);
    out.leaf("ProcessingResultCode", &r.processing_result_code);
    out.leaf("ProcessingResultMessage", &r.processing_result_message);
    out.leaf("ReferenceNumber", &r.reference_number);
}

fn unknown_birthdate(r: &ReferenceNumberRegistration) -> ReferenceNumberResult {
    ReferenceNumberResult {
        processing_result_status: "2".into(),
        processing_result_code: error_codes::REQUEST_INCOMPLETE.into(),
        processing_result_message: BIRTHDATE_UNKNOWN.into(),
        reference_number: r.reference_number.clone(),
    }
}

pub async fn single(ctx: &Context, doc: &Document) -> Answer {
    let header = request_header(&doc.root);
    let e = doc.root.at(&["MessageBody", "ReferenceNumberRegistrationInfo"]).cloned().unwrap_or_default();
    let Entry { registration, missing_birthdate } = entry(ctx, &e);
    let mut out = XmlOut::new();
    if missing_birthdate {
        header_of(
            &mut out,
            &failed_header(ctx, &header, error_codes::REQUEST_INCOMPLETE, BIRTHDATE_UNKNOWN.into()),
            ctx,
        );
        out.open("MessageBody");
        registration_info(&mut out, &registration);
        out.close();
        return Answer::xml(out.finish(ctx.encoding), true);
    }
    let request = RegisterReferenceNumberRequest {
        message_header: Some(header.clone()),
        registration: Some(registration.clone()),
    };
    match ctx.qualification().register_reference_number(request).await {
        Ok(response) => {
            let response = response.into_inner();
            header_of(&mut out, &response.message_header.unwrap_or_default(), ctx);
            out.open("MessageBody");
            outcome(&mut out, &response.result.unwrap_or_default());
            registration_info(&mut out, &registration);
            out.close();
            Answer::xml(out.finish(ctx.encoding), false)
        }
        Err(status) => {
            header_of(&mut out, &status_header(ctx, &header, &status), ctx);
            out.open("MessageBody");
            registration_info(&mut out, &registration);
            out.close();
            Answer::xml(out.finish(ctx.encoding), true)
        }
    }
}

fn kept_result(ctx: &Context, reception: &str) -> std::path::PathBuf {
    ctx.state_dir.join("imm").join(format!("{reception}.xml"))
}

/// A reception number of this terminal's: the time and a counter, unique across restarts.
fn reception_number() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("IMM{}{:06}{n:04}", now_compact(), nanos / 1000)
}

pub async fn bulk_upload(ctx: &Context, doc: &Document) -> Answer {
    let header = request_header(&doc.root);
    let entries: Vec<Entry> = doc
        .root
        .child("MessageBody")
        .map(|b| b.children_named("ReferenceNumberRegistrationInfo").map(|e| entry(ctx, e)).collect())
        .unwrap_or_default();
    let mut results: Vec<Option<ReferenceNumberResult>> =
        entries.iter().map(|e| e.missing_birthdate.then(|| unknown_birthdate(&e.registration))).collect();
    let sendable: Vec<usize> = (0..entries.len()).filter(|i| results[*i].is_none()).collect();
    let mut out = XmlOut::new();
    for chunk in sendable.chunks(PER_CALL) {
        let request = RegisterReferenceNumbersRequest {
            message_header: Some(header.clone()),
            registrations: chunk.iter().map(|i| entries[*i].registration.clone()).collect(),
        };
        match ctx.qualification().register_reference_numbers(request).await {
            Ok(response) => {
                for (i, r) in chunk.iter().zip(response.into_inner().results) {
                    results[*i] = Some(r);
                }
            }
            Err(status) => {
                header_of(&mut out, &status_header(ctx, &header, &status), ctx);
                return Answer::xml(out.finish(ctx.encoding), true);
            }
        }
    }
    let reception = reception_number();
    keep_results(ctx, &reception, &header, &entries, &results);
    let h = ResultHeader {
        process_execution_time: now_compact(),
        medical_institution_code: if header.medical_institution_code.is_empty() {
            ctx.facility.clone()
        } else {
            header.medical_institution_code.clone()
        },
        arbitrary_file_identifier: header.arbitrary_file_identifier.clone(),
        segment_of_result: "1".into(),
        ..Default::default()
    };
    header_of(&mut out, &h, ctx);
    out.open("MessageBody");
    out.value("ReceptionNumber", &reception);
    out.value("ReceptionDateTime", &h.process_execution_time);
    out.close();
    Answer::xml(out.finish(ctx.encoding), false)
}

/// The results, kept as the body of the later `OQSmuimm02res` (UTF-8).
fn keep_results(
    ctx: &Context,
    reception: &str,
    header: &RequestHeader,
    entries: &[Entry],
    results: &[Option<ReferenceNumberResult>],
) {
    let mut out = XmlOut::new();
    out.open("MessageHeader");
    out.leaf("ArbitraryFileIdentifier", &header.arbitrary_file_identifier);
    out.close();
    out.open("MessageBody");
    for (e, r) in entries.iter().zip(results) {
        out.open("ReferenceNumberRegistrationUnit");
        registration_info(&mut out, &e.registration);
        outcome(&mut out, &r.clone().unwrap_or_default());
        out.close();
    }
    out.close();
    let _ = crate::files::write_atomically(&kept_result(ctx, reception), &out.finish(xml_in::TextEncoding::Utf8));
}

pub async fn bulk_result(ctx: &Context, doc: &Document) -> Answer {
    let header = request_header(&doc.root);
    let reception = doc
        .root
        .at(&["MessageBody", "ReceptionNumber"])
        .or_else(|| doc.root.at(&["MessageHeader", "ReceptionNumber"]))
        .map(|e| e.text.trim().to_owned())
        .unwrap_or_default();
    let safe = !reception.is_empty() && reception.bytes().all(|b| b.is_ascii_alphanumeric());
    let kept =
        safe.then(|| std::fs::read(kept_result(ctx, &reception)).ok()).flatten().and_then(|b| xml_in::read(&b).ok());
    let mut out = XmlOut::new();
    let Some(kept) = kept else {
        let message = format!("受付番号 {reception:?} の照会番号登録結果がありません");
        header_of(&mut out, &failed_header(ctx, &header, "EQ0004", message), ctx);
        return Answer::xml(out.finish(ctx.encoding), true);
    };
    let units: Vec<&Element> = kept
        .root
        .child("MessageBody")
        .map(|b| b.children_named("ReferenceNumberRegistrationUnit").collect())
        .unwrap_or_default();
    let normal = units.iter().filter(|u| u.text_of("ProcessingResultStatus") == "1").count();
    out.open("MessageHeader");
    out.value("ProcessExecutionTime", &now_compact());
    out.value(
        "MedicalInstitutionCode",
        if header.medical_institution_code.is_empty() { &ctx.facility } else { &header.medical_institution_code },
    );
    out.leaf("ArbitraryFileIdentifier", request_header(&kept.root).arbitrary_file_identifier.as_str());
    out.value("ReceptionNumber", &reception);
    out.value("SegmentOfResult", "1");
    out.value("NumberOfProcessingResult", &units.len().to_string());
    out.value("NumberOfNormalProcessing", &normal.to_string());
    out.value("NumberOfError", &(units.len() - normal).to_string());
    out.value("CharacterCodeIdentifier", ctx.encoding.identifier());
    out.close();
    out.open("MessageBody");
    for u in units {
        out.copy(u);
    }
    out.close();
    Answer::xml(out.finish(ctx.encoding), false)
}
