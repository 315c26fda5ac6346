//! A facility's list of visits judged in date order: each visit's earned additions become earlier
//! claims of the same patient for the visits after it; totals per month in points and yen.

use std::collections::{BTreeMap, HashMap};

use crate::date::Date;

use super::YEN_PER_POINT;
use super::month::YearMonth;
use super::table::FeeRules;
use super::visit::{
    Claim, Context, FacilityFacts, FeeError, Outcome, Visit, check_visit, facility_rates, groups, outcome,
};

/// A visit of one patient (any stable key: frequency limits are per patient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientVisit {
    pub patient: String,
    pub visit: Visit,
}

/// A claim made before the list, of one patient at this facility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientClaim {
    pub patient: String,
    pub claim: Claim,
}

/// The answer for one visit of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitOutcome {
    /// The visit's position in the list as given.
    pub index: usize,
    pub patient: String,
    pub date: Date,
    pub outcomes: Vec<Outcome>,
}

/// Points and yen earned in one calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthTotal {
    pub month: YearMonth,
    pub points: u64,
    pub yen: u64,
}

/// The whole list judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// In date order (visits of one day in the order given).
    pub visits: Vec<VisitOutcome>,
    /// Every month with a visit, in order.
    pub months: Vec<MonthTotal>,
    pub total_points: u64,
    pub total_yen: u64,
}

/// Judges `visits` in date order at one facility. Each earned addition is fed forward as an earlier
/// claim of its patient. An error names the visit by its position: `visits[3].date`.
pub fn process_visits(
    rules: &FeeRules,
    facility: &FacilityFacts,
    visits: &[PatientVisit],
    earlier: &[PatientClaim],
) -> Result<Statement, FeeError> {
    let rates = facility_rates(facility)?;
    for (i, v) in visits.iter().enumerate() {
        check_visit(rules, &v.visit).map_err(|e| e.within(&format!("visits[{i}]")))?;
    }
    let mut claims: HashMap<&str, Vec<Claim>> = HashMap::new();
    for c in earlier {
        claims.entry(c.patient.as_str()).or_default().push(c.claim.clone());
    }
    let mut order: Vec<usize> = (0..visits.len()).collect();
    order.sort_by_key(|i| visits[*i].visit.date);

    let mut months: BTreeMap<YearMonth, u64> = BTreeMap::new();
    let mut judged = Vec::with_capacity(visits.len());
    for i in order {
        let PatientVisit { patient, visit } = &visits[i];
        let ctx = Context { visit, facility, rates: &rates };
        let mine = claims.entry(patient.as_str()).or_default();
        let outcomes: Vec<Outcome> = groups(rules, visit).iter().map(|g| outcome(g, &ctx, mine)).collect();
        let points = months.entry(YearMonth::of(visit.date)).or_default();
        for e in outcomes.iter().filter_map(Outcome::earned) {
            *points += u64::from(e.points);
            mine.push(e.claim(visit.date));
        }
        judged.push(VisitOutcome { index: i, patient: patient.clone(), date: visit.date, outcomes });
    }
    let months: Vec<MonthTotal> =
        months.into_iter().map(|(month, points)| MonthTotal { month, points, yen: points * YEN_PER_POINT }).collect();
    let total_points = months.iter().map(|m| m.points).sum();
    Ok(Statement { visits: judged, months, total_points, total_yen: total_points * YEN_PER_POINT })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fees::table::{Department, FeeItem, Tier};
    use crate::fees::visit::{HourMinute, VisitFacts, VisitKind};

    const D: &str = "医療情報取得加算";

    fn d(y: u16, m: u8, day: u8) -> Date {
        Date::new(y, m, day).expect("valid date")
    }

    fn pv(patient: &str, date: Date, kind: VisitKind, card: bool) -> PatientVisit {
        let facts = VisitFacts {
            card_used: card,
            medication_obtained_at: if card { HourMinute::new(10, 0) } else { None },
            ..VisitFacts::default()
        };
        PatientVisit {
            patient: patient.into(),
            visit: Visit { date, department: Department::Medical, kind, outpatient_care: false, facts },
        }
    }

    fn rules() -> &'static FeeRules {
        FeeRules::builtin().expect("the built-in table is valid")
    }

    fn points_of(s: &Statement, index: usize) -> Vec<u32> {
        let v = s.visits.iter().find(|v| v.index == index).expect("judged");
        v.outcomes.iter().filter_map(Outcome::earned).map(|e| e.points).collect()
    }

    #[test]
    fn visits_are_judged_in_date_order_feeding_claims_forward_per_patient() {
        let visits = [
            pv("p1", d(2024, 9, 10), VisitKind::Revisit, true),
            pv("p1", d(2024, 7, 20), VisitKind::Revisit, true),
            pv("p1", d(2024, 7, 3), VisitKind::FirstVisit, true),
            pv("p2", d(2024, 7, 10), VisitKind::FirstVisit, false),
            pv("p1", d(2024, 8, 5), VisitKind::Revisit, true),
            pv("p2", d(2024, 7, 25), VisitKind::FirstVisit, false),
        ];
        let s = process_visits(rules(), &FacilityFacts::default(), &visits, &[]).expect("judged");
        let order: Vec<_> = s.visits.iter().map(|v| v.index).collect();
        assert_eq!(order, [2, 3, 1, 5, 4, 0]);
        assert_eq!(points_of(&s, 2), [1], "p1 初診 with the card: 加算2");
        assert_eq!(points_of(&s, 1), Vec::<u32>::new(), "p1 再診 in the month of the 初診");
        assert_eq!(points_of(&s, 3), [3], "p2 初診 without the card: 加算1");
        assert_eq!(points_of(&s, 5), Vec::<u32>::new(), "p2 初診 again in the month");
        assert_eq!(points_of(&s, 4), [1], "p1 再診 in August: 加算4");
        assert_eq!(points_of(&s, 0), Vec::<u32>::new(), "p1 再診 within 3 months of August");
        let months: Vec<_> = s.months.iter().map(|m| (m.month.to_string(), m.points, m.yen)).collect();
        assert_eq!(months, [("2024-07".into(), 4, 40), ("2024-08".into(), 1, 10), ("2024-09".into(), 0, 0)]);
        assert_eq!((s.total_points, s.total_yen), (5, 50));
    }

    #[test]
    fn earlier_claims_count_and_errors_name_the_visit() {
        let earlier = [PatientClaim {
            patient: "p1".into(),
            claim: Claim { addition: D.into(), item: FeeItem::Revisit, tier: Tier::Numbered(4), date: d(2024, 6, 20) },
        }];
        let visits =
            [pv("p1", d(2024, 8, 5), VisitKind::Revisit, true), pv("p2", d(2024, 8, 5), VisitKind::Revisit, true)];
        let s = process_visits(rules(), &FacilityFacts::default(), &visits, &earlier).expect("judged");
        assert_eq!(points_of(&s, 0), Vec::<u32>::new());
        assert_eq!(points_of(&s, 1), [1], "another patient's claim does not count");
        let bad = [visits[0].clone(), pv("p1", d(2022, 1, 5), VisitKind::Revisit, true)];
        let err = process_visits(rules(), &FacilityFacts::default(), &bad, &[]).expect_err("outside the rules");
        assert_eq!(err.field(), "visits[1].date");
        assert_eq!(err.to_string(), "visits[1].date: 2022-01-05 is outside every period of the fee rules");
    }
}
