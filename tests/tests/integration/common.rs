//! The test harness: a real onshi server on 127.0.0.1:0 with a real RocksDB in a temporary
//! directory and certificates made for the test, started through the same boot path as the
//! `serve` command, and real gRPC clients over mutual TLS.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use onshi_domain::date::Date;
use onshi_domain::population::Population;
use onshi_proto::v1::qualification_service_client::QualificationServiceClient;
use onshi_server::boot::boot;
use onshi_server::clock::Clock;
use onshi_server::demo;
use onshi_server::pki::{self, PkiPaths};
use onshi_server::service::App;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

/// Population size of the test store: several blocks' worth would slow every test; a few
/// thousand people exercise the same paths.
pub const PERSONS: u64 = 3_000;

pub const CLINIC: &str = "1312345679";
pub const DENTAL: &str = "1332345675";
pub const PHARMACY: &str = "1342345673";
pub const SUSPENDED: &str = "1319999999";
pub const UNLISTED: &str = "2712345673";

pub struct TestServer {
    pub addr: SocketAddr,
    /// The admin listener (plaintext, loopback).
    pub admin_addr: SocketAddr,
    /// The server TLS configuration, to start more listeners in a test.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub dir: TempDir,
    pub pki: PkiPaths,
    pub app: App,
    pub clock: Arc<Clock>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server with the demo facilities on the allow-list.
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// Starts a server after `adjust` changed its configuration.
    pub async fn start_with(adjust: impl FnOnce(&mut onshi_server::config::Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::start_in_with(dir, adjust).await
    }

    /// Stops the server, waits until its store is closed, and hands back its directory.
    /// Connection and stream tasks that hyper spawned may still be dropping their clones of the
    /// app on another worker thread, so this waits (bounded) until the last reference is gone.
    pub async fn stop_keeping_dir(mut self) -> TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
        let TestServer { dir, app, .. } = self;
        let handle = Arc::downgrade(&app.store);
        let store = Arc::downgrade(&app.store.get());
        drop(app);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while handle.strong_count() > 0 || store.strong_count() > 0 {
            assert!(std::time::Instant::now() < deadline, "the stopped server still holds its store after 10 s");
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        dir
    }

    /// Stops the server and starts a new one on the same store and certificates.
    pub async fn restart(self) -> TestServer {
        let dir = self.stop_keeping_dir().await;
        Self::start_in(dir).await
    }

    async fn start_in(dir: TempDir) -> TestServer {
        Self::start_in_with(dir, |_| {}).await
    }

    async fn start_in_with(dir: TempDir, adjust: impl FnOnce(&mut onshi_server::config::Config)) -> TestServer {
        let facilities: Vec<(&str, &str)> = demo::DEMO_FACILITIES.iter().map(|f| (f.code, f.name)).collect();
        let (pki, _) = pki::ensure(&dir.path().join("pki"), &facilities).expect("dev PKI");
        let mut config = demo::demo_config(dir.path(), PERSONS, "127.0.0.1:0".parse().expect("addr"));
        adjust(&mut config);
        let clock = Arc::new(Clock::system());
        let booted = boot(&config, clock.clone(), |_| {}).expect("boot");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let admin_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let admin_addr = admin_listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let app = booted.app.clone();
        let tls = booted.tls.clone();
        let task = tokio::spawn(async move {
            let (stop_admin, admin_stopped) = oneshot::channel::<()>();
            let admin =
                tokio::spawn(onshi_server::server::run_admin(admin_listener, booted.app.clone(), None, async {
                    let _ = admin_stopped.await;
                }));
            onshi_server::run(listener, booted.app, booted.tls, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
            let _ = stop_admin.send(());
            admin.await.expect("admin task").expect("admin server runs");
        });
        TestServer { addr, admin_addr, tls, dir, pki, app, clock, shutdown: Some(tx), task: Some(task) }
    }

    /// The population the server was seeded with.
    pub fn population(&self) -> Population {
        Population::new(SEED_OF_DEMO, self.as_of())
    }

    /// The population's reference date (the day the test store was seeded).
    pub fn as_of(&self) -> Date {
        let meta = self.app.store.get().population().expect("store").expect("seeded");
        meta.as_of_date().expect("date")
    }

    fn read(&self, path: std::path::PathBuf) -> Vec<u8> {
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// A TLS channel presenting `identity` (cert PEM, key PEM), trusting `ca_pem`.
    pub async fn channel_with(
        &self,
        ca_pem: Vec<u8>,
        identity: Option<(Vec<u8>, Vec<u8>)>,
    ) -> Result<Channel, tonic::transport::Error> {
        let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem)).domain_name("localhost");
        if let Some((cert, key)) = identity {
            tls = tls.identity(Identity::from_pem(cert, key));
        }
        Channel::from_shared(format!("https://127.0.0.1:{}", self.addr.port()))
            .expect("uri")
            .tls_config(tls)?
            .connect()
            .await
    }

    /// A channel for the facility whose certificate the dev PKI issued.
    pub async fn channel(&self, facility: &str) -> Channel {
        let identity = (self.read(self.pki.facility_cert(facility)), self.read(self.pki.facility_key(facility)));
        self.channel_with(self.read(self.pki.ca()), Some(identity)).await.expect("connect")
    }

    /// A client of the admin API (plaintext, loopback).
    pub async fn admin(&self) -> onshi_proto::v1::admin_service_client::AdminServiceClient<Channel> {
        let channel =
            Channel::from_shared(format!("http://{}", self.admin_addr)).expect("uri").connect().await.expect("connect");
        onshi_proto::v1::admin_service_client::AdminServiceClient::new(channel)
    }

    pub async fn qualification(&self, facility: &str) -> QualificationServiceClient<Channel> {
        QualificationServiceClient::new(self.channel(facility).await)
    }

    pub fn ca_pem(&self) -> Vec<u8> {
        self.read(self.pki.ca())
    }

    /// Moves the server's clock forward.
    pub fn advance_clock(&self, secs: i64) {
        self.clock.advance(secs);
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
    }
}

/// The seed `demo_config` uses (the config default).
pub const SEED_OF_DEMO: u64 = 1;

/// The google.rpc details of a status.
pub fn bad_request_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

pub fn error_reason(status: &tonic::Status) -> Option<String> {
    use tonic_types::StatusExt;
    status.get_details_error_info().map(|i| i.reason)
}

/// A ConfirmByCard request for `serial` with the given consent flags set to "1".
pub fn card_with_consents(serial: &str, consents: &[&str]) -> onshi_proto::v1::ConfirmByCardRequest {
    let mut r = onshi_proto::v1::CardReaderInfo {
        certificate_serial_number: serial.to_owned(),
        verification_method: "1".to_owned(),
        ..Default::default()
    };
    for c in consents {
        match *c {
            "pharmacists" => r.pharmacists_info_cons_flg = "1".into(),
            "checkups" => r.specific_health_checkups_info_cons_flg = "1".into(),
            "limit" => r.limit_application_certificate_related_cons_flg = "1".into(),
            "diseases" => r.specific_diseases_certificate_related_cons_flg = "1".into(),
            other => panic!("unknown consent {other}"),
        }
    }
    onshi_proto::v1::ConfirmByCardRequest { message_header: None, card_reader_info: Some(r) }
}

/// The insured numbers of the scenario person "valid" (山田 太郎, card A…01).
pub fn valid_person_search() -> onshi_proto::v1::QualificationConfirmSearchInfo {
    onshi_proto::v1::QualificationConfirmSearchInfo {
        insurer_number: "01130012".into(),
        insured_card_symbol: "90000001".into(),
        insured_identification_number: "1".into(),
        insured_branch_number: "00".into(),
        birthdate: "19800115".into(),
        ..Default::default()
    }
}

pub fn patient(s: &onshi_proto::v1::QualificationConfirmSearchInfo) -> onshi_proto::v1::PatientSearchInfo {
    onshi_proto::v1::PatientSearchInfo {
        insurer_number: s.insurer_number.clone(),
        insured_card_symbol: s.insured_card_symbol.clone(),
        insured_identification_number: s.insured_identification_number.clone(),
        insured_branch_number: s.insured_branch_number.clone(),
        birthdate: s.birthdate.clone(),
    }
}

pub const VALID_SERIAL: &str = "A0000000000000000001";
