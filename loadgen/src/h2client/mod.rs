//! Unary gRPC calls on a bare HTTP/2 connection of the generator's own: the few parts of HTTP/2
//! a unary client needs, and nothing per call that it can do once.
//!
//! The `h2` crate cost the generator 27,000 instructions per health call (callgrind), twice
//! h2load's: its stream state machine, an HPACK encoder hashing every request header, a
//! `HeaderMap` built and parsed per request and answer, and a dozen moves of large stream
//! structs per call. Here a request's header block is encoded once per method ([`Route`]), a
//! call appends its HEADERS and DATA frames to the connection's output buffer under one lock, and
//! one driver task per connection writes everything queued since its last turn in one write and
//! parses the answers' frames straight out of its read buffer, waking the caller of each finished
//! stream. Answers are counted, not decoded; the gRPC status is read from the trailers (or from
//! the headers of a trailers-only answer). Flow control, SETTINGS, PING, RST_STREAM and GOAWAY are
//! honoured; there is no server push (the client disables it), no priority and no reconnection.

mod driver;
mod frames;
mod state;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::Code;

use crate::AnyError;
use crate::hpack;
use driver::Driver;
use frames::*;
use state::{Answer, Slot, State, lock};

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

/// What every call of one method carries: its header block, encoded once.
pub struct Route {
    block: Vec<u8>,
}

impl Route {
    /// `path` like "/grpc.health.v1.Health/Check"; `metadata` (lower-case names) is sent with
    /// every call.
    pub fn new(target: &Target, path: &'static str, metadata: &[(&str, &[u8])]) -> Route {
        Route { block: hpack::request_block(target.tls.is_some(), &target.addr, path, metadata) }
    }
}

/// A call's failure: the gRPC code and message (transport failures count as UNAVAILABLE).
#[derive(Debug, Clone)]
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

    fn lost(why: &str) -> CallError {
        CallError { code: Code::Unavailable, message: why.to_owned(), connection_lost: true }
    }
}

/// The 5-byte gRPC prefix (uncompressed, length) followed by `message`.
pub fn frame(message: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(5 + message.len());
    out.push(0);
    out.extend_from_slice(&(message.len() as u32).to_be_bytes());
    out.extend_from_slice(message);
    Bytes::from(out)
}

/// A handle on one HTTP/2 connection; every worker that sends on it holds a clone.
pub struct Connection {
    state: Arc<Mutex<State>>,
}

impl Clone for Connection {
    fn clone(&self) -> Connection {
        Connection { state: self.state.clone() }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // The last handle (the driver holds the other reference): let the driver end.
        if Arc::strong_count(&self.state) == 2 {
            let mut st = lock(&self.state);
            st.closing = true;
            if let Some(w) = st.driver.take() {
                w.wake();
            }
        }
    }
}

/// Opens one HTTP/2 connection; its driver runs on a task of its own until every handle is dropped.
pub async fn connect(target: &Target) -> Result<Connection, AnyError> {
    let tcp = tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(&target.addr))
        .await
        .map_err(|_| format!("cannot connect to {}: timed out", target.addr))?
        .map_err(|e| format!("cannot connect to {}: {e}", target.addr))?;
    tcp.set_nodelay(true)?;
    match &target.tls {
        None => Ok(start(tcp)),
        Some((config, name)) => {
            let tls = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name.clone(), tcp)
                .await
                .map_err(|e| format!("TLS handshake with {} failed: {e}", target.addr))?;
            Ok(start(tls))
        }
    }
}

/// Queues the connection preface and the client's SETTINGS, and spawns the driver on `io`.
fn start<IO>(io: IO) -> Connection
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    put_frame_head(&mut out, 12, SETTINGS, 0, 0);
    for (id, value) in [(0x2u16, 0u32), (0x4, STREAM_WINDOW)] {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
    put_window_update(&mut out, 0, CONN_WINDOW - DEFAULT_WINDOW as u32);
    let state = Arc::new(Mutex::new(State {
        out,
        driver: None,
        closing: false,
        lost: None,
        next_id: 1,
        base: 1,
        streams: VecDeque::new(),
        open: 0,
        max_open: usize::MAX,
        waiting: Vec::new(),
        send_window: DEFAULT_WINDOW,
        initial_send_window: DEFAULT_WINDOW,
        max_frame: DEFAULT_MAX_FRAME,
        blocked: VecDeque::new(),
        unacked: 0,
    }));
    tokio::spawn(Driver::new(io, state.clone()).run());
    Connection { state }
}

/// Sends one pre-framed unary request and waits for its status; returns the answer's size.
pub async fn unary(conn: &mut Connection, route: &Route, framed: Bytes) -> Result<usize, CallError> {
    let mut framed = Some(framed);
    let id = poll_fn(|cx| conn.open_stream(cx, route, &mut framed)).await?;
    poll_fn(|cx| conn.poll_answer(cx, id)).await
}

impl Connection {
    /// Opens a stream (once one is free under the server's limit) and queues the request.
    fn open_stream(
        &self,
        cx: &mut Context<'_>,
        route: &Route,
        body: &mut Option<Bytes>,
    ) -> Poll<Result<u32, CallError>> {
        let mut st = lock(&self.state);
        if let Some(why) = &st.lost {
            return Poll::Ready(Err(CallError::lost(why)));
        }
        if st.open >= st.max_open {
            st.waiting.push(cx.waker().clone());
            return Poll::Pending;
        }
        if st.next_id > MAX_STREAM_ID {
            st.fail("stream ids exhausted".to_owned());
            return Poll::Ready(Err(CallError::lost("stream ids exhausted")));
        }
        let id = st.next_id;
        st.next_id += 2;
        st.open += 1;
        if st.streams.is_empty() {
            st.base = id;
        }
        let send_window = st.initial_send_window;
        st.streams.push_back(Slot {
            answer: Answer::Open { headers_seen: false, size: 0 },
            waker: None,
            unsent: None,
            send_window,
            unacked: 0,
        });
        let was_empty = st.out.is_empty();
        put_frame_head(&mut st.out, route.block.len(), HEADERS, END_HEADERS, id);
        st.out.extend_from_slice(&route.block);
        st.send_body(id, body.take().unwrap_or_default(), 0);
        st.wake_driver_if(was_empty);
        Poll::Ready(Ok(id))
    }

    fn poll_answer(&self, cx: &mut Context<'_>, id: u32) -> Poll<Result<usize, CallError>> {
        let mut st = lock(&self.state);
        let Some(slot) = st.slot(id) else {
            return Poll::Ready(Err(CallError::lost("stream forgotten")));
        };
        match std::mem::replace(&mut slot.answer, Answer::Taken) {
            Answer::Done(result) => {
                st.trim();
                Poll::Ready(result)
            }
            open => {
                slot.answer = open;
                if !slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    slot.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}
