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

/// Access-log key; records of one person sort newest first.
pub fn access(person: PersonId, unix_millis: i64, unique: u64) -> [u8; 24] {
    let mut k = [0u8; 24];
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

/// The high-water mark (next number, u64 BE) of ids handed out by the admin API (persons,
/// generated card serials); merged with "largest wins" (see `sequence`).
pub const META_ADMIN_SEQUENCE: &[u8] = b"admin_sequence";
/// The high-water mark (next number, u64 BE) of 一括照会 reception numbers; merged likewise.
pub const META_RECEPTION_SEQUENCE: &[u8] = b"reception_sequence";

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
    fn qualification_keys_sort_by_person_then_sequence() {
        assert!(qualification(PersonId(1), 5) < qualification(PersonId(2), 0));
        assert_eq!(person_of_qualification(&qualification(PersonId(77), 1)), Some(PersonId(77)));
    }
}
