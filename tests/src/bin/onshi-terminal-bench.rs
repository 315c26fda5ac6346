//! `onshi-terminal-bench`: how fast the terminal's folder exchange answers a burst of files.
//!
//! Starts a real server (in process, a RocksDB store in a temp dir, mutual TLS on 127.0.0.1:0)
//! and a real terminal on a temp folder, writes N single-check requests (Shift_JIS, population
//! people) into a staging folder on the same file system, renames them all into `req/` at once,
//! and watches `res/` with inotify for each answer's rename. Reports files/s (from the first
//! rename into `req/` to the last answer in `res/`) and the p50 / p99 / max time from a request's
//! rename to its answer's.
//!
//! `onshi-terminal-bench [--files 10000] [--persons 20000] [--json]`

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use notify::{EventKind, RecursiveMode, Watcher};
use onshi_domain::population::Population;
use onshi_server::clock::Clock;
use onshi_server::{demo, pki};
use onshi_terminal::{Config, Folders, TextEncoding, TlsFiles};

#[derive(Parser)]
struct Args {
    /// Requests dropped at once.
    #[arg(long, default_value_t = 10_000)]
    files: u64,
    /// Population size of the server's store.
    #[arg(long, default_value_t = 20_000)]
    persons: u64,
    /// Files the terminal handles at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Print one JSON line instead of the table.
    #[arg(long)]
    json: bool,
}

const CLINIC: &str = "1312345679";

fn request(keys: &onshi_domain::population::PersonKeys, i: u64) -> Vec<u8> {
    let k = &keys.current;
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"Shift_JIS\" standalone=\"no\"?>\r\n<XmlMsg><MessageHeader><QualificationConfirmationDate></QualificationConfirmationDate><MedicalInstitutionCode>{CLINIC}</MedicalInstitutionCode><ArbitraryFileIdentifier>負荷{i}</ArbitraryFileIdentifier></MessageHeader><MessageBody><QualificationConfirmSearchInfo><InsurerNumber>{}</InsurerNumber><InsuredCardSymbol>{}</InsuredCardSymbol><InsuredIdentificationNumber>{}</InsuredIdentificationNumber><InsuredBranchNumber>{}</InsuredBranchNumber><Birthdate>{}</Birthdate><LimitApplicationCertificateRelatedConsFlg>0</LimitApplicationCertificateRelatedConsFlg></QualificationConfirmSearchInfo></MessageBody></XmlMsg>\r\n",
        k.insurer_number.as_str(),
        k.symbol.as_str(),
        k.number.as_str(),
        k.branch.map(|b| b.as_str().to_owned()).unwrap_or_default(),
        keys.birthdate.yyyymmdd()
    );
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    bytes.into_owned()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let facilities: Vec<(&str, &str)> = demo::DEMO_FACILITIES.iter().map(|f| (f.code, f.name)).collect();
    let (pki, _) = pki::ensure(&dir.path().join("pki"), &facilities)?;
    let mut config = demo::demo_config(dir.path(), args.persons, "127.0.0.1:0".parse()?);
    config.admin.listen = "127.0.0.1:0".parse()?;
    let mut server = onshi_server::running::start(&config, Arc::new(Clock::system()), |_| {}).await?;
    server.seeded().await?;
    let addr = server.addr;
    let as_of = server.app.store.get().population()?.ok_or("not seeded")?.as_of_date().ok_or("no reference date")?;

    let root = dir.path().join("terminal");
    let tls = TlsFiles { cacert: pki.ca(), cert: pki.facility_cert(CLINIC), key: pki.facility_key(CLINIC) };
    let mut tconfig = Config::new(root.clone(), addr.to_string(), tls);
    tconfig.encoding = TextEncoding::ShiftJis;
    tconfig.concurrency = args.concurrency;
    let folders = Folders::under(&root);
    folders.create()?;
    let (stop_terminal, terminal_stopped) = tokio::sync::oneshot::channel::<()>();
    let stats = Arc::new(onshi_terminal::stats::Stats::default());
    let terminal = tokio::spawn(onshi_terminal::run(tconfig, stats.clone(), async {
        let _ = terminal_stopped.await;
    }));

    // Staged on the same file system, so the renames into req/ are what an EHR's are.
    let staging = dir.path().join("staging");
    std::fs::create_dir_all(&staging)?;
    let population = Population::new(config.population.seed, as_of);
    let names: Vec<String> = (0..args.files).map(|i| format!("OQSsiquc01req_{i:08}.xml")).collect();
    for (i, name) in names.iter().enumerate() {
        std::fs::write(staging.join(name), request(&population.keys(i as u64 % args.persons), i as u64))?;
    }

    let answered: Arc<Mutex<HashMap<String, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let seen = answered.clone();
    let mut watcher = notify::recommended_watcher(move |e: notify::Result<notify::Event>| {
        let Ok(e) = e else { return };
        if !matches!(e.kind, EventKind::Modify(notify::event::ModifyKind::Name(_))) {
            return;
        }
        let now = Instant::now();
        if let Ok(mut seen) = seen.lock() {
            for p in e.paths {
                if let Some(n) = p.file_name().and_then(|n| n.to_str())
                    && n.starts_with("OQSsiquc01res_")
                {
                    seen.entry(n.to_owned()).or_insert(now);
                }
            }
        }
    })?;
    watcher.watch(&folders.res, RecursiveMode::NonRecursive)?;
    // Let the terminal connect before the clock starts: one warm-up file.
    std::fs::write(folders.req.join("OQSsiquc01req_warmup.xml"), request(&population.keys(0), 0))?;
    let warm = Instant::now();
    while !answered.lock().map_err(|_| "lock")?.contains_key("OQSsiquc01res_warmup.xml") {
        if warm.elapsed() > Duration::from_secs(30) {
            return Err("the warm-up request was not answered in 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let mut renamed = Vec::with_capacity(names.len());
    let start = Instant::now();
    for name in &names {
        std::fs::rename(staging.join(name), folders.req.join(name))?;
        renamed.push(Instant::now());
    }
    let drop_time = start.elapsed();
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let n = answered.lock().map_err(|_| "lock")?.len() as u64;
        if n > args.files {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("only {} of {} answered in 300 s", n - 1, args.files).into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let seen = answered.lock().map_err(|_| "lock")?.clone();
    let mut latencies = Vec::with_capacity(names.len());
    let mut last = start;
    for (name, at) in names.iter().zip(&renamed) {
        let answer = name.replace("req_", "res_");
        let done = seen.get(&answer).copied().ok_or("an answer is missing")?;
        last = last.max(done);
        latencies.push(done.saturating_duration_since(*at));
    }
    latencies.sort();
    let elapsed = last - start;
    let rate = args.files as f64 / elapsed.as_secs_f64();
    let (p50, p99, max) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99), percentile(&latencies, 1.0));
    drop(watcher);
    let _ = stop_terminal.send(());
    terminal.await??;
    server.stop().await?;
    if args.json {
        println!(
            "{{\"files\":{},\"seconds\":{:.3},\"files_per_second\":{:.0},\"p50_ms\":{:.1},\"p99_ms\":{:.1},\"max_ms\":{:.1},\"drop_ms\":{:.1}}}",
            args.files,
            elapsed.as_secs_f64(),
            rate,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            drop_time.as_secs_f64() * 1e3
        );
    } else {
        println!("| files | seconds | files/s | p50 | p99 | max | renaming them into req/ took |");
        println!("|---|---|---|---|---|---|---|");
        println!(
            "| {} | {:.2} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
            args.files,
            elapsed.as_secs_f64(),
            rate,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            drop_time.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
