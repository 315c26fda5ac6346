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

/// Starts the pacing thread: one permit of `shared.due` per slot, released when the slot is due.
/// It ends when the run stops or every slot of a counted run is released.
pub fn spawn(shared: Arc<Shared>, plan: Arc<Plan>, rps: f64) {
    std::thread::spawn(move || {
        let mut released: u64 = 0;
        while !shared.stop.load(Ordering::Relaxed) {
            let due = (plan.start.elapsed().as_secs_f64() * rps) as u64 + 1;
            if due > released {
                shared.due.add_permits((due - released) as usize);
                released = due;
            }
            if plan.total > 0 && released >= plan.total {
                // Every slot is released; the run's end closes the semaphore (closing it
                // here would refuse permits released but not yet taken).
                break;
            }
            let next = plan.slot_time(released, rps);
            let wait = next.saturating_duration_since(Instant::now());
            std::thread::sleep(wait.min(Duration::from_millis(5)));
        }
    });
}
