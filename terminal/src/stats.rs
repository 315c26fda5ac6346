//! Counters of the files the terminal handled, by operation and outcome (for the log line at
//! shutdown, and for anyone embedding the terminal).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::ops::Operation;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Answered by the system.
    Answered,
    /// Answered with SegmentOfResult 9: the system refused it.
    Refused,
    /// Not readable: moved to res/ with an .err file.
    Unreadable,
}

const OUTCOMES: usize = 3;
const OPERATIONS: usize = Operation::ALL.len() + 1;

#[derive(Default)]
pub struct Stats {
    counts: [[AtomicU64; OUTCOMES]; OPERATIONS],
}

fn index(op: Option<Operation>) -> usize {
    op.and_then(|op| Operation::ALL.iter().position(|o| *o == op)).unwrap_or(Operation::ALL.len())
}

impl Stats {
    pub fn count(&self, op: Operation, outcome: Outcome) {
        self.counts[index(Some(op))][outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn count_unreadable(&self, op: Option<Operation>) {
        self.counts[index(op)][Outcome::Unreadable as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// How many files of `op` (None: of no known operation) ended with `outcome`.
    pub fn get(&self, op: Option<Operation>, outcome: Outcome) -> u64 {
        self.counts[index(op)][outcome as usize].load(Ordering::Relaxed)
    }

    /// All files handled.
    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}
