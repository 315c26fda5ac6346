//! A raw HTTP/2 client over mutual TLS, for the tests that must send what tonic never would: a
//! body in slow pieces, a length prefix that lies, headers only.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::common::TestServer;

/// A TLS client configuration presenting `facility`'s certificate.
pub fn tls(server: &TestServer, facility: &str) -> Arc<rustls::ClientConfig> {
    let read = |p: std::path::PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&read(server.pki.ca())) {
        roots.add(cert.expect("CA")).expect("root");
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&read(server.pki.facility_cert(facility)))
        .collect::<Result<_, _>>()
        .expect("cert");
    let key = PrivateKeyDer::from_pem_slice(&read(server.pki.facility_key(facility))).expect("key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("client auth");
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

/// An HTTP/2 connection as `facility`; the connection task runs until the handle is dropped.
/// Also returns the connection's view of the server's SETTINGS (max concurrent streams).
pub async fn connect(server: &TestServer, facility: &str) -> SendRequest<Bytes> {
    connect_with_settings(server, facility).await.0
}

pub async fn connect_with_settings(
    server: &TestServer,
    facility: &str,
) -> (SendRequest<Bytes>, tokio::sync::watch::Receiver<usize>) {
    let tcp = tokio::net::TcpStream::connect(server.addr).await.expect("tcp");
    let tls = tokio_rustls::TlsConnector::from(tls(server, facility))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS handshake");
    let (send, mut connection) = h2::client::Builder::new().handshake::<_, Bytes>(tls).await.expect("h2 handshake");
    let (tx, rx) = tokio::sync::watch::channel(usize::MAX);
    tokio::spawn(async move {
        let mut settings = tokio::time::interval(Duration::from_millis(10));
        loop {
            tokio::select! {
                r = &mut connection => { let _ = r; return; }
                _ = settings.tick() => { let _ = tx.send(connection.max_concurrent_send_streams()); }
            }
        }
    });
    (send, rx)
}

/// A gRPC POST to `path` (the body follows on the returned stream).
pub fn grpc_request(server: &TestServer, path: &str) -> http::Request<()> {
    http::Request::builder()
        .method("POST")
        .uri(format!("https://localhost:{}{path}", server.addr.port()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("request")
}

/// `message` with its gRPC length prefix.
pub fn framed(message: &[u8]) -> Bytes {
    let mut out = vec![0u8];
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    Bytes::from(out)
}

/// The grpc-status of a response: from its headers (trailers-only) or its trailers. Bounded.
pub async fn grpc_status(response: h2::client::ResponseFuture) -> Result<(i32, String), String> {
    tokio::time::timeout(Duration::from_secs(10), async move {
        let response = response.await.map_err(|e| format!("response: {e}"))?;
        let read = |h: &http::HeaderMap| {
            h.get("grpc-status")
                .and_then(|v| v.to_str().ok()?.parse::<i32>().ok())
                .map(|code| (code, h.get("grpc-message").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()))
        };
        if let Some(s) = read(response.headers()) {
            return Ok(s);
        }
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.map_err(|e| format!("body: {e}"))?;
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        let trailers = body.trailers().await.map_err(|e| format!("trailers: {e}"))?.unwrap_or_default();
        read(&trailers).ok_or_else(|| "no grpc-status".to_owned())
    })
    .await
    .map_err(|_| "no answer within 10 s".to_owned())?
}
