//! Calendar months (`2024-11`): the unit of every frequency limit and of the マイナ保険証利用率.

use std::fmt;

use crate::date::Date;

/// A calendar month. Ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    /// Always the first day of the month, so the derived ordering is chronological.
    first: Date,
}

impl YearMonth {
    /// The month, if `month` is 1–12 and the year within [`Date`]'s range.
    pub fn new(year: u16, month: u8) -> Option<YearMonth> {
        Date::new(year, month, 1).map(|first| YearMonth { first })
    }

    /// The month `date` falls in.
    pub fn of(date: Date) -> YearMonth {
        YearMonth { first: date.first_of_month() }
    }

    pub fn year(self) -> u16 {
        self.first.year()
    }

    pub fn month(self) -> u8 {
        self.first.month()
    }

    /// Months since January of year 0: consecutive months have consecutive indices.
    pub fn index(self) -> i64 {
        i64::from(self.year()) * 12 + i64::from(self.month()) - 1
    }

    /// The month with this [`YearMonth::index`], if within [`Date`]'s range.
    pub fn from_index(index: i64) -> Option<YearMonth> {
        let year = u16::try_from(index.div_euclid(12)).ok()?;
        YearMonth::new(year, (index.rem_euclid(12) + 1) as u8)
    }

    /// The month `n` months later (earlier if negative).
    pub fn plus(self, n: i64) -> Option<YearMonth> {
        YearMonth::from_index(self.index() + n)
    }

    /// The first day of the month.
    pub fn first_day(self) -> Date {
        self.first
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ym(y: u16, m: u8) -> YearMonth {
        YearMonth::new(y, m).expect("valid month")
    }

    #[test]
    fn months_count_across_year_boundaries() {
        assert_eq!(ym(2024, 11).plus(3), Some(ym(2025, 2)));
        assert_eq!(ym(2025, 1).plus(-5), Some(ym(2024, 8)));
        assert_eq!(ym(2024, 12).plus(1), Some(ym(2025, 1)));
        assert_eq!(ym(2025, 2).index() - ym(2024, 11).index(), 3);
        assert!(ym(2024, 12) < ym(2025, 1));
        assert_eq!(ym(2024, 3).to_string(), "2024-03");
        assert_eq!(ym(2024, 3).first_day(), Date::new(2024, 3, 1).expect("date"));
        assert_eq!(YearMonth::new(2024, 13), None);
        assert_eq!(YearMonth::of(Date::new(2024, 2, 29).expect("date")), ym(2024, 2));
    }
}
