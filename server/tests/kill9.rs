//! The `onshi-server serve` process: an acknowledged write survives kill -9 (consents recorded
//! by ConfirmByCard are still in the store after SIGKILL, and the restarted server opens the
//! recovered store and serves), and SIGTERM stops it in order, with a client still connected.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use onshi_domain::codes::ConsentKind;
use onshi_domain::ids::{CheckDigits, MedicalInstitutionCode};
use onshi_domain::population::SCENARIO_ID_BASE;
use onshi_domain::qualification::PersonId;
use onshi_proto::v1::qualification_service_client::QualificationServiceClient;
use onshi_proto::v1::{CardReaderInfo, ConfirmByCardRequest};
use onshi_server::config::Config;
use onshi_server::demo;
use onshi_server::pki;
use onshi_server::store::StoreHandle;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

const CLINIC: &str = "1312345679";

/// A server process that is killed when dropped, so a failing test never leaves it running.
struct Server(Option<Child>);

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `onshi-server serve` (which stops by itself after two minutes at the latest) and waits,
/// bounded, for the line that says where it listens.
fn start(config: &Path) -> (Server, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_onshi-server"))
        .args(["serve", "--duration", "120", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn onshi-server");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            match line.split("serving on ").nth(1) {
                Some(addr) => {
                    let _ = tx.send(Ok(addr.trim().to_owned()));
                }
                None => seen.push(line),
            }
        }
        // The server exited without saying where it listens: pass on what it said instead.
        let _ = tx.send(Err(seen.join("\n")));
    });
    let server = Server(Some(child));
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(addr)) => (server, addr.parse().expect("socket address")),
        Ok(Err(output)) => panic!("onshi-server exited before serving:\n{output}"),
        Err(_) => panic!("onshi-server did not report its address within a minute"),
    }
}

/// Waits (bounded) until health says SERVING: the server seeds after it starts listening.
async fn wait_until_serving(channel: Channel) {
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    for _ in 0..600 {
        let reply = health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await;
        if reply
            .is_ok_and(|r| r.into_inner().status() == tonic_health::pb::health_check_response::ServingStatus::Serving)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not become SERVING within a minute");
}

async fn client(dir: &Path, addr: SocketAddr) -> QualificationServiceClient<Channel> {
    let pki = dir.join("pki");
    let read = |name: String| std::fs::read(pki.join(name)).expect("PKI file");
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read("ca.pem".into())))
        .identity(Identity::from_pem(read(format!("{CLINIC}.pem")), read(format!("{CLINIC}.key"))))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{addr}"))
        .expect("uri")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
        .expect("connect");
    wait_until_serving(channel.clone()).await;
    QualificationServiceClient::new(channel)
}

/// The demo's PKI and configuration in `dir` (both listeners on free ports), written to a file.
fn demo_config_in(dir: &Path, persons: u64) -> (Config, PathBuf) {
    let facilities: Vec<(&str, &str)> = demo::DEMO_FACILITIES.iter().map(|f| (f.code, f.name)).collect();
    pki::ensure(&dir.join("pki"), &facilities).expect("PKI");
    let mut config: Config = demo::demo_config(dir, persons, "127.0.0.1:0".parse().expect("addr"));
    config.population.persons = persons;
    config.admin.listen = "127.0.0.1:0".parse().expect("addr");
    let path = dir.join("onshi.toml");
    std::fs::write(&path, toml::to_string(&config).expect("config TOML")).expect("write config");
    (config, path)
}

fn kill9(mut server: Server) {
    if let Some(mut child) = server.0.take() {
        child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
        child.wait().expect("reaped");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consents_survive_sigkill_and_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, config_path) = demo_config_in(dir.path(), 500);

    let (child, addr) = start(&config_path);
    let mut c = client(dir.path(), addr).await;
    let reply = c
        .confirm_by_card(ConfirmByCardRequest {
            message_header: None,
            card_reader_info: Some(CardReaderInfo {
                certificate_serial_number: "A0000000000000000001".into(),
                verification_method: "2".into(),
                pharmacists_info_cons_flg: "1".into(),
                specific_health_checkups_info_cons_flg: "1".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("answered")
        .into_inner();
    let result = reply.message_body.expect("body").result_list.remove(0);
    assert_eq!(result.pharmacists_info_cons_flg, "1");
    let given = onshi_domain::date::JstDateTime::parse(&result.pharmacists_info_cons_time).expect("time");
    // The answer has arrived: the write is acknowledged. Kill the server without warning.
    drop(c);
    kill9(child);

    let facility = MedicalInstitutionCode::parse(CLINIC, CheckDigits::Strict).expect("code");
    let person = PersonId(SCENARIO_ID_BASE + 1);
    {
        let handle = StoreHandle::open(&config.data_dir, Default::default()).expect("store reopens after SIGKILL");
        let store = handle.get();
        let consent =
            store.consent(&facility, person, ConsentKind::Pharmacists).expect("read").expect("consent survived");
        assert_eq!(consent.given_at, given.unix_seconds());
        assert!(store.consent(&facility, person, ConsentKind::SpecificHealthCheckups).expect("read").is_some());
    }

    // The restarted server serves from the recovered store (and does not seed again).
    let (child, addr) = start(&config_path);
    let mut c = client(dir.path(), addr).await;
    let reply = c
        .confirm_by_card(ConfirmByCardRequest {
            message_header: None,
            card_reader_info: Some(CardReaderInfo {
                certificate_serial_number: "A0000000000000000001".into(),
                verification_method: "1".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("answered after restart")
        .into_inner();
    assert_eq!(reply.message_body.expect("body").qualification_validity, "1");
    drop(c);
    kill9(child);
    let handle = StoreHandle::open(&config.data_dir, Default::default()).expect("store");
    let store = handle.get();
    assert!(store.consent(&facility, person, ConsentKind::Pharmacists).expect("read").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, config_path) = demo_config_in(dir.path(), 300);

    let (mut server, addr) = start(&config_path);
    // A connected client that has made a call stays connected while the server is told to stop.
    let mut c = client(dir.path(), addr).await;
    let request = ConfirmByCardRequest {
        message_header: None,
        card_reader_info: Some(CardReaderInfo {
            certificate_serial_number: "A0000000000000000001".into(),
            verification_method: "1".into(),
            ..Default::default()
        }),
    };
    c.confirm_by_card(request.clone()).await.expect("answered");
    let mut child = server.0.take().expect("child");
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill -TERM");
    assert!(term.success());
    let mut status = None;
    for _ in 0..300 {
        if let Some(s) = child.try_wait().expect("wait") {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(status) = status else {
        let _ = child.kill();
        panic!("the server had not stopped 30 s after SIGTERM");
    };
    // Exit code 0: the server stopped itself rather than being killed by the signal.
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(c.confirm_by_card(request).await.is_err(), "nothing answers after the stop");
    // The store was closed: it opens again at once.
    StoreHandle::open(&config.data_dir, Default::default()).expect("store reopens after SIGTERM");
}
