//! The 2022 subsidy (医療情報化支援基金) for introducing online qualification confirmation:
//! amount = min(eligible cost × rate, limit), by kind of facility and by when the card readers were
//! applied for (FEES.md, "Subsidy").
//!
//! - Before the 2022-08 increase: 病院 1/2 up to 1,050,000 yen with 1 card reader, 1,001,000 with 2,
//!   951,000 with 3; 診療所 3/4 up to 321,000; 薬局 of a large chain 1/2 up to 214,000, others 3/4 up
//!   to 321,000.
//! - The increase, for readers applied for from 2022-06-07 to 2022-12-31: 病院 limits doubled;
//!   診療所 the full cost up to 429,000. FEES.md says nothing of pharmacies: their terms stay.
//! - Installation must be finished by 2023-03-31 and the subsidy applied for by 2023-06-30.
//!
//! Yen below one are cut off (the rate can make halves and quarters).

use thiserror::Error;

use crate::date::Date;

/// Who applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubsidyFacility {
    /// 病院, with 1 to 3 card readers.
    Hospital { card_readers: u8 },
    /// 診療所.
    Clinic,
    /// 薬局; `large_chain`: part of a large pharmacy chain.
    Pharmacy { large_chain: bool },
}

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubsidyInput {
    pub facility: SubsidyFacility,
    pub eligible_cost_yen: u64,
    /// When the card readers were applied for: decides whether the 2022-08 increase applies.
    pub readers_applied_on: Date,
    /// When installation finished, if known (checked against 2023-03-31).
    pub installed_on: Option<Date>,
    /// When the subsidy was applied for, if known (checked against 2023-06-30).
    pub subsidy_applied_on: Option<Date>,
}

/// Which terms applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Schedule {
    /// The terms before the 2022-08 increase.
    Original,
    /// The 2022-08 increase (readers applied for 2022-06-07 → 2022-12-31).
    Increased,
}

/// What decided the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bound {
    /// Cost × rate is within the limit.
    Rate,
    /// Cost × rate exceeds the limit: the limit is paid.
    Limit,
}

/// The subsidy and how it was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subsidy {
    pub amount_yen: u64,
    /// The rate as numerator / denominator (1/2, 3/4, 1/1).
    pub rate: (u64, u64),
    pub limit_yen: u64,
    pub bound: Bound,
    pub schedule: Schedule,
}

/// A subsidy that cannot be computed or granted; `field` names the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SubsidyError {
    #[error("{field}: a hospital's limit is known for 1 to 3 card readers, got {count}")]
    CardReaders { field: &'static str, count: u8 },
    #[error("{field}: {date} is after the deadline {deadline}")]
    TooLate { field: &'static str, date: Date, deadline: &'static str },
}

/// Readers applied for in these days (as `YYYYMMDD` numbers) get the 2022-08 increase.
const INCREASE: std::ops::RangeInclusive<u32> = 20220607..=20221231;
/// Installation must be finished by this day.
const INSTALLED_BY: (u32, &str) = (20230331, "2023-03-31");
/// The subsidy must be applied for by this day.
const APPLIED_BY: (u32, &str) = (20230630, "2023-06-30");

/// The terms for readers applied for on `on`.
pub fn schedule_for(on: Date) -> Schedule {
    if INCREASE.contains(&on.to_u32()) { Schedule::Increased } else { Schedule::Original }
}

/// Rate (numerator, denominator) and limit in yen.
fn terms(facility: SubsidyFacility, schedule: Schedule) -> Result<((u64, u64), u64), SubsidyError> {
    let doubled = if schedule == Schedule::Increased { 2 } else { 1 };
    Ok(match facility {
        SubsidyFacility::Hospital { card_readers } => {
            let limit = match card_readers {
                1 => 1_050_000,
                2 => 1_001_000,
                3 => 951_000,
                count => return Err(SubsidyError::CardReaders { field: "facility.card_readers", count }),
            };
            ((1, 2), limit * doubled)
        }
        SubsidyFacility::Clinic => match schedule {
            Schedule::Original => ((3, 4), 321_000),
            Schedule::Increased => ((1, 1), 429_000),
        },
        SubsidyFacility::Pharmacy { large_chain: true } => ((1, 2), 214_000),
        SubsidyFacility::Pharmacy { large_chain: false } => ((3, 4), 321_000),
    })
}

/// The subsidy for `input`.
pub fn subsidy(input: &SubsidyInput) -> Result<Subsidy, SubsidyError> {
    let deadlines = [
        ("installed_on", input.installed_on, INSTALLED_BY),
        ("subsidy_applied_on", input.subsidy_applied_on, APPLIED_BY),
    ];
    for (field, date, (last, deadline)) in deadlines {
        if let Some(date) = date.filter(|d| d.to_u32() > last) {
            return Err(SubsidyError::TooLate { field, date, deadline });
        }
    }
    let schedule = schedule_for(input.readers_applied_on);
    let ((num, den), limit_yen) = terms(input.facility, schedule)?;
    let by_rate = u128::from(input.eligible_cost_yen) * u128::from(num) / u128::from(den);
    let (amount_yen, bound) =
        if by_rate > u128::from(limit_yen) { (limit_yen, Bound::Limit) } else { (by_rate as u64, Bound::Rate) };
    Ok(Subsidy { amount_yen, rate: (num, den), limit_yen, bound, schedule })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: u16, m: u8, d: u8) -> Date {
        Date::new(y, m, d).expect("valid date")
    }

    fn input(facility: SubsidyFacility, cost: u64, readers_applied_on: Date) -> SubsidyInput {
        SubsidyInput {
            facility,
            eligible_cost_yen: cost,
            readers_applied_on,
            installed_on: None,
            subsidy_applied_on: None,
        }
    }

    fn grant(facility: SubsidyFacility, cost: u64, on: Date) -> (u64, Bound) {
        let s = subsidy(&input(facility, cost, on)).expect("computable");
        (s.amount_yen, s.bound)
    }

    /// Readers applied for before the increase.
    fn early() -> Date {
        day(2022, 5, 10)
    }

    /// Readers applied for within the increase.
    fn later() -> Date {
        day(2022, 9, 1)
    }

    #[test]
    fn hospital_limits_by_card_readers() {
        let h = |n| SubsidyFacility::Hospital { card_readers: n };
        assert_eq!(grant(h(1), 4_000_000, early()), (1_050_000, Bound::Limit));
        assert_eq!(grant(h(2), 4_000_000, early()), (1_001_000, Bound::Limit));
        assert_eq!(grant(h(3), 4_000_000, early()), (951_000, Bound::Limit));
        assert_eq!(grant(h(1), 1_000_001, early()), (500_000, Bound::Rate), "half, yen below one cut off");
        assert_eq!(grant(h(1), 2_100_000, early()), (1_050_000, Bound::Rate), "exactly at the limit");
        // The increase doubles the limits.
        assert_eq!(grant(h(1), 5_000_000, later()), (2_100_000, Bound::Limit));
        assert_eq!(grant(h(2), 5_000_000, later()), (2_002_000, Bound::Limit));
        assert_eq!(grant(h(3), 5_000_000, later()), (1_902_000, Bound::Limit));
        assert_eq!(
            subsidy(&input(h(4), 1, early())),
            Err(SubsidyError::CardReaders { field: "facility.card_readers", count: 4 })
        );
    }

    #[test]
    fn clinics_and_pharmacies() {
        assert_eq!(grant(SubsidyFacility::Clinic, 400_000, early()), (300_000, Bound::Rate));
        assert_eq!(grant(SubsidyFacility::Clinic, 500_000, early()), (321_000, Bound::Limit));
        // From the increase: the full cost up to 429,000 yen.
        assert_eq!(grant(SubsidyFacility::Clinic, 400_000, later()), (400_000, Bound::Rate));
        assert_eq!(grant(SubsidyFacility::Clinic, 500_000, later()), (429_000, Bound::Limit));
        let chain = SubsidyFacility::Pharmacy { large_chain: true };
        let other = SubsidyFacility::Pharmacy { large_chain: false };
        assert_eq!(grant(chain, 400_000, early()), (200_000, Bound::Rate));
        assert_eq!(grant(chain, 500_000, early()), (214_000, Bound::Limit));
        assert_eq!(grant(other, 400_000, early()), (300_000, Bound::Rate));
        assert_eq!(grant(other, 500_000, later()), (321_000, Bound::Limit));
    }

    #[test]
    fn the_increase_covers_readers_applied_for_from_june_7_to_december_31() {
        assert_eq!(schedule_for(day(2022, 6, 6)), Schedule::Original);
        assert_eq!(schedule_for(day(2022, 6, 7)), Schedule::Increased);
        assert_eq!(schedule_for(day(2022, 12, 31)), Schedule::Increased);
        assert_eq!(schedule_for(day(2023, 1, 1)), Schedule::Original);
    }

    #[test]
    fn deadlines() {
        let mut i = input(SubsidyFacility::Clinic, 100_000, later());
        i.installed_on = Some(day(2023, 3, 31));
        i.subsidy_applied_on = Some(day(2023, 6, 30));
        assert_eq!(subsidy(&i).map(|s| s.amount_yen), Ok(100_000));
        i.installed_on = Some(day(2023, 4, 1));
        assert_eq!(
            subsidy(&i),
            Err(SubsidyError::TooLate { field: "installed_on", date: day(2023, 4, 1), deadline: "2023-03-31" })
        );
        i.installed_on = None;
        i.subsidy_applied_on = Some(day(2023, 7, 1));
        assert!(matches!(subsidy(&i), Err(SubsidyError::TooLate { field: "subsidy_applied_on", .. })));
    }
}
