//! A person as the national system knows them: identity, cards and the chain of qualifications,
//! and the rule that decides 資格有効性 on a date.

use crate::codes::{
    InsuredCardClassification, LimitBracket, LimitCertificateClassification, PersonalFamily, QualificationValidity,
    ReasonOfLoss, Sex, SpecificDisease,
};
use crate::date::Date;
use crate::ids::{
    CertificateSerial, InsuredBranchNumber, InsuredCardSymbol, InsuredIdentificationNumber, InsurerNumber,
};

/// A person's identifier in the store: population index, or a scenario id at and above
/// [`crate::population::SCENARIO_ID_BASE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct PersonId(pub u64);

/// One insured person with everything the qualification answer shows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Person {
    pub id: PersonId,
    /// 氏名 in kanji, family and given name separated by a full-width space.
    pub name: String,
    /// 氏名カナ in half-width katakana, separated by a half-width space.
    pub name_kana: String,
    pub sex: Sex,
    pub birthdate: Date,
    /// 住所 as registered with the insurer.
    pub address: String,
    /// 郵便番号 as "123-4567".
    pub post_number: String,
    /// My Number cards, oldest first; at most one is active.
    pub cards: Vec<Card>,
    /// Qualifications, oldest first. Each one lost with reason 03 is followed by its successor.
    pub qualifications: Vec<Qualification>,
}

/// The user-identification certificate of a My Number card.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Card {
    pub serial: CertificateSerial,
    pub issued: Date,
    /// The certificate is valid until its 5th birthday after issue.
    pub expires: Date,
    /// Set when the card was reissued or the certificate renewed; the old serial answers as revoked.
    pub revoked: Option<Date>,
}

/// The loss of a qualification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Loss {
    /// 資格喪失年月日: the first day without the qualification.
    pub date: Date,
    pub reason: ReasonOfLoss,
}

/// 高齢受給者証 (ages 70–74).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ElderlyRecipient {
    pub certificate_date: Date,
    pub valid_from: Date,
    pub valid_until: Date,
    pub contribution_percent: u8,
}

/// 限度額適用認定証.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LimitCertificate {
    pub classification: LimitCertificateClassification,
    pub bracket: LimitBracket,
    pub certificate_date: Date,
    pub valid_from: Date,
    pub valid_until: Date,
    /// 長期入院該当年月日, for low-income patients hospitalised over 90 days.
    pub long_term_date: Option<Date>,
}

/// 特定疾病療養受療証.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpecificDiseaseCertificate {
    pub disease: SpecificDisease,
    pub certificate_date: Date,
    pub valid_from: Date,
    pub valid_until: Option<Date>,
    /// 自己負担限度額 in yen per month.
    pub self_pay_yen: u32,
}

/// One health-insurance qualification.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Qualification {
    pub insurer_number: InsurerNumber,
    pub insurer_name: String,
    pub card_classification: InsuredCardClassification,
    pub symbol: InsuredCardSymbol,
    pub number: InsuredIdentificationNumber,
    pub branch: Option<InsuredBranchNumber>,
    pub family: PersonalFamily,
    /// 被保険者氏名 (世帯主氏名): the person this one depends on, or the person themself.
    pub insured_name: String,
    /// 資格取得年月日.
    pub qualification_date: Date,
    pub loss: Option<Loss>,
    pub card_issued: Date,
    pub card_valid_from: Date,
    pub card_valid_until: Option<Date>,
    pub contribution_percent: u8,
    pub preschool: bool,
    pub elderly: Option<ElderlyRecipient>,
    pub limit_certificate: Option<LimitCertificate>,
    pub specific_diseases: Vec<SpecificDiseaseCertificate>,
}

/// What the validity rule needs of a qualification: when it began, when it was lost, and when a
/// newer qualification of the same person began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: Date,
    pub lost_on: Option<Date>,
    pub successor_from: Option<Date>,
}

impl Span {
    /// 資格有効性 of this qualification on `on`, or `None` if it has not begun yet (a qualification
    /// that does not exist yet matches nothing).
    pub fn validity_on(self, on: Date) -> Option<QualificationValidity> {
        if on < self.from {
            return None;
        }
        match self.lost_on {
            Some(lost) if on >= lost => Some(if self.successor_from.is_some_and(|s| on >= s) {
                QualificationValidity::InvalidNewerExists
            } else {
                QualificationValidity::Invalid
            }),
            _ => Some(QualificationValidity::Valid),
        }
    }
}

impl Person {
    /// The validity spans of the qualifications, in order.
    pub fn spans(&self) -> Vec<Span> {
        spans_of(&self.qualifications)
    }
}

/// The spans of a chain of qualifications, oldest first: a lost qualification's successor is the
/// next one in the chain.
pub fn spans_of(quals: &[Qualification]) -> Vec<Span> {
    quals
        .iter()
        .enumerate()
        .map(|(i, q)| Span {
            from: q.qualification_date,
            lost_on: q.loss.map(|l| l.date),
            successor_from: q.loss.and_then(|_| quals.get(i + 1).map(|n| n.qualification_date)),
        })
        .collect()
}

/// Which of a person's qualifications a card confirmation answers with on `on`: the one valid
/// that day, else the newest one that has begun (lost: validity 2 or 3), else none (validity 4).
pub fn card_choice(spans: &[Span], on: Date) -> Option<(usize, QualificationValidity)> {
    let mut newest_begun = None;
    for (i, span) in spans.iter().enumerate() {
        match span.validity_on(on) {
            Some(QualificationValidity::Valid) => return Some((i, QualificationValidity::Valid)),
            Some(v) => newest_begun = Some((i, v)),
            None => {}
        }
    }
    newest_begun
}

/// The July 31st on or after `d` (certificates run August to July).
pub fn next_july_31(d: Date) -> Date {
    let this_year = Date::new(d.year(), 7, 31).unwrap_or(d);
    if d <= this_year { this_year } else { Date::new(d.year() + 1, 7, 31).unwrap_or(d) }
}

/// The August 1st on or before `d`.
pub fn last_august_1(d: Date) -> Date {
    let this_year = Date::new(d.year(), 8, 1).unwrap_or(d);
    if d >= this_year { this_year } else { Date::new(d.year() - 1, 8, 1).unwrap_or(d) }
}

/// The 高齢受給者証 in force on `as_of` for someone in the 70–74 band.
pub fn elderly_recipient(birth: Date, as_of: Date, percent: u8) -> ElderlyRecipient {
    let start = crate::age::elderly_recipient_start(birth).unwrap_or(as_of);
    let end = crate::age::elderly_recipient_end(birth).unwrap_or(as_of);
    let valid_from = start.max(last_august_1(as_of));
    ElderlyRecipient {
        certificate_date: valid_from.add_days(-14).unwrap_or(valid_from),
        valid_from,
        valid_until: end.min(next_july_31(as_of)),
        contribution_percent: percent,
    }
}

/// What a qualification in force on `on` carries because of the holder's age: its 負担割合
/// (`percent`, from `age::contribution_percent` or as an insurer set it), whether the holder is
/// 未就学, and the 高齢受給者証 of the 70–74 band. One rule for generated and admin-made people.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeTerms {
    pub contribution_percent: u8,
    pub preschool: bool,
    pub elderly: Option<ElderlyRecipient>,
}

pub fn age_terms(birth: Date, on: Date, percent: u8) -> AgeTerms {
    let band = crate::age::age_band(birth, on);
    AgeTerms {
        contribution_percent: percent,
        preschool: band == crate::age::AgeBand::Preschool,
        elderly: (band == crate::age::AgeBand::Elderly).then(|| elderly_recipient(birth, on, percent)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_yyyymmdd(s).expect("valid date")
    }

    #[test]
    fn validity_follows_loss_and_successor() {
        let old = Span { from: d("20100401"), lost_on: Some(d("20250401")), successor_from: Some(d("20250401")) };
        assert_eq!(old.validity_on(d("20250331")), Some(QualificationValidity::Valid));
        assert_eq!(old.validity_on(d("20250401")), Some(QualificationValidity::InvalidNewerExists));
        assert_eq!(old.validity_on(d("20090101")), None);
        let lost = Span { from: d("20100401"), lost_on: Some(d("20251001")), successor_from: None };
        assert_eq!(lost.validity_on(d("20251001")), Some(QualificationValidity::Invalid));
    }

    #[test]
    fn card_answers_with_the_qualification_in_force() {
        let spans = [
            Span { from: d("20000401"), lost_on: Some(d("20261101")), successor_from: Some(d("20261101")) },
            Span { from: d("20261101"), lost_on: None, successor_from: None },
        ];
        assert_eq!(card_choice(&spans, d("20261031")), Some((0, QualificationValidity::Valid)));
        assert_eq!(card_choice(&spans, d("20261101")), Some((1, QualificationValidity::Valid)));
        assert_eq!(card_choice(&spans, d("19990101")), None);
        let lost = [Span { from: d("20000401"), lost_on: Some(d("20251001")), successor_from: None }];
        assert_eq!(card_choice(&lost, d("20251101")), Some((0, QualificationValidity::Invalid)));
    }
}
