//! The service's errors and their one mapping to gRPC statuses with google.rpc details:
//! BadRequest field violations for malformed input, ErrorInfo with a stable reason for refusals.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::auth::AuthError;
use crate::store::StoreError;

/// The ErrorInfo domain of every onshi error.
pub const ERROR_DOMAIN: &str = "onshi.dev";

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// One or more fields are malformed: (field path, what is wrong).
    #[error("invalid request: {}", .0.iter().map(|(f, d)| format!("{f}: {d}")).collect::<Vec<_>>().join("; "))]
    BadRequest(Vec<(String, String)>),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The facility holds no consent of this kind for this person.
    #[error(
        "this facility holds no {0} consent from this patient; the patient gives it at the card reader (ConfirmByCard)"
    )]
    ConsentMissing(&'static str),
    /// The facility's consent has passed its window.
    #[error(
        "this facility's {kind} consent from this patient ended at {available_time}; the patient can give it again at the card reader"
    )]
    ConsentExpired { kind: &'static str, available_time: String },
    /// Something named by the request does not exist (for this caller).
    #[error("{what} not found")]
    NotFound { what: &'static str, reason: &'static str },
}

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Status {
        match &e {
            ServiceError::BadRequest(violations) => {
                let mut details = ErrorDetails::new();
                for (field, description) in violations {
                    details.add_bad_request_violation(field.clone(), description.clone());
                }
                Status::with_error_details(Code::InvalidArgument, e.to_string(), details)
            }
            ServiceError::Auth(auth) => {
                let details = ErrorDetails::with_error_info(auth.reason(), ERROR_DOMAIN, HashMap::new());
                Status::with_error_details(Code::PermissionDenied, e.to_string(), details)
            }
            ServiceError::ConsentMissing(kind) => {
                let meta = HashMap::from([("consent_kind".to_owned(), (*kind).to_owned())]);
                let details = ErrorDetails::with_error_info("CONSENT_MISSING", ERROR_DOMAIN, meta);
                Status::with_error_details(Code::FailedPrecondition, e.to_string(), details)
            }
            ServiceError::ConsentExpired { kind, available_time } => {
                let meta = HashMap::from([
                    ("consent_kind".to_owned(), (*kind).to_owned()),
                    ("available_time".to_owned(), available_time.clone()),
                ]);
                let details = ErrorDetails::with_error_info("CONSENT_EXPIRED", ERROR_DOMAIN, meta);
                Status::with_error_details(Code::FailedPrecondition, e.to_string(), details)
            }
            ServiceError::NotFound { reason, .. } => {
                let details = ErrorDetails::with_error_info(*reason, ERROR_DOMAIN, HashMap::new());
                Status::with_error_details(Code::NotFound, e.to_string(), details)
            }
            ServiceError::Store(inner) => {
                tracing::error!(error = %inner, "store failure");
                let details = ErrorDetails::with_error_info("STORE_FAILURE", ERROR_DOMAIN, HashMap::new());
                Status::with_error_details(Code::Internal, "the store failed; see the server log", details)
            }
        }
    }
}

/// Collects field violations while a request is validated, so the caller learns every problem
/// at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<(String, String)>);

impl Violations {
    /// Records `result`'s error against `field`, returning the value if there was none.
    pub fn check<T, E: std::fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push((field.to_owned(), e.to_string()));
                None
            }
        }
    }

    /// Like [`Violations::check`] for the field `prefix.name`, naming it only if it is wrong (the
    /// hot path never formats a field path).
    pub fn check_in<T, E: std::fmt::Display>(&mut self, prefix: &str, name: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push((format!("{prefix}.{name}"), e.to_string()));
                None
            }
        }
    }

    pub fn add(&mut self, field: &str, description: impl Into<String>) {
        self.0.push((field.to_owned(), description.into()));
    }

    /// `Err` with every violation, if any.
    pub fn finish(self) -> Result<(), ServiceError> {
        if self.0.is_empty() { Ok(()) } else { Err(ServiceError::BadRequest(self.0)) }
    }
}
