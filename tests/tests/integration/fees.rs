//! Fee additions over real mTLS: facilities tap cards and read medication on some days (the
//! server's clock set to a day of the rules' past), then ComputeAdditions gives what those facts
//! earn and refuses what the limits forbid; another facility's facts never count; UsageRate counts
//! the facility's own confirmations; EstimateAdditions reproduces the leaflet; bad input names the
//! field.

use onshi_domain::date::{Date, JstDateTime};
use onshi_domain::qualification::PersonId;
use onshi_proto::v1::fee_service_client::FeeServiceClient;
use onshi_proto::v1::medication_service_client::MedicationServiceClient;
use onshi_proto::v1::{
    ComputeAdditionsRequest, ComputeAdditionsResponse, EstimateAdditionsRequest, EstimateSubsidyRequest, FeeAmount,
    FeeNotification, FeePatient, FeeVisit, GetMedicationInfoRequest, PatientSearchInfo, PatientsPerDay,
    PatientsPerMonth, QualificationConfirmSearchInfo, UsageRateRequest, VisitAdditions, VisitKind,
    estimate_additions_request::Counts, fee_patient,
};
use onshi_store::ConfirmedBy;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::{
    CLINIC, PHARMACY, TestServer, VALID_SERIAL, bad_request_fields, card_with_consents, patient, valid_person_search,
};

/// The limit-certificate scenario person (山田 is the valid one, A…01).
const SECOND_SERIAL: &str = "A0000000000000000011";

fn second_person() -> QualificationConfirmSearchInfo {
    QualificationConfirmSearchInfo {
        insurer_number: "01130012".into(),
        insured_card_symbol: "90000001".into(),
        insured_identification_number: "11".into(),
        insured_branch_number: "00".into(),
        birthdate: "19650303".into(),
        ..Default::default()
    }
}

fn at(y: u16, m: u8, d: u8, h: u8, min: u8) -> i64 {
    JstDateTime::new(Date::new(y, m, d).expect("date"), h, min, 0).expect("time").unix_seconds()
}

/// A server whose clock reads `unix` (JST), seeded as of that day.
async fn server_at(unix: i64) -> TestServer {
    let offset =
        unix - std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let server = TestServer::start_with(|c| c.clock_offset_seconds = offset).await;
    server.clock.set_now(unix);
    server
}

fn by_card(serial: &str) -> Option<FeePatient> {
    Some(FeePatient { patient: Some(fee_patient::Patient::CertificateSerialNumber(serial.into())) })
}

fn by_numbers(s: &QualificationConfirmSearchInfo) -> Option<FeePatient> {
    Some(FeePatient { patient: Some(fee_patient::Patient::Insured(patient(s))) })
}

fn visit(kind: VisitKind, patient: Option<FeePatient>, date: &str) -> FeeVisit {
    FeeVisit { patient, date: date.into(), kind: kind as i32, outpatient_care: false }
}

fn medication(s: &QualificationConfirmSearchInfo, month: &str) -> GetMedicationInfoRequest {
    GetMedicationInfoRequest {
        message_header: None,
        patient_search_info: Some(patient(s)),
        start_date: month.into(),
        end_date: month.into(),
    }
}

/// A population person's insured numbers (the population's people are valid on its day).
fn population_person(server: &TestServer, index: u64) -> QualificationConfirmSearchInfo {
    let k = server.population().keys(index);
    QualificationConfirmSearchInfo {
        insurer_number: k.current.insurer_number.as_str().to_owned(),
        insured_card_symbol: k.current.symbol.as_str().to_owned(),
        insured_identification_number: k.current.number.as_str().to_owned(),
        insured_branch_number: k.current.branch.map(|b| b.as_str().to_owned()).unwrap_or_default(),
        birthdate: k.birthdate.yyyymmdd(),
        ..Default::default()
    }
}

async fn fees(server: &TestServer, facility: &str) -> FeeServiceClient<Channel> {
    FeeServiceClient::new(server.channel(facility).await)
}

fn of(r: &ComputeAdditionsResponse, index: u32) -> &VisitAdditions {
    r.visits.iter().find(|v| v.index == index).expect("the visit is answered")
}

fn earned(v: &VisitAdditions) -> Vec<(String, u32)> {
    v.earned.iter().map(|e| (e.addition.clone(), e.points)).collect()
}

fn refusals(v: &VisitAdditions) -> Vec<&str> {
    v.refused.iter().map(|r| r.reason.as_str()).collect()
}

const A: &str = "電子的保健医療情報活用加算";
const DX: &str = "医療DX推進体制整備加算";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clinics_taps_and_medication_reads_earn_the_additions_the_limits_allow() {
    // Period A (2022-04 … 09): 初診 7 points when 薬剤情報 is obtained, 3 when not possible;
    // 再診 4 points only when obtained; each once a month.
    let server = server_at(at(2022, 7, 4, 9, 10)).await;
    let mut clinic = server.qualification(CLINIC).await;
    let mut pharmacy = server.qualification(PHARMACY).await;
    let mut clinic_med = MedicationServiceClient::new(server.channel(CLINIC).await);
    let mut pharmacy_med = MedicationServiceClient::new(server.channel(PHARMACY).await);
    let third = population_person(&server, 1);

    // Day 1, 09:10: the first patient taps the card consenting to 薬剤情報, the second taps it
    // without consenting, the third shows the insurance card.
    clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &["pharmacists"])).await.expect("confirmed");
    // The fact was written before the answer came back.
    let valid = server
        .app
        .store
        .get()
        .card_owner(&onshi_domain::ids::CertificateSerial::parse(VALID_SERIAL).expect("serial"))
        .expect("store")
        .expect("owner");
    let code =
        onshi_domain::ids::MedicalInstitutionCode::parse(CLINIC, onshi_domain::ids::CheckDigits::Strict).expect("code");
    let day1 = Date::new(2022, 7, 4).expect("date");
    let (card_at, insured_at) = server.app.store.get().confirmations_of(&code, day1, valid).expect("store");
    assert_eq!((card_at, insured_at), (Some(at(2022, 7, 4, 9, 10)), None));
    clinic.confirm_by_card(card_with_consents(SECOND_SERIAL, &[])).await.expect("confirmed");
    let reply = clinic
        .confirm_by_insured_number(onshi_proto::v1::ConfirmByInsuredNumberRequest {
            message_header: None,
            qualification_confirm_search_info: Some(third.clone()),
        })
        .await
        .expect("confirmed")
        .into_inner();
    assert_eq!(reply.message_body.expect("body").qualification_validity, "1");
    // 09:12: the clinic looks up the first patient's medication.
    server.advance_clock(120);
    clinic_med.get_medication_info(medication(&valid_person_search(), "202206")).await.expect("served");

    // Day 2: the first patient again, with the card and medication; the second patient goes to
    // the pharmacy, which taps the card and reads the medication — facts of the pharmacy only.
    server.advance_clock(86_400);
    clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &["pharmacists"])).await.expect("confirmed");
    clinic_med.get_medication_info(medication(&valid_person_search(), "202206")).await.expect("served");
    pharmacy.confirm_by_card(card_with_consents(SECOND_SERIAL, &["pharmacists"])).await.expect("confirmed");
    pharmacy_med.get_medication_info(medication(&second_person(), "202206")).await.expect("served");

    // Day 3: the first patient a third time, medication read again.
    server.advance_clock(86_400);
    clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &["pharmacists"])).await.expect("confirmed");
    clinic_med.get_medication_info(medication(&valid_person_search(), "202206")).await.expect("served");

    let request = ComputeAdditionsRequest {
        visits: vec![
            visit(VisitKind::FirstVisit, by_card(VALID_SERIAL), "20220704"),
            visit(VisitKind::FirstVisit, by_card(SECOND_SERIAL), "20220704"),
            visit(VisitKind::FirstVisit, by_numbers(&third), "20220704"),
            // The first patient named by insured numbers: the same person as the card.
            visit(VisitKind::Revisit, by_numbers(&valid_person_search()), "20220705"),
            visit(VisitKind::Revisit, by_card(SECOND_SERIAL), "20220705"),
            visit(VisitKind::Revisit, by_card(VALID_SERIAL), "20220706"),
            visit(VisitKind::FirstVisit, by_card(VALID_SERIAL), "20220706"),
        ],
        ..Default::default()
    };
    let r = fees(&server, CLINIC).await.compute_additions(request).await.expect("computed").into_inner();

    let v0 = of(&r, 0);
    assert_eq!(earned(v0), [(A.to_owned(), 7)]);
    assert_eq!(v0.earned[0].reason, "薬剤情報 obtained through the system at 09:12");
    assert_eq!(v0.earned[0].receipt_code, "111015170");
    assert_eq!((v0.card_confirmed_at.as_str(), v0.medication_obtained_at.as_str()), ("09:10", "09:12"));

    let v1 = of(&r, 1);
    assert_eq!(earned(v1), [(A.to_owned(), 3)], "the card without consent: obtaining was not possible");
    assert_eq!(v1.earned[0].tier, "fallback");
    assert!(v1.earned[0].reason.starts_with("obtaining through the system was not possible"), "{:?}", v1.earned[0]);

    let v2 = of(&r, 2);
    assert_eq!(earned(v2), [(A.to_owned(), 3)]);
    assert_eq!((v2.card_confirmed_at.as_str(), v2.insured_number_confirmed_at.as_str()), ("", "09:10"));
    assert!(v2.earned[0].reason.contains("no card was used"), "{:?}", v2.earned[0]);

    let v3 = of(&r, 3);
    assert_eq!(earned(v3), [(A.to_owned(), 4)], "再診 with 薬剤情報 obtained");
    assert_eq!(v3.medication_obtained_at, "09:12");

    // The pharmacy's card tap and medication read of the second patient do not count here.
    let v4 = of(&r, 4);
    assert!(v4.earned.is_empty());
    assert_eq!((v4.card_confirmed_at.as_str(), v4.medication_obtained_at.as_str()), ("", ""));
    assert!(refusals(v4).iter().any(|r| r.contains("not obtained through the system")), "{:?}", v4.refused);

    // The limits: 再診 once a month, 初診 once a month.
    let v5 = of(&r, 5);
    assert!(v5.earned.is_empty());
    assert_eq!(
        refusals(v5),
        ["not claimable: claimed on 2022-07-05, once a month; allowed again from 2022-08"],
        "{:?}",
        v5.refused
    );
    let v6 = of(&r, 6);
    assert!(v6.earned.is_empty());
    assert!(refusals(v6)[0].starts_with("not claimable: claimed on 2022-07-04"), "{:?}", v6.refused);

    let months: Vec<_> = r.months.iter().map(|m| (m.month.as_str(), m.points, m.yen)).collect();
    assert_eq!(months, [("202207", 17, 170)]);
    assert_eq!((r.total_points, r.total_yen), (17, 170));
    // Answered in date order, each carrying its index.
    let dates: Vec<&str> = r.visits.iter().map(|v| v.date.as_str()).collect();
    assert!(dates.windows(2).all(|w| w[0] <= w[1]), "{dates:?}");

    // The pharmacy's own facts count for the pharmacy: 調剤 with 薬剤情報 obtained, 3 points.
    let request = ComputeAdditionsRequest {
        visits: vec![visit(VisitKind::Dispensing, by_card(SECOND_SERIAL), "20220705")],
        ..Default::default()
    };
    let p = fees(&server, PHARMACY).await.compute_additions(request).await.expect("computed").into_inner();
    assert_eq!(earned(&p.visits[0]), [(A.to_owned(), 3)]);
    assert_eq!(p.visits[0].medication_obtained_at, "09:12");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_usage_rate_counts_the_facilitys_own_confirmations_and_gives_the_dx_tier() {
    let server = server_at(at(2024, 6, 3, 10, 0)).await;
    let mut clinic = server.qualification(CLINIC).await;
    let mut pharmacy = server.qualification(PHARMACY).await;
    // June 2024 at the clinic: two patients by card, one by insured numbers (twice) → 2 of 3.
    clinic.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect("confirmed");
    clinic.confirm_by_card(card_with_consents(SECOND_SERIAL, &[])).await.expect("confirmed");
    let third = population_person(&server, 1);
    for _ in 0..2 {
        clinic
            .confirm_by_insured_number(onshi_proto::v1::ConfirmByInsuredNumberRequest {
                message_header: None,
                qualification_confirm_search_info: Some(third.clone()),
            })
            .await
            .expect("confirmed");
    }
    // The pharmacy confirms the third patient by card-less numbers only: it does not count for
    // the clinic, and the clinic's do not count for the pharmacy.
    pharmacy.confirm_by_card(card_with_consents(VALID_SERIAL, &[])).await.expect("confirmed");

    let ask = |claim: &str| UsageRateRequest { claim_month: claim.into(), ..Default::default() };
    let r = fees(&server, CLINIC).await.usage_rate(ask("202410")).await.expect("answered").into_inner();
    let months: Vec<_> =
        r.months.iter().map(|m| (m.month.as_str(), m.card_confirmations, m.all_confirmations)).collect();
    assert_eq!(
        months,
        [("202405", 0, 0), ("202406", 2, 3), ("202407", 0, 0), ("202408", 0, 0), ("202409", 0, 0), ("202410", 0, 0)]
    );
    assert_eq!(r.months[1].rate, "66.6 %");
    assert_eq!((r.window.as_str(), r.best_month.as_str()), ("2024-05…2024-07", "202406"));
    let tiers: Vec<_> = r.tiers.iter().map(|t| (t.addition.as_str(), t.tier.as_str(), t.points)).collect();
    assert_eq!(tiers, [(DX, "加算1", 11)], "66.6 % ≥ 15 %: 医科 加算1");
    // 2025-04's window (2024-11 … 2025-01) has nothing recorded.
    let later = fees(&server, CLINIC).await.usage_rate(ask("202504")).await.expect("answered").into_inner();
    assert_eq!((later.tiers[0].points, later.best_month.as_str()), (0, ""));
    assert!(later.tiers[0].reason.contains("no confirmations recorded"), "{:?}", later.tiers);

    let p = fees(&server, PHARMACY).await.usage_rate(ask("202410")).await.expect("answered").into_inner();
    assert_eq!((p.months[1].card_confirmations, p.months[1].all_confirmations), (1, 1));
    assert_eq!(p.tiers.iter().map(|t| (t.tier.as_str(), t.points)).collect::<Vec<_>>(), [("加算1", 7)]);

    // ComputeAdditions judges 医療DX推進体制整備加算 on the same recorded rates, once notified.
    let notified = FeeNotification { addition: DX.into(), from_date: "20240601".into(), tier: String::new() };
    let request = |notifications| ComputeAdditionsRequest {
        visits: vec![visit(VisitKind::FirstVisit, by_card(VALID_SERIAL), "20241001")],
        notifications,
        ..Default::default()
    };
    let r = fees(&server, CLINIC).await.compute_additions(request(vec![notified])).await.expect("computed");
    let v = &r.get_ref().visits[0];
    assert!(earned(v).contains(&(DX.to_owned(), 11)), "{:?}", v);
    let dx = v.earned.iter().find(|e| e.addition == DX).expect("dx");
    assert!(dx.reason.contains("2024-06") && dx.reason.contains("at least 15 %"), "{}", dx.reason);
    let r = fees(&server, CLINIC).await.compute_additions(request(vec![])).await.expect("computed");
    let v = &r.get_ref().visits[0];
    assert!(v.earned.iter().all(|e| e.addition != DX));
    assert!(refusals(v).iter().any(|r| r.contains("not notified")), "{:?}", v.refused);
    server.stop().await;
}

fn amount(points: u64, yen: u64) -> Option<FeeAmount> {
    Some(FeeAmount { points, yen })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_estimate_reproduces_the_leaflets_model_cases() {
    let server = TestServer::start().await;
    let mut fees = fees(&server, CLINIC).await;
    let clinic = EstimateAdditionsRequest {
        department: 0,
        counts: Some(Counts::PerDay(PatientsPerDay {
            patients: 35,
            first_visits: 3,
            revisits: 20,
            days_per_month: 20,
        })),
        card_holding_rate_hundredths: 4240,
        rules_date: "20220401".into(),
    };
    let e = fees.estimate_additions(clinic).await.expect("estimated").into_inner();
    assert_eq!(e.department, "医科");
    let cards = e.with_cards.expect("case");
    assert_eq!(
        (cards.per_day, cards.per_month, cards.per_year),
        (amount(43, 430), amount(860, 8_600), amount(10_320, 103_200))
    );
    let insurance = e.insurance_card_only.expect("case");
    assert_eq!(
        (insurance.per_day, insurance.per_month, insurance.per_year),
        (amount(9, 90), amount(180, 1_800), amount(2_160, 21_600))
    );

    // The pharmacy asks as itself: its kind is 調剤.
    let pharmacy = EstimateAdditionsRequest {
        department: 0,
        counts: Some(Counts::PerMonth(PatientsPerMonth { patients: 1200, counted: 795 })),
        card_holding_rate_hundredths: 4240,
        rules_date: "20220401".into(),
    };
    let e = FeeServiceClient::new(server.channel(PHARMACY).await)
        .estimate_additions(pharmacy)
        .await
        .expect("estimated")
        .into_inner();
    assert_eq!(e.department, "調剤");
    let cards = e.with_cards.expect("case");
    assert_eq!(
        (cards.per_day, cards.per_month, cards.per_year),
        (None, amount(1_011, 10_110), amount(12_132, 121_320))
    );
    let insurance = e.insurance_card_only.expect("case");
    assert_eq!((insurance.per_month, insurance.per_year), (amount(265, 2_650), amount(3_180, 31_800)));

    // The 2022 subsidy: a clinic's 3/4 of 500,000 yen is over its 321,000 yen limit.
    let s = fees
        .estimate_subsidy(EstimateSubsidyRequest { eligible_cost_yen: 500_000, ..Default::default() })
        .await
        .expect("estimated")
        .into_inner();
    assert_eq!(
        (s.amount_yen, s.limit_yen, s.bound.as_str(), s.schedule.as_str()),
        (321_000, 321_000, "limit", "original")
    );
    let s = fees
        .estimate_subsidy(EstimateSubsidyRequest {
            facility: onshi_proto::v1::SubsidyFacility::Hospital as i32,
            card_readers: 2,
            eligible_cost_yen: 5_000_000,
            readers_applied_on: "20220901".into(),
            ..Default::default()
        })
        .await
        .expect("estimated")
        .into_inner();
    assert_eq!((s.amount_yen, s.bound.as_str(), s.schedule.as_str()), (2_002_000, "limit", "increased"));
    server.stop().await;
}

async fn refused_fields(fees: &mut FeeServiceClient<Channel>, request: ComputeAdditionsRequest) -> Vec<String> {
    let status = fees.compute_additions(request).await.expect_err("refused");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    bad_request_fields(&status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_is_refused_naming_the_field() {
    let server = TestServer::start().await;
    let mut fees = fees(&server, CLINIC).await;
    let one = |v: FeeVisit| ComputeAdditionsRequest { visits: vec![v], ..Default::default() };

    // A date outside every period of the rules.
    let fields = refused_fields(&mut fees, one(visit(VisitKind::FirstVisit, by_card(VALID_SERIAL), "20220331"))).await;
    assert_eq!(fields, ["visits[0].date"]);
    // A visit kind a clinic cannot have.
    let fields = refused_fields(&mut fees, one(visit(VisitKind::Dispensing, by_card(VALID_SERIAL), "20240703"))).await;
    assert_eq!(fields, ["visits[0].kind"]);
    let fields = refused_fields(&mut fees, one(visit(VisitKind::Unspecified, by_card(VALID_SERIAL), "20240703"))).await;
    assert_eq!(fields, ["visits[0].kind"]);
    // A span over 13 months, given or from the visits.
    let mut long = one(visit(VisitKind::FirstVisit, by_card(VALID_SERIAL), "20240703"));
    long.from_date = "20240101".into();
    long.to_date = "20250201".into();
    assert_eq!(refused_fields(&mut fees, long).await, ["to_date"]);
    let spread = ComputeAdditionsRequest {
        visits: vec![
            visit(VisitKind::FirstVisit, by_card(VALID_SERIAL), "20240101"),
            visit(VisitKind::FirstVisit, by_card(VALID_SERIAL), "20250201"),
        ],
        ..Default::default()
    };
    assert_eq!(refused_fields(&mut fees, spread).await, ["visits"]);
    // A patient nobody is, a malformed serial, a notification of an addition that needs none.
    let fields =
        refused_fields(&mut fees, one(visit(VisitKind::FirstVisit, by_card("A0000000000000000005"), ""))).await;
    assert_eq!(fields, ["visits[0].patient.certificate_serial_number"]);
    let mut unknown = one(visit(VisitKind::FirstVisit, by_numbers(&valid_person_search()), ""));
    if let Some(FeePatient { patient: Some(fee_patient::Patient::Insured(s)) }) = &mut unknown.visits[0].patient {
        *s = PatientSearchInfo { insured_identification_number: "9999999".into(), ..s.clone() };
    }
    assert_eq!(refused_fields(&mut fees, unknown).await, ["visits[0].patient.insured"]);
    let mut odd = one(visit(VisitKind::FirstVisit, by_card(VALID_SERIAL), ""));
    odd.notifications = vec![FeeNotification { addition: A.into(), ..Default::default() }];
    assert_eq!(refused_fields(&mut fees, odd).await, ["notifications[0].addition"]);
    // More than 100,000 visits.
    let many = ComputeAdditionsRequest {
        visits: vec![visit(VisitKind::FirstVisit, by_card(VALID_SERIAL), ""); 100_001],
        ..Default::default()
    };
    assert_eq!(refused_fields(&mut fees, many).await, ["visits"]);

    // The estimate and the usage rate name theirs too.
    let status = fees
        .estimate_additions(EstimateAdditionsRequest {
            counts: Some(Counts::PerDay(PatientsPerDay {
                patients: 35,
                first_visits: 3,
                revisits: 20,
                days_per_month: 20,
            })),
            card_holding_rate_hundredths: 4240,
            rules_date: "20220331".into(),
            ..Default::default()
        })
        .await
        .expect_err("refused");
    assert_eq!(bad_request_fields(&status), ["rules_date"]);
    let status = fees
        .usage_rate(UsageRateRequest { from_month: "202401".into(), to_month: "202502".into(), ..Default::default() })
        .await
        .expect_err("refused");
    assert_eq!(bad_request_fields(&status), ["to_month"]);
    // Nothing here recorded a confirmation of the clinic.
    let code =
        onshi_domain::ids::MedicalInstitutionCode::parse(CLINIC, onshi_domain::ids::CheckDigits::Strict).expect("code");
    let mut any = false;
    let today = server.app.clock.now().date();
    server
        .app
        .store
        .get()
        .confirmations_between(&code, Date::new(2022, 1, 1).expect("date"), today, |_, _: PersonId, _: ConfirmedBy| {
            any = true
        })
        .expect("store");
    assert!(!any);
    server.stop().await;
}
