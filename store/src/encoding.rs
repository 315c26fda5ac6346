//! The ready-to-serve encoding: the one place where a domain `Qualification` becomes the bytes of
//! an `onshi.v1.ResultOfQualificationConfirmation`, split into the base and the consent-gated parts
//! (see `values::ResultParts`). The store keeps qualifications in this form so a card lookup
//! copies bytes instead of building a message; the server's tests compare these bytes with prost's
//! encoding of the same message.

use onshi_domain::qualification::{Person, Qualification};

use crate::wire::Wire;

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
