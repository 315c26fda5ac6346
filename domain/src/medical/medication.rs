//! A person's medication history (薬剤情報), generated deterministically from the population seed
//! and the person: chronic conditions that grow more likely with age, each with a regimen refilled
//! every 28 to 84 days at the person's usual pharmacy, and short courses for acute illness. Claims
//! data reach the system about 1.5 months after dispensing, and go back 3 years.

use crate::date::Date;
use crate::population::{Rng, Stream};
use crate::qualification::PersonId;

use super::drugs::{self, Condition, Drug};
use super::facilities::{self, NamedFacility};

/// How long dispensing takes to appear (claims data lag).
pub const LAG_DAYS: i64 = 45;
/// How far back the history goes.
pub const HISTORY_YEARS: i32 = 3;

/// One medicine on one dispensing record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrugLine {
    pub drug: Drug,
    /// Qua1: the quantity per day.
    pub quantity: u8,
    /// Times: days supplied.
    pub days: u8,
}

/// One visit to a pharmacy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispensing {
    pub date: Date,
    pub pharmacy: NamedFacility,
    pub prescriber: NamedFacility,
    pub drugs: Vec<DrugLine>,
}

/// Conditions are decided by the age in this year, so a person's past records never change as
/// time passes.
const CONDITION_REFERENCE_YEAR: u32 = 2026;

/// Which conditions a person has, decided once per person.
fn conditions(seed: u64, person: PersonId, birth: Date) -> Vec<(Condition, usize, u64, u64)> {
    let mut r = Rng::new(seed, Stream::Medication, person.0);
    let age = CONDITION_REFERENCE_YEAR.saturating_sub(u32::from(birth.year()));
    // (condition, per-mille by age band: <40, 40–64, 65+)
    let table: [(Condition, [u64; 3]); 8] = [
        (drugs::HYPERTENSION, [20, 250, 550]),
        (drugs::DYSLIPIDEMIA, [15, 220, 350]),
        (drugs::DIABETES, [5, 90, 170]),
        (drugs::GERD, [20, 60, 120]),
        (drugs::INSOMNIA, [20, 50, 120]),
        (drugs::OSTEOPOROSIS, [0, 20, 150]),
        (drugs::BPH, [0, 30, 150]),
        (drugs::ALLERGIC_RHINITIS, [120, 80, 40]),
    ];
    let band = match age {
        0..=39 => 0,
        40..=64 => 1,
        _ => 2,
    };
    let mut out = Vec::new();
    for (condition, odds) in table {
        if r.chance(odds[band]) {
            let regimen = r.below(condition.regimens.len() as u64) as usize;
            // Refill interval (days) and the phase of the refill cycle.
            let interval = [28, 28, 56, 56, 84][r.below(5) as usize];
            let phase = r.below(interval);
            out.push((condition, regimen, interval, phase));
        }
    }
    out
}

/// Dispensing records from `from` to `to` inclusive that are visible on `today` (older than the
/// claims lag, younger than 3 years), oldest first.
pub fn history(seed: u64, person: PersonId, birth: Date, today: Date, from: Date, to: Date) -> Vec<Dispensing> {
    let visible_from = today.add_years(-HISTORY_YEARS).unwrap_or(today);
    let visible_to = today.add_days(-LAG_DAYS).unwrap_or(today);
    let from = from.max(visible_from).max(birth);
    let to = to.min(visible_to);
    if from > to {
        return Vec::new();
    }
    let pharmacy = facilities::pharmacy_of(seed, person);
    let clinic = facilities::clinic_of(seed, person);
    let mut out = Vec::new();
    for (condition, regimen, interval, phase) in conditions(seed, person, birth) {
        let drugs = condition.regimens[regimen];
        // Refills fall on the days ≡ phase (mod interval), counted from 1970-01-01.
        let start = from.days_since_epoch();
        let first = start + (phase as i64 - start).rem_euclid(interval as i64);
        let mut day = first;
        while day <= to.days_since_epoch() {
            if let Some(date) = Date::from_days_since_epoch(day) {
                out.push(Dispensing {
                    date,
                    pharmacy,
                    prescriber: clinic,
                    drugs: drugs
                        .iter()
                        .map(|d| DrugLine { drug: *d, quantity: d.per_day, days: interval as u8 })
                        .collect(),
                });
            }
            day += interval as i64;
        }
    }
    // Acute courses: at most one per month, decided per (person, month).
    let mut month = from.first_of_month();
    let age_now = CONDITION_REFERENCE_YEAR.saturating_sub(u32::from(birth.year()));
    let monthly = if age_now < 15 { 250 } else { 90 };
    while month <= to {
        let key = person.0 ^ (u64::from(month.year()) << 48) ^ (u64::from(month.month()) << 40);
        let mut r = Rng::new(seed, Stream::Acute, key);
        if r.chance(monthly) {
            let (_, drugs, days) = drugs::ACUTE[r.below(drugs::ACUTE.len() as u64) as usize];
            let day = r.between(1, 28) as u8;
            if let Some(date) = Date::new(month.year(), month.month(), day).filter(|d| *d >= from && *d <= to) {
                out.push(Dispensing {
                    date,
                    pharmacy: if r.chance(700) { pharmacy } else { facilities::other_pharmacy(&mut r) },
                    prescriber: facilities::other_clinic(&mut r),
                    drugs: drugs.iter().map(|d| DrugLine { drug: *d, quantity: d.per_day, days }).collect(),
                });
            }
        }
        month = match month.first_of_next_month() {
            Some(m) => m,
            None => break,
        };
    }
    out.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.drugs[0].drug.code.cmp(b.drugs[0].drug.code)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_yyyymmdd(s).expect("date")
    }

    #[test]
    fn history_is_deterministic_lagged_and_bounded() {
        let today = d("20261124");
        let mut any = 0;
        for i in 0..300 {
            let h = history(1, PersonId(i), d("19500101"), today, d("20000101"), today);
            assert_eq!(h, history(1, PersonId(i), d("19500101"), today, d("20000101"), today));
            for rec in &h {
                assert!(rec.date <= today.add_days(-LAG_DAYS).expect("date"), "lagged");
                assert!(rec.date >= d("20231124"), "at most 3 years back");
                assert!(!rec.drugs.is_empty());
                assert!(rec.drugs.iter().all(|l| l.drug.code.len() == 9 && l.days > 0));
            }
            any += usize::from(!h.is_empty());
        }
        assert!(any > 200, "most elderly people take something: {any}/300");
    }

    #[test]
    fn a_window_is_a_slice_of_the_whole() {
        let today = d("20261124");
        let all = history(1, PersonId(5), d("19450303"), today, d("20000101"), today);
        let part = history(1, PersonId(5), d("19450303"), today, d("20250101"), d("20250331"));
        let expected: Vec<_> = all.into_iter().filter(|r| r.date >= d("20250101") && r.date <= d("20250331")).collect();
        assert_eq!(part, expected);
    }
}
