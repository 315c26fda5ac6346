//! マイナ保険証利用率: card confirmations ÷ all confirmations per month (claim-count based), and the
//! usage-rate tier of a claim month N: the best rate of months N-5 … N-3 against the thresholds of
//! the rows in force in month N (FEES.md F; period G's 30 % uses the same window).
//!
//! Rates are compared exactly, as fractions: no floating point decides a tier.

use std::cmp::Ordering;
use std::fmt;

use thiserror::Error;

use crate::date::Date;

use super::month::YearMonth;
use super::table::{Condition, Department, FeeRule, FeeRules};

/// One month's confirmation counts at a facility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MonthlyUsage {
    pub month: YearMonth,
    /// Confirmations made with マイナ保険証.
    pub card_confirmations: u64,
    /// All confirmations (card and insured-number).
    pub all_confirmations: u64,
}

/// A month's rate: `card` of `all` confirmations. A month with no confirmations has rate 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsageRate {
    card: u64,
    all: u64,
}

/// Malformed monthly counts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UsageError {
    #[error("{month}: {card} card confirmations is more than all {all} confirmations")]
    CardExceedsAll { month: YearMonth, card: u64, all: u64 },
    #[error("{0} is given twice")]
    DuplicateMonth(YearMonth),
}

impl UsageRate {
    /// The rate, if `card` ≤ `all`.
    pub fn new(card: u64, all: u64) -> Option<UsageRate> {
        (card <= all).then_some(UsageRate { card, all })
    }

    pub fn card(self) -> u64 {
        self.card
    }

    pub fn all(self) -> u64 {
        self.all
    }

    /// Whether the rate is at least `percent` %: card × 100 ≥ percent × all, exactly.
    pub fn at_least(self, percent: u8) -> bool {
        self.all > 0 && u128::from(self.card) * 100 >= u128::from(percent) * u128::from(self.all)
    }

    /// The rate in tenths of a percent, rounded down (for display).
    pub fn tenths_of_percent(self) -> u64 {
        if self.all == 0 { 0 } else { (u128::from(self.card) * 1000 / u128::from(self.all)) as u64 }
    }

    /// Compares two rates exactly.
    pub fn compare(self, other: UsageRate) -> Ordering {
        let (a, b) = (self.normalized(), other.normalized());
        (u128::from(a.0) * u128::from(b.1)).cmp(&(u128::from(b.0) * u128::from(a.1)))
    }

    fn normalized(self) -> (u64, u64) {
        if self.all == 0 { (0, 1) } else { (self.card, self.all) }
    }
}

impl fmt::Display for UsageRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.tenths_of_percent();
        write!(f, "{}.{} %", t / 10, t % 10)
    }
}

/// The rate of each month, in month order; refuses a month given twice or more card confirmations
/// than confirmations.
pub fn monthly_rates(usage: &[MonthlyUsage]) -> Result<Vec<(YearMonth, UsageRate)>, UsageError> {
    let mut rates = Vec::with_capacity(usage.len());
    for u in usage {
        let rate = UsageRate::new(u.card_confirmations, u.all_confirmations).ok_or(UsageError::CardExceedsAll {
            month: u.month,
            card: u.card_confirmations,
            all: u.all_confirmations,
        })?;
        rates.push((u.month, rate));
    }
    rates.sort_by_key(|(m, _)| *m);
    if let Some(w) = rates.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(UsageError::DuplicateMonth(w[0].0));
    }
    Ok(rates)
}

/// The months whose rates decide claim month N: N-5 … N-3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub first: YearMonth,
    pub last: YearMonth,
}

impl Window {
    /// The window of claim month `claim`.
    pub fn of(claim: YearMonth) -> Option<Window> {
        Some(Window { first: claim.plus(-5)?, last: claim.plus(-3)? })
    }

    pub fn contains(self, month: YearMonth) -> bool {
        self.first <= month && month <= self.last
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}…{}", self.first, self.last)
    }
}

/// The best rate of the window of claim month `claim`, and its month (the later month on a tie);
/// `None` when no month of the window has counts.
pub fn best_in_window(rates: &[(YearMonth, UsageRate)], claim: YearMonth) -> Option<(YearMonth, UsageRate)> {
    let window = Window::of(claim)?;
    rates.iter().filter(|(m, _)| window.contains(*m)).copied().max_by(|a, b| a.1.compare(b.1).then(a.0.cmp(&b.0)))
}

/// The usage-rate tier a facility earns for `addition` in the month of `on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TierChoice<'r> {
    /// The row earned: its tier and points.
    pub rule: &'r FeeRule,
    /// The best month of the window and its rate, when the row has a threshold.
    pub best: Option<(YearMonth, UsageRate)>,
}

/// The best row of `addition` for `department` in force on `on` whose usage-rate threshold (and
/// 電子処方箋 requirement) the facility meets, judged on the best month of N-5 … N-3; `None` if it
/// meets none. The facility is taken to have notified the addition.
pub fn usage_tier<'r>(
    rules: &'r FeeRules,
    addition: &str,
    department: Department,
    on: Date,
    rates: &[(YearMonth, UsageRate)],
    e_prescription: bool,
) -> Option<TierChoice<'r>> {
    let best = best_in_window(rates, YearMonth::of(on));
    rules
        .in_force(on)
        .filter(|r| r.addition == addition && r.is_for(department))
        .filter_map(|r| match r.condition {
            Condition::Notified { usage_rate_at_least, e_prescription: needs } if e_prescription || !needs => {
                match usage_rate_at_least {
                    None => Some(TierChoice { rule: r, best: None }),
                    Some(p) => best.filter(|(_, rate)| rate.at_least(p)).map(|b| TierChoice { rule: r, best: Some(b) }),
                }
            }
            _ => None,
        })
        .max_by(|a, b| a.rule.points.cmp(&b.rule.points).then(b.rule.tier.cmp(&a.rule.tier)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fees::table::Tier;

    fn ym(y: u16, m: u8) -> YearMonth {
        YearMonth::new(y, m).expect("valid month")
    }

    fn usage(y: u16, m: u8, card: u64, all: u64) -> MonthlyUsage {
        MonthlyUsage { month: ym(y, m), card_confirmations: card, all_confirmations: all }
    }

    fn rules() -> &'static FeeRules {
        FeeRules::builtin().expect("the built-in table is valid")
    }

    const DX: &str = "医療DX推進体制整備加算";

    #[test]
    fn rates_are_exact_fractions() {
        let r = UsageRate::new(15, 100).expect("rate");
        assert!(r.at_least(15));
        assert!(!r.at_least(16));
        let just_below = UsageRate::new(1_499_999, 10_000_000).expect("rate");
        assert!(!just_below.at_least(15));
        assert_eq!(just_below.to_string(), "14.9 %");
        assert_eq!(UsageRate::new(0, 0).map(|r| r.at_least(1)), Some(false));
        assert_eq!(UsageRate::new(3, 2), None);
        assert_eq!(UsageRate::new(1, 3).expect("rate").compare(UsageRate::new(2, 6).expect("rate")), Ordering::Equal);
    }

    #[test]
    fn monthly_rates_sort_and_refuse_bad_counts() {
        let rates = monthly_rates(&[usage(2024, 7, 1, 10), usage(2024, 5, 2, 10)]).expect("valid");
        assert_eq!(rates.iter().map(|(m, _)| *m).collect::<Vec<_>>(), vec![ym(2024, 5), ym(2024, 7)]);
        assert_eq!(
            monthly_rates(&[usage(2024, 7, 11, 10)]),
            Err(UsageError::CardExceedsAll { month: ym(2024, 7), card: 11, all: 10 })
        );
        assert_eq!(
            monthly_rates(&[usage(2024, 7, 1, 10), usage(2024, 7, 2, 10)]),
            Err(UsageError::DuplicateMonth(ym(2024, 7)))
        );
    }

    #[test]
    fn the_window_of_month_n_is_n_minus_5_to_n_minus_3_best_of() {
        let w = Window::of(ym(2025, 1)).expect("window");
        assert_eq!((w.first, w.last), (ym(2024, 8), ym(2024, 10)));
        // Claim month 2024-10: months 2024-05 … 2024-07 count; 2024-04 (N-6) and 2024-08 (N-2) do not.
        let rates = monthly_rates(&[
            usage(2024, 4, 40, 100),
            usage(2024, 5, 4, 100),
            usage(2024, 6, 12, 100),
            usage(2024, 7, 8, 100),
            usage(2024, 8, 50, 100),
        ])
        .expect("valid");
        assert_eq!(best_in_window(&rates, ym(2024, 10)).map(|(m, r)| (m, r.card())), Some((ym(2024, 6), 12)));
        assert_eq!(best_in_window(&rates, ym(2024, 3)), None);
        let on = Date::new(2024, 10, 1).expect("date");
        let choice = usage_tier(rules(), DX, Department::Medical, on, &rates, false).expect("a tier");
        // 12 % meets 2024-10's 10 % (加算2) but not 15 % (加算1).
        assert_eq!((choice.rule.tier, choice.rule.points), (Tier::Numbered(2), 10));
        assert_eq!(choice.best.map(|(m, _)| m), Some(ym(2024, 6)));
    }

    #[test]
    fn thresholds_are_those_of_the_claim_month() {
        // 20 % in every month: 加算1 in 2024-12 (15 %), 加算2 in 2025-01 (20 %), 加算3 in 2025-04 (15 %).
        let rates = monthly_rates(&(1..=12).map(|m| usage(2024, m, 20, 100)).collect::<Vec<_>>()).expect("valid");
        let tier = |y, m, dept, e| {
            let on = Date::new(y, m, 15).expect("date");
            usage_tier(rules(), DX, dept, on, &rates, e).map(|c| (c.rule.tier, c.rule.points))
        };
        assert_eq!(tier(2024, 12, Department::Medical, false), Some((Tier::Numbered(1), 11)));
        assert_eq!(tier(2025, 1, Department::Medical, false), Some((Tier::Numbered(2), 10)));
        assert_eq!(tier(2025, 1, Department::Pharmacy, false), Some((Tier::Numbered(2), 6)));
        assert_eq!(tier(2025, 4, Department::Medical, true), Some((Tier::Numbered(3), 10)));
        assert_eq!(tier(2025, 4, Department::Medical, false), Some((Tier::Numbered(6), 8)));
        // 2025-10: its window 2025-05 … 2025-07 has no counts at all.
        assert_eq!(tier(2025, 10, Department::Medical, true), None);
        // 2024-06 … 09: one tier, no threshold.
        assert_eq!(tier(2024, 9, Department::Dental, false), Some((Tier::Single, 6)));
    }

    #[test]
    fn period_g_needs_thirty_percent() {
        let at = |card| {
            let rates = monthly_rates(&[usage(2026, 1, card, 1000)]).expect("valid");
            let on = Date::new(2026, 6, 1).expect("date");
            usage_tier(rules(), "電子的調剤情報連携体制整備加算", Department::Pharmacy, on, &rates, false)
                .map(|c| c.rule.points)
        };
        assert_eq!(at(300), Some(8));
        assert_eq!(at(299), None);
    }
}
