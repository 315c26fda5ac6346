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

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::Code;

use crate::AnyError;
use crate::hpack;

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

// Frame types and flags (RFC 9113 §6).
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PUSH_PROMISE: u8 = 0x5;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// The receive windows the client offers: per stream (SETTINGS) and per connection.
const STREAM_WINDOW: u32 = 1 << 20;
const CONN_WINDOW: u32 = 4 << 20;
/// RFC 9113's initial windows and frame size, in force until the server's SETTINGS say otherwise.
const DEFAULT_WINDOW: i64 = 65_535;
const DEFAULT_MAX_FRAME: usize = 16_384;
const MAX_STREAM_ID: u32 = (1 << 31) - 1;

fn put_frame_head(out: &mut Vec<u8>, len: usize, kind: u8, flags: u8, stream: u32) {
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
}

fn put_window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    put_frame_head(out, 4, WINDOW_UPDATE, 0, stream);
    out.extend_from_slice(&increment.to_be_bytes());
}

/// One stream's progress.
enum Answer {
    /// Waiting for the answer's headers (`false`) or its trailers (`true`); bytes of DATA so far.
    Open {
        headers_seen: bool,
        size: usize,
    },
    Done(Result<usize, CallError>),
    /// The caller has its result (or gave up waiting).
    Taken,
}

struct Slot {
    answer: Answer,
    waker: Option<Waker>,
    /// The request body not yet sent for want of flow-control window, and from where.
    unsent: Option<(Bytes, usize)>,
    send_window: i64,
    /// DATA received on the stream not yet returned to the server with a WINDOW_UPDATE.
    unacked: u32,
}

/// A connection's state, shared by its callers and its driver under one lock.
struct State {
    /// Frames to write, appended by callers and the driver, taken whole by the driver.
    out: Vec<u8>,
    driver: Option<Waker>,
    /// Every handle is gone: the driver ends.
    closing: bool,
    /// Why no new call can succeed (GOAWAY, closed, a protocol error).
    lost: Option<String>,
    next_id: u32,
    /// The streams from id `base` on, every other id (client streams are odd).
    base: u32,
    streams: VecDeque<Slot>,
    open: usize,
    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS, and callers waiting for a stream under it.
    max_open: usize,
    waiting: Vec<Waker>,
    send_window: i64,
    initial_send_window: i64,
    max_frame: usize,
    /// Streams with an unsent body, oldest first.
    blocked: VecDeque<u32>,
    unacked: u32,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    fn slot(&mut self, id: u32) -> Option<&mut Slot> {
        if id < self.base || id.is_multiple_of(2) {
            return None;
        }
        self.streams.get_mut(((id - self.base) / 2) as usize)
    }

    /// Wakes the driver if `out` was empty before something was appended (it was woken already
    /// otherwise, and will take everything).
    fn wake_driver_if(&self, was_empty: bool) {
        if was_empty && let Some(w) = &self.driver {
            w.wake_by_ref();
        }
    }

    /// Sends as much of `body` from `from` as the windows allow; what is left waits for a
    /// WINDOW_UPDATE.
    fn send_body(&mut self, id: u32, body: Bytes, mut from: usize) {
        let (max_frame, mut conn_window) = (self.max_frame, self.send_window);
        let Some(slot) = self.slot(id) else { return };
        let mut stream_window = slot.send_window;
        let mut chunks = Vec::new();
        while from < body.len() {
            let n = (body.len() - from).min(max_frame).min(conn_window.min(stream_window).max(0) as usize);
            if n == 0 {
                break;
            }
            chunks.push((from, n));
            from += n;
            conn_window -= n as i64;
            stream_window -= n as i64;
        }
        slot.send_window = stream_window;
        let left = from < body.len();
        slot.unsent = left.then(|| (body.clone(), from));
        self.send_window = conn_window;
        for (at, n) in chunks {
            let last = at + n == body.len();
            put_frame_head(&mut self.out, n, DATA, if last { END_STREAM } else { 0 }, id);
            self.out.extend_from_slice(&body[at..at + n]);
        }
        if left {
            self.blocked.push_back(id);
        }
    }

    /// After a window grew: sends what the blocked streams can.
    fn unblock(&mut self) {
        for _ in 0..self.blocked.len() {
            let Some(id) = self.blocked.pop_front() else { break };
            if let Some((body, from)) = self.slot(id).and_then(|s| s.unsent.take()) {
                self.send_body(id, body, from);
            }
        }
    }

    /// Ends stream `id` with `result` and wakes its caller (and one caller waiting for a stream).
    fn finish(&mut self, id: u32, result: Result<usize, CallError>) {
        let Some(slot) = self.slot(id) else { return };
        if !matches!(slot.answer, Answer::Open { .. }) {
            return;
        }
        slot.answer = Answer::Done(result);
        slot.unsent = None;
        if let Some(w) = slot.waker.take() {
            w.wake();
        }
        self.open -= 1;
        if let Some(w) = self.waiting.pop() {
            w.wake();
        }
    }

    /// No call can succeed any more: every open stream fails, every waiting caller is woken.
    fn fail(&mut self, why: String) {
        let error = CallError::lost(&why);
        for slot in &mut self.streams {
            if matches!(slot.answer, Answer::Open { .. }) {
                slot.answer = Answer::Done(Err(error.clone()));
                if let Some(w) = slot.waker.take() {
                    w.wake();
                }
            }
        }
        self.open = 0;
        for w in self.waiting.drain(..) {
            w.wake();
        }
        self.lost.get_or_insert(why);
    }

    /// Forgets the finished streams at the front.
    fn trim(&mut self) {
        while matches!(self.streams.front(), Some(Slot { answer: Answer::Taken, .. })) {
            self.streams.pop_front();
            self.base += 2;
        }
    }
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
    let driver = Driver {
        io,
        state: state.clone(),
        write: Vec::new(),
        written: 0,
        read: vec![0; 64 * 1024],
        start: 0,
        end: 0,
        decoder: hpack::Decoder::default(),
        continuation: None,
    };
    tokio::spawn(driver.run());
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

/// A header block arriving in several frames: its stream, END_STREAM, the fragments so far.
type Continuation = (u32, bool, Vec<u8>);

/// The task that owns a connection's socket.
struct Driver<IO> {
    io: IO,
    state: Arc<Mutex<State>>,
    /// What is being written, and how much of it is.
    write: Vec<u8>,
    written: usize,
    /// Bytes read, `start..end` not parsed yet.
    read: Vec<u8>,
    start: usize,
    end: usize,
    decoder: hpack::Decoder,
    continuation: Option<Continuation>,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Driver<IO> {
    async fn run(mut self) {
        let outcome = poll_fn(|cx| self.poll(cx)).await;
        if let Err(why) = outcome {
            lock(&self.state).fail(why);
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        loop {
            let mut progress = false;
            if self.written == self.write.len() {
                self.write.clear();
                self.written = 0;
                let mut st = lock(&self.state);
                if st.closing {
                    return Poll::Ready(Ok(()));
                }
                std::mem::swap(&mut st.out, &mut self.write);
                if !st.driver.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    st.driver = Some(cx.waker().clone());
                }
            }
            if self.written < self.write.len() {
                while self.written < self.write.len() {
                    match Pin::new(&mut self.io).poll_write(cx, &self.write[self.written..]) {
                        Poll::Ready(Ok(0)) => return Poll::Ready(Err("connection closed while writing".to_owned())),
                        Poll::Ready(Ok(n)) => {
                            self.written += n;
                            progress = true;
                        }
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(format!("write failed: {e}"))),
                        Poll::Pending => break,
                    }
                }
                // TLS buffers records; push them out (a no-op on TCP).
                if let Poll::Ready(Err(e)) = Pin::new(&mut self.io).poll_flush(cx) {
                    return Poll::Ready(Err(format!("write failed: {e}")));
                }
            }
            if self.end == self.read.len() {
                self.read.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if self.end == self.read.len() {
                    self.read.resize(self.read.len() * 2, 0);
                }
            }
            let mut buf = ReadBuf::new(&mut self.read[self.end..]);
            match Pin::new(&mut self.io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => {
                    let n = buf.filled().len();
                    if n == 0 {
                        return Poll::Ready(Err("connection closed by the server".to_owned()));
                    }
                    self.end += n;
                    self.parse()?;
                    progress = true;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(format!("read failed: {e}"))),
                Poll::Pending => {}
            }
            if !progress {
                return Poll::Pending;
            }
        }
    }

    /// Handles every complete frame read so far, under one lock.
    fn parse(&mut self) -> Result<(), String> {
        let mut st = lock(&self.state);
        while self.end - self.start >= 9 {
            let head = &self.read[self.start..self.start + 9];
            let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
            if self.end - self.start < 9 + len {
                break;
            }
            let (kind, flags) = (head[3], head[4]);
            let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & MAX_STREAM_ID;
            let payload = &self.read[self.start + 9..self.start + 9 + len];
            frame_in(&mut st, &mut self.decoder, &mut self.continuation, kind, flags, stream, payload)?;
            self.start += 9 + len;
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        Ok(())
    }
}

/// The payload of a padded frame without its padding.
fn unpadded(flags: u8, payload: &[u8]) -> Result<&[u8], String> {
    if flags & PADDED == 0 {
        return Ok(payload);
    }
    let pad = usize::from(*payload.first().ok_or("empty padded frame")?);
    payload
        .get(1..payload.len().saturating_sub(pad))
        .filter(|_| pad < payload.len())
        .ok_or_else(|| "bad padding".to_owned())
}

/// One frame from the server.
fn frame_in(
    st: &mut State,
    decoder: &mut hpack::Decoder,
    continuation: &mut Option<Continuation>,
    kind: u8,
    flags: u8,
    stream: u32,
    payload: &[u8],
) -> Result<(), String> {
    if continuation.is_some() && kind != CONTINUATION {
        return Err("header block interrupted".to_owned());
    }
    match kind {
        DATA => {
            let data = unpadded(flags, payload)?;
            // Flow control counts the whole frame, padding included.
            st.unacked += payload.len() as u32;
            if st.unacked >= CONN_WINDOW / 2 {
                let n = std::mem::take(&mut st.unacked);
                put_window_update(&mut st.out, 0, n);
            }
            let mut update = None;
            let mut ended = false;
            if let Some(slot) = st.slot(stream)
                && let Answer::Open { size, .. } = &mut slot.answer
            {
                *size += data.len();
                slot.unacked += payload.len() as u32;
                if flags & END_STREAM != 0 {
                    ended = true;
                } else if slot.unacked >= STREAM_WINDOW / 2 {
                    update = Some(std::mem::take(&mut slot.unacked));
                }
            }
            if let Some(n) = update {
                put_window_update(&mut st.out, stream, n);
            }
            if ended {
                st.finish(stream, Err(CallError::status(Code::Unknown, "answer without grpc-status".to_owned())));
            }
        }
        HEADERS => {
            let mut block = unpadded(flags, payload)?;
            if flags & PRIORITY != 0 {
                block = block.get(5..).ok_or("short PRIORITY fields")?;
            }
            if flags & END_HEADERS == 0 {
                *continuation = Some((stream, flags & END_STREAM != 0, block.to_vec()));
            } else {
                header_block(st, decoder, stream, flags & END_STREAM != 0, block)?;
            }
        }
        CONTINUATION => {
            let Some((id, end_stream, mut block)) = continuation.take() else {
                return Err("CONTINUATION without HEADERS".to_owned());
            };
            if id != stream {
                return Err("CONTINUATION on another stream".to_owned());
            }
            block.extend_from_slice(payload);
            if flags & END_HEADERS == 0 {
                *continuation = Some((id, end_stream, block));
            } else {
                header_block(st, decoder, stream, end_stream, &block)?;
            }
        }
        RST_STREAM => {
            let code = payload.get(..4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
            st.finish(
                stream,
                Err(CallError::status(Code::Unavailable, format!("stream reset by the server (code {code})"))),
            );
        }
        SETTINGS if flags & ACK == 0 => {
            for setting in payload.chunks_exact(6) {
                let value = u32::from_be_bytes([setting[2], setting[3], setting[4], setting[5]]);
                match u16::from_be_bytes([setting[0], setting[1]]) {
                    0x3 => st.max_open = value as usize,
                    0x4 => {
                        let delta = i64::from(value) - st.initial_send_window;
                        st.initial_send_window = i64::from(value);
                        for slot in &mut st.streams {
                            slot.send_window += delta;
                        }
                    }
                    0x5 => st.max_frame = value as usize,
                    _ => {}
                }
            }
            put_frame_head(&mut st.out, 0, SETTINGS, ACK, 0);
            st.unblock();
            // A higher limit lets waiting callers in.
            for w in st.waiting.drain(..) {
                w.wake();
            }
        }
        PING if flags & ACK == 0 => {
            put_frame_head(&mut st.out, payload.len(), PING, ACK, 0);
            st.out.extend_from_slice(payload);
        }
        GOAWAY => {
            let last = payload.get(..4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & MAX_STREAM_ID);
            let why = "the server sent GOAWAY".to_owned();
            let error = CallError::lost(&why);
            let ids: Vec<u32> = (0..st.streams.len() as u32).map(|i| st.base + 2 * i).filter(|id| *id > last).collect();
            for id in ids {
                st.finish(id, Err(error.clone()));
            }
            st.lost.get_or_insert(why);
            for w in st.waiting.drain(..) {
                w.wake();
            }
        }
        WINDOW_UPDATE => {
            let inc = payload.get(..4).map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & MAX_STREAM_ID);
            if stream == 0 {
                st.send_window += i64::from(inc);
            } else if let Some(slot) = st.slot(stream) {
                slot.send_window += i64::from(inc);
            }
            st.unblock();
        }
        PUSH_PROMISE => return Err("PUSH_PROMISE though push is disabled".to_owned()),
        _ => {}
    }
    Ok(())
}

/// A complete header block: the answer's headers, or its trailers.
fn header_block(
    st: &mut State,
    decoder: &mut hpack::Decoder,
    stream: u32,
    end_stream: bool,
    block: &[u8],
) -> Result<(), String> {
    let (mut http_status, mut grpc_status, mut grpc_message) = (None, None, None);
    // Decoded whatever the stream: the decoder's table follows every block.
    decoder
        .decode(block, |name, value| match name {
            b":status" => {
                http_status =
                    Some(if value == b"200" { Ok(()) } else { Err(String::from_utf8_lossy(value).into_owned()) })
            }
            b"grpc-status" => {
                grpc_status = Some(
                    std::str::from_utf8(value)
                        .ok()
                        .and_then(|c| c.parse::<i32>().ok())
                        .map_or(Code::Unknown, Code::from_i32),
                )
            }
            b"grpc-message" => grpc_message = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        })
        .map_err(|e| format!("bad header block from the server: {e}"))?;
    let Some(Slot { answer: Answer::Open { headers_seen, size }, .. }) = st.slot(stream) else {
        return Ok(());
    };
    let size = *size;
    let first = !*headers_seen;
    *headers_seen = true;
    let result = match (first, http_status, grpc_status) {
        (true, Some(Err(status)), _) => Err(CallError::status(Code::Unknown, format!("HTTP status {status}"))),
        (true, None, _) => Err(CallError::status(Code::Unknown, "answer without :status".to_owned())),
        (_, _, Some(Code::Ok)) => Ok(size),
        (_, _, Some(code)) => Err(CallError::status(code, grpc_message.unwrap_or_default())),
        (_, _, None) if end_stream => Err(CallError::status(Code::Unknown, "answer without grpc-status".to_owned())),
        _ => return Ok(()),
    };
    st.finish(stream, result);
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The client against the `h2` crate's server over an in-memory pipe: every way an answer can
    //! end, Huffman-coded literals of every printable ASCII byte (h2 codes all literals), a body
    //! larger than the initial flow-control windows, and more calls than the server lets in at
    //! once.

    use super::*;

    /// Every printable ASCII byte but those a header value cannot hold at its ends.
    fn printable() -> String {
        (b'!'..=b'~').map(char::from).collect()
    }

    /// Answers by path: "/ok" (headers, a 7-byte message, trailers OK), "/denied" (trailers-only
    /// PERMISSION_DENIED with every printable byte as its message), "/teapot" (HTTP 418),
    /// "/echo" (OK with as many bytes as the request had), "/reset" (RST_STREAM).
    async fn serve(io: tokio::io::DuplexStream) {
        let mut builder = h2::server::Builder::new();
        builder.max_concurrent_streams(2);
        let mut conn = builder.handshake::<_, Bytes>(io).await.expect("handshake");
        while let Some(Ok((request, mut respond))) = conn.accept().await {
            tokio::spawn(async move {
                let path = request.uri().path().to_owned();
                let mut body = request.into_body();
                let mut size = 0;
                while let Some(Ok(chunk)) = body.data().await {
                    size += chunk.len();
                    let _ = body.flow_control().release_capacity(chunk.len());
                }
                let response = |status: u16| {
                    http::Response::builder()
                        .status(status)
                        .header("content-type", "application/grpc")
                        .body(())
                        .expect("response")
                };
                let mut trailers = http::HeaderMap::new();
                match path.as_str() {
                    "/denied" => {
                        let mut answer = response(200);
                        answer.headers_mut().insert("grpc-status", "7".parse().expect("value"));
                        answer.headers_mut().insert("grpc-message", printable().parse().expect("value"));
                        let _ = respond.send_response(answer, true);
                    }
                    "/teapot" => {
                        let _ = respond.send_response(response(418), true);
                    }
                    "/reset" => respond.send_reset(h2::Reason::REFUSED_STREAM),
                    _ => {
                        let mut send = respond.send_response(response(200), false).expect("headers");
                        let n = if path == "/echo" { size } else { 7 };
                        send.reserve_capacity(n);
                        let _ = send.send_data(Bytes::from(vec![0u8; n]), false);
                        trailers.insert("grpc-status", "0".parse().expect("value"));
                        let _ = send.send_trailers(trailers);
                    }
                }
            });
        }
    }

    fn route(path: &'static str) -> Route {
        Route::new(&Target { addr: "test:1".to_owned(), tls: None }, path, &[("x-onshi-facility", b"13")])
    }

    #[tokio::test]
    async fn answers_of_an_h2_server_are_read() {
        let (client, server) = tokio::io::duplex(1 << 16);
        tokio::spawn(serve(server));
        let mut conn = start(client);
        let body = frame(b"hi");
        // Twice each: the second time the server sends its headers as dynamic-table indices.
        for _ in 0..2 {
            assert_eq!(unary(&mut conn, &route("/ok"), body.clone()).await.expect("ok"), 7);
            let denied = unary(&mut conn, &route("/denied"), body.clone()).await.expect_err("denied");
            assert_eq!(
                (denied.code, denied.message.as_str(), denied.connection_lost),
                (Code::PermissionDenied, &printable()[..], false)
            );
            let teapot = unary(&mut conn, &route("/teapot"), body.clone()).await.expect_err("teapot");
            assert_eq!((teapot.code, teapot.message.as_str()), (Code::Unknown, "HTTP status 418"));
            let reset = unary(&mut conn, &route("/reset"), body.clone()).await.expect_err("reset");
            assert_eq!((reset.code, reset.connection_lost), (Code::Unavailable, false));
        }
        // 300 kB: beyond the 64 kB initial windows, so it goes out as WINDOW_UPDATEs come in.
        let big = frame(&vec![7u8; 300_000]);
        assert_eq!(unary(&mut conn, &route("/echo"), big.clone()).await.expect("echo"), big.len());
        // Twenty calls at once on a server that lets two in at a time.
        let calls = (0..20).map(|_| {
            let mut conn = conn.clone();
            let body = body.clone();
            tokio::spawn(async move { unary(&mut conn, &route("/ok"), body).await })
        });
        for call in calls.collect::<Vec<_>>() {
            assert_eq!(call.await.expect("joined").expect("ok"), 7);
        }
    }

    #[tokio::test]
    async fn a_closed_connection_fails_every_call_as_lost() {
        let (client, server) = tokio::io::duplex(1 << 16);
        drop(server);
        let mut conn = start(client);
        let error = unary(&mut conn, &route("/ok"), frame(b"hi")).await.expect_err("closed");
        assert_eq!((error.code, error.connection_lost), (Code::Unavailable, true));
        let again = unary(&mut conn, &route("/ok"), frame(b"hi")).await.expect_err("still closed");
        assert!(again.connection_lost);
    }
}
