//! Unary gRPC calls on bare HTTP/2 (the `h2` crate), without tonic's `Channel`.
//!
//! A tonic `Channel` puts a tower buffer in front of hyper's client, so every call crosses two
//! task hops before its frames reach the socket; that cost the load generator about a quarter of
//! h2load's rate on the health RPC. Here a worker hands its request straight to the connection's
//! stream table and the connection task writes it: requests arrive pre-framed (the 5-byte gRPC
//! prefix included), answers are counted, not decoded, and the gRPC status is read from the
//! trailers (or from the headers of a trailers-only answer).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, TE};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderMap, Method, Request, Uri};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tonic::Code;

use crate::AnyError;

/// How to reach the server: plaintext, or mutual TLS with the facility's certificate.
pub struct Target {
    pub addr: String,
    pub tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
}

/// Mutual TLS as the facility: trusts `ca_pem`, presents `cert_pem`/`key_pem`, offers "h2".
pub fn tls_config(ca_pem: &[u8], cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<rustls::ClientConfig>, AnyError> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem) {
        roots.add(cert.map_err(|e| format!("--cacert: {e}"))?)?;
    }
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert_pem).collect::<Result<_, _>>().map_err(|e| format!("--cert: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("--key: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// Opens one HTTP/2 connection; its I/O runs on a task of its own until every handle is dropped.
pub async fn connect(target: &Target) -> Result<SendRequest<Bytes>, AnyError> {
    let tcp = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(&target.addr))
        .await
        .map_err(|_| format!("cannot connect to {}: timed out", target.addr))?
        .map_err(|e| format!("cannot connect to {}: {e}", target.addr))?;
    tcp.set_nodelay(true)?;
    let mut builder = h2::client::Builder::new();
    builder.initial_window_size(1 << 20).initial_connection_window_size(4 << 20);
    match &target.tls {
        None => start(builder, tcp).await,
        Some((config, name)) => {
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| format!("TLS handshake with {} failed: {e}", target.addr))?;
            start(builder, tls).await
        }
    }
}

/// The HTTP/2 handshake on `io`, and a task that drives the connection.
async fn start<IO>(builder: h2::client::Builder, io: IO) -> Result<SendRequest<Bytes>, AnyError>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = builder.handshake::<_, Bytes>(io).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// What every call of one method carries: its URI and the request headers.
#[derive(Clone)]
pub struct Route {
    uri: Uri,
    headers: HeaderMap,
}

impl Route {
    /// `path` like "/grpc.health.v1.Health/Check"; `metadata` is sent with every call.
    pub fn new(target: &Target, path: &'static str, metadata: &[(HeaderName, HeaderValue)]) -> Result<Self, AnyError> {
        let scheme = if target.tls.is_some() { Scheme::HTTPS } else { Scheme::HTTP };
        let uri = Uri::builder()
            .scheme(scheme)
            .authority(Authority::try_from(target.addr.as_str())?)
            .path_and_query(PathAndQuery::from_static(path))
            .build()?;
        let mut headers = HeaderMap::with_capacity(2 + metadata.len());
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(TE, HeaderValue::from_static("trailers"));
        for (k, v) in metadata {
            headers.insert(k.clone(), v.clone());
        }
        Ok(Route { uri, headers })
    }
}

/// A call's failure: the gRPC code and message (transport failures count as UNAVAILABLE).
#[derive(Debug)]
pub struct CallError {
    pub code: Code,
    pub message: String,
    /// The connection is gone (closed, reset, GOAWAY): no later call on it can succeed, and
    /// they would fail without ever waiting, so the caller must stop using it.
    pub connection_lost: bool,
}

impl CallError {
    fn status(code: Code, message: String) -> CallError {
        CallError { code, message, connection_lost: false }
    }
}

/// A transport failure; `h2` says whether it ended the connection or only this stream.
fn unavailable(e: h2::Error) -> CallError {
    let connection_lost = e.is_io() || e.is_go_away() || !(e.is_reset() || e.is_remote());
    CallError { code: Code::Unavailable, message: e.to_string(), connection_lost }
}

/// The 5-byte gRPC prefix (uncompressed, length) followed by `message`.
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(5 + message.len());
    out.push(0);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    Bytes::from(out)
}

/// The gRPC status in `headers` (trailers, or the headers of a trailers-only answer).
fn status_in(headers: &HeaderMap) -> Option<Result<(), CallError>> {
    let code = headers.get("grpc-status")?;
    let code = code.to_str().ok().and_then(|c| c.parse::<i32>().ok()).map_or(Code::Unknown, Code::from_i32);
    if code == Code::Ok {
        return Some(Ok(()));
    }
    let message = headers.get("grpc-message").and_then(|m| m.to_str().ok()).unwrap_or_default().to_owned();
    Some(Err(CallError::status(code, message)))
}

/// Sends one pre-framed unary request and waits for its status; returns the answer's size.
pub async fn unary(send: &mut SendRequest<Bytes>, method: &Route, framed: Bytes) -> Result<usize, CallError> {
    std::future::poll_fn(|cx| send.poll_ready(cx)).await.map_err(unavailable)?;
    let mut request = Request::new(());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = method.uri.clone();
    *request.headers_mut() = method.headers.clone();
    let (answer, mut body_out) = send.send_request(request, false).map_err(unavailable)?;
    body_out.send_data(framed, true).map_err(unavailable)?;
    let answer = answer.await.map_err(unavailable)?;
    if answer.status() != http::StatusCode::OK {
        return Err(CallError::status(Code::Unknown, format!("HTTP status {}", answer.status())));
    }
    let (parts, mut body) = answer.into_parts();
    if let Some(status) = status_in(&parts.headers) {
        return status.map(|()| 0);
    }
    let mut size = 0;
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(unavailable)?;
        size += chunk.len();
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let trailers = body.trailers().await.map_err(unavailable)?.unwrap_or_default();
    match status_in(&trailers) {
        Some(status) => status.map(|()| size),
        None => Err(CallError::status(Code::Unknown, "answer without grpc-status".to_owned())),
    }
}
