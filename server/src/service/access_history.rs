//! AccessHistoryService: a person's disclosures, newest first, paged — what マイナポータル shows
//! (`ops::history`), translated to and from protobuf. Read-only: records are appended by the
//! disclosing calls and never altered.

use onshi_domain::date::JstDateTime;
use onshi_domain::ids::CertificateSerial;
use onshi_proto::served::access_history_service_server::AccessHistoryService;
use onshi_proto::served::{AccessRecord, ListAccessHistoryRequest, ListAccessHistoryResponse};
use tonic::{Request, Response, Status};

use super::App;
use crate::errors::{ServiceError, Violations};
use onshi_store::PageToken;

pub const DEFAULT_PAGE_SIZE: i32 = 20;
pub const MAX_PAGE_SIZE: i32 = 100;

fn time(secs: i64) -> String {
    JstDateTime::from_unix_seconds(secs).map(JstDateTime::compact).unwrap_or_default()
}

impl App {
    fn access_history(&self, req: &ListAccessHistoryRequest) -> Result<ListAccessHistoryResponse, ServiceError> {
        let mut v = Violations::default();
        let serial = v.check("certificate_serial_number", CertificateSerial::parse(&req.certificate_serial_number));
        if !(0..=MAX_PAGE_SIZE).contains(&req.page_size) {
            v.add("page_size", format!("must be 1 to {MAX_PAGE_SIZE} (0 for {DEFAULT_PAGE_SIZE})"));
        }
        let after = if req.page_token.is_empty() {
            None
        } else {
            let token = PageToken::parse(&req.page_token);
            if token.is_none() {
                v.add("page_token", "is not a token from this listing");
            }
            token
        };
        let serial = v.finish_with(serial)?;
        let size = if req.page_size == 0 { DEFAULT_PAGE_SIZE } else { req.page_size } as usize;
        let (records, next) = crate::ops::history::page(&self.store.get(), &serial, size, after)?;
        Ok(ListAccessHistoryResponse {
            access_record: records
                .into_iter()
                .map(|r| AccessRecord {
                    access_time: time(r.at),
                    medical_institution_code: r.facility_code,
                    medical_institution_name: r.facility_name,
                    information_kind: r.kind,
                    consent_time: time(r.consent_given_at),
                    consent_available_time: time(r.consent_available_until),
                    detail: r.detail,
                })
                .collect(),
            next_page_token: next.map(|t| t.to_string()).unwrap_or_default(),
        })
    }
}

/// The tonic AccessHistoryService.
#[derive(Debug, Clone)]
pub struct AccessHistory(pub App);

#[tonic::async_trait]
impl AccessHistoryService for AccessHistory {
    async fn list_access_history(
        &self,
        request: Request<ListAccessHistoryRequest>,
    ) -> Result<Response<ListAccessHistoryResponse>, Status> {
        // Any allowed client may read it (see access_history.proto).
        self.0
            .unary("/onshi.v1.AccessHistoryService/ListAccessHistory", request, |app, _caller, req| {
                app.access_history(req)
            })
            .await
    }
}
