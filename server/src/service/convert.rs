//! Conversions between domain values and onshi.v1 protobuf: the one place where a domain
//! `Qualification` becomes the encoded `ResultOfQualificationConfirmation` that the store keeps
//! ready to serve, and where per-request fields (consents, reference numbers) are encoded to be
//! appended to it.

use onshi_domain::date::JstDateTime;
use onshi_domain::qualification::{Person, Qualification};

use super::wire::Wire;

/// The three pre-encoded parts of a qualification's result (see `store::values::ResultParts`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncodedResult {
    pub base: Vec<u8>,
    pub limit: Vec<u8>,
    pub diseases: Vec<u8>,
}

/// Encodes one qualification of `person`, split into the base and the consent-gated parts.
pub fn encode_result(person: &Person, q: &Qualification) -> EncodedResult {
    let mut all = Vec::new();
    let [base, limit, _] = encode_result_into(person, q, &mut all);
    let diseases = all.split_off(base + limit);
    let limit = all.split_off(base);
    EncodedResult { base: all, limit, diseases }
}

/// [`encode_result`] appended to `out` as base, limit and diseases parts one after another;
/// returns their lengths. The seeder reuses one buffer for everyone. Field numbers are those of
/// `onshi.v1.ResultOfQualificationConfirmation` and its nested messages (tests compare the bytes
/// with prost's encoding of the same message).
pub fn encode_result_into(person: &Person, q: &Qualification, out: &mut Vec<u8>) -> [usize; 3] {
    let start = out.len();
    let mut w = Wire(out);
    w.str(1, q.card_classification.code())
        .str(2, q.insurer_number.as_str())
        .str(3, &q.insurer_name)
        .str(4, q.symbol.as_str())
        .str(5, q.number.as_str())
        .str(6, q.branch.as_ref().map_or("", |b| b.as_str()))
        .str(7, q.family.code())
        .str(8, &q.insured_name)
        .str(9, &person.name)
        .str(11, &person.name_kana)
        .str(13, person.sex.code())
        .date(15, person.birthdate)
        .str(16, &person.address)
        .str(17, &person.post_number)
        .date(18, q.qualification_date)
        .opt_date(19, q.loss.map(|l| l.date))
        .str(20, q.loss.map_or("", |l| l.reason.code()))
        .date(21, q.card_issued)
        .date(22, q.card_valid_from)
        .opt_date(23, q.card_valid_until)
        .percent(24, q.contribution_percent)
        .str(25, if q.preschool { "1" } else { "" });
    if let Some(e) = q.elderly {
        w.message(26, |m| {
            m.date(1, e.certificate_date)
                .date(2, e.valid_from)
                .date(3, e.valid_until)
                .percent(4, e.contribution_percent);
        });
    }
    let base = w.0.len() - start;
    if let Some(l) = q.limit_certificate {
        w.message(29, |m| {
            m.str(1, l.classification.code())
                .str(2, &l.bracket.code())
                .date(3, l.certificate_date)
                .date(4, l.valid_from)
                .date(5, l.valid_until)
                .opt_date(6, l.long_term_date);
        });
    }
    let limit = w.0.len() - start - base;
    if !q.specific_diseases.is_empty() {
        w.message(32, |list| {
            for s in &q.specific_diseases {
                list.message(1, |m| {
                    m.str(1, s.disease.code())
                        .date(2, s.certificate_date)
                        .date(3, s.valid_from)
                        .opt_date(4, s.valid_until)
                        .decimal(5, u64::from(s.self_pay_yen));
                });
            }
        });
    }
    [base, limit, w.0.len() - start - base - limit]
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

/// Encodes the per-request fields to append after the stored result: for each consent kind its
/// flag ("1" given, "0" refused, nothing if not asked), and for a consent given, when and (for the
/// viewing consents) until when.
pub fn encode_request_fields(c: &ConsentFields, reference_number: &str, out: &mut impl bytes::BufMut) {
    let mut w = Wire(out);
    // (consent, field of its flag, whether an "available until" field follows the time)
    let kinds = [
        (&c.limit_certificate, 27, false),
        (&c.specific_diseases, 30, false),
        (&c.specific_health_checkups, 33, true),
        (&c.pharmacists, 36, true),
        (&c.diagnosis, 39, true),
        (&c.operation, 42, true),
    ];
    for (consent, field, has_until) in kinds {
        let Some(t) = consent else { continue };
        w.str(field, if t.given { "1" } else { "0" });
        if t.given {
            w.time(field + 1, t.at);
            if has_until {
                w.time(field + 2, t.until);
            }
        }
    }
    w.str(45, reference_number);
}

/// The encoded length of the per-request fields with every consent given (194 bytes) and the
/// reference number's tag and length, to size buffers; the caller adds the number's own length.
pub const REQUEST_FIELDS_CAPACITY: usize = 200;

#[cfg(test)]
mod tests {
    use onshi_domain::codes::contribution_ratio_code;
    use onshi_domain::date::Date;
    use onshi_domain::population::{Population, scenarios};
    use onshi_proto::v1;
    use prost::Message;

    use super::*;

    fn date(d: Date) -> String {
        d.yyyymmdd()
    }

    fn opt_date(d: Option<Date>) -> String {
        d.map(date).unwrap_or_default()
    }

    /// The same result built as a prost message: the reference the hand-written encoding must
    /// match byte for byte.
    fn prost_result(person: &Person, q: &Qualification) -> [Vec<u8>; 3] {
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
        [base, limit, diseases]
    }

    #[test]
    fn results_are_byte_for_byte_what_prost_encodes() {
        let as_of = Date::new(2026, 11, 23).expect("date");
        let pop = Population::new(7, as_of);
        let scenario_people = scenarios::all(as_of).into_iter().flat_map(|s| s.persons);
        let (mut limits, mut diseases, mut elderly) = (0, 0, 0);
        for person in (0..30_000).map(|i| pop.person(i)).chain(scenario_people) {
            for q in &person.qualifications {
                let enc = encode_result(&person, q);
                assert_eq!([enc.base, enc.limit, enc.diseases], prost_result(&person, q), "{person:?}");
                limits += usize::from(q.limit_certificate.is_some());
                diseases += usize::from(!q.specific_diseases.is_empty());
                elderly += usize::from(q.elderly.is_some());
            }
        }
        // The people compared cover every optional part.
        assert!(limits > 100 && diseases > 10 && elderly > 100, "{limits} {diseases} {elderly}");
    }

    #[test]
    fn request_fields_are_byte_for_byte_what_prost_encodes() {
        let at = JstDateTime::new(Date::new(2026, 11, 23).expect("date"), 9, 5, 7).expect("time");
        let until = at.add_seconds(86_400).expect("time");
        let given = Some(ConsentTimes { given: true, at, until });
        let refused = Some(ConsentTimes { given: false, at, until });
        let cases = [
            (ConsentFields::default(), ""),
            (ConsentFields::default(), "R-0001"),
            (
                ConsentFields {
                    specific_health_checkups: given,
                    pharmacists: refused,
                    diagnosis: given,
                    operation: None,
                    limit_certificate: given,
                    specific_diseases: refused,
                },
                "",
            ),
            (
                ConsentFields {
                    specific_health_checkups: refused,
                    pharmacists: given,
                    diagnosis: refused,
                    operation: given,
                    limit_certificate: refused,
                    specific_diseases: given,
                },
                "受付-42",
            ),
            (
                ConsentFields {
                    specific_health_checkups: given,
                    pharmacists: given,
                    diagnosis: given,
                    operation: given,
                    limit_certificate: given,
                    specific_diseases: given,
                },
                "KARTE-0001",
            ),
        ];
        let flag = |c: &Option<ConsentTimes>| c.map(|t| if t.given { "1" } else { "0" }.to_owned()).unwrap_or_default();
        let at = |c: &Option<ConsentTimes>| c.filter(|t| t.given).map(|t| t.at.compact()).unwrap_or_default();
        let until = |c: &Option<ConsentTimes>| c.filter(|t| t.given).map(|t| t.until.compact()).unwrap_or_default();
        for (c, reference_number) in cases {
            let expected = v1::ResultOfQualificationConfirmation {
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
            }
            .encode_to_vec();
            let mut out = Vec::new();
            encode_request_fields(&c, reference_number, &mut out);
            assert_eq!(out, expected, "{c:?}");
            assert!(out.len() <= REQUEST_FIELDS_CAPACITY + reference_number.len(), "{} bytes", out.len());
        }
    }

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
