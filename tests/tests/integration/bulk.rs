//! 一括照会: a job answers "processing" until it is ready, then one unit per search info with the
//! counts; it survives a restart; only its facility can read it.

use onshi_proto::v1::qualification_service_client::QualificationServiceClient;
use onshi_proto::v1::{BulkConfirmDownloadRequest, BulkConfirmUploadRequest, QualificationConfirmSearchInfo};
use tonic::Code;
use tonic::transport::Channel;

use crate::common::{CLINIC, DENTAL, TestServer, bad_request_fields, error_reason, valid_person_search};

fn search(number: &str, branch: &str, birthdate: &str, id: &str) -> QualificationConfirmSearchInfo {
    QualificationConfirmSearchInfo {
        insurer_number: "01130012".into(),
        insured_card_symbol: "90000001".into(),
        insured_identification_number: number.into(),
        insured_branch_number: branch.into(),
        birthdate: birthdate.into(),
        arbitrary_identifier: id.into(),
        ..Default::default()
    }
}

async fn download(
    c: &mut QualificationServiceClient<Channel>,
    reception: &str,
) -> onshi_proto::v1::BulkConfirmDownloadResponse {
    c.bulk_confirm_download(BulkConfirmDownloadRequest { message_header: None, reception_number: reception.into() })
        .await
        .expect("download answers")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_job_goes_from_processing_to_done_and_survives_a_restart() {
    let server = TestServer::start().await;
    let mut c = server.qualification(CLINIC).await;
    let entries = vec![
        valid_person_search(),
        search("2", "00", "19700220", "lost"),
        search("3", "00", "19850310", "changed"),
        search("9999999", "00", "19900101", "nobody"),
        search("4", "", "20150505", "twins"),
        search("1", "0", "19800115", "bad-branch"),
    ];
    let upload = c
        .bulk_confirm_upload(BulkConfirmUploadRequest {
            message_header: None,
            qualification_confirm_search_info: entries,
        })
        .await
        .expect("uploaded")
        .into_inner();
    assert_eq!(upload.number_of_search_info, 6);
    let reception = upload.reception_number.clone();
    assert!(!reception.is_empty());

    let pending = download(&mut c, &reception).await;
    assert_eq!(pending.message_header.expect("header").segment_of_result, "2", "still processing");
    assert!(pending.bulk_confirm_unit.is_empty());

    // Restart: the job is durable.
    let server = server.restart().await;
    let mut c = server.qualification(CLINIC).await;
    server.advance_clock(60);
    let done = download(&mut c, &reception).await;
    assert_eq!(done.message_header.expect("header").segment_of_result, "1");
    assert_eq!(done.number_of_search_info, 6);
    assert_eq!(
        (done.number_of_valid, done.number_of_invalid, done.number_of_invalid_newer_exists, done.number_of_not_found),
        (1, 1, 1, 1)
    );
    assert_eq!((done.number_of_several_match, done.number_of_errors), (1, 1));
    let units = &done.bulk_confirm_unit;
    assert_eq!(units.len(), 6);
    let validity = |i: usize| units[i].message_body.as_ref().expect("body").qualification_validity.clone();
    assert_eq!(
        (validity(0), validity(1), validity(2), validity(3), validity(4)),
        ("1".into(), "2".into(), "3".into(), "4".into(), "5".into())
    );
    assert_eq!(units[0].message_body.as_ref().expect("body").result_list[0].name, "山田\u{3000}太郎");
    assert_eq!(units[5].arbitrary_identifier, "bad-branch");
    let bad = units[5].message_body.as_ref().expect("body");
    assert_eq!((bad.processing_result_status.as_str(), bad.processing_result_code.as_str()), ("2", "2301"));
    assert!(bad.processing_result_message.contains("insured_branch_number"));

    // Another facility cannot see it; an unknown number is not found either.
    let mut dental = server.qualification(DENTAL).await;
    let status = dental
        .bulk_confirm_download(BulkConfirmDownloadRequest { message_header: None, reception_number: reception.clone() })
        .await
        .expect_err("not theirs");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(error_reason(&status).as_deref(), Some("RECEPTION_NUMBER_NOT_FOUND"));
    let status = c
        .bulk_confirm_download(BulkConfirmDownloadRequest {
            message_header: None,
            reception_number: "20260101DEADBEEF".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_sizes_are_bounded() {
    let server = TestServer::start().await;
    let mut c = server.qualification(CLINIC).await;
    let status = c
        .bulk_confirm_upload(BulkConfirmUploadRequest {
            message_header: None,
            qualification_confirm_search_info: Vec::new(),
        })
        .await
        .expect_err("empty");
    assert_eq!(bad_request_fields(&status), vec!["qualification_confirm_search_info".to_owned()]);
    let too_many = vec![valid_person_search(); 10_001];
    let status = c
        .bulk_confirm_upload(BulkConfirmUploadRequest {
            message_header: None,
            qualification_confirm_search_info: too_many,
        })
        .await
        .expect_err("too many");
    assert_eq!(status.code(), Code::InvalidArgument);
    // The limit itself is accepted.
    let most = vec![valid_person_search(); 10_000];
    let ok = c
        .bulk_confirm_upload(BulkConfirmUploadRequest { message_header: None, qualification_confirm_search_info: most })
        .await
        .expect("10,000 is allowed")
        .into_inner();
    assert_eq!(ok.number_of_search_info, 10_000);
    server.advance_clock(60);
    let done = download(&mut c, &ok.reception_number).await;
    assert_eq!(done.number_of_valid, 10_000);
    server.stop().await;
}
