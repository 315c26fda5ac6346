//! `onshi-server verify-log`: walks every person's chain of access records and names the first
//! record that does not fit: one edited (its link no longer matches what it holds and what came
//! before it), one removed (a gap in the places), or a chain cut short (the head says more). The
//! access log is append-only by the API; this is how an operator shows nobody changed it on disk.

use std::collections::BTreeMap;

use onshi_domain::qualification::PersonId;

use onshi_domain::hex::hex;
use onshi_store::values::AccessRecord;
use onshi_store::{Store, StoreError};

/// What the walk found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LogReport {
    pub persons: u64,
    pub records: u64,
    /// Records written before chains existed (not checked).
    pub unchained: u64,
    /// The first broken record, in words, if any.
    pub broken: Option<String>,
}

/// One stored record: its key, and the record or why it does not parse.
type Stored = (Vec<u8>, Result<AccessRecord, String>);

/// Walks the access log of `store`.
pub fn verify_access_log(store: &Store) -> Result<LogReport, StoreError> {
    let mut by_person: BTreeMap<PersonId, Vec<Stored>> = BTreeMap::new();
    let heads = store.access_log_for_verification(|person, key, record| {
        by_person.entry(person).or_default().push((key.to_vec(), record.map_err(|e| e.to_string())));
    })?;
    let heads: BTreeMap<PersonId, _> = heads.into_iter().collect();
    let mut report = LogReport { persons: by_person.len() as u64, ..Default::default() };
    for (person, records) in &by_person {
        let mut chained = Vec::new();
        for (key, record) in records {
            report.records += 1;
            match record {
                Err(e) => {
                    report
                        .broken
                        .get_or_insert_with(|| format!("person {}: record {} does not parse: {e}", person.0, hex(key)));
                }
                Ok(r) if r.seq == 0 => report.unchained += 1,
                Ok(r) => chained.push((key, r)),
            }
        }
        chained.sort_by_key(|(_, r)| r.seq);
        let mut previous = [0u8; 32];
        let mut expected = 1;
        for (key, r) in &chained {
            let at = onshi_domain::date::JstDateTime::from_unix_seconds(r.at).map(|t| t.compact()).unwrap_or_default();
            if r.seq != expected {
                report.broken.get_or_insert_with(|| {
                    format!(
                        "person {}: record {} (seq {}, {at}) follows seq {}: a record is missing",
                        person.0,
                        hex(key),
                        r.seq,
                        expected - 1
                    )
                });
                break;
            }
            let link = r.link(&previous);
            if hex(&link) != r.chain {
                report.broken.get_or_insert_with(|| {
                    format!(
                        "person {}: record {} (seq {}, {at}, {} {}) was changed: its link does not match",
                        person.0,
                        hex(key),
                        r.seq,
                        r.facility_code,
                        r.kind
                    )
                });
                break;
            }
            previous = link;
            expected += 1;
        }
        let head = heads.get(person).copied().unwrap_or_default();
        if report.broken.is_none() && (head.seq != expected - 1 || (head.seq > 0 && head.link != previous)) {
            report.broken = Some(format!(
                "person {}: the chain ends at seq {} but its head says {}: records were removed from its end",
                person.0,
                expected - 1,
                head.seq
            ));
        }
    }
    for (person, head) in &heads {
        if report.broken.is_none() && head.seq > 0 && !by_person.contains_key(person) {
            report.broken = Some(format!("person {}: the head says {} records, none are there", person.0, head.seq));
        }
    }
    Ok(report)
}
