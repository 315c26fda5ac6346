//! `YZKsiquc01req` → `YZKsiquc01res`: 薬剤情報 (medication history) of a patient who consented at
//! the card reader. XML for FileCategory 2 and 4, PDF for 1 and 3. Its header differs from the
//! qualification messages' (InsuranceCardSymbol, InsuredPersonIdentificationNumber, BranchNumber),
//! and so do its answer's names (QuaInf, MeTrMonthInf, DiDateInf, DrugInf).

use onshi_proto::v1::{GetMedicationInfoRequest, MedicationInfoBody, PatientSearchInfo, RequestHeader, ResultHeader};

use super::{Answer, Context, failed_header, status_header};
use crate::error_codes;
use crate::patients::Patient;
use crate::pdf;
use crate::xml_in::Document;
use crate::xml_out::XmlOut;

/// Who a medical-information request is about, from the YZK/TKK header.
pub struct Subject {
    pub header: RequestHeader,
    pub search: PatientSearchInfo,
    pub patient: Option<Patient>,
}

const BIRTHDATE_UNKNOWN: &str = "生年月日が不明です。先に資格確認（カード読取または OQSsiquc01）を行うか、MessageHeader に Birthdate を指定してください";

/// Reads the header; the birthdate comes from an optional `Birthdate` element or the patient
/// book (the real request has none; see `patients`).
pub fn subject(ctx: &Context, doc: &Document) -> Result<Subject, Box<ResultHeader>> {
    let h = doc.root.child("MessageHeader").cloned().unwrap_or_default();
    let header = RequestHeader {
        qualification_confirmation_date: String::new(),
        medical_institution_code: h.text_of("MedicalInstitutionCode").to_owned(),
        arbitrary_file_identifier: h.text_of("ArbitraryFileIdentifier").to_owned(),
    };
    let mut search = PatientSearchInfo {
        insurer_number: h.text_of("InsurerNumber").to_owned(),
        insured_card_symbol: h.text_of("InsuranceCardSymbol").to_owned(),
        insured_identification_number: h.text_of("InsuredPersonIdentificationNumber").to_owned(),
        insured_branch_number: h.text_of("BranchNumber").to_owned(),
        birthdate: h.text_of("Birthdate").to_owned(),
    };
    let patient = ctx.patients.find(
        &search.insurer_number,
        &search.insured_card_symbol,
        &search.insured_identification_number,
        &search.insured_branch_number,
    );
    if search.birthdate.is_empty() {
        match &patient {
            Some(p) => search.birthdate = p.birthdate.clone(),
            None => {
                return Err(Box::new(failed_header(
                    ctx,
                    &header,
                    error_codes::REQUEST_INCOMPLETE,
                    BIRTHDATE_UNKNOWN.into(),
                )));
            }
        }
    }
    Ok(Subject { header, search, patient })
}

/// The header of a medical answer: the common fields, then ResultCode (1 success, 2 error) and
/// MessageContents (the error's text).
pub fn header(out: &mut XmlOut, ctx: &Context, h: &ResultHeader, ok: bool) {
    out.open("MessageHeader");
    crate::layout::short_header_fields(out, h, ctx.encoding);
    out.value("ResultCode", if ok { "1" } else { "2" });
    if !ok {
        out.leaf("MessageContents", &h.error_message);
    }
}

/// An answer that says why the request was refused.
pub fn refused(ctx: &Context, h: &ResultHeader) -> Answer {
    let mut out = XmlOut::new();
    header(&mut out, ctx, h, false);
    out.close();
    Answer::xml(out.finish(ctx.encoding), true)
}

pub async fn answer(ctx: &Context, doc: &Document) -> Answer {
    let subject = match subject(ctx, doc) {
        Ok(s) => s,
        Err(h) => return refused(ctx, &h),
    };
    let body = doc.root.child("MessageBody").cloned().unwrap_or_default();
    let category = body.text_of("FileCategory").to_owned();
    let pdf = match category.as_str() {
        "1" | "3" => true,
        "2" | "4" | "" => false,
        other => {
            let message = format!("FileCategory {other:?} は 1–4 のいずれかです");
            return refused(ctx, &failed_header(ctx, &subject.header, "EQ0001", message));
        }
    };
    let request = GetMedicationInfoRequest {
        message_header: Some(subject.header.clone()),
        patient_search_info: Some(subject.search.clone()),
        start_date: body.text_of("StartDate").to_owned(),
        end_date: body.text_of("EndDate").to_owned(),
    };
    let response = match ctx.medication().get_medication_info(request.clone()).await {
        Ok(r) => r.into_inner(),
        Err(status) => return refused(ctx, &status_header(ctx, &subject.header, &status)),
    };
    let h = response.message_header.unwrap_or_default();
    let b = response.message_body.unwrap_or_default();
    if pdf && b.processing_result_status == "1" {
        if let Some(font) = &ctx.font {
            match pdf::render(font, "薬剤情報", &pdf_lines(&subject, &request, &b, category == "3")) {
                Ok(bytes) => return Answer { bytes, pdf: true, refused: false },
                Err(e) => return refused(ctx, &failed_header(ctx, &subject.header, error_codes::OTHER, e)),
            }
        }
        let message =
            "PDF を作成できません: 日本語フォントがありません (fonts-ipafont-gothic, ONSHI_PDF_FONT)".to_owned();
        return refused(ctx, &failed_header(ctx, &subject.header, error_codes::OTHER, message));
    }
    let mut out = XmlOut::new();
    header(&mut out, ctx, &h, true);
    qua_inf(&mut out, &subject);
    out.close();
    out.open("MessageBody");
    out.leaf("ProcessingResultStatus", &b.processing_result_status);
    out.leaf("ProcessingResultCode", &b.processing_result_code);
    out.leaf("ProcessingResultMessage", &b.processing_result_message);
    write_months(&mut out, &b);
    out.close();
    Answer::xml(out.finish(ctx.encoding), false)
}

fn qua_inf(out: &mut XmlOut, s: &Subject) {
    out.open("QuaInf");
    if let Some(p) = &s.patient {
        out.leaf("Name", &p.name);
        out.leaf("KanaName", &p.kana);
    }
    out.leaf("Birth", &s.search.birthdate);
    out.leaf("AdmGendCode", s.patient.as_ref().map_or("", |p| p.sex.as_str()));
    out.close();
}

/// One MeTrMonthInf per month and pair of dispensing and prescribing facility, each dispensing
/// day a DiDateInf. DiOrg 1 (調剤), InOut 2 (外来) and PrIsOrg 1 are what a dispensing record of
/// an outpatient prescription carries; PrDate is the dispensing date (onshi keeps no separate
/// prescription date).
fn write_months(out: &mut XmlOut, b: &MedicationInfoBody) {
    for month in &b.monthly_medication_info {
        let mut i = 0;
        let infos = &month.dispensing_info;
        while i < infos.len() {
            let first = &infos[i];
            let same = |d: &&onshi_proto::v1::DispensingInfo| {
                d.dispensing_medical_institution_code == first.dispensing_medical_institution_code
                    && d.prescribing_medical_institution_code == first.prescribing_medical_institution_code
            };
            let group: Vec<_> = infos[i..].iter().take_while(same).collect();
            i += group.len();
            out.open("MeTrMonthInf");
            out.value("DiOrg", "1");
            out.leaf("MeTrDiHCd", &first.dispensing_medical_institution_code);
            out.leaf("PrlsHCd", &first.prescribing_medical_institution_code);
            out.leaf("MeTrDiHNm", &first.dispensing_medical_institution_name);
            out.leaf("MeTrMonth", &month.dispensing_month);
            out.leaf("PrlsHNm", &first.prescribing_medical_institution_name);
            out.value("PrIsOrg", "1");
            out.value("InOut", "2");
            out.open("DiDateInfs");
            for d in group {
                out.open("DiDateInf");
                out.leaf("DiDate", &d.dispensing_date);
                out.leaf("PrDate", &d.dispensing_date);
                out.open("DrugInfs");
                for drug in &d.drug_info {
                    out.open("DrugInf");
                    out.leaf("DrugC", &drug.drug_c);
                    out.leaf("Qua1", &drug.qua1);
                    out.leaf("UsageN", &drug.usage_n);
                    out.leaf("Times", &drug.times);
                    out.value("MeTrIdCl", "1");
                    out.leaf("Unit", &drug.unit);
                    out.leaf("DrugN", &drug.drug_n);
                    out.close();
                }
                out.close();
                out.close();
            }
            out.close();
            out.close();
        }
    }
}

/// `yyyyMMdd` / `yyyyMM` as `yyyy-MM-dd` / `yyyy-MM`, for PDFs.
pub fn date(s: &str) -> String {
    match (s.get(..4), s.get(4..6), s.get(6..8)) {
        (Some(y), Some(m), Some(d)) => format!("{y}-{m}-{d}"),
        (Some(y), Some(m), None) => format!("{y}-{m}"),
        _ => s.to_owned(),
    }
}

/// The patient's lines at the top of a PDF.
pub fn patient_lines(s: &Subject) -> Vec<String> {
    let (name, kana, sex) =
        s.patient.as_ref().map(|p| (p.name.as_str(), p.kana.as_str(), p.sex.as_str())).unwrap_or(("", "", ""));
    let sex = match sex {
        "1" => "男",
        "2" => "女",
        _ => "",
    };
    vec![
        format!("氏名: {name}  ({kana})"),
        format!("生年月日: {}  性別: {sex}", date(&s.search.birthdate)),
        format!(
            "保険者番号: {}  記号: {}  番号: {}  枝番: {}",
            s.search.insurer_number,
            s.search.insured_card_symbol,
            s.search.insured_identification_number,
            s.search.insured_branch_number
        ),
    ]
}

fn pdf_lines(s: &Subject, req: &GetMedicationInfoRequest, b: &MedicationInfoBody, clinical: bool) -> Vec<String> {
    let mut lines = patient_lines(s);
    lines.push(format!(
        "期間: {} – {}",
        date(&req.start_date),
        if req.end_date.is_empty() { "今月".into() } else { date(&req.end_date) }
    ));
    lines.push(String::new());
    if b.monthly_medication_info.is_empty() {
        lines.push("該当する薬剤情報はありません。".into());
    }
    for month in &b.monthly_medication_info {
        lines.push(format!("■ {}", date(&month.dispensing_month)));
        for d in &month.dispensing_info {
            lines.push(format!(
                "  {}  調剤: {} ({})  処方: {}",
                date(&d.dispensing_date),
                d.dispensing_medical_institution_name,
                d.dispensing_medical_institution_code,
                d.prescribing_medical_institution_name
            ));
            for drug in &d.drug_info {
                lines.push(format!(
                    "      {}  {}{}  {}  {}日分",
                    drug.drug_n, drug.qua1, drug.unit, drug.usage_n, drug.times
                ));
            }
        }
    }
    if clinical {
        lines.push(String::new());
        lines.push("診療情報: 提供できる情報はありません。".into());
    }
    lines
}
