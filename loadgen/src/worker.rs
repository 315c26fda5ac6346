//! The workers: one task per request in flight. A unary worker sends one call at a time on its
//! HTTP/2 connection (closed loop: as soon as the last one is answered; open loop: when the
//! pacer releases a slot); a stream worker keeps `--batch` confirmations in flight on one stream.
//! Each records into its own histogram, merged at the end.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use tonic::transport::Channel;
use tonic::{Code, Request};

use crate::h2client::{self, Connection, Route};
use crate::pacer::{self, Plan};
use crate::pools::Pools;
use crate::raw::RawCodec;
use crate::workload::{self, Workload};

/// State shared by the workers, the pacer and the run.
pub struct Shared {
    pub measuring: AtomicBool,
    /// Set when the measured run is over: later answers are not counted.
    pub ended: AtomicBool,
    pub stop: AtomicBool,
    /// Measured requests so far (for -n and the progress line).
    pub done: AtomicU64,
    pub errors: AtomicU64,
    /// Open loop: slots released so far (by the pacer thread or a worker).
    pub released: AtomicU64,
    /// Open loop: the next slot to send and how many were skipped.
    pub next_slot: AtomicU64,
    pub not_sent: AtomicU64,
    /// Open loop: one permit per slot that is due, released on time by the pacer thread.
    pub due: tokio::sync::Semaphore,
}

impl Shared {
    pub fn new() -> Shared {
        Shared {
            measuring: AtomicBool::new(false),
            ended: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            done: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            released: AtomicU64::new(0),
            next_slot: AtomicU64::new(0),
            not_sent: AtomicU64::new(0),
            due: tokio::sync::Semaphore::new(0),
        }
    }
}

/// What every unary worker reads and nobody changes during the run.
pub struct Context {
    pub routes: BTreeMap<Workload, Route>,
    /// The unary workloads of the mix and their weights.
    pub mix: Vec<(Workload, u32)>,
    pub pools: Arc<Pools>,
    pub shared: Arc<Shared>,
    pub plan: Arc<Plan>,
    /// Search infos per bulk upload: a bulk call counts as this many requests.
    pub bulk_size: usize,
}

/// What one worker counted (its latencies go to the [`Histograms`] it shares).
pub struct WorkerResult {
    pub errors: BTreeMap<String, u64>,
    pub by_workload: BTreeMap<String, u64>,
}

impl WorkerResult {
    fn new() -> WorkerResult {
        WorkerResult { errors: BTreeMap::new(), by_workload: BTreeMap::new() }
    }
}

/// Latency histograms, shared by the workers of one connection under a lock: a histogram is
/// ~150 kB, so one set per worker cost hundreds of MB and a cache miss per answer at
/// `-c 2048`; the lock is uncontended on the single runtime thread.
pub struct Histograms {
    pub latency: Histogram<u64>,
    /// Open loop: how late each counted request was queued for sending after its slot's
    /// intended time (the generator's own lateness, inside `latency`).
    pub late: Histogram<u64>,
    /// Open loop: latency from when the request was queued for sending (the server's and the
    /// network's share, with the client's own I/O).
    pub from_send: Histogram<u64>,
}

impl Histograms {
    pub fn shared() -> Arc<Mutex<Histograms>> {
        Arc::new(Mutex::new(Histograms { latency: histogram(), late: histogram(), from_send: histogram() }))
    }
}

pub fn lock(h: &Mutex<Histograms>) -> MutexGuard<'_, Histograms> {
    h.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Latencies in microseconds, 1 µs to 120 s, three significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).unwrap_or_else(|_| unreachable!())
}

/// Waits for the workers to finish; one blocked on a dead connection is not waited for forever.
pub async fn join(workers: Vec<tokio::task::JoinHandle<WorkerResult>>) -> Vec<WorkerResult> {
    let mut out = Vec::with_capacity(workers.len());
    for w in workers {
        if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(10), w).await {
            out.push(r);
        }
    }
    out
}

fn code_name(code: Code) -> String {
    format!("{code:?}")
}

/// A workload of the mix, its weight, and its pool and route (`None`: nothing to send).
type Arm<'a> = (Workload, u32, Option<(&'a [Bytes], &'a Route)>);

/// Unary calls, one at a time, on `send` until the run stops or the connection is lost.
pub async fn unary(id: usize, mut send: Connection, ctx: Arc<Context>, hists: Arc<Mutex<Histograms>>) -> WorkerResult {
    let Context { routes, mix, pools, shared, plan, bulk_size } = &*ctx;
    let mut result = WorkerResult::new();
    // Each workload's pool and route looked up once, and answers counted in an array by
    // workload: no map lookup or key allocated per call.
    let arms: Vec<Arm<'_>> = mix
        .iter()
        .map(|(w, weight)| {
            let pool = pools.by_workload.get(w).map(Vec::as_slice).filter(|p| !p.is_empty());
            (*w, *weight, pool.zip(routes.get(w)))
        })
        .collect();
    let mut answered = [0u64; workload::ALL.len()];
    let total_weight: u32 = mix.iter().map(|(_, w)| w).sum();
    let mut rng = onshi_domain::population::mix64(id as u64 + 1);
    let mut cursor = rng as usize;
    while !shared.stop.load(Ordering::Relaxed) {
        rng = onshi_domain::population::mix64(rng);
        let mut pick = (rng % u64::from(total_weight)) as u32;
        let arm = arms.iter().find(|(_, w, _)| {
            if pick < *w {
                true
            } else {
                pick -= w;
                false
            }
        });
        let (workload, target) = arm.map_or((Workload::Card, None), |(w, _, t)| (*w, *t));
        // Open loop: wait for a due slot (the pacer thread releases them on time) and measure
        // from the slot's intended time.
        // Closed loop counts answers that arrive while measuring; open loop counts the slots
        // after the warm-up's (so -n counts exactly) answered before the run ended.
        let mut counted_slot = None;
        let intended = match &plan.rps {
            Some(rps) => {
                pacer::release_due(shared, plan, *rps);
                match shared.due.acquire().await {
                    Ok(permit) => permit.forget(),
                    Err(_) => break,
                }
                let slot = shared.next_slot.fetch_add(1, Ordering::Relaxed);
                if plan.total > 0 && slot >= plan.total {
                    break;
                }
                counted_slot = Some(slot >= plan.warmup_slots);
                let at = plan.slot_time(slot, *rps);
                if at.elapsed() > plan.max_lag {
                    if slot >= plan.warmup_slots && !shared.ended.load(Ordering::Relaxed) {
                        shared.not_sent.fetch_add(1, Ordering::Relaxed);
                    }
                    continue;
                }
                at
            }
            None => Instant::now(),
        };
        let Some((pool, route)) = target else {
            continue;
        };
        cursor = cursor.wrapping_add(1);
        let queued = Instant::now();
        let outcome = h2client::unary(&mut send, route, pool[cursor % pool.len()].clone()).await;
        let lost = matches!(&outcome, Err(e) if e.connection_lost);
        let counted = match counted_slot {
            Some(after_warmup) => after_warmup && !shared.ended.load(Ordering::Relaxed),
            None => shared.measuring.load(Ordering::Relaxed),
        };
        if counted {
            let weight = if workload == Workload::Bulk { *bulk_size as u64 } else { 1 };
            match outcome {
                Ok(_) => {
                    let mut h = lock(&hists);
                    let _ = h.latency.record(intended.elapsed().as_micros().max(1) as u64);
                    if counted_slot.is_some() {
                        let _ = h.late.record(queued.saturating_duration_since(intended).as_micros() as u64);
                        let _ = h.from_send.record(queued.elapsed().as_micros().max(1) as u64);
                    }
                    drop(h);
                    answered[workload as usize] += weight;
                    let done = shared.done.fetch_add(weight, Ordering::Relaxed) + weight;
                    if plan.rps.is_none() && plan.total > 0 && done >= plan.total {
                        shared.stop.store(true, Ordering::Relaxed);
                    }
                }
                Err(e) => {
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                    *result.errors.entry(code_name(e.code)).or_default() += 1;
                }
            }
        }
        if lost {
            // No reconnection: a lost connection ends this worker (the run ends when every
            // worker has).
            break;
        }
    }
    for (w, n) in workload::ALL.iter().zip(answered) {
        if n > 0 {
            result.by_workload.insert(w.name().to_owned(), n);
        }
    }
    result
}

/// A stream with `batch` confirmations in flight: send a batch, read its answers, repeat.
pub async fn stream(
    id: usize,
    channel: Channel,
    meta: tonic::metadata::MetadataMap,
    pools: Arc<Pools>,
    shared: Arc<Shared>,
    batch: usize,
    hists: Arc<Mutex<Histograms>>,
) -> WorkerResult {
    let mut result = WorkerResult::new();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(batch.max(1) * 2);
    let mut grpc = tonic::client::Grpc::new(channel);
    let mut req = Request::new(tokio_stream::wrappers::ReceiverStream::new(rx));
    *req.metadata_mut() = meta;
    if grpc.ready().await.is_err() {
        return result;
    }
    let path = http::uri::PathAndQuery::from_static(Workload::Stream.path());
    let mut inbound = match grpc.streaming(req, path, RawCodec).await {
        Ok(r) => r.into_inner(),
        Err(status) => {
            *result.errors.entry(code_name(status.code())).or_default() += 1;
            shared.errors.fetch_add(1, Ordering::Relaxed);
            return result;
        }
    };
    let mut cursor = id * 7919;
    while !shared.stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        for _ in 0..batch {
            cursor = cursor.wrapping_add(1);
            if tx.send(pools.stream[cursor % pools.stream.len()].clone()).await.is_err() {
                return result;
            }
        }
        let mut got = 0;
        while got < batch {
            match inbound.message().await {
                Ok(Some(_)) => got += 1,
                Ok(None) => return result,
                Err(status) => {
                    *result.errors.entry(code_name(status.code())).or_default() += 1;
                    shared.errors.fetch_add(1, Ordering::Relaxed);
                    return result;
                }
            }
        }
        if shared.measuring.load(Ordering::Relaxed) {
            let rtt = sent.elapsed().as_micros().max(1) as u64;
            let _ = lock(&hists).latency.record_n(rtt, batch as u64);
            *result.by_workload.entry("stream".to_owned()).or_default() += batch as u64;
            shared.done.fetch_add(batch as u64, Ordering::Relaxed);
        }
    }
    result
}
