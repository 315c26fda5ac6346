//! The task that owns a connection's socket: it writes everything queued since its last turn in
//! one write, reads, and handles each complete frame straight out of its read buffer (answers'
//! header blocks through the HPACK decoder, DATA counted, SETTINGS, PING, WINDOW_UPDATE,
//! RST_STREAM, GOAWAY), ending streams and waking their callers.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::Code;

use super::CallError;
use super::frames::*;
use super::state::{Answer, Slot, State, lock};
use crate::hpack;

/// A header block arriving in several frames: its stream, END_STREAM, the fragments so far.
type Continuation = (u32, bool, Vec<u8>);

/// The task that owns a connection's socket.
pub(super) struct Driver<IO> {
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
    pub(super) fn new(io: IO, state: Arc<Mutex<State>>) -> Driver<IO> {
        Driver {
            io,
            state,
            write: Vec::new(),
            written: 0,
            read: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            decoder: hpack::Decoder::default(),
            continuation: None,
        }
    }

    pub(super) async fn run(mut self) {
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
