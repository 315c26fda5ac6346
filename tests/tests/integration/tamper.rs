//! The access log is tamper-evident: each record is chained to the person's previous one, and the
//! verifier names the first record edited or removed behind the server's back (here through
//! RocksDB directly, as anyone with the data directory could).

use onshi_proto::v1::GetMedicationInfoRequest;
use onshi_proto::v1::medication_service_client::MedicationServiceClient;
use onshi_server::verify::verify_access_log;
use onshi_store::StoreHandle;

use crate::common::{CLINIC, TestServer, VALID_SERIAL, card_with_consents, patient, valid_person_search};

fn open_raw(data_dir: &std::path::Path) -> rocksdb::DB {
    let active = std::fs::read_to_string(data_dir.join("ACTIVE")).expect("ACTIVE");
    let path = data_dir.join(active.trim());
    let names = rocksdb::DB::list_cf(&rocksdb::Options::default(), &path).expect("column families");
    rocksdb::DB::open_cf(&rocksdb::Options::default(), &path, names).expect("open RocksDB")
}

fn verify(data_dir: &std::path::Path) -> onshi_server::verify::LogReport {
    let handle = StoreHandle::open(data_dir, Default::default()).expect("store");
    verify_access_log(&handle.get()).expect("walk")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_or_removed_access_record_is_found() {
    let server = TestServer::start().await;
    let mut clinic = server.qualification(CLINIC).await;
    clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &["pharmacists"])).await.expect("consent");
    let mut medication = MedicationServiceClient::new(server.channel(CLINIC).await);
    for _ in 0..4 {
        medication
            .get_medication_info(GetMedicationInfoRequest {
                message_header: None,
                patient_search_info: Some(patient(&valid_person_search())),
                start_date: "202501".into(),
                end_date: String::new(),
            })
            .await
            .expect("read");
    }
    let root = server.app.store.root().to_owned();
    drop((clinic, medication));
    let dir = server.stop_keeping_dir().await;
    let report = verify(&root);
    assert_eq!((report.records, report.broken.clone()), (4, None), "{report:?}");

    // Change the facility of the second record, directly in RocksDB.
    {
        let db = open_raw(&root);
        let cf = db.cf_handle("access_log").expect("family");
        let mut records: Vec<(Vec<u8>, serde_json::Value)> = db
            .iterator_cf(cf, rocksdb::IteratorMode::Start)
            .map(|i| i.expect("item"))
            .map(|(k, v)| (k.to_vec(), serde_json::from_slice(&v).expect("JSON")))
            .collect();
        records.sort_by_key(|(_, v)| v["seq"].as_u64());
        let (key, mut value) = records[1].clone();
        value["facility_code"] = "1342345673".into();
        db.put_cf(cf, &key, serde_json::to_vec(&value).expect("JSON")).expect("edit");
    }
    let broken = verify(&root).broken.expect("the edit is found");
    assert!(broken.contains("seq 2") && broken.contains("changed"), "{broken}");

    // Removing a record instead is found as well.
    {
        let db = open_raw(&root);
        let cf = db.cf_handle("access_log").expect("family");
        let keys: Vec<(Vec<u8>, u64)> = db
            .iterator_cf(cf, rocksdb::IteratorMode::Start)
            .map(|i| i.expect("item"))
            .map(|(k, v)| {
                (
                    k.to_vec(),
                    serde_json::from_slice::<serde_json::Value>(&v).expect("JSON")["seq"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        for (k, seq) in &keys {
            if *seq == 2 {
                db.delete_cf(cf, k).expect("delete");
            }
        }
    }
    let broken = verify(&root).broken.expect("the removal is found");
    assert!(broken.contains("missing"), "{broken}");
    drop(dir);
}
