//! Conversions between domain values and onshi.v1 protobuf: the one place where a domain
//! `Qualification` becomes the encoded `ResultOfQualificationConfirmation` that the store keeps
//! ready to serve, and where per-request fields (consents, reference numbers) are encoded to be
//! appended to it.

use onshi_domain::codes::contribution_ratio_code;
use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::qualification::{Person, Qualification};
use onshi_proto::v1;
use prost::Message;

fn date(d: Date) -> String {
    d.yyyymmdd()
}

fn opt_date(d: Option<Date>) -> String {
    d.map(date).unwrap_or_default()
}

/// The three pre-encoded parts of a qualification's result (see `store::values::ResultParts`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncodedResult {
    pub base: Vec<u8>,
    pub limit: Vec<u8>,
    pub diseases: Vec<u8>,
}

/// Encodes one qualification of `person`, split into the base and the consent-gated parts.
pub fn encode_result(person: &Person, q: &Qualification) -> EncodedResult {
    let base = v1::ResultOfQualificationConfirmation {
        insured_card_classification: q.card_classification.code().to_owned(),
        insurer_number: q.insurer_number.as_str().to_owned(),
        insurer_name: q.insurer_name.clone(),
        insured_card_symbol: q.symbol.as_str().to_owned(),
        insured_identification_number: q.number.as_str().to_owned(),
        insured_branch_number: q.branch.map(|b| b.as_str().to_owned()).unwrap_or_default(),
        personal_family_classification: q.family.code().to_owned(),
        insured_name: q.insured_name.clone(),
        name: person.name.clone(),
        name_kana: person.name_kana.clone(),
        sex1: person.sex.code().to_owned(),
        birthdate: date(person.birthdate),
        address: person.address.clone(),
        post_number: person.post_number.clone(),
        qualification_date: date(q.qualification_date),
        disqualification_date: opt_date(q.loss.map(|l| l.date)),
        reason_of_loss: q.loss.map(|l| l.reason.code().to_owned()).unwrap_or_default(),
        insured_certificate_issuance_date: date(q.card_issued),
        insured_card_valid_date: date(q.card_valid_from),
        insured_card_expiration_date: opt_date(q.card_valid_until),
        insured_partial_contribution_ratio: contribution_ratio_code(q.contribution_percent),
        preschool_classification: if q.preschool { "1".to_owned() } else { String::new() },
        elderly_recipient_certificate_info: q.elderly.map(|e| v1::ElderlyRecipientCertificateInfo {
            elderly_recipient_certificate_date: date(e.certificate_date),
            elderly_recipient_valid_start_date: date(e.valid_from),
            elderly_recipient_valid_end_date: date(e.valid_until),
            elderly_recipient_contribution_ratio: contribution_ratio_code(e.contribution_percent),
        }),
        ..Default::default()
    }
    .encode_to_vec();
    let limit = q
        .limit_certificate
        .map(|l| {
            v1::ResultOfQualificationConfirmation {
                limit_application_certificate_related_info: Some(v1::LimitApplicationCertificateRelatedInfo {
                    limit_application_certificate_classification: l.classification.code().to_owned(),
                    limit_application_certificate_classification_flag: l.bracket.code(),
                    limit_application_certificate_date: date(l.certificate_date),
                    limit_application_certificate_valid_start_date: date(l.valid_from),
                    limit_application_certificate_valid_end_date: date(l.valid_until),
                    limit_application_certificate_long_term_date: opt_date(l.long_term_date),
                }),
                ..Default::default()
            }
            .encode_to_vec()
        })
        .unwrap_or_default();
    let diseases = if q.specific_diseases.is_empty() {
        Vec::new()
    } else {
        v1::ResultOfQualificationConfirmation {
            specific_diseases_certificate_list: Some(v1::SpecificDiseasesCertificateList {
                specific_diseases_certificate_info: q
                    .specific_diseases
                    .iter()
                    .map(|s| v1::SpecificDiseasesCertificateInfo {
                        specific_diseases_disease_category: s.disease.code().to_owned(),
                        specific_diseases_certificate_date: date(s.certificate_date),
                        specific_diseases_valid_start_date: date(s.valid_from),
                        specific_diseases_valid_end_date: opt_date(s.valid_until),
                        specific_diseases_self_pay: s.self_pay_yen.to_string(),
                    })
                    .collect(),
            }),
            ..Default::default()
        }
        .encode_to_vec()
    };
    EncodedResult { base, limit, diseases }
}

/// The consent fields a card confirmation appends to a result: for each kind, the flag as the
/// patient chose it, and for a consent given, its time and (for the viewing consents) until when.
#[derive(Debug, Clone, Default)]
pub struct ConsentFields {
    pub specific_health_checkups: Option<ConsentTimes>,
    pub pharmacists: Option<ConsentTimes>,
    pub diagnosis: Option<ConsentTimes>,
    pub operation: Option<ConsentTimes>,
    pub limit_certificate: Option<ConsentTimes>,
    pub specific_diseases: Option<ConsentTimes>,
}

/// A flag and, when it is "1", when it was given and until when it allows viewing.
#[derive(Debug, Clone, Copy)]
pub struct ConsentTimes {
    pub given: bool,
    pub at: JstDateTime,
    pub until: JstDateTime,
}

fn flag(c: &Option<ConsentTimes>) -> String {
    match c {
        Some(t) if t.given => "1".to_owned(),
        Some(_) => "0".to_owned(),
        None => String::new(),
    }
}

fn at(c: &Option<ConsentTimes>) -> String {
    c.filter(|t| t.given).map(|t| t.at.compact()).unwrap_or_default()
}

fn until(c: &Option<ConsentTimes>) -> String {
    c.filter(|t| t.given).map(|t| t.until.compact()).unwrap_or_default()
}

/// Encodes the per-request fields to append after the stored result.
pub fn encode_request_fields(c: &ConsentFields, reference_number: &str, out: &mut impl bytes::BufMut) {
    let m = v1::ResultOfQualificationConfirmation {
        limit_application_certificate_related_cons_flg: flag(&c.limit_certificate),
        limit_application_certificate_related_cons_time: at(&c.limit_certificate),
        specific_diseases_certificate_related_cons_flg: flag(&c.specific_diseases),
        specific_diseases_certificate_related_cons_time: at(&c.specific_diseases),
        specific_health_checkups_info_cons_flg: flag(&c.specific_health_checkups),
        specific_health_checkups_info_cons_time: at(&c.specific_health_checkups),
        specific_health_checkups_info_available_time: until(&c.specific_health_checkups),
        pharmacists_info_cons_flg: flag(&c.pharmacists),
        pharmacists_info_cons_time: at(&c.pharmacists),
        pharmacists_info_available_time: until(&c.pharmacists),
        diagnosis_info_cons_flg: flag(&c.diagnosis),
        diagnosis_info_cons_time: at(&c.diagnosis),
        diagnosis_info_available_time: until(&c.diagnosis),
        operation_info_cons_flg: flag(&c.operation),
        operation_info_cons_time: at(&c.operation),
        operation_info_available_time: until(&c.operation),
        reference_number: reference_number.to_owned(),
        ..Default::default()
    };
    // Encoding into a growable buffer cannot fail.
    let _ = m.encode(out);
}

/// The encoded length of the per-request fields, to size buffers.
pub const REQUEST_FIELDS_CAPACITY: usize = 160;

#[cfg(test)]
mod tests {
    use onshi_domain::population::{Population, scenarios};

    use super::*;

    #[test]
    fn parts_concatenate_into_the_full_result() {
        let as_of = Date::new(2026, 11, 23).expect("date");
        let s = scenarios::all(as_of).into_iter().find(|s| s.key == "limit-certificate").expect("scenario");
        let person = &s.persons[0];
        let enc = encode_result(person, &person.qualifications[0]);
        assert!(!enc.limit.is_empty());
        let mut all = enc.base.clone();
        all.extend_from_slice(&enc.limit);
        let r = v1::ResultOfQualificationConfirmation::decode(all.as_slice()).expect("decodes");
        assert_eq!(r.insurer_number, "01130012");
        assert_eq!(r.insured_partial_contribution_ratio, "030");
        let info = r.limit_application_certificate_related_info.expect("limit info present");
        assert_eq!(info.limit_application_certificate_classification_flag, "A03");
        // Without the limit part, nothing of the certificate shows.
        let base_only = v1::ResultOfQualificationConfirmation::decode(enc.base.as_slice()).expect("decodes");
        assert!(base_only.limit_application_certificate_related_info.is_none());

        let p = Population::new(1, as_of).person(3);
        let enc = encode_result(&p, p.qualifications.last().expect("insured"));
        let r = v1::ResultOfQualificationConfirmation::decode(enc.base.as_slice()).expect("decodes");
        assert_eq!(r.birthdate, p.birthdate.yyyymmdd());
        assert_eq!(r.name_kana, p.name_kana);
    }
}
