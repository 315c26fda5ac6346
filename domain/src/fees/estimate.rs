//! The leaflet's estimate: what a facility earns a day, a month and a year from the additions that
//! depend on the patient, under the rules of a given date, plus the figure "if every patient uses
//! the insurance card instead" (the fallback points only).
//!
//! The model (FEES.md, "The leaflet's model cases"):
//! - the card case counts only the card-holding share of the counted patients, each earning what a
//!   visit with the card and the information obtained earns: clinic ((7 × 3) + (4 × 20)) × 42.4 %;
//! - the insurance-card case counts every counted patient at the fallback: clinic (3 × 3) + (0 × 20);
//! - a clinic's counts are per day and a pharmacy's per month; a month is `days_per_month` days and a
//!   year twelve months;
//! - the counted patients are those a once-a-month addition can be claimed for; an addition limited
//!   to once in N months is earned by one in N of them (the pharmacy fallback: 1 × 795 ÷ 3).
//!
//! Where the leaflet rounds: the only figure it gives with a fraction is the points of its own unit
//! (a clinic's day, a pharmacy's month): 42.824 becomes "≈ 43 points (430 yen)" and 1,011.24 "≈ 1,011
//! points". 430 yen is 43 × 10, not 428.24 rounded, so the points are rounded to whole points first
//! and the yen follow from them; the month and the year are then that whole number multiplied
//! (a clinic: 43 × 20 = 860 points, 8,600 yen a month; 103,200 yen a year), not the exact figure
//! multiplied and rounded (856.48 → 8,565 yen). Rounding is to the nearest point, as 42.824 → 43
//! shows (not down); a value exactly halfway rounds up, which the leaflet's figures cannot confirm.
//! The arithmetic is exact (fractions) up to that one rounding.
//!
//! Additions that need a notification (医療DX推進体制整備加算, period G) depend on the facility, not
//! the patient, and are left out.

use thiserror::Error;

use crate::date::Date;

use super::YEN_PER_POINT;
use super::frequency::MAX_MONTHS;
use super::table::{Department, FeeItem, FeeRules, Tier};
use super::visit::{Context, FacilityFacts, HourMinute, Visit, VisitFacts, VisitKind, choose, groups};

/// A share in hundredths of a percent (42.4 % = 4,240).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Percentage(u32);

impl Percentage {
    /// The share, if at most 100 %.
    pub fn from_hundredths(hundredths: u32) -> Option<Percentage> {
        (hundredths <= 10_000).then_some(Percentage(hundredths))
    }

    pub fn hundredths(self) -> u32 {
        self.0
    }
}

/// The facility's patients, as the leaflet counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatientCounts {
    /// A clinic (医科 or 歯科): a day's patients, of whom `first_visits` and `revisits` are counted.
    PerDay { patients: u32, first_visits: u32, revisits: u32, days_per_month: u32 },
    /// A pharmacy: a month's patients, of whom `counted` (their first visit of the month).
    PerMonth { patients: u32, counted: u32 },
}

/// What to estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EstimateInput {
    pub department: Department,
    pub counts: PatientCounts,
    /// マイナンバーカード holding rate.
    pub card_holding_rate: Percentage,
    /// The rules of this day apply.
    pub rules_date: Date,
}

/// Points and the yen they are worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Amount {
    pub points: u64,
    pub yen: u64,
}

impl Amount {
    fn of(points: u64) -> Amount {
        Amount { points, yen: points * YEN_PER_POINT }
    }
}

/// One addition counted in a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstimateLine {
    pub addition: String,
    pub item: FeeItem,
    pub tier: Tier,
    pub points: u32,
    pub once_in_months: u8,
    /// Counted patients it applies to, per day or per month.
    pub patients: u32,
}

/// One case of the estimate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EstimateCase {
    /// A clinic's day; `None` for a pharmacy (its counts are per month).
    pub per_day: Option<Amount>,
    pub per_month: Amount,
    pub per_year: Amount,
    pub lines: Vec<EstimateLine>,
}

/// Both cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    /// The card-holding share of the counted patients, with the card and the information obtained.
    pub with_cards: EstimateCase,
    /// Every counted patient with the insurance card instead: the fallback points only.
    pub insurance_card_only: EstimateCase,
}

/// An estimate that cannot be made; `field` names the offending input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EstimateError {
    #[error("{field}: {date} is outside every period of the fee rules")]
    OutsideRules { field: &'static str, date: Date },
    #[error("{field}: {department} counts are {expected}")]
    CountsNotForKind { field: &'static str, department: Department, expected: &'static str },
    #[error("{field}: {counted} counted patients out of {patients}")]
    TooManyCounted { field: &'static str, counted: u64, patients: u32 },
    #[error("{field}: a month has 1 to 31 days, got {days}")]
    Days { field: &'static str, days: u32 },
}

/// Every limit from 1 to [`MAX_MONTHS`] months divides this, so "one in N" stays exact.
const MONTHS_LCM: u128 = 27_720;
const _: () = {
    let mut n = 1;
    while n <= MAX_MONTHS as u128 {
        assert!(MONTHS_LCM.is_multiple_of(n));
        n += 1;
    }
};

/// Estimates what the facility earns under the rules of `input.rules_date`.
pub fn estimate(rules: &FeeRules, input: &EstimateInput) -> Result<Estimate, EstimateError> {
    if !rules.covers(input.rules_date) {
        return Err(EstimateError::OutsideRules { field: "rules_date", date: input.rules_date });
    }
    let (kinds, days): (Vec<(VisitKind, u32)>, Option<u32>) = match (input.department, input.counts) {
        (Department::Pharmacy, PatientCounts::PerMonth { patients, counted }) => {
            check_counted(u64::from(counted), patients)?;
            (vec![(VisitKind::Dispensing, counted)], None)
        }
        (Department::Pharmacy, PatientCounts::PerDay { .. }) => {
            return Err(EstimateError::CountsNotForKind {
                field: "counts",
                department: input.department,
                expected: "per month",
            });
        }
        (_, PatientCounts::PerDay { patients, first_visits, revisits, days_per_month }) => {
            check_counted(u64::from(first_visits) + u64::from(revisits), patients)?;
            if !(1..=31).contains(&days_per_month) {
                return Err(EstimateError::Days { field: "counts.days_per_month", days: days_per_month });
            }
            (vec![(VisitKind::FirstVisit, first_visits), (VisitKind::Revisit, revisits)], Some(days_per_month))
        }
        (_, PatientCounts::PerMonth { .. }) => {
            return Err(EstimateError::CountsNotForKind {
                field: "counts",
                department: input.department,
                expected: "per day",
            });
        }
    };
    let card = VisitFacts { card_used: true, medication_obtained_at: HourMinute::new(0, 0), ..VisitFacts::default() };
    let with_cards = case(rules, input, &kinds, days, card, input.card_holding_rate);
    let insurance_card_only = case(rules, input, &kinds, days, VisitFacts::default(), Percentage(10_000));
    Ok(Estimate { with_cards, insurance_card_only })
}

fn check_counted(counted: u64, patients: u32) -> Result<(), EstimateError> {
    if counted > u64::from(patients) {
        return Err(EstimateError::TooManyCounted { field: "counts", counted, patients });
    }
    Ok(())
}

/// One case: the additions a visit with `facts` earns, for each visit kind and its count.
fn case(
    rules: &FeeRules,
    input: &EstimateInput,
    kinds: &[(VisitKind, u32)],
    days: Option<u32>,
    facts: VisitFacts,
    share: Percentage,
) -> EstimateCase {
    let facility = FacilityFacts::default();
    let mut lines = Vec::new();
    // Points of the unit (a day or a month) × 10,000 × MONTHS_LCM.
    let mut scaled: u128 = 0;
    for (kind, patients) in kinds {
        let visit =
            Visit { date: input.rules_date, department: input.department, kind: *kind, outpatient_care: false, facts };
        let ctx = Context { visit: &visit, facility: &facility, rates: &[] };
        for group in groups(rules, &visit) {
            let Ok((rule, _)) = choose(&group, &ctx) else { continue };
            let n = u128::from(rule.frequency.months());
            scaled += u128::from(*patients) * u128::from(rule.points) * u128::from(share.0) * (MONTHS_LCM / n);
            lines.push(EstimateLine {
                addition: rule.addition.clone(),
                item: rule.item,
                tier: rule.tier,
                points: rule.points,
                once_in_months: rule.frequency.months(),
                patients: *patients,
            });
        }
    }
    let denominator = 10_000 * MONTHS_LCM;
    // Round half up to whole points: the leaflet's one rounding.
    let unit = ((2 * scaled + denominator) / (2 * denominator)) as u64;
    let (per_day, per_month) = match days {
        Some(d) => (Some(Amount::of(unit)), Amount::of(unit * u64::from(d))),
        None => (None, Amount::of(unit)),
    };
    EstimateCase { per_day, per_month, per_year: Amount::of(per_month.points * 12), lines }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> &'static FeeRules {
        FeeRules::builtin().expect("the built-in table is valid")
    }

    fn d(y: u16, m: u8, day: u8) -> Date {
        Date::new(y, m, day).expect("valid date")
    }

    fn rate(hundredths: u32) -> Percentage {
        Percentage::from_hundredths(hundredths).expect("at most 100 %")
    }

    fn clinic(on: Date) -> EstimateInput {
        EstimateInput {
            department: Department::Medical,
            counts: PatientCounts::PerDay { patients: 35, first_visits: 3, revisits: 20, days_per_month: 20 },
            card_holding_rate: rate(4240),
            rules_date: on,
        }
    }

    fn pharmacy(on: Date) -> EstimateInput {
        EstimateInput {
            department: Department::Pharmacy,
            counts: PatientCounts::PerMonth { patients: 1200, counted: 795 },
            card_holding_rate: rate(4240),
            rules_date: on,
        }
    }

    fn amount(points: u64, yen: u64) -> Amount {
        Amount { points, yen }
    }

    #[test]
    fn the_leaflets_clinic() {
        let e = estimate(rules(), &clinic(d(2022, 4, 1))).expect("estimate");
        // ((7 × 3) + (4 × 20)) × 42.4 % = 42.824 → 43 points, 430 yen a day (the leaflet's figures);
        // a month is 43 × 20 days = 860 points, 8,600 yen; a year 860 × 12 = 10,320 points, 103,200 yen.
        assert_eq!(e.with_cards.per_day, Some(amount(43, 430)));
        assert_eq!(e.with_cards.per_month, amount(860, 8_600));
        assert_eq!(e.with_cards.per_year, amount(10_320, 103_200));
        // Everyone with the insurance card: (3 × 3) + (0 × 20) = 9 points, 90 yen a day; × 20 = 180
        // points, 1,800 yen a month; × 12 = 2,160 points, 21,600 yen a year.
        assert_eq!(e.insurance_card_only.per_day, Some(amount(9, 90)));
        assert_eq!(e.insurance_card_only.per_month, amount(180, 1_800));
        assert_eq!(e.insurance_card_only.per_year, amount(2_160, 21_600));
        let points: Vec<_> = e.with_cards.lines.iter().map(|l| (l.item, l.points, l.patients)).collect();
        assert_eq!(points, vec![(FeeItem::FirstVisit, 7, 3), (FeeItem::Revisit, 4, 20)]);
        assert_eq!(e.insurance_card_only.lines.len(), 1, "no fallback for 再診");
    }

    #[test]
    fn the_leaflets_pharmacy() {
        let e = estimate(rules(), &pharmacy(d(2022, 4, 1))).expect("estimate");
        // 3 × 795 × 42.4 % = 1,011.24 → 1,011 points, 10,110 yen a month (the leaflet's figure);
        // a year 1,011 × 12 = 12,132 points, 121,320 yen.
        assert_eq!(e.with_cards.per_day, None);
        assert_eq!(e.with_cards.per_month, amount(1_011, 10_110));
        assert_eq!(e.with_cards.per_year, amount(12_132, 121_320));
        // Everyone with the insurance card: 1 point once in 3 months, so 1 × 795 ÷ 3 = 265 points,
        // 2,650 yen a month; 3,180 points, 31,800 yen a year.
        assert_eq!(e.insurance_card_only.per_month, amount(265, 2_650));
        assert_eq!(e.insurance_card_only.per_year, amount(3_180, 31_800));
    }

    #[test]
    fn rounding_is_to_the_nearest_point_after_exact_arithmetic() {
        // 101 points × 42.4 % = 42.824 rounds up; × 42.0 % = 42.42 rounds down; 42.5 % = 42.925 up.
        let with = |h| {
            let mut input = clinic(d(2022, 4, 1));
            input.card_holding_rate = rate(h);
            estimate(rules(), &input).expect("estimate").with_cards.per_day.map(|a| a.points)
        };
        assert_eq!(with(4240), Some(43));
        assert_eq!(with(4200), Some(42));
        assert_eq!(with(4250), Some(43));
        // 101 × 49.50 % = 49.995 → 50; one revisit at 4 × 12.5 % = 0.5 exactly rounds up.
        assert_eq!(with(4950), Some(50));
        let mut half = clinic(d(2022, 4, 1));
        half.counts = PatientCounts::PerDay { patients: 2, first_visits: 0, revisits: 1, days_per_month: 1 };
        half.card_holding_rate = rate(1250);
        assert_eq!(estimate(rules(), &half).expect("estimate").with_cards.per_day, Some(amount(1, 10)));
    }

    #[test]
    fn later_rules_change_the_figures() {
        // Period E: 初診 1 point, 再診 1 point once in 3 months: (1 × 3 + 1 × 20 ÷ 3) × 42.4 % = 4.099 → 4.
        let e = estimate(rules(), &clinic(d(2025, 1, 6))).expect("estimate");
        assert_eq!(e.with_cards.per_day, Some(amount(4, 40)));
        // … and the insurance card makes no difference: 3 + 20 ÷ 3 = 9.67 → 10.
        assert_eq!(e.insurance_card_only.per_day, Some(amount(10, 100)));
    }

    #[test]
    fn bad_inputs_name_the_field() {
        let err = estimate(rules(), &clinic(d(2022, 3, 31))).expect_err("before the rules");
        assert_eq!(err, EstimateError::OutsideRules { field: "rules_date", date: d(2022, 3, 31) });
        let mut wrong = pharmacy(d(2022, 4, 1));
        wrong.counts = clinic(d(2022, 4, 1)).counts;
        assert!(matches!(estimate(rules(), &wrong), Err(EstimateError::CountsNotForKind { field: "counts", .. })));
        let mut many = pharmacy(d(2022, 4, 1));
        many.counts = PatientCounts::PerMonth { patients: 10, counted: 11 };
        assert!(matches!(estimate(rules(), &many), Err(EstimateError::TooManyCounted { counted: 11, .. })));
        let mut days = clinic(d(2022, 4, 1));
        days.counts = PatientCounts::PerDay { patients: 35, first_visits: 3, revisits: 20, days_per_month: 0 };
        assert!(matches!(estimate(rules(), &days), Err(EstimateError::Days { field: "counts.days_per_month", .. })));
        assert_eq!(Percentage::from_hundredths(10_001), None);
    }
}
