//! Byte layouts of stored values. Hot-path values are a small fixed header followed by encoded
//! protobuf that goes to the wire as it is; rarely read values (facilities, metadata) are JSON.
//!
//! Every binary value starts with a version byte so the layout can evolve.

use bytes::{BufMut, BytesMut};
use onshi_domain::codes::QualificationValidity;
use onshi_domain::date::Date;
use onshi_domain::qualification::{PersonId, Span};
use thiserror::Error;

/// A stored value that does not parse: the store is corrupt or from an incompatible version.
#[derive(Debug, Error)]
#[error("corrupt {what} value")]
pub struct CorruptValue {
    pub what: &'static str,
}

const VERSION: u8 = 1;

/// The three pre-encoded parts of one `ResultOfQualificationConfirmation`: the base shown to any
/// allowed facility, and the certificate groups shown only with the patient's consent. Appending
/// encoded messages merges them, so base + limit + diseases is the full result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResultParts<'a> {
    pub base: &'a [u8],
    /// `limit_application_certificate_related_info`, encoded as a field; empty if none.
    pub limit: &'a [u8],
    /// `specific_diseases_certificate_list`, encoded as a field; empty if none.
    pub diseases: &'a [u8],
}

/// A qualification record: what the validity rule needs and the ready-to-serve result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualificationRecord<'a> {
    pub person: PersonId,
    pub span: Span,
    pub parts: ResultParts<'a>,
}

const QUAL_HEADER: usize = 1 + 4 + 4 + 4 + 8 + 4 + 4 + 4;

fn date_u32(d: Option<Date>) -> u32 {
    d.map_or(0, Date::to_u32)
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl<'a> QualificationRecord<'a> {
    pub fn encoded_len(&self) -> usize {
        QUAL_HEADER + self.parts.base.len() + self.parts.limit.len() + self.parts.diseases.len()
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        out.push(VERSION);
        out.extend_from_slice(&self.span.from.to_u32().to_be_bytes());
        out.extend_from_slice(&date_u32(self.span.lost_on).to_be_bytes());
        out.extend_from_slice(&date_u32(self.span.successor_from).to_be_bytes());
        out.extend_from_slice(&self.person.0.to_be_bytes());
        for part in [self.parts.base, self.parts.limit, self.parts.diseases] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        }
        out.extend_from_slice(self.parts.base);
        out.extend_from_slice(self.parts.limit);
        out.extend_from_slice(self.parts.diseases);
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode_into(&mut v);
        v
    }

    pub fn decode(b: &'a [u8]) -> Result<QualificationRecord<'a>, CorruptValue> {
        Self::try_decode(b).ok_or(CorruptValue { what: "qualification" })
    }

    fn try_decode(b: &'a [u8]) -> Option<QualificationRecord<'a>> {
        if *b.first()? != VERSION {
            return None;
        }
        let from = Date::from_u32(u32_at(b, 1)?)?;
        let opt = |v: u32| if v == 0 { Some(None) } else { Date::from_u32(v).map(Some) };
        let lost_on = opt(u32_at(b, 5)?)?;
        let successor_from = opt(u32_at(b, 9)?)?;
        let person = PersonId(u64_at(b, 13)?);
        let (lb, ll, ld) = (u32_at(b, 21)? as usize, u32_at(b, 25)? as usize, u32_at(b, 29)? as usize);
        let rest = b.get(QUAL_HEADER..)?;
        if rest.len() != lb + ll + ld {
            return None;
        }
        let (base, rest) = rest.split_at(lb);
        let (limit, diseases) = rest.split_at(ll);
        Some(QualificationRecord {
            person,
            span: Span { from, lost_on, successor_from },
            parts: ResultParts { base, limit, diseases },
        })
    }
}

/// The value of an active card: the certificate's expiry, the holder and every qualification
/// of the holder, so a card confirmation is one point read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardValue<'a> {
    pub expires: Date,
    pub person: PersonId,
    /// Encoded [`QualificationRecord`]s, oldest first.
    pub records: Vec<&'a [u8]>,
}

impl<'a> CardValue<'a> {
    pub fn encode<R: AsRef<[u8]>>(expires: Date, person: PersonId, records: &[R]) -> Vec<u8> {
        let mut out = Vec::new();
        Self::encode_into(&mut out, expires, person, records.iter().map(AsRef::as_ref));
        out
    }

    /// Appends the encoded value to `out` (records oldest first; at most 255 are kept).
    pub fn encode_into<'r>(
        out: &mut Vec<u8>,
        expires: Date,
        person: PersonId,
        records: impl Iterator<Item = &'r [u8]> + Clone,
    ) {
        let records = records.take(255);
        out.reserve(1 + 4 + 8 + 1 + records.clone().map(|r| 4 + r.len()).sum::<usize>());
        out.push(VERSION);
        out.extend_from_slice(&expires.to_u32().to_be_bytes());
        out.extend_from_slice(&person.0.to_be_bytes());
        out.push(records.clone().count() as u8);
        for r in records {
            out.extend_from_slice(&(r.len() as u32).to_be_bytes());
            out.extend_from_slice(r);
        }
    }

    pub fn decode(b: &'a [u8]) -> Result<CardValue<'a>, CorruptValue> {
        Self::try_decode(b).ok_or(CorruptValue { what: "card" })
    }

    fn try_decode(b: &'a [u8]) -> Option<CardValue<'a>> {
        if *b.first()? != VERSION {
            return None;
        }
        let expires = Date::from_u32(u32_at(b, 1)?)?;
        let person = PersonId(u64_at(b, 5)?);
        let n = usize::from(*b.get(13)?);
        let mut at = 14;
        let mut records = Vec::with_capacity(n);
        for _ in 0..n {
            let len = u32_at(b, at)? as usize;
            records.push(b.get(at + 4..at + 4 + len)?);
            at += 4 + len;
        }
        (at == b.len()).then_some(CardValue { expires, person, records })
    }
}

/// A serial that no longer answers: revoked on a date, possibly replaced by a new serial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedCard {
    pub person: PersonId,
    pub revoked_on: Date,
    pub reissued_as: Option<String>,
}

impl RevokedCard {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(14 + self.reissued_as.as_ref().map_or(0, String::len));
        out.push(VERSION);
        out.push(2); // status: revoked (1 is reserved for "active", kept in card_results)
        out.extend_from_slice(&self.person.0.to_be_bytes());
        out.extend_from_slice(&self.revoked_on.to_u32().to_be_bytes());
        if let Some(s) = &self.reissued_as {
            out.extend_from_slice(s.as_bytes());
        }
        out
    }

    pub fn decode(b: &[u8]) -> Result<RevokedCard, CorruptValue> {
        let bad = || CorruptValue { what: "revoked card" };
        if b.first() != Some(&VERSION) || b.get(1) != Some(&2) {
            return Err(bad());
        }
        let person = PersonId(u64_at(b, 2).ok_or_else(bad)?);
        let revoked_on = u32_at(b, 10).and_then(Date::from_u32).ok_or_else(bad)?;
        let rest = b.get(14..).ok_or_else(bad)?;
        let reissued_as =
            if rest.is_empty() { None } else { Some(String::from_utf8(rest.to_vec()).map_err(|_| bad())?) };
        Ok(RevokedCard { person, revoked_on, reissued_as })
    }
}

/// A consent given at the card reader: when, and until when it lets the facility view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentValue {
    /// Unix seconds of the consent (ConsTime).
    pub given_at: i64,
    /// Unix seconds until which it allows viewing (AvailableTime); equal to `given_at` for
    /// consents that only allow showing a certificate in the same answer.
    pub available_until: i64,
}

impl ConsentValue {
    pub fn encode(&self) -> [u8; 17] {
        let mut out = [0u8; 17];
        out[0] = VERSION;
        out[1..9].copy_from_slice(&self.given_at.to_be_bytes());
        out[9..17].copy_from_slice(&self.available_until.to_be_bytes());
        out
    }

    pub fn decode(b: &[u8]) -> Result<ConsentValue, CorruptValue> {
        let bad = CorruptValue { what: "consent" };
        if b.len() != 17 || b[0] != VERSION {
            return Err(bad);
        }
        let i = |r: std::ops::Range<usize>| i64::from_be_bytes(b[r].try_into().unwrap_or([0; 8]));
        Ok(ConsentValue { given_at: i(1..9), available_until: i(9..17) })
    }
}

/// A qualification confirmation recorded for fee additions: when (the latest of its day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmationFact {
    /// Unix seconds.
    pub at: i64,
}

impl ConfirmationFact {
    pub fn encode(&self) -> [u8; 9] {
        let mut out = [0u8; 9];
        out[0] = VERSION;
        out[1..].copy_from_slice(&self.at.to_be_bytes());
        out
    }

    pub fn decode(b: &[u8]) -> Result<ConfirmationFact, CorruptValue> {
        match b {
            [VERSION, rest @ ..] if rest.len() == 8 => Ok(ConfirmationFact {
                at: i64::from_be_bytes(rest.try_into().map_err(|_| CorruptValue { what: "confirmation" })?),
            }),
            _ => Err(CorruptValue { what: "confirmation" }),
        }
    }
}

/// Concatenates parts into one buffer with room for `extra` more bytes.
pub fn concat_with_capacity(parts: &[&[u8]], extra: usize) -> BytesMut {
    let mut b = BytesMut::with_capacity(parts.iter().map(|p| p.len()).sum::<usize>() + extra);
    for p in parts {
        b.put_slice(p);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_yyyymmdd(s).expect("date")
    }

    #[test]
    fn qualification_record_round_trips() {
        let rec = QualificationRecord {
            person: PersonId(12),
            span: Span { from: d("20200401"), lost_on: Some(d("20250401")), successor_from: Some(d("20250401")) },
            parts: ResultParts { base: b"base", limit: b"", diseases: b"sd" },
        };
        let bytes = rec.encode();
        assert_eq!(QualificationRecord::decode(&bytes).expect("decodes"), rec);
        assert!(QualificationRecord::decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(QualificationRecord::decode(b"").is_err());
    }

    #[test]
    fn card_value_round_trips() {
        let records = vec![b"one".to_vec(), b"second".to_vec()];
        let bytes = CardValue::encode(d("20300101"), PersonId(5), &records);
        let v = CardValue::decode(&bytes).expect("decodes");
        assert_eq!(v.expires, d("20300101"));
        assert_eq!(v.person, PersonId(5));
        assert_eq!(v.records, vec![&b"one"[..], &b"second"[..]]);
        assert!(CardValue::decode(&bytes[..bytes.len() - 2]).is_err());
    }

    #[test]
    fn small_values_round_trip() {
        let r = RevokedCard { person: PersonId(1), revoked_on: d("20250601"), reissued_as: Some("A1".into()) };
        assert_eq!(RevokedCard::decode(&r.encode()).expect("decodes"), r);
        let c = ConsentValue { given_at: 1_700_000_000, available_until: 1_700_086_400 };
        assert_eq!(ConsentValue::decode(&c.encode()).expect("decodes"), c);
        let f = ConfirmationFact { at: 1_720_000_000 };
        assert_eq!(ConfirmationFact::decode(&f.encode()).expect("decodes"), f);
        assert!(ConfirmationFact::decode(&f.encode()[..8]).is_err());
    }
}

/// One disclosure of a person's information (JSON: rarely written, read only by the history).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccessRecord {
    /// Unix seconds of the disclosure.
    pub at: i64,
    pub facility_code: String,
    pub facility_name: String,
    /// What was disclosed (see access_history.proto).
    pub kind: String,
    /// The consent it was disclosed under (unix seconds).
    pub consent_given_at: i64,
    pub consent_available_until: i64,
    /// What was asked for.
    pub detail: String,
    /// Its place in the person's chain of records (1, 2, …; 0 in records written before chains).
    #[serde(default)]
    pub seq: u64,
    /// Hex SHA-256 of the previous record's `chain` and this record with `chain` empty: editing,
    /// removing or reordering a record breaks every link after it (see `verify`).
    #[serde(default)]
    pub chain: String,
}

impl AccessRecord {
    /// The link of this record after a record whose link was `previous` (32 zero bytes first).
    pub fn link(&self, previous: &[u8; 32]) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let unlinked = AccessRecord { chain: String::new(), ..self.clone() };
        let mut h = Sha256::new();
        h.update(previous);
        h.update(serde_json::to_vec(&unlinked).unwrap_or_default());
        h.finalize().into()
    }
}

/// The head of a person's access chain: the last record's place and link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChainHead {
    pub seq: u64,
    pub link: [u8; 32],
}

impl ChainHead {
    pub fn encode(&self) -> [u8; 40] {
        let mut v = [0u8; 40];
        v[..8].copy_from_slice(&self.seq.to_be_bytes());
        v[8..].copy_from_slice(&self.link);
        v
    }

    pub fn decode(v: &[u8]) -> Result<ChainHead, CorruptValue> {
        let v: &[u8; 40] = v.try_into().map_err(|_| CorruptValue { what: "access chain head" })?;
        let mut link = [0u8; 32];
        link.copy_from_slice(&v[8..]);
        Ok(ChainHead {
            seq: u64::from_be_bytes(v[..8].try_into().map_err(|_| CorruptValue { what: "access chain head" })?),
            link,
        })
    }
}

/// A 一括照会 job's units by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BulkCounts {
    pub all: u32,
    pub valid: u32,
    pub invalid: u32,
    pub invalid_newer_exists: u32,
    pub not_found: u32,
    pub several_match: u32,
    /// Units answered with an error instead of a validity.
    pub errors: u32,
}

impl BulkCounts {
    /// Counts one unit: by its validity, or as an error when it has none.
    pub fn add(&mut self, validity: Option<QualificationValidity>) {
        self.all += 1;
        *match validity {
            Some(QualificationValidity::Valid) => &mut self.valid,
            Some(QualificationValidity::Invalid) => &mut self.invalid,
            Some(QualificationValidity::InvalidNewerExists) => &mut self.invalid_newer_exists,
            Some(QualificationValidity::NotFound) => &mut self.not_found,
            Some(QualificationValidity::SeveralMatch) => &mut self.several_match,
            None => &mut self.errors,
        } += 1;
    }

    /// The stored order: all, validity 1..=5, errors.
    fn to_array(self) -> [u32; 7] {
        [self.all, self.valid, self.invalid, self.invalid_newer_exists, self.not_found, self.several_match, self.errors]
    }

    fn from_array(c: [u32; 7]) -> BulkCounts {
        let [all, valid, invalid, invalid_newer_exists, not_found, several_match, errors] = c;
        BulkCounts { all, valid, invalid, invalid_newer_exists, not_found, several_match, errors }
    }
}

/// A stored 一括照会 job: who uploaded it, when it is ready, the counts and the encoded units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkJob<'a> {
    pub facility: [u8; 10],
    pub created_at: i64,
    /// Unix seconds from which the download answers with results.
    pub ready_at: i64,
    pub counts: BulkCounts,
    /// Encoded `BulkConfirmUnit`s (served view), in upload order.
    pub units: Vec<&'a [u8]>,
}

const BULK_HEADER: usize = 1 + 10 + 8 + 8 + 7 * 4 + 4;

impl<'a> BulkJob<'a> {
    pub fn encode(&self) -> Vec<u8> {
        let len = BULK_HEADER + self.units.iter().map(|u| 4 + u.len()).sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.push(VERSION);
        out.extend_from_slice(&self.facility);
        out.extend_from_slice(&self.created_at.to_be_bytes());
        out.extend_from_slice(&self.ready_at.to_be_bytes());
        for c in self.counts.to_array() {
            out.extend_from_slice(&c.to_be_bytes());
        }
        out.extend_from_slice(&(self.units.len() as u32).to_be_bytes());
        for u in &self.units {
            out.extend_from_slice(&(u.len() as u32).to_be_bytes());
            out.extend_from_slice(u);
        }
        out
    }

    pub fn decode(b: &'a [u8]) -> Result<BulkJob<'a>, CorruptValue> {
        Self::try_decode(b).ok_or(CorruptValue { what: "bulk job" })
    }

    fn try_decode(b: &'a [u8]) -> Option<BulkJob<'a>> {
        if *b.first()? != VERSION {
            return None;
        }
        let facility: [u8; 10] = b.get(1..11)?.try_into().ok()?;
        let created_at = i64::from_be_bytes(b.get(11..19)?.try_into().ok()?);
        let ready_at = i64::from_be_bytes(b.get(19..27)?.try_into().ok()?);
        let mut counts = [0u32; 7];
        for (i, c) in counts.iter_mut().enumerate() {
            *c = u32_at(b, 27 + 4 * i)?;
        }
        let n = u32_at(b, 55)? as usize;
        let mut at = BULK_HEADER;
        let mut units = Vec::with_capacity(n.min(10_000));
        for _ in 0..n {
            let len = u32_at(b, at)? as usize;
            units.push(b.get(at + 4..at + 4 + len)?);
            at += 4 + len;
        }
        let counts = BulkCounts::from_array(counts);
        (at == b.len()).then_some(BulkJob { facility, created_at, ready_at, counts, units })
    }
}

#[cfg(test)]
mod bulk_tests {
    use super::*;

    #[test]
    fn bulk_job_round_trips() {
        let job = BulkJob {
            facility: *b"1312345679",
            created_at: 10,
            ready_at: 13,
            counts: BulkCounts::from_array([3, 1, 0, 1, 1, 0, 0]),
            units: vec![b"a", b"", b"ccc"],
        };
        let bytes = job.encode();
        assert_eq!(BulkJob::decode(&bytes).expect("decodes"), job);
        assert!(BulkJob::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut counts = BulkCounts::default();
        for v in [Some(QualificationValidity::Valid), None, Some(QualificationValidity::SeveralMatch)] {
            counts.add(v);
        }
        assert_eq!(counts.to_array(), [3, 1, 0, 0, 0, 1, 1]);
    }
}
