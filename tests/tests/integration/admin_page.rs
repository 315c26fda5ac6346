//! The admin page over real HTTP on its own loopback port: every page answers in Japanese (and
//! English); a person looked up by card serial and their card revoked through the form is revoked
//! for the gRPC admin API too; a preset fault is listed on the page and by ListFaults, and
//! cleared; bad input is named next to its field (never a 500); other sites' forms are refused;
//! `/metrics` still serves Prometheus text.

use metrics_exporter_prometheus::PrometheusBuilder;
use onshi_proto::v1::person_ref::By;
use onshi_proto::v1::{GetPersonRequest, ListFaultsRequest, PersonRef};

use crate::common::http::{self, form_inputs};
use crate::common::{TestServer, VALID_SERIAL, start_page};

/// A recorder of the test's own (not the process's), with one sample in it.
fn recorder_with_a_sample() -> metrics_exporter_prometheus::PrometheusHandle {
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        metrics::counter!("onshi_page_test_total", "page" => "admin").increment(3);
    });
    handle
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_answers_as_utf8_japanese_html_and_metrics_still_serve() {
    let server = TestServer::start().await;
    let (page, _stop) = start_page(&server, recorder_with_a_sample());
    for (path, expected) in [
        ("/", "onshi 管理"),
        ("/people", "カードで検索 / By card serial"),
        ("/facilities", "オンシ内科クリニック"),
        ("/faults", "プリセット / Presets"),
        ("/clock", "現在時刻 (JST) / now"),
        ("/snapshots", "リセット / Reset"),
        ("/journal", "記録 (新しい順) / Entries, newest first"),
    ] {
        let reply = http::get(page, path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(reply.header("content-type"), Some("text/html; charset=utf-8"), "{path}");
        assert!(reply.body.contains("<html lang=\"ja\">") && reply.body.contains("<meta charset=\"utf-8\">"), "{path}");
        assert!(reply.body.contains(expected), "{path} lacks {expected:?}: {}", reply.body);
        assert!(reply.body.contains("aria-current=\"page\""), "{path}: the nav marks the page");
    }
    let css = http::get(page, "/style.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").is_some_and(|t| t.starts_with("text/css")));
    assert!(css.body.contains("field-error"));
    assert_eq!(http::get(page, "/no-such-page").await.status, 404);

    let metrics = http::get(page, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").is_some_and(|t| t.starts_with("text/plain")));
    let scrape = prometheus_parse::Scrape::parse(metrics.body.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus");
    let sample = scrape.samples.iter().find(|s| s.metric == "onshi_page_test_total").expect("the recorder's sample");
    assert_eq!(sample.labels.get("page"), Some("admin"));
    assert!(
        matches!(sample.value, prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) if v == 3.0)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_revoked_through_the_page_is_revoked_for_the_admin_api() {
    let server = TestServer::start().await;
    let (page, _stop) = start_page(&server, recorder_with_a_sample());
    let shown = http::get(page, &format!("/people?by=serial&person.certificate_serial_number={VALID_SERIAL}")).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(shown.body.contains("山田\u{3000}太郎"), "{}", shown.body);
    assert!(shown.body.contains("1980-01-15"), "the birthdate");
    assert!(shown.body.contains("01130012"), "the qualification's insurer");

    // The revoke button of the card: its form's inputs, posted as a browser would.
    let inputs = form_inputs(&shown.body, &format!("revoke-{VALID_SERIAL}"));
    assert!(inputs.iter().any(|(k, v)| k == "certificate_serial_number" && v == VALID_SERIAL), "{inputs:?}");
    let id: u64 = inputs
        .iter()
        .find(|(k, _)| k == "person.person_id")
        .and_then(|(_, v)| v.parse().ok())
        .expect("the person's id");
    let pairs: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let revoked = http::post(page, "/people/revoke-card", &pairs).await;
    assert_eq!(revoked.status, 303, "{}", revoked.body);
    let location = revoked.header("location").expect("redirect-after-post").to_owned();
    let after = http::get(page, &location).await;
    assert_eq!(after.status, 200);
    assert!(after.body.contains("カードを失効させました"), "the notice: {}", after.body);
    assert!(after.body.contains("失効 / revoked"), "the card's state");

    let mut admin = server.admin().await;
    let person = admin
        .get_person(GetPersonRequest { person: Some(PersonRef { by: Some(By::PersonId(id)) }) })
        .await
        .expect("GetPerson")
        .into_inner();
    let record: serde_json::Value = serde_json::from_str(&person.person_json).expect("JSON");
    let card = record["cards"]
        .as_array()
        .and_then(|cards| cards.iter().find(|c| c["serial"].as_str() == Some(VALID_SERIAL)))
        .expect("the card");
    assert!(!card["revoked"].is_null(), "revoked through the page: {card}");

    // Revoking it again is refused next to nothing the form has: a message, not a 500.
    let again = http::post(page, "/people/revoke-card", &pairs).await;
    assert_eq!(again.status, 422, "{}", again.body);
    assert!(again.body.contains("is already revoked"), "{}", again.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preset_fault_is_listed_on_the_page_and_by_the_api_and_cleared() {
    let server = TestServer::start().await;
    let (page, _stop) = start_page(&server, recorder_with_a_sample());
    let faults = http::get(page, "/faults").await;
    assert!(faults.body.contains("障害なし / no faults"));
    let preset = form_inputs(&faults.body, "preset-maintenance");
    assert!(preset.contains(&("fault.status.code".to_owned(), "14".to_owned())), "{preset:?}");
    let pairs: Vec<(&str, &str)> = preset.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let added = http::post(page, "/faults/add", &pairs).await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(added.header("location"), Some("/faults?done=fault-added"));

    let listed = http::get(page, "/faults?done=fault-added").await;
    assert!(listed.body.contains("障害を追加しました"), "the notice after the redirect");
    assert!(listed.body.contains("method ConfirmByCard"), "what it matches: {}", listed.body);
    assert!(listed.body.contains("the next call"), "how often");
    assert!(listed.body.contains("gRPC status 14 Unavailable “maintenance”, reason MAINTENANCE"), "what it does");

    let mut admin = server.admin().await;
    let api = admin.list_faults(ListFaultsRequest {}).await.expect("ListFaults").into_inner().faults;
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].method, "ConfirmByCard");
    assert_eq!(api[0].count, 1);
    match &api[0].kind {
        Some(onshi_proto::v1::fault::Kind::Status(s)) => {
            assert_eq!((s.code, s.message.as_str(), s.reason.as_str()), (14, "maintenance", "MAINTENANCE"));
        }
        other => panic!("a status fault, not {other:?}"),
    }

    // Every preset makes a fault the API lists.
    for id in ["preset-latency", "preset-request-failure", "preset-bulk-delay", "preset-outage"] {
        let inputs = form_inputs(&faults.body, id);
        let pairs: Vec<(&str, &str)> = inputs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(http::post(page, "/faults/add", &pairs).await.status, 303, "{id}");
    }
    let api = admin.list_faults(ListFaultsRequest {}).await.expect("ListFaults").into_inner().faults;
    assert_eq!(api.len(), 5);
    assert!(api.iter().any(|f| f.person == "A0000000000000000011" && f.probability == 0.3));

    let cleared = http::post(page, "/faults/clear", &[("id", "0")]).await;
    assert_eq!(cleared.status, 303);
    assert!(admin.list_faults(ListFaultsRequest {}).await.expect("ListFaults").into_inner().faults.is_empty());
    assert!(http::get(page, "/faults").await.body.contains("障害なし / no faults"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_named_next_to_its_field_and_never_a_500() {
    let server = TestServer::start().await;
    let (page, _stop) = start_page(&server, recorder_with_a_sample());

    // A malformed 保険者番号: the message sits under that input, which keeps what was typed.
    let q = http::form(&[
        ("by", "insured"),
        ("person.insured.insurer_number", "12x"),
        ("person.insured.insured_card_symbol", "90000001"),
        ("person.insured.insured_identification_number", "1"),
        ("person.insured.insured_branch_number", "00"),
        ("person.insured.birthdate", "19800115"),
    ]);
    let reply = http::get(page, &format!("/people?{q}")).await;
    assert_eq!(reply.status, 422, "{}", reply.body);
    let input = "id=\"lookup-insured-person-insured-insurer_number\" name=\"person.insured.insurer_number\" value=\"12x\" aria-invalid=\"true\"";
    assert!(reply.body.contains(input), "{}", reply.body);
    let error_at =
        reply.body.find("id=\"lookup-insured-person-insured-insurer_number-error\"").expect("the field's message");
    let symbol_at =
        reply.body.find("id=\"lookup-insured-person-insured-insured_card_symbol\"").expect("the next input");
    assert!(error_at < symbol_at, "the message is next to its own field");
    assert!(
        !reply.body.contains("lookup-insured-person-insured-insured_card_symbol-error"),
        "only the bad field is marked"
    );

    // An unknown person, an empty lookup, an empty action form, a non-number: pages, not 500s.
    let unknown = http::get(page, "/people?by=serial&person.certificate_serial_number=FFFFFFFFFFFFFFFF").await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert!(unknown.body.contains("CARD_NOT_FOUND"), "{}", unknown.body);
    let empty = http::get(page, "/people?by=serial&person.certificate_serial_number=").await;
    assert_eq!(empty.status, 422);
    assert!(empty.body.contains("id=\"lookup-serial-person-certificate_serial_number-error\""), "{}", empty.body);
    let by_id = http::get(page, "/people?by=id&person.person_id=abc").await;
    assert_eq!(by_id.status, 422);
    assert!(by_id.body.contains("id=\"lookup-id-person-person_id-error\""), "{}", by_id.body);
    for path in ["/people/lose", "/people/change-insurer", "/people/issue-card", "/people/revoke-card"] {
        let reply = http::post(page, path, &[]).await;
        assert!(reply.status >= 400 && reply.status < 500, "{path}: {} {}", reply.status, reply.body);
        assert!(reply.body.contains("<html lang=\"ja\">"), "{path}: a page");
    }
    let fault = http::post(page, "/faults/add", &[("fault.kind", "latency"), ("fault.count", "many")]).await;
    assert_eq!(fault.status, 422);
    assert!(fault.body.contains("id=\"add-fault-fault-count-error\""), "{}", fault.body);
    assert!(fault.body.contains("value=\"many\""), "the value is kept");
    let no_kind = http::post(page, "/faults/add", &[]).await;
    assert_eq!(no_kind.status, 422);
    assert!(no_kind.body.contains("id=\"add-fault-fault-kind-error\""), "{}", no_kind.body);
    let latency =
        http::post(page, "/faults/add", &[("fault.kind", "latency"), ("fault.latency.max_ms", "999999")]).await;
    assert!(latency.body.contains("id=\"add-fault-fault-latency-min_ms-error\""), "{}", latency.body);
    let limit = http::get(page, "/journal?limit=5000").await;
    assert_eq!(limit.status, 422);
    assert!(limit.body.contains("id=\"filter-limit-error\""), "{}", limit.body);
    let facility = http::post(page, "/facilities/put", &[("facility.medical_institution_code", "1312345678")]).await;
    assert_eq!(facility.status, 422);
    assert!(facility.body.contains("id=\"put-facility-medical_institution_code-error\""), "{}", facility.body);
    let snapshot = http::post(page, "/snapshots/take", &[("name", "no spaces")]).await;
    assert_eq!(snapshot.status, 422);
    assert!(snapshot.body.contains("id=\"take-name-error\""), "{}", snapshot.body);
    let clock = http::post(page, "/clock/set", &[("now", "2024-07-03")]).await;
    assert_eq!(clock.status, 422);
    assert!(clock.body.contains("id=\"set-now-error\""), "{}", clock.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sites_form_changes_nothing() {
    let server = TestServer::start().await;
    let (page, _stop) = start_page(&server, recorder_with_a_sample());
    let body = http::form(&[("fault.kind", "outage")]);
    let foreign = http::request(page, "POST", "/faults/add", &[("Origin", "https://evil.example")], &body).await;
    assert_eq!(foreign.status, 403);
    let cross = http::request(page, "POST", "/faults/add", &[("Sec-Fetch-Site", "cross-site")], &body).await;
    assert_eq!(cross.status, 403);
    let mut admin = server.admin().await;
    assert!(admin.list_faults(ListFaultsRequest {}).await.expect("ListFaults").into_inner().faults.is_empty());
    let same = format!("http://{page}");
    let own = http::request(page, "POST", "/faults/add", &[("Origin", same.as_str())], &body).await;
    assert_eq!(own.status, 303, "{}", own.body);
    assert_eq!(admin.list_faults(ListFaultsRequest {}).await.expect("ListFaults").into_inner().faults.len(), 1);
    server.stop().await;
}
