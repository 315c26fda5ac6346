//! 一括照会: `OQSmuquc01req` uploads many search infos and is answered with a ReceptionNumber;
//! `OQSmuquc02req` asks for the results by that number and gets SegmentOfResult 2 (処理中) until
//! the job is done. The upload file is kept in the state folder under its reception number, so
//! the results can echo each unit's QualificationConfirmSearchInfo (the server keeps only the
//! ArbitraryIdentifier) and the upload's ArbitraryFileIdentifier.

use onshi_proto::v1::{
    BulkConfirmDownloadRequest, BulkConfirmUploadRequest, QualificationConfirmSearchInfo, RequestHeader,
};

use super::{Answer, Context, request_header, search_info, status_header};
use crate::layout;
use crate::xml_in::{self, Document};
use crate::xml_out::XmlOut;

fn kept_upload(ctx: &Context, reception: &str) -> std::path::PathBuf {
    ctx.state_dir.join("bulk").join(format!("{reception}.xml"))
}

fn is_safe_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub async fn upload(ctx: &Context, doc: &Document) -> Answer {
    let header = request_header(&doc.root);
    let infos: Vec<QualificationConfirmSearchInfo> = doc
        .root
        .child("MessageBody")
        .map(|b| b.children_named("QualificationConfirmSearchInfo").map(search_info).collect())
        .unwrap_or_default();
    let request = BulkConfirmUploadRequest {
        message_header: Some(header.clone()),
        qualification_confirm_search_info: infos.clone(),
    };
    let mut out = XmlOut::new();
    match ctx.qualification().bulk_confirm_upload(request).await {
        Ok(response) => {
            let response = response.into_inner();
            let h = response.message_header.unwrap_or_default();
            keep(ctx, &response.reception_number, &header, &infos);
            out.open("MessageHeader");
            layout::short_header_fields(&mut out, &h, ctx.encoding);
            out.close();
            out.open("MessageBody");
            out.leaf("ReceptionNumber", &response.reception_number);
            out.leaf("ReceptionDateTime", &h.process_execution_time);
            out.value("NumberOfQualificationConfirmSearchInfo", &response.number_of_search_info.to_string());
            out.close();
            Answer::xml(out.finish(ctx.encoding), false)
        }
        Err(status) => {
            let h = status_header(ctx, &header, &status);
            out.open("MessageHeader");
            layout::short_header_fields(&mut out, &h, ctx.encoding);
            out.close();
            Answer::xml(out.finish(ctx.encoding), true)
        }
    }
}

/// Keeps what the upload said, for the download's echo (UTF-8, our own layout).
fn keep(ctx: &Context, reception: &str, header: &RequestHeader, infos: &[QualificationConfirmSearchInfo]) {
    if !is_safe_name(reception) {
        return;
    }
    let mut out = XmlOut::new();
    out.open("MessageHeader");
    out.leaf("ArbitraryFileIdentifier", &header.arbitrary_file_identifier);
    out.close();
    out.open("MessageBody");
    for info in infos {
        layout::search_info(&mut out, info);
    }
    out.close();
    let path = kept_upload(ctx, reception);
    let _ = crate::files::write_atomically(&path, &out.finish(xml_in::TextEncoding::Utf8));
}

pub async fn download(ctx: &Context, doc: &Document) -> Answer {
    let header = request_header(&doc.root);
    let reception = match doc.root.at(&["MessageBody", "ReceptionNumber"]) {
        Some(e) => e.text.trim().to_owned(),
        None => {
            doc.root.at(&["MessageHeader", "ReceptionNumber"]).map(|e| e.text.trim().to_owned()).unwrap_or_default()
        }
    };
    let kept = is_safe_name(&reception)
        .then(|| std::fs::read(kept_upload(ctx, &reception)).ok())
        .flatten()
        .and_then(|bytes| xml_in::read(&bytes).ok());
    let kept_infos: Vec<QualificationConfirmSearchInfo> = kept
        .as_ref()
        .and_then(|d| d.root.child("MessageBody"))
        .map(|b| b.children_named("QualificationConfirmSearchInfo").map(search_info).collect())
        .unwrap_or_default();
    let file_identifier = kept
        .as_ref()
        .map(|d| request_header(&d.root).arbitrary_file_identifier)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| header.arbitrary_file_identifier.clone());
    let request =
        BulkConfirmDownloadRequest { message_header: Some(header.clone()), reception_number: reception.clone() };
    let mut out = XmlOut::new();
    let response = match ctx.qualification().bulk_confirm_download(request).await {
        Ok(r) => r.into_inner(),
        Err(status) => {
            let h = status_header(ctx, &header, &status);
            out.open("MessageHeader");
            out.leaf("ProcessExecutionTime", &h.process_execution_time);
            out.leaf("MedicalInstitutionCode", &h.medical_institution_code);
            out.leaf("ArbitraryFileIdentifier", &file_identifier);
            out.leaf("ReceptionNumber", &reception);
            out.leaf("SegmentOfResult", &h.segment_of_result);
            out.leaf("ErrorCode", &h.error_code);
            out.leaf("ErrorMessage", &h.error_message);
            out.value("CharacterCodeIdentifier", ctx.encoding.identifier());
            out.close();
            return Answer::xml(out.finish(ctx.encoding), true);
        }
    };
    let h = response.message_header.clone().unwrap_or_default();
    let done = h.segment_of_result == "1";
    out.open("MessageHeader");
    out.leaf("ProcessExecutionTime", &h.process_execution_time);
    out.leaf("QualificationConfirmationDate", &h.qualification_confirmation_date);
    out.leaf("MedicalInstitutionCode", &h.medical_institution_code);
    out.leaf("ArbitraryFileIdentifier", &file_identifier);
    out.leaf("ReceptionNumber", &reception);
    out.leaf("SegmentOfResult", &h.segment_of_result);
    out.leaf("ErrorCode", &h.error_code);
    out.leaf("ErrorMessage", &h.error_message);
    if done {
        let units = &response.bulk_confirm_unit;
        let normal =
            units.iter().filter(|u| u.message_body.as_ref().is_some_and(|b| b.processing_result_status == "1")).count();
        out.value("NumberOfProcessingResult", &units.len().to_string());
        out.value("NumberOfNormalProcessing", &normal.to_string());
        out.value("NumberOfError", &(units.len() - normal).to_string());
    }
    out.value("CharacterCodeIdentifier", ctx.encoding.identifier());
    out.close();
    out.open("MessageBody");
    for (i, unit) in response.bulk_confirm_unit.iter().enumerate() {
        out.open("BulkConfirmUnit");
        let mut echo = kept_infos.get(i).cloned().unwrap_or_default();
        if echo.arbitrary_identifier.is_empty() {
            echo.arbitrary_identifier = unit.arbitrary_identifier.clone();
        }
        layout::search_info(&mut out, &echo);
        let body = unit.message_body.clone().unwrap_or_default();
        out.leaf("ProcessingResultStatus", &body.processing_result_status);
        out.leaf("ProcessingResultCode", &body.processing_result_code);
        out.leaf("ProcessingResultMessage", &body.processing_result_message);
        out.leaf("QualificationValidity", &body.qualification_validity);
        for r in &body.result_list {
            ctx.patients.remember(r);
            layout::result(&mut out, r);
        }
        out.leaf("ReferenceNumber", body.result_list.first().map_or("", |r| r.reference_number.as_str()));
        out.close();
    }
    out.close();
    Answer::xml(out.finish(ctx.encoding), false)
}
