//! ConfirmStream: many single confirmations over one bidirectional stream. Requests are answered
//! one by one in arrival order, each response carrying its request's tag; a malformed or refused
//! request gets a `StreamError` in its place and the stream goes on. The caller is authorized once,
//! when the stream opens (the allow-list is still consulted by every answer through the same
//! handlers).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use onshi_proto::served::confirm_stream_request::Request as Ask;
use onshi_proto::served::confirm_stream_response::Outcome;
use onshi_proto::served::{ConfirmStreamRequest, ConfirmStreamResponse, StreamError};
use tonic::{Status, Streaming};

use super::App;
use crate::admission::Permit;
use crate::auth::Caller;
use crate::errors::ServiceError;

impl App {
    fn stream_answer(&self, caller: &Caller, msg: ConfirmStreamRequest) -> ConfirmStreamResponse {
        let now = self.clock.now();
        let result = match &msg.request {
            Some(Ask::ByCard(r)) => self.confirm_card(caller, now, r),
            Some(Ask::ByInsuredNumber(r)) => self.confirm_insured(caller, now, r),
            None => Err(ServiceError::BadRequest(vec![(
                "request".to_owned(),
                "set by_card or by_insured_number".to_owned(),
            )])),
        };
        let outcome = match result {
            Ok(response) => Outcome::Response(response),
            Err(e) => {
                let fields = match &e {
                    ServiceError::BadRequest(v) => v.iter().map(|(f, _)| f.clone()).collect(),
                    _ => Vec::new(),
                };
                let status = Status::from(e);
                Outcome::Error(StreamError { code: status.code() as i32, message: status.message().to_owned(), fields })
            }
        };
        ConfirmStreamResponse { tag: msg.tag, outcome: Some(outcome) }
    }

    pub(crate) fn confirm_stream(
        &self,
        caller: Caller,
        permit: Permit,
        inbound: Streaming<ConfirmStreamRequest>,
    ) -> Pin<Box<dyn Stream<Item = Result<ConfirmStreamResponse, Status>> + Send + 'static>> {
        let idle = Duration::from_secs(self.limits.stream_idle_seconds.max(1));
        let now = Instant::now();
        let end = now + Duration::from_secs(self.limits.stream_lifetime_seconds.max(1));
        Box::pin(Session {
            app: self.clone(),
            caller,
            _permit: permit,
            inbound,
            idle,
            end,
            last_message: now,
            timer: Box::pin(tokio::time::sleep_until(end.min(now + idle).into())),
            done: false,
        })
    }
}

/// One open ConfirmStream: one session, holding its admission permit for its life, which ends
/// when the client closes it, after `stream_idle_seconds` without a message, or at
/// `stream_lifetime_seconds` (DEADLINE_EXCEEDED with reason STREAM_IDLE or STREAM_LIFETIME), so
/// a client cannot keep sessions open by opening streams and going silent.
struct Session {
    app: App,
    caller: Caller,
    _permit: Permit,
    inbound: Streaming<ConfirmStreamRequest>,
    idle: Duration,
    end: Instant,
    last_message: Instant,
    /// Set to the next deadline only when the stream waits, so a busy stream costs no timer
    /// updates per message.
    timer: Pin<Box<tokio::time::Sleep>>,
    done: bool,
}

impl Stream for Session {
    type Item = Result<ConfirmStreamResponse, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match this.inbound.poll_next_unpin(cx) {
            Poll::Ready(Some(msg)) => {
                this.last_message = Instant::now();
                Poll::Ready(Some(msg.map(|m| this.app.stream_answer(&this.caller, m))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => loop {
                let deadline = (this.last_message + this.idle).min(this.end);
                if this.timer.deadline().into_std() != deadline {
                    this.timer.as_mut().reset(deadline.into());
                }
                if this.timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                if Instant::now() < deadline {
                    continue;
                }
                this.done = true;
                let (reason, message) = if deadline >= this.end {
                    ("STREAM_LIFETIME", "the stream reached its lifetime; open a new one")
                } else {
                    ("STREAM_IDLE", "no message within the stream's idle limit; open a new stream when needed")
                };
                return Poll::Ready(Some(Err(ServiceError::StreamDeadline { message, reason }.into())));
            },
        }
    }
}
