//! Bad input gets INVALID_ARGUMENT naming the field; oversized or garbage requests never crash
//! the server or poison the store.

use crate::common::{CLINIC, TestServer, bad_request_fields};
use onshi_proto::v1::qualification_service_client::QualificationServiceClient;
use onshi_proto::v1::{
    CardReaderInfo, ConfirmByCardRequest, ConfirmByInsuredNumberRequest, QualificationConfirmSearchInfo, RequestHeader,
};
use tonic::Code;

fn valid_search() -> QualificationConfirmSearchInfo {
    QualificationConfirmSearchInfo {
        insurer_number: "01130012".into(),
        insured_card_symbol: "90000001".into(),
        insured_identification_number: "1".into(),
        insured_branch_number: "00".into(),
        birthdate: "19800115".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_identifiers_are_named_in_field_violations() {
    let server = TestServer::start().await;
    let mut c = server.qualification(CLINIC).await;
    type Breaker = Box<dyn Fn(&mut QualificationConfirmSearchInfo)>;
    let cases: Vec<(&str, Breaker)> = vec![
        ("qualification_confirm_search_info.insurer_number", Box::new(|s| s.insurer_number = "01130013".into())),
        ("qualification_confirm_search_info.insurer_number", Box::new(|s| s.insurer_number = "0113001".into())),
        ("qualification_confirm_search_info.insured_card_symbol", Box::new(|s| s.insured_card_symbol = "1".repeat(21))),
        (
            "qualification_confirm_search_info.insured_identification_number",
            Box::new(|s| s.insured_identification_number.clear()),
        ),
        ("qualification_confirm_search_info.insured_branch_number", Box::new(|s| s.insured_branch_number = "1".into())),
        ("qualification_confirm_search_info.birthdate", Box::new(|s| s.birthdate = "19800230".into())),
        ("qualification_confirm_search_info.birthdate", Box::new(|s| s.birthdate = "1980-01-15".into())),
        (
            "qualification_confirm_search_info.limit_application_certificate_related_cons_flg",
            Box::new(|s| s.limit_application_certificate_related_cons_flg = "yes".into()),
        ),
    ];
    for (field, break_it) in cases {
        let mut info = valid_search();
        break_it(&mut info);
        let status = c
            .confirm_by_insured_number(ConfirmByInsuredNumberRequest {
                message_header: None,
                qualification_confirm_search_info: Some(info),
            })
            .await
            .expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert_eq!(bad_request_fields(&status), vec![field.to_owned()], "{field}");
    }
    // Several problems at once are all reported.
    let status = c
        .confirm_by_insured_number(ConfirmByInsuredNumberRequest {
            message_header: Some(RequestHeader {
                qualification_confirmation_date: "2026".into(),
                ..Default::default()
            }),
            qualification_confirm_search_info: Some(QualificationConfirmSearchInfo {
                birthdate: "x".into(),
                ..valid_search()
            }),
        })
        .await
        .expect_err("refused");
    assert_eq!(
        bad_request_fields(&status),
        vec![
            "message_header.qualification_confirmation_date".to_owned(),
            "qualification_confirm_search_info.birthdate".to_owned()
        ]
    );
    // Card path: serial and verification method.
    let status = c
        .confirm_by_card(ConfirmByCardRequest {
            message_header: None,
            card_reader_info: Some(CardReaderInfo {
                certificate_serial_number: "not-hex".into(),
                verification_method: "9".into(),
                pharmacists_info_cons_flg: "2".into(),
                ..Default::default()
            }),
        })
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        bad_request_fields(&status),
        vec![
            "card_reader_info.certificate_serial_number".to_owned(),
            "card_reader_info.verification_method".to_owned(),
            "card_reader_info.pharmacists_info_cons_flg".to_owned()
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_check_digits_accept_dummy_numbers() {
    let server = TestServer::start().await;
    let mut entries = server.app.store.get().facilities().expect("store");
    for f in &mut entries {
        if f.code.as_str() == CLINIC {
            f.check_digits = Some(onshi_domain::ids::CheckDigits::Lenient);
        }
    }
    server.app.allow_list.replace(entries).expect("non-empty");
    let mut c = server.qualification(CLINIC).await;
    let r = c
        .confirm_by_insured_number(ConfirmByInsuredNumberRequest {
            message_header: None,
            qualification_confirm_search_info: Some(QualificationConfirmSearchInfo {
                insurer_number: "12345678".into(),
                ..valid_search()
            }),
        })
        .await
        .expect("a dummy number is looked up, not refused")
        .into_inner();
    assert_eq!(r.message_body.expect("body").qualification_validity, "4");
    server.stop().await;
}

/// A message that is not a ConfirmByCardRequest on the wire: field 1 (message_header, a
/// length-delimited message) as a varint, and field 2 as random bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct Garbage {
    #[prost(uint64, tag = "1")]
    header_as_varint: u64,
    #[prost(bytes = "vec", tag = "2")]
    junk: Vec<u8>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_garbage_requests_do_not_hurt_the_server() {
    let server = TestServer::start().await;
    let channel = server.channel(CLINIC).await;

    // Garbage bytes on the ConfirmByCard path.
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::from_static("/onshi.v1.QualificationService/ConfirmByCard");
    let codec = tonic_prost::ProstCodec::<Garbage, onshi_proto::v1::QualificationConfirmationResponse>::default();
    let garbage = Garbage { header_as_varint: 7, junk: (0..200u8).map(|b| b.wrapping_mul(37)).collect() };
    let status = grpc.unary(tonic::Request::new(garbage), path, codec).await.expect_err("garbage is refused");
    assert_ne!(status.code(), Code::Ok);

    // A request far over the size limit.
    let mut c = QualificationServiceClient::new(channel.clone()).max_encoding_message_size(16 << 20);
    let huge = ConfirmByCardRequest {
        message_header: Some(RequestHeader { arbitrary_file_identifier: "x".repeat(5 << 20), ..Default::default() }),
        card_reader_info: None,
    };
    let status = c.confirm_by_card(huge).await.expect_err("oversized is refused");
    // tonic reports a message over the decoding limit as OUT_OF_RANGE.
    assert!(matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted), "{status:?}");

    // A long but in-limit free-text field is a field violation, not a crash.
    let long = ConfirmByCardRequest {
        message_header: Some(RequestHeader { arbitrary_file_identifier: "x".repeat(1000), ..Default::default() }),
        card_reader_info: Some(CardReaderInfo {
            certificate_serial_number: "A0000000000000000001".into(),
            verification_method: "1".into(),
            ..Default::default()
        }),
    };
    let status = c.confirm_by_card(long).await.expect_err("refused");
    assert_eq!(bad_request_fields(&status), vec!["message_header.arbitrary_file_identifier".to_owned()]);

    // The server still answers, and the store still holds the person.
    let ok = c
        .confirm_by_insured_number(ConfirmByInsuredNumberRequest {
            message_header: None,
            qualification_confirm_search_info: Some(valid_search()),
        })
        .await
        .expect("still serving")
        .into_inner();
    assert_eq!(ok.message_body.expect("body").qualification_validity, "1");
    server.stop().await;
}
