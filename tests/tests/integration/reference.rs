//! 照会番号: registered numbers appear in later results for that facility only.

use onshi_proto::v1::{
    ConfirmByInsuredNumberRequest, ReferenceNumberRegistration, RegisterReferenceNumberRequest,
    RegisterReferenceNumbersRequest,
};

use crate::common::{
    CLINIC, PHARMACY, TestServer, VALID_SERIAL, bad_request_fields, card_with_consents, valid_person_search,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_numbers_show_up_in_later_results() {
    let server = TestServer::start().await;
    let mut c = server.qualification(CLINIC).await;
    let reply = c
        .register_reference_number(RegisterReferenceNumberRequest {
            message_header: None,
            registration: Some(ReferenceNumberRegistration {
                qualification_confirm_search_info: Some(valid_person_search()),
                reference_number: "KARTE-000123".into(),
            }),
        })
        .await
        .expect("registered")
        .into_inner();
    assert_eq!(reply.result.expect("result").processing_result_status, "1");

    let by_card = c.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect("ok").into_inner();
    assert_eq!(by_card.message_body.expect("body").result_list[0].reference_number, "KARTE-000123");
    let by_numbers = c
        .confirm_by_insured_number(ConfirmByInsuredNumberRequest {
            message_header: None,
            qualification_confirm_search_info: Some(valid_person_search()),
        })
        .await
        .expect("ok")
        .into_inner();
    assert_eq!(by_numbers.message_body.expect("body").result_list[0].reference_number, "KARTE-000123");

    // Another facility does not see it.
    let mut pharmacy = server.qualification(PHARMACY).await;
    let theirs = pharmacy.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect("ok").into_inner();
    assert_eq!(theirs.message_body.expect("body").result_list[0].reference_number, "");

    // Bulk: one more person, one nobody, and removing the first registration.
    let mut nobody = valid_person_search();
    nobody.insured_identification_number = "9999999".into();
    let mut preschool = valid_person_search();
    preschool.insured_identification_number = "9".into();
    preschool.insured_branch_number = "01".into();
    preschool.birthdate = "20220510".into();
    let reply = c
        .register_reference_numbers(RegisterReferenceNumbersRequest {
            message_header: None,
            registrations: vec![
                ReferenceNumberRegistration {
                    qualification_confirm_search_info: Some(preschool),
                    reference_number: "K-9".into(),
                },
                ReferenceNumberRegistration {
                    qualification_confirm_search_info: Some(nobody),
                    reference_number: "K-X".into(),
                },
                ReferenceNumberRegistration {
                    qualification_confirm_search_info: Some(valid_person_search()),
                    reference_number: String::new(),
                },
            ],
        })
        .await
        .expect("registered")
        .into_inner();
    let codes: Vec<(String, String)> =
        reply.results.iter().map(|r| (r.processing_result_status.clone(), r.processing_result_code.clone())).collect();
    assert_eq!(codes, vec![("1".into(), "".into()), ("2".into(), "2201".into()), ("1".into(), "".into())]);
    let by_card = c.confirm_by_card(card_with_consents("A0000000000000000009", &[])).await.expect("ok").into_inner();
    assert_eq!(by_card.message_body.expect("body").result_list[0].reference_number, "K-9");
    let removed = c.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect("ok").into_inner();
    assert_eq!(removed.message_body.expect("body").result_list[0].reference_number, "");

    // Bounds.
    let status = c
        .register_reference_number(RegisterReferenceNumberRequest {
            message_header: None,
            registration: Some(ReferenceNumberRegistration {
                qualification_confirm_search_info: Some(valid_person_search()),
                reference_number: "X".repeat(21),
            }),
        })
        .await
        .expect_err("too long");
    assert_eq!(bad_request_fields(&status), vec!["registration.reference_number".to_owned()]);
    server.stop().await;
}
