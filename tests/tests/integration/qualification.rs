//! Qualification confirmation over real mTLS against a real RocksDB store: every scenario person
//! gets the answer the real system would give, population people are found by card and by
//! numbers, and people who do not exist are not.

use crate::common::{CLINIC, PERSONS, PHARMACY, TestServer};
use onshi_domain::codes::ConsentKind;
use onshi_domain::date::Date;
use onshi_domain::population::scenarios::{self, Ask, scenario_serial};
use onshi_domain::population::{InsuredKeys, SCENARIO_ID_BASE};
use onshi_domain::qualification::PersonId;
use onshi_proto::v1::qualification_service_client::QualificationServiceClient;
use onshi_proto::v1::{
    CardReaderInfo, ConfirmByCardRequest, ConfirmByInsuredNumberRequest, QualificationConfirmSearchInfo,
    QualificationConfirmationResponse, RequestHeader,
};
use tonic::transport::Channel;

type Client = QualificationServiceClient<Channel>;

fn search(k: &InsuredKeys, birthdate: Date) -> QualificationConfirmSearchInfo {
    QualificationConfirmSearchInfo {
        insurer_number: k.insurer_number.as_str().to_owned(),
        insured_card_symbol: k.symbol.as_str().to_owned(),
        insured_identification_number: k.number.as_str().to_owned(),
        insured_branch_number: k.branch.map(|b| b.as_str().to_owned()).unwrap_or_default(),
        birthdate: birthdate.yyyymmdd(),
        ..Default::default()
    }
}

async fn by_numbers(
    c: &mut Client,
    info: QualificationConfirmSearchInfo,
    date: Option<&str>,
) -> QualificationConfirmationResponse {
    let header = date.map(|d| RequestHeader { qualification_confirmation_date: d.to_owned(), ..Default::default() });
    c.confirm_by_insured_number(ConfirmByInsuredNumberRequest {
        message_header: header,
        qualification_confirm_search_info: Some(info),
    })
    .await
    .expect("ConfirmByInsuredNumber answers")
    .into_inner()
}

fn reader(serial: &str) -> CardReaderInfo {
    CardReaderInfo {
        certificate_serial_number: serial.to_owned(),
        verification_method: "1".to_owned(),
        ..Default::default()
    }
}

async fn by_card(c: &mut Client, info: CardReaderInfo, date: Option<&str>) -> QualificationConfirmationResponse {
    let header = date.map(|d| RequestHeader { qualification_confirmation_date: d.to_owned(), ..Default::default() });
    c.confirm_by_card(ConfirmByCardRequest { message_header: header, card_reader_info: Some(info) })
        .await
        .expect("ConfirmByCard answers")
        .into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_gets_the_real_systems_answer() {
    let server = TestServer::start().await;
    let mut c = server.qualification(CLINIC).await;
    let as_of = server.as_of();
    let all = scenarios::all(as_of);
    assert_eq!(all.len(), 12);
    for s in &all {
        for e in &s.expectations {
            let r = match &e.ask {
                Ask::Card(serial) => by_card(&mut c, reader(serial.as_str()), None).await,
                Ask::Insured(k, birthdate) => by_numbers(&mut c, search(k, *birthdate), None).await,
            };
            let header = r.message_header.expect("header");
            let body = r.message_body.expect("body");
            let what = format!("scenario {} asked {:?}", s.key, e.ask);
            assert_eq!(header.segment_of_result, "1", "{what}");
            assert_eq!(header.medical_institution_code, CLINIC, "{what}");
            let classification = if matches!(e.ask, Ask::Card(_)) { "1" } else { "2" };
            assert_eq!(header.reference_classification, classification, "{what}");
            assert_eq!(body.qualification_validity, e.validity.code(), "{what}");
            assert_eq!(body.result_list.len(), e.results, "{what}");
            match e.result_code {
                Some(key) => {
                    let code = onshi_domain::result_codes::ResultCodes::default().get(key).clone();
                    assert_eq!(body.processing_result_code, code.code, "{what}");
                    assert_eq!(body.processing_result_status, code.status.code(), "{what}");
                    assert!(!body.processing_result_message.is_empty(), "{what}");
                }
                None => {
                    assert_eq!(body.processing_result_code, "", "{what}");
                    assert_eq!(body.processing_result_status, "1", "{what}");
                }
            }
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scenario_details_follow_the_rules() {
    let server = TestServer::start().await;
    let mut c = server.qualification(PHARMACY).await;
    let all = scenarios::all(server.as_of());
    let find = |key: &str| all.iter().find(|s| s.key == key).expect("scenario");
    let insured_ask = |key: &str, n: usize| match &find(key).expectations[n].ask {
        Ask::Insured(k, b) => (k.clone(), *b),
        Ask::Card(_) => panic!("expected an insured-number ask"),
    };

    // Lost: validity 2 with the reason and date of loss.
    let (k, b) = insured_ask("lost-qualification", 1);
    let r = by_numbers(&mut c, search(&k, b), None).await.message_body.expect("body");
    assert_eq!(r.qualification_validity, "2");
    assert_eq!(r.result_list[0].reason_of_loss, "02");
    assert_eq!(r.result_list[0].disqualification_date, "20251001");

    // Changed insurer: the old qualification names its loss; the card answers with the new one.
    let (old, b) = insured_ask("changed-insurer", 1);
    let r = by_numbers(&mut c, search(&old, b), None).await.message_body.expect("body");
    assert_eq!((r.qualification_validity.as_str(), r.result_list[0].reason_of_loss.as_str()), ("3", "03"));
    let r = by_card(&mut c, reader(&scenario_serial(3)), None).await.message_body.expect("body");
    assert_eq!(r.result_list[0].insurer_number, "06130017");
    // Asked for a date before the change, the old numbers were valid.
    let r = by_numbers(&mut c, search(&old, b), Some("20250331")).await.message_body.expect("body");
    assert_eq!(r.qualification_validity, "1");

    // Several match: both twins are listed; with 枝番, one.
    let (k, b) = insured_ask("several-match", 0);
    let r = by_numbers(&mut c, search(&k, b), None).await.message_body.expect("body");
    assert_eq!(r.qualification_validity, "5");
    let mut names: Vec<_> = r.result_list.iter().map(|x| x.insured_branch_number.clone()).collect();
    names.sort();
    assert_eq!(names, ["01", "02"]);

    // Turned 75: the day before, the 国保 card answered 1 and 後期高齢者 did not exist yet.
    let (old75, b75) = insured_ask("turned-75", 1);
    let (new75, _) = insured_ask("turned-75", 2);
    let r = by_numbers(&mut c, search(&old75, b75), Some("20261031")).await.message_body.expect("body");
    assert_eq!(r.qualification_validity, "1");
    assert_eq!(r.result_list[0].insured_partial_contribution_ratio, "020");
    assert!(r.result_list[0].elderly_recipient_certificate_info.is_some());
    let r = by_numbers(&mut c, search(&new75, b75), Some("20261031")).await.message_body.expect("body");
    assert_eq!(r.qualification_validity, "4");
    let r = by_numbers(&mut c, search(&new75, b75), Some("20261101")).await.message_body.expect("body");
    assert_eq!(r.qualification_validity, "1");
    assert_eq!(r.result_list[0].insurer_number, "39131156");
    assert_eq!(r.result_list[0].insured_partial_contribution_ratio, "010");
    let card = by_card(&mut c, reader(&scenario_serial(8)), Some("20261031")).await.message_body.expect("body");
    assert_eq!(card.result_list[0].insurer_number, "  131045");
    let card = by_card(&mut c, reader(&scenario_serial(8)), Some("20261101")).await.message_body.expect("body");
    assert_eq!(card.result_list[0].insurer_number, "39131156");

    // Preschool child: 2割 and 未就学.
    let r = by_card(&mut c, reader(&scenario_serial(9)), None).await.message_body.expect("body");
    assert_eq!(r.result_list[0].preschool_classification, "1");
    assert_eq!(r.result_list[0].insured_partial_contribution_ratio, "020");
    assert_eq!(r.result_list[0].personal_family_classification, "2");

    // 70–74: the 高齢受給者証.
    let r = by_card(&mut c, reader(&scenario_serial(10)), None).await.message_body.expect("body");
    let e = r.result_list[0].elderly_recipient_certificate_info.clone().expect("elderly info");
    assert_eq!(e.elderly_recipient_valid_start_date, "20240701");
    assert_eq!(e.elderly_recipient_contribution_ratio, "020");

    // The limit certificate shows only with consent, by card and by numbers.
    let r = by_card(&mut c, reader(&scenario_serial(11)), None).await.message_body.expect("body");
    assert!(r.result_list[0].limit_application_certificate_related_info.is_none());
    let mut consent = reader(&scenario_serial(11));
    consent.limit_application_certificate_related_cons_flg = "1".into();
    let r = by_card(&mut c, consent, None).await.message_body.expect("body");
    let limit = r.result_list[0].limit_application_certificate_related_info.clone().expect("shown with consent");
    assert_eq!(limit.limit_application_certificate_classification_flag, "A03");
    assert_eq!(r.result_list[0].limit_application_certificate_related_cons_flg, "1");
    assert_eq!(r.result_list[0].limit_application_certificate_related_cons_time.len(), 14);
    let (k, b) = insured_ask("limit-certificate", 1);
    let mut info = search(&k, b);
    let r = by_numbers(&mut c, info.clone(), None).await.message_body.expect("body");
    assert!(r.result_list[0].limit_application_certificate_related_info.is_none());
    info.limit_application_certificate_related_cons_flg = "1".into();
    let r = by_numbers(&mut c, info, None).await.message_body.expect("body");
    assert!(r.result_list[0].limit_application_certificate_related_info.is_some());

    // The 特定疾病療養受療証 likewise.
    let r = by_card(&mut c, reader(&scenario_serial(12)), None).await.message_body.expect("body");
    assert!(r.result_list[0].specific_diseases_certificate_list.is_none());
    let mut consent = reader(&scenario_serial(12));
    consent.specific_diseases_certificate_related_cons_flg = "1".into();
    let r = by_card(&mut c, consent, None).await.message_body.expect("body");
    let list = r.result_list[0].specific_diseases_certificate_list.clone().expect("shown with consent");
    assert_eq!(list.specific_diseases_certificate_info[0].specific_diseases_disease_category, "1");
    assert_eq!(list.specific_diseases_certificate_info[0].specific_diseases_self_pay, "10000");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_confirmation_records_consents_with_their_times() {
    let server = TestServer::start().await;
    let mut c = server.qualification(CLINIC).await;
    let mut info = reader(&scenario_serial(1));
    info.pharmacists_info_cons_flg = "1".into();
    info.specific_health_checkups_info_cons_flg = "1".into();
    info.diagnosis_info_cons_flg = "0".into();
    let r = by_card(&mut c, info, None).await;
    let result = &r.message_body.expect("body").result_list[0];
    assert_eq!(result.pharmacists_info_cons_flg, "1");
    assert_eq!(result.diagnosis_info_cons_flg, "0");
    assert_eq!(result.diagnosis_info_cons_time, "");
    let given = onshi_domain::date::JstDateTime::parse(&result.pharmacists_info_cons_time).expect("time");
    let until = onshi_domain::date::JstDateTime::parse(&result.pharmacists_info_available_time).expect("time");
    assert_eq!(until.unix_seconds() - given.unix_seconds(), 24 * 3600, "outpatient consent lasts 24 hours");

    let person = PersonId(SCENARIO_ID_BASE + 1);
    let facility =
        onshi_domain::ids::MedicalInstitutionCode::parse(CLINIC, onshi_domain::ids::CheckDigits::Strict).expect("code");
    let stored =
        server.app.store.get().consent(&facility, person, ConsentKind::Pharmacists).expect("store").expect("recorded");
    assert_eq!(stored.given_at, given.unix_seconds());
    assert_eq!(stored.available_until, until.unix_seconds());
    assert!(
        server
            .app
            .store
            .get()
            .consent(&facility, person, ConsentKind::SpecificHealthCheckups)
            .expect("store")
            .is_some()
    );
    assert!(
        server.app.store.get().consent(&facility, person, ConsentKind::Diagnosis).expect("store").is_none(),
        "declined is not recorded"
    );
    // Another facility holds no consent for this person.
    let pharmacy = onshi_domain::ids::MedicalInstitutionCode::parse(PHARMACY, onshi_domain::ids::CheckDigits::Strict)
        .expect("code");
    assert!(server.app.store.get().consent(&pharmacy, person, ConsentKind::Pharmacists).expect("store").is_none());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn population_people_are_found_and_strangers_are_not() {
    let server = TestServer::start().await;
    let mut c = server.qualification(CLINIC).await;
    let pop = server.population();
    let mut checked_cards = 0;
    for i in (0..PERSONS).step_by(97) {
        let keys = pop.keys(i);
        let person = pop.person(i);
        let r = by_numbers(&mut c, search(&keys.current, keys.birthdate), None).await.message_body.expect("body");
        assert_eq!(r.qualification_validity, "1", "person {i}");
        assert_eq!(r.result_list[0].name, person.name, "person {i}");
        assert_eq!(r.result_list[0].birthdate, person.birthdate.yyyymmdd());
        // Without 枝番 the same person is found alone.
        let mut no_branch = search(&keys.current, keys.birthdate);
        no_branch.insured_branch_number.clear();
        let r = by_numbers(&mut c, no_branch, None).await.message_body.expect("body");
        assert_eq!((r.qualification_validity.as_str(), r.result_list.len()), ("1", 1), "person {i}");
        if let Some(serial) = &keys.card_serial {
            let r = by_card(&mut c, reader(serial.as_str()), None).await.message_body.expect("body");
            assert_eq!(r.qualification_validity, "1", "person {i}");
            assert_eq!(r.result_list[0].insured_identification_number, keys.current.number.as_str());
            checked_cards += 1;
        }
        // A wrong birthdate matches nobody.
        let wrong = keys.birthdate.add_days(1).expect("date");
        let r = by_numbers(&mut c, search(&keys.current, wrong), None).await.message_body.expect("body");
        assert_eq!((r.qualification_validity.as_str(), r.result_list.len()), ("4", 0));
    }
    assert!(checked_cards > 10);
    // People beyond the seeded population do not exist.
    for i in [PERSONS, PERSONS + 1, PERSONS * 10] {
        let keys = pop.keys(i);
        let r = by_numbers(&mut c, search(&keys.current, keys.birthdate), None).await.message_body.expect("body");
        assert_eq!(r.qualification_validity, "4");
        if let Some(serial) = &keys.card_serial {
            let r = by_card(&mut c, reader(serial.as_str()), None).await.message_body.expect("body");
            assert_eq!((r.processing_result_status.as_str(), r.processing_result_code.as_str()), ("2", "2103"));
        }
    }
    server.stop().await;
}
