//! The frequency limits of the fee additions, in one place.
//!
//! - "Once a month" (月1回) is per patient, per facility, per calendar month: a claim on the 31st does
//!   not stop one on the 1st of the next month.
//! - "Once in N months" (N月に1回): after a claim in month m, the next is allowed from month m+N,
//!   i.e. the addition must not have been claimed in the current month or the previous N−1 months.
//!   This is the convention of the public receipt software, not official text (FEES.md); "once a
//!   month" is its N = 1 case.
//!
//! "Per patient, per facility" is the caller's part: the claims handed to these functions are those
//! of one patient at one facility.

use std::fmt;

use crate::date::Date;

use super::month::YearMonth;

/// A frequency limit: at most one claim in any N consecutive calendar months (N = 1 to 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OnceInMonths(u8);

/// The longest limit the table may use (E's 調剤, once in 12 months).
pub const MAX_MONTHS: u8 = 12;

impl OnceInMonths {
    /// Once a month.
    pub const MONTHLY: OnceInMonths = OnceInMonths(1);

    /// Once in `months` months, if 1 ≤ `months` ≤ [`MAX_MONTHS`].
    pub fn new(months: u8) -> Option<OnceInMonths> {
        (1..=MAX_MONTHS).contains(&months).then_some(OnceInMonths(months))
    }

    /// N.
    pub fn months(self) -> u8 {
        self.0
    }

    /// The first month a new claim is allowed after a claim in `claimed`: `claimed` + N.
    pub fn next_allowed(self, claimed: YearMonth) -> Option<YearMonth> {
        claimed.plus(i64::from(self.0))
    }

    /// Whether a claim on `claimed` stops a new claim on `visit`: its month is the visit's month or
    /// one of the N−1 before. A claim in a later month than the visit stops nothing.
    pub fn blocks(self, claimed: Date, visit: Date) -> bool {
        let gap = YearMonth::of(visit).index() - YearMonth::of(claimed).index();
        (0..i64::from(self.0)).contains(&gap)
    }

    /// The latest of `claims` that stops a new claim on `visit`, if any.
    pub fn blocking_claim(self, visit: Date, claims: impl IntoIterator<Item = Date>) -> Option<Date> {
        claims.into_iter().filter(|c| self.blocks(*c, visit)).max()
    }
}

impl fmt::Display for OnceInMonths {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("once a month"),
            n => write!(f, "once in {n} months"),
        }
    }
}

/// Whether two dates fall in the same calendar month (the unit of "not in a month where … was
/// claimed").
pub fn same_month(a: Date, b: Date) -> bool {
    YearMonth::of(a) == YearMonth::of(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: u16, m: u8, day: u8) -> Date {
        Date::new(y, m, day).expect("valid date")
    }

    fn every(n: u8) -> OnceInMonths {
        OnceInMonths::new(n).expect("valid limit")
    }

    #[test]
    fn once_a_month_is_per_calendar_month_across_december_to_january() {
        let f = OnceInMonths::MONTHLY;
        assert!(f.blocks(d(2024, 12, 1), d(2024, 12, 31)));
        assert!(!f.blocks(d(2024, 12, 31), d(2025, 1, 1)));
        assert!(!f.blocks(d(2024, 1, 31), d(2025, 1, 1)), "a year earlier, same month number");
        assert_eq!(f.next_allowed(YearMonth::of(d(2024, 12, 31))), YearMonth::new(2025, 1));
        assert_eq!(f.to_string(), "once a month");
    }

    #[test]
    fn once_in_three_months_claimed_in_november_is_allowed_again_in_february() {
        let f = every(3);
        let claim = d(2024, 11, 30);
        assert!(f.blocks(claim, d(2024, 12, 1)));
        assert!(f.blocks(claim, d(2025, 1, 31)));
        assert!(!f.blocks(claim, d(2025, 2, 1)));
        assert_eq!(f.next_allowed(YearMonth::of(claim)), YearMonth::new(2025, 2));
        assert_eq!(f.to_string(), "once in 3 months");
    }

    #[test]
    fn once_in_six_and_twelve_months_cross_the_year() {
        let six = every(6);
        assert!(six.blocks(d(2022, 10, 3), d(2023, 3, 31)));
        assert!(!six.blocks(d(2022, 10, 3), d(2023, 4, 1)));
        let twelve = every(12);
        assert!(twelve.blocks(d(2024, 12, 1), d(2025, 11, 30)));
        assert!(!twelve.blocks(d(2024, 12, 1), d(2025, 12, 1)));
    }

    #[test]
    fn later_claims_block_nothing_and_the_latest_blocking_claim_is_named() {
        let f = every(3);
        assert!(!f.blocks(d(2025, 2, 1), d(2025, 1, 31)));
        let claims = [d(2024, 10, 2), d(2024, 11, 5), d(2024, 12, 9), d(2025, 3, 1)];
        assert_eq!(f.blocking_claim(d(2025, 1, 15), claims), Some(d(2024, 12, 9)));
        assert_eq!(f.blocking_claim(d(2025, 6, 15), claims[..3].iter().copied()), None);
    }

    #[test]
    fn limits_are_one_to_twelve_months() {
        assert_eq!(OnceInMonths::new(0), None);
        assert_eq!(OnceInMonths::new(13), None);
        assert_eq!(OnceInMonths::new(12).map(OnceInMonths::months), Some(12));
        assert!(same_month(d(2024, 2, 1), d(2024, 2, 29)));
        assert!(!same_month(d(2024, 2, 29), d(2024, 3, 1)));
    }
}
