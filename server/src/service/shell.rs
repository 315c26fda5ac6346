//! What every facility call goes through around its handler: readiness, the caller's
//! authorization, injected faults, and the request journal. Handlers stay plain functions from a
//! caller and a request to an answer.

use std::time::Instant;

use onshi_domain::codes::{ReferenceClassification, SegmentOfResult};
use onshi_proto::served;
use prost::Message;
use tonic::{Code, Request, Response, Status};

use super::App;
use super::qualification::{Header, result_header};
use crate::admission::Permit;
use crate::auth::{Caller, ConnIdentity};
use crate::errors::ServiceError;
use crate::faults::Action;
use crate::journal::Entry;

/// What a request says about whom it concerns, for person-scoped faults.
pub trait Subject {
    fn persons(&self) -> Vec<&str> {
        Vec::new()
    }
}

/// What the journal and the request-failure fault need of an answer.
pub trait Answer: Sized {
    /// QualificationValidity, if the answer has one.
    fn validity(&self) -> &str {
        ""
    }
    /// The answer carrying only a failed header (SegmentOfResult 9), if the method has a header.
    fn failed(_header: served::ResultHeader) -> Option<Self> {
        None
    }
}

impl Subject for served::ConfirmByCardRequest {
    fn persons(&self) -> Vec<&str> {
        self.card_reader_info.iter().map(|r| r.certificate_serial_number.as_str()).collect()
    }
}
impl Subject for served::ConfirmByInsuredNumberRequest {
    fn persons(&self) -> Vec<&str> {
        self.qualification_confirm_search_info.iter().map(|s| s.insured_identification_number.as_str()).collect()
    }
}
impl Subject for served::GetMedicationInfoRequest {
    fn persons(&self) -> Vec<&str> {
        self.patient_search_info.iter().map(|s| s.insured_identification_number.as_str()).collect()
    }
}
impl Subject for served::GetSpecificHealthCheckupInfoRequest {
    fn persons(&self) -> Vec<&str> {
        self.patient_search_info.iter().map(|s| s.insured_identification_number.as_str()).collect()
    }
}
impl Subject for served::ListAccessHistoryRequest {
    fn persons(&self) -> Vec<&str> {
        vec![self.certificate_serial_number.as_str()]
    }
}
impl Subject for served::BulkConfirmUploadRequest {}
impl Subject for served::ComputeAdditionsRequest {}
impl Subject for served::UsageRateRequest {}
impl Subject for served::EstimateAdditionsRequest {}
impl Subject for served::EstimateSubsidyRequest {}
impl Subject for served::BulkConfirmDownloadRequest {}
impl Subject for served::RegisterReferenceNumberRequest {}
impl Subject for served::RegisterReferenceNumbersRequest {}

impl Answer for served::QualificationConfirmationResponse {
    fn validity(&self) -> &str {
        self.message_body.as_ref().map_or("", |b| b.qualification_validity.as_str())
    }
    fn failed(header: served::ResultHeader) -> Option<Self> {
        Some(served::QualificationConfirmationResponse { message_header: Some(header), message_body: None })
    }
}
impl Answer for served::BulkConfirmUploadResponse {
    fn failed(header: served::ResultHeader) -> Option<Self> {
        Some(served::BulkConfirmUploadResponse { message_header: Some(header), ..Default::default() })
    }
}
impl Answer for served::BulkConfirmDownloadResponse {
    fn failed(header: served::ResultHeader) -> Option<Self> {
        Some(served::BulkConfirmDownloadResponse { message_header: Some(header), ..Default::default() })
    }
}
impl Answer for served::RegisterReferenceNumberResponse {
    fn failed(header: served::ResultHeader) -> Option<Self> {
        Some(served::RegisterReferenceNumberResponse { message_header: Some(header), result: None })
    }
}
impl Answer for served::RegisterReferenceNumbersResponse {
    fn failed(header: served::ResultHeader) -> Option<Self> {
        Some(served::RegisterReferenceNumbersResponse { message_header: Some(header), results: Vec::new() })
    }
}
impl Answer for served::GetMedicationInfoResponse {
    fn failed(header: served::ResultHeader) -> Option<Self> {
        Some(served::GetMedicationInfoResponse { message_header: Some(header), message_body: None })
    }
}
impl Answer for served::GetSpecificHealthCheckupInfoResponse {
    fn failed(header: served::ResultHeader) -> Option<Self> {
        Some(served::GetSpecificHealthCheckupInfoResponse { message_header: Some(header), message_body: None })
    }
}
impl Answer for served::ListAccessHistoryResponse {}
impl Answer for served::ComputeAdditionsResponse {}
impl Answer for served::UsageRateResponse {}
impl Answer for served::EstimateAdditionsResponse {}
impl Answer for served::EstimateSubsidyResponse {}

/// The facility code a request claims, for the journal (even when it is refused).
fn claimed_facility<T>(request: &Request<T>) -> String {
    if let Some(id) = request.extensions().get::<ConnIdentity>()
        && let Some(cert) = &id.0.certificate
    {
        return cert.common_name.clone().unwrap_or_default();
    }
    request
        .metadata()
        .get(crate::auth::FACILITY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(16).collect())
        .unwrap_or_default()
}

impl App {
    /// Readiness, the caller, and the faults that apply: `Ok(Err(answer))` short-cuts with a
    /// request-level failure answer.
    async fn admit<Req: Subject, Resp: Answer>(
        &self,
        method: &str,
        request: &Request<Req>,
    ) -> Result<Result<(Caller, Permit), Resp>, Status> {
        if !self.serving.ready() {
            return Err(ServiceError::Unavailable("the store is being seeded; try again shortly").into());
        }
        let caller = self.caller(request)?;
        let arrived = request.extensions().get::<crate::limits::Arrived>().map(crate::limits::Arrived::ready_at);
        let permit = self.admission.admit(&caller.code, arrived)?;
        for action in self.faults.check(method, caller.code.as_str(), &request.get_ref().persons()) {
            match action {
                Action::Unavailable => {
                    return Err(ServiceError::Unavailable(
                        "オンライン資格確認等システム is not available (injected outage)",
                    )
                    .into());
                }
                Action::Fail { code, message, reason } => {
                    return Err(ServiceError::Injected { code, message, reason }.into());
                }
                Action::Delay(d) => tokio::time::sleep(d).await,
                Action::RequestFailure { error_code, error_message } => {
                    let now = self.clock.now();
                    let header = Header { date: now.date(), arbitrary_file_identifier: String::new() };
                    let mut h = result_header(
                        &caller,
                        &header,
                        now,
                        ReferenceClassification::InsuredNumber,
                        SegmentOfResult::Failed,
                    );
                    h.reference_classification.clear();
                    h.error_code = error_code;
                    h.error_message = error_message;
                    if let Some(answer) = Resp::failed(h) {
                        return Ok(Err(answer));
                    }
                    return Err(Status::internal("injected request-level failure"));
                }
            }
        }
        Ok(Ok((caller, permit)))
    }

    /// Serves one unary facility call through readiness, authorization, faults and the journal.
    pub(crate) async fn unary<Req, Resp>(
        &self,
        method: &'static str,
        request: Request<Req>,
        handle: impl FnOnce(&App, &Caller, &Req) -> Result<Resp, ServiceError>,
    ) -> Result<Response<Resp>, Status>
    where
        Req: Subject + Message,
        Resp: Answer,
    {
        let started = Instant::now();
        let outcome = match self.admit::<Req, Resp>(method, &request).await {
            Ok(Ok((caller, _permit))) => handle(self, &caller, request.get_ref()).map_err(Status::from),
            Ok(Err(failed)) => Ok(failed),
            Err(status) => Err(status),
        };
        if crate::metrics::enabled() {
            let code = outcome.as_ref().err().map_or(Code::Ok, Status::code);
            let kind = match &request.extensions().get::<ConnIdentity>().and_then(|id| id.0.certificate.as_ref()) {
                Some(cert) => {
                    cert.facility.as_ref().ok().and_then(|c| self.allow_list.with(c, |f| f.map(|f| f.kind.name())))
                }
                None => None,
            };
            crate::metrics::call(method, code, kind.unwrap_or("unknown"), started.elapsed());
        }
        if self.journal.enabled() {
            let (code, message, validity) = match &outcome {
                Ok(answer) => (0, String::new(), answer.validity().to_owned()),
                Err(s) => (s.code() as i32, s.message().to_owned(), String::new()),
            };
            self.journal.record(Entry {
                sequence: 0,
                at: self.clock.unix_now(),
                facility: claimed_facility(&request),
                method,
                request: request.get_ref().encode_to_vec(),
                code,
                message,
                validity,
                latency_us: started.elapsed().as_micros() as u64,
            });
        }
        outcome.map(Response::new)
    }

    /// Admits a streaming call (readiness, authorization, faults at the start of the stream); the
    /// permit is held for the stream's life.
    pub(crate) async fn admit_stream<T>(
        &self,
        method: &'static str,
        request: &Request<T>,
    ) -> Result<(Caller, Permit), Status> {
        struct Nobody;
        impl Subject for Nobody {}
        struct NoAnswer;
        impl Answer for NoAnswer {}
        let probe = Request::from_parts(request.metadata().clone(), request.extensions().clone(), Nobody);
        match self.admit::<Nobody, NoAnswer>(method, &probe).await? {
            Ok((caller, permit)) => {
                if self.journal.enabled() {
                    self.journal.record(Entry {
                        sequence: 0,
                        at: self.clock.unix_now(),
                        facility: caller.code.as_str().to_owned(),
                        method,
                        request: Vec::new(),
                        code: 0,
                        message: "stream opened".to_owned(),
                        validity: String::new(),
                        latency_us: 0,
                    });
                }
                Ok((caller, permit))
            }
            Err(NoAnswer) => Err(Status::internal("injected request-level failure")),
        }
    }
}
