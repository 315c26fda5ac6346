//! The element names and order of the answers, in one place: every `OQSsiquc01res`-shaped
//! block (single checks, face files, 一括照会 units) is written by these functions from the gRPC
//! result, field for field. The names are the proto fields' (which are the real elements' names
//! in snake_case); their order is the proto's, which follows DOMAIN.md §2.

use onshi_proto::v1::{
    ElderlyRecipientCertificateInfo, LimitApplicationCertificateRelatedInfo, QualificationConfirmSearchInfo,
    QualificationConfirmationBody, ResultHeader, ResultOfQualificationConfirmation, SpecificDiseasesCertificateList,
};

use crate::xml_in::TextEncoding;
use crate::xml_out::XmlOut;

/// A 6-digit 国保 InsurerNumber is written space-padded on the left to 8 characters.
pub fn padded_insurer(number: &str) -> String {
    let n = number.trim();
    if n.len() == 6 && n.bytes().all(|b| b.is_ascii_digit()) { format!("  {n}") } else { n.to_owned() }
}

/// The result header (`OQSsiquc01res` order). CharacterCodeIdentifier is the file's encoding,
/// not the gRPC answer's.
pub fn result_header(out: &mut XmlOut, h: &ResultHeader, encoding: TextEncoding) {
    out.open("MessageHeader");
    out.leaf("ProcessExecutionTime", &h.process_execution_time);
    out.leaf("QualificationConfirmationDate", &h.qualification_confirmation_date);
    out.leaf("MedicalInstitutionCode", &h.medical_institution_code);
    out.leaf("ArbitraryFileIdentifier", &h.arbitrary_file_identifier);
    out.leaf("ReferenceClassification", &h.reference_classification);
    out.leaf("SegmentOfResult", &h.segment_of_result);
    out.leaf("ErrorCode", &h.error_code);
    out.leaf("ErrorMessage", &h.error_message);
    out.value("CharacterCodeIdentifier", encoding.identifier());
    out.close();
}

/// The fields of the shorter headers (一括照会 upload, 照会番号, 薬剤情報 / 特定健診), in order,
/// inside an open MessageHeader: the caller closes it, after any fields of its own.
pub fn short_header_fields(out: &mut XmlOut, h: &ResultHeader, encoding: TextEncoding) {
    out.leaf("ProcessExecutionTime", &h.process_execution_time);
    out.leaf("MedicalInstitutionCode", &h.medical_institution_code);
    out.leaf("ArbitraryFileIdentifier", &h.arbitrary_file_identifier);
    out.leaf("SegmentOfResult", &h.segment_of_result);
    out.leaf("ErrorCode", &h.error_code);
    out.leaf("ErrorMessage", &h.error_message);
    out.value("CharacterCodeIdentifier", encoding.identifier());
}

/// `QualificationConfirmSearchInfo`, as a request carries it and an answer echoes it.
pub fn search_info(out: &mut XmlOut, s: &QualificationConfirmSearchInfo) {
    out.open("QualificationConfirmSearchInfo");
    out.leaf("InsurerNumber", &padded_insurer(&s.insurer_number));
    out.leaf("InsuredCardSymbol", &s.insured_card_symbol);
    out.leaf("InsuredIdentificationNumber", &s.insured_identification_number);
    out.leaf("InsuredBranchNumber", &s.insured_branch_number);
    out.leaf("Birthdate", &s.birthdate);
    out.leaf("LimitApplicationCertificateRelatedConsFlg", &s.limit_application_certificate_related_cons_flg);
    out.leaf("ArbitraryIdentifier", &s.arbitrary_identifier);
    out.close();
}

/// The body of a single confirmation: outcome, validity, the echoed search info (when the
/// request had one) and `ResultList`.
pub fn confirmation_body(
    out: &mut XmlOut,
    b: &QualificationConfirmationBody,
    echo: Option<&QualificationConfirmSearchInfo>,
) {
    out.leaf("ProcessingResultStatus", &b.processing_result_status);
    out.leaf("ProcessingResultCode", &b.processing_result_code);
    out.leaf("ProcessingResultMessage", &b.processing_result_message);
    out.leaf("QualificationValidity", &b.qualification_validity);
    if let Some(s) = echo {
        search_info(out, s);
    }
    if !b.result_list.is_empty() {
        out.open("ResultList");
        for r in &b.result_list {
            result(out, r);
        }
        out.close();
    }
}

fn elderly(out: &mut XmlOut, e: &ElderlyRecipientCertificateInfo) {
    out.open("ElderlyRecipientCertificateInfo");
    out.leaf("ElderlyRecipientCertificateDate", &e.elderly_recipient_certificate_date);
    out.leaf("ElderlyRecipientValidStartDate", &e.elderly_recipient_valid_start_date);
    out.leaf("ElderlyRecipientValidEndDate", &e.elderly_recipient_valid_end_date);
    out.leaf("ElderlyRecipientContributionRatio", &e.elderly_recipient_contribution_ratio);
    out.close();
}

fn limit(out: &mut XmlOut, l: &LimitApplicationCertificateRelatedInfo) {
    out.open("LimitApplicationCertificateRelatedInfo");
    out.leaf("LimitApplicationCertificateClassification", &l.limit_application_certificate_classification);
    out.leaf("LimitApplicationCertificateClassificationFlag", &l.limit_application_certificate_classification_flag);
    out.leaf("LimitApplicationCertificateDate", &l.limit_application_certificate_date);
    out.leaf("LimitApplicationCertificateValidStartDate", &l.limit_application_certificate_valid_start_date);
    out.leaf("LimitApplicationCertificateValidEndDate", &l.limit_application_certificate_valid_end_date);
    out.leaf("LimitApplicationCertificateLongTermDate", &l.limit_application_certificate_long_term_date);
    out.close();
}

fn diseases(out: &mut XmlOut, list: &SpecificDiseasesCertificateList) {
    if list.specific_diseases_certificate_info.is_empty() {
        return;
    }
    out.open("SpecificDiseasesCertificateList");
    for d in &list.specific_diseases_certificate_info {
        out.open("SpecificDiseasesCertificateInfo");
        out.leaf("SpecificDiseasesDiseaseCategory", &d.specific_diseases_disease_category);
        out.leaf("SpecificDiseasesCertificateDate", &d.specific_diseases_certificate_date);
        out.leaf("SpecificDiseasesValidStartDate", &d.specific_diseases_valid_start_date);
        out.leaf("SpecificDiseasesValidEndDate", &d.specific_diseases_valid_end_date);
        out.leaf("SpecificDiseasesSelfPay", &d.specific_diseases_self_pay);
        out.close();
    }
    out.close();
}

/// One `ResultOfQualificationConfirmation`, every element our gRPC result carries.
pub fn result(out: &mut XmlOut, r: &ResultOfQualificationConfirmation) {
    out.open("ResultOfQualificationConfirmation");
    out.leaf("InsuredCardClassification", &r.insured_card_classification);
    out.leaf("InsurerNumber", &padded_insurer(&r.insurer_number));
    out.leaf("InsurerName", &r.insurer_name);
    out.leaf("InsuredCardSymbol", &r.insured_card_symbol);
    out.leaf("InsuredIdentificationNumber", &r.insured_identification_number);
    out.leaf("InsuredBranchNumber", &r.insured_branch_number);
    out.leaf("PersonalFamilyClassification", &r.personal_family_classification);
    out.leaf("InsuredName", &r.insured_name);
    out.leaf("Name", &r.name);
    out.leaf("NameOfOther", &r.name_of_other);
    out.leaf("NameKana", &r.name_kana);
    out.leaf("NameOfOtherKana", &r.name_of_other_kana);
    out.leaf("Sex1", &r.sex1);
    out.leaf("Sex2", &r.sex2);
    out.leaf("Birthdate", &r.birthdate);
    out.leaf("Address", &r.address);
    out.leaf("PostNumber", &r.post_number);
    out.leaf("QualificationDate", &r.qualification_date);
    out.leaf("DisqualificationDate", &r.disqualification_date);
    out.leaf("ReasonOfLoss", &r.reason_of_loss);
    out.leaf("InsuredCertificateIssuanceDate", &r.insured_certificate_issuance_date);
    out.leaf("InsuredCardValidDate", &r.insured_card_valid_date);
    out.leaf("InsuredCardExpirationDate", &r.insured_card_expiration_date);
    out.leaf("InsuredPartialContributionRatio", &r.insured_partial_contribution_ratio);
    out.leaf("PreschoolClassification", &r.preschool_classification);
    if let Some(e) = &r.elderly_recipient_certificate_info {
        elderly(out, e);
    }
    out.leaf("LimitApplicationCertificateRelatedConsFlg", &r.limit_application_certificate_related_cons_flg);
    out.leaf("LimitApplicationCertificateRelatedConsTime", &r.limit_application_certificate_related_cons_time);
    if let Some(l) = &r.limit_application_certificate_related_info {
        limit(out, l);
    }
    out.leaf("SpecificDiseasesCertificateRelatedConsFlg", &r.specific_diseases_certificate_related_cons_flg);
    out.leaf("SpecificDiseasesCertificateRelatedConsTime", &r.specific_diseases_certificate_related_cons_time);
    if let Some(d) = &r.specific_diseases_certificate_list {
        diseases(out, d);
    }
    out.leaf("SpecificHealthCheckupsInfoConsFlg", &r.specific_health_checkups_info_cons_flg);
    out.leaf("SpecificHealthCheckupsInfoConsTime", &r.specific_health_checkups_info_cons_time);
    out.leaf("SpecificHealthCheckupsInfoAvailableTime", &r.specific_health_checkups_info_available_time);
    out.leaf("PharmacistsInfoConsFlg", &r.pharmacists_info_cons_flg);
    out.leaf("PharmacistsInfoConsTime", &r.pharmacists_info_cons_time);
    out.leaf("PharmacistsInfoAvailableTime", &r.pharmacists_info_available_time);
    out.leaf("DiagnosisInfoConsFlg", &r.diagnosis_info_cons_flg);
    out.leaf("DiagnosisInfoConsTime", &r.diagnosis_info_cons_time);
    out.leaf("DiagnosisInfoAvailableTime", &r.diagnosis_info_available_time);
    out.leaf("OperationInfoConsFlg", &r.operation_info_cons_flg);
    out.leaf("OperationInfoConsTime", &r.operation_info_cons_time);
    out.leaf("OperationInfoAvailableTime", &r.operation_info_available_time);
    out.leaf("ReferenceNumber", &r.reference_number);
    out.close();
}

/// PascalCase of a proto field name: the real element's name.
#[cfg(test)]
pub(crate) fn element_name(field: &str) -> String {
    field
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::xml_in;
    use prost::Message;

    /// Every field of the gRPC result, set to a value no other field has, shows up in the XML
    /// under the element name the field's name gives: nothing the server sends is dropped.
    #[test]
    fn every_result_field_is_written_under_its_element_name() {
        // Build a result with every string field set, through its wire encoding: field n = "vN".
        let mut wire = Vec::new();
        let mut names = Vec::new();
        for (n, name) in RESULT_FIELDS.iter().enumerate() {
            let tag = n as u32 + 1;
            if SUBMESSAGES.contains(name) {
                continue;
            }
            prost::encoding::string::encode(tag, &format!("v{tag}"), &mut wire);
            names.push((tag, *name));
        }
        let mut r = ResultOfQualificationConfirmation::decode(wire.as_slice()).expect("decodes");
        r.elderly_recipient_certificate_info = Some(ElderlyRecipientCertificateInfo {
            elderly_recipient_contribution_ratio: "020".into(),
            ..Default::default()
        });
        r.limit_application_certificate_related_info = Some(LimitApplicationCertificateRelatedInfo {
            limit_application_certificate_classification_flag: "A01".into(),
            ..Default::default()
        });
        let mut out = XmlOut::new();
        result(&mut out, &r);
        let doc = xml_in::read(&out.finish(TextEncoding::Utf8)).expect("reads");
        let written = doc.root.child("ResultOfQualificationConfirmation").expect("result");
        for (tag, name) in names {
            assert_eq!(written.text_of(&element_name(name)), format!("v{tag}"), "field {name}");
        }
        assert_eq!(
            written
                .at(&["ElderlyRecipientCertificateInfo", "ElderlyRecipientContributionRatio"])
                .map(|e| e.text.as_str()),
            Some("020")
        );
        assert_eq!(
            written
                .at(&["LimitApplicationCertificateRelatedInfo", "LimitApplicationCertificateClassificationFlag"])
                .map(|e| e.text.as_str()),
            Some("A01")
        );
    }

    /// The proto's fields of ResultOfQualificationConfirmation, by number.
    pub(crate) const RESULT_FIELDS: [&str; 45] = [
        "insured_card_classification",
        "insurer_number",
        "insurer_name",
        "insured_card_symbol",
        "insured_identification_number",
        "insured_branch_number",
        "personal_family_classification",
        "insured_name",
        "name",
        "name_of_other",
        "name_kana",
        "name_of_other_kana",
        "sex1",
        "sex2",
        "birthdate",
        "address",
        "post_number",
        "qualification_date",
        "disqualification_date",
        "reason_of_loss",
        "insured_certificate_issuance_date",
        "insured_card_valid_date",
        "insured_card_expiration_date",
        "insured_partial_contribution_ratio",
        "preschool_classification",
        "elderly_recipient_certificate_info",
        "limit_application_certificate_related_cons_flg",
        "limit_application_certificate_related_cons_time",
        "limit_application_certificate_related_info",
        "specific_diseases_certificate_related_cons_flg",
        "specific_diseases_certificate_related_cons_time",
        "specific_diseases_certificate_list",
        "specific_health_checkups_info_cons_flg",
        "specific_health_checkups_info_cons_time",
        "specific_health_checkups_info_available_time",
        "pharmacists_info_cons_flg",
        "pharmacists_info_cons_time",
        "pharmacists_info_available_time",
        "diagnosis_info_cons_flg",
        "diagnosis_info_cons_time",
        "diagnosis_info_available_time",
        "operation_info_cons_flg",
        "operation_info_cons_time",
        "operation_info_available_time",
        "reference_number",
    ];
    const SUBMESSAGES: [&str; 3] = [
        "elderly_recipient_certificate_info",
        "limit_application_certificate_related_info",
        "specific_diseases_certificate_list",
    ];

    #[test]
    fn the_field_list_is_the_protos() {
        let set = prost_types::FileDescriptorSet::decode(onshi_proto::FILE_DESCRIPTOR_SET).expect("descriptors");
        let message = set
            .file
            .iter()
            .flat_map(|f| f.message_type.iter())
            .find(|m| m.name() == "ResultOfQualificationConfirmation")
            .expect("message");
        let mut fields: Vec<(i32, &str)> = message.field.iter().map(|f| (f.number(), f.name())).collect();
        fields.sort();
        let listed: Vec<(i32, &str)> = RESULT_FIELDS.iter().enumerate().map(|(i, n)| (i as i32 + 1, *n)).collect();
        assert_eq!(fields, listed);
    }
}
