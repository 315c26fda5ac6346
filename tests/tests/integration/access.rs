//! Who may ask: only facilities on the allow-list, with a client certificate from the CA, asking
//! as themselves.

use crate::common::{CLINIC, SUSPENDED, TestServer, UNLISTED, error_reason};
use onshi_proto::v1::qualification_service_client::QualificationServiceClient;
use onshi_proto::v1::{CardReaderInfo, ConfirmByCardRequest, RequestHeader};
use onshi_server::pki::Ca;
use tonic::Code;

fn card_request(facility_in_request: &str) -> ConfirmByCardRequest {
    ConfirmByCardRequest {
        message_header: Some(RequestHeader {
            medical_institution_code: facility_in_request.to_owned(),
            ..Default::default()
        }),
        card_reader_info: Some(CardReaderInfo {
            certificate_serial_number: "A0000000000000000001".into(),
            verification_method: "1".into(),
            ..Default::default()
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlisted_and_suspended_facilities_are_refused() {
    let server = TestServer::start().await;
    for (facility, reason) in [(UNLISTED, "FACILITY_NOT_ALLOWED"), (SUSPENDED, "FACILITY_SUSPENDED")] {
        let mut c = server.qualification(facility).await;
        let status = c.confirm_by_card(card_request("")).await.expect_err("refused");
        assert_eq!(status.code(), Code::PermissionDenied, "{facility}");
        assert_eq!(error_reason(&status).as_deref(), Some(reason), "{facility}");
    }
    // The allowed clinic on the same server is answered.
    let mut c = server.qualification(CLINIC).await;
    let ok = c.confirm_by_card(card_request("")).await.expect("answered").into_inner();
    assert_eq!(ok.message_body.expect("body").qualification_validity, "1");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facility_code_in_the_request_must_be_the_callers() {
    let server = TestServer::start().await;
    let mut c = server.qualification(CLINIC).await;
    let status = c.confirm_by_card(card_request("1332345675")).await.expect_err("refused");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(error_reason(&status).as_deref(), Some("FACILITY_MISMATCH"));
    let ok = c.confirm_by_card(card_request(CLINIC)).await.expect("its own code is fine").into_inner();
    assert_eq!(ok.message_header.expect("header").medical_institution_code, CLINIC);
    server.stop().await;
}

/// The call fails below gRPC: the TLS handshake refused the client, so there is no gRPC status
/// from the service (never PERMISSION_DENIED or a result).
async fn assert_handshake_refused(result: Result<tonic::transport::Channel, tonic::transport::Error>) {
    let channel = match result {
        Err(_) => return, // refused while connecting
        Ok(ch) => ch,
    };
    let mut c = QualificationServiceClient::new(channel);
    let status = c.confirm_by_card(card_request("")).await.expect_err("no answer without a valid certificate");
    assert!(
        matches!(status.code(), Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled),
        "expected a transport failure, got {:?}: {}",
        status.code(),
        status.message()
    );
    assert!(error_reason(&status).is_none(), "the service never saw the request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_client_certificate_fails_the_handshake() {
    let server = TestServer::start().await;
    assert_handshake_refused(server.channel_with(server.ca_pem(), None).await).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_another_ca_fails_the_handshake() {
    let server = TestServer::start().await;
    // A facility certificate for an allowed code, but issued by a CA the server does not trust.
    let rogue = Ca::generate("rogue CA").expect("CA");
    let cert = rogue.issue_facility(CLINIC, "なりすまし").expect("cert");
    let identity = Some((cert.cert_pem.into_bytes(), cert.key_pem.into_bytes()));
    assert_handshake_refused(server.channel_with(server.ca_pem(), identity).await).await;
    // The genuine certificate still works afterwards.
    let mut c = server.qualification(CLINIC).await;
    assert!(c.confirm_by_card(card_request("")).await.is_ok());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_list_changes_apply_at_once() {
    let server = TestServer::start().await;
    let mut c = server.qualification(CLINIC).await;
    assert!(c.confirm_by_card(card_request("")).await.is_ok());
    let mut entries = server.app.store.get().facilities().expect("store");
    for f in &mut entries {
        if f.code.as_str() == CLINIC {
            f.status = onshi_domain::facility::FacilityStatus::Suspended;
        }
    }
    server.app.allow_list.replace(entries).expect("non-empty");
    let status = c.confirm_by_card(card_request("")).await.expect_err("suspended now");
    assert_eq!(error_reason(&status).as_deref(), Some("FACILITY_SUSPENDED"));
    server.stop().await;
}
