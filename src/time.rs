//! Moments in time as the service records them: microseconds since the Unix
//! epoch, UTC, written as `xs:dateTime` with a `Z`.
//!
//! The conversions are Howard Hinnant's civil-calendar algorithms; they are
//! short, exact for every date this service meets, and need no time-zone
//! database because everything stored is UTC.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A moment, in microseconds since 1970-01-01T00:00:00Z.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Moment(pub i64);

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl Moment {
    pub fn now() -> Moment {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Moment(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
    }

    /// Parses an `xs:dateTime` that names its time zone (`Z` or `±hh:mm`);
    /// fractions beyond microseconds are cut off.
    pub fn parse(s: &str) -> Option<Moment> {
        let s = s.trim();
        if !s.is_ascii() || s.len() < 20 {
            return None;
        }
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = s.get(r)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse().ok())?
        };
        if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || !(1..=days_in_month(year, month)).contains(&day)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        let mut rest = &s[19..];
        let mut micros = 0i64;
        if let Some(f) = rest.strip_prefix('.') {
            let n = f.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            let digits = &f[..n.min(6)];
            micros = digits.parse::<i64>().ok()? * 10i64.pow(6 - digits.len() as u32);
            rest = &f[n..];
        }
        let offset_minutes = match rest {
            "Z" => 0,
            _ => {
                let rb = rest.as_bytes();
                if rb.len() != 6 || rb[3] != b':' {
                    return None;
                }
                let sign = match rb[0] {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let (h, m) = (num_of(&rest[1..3])?, num_of(&rest[4..6])?);
                if h > 14 || m > 59 {
                    return None;
                }
                sign * (h * 60 + m)
            }
        };
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
        Some(Moment(seconds * 1_000_000 + micros))
    }

    /// The next representable moment: keeps received-at times strictly
    /// increasing with the sequence numbers.
    pub fn next(self) -> Moment {
        Moment(self.0 + 1)
    }
}

fn num_of(s: &str) -> Option<i64> {
    s.bytes()
        .all(|c| c.is_ascii_digit())
        .then(|| s.parse().ok())?
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date written `YYYY-MM-DD` (what follows,
/// such as a timezone, is ignored).
pub fn day_number(date: &str) -> Option<i64> {
    let (y, m, d) = (date.get(0..4)?, date.get(5..7)?, date.get(8..10)?);
    Some(days_from_civil(num_of(y)?, num_of(m)?, num_of(d)?))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `YYYY-MM-DD` of a day number since 1970-01-01: the inverse
/// of [`day_number`].
pub fn date_of_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The date of a day number since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

impl fmt::Display for Moment {
    /// `2026-11-25T11:53:22.123456Z`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MICROS_PER_DAY);
        let in_day = self.0.rem_euclid(MICROS_PER_DAY);
        let (y, m, d) = civil_from_days(days);
        let secs = in_day / 1_000_000;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            in_day % 1_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        for s in [
            "1970-01-01T00:00:00.000000Z",
            "2026-11-25T11:53:22.123456Z",
            "2024-02-29T23:59:59.999999Z",
            "1969-12-31T23:59:59.000001Z",
        ] {
            let m = Moment::parse(s).unwrap();
            assert_eq!(m.to_string(), s);
        }
    }

    #[test]
    fn date_of_day_is_the_inverse_of_day_number() {
        for d in [
            "1970-01-01",
            "2021-01-04",
            "2024-02-29",
            "2026-12-31",
            "1958-03-01",
        ] {
            assert_eq!(date_of_day(day_number(d).unwrap()), d);
        }
    }

    #[test]
    fn applies_the_offset() {
        let a = Moment::parse("2024-03-01T10:00:00+01:00").unwrap();
        let b = Moment::parse("2024-03-01T09:00:00Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(
            Moment::parse("2024-03-01T10:00:00.5Z").unwrap().0 % 1_000_000,
            500_000
        );
    }

    #[test]
    fn rejects_what_is_not_a_zoned_date_time() {
        for s in [
            "2024-03-01T10:00:00",
            "2024-02-30T10:00:00Z",
            "2024-03-01 10:00:00Z",
            "x",
            "2024-03-01T10:00:00+15:00",
            "2024-03-01T10:00:00.Z",
            "2024-03-01T10:00:00é",
        ] {
            assert_eq!(Moment::parse(s), None, "{s}");
        }
    }
}
