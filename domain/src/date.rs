//! Calendar dates and Japan Standard Time timestamps, in the real interface's formats
//! (`YYYYMMDD`, `YYYYMMDDhhmmss`), with the day arithmetic the age rules need.
//!
//! Nothing here reads the clock: "today" is always a parameter, so the rules are testable on any
//! date and the server decides where time comes from.

use crate::echo::echo;
use std::fmt;

use thiserror::Error;

/// Appends a number below 100 as two digits.
fn two_digits(n: u32) -> [u8; 2] {
    [b'0' + (n / 10 % 10) as u8, b'0' + (n % 10) as u8]
}

/// Digits made by this module are ASCII, hence UTF-8.
fn ascii(digits: &[u8]) -> &str {
    std::str::from_utf8(digits).unwrap_or_default()
}

/// A malformed date.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DateError {
    #[error("expected 8 digits YYYYMMDD, got {0:?}")]
    Format(String),
    #[error("{0:?} is not a calendar date")]
    NotADate(String),
    #[error("expected 14 digits YYYYMMDDhhmmss, got {0:?}")]
    TimeFormat(String),
}

/// A Gregorian calendar date between years 1800 and 2999. Serialized as `YYYYMMDD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Date {
    // Field order makes the derived ordering chronological.
    year: u16,
    month: u8,
    day: u8,
}

const MIN_YEAR: u16 = 1800;
const MAX_YEAR: u16 = 2999;

/// Whether `year` has a February 29th.
pub fn is_leap_year(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// The number of days in `month` of `year`.
pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// The date, if it exists on the calendar.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let valid = (MIN_YEAR..=MAX_YEAR).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    /// Parses `YYYYMMDD`.
    pub fn parse_yyyymmdd(s: &str) -> Result<Date, DateError> {
        let b = s.as_bytes();
        if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
            return Err(DateError::Format(echo(s)));
        }
        let num = |r: std::ops::Range<usize>| b[r].iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
        let (y, m, d) = (num(0..4), num(4..6), num(6..8));
        // Both fit: m < 100 and d < 100.
        Date::new(y, m as u8, d as u8).ok_or_else(|| DateError::NotADate(echo(s)))
    }

    pub fn year(self) -> u16 {
        self.year
    }
    pub fn month(self) -> u8 {
        self.month
    }
    pub fn day(self) -> u8 {
        self.day
    }

    /// The date as the number `YYYYMMDD` (compact and order-preserving, for stored values).
    pub fn to_u32(self) -> u32 {
        u32::from(self.year) * 10_000 + u32::from(self.month) * 100 + u32::from(self.day)
    }

    /// The inverse of [`Date::to_u32`].
    pub fn from_u32(v: u32) -> Option<Date> {
        let year = u16::try_from(v / 10_000).ok()?;
        Date::new(year, ((v / 100) % 100) as u8, (v % 100) as u8)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01, if within the supported years.
    pub fn from_days_since_epoch(days: i64) -> Option<Date> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        Date::new(u16::try_from(y).ok()?, m as u8, d as u8)
    }

    /// The date `n` days later (earlier if negative); `None` outside the supported years.
    pub fn add_days(self, n: i64) -> Option<Date> {
        Date::from_days_since_epoch(self.days_since_epoch() + n)
    }

    /// The same month and day `n` years later; February 29th becomes March 1st in a common year
    /// (the civil-law convention for anniversaries of a leap day).
    pub fn add_years(self, n: i32) -> Option<Date> {
        let year = u16::try_from(i32::from(self.year) + n).ok()?;
        Date::new(year, self.month, self.day).or_else(|| Date::new(year, 3, 1))
    }

    /// The same day `n` months later, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29).
    pub fn add_months(self, n: u32) -> Option<Date> {
        let total = u32::from(self.month) - 1 + n;
        let year = u16::try_from(u32::from(self.year) + total / 12).ok()?;
        let month = (total % 12) as u8 + 1;
        Date::new(year, month, self.day.min(days_in_month(year, month)))
    }

    /// The first day of this date's month.
    pub fn first_of_month(self) -> Date {
        Date { day: 1, ..self }
    }

    /// The first day of the following month.
    pub fn first_of_next_month(self) -> Option<Date> {
        if self.month == 12 { Date::new(self.year + 1, 1, 1) } else { Date::new(self.year, self.month + 1, 1) }
    }

    /// The day before.
    pub fn pred(self) -> Option<Date> {
        self.add_days(-1)
    }

    /// Whole days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(self, later: Date) -> i64 {
        later.days_since_epoch() - self.days_since_epoch()
    }

    /// Writes `YYYYMMDD` into `out`.
    pub fn write_yyyymmdd(self, out: &mut String) {
        out.push_str(ascii(&self.yyyymmdd_bytes()));
    }

    /// `YYYYMMDD` as ASCII digits, without an allocation (by hand: this runs for every date of
    /// every seeded person and every answer).
    pub fn yyyymmdd_bytes(self) -> [u8; 8] {
        let y = self.year;
        let [m0, m1] = two_digits(u32::from(self.month));
        let [d0, d1] = two_digits(u32::from(self.day));
        let digit = |n: u16| b'0' + (n % 10) as u8;
        [digit(y / 1000), digit(y / 100), digit(y / 10), digit(y), m0, m1, d0, d1]
    }

    /// `YYYYMMDD`.
    pub fn yyyymmdd(self) -> String {
        let mut s = String::with_capacity(8);
        self.write_yyyymmdd(&mut s);
        s
    }
}

impl From<Date> for String {
    fn from(d: Date) -> String {
        d.yyyymmdd()
    }
}

impl TryFrom<String> for Date {
    type Error = DateError;

    fn try_from(s: String) -> Result<Date, DateError> {
        Date::parse_yyyymmdd(&s)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A wall-clock time in Japan Standard Time (UTC+9, no daylight saving).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JstDateTime {
    date: Date,
    /// Seconds since midnight, 0..86400.
    second_of_day: u32,
}

/// JST is UTC+9 all year.
const JST_OFFSET_SECONDS: i64 = 9 * 3600;

impl JstDateTime {
    /// The JST wall-clock time of a Unix timestamp (seconds).
    pub fn from_unix_seconds(secs: i64) -> Option<JstDateTime> {
        let local = secs + JST_OFFSET_SECONDS;
        let date = Date::from_days_since_epoch(local.div_euclid(86_400))?;
        Some(JstDateTime { date, second_of_day: local.rem_euclid(86_400) as u32 })
    }

    /// The Unix timestamp (seconds) of this wall-clock time.
    pub fn unix_seconds(self) -> i64 {
        self.date.days_since_epoch() * 86_400 + i64::from(self.second_of_day) - JST_OFFSET_SECONDS
    }

    /// Midnight at the start of `date`.
    pub fn start_of(date: Date) -> JstDateTime {
        JstDateTime { date, second_of_day: 0 }
    }

    /// `date` at `h:m:s`, if the time of day is valid.
    pub fn new(date: Date, h: u8, m: u8, s: u8) -> Option<JstDateTime> {
        (h < 24 && m < 60 && s < 60)
            .then(|| JstDateTime { date, second_of_day: u32::from(h) * 3600 + u32::from(m) * 60 + u32::from(s) })
    }

    /// Parses `YYYYMMDDhhmmss`.
    pub fn parse(s: &str) -> Result<JstDateTime, DateError> {
        if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DateError::TimeFormat(echo(s)));
        }
        let date = Date::parse_yyyymmdd(&s[..8])?;
        let two = |i: usize| (s.as_bytes()[i] - b'0') * 10 + (s.as_bytes()[i + 1] - b'0');
        JstDateTime::new(date, two(8), two(10), two(12)).ok_or_else(|| DateError::TimeFormat(echo(s)))
    }

    pub fn date(self) -> Date {
        self.date
    }

    /// This time plus `secs` seconds.
    pub fn add_seconds(self, secs: i64) -> Option<JstDateTime> {
        JstDateTime::from_unix_seconds(self.unix_seconds() + secs)
    }

    /// Writes `YYYYMMDDhhmmss` into `out`.
    pub fn write_compact(self, out: &mut String) {
        out.push_str(ascii(&self.compact_bytes()));
    }

    /// `YYYYMMDDhhmmss` as ASCII digits, without an allocation.
    pub fn compact_bytes(self) -> [u8; 14] {
        let mut b = [0u8; 14];
        b[..8].copy_from_slice(&self.date.yyyymmdd_bytes());
        let s = self.second_of_day;
        b[8..10].copy_from_slice(&two_digits(s / 3600));
        b[10..12].copy_from_slice(&two_digits((s / 60) % 60));
        b[12..14].copy_from_slice(&two_digits(s % 60));
        b
    }

    /// `YYYYMMDDhhmmss`.
    pub fn compact(self) -> String {
        let mut s = String::with_capacity(14);
        self.write_compact(&mut s);
        s
    }
}

impl fmt::Display for JstDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.second_of_day;
        write!(f, "{} {:02}:{:02}:{:02} JST", self.date, s / 3600, (s / 60) % 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_yyyymmdd(s).expect("valid date")
    }

    #[test]
    fn parses_and_formats_yyyymmdd() {
        assert_eq!(d("20240229").yyyymmdd(), "20240229");
        assert_eq!(Date::parse_yyyymmdd("20230229"), Err(DateError::NotADate("20230229".into())));
        assert!(matches!(Date::parse_yyyymmdd("2024-02-29"), Err(DateError::Format(_))));
        assert!(matches!(Date::parse_yyyymmdd("２０２４０２２９"), Err(DateError::Format(_))));
        assert!(Date::parse_yyyymmdd("20241301").is_err());
        assert!(Date::parse_yyyymmdd("20240100").is_err());
        assert!(Date::parse_yyyymmdd("17991231").is_err());
    }

    #[test]
    fn day_arithmetic_round_trips() {
        assert_eq!(d("19700101").days_since_epoch(), 0);
        assert_eq!(d("20000301").days_since_epoch() - d("20000228").days_since_epoch(), 2);
        for s in ["18000101", "19000228", "19000301", "20000229", "20241231", "29991231"] {
            let date = d(s);
            assert_eq!(Date::from_days_since_epoch(date.days_since_epoch()), Some(date));
        }
        assert_eq!(d("20241231").add_days(1), Some(d("20250101")));
        assert_eq!(d("20240301").pred(), Some(d("20240229")));
        assert_eq!(d("20240131").add_months(1), Some(d("20240229")));
        assert_eq!(d("20241115").add_months(3), Some(d("20250215")));
    }

    #[test]
    fn leap_day_anniversary_is_march_first_in_common_years() {
        assert_eq!(d("20000229").add_years(1), Some(d("20010301")));
        assert_eq!(d("20000229").add_years(4), Some(d("20040229")));
    }

    #[test]
    fn jst_is_nine_hours_ahead_of_utc() {
        // 2024-01-01T15:00:00Z is 2024-01-02 00:00:00 JST.
        let t = JstDateTime::from_unix_seconds(1_704_121_200).expect("in range");
        assert_eq!(t.compact(), "20240102000000");
        assert_eq!(t.unix_seconds(), 1_704_121_200);
        assert_eq!(JstDateTime::parse("20240102000000"), Ok(t));
        assert_eq!(t.add_seconds(24 * 3600).map(JstDateTime::compact), Some("20240103000000".into()));
        assert!(JstDateTime::parse("20240102240000").is_err());
    }
}
