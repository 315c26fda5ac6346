//! Injected faults: what the admin API asks onshi to do to matching facility calls — fail with a
//! status, answer late, fail the way the real system does (SegmentOfResult 9), hold bulk jobs in
//! "processing", or be down altogether. Scoped by method, facility and person, for the next N
//! calls or until cleared, always or with a probability.
//!
//! With no faults set, checking costs one atomic load.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    Status { code: i32, message: String, reason: String },
    Latency { min_ms: u32, max_ms: u32 },
    RequestFailure { error_code: String, error_message: String },
    BulkDelay { seconds: u32 },
    Outage,
}

/// One fault and its scope.
#[derive(Debug)]
pub struct Fault {
    pub id: u64,
    /// Matches a method's full path or its last segment; empty matches all.
    pub method: String,
    pub facility: String,
    /// A card serial or insured identification number; empty matches anyone.
    pub person: String,
    /// Calls left to hit (0: unlimited). Decremented as calls hit.
    pub remaining: AtomicU64,
    pub limited: bool,
    /// Probability per matching call, 0 < p ≤ 1.
    pub probability: f64,
    pub kind: FaultKind,
    pub hits: AtomicU64,
}

/// What the handler must do before (or instead of) answering.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Fail { code: i32, message: String, reason: String },
    Delay(Duration),
    RequestFailure { error_code: String, error_message: String },
    Unavailable,
}

/// The faults in effect.
#[derive(Debug, Default)]
pub struct Faults {
    list: ArcSwap<Vec<Arc<Fault>>>,
    next_id: AtomicU64,
    /// State of the per-call random draws (splitmix64).
    rng: AtomicU64,
}

fn method_matches(pattern: &str, method: &str) -> bool {
    pattern.is_empty() || pattern == method || method.rsplit('/').next() == Some(pattern)
}

impl Faults {
    pub fn new() -> Faults {
        Faults { next_id: AtomicU64::new(1), ..Default::default() }
    }

    /// Adds a fault; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &self,
        method: String,
        facility: String,
        person: String,
        count: u32,
        probability: f64,
        kind: FaultKind,
    ) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let probability = if probability <= 0.0 || probability > 1.0 { 1.0 } else { probability };
        let fault = Arc::new(Fault {
            id,
            method,
            facility,
            person,
            remaining: AtomicU64::new(u64::from(count)),
            limited: count > 0,
            probability,
            kind,
            hits: AtomicU64::new(0),
        });
        self.list.rcu(|l| {
            let mut l = Vec::clone(l);
            l.push(fault.clone());
            l
        });
        id
    }

    /// Clears one fault (or all with `None`); returns how many were cleared.
    pub fn clear(&self, id: Option<u64>) -> usize {
        let before = self.list.load().len();
        match id {
            None => self.list.store(Arc::new(Vec::new())),
            Some(id) => {
                self.list.rcu(|l| l.iter().filter(|f| f.id != id).cloned().collect::<Vec<_>>());
            }
        }
        before - self.list.load().len()
    }

    pub fn list(&self) -> Vec<Arc<Fault>> {
        self.list.load().iter().cloned().collect()
    }

    /// Whether an outage fault is in effect.
    pub fn outage(&self) -> bool {
        self.list.load().iter().any(|f| f.kind == FaultKind::Outage)
    }

    fn draw(&self) -> f64 {
        let mut x = self.rng.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed).wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (x ^ (x >> 31)) as f64 / u64::MAX as f64
    }

    /// Takes one hit of a matching fault, honouring its count and probability.
    fn hit(&self, f: &Fault) -> bool {
        if f.probability < 1.0 && self.draw() >= f.probability {
            return false;
        }
        if f.limited {
            let taken = f.remaining.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok();
            if !taken {
                return false;
            }
            if f.remaining.load(Ordering::Acquire) == 0 {
                self.clear(Some(f.id));
            }
        }
        f.hits.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// The actions for a facility call: at most one failure, plus any delays (summed).
    pub fn check(&self, method: &str, facility: &str, person: &[&str]) -> Vec<Action> {
        let list = self.list.load();
        if list.is_empty() {
            return Vec::new();
        }
        let mut actions = Vec::new();
        for f in list.iter() {
            let scoped = method_matches(&f.method, method)
                && (f.facility.is_empty() || f.facility == facility)
                && (f.person.is_empty() || person.contains(&f.person.as_str()));
            if !scoped || matches!(f.kind, FaultKind::BulkDelay { .. }) || !self.hit(f) {
                continue;
            }
            actions.push(match &f.kind {
                FaultKind::Outage => Action::Unavailable,
                FaultKind::Status { code, message, reason } => {
                    Action::Fail { code: *code, message: message.clone(), reason: reason.clone() }
                }
                FaultKind::RequestFailure { error_code, error_message } => {
                    Action::RequestFailure { error_code: error_code.clone(), error_message: error_message.clone() }
                }
                FaultKind::Latency { min_ms, max_ms } => {
                    let (lo, hi) = (*min_ms.min(max_ms), *min_ms.max(max_ms));
                    let ms = lo as f64 + (hi - lo) as f64 * self.draw();
                    Action::Delay(Duration::from_micros((ms * 1000.0) as u64))
                }
                FaultKind::BulkDelay { .. } => continue,
            });
        }
        actions
    }

    /// Extra seconds a bulk job uploaded now stays "processing".
    pub fn bulk_delay(&self, facility: &str) -> i64 {
        let list = self.list.load();
        let mut extra = 0;
        for f in list.iter() {
            if let FaultKind::BulkDelay { seconds } = f.kind
                && (f.facility.is_empty() || f.facility == facility)
                && self.hit(f)
            {
                extra += i64::from(seconds);
            }
        }
        extra
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_faults_disappear_after_their_hits() {
        let f = Faults::new();
        f.add("ConfirmByCard".into(), String::new(), String::new(), 2, 0.0, FaultKind::Outage);
        assert!(f.check("onshi.v1.QualificationService/ConfirmByInsuredNumber", "1", &[]).is_empty());
        assert_eq!(f.check("onshi.v1.QualificationService/ConfirmByCard", "1", &[]), vec![Action::Unavailable]);
        assert_eq!(f.check("onshi.v1.QualificationService/ConfirmByCard", "1", &[]), vec![Action::Unavailable]);
        assert!(f.check("onshi.v1.QualificationService/ConfirmByCard", "1", &[]).is_empty());
        assert!(f.list().is_empty());
    }

    #[test]
    fn scope_and_probability() {
        let f = Faults::new();
        let id = f.add(String::new(), "F1".into(), "P1".into(), 0, 0.5, FaultKind::Latency { min_ms: 5, max_ms: 5 });
        assert!(f.check("m", "F2", &["P1"]).is_empty());
        assert!(f.check("m", "F1", &["P2"]).is_empty());
        let hits = (0..1000).filter(|_| !f.check("m", "F1", &["P1"]).is_empty()).count();
        assert!((350..650).contains(&hits), "about half: {hits}");
        assert_eq!(f.clear(Some(id)), 1);
        assert_eq!(f.clear(None), 0);
    }
}
