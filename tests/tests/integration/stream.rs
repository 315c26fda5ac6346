//! ConfirmStream answers every request, in order, with its tag; bad requests get an error in
//! their place and the stream goes on.

use onshi_proto::v1::confirm_stream_request::Request as Ask;
use onshi_proto::v1::confirm_stream_response::Outcome;
use onshi_proto::v1::{CardReaderInfo, ConfirmByCardRequest, ConfirmByInsuredNumberRequest, ConfirmStreamRequest};

use crate::common::{CLINIC, PERSONS, TestServer, valid_person_search};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_answers_every_request_in_order() {
    let server = TestServer::start().await;
    let pop = server.population();
    let mut requests = Vec::new();
    let mut expected_ok = Vec::new();
    for i in 0..500u64 {
        let tag = 1000 + i;
        let ask = match i % 5 {
            0 => Ask::ByInsuredNumber(ConfirmByInsuredNumberRequest {
                message_header: None,
                qualification_confirm_search_info: Some(valid_person_search()),
            }),
            4 => Ask::ByCard(ConfirmByCardRequest {
                message_header: None,
                card_reader_info: Some(CardReaderInfo {
                    certificate_serial_number: "not hex".into(),
                    verification_method: "1".into(),
                    ..Default::default()
                }),
            }),
            _ => {
                let serial = (i..PERSONS).find_map(|j| pop.keys(j).card_serial).expect("someone has a card");
                Ask::ByCard(ConfirmByCardRequest {
                    message_header: None,
                    card_reader_info: Some(CardReaderInfo {
                        certificate_serial_number: serial.as_str().to_owned(),
                        verification_method: "1".into(),
                        ..Default::default()
                    }),
                })
            }
        };
        expected_ok.push(i % 5 != 4);
        requests.push(ConfirmStreamRequest { tag, request: Some(ask) });
    }
    let mut c = server.qualification(CLINIC).await;
    let mut responses = c.confirm_stream(tokio_stream::iter(requests)).await.expect("stream opens").into_inner();
    let mut n = 0usize;
    while let Some(r) = responses.message().await.expect("stream message") {
        assert_eq!(r.tag, 1000 + n as u64, "in request order");
        match r.outcome.expect("outcome") {
            Outcome::Response(resp) => {
                assert!(expected_ok[n], "request {n} should have failed");
                assert_eq!(resp.message_body.expect("body").qualification_validity, "1");
            }
            Outcome::Error(e) => {
                assert!(!expected_ok[n], "request {n} should have succeeded: {}", e.message);
                assert_eq!(e.code, tonic::Code::InvalidArgument as i32);
                assert_eq!(e.fields, vec!["card_reader_info.certificate_serial_number".to_owned()]);
            }
        }
        n += 1;
    }
    assert_eq!(n, 500, "every request answered");
    server.stop().await;
}
