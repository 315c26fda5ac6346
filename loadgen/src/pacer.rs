//! The run's plan (how many requests, and in open loop when each slot is due) and the open-loop
//! pacing thread that releases slots at their intended times.
//!
//! tokio's timers tick every millisecond; a thread sleeping on its own is far more precise, so
//! the measured latency is the server's and the network's, not the generator's lateness. Workers
//! measure from a slot's intended time whatever the pacer's own lateness (no coordinated
//! omission).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::worker::Shared;

pub struct Plan {
    /// Requests to measure (0: no limit); open loop: slots, warm-up slots included.
    pub total: u64,
    pub rps: Option<f64>,
    /// Open loop: slots before this one fall in the warm-up and are not counted.
    pub warmup_slots: u64,
    pub start: Instant,
    /// Open loop: a slot this late is not sent (counted as not sent).
    pub max_lag: Duration,
}

impl Plan {
    /// `-n` and `--rps` over a warm-up of `warmup`, starting now.
    pub fn new(total: u64, rps: Option<f64>, warmup: Duration) -> Plan {
        Plan {
            // Open loop: -n counts slots (warm-up slots come on top).
            total: match (rps, total) {
                (Some(r), n) if n > 0 => n + (r * warmup.as_secs_f64()) as u64,
                (_, n) => n,
            },
            rps,
            warmup_slots: rps.map_or(0, |r| (r * warmup.as_secs_f64()) as u64),
            start: Instant::now(),
            max_lag: Duration::from_secs(1),
        }
    }

    /// When open-loop slot `slot` is due.
    pub fn slot_time(&self, slot: u64, rps: f64) -> Instant {
        self.start + Duration::from_secs_f64(slot as f64 / rps)
    }
}

/// Releases every slot due by now that nobody has released yet; returns how late the oldest of
/// them is (`None`: nothing was due).
///
/// Both the pacing thread and the workers call it: a worker calls it on its way to wait for a
/// slot, on the runtime thread that is awake anyway (an answer just arrived), so the slots due
/// meanwhile are released without waking a thread and the workers they wake run on the same
/// thread; the pacing thread releases the slots that fall due while the runtime sleeps.
pub fn release_due(shared: &Shared, plan: &Plan, rps: f64) -> Option<Duration> {
    let now = Instant::now();
    let mut due = (now.saturating_duration_since(plan.start).as_secs_f64() * rps) as u64 + 1;
    if plan.total > 0 {
        due = due.min(plan.total);
    }
    let mut released = shared.released.load(Ordering::Acquire);
    while due > released {
        match shared.released.compare_exchange_weak(released, due, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => {
                shared.due.add_permits((due - released) as usize);
                return Some(now.saturating_duration_since(plan.slot_time(released, rps)));
            }
            Err(current) => released = current,
        }
    }
    None
}

/// What the pacing thread saw: the slots it released (rather than a worker) and how late.
pub struct PacerStats {
    pub releases: u64,
    pub late: Histogram<u64>,
}

/// Starts the pacing thread: it sleeps until the next slot is due and releases it (one permit of
/// `shared.due` per slot) unless a worker already has. It ends when the run stops or every slot
/// of a counted run is released.
pub fn spawn(shared: Arc<Shared>, plan: Arc<Plan>, rps: f64) -> std::thread::JoinHandle<PacerStats> {
    std::thread::spawn(move || {
        let mut stats = PacerStats { releases: 0, late: crate::worker::histogram() };
        while !shared.stop.load(Ordering::Relaxed) {
            if let Some(late) = release_due(&shared, &plan, rps) {
                stats.releases += 1;
                let _ = stats.late.record(late.as_micros() as u64);
            }
            let released = shared.released.load(Ordering::Acquire);
            if plan.total > 0 && released >= plan.total {
                // Every slot is released; the run's end closes the semaphore (closing it
                // here would refuse permits released but not yet taken).
                break;
            }
            let next = plan.slot_time(released, rps);
            let wait = next.saturating_duration_since(Instant::now());
            std::thread::sleep(wait.min(Duration::from_millis(5)));
        }
        stats
    })
}
