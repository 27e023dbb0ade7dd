//! Calendar dates (`xs:date`) and moments (`xs:dateTime`) as the messages
//! write them.
//!
//! Why our own small types rather than a date crate: the rules only need to
//! compare calendar dates *as written* (a measurement date against a birth
//! date, against the day the message was sent), and the XSD 1.0 lexical space
//! has details a general crate does not model: years beyond 9999, negative
//! years without a year zero, an optional timezone that must survive a round
//! trip. Keeping the timezone lets the store give back what was received.

use std::cmp::Ordering;
use std::fmt;

/// The timezone suffix of an XSD date or date-time, kept as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timezone {
    /// Written as `Z`.
    Utc,
    /// Written as `+hh:mm` or `-hh:mm`; the offset in minutes east of UTC.
    Offset(i16),
}

impl Timezone {
    /// Parses `Z` or `±hh:mm` (hh ≤ 14, mm ≤ 59, and 14 only with 00).
    fn parse(s: &str) -> Option<Timezone> {
        if s == "Z" {
            return Some(Timezone::Utc);
        }
        let b = s.as_bytes();
        if b.len() != 6 || b[3] != b':' {
            return None;
        }
        let sign: i16 = match b[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let hours = two_digits(&b[1..3])?;
        let minutes = two_digits(&b[4..6])?;
        if minutes > 59 || hours > 14 || (hours == 14 && minutes != 0) {
            return None;
        }
        Some(Timezone::Offset(
            sign * (i16::from(hours) * 60 + i16::from(minutes)),
        ))
    }

    /// Orders timezones only to make `Ord` on dates total; no meaning.
    fn sort_key(tz: Option<Timezone>) -> (u8, i16) {
        match tz {
            None => (0, 0),
            Some(Timezone::Utc) => (1, 0),
            Some(Timezone::Offset(m)) => (2, m),
        }
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Timezone::Utc => f.write_str("Z"),
            Timezone::Offset(minutes) => {
                let sign = if minutes < 0 { '-' } else { '+' };
                let m = minutes.unsigned_abs();
                write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
            }
        }
    }
}

/// A value that is not an `xs:date` or `xs:dateTime`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatumError {
    #[error("{0:?} is not a valid date (expected YYYY-MM-DD)")]
    Date(String),
    #[error("{0:?} is not a valid date-time (expected YYYY-MM-DDThh:mm:ss)")]
    DateTime(String),
}

/// A calendar date as an `xs:date` writes it, with its timezone if given.
///
/// `Ord` sorts by calendar date, then (only to be total) by timezone. The
/// domain rules use [`Datum::is_before`] and [`Datum::is_after`], which
/// compare calendar dates as written and ignore the timezone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Datum {
    /// XSD 1.0 years: never 0; -1 is 1 BCE.
    year: i64,
    month: u8,
    day: u8,
    timezone: Option<Timezone>,
}

impl Datum {
    /// Parses the `xs:date` lexical form `-?YYYY(Y*)-MM-DD` with an optional
    /// timezone `Z` or `±hh:mm`.
    pub fn parse(s: &str) -> Result<Datum, DatumError> {
        let invalid = || DatumError::Date(s.to_owned());
        let (mut datum, rest) = parse_date_part(s).ok_or_else(invalid)?;
        if !rest.is_empty() {
            datum.timezone = Some(Timezone::parse(rest).ok_or_else(invalid)?);
        }
        Ok(datum)
    }

    /// A date from its parts, without timezone; `None` if there is no such day.
    pub fn from_ymd(year: i64, month: u8, day: u8) -> Option<Datum> {
        (year != 0 && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month))
            .then_some(Datum {
                year,
                month,
                day,
                timezone: None,
            })
    }

    pub fn year(&self) -> i64 {
        self.year
    }

    pub fn month(&self) -> u8 {
        self.month
    }

    pub fn day(&self) -> u8 {
        self.day
    }

    pub fn timezone(&self) -> Option<Timezone> {
        self.timezone
    }

    fn calendar(&self) -> (i64, u8, u8) {
        (self.year, self.month, self.day)
    }

    /// Whether this calendar date, as written, lies before `other`'s.
    /// Timezones are ignored: a date is the day the client-manager meant.
    pub fn is_before(&self, other: &Datum) -> bool {
        self.calendar() < other.calendar()
    }

    /// Whether this calendar date, as written, lies after `other`'s.
    /// Timezones are ignored, as in [`Datum::is_before`].
    pub fn is_after(&self, other: &Datum) -> bool {
        self.calendar() > other.calendar()
    }

    /// Whole years from this date to `later`, as an age is counted: one more
    /// on each anniversary (born on 29 February, in a common year on 1
    /// March). Negative when `later` lies before. Timezones are ignored, as
    /// in [`Datum::is_before`].
    pub fn jaren_tot(&self, later: &Datum) -> i64 {
        if later.is_before(self) {
            return -later.jaren_tot(self);
        }
        // XSD years skip 0 (-1 is 1 BCE): count on the astronomical scale.
        let astronomical = |y: i64| if y < 0 { y + 1 } else { y };
        let years = astronomical(later.year) - astronomical(self.year);
        if (later.month, later.day) < (self.month, self.day) {
            years - 1
        } else {
            years
        }
    }
}

impl Ord for Datum {
    fn cmp(&self, other: &Datum) -> Ordering {
        self.calendar().cmp(&other.calendar()).then_with(|| {
            Timezone::sort_key(self.timezone).cmp(&Timezone::sort_key(other.timezone))
        })
    }
}

impl PartialOrd for Datum {
    fn partial_cmp(&self, other: &Datum) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Datum {
    /// `YYYY-MM-DD`, followed by the timezone if one was given.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.year < 0 {
            f.write_str("-")?;
        }
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year.unsigned_abs(),
            self.month,
            self.day
        )?;
        if let Some(tz) = self.timezone {
            write!(f, "{tz}")?;
        }
        Ok(())
    }
}

/// A moment as an `xs:dateTime` writes it: the lexical form, kept for storage
/// and replies, and its parts as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tijdstip {
    lexical: String,
    /// The date as written, carrying the date-time's timezone.
    datum: Datum,
    hour: u8,
    minute: u8,
    second: u8,
    /// Fractional seconds in nanoseconds (digits past the ninth are dropped).
    nanos: u32,
}

impl Tijdstip {
    /// Parses `-?YYYY-MM-DDThh:mm:ss(.s+)?` with an optional timezone.
    /// `24:00:00` is accepted (XSD 1.0); its date part stays as written.
    pub fn parse(s: &str) -> Result<Tijdstip, DatumError> {
        let invalid = || DatumError::DateTime(s.to_owned());
        let (mut datum, rest) = parse_date_part(s).ok_or_else(invalid)?;
        let rest = rest.strip_prefix('T').ok_or_else(invalid)?;
        let b = rest.as_bytes();
        if b.len() < 8 || b[2] != b':' || b[5] != b':' {
            return Err(invalid());
        }
        let hour = two_digits(&b[0..2]).ok_or_else(invalid)?;
        let minute = two_digits(&b[3..5]).ok_or_else(invalid)?;
        let second = two_digits(&b[6..8]).ok_or_else(invalid)?;
        let mut rest = &rest[8..];
        let mut nanos = 0u32;
        if let Some(after_dot) = rest.strip_prefix('.') {
            let digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid());
            }
            for (i, d) in after_dot.bytes().take(digits.min(9)).enumerate() {
                nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
            }
            rest = &after_dot[digits..];
        }
        let end_of_day = hour == 24 && minute == 0 && second == 0 && nanos == 0;
        if (hour > 23 && !end_of_day) || minute > 59 || second > 59 {
            return Err(invalid());
        }
        if !rest.is_empty() {
            datum.timezone = Some(Timezone::parse(rest).ok_or_else(invalid)?);
        }
        Ok(Tijdstip {
            lexical: s.to_owned(),
            datum,
            hour,
            minute,
            second,
            nanos,
        })
    }

    /// The date part as written, with the timezone if one was given.
    pub fn datum(&self) -> Datum {
        self.datum
    }

    /// Hour, minute, second and nanoseconds as written.
    pub fn time(&self) -> (u8, u8, u8, u32) {
        (self.hour, self.minute, self.second, self.nanos)
    }

    pub fn timezone(&self) -> Option<Timezone> {
        self.datum.timezone
    }

    /// The value exactly as received.
    pub fn as_str(&self) -> &str {
        &self.lexical
    }

    /// Compares two moments by their parts as written, ignoring timezones.
    pub fn cmp_as_written(&self, other: &Tijdstip) -> Ordering {
        self.datum
            .calendar()
            .cmp(&other.datum.calendar())
            .then_with(|| self.time().cmp(&other.time()))
    }
}

impl fmt::Display for Tijdstip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lexical)
    }
}

/// Parses `-?YYYY(Y*)-MM-DD` at the start of `s`; returns the date (without
/// timezone) and the rest of `s`.
fn parse_date_part(s: &str) -> Option<(Datum, &str)> {
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let year_len = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    // At least four digits; more only without a leading zero. Eighteen
    // digits keep the year inside i64.
    if !(4..=18).contains(&year_len) || (year_len > 4 && unsigned.starts_with('0')) {
        return None;
    }
    let year: i64 = unsigned[..year_len].parse().ok()?;
    let b = &unsigned.as_bytes()[year_len..];
    if b.len() < 6 || b[0] != b'-' || b[3] != b'-' {
        return None;
    }
    let month = two_digits(&b[1..3])?;
    let day = two_digits(&b[4..6])?;
    let year = if negative { -year } else { year };
    let datum = Datum::from_ymd(year, month, day)?;
    Some((datum, &unsigned[year_len + 6..]))
}

fn two_digits(b: &[u8]) -> Option<u8> {
    match b {
        [t @ b'0'..=b'9', u @ b'0'..=b'9'] => Some((t - b'0') * 10 + (u - b'0')),
        _ => None,
    }
}

fn days_in_month(year: i64, month: u8) -> u8 {
    // XSD 1.0 has no year 0: year -1 is 1 BCE, astronomically year 0.
    let astronomical = if year < 0 { year + 1 } else { year };
    let leap = astronomical.rem_euclid(4) == 0
        && (astronomical.rem_euclid(100) != 0 || astronomical.rem_euclid(400) == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Datum {
        Datum::parse(s).unwrap()
    }

    #[test]
    fn years_count_up_on_each_anniversary() {
        let born = d("1997-03-08");
        assert_eq!(born.jaren_tot(&d("2024-03-07")), 26);
        assert_eq!(born.jaren_tot(&d("2024-03-08")), 27);
        assert_eq!(born.jaren_tot(&d("1997-12-31")), 0);
        assert_eq!(born.jaren_tot(&d("2024-03-08+14:00")), 27);
        // Born on 29 February: a year older on 1 March of a common year.
        let leap = d("2000-02-29");
        assert_eq!(leap.jaren_tot(&d("2018-02-28")), 17);
        assert_eq!(leap.jaren_tot(&d("2018-03-01")), 18);
        assert_eq!(leap.jaren_tot(&d("2004-02-29")), 4);
        // Across the missing year 0: 1 BCE to 1 CE is one year.
        assert_eq!(d("-0001-06-01").jaren_tot(&d("0001-06-01")), 1);
        assert_eq!(d("2024-03-08").jaren_tot(&d("2023-03-09")), 0);
        assert_eq!(d("2024-03-08").jaren_tot(&d("2023-03-08")), -1);
    }

    #[test]
    fn plain_date_parses_and_displays() {
        let datum = d("2011-03-01");
        assert_eq!((datum.year(), datum.month(), datum.day()), (2011, 3, 1));
        assert_eq!(datum.timezone(), None);
        assert_eq!(datum.to_string(), "2011-03-01");
    }

    #[test]
    fn timezone_is_kept_and_displayed() {
        assert_eq!(d("2011-03-01Z").timezone(), Some(Timezone::Utc));
        assert_eq!(d("2011-03-01Z").to_string(), "2011-03-01Z");
        assert_eq!(d("2011-03-01+01:00").timezone(), Some(Timezone::Offset(60)));
        assert_eq!(d("2011-03-01-05:30").to_string(), "2011-03-01-05:30");
        assert_eq!(d("2011-03-01+14:00").to_string(), "2011-03-01+14:00");
    }

    #[test]
    fn long_and_negative_years_follow_xsd_1_0() {
        assert_eq!(d("12011-03-01").year(), 12011);
        assert_eq!(d("-0044-03-15").year(), -44);
        assert_eq!(d("-0044-03-15").to_string(), "-0044-03-15");
        assert!(d("-0044-03-15").is_before(&d("0001-01-01")));
    }

    #[test]
    fn invalid_dates_are_rejected() {
        for s in [
            "",
            "2011-3-01",
            "11-03-01",
            "02011-03-01",
            "0000-01-01",
            "2011-13-01",
            "2011-00-10",
            "2011-04-31",
            "2011-02-29",
            "1900-02-29",
            "2011-03-01T00:00:00",
            "2011-03-01+15:00",
            "2011-03-01+14:30",
            "2011-03-01+01:60",
            "2011-03-01 ",
            "+2011-03-01",
        ] {
            assert!(Datum::parse(s).is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn leap_days_are_accepted_in_leap_years() {
        assert!(Datum::parse("2012-02-29").is_ok());
        assert!(Datum::parse("2000-02-29").is_ok());
        // 1 BCE (-0001) is astronomically year 0, a leap year.
        assert!(Datum::parse("-0001-02-29").is_ok());
    }

    #[test]
    fn comparison_ignores_timezone() {
        let a = d("2011-03-01+12:00");
        let b = d("2011-03-01-12:00");
        assert!(!a.is_before(&b) && !a.is_after(&b));
        assert!(d("2011-02-28Z").is_before(&d("2011-03-01")));
        assert!(d("2011-03-02").is_after(&d("2011-03-01Z")));
        assert!(d("2010-12-31") < d("2011-01-01"));
    }

    #[test]
    fn from_ymd_refuses_days_that_do_not_exist() {
        assert!(Datum::from_ymd(2011, 2, 29).is_none());
        assert!(Datum::from_ymd(0, 1, 1).is_none());
        assert_eq!(Datum::from_ymd(2011, 2, 28), Some(d("2011-02-28")));
    }

    #[test]
    fn date_time_keeps_lexical_form_and_date_part() {
        let t = Tijdstip::parse("2011-03-01T23:59:58.5+01:00").unwrap();
        assert_eq!(t.as_str(), "2011-03-01T23:59:58.5+01:00");
        assert_eq!(t.to_string(), "2011-03-01T23:59:58.5+01:00");
        assert_eq!(t.datum().to_string(), "2011-03-01+01:00");
        assert_eq!(t.time(), (23, 59, 58, 500_000_000));
        assert_eq!(t.timezone(), Some(Timezone::Offset(60)));
    }

    #[test]
    fn date_time_accepts_end_of_day_and_many_fraction_digits() {
        let t = Tijdstip::parse("2011-03-01T24:00:00").unwrap();
        assert_eq!(t.datum(), d("2011-03-01"));
        let t = Tijdstip::parse("2011-03-01T10:00:00.1234567891234Z").unwrap();
        assert_eq!(t.time().3, 123_456_789);
    }

    #[test]
    fn invalid_date_times_are_rejected() {
        for s in [
            "2011-03-01",
            "2011-03-01T",
            "2011-03-01T10:00",
            "2011-03-01T24:00:01",
            "2011-03-01T24:00:00.1",
            "2011-03-01T10:60:00",
            "2011-03-01T10:00:60",
            "2011-03-01T10:00:00.",
            "2011-03-01t10:00:00",
            "2011-02-30T10:00:00",
            "2011-03-01T10:00:00+1:00",
        ] {
            assert!(Tijdstip::parse(s).is_err(), "{s:?} should be rejected");
        }
    }

    #[test]
    fn date_times_compare_as_written() {
        let a = Tijdstip::parse("2011-03-01T10:00:00Z").unwrap();
        let b = Tijdstip::parse("2011-03-01T09:00:00-05:00").unwrap();
        assert_eq!(a.cmp_as_written(&b), Ordering::Greater);
        let c = Tijdstip::parse("2011-03-01T10:00:00.1").unwrap();
        assert_eq!(a.cmp_as_written(&c), Ordering::Less);
    }
}
