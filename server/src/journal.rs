//! The request journal: the last facility requests (bounded in bytes), with who sent what and how
//! it was answered, so an integrator's test can check what its client actually sent. Requests are
//! kept as protobuf bytes and rendered as JSON only when read; it can be switched off for load tests.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// One recorded request.
#[derive(Debug, Clone)]
pub struct Entry {
    pub sequence: u64,
    /// Unix seconds (the server's clock).
    pub at: i64,
    pub facility: String,
    /// Full method path, e.g. `/onshi.v1.QualificationService/ConfirmByCard`.
    pub method: &'static str,
    /// The request message, encoded.
    pub request: Vec<u8>,
    pub code: i32,
    pub message: String,
    pub validity: String,
    pub latency_us: u64,
}

impl Entry {
    fn size(&self) -> usize {
        std::mem::size_of::<Entry>()
            + self.request.len()
            + self.facility.len()
            + self.message.len()
            + self.validity.len()
    }
}

#[derive(Debug, Default)]
struct Inner {
    entries: VecDeque<Entry>,
    bytes: usize,
    next_sequence: u64,
    dropped: u64,
}

/// The journal.
#[derive(Debug)]
pub struct Journal {
    enabled: AtomicBool,
    max_bytes: usize,
    inner: Mutex<Inner>,
}

impl Journal {
    pub fn new(enabled: bool, max_bytes: usize) -> Journal {
        Journal {
            enabled: AtomicBool::new(enabled),
            max_bytes,
            inner: Mutex::new(Inner { next_sequence: 1, ..Default::default() }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// Records an entry (its sequence is assigned here), dropping the oldest beyond the bound.
    pub fn record(&self, mut entry: Entry) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        entry.sequence = inner.next_sequence;
        inner.next_sequence += 1;
        inner.bytes += entry.size();
        inner.entries.push_back(entry);
        while inner.bytes > self.max_bytes {
            match inner.entries.pop_front() {
                Some(old) => {
                    inner.bytes -= old.size();
                    inner.dropped += 1;
                }
                None => break,
            }
        }
    }

    /// Matching entries after `after_sequence`, oldest first, at most `limit` (the newest ones).
    pub fn read(&self, facility: &str, method: &str, after_sequence: u64, limit: usize) -> (Vec<Entry>, u64) {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let matching: Vec<&Entry> = inner
            .entries
            .iter()
            .filter(|e| e.sequence > after_sequence)
            .filter(|e| facility.is_empty() || e.facility == facility)
            .filter(|e| {
                method.is_empty()
                    || e.method.trim_start_matches('/') == method.trim_start_matches('/')
                    || e.method.rsplit('/').next() == Some(method)
            })
            .collect();
        let skip = matching.len().saturating_sub(limit);
        (matching.into_iter().skip(skip).cloned().collect(), inner.dropped)
    }

    pub fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.entries.clear();
        inner.bytes = 0;
        inner.dropped = 0;
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(facility: &str, n: usize) -> Entry {
        Entry {
            sequence: 0,
            at: 0,
            facility: facility.into(),
            method: "/onshi.v1.QualificationService/ConfirmByCard",
            request: vec![0; n],
            code: 0,
            message: String::new(),
            validity: "1".into(),
            latency_us: 1,
        }
    }

    #[test]
    fn stays_within_its_bound_and_filters() {
        let j = Journal::new(true, 10_000);
        for i in 0..200 {
            j.record(entry(if i % 2 == 0 { "A" } else { "B" }, 100));
        }
        assert!(j.bytes() <= 10_000);
        let (all, dropped) = j.read("", "", 0, 1000);
        assert!(dropped > 0);
        assert_eq!(all.last().map(|e| e.sequence), Some(200), "the newest are kept");
        let (a, _) = j.read("A", "ConfirmByCard", 0, 1000);
        assert!(a.iter().all(|e| e.facility == "A"));
        let (after, _) = j.read("", "", 195, 1000);
        assert_eq!(after.len(), 5);
        let (limited, _) = j.read("", "", 0, 3);
        assert_eq!(limited.iter().map(|e| e.sequence).collect::<Vec<_>>(), vec![198, 199, 200]);
        j.clear();
        assert_eq!(j.read("", "", 0, 10).0.len(), 0);
    }
}
