//! `TKKsiquc01req` → `TKKsiquc01res`: 特定健診情報 of a patient who consented at the card reader.
//! XML for FileCategory 2, PDF for 1. The header is the 薬剤情報 request's.

use onshi_proto::v1::{GetSpecificHealthCheckupInfoRequest, SpecificHealthCheckupBody};

use super::medication::{Subject, header, patient_lines, refused, subject};
use super::{Answer, Context, failed_header, status_header};
use crate::error_codes;
use crate::pdf;
use crate::xml_in::Document;
use crate::xml_out::XmlOut;

/// The OID of the JLAC10 item codes the checkup items carry (MHLW's 特定健診 XML).
const ITEM_CODE_OID: &str = "1.2.392.200119.6.1005";

pub async fn answer(ctx: &Context, doc: &Document) -> Answer {
    let subject = match subject(ctx, doc) {
        Ok(s) => s,
        Err(h) => return refused(ctx, &h),
    };
    let body = doc.root.child("MessageBody").cloned().unwrap_or_default();
    let pdf = match body.text_of("FileCategory") {
        "1" => true,
        "2" | "" => false,
        other => {
            let message = format!("FileCategory {other:?} は 1 (PDF) か 2 (XML) です");
            return refused(ctx, &failed_header(ctx, &subject.header, "EQ0001", message));
        }
    };
    let request = GetSpecificHealthCheckupInfoRequest {
        message_header: Some(subject.header.clone()),
        patient_search_info: Some(subject.search.clone()),
    };
    let response = match ctx.checkup().get_specific_health_checkup_info(request).await {
        Ok(r) => r.into_inner(),
        Err(status) => return refused(ctx, &status_header(ctx, &subject.header, &status)),
    };
    let h = response.message_header.unwrap_or_default();
    let b = response.message_body.unwrap_or_default();
    if pdf && b.processing_result_status == "1" {
        let Some(font) = &ctx.font else {
            let message =
                "PDF を作成できません: 日本語フォントがありません (fonts-ipafont-gothic, ONSHI_PDF_FONT)".to_owned();
            return refused(ctx, &failed_header(ctx, &subject.header, error_codes::OTHER, message));
        };
        return match pdf::render(font, "特定健診情報", &pdf_lines(&subject, &b)) {
            Ok(bytes) => Answer { bytes, pdf: true, refused: false },
            Err(e) => refused(ctx, &failed_header(ctx, &subject.header, error_codes::OTHER, e)),
        };
    }
    let mut out = XmlOut::new();
    header(&mut out, ctx, &h, true);
    out.open("QualificationsInfo");
    if let Some(p) = &subject.patient {
        out.leaf("Name", &p.name);
        out.leaf("KanasName", &p.kana);
    }
    out.leaf("Birthday", &subject.search.birthdate);
    out.leaf("AdministrativeGenderCode", subject.patient.as_ref().map_or("", |p| p.sex.as_str()));
    out.close();
    out.close();
    out.open("MessageBody");
    out.leaf("ProcessingResultStatus", &b.processing_result_status);
    out.leaf("ProcessingResultCode", &b.processing_result_code);
    out.leaf("ProcessingResultMessage", &b.processing_result_message);
    for c in &b.specific_health_checkup_info {
        out.open("SpecificHealthCheckupInfo");
        out.leaf("EffectiveTime", &c.checkup_date);
        out.leaf("MedicalInstitutionName", &c.checkup_institution_name);
        out.open("HealthCheckupResultAndQuestionInfos");
        for item in &c.checkup_item {
            out.open("HealthCheckupResultAndQuestionInfo");
            out.leaf("ItemCode", &item.item_code);
            out.leaf("ItemName", &item.item_name);
            // PQ (a physical quantity) for numbers, ST (a string) for the rest, as in MHLW's CDA.
            let numeric = item.data_value.parse::<f64>().is_ok();
            out.value("DataType", if numeric { "PQ" } else { "ST" });
            out.leaf("DataValue", &item.data_value);
            out.leaf("Unit", &item.unit);
            out.value("Oid", ITEM_CODE_OID);
            out.close();
        }
        out.close();
        out.close();
    }
    out.close();
    Answer::xml(out.finish(ctx.encoding), false)
}

fn pdf_lines(s: &Subject, b: &SpecificHealthCheckupBody) -> Vec<String> {
    let mut lines = patient_lines(s);
    lines.push(String::new());
    if b.specific_health_checkup_info.is_empty() {
        lines.push("該当する特定健診情報はありません。".into());
    }
    for c in &b.specific_health_checkup_info {
        lines.push(format!("■ {}  {}", super::medication::date(&c.checkup_date), c.checkup_institution_name));
        for item in &c.checkup_item {
            lines.push(format!("    {}  {} {}", item.item_name, item.data_value, item.unit));
        }
    }
    lines
}
