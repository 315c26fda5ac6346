//! The operations of the folder exchange, one module each: the request read from the file, the
//! gRPC call the real terminal would make to the national system, and the answer written back.
//! Which operation a file is comes from its name's prefix (`OQSsiquc01req_…`).

pub mod bulk;
pub mod checkup;
pub mod medication;
pub mod reference;
pub mod single;

use std::path::PathBuf;
use std::sync::Arc;

use onshi_domain::date::JstDateTime;
use onshi_proto::v1::checkup_service_client::CheckupServiceClient;
use onshi_proto::v1::medication_service_client::MedicationServiceClient;
use onshi_proto::v1::qualification_service_client::QualificationServiceClient;
use onshi_proto::v1::{QualificationConfirmSearchInfo, RequestHeader, ResultHeader};
use tonic::transport::Channel;

use crate::error_codes;
use crate::patients::PatientBook;
use crate::pdf::PdfFont;
use crate::xml_in::{Document, Element, TextEncoding};

/// Every request prefix the terminal answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// OQSsiquc01: qualification check by insured numbers.
    Single,
    /// OQSmuquc01: 一括照会 upload.
    BulkUpload,
    /// OQSmuquc02: 一括照会 download.
    BulkDownload,
    /// OQSsiimm01: 照会番号 registration.
    Reference,
    /// OQSmuimm01: bulk 照会番号 registration.
    ReferenceBulkUpload,
    /// OQSmuimm02: its result.
    ReferenceBulkResult,
    /// YZKsiquc01: 薬剤情報.
    Medication,
    /// TKKsiquc01: 特定健診情報.
    Checkup,
}

impl Operation {
    pub const ALL: [Operation; 8] = [
        Operation::Single,
        Operation::BulkUpload,
        Operation::BulkDownload,
        Operation::Reference,
        Operation::ReferenceBulkUpload,
        Operation::ReferenceBulkResult,
        Operation::Medication,
        Operation::Checkup,
    ];

    /// The file-name prefix, before `req_` / `res_`.
    pub fn prefix(self) -> &'static str {
        match self {
            Operation::Single => "OQSsiquc01",
            Operation::BulkUpload => "OQSmuquc01",
            Operation::BulkDownload => "OQSmuquc02",
            Operation::Reference => "OQSsiimm01",
            Operation::ReferenceBulkUpload => "OQSmuimm01",
            Operation::ReferenceBulkResult => "OQSmuimm02",
            Operation::Medication => "YZKsiquc01",
            Operation::Checkup => "TKKsiquc01",
        }
    }

    /// The operation a request file's name names: `<prefix>req_<suffix>.xml`.
    pub fn of_file_name(name: &str) -> Option<Operation> {
        let (stem, ext) = name.rsplit_once('.')?;
        if !ext.eq_ignore_ascii_case("xml") {
            return None;
        }
        Operation::ALL.into_iter().find(|op| {
            stem.strip_prefix(op.prefix())
                .and_then(|rest| rest.strip_prefix("req"))
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
        })
    }
}

/// The answer's file name: the request's with `req` → `res` and the answer's extension.
pub fn answer_name(request: &str, op: Operation, pdf: bool) -> String {
    let stem = request.rsplit_once('.').map_or(request, |(s, _)| s);
    let rest = &stem[op.prefix().len() + "req".len()..];
    format!("{}res{}.{}", op.prefix(), rest, if pdf { "pdf" } else { "xml" })
}

/// An answer's bytes, and whether it is a PDF.
pub struct Answer {
    pub bytes: Vec<u8>,
    pub pdf: bool,
    /// Whether the system refused the request (SegmentOfResult 9), for the counters.
    pub refused: bool,
}

impl Answer {
    pub fn xml(bytes: Vec<u8>, refused: bool) -> Answer {
        Answer { bytes, pdf: false, refused }
    }
}

/// What every operation needs: the clients, the facility, the answer encoding, the patient book
/// and where the terminal keeps state between a request and a later one.
pub struct Context {
    pub channel: Channel,
    pub facility: String,
    pub encoding: TextEncoding,
    pub patients: Arc<PatientBook>,
    pub state_dir: PathBuf,
    pub font: Option<PdfFont>,
    /// What the screen shows, when the terminal serves one (`--http`).
    pub journal: Option<Arc<crate::screen::journal::Journal>>,
}

impl Context {
    pub fn qualification(&self) -> QualificationServiceClient<Channel> {
        QualificationServiceClient::new(self.channel.clone())
    }
    pub fn medication(&self) -> MedicationServiceClient<Channel> {
        MedicationServiceClient::new(self.channel.clone())
    }
    pub fn checkup(&self) -> CheckupServiceClient<Channel> {
        CheckupServiceClient::new(self.channel.clone())
    }

    /// Answers a parsed request.
    pub async fn answer(&self, op: Operation, doc: &Document) -> Answer {
        match op {
            Operation::Single => single::answer(self, doc).await,
            Operation::BulkUpload => bulk::upload(self, doc).await,
            Operation::BulkDownload => bulk::download(self, doc).await,
            Operation::Reference => reference::single(self, doc).await,
            Operation::ReferenceBulkUpload => reference::bulk_upload(self, doc).await,
            Operation::ReferenceBulkResult => reference::bulk_result(self, doc).await,
            Operation::Medication => medication::answer(self, doc).await,
            Operation::Checkup => checkup::answer(self, doc).await,
        }
    }
}

/// Now, JST, as `yyyyMMddHHmmss`.
pub fn now_compact() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    JstDateTime::from_unix_seconds(secs).map(JstDateTime::compact).unwrap_or_default()
}

/// The request header of the common layout.
pub fn request_header(root: &Element) -> RequestHeader {
    let h = root.child("MessageHeader").cloned().unwrap_or_default();
    RequestHeader {
        qualification_confirmation_date: h.text_of("QualificationConfirmationDate").to_owned(),
        medical_institution_code: h.text_of("MedicalInstitutionCode").to_owned(),
        arbitrary_file_identifier: h.text_of("ArbitraryFileIdentifier").to_owned(),
    }
}

/// A `QualificationConfirmSearchInfo` element.
pub fn search_info(e: &Element) -> QualificationConfirmSearchInfo {
    QualificationConfirmSearchInfo {
        insurer_number: e.text_of("InsurerNumber").to_owned(),
        insured_card_symbol: e.text_of("InsuredCardSymbol").to_owned(),
        insured_identification_number: e.text_of("InsuredIdentificationNumber").to_owned(),
        insured_branch_number: e.text_of("InsuredBranchNumber").to_owned(),
        birthdate: e.text_of("Birthdate").to_owned(),
        limit_application_certificate_related_cons_flg: e
            .text_of("LimitApplicationCertificateRelatedConsFlg")
            .to_owned(),
        arbitrary_identifier: e.text_of("ArbitraryIdentifier").to_owned(),
    }
}

/// The header of a refused request: SegmentOfResult 9 with the code and message.
pub fn failed_header(ctx: &Context, req: &RequestHeader, code: &str, message: String) -> ResultHeader {
    ResultHeader {
        process_execution_time: now_compact(),
        qualification_confirmation_date: req.qualification_confirmation_date.clone(),
        medical_institution_code: if req.medical_institution_code.is_empty() {
            ctx.facility.clone()
        } else {
            req.medical_institution_code.clone()
        },
        arbitrary_file_identifier: req.arbitrary_file_identifier.clone(),
        reference_classification: String::new(),
        segment_of_result: "9".into(),
        error_code: code.into(),
        error_message: message,
        character_code_identifier: String::new(),
    }
}

/// The header for a gRPC refusal.
pub fn status_header(ctx: &Context, req: &RequestHeader, status: &tonic::Status) -> ResultHeader {
    let e = error_codes::from_status(status);
    failed_header(ctx, req, e.code, e.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_give_the_operation_and_the_answer_name() {
        assert_eq!(Operation::of_file_name("OQSsiquc01req_202612010001.xml"), Some(Operation::Single));
        assert_eq!(Operation::of_file_name("OQSmuquc02req_1.XML"), Some(Operation::BulkDownload));
        assert_eq!(Operation::of_file_name("YZKsiquc01req_x.xml"), Some(Operation::Medication));
        assert_eq!(Operation::of_file_name("OQSsiquc01res_1.xml"), None);
        assert_eq!(Operation::of_file_name("OQSsiquc01req_1.txt"), None);
        assert_eq!(Operation::of_file_name("OQSmutic01req_1.xml"), None);
        assert_eq!(Operation::of_file_name("OQSsiquc01requests.xml"), None);
        assert_eq!(
            answer_name("OQSsiquc01req_202612010001.xml", Operation::Single, false),
            "OQSsiquc01res_202612010001.xml"
        );
        assert_eq!(answer_name("YZKsiquc01req_7.xml", Operation::Medication, true), "YZKsiquc01res_7.pdf");
    }
}
