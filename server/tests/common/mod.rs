//! What the process tests share: a real `onshi-server serve` process with the demo's PKI and
//! configuration in a temporary directory, killed when dropped, and clients of it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use onshi_proto::v1::qualification_service_client::QualificationServiceClient;
use onshi_server::config::Config;
use onshi_server::demo;
use onshi_server::pki;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

pub const CLINIC: &str = "1312345679";

/// A server process that is killed when dropped, so a failing test never leaves it running.
pub struct Server(pub Option<Child>);

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
pub fn start(config: &Path) -> (Server, SocketAddr) {
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
                    // Text or JSON logs: the address runs up to the first character that is not one.
                    let addr: String = addr
                        .chars()
                        .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'))
                        .collect();
                    let _ = tx.send(Ok(addr));
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
pub async fn wait_until_serving(channel: Channel) {
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

pub async fn client(dir: &Path, addr: SocketAddr) -> QualificationServiceClient<Channel> {
    client_as(dir, addr, CLINIC).await
}

/// A client presenting `facility`'s certificate, once the server serves.
pub async fn client_as(dir: &Path, addr: SocketAddr, facility: &str) -> QualificationServiceClient<Channel> {
    let pki = dir.join("pki");
    let read = |name: String| std::fs::read(pki.join(name)).expect("PKI file");
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read("ca.pem".into())))
        .identity(Identity::from_pem(read(format!("{facility}.pem")), read(format!("{facility}.key"))))
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
pub fn demo_config_in(dir: &Path, persons: u64) -> (Config, PathBuf) {
    let facilities: Vec<(&str, &str)> = demo::DEMO_FACILITIES.iter().map(|f| (f.code, f.name)).collect();
    pki::ensure(&dir.join("pki"), &facilities).expect("PKI");
    let mut config: Config = demo::demo_config(dir, persons, "127.0.0.1:0".parse().expect("addr"));
    config.population.persons = persons;
    config.admin.listen = "127.0.0.1:0".parse().expect("addr");
    let path = dir.join("onshi.toml");
    std::fs::write(&path, toml::to_string(&config).expect("config TOML")).expect("write config");
    (config, path)
}

pub fn kill9(mut server: Server) {
    if let Some(mut child) = server.0.take() {
        child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
        child.wait().expect("reaped");
    }
}
