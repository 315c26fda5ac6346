//! `onshi-stress`: the concurrency stress workload of `onshi_tests::stress` against a real
//! `onshi-server serve` process, killed with SIGKILL at a random moment of every cycle and
//! restarted; after each restart every write acknowledged in any cycle so far must be there,
//! unique and intact. Not run in CI (`./dev stress --cycles 20`); the CI test runs the same
//! workload without the kill.
//!
//! Each cycle: start the server (it seeds on the first start), wait until it serves, run every
//! writer for a random 0.5–3 s, SIGKILL the server at a random moment inside that time, restart
//! it, check. The servers it starts listen on 127.0.0.1 only and stop by themselves after ten
//! minutes at the latest; a server is killed when this command exits.
//!
//! Every write asked and acknowledged is appended to `DIR/expected-state.jsonl` as it happens
//! (RocksDB's crash test keeps its expected state the same way); the check after each restart
//! reads back what that file says.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use clap::Parser;
use onshi_domain::date::JstDateTime;
use onshi_server::demo;
use onshi_server::pki;
use onshi_tests::stress::{self, Ledger, Mode, Target, Workload};

#[derive(Debug, Parser)]
#[command(about = "Concurrent writers, kill -9 at a random moment, restart, and check every acknowledged write")]
struct Args {
    /// How many kill-restart cycles.
    #[arg(long, default_value_t = 5)]
    cycles: u32,
    /// Population size of the store.
    #[arg(long, default_value_t = 3_000)]
    persons: u64,
    /// The onshi-server binary (default: beside this one).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Seed of the random run lengths and kill moments (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Keep the data directory here instead of a temporary one.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// A server process, killed when dropped.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Server {
    fn kill9(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill(); // SIGKILL on Unix
            let _ = child.wait();
        }
    }
}

/// Starts `serve` and waits (bounded) for the lines saying where both listeners are.
fn start(bin: &Path, config: &Path) -> Result<(Server, SocketAddr, SocketAddr), String> {
    let mut child = Command::new(bin)
        .args(["serve", "--duration", "600", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut facility, mut admin) = (None, None);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(a) = line.split("serving on ").nth(1) {
                facility = a.trim().parse::<SocketAddr>().ok();
            }
            if let Some(a) = line.split("admin API on ").nth(1) {
                admin = a.trim().parse::<SocketAddr>().ok();
            }
            if let (Some(f), Some(a)) = (facility, admin) {
                let _ = tx.send((f, a));
                facility = None;
            }
        }
    });
    let server = Server(Some(child));
    let (facility, admin) =
        rx.recv_timeout(Duration::from_secs(60)).map_err(|_| "the server did not say where it listens")?;
    Ok((server, facility, admin))
}

/// Waits (bounded) until health says SERVING: the first start seeds before it serves.
async fn wait_until_serving(target: &Target) -> Result<(), String> {
    let channel = target.facility(stress::FACILITIES[0]).await?;
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for _ in 0..1200 {
        let reply = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await;
        if reply
            .is_ok_and(|r| r.into_inner().status() == tonic_health::pb::health_check_response::ServingStatus::Serving)
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("the server did not become SERVING within two minutes".into())
}

fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    onshi_domain::population::mix64(*state)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("onshi-stress: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let bin = match args.server_bin {
        Some(b) => b,
        None => std::env::current_exe().map_err(|e| e.to_string())?.with_file_name("onshi-server"),
    };
    let temp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = args.dir.clone().unwrap_or_else(|| temp.path().to_owned());
    let facilities: Vec<(&str, &str)> = demo::DEMO_FACILITIES.iter().map(|f| (f.code, f.name)).collect();
    pki::ensure(&dir.join("pki"), &facilities).map_err(|e| e.to_string())?;
    let mut config = demo::demo_config(&dir, args.persons, "127.0.0.1:0".parse().map_err(|_| "addr")?);
    config.admin.listen = "127.0.0.1:0".parse().map_err(|_| "addr")?;
    config.bulk_processing_seconds = 0;
    config.limits.max_queue_ms = 0;
    config.journal.enabled = false;
    let config_path = dir.join("onshi.toml");
    std::fs::write(&config_path, toml::to_string(&config).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;

    let mut rng = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    println!("onshi-stress: {} cycles, {} persons, seed {rng}, data in {}", args.cycles, args.persons, dir.display());
    let today = JstDateTime::from_unix_seconds(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64),
    )
    .ok_or("the system clock is out of range")?
    .date();
    // Every write asked and acknowledged goes to this file as it happens; after each restart the
    // check reads back what the file says, not what this process remembers.
    let expected = dir.join("expected-state.jsonl");
    let _ = std::fs::remove_file(&expected);
    let mut acknowledged_here = 0;
    /// Entries of each kind from earlier cycles checked again after each restart.
    const OLDER_SAMPLE: usize = 300;
    for cycle in 1..=args.cycles {
        let (mut server, addr, admin_addr) = start(&bin, &config_path)?;
        let target = Target {
            addr,
            admin_addr,
            pki_dir: dir.join("pki"),
            seed: config.population.seed,
            persons: args.persons,
            as_of: today,
        };
        wait_until_serving(&target).await?;
        let run_ms = 500 + next(&mut rng) % 2_500;
        let kill_ms = next(&mut rng) % run_ms;
        let salt = u64::from(cycle) * 1_000 + next(&mut rng) % 1_000;
        let workload = Workload { duration: Duration::from_millis(run_ms), salt, mode: Mode::Crash };
        let t = target.clone();
        let file = expected.clone();
        let writers = tokio::spawn(async move { stress::run_recording(&t, workload, Some(&file)).await });
        tokio::time::sleep(Duration::from_millis(kill_ms)).await;
        server.kill9();
        let this = writers.await.map_err(|e| format!("writers: {e}"))??;
        let acknowledged = this.acknowledged;
        acknowledged_here += acknowledged;
        let ledger = Ledger::replay(&expected)?;
        if ledger.acknowledged != acknowledged_here {
            return Err(format!(
                "the expected-state file holds {} acknowledgements, the writers saw {acknowledged_here}",
                ledger.acknowledged
            ));
        }

        let (server, addr, admin_addr) = start(&bin, &config_path)?;
        let target = Target { addr, admin_addr, ..target };
        wait_until_serving(&target).await?;
        // This cycle's writes all, and a fresh sample of the earlier ones: checking everything
        // every cycle would grow quadratically over a long loop.
        let checked = ledger.sample(&this, OLDER_SAMPLE, salt);
        let mut problems = ledger.duplicates();
        problems.extend(stress::verify(&target, &checked).await?);
        drop(server);
        println!(
            "cycle {cycle}: killed after {kill_ms} of {run_ms} ms; {acknowledged} writes acknowledged in it, {} in all; {}",
            ledger.acknowledged,
            if problems.is_empty() { "all there".to_owned() } else { format!("{} PROBLEMS", problems.len()) }
        );
        if !problems.is_empty() {
            for p in problems.iter().take(40) {
                println!("  {p}");
            }
            return Err(format!("cycle {cycle}: acknowledged writes are wrong or missing"));
        }
    }
    println!("onshi-stress: {} cycles, {acknowledged_here} acknowledged writes, none lost", args.cycles);
    Ok(())
}
