//! Tests of one visit's additions against the built-in table: every period on its boundary days,
//! the frequency limits across months and years, period D's tier rules, the exclusions, and the
//! usage-rate tiers.

use super::*;
use crate::fees::usage_rate::MonthlyUsage;

const A: &str = "電子的保健医療情報活用加算";
const B: &str = "医療情報・システム基盤整備体制充実加算";
const D: &str = "医療情報取得加算";
const DX: &str = "医療DX推進体制整備加算";
const G: &str = "電子的診療情報連携体制整備加算";

fn rules() -> &'static FeeRules {
    FeeRules::builtin().expect("the built-in table is valid")
}

fn d(y: u16, m: u8, day: u8) -> Date {
    Date::new(y, m, day).expect("valid date")
}

fn at(h: u8, m: u8) -> Option<HourMinute> {
    HourMinute::new(h, m)
}

/// The card used and 薬剤情報 obtained at 09:12.
fn obtained() -> VisitFacts {
    VisitFacts { card_used: true, medication_obtained_at: at(9, 12), ..VisitFacts::default() }
}

/// The insurance card: no card, nothing obtained.
fn no_card() -> VisitFacts {
    VisitFacts::default()
}

fn card_but(n: NotObtainable) -> VisitFacts {
    VisitFacts { card_used: true, not_obtainable: Some(n), ..VisitFacts::default() }
}

fn visit(date: Date, department: Department, kind: VisitKind, facts: VisitFacts) -> Visit {
    Visit { date, department, kind, outpatient_care: false, facts }
}

fn medical(date: Date, kind: VisitKind, facts: VisitFacts) -> Visit {
    visit(date, Department::Medical, kind, facts)
}

fn claim(addition: &str, item: FeeItem, tier: Tier, date: Date) -> Claim {
    Claim { addition: addition.into(), item, tier, date }
}

fn outcomes(facility: &FacilityFacts, v: &Visit, earlier: &[Claim]) -> Vec<Outcome> {
    additions_for_visit(rules(), facility, v, earlier).expect("judged")
}

/// (addition, tier, points) of everything earned.
fn earned_with(facility: &FacilityFacts, v: &Visit, earlier: &[Claim]) -> Vec<(String, Tier, u32)> {
    outcomes(facility, v, earlier)
        .iter()
        .filter_map(Outcome::earned)
        .map(|e| (e.addition.clone(), e.tier, e.points))
        .collect()
}

fn earned(v: &Visit, earlier: &[Claim]) -> Vec<(String, Tier, u32)> {
    earned_with(&FacilityFacts::default(), v, earlier)
}

fn one(addition: &str, tier: Tier, points: u32) -> Vec<(String, Tier, u32)> {
    vec![(addition.to_owned(), tier, points)]
}

/// The reasons of everything refused.
fn refusals(facility: &FacilityFacts, v: &Visit, earlier: &[Claim]) -> Vec<String> {
    outcomes(facility, v, earlier)
        .into_iter()
        .filter_map(|o| match o {
            Outcome::Refused(r) => Some(r.reason),
            Outcome::Earned(_) => None,
        })
        .collect()
}

fn t(n: u8) -> Tier {
    Tier::Numbered(n)
}

/// A facility that notified `addition` from 2024-06-01, at usage rate `percent` in every month
/// from 2023-12 to 2026-06.
fn notified(additions: &[&str], percent: u64, e_prescription: bool) -> FacilityFacts {
    let mut usage = Vec::new();
    let mut m = YearMonth::new(2023, 12).expect("month");
    while m <= YearMonth::new(2026, 6).expect("month") {
        usage.push(MonthlyUsage { month: m, card_confirmations: percent * 10, all_confirmations: 1000 });
        m = m.plus(1).expect("month");
    }
    FacilityFacts {
        notifications: additions
            .iter()
            .map(|a| Notification { addition: (*a).into(), from: d(2024, 6, 1), tier: None })
            .collect(),
        e_prescription,
        usage,
    }
}

// ---- Boundaries of every period ----

#[test]
fn before_period_a_is_an_error_naming_the_date() {
    let err = additions_for_visit(
        rules(),
        &FacilityFacts::default(),
        &medical(d(2022, 3, 31), VisitKind::FirstVisit, obtained()),
        &[],
    )
    .expect_err("no rules before 2022-04-01");
    assert_eq!(err, FeeError::OutsideRules { field: "date".into(), date: d(2022, 3, 31) });
    assert_eq!(err.field(), "date");
    let first = outcomes(&FacilityFacts::default(), &medical(d(2022, 4, 1), VisitKind::FirstVisit, obtained()), &[]);
    let e = first[0].earned().expect("earned");
    assert_eq!((e.addition.as_str(), e.points), (A, 7));
    assert_eq!(e.reason, "薬剤情報 obtained through the system at 09:12");
    assert_eq!(e.receipt.as_ref().map(|r| (r.code.as_str(), r.certainty)), Some(("111015170", Certainty::Likely)));
    assert_eq!(e.certainty, Certainty::Certain);
}

#[test]
fn period_a_first_visit_revisit_and_fallback() {
    let day = d(2022, 4, 1);
    assert_eq!(earned(&medical(day, VisitKind::FirstVisit, no_card()), &[]), one(A, Tier::Fallback, 3));
    assert_eq!(earned(&medical(day, VisitKind::Revisit, obtained()), &[]), one(A, Tier::Single, 4));
    assert_eq!(earned(&medical(day, VisitKind::Revisit, no_card()), &[]), vec![], "no fallback for 再診");
    assert_eq!(
        refusals(&FacilityFacts::default(), &medical(day, VisitKind::Revisit, no_card()), &[]),
        ["not claimable: 薬剤情報 / 特定健診情報 not obtained through the system (no card was used)"]
    );
    let checkups = VisitFacts { card_used: true, checkups_obtained_at: at(14, 5), ..VisitFacts::default() };
    let e = outcomes(&FacilityFacts::default(), &visit(day, Department::Dental, VisitKind::FirstVisit, checkups), &[]);
    assert_eq!(
        e[0].earned().map(|e| (e.points, e.reason.as_str())),
        Some((7, "特定健診情報 obtained through the system at 14:05"))
    );
    let pharmacy = |f| visit(day, Department::Pharmacy, VisitKind::Dispensing, f);
    assert_eq!(earned(&pharmacy(obtained()), &[]), one(A, Tier::Single, 3));
    assert_eq!(earned(&pharmacy(card_but(NotObtainable::NoData)), &[]), one(A, Tier::Fallback, 1));
}

#[test]
fn a_to_b_on_2022_10_01() {
    let (last, first) = (d(2022, 9, 30), d(2022, 10, 1));
    assert_eq!(earned(&medical(last, VisitKind::FirstVisit, obtained()), &[]), one(A, Tier::Single, 7));
    assert_eq!(earned(&medical(first, VisitKind::FirstVisit, obtained()), &[]), one(B, t(2), 2));
    assert_eq!(earned(&medical(first, VisitKind::FirstVisit, no_card()), &[]), one(B, t(1), 4));
    let referral = VisitFacts { from_other_facility: true, ..VisitFacts::default() };
    assert_eq!(earned(&medical(first, VisitKind::FirstVisit, referral), &[]), one(B, t(2), 2));
    assert_eq!(earned(&medical(last, VisitKind::Revisit, obtained()), &[]), one(A, Tier::Single, 4));
    assert!(
        outcomes(&FacilityFacts::default(), &medical(first, VisitKind::Revisit, obtained()), &[]).is_empty(),
        "B has no 再診"
    );
    let pharmacy = visit(first, Department::Pharmacy, VisitKind::Dispensing, no_card());
    assert_eq!(earned(&pharmacy, &[]), one(B, t(1), 3));
}

#[test]
fn b_to_c_on_2023_04_01() {
    let (last, first) = (d(2023, 3, 31), d(2023, 4, 1));
    assert_eq!(earned(&medical(last, VisitKind::FirstVisit, no_card()), &[]), one(B, t(1), 4));
    assert_eq!(earned(&medical(first, VisitKind::FirstVisit, no_card()), &[]), one(B, t(1), 6));
    assert_eq!(earned(&medical(last, VisitKind::Revisit, no_card()), &[]), vec![]);
    assert_eq!(earned(&medical(first, VisitKind::Revisit, no_card()), &[]), one(B, t(3), 2));
    let pharmacy = |day| visit(day, Department::Pharmacy, VisitKind::Dispensing, no_card());
    assert_eq!(earned(&pharmacy(last), &[]), one(B, t(1), 3));
    let c = outcomes(&FacilityFacts::default(), &pharmacy(first), &[]);
    assert_eq!(c[0].earned().map(|e| (e.points, e.certainty)), Some((4, Certainty::Likely)));
}

#[test]
fn c_to_the_second_span_of_b_on_2024_01_01() {
    let (last, first) = (d(2023, 12, 31), d(2024, 1, 1));
    assert_eq!(earned(&medical(last, VisitKind::FirstVisit, no_card()), &[]), one(B, t(1), 6));
    assert_eq!(earned(&medical(first, VisitKind::FirstVisit, no_card()), &[]), one(B, t(1), 4));
    assert_eq!(earned(&medical(last, VisitKind::Revisit, no_card()), &[]), one(B, t(3), 2));
    assert_eq!(earned(&medical(first, VisitKind::Revisit, no_card()), &[]), vec![]);
    let e = outcomes(&FacilityFacts::default(), &medical(first, VisitKind::FirstVisit, obtained()), &[]);
    assert_eq!(e[0].earned().and_then(|e| e.receipt.as_ref()).map(|r| r.code.as_str()), Some("111016070"));
}

#[test]
fn the_second_span_of_b_to_d_on_2024_06_01() {
    let (last, first) = (d(2024, 5, 31), d(2024, 6, 1));
    assert_eq!(earned(&medical(last, VisitKind::FirstVisit, no_card()), &[]), one(B, t(1), 4));
    assert_eq!(earned(&medical(first, VisitKind::FirstVisit, no_card()), &[]), one(D, t(1), 3));
    assert_eq!(earned(&medical(first, VisitKind::FirstVisit, obtained()), &[]), one(D, t(2), 1));
    assert_eq!(earned(&medical(first, VisitKind::Revisit, no_card()), &[]), one(D, t(3), 2));
    // 医療DX推進体制整備加算 starts the same day, for a facility that notified it.
    let dx = notified(&[DX], 0, false);
    assert_eq!(earned_with(&dx, &medical(last, VisitKind::FirstVisit, no_card()), &[]), one(B, t(1), 4));
    let both = earned_with(&dx, &medical(first, VisitKind::FirstVisit, no_card()), &[]);
    assert_eq!(both, vec![(D.to_owned(), t(1), 3), (DX.to_owned(), Tier::Single, 8)]);
    let pharmacy = visit(first, Department::Pharmacy, VisitKind::Dispensing, obtained());
    assert_eq!(earned_with(&dx, &pharmacy, &[]), vec![(D.to_owned(), t(2), 1), (DX.to_owned(), Tier::Single, 4)]);
}

#[test]
fn d_to_e_on_2024_12_01() {
    let (last, first) = (d(2024, 11, 30), d(2024, 12, 1));
    assert_eq!(earned(&medical(last, VisitKind::FirstVisit, obtained()), &[]), one(D, t(2), 1));
    assert_eq!(earned(&medical(last, VisitKind::FirstVisit, no_card()), &[]), one(D, t(1), 3));
    for facts in [obtained(), no_card()] {
        assert_eq!(earned(&medical(first, VisitKind::FirstVisit, facts), &[]), one(D, Tier::Single, 1));
        assert_eq!(earned(&medical(first, VisitKind::Revisit, facts), &[]), one(D, Tier::Single, 1));
    }
    let e = outcomes(&FacilityFacts::default(), &medical(first, VisitKind::Revisit, no_card()), &[]);
    assert_eq!(e[0].earned().and_then(|e| e.receipt.as_ref()).map(|r| r.code.as_str()), Some("112708970"));
    let pharmacy = visit(first, Department::Pharmacy, VisitKind::Dispensing, no_card());
    assert_eq!(earned(&pharmacy, &[]), one(D, Tier::Single, 1));
}

#[test]
fn e_to_g_on_2026_06_01() {
    let (last, first) = (d(2026, 5, 31), d(2026, 6, 1));
    let facility = notified(&[DX, G], 45, true);
    // 2026-03 … 05 thresholds 70 / 50 / 30 %: 45 % is 加算3.
    let before = earned_with(&facility, &medical(last, VisitKind::FirstVisit, no_card()), &[]);
    assert_eq!(before, vec![(D.to_owned(), Tier::Single, 1), (DX.to_owned(), t(3), 10)]);
    // From 2026-06-01 both end; G needs 30 %.
    assert_eq!(earned_with(&facility, &medical(first, VisitKind::FirstVisit, no_card()), &[]), one(G, t(1), 15));
    assert_eq!(earned_with(&facility, &medical(first, VisitKind::Revisit, no_card()), &[]), one(G, Tier::Single, 2));
    let low = notified(&[G], 29, true);
    assert_eq!(
        refusals(&low, &medical(first, VisitKind::FirstVisit, no_card()), &[]),
        ["not claimable: best マイナ保険証利用率 of 2026-01…2026-03 is 29.0 % (2026-03), below 30 %"]
    );
    assert_eq!(
        refusals(&FacilityFacts::default(), &medical(first, VisitKind::FirstVisit, obtained()), &[]),
        [format!("not claimable: {G} not notified")]
    );
    let pharmacy = visit(first, Department::Pharmacy, VisitKind::Dispensing, no_card());
    assert_eq!(earned_with(&notified(&["電子的調剤情報連携体制整備加算"], 30, false), &pharmacy, &[]).len(), 1);
}

#[test]
fn g_tier_is_the_notified_one() {
    let mut facility = notified(&[G], 80, false);
    facility.notifications[0].tier = Some(t(2));
    let v = medical(d(2026, 7, 1), VisitKind::FirstVisit, no_card());
    assert_eq!(earned_with(&facility, &v, &[]), one(G, t(2), 9));
}

#[test]
fn dx_tiers_change_on_every_threshold_boundary() {
    let dx = |percent, e, day| {
        let v = medical(day, VisitKind::FirstVisit, no_card());
        earned_with(&notified(&[DX], percent, e), &v, &[])
            .into_iter()
            .filter(|(a, ..)| a == DX)
            .map(|(_, tier, points)| (tier, points))
            .collect::<Vec<_>>()
    };
    assert_eq!(dx(20, false, d(2024, 9, 30)), [(Tier::Single, 8)]);
    assert_eq!(dx(20, false, d(2024, 10, 1)), [(t(1), 11)]);
    assert_eq!(dx(20, false, d(2024, 12, 31)), [(t(1), 11)]);
    assert_eq!(dx(20, false, d(2025, 1, 1)), [(t(2), 10)]);
    assert_eq!(dx(20, true, d(2025, 3, 31)), [(t(2), 10)]);
    assert_eq!(dx(20, true, d(2025, 4, 1)), [(t(3), 10)]);
    assert_eq!(dx(20, false, d(2025, 4, 1)), [(t(6), 8)], "no 電子処方箋: tiers 4–6");
    assert_eq!(dx(30, true, d(2025, 9, 30)), [(t(2), 11)]);
    assert_eq!(dx(30, true, d(2025, 10, 1)), [(t(3), 10)]);
    assert_eq!(dx(45, true, d(2026, 2, 28)), [(t(2), 11)]);
    assert_eq!(dx(45, true, d(2026, 3, 1)), [(t(3), 10)]);
    assert_eq!(dx(4, false, d(2024, 10, 1)), [], "below 5 %");
    let reasons = refusals(&notified(&[DX], 4, false), &medical(d(2024, 10, 1), VisitKind::FirstVisit, no_card()), &[]);
    assert_eq!(reasons, ["not claimable: best マイナ保険証利用率 of 2024-05…2024-07 is 4.0 % (2024-07), below 5 %"]);
    let ok = outcomes(&notified(&[DX], 20, false), &medical(d(2024, 10, 1), VisitKind::FirstVisit, no_card()), &[]);
    assert_eq!(
        ok[1].earned().map(|e| e.reason.as_str()),
        Some("notified from 2024-06-01; best マイナ保険証利用率 of 2024-05…2024-07 is 20.0 % (2024-07), at least 15 %")
    );
}

#[test]
fn dx_needs_the_notification_in_force() {
    let mut facility = notified(&[DX], 20, false);
    facility.notifications[0].from = d(2024, 7, 1);
    let v = |day| medical(day, VisitKind::FirstVisit, no_card());
    assert_eq!(
        refusals(&facility, &v(d(2024, 6, 30)), &[]),
        [format!("not claimable: {DX} notified only from 2024-07-01")]
    );
    assert_eq!(earned_with(&facility, &v(d(2024, 7, 1)), &[]).len(), 2);
    // No 再診 version.
    assert_eq!(earned_with(&facility, &medical(d(2024, 7, 1), VisitKind::Revisit, no_card()), &[]), one(D, t(3), 2));
}

// ---- Frequency limits ----

#[test]
fn once_in_three_months_claimed_2024_11_is_allowed_again_from_2025_02() {
    // A D 加算4 claim in 2024-11 counts toward E's 再診 limit: the same addition.
    let earlier = [claim(D, FeeItem::Revisit, t(4), d(2024, 11, 5))];
    let v = |day| medical(day, VisitKind::Revisit, obtained());
    assert_eq!(
        refusals(&FacilityFacts::default(), &v(d(2025, 1, 31)), &earlier),
        ["not claimable: claimed on 2024-11-05 (加算4), once in 3 months; allowed again from 2025-02"]
    );
    assert_eq!(earned(&v(d(2025, 2, 1)), &earlier), one(D, Tier::Single, 1));
    // Within E, across the year: claimed 2025-11 → not 2026-01, from 2026-02.
    let earlier = [claim(D, FeeItem::Revisit, Tier::Single, d(2025, 11, 30))];
    assert_eq!(earned(&v(d(2026, 1, 31)), &earlier), vec![]);
    assert_eq!(earned(&v(d(2026, 2, 1)), &earlier), one(D, Tier::Single, 1));
    // A 外来診療料 claim is 再診-type too.
    let hospital = Visit { outpatient_care: true, ..v(d(2026, 1, 10)) };
    assert_eq!(earned(&hospital, &earlier), vec![]);
}

#[test]
fn once_a_month_across_december_to_january() {
    let earlier = [claim(D, FeeItem::FirstVisit, Tier::Single, d(2024, 12, 20))];
    let v = |day| medical(day, VisitKind::FirstVisit, obtained());
    assert_eq!(
        refusals(&FacilityFacts::default(), &v(d(2024, 12, 28)), &earlier),
        [
            "not claimable: claimed on 2024-12-20, once a month; allowed again from 2025-01".to_owned(),
            format!("not claimable: {DX} not notified"),
        ]
    );
    assert_eq!(earned(&v(d(2025, 1, 5)), &earlier), one(D, Tier::Single, 1));
    // 初診 and 再診 limits are separate in E.
    assert_eq!(earned(&medical(d(2024, 12, 28), VisitKind::Revisit, obtained()), &earlier), one(D, Tier::Single, 1));
    // Period A: 7 and 3 points share the monthly limit.
    let a = [claim(A, FeeItem::FirstVisit, Tier::Single, d(2022, 4, 1))];
    assert_eq!(earned(&medical(d(2022, 4, 30), VisitKind::FirstVisit, no_card()), &a), vec![]);
    assert_eq!(earned(&medical(d(2022, 5, 1), VisitKind::FirstVisit, no_card()), &a), one(A, Tier::Fallback, 3));
}

#[test]
fn once_in_six_and_twelve_months_at_a_pharmacy() {
    let pharmacy = |day, facts| visit(day, Department::Pharmacy, VisitKind::Dispensing, facts);
    // B 調剤: 加算1 and 加算2 share once in 6 months, and C is the same addition.
    let earlier = [claim(B, FeeItem::DispensingManagement, t(2), d(2022, 10, 3))];
    assert_eq!(earned(&pharmacy(d(2023, 3, 31), no_card()), &earlier), vec![]);
    assert_eq!(earned(&pharmacy(d(2023, 4, 1), no_card()), &earlier), one(B, t(1), 4));
    // E 調剤: once in 12 months.
    let earlier = [claim(D, FeeItem::DispensingManagement, Tier::Single, d(2024, 12, 2))];
    assert_eq!(earned(&pharmacy(d(2025, 11, 30), obtained()), &earlier), vec![]);
    assert_eq!(earned(&pharmacy(d(2025, 12, 1), obtained()), &earlier), one(D, Tier::Single, 1));
}

#[test]
fn period_a_pharmacy_fallback_is_once_in_three_months_and_not_with_three_points_in_a_month() {
    let pharmacy = |day, facts| visit(day, Department::Pharmacy, VisitKind::Dispensing, facts);
    let fallback = [claim(A, FeeItem::DispensingManagement, Tier::Fallback, d(2022, 4, 5))];
    assert_eq!(earned(&pharmacy(d(2022, 6, 30), no_card()), &fallback), vec![]);
    assert_eq!(earned(&pharmacy(d(2022, 7, 1), no_card()), &fallback), one(A, Tier::Fallback, 1));
    // The 3 points are once a month: a 1-point claim in an earlier month does not stop them …
    assert_eq!(earned(&pharmacy(d(2022, 5, 2), obtained()), &fallback), one(A, Tier::Single, 3));
    // … but one in the same month does, and a 3-point claim stops the 1 point in its month.
    assert_eq!(earned(&pharmacy(d(2022, 4, 20), obtained()), &fallback), vec![]);
    let three = [claim(A, FeeItem::DispensingManagement, Tier::Single, d(2022, 5, 2))];
    assert_eq!(
        refusals(&FacilityFacts::default(), &pharmacy(d(2022, 5, 20), no_card()), &three),
        ["not claimable: single claimed on 2022-05-02, not in the same month"]
    );
    assert_eq!(earned(&pharmacy(d(2022, 6, 1), no_card()), &three), one(A, Tier::Fallback, 1));
}

// ---- Period D's tier rules and exclusions ----

#[test]
fn period_d_no_data_is_the_lower_tier_and_card_problems_the_higher() {
    let day = d(2024, 7, 1);
    let first = |facts| earned(&medical(day, VisitKind::FirstVisit, facts), &[]);
    let revisit = |facts| earned(&medical(day, VisitKind::Revisit, facts), &[]);
    assert_eq!(first(card_but(NotObtainable::NoData)), one(D, t(2), 1));
    assert_eq!(revisit(card_but(NotObtainable::NoData)), one(D, t(4), 1));
    for higher in [NotObtainable::PartialNonConsent, NotObtainable::BrokenCard, NotObtainable::ExpiredCertificate] {
        assert_eq!(first(card_but(higher)), one(D, t(1), 3), "{higher:?}");
        assert_eq!(revisit(card_but(higher)), one(D, t(3), 2), "{higher:?}");
    }
    let broken = VisitFacts { not_obtainable: Some(NotObtainable::BrokenCard), ..VisitFacts::default() };
    assert_eq!(first(broken), one(D, t(1), 3));
    let o =
        outcomes(&FacilityFacts::default(), &medical(day, VisitKind::FirstVisit, card_but(NotObtainable::NoData)), &[]);
    assert_eq!(
        o[0].earned().map(|e| e.reason.as_str()),
        Some("confirmed with the card; the system had no data: the lower tier")
    );
    let o = outcomes(
        &FacilityFacts::default(),
        &medical(day, VisitKind::FirstVisit, card_but(NotObtainable::PartialNonConsent)),
        &[],
    );
    assert_eq!(
        o[0].earned().map(|e| e.reason.as_str()),
        Some("card presented, but partial non-consent: the higher tier")
    );
    let hospital = Visit { outpatient_care: true, ..medical(day, VisitKind::Revisit, obtained()) };
    let o = outcomes(&FacilityFacts::default(), &hospital, &[]);
    assert_eq!(o[0].earned().map(|e| (e.item, e.tier, e.points)), Some((FeeItem::OutpatientCare, t(4), 1)));
}

#[test]
fn period_d_first_visit_and_revisit_types_are_not_claimed_in_the_same_month() {
    let first = [claim(D, FeeItem::FirstVisit, t(2), d(2024, 7, 3))];
    assert_eq!(
        refusals(&FacilityFacts::default(), &medical(d(2024, 7, 20), VisitKind::Revisit, obtained()), &first),
        ["not claimable: 加算2 claimed on 2024-07-03, not in the same month"]
    );
    assert_eq!(earned(&medical(d(2024, 8, 1), VisitKind::Revisit, obtained()), &first), one(D, t(4), 1));
    let revisit = [claim(D, FeeItem::Revisit, t(3), d(2024, 8, 2))];
    assert_eq!(earned(&medical(d(2024, 8, 25), VisitKind::FirstVisit, no_card()), &revisit), vec![]);
    assert_eq!(earned(&medical(d(2024, 9, 1), VisitKind::FirstVisit, no_card()), &revisit), one(D, t(1), 3));
}

#[test]
fn period_d_only_one_of_tiers_3_and_4_in_any_three_months() {
    let earlier = [claim(D, FeeItem::Revisit, t(3), d(2024, 7, 3))];
    let with_card = |day| medical(day, VisitKind::Revisit, obtained());
    let o = outcomes(&FacilityFacts::default(), &with_card(d(2024, 9, 30)), &earlier);
    assert_eq!(
        o,
        vec![Outcome::Refused(Refused {
            addition: D.into(),
            item: FeeItem::Revisit,
            tier: Some(t(4)),
            reason: "not claimable: claimed on 2024-07-03 (加算3), once in 3 months; allowed again from 2024-10".into(),
        })]
    );
    assert_eq!(earned(&with_card(d(2024, 10, 1)), &earlier), one(D, t(4), 1));
    assert_eq!(earned(&medical(d(2024, 9, 30), VisitKind::Revisit, no_card()), &earlier), vec![], "nor 加算3 again");
}

#[test]
fn period_c_tier_3_not_in_a_month_with_1_or_2_nor_with_the_card() {
    let earlier = [claim(B, FeeItem::FirstVisit, t(1), d(2023, 5, 2))];
    assert_eq!(
        refusals(&FacilityFacts::default(), &medical(d(2023, 5, 20), VisitKind::Revisit, no_card()), &earlier),
        ["not claimable: 加算1 claimed on 2023-05-02, not in the same month"]
    );
    assert_eq!(earned(&medical(d(2023, 6, 1), VisitKind::Revisit, no_card()), &earlier), one(B, t(3), 2));
    assert_eq!(
        refusals(&FacilityFacts::default(), &medical(d(2023, 6, 1), VisitKind::Revisit, obtained()), &[]),
        ["not claimable: 薬剤情報 obtained through the system at 09:12"]
    );
    let referral = VisitFacts { from_other_facility: true, ..VisitFacts::default() };
    assert_eq!(earned(&medical(d(2023, 6, 1), VisitKind::Revisit, referral), &[]), vec![]);
}

// ---- Errors ----

#[test]
fn impossible_visits_are_errors_naming_the_field() {
    let judge = |v: &Visit, f: &FacilityFacts| {
        additions_for_visit(rules(), f, v, &[]).map(|_| ()).map_err(|e| e.field().to_owned())
    };
    let none = FacilityFacts::default();
    let day = d(2024, 7, 1);
    assert_eq!(judge(&medical(day, VisitKind::Dispensing, no_card()), &none), Err("kind".into()));
    assert_eq!(judge(&visit(day, Department::Pharmacy, VisitKind::FirstVisit, no_card()), &none), Err("kind".into()));
    let dental = Visit { outpatient_care: true, ..visit(day, Department::Dental, VisitKind::Revisit, no_card()) };
    assert_eq!(judge(&dental, &none), Err("outpatient_care".into()));
    let first = Visit { outpatient_care: true, ..medical(day, VisitKind::FirstVisit, no_card()) };
    assert_eq!(judge(&first, &none), Err("outpatient_care".into()));
    let no_card_obtained = VisitFacts { card_used: false, ..obtained() };
    assert_eq!(judge(&medical(day, VisitKind::FirstVisit, no_card_obtained), &none), Err("facts.card_used".into()));
    let mut bad = notified(&[DX], 10, false);
    bad.usage[0].card_confirmations = 2000;
    assert_eq!(judge(&medical(day, VisitKind::FirstVisit, no_card()), &bad), Err("facility.usage".into()));
    let e =
        additions_for_visit(rules(), &none, &medical(day, VisitKind::Dispensing, no_card()), &[]).expect_err("error");
    assert_eq!(e.to_string(), "kind: a 医科 facility has no 調剤 visits");
}
