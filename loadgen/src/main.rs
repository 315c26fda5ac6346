//! onshi-loadgen: rehearses national qualification-check traffic against onshi (or anything that
//! speaks onshi.v1) and reports numbers people can trust.
//!
//! Requests are pre-encoded from the same deterministic population the server seeded; unary calls
//! go out on bare HTTP/2 connections ([`h2client`]) and streams through tonic with a codec that
//! does not decode answers, so the generator's own cost per request stays small.
//! Closed loop (`--concurrency` requests in flight) finds the peak; open loop (`--rps`) offers a
//! fixed rate and measures latency from each request's intended send time, so a slow server
//! cannot hide its queueing (no coordinated omission).

mod h2client;
mod raw;
mod report;
mod requests;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use h2::client::SendRequest;
use hdrhistogram::Histogram;
use http::header::{HeaderName, HeaderValue};
use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::population::Population;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic::{Code, Request};

use h2client::Route;
use raw::RawCodec;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use report::{Latency, Summary};
use requests::{KeyDistribution, Keys};

/// What one request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
enum Workload {
    /// grpc.health.v1 Check: the stack's own ceiling.
    Health,
    /// ConfirmByCard with a seeded person's card serial.
    Card,
    /// ConfirmByInsuredNumber with a seeded person's numbers.
    Insured,
    /// People who do not exist, asked by insured numbers.
    Miss,
    /// GetMedicationInfo (the generator gives the consents first).
    Medication,
    /// GetSpecificHealthCheckupInfo (likewise).
    Checkup,
    /// ConfirmStream with --batch confirmations in flight per stream.
    Stream,
    /// BulkConfirmUpload of --bulk-size search infos.
    Bulk,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Health => "health",
            Workload::Card => "card",
            Workload::Insured => "insured",
            Workload::Miss => "miss",
            Workload::Medication => "medication",
            Workload::Checkup => "checkup",
            Workload::Stream => "stream",
            Workload::Bulk => "bulk",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Workload::Health => "/grpc.health.v1.Health/Check",
            Workload::Card => "/onshi.v1.QualificationService/ConfirmByCard",
            Workload::Insured => "/onshi.v1.QualificationService/ConfirmByInsuredNumber",
            Workload::Miss => "/onshi.v1.QualificationService/ConfirmByInsuredNumber",
            Workload::Medication => "/onshi.v1.MedicationService/GetMedicationInfo",
            Workload::Checkup => "/onshi.v1.CheckupService/GetSpecificHealthCheckupInfo",
            Workload::Stream => "/onshi.v1.QualificationService/ConfirmStream",
            Workload::Bulk => "/onshi.v1.QualificationService/BulkConfirmUpload",
        }
    }
}

#[derive(Parser, Debug, Clone)]
#[command(name = "onshi-loadgen", version, about = "Load generator for onshi (onshi.v1 over gRPC)")]
struct Args {
    /// HOST:PORT of the server; a loopback address unless --allow-remote.
    #[arg(long, default_value = "127.0.0.1:50051")]
    target: String,
    /// Allow a target that is not a loopback address.
    #[arg(long)]
    allow_remote: bool,
    /// CA certificate (PEM) for mutual TLS.
    #[arg(long)]
    cacert: Option<std::path::PathBuf>,
    /// Client certificate (PEM) naming the facility.
    #[arg(long)]
    cert: Option<std::path::PathBuf>,
    #[arg(long)]
    key: Option<std::path::PathBuf>,
    /// Talk plaintext to a server started with --plaintext.
    #[arg(long)]
    plaintext: bool,
    /// The facility to name in plaintext mode (x-onshi-facility).
    #[arg(long)]
    facility: Option<String>,
    /// TLS server name to verify.
    #[arg(long, default_value = "localhost")]
    server_name: String,
    /// Workload weights, e.g. "card=8,insured=1,miss=1" (names: health, card, insured, miss,
    /// medication, checkup, stream, bulk).
    #[arg(long, default_value = "card=1")]
    mix: String,
    /// HTTP/2 connections to open.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Scheduler threads of the generator (1: a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Requests in flight in total (closed loop), or the most in flight (open loop).
    #[arg(short = 'c', long, default_value_t = 64)]
    concurrency: usize,
    /// Seconds to measure (0: until -n is reached).
    #[arg(short = 'z', long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Stop after this many measured requests (0: no limit).
    #[arg(short = 'n', long, default_value_t = 0)]
    total: u64,
    /// Open loop: offer this many requests per second.
    #[arg(long)]
    rps: Option<f64>,
    /// Confirmations in flight per stream (stream workload).
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Search infos per upload (bulk workload).
    #[arg(long, default_value_t = 1000)]
    bulk_size: usize,
    /// Population seed and size the server was seeded with.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 100_000)]
    persons: u64,
    /// How keys are drawn.
    #[arg(long, value_enum, default_value = "uniform")]
    keys: KeyDistribution,
    /// Pre-encoded requests per workload.
    #[arg(long, default_value_t = 20_000)]
    pool: usize,
    /// Also report this server process's CPU time per request.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Write the summary as JSON to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// No live progress line.
    #[arg(long)]
    quiet: bool,
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

fn parse_mix(s: &str) -> Result<Vec<(Workload, u32)>, AnyError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
        let w = Workload::from_str(name.trim(), true).map_err(|_| format!("--mix: unknown workload {name:?}"))?;
        let weight: u32 = weight.trim().parse().map_err(|_| format!("--mix: bad weight in {part:?}"))?;
        if weight > 0 {
            out.push((w, weight));
        }
    }
    if out.is_empty() {
        return Err("--mix names no workload".into());
    }
    Ok(out)
}

/// The bare-HTTP/2 target (unary calls).
fn h2_target(args: &Args) -> Result<h2client::Target, AnyError> {
    let tls = if args.plaintext {
        None
    } else {
        let (Some(ca), Some(cert), Some(key)) = (&args.cacert, &args.cert, &args.key) else {
            return Err("mutual TLS needs --cacert, --cert and --key (or --plaintext --facility CODE)".into());
        };
        let config = h2client::tls_config(&std::fs::read(ca)?, &std::fs::read(cert)?, &std::fs::read(key)?)?;
        let name = rustls::pki_types::ServerName::try_from(args.server_name.clone())
            .map_err(|_| format!("--server-name {:?} is not a DNS name or address", args.server_name))?;
        Some((config, name))
    };
    Ok(h2client::Target { addr: args.target.clone(), tls })
}

/// A tonic channel (streams).
async fn connect(args: &Args) -> Result<Channel, AnyError> {
    let endpoint = if args.plaintext {
        Channel::from_shared(format!("http://{}", args.target))?
    } else {
        let (Some(ca), Some(cert), Some(key)) = (&args.cacert, &args.cert, &args.key) else {
            return Err("mutual TLS needs --cacert, --cert and --key (or --plaintext --facility CODE)".into());
        };
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(std::fs::read(ca)?))
            .identity(Identity::from_pem(std::fs::read(cert)?, std::fs::read(key)?))
            .domain_name(args.server_name.clone());
        Channel::from_shared(format!("https://{}", args.target))?.tls_config(tls)?
    };
    let channel = endpoint
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .initial_stream_window_size(Some(1 << 20))
        .initial_connection_window_size(Some(4 << 20))
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", args.target))?;
    Ok(channel)
}

/// The pre-encoded requests of every workload in the mix: unary ones already framed for the
/// wire (gRPC prefix included), stream messages bare (tonic frames them).
struct Pools {
    by_workload: BTreeMap<Workload, Vec<Bytes>>,
    stream: Vec<Bytes>,
}

fn today() -> Date {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    JstDateTime::from_unix_seconds(now)
        .map(JstDateTime::date)
        .unwrap_or_else(|| Date::new(2026, 1, 1).unwrap_or_else(|| unreachable!()))
}

/// Card holders among the people a pool will ask about (index, serial).
fn holders(pop: &Population, keys: &mut Keys, n: usize, persons: u64) -> Vec<(u64, String)> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let i = keys.next();
        if let Some(s) = pop.keys(i).card_serial {
            out.push((i, s.as_str().to_owned()));
        } else if persons == 0 {
            break;
        }
    }
    out
}

async fn build_pools(
    args: &Args,
    mix: &[(Workload, u32)],
    connection: &SendRequest<Bytes>,
    consent_route: &Route,
) -> Result<Pools, AnyError> {
    let pop = Population::new(args.seed, today());
    let n = args.pool.max(1);
    let mut by_workload = BTreeMap::new();
    let mut stream = Vec::new();
    for (w, _) in mix {
        let mut keys = Keys::new(args.persons, args.keys, *w as u64);
        let pool: Vec<Bytes> = match w {
            Workload::Health => {
                vec![requests::encode(&tonic_health::pb::HealthCheckRequest { service: String::new() })]
            }
            Workload::Card => (0..n).map(|_| requests::card(&pop, keys.next(), args.persons)).collect(),
            Workload::Insured => (0..n).map(|_| requests::insured(&pop, keys.next())).collect(),
            Workload::Miss => (0..n as u64).map(|i| requests::miss(&pop, i * 7919, args.persons)).collect(),
            Workload::Medication | Workload::Checkup => {
                // The patients consent at the reader first (as the facility making the calls).
                let people = holders(&pop, &mut keys, n.min(2000), args.persons);
                let mut send = connection.clone();
                for (_, serial) in &people {
                    let framed = h2client::frame(&requests::encode(&requests::card_request(serial, true)));
                    h2client::unary(&mut send, consent_route, framed)
                        .await
                        .map_err(|e| format!("giving consents failed: {:?}: {}", e.code, e.message))?;
                }
                let today = today();
                people
                    .iter()
                    .map(|(i, _)| {
                        if *w == Workload::Medication {
                            requests::medication(&pop, *i, today)
                        } else {
                            requests::checkup(&pop, *i)
                        }
                    })
                    .collect()
            }
            Workload::Stream => {
                stream = (0..n as u64)
                    .map(|t| requests::encode(&requests::stream_message(&pop, keys.next(), args.persons, t)))
                    .collect();
                Vec::new()
            }
            Workload::Bulk => {
                (0..4).map(|_| requests::bulk(&pop, &mut keys, args.bulk_size.clamp(1, 10_000))).collect()
            }
        };
        by_workload.insert(*w, pool.iter().map(|m| h2client::frame(m)).collect());
    }
    Ok(Pools { by_workload, stream })
}

/// State shared by the workers.
struct Shared {
    measuring: AtomicBool,
    /// Set when the measured run is over: later answers are not counted.
    ended: AtomicBool,
    stop: AtomicBool,
    /// Measured requests so far (for -n and the progress line).
    done: AtomicU64,
    errors: AtomicU64,
    /// Open loop: the next slot to send and how many were skipped.
    next_slot: AtomicU64,
    not_sent: AtomicU64,
    /// Open loop: one permit per slot that is due, released on time by the pacer thread.
    due: tokio::sync::Semaphore,
}

/// What one worker measured.
struct WorkerResult {
    hist: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    by_workload: BTreeMap<String, u64>,
}

/// Waits for the workers to finish; one blocked on a dead connection is not waited for forever.
async fn join_workers(workers: Vec<tokio::task::JoinHandle<WorkerResult>>) -> Vec<WorkerResult> {
    let mut out = Vec::with_capacity(workers.len());
    for w in workers {
        if let Ok(Ok(r)) = tokio::time::timeout(Duration::from_secs(10), w).await {
            out.push(r);
        }
    }
    out
}

fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 120_000_000, 3).unwrap_or_else(|_| unreachable!())
}

struct Plan {
    total: u64,
    rps: Option<f64>,
    /// Open loop: slots before this one fall in the warm-up and are not counted.
    warmup_slots: u64,
    start: Instant,
    max_lag: Duration,
}

fn code_name(code: Code) -> String {
    format!("{code:?}")
}

#[allow(clippy::too_many_arguments)]
async fn unary_worker(
    id: usize,
    mut send: SendRequest<Bytes>,
    routes: Arc<BTreeMap<Workload, Route>>,
    mix: Arc<Vec<(Workload, u32)>>,
    pools: Arc<Pools>,
    shared: Arc<Shared>,
    plan: Arc<Plan>,
    bulk_size: usize,
) -> WorkerResult {
    let mut result = WorkerResult { hist: histogram(), errors: BTreeMap::new(), by_workload: BTreeMap::new() };
    let total_weight: u32 = mix.iter().map(|(_, w)| w).sum();
    let mut rng = onshi_domain::population::mix64(id as u64 + 1);
    let mut cursor = rng as usize;
    while !shared.stop.load(Ordering::Relaxed) {
        rng = onshi_domain::population::mix64(rng);
        let mut pick = (rng % u64::from(total_weight)) as u32;
        let workload = mix
            .iter()
            .find(|(_, w)| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .map_or(Workload::Card, |(w, _)| *w);
        // Open loop: wait for a due slot (the pacer thread releases them on time) and measure
        // from the slot's intended time.
        // Closed loop counts answers that arrive while measuring; open loop counts the slots
        // after the warm-up's (so -n counts exactly) answered before the run ended.
        let mut counted_slot = None;
        let intended = match &plan.rps {
            Some(rps) => {
                match shared.due.acquire().await {
                    Ok(permit) => permit.forget(),
                    Err(_) => break,
                }
                let slot = shared.next_slot.fetch_add(1, Ordering::Relaxed);
                if plan.total > 0 && slot >= plan.total {
                    break;
                }
                counted_slot = Some(slot >= plan.warmup_slots);
                let at = plan.start + Duration::from_secs_f64(slot as f64 / rps);
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
        let (Some(pool), Some(route)) = (pools.by_workload.get(&workload), routes.get(&workload)) else {
            continue;
        };
        if pool.is_empty() {
            continue;
        }
        cursor = cursor.wrapping_add(1);
        let outcome = h2client::unary(&mut send, route, pool[cursor % pool.len()].clone()).await;
        let lost = matches!(&outcome, Err(e) if e.connection_lost);
        let counted = match counted_slot {
            Some(after_warmup) => after_warmup && !shared.ended.load(Ordering::Relaxed),
            None => shared.measuring.load(Ordering::Relaxed),
        };
        if counted {
            let weight = if workload == Workload::Bulk { bulk_size as u64 } else { 1 };
            match outcome {
                Ok(_) => {
                    let _ = result.hist.record(intended.elapsed().as_micros().max(1) as u64);
                    *result.by_workload.entry(workload.name().to_owned()).or_default() += weight;
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
    result
}

/// A stream with `batch` confirmations in flight: send a batch, read its answers, repeat.
async fn stream_worker(
    channel: Channel,
    meta: tonic::metadata::MetadataMap,
    pools: Arc<Pools>,
    shared: Arc<Shared>,
    batch: usize,
    id: usize,
) -> WorkerResult {
    let mut result = WorkerResult { hist: histogram(), errors: BTreeMap::new(), by_workload: BTreeMap::new() };
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
            let _ = result.hist.record_n(rtt, batch as u64);
            *result.by_workload.entry("stream".to_owned()).or_default() += batch as u64;
            shared.done.fetch_add(batch as u64, Ordering::Relaxed);
        }
    }
    result
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    // One thread by default, like h2load: on a machine shared with the server, a second
    // scheduler thread mostly adds cross-thread wake-ups, not throughput.
    let runtime = match args.threads {
        0 | 1 => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        n => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build(),
    };
    let outcome = match runtime {
        Ok(rt) => rt.block_on(run(args)),
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onshi-loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), AnyError> {
    let host = args.target.rsplit_once(':').map_or(args.target.as_str(), |(h, _)| h);
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1") || host.starts_with("127.");
    if !loopback && !args.allow_remote {
        return Err(format!("{} is not a loopback address; pass --allow-remote to load it", args.target).into());
    }
    if args.duration <= 0.0 && args.total == 0 {
        return Err("give a --duration or a -n count: runs are bounded".into());
    }
    let mix = parse_mix(&args.mix)?;
    // Streams and unary calls share the workers by weight: a stream worker keeps --batch
    // confirmations in flight, a unary worker one call.
    let total_weight: u32 = mix.iter().map(|(_, w)| w).sum();
    let stream_weight: u32 = mix.iter().filter(|(w, _)| *w == Workload::Stream).map(|(_, w)| w).sum();
    let concurrency = args.concurrency.max(1);
    let stream_workers = if stream_weight == 0 {
        0
    } else if stream_weight == total_weight {
        concurrency
    } else {
        ((concurrency as u64 * u64::from(stream_weight) / u64::from(total_weight)) as usize).clamp(1, concurrency - 1)
    };
    if stream_workers > 0 && stream_workers == concurrency && stream_weight != total_weight {
        return Err("--concurrency is too small to run streams and unary calls together".into());
    }
    let unary_mix: Vec<(Workload, u32)> = mix.iter().copied().filter(|(w, _)| *w != Workload::Stream).collect();

    let mut meta = tonic::metadata::MetadataMap::new();
    let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
    if let Some(f) = &args.facility {
        let value = HeaderValue::from_str(f).map_err(|_| "--facility is not a header value")?;
        meta.insert("x-onshi-facility", f.parse().map_err(|_| "--facility is not a header value")?);
        headers.push((HeaderName::from_static("x-onshi-facility"), value));
    }
    let target = h2_target(&args)?;
    let mut connections = Vec::new();
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        if stream_workers < concurrency {
            connections.push(h2client::connect(&target).await?);
        }
        if stream_workers > 0 {
            channels.push(connect(&args).await?);
        }
    }
    let mut routes = BTreeMap::new();
    for w in [
        Workload::Health,
        Workload::Card,
        Workload::Insured,
        Workload::Miss,
        Workload::Medication,
        Workload::Checkup,
        Workload::Bulk,
    ] {
        routes.insert(w, Route::new(&target, w.path(), &headers)?);
    }
    let setup = match connections.first() {
        Some(c) => c.clone(),
        None => h2client::connect(&target).await?,
    };
    let pools = Arc::new(build_pools(&args, &mix, &setup, &routes[&Workload::Card]).await?);
    drop(setup);
    let routes = Arc::new(routes);
    let mix = Arc::new(unary_mix);
    let shared = Arc::new(Shared {
        measuring: AtomicBool::new(false),
        ended: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        done: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        next_slot: AtomicU64::new(0),
        not_sent: AtomicU64::new(0),
        due: tokio::sync::Semaphore::new(0),
    });
    let warmup = Duration::from_secs_f64(args.warmup.max(0.0));
    let plan = Arc::new(Plan {
        // Open loop: -n counts slots (warm-up slots come on top).
        total: match (args.rps, args.total) {
            (Some(r), n) if n > 0 => n + (r * warmup.as_secs_f64()) as u64,
            (_, n) => n,
        },
        rps: args.rps,
        warmup_slots: args.rps.map_or(0, |r| (r * warmup.as_secs_f64()) as u64),
        start: Instant::now(),
        max_lag: Duration::from_secs(1),
    });

    // Open loop: a dedicated thread releases slots at their intended times (tokio's timers tick
    // every millisecond; a thread sleeping on its own is far more precise), so the measured
    // latency is the server's and the network's, not the generator's lateness.
    if let Some(rps) = args.rps {
        let (shared, plan) = (shared.clone(), plan.clone());
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
                let next = plan.start + Duration::from_secs_f64(released as f64 / rps);
                let wait = next.saturating_duration_since(Instant::now());
                std::thread::sleep(wait.min(Duration::from_millis(5)));
            }
        });
    }

    let mut workers: Vec<tokio::task::JoinHandle<WorkerResult>> = Vec::new();
    for id in 0..concurrency {
        let (pools, shared) = (pools.clone(), shared.clone());
        if id < stream_workers {
            let channel = channels[id % channels.len()].clone();
            workers.push(tokio::spawn(stream_worker(channel, meta.clone(), pools, shared, args.batch.max(1), id)));
        } else {
            workers.push(tokio::spawn(unary_worker(
                id,
                connections[id % connections.len()].clone(),
                routes.clone(),
                mix.clone(),
                pools,
                shared,
                plan.clone(),
                args.bulk_size,
            )));
        }
    }

    tokio::time::sleep(warmup).await;
    let client_cpu0 = report::cpu_seconds(None);
    let server_cpu0 = args.server_pid.and_then(|p| report::cpu_seconds(Some(p)));
    shared.measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let deadline = (args.duration > 0.0).then(|| started + Duration::from_secs_f64(args.duration));
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let mut last_print = Instant::now();
    let mut by_count = false;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if workers.iter().all(|w| w.is_finished()) {
            // Every worker gave up (lost connections): nothing more will be measured.
            break;
        }
        let slots_taken = plan.rps.is_some() && shared.next_slot.load(Ordering::Relaxed) >= plan.total;
        let counted = plan.rps.is_none() && shared.done.load(Ordering::Relaxed) >= plan.total;
        if shared.stop.load(Ordering::Relaxed) || (plan.total > 0 && (slots_taken || counted)) {
            by_count = true;
            break;
        }
        if progress && last_print.elapsed() >= Duration::from_secs(1) {
            last_print = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            let done = shared.done.load(Ordering::Relaxed);
            eprint!(
                "\r{secs:6.1} s  {done:>10} req  {:>9.0} req/s  errors {}   ",
                done as f64 / secs,
                shared.errors.load(Ordering::Relaxed)
            );
        }
    }
    // A run bounded by -n ends when the requests it counted have been answered; a timed run ends
    // at its deadline, and answers after it are not counted.
    let mut results = Vec::new();
    if by_count {
        shared.stop.store(true, Ordering::Relaxed);
        // Wakes open-loop workers waiting for a slot (every slot is taken by now).
        shared.due.close();
        results = join_workers(workers).await;
        workers = Vec::new();
    }
    shared.measuring.store(false, Ordering::Relaxed);
    shared.ended.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let client_cpu = report::cpu_seconds(None).zip(client_cpu0).map(|(b, a)| b - a);
    let server_cpu = args.server_pid.and_then(|p| report::cpu_seconds(Some(p))).zip(server_cpu0).map(|(b, a)| b - a);
    shared.stop.store(true, Ordering::Relaxed);
    shared.due.close();
    if progress {
        eprintln!();
    }
    results.extend(join_workers(workers).await);

    let mut hist = histogram();
    let mut errors_by_code = BTreeMap::new();
    let mut by_workload = BTreeMap::new();
    for r in results {
        hist.add(&r.hist)?;
        for (k, v) in r.errors {
            *errors_by_code.entry(k).or_default() += v;
        }
        for (k, v) in r.by_workload {
            *by_workload.entry(k).or_default() += v;
        }
    }
    let requests: u64 = by_workload.values().sum();
    let errors: u64 = errors_by_code.values().sum();
    let per_request = |cpu: f64| if requests == 0 { 0.0 } else { cpu * 1e6 / requests as f64 };
    let summary = Summary {
        requests,
        errors,
        errors_by_code,
        not_sent: shared.not_sent.load(Ordering::Relaxed),
        duration_s: elapsed,
        rps: requests as f64 / elapsed.max(1e-9),
        mode: if args.rps.is_some() { "open" } else { "closed" }.to_owned(),
        offered_rps: args.rps,
        latency_us: Latency::of(&hist),
        by_workload,
        client_cpu_us_per_request: per_request(client_cpu.unwrap_or(0.0)),
        server_cpu_us_per_request: server_cpu.map(per_request),
    };
    summary.print_table();
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&summary)?)?;
    }
    if requests == 0 && errors > 0 {
        return Err("every request failed".into());
    }
    Ok(())
}
