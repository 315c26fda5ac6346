//! The admin API through its real listener: people, cards and qualifications; medical records and
//! consents; facilities; faults of every kind; the journal; reset and snapshots; growing the
//! population; the clock; and who may reach it at all.

use std::sync::Arc;

use onshi_proto::v1::admin_service_client::AdminServiceClient;
use onshi_proto::v1::checkup_service_client::CheckupServiceClient;
use onshi_proto::v1::fault::Kind;
use onshi_proto::v1::medication_service_client::MedicationServiceClient;
use onshi_proto::v1::person_ref::By;
use onshi_proto::v1::{
    AddCheckupRecordRequest, AddFaultRequest, AddMedicationRecordRequest, BulkConfirmDownloadRequest,
    BulkConfirmUploadRequest, BulkDelayFault, ChangeInsurerRequest, CheckupItem, ClearFaultsRequest,
    ConfirmByInsuredNumberRequest, DispensingInfo, DrugInfo, FacilityEntry, Fault, GetMedicationInfoRequest,
    GetPersonRequest, GetSpecificHealthCheckupInfoRequest, IssueCardRequest, LatencyFault, ListFacilitiesRequest,
    ListFaultsRequest, ListSnapshotsRequest, LoseQualificationRequest, OutageFault, PersonRef, PutFacilityRequest,
    QualificationSpec, ReadJournalRequest, RemoveFacilityRequest, RequestFailureFault, ResetRequest, RevokeCardRequest,
    SeedRequest, SetClockRequest, SetConsentRequest, SetJournalRequest, SnapshotRequest, SpecificHealthCheckupInfo,
    StatusFault, UpsertPersonRequest,
};
use tonic::Code;
use tonic::transport::Channel;

use crate::common::{
    CLINIC, PERSONS, PHARMACY, TestServer, VALID_SERIAL, card_with_consents, error_reason, patient, valid_person_search,
};

fn by_serial(s: &str) -> Option<PersonRef> {
    Some(PersonRef { by: Some(By::CertificateSerialNumber(s.into())) })
}

fn fault(kind: Kind) -> Fault {
    Fault { kind: Some(kind), ..Default::default() }
}

async fn add_fault(admin: &mut AdminServiceClient<Channel>, f: Fault) -> u64 {
    admin.add_fault(AddFaultRequest { fault: Some(f) }).await.expect("fault added").into_inner().id
}

fn new_qualification(number: &str) -> QualificationSpec {
    QualificationSpec {
        insurer_number: "01130012".into(),
        insurer_name: "全国健康保険協会東京支部".into(),
        insured_card_symbol: "91000001".into(),
        insured_identification_number: number.into(),
        insured_branch_number: "00".into(),
        qualification_date: "20200401".into(),
        ..Default::default()
    }
}

fn search_for(number: &str, birthdate: &str) -> onshi_proto::v1::QualificationConfirmSearchInfo {
    onshi_proto::v1::QualificationConfirmSearchInfo {
        insurer_number: "01130012".into(),
        insured_card_symbol: "91000001".into(),
        insured_identification_number: number.into(),
        insured_branch_number: "00".into(),
        birthdate: birthdate.into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_qualifications_and_cards() {
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    let mut clinic = server.qualification(CLINIC).await;

    // A new person with a card.
    let created = admin
        .upsert_person(UpsertPersonRequest {
            person_id: 0,
            name: "試験\u{3000}花子".into(),
            name_kana: "シケン　ハナコ".into(),
            sex: "2".into(),
            birthdate: "19900704".into(),
            address: "東京都千代田区千代田1番1号".into(),
            post_number: "100-0001".into(),
            certificate_serial_number: "C0FFEE01".into(),
            qualification: Some(new_qualification("77")),
        })
        .await
        .expect("created")
        .into_inner();
    assert!(created.person_id >= 1 << 41);
    let r = clinic.confirm_by_card(card_with_consents("C0FFEE01", &[])).await.expect("ok").into_inner();
    let body = r.message_body.expect("body");
    assert_eq!(body.qualification_validity, "1");
    assert_eq!(body.result_list[0].name_kana, "ｼｹﾝ ﾊﾅｺ");
    assert_eq!(body.result_list[0].insured_partial_contribution_ratio, "030");

    // Lose it: validity 2 with the reason.
    admin
        .lose_qualification(LoseQualificationRequest {
            person: by_serial("C0FFEE01"),
            disqualification_date: "20251101".into(),
            reason_of_loss: "01".into(),
        })
        .await
        .expect("lost");
    let r = clinic
        .confirm_by_insured_number(ConfirmByInsuredNumberRequest {
            message_header: None,
            qualification_confirm_search_info: Some(search_for("77", "19900704")),
        })
        .await
        .expect("ok")
        .into_inner();
    let body = r.message_body.expect("body");
    assert_eq!((body.qualification_validity.as_str(), body.result_list[0].reason_of_loss.as_str()), ("2", "01"));

    // Move a scenario person to a new insurer: old numbers 3, new numbers and the card 1.
    let mut next = new_qualification("88");
    next.qualification_date = "20260101".into();
    admin
        .change_insurer(ChangeInsurerRequest { person: by_serial(VALID_SERIAL), qualification: Some(next) })
        .await
        .expect("changed");
    let old = clinic
        .confirm_by_insured_number(ConfirmByInsuredNumberRequest {
            message_header: None,
            qualification_confirm_search_info: Some(valid_person_search()),
        })
        .await
        .expect("ok")
        .into_inner();
    assert_eq!(old.message_body.expect("body").qualification_validity, "3");
    let card = clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect("ok").into_inner();
    assert_eq!(card.message_body.expect("body").result_list[0].insured_identification_number, "88");

    // Reissue the card: the old serial is revoked, the new one answers.
    let reissued = admin
        .issue_card(IssueCardRequest {
            person: by_serial(VALID_SERIAL),
            certificate_serial_number: "C0FFEE02".into(),
            ..Default::default()
        })
        .await
        .expect("issued")
        .into_inner();
    assert!(reissued.person_json.contains("C0FFEE02"));
    let old_card = clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect("ok").into_inner();
    assert_eq!(old_card.message_body.expect("body").processing_result_code, "2101");
    let new_card = clinic.confirm_by_card(card_with_consents("C0FFEE02", &[])).await.expect("ok").into_inner();
    assert_eq!(new_card.message_body.expect("body").qualification_validity, "1");
    admin.revoke_card(RevokeCardRequest { certificate_serial_number: "C0FFEE02".into() }).await.expect("revoked");
    let revoked = clinic.confirm_by_card(card_with_consents("C0FFEE02", &[])).await.expect("ok").into_inner();
    assert_eq!(revoked.message_body.expect("body").processing_result_code, "2101");

    // A population person can be changed too, and read back.
    let pop = server.population();
    let serial = (0..PERSONS).find_map(|i| pop.keys(i).card_serial).expect("a card");
    let got =
        admin.get_person(GetPersonRequest { person: by_serial(serial.as_str()) }).await.expect("found").into_inner();
    assert!(got.person_json.contains(serial.as_str()));
    // A serial that belongs to someone else cannot be issued again.
    let status = admin
        .issue_card(IssueCardRequest {
            person: by_serial("C0FFEE01"),
            certificate_serial_number: serial.as_str().into(),
            ..Default::default()
        })
        .await
        .expect_err("taken");
    assert_eq!(status.code(), Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medical_records_and_consents() {
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    let person = Some(PersonRef { by: Some(By::Insured(valid_person_search())) });
    let today = server.app.clock.now().date().yyyymmdd();
    admin
        .add_medication_record(AddMedicationRecordRequest {
            person: person.clone(),
            dispensing_info: Some(DispensingInfo {
                dispensing_date: today.clone(),
                dispensing_medical_institution_code: "1342345673".into(),
                dispensing_medical_institution_name: "オンシ薬局".into(),
                drug_info: vec![DrugInfo {
                    drug_c: "620000001".into(),
                    drug_n: "テスト錠10mg".into(),
                    qua1: "1".into(),
                    unit: "錠".into(),
                    usage_n: "1日1回朝食後".into(),
                    times: "14".into(),
                }],
                ..Default::default()
            }),
        })
        .await
        .expect("added");
    admin
        .add_checkup_record(AddCheckupRecordRequest {
            person: person.clone(),
            specific_health_checkup_info: Some(SpecificHealthCheckupInfo {
                checkup_date: today.clone(),
                checkup_institution_name: "テスト健診".into(),
                checkup_item: vec![CheckupItem {
                    item_code: "9N001000000000001".into(),
                    item_name: "身長".into(),
                    data_value: "170.0".into(),
                    unit: "cm".into(),
                }],
            }),
        })
        .await
        .expect("added");
    // Consent given as the card reader would.
    for kind in ["pharmacists_info", "specific_health_checkups_info"] {
        admin
            .set_consent(SetConsentRequest {
                person: person.clone(),
                medical_institution_code: CLINIC.into(),
                consent_kind: kind.into(),
                given: true,
            })
            .await
            .expect("consent");
    }
    let med = MedicationServiceClient::new(server.channel(CLINIC).await)
        .get_medication_info(GetMedicationInfoRequest {
            message_header: None,
            patient_search_info: Some(patient(&valid_person_search())),
            start_date: today[..6].into(),
            end_date: String::new(),
        })
        .await
        .expect("served")
        .into_inner();
    let drugs: Vec<String> = med
        .message_body
        .expect("body")
        .monthly_medication_info
        .iter()
        .flat_map(|m| m.dispensing_info.iter().flat_map(|d| d.drug_info.iter().map(|x| x.drug_n.clone())))
        .collect();
    assert!(drugs.contains(&"テスト錠10mg".to_owned()), "the added record shows at once: {drugs:?}");
    let checkups = CheckupServiceClient::new(server.channel(CLINIC).await)
        .get_specific_health_checkup_info(GetSpecificHealthCheckupInfoRequest {
            message_header: None,
            patient_search_info: Some(patient(&valid_person_search())),
        })
        .await
        .expect("served")
        .into_inner();
    assert!(
        checkups
            .message_body
            .expect("body")
            .specific_health_checkup_info
            .iter()
            .any(|c| c.checkup_institution_name == "テスト健診")
    );
    // Withdrawn: refused again.
    admin
        .set_consent(SetConsentRequest {
            person,
            medical_institution_code: CLINIC.into(),
            consent_kind: "pharmacists_info".into(),
            given: false,
        })
        .await
        .expect("withdrawn");
    let status = MedicationServiceClient::new(server.channel(CLINIC).await)
        .get_medication_info(GetMedicationInfoRequest {
            message_header: None,
            patient_search_info: Some(patient(&valid_person_search())),
            start_date: today[..6].into(),
            end_date: String::new(),
        })
        .await
        .expect_err("no consent");
    assert_eq!(error_reason(&status).as_deref(), Some("CONSENT_MISSING"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facilities_change_at_once() {
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    // A new facility with a certificate from the server's CA.
    let ca = onshi_server::pki::Ca::load(
        &std::fs::read_to_string(server.pki.ca()).expect("ca"),
        &std::fs::read_to_string(server.pki.ca_key()).expect("ca key"),
    )
    .expect("CA");
    let code = "1312340001";
    let cert = ca.issue_facility(code, "新規クリニック").expect("cert");
    let identity = || Some((cert.cert_pem.clone().into_bytes(), cert.key_pem.clone().into_bytes()));
    let channel = server.channel_with(server.ca_pem(), identity()).await.expect("connect");
    let mut newcomer = onshi_proto::v1::qualification_service_client::QualificationServiceClient::new(channel);
    let status = newcomer.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect_err("not listed yet");
    assert_eq!(error_reason(&status).as_deref(), Some("FACILITY_NOT_ALLOWED"));

    let entry = |status: &str, sha: &str| FacilityEntry {
        medical_institution_code: code.into(),
        name: "新規クリニック".into(),
        kind: "clinic".into(),
        status: status.into(),
        certificate_sha256: sha.into(),
        check_digits: String::new(),
    };
    admin.put_facility(PutFacilityRequest { facility: Some(entry("active", "")) }).await.expect("allowed");
    assert!(newcomer.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.is_ok());
    admin.put_facility(PutFacilityRequest { facility: Some(entry("suspended", "")) }).await.expect("suspended");
    let status = newcomer.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect_err("suspended");
    assert_eq!(error_reason(&status).as_deref(), Some("FACILITY_SUSPENDED"));
    // Bound to another certificate, then to this one.
    admin.put_facility(PutFacilityRequest { facility: Some(entry("active", &"ab".repeat(32))) }).await.expect("bound");
    let status = newcomer.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect_err("other cert");
    assert_eq!(error_reason(&status).as_deref(), Some("CERTIFICATE_NOT_BOUND"));
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(cert.cert_pem.as_bytes())
        .map(|c: rustls::pki_types::CertificateDer<'_>| c.to_vec())
        .expect("PEM");
    let sha = onshi_server::auth::identity::certificate_identity(&der).sha256;
    admin.put_facility(PutFacilityRequest { facility: Some(entry("active", &sha)) }).await.expect("bound");
    assert!(newcomer.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.is_ok());
    // Removed.
    admin.remove_facility(RemoveFacilityRequest { medical_institution_code: code.into() }).await.expect("removed");
    let status = newcomer.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect_err("removed");
    assert_eq!(error_reason(&status).as_deref(), Some("FACILITY_NOT_ALLOWED"));
    let listed = admin.list_facilities(ListFacilitiesRequest {}).await.expect("listed").into_inner();
    assert_eq!(listed.facilities.len(), 5);
    // Malformed codes are refused, and the list can never be emptied.
    let mut bad = entry("active", "");
    bad.medical_institution_code = "1312340006".into();
    assert_eq!(
        admin.put_facility(PutFacilityRequest { facility: Some(bad) }).await.expect_err("check digit").code(),
        Code::InvalidArgument
    );
    for f in &listed.facilities[1..] {
        admin
            .remove_facility(RemoveFacilityRequest { medical_institution_code: f.medical_institution_code.clone() })
            .await
            .expect("removed");
    }
    let last = admin
        .remove_facility(RemoveFacilityRequest {
            medical_institution_code: listed.facilities[0].medical_institution_code.clone(),
        })
        .await;
    assert_eq!(last.expect_err("never empty").code(), Code::FailedPrecondition);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_fault_hits_only_its_method_facility_and_count() {
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    let mut clinic = server.qualification(CLINIC).await;
    let mut pharmacy = server.qualification(PHARMACY).await;

    // A status for the next 2 card calls of the clinic only.
    let mut f = fault(Kind::Status(StatusFault {
        code: Code::DeadlineExceeded as i32,
        message: "slow upstream".into(),
        reason: "UPSTREAM_TIMEOUT".into(),
    }));
    f.method = "ConfirmByCard".into();
    f.medical_institution_code = CLINIC.into();
    f.count = 2;
    add_fault(&mut admin, f).await;
    assert!(pharmacy.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.is_ok(), "another facility");
    for _ in 0..2 {
        let s = clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect_err("injected");
        assert_eq!(s.code(), Code::DeadlineExceeded);
        assert_eq!(error_reason(&s).as_deref(), Some("UPSTREAM_TIMEOUT"));
    }
    assert!(clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.is_ok(), "used up");
    assert!(admin.list_faults(ListFaultsRequest {}).await.expect("listed").into_inner().faults.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_failure_fault_answers_the_real_systems_failure_for_one_person() {
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    let mut clinic = server.qualification(CLINIC).await;

    // The real system's request-level failure, for one person only.
    let mut f = fault(Kind::RequestFailure(RequestFailureFault {
        error_code: "E0001".into(),
        error_message: "システムエラー".into(),
    }));
    f.person = "A0000000000000000009".into();
    let id = add_fault(&mut admin, f).await;
    let r =
        clinic.confirm_by_card(card_with_consents("A0000000000000000009", &[])).await.expect("an answer").into_inner();
    let h = r.message_header.expect("header");
    assert_eq!((h.segment_of_result.as_str(), h.error_code.as_str()), ("9", "E0001"));
    assert!(r.message_body.is_none());
    assert!(
        clinic
            .confirm_by_card(card_with_consents(VALID_SERIAL, &[]))
            .await
            .expect("ok")
            .into_inner()
            .message_body
            .is_some()
    );
    admin.clear_faults(ClearFaultsRequest { id }).await.expect("cleared");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_latency_fault_delays_the_call_and_the_journal_shows_it() {
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    let mut clinic = server.qualification(CLINIC).await;

    // Latency: the call still succeeds, later; the journal shows how much later.
    let mut f = fault(Kind::Latency(LatencyFault { min_ms: 300, max_ms: 300 }));
    f.method = "ConfirmByInsuredNumber".into();
    f.count = 1;
    add_fault(&mut admin, f).await;
    clinic
        .confirm_by_insured_number(ConfirmByInsuredNumberRequest {
            message_header: None,
            qualification_confirm_search_info: Some(valid_person_search()),
        })
        .await
        .expect("late but answered");
    let journal = admin
        .read_journal(ReadJournalRequest { method: "ConfirmByInsuredNumber".into(), ..Default::default() })
        .await
        .expect("read")
        .into_inner();
    assert!(journal.entries.last().expect("recorded").latency_us >= 300_000, "the injected delay is part of the call");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_delay_fault_holds_jobs_in_processing() {
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    let mut clinic = server.qualification(CLINIC).await;

    // Bulk jobs held in "processing".
    add_fault(&mut admin, fault(Kind::BulkDelay(BulkDelayFault { seconds: 3600 }))).await;
    let up = clinic
        .bulk_confirm_upload(BulkConfirmUploadRequest {
            message_header: None,
            qualification_confirm_search_info: vec![valid_person_search()],
        })
        .await
        .expect("uploaded")
        .into_inner();
    server.advance_clock(600);
    let down = clinic
        .bulk_confirm_download(BulkConfirmDownloadRequest {
            message_header: None,
            reception_number: up.reception_number.clone(),
        })
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(down.message_header.expect("header").segment_of_result, "2");
    admin.clear_faults(ClearFaultsRequest { id: 0 }).await.expect("cleared");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_fault_makes_calls_unavailable_and_health_not_serving() {
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    let mut clinic = server.qualification(CLINIC).await;

    // A full outage: every facility call UNAVAILABLE and health NOT_SERVING, until cleared.
    add_fault(&mut admin, fault(Kind::Outage(OutageFault {}))).await;
    let s = clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect_err("down");
    assert_eq!(s.code(), Code::Unavailable);
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel(CLINIC).await);
    let serving = tonic_health::pb::health_check_response::ServingStatus::Serving;
    let mut saw_down = false;
    for _ in 0..200 {
        let st = health
            .check(tonic_health::pb::HealthCheckRequest { service: String::new() })
            .await
            .expect("health")
            .into_inner()
            .status();
        if st != serving {
            saw_down = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(saw_down, "health follows the outage");
    admin.clear_faults(ClearFaultsRequest { id: 0 }).await.expect("cleared");
    assert!(clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.is_ok());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_probable_fault_fails_about_its_share_and_a_fault_without_kind_is_refused() {
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    let mut clinic = server.qualification(CLINIC).await;

    // Probability: about half of the calls fail.
    let mut f = fault(Kind::Status(StatusFault {
        code: Code::Unavailable as i32,
        message: "flaky".into(),
        reason: String::new(),
    }));
    f.probability = 0.5;
    add_fault(&mut admin, f).await;
    let mut failed = 0;
    for _ in 0..200 {
        failed += usize::from(clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.is_err());
    }
    assert!((40..160).contains(&failed), "about half failed: {failed}");
    let listed = admin.list_faults(ListFaultsRequest {}).await.expect("listed").into_inner();
    assert_eq!(listed.faults[0].hits as usize, failed);
    // Bad faults are refused.
    let status = admin.add_fault(AddFaultRequest { fault: Some(Fault::default()) }).await.expect_err("no kind");
    assert_eq!(status.code(), Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_records_what_clients_sent_within_its_bound() {
    let server = TestServer::start_with(|c| c.journal.max_bytes = 20_000).await;
    let mut admin = server.admin().await;
    let mut clinic = server.qualification(CLINIC).await;
    let mut pharmacy = server.qualification(PHARMACY).await;
    clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &["pharmacists"])).await.expect("ok");
    pharmacy
        .confirm_by_insured_number(ConfirmByInsuredNumberRequest {
            message_header: None,
            qualification_confirm_search_info: Some(valid_person_search()),
        })
        .await
        .expect("ok");
    let mine = admin
        .read_journal(ReadJournalRequest { medical_institution_code: CLINIC.into(), ..Default::default() })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(mine.entries.len(), 1);
    let e = &mine.entries[0];
    assert_eq!(e.method, "onshi.v1.QualificationService/ConfirmByCard");
    assert!(e.request_json.contains(VALID_SERIAL), "{}", e.request_json);
    assert!(e.request_json.contains("pharmacistsInfoConsFlg"), "{}", e.request_json);
    assert_eq!((e.code, e.qualification_validity.as_str()), (0, "1"));

    // Refusals are journaled too, with their code.
    let status = server
        .qualification(crate::common::SUSPENDED)
        .await
        .confirm_by_card(card_with_consents(VALID_SERIAL, &[]))
        .await;
    assert!(status.is_err());
    let refused = admin
        .read_journal(ReadJournalRequest {
            medical_institution_code: crate::common::SUSPENDED.into(),
            ..Default::default()
        })
        .await
        .expect("read")
        .into_inner();
    assert_eq!(refused.entries[0].code, Code::PermissionDenied as i32);

    // The bound: many calls, and the journal keeps only the newest within 20 KB.
    for _ in 0..300 {
        clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect("ok");
    }
    let all =
        admin.read_journal(ReadJournalRequest { limit: 1000, ..Default::default() }).await.expect("read").into_inner();
    assert!(all.dropped > 0, "older entries were dropped");
    assert!(all.entries.len() < 300);
    assert!(all.entries.windows(2).all(|w| w[0].sequence < w[1].sequence));

    // Switched off, nothing is recorded; cleared, nothing is left.
    admin.set_journal(SetJournalRequest { enabled: false }).await.expect("off");
    let before = admin
        .read_journal(ReadJournalRequest { limit: 1000, ..Default::default() })
        .await
        .expect("read")
        .into_inner()
        .entries
        .len();
    clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect("ok");
    let after =
        admin.read_journal(ReadJournalRequest { limit: 1000, ..Default::default() }).await.expect("read").into_inner();
    assert_eq!((after.entries.len(), after.enabled), (before, false));
    admin.clear_journal(onshi_proto::v1::ClearJournalRequest {}).await.expect("cleared");
    assert!(admin.read_journal(ReadJournalRequest::default()).await.expect("read").into_inner().entries.is_empty());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_and_snapshots_restore_state() {
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    let mut clinic = server.qualification(CLINIC).await;
    let baseline_facilities = admin.list_facilities(ListFacilitiesRequest {}).await.expect("listed").into_inner();

    admin.take_snapshot(SnapshotRequest { name: "clean".into() }).await.expect("snapshot");
    // Changes: a person, a consent, a suspended facility.
    admin
        .upsert_person(UpsertPersonRequest {
            name: "一時\u{3000}太郎".into(),
            birthdate: "19850101".into(),
            certificate_serial_number: "C0FFEE99".into(),
            qualification: Some(new_qualification("99")),
            ..Default::default()
        })
        .await
        .expect("created");
    clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &["pharmacists"])).await.expect("ok");
    let mut suspended = baseline_facilities
        .facilities
        .iter()
        .find(|f| f.medical_institution_code == PHARMACY)
        .cloned()
        .expect("pharmacy");
    suspended.status = "suspended".into();
    admin.put_facility(PutFacilityRequest { facility: Some(suspended) }).await.expect("suspended");
    admin.take_snapshot(SnapshotRequest { name: "changed".into() }).await.expect("snapshot");
    assert_eq!(
        admin.list_snapshots(ListSnapshotsRequest {}).await.expect("listed").into_inner().names,
        vec!["changed".to_owned(), "clean".to_owned()]
    );

    let reset = admin.reset(ResetRequest {}).await.expect("reset").into_inner();
    assert!(reset.elapsed_ms < 60_000);
    // The state equals the baseline: the person, the consent and the suspension are gone.
    let r = clinic.confirm_by_card(card_with_consents("C0FFEE99", &[])).await.expect("ok").into_inner();
    assert_eq!(r.message_body.expect("body").processing_result_code, "2103");
    let facility =
        onshi_domain::ids::MedicalInstitutionCode::parse(CLINIC, onshi_domain::ids::CheckDigits::Strict).expect("code");
    let valid = onshi_domain::qualification::PersonId(onshi_domain::population::SCENARIO_ID_BASE + 1);
    assert!(
        server
            .app
            .store
            .get()
            .consent(&facility, valid, onshi_domain::codes::ConsentKind::Pharmacists)
            .expect("read")
            .is_none()
    );
    assert_eq!(
        admin.list_facilities(ListFacilitiesRequest {}).await.expect("listed").into_inner(),
        baseline_facilities
    );
    assert!(server.qualification(PHARMACY).await.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.is_ok());
    for s in onshi_domain::population::scenarios::all(server.as_of()) {
        for e in &s.expectations {
            if let onshi_domain::population::scenarios::Ask::Card(serial) = &e.ask {
                let r =
                    clinic.confirm_by_card(card_with_consents(serial.as_str(), &[])).await.expect("ok").into_inner();
                assert_eq!(r.message_body.expect("body").qualification_validity, e.validity.code(), "{}", s.key);
            }
        }
    }

    // Restoring the changed snapshot brings the changes back; the clean one removes them again.
    admin.restore_snapshot(SnapshotRequest { name: "changed".into() }).await.expect("restored");
    let r = clinic.confirm_by_card(card_with_consents("C0FFEE99", &[])).await.expect("ok").into_inner();
    assert_eq!(r.message_body.expect("body").qualification_validity, "1");
    let status = server
        .qualification(PHARMACY)
        .await
        .confirm_by_card(card_with_consents(VALID_SERIAL, &[]))
        .await
        .expect_err("suspended");
    assert_eq!(error_reason(&status).as_deref(), Some("FACILITY_SUSPENDED"));
    admin.restore_snapshot(SnapshotRequest { name: "clean".into() }).await.expect("restored");
    let r = clinic.confirm_by_card(card_with_consents("C0FFEE99", &[])).await.expect("ok").into_inner();
    assert_eq!(r.message_body.expect("body").processing_result_code, "2103");
    assert_eq!(
        admin.restore_snapshot(SnapshotRequest { name: "nope".into() }).await.expect_err("missing").code(),
        Code::NotFound
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeding_grows_the_population_and_the_clock_moves() {
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    let pop = server.population();
    let newcomer = (PERSONS..PERSONS + 500).find(|i| pop.keys(*i).card_serial.is_some()).expect("a card");
    let serial = pop.keys(newcomer).card_serial.expect("card").as_str().to_owned();
    let mut clinic = server.qualification(CLINIC).await;
    let before = clinic.confirm_by_card(card_with_consents(&serial, &[])).await.expect("ok").into_inner();
    assert_eq!(before.message_body.expect("body").processing_result_code, "2103");

    let mut progress = admin.seed(SeedRequest { persons: PERSONS + 500, seed: 0 }).await.expect("seeding").into_inner();
    let mut last = None;
    while let Some(p) = progress.message().await.expect("progress") {
        last = Some(p);
    }
    let last = last.expect("a final message");
    assert!(last.done);
    assert_eq!(last.persons_written, PERSONS + 500);
    let after = clinic.confirm_by_card(card_with_consents(&serial, &[])).await.expect("ok").into_inner();
    assert_eq!(after.message_body.expect("body").qualification_validity, "1");
    // The grown population is the new baseline.
    admin.reset(ResetRequest {}).await.expect("reset");
    let again = clinic.confirm_by_card(card_with_consents(&serial, &[])).await.expect("ok").into_inner();
    assert_eq!(again.message_body.expect("body").qualification_validity, "1");
    let status = admin.seed(SeedRequest { persons: 10, seed: 99 }).await.expect_err("another seed");
    assert_eq!(status.code(), Code::FailedPrecondition);

    // The clock.
    let set = admin
        .set_clock(SetClockRequest { offset_seconds: 0, now: "20300101090000".into() })
        .await
        .expect("set")
        .into_inner();
    assert!(set.now.starts_with("203001010900"));
    let r = clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect("ok").into_inner();
    assert!(r.message_header.expect("header").process_execution_time.starts_with("20300101"));
    admin.set_clock(SetClockRequest { offset_seconds: 0, now: String::new() }).await.expect("reset");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facility_certificate_cannot_reach_the_admin_api() {
    let server = TestServer::start().await;
    // The facility listener does not serve it at all.
    let mut via_facility = AdminServiceClient::new(server.channel(CLINIC).await);
    let status = via_facility.list_faults(ListFaultsRequest {}).await.expect_err("not served there");
    assert_eq!(status.code(), Code::Unimplemented);

    // An admin listener with mutual TLS takes the admin certificate only.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(onshi_server::server::run_admin(listener, server.app.clone(), server.tls.clone(), async {
        let _ = stopped.await;
    }));
    let connect = |cert: std::path::PathBuf, key: std::path::PathBuf| {
        let ca = server.ca_pem();
        async move {
            let tls = tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(ca))
                .identity(tonic::transport::Identity::from_pem(
                    std::fs::read(cert).expect("cert"),
                    std::fs::read(key).expect("key"),
                ))
                .domain_name("localhost");
            let ch = Channel::from_shared(format!("https://{addr}"))
                .expect("uri")
                .tls_config(tls)
                .expect("tls")
                .connect()
                .await
                .expect("connect");
            AdminServiceClient::new(ch)
        }
    };
    let mut as_facility = connect(server.pki.facility_cert(CLINIC), server.pki.facility_key(CLINIC)).await;
    let status = as_facility.list_faults(ListFaultsRequest {}).await.expect_err("refused");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(error_reason(&status).as_deref(), Some("NOT_AN_ADMIN_CERTIFICATE"));
    let mut as_admin = connect(server.pki.admin_cert(), server.pki.admin_key()).await;
    assert!(as_admin.list_faults(ListFaultsRequest {}).await.is_ok());
    let _ = stop.send(());
    task.await.expect("task").expect("admin server");

    // The plaintext admin listener speaks no TLS, so a facility certificate cannot even connect.
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(server.ca_pem()))
        .domain_name("localhost");
    let over_tls = Channel::from_shared(format!("https://{}", server.admin_addr))
        .expect("uri")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await;
    if let Ok(ch) = over_tls {
        assert!(AdminServiceClient::new(ch).list_faults(ListFaultsRequest {}).await.is_err());
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_lists_every_service() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    async fn services(channel: Channel) -> Vec<String> {
        let mut client = ServerReflectionClient::new(channel);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut replies =
            client.server_reflection_info(tokio_stream::iter(vec![request])).await.expect("reflection").into_inner();
        let reply = replies.message().await.expect("reply").expect("one reply");
        match reply.message_response {
            Some(MessageResponse::ListServicesResponse(list)) => list.service.into_iter().map(|s| s.name).collect(),
            other => panic!("unexpected reply {other:?}"),
        }
    }

    let server = TestServer::start().await;
    let facility = services(server.channel(CLINIC).await).await;
    for expected in [
        "onshi.v1.QualificationService",
        "onshi.v1.MedicationService",
        "onshi.v1.CheckupService",
        "onshi.v1.AccessHistoryService",
        "onshi.v1.FeeService",
        "grpc.health.v1.Health",
    ] {
        assert!(facility.contains(&expected.to_owned()), "{expected} in {facility:?}");
    }
    assert!(!facility.contains(&"onshi.v1.AdminService".to_owned()));
    let admin_channel =
        Channel::from_shared(format!("http://{}", server.admin_addr)).expect("uri").connect().await.expect("connect");
    let admin = services(admin_channel).await;
    assert!(admin.contains(&"onshi.v1.AdminService".to_owned()), "{admin:?}");
    assert!(!admin.contains(&"onshi.v1.QualificationService".to_owned()), "not served there: {admin:?}");
    // v1alpha answers too.
    let mut alpha = tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient::new(
        server.channel(CLINIC).await,
    );
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let mut replies =
        alpha.server_reflection_info(tokio_stream::iter(vec![request])).await.expect("v1alpha").into_inner();
    assert!(replies.message().await.expect("reply").is_some());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_says_not_serving_until_seeded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let facilities: Vec<(&str, &str)> = onshi_server::demo::DEMO_FACILITIES.iter().map(|f| (f.code, f.name)).collect();
    let (pki, _) = onshi_server::pki::ensure(&dir.path().join("pki"), &facilities).expect("PKI");
    let config = onshi_server::demo::demo_config(dir.path(), 2000, "127.0.0.1:0".parse().expect("addr"));
    let (app, tls) =
        onshi_server::boot::prepare(&config, Arc::new(onshi_server::clock::Clock::system())).expect("prepared");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(onshi_server::run(listener, app.clone(), tls, async {
        let _ = stopped.await;
    }));
    let read = |p: std::path::PathBuf| std::fs::read(p).expect("file");
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(read(pki.ca())))
        .identity(tonic::transport::Identity::from_pem(read(pki.facility_cert(CLINIC)), read(pki.facility_key(CLINIC))))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{addr}"))
        .expect("uri")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
        .expect("connect");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let check = tonic_health::pb::HealthCheckRequest { service: String::new() };
    let status = health.check(check.clone()).await.expect("health").into_inner().status();
    assert_eq!(status, tonic_health::pb::health_check_response::ServingStatus::NotServing);
    let mut q = onshi_proto::v1::qualification_service_client::QualificationServiceClient::new(channel);
    assert_eq!(
        q.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect_err("not yet").code(),
        Code::Unavailable
    );

    let seeding_app = app.clone();
    let seeding_config = config.clone();
    tokio::task::spawn_blocking(move || onshi_server::boot::seed_and_open(&seeding_app, &seeding_config, |_| {}))
        .await
        .expect("task")
        .expect("seeded");
    let mut serving = false;
    for _ in 0..200 {
        if health.check(check.clone()).await.expect("health").into_inner().status()
            == tonic_health::pb::health_check_response::ServingStatus::Serving
        {
            serving = true;
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(serving);
    assert!(q.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.is_ok());
    let _ = stop.send(());
    task.await.expect("task").expect("server");
}
