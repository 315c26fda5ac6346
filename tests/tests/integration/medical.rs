//! Medication and checkups: refused without a consent, served within its 24 hours, refused after
//! (moving the server's clock), and never served to a facility that holds no consent.

use onshi_proto::v1::checkup_service_client::CheckupServiceClient;
use onshi_proto::v1::medication_service_client::MedicationServiceClient;
use onshi_proto::v1::{GetMedicationInfoRequest, GetSpecificHealthCheckupInfoRequest};
use tonic::Code;

use crate::common::{
    CLINIC, PHARMACY, TestServer, VALID_SERIAL, card_with_consents, error_reason, patient, valid_person_search,
};

fn medication_request(server: &TestServer) -> GetMedicationInfoRequest {
    let today = server.app.clock.now().date();
    let start = today.add_years(-3).expect("date").add_months(1).expect("date");
    GetMedicationInfoRequest {
        message_header: None,
        patient_search_info: Some(patient(&valid_person_search())),
        start_date: start.yyyymmdd()[..6].to_owned(),
        end_date: today.yyyymmdd()[..6].to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medication_follows_the_consent_window() {
    let server = TestServer::start().await;
    let mut med = MedicationServiceClient::new(server.channel(CLINIC).await);

    // No consent yet.
    let status = med.get_medication_info(medication_request(&server)).await.expect_err("refused");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&status).as_deref(), Some("CONSENT_MISSING"));

    // The patient consents at the clinic's card reader.
    let mut q = server.qualification(CLINIC).await;
    q.confirm_by_card(card_with_consents(VALID_SERIAL, &["pharmacists"])).await.expect("confirmed");

    let reply = med.get_medication_info(medication_request(&server)).await.expect("served").into_inner();
    let body = reply.message_body.expect("body");
    assert_eq!(body.processing_result_status, "1");
    let months = &body.monthly_medication_info;
    assert!(!months.is_empty(), "a 46-year-old over 3 years has some dispensing");
    let today = server.app.clock.now().date();
    let newest_allowed = today.add_days(-45).expect("date").yyyymmdd();
    for m in months {
        assert_eq!(m.dispensing_month.len(), 6);
        for d in &m.dispensing_info {
            assert!(d.dispensing_date.starts_with(&m.dispensing_month));
            assert!(d.dispensing_date <= newest_allowed, "claims data lag about 1.5 months");
            assert_eq!(d.dispensing_medical_institution_code.len(), 10);
            for drug in &d.drug_info {
                assert_eq!(drug.drug_c.len(), 9);
                assert!(!drug.drug_n.is_empty() && !drug.unit.is_empty() && !drug.usage_n.is_empty());
                assert!(drug.times.parse::<u32>().expect("days") > 0);
            }
        }
    }
    // Months come oldest first.
    assert!(months.windows(2).all(|w| w[0].dispensing_month < w[1].dispensing_month));

    // Another facility holds no consent.
    let mut other = MedicationServiceClient::new(server.channel(PHARMACY).await);
    let status = other.get_medication_info(medication_request(&server)).await.expect_err("refused");
    assert_eq!(error_reason(&status).as_deref(), Some("CONSENT_MISSING"));

    // Just before 24 hours it still works; after, it is expired.
    server.advance_clock(24 * 3600 - 60);
    assert!(med.get_medication_info(medication_request(&server)).await.is_ok());
    server.advance_clock(120);
    let status = med.get_medication_info(medication_request(&server)).await.expect_err("expired");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(error_reason(&status).as_deref(), Some("CONSENT_EXPIRED"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkups_need_their_own_consent() {
    let server = TestServer::start().await;
    let mut q = server.qualification(CLINIC).await;
    // A medication consent does not open the checkups.
    q.confirm_by_card(card_with_consents(VALID_SERIAL, &["pharmacists"])).await.expect("confirmed");
    let mut checkups = CheckupServiceClient::new(server.channel(CLINIC).await);
    let request = || GetSpecificHealthCheckupInfoRequest {
        message_header: None,
        patient_search_info: Some(patient(&valid_person_search())),
    };
    let status = checkups.get_specific_health_checkup_info(request()).await.expect_err("refused");
    assert_eq!(error_reason(&status).as_deref(), Some("CONSENT_MISSING"));

    q.confirm_by_card(card_with_consents(VALID_SERIAL, &["checkups"])).await.expect("confirmed");
    let body = checkups
        .get_specific_health_checkup_info(request())
        .await
        .expect("served")
        .into_inner()
        .message_body
        .expect("body");
    let list = &body.specific_health_checkup_info;
    assert!(
        (4..=5).contains(&list.len()),
        "born 1980: yearly checkups since turning 40, at most 5 years: {}",
        list.len()
    );
    for c in list {
        let names: Vec<&str> = c.checkup_item.iter().map(|i| i.item_name.as_str()).collect();
        for expected in
            ["身長", "体重", "BMI", "腹囲", "収縮期血圧", "拡張期血圧", "HDLコレステロール", "LDLコレステロール"]
        {
            assert!(names.contains(&expected), "{expected} in {names:?}");
        }
        let value = |n: &str| -> f64 {
            c.checkup_item.iter().find(|i| i.item_name == n).and_then(|i| i.data_value.parse().ok()).expect("numeric")
        };
        let bmi = value("体重") / (value("身長") / 100.0).powi(2);
        assert!((bmi - value("BMI")).abs() < 0.15);
    }
    server.advance_clock(24 * 3600 + 1);
    let status = checkups.get_specific_health_checkup_info(request()).await.expect_err("expired");
    assert_eq!(error_reason(&status).as_deref(), Some("CONSENT_EXPIRED"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_patients_and_bad_months() {
    let server = TestServer::start().await;
    let mut med = MedicationServiceClient::new(server.channel(CLINIC).await);
    let mut unknown = medication_request(&server);
    if let Some(p) = unknown.patient_search_info.as_mut() {
        p.insured_identification_number = "9999999".into();
    }
    let body = med.get_medication_info(unknown).await.expect("answered").into_inner().message_body.expect("body");
    assert_eq!((body.processing_result_status.as_str(), body.processing_result_code.as_str()), ("2", "2201"));

    let mut bad = medication_request(&server);
    bad.start_date = "2025-01".into();
    let status = med.get_medication_info(bad).await.expect_err("refused");
    assert_eq!(crate::common::bad_request_fields(&status), vec!["start_date".to_owned()]);
    let mut backwards = medication_request(&server);
    backwards.end_date = "202001".into();
    let status = med.get_medication_info(backwards).await.expect_err("refused");
    assert_eq!(crate::common::bad_request_fields(&status), vec!["end_date".to_owned()]);
    server.stop().await;
}
