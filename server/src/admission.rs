//! Admission control. A call is shed at once with RESOURCE_EXHAUSTED and a RetryInfo when it has
//! already waited too long to be handled (the server is behind: its queue, not its handlers, is
//! where overload shows), when too many calls are in flight in total, or when its facility has too
//! many in flight (the real terminal allows 20 sessions; off unless configured). So the server
//! stays up under overload and answers what it admits within bounded latency.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use onshi_domain::ids::MedicalInstitutionCode;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::service::errors::ERROR_DOMAIN;

/// How long a shed caller is told to wait before retrying.
pub const RETRY_AFTER: Duration = Duration::from_millis(100);

/// When a request reached the service stack (stamped by [`ArrivalLayer`]).
#[derive(Debug, Clone, Copy)]
pub struct Arrived(pub Instant);

/// A tower layer that stamps each request with its arrival time, before it waits for a worker.
#[derive(Debug, Clone, Copy, Default)]
pub struct ArrivalLayer;

impl<S> tower::Layer<S> for ArrivalLayer {
    type Service = Arrival<S>;

    fn layer(&self, inner: S) -> Arrival<S> {
        Arrival(inner)
    }
}

#[derive(Debug, Clone)]
pub struct Arrival<S>(S);

impl<S, B> tower::Service<http::Request<B>> for Arrival<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> S::Future {
        req.extensions_mut().insert(Arrived(Instant::now()));
        self.0.call(req)
    }
}

/// The limits and the counts in flight.
#[derive(Debug)]
pub struct Admission {
    /// A call that waited longer than this before its handler ran is shed (zero: never).
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

fn shed(message: &str, reason: &str) -> Status {
    let mut details = ErrorDetails::with_retry_info(Some(RETRY_AFTER));
    details.set_error_info(reason, ERROR_DOMAIN, HashMap::new());
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

impl Admission {
    pub fn new(max_queue: Duration, max_in_flight: usize, facility_max_in_flight: usize) -> Admission {
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
    ) -> Result<Permit, Status> {
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
                    &format!(
                        "this facility already has {} calls in flight; retry shortly",
                        self.facility_max_in_flight
                    ),
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

    use super::*;

    #[test]
    fn sheds_past_the_limits_and_frees_on_drop() {
        let a = Arc::new(Admission::new(Duration::from_millis(100), 3, 2));
        let f1 = MedicalInstitutionCode::parse("1312345679", CheckDigits::Strict).expect("code");
        let f2 = MedicalInstitutionCode::parse("1342345673", CheckDigits::Strict).expect("code");
        let p1 = a.admit(&f1, None).expect("1");
        let p2 = a.admit(&f1, None).expect("2");
        let s = a.admit(&f1, None).expect_err("facility limit");
        assert_eq!(s.code(), Code::ResourceExhausted);
        let p3 = a.admit(&f2, None).expect("other facility");
        assert_eq!(a.admit(&f2, None).expect_err("global limit").code(), Code::ResourceExhausted);
        drop((p1, p2, p3));
        assert_eq!(a.in_flight(), 0);
        assert!(a.admit(&f1, Some(Instant::now())).is_ok());
        let stale = Instant::now() - Duration::from_secs(1);
        assert_eq!(a.admit(&f1, Some(stale)).expect_err("waited too long").code(), Code::ResourceExhausted);
    }
}
