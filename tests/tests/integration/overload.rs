//! Overload: past the in-flight limits calls are shed at once with RESOURCE_EXHAUSTED and a
//! RetryInfo; the server stays up and answers what it admitted.

use onshi_proto::v1::fault::Kind;
use onshi_proto::v1::{AddFaultRequest, Fault, LatencyFault};
use tonic::Code;
use tonic_types::StatusExt;

use crate::common::{CLINIC, PHARMACY, TestServer, VALID_SERIAL, card_with_consents, error_reason};

async fn slow_down(server: &TestServer, ms: u32) {
    let mut admin = server.admin().await;
    let fault = Fault {
        method: "ConfirmByCard".into(),
        kind: Some(Kind::Latency(LatencyFault { min_ms: ms, max_ms: ms })),
        ..Default::default()
    };
    admin.add_fault(AddFaultRequest { fault: Some(fault) }).await.expect("fault");
}

/// Fires `n` card confirmations from `facility` at once and returns their results.
async fn burst(server: &TestServer, facility: &str, n: usize) -> Vec<Result<(), tonic::Status>> {
    let client = server.qualification(facility).await;
    let calls = (0..n).map(|_| {
        let mut c = client.clone();
        tokio::spawn(async move { c.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.map(|_| ()) })
    });
    let mut out = Vec::new();
    for call in calls.collect::<Vec<_>>() {
        out.push(call.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_global_limit_calls_are_shed_with_retry_info() {
    let server = TestServer::start_with(|c| {
        c.limits.max_in_flight = 4;
        // Not the per-facility share (a quarter of the global limit by default): this is the global one.
        c.limits.facility_max_in_flight = 4;
    })
    .await;
    slow_down(&server, 400).await;
    let results = burst(&server, CLINIC, 12).await;
    let admitted = results.iter().filter(|r| r.is_ok()).count();
    let shed: Vec<&tonic::Status> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!((1..=4).contains(&admitted), "at most the limit is admitted: {admitted}");
    assert_eq!(admitted + shed.len(), 12);
    for s in &shed {
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(error_reason(s).as_deref(), Some("OVERLOADED"));
        assert!(s.get_details_retry_info().and_then(|r| r.retry_delay).is_some(), "RetryInfo says when to retry");
    }
    // Still up: the next call is answered.
    let mut c = server.qualification(CLINIC).await;
    assert!(c.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.is_ok());
    assert_eq!(server.app.admission.in_flight(), 0, "every permit was returned");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facility_has_its_own_session_limit() {
    let server = TestServer::start_with(|c| {
        c.limits.max_in_flight = 1000;
        c.limits.facility_max_in_flight = 2;
    })
    .await;
    slow_down(&server, 400).await;
    let (clinic, pharmacy) = tokio::join!(burst(&server, CLINIC, 6), burst(&server, PHARMACY, 2));
    let clinic_ok = clinic.iter().filter(|r| r.is_ok()).count();
    assert!((1..=2).contains(&clinic_ok), "{clinic_ok}");
    for s in clinic.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(error_reason(s).as_deref(), Some("FACILITY_SESSION_LIMIT"));
    }
    assert!(pharmacy.iter().all(|r| r.is_ok()), "another facility is not affected");
    server.stop().await;
}
