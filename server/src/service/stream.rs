//! ConfirmStream: many single confirmations over one bidirectional stream. Requests are answered
//! one by one in arrival order, each response carrying its request's tag; a malformed or refused
//! request gets a `StreamError` in its place and the stream goes on. The caller is authorized once,
//! when the stream opens (the allow-list is still consulted by every answer through the same
//! handlers).

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use onshi_proto::served::confirm_stream_request::Request as Ask;
use onshi_proto::served::confirm_stream_response::Outcome;
use onshi_proto::served::{ConfirmStreamRequest, ConfirmStreamResponse, StreamError};
use tonic::{Status, Streaming};

use super::App;
use super::errors::ServiceError;
use crate::admission::Permit;
use crate::auth::Caller;

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
        let app = self.clone();
        // The permit lives as long as the stream: one stream is one session.
        Box::pin(inbound.map(move |msg| {
            let _session = &permit;
            msg.map(|m| app.stream_answer(&caller, m))
        }))
    }
}
