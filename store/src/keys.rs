//! Every RocksDB key layout of onshi, in one place. Each column family holds one kind of record;
//! a column family name or key prefix, once used, is never reused for something else.
//!
//! Multi-part keys are built so that the byte order is the order the reads need, and separators
//! (0x00) cannot occur inside the parts: validated identifiers never contain control characters.

use onshi_domain::date::Date;
use onshi_domain::ids::{
    CertificateSerial, InsuredBranchNumber, InsuredCardSymbol, InsuredIdentificationNumber, InsurerNumber,
    MedicalInstitutionCode,
};
use onshi_domain::qualification::PersonId;

/// The card lookup's hot path: active certificate serial → the person's qualifications, stored
/// ready to serve (see `values::CardValue`). Key: the canonical serial (uppercase hex).
pub const CF_CARD_RESULTS: &str = "card_results";
/// Serials that are not active (revoked, with the reissue link). Key: canonical serial.
pub const CF_CARDS: &str = "cards";
/// Qualification records. Key: person id (u64 BE) + sequence number in the person's chain (u8).
pub const CF_QUALIFICATIONS: &str = "qualifications";
/// The insured-number index: insurer | 記号 | 0x00 | 番号 | 0x00 | 生年月日 (YYYYMMDD) | 枝番 (2 or
/// none) → qualification key. Without 枝番 a lookup scans the prefix up to the birthdate.
pub const CF_INSURED_INDEX: &str = "insured_index";
/// Consents given at the card reader. Key: facility code (10) | person id (u64 BE) | kind tag (u8).
pub const CF_CONSENTS: &str = "consents";
/// The allow-list. Key: facility code (10 ASCII digits).
pub const CF_FACILITIES: &str = "facilities";
/// 照会番号 registrations. Key: facility code (10) | person id (u64 BE) → the reference number.
pub const CF_REFERENCE_NUMBERS: &str = "reference_numbers";
/// Disclosures, what マイナポータル shows. Key: person id (u64 BE) | (u64::MAX − unix millis) (BE) |
/// a per-process unique suffix (u64 BE): a person's records sort newest first.
pub const CF_ACCESS_LOG: &str = "access_log";
/// The head of each person's access-log chain (see `values::ChainHead`). Key: person id (u64 BE).
pub const CF_ACCESS_CHAIN: &str = "access_chain";
/// 一括照会 jobs. Key: reception number (ASCII).
pub const CF_BULK_JOBS: &str = "bulk_jobs";
/// Full records (JSON) of people that are not computed from the population: scenario people and
/// people created or changed through the admin API. Key: person id (u64 BE).
pub const CF_PERSONS: &str = "persons";
/// Dispensing records added through the admin API. Key: person id (u64 BE) | date (YYYYMMDD) |
/// sequence (u64 BE) → encoded onshi.v1.DispensingInfo.
pub const CF_MEDICATION_RECORDS: &str = "medication_records";
/// Checkups added through the admin API. Key: person id (u64 BE) | date (YYYYMMDD) | sequence
/// (u64 BE) → encoded onshi.v1.SpecificHealthCheckupInfo.
pub const CF_CHECKUP_RECORDS: &str = "checkup_records";
/// Qualification confirmations, the facts fee additions are judged on (FeeService). Key: facility
/// code (10) | the JST day (YYYYMMDD as u32 BE) | person id (u64 BE) | how (u8, see
/// [`ConfirmedBy`]) → `values::ConfirmationFact` (the latest confirmation's time): one facility's
/// days sort together, so a month's confirmations are one range and a visit's are point reads.
pub const CF_CONFIRMATIONS: &str = "confirmations";
/// Store-wide metadata. Keys: the `META_*` constants.
pub const CF_META: &str = "meta";

/// Every column family, in the order they are opened.
pub const ALL_CFS: &[&str] = &[
    CF_CARD_RESULTS,
    CF_CARDS,
    CF_QUALIFICATIONS,
    CF_INSURED_INDEX,
    CF_CONSENTS,
    CF_FACILITIES,
    CF_META,
    CF_REFERENCE_NUMBERS,
    CF_ACCESS_LOG,
    CF_ACCESS_CHAIN,
    CF_BULK_JOBS,
    CF_PERSONS,
    CF_MEDICATION_RECORDS,
    CF_CHECKUP_RECORDS,
    CF_CONFIRMATIONS,
];

/// The population the store was seeded with (JSON); written last, so its presence means the
/// seed finished.
pub const META_POPULATION: &[u8] = b"population";
/// The layout version of keys and values.
pub const META_SCHEMA: &[u8] = b"schema";

/// The current layout version.
pub const SCHEMA_VERSION: u32 = 1;

pub fn card(serial: &CertificateSerial) -> &[u8] {
    serial.as_str().as_bytes()
}

/// Qualification key: person id and the position in the person's chain.
pub fn qualification(person: PersonId, seq: u8) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[..8].copy_from_slice(&person.0.to_be_bytes());
    k[8] = seq;
    k
}

/// The person of a qualification key.
pub fn person_of_qualification(key: &[u8]) -> Option<PersonId> {
    Some(PersonId(u64::from_be_bytes(key.get(..8)?.try_into().ok()?)))
}

/// The index prefix shared by every branch of one card number and birthdate.
pub fn insured_prefix(
    insurer: &InsurerNumber,
    symbol: &InsuredCardSymbol,
    number: &InsuredIdentificationNumber,
    birthdate: Date,
) -> Vec<u8> {
    insured(insurer, symbol, number, birthdate, None)
}

/// The full index key (prefix plus 枝番, if the card has one).
pub fn insured(
    insurer: &InsurerNumber,
    symbol: &InsuredCardSymbol,
    number: &InsuredIdentificationNumber,
    birthdate: Date,
    branch: Option<InsuredBranchNumber>,
) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + symbol.as_str().len() + number.as_str().len() + 12);
    insured_into(&mut k, insurer, symbol, number, birthdate, branch);
    k
}

/// [`insured`], written into `k` (cleared first) so a bulk loader can reuse one buffer.
pub fn insured_into(
    k: &mut Vec<u8>,
    insurer: &InsurerNumber,
    symbol: &InsuredCardSymbol,
    number: &InsuredIdentificationNumber,
    birthdate: Date,
    branch: Option<InsuredBranchNumber>,
) {
    k.clear();
    k.extend_from_slice(insurer.as_bytes());
    k.extend_from_slice(symbol.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(number.as_str().as_bytes());
    k.push(0);
    birthdate_into(k, birthdate);
    if let Some(b) = branch {
        k.extend_from_slice(b.as_bytes());
    }
}

fn birthdate_into(k: &mut Vec<u8>, d: Date) {
    let v = d.to_u32();
    for div in [10_000_000, 1_000_000, 100_000, 10_000, 1000, 100, 10, 1] {
        k.push(b'0' + ((v / div) % 10) as u8);
    }
}

/// Consent key.
pub fn consent(facility: &MedicalInstitutionCode, person: PersonId, kind_tag: u8) -> [u8; 19] {
    let mut k = [0u8; 19];
    k[..10].copy_from_slice(facility.as_bytes());
    k[10..18].copy_from_slice(&person.0.to_be_bytes());
    k[18] = kind_tag;
    k
}

pub fn facility(code: &MedicalInstitutionCode) -> &[u8] {
    code.as_bytes()
}

/// Reference-number key.
pub fn reference_number(facility: &MedicalInstitutionCode, person: PersonId) -> [u8; 18] {
    let mut k = [0u8; 18];
    k[..10].copy_from_slice(facility.as_bytes());
    k[10..].copy_from_slice(&person.0.to_be_bytes());
    k
}

/// Length of an access-log key.
pub const ACCESS_KEY_LEN: usize = 24;

/// Access-log key; records of one person sort newest first.
pub fn access(person: PersonId, unix_millis: i64, unique: u64) -> [u8; ACCESS_KEY_LEN] {
    let mut k = [0u8; ACCESS_KEY_LEN];
    k[..8].copy_from_slice(&person.0.to_be_bytes());
    k[8..16].copy_from_slice(&(u64::MAX - unix_millis.max(0) as u64).to_be_bytes());
    k[16..].copy_from_slice(&unique.to_be_bytes());
    k
}

pub fn person(person: PersonId) -> [u8; 8] {
    person.0.to_be_bytes()
}

/// Key of an added medical record (medication or checkup).
pub fn medical_record(person: PersonId, date: Date, sequence: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(24);
    k.extend_from_slice(&person.0.to_be_bytes());
    birthdate_into(&mut k, date);
    k.extend_from_slice(&sequence.to_be_bytes());
    k
}

/// How a qualification was confirmed: the last byte of a confirmation key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConfirmedBy {
    /// マイナ保険証: the card at the reader.
    Card,
    /// The insurance card's numbers.
    InsuredNumbers,
}

impl ConfirmedBy {
    pub fn tag(self) -> u8 {
        match self {
            ConfirmedBy::Card => 1,
            ConfirmedBy::InsuredNumbers => 2,
        }
    }

    pub fn from_tag(tag: u8) -> Option<ConfirmedBy> {
        match tag {
            1 => Some(ConfirmedBy::Card),
            2 => Some(ConfirmedBy::InsuredNumbers),
            _ => None,
        }
    }
}

/// Length of a confirmation key.
pub const CONFIRMATION_KEY_LEN: usize = 23;

/// Confirmation key.
pub fn confirmation(facility: &MedicalInstitutionCode, day: Date, person: PersonId, by: ConfirmedBy) -> [u8; 23] {
    let mut k = [0u8; CONFIRMATION_KEY_LEN];
    k[..10].copy_from_slice(facility.as_bytes());
    k[10..14].copy_from_slice(&day.to_u32().to_be_bytes());
    k[14..22].copy_from_slice(&person.0.to_be_bytes());
    k[22] = by.tag();
    k
}

/// The first key of a facility's confirmations on `day` (every later day sorts after it).
pub fn confirmations_from(facility: &MedicalInstitutionCode, day: Date) -> [u8; 14] {
    let mut k = [0u8; 14];
    k[..10].copy_from_slice(facility.as_bytes());
    k[10..].copy_from_slice(&day.to_u32().to_be_bytes());
    k
}

/// The day, person and method of a confirmation key.
pub fn parse_confirmation(key: &[u8]) -> Option<(Date, PersonId, ConfirmedBy)> {
    if key.len() != CONFIRMATION_KEY_LEN {
        return None;
    }
    let day = Date::from_u32(u32::from_be_bytes(key[10..14].try_into().ok()?))?;
    let person = PersonId(u64::from_be_bytes(key[14..22].try_into().ok()?));
    Some((day, person, ConfirmedBy::from_tag(key[22])?))
}

/// The access-log keys of a person's records from `from_millis` (inclusive) to `to_millis`
/// (exclusive), as (first key, upper bound): newest first, like the log.
pub fn access_range(person: PersonId, from_millis: i64, to_millis: i64) -> ([u8; 24], [u8; 24]) {
    (access(person, to_millis - 1, 0), access(person, from_millis - 1, 0))
}

/// The high-water mark (next number, u64 BE) of ids handed out by the admin API (persons,
/// generated card serials); merged with "largest wins" (see `sequence`).
pub const META_ADMIN_SEQUENCE: &[u8] = b"admin_sequence";
/// The high-water mark (next number, u64 BE) of 一括照会 reception numbers; merged likewise.
pub const META_RECEPTION_SEQUENCE: &[u8] = b"reception_sequence";

/// The person of an access-log key.
pub fn person_of_access(key: &[u8; ACCESS_KEY_LEN]) -> PersonId {
    PersonId(u64::from_be_bytes(*key.first_chunk::<8>().unwrap_or(&[0; 8])))
}

/// The first key of a person's access records.
pub fn access_prefix(person: PersonId) -> [u8; 8] {
    person.0.to_be_bytes()
}

#[cfg(test)]
mod tests {
    use onshi_domain::ids::CheckDigits;

    use super::*;

    #[test]
    fn index_keys_sort_branches_under_their_prefix() {
        let ins = InsurerNumber::parse("01130012", CheckDigits::Strict).expect("valid");
        let sym = InsuredCardSymbol::parse("90000001").expect("valid");
        let num = InsuredIdentificationNumber::parse("4").expect("valid");
        let date = Date::new(2015, 5, 5).expect("date");
        let prefix = insured_prefix(&ins, &sym, &num, date);
        assert!(prefix.ends_with(b"\x004\x0020150505"));
        let b1 = insured(&ins, &sym, &num, date, InsuredBranchNumber::parse_optional("01").expect("ok"));
        assert!(b1.starts_with(&prefix));
        assert_eq!(b1.len(), prefix.len() + 2);
        // A longer 番号 sharing the digits does not fall under the prefix.
        let num40 = InsuredIdentificationNumber::parse("40").expect("valid");
        assert!(!insured_prefix(&ins, &sym, &num40, date).starts_with(&prefix));
    }

    #[test]
    fn access_keys_sort_newest_first_within_a_person() {
        let p = PersonId(9);
        assert!(access(p, 2_000, 0) < access(p, 1_000, 0));
        assert!(access(p, 1_000, 5) < access(PersonId(10), 9_000, 0));
        assert!(access(p, 1_000, 1).starts_with(&access_prefix(p)));
    }

    #[test]
    fn confirmation_keys_sort_by_facility_then_day_and_parse_back() {
        let clinic = MedicalInstitutionCode::parse("1312345679", CheckDigits::Strict).expect("valid");
        let other = MedicalInstitutionCode::parse("1342345673", CheckDigits::Strict).expect("valid");
        let (d1, d2) = (Date::new(2024, 7, 3).expect("date"), Date::new(2024, 7, 4).expect("date"));
        let k = confirmation(&clinic, d1, PersonId(u64::MAX), ConfirmedBy::InsuredNumbers);
        assert!(k < confirmation(&clinic, d2, PersonId(0), ConfirmedBy::Card));
        assert!(k.starts_with(&confirmations_from(&clinic, d1)));
        assert!(k[..] < confirmations_from(&clinic, d2)[..]);
        assert!(
            confirmation(&clinic, d2, PersonId(1), ConfirmedBy::Card)
                < confirmation(&other, d1, PersonId(1), ConfirmedBy::Card)
        );
        assert_eq!(parse_confirmation(&k), Some((d1, PersonId(u64::MAX), ConfirmedBy::InsuredNumbers)));
        assert_eq!(parse_confirmation(&k[..22]), None);
    }

    #[test]
    fn an_access_range_holds_the_records_of_its_span_only() {
        let p = PersonId(9);
        let (first, upper) = access_range(p, 10_000, 20_000);
        for (millis, inside) in [(9_999, false), (10_000, true), (19_999, true), (20_000, false)] {
            let k = access(p, millis, 7);
            assert_eq!(first <= k && k < upper, inside, "{millis}");
        }
    }

    #[test]
    fn qualification_keys_sort_by_person_then_sequence() {
        assert!(qualification(PersonId(1), 5) < qualification(PersonId(2), 0));
        assert_eq!(person_of_qualification(&qualification(PersonId(77), 1)), Some(PersonId(77)));
    }
}
