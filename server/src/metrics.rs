//! Prometheus metrics (the `metrics` facade and its Prometheus recorder). The recorder's text is
//! served at `/metrics` by the page server on `[metrics] listen` (`web`; loopback only; the demo's
//! http://127.0.0.1:8090/metrics). Without it no recorder is installed and every call site below
//! costs one atomic load.
//!
//! Per facility RPC: `onshi_requests_total{method,code,facility_kind}`,
//! `onshi_request_duration_seconds{method}` (histogram), `onshi_in_flight`; shedding:
//! `onshi_shed_total{reason}`; writes: `onshi_consents_written_total`,
//! `onshi_access_records_written_total`; the store, every 5 s from RocksDB properties:
//! `onshi_store_keys`, `onshi_store_live_sst_bytes`, `onshi_store_block_cache_bytes`,
//! `onshi_store_pending_compaction_bytes`, and with `[store] statistics` the block cache's
//! `onshi_store_block_cache_hits{block}` and `_misses{block}` (data, index, filter) and
//! `onshi_store_row_cache_hits` and `_misses`;
//! `onshi_journal_bytes`; seeding:
//! `onshi_seeded_persons`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::app::App;

/// Latency buckets, seconds: 50 µs to 5 s.
const BUCKETS: &[f64] =
    &[0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics recorder: {0}")]
    Build(#[from] metrics_exporter_prometheus::BuildError),
}

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Whether metrics are recorded (work done only for them is skipped when not).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Installs the process's recorder (call once) and hands back what renders its text; serve that
/// with `web::serve`, and keep [`spawn_gauges`] running for the recorder's upkeep.
pub fn install() -> Result<PrometheusHandle, MetricsError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)?
        .install_recorder()?;
    ENABLED.store(true, Ordering::Relaxed);
    metrics::describe_counter!(
        "onshi_requests_total",
        "Facility calls answered, by method, gRPC code and facility kind"
    );
    metrics::describe_histogram!("onshi_request_duration_seconds", "Time from admission to answer, by method");
    metrics::describe_gauge!("onshi_in_flight", "Facility calls in flight");
    metrics::describe_counter!("onshi_shed_total", "Calls shed by admission control, by reason");
    metrics::describe_counter!("onshi_consents_written_total", "Consents written");
    metrics::describe_counter!("onshi_access_records_written_total", "Access records appended");
    Ok(handle)
}

/// One answered facility call.
pub fn call(method: &'static str, code: tonic::Code, facility_kind: &'static str, elapsed: Duration) {
    metrics::counter!("onshi_requests_total", "method" => method, "code" => code_name(code), "facility_kind" => facility_kind)
        .increment(1);
    metrics::histogram!("onshi_request_duration_seconds", "method" => method).record(elapsed.as_secs_f64());
}

fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Updates the store and journal gauges every 5 s until the runtime stops, and runs the
/// recorder's upkeep (draining histograms) on the same tick.
pub fn spawn_gauges(app: App, handle: PrometheusHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
            let store = app.store.get();
            for (name, property) in [
                ("onshi_store_keys", "rocksdb.estimate-num-keys"),
                ("onshi_store_live_sst_bytes", "rocksdb.live-sst-files-size"),
                ("onshi_store_pending_compaction_bytes", "rocksdb.estimate-pending-compaction-bytes"),
            ] {
                metrics::gauge!(name).set(store.property_total(property) as f64);
            }
            metrics::gauge!("onshi_store_block_cache_bytes").set(store.block_cache_usage().unwrap_or(0) as f64);
            if let Some(c) = store.cache_counts() {
                for (block, hits, misses) in [
                    ("data", c.data_hits, c.data_misses),
                    ("index", c.index_hits, c.index_misses),
                    ("filter", c.filter_hits, c.filter_misses),
                ] {
                    metrics::gauge!("onshi_store_block_cache_hits", "block" => block).set(hits as f64);
                    metrics::gauge!("onshi_store_block_cache_misses", "block" => block).set(misses as f64);
                }
                metrics::gauge!("onshi_store_row_cache_hits").set(c.row_hits as f64);
                metrics::gauge!("onshi_store_row_cache_misses").set(c.row_misses as f64);
            }
            metrics::gauge!("onshi_journal_bytes").set(app.journal.bytes() as f64);
            metrics::gauge!("onshi_in_flight").set(app.admission.in_flight() as f64);
        }
    })
}
