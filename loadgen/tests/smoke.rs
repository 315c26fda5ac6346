//! A smoke run of the `onshi-loadgen` binary against a real onshi server (mutual TLS, RocksDB in
//! a temporary directory, the demo PKI): every workload gets answers, the JSON report carries
//! the documented fields, and the generator refuses what it must refuse. Counts, not timings:
//! how fast anything went belongs in `./dev bench-suite`.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use onshi_server::clock::Clock;
use onshi_server::demo;
use onshi_server::pki::{self, PkiPaths};

const LOADGEN: &str = env!("CARGO_BIN_EXE_onshi-loadgen");
const CLINIC: &str = "1312345679";
const PERSONS: u64 = 2_000;

/// A demo-configured server on 127.0.0.1:0, started as `onshi-server serve` starts one.
struct Server {
    addr: std::net::SocketAddr,
    pki: PkiPaths,
    running: onshi_server::running::Running,
}

async fn server(dir: &Path) -> Server {
    let facilities: Vec<(&str, &str)> = demo::DEMO_FACILITIES.iter().map(|f| (f.code, f.name)).collect();
    let (pki, _) = pki::ensure(&dir.join("pki"), &facilities).expect("dev PKI");
    let mut config = demo::demo_config(dir, PERSONS, "127.0.0.1:0".parse().expect("addr"));
    config.admin.listen = "127.0.0.1:0".parse().expect("addr");
    let mut running = onshi_server::running::start(&config, Arc::new(Clock::system()), |_| {}).await.expect("start");
    running.seeded().await.expect("seeded");
    Server { addr: running.addr, pki, running }
}

fn tls_args(addr: std::net::SocketAddr, pki: &PkiPaths) -> Vec<String> {
    vec![
        "--target".into(),
        addr.to_string(),
        "--cacert".into(),
        pki.ca().display().to_string(),
        "--cert".into(),
        pki.facility_cert(CLINIC).display().to_string(),
        "--key".into(),
        pki.facility_key(CLINIC).display().to_string(),
        "--persons".into(),
        PERSONS.to_string(),
        "--quiet".into(),
    ]
}

/// Runs the generator to completion off the async runtime (the server runs on it).
async fn loadgen(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || Command::new(LOADGEN).args(&args).output().expect("run onshi-loadgen"))
        .await
        .expect("join")
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("JSON report")).expect("valid JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workload_is_answered_and_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Server { addr, pki, running: _running } = server(dir.path()).await;
    let json = dir.path().join("closed.json");
    let mut args = tls_args(addr, &pki);
    for a in [
        "--mix",
        "health=1,card=1,insured=1,miss=1,medication=1,checkup=1,bulk=1,stream=1",
        "-c",
        "16",
        "--connections",
        "2",
        "--batch",
        "4",
        "--bulk-size",
        "10",
        "--pool",
        "40",
        "-n",
        "600",
        "-z",
        "0",
        "--warmup",
        "0",
    ] {
        args.push(a.into());
    }
    args.extend(["--json".into(), json.display().to_string()]);
    let out = loadgen(args).await;
    assert!(out.status.success(), "onshi-loadgen failed: {}", String::from_utf8_lossy(&out.stderr));
    let r = report(&json);
    assert_eq!(r["errors"], 0, "errors by code: {}", r["errors_by_code"]);
    assert_eq!(r["mode"], "closed");
    assert!(r["requests"].as_u64().expect("requests") >= 600, "stopped at -n: {r}");
    for workload in ["health", "card", "insured", "miss", "medication", "checkup", "bulk", "stream"] {
        assert!(r["by_workload"][workload].as_u64().unwrap_or(0) > 0, "{workload} was answered: {r}");
    }
    for field in ["p50", "p90", "p99", "p999", "max"] {
        assert!(r["latency_us"][field].as_u64().expect("latency field") > 0, "{field}: {r}");
    }
    assert!(r["latency_us"]["p50"].as_u64() <= r["latency_us"]["max"].as_u64());
    // The table goes to stdout.
    assert!(String::from_utf8_lossy(&out.stdout).contains("throughput"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_reports_its_offered_rate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Server { addr, pki, running: _running } = server(dir.path()).await;
    let json = dir.path().join("open.json");
    let csv = dir.path().join("open.csv");
    let mut args = tls_args(addr, &pki);
    for a in ["--mix", "card", "--rps", "500", "-n", "100", "-z", "0", "--warmup", "0", "-c", "8", "--pool", "50"] {
        args.push(a.into());
    }
    args.extend(["--json".into(), json.display().to_string()]);
    args.extend(["--histogram-out".into(), csv.display().to_string()]);
    let out = loadgen(args).await;
    assert!(out.status.success(), "onshi-loadgen failed: {}", String::from_utf8_lossy(&out.stderr));
    let r = report(&json);
    assert_eq!(r["mode"], "open");
    assert_eq!(r["offered_rps"], 500.0);
    assert_eq!(r["errors"], 0, "errors by code: {}", r["errors_by_code"]);
    // -n counts slots in open loop: each was answered or counted as not sent.
    let answered = r["requests"].as_u64().expect("requests");
    let not_sent = r["not_sent"].as_u64().expect("not_sent");
    assert_eq!(answered + not_sent, 100, "{r}");
    // The generator's own lateness is reported apart from the latency it is part of.
    for field in ["send_lateness_us", "from_send_us"] {
        assert!(r[field]["max"].as_u64().is_some(), "{field}: {r}");
    }
    // --histogram-out: percentile → µs for each histogram, percentiles rising to 100.
    let csv = std::fs::read_to_string(&csv).expect("histogram CSV");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("percentile,latency_us,send_lateness_us,from_send_us"));
    let rows: Vec<Vec<f64>> = lines.map(|l| l.split(',').map(|v| v.parse().expect("a number")).collect()).collect();
    assert!(rows.len() > 10 && rows.iter().all(|r| r.len() == 4), "{csv}");
    assert!(rows.windows(2).all(|w| w[0][0] < w[1][0] && w[0][1] <= w[1][1]), "{csv}");
    assert_eq!(rows.last().map(|r| r[0]), Some(100.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_and_remote_targets_fail() {
    // A port nobody listens on: bind one, note it, close it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let out = loadgen(vec![
        "--target".into(),
        closed.to_string(),
        "--plaintext".into(),
        "--facility".into(),
        CLINIC.into(),
        "-n".into(),
        "10".into(),
    ])
    .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot connect"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out =
        loadgen(vec!["--target".into(), "192.0.2.1:50051".into(), "--plaintext".into(), "-n".into(), "10".into()])
            .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_goes_away_ends_the_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = server(dir.path()).await;
    let json = dir.path().join("gone.json");
    let mut args = tls_args(server.addr, &server.pki);
    // Far longer than the test: the run must end because its connections are gone.
    for a in ["--mix", "card", "-z", "600", "--warmup", "0", "-c", "8", "--connections", "2", "--pool", "50"] {
        args.push(a.into());
    }
    args.extend(["--json".into(), json.display().to_string()]);
    let mut child = Command::new(LOADGEN).args(&args).spawn().expect("start onshi-loadgen");
    // Wait until calls arrive (the journal records them), then stop the server.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while server.running.app.journal.bytes() == 0 {
        assert!(std::time::Instant::now() < deadline, "no call reached the server");
        assert!(child.try_wait().expect("poll").is_none(), "onshi-loadgen ended before calling");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    server.running.stop().await.expect("server stopped cleanly, its store closed");
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll") {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            panic!("onshi-loadgen kept running after its server went away");
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert!(status.success(), "answers were counted before the server left, so the run succeeded");
    let r = report(&json);
    assert!(r["requests"].as_u64().expect("requests") > 0, "{r}");
}
