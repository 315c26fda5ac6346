//! Counters of the files the terminal handled, by operation and outcome: kept here (for the log
//! line at shutdown, and for anyone embedding the terminal) and, with `--metrics ADDR`, served to
//! Prometheus as `onshi_terminal_files_total{operation, outcome}` (the recorder is a no-op
//! without it).

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

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Refused => "refused",
            Outcome::Unreadable => "unreadable",
        }
    }
}

const OUTCOMES: usize = 3;

/// Serves the counters to Prometheus on `listen` (loopback only), at `/metrics`.
pub fn serve_metrics(listen: std::net::SocketAddr) -> Result<(), String> {
    if !listen.ip().is_loopback() {
        return Err(format!("metrics listen on loopback addresses only; {listen} is not one"));
    }
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(listen)
        .install()
        .map_err(|e| format!("metrics on {listen}: {e}"))?;
    metrics::describe_counter!(
        "onshi_terminal_files_total",
        "Request files the terminal handled, by operation (file prefix) and outcome"
    );
    for op in Operation::ALL {
        for outcome in [Outcome::Answered, Outcome::Refused, Outcome::Unreadable] {
            metrics::counter!("onshi_terminal_files_total", "operation" => op.prefix(), "outcome" => outcome.name())
                .absolute(0);
        }
    }
    Ok(())
}
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
        metrics::counter!("onshi_terminal_files_total", "operation" => op.prefix(), "outcome" => outcome.name())
            .increment(1);
    }

    pub fn count_unreadable(&self, op: Option<Operation>) {
        self.counts[index(op)][Outcome::Unreadable as usize].fetch_add(1, Ordering::Relaxed);
        let operation = op.map_or("unknown", Operation::prefix);
        metrics::counter!("onshi_terminal_files_total", "operation" => operation, "outcome" => "unreadable")
            .increment(1);
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
