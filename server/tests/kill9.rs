//! The `onshi-server serve` process: an acknowledged write survives kill -9 (consents recorded
//! by ConfirmByCard are still in the store after SIGKILL, and the restarted server opens the
//! recovered store and serves), and SIGTERM stops it in order, with a client still connected.

mod common;

use std::process::Command;
use std::time::Duration;

use onshi_domain::codes::ConsentKind;
use onshi_domain::ids::{CheckDigits, MedicalInstitutionCode};
use onshi_domain::population::SCENARIO_ID_BASE;
use onshi_domain::qualification::PersonId;
use onshi_proto::v1::{CardReaderInfo, ConfirmByCardRequest};
use onshi_store::StoreHandle;

use self::common::{CLINIC, client, demo_config_in, kill9, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consents_survive_sigkill_and_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, config_path) = demo_config_in(dir.path(), 500);

    let (child, addr) = start(&config_path);
    let mut c = client(dir.path(), addr).await;
    let reply = c
        .confirm_by_card(ConfirmByCardRequest {
            message_header: None,
            card_reader_info: Some(CardReaderInfo {
                certificate_serial_number: "A0000000000000000001".into(),
                verification_method: "2".into(),
                pharmacists_info_cons_flg: "1".into(),
                specific_health_checkups_info_cons_flg: "1".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("answered")
        .into_inner();
    let result = reply.message_body.expect("body").result_list.remove(0);
    assert_eq!(result.pharmacists_info_cons_flg, "1");
    let given = onshi_domain::date::JstDateTime::parse(&result.pharmacists_info_cons_time).expect("time");
    // The answer has arrived: the write is acknowledged. Kill the server without warning.
    drop(c);
    kill9(child);

    let facility = MedicalInstitutionCode::parse(CLINIC, CheckDigits::Strict).expect("code");
    let person = PersonId(SCENARIO_ID_BASE + 1);
    {
        let handle = StoreHandle::open(&config.data_dir, Default::default()).expect("store reopens after SIGKILL");
        let store = handle.get();
        let consent =
            store.consent(&facility, person, ConsentKind::Pharmacists).expect("read").expect("consent survived");
        assert_eq!(consent.given_at, given.unix_seconds());
        assert!(store.consent(&facility, person, ConsentKind::SpecificHealthCheckups).expect("read").is_some());
    }

    // The restarted server serves from the recovered store (and does not seed again).
    let (child, addr) = start(&config_path);
    let mut c = client(dir.path(), addr).await;
    let reply = c
        .confirm_by_card(ConfirmByCardRequest {
            message_header: None,
            card_reader_info: Some(CardReaderInfo {
                certificate_serial_number: "A0000000000000000001".into(),
                verification_method: "1".into(),
                ..Default::default()
            }),
        })
        .await
        .expect("answered after restart")
        .into_inner();
    assert_eq!(reply.message_body.expect("body").qualification_validity, "1");
    drop(c);
    kill9(child);
    let handle = StoreHandle::open(&config.data_dir, Default::default()).expect("store");
    let store = handle.get();
    assert!(store.consent(&facility, person, ConsentKind::Pharmacists).expect("read").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, config_path) = demo_config_in(dir.path(), 300);

    let (mut server, addr) = start(&config_path);
    // A connected client that has made a call stays connected while the server is told to stop.
    let mut c = client(dir.path(), addr).await;
    let request = ConfirmByCardRequest {
        message_header: None,
        card_reader_info: Some(CardReaderInfo {
            certificate_serial_number: "A0000000000000000001".into(),
            verification_method: "1".into(),
            ..Default::default()
        }),
    };
    c.confirm_by_card(request.clone()).await.expect("answered");
    let mut child = server.0.take().expect("child");
    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill -TERM");
    assert!(term.success());
    let mut status = None;
    for _ in 0..300 {
        if let Some(s) = child.try_wait().expect("wait") {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(status) = status else {
        let _ = child.kill();
        panic!("the server had not stopped 30 s after SIGTERM");
    };
    // Exit code 0: the server stopped itself rather than being killed by the signal.
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert!(c.confirm_by_card(request).await.is_err(), "nothing answers after the stop");
    // The store was closed: it opens again at once.
    StoreHandle::open(&config.data_dir, Default::default()).expect("store reopens after SIGTERM");
}
