//! Every error a call can end with, and their one mapping to gRPC statuses with google.rpc
//! details: BadRequest field violations for malformed input, ErrorInfo with a stable reason for
//! refusals (and RetryInfo when a retry will do). The operations, the services' shell, streams,
//! admission and the admin check all refuse through [`ServiceError`], so every ErrorInfo is made
//! here. Below the operations and the services; knows no protobuf message.

use std::collections::HashMap;

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::auth::AuthError;
use onshi_store::StoreError;

/// The ErrorInfo domain of every onshi error.
pub const ERROR_DOMAIN: &str = "onshi.dev";

/// A refusal's trailers (grpc-message, percent-encoded, and grpc-status-details-bin, base64)
/// stay under 8 KiB however many fields were wrong and however long they were: clients cap
/// metadata (grpcio at 16 KiB) and would report a transport error instead of the refusal.
/// Inputs are echoed cut short already (`onshi_domain::echo`); these bound the totals.
pub const MAX_MESSAGE_BYTES: usize = 400;
/// The field violations listed in the details, in bytes of field paths and descriptions.
pub const MAX_VIOLATION_BYTES: usize = 3_000;

/// `message` cut to [`MAX_MESSAGE_BYTES`] at a character boundary.
pub fn bounded(message: String) -> String {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let cut = (0..=MAX_MESSAGE_BYTES).rev().find(|&i| message.is_char_boundary(i)).unwrap_or(0);
    format!("{}…", &message[..cut])
}

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
    /// Validation passed without producing a value it should have: a bug of ours.
    #[error("the request passed validation without a value it needs (a server bug; please report it)")]
    Unvalidated,
    /// The request is well formed but the state it would act on refuses it.
    #[error("{message}")]
    FailedPrecondition { reason: &'static str, message: String },
    /// The facility API is not serving (seeding, or an outage).
    #[error("{0}")]
    Unavailable(&'static str),
    /// A fault injected through the admin API: its own code, message and reason.
    #[error("{message}")]
    Injected { code: i32, message: String, reason: String },
    /// Shed by admission control: retry after `retry_after`.
    #[error("{message}")]
    Shed { message: String, reason: &'static str, retry_after: Duration },
    /// A stream reached one of its time limits.
    #[error("{message}")]
    StreamDeadline { message: &'static str, reason: &'static str },
    /// An admin call with a facility's certificate.
    #[error("the admin API takes the onshi-admin certificate only")]
    NotAdmin,
}

impl ServiceError {
    /// One malformed field.
    pub fn bad(field: &str, description: impl Into<String>) -> ServiceError {
        ServiceError::BadRequest(vec![(field.to_owned(), description.into())])
    }

    /// Something the request names does not exist; `reason` is the ErrorInfo reason.
    pub fn not_found(what: &'static str, reason: &'static str) -> ServiceError {
        ServiceError::NotFound { what, reason }
    }
}

/// A status with an ErrorInfo of `reason` and no metadata.
fn with_reason(code: Code, message: String, reason: &str) -> Status {
    Status::with_error_details(code, message, ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new()))
}

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Status {
        match &e {
            ServiceError::BadRequest(violations) => {
                let mut details = ErrorDetails::new();
                let mut bytes = 0;
                let mut listed = 0;
                for (field, description) in violations {
                    bytes += field.len() + description.len();
                    if bytes > MAX_VIOLATION_BYTES {
                        break;
                    }
                    details.add_bad_request_violation(field.clone(), description.clone());
                    listed += 1;
                }
                if listed < violations.len() {
                    let more = violations.len() - listed;
                    details.add_bad_request_violation("", format!("and {more} more invalid fields, not listed"));
                }
                Status::with_error_details(Code::InvalidArgument, bounded(e.to_string()), details)
            }
            ServiceError::Auth(auth) => {
                let details = ErrorDetails::with_error_info(auth.reason(), ERROR_DOMAIN, HashMap::new());
                Status::with_error_details(Code::PermissionDenied, bounded(e.to_string()), details)
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
            ServiceError::Unvalidated => {
                tracing::error!("validation passed without a value");
                let details = ErrorDetails::with_error_info("VALIDATION_BUG", ERROR_DOMAIN, HashMap::new());
                Status::with_error_details(Code::Internal, e.to_string(), details)
            }
            ServiceError::NotFound { reason, .. } => {
                let details = ErrorDetails::with_error_info(*reason, ERROR_DOMAIN, HashMap::new());
                Status::with_error_details(Code::NotFound, e.to_string(), details)
            }
            ServiceError::FailedPrecondition { reason, .. } => {
                with_reason(Code::FailedPrecondition, e.to_string(), reason)
            }
            ServiceError::Unavailable(_) => with_reason(Code::Unavailable, e.to_string(), "UNAVAILABLE"),
            ServiceError::Injected { code, message, reason } => {
                let reason = if reason.is_empty() { "INJECTED_FAULT" } else { reason };
                with_reason(Code::from_i32(*code), message.clone(), reason)
            }
            ServiceError::Shed { message, reason, retry_after } => {
                metrics::counter!("onshi_shed_total", "reason" => *reason).increment(1);
                let mut details = ErrorDetails::with_retry_info(Some(*retry_after));
                details.set_error_info(*reason, ERROR_DOMAIN, HashMap::new());
                Status::with_error_details(Code::ResourceExhausted, message.clone(), details)
            }
            ServiceError::StreamDeadline { reason, .. } => with_reason(Code::DeadlineExceeded, e.to_string(), reason),
            ServiceError::NotAdmin => with_reason(Code::PermissionDenied, e.to_string(), "NOT_AN_ADMIN_CERTIFICATE"),
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

    /// Like [`finish`](Self::finish), and hands back the validated values: every check that
    /// returned `None` recorded a violation, so with none recorded the values are all there (a
    /// `None` then is a bug in the validation, answered as INTERNAL, never as the caller's fault).
    pub fn finish_with<T>(self, values: Option<T>) -> Result<T, ServiceError> {
        self.finish()?;
        values.ok_or(ServiceError::Unvalidated)
    }
}

#[cfg(test)]
mod tests {
    use onshi_domain::ids::{CheckDigits, InsurerNumber};
    use tonic_types::StatusExt;

    use super::*;

    fn trailer_bytes(s: &Status) -> usize {
        s.message().len() + s.details().len()
    }

    #[test]
    fn a_long_field_is_echoed_short_and_many_violations_are_counted_not_listed() {
        let mut v = Violations::default();
        let long = "\u{1}".repeat(60 * 1024);
        v.check_in("search", "insurer_number", InsurerNumber::parse(&long, CheckDigits::Strict));
        let status = Status::from(v.finish().expect_err("invalid"));
        let fields: Vec<String> = status
            .get_details_bad_request()
            .map(|b| b.field_violations.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, vec!["search.insurer_number"]);
        assert!(trailer_bytes(&status) < 2048, "{}", trailer_bytes(&status));

        let many = (0..1000).map(|i| (format!("registrations[{i}].insurer_number"), "is wrong".repeat(4))).collect();
        let status = Status::from(ServiceError::BadRequest(many));
        let b = status.get_details_bad_request().expect("bad request");
        assert!(b.field_violations.len() > 10 && b.field_violations.len() < 1000);
        assert!(b.field_violations.last().is_some_and(|f| f.description.contains("more invalid fields")));
        assert!(trailer_bytes(&status) < 8 * 1024, "{}", trailer_bytes(&status));
    }
}
