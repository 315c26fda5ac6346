//! What one request may cost before a handler sees it: a tower layer around the facility
//! listener's services that
//! - stamps when the request arrived and when its last message was complete, so admission
//!   measures the queue from when a handler could first run (a slow body is a slow client, not an
//!   overloaded server);
//! - enforces each method's largest message as the gRPC length prefix arrives, before any of the
//!   message is buffered (64 KiB for single records; 4 MiB only for the bulk methods);
//! - holds a message's bytes back until the whole message has arrived, so the codec never
//!   reserves what a length prefix merely claims: a prefix that lies costs the bytes really sent.
//!
//! Messages that arrive whole in one DATA frame (nearly all) pass through without a copy.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame};
use tonic::Status;

/// A gRPC message's prefix: compression flag (1) and length (4, big-endian).
const PREFIX: usize = 5;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The message limits of the facility listener.
#[derive(Debug, Clone, Copy)]
pub struct MessageLimits {
    /// Every method not named below.
    pub default_bytes: usize,
    /// BulkConfirmUpload and RegisterReferenceNumbers.
    pub bulk_bytes: usize,
}

/// Health and reflection requests are a few names; a long one is refused before it is echoed.
const SMALL_SERVICE_BYTES: usize = 8 * 1024;

impl MessageLimits {
    /// The largest message a call of `path` may send.
    pub fn for_path(&self, path: &str) -> usize {
        match path {
            "/onshi.v1.QualificationService/BulkConfirmUpload"
            | "/onshi.v1.QualificationService/RegisterReferenceNumbers"
            | "/onshi.v1.FeeService/ComputeAdditions" => self.bulk_bytes,
            p if p.starts_with("/grpc.") => SMALL_SERVICE_BYTES.min(self.default_bytes),
            _ => self.default_bytes,
        }
    }
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// When a request arrived and when its latest message was complete (a request extension).
#[derive(Debug, Clone)]
pub struct Arrived {
    pub at: Instant,
    /// Nanoseconds after [`epoch`] at which the latest complete message was handed on; 0 before.
    completed: Arc<AtomicU64>,
}

impl Arrived {
    /// When a handler could first run: the arrival, or the completion of the latest message.
    pub fn ready_at(&self) -> Instant {
        match self.completed.load(Ordering::Relaxed) {
            0 => self.at,
            n => (epoch() + Duration::from_nanos(n)).max(self.at),
        }
    }
}

/// The layer (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct RequestLimitsLayer(pub MessageLimits);

impl<S> tower::Layer<S> for RequestLimitsLayer {
    type Service = RequestLimits<S>;

    fn layer(&self, inner: S) -> RequestLimits<S> {
        RequestLimits { inner, limits: self.0 }
    }
}

#[derive(Debug, Clone)]
pub struct RequestLimits<S> {
    inner: S,
    limits: MessageLimits,
}

impl<S, B> tower::Service<http::Request<B>> for RequestLimits<S>
where
    S: tower::Service<http::Request<LimitedBody<B>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> S::Future {
        let limit = self.limits.for_path(req.uri().path());
        let arrived = Arrived { at: Instant::now(), completed: Arc::default() };
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(arrived.clone());
        let body =
            LimitedBody { inner: body, limit, pending: BytesMut::new(), completed: arrived.completed, failed: false };
        self.inner.call(http::Request::from_parts(parts, body))
    }
}

/// A request body that hands on only whole gRPC messages within the limit.
#[derive(Debug)]
pub struct LimitedBody<B> {
    inner: B,
    limit: usize,
    /// Bytes of a message that has not fully arrived.
    pending: BytesMut,
    completed: Arc<AtomicU64>,
    failed: bool,
}

/// How many leading bytes of `buf` are whole messages, or the length of one over `limit`.
fn whole_messages(buf: &[u8], limit: usize) -> Result<usize, usize> {
    let mut at = 0;
    while buf.len() - at >= PREFIX {
        let len = u32::from_be_bytes([buf[at + 1], buf[at + 2], buf[at + 3], buf[at + 4]]) as usize;
        if len > limit {
            return Err(len);
        }
        if buf.len() - at - PREFIX < len {
            break;
        }
        at += PREFIX + len;
    }
    Ok(at)
}

fn too_large(len: usize, limit: usize) -> BoxError {
    Box::new(Status::resource_exhausted(format!(
        "a message of {len} bytes is over this method's limit of {limit} bytes"
    )))
}

impl<B> LimitedBody<B> {
    fn stamp(&self) {
        let n = epoch().elapsed().as_nanos() as u64;
        self.completed.store(n.max(1), Ordering::Relaxed);
    }

    /// Takes in a DATA frame; returns what may be handed on now.
    fn accept(&mut self, mut data: Bytes) -> Result<Option<Bytes>, BoxError> {
        if self.pending.is_empty() {
            // The common case: the frame holds whole messages only.
            match whole_messages(&data, self.limit) {
                Err(len) => return Err(too_large(len, self.limit)),
                Ok(n) if n == data.len() => {
                    self.stamp();
                    return Ok(Some(data));
                }
                Ok(n) => {
                    // The rest is the start of one message whose prefix, if whole, was checked.
                    let head = data.split_to(n);
                    self.pending.extend_from_slice(&data);
                    if head.is_empty() {
                        return Ok(None);
                    }
                    self.stamp();
                    return Ok(Some(head));
                }
            }
        }
        self.pending.extend_from_slice(&data);
        match whole_messages(&self.pending, self.limit) {
            Err(len) => Err(too_large(len, self.limit)),
            Ok(0) => Ok(None),
            Ok(n) => {
                self.stamp();
                Ok(Some(self.pending.split_to(n).freeze()))
            }
        }
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        loop {
            match ready!(std::pin::Pin::new(&mut this.inner).poll_frame(cx)) {
                None => {
                    // A cut-off message goes on as it is: the codec reports it.
                    if this.pending.is_empty() {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(this.pending.split().freeze()))));
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => match this.accept(data) {
                        Ok(Some(whole)) => return Poll::Ready(Some(Ok(Frame::data(whole)))),
                        Ok(None) => continue,
                        Err(e) => {
                            this.failed = true;
                            this.pending = BytesMut::new();
                            return Poll::Ready(Some(Err(e)));
                        }
                    },
                    Err(frame) => return Poll::Ready(Some(Ok(frame))),
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || (self.pending.is_empty() && self.inner.is_end_stream())
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(len: usize) -> Vec<u8> {
        let mut m = vec![0u8];
        m.extend_from_slice(&(len as u32).to_be_bytes());
        m.extend(std::iter::repeat_n(7u8, len));
        m
    }

    fn body(limit: usize) -> LimitedBody<()> {
        LimitedBody { inner: (), limit, pending: BytesMut::new(), completed: Arc::default(), failed: false }
    }

    #[test]
    fn whole_frames_pass_and_split_ones_wait_for_their_end() {
        let mut b = body(100);
        let two = [message(3), message(4)].concat();
        assert_eq!(b.accept(Bytes::from(two.clone())).expect("ok").expect("passed"), Bytes::from(two));
        let one = message(50);
        assert!(b.accept(Bytes::copy_from_slice(&one[..2])).expect("ok").is_none());
        assert!(b.accept(Bytes::copy_from_slice(&one[2..30])).expect("ok").is_none());
        let mut rest = one[30..].to_vec();
        rest.extend(message(1));
        let out = b.accept(Bytes::from(rest)).expect("ok").expect("whole");
        assert_eq!(out.len(), one.len() + PREFIX + 1);
        assert!(b.pending.is_empty());
    }

    #[test]
    fn a_prefix_over_the_limit_is_refused_before_its_bytes_arrive() {
        let mut b = body(100);
        let mut lying = vec![0u8];
        lying.extend_from_slice(&1_000_000u32.to_be_bytes());
        lying.extend_from_slice(b"0123456789");
        let err = b.accept(Bytes::from(lying)).expect_err("over the limit");
        let status = err.downcast::<Status>().expect("a status");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        // Within the limit but far from complete: only the bytes sent are held.
        let mut b = body(4 << 20);
        let mut claim = vec![0u8];
        claim.extend_from_slice(&(4u32 << 20).to_be_bytes());
        claim.extend_from_slice(b"0123456789");
        assert!(b.accept(Bytes::from(claim)).expect("ok").is_none());
        assert!(b.pending.capacity() < 1024, "held {} bytes", b.pending.capacity());
    }

    #[test]
    fn bulk_methods_get_the_bulk_limit_and_others_the_default() {
        let l = MessageLimits { default_bytes: 64 << 10, bulk_bytes: 4 << 20 };
        assert_eq!(l.for_path("/onshi.v1.QualificationService/BulkConfirmUpload"), 4 << 20);
        assert_eq!(l.for_path("/onshi.v1.FeeService/ComputeAdditions"), 4 << 20);
        assert_eq!(l.for_path("/onshi.v1.FeeService/UsageRate"), 64 << 10);
        assert_eq!(l.for_path("/onshi.v1.QualificationService/ConfirmByCard"), 64 << 10);
        assert_eq!(l.for_path("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"), 8 << 10);
    }
}
