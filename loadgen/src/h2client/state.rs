//! A connection's state, shared by its callers and its driver under one lock: the streams in
//! flight and their answers, flow-control windows both ways, the output buffer, and what ends a
//! stream or the whole connection.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

use bytes::Bytes;

use super::CallError;
use super::frames::{DATA, END_STREAM, put_frame_head};

/// One stream's progress.
pub(super) enum Answer {
    /// Waiting for the answer's headers (`false`) or its trailers (`true`); bytes of DATA so far.
    Open {
        headers_seen: bool,
        size: usize,
    },
    Done(Result<usize, CallError>),
    /// The caller has its result (or gave up waiting).
    Taken,
}

pub(super) struct Slot {
    pub(super) answer: Answer,
    pub(super) waker: Option<Waker>,
    /// The request body not yet sent for want of flow-control window, and from where.
    pub(super) unsent: Option<(Bytes, usize)>,
    pub(super) send_window: i64,
    /// DATA received on the stream not yet returned to the server with a WINDOW_UPDATE.
    pub(super) unacked: u32,
}

/// A connection's state, shared by its callers and its driver under one lock.
pub(super) struct State {
    /// Frames to write, appended by callers and the driver, taken whole by the driver.
    pub(super) out: Vec<u8>,
    pub(super) driver: Option<Waker>,
    /// Every handle is gone: the driver ends.
    pub(super) closing: bool,
    /// Why no new call can succeed (GOAWAY, closed, a protocol error).
    pub(super) lost: Option<String>,
    pub(super) next_id: u32,
    /// The streams from id `base` on, every other id (client streams are odd).
    pub(super) base: u32,
    pub(super) streams: VecDeque<Slot>,
    pub(super) open: usize,
    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS, and callers waiting for a stream under it.
    pub(super) max_open: usize,
    pub(super) waiting: Vec<Waker>,
    pub(super) send_window: i64,
    pub(super) initial_send_window: i64,
    pub(super) max_frame: usize,
    /// Streams with an unsent body, oldest first.
    pub(super) blocked: VecDeque<u32>,
    pub(super) unacked: u32,
}

pub(super) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    pub(super) fn slot(&mut self, id: u32) -> Option<&mut Slot> {
        if id < self.base || id.is_multiple_of(2) {
            return None;
        }
        self.streams.get_mut(((id - self.base) / 2) as usize)
    }

    /// Wakes the driver if `out` was empty before something was appended (it was woken already
    /// otherwise, and will take everything).
    pub(super) fn wake_driver_if(&self, was_empty: bool) {
        if was_empty && let Some(w) = &self.driver {
            w.wake_by_ref();
        }
    }

    /// Sends as much of `body` from `from` as the windows allow; what is left waits for a
    /// WINDOW_UPDATE.
    pub(super) fn send_body(&mut self, id: u32, body: Bytes, mut from: usize) {
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
    pub(super) fn unblock(&mut self) {
        for _ in 0..self.blocked.len() {
            let Some(id) = self.blocked.pop_front() else { break };
            if let Some((body, from)) = self.slot(id).and_then(|s| s.unsent.take()) {
                self.send_body(id, body, from);
            }
        }
    }

    /// Ends stream `id` with `result` and wakes its caller (and one caller waiting for a stream).
    pub(super) fn finish(&mut self, id: u32, result: Result<usize, CallError>) {
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
    pub(super) fn fail(&mut self, why: String) {
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
    pub(super) fn trim(&mut self) {
        while matches!(self.streams.front(), Some(Slot { answer: Answer::Taken, .. })) {
            self.streams.pop_front();
            self.base += 2;
        }
    }
}
