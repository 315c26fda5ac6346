//! The server's one source of time. Every handler asks this clock, never the system directly,
//! so tests and integrators can move time (to check a 24-hour consent window, say) without
//! waiting: the clock is the system time plus an adjustable offset.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use onshi_domain::date::JstDateTime;

fn system_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

#[derive(Debug, Default)]
pub struct Clock {
    /// Seconds added to the system time.
    offset_secs: AtomicI64,
}

impl Clock {
    /// The system clock, unshifted.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// Unix seconds now, shifted by the offset.
    pub fn unix_now(&self) -> i64 {
        system_secs() + self.offset_secs.load(Ordering::Relaxed)
    }

    /// Now, in Japan Standard Time.
    pub fn now(&self) -> JstDateTime {
        JstDateTime::from_unix_seconds(self.unix_now()).expect("the clock reads a time between the years 1800 and 2999")
    }

    /// Moves the clock forward (or back, if negative) by `secs`.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }

    /// Sets the offset from the system time (one store: concurrent setters never add up).
    pub fn set_offset(&self, secs: i64) {
        self.offset_secs.store(secs, Ordering::Relaxed);
    }

    /// Makes "now" read `unix_seconds`.
    pub fn set_now(&self, unix_seconds: i64) {
        self.set_offset(unix_seconds - system_secs());
    }

    /// The current offset from the system time, in seconds.
    pub fn offset(&self) -> i64 {
        self.offset_secs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now() {
        let c = Clock::system();
        let before = c.unix_now();
        c.advance(86_400);
        assert!(c.unix_now() >= before + 86_400);
        assert_eq!(c.offset(), 86_400);
    }
}
