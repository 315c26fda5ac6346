//! The gRPC services: protobuf in and out, and the tonic traits. Requests are validated into
//! domain types here, handed to the operations (`crate::ops`) or the store in domain terms, and
//! answers are assembled from what they return (for confirmations, the store's ready-to-serve
//! bytes). Only this layer sees protobuf messages.

pub mod access_history;
pub mod admin;
pub mod bulk;
pub mod convert;
pub mod fees;
pub mod medical;
pub mod qualification;
pub mod reference;
pub mod shell;
pub mod stream;

use tonic::Request;

pub use crate::app::{App, Serving};
use crate::auth::{self, Caller, ConnIdentity, FACILITY_HEADER};
use crate::errors::ServiceError;

impl App {
    /// The allowed facility making `request`, or why it may not.
    pub fn caller<T>(&self, request: &Request<T>) -> Result<Caller, ServiceError> {
        let identity = request.extensions().get::<ConnIdentity>();
        let header = request.metadata().get(FACILITY_HEADER).and_then(|v| v.to_str().ok());
        Ok(auth::authorize(identity, header, &self.allow_list, &self.revocations, self.check_digits)?)
    }
}
