//! Admission control. A call is shed at once with RESOURCE_EXHAUSTED and a RetryInfo when it has
//! already waited too long to be handled (the server is behind: its queue, not its handlers, is
//! where overload shows), when too many calls are in flight in total, or when its facility has too
//! many in flight (the real terminal allows 20 sessions; off unless configured). So the server
//! stays up under overload and answers what it admits within bounded latency.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use onshi_domain::ids::MedicalInstitutionCode;

use crate::errors::ServiceError;

/// How long a shed caller is told to wait before retrying.
pub const RETRY_AFTER: Duration = Duration::from_millis(100);

/// The limits and the counts in flight.
#[derive(Debug)]
pub struct Admission {
    /// A call that waited longer than this between when its handler could first run (its
    /// message complete, see `limits::Arrived`) and when it ran is shed (zero: never).
    max_queue: Duration,
    /// 0: unlimited.
    max_in_flight: usize,
    /// 0: unlimited.
    facility_max_in_flight: usize,
    in_flight: AtomicUsize,
    per_facility: ArcSwap<HashMap<MedicalInstitutionCode, Arc<AtomicUsize>>>,
}

/// A call's place; frees it when dropped.
#[derive(Debug)]
pub struct Permit {
    admission: Arc<Admission>,
    facility: Option<Arc<AtomicUsize>>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.admission.in_flight.fetch_sub(1, Ordering::AcqRel);
        if let Some(f) = &self.facility {
            f.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn shed(message: impl Into<String>, reason: &'static str) -> ServiceError {
    ServiceError::Shed { message: message.into(), reason, retry_after: RETRY_AFTER }
}

impl Admission {
    /// `facility_max_in_flight` 0 gives each facility a quarter of `max_in_flight`: one facility
    /// can never take every permit (with `max_in_flight` 0, nothing is limited).
    pub fn new(max_queue: Duration, max_in_flight: usize, facility_max_in_flight: usize) -> Admission {
        let facility_max_in_flight = match facility_max_in_flight {
            0 => max_in_flight.div_ceil(4),
            n => n,
        };
        Admission {
            max_queue,
            max_in_flight,
            facility_max_in_flight,
            in_flight: AtomicUsize::new(0),
            per_facility: ArcSwap::from_pointee(HashMap::new()),
        }
    }

    fn counter(&self, facility: &MedicalInstitutionCode) -> Arc<AtomicUsize> {
        if let Some(c) = self.per_facility.load().get(facility) {
            return c.clone();
        }
        let fresh = Arc::new(AtomicUsize::new(0));
        self.per_facility.rcu(|m| {
            let mut m = HashMap::clone(m);
            m.entry(*facility).or_insert_with(|| fresh.clone());
            m
        });
        self.per_facility.load().get(facility).cloned().unwrap_or(fresh)
    }

    /// Admits a call of `facility` that arrived at `arrived`, or sheds it.
    pub fn admit(
        self: &Arc<Self>,
        facility: &MedicalInstitutionCode,
        arrived: Option<Instant>,
    ) -> Result<Permit, ServiceError> {
        if !self.max_queue.is_zero() && arrived.is_some_and(|t| t.elapsed() > self.max_queue) {
            return Err(shed("the server is behind; retry shortly", "OVERLOADED"));
        }
        let now = self.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
        let mut permit = Permit { admission: self.clone(), facility: None };
        if self.max_in_flight > 0 && now > self.max_in_flight {
            return Err(shed("the server is at capacity; retry shortly", "OVERLOADED"));
        }
        if self.facility_max_in_flight > 0 {
            let counter = self.counter(facility);
            let mine = counter.fetch_add(1, Ordering::AcqRel) + 1;
            permit.facility = Some(counter);
            if mine > self.facility_max_in_flight {
                return Err(shed(
                    format!("this facility already has {} calls in flight; retry shortly", self.facility_max_in_flight),
                    "FACILITY_SESSION_LIMIT",
                ));
            }
        }
        Ok(permit)
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use onshi_domain::ids::CheckDigits;

    use tonic::{Code, Status};

    use super::*;

    /// The gRPC code a refusal goes out with.
    fn code(e: ServiceError) -> Code {
        Status::from(e).code()
    }

    #[test]
    fn by_default_a_facility_gets_a_quarter_of_the_permits() {
        let a = Arc::new(Admission::new(Duration::ZERO, 8, 0));
        let f1 = MedicalInstitutionCode::parse("1312345679", CheckDigits::Strict).expect("code");
        let f2 = MedicalInstitutionCode::parse("1342345673", CheckDigits::Strict).expect("code");
        let held: Vec<Permit> = (0..2).map(|_| a.admit(&f1, None).expect("within the share")).collect();
        assert_eq!(code(a.admit(&f1, None).expect_err("past the share")), Code::ResourceExhausted);
        assert!(a.admit(&f2, None).is_ok(), "another facility still gets in");
        drop(held);
    }

    #[test]
    fn sheds_past_the_limits_and_frees_on_drop() {
        let a = Arc::new(Admission::new(Duration::from_millis(100), 3, 2));
        let f1 = MedicalInstitutionCode::parse("1312345679", CheckDigits::Strict).expect("code");
        let f2 = MedicalInstitutionCode::parse("1342345673", CheckDigits::Strict).expect("code");
        let p1 = a.admit(&f1, None).expect("1");
        let p2 = a.admit(&f1, None).expect("2");
        let s = a.admit(&f1, None).expect_err("facility limit");
        assert_eq!(code(s), Code::ResourceExhausted);
        let p3 = a.admit(&f2, None).expect("other facility");
        assert_eq!(code(a.admit(&f2, None).expect_err("global limit")), Code::ResourceExhausted);
        drop((p1, p2, p3));
        assert_eq!(a.in_flight(), 0);
        assert!(a.admit(&f1, Some(Instant::now())).is_ok());
        let stale = Instant::now() - Duration::from_secs(1);
        assert_eq!(code(a.admit(&f1, Some(stale)).expect_err("waited too long")), Code::ResourceExhausted);
    }
}
