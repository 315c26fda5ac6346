//! Hostile clients: one facility must not starve the others, and no input may make the server
//! hold more than it is worth. Each attack runs with a canary facility on another connection that
//! must keep getting correct answers.

use std::time::Duration;

use onshi_proto::v1::confirm_stream_request::Request as Ask;
use onshi_proto::v1::{
    ConfirmByInsuredNumberRequest, ConfirmStreamRequest, QualificationConfirmSearchInfo, ReferenceNumberRegistration,
    RegisterReferenceNumbersRequest,
};
use prost::Message;
use tonic::Code;

use crate::common::{
    CLINIC, PHARMACY, TestServer, VALID_SERIAL, card_with_consents, error_reason, valid_person_search,
};
use crate::raw;

/// The canary: a clinic's card confirmation on its own connection, answered correctly.
async fn canary(server: &TestServer) {
    let mut clinic = server.qualification(CLINIC).await;
    let reply = clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect("the canary is answered");
    assert_eq!(reply.into_inner().message_body.expect("body").qualification_validity, "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_facility_cannot_take_every_permit() {
    let server = TestServer::start_with(|c| c.limits.max_in_flight = 40).await;
    // The pharmacy opens streams and sends nothing on them: each holds a session permit.
    let mut pharmacy = server.qualification(PHARMACY).await;
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..45 {
        let (tx, rx) = tokio::sync::mpsc::channel::<ConfirmStreamRequest>(1);
        match pharmacy.confirm_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await {
            Ok(stream) => held.push((tx, stream)),
            Err(s) => {
                assert_eq!(s.code(), Code::ResourceExhausted, "{s:?}");
                assert_eq!(error_reason(&s).as_deref(), Some("FACILITY_SESSION_LIMIT"));
                refused += 1;
            }
        }
    }
    assert_eq!(held.len(), 10, "a quarter of the 40 permits");
    assert_eq!(refused, 35);
    // Every other facility still gets answers while the pharmacy holds its share.
    canary(&server).await;
    drop(held);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowly_sent_body_is_not_shed_on_an_idle_server() {
    let server = TestServer::start().await;
    let mut h2 = raw::connect(&server, CLINIC).await;
    let request = ConfirmByInsuredNumberRequest {
        message_header: None,
        qualification_confirm_search_info: Some(valid_person_search()),
    }
    .encode_to_vec();
    let framed = raw::framed(&request);
    let (response, mut body) = h2
        .send_request(raw::grpc_request(&server, "/onshi.v1.QualificationService/ConfirmByInsuredNumber"), false)
        .expect("sent");
    // Two halves, 200 ms apart: over the 50 ms queue limit, but the server was never behind.
    let half = framed.len() / 2;
    body.send_data(framed.slice(..half), false).expect("first half");
    tokio::time::sleep(Duration::from_millis(200)).await;
    body.send_data(framed.slice(half..), true).expect("second half");
    assert_eq!(raw::grpc_status(response).await.expect("answered").0, 0);

    // A 2,000-entry bulk upload in 16 KiB pieces every 20 ms.
    let entries: Vec<QualificationConfirmSearchInfo> = (0..2000)
        .map(|i| QualificationConfirmSearchInfo { arbitrary_identifier: format!("row-{i}"), ..valid_person_search() })
        .collect();
    let upload =
        onshi_proto::v1::BulkConfirmUploadRequest { message_header: None, qualification_confirm_search_info: entries };
    let framed = raw::framed(&upload.encode_to_vec());
    assert!(framed.len() > 64 * 1024);
    let (response, mut body) = h2
        .send_request(raw::grpc_request(&server, "/onshi.v1.QualificationService/BulkConfirmUpload"), false)
        .expect("sent");
    let mut at = 0;
    while at < framed.len() {
        let end = (at + 16 * 1024).min(framed.len());
        body.reserve_capacity(end - at);
        body.send_data(framed.slice(at..end), end == framed.len()).expect("piece");
        at = end;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(raw::grpc_status(response).await.expect("answered").0, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_length_prefix_over_the_method_limit_is_refused_before_its_bytes() {
    let server = TestServer::start().await;
    let mut h2 = raw::connect(&server, PHARMACY).await;
    // 200 streams each claiming a 1,000,000-byte ConfirmByCard and sending 10 bytes, left open.
    let mut open = Vec::new();
    for _ in 0..200 {
        // At most max_concurrent_streams at once: wait for a refused one's slot.
        h2 = h2.ready().await.expect("a stream slot");
        let (response, mut body) = h2
            .send_request(raw::grpc_request(&server, "/onshi.v1.QualificationService/ConfirmByCard"), false)
            .expect("sent");
        let mut lying = vec![0u8];
        lying.extend_from_slice(&1_000_000u32.to_be_bytes());
        lying.extend_from_slice(b"0123456789");
        body.send_data(lying.into(), false).expect("prefix");
        open.push((response, body));
    }
    // Each is refused at once (not after waiting for a megabyte that never comes).
    for (response, _body) in open.drain(..).take(5) {
        let (code, message) = raw::grpc_status(response).await.expect("refused");
        assert_eq!(code, Code::ResourceExhausted as i32, "{message}");
        assert!(message.contains("limit"), "{message}");
    }
    canary(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_fit_in_a_clients_metadata_limit() {
    let server = TestServer::start().await;
    let mut clinic = server.qualification(CLINIC).await;
    let trailers = |s: &tonic::Status| s.message().len() + s.details().len();
    // A 60 KiB insurer number (under the message limit): refused naming the field, echoed short.
    let long = QualificationConfirmSearchInfo { insurer_number: "\u{1}".repeat(60 * 1024), ..valid_person_search() };
    let refused = clinic
        .confirm_by_insured_number(ConfirmByInsuredNumberRequest {
            message_header: None,
            qualification_confirm_search_info: Some(long),
        })
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    let fields = crate::common::bad_request_fields(&refused);
    assert!(fields.iter().any(|f| f.ends_with("insurer_number")), "{fields:?} {refused:?}");
    assert!(trailers(&refused) < 8 * 1024, "{} bytes", trailers(&refused));
    // 1,000 short invalid registrations: the violations listed are bounded, the rest counted.
    let registrations = (0..1000)
        .map(|i| ReferenceNumberRegistration {
            qualification_confirm_search_info: Some(QualificationConfirmSearchInfo {
                insurer_number: format!("x{i}"),
                ..valid_person_search()
            }),
            reference_number: "K1".into(),
        })
        .collect();
    let refused = clinic
        .register_reference_numbers(RegisterReferenceNumbersRequest { message_header: None, registrations })
        .await
        .expect_err("refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(trailers(&refused) < 8 * 1024, "{} bytes", trailers(&refused));
    let fields = crate::common::bad_request_fields(&refused);
    assert!(fields.first().is_some_and(|f| f.starts_with("registrations[0]")), "{fields:?}");
    // Reflection refuses a 100 KiB name without repeating it.
    let mut reflection =
        tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient::new(server.channel(CLINIC).await);
    let ask = tonic_reflection::pb::v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1::server_reflection_request::MessageRequest::FileContainingSymbol(
                "x".repeat(100 * 1024),
            ),
        ),
    };
    // Refused by the 8 KiB limit of health and reflection: the stream ends with a short status, or
    // with no answer at all, never with an answer repeating the name.
    match reflection.server_reflection_info(tokio_stream::iter([ask])).await {
        Err(status) => assert!(trailers(&status) < 8 * 1024, "{} bytes", trailers(&status)),
        Ok(mut stream) => match stream.get_mut().message().await {
            Err(status) => assert!(trailers(&status) < 8 * 1024, "{} bytes", trailers(&status)),
            Ok(answer) => assert!(answer.is_none_or(|a| a.encoded_len() < 8 * 1024), "the name came back"),
        },
    }
    canary(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_per_connection_are_advertised_and_bounded() {
    let server = TestServer::start().await;
    let (mut h2, mut settings) = raw::connect_with_settings(&server, PHARMACY).await;
    // One call, so the server's SETTINGS have arrived.
    let (response, mut body) =
        h2.send_request(raw::grpc_request(&server, "/grpc.health.v1.Health/Check"), false).expect("sent");
    body.send_data(raw::framed(&[]), true).expect("body");
    assert_eq!(raw::grpc_status(response).await.expect("health").0, 0);
    // The default, 128 (docs/configuration.md).
    let advertised = tokio::time::timeout(Duration::from_secs(5), settings.wait_for(|n| *n == 128)).await.is_ok();
    assert!(advertised, "the server advertised {} concurrent streams", *settings.borrow());
    canary(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_stream_ends_and_a_long_one_reaches_its_lifetime() {
    let server = TestServer::start_with(|c| {
        c.limits.stream_idle_seconds = 1;
        c.limits.stream_lifetime_seconds = 3;
    })
    .await;
    let mut pharmacy = server.qualification(PHARMACY).await;
    let (_tx, rx) = tokio::sync::mpsc::channel::<ConfirmStreamRequest>(1);
    let mut silent =
        pharmacy.confirm_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await.expect("opened").into_inner();
    let ended = tokio::time::timeout(Duration::from_secs(10), silent.message()).await.expect("ended within 10 s");
    let status = ended.expect_err("ended by the server");
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert_eq!(error_reason(&status).as_deref(), Some("STREAM_IDLE"));

    // A busy stream is not idle, but it still ends at its lifetime.
    let (tx, rx) = tokio::sync::mpsc::channel::<ConfirmStreamRequest>(4);
    let mut busy =
        pharmacy.confirm_stream(tokio_stream::wrappers::ReceiverStream::new(rx)).await.expect("opened").into_inner();
    let sender = tokio::spawn(async move {
        for tag in 0..100u64 {
            let ask = ConfirmStreamRequest { tag, request: Some(Ask::ByCard(card_with_consents(VALID_SERIAL, &[]))) };
            if tx.send(ask).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let mut answered = 0;
    let end = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match busy.message().await {
                Ok(Some(_)) => answered += 1,
                other => return other,
            }
        }
    })
    .await
    .expect("ended within 20 s");
    let status = end.expect_err("ended by the server");
    assert_eq!(error_reason(&status).as_deref(), Some("STREAM_LIFETIME"), "{status:?}");
    assert!(answered >= 3, "answered {answered} before the end");
    sender.abort();
    canary(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_per_peer_are_bounded() {
    let server = TestServer::start_with(|c| c.limits.max_connections_per_peer = 3).await;
    let held = [server.channel(PHARMACY).await, server.channel(PHARMACY).await, server.channel(PHARMACY).await];
    let fourth = tokio::time::timeout(Duration::from_secs(10), async {
        let mut c = onshi_proto::v1::qualification_service_client::QualificationServiceClient::new(
            server.channel_with(server.ca_pem(), Some(pki_identity(&server, CLINIC))).await?,
        );
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
            c.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await?,
        )
    })
    .await
    .expect("bounded");
    assert!(fourth.is_err(), "a fourth connection from the same address was served");
    drop(held);
    // Slots come back when connections close.
    let mut again = None;
    for _ in 0..100 {
        if let Ok(ch) = server.channel_with(server.ca_pem(), Some(pki_identity(&server, CLINIC))).await {
            let mut c = onshi_proto::v1::qualification_service_client::QualificationServiceClient::new(ch);
            if c.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.is_ok() {
                again = Some(());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.is_some(), "no connection was let in after the others closed");
    server.stop().await;
}

fn pki_identity(server: &TestServer, facility: &str) -> (Vec<u8>, Vec<u8>) {
    (
        std::fs::read(server.pki.facility_cert(facility)).expect("cert"),
        std::fs::read(server.pki.facility_key(facility)).expect("key"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_header_block_and_a_body_that_never_ends_are_cut_off() {
    let server = TestServer::start_with(|c| c.limits.request_timeout_seconds = 1).await;
    // A 32 KiB header value: over the 16 KiB header list limit.
    let mut clinic = server.qualification(CLINIC).await;
    let mut request = tonic::Request::new(card_with_consents(VALID_SERIAL, &[]));
    request.metadata_mut().insert("x-padding", "p".repeat(32 * 1024).parse().expect("value"));
    assert!(clinic.confirm_by_card(request).await.is_err(), "a 32 KiB header block was accepted");
    // Headers and half a body, never finished: cut off by the request timeout.
    let mut h2 = raw::connect(&server, PHARMACY).await;
    let (response, mut body) = h2
        .send_request(raw::grpc_request(&server, "/onshi.v1.QualificationService/ConfirmByCard"), false)
        .expect("sent");
    body.send_data(bytes::Bytes::from_static(&[0, 0, 0, 0, 40, 1, 2]), false).expect("part");
    let (code, _) = raw::grpc_status(response).await.expect("cut off");
    assert_ne!(code, 0);
    canary(&server).await;
    server.stop().await;
}
