//! The per-request fields of a card or insured-number confirmation (consents, reference numbers),
//! encoded to be appended to the stored ready-to-serve result (`onshi_store::encoding`). The tests
//! here hold both encodings to prost's: this is where the store's bytes meet onshi.v1.

use onshi_domain::codes::ConsentKind;
use onshi_domain::date::JstDateTime;
use onshi_store::wire::Wire;

/// The consent fields a card confirmation appends to a result: for each kind, the flag as the
/// patient chose it, and for a consent given, its time and (for the viewing consents) until when.
/// Indexed by [`ConsentKind::index`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsentFields([Option<ConsentTimes>; ConsentKind::ALL.len()]);

impl ConsentFields {
    pub fn set(&mut self, kind: ConsentKind, times: ConsentTimes) {
        self.0[kind.index()] = Some(times);
    }

    pub fn get(&self, kind: ConsentKind) -> Option<ConsentTimes> {
        self.0[kind.index()]
    }

    /// Whether the patient gave the consent of `kind` in this request.
    pub fn given(&self, kind: ConsentKind) -> bool {
        self.get(kind).is_some_and(|t| t.given)
    }
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
    // (consent, field of its flag, whether an "available until" field follows the time), in field
    // order.
    const KINDS: [(ConsentKind, u32, bool); 6] = [
        (ConsentKind::LimitCertificate, 27, false),
        (ConsentKind::SpecificDiseasesCertificate, 30, false),
        (ConsentKind::SpecificHealthCheckups, 33, true),
        (ConsentKind::Pharmacists, 36, true),
        (ConsentKind::Diagnosis, 39, true),
        (ConsentKind::Operation, 42, true),
    ];
    for (kind, field, has_until) in KINDS {
        let Some(t) = c.get(kind) else { continue };
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

    use onshi_domain::qualification::{Person, Qualification};
    use onshi_store::encoding::encode_result;

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
        // Consents in `ConsentKind::ALL` order.
        let fields = |each: [Option<ConsentTimes>; 6]| {
            let mut f = ConsentFields::default();
            for (kind, times) in ConsentKind::ALL.into_iter().zip(each) {
                if let Some(t) = times {
                    f.set(kind, t);
                }
            }
            f
        };
        let cases = [
            (ConsentFields::default(), ""),
            (ConsentFields::default(), "R-0001"),
            (fields([given, refused, given, None, given, refused]), ""),
            (fields([refused, given, refused, given, refused, given]), "受付-42"),
            (fields([given, given, given, given, given, given]), "KARTE-0001"),
        ];
        let flag = |c: &Option<ConsentTimes>| c.map(|t| if t.given { "1" } else { "0" }.to_owned()).unwrap_or_default();
        let at = |c: &Option<ConsentTimes>| c.filter(|t| t.given).map(|t| t.at.compact()).unwrap_or_default();
        let until = |c: &Option<ConsentTimes>| c.filter(|t| t.given).map(|t| t.until.compact()).unwrap_or_default();
        for (c, reference_number) in cases {
            let expected = v1::ResultOfQualificationConfirmation {
                limit_application_certificate_related_cons_flg: flag(&c.get(ConsentKind::LimitCertificate)),
                limit_application_certificate_related_cons_time: at(&c.get(ConsentKind::LimitCertificate)),
                specific_diseases_certificate_related_cons_flg: flag(&c.get(ConsentKind::SpecificDiseasesCertificate)),
                specific_diseases_certificate_related_cons_time: at(&c.get(ConsentKind::SpecificDiseasesCertificate)),
                specific_health_checkups_info_cons_flg: flag(&c.get(ConsentKind::SpecificHealthCheckups)),
                specific_health_checkups_info_cons_time: at(&c.get(ConsentKind::SpecificHealthCheckups)),
                specific_health_checkups_info_available_time: until(&c.get(ConsentKind::SpecificHealthCheckups)),
                pharmacists_info_cons_flg: flag(&c.get(ConsentKind::Pharmacists)),
                pharmacists_info_cons_time: at(&c.get(ConsentKind::Pharmacists)),
                pharmacists_info_available_time: until(&c.get(ConsentKind::Pharmacists)),
                diagnosis_info_cons_flg: flag(&c.get(ConsentKind::Diagnosis)),
                diagnosis_info_cons_time: at(&c.get(ConsentKind::Diagnosis)),
                diagnosis_info_available_time: until(&c.get(ConsentKind::Diagnosis)),
                operation_info_cons_flg: flag(&c.get(ConsentKind::Operation)),
                operation_info_cons_time: at(&c.get(ConsentKind::Operation)),
                operation_info_available_time: until(&c.get(ConsentKind::Operation)),
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

    #[test]
    fn fields_encode_as_prost_does() {
        use prost::Message;
        let m = onshi_proto::v1::SpecificDiseasesCertificateInfo {
            specific_diseases_disease_category: "01".into(),
            specific_diseases_certificate_date: "20250401".into(),
            specific_diseases_valid_start_date: String::new(),
            specific_diseases_valid_end_date: "20991231".into(),
            specific_diseases_self_pay: "10000".into(),
        };
        let mut out = Vec::new();
        Wire(&mut out)
            .str(1, "01")
            .date(2, onshi_domain::date::Date::new(2025, 4, 1).expect("date"))
            .opt_date(3, None)
            .opt_date(4, onshi_domain::date::Date::new(2099, 12, 31))
            .decimal(5, 10_000);
        assert_eq!(out, m.encode_to_vec());
    }

    #[test]
    fn long_nested_messages_get_a_wider_length() {
        for n in [0usize, 1, 125, 126, 127, 128, 300, 20_000] {
            let text = "x".repeat(n);
            let mut out = Vec::new();
            Wire(&mut out).message(9, |w| {
                w.str(1, &text);
            });
            let expected = onshi_proto::v1::SpecificDiseasesCertificateList {
                specific_diseases_certificate_info: vec![onshi_proto::v1::SpecificDiseasesCertificateInfo {
                    specific_diseases_disease_category: text.clone(),
                    ..Default::default()
                }],
            };
            use prost::Message;
            // Field 9 of a message holding one nested message: compare the nested bytes.
            let inner = expected.specific_diseases_certificate_info[0].encode_to_vec();
            let mut want = Vec::new();
            Wire(&mut want).varint(9 << 3 | 2);
            Wire(&mut want).varint(inner.len() as u64);
            want.extend_from_slice(&inner);
            assert_eq!(out, want, "length {n}");
        }
    }
}
