//! Age rules on a given date: legal age, 未就学 (preschool), the start of 高齢受給者 (70–74), the move to
//! 後期高齢者医療 (75), and the co-payment ratio that follows from them.
//!
//! Japanese law (年齢計算ニ関スル法律) makes a person "reach" an age at the end of the day before the
//! birthday; rules phrased "N歳に達する日" therefore use the day before the Nth birthday. Every
//! function takes the date it answers for; none reads the clock.

use crate::date::Date;

/// Age in whole years on `on` (a person is one year older from their birthday on; someone born on
/// February 29th is a year older from March 1st in common years).
pub fn age_on(birth: Date, on: Date) -> u32 {
    if on < birth {
        return 0;
    }
    let mut years = u32::from(on.year() - birth.year());
    // The anniversary this year has not come yet.
    match birth.add_years(years as i32) {
        Some(anniversary) if anniversary > on => years -= 1,
        None => years = years.saturating_sub(1),
        _ => {}
    }
    years
}

/// "N歳に達する日": the day before the Nth birthday.
pub fn reaches_age(birth: Date, n: u32) -> Option<Date> {
    birth.add_years(n as i32)?.pred()
}

/// The last day of 未就学: the first March 31st on or after the day the child reaches 6
/// ("6歳に達する日以後の最初の3月31日"). A child born on April 1st reaches 6 on March 31st, so their
/// preschool years end a year earlier than those of a child born on April 2nd.
pub fn preschool_until(birth: Date) -> Option<Date> {
    let reach = reaches_age(birth, 6)?;
    let march31 = Date::new(reach.year(), 3, 31)?;
    if reach <= march31 { Some(march31) } else { Date::new(reach.year() + 1, 3, 31) }
}

/// Whether a child is 未就学 on `on`.
pub fn is_preschool(birth: Date, on: Date) -> bool {
    preschool_until(birth).is_some_and(|until| on <= until)
}

/// The first day of the 70–74 co-payment rules and the 高齢受給者証: the first of the month after
/// the month in which the person reaches 70 (for a birthday on the 1st, that is the birth month).
pub fn elderly_recipient_start(birth: Date) -> Option<Date> {
    reaches_age(birth, 70)?.first_of_next_month()
}

/// The day 後期高齢者医療 begins: the 75th birthday itself. The previous qualification is lost on
/// the same day (資格喪失日), with reason 03.
pub fn late_elderly_start(birth: Date) -> Option<Date> {
    birth.add_years(75)
}

/// The last day of the 高齢受給者証: the day before the 75th birthday.
pub fn elderly_recipient_end(birth: Date) -> Option<Date> {
    late_elderly_start(birth)?.pred()
}

/// Which co-payment band applies on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeBand {
    /// Before primary school: 2割.
    Preschool,
    /// Up to the month of reaching 70: 3割.
    Working,
    /// From the month after reaching 70 to the day before turning 75: 2割 (3割 with 現役並み所得).
    Elderly,
    /// 75 and over: 後期高齢者医療, 1, 2 or 3割 by income.
    LateElderly,
}

/// The co-payment band of a person born on `birth`, on `on`.
pub fn age_band(birth: Date, on: Date) -> AgeBand {
    if late_elderly_start(birth).is_some_and(|d| on >= d) {
        AgeBand::LateElderly
    } else if elderly_recipient_start(birth).is_some_and(|d| on >= d) {
        AgeBand::Elderly
    } else if is_preschool(birth, on) {
        AgeBand::Preschool
    } else {
        AgeBand::Working
    }
}

/// Income as far as co-payment cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncomeLevel {
    /// 一般・低所得.
    General,
    /// 後期高齢者 一定以上所得 (2割 since October 2022).
    Middle,
    /// 現役並み所得.
    WorkingLevel,
}

/// The co-payment ratio in percent on `on` (the value of InsuredPartialContributionRatio).
pub fn contribution_percent(birth: Date, on: Date, income: IncomeLevel) -> u8 {
    match (age_band(birth, on), income) {
        (AgeBand::Preschool, _) => 20,
        (AgeBand::Working, _) => 30,
        (AgeBand::Elderly, IncomeLevel::WorkingLevel) => 30,
        (AgeBand::Elderly, _) => 20,
        (AgeBand::LateElderly, IncomeLevel::WorkingLevel) => 30,
        (AgeBand::LateElderly, IncomeLevel::Middle) => 20,
        (AgeBand::LateElderly, IncomeLevel::General) => 10,
    }
}

/// The 5th birthday after `issued` (the expiry of the card's user-identification certificate).
pub fn fifth_birthday_after(birth: Date, issued: Date) -> Date {
    let years = u32::from(issued.year().saturating_sub(birth.year()));
    let mut anniversary = birth.add_years(years as i32).unwrap_or(issued);
    if anniversary <= issued {
        anniversary = birth.add_years(years as i32 + 1).unwrap_or(issued);
    }
    anniversary.add_years(4).unwrap_or(anniversary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_yyyymmdd(s).expect("valid date")
    }

    #[test]
    fn age_changes_on_the_birthday() {
        let birth = d("19800615");
        assert_eq!(age_on(birth, d("20200614")), 39);
        assert_eq!(age_on(birth, d("20200615")), 40);
        assert_eq!(age_on(birth, d("19800615")), 0);
        assert_eq!(age_on(birth, d("19700101")), 0);
    }

    #[test]
    fn leap_day_birth_ages_on_march_first_in_common_years() {
        let birth = d("20000229");
        assert_eq!(age_on(birth, d("20010228")), 0);
        assert_eq!(age_on(birth, d("20010301")), 1);
        assert_eq!(age_on(birth, d("20040229")), 4);
    }

    #[test]
    fn preschool_ends_on_march_31st_after_reaching_six() {
        // Born April 2nd: reaches 6 on April 1st 2026, preschool until March 31st 2027.
        let april2 = d("20200402");
        assert_eq!(preschool_until(april2), Some(d("20270331")));
        assert!(is_preschool(april2, d("20270331")));
        assert!(!is_preschool(april2, d("20270401")));
        // Born April 1st: reaches 6 on March 31st 2026, so school starts a year earlier.
        let april1 = d("20200401");
        assert_eq!(preschool_until(april1), Some(d("20260331")));
        assert!(!is_preschool(april1, d("20260401")));
        assert_eq!(age_band(april1, d("20260331")), AgeBand::Preschool);
        assert_eq!(contribution_percent(april1, d("20260331"), IncomeLevel::General), 20);
        assert_eq!(contribution_percent(april1, d("20260401"), IncomeLevel::General), 30);
    }

    #[test]
    fn elderly_band_starts_the_month_after_reaching_seventy() {
        // Born 1955-06-15: reaches 70 on 2025-06-14, band from 2025-07-01.
        let mid = d("19550615");
        assert_eq!(elderly_recipient_start(mid), Some(d("20250701")));
        assert_eq!(contribution_percent(mid, d("20250630"), IncomeLevel::General), 30);
        assert_eq!(contribution_percent(mid, d("20250701"), IncomeLevel::General), 20);
        assert_eq!(contribution_percent(mid, d("20250701"), IncomeLevel::WorkingLevel), 30);
        // Born on the 1st: reaches 70 on the last day of the previous month, band from the birth month.
        let first = d("19550601");
        assert_eq!(elderly_recipient_start(first), Some(d("20250601")));
        assert_eq!(contribution_percent(first, d("20250531"), IncomeLevel::General), 30);
        assert_eq!(contribution_percent(first, d("20250601"), IncomeLevel::General), 20);
        // Born on the 2nd: the band starts a month later.
        assert_eq!(elderly_recipient_start(d("19550602")), Some(d("20250701")));
        // December birthdays roll into January.
        assert_eq!(elderly_recipient_start(d("19551215")), Some(d("20260101")));
    }

    #[test]
    fn late_elderly_starts_on_the_75th_birthday() {
        let birth = d("19511101");
        assert_eq!(late_elderly_start(birth), Some(d("20261101")));
        assert_eq!(elderly_recipient_end(birth), Some(d("20261031")));
        assert_eq!(age_band(birth, d("20261031")), AgeBand::Elderly);
        assert_eq!(age_band(birth, d("20261101")), AgeBand::LateElderly);
        assert_eq!(contribution_percent(birth, d("20261101"), IncomeLevel::General), 10);
        assert_eq!(contribution_percent(birth, d("20261101"), IncomeLevel::Middle), 20);
        assert_eq!(contribution_percent(birth, d("20261101"), IncomeLevel::WorkingLevel), 30);
    }
}
