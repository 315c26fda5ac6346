//! AdminService: the controls a test suite uses — seed, reset, snapshots; people, qualifications
//! and cards; medical records and consents; the allow-list; faults; the journal; the clock. Served
//! only on the admin listener, to a plaintext loopback client or the "onshi-admin" certificate.
//!
//! This file holds the tonic trait and the store-wide calls (seed, reset, snapshots); each other
//! group of calls translates protobuf in its own file and leaves the rules to `crate::ops`.

mod clock;
mod facilities;
mod faults;
mod journal;
mod people;
mod records;

use std::pin::Pin;
use std::time::Instant;

use futures_util::Stream;
use onshi_domain::date::Date;
use onshi_proto::served as pb;
use onshi_proto::served::admin_service_server::AdminService;
use onshi_store::MedicalKind;
use onshi_store::handle::valid_snapshot_name;
use onshi_store::seed::SeedSpec;
use prost::Message;
use tonic::{Request, Response, Status};

use crate::app::App;
use crate::auth::revocation::Revoked;
use crate::auth::{ADMIN_COMMON_NAME, ConnIdentity};
use crate::errors::{ServiceError, Violations};

pub use crate::ops::people::ADMIN_ID_BASE;

fn bad(field: &str, description: impl Into<String>) -> ServiceError {
    ServiceError::bad(field, description)
}

fn failed_precondition(reason: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::FailedPrecondition { reason, message: message.into() }
}

/// A date field, or `default` when it is empty (a bad one is recorded and `default` stands in).
fn date_or(v: &mut Violations, field: &str, s: &str, default: Date) -> Date {
    if s.is_empty() { default } else { v.check(field, Date::parse_yyyymmdd(s)).unwrap_or(default) }
}

/// Today in JST by the server's clock (which the admin API may have moved).
fn today(app: &App) -> Date {
    app.clock.now().date()
}

/// Admin calls come from a plaintext loopback client or the admin certificate only.
fn admin_allowed<T>(request: &Request<T>) -> Result<(), Status> {
    match request.extensions().get::<ConnIdentity>().and_then(|id| id.0.certificate.as_ref()) {
        None => Ok(()),
        Some(cert) if cert.common_name.as_deref() == Some(ADMIN_COMMON_NAME) => Ok(()),
        Some(_) => Err(ServiceError::NotAdmin.into()),
    }
}

/// The tonic AdminService.
#[derive(Debug, Clone)]
pub struct Admin(pub App);

type Reply<T> = Result<Response<T>, Status>;

impl Admin {
    fn run<Req, Resp>(
        &self,
        request: Request<Req>,
        f: impl FnOnce(&App, &Req) -> Result<Resp, ServiceError>,
    ) -> Reply<Resp> {
        admin_allowed(&request)?;
        Ok(Response::new(f(&self.0, request.get_ref())?))
    }
}

#[tonic::async_trait]
impl AdminService for Admin {
    type SeedStream = Pin<Box<dyn Stream<Item = Result<pb::SeedProgress, Status>> + Send + 'static>>;

    async fn seed(&self, request: Request<pb::SeedRequest>) -> Reply<Self::SeedStream> {
        admin_allowed(&request)?;
        let req = request.into_inner();
        let meta = self.0.store.get().population().map_err(ServiceError::from)?;
        let seed = match (req.seed, meta) {
            (0, Some(m)) => m.seed,
            (0, None) => 1,
            (s, _) => s,
        };
        if req.persons == 0 || req.persons > onshi_domain::population::MAX_PERSONS {
            return Err(bad("persons", format!("must be 1 to {}", onshi_domain::population::MAX_PERSONS)).into());
        }
        if let Some(m) = meta
            && m.seed != seed
        {
            return Err(failed_precondition(
                "DIFFERENT_SEED",
                format!(
                    "the store holds seed {}; Reset cannot change it either: start with another data directory",
                    m.seed
                ),
            )
            .into());
        }
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::SeedProgress, Status>>(64);
        let app = self.0.clone();
        let total = req.persons;
        let today = today(&app);
        tokio::task::spawn_blocking(move || {
            let progress_tx = tx.clone();
            let spec = SeedSpec { seed, persons: total, as_of: today };
            let result = app
                .store
                .seed_and_baseline(spec, |done| {
                    let _ = progress_tx.blocking_send(Ok(pb::SeedProgress {
                        persons_written: done,
                        persons_total: total,
                        done: false,
                    }));
                })
                .map_err(|e| Status::internal(e.to_string()));
            let last = result.map(|_| pb::SeedProgress { persons_written: total, persons_total: total, done: true });
            let _ = tx.blocking_send(last);
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }

    async fn reset(&self, request: Request<pb::ResetRequest>) -> Reply<pb::ResetResponse> {
        admin_allowed(&request)?;
        let started = Instant::now();
        let app = self.0.clone();
        let found = tokio::task::spawn_blocking(move || app.store.reset())
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(ServiceError::from)?;
        if !found {
            return Err(failed_precondition("NO_BASELINE", "there is no seeded baseline yet").into());
        }
        self.0.reload_allow_list()?;
        Ok(Response::new(pb::ResetResponse { elapsed_ms: started.elapsed().as_millis() as u64 }))
    }

    async fn take_snapshot(&self, request: Request<pb::SnapshotRequest>) -> Reply<pb::SnapshotResponse> {
        admin_allowed(&request)?;
        let name = request.into_inner().name;
        if !valid_snapshot_name(&name) {
            return Err(bad("name", "letters, digits, '-' and '_'; at most 64").into());
        }
        let started = Instant::now();
        let app = self.0.clone();
        let n = name.clone();
        tokio::task::spawn_blocking(move || app.store.snapshot(&n))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(ServiceError::from)?;
        Ok(Response::new(pb::SnapshotResponse { name, elapsed_ms: started.elapsed().as_millis() as u64 }))
    }

    async fn restore_snapshot(&self, request: Request<pb::SnapshotRequest>) -> Reply<pb::SnapshotResponse> {
        admin_allowed(&request)?;
        let name = request.into_inner().name;
        let started = Instant::now();
        let app = self.0.clone();
        let n = name.clone();
        let found = tokio::task::spawn_blocking(move || app.store.restore(&n))
            .await
            .map_err(|e| Status::internal(e.to_string()))?
            .map_err(ServiceError::from)?;
        if !found {
            return Err(ServiceError::not_found("snapshot", "SNAPSHOT_NOT_FOUND").into());
        }
        self.0.reload_allow_list()?;
        Ok(Response::new(pb::SnapshotResponse { name, elapsed_ms: started.elapsed().as_millis() as u64 }))
    }

    async fn list_snapshots(&self, request: Request<pb::ListSnapshotsRequest>) -> Reply<pb::ListSnapshotsResponse> {
        self.run(request, |app, _| Ok(pb::ListSnapshotsResponse { names: app.store.snapshots() }))
    }

    async fn upsert_person(&self, request: Request<pb::UpsertPersonRequest>) -> Reply<pb::PersonResponse> {
        self.run(request, people::upsert)
    }

    async fn get_person(&self, request: Request<pb::GetPersonRequest>) -> Reply<pb::PersonResponse> {
        self.run(request, people::get)
    }

    async fn lose_qualification(&self, request: Request<pb::LoseQualificationRequest>) -> Reply<pb::PersonResponse> {
        self.run(request, people::lose_qualification)
    }

    async fn change_insurer(&self, request: Request<pb::ChangeInsurerRequest>) -> Reply<pb::PersonResponse> {
        self.run(request, people::change_insurer)
    }

    async fn issue_card(&self, request: Request<pb::IssueCardRequest>) -> Reply<pb::PersonResponse> {
        self.run(request, people::issue_card)
    }

    async fn revoke_card(&self, request: Request<pb::RevokeCardRequest>) -> Reply<pb::PersonResponse> {
        self.run(request, people::revoke_card)
    }

    async fn add_medication_record(
        &self,
        request: Request<pb::AddMedicationRecordRequest>,
    ) -> Reply<pb::AddRecordResponse> {
        self.run(request, |app, req| {
            let info = req.dispensing_info.clone().ok_or_else(|| bad("dispensing_info", "is required"))?;
            records::add_medical_record(
                app,
                MedicalKind::Medication,
                req.person.as_ref(),
                &info.dispensing_date,
                &info.encode_to_vec(),
                "dispensing_info.dispensing_date",
            )
        })
    }

    async fn add_checkup_record(&self, request: Request<pb::AddCheckupRecordRequest>) -> Reply<pb::AddRecordResponse> {
        self.run(request, |app, req| {
            let info = req
                .specific_health_checkup_info
                .clone()
                .ok_or_else(|| bad("specific_health_checkup_info", "is required"))?;
            records::add_medical_record(
                app,
                MedicalKind::Checkup,
                req.person.as_ref(),
                &info.checkup_date,
                &info.encode_to_vec(),
                "specific_health_checkup_info.checkup_date",
            )
        })
    }

    async fn set_consent(&self, request: Request<pb::SetConsentRequest>) -> Reply<pb::SetConsentResponse> {
        self.run(request, records::set_consent)
    }

    async fn put_facility(&self, request: Request<pb::PutFacilityRequest>) -> Reply<pb::FacilityResponse> {
        self.run(request, facilities::put)
    }

    async fn remove_facility(&self, request: Request<pb::RemoveFacilityRequest>) -> Reply<pb::RemoveFacilityResponse> {
        self.run(request, facilities::remove)
    }

    async fn list_facilities(&self, request: Request<pb::ListFacilitiesRequest>) -> Reply<pb::ListFacilitiesResponse> {
        self.run(request, |app, _| {
            Ok(pb::ListFacilitiesResponse {
                facilities: app.store.get().facilities()?.iter().map(facilities::entry_pb).collect(),
            })
        })
    }

    async fn revoke_certificate(
        &self,
        request: Request<pb::RevokeCertificateRequest>,
    ) -> Reply<pb::RevokedCertificatesResponse> {
        self.run(request, |app, req| {
            let sha = facilities::fingerprint(&req.certificate_sha256)?;
            let revoked = Revoked { revoked_at: app.clock.unix_now(), reason: req.reason.chars().take(200).collect() };
            app.revocations.set(&sha, Some(revoked)).map_err(facilities::revocation_failed)?;
            Ok(facilities::revoked_list(app))
        })
    }

    async fn reinstate_certificate(
        &self,
        request: Request<pb::ReinstateCertificateRequest>,
    ) -> Reply<pb::RevokedCertificatesResponse> {
        self.run(request, |app, req| {
            let sha = facilities::fingerprint(&req.certificate_sha256)?;
            if !app.revocations.set(&sha, None).map_err(facilities::revocation_failed)? {
                return Err(ServiceError::not_found("revoked certificate", "CERTIFICATE_NOT_REVOKED"));
            }
            Ok(facilities::revoked_list(app))
        })
    }

    async fn list_revoked_certificates(
        &self,
        request: Request<pb::ListRevokedCertificatesRequest>,
    ) -> Reply<pb::RevokedCertificatesResponse> {
        self.run(request, |app, _| Ok(facilities::revoked_list(app)))
    }

    async fn add_fault(&self, request: Request<pb::AddFaultRequest>) -> Reply<pb::Fault> {
        self.run(request, faults::add)
    }

    async fn list_faults(&self, request: Request<pb::ListFaultsRequest>) -> Reply<pb::ListFaultsResponse> {
        self.run(request, |app, _| {
            Ok(pb::ListFaultsResponse { faults: app.faults.list().iter().map(|f| faults::to_pb(f)).collect() })
        })
    }

    async fn clear_faults(&self, request: Request<pb::ClearFaultsRequest>) -> Reply<pb::ClearFaultsResponse> {
        self.run(request, |app, req| {
            let cleared = app.faults.clear((req.id != 0).then_some(req.id)) as u32;
            app.serving.notify();
            Ok(pb::ClearFaultsResponse { cleared })
        })
    }

    async fn read_journal(&self, request: Request<pb::ReadJournalRequest>) -> Reply<pb::ReadJournalResponse> {
        self.run(request, journal::read)
    }

    async fn clear_journal(&self, request: Request<pb::ClearJournalRequest>) -> Reply<pb::ClearJournalResponse> {
        self.run(request, |app, _| {
            app.journal.clear();
            Ok(pb::ClearJournalResponse {})
        })
    }

    async fn set_journal(&self, request: Request<pb::SetJournalRequest>) -> Reply<pb::SetJournalResponse> {
        self.run(request, |app, req| {
            app.journal.set_enabled(req.enabled);
            Ok(pb::SetJournalResponse { enabled: app.journal.enabled() })
        })
    }

    async fn set_clock(&self, request: Request<pb::SetClockRequest>) -> Reply<pb::ClockResponse> {
        self.run(request, clock::set_clock)
    }
}
