//! 照会番号 registration: a facility registers its own patient ID for the person a set of insured
//! numbers identifies; later confirmations for that facility carry it as `reference_number`. It
//! is never a lookup key, and no facility sees another's.

use onshi_domain::codes::{ProcessingResultStatus, ReferenceClassification, SegmentOfResult};
use onshi_domain::result_codes::{ResultCode, ResultKey};
use onshi_proto::served::{
    ReferenceNumberRegistration, ReferenceNumberResult, RegisterReferenceNumberRequest,
    RegisterReferenceNumberResponse, RegisterReferenceNumbersRequest, RegisterReferenceNumbersResponse,
};

use super::App;
use super::qualification::{parse_search, result_header, validate_header};
use crate::auth::Caller;
use crate::errors::{ServiceError, Violations};
use crate::ops::reference::{self, Registered};

/// The most registrations one bulk call may carry.
pub const MAX_REGISTRATIONS: usize = 1_000;
/// The longest reference number.
pub const MAX_REFERENCE_CHARS: usize = 20;

fn outcome(code: Option<&ResultCode>, number: &str) -> ReferenceNumberResult {
    ReferenceNumberResult {
        processing_result_status: code.map_or(ProcessingResultStatus::Success, |c| c.status).code().to_owned(),
        processing_result_code: code.map(|c| c.code.clone()).unwrap_or_default(),
        processing_result_message: code.map(|c| c.message.clone()).unwrap_or_default(),
        reference_number: number.to_owned(),
    }
}

impl App {
    /// Validates every registration (all problems at once), then resolves and records them.
    fn register(
        &self,
        caller: &Caller,
        registrations: &[&ReferenceNumberRegistration],
        paths: &[String],
        v: &mut Violations,
    ) -> Result<Vec<ReferenceNumberResult>, ServiceError> {
        let mut queries = Vec::with_capacity(registrations.len());
        for (r, path) in registrations.iter().zip(paths) {
            let empty = Default::default();
            let s = r.qualification_confirm_search_info.as_ref().unwrap_or(&empty);
            queries.push(parse_search(
                caller.check_digits,
                s.into(),
                &format!("{path}.qualification_confirm_search_info"),
                v,
            ));
            let n = &r.reference_number;
            if n.chars().count() > MAX_REFERENCE_CHARS || n.chars().any(char::is_control) {
                v.add(
                    &format!("{path}.reference_number"),
                    format!("must be at most {MAX_REFERENCE_CHARS} characters without control characters"),
                );
            }
        }
        std::mem::take(v).finish()?;
        // Every query parsed: with no violation recorded, none is missing.
        let queries = queries.into_iter().map(|q| q.map(|(q, _)| q).ok_or(ServiceError::Unvalidated));
        let queries = queries.collect::<Result<Vec<_>, _>>()?;
        let numbers = registrations.iter().map(|r| r.reference_number.as_str());
        let registered = reference::register(&self.store.get(), caller.code, queries.into_iter().zip(numbers))?;
        let results = registered
            .into_iter()
            .zip(registrations)
            .map(|(done, r)| {
                let code = match done {
                    Registered::Done => None,
                    Registered::NoMatch => Some(self.codes.get(ResultKey::NoMatch)),
                    Registered::SeveralMatch => Some(self.codes.get(ResultKey::SeveralMatch)),
                };
                outcome(code, &r.reference_number)
            })
            .collect();
        Ok(results)
    }

    pub(crate) fn register_reference_number(
        &self,
        caller: &Caller,
        req: &RegisterReferenceNumberRequest,
    ) -> Result<RegisterReferenceNumberResponse, ServiceError> {
        let now = self.clock.now();
        let mut v = Violations::default();
        let header = validate_header(caller, req.message_header.as_ref(), now, &mut v)?;
        let empty = ReferenceNumberRegistration::default();
        if req.registration.is_none() {
            v.add("registration", "is required");
        }
        let reg = req.registration.as_ref().unwrap_or(&empty);
        let mut results = self.register(caller, &[reg], &["registration".to_owned()], &mut v)?;
        Ok(RegisterReferenceNumberResponse {
            message_header: Some(result_header(
                caller,
                &header,
                now,
                ReferenceClassification::InsuredNumber,
                SegmentOfResult::Done,
            )),
            result: results.pop(),
        })
    }

    pub(crate) fn register_reference_numbers(
        &self,
        caller: &Caller,
        req: &RegisterReferenceNumbersRequest,
    ) -> Result<RegisterReferenceNumbersResponse, ServiceError> {
        let now = self.clock.now();
        let mut v = Violations::default();
        let header = validate_header(caller, req.message_header.as_ref(), now, &mut v)?;
        if req.registrations.is_empty() || req.registrations.len() > MAX_REGISTRATIONS {
            v.add(
                "registrations",
                format!("must hold 1 to {MAX_REGISTRATIONS} entries; got {}", req.registrations.len()),
            );
            return Err(std::mem::take(&mut v).finish().err().unwrap_or(ServiceError::BadRequest(Vec::new())));
        }
        let regs: Vec<&ReferenceNumberRegistration> = req.registrations.iter().collect();
        let paths: Vec<String> = (0..regs.len()).map(|i| format!("registrations[{i}]")).collect();
        let results = self.register(caller, &regs, &paths, &mut v)?;
        Ok(RegisterReferenceNumbersResponse {
            message_header: Some(result_header(
                caller,
                &header,
                now,
                ReferenceClassification::InsuredNumber,
                SegmentOfResult::Done,
            )),
            results,
        })
    }
}
