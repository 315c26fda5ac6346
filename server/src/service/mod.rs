//! The gRPC services. Only this module (and [`convert`]) sees protobuf types: requests are
//! validated into domain types here, the store is asked in domain terms, and answers are
//! assembled from the store's ready-to-serve bytes.

pub mod access_history;
pub mod bulk;
pub mod convert;
pub mod errors;
pub mod medical;
pub mod qualification;
pub mod reference;
pub mod stream;

use std::sync::Arc;

use onshi_domain::ids::CheckDigits;
use tonic::Request;

use crate::auth::{self, AllowList, Caller, ConnIdentity, FACILITY_HEADER};
use crate::clock::Clock;
use crate::store::Store;

use self::errors::ServiceError;

/// Everything a request handler needs, shared by all services.
#[derive(Debug, Clone)]
pub struct App {
    pub store: Arc<Store>,
    pub allow_list: Arc<AllowList>,
    pub clock: Arc<Clock>,
    /// Check-digit validation for facilities whose entry does not say.
    pub check_digits: CheckDigits,
    /// The seed of the population in the store (medical histories are generated from it).
    pub population_seed: u64,
    /// How long a 一括照会 job answers "processing" after its upload.
    pub bulk_processing_secs: i64,
}

impl App {
    /// The allowed facility making `request`, or why it may not.
    pub fn caller<T>(&self, request: &Request<T>) -> Result<Caller, ServiceError> {
        let identity = request.extensions().get::<ConnIdentity>();
        let header = request.metadata().get(FACILITY_HEADER).and_then(|v| v.to_str().ok());
        Ok(auth::authorize(identity, header, &self.allow_list, self.check_digits)?)
    }
}
