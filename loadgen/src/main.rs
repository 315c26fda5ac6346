//! onshi-loadgen: drives onshi (or anything speaking onshi.v1) with qualification checks drawn
//! from the same deterministic population the server seeded, and reports throughput and latency.
//!
//! This first version runs closed-loop unary `card`, `insured` and `health` workloads over mutual
//! TLS or plaintext; the open-loop mode, the full workload mix and JSON output come with the load
//! generator issue.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::population::Population;
use onshi_proto::v1::qualification_service_client::QualificationServiceClient;
use onshi_proto::v1::{
    CardReaderInfo, ConfirmByCardRequest, ConfirmByInsuredNumberRequest, QualificationConfirmSearchInfo,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Workload {
    /// ConfirmByCard with the serial of a seeded person.
    Card,
    /// ConfirmByInsuredNumber with a seeded person's numbers.
    Insured,
    /// grpc.health.v1 Check: the framework's own ceiling.
    Health,
}

#[derive(Parser, Debug)]
#[command(name = "onshi-loadgen", version, about = "Load generator for onshi")]
struct Args {
    /// HOST:PORT of the server (loopback unless --allow-remote).
    #[arg(long, default_value = "127.0.0.1:50051")]
    target: String,
    #[arg(long)]
    cacert: Option<std::path::PathBuf>,
    #[arg(long)]
    cert: Option<std::path::PathBuf>,
    #[arg(long)]
    key: Option<std::path::PathBuf>,
    /// Talk plaintext (the server must run with --plaintext); the facility goes in a header.
    #[arg(long)]
    plaintext: bool,
    /// Facility code for --plaintext.
    #[arg(long)]
    facility: Option<String>,
    #[arg(long, value_enum, default_value = "card")]
    workload: Workload,
    /// Connections to open.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Requests in flight in total.
    #[arg(short = 'c', long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds to measure.
    #[arg(short = 'z', long, default_value_t = 10)]
    duration: u64,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Population seed and size the server was seeded with.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 100_000)]
    persons: u64,
    /// Allow a target that is not a loopback address.
    #[arg(long)]
    allow_remote: bool,
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

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
            .domain_name("localhost");
        Channel::from_shared(format!("https://{}", args.target))?.tls_config(tls)?
    };
    Ok(endpoint.connect_timeout(Duration::from_secs(5)).connect().await?)
}

fn request<T>(msg: T, facility: &Option<String>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Some(f) = facility.as_ref().and_then(|f| f.parse().ok()) {
        r.metadata_mut().insert("x-onshi-facility", f);
    }
    r
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onshi-loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), AnyError> {
    let host = args.target.rsplit_once(':').map_or(args.target.as_str(), |(h, _)| h);
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "::1");
    if !loopback && !args.allow_remote {
        return Err(format!("{} is not a loopback address; pass --allow-remote to load it", args.target).into());
    }
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        channels.push(connect(&args).await?);
    }
    // Identifiers do not depend on the reference date, except for people who turned 75 between
    // the server's seeding and today; today is the closest guess.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    let as_of: Date = JstDateTime::from_unix_seconds(now).ok_or("clock out of range")?.date();
    let pop = Arc::new(Population::new(args.seed, as_of));
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let facility = Arc::new(args.facility.clone());
    let mut workers = Vec::new();
    for w in 0..args.concurrency.max(1) {
        let channel = channels[w % channels.len()].clone();
        let (pop, stop, measuring, errors, facility) =
            (pop.clone(), stop.clone(), measuring.clone(), errors.clone(), facility.clone());
        let workload = args.workload;
        let persons = args.persons.max(1);
        workers.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
            let mut q = QualificationServiceClient::new(channel.clone());
            let mut h = tonic_health_client(channel);
            let mut i = (w as u64).wrapping_mul(0x9E37_79B9) % persons;
            while !stop.load(Ordering::Relaxed) {
                i = (i + 7919) % persons;
                let started = Instant::now();
                let ok = match workload {
                    Workload::Card => {
                        let Some(serial) = pop.keys(i).card_serial else { continue };
                        let info = CardReaderInfo {
                            certificate_serial_number: serial.as_str().to_owned(),
                            verification_method: "1".into(),
                            ..Default::default()
                        };
                        q.confirm_by_card(request(
                            ConfirmByCardRequest { message_header: None, card_reader_info: Some(info) },
                            &facility,
                        ))
                        .await
                        .is_ok()
                    }
                    Workload::Insured => {
                        let k = pop.keys(i);
                        let info = QualificationConfirmSearchInfo {
                            insurer_number: k.current.insurer_number.as_str().to_owned(),
                            insured_card_symbol: k.current.symbol.as_str().to_owned(),
                            insured_identification_number: k.current.number.as_str().to_owned(),
                            insured_branch_number: k.current.branch.map(|b| b.as_str().to_owned()).unwrap_or_default(),
                            birthdate: k.birthdate.yyyymmdd(),
                            ..Default::default()
                        };
                        let req = ConfirmByInsuredNumberRequest {
                            message_header: None,
                            qualification_confirm_search_info: Some(info),
                        };
                        q.confirm_by_insured_number(request(req, &facility)).await.is_ok()
                    }
                    Workload::Health => {
                        h.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.is_ok()
                    }
                };
                if measuring.load(Ordering::Relaxed) {
                    if ok {
                        let _ = hist.record(started.elapsed().as_micros().max(1) as u64);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            hist
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut total = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    for w in workers {
        total.add(w.await?)?;
    }
    let n = total.len();
    println!(
        "workload {:?}: {n} requests in {elapsed:.1} s = {:.0} req/s, errors {}",
        args.workload,
        n as f64 / elapsed,
        errors.load(Ordering::Relaxed)
    );
    println!(
        "latency µs: p50 {} p90 {} p99 {} p99.9 {} max {}",
        total.value_at_quantile(0.5),
        total.value_at_quantile(0.9),
        total.value_at_quantile(0.99),
        total.value_at_quantile(0.999),
        total.max()
    );
    Ok(())
}

fn tonic_health_client(channel: Channel) -> tonic_health::pb::health_client::HealthClient<Channel> {
    tonic_health::pb::health_client::HealthClient::new(channel)
}
