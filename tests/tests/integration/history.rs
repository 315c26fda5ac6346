//! Access history lists exactly the disclosures made, newest first, paged; nothing else adds to it.

use onshi_proto::v1::access_history_service_client::AccessHistoryServiceClient;
use onshi_proto::v1::checkup_service_client::CheckupServiceClient;
use onshi_proto::v1::medication_service_client::MedicationServiceClient;
use onshi_proto::v1::{GetMedicationInfoRequest, GetSpecificHealthCheckupInfoRequest, ListAccessHistoryRequest};
use tonic::Code;

use crate::common::{CLINIC, PHARMACY, TestServer, VALID_SERIAL, card_with_consents, patient, valid_person_search};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_history_lists_exactly_the_disclosures() {
    let server = TestServer::start().await;
    let mut history = AccessHistoryServiceClient::new(server.channel(CLINIC).await);
    let list = |page_size: i32, page_token: String| ListAccessHistoryRequest {
        certificate_serial_number: VALID_SERIAL.into(),
        page_size,
        page_token,
    };
    assert!(
        history
            .list_access_history(list(0, String::new()))
            .await
            .expect("listed")
            .into_inner()
            .access_record
            .is_empty()
    );

    // Plain confirmations and consents disclose no medical information.
    let mut clinic = server.qualification(CLINIC).await;
    clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &["pharmacists", "checkups"])).await.expect("ok");
    let mut pharmacy = server.qualification(PHARMACY).await;
    pharmacy.confirm_by_card(card_with_consents(VALID_SERIAL, &["pharmacists"])).await.expect("ok");
    assert!(
        history
            .list_access_history(list(0, String::new()))
            .await
            .expect("listed")
            .into_inner()
            .access_record
            .is_empty()
    );

    // Three disclosures: clinic medication, clinic checkups, pharmacy medication.
    let med_request = GetMedicationInfoRequest {
        message_header: None,
        patient_search_info: Some(patient(&valid_person_search())),
        start_date: "202501".into(),
        end_date: "202510".into(),
    };
    MedicationServiceClient::new(server.channel(CLINIC).await)
        .get_medication_info(med_request.clone())
        .await
        .expect("ok");
    server.advance_clock(2);
    CheckupServiceClient::new(server.channel(CLINIC).await)
        .get_specific_health_checkup_info(GetSpecificHealthCheckupInfoRequest {
            message_header: None,
            patient_search_info: Some(patient(&valid_person_search())),
        })
        .await
        .expect("ok");
    server.advance_clock(2);
    MedicationServiceClient::new(server.channel(PHARMACY).await).get_medication_info(med_request).await.expect("ok");
    // A refused call discloses nothing.
    let refused = CheckupServiceClient::new(server.channel(PHARMACY).await)
        .get_specific_health_checkup_info(GetSpecificHealthCheckupInfoRequest {
            message_header: None,
            patient_search_info: Some(patient(&valid_person_search())),
        })
        .await;
    assert_eq!(refused.expect_err("no consent").code(), Code::FailedPrecondition);

    let all = history.list_access_history(list(0, String::new())).await.expect("listed").into_inner();
    let seen: Vec<(String, String)> =
        all.access_record.iter().map(|r| (r.medical_institution_code.clone(), r.information_kind.clone())).collect();
    assert_eq!(
        seen,
        vec![
            (PHARMACY.to_owned(), "pharmacists_info".to_owned()),
            (CLINIC.to_owned(), "specific_health_checkups_info".to_owned()),
            (CLINIC.to_owned(), "pharmacists_info".to_owned()),
        ],
        "newest first"
    );
    assert!(all.next_page_token.is_empty());
    let first = &all.access_record[2];
    assert_eq!(first.detail, "202501-202510");
    assert_eq!(first.medical_institution_name, "オンシ内科クリニック");
    assert_eq!(first.consent_time.len(), 14);
    assert!(first.consent_available_time > first.consent_time);

    // Paging: 2 + 1.
    let page1 = history.list_access_history(list(2, String::new())).await.expect("listed").into_inner();
    assert_eq!(page1.access_record.len(), 2);
    assert!(!page1.next_page_token.is_empty());
    let page2 = history.list_access_history(list(2, page1.next_page_token.clone())).await.expect("listed").into_inner();
    assert_eq!(page2.access_record.len(), 1);
    assert_eq!(page2.access_record[0].information_kind, "pharmacists_info");
    assert_eq!(page2.access_record[0].medical_institution_code, CLINIC);
    assert!(page2.next_page_token.is_empty());

    // Bounds and foreign tokens.
    let status = history.list_access_history(list(101, String::new())).await.expect_err("too big");
    assert_eq!(crate::common::bad_request_fields(&status), vec!["page_size".to_owned()]);
    let foreign = ListAccessHistoryRequest {
        certificate_serial_number: "A0000000000000000009".into(),
        page_size: 2,
        page_token: page1.next_page_token,
    };
    assert_eq!(history.list_access_history(foreign).await.expect_err("foreign").code(), Code::InvalidArgument);
    let unknown =
        ListAccessHistoryRequest { certificate_serial_number: "A0000000000000000005".into(), ..Default::default() };
    assert_eq!(history.list_access_history(unknown).await.expect_err("unknown").code(), Code::NotFound);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_shown_at_the_reader_are_recorded() {
    let server = TestServer::start().await;
    let mut clinic = server.qualification(CLINIC).await;
    clinic.confirm_by_card(card_with_consents("A0000000000000000011", &["limit"])).await.expect("ok");
    let mut history = AccessHistoryServiceClient::new(server.channel(CLINIC).await);
    let listed = history
        .list_access_history(ListAccessHistoryRequest {
            certificate_serial_number: "A0000000000000000011".into(),
            ..Default::default()
        })
        .await
        .expect("listed")
        .into_inner();
    assert_eq!(listed.access_record.len(), 1);
    assert_eq!(listed.access_record[0].information_kind, "limit_application_certificate");
    server.stop().await;
}
