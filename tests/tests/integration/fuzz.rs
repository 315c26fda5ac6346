//! Arbitrary field values through the real handlers, in process (a real store, no sockets): never
//! a panic, every refusal INVALID_ARGUMENT naming its fields (or the documented NOT_FOUND,
//! FAILED_PRECONDITION, PERMISSION_DENIED), and a refused request leaves the store unchanged.

use onshi_proto::served::access_history_service_server::AccessHistoryService;
use onshi_proto::served::admin_service_server::AdminService;
use onshi_proto::served::checkup_service_server::CheckupService;
use onshi_proto::served::fee_service_server::FeeService;
use onshi_proto::served::medication_service_server::MedicationService;
use onshi_proto::served::qualification_service_server::QualificationService;
use onshi_proto::served::{self as pb, person_ref::By};
use onshi_server::auth::{ConnIdentity, FACILITY_HEADER};
use onshi_server::service::access_history::AccessHistory;
use onshi_server::service::admin::Admin;
use onshi_server::service::fees::Fees;
use onshi_server::service::medical::{Checkup, Medication};
use onshi_server::service::qualification::Qualification;
use proptest::prelude::*;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

use crate::common::{CLINIC, TestServer};

/// Text as clients might send it: empty, digits, near-valid identifiers, control characters,
/// full-width and kana, long runs.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[0-9]{1,12}",
        "[0-9A-Fa-f ]{0,24}",
        "\\PC{0,30}",
        "[\\x00-\\x1f]{1,8}",
        "[０-９ｱ-ﾝ一-龠]{0,12}",
        (1usize..3000).prop_map(|n| "9".repeat(n)),
    ]
}

fn search() -> impl Strategy<Value = pb::QualificationConfirmSearchInfo> {
    (text(), text(), text(), text(), text(), text(), text()).prop_map(|(a, b, c, d, e, f, g)| {
        pb::QualificationConfirmSearchInfo {
            insurer_number: a,
            insured_card_symbol: b,
            insured_identification_number: c,
            insured_branch_number: d,
            birthdate: e,
            limit_application_certificate_related_cons_flg: f,
            arbitrary_identifier: g,
        }
    })
}

fn header() -> impl Strategy<Value = Option<pb::RequestHeader>> {
    proptest::option::of((text(), text(), text()).prop_map(|(d, m, a)| pb::RequestHeader {
        qualification_confirmation_date: d,
        medical_institution_code: m,
        arbitrary_file_identifier: a,
    }))
}

fn patient(s: pb::QualificationConfirmSearchInfo) -> pb::PatientSearchInfo {
    pb::PatientSearchInfo {
        insurer_number: s.insurer_number,
        insured_card_symbol: s.insured_card_symbol,
        insured_identification_number: s.insured_identification_number,
        insured_branch_number: s.insured_branch_number,
        birthdate: s.birthdate,
    }
}

fn facility_request<T>(body: T) -> Request<T> {
    let mut r = Request::new(body);
    r.extensions_mut().insert(ConnIdentity::plaintext(None));
    r.metadata_mut().insert(FACILITY_HEADER, CLINIC.parse().expect("header"));
    r
}

fn admin_request<T>(body: T) -> Request<T> {
    let mut r = Request::new(body);
    r.extensions_mut().insert(ConnIdentity::plaintext(None));
    r
}

/// What a refusal must look like, and that it wrote nothing.
fn check<T>(outcome: Result<T, Status>, before: u64, after: u64) -> Result<(), TestCaseError> {
    let Err(status) = outcome else { return Ok(()) };
    prop_assert!(
        matches!(
            status.code(),
            Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition | Code::PermissionDenied
        ),
        "unexpected {:?}: {}",
        status.code(),
        status.message()
    );
    if status.code() == Code::InvalidArgument {
        let fields = status.get_details_bad_request().map(|b| b.field_violations).unwrap_or_default();
        prop_assert!(fields.first().is_some_and(|f| !f.field.is_empty()), "no field named: {}", status.message());
    }
    prop_assert!(status.message().len() + status.details().len() < 8 * 1024, "trailers too large");
    prop_assert_eq!(before, after, "a refused request wrote to the store: {}", status.message());
    Ok(())
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    server: TestServer,
}

impl Fixture {
    fn new() -> Fixture {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let server = runtime.block_on(TestServer::start());
        Fixture { runtime, server }
    }

    fn seq(&self) -> u64 {
        self.server.app.store.get().latest_sequence_number()
    }

    fn run<T>(&self, call: impl std::future::Future<Output = Result<T, Status>>) -> Result<(), TestCaseError> {
        let before = self.seq();
        let outcome = self.runtime.block_on(call);
        check(outcome, before, self.seq())
    }
}

/// 96 cases per test in CI; `ONSHI_FUZZ_CASES=20000` for a longer run.
fn config() -> ProptestConfig {
    let cases = std::env::var("ONSHI_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

#[test]
fn facility_requests_with_arbitrary_fields() {
    let f = Fixture::new();
    let app = f.server.app.clone();
    proptest!(config(), |(h in header(), s in search(), serial in text(), method in text(), flags in proptest::collection::vec(text(), 6), months in (text(), text()), n in text(), token in text())| {
        let q = Qualification(app.clone());
        f.run(q.confirm_by_insured_number(facility_request(pb::ConfirmByInsuredNumberRequest {
            message_header: h.clone(), qualification_confirm_search_info: Some(s.clone()) })))?;
        f.run(q.confirm_by_card(facility_request(pb::ConfirmByCardRequest {
            message_header: h.clone(),
            card_reader_info: Some(pb::CardReaderInfo {
                certificate_serial_number: serial.clone(),
                verification_method: method.clone(),
                pharmacists_info_cons_flg: flags[0].clone(),
                specific_health_checkups_info_cons_flg: flags[1].clone(),
                diagnosis_info_cons_flg: flags[2].clone(),
                operation_info_cons_flg: flags[3].clone(),
                limit_application_certificate_related_cons_flg: flags[4].clone(),
                specific_diseases_certificate_related_cons_flg: flags[5].clone(),
            }) })))?;
        f.run(q.bulk_confirm_upload(facility_request(pb::BulkConfirmUploadRequest {
            message_header: h.clone(), qualification_confirm_search_info: vec![s.clone(), s.clone()] })))?;
        f.run(q.bulk_confirm_download(facility_request(pb::BulkConfirmDownloadRequest {
            message_header: h.clone(), reception_number: n.clone() })))?;
        f.run(q.register_reference_numbers(facility_request(pb::RegisterReferenceNumbersRequest {
            message_header: h.clone(),
            registrations: vec![pb::ReferenceNumberRegistration {
                qualification_confirm_search_info: Some(s.clone()), reference_number: n.clone() }] })))?;
        f.run(Medication(app.clone()).get_medication_info(facility_request(pb::GetMedicationInfoRequest {
            message_header: h.clone(), patient_search_info: Some(patient(s.clone())),
            start_date: months.0.clone(), end_date: months.1.clone() })))?;
        f.run(Checkup(app.clone()).get_specific_health_checkup_info(facility_request(
            pb::GetSpecificHealthCheckupInfoRequest { message_header: h.clone(), patient_search_info: Some(patient(s.clone())) })))?;
        f.run(AccessHistory(app.clone()).list_access_history(facility_request(pb::ListAccessHistoryRequest {
            certificate_serial_number: serial.clone(), page_size: n.len() as i32 - 3, page_token: token.clone() })))?;
        let fees = Fees(app.clone());
        let patients = [
            pb::fee_patient::Patient::CertificateSerialNumber(serial.clone()),
            pb::fee_patient::Patient::Insured(patient(s.clone())),
        ];
        f.run(fees.compute_additions(facility_request(pb::ComputeAdditionsRequest {
            from_date: months.0.clone(),
            to_date: flags[0].clone(),
            visits: patients.into_iter().map(|p| pb::FeeVisit {
                patient: Some(pb::FeePatient { patient: Some(p) }),
                date: flags[1].clone(),
                kind: n.len() as i32 % 5 - 1,
                outpatient_care: token.len() % 2 == 1,
            }).collect(),
            notifications: vec![pb::FeeNotification { addition: flags[2].clone(), from_date: flags[3].clone(), tier: flags[4].clone() }],
            e_prescription: token.len() % 3 == 0,
        })))?;
        f.run(fees.usage_rate(facility_request(pb::UsageRateRequest {
            claim_month: months.1.clone(), from_month: months.0.clone(), to_month: flags[5].clone(), e_prescription: false })))?;
        let count = |t: &str| t.len() as u32 * 7;
        f.run(fees.estimate_additions(facility_request(pb::EstimateAdditionsRequest {
            department: n.len() as i32 % 5 - 1,
            counts: Some(if token.len() % 2 == 0 {
                pb::estimate_additions_request::Counts::PerDay(pb::PatientsPerDay {
                    patients: count(&flags[0]), first_visits: count(&flags[1]), revisits: count(&flags[2]), days_per_month: count(&flags[3]) })
            } else {
                pb::estimate_additions_request::Counts::PerMonth(pb::PatientsPerMonth { patients: count(&flags[0]), counted: count(&flags[1]) })
            }),
            card_holding_rate_hundredths: count(&serial) * 100,
            rules_date: months.0.clone(),
        })))?;
        f.run(fees.estimate_subsidy(facility_request(pb::EstimateSubsidyRequest {
            facility: n.len() as i32 % 6 - 1, card_readers: count(&token) % 5, eligible_cost_yen: u64::from(count(&serial)) * 1000,
            readers_applied_on: months.0.clone(), installed_on: months.1.clone(), subsidy_applied_on: flags[0].clone() })))?;
    });
    f.runtime.block_on(f.server.stop());
}

#[test]
fn admin_requests_with_arbitrary_fields() {
    let f = Fixture::new();
    let admin = Admin(f.server.app.clone());
    proptest!(config(), |(s in search(), t in proptest::collection::vec(text(), 8), id in prop_oneof![Just(0u64), any::<u64>()])| {
        let person = |i: usize| Some(pb::PersonRef { by: Some(match i % 3 {
            0 => By::CertificateSerialNumber(t[i].clone()),
            1 => By::Insured(s.clone()),
            _ => By::PersonId(id),
        }) });
        let spec = pb::QualificationSpec {
            insurer_number: s.insurer_number.clone(),
            insurer_name: t[0].clone(),
            insured_card_symbol: s.insured_card_symbol.clone(),
            insured_identification_number: s.insured_identification_number.clone(),
            insured_branch_number: s.insured_branch_number.clone(),
            personal_family_classification: t[1].clone(),
            qualification_date: t[2].clone(),
            insured_card_classification: t[3].clone(),
            insured_partial_contribution_ratio: t[4].clone(),
            ..Default::default()
        };
        f.run(admin.upsert_person(admin_request(pb::UpsertPersonRequest {
            person_id: id % 3, name: t[0].clone(), name_kana: t[1].clone(), sex: t[2].clone(), birthdate: s.birthdate.clone(),
            address: t[3].clone(), post_number: t[4].clone(), certificate_serial_number: t[5].clone(),
            qualification: Some(spec.clone()) })))?;
        f.run(admin.lose_qualification(admin_request(pb::LoseQualificationRequest {
            person: person(0), disqualification_date: t[6].clone(), reason_of_loss: t[7].clone() })))?;
        f.run(admin.change_insurer(admin_request(pb::ChangeInsurerRequest { person: person(1), qualification: Some(spec) })))?;
        f.run(admin.issue_card(admin_request(pb::IssueCardRequest {
            person: person(2), certificate_serial_number: t[5].clone(), issued: t[6].clone(), expires: t[7].clone() })))?;
        f.run(admin.revoke_card(admin_request(pb::RevokeCardRequest { certificate_serial_number: t[5].clone() })))?;
        f.run(admin.set_consent(admin_request(pb::SetConsentRequest {
            person: person(0), medical_institution_code: t[1].clone(), consent_kind: t[2].clone(), given: id % 2 == 0 })))?;
        f.run(admin.put_facility(admin_request(pb::PutFacilityRequest { facility: Some(pb::FacilityEntry {
            medical_institution_code: s.insurer_number.clone(), name: t[0].clone(), kind: t[1].clone(), status: t[2].clone(),
            certificate_sha256: t[3].clone(), check_digits: t[4].clone() }) })))?;
        f.run(admin.get_person(admin_request(pb::GetPersonRequest { person: person(1) })))?;
    });
    f.runtime.block_on(f.server.stop());
}
