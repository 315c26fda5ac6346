//! The test harness: a real onshi server on 127.0.0.1:0 with a real RocksDB in a temporary
//! directory and certificates made for the test, started as the `serve` command starts one
//! (`onshi_server::running::start`), and real gRPC clients over mutual TLS.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use onshi_domain::date::Date;
use onshi_domain::population::Population;
use onshi_proto::v1::qualification_service_client::QualificationServiceClient;
use onshi_server::app::App;
use onshi_server::clock::Clock;
use onshi_server::demo;
use onshi_server::pki::{self, PkiPaths};
use onshi_server::running::Running;
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
    running: Option<Running>,
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

    /// Stops the server and hands back its directory once its store is closed
    /// ([`Running::stop`] waits for that).
    pub async fn stop_keeping_dir(self) -> TempDir {
        let TestServer { dir, app, running, .. } = self;
        drop(app);
        if let Some(running) = running {
            running.stop().await.expect("the server stops and closes its store");
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

    /// The same start as `onshi-server serve` ([`onshi_server::running::start`]), on
    /// 127.0.0.1:0, waiting until the store is seeded.
    async fn start_in_with(dir: TempDir, adjust: impl FnOnce(&mut onshi_server::config::Config)) -> TestServer {
        let facilities: Vec<(&str, &str)> = demo::DEMO_FACILITIES.iter().map(|f| (f.code, f.name)).collect();
        let (pki, _) = pki::ensure(&dir.path().join("pki"), &facilities).expect("dev PKI");
        let mut config = demo::demo_config(dir.path(), PERSONS, "127.0.0.1:0".parse().expect("addr"));
        config.admin.listen = "127.0.0.1:0".parse().expect("addr");
        adjust(&mut config);
        let clock = Arc::new(Clock::system());
        let mut running = onshi_server::running::start(&config, clock.clone(), |_| {}).await.expect("start");
        running.seeded().await.expect("seeded");
        TestServer {
            addr: running.addr,
            admin_addr: running.admin_addr.expect("the admin API listens"),
            tls: running.tls.clone(),
            dir,
            pki,
            app: running.app.clone(),
            clock,
            running: Some(running),
        }
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

    /// Stops the server's listeners and waits for them (the store closes when the last
    /// holder of the app lets go).
    pub async fn stop(self) {
        let TestServer { app, running, .. } = self;
        drop(app);
        if let Some(running) = running {
            running.stop_serving().await.expect("the server stops");
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

/// The page server (`/metrics` and the admin page) of a test server, on its own loopback port,
/// rendering `metrics` at `/metrics`; it stops when the returned sender is dropped or fired.
pub fn start_page(
    server: &TestServer,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let addr = listener.local_addr().expect("addr");
    let listener = TcpListener::from_std(listener).expect("tokio listener");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(onshi_server::web::serve(listener, server.app.clone(), metrics, true, async {
        let _ = rx.await;
    }));
    (addr, tx)
}

/// A tiny HTTP/1.1 client for the page server: one request per connection.
pub mod http {
    use std::net::SocketAddr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    #[derive(Debug)]
    pub struct Reply {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    impl Reply {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        }
    }

    /// `s` percent-encoded for a query string or a form body.
    pub fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    pub fn form(pairs: &[(&str, &str)]) -> String {
        pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
    }

    /// Sends `head` (request line and extra headers, without the blank line) and `body`.
    pub async fn request(addr: SocketAddr, method: &str, path: &str, extra: &[(&str, &str)], body: &str) -> Reply {
        let mut s = TcpStream::connect(addr).await.expect("connect to the page server");
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if method == "POST" {
            head.push_str(&format!(
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).await.expect("write head");
        s.write_all(body.as_bytes()).await.expect("write body");
        let mut raw = Vec::new();
        tokio::time::timeout(std::time::Duration::from_secs(20), s.read_to_end(&mut raw))
            .await
            .expect("answered within 20 s")
            .expect("read");
        parse(&raw)
    }

    fn parse(raw: &[u8]) -> Reply {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a head and a body");
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status =
            lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|c| c.parse().ok()).expect("a status line");
        let headers: Vec<(String, String)> =
            lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())).collect();
        let mut body = raw[split + 4..].to_vec();
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
        if chunked {
            body = dechunk(&body);
        }
        Reply { status, headers, body: String::from_utf8(body).expect("UTF-8 body") }
    }

    fn dechunk(mut b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).expect("chunk size");
            if size == 0 {
                break;
            }
            out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
            b = &b[eol + 2 + size + 2..];
        }
        out
    }

    pub async fn get(addr: SocketAddr, path: &str) -> Reply {
        request(addr, "GET", path, &[], "").await
    }

    pub async fn post(addr: SocketAddr, path: &str, pairs: &[(&str, &str)]) -> Reply {
        request(addr, "POST", path, &[], &form(pairs)).await
    }

    /// The hidden and other inputs (name, value) of the form with id `id` in `html`, values
    /// unescaped.
    pub fn form_inputs(html: &str, id: &str) -> Vec<(String, String)> {
        let start = html.find(&format!("<form id=\"{id}\"")).unwrap_or_else(|| panic!("no form {id}"));
        let end = start + html[start..].find("</form>").expect("the form ends");
        let mut inputs = Vec::new();
        let mut rest = &html[start..end];
        while let Some(i) = rest.find("<input ") {
            rest = &rest[i..];
            let tag = &rest[..rest.find('>').expect("the tag ends")];
            let attr = |name: &str| {
                tag.find(&format!(" {name}=\""))
                    .map(|p| &tag[p + name.len() + 3..])
                    .and_then(|v| v.split('"').next())
                    .map(unescape)
            };
            if let (Some(n), Some(v)) = (attr("name"), attr("value")) {
                inputs.push((n, v));
            }
            rest = &rest[1..];
        }
        inputs
    }

    pub fn unescape(s: &str) -> String {
        s.replace("&#34;", "\"").replace("&#39;", "'").replace("&#60;", "<").replace("&#62;", ">").replace("&#38;", "&")
    }
}
