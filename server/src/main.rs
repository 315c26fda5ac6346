//! The `onshi-server` command: demo, serve, seed, pki, people, healthcheck, verify-log, fees.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use onshi_domain::date::Date;
use onshi_server::clock::Clock;
use onshi_server::config::{AdminMode, Config, LogFormat};
use onshi_server::{demo, people, pki, running};
use onshi_store::seed;
use onshi_store::{Compression, StoreHandle, StoreOptions};

/// mimalloc: glibc's malloc was about 12 % of the server's samples under load (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "onshi-server",
    version,
    about = "A local オンライン資格確認 (online qualification confirmation) over gRPC"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Dev PKI, demo facilities, a seeded population, served with mutual TLS on 127.0.0.1:50051.
    Demo {
        /// Where the PKI (DIR/pki) and the store (DIR/db) live.
        #[arg(long, default_value = "onshi-demo")]
        data_dir: PathBuf,
        /// Population size (the scenario people come on top).
        #[arg(long, default_value_t = 100_000)]
        persons: u64,
        #[arg(long, default_value = "127.0.0.1:50051")]
        listen: SocketAddr,
        /// Stop after this many seconds (0: run until Ctrl-C).
        #[arg(long, default_value_t = 3600)]
        duration: u64,
        /// Shift the server's clock by this many seconds (e.g. 86400 to serve "tomorrow").
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        clock_offset: i64,
    },
    /// Serve with a configuration file (see docs/configuration.md); flags override it.
    Serve {
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        listen: Option<SocketAddr>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Serve without TLS (loopback addresses only); facilities name themselves with the
        /// x-onshi-facility metadata header.
        #[arg(long)]
        plaintext: bool,
        #[arg(long)]
        ca: Option<PathBuf>,
        #[arg(long)]
        cert: Option<PathBuf>,
        #[arg(long)]
        key: Option<PathBuf>,
        /// Shift the server's clock by this many seconds.
        #[arg(long, allow_hyphen_values = true)]
        clock_offset: Option<i64>,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
        /// Print the configuration in effect and exit.
        #[arg(long)]
        print_config: bool,
    },
    /// Seed a store with the synthetic population and the scenario people.
    Seed {
        #[arg(long, default_value = "onshi-data")]
        data_dir: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 100_000)]
        persons: u64,
        /// Block compression of the store's files (lz4: about 37 % less disk, slower seeding).
        #[arg(long, default_value = "none")]
        compression: Compression,
    },
    /// Make a dev CA, a server certificate and facility client certificates (reusing what exists).
    Pki {
        #[arg(long, default_value = "onshi-demo/pki")]
        out: PathBuf,
        /// CODE=NAME of a facility to issue a certificate for (repeatable); default: the demo set.
        #[arg(long = "facility")]
        facilities: Vec<String>,
    },
    /// JSON lines: how to ask about each person and what to expect.
    People {
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 10)]
        count: u64,
        /// List the scenario people instead.
        #[arg(long)]
        scenarios: bool,
        /// The reference date, YYYYMMDD (default: today in Japan).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Ask a server's grpc.health.v1 whether it serves; exit 0 if it does.
    Healthcheck {
        #[arg(long, default_value = "127.0.0.1:50051")]
        target: String,
        #[arg(long)]
        cacert: Option<PathBuf>,
        #[arg(long)]
        cert: Option<PathBuf>,
        #[arg(long)]
        key: Option<PathBuf>,
        #[arg(long)]
        plaintext: bool,
    },
    /// Walks every person's chain of access records and names the first one edited or removed
    /// (exit code 1), or says the log is intact. Run it on a stopped server's data directory.
    VerifyLog {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Fee additions over a running server's FeeService, as tables: compute, usage-rate, estimate,
    /// subsidy. The defaults ask the demo (127.0.0.1:50051, onshi-demo/pki) as its clinic.
    Fees(onshi_server::fees_cli::FeesArgs),
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn today() -> Date {
    Clock::system().now().date()
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // serve's log format comes from its configuration file, read before anything is logged.
    let format = match &cli.command {
        Command::Serve { config: Some(path), .. } => Config::load(path).map(|c| c.log_format).unwrap_or_default(),
        _ => LogFormat::Text,
    };
    init_logging(format);
    match run(cli.command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("onshi-server: {e}");
            ExitCode::FAILURE
        }
    }
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

fn progress_printer(total: u64) -> impl FnMut(u64) {
    let started = std::time::Instant::now();
    move |done| {
        if done == total || done % (1 << 20) < (1 << 16) {
            metrics::gauge!("onshi_seeded_persons").set(done as f64);
            let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
            tracing::info!("seeded {done} of {total} persons ({rate:.0}/s)");
        }
    }
}

/// Serves the facility API (and the admin API, unless switched off) until Ctrl-C or the
/// deadline. Listeners are up at once; the facility API answers UNAVAILABLE, and health says
/// NOT_SERVING, until the store is seeded.
async fn serve_until(
    config: Config,
    deadline: Option<Duration>,
    on_ready: impl FnOnce(SocketAddr, Option<SocketAddr>, Option<SocketAddr>),
) -> Result<(), AnyError> {
    let persons = config.population.persons;
    let mut running = running::start(&config, Arc::new(Clock::system()), progress_printer(persons)).await?;
    let page = running.web_addr.filter(|_| config.admin.mode == AdminMode::Plaintext);
    on_ready(running.addr, running.admin_addr, page);
    let stopping = async {
        match deadline {
            Some(d) => {
                tokio::select! {
                    () = stop_signal() => {},
                    () = tokio::time::sleep(d) => tracing::info!("--duration elapsed; stopping"),
                }
            }
            None => stop_signal().await,
        }
    };
    tokio::pin!(stopping);
    // Report seeding as it ends, unless a stop comes first.
    tokio::select! {
        () = &mut stopping => {}
        seeded = running.seeded() => {
            match seeded {
                Ok(Some(r)) if r.wrote => tracing::info!(
                    "seeded {} persons and {} scenario persons in {:.1?} ({} SST files); serving",
                    r.persons,
                    r.scenario_persons,
                    r.elapsed,
                    r.sst_files
                ),
                Ok(_) => {}
                Err(e) => tracing::error!("seeding failed, the facility API stays unavailable: {e}"),
            }
            stopping.await;
        }
    }
    if running.stop().await? == running::Stopped::WhileSeeding {
        // Waiting could take minutes for a large population. Leaving is safe: ingestion is atomic
        // and the population record is written last, so the next start seeds again.
        tracing::warn!("stopped while seeding; the seed is abandoned and runs again at the next start");
        std::process::exit(0);
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM (what service managers and container runtimes send to stop a process):
/// either stops the server the same orderly way.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; stopping"),
                _ = term.recv() => tracing::info!("SIGTERM; stopping"),
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("interrupted; stopping");
}

async fn run(command: Command) -> Result<ExitCode, AnyError> {
    match command {
        Command::Demo { data_dir, persons, listen, duration, clock_offset } => {
            if !listen.ip().is_loopback() {
                return Err(format!("the demo listens on loopback addresses only; {listen} is not one").into());
            }
            let facilities: Vec<(&str, &str)> = demo::DEMO_FACILITIES.iter().map(|f| (f.code, f.name)).collect();
            let (paths, created) = pki::ensure(&data_dir.join("pki"), &facilities)?;
            if !created.is_empty() {
                tracing::info!("wrote {} certificate files under {}", created.len(), paths.dir.display());
            }
            let mut config = demo::demo_config(&data_dir, persons, listen);
            config.clock_offset_seconds = clock_offset;
            config.metrics.listen = Some(SocketAddr::new(listen.ip(), 8090));
            let exe =
                std::env::current_exe().map(|p| p.display().to_string()).unwrap_or_else(|_| "onshi-server".into());
            let deadline = (duration > 0).then(|| Duration::from_secs(duration));
            // The terminals connect lazily and retry, so they may start before the server serves.
            let population = (config.population.seed, config.population.persons);
            let terminals = match onshi_server::demo_terminals::DemoTerminals::start(&data_dir, listen, population) {
                Ok(t) => Some(t),
                Err(e) => {
                    tracing::warn!("{e}");
                    None
                }
            };
            let served = serve_until(config, deadline, |addr, admin, page| {
                println!("{}", demo::next_steps(&data_dir, addr, admin, page, &exe));
                if let Some(t) = &terminals {
                    println!("{}", t.next_steps(&data_dir, addr));
                }
            })
            .await;
            if let Some(t) = terminals {
                t.stop().await;
            }
            served?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { config, listen, data_dir, plaintext, ca, cert, key, clock_offset, duration, print_config } => {
            let mut c = match config {
                Some(path) => Config::load(&path)?,
                None => Config::default(),
            };
            if let Some(l) = listen {
                c.listen = l;
            }
            if let Some(d) = data_dir {
                c.data_dir = d;
            }
            if plaintext {
                c.tls.plaintext = true;
            }
            c.tls.ca = ca.or(c.tls.ca);
            c.tls.cert = cert.or(c.tls.cert);
            c.tls.key = key.or(c.tls.key);
            if let Some(offset) = clock_offset {
                c.clock_offset_seconds = offset;
            }
            if print_config {
                print!("{}", toml::to_string_pretty(&c)?);
                return Ok(ExitCode::SUCCESS);
            }
            c.validate()?;
            serve_until(c, duration.map(Duration::from_secs), |addr, admin, _| {
                tracing::info!("serving on {addr}");
                if let Some(a) = admin {
                    tracing::info!("admin API on {a}");
                }
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed { data_dir, seed: s, persons, compression } => {
            let handle = StoreHandle::open(&data_dir, StoreOptions { compression, ..Default::default() })?;
            let spec = seed::SeedSpec { seed: s, persons, as_of: today() };
            let report = tokio::task::block_in_place(|| handle.seed_and_baseline(spec, progress_printer(persons)))?;
            if report.wrote {
                for (cf, files) in handle.get().levels() {
                    println!("{cf}: files by level (L0…L6) {files:?}");
                }
                println!(
                    "seeded {} persons and {} scenario persons in {:.1?} ({:.0} persons/s; index spilled {:.0} MB)",
                    report.persons,
                    report.scenario_persons,
                    report.elapsed,
                    report.persons as f64 / report.elapsed.as_secs_f64().max(1e-9),
                    report.index_spill_bytes as f64 / 1e6
                );
            } else {
                println!("{} already holds seed {s} with {persons} persons; nothing to do", data_dir.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Pki { out, facilities } => {
            let owned: Vec<(String, String)> = if facilities.is_empty() {
                demo::DEMO_FACILITIES.iter().map(|f| (f.code.to_owned(), f.name.to_owned())).collect()
            } else {
                facilities
                    .iter()
                    .map(|f| match f.split_once('=') {
                        Some((code, name)) => (code.to_owned(), name.to_owned()),
                        None => (f.clone(), f.clone()),
                    })
                    .collect()
            };
            for (code, _) in &owned {
                onshi_domain::ids::MedicalInstitutionCode::parse(code, onshi_domain::ids::CheckDigits::Lenient)
                    .map_err(|e| format!("--facility {code}: {e}"))?;
            }
            let refs: Vec<(&str, &str)> = owned.iter().map(|(c, n)| (c.as_str(), n.as_str())).collect();
            let (paths, created) = pki::ensure(&out, &refs)?;
            for p in &created {
                println!("wrote {}", p.display());
            }
            println!("PKI in {}", paths.dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::People { seed: s, from, count, scenarios, as_of } => {
            let as_of = match as_of {
                Some(d) => Date::parse_yyyymmdd(&d).map_err(|e| format!("--as-of: {e}"))?,
                None => today(),
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            if scenarios {
                people::write_scenarios(&mut out, as_of)?;
            } else {
                people::write_population(&mut out, s, as_of, from, count)?;
            }
            std::io::Write::flush(&mut out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Healthcheck { target, cacert, cert, key, plaintext } => {
            healthcheck(&target, cacert, cert, key, plaintext).await
        }
        Command::Fees(args) => {
            print!("{}", onshi_server::fees_cli::run(args).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyLog { data_dir } => {
            let handle = onshi_store::StoreHandle::open(&data_dir, Default::default())?;
            let report = onshi_server::verify::verify_access_log(&handle.get())?;
            match report.broken {
                Some(broken) => {
                    println!("access log BROKEN: {broken}");
                    Ok(ExitCode::FAILURE)
                }
                None => {
                    println!(
                        "access log intact: {} records of {} persons ({} from before chains, not checked)",
                        report.records, report.persons, report.unchained
                    );
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
    }
}

async fn healthcheck(
    target: &str,
    cacert: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    plaintext: bool,
) -> Result<ExitCode, AnyError> {
    use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let channel = if plaintext {
        Channel::from_shared(format!("http://{target}"))?
    } else {
        let (Some(ca), Some(cert), Some(key)) = (cacert, cert, key) else {
            return Err("mutual TLS needs --cacert, --cert and --key (or --plaintext)".into());
        };
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(std::fs::read(ca)?))
            .identity(Identity::from_pem(std::fs::read(cert)?, std::fs::read(key)?))
            .domain_name("localhost");
        Channel::from_shared(format!("https://{target}"))?.tls_config(tls)?
    };
    let channel = channel.connect_timeout(Duration::from_secs(5)).timeout(Duration::from_secs(5)).connect().await?;
    let reply = HealthClient::new(channel).check(HealthCheckRequest { service: String::new() }).await?;
    let status = reply.into_inner().status();
    println!("{}", status.as_str_name());
    Ok(if status == ServingStatus::Serving { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
