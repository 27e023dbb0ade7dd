//! Simple-type validation: XSD 1.0 Part 2 lexical spaces of the built-in
//! types this schema uses, white-space normalisation and the facets.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

use super::model::{Builtin, SimpleType, WhiteSpace};
use super::versie::Schemaversie;
use crate::diagnostics::Code;

/// Applies a white-space facet.
pub fn normalize(value: &str, ws: WhiteSpace) -> Cow<'_, str> {
    let is_ws = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    match ws {
        WhiteSpace::Preserve => Cow::Borrowed(value),
        WhiteSpace::Replace => {
            if value.contains(['\t', '\n', '\r']) {
                Cow::Owned(value.replace(['\t', '\n', '\r'], " "))
            } else {
                Cow::Borrowed(value)
            }
        }
        WhiteSpace::Collapse => {
            let trimmed = value.trim_matches(is_ws);
            let already = !trimmed.contains(['\t', '\n', '\r']) && !trimmed.contains("  ");
            if already {
                Cow::Borrowed(trimmed)
            } else {
                Cow::Owned(
                    trimmed
                        .split(is_ws)
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            }
        }
    }
}

/// Checks a normalised value against a simple type. On failure returns the
/// code and a message naming what was expected.
pub fn check(
    value: &str,
    ty: &SimpleType,
    index: usize,
    versie: Schemaversie,
) -> Result<(), (Code, String)> {
    let integer = lexical(value, ty.builtin).map_err(|why| {
        (
            Code::XsdDatatype,
            format!(
                "{} is not a valid {}: {why}",
                quoted(value),
                ty.builtin.name()
            ),
        )
    })?;
    let chars = || value.chars().count() as u64;
    if let Some(n) = ty.length {
        if chars() != u64::from(n) {
            return Err((
                Code::XsdLength,
                format!("{} must be exactly {n} characters long", quoted(value)),
            ));
        }
    }
    if let Some(n) = ty.min_length {
        if chars() < u64::from(n) {
            return Err((
                Code::XsdLength,
                format!("{} is shorter than {n} characters", quoted(value)),
            ));
        }
    }
    if let Some(n) = ty.max_length {
        if chars() > u64::from(n) {
            return Err((
                Code::XsdLength,
                format!("value is longer than {n} characters"),
            ));
        }
    }
    for (step, pattern) in regexes(versie)[index].iter().enumerate() {
        if !pattern.is_match(value) {
            let _ = step;
            return Err((
                Code::XsdPattern,
                format!(
                    "{} does not have the form {} requires",
                    quoted(value),
                    ty.name
                ),
            ));
        }
    }
    for allowed in ty.enumerations {
        if !allowed.contains(&value) {
            return Err((
                Code::XsdEnumeration,
                format!(
                    "{} is not one of the values of {}: {}",
                    quoted(value),
                    ty.name,
                    allowed.join(", ")
                ),
            ));
        }
    }
    if let Some(n) = integer {
        if let Some(min) = ty.min_inclusive {
            if n < min {
                return Err((
                    Code::XsdRange,
                    format!(
                        "{} is less than {min}, the minimum for {}",
                        quoted(value),
                        ty.name
                    ),
                ));
            }
        }
        if let Some(max) = ty.max_inclusive {
            if n > max {
                return Err((
                    Code::XsdRange,
                    format!(
                        "{} is more than {max}, the maximum for {}",
                        quoted(value),
                        ty.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A value as error messages quote it: in quotes, escaped, and cut short so
/// that a report stays readable and within the schema's limits.
pub fn quoted(value: &str) -> String {
    const MAX: usize = 60;
    if value.chars().count() <= MAX {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("{head:?}… ({} characters)", value.chars().count())
    }
}

/// Compiled patterns per simple type of each version, built once.
fn regexes(versie: Schemaversie) -> &'static [Vec<Regex>] {
    static REGEXES: [OnceLock<Vec<Vec<Regex>>>; 2] = [OnceLock::new(), OnceLock::new()];
    REGEXES[versie.index()].get_or_init(|| {
        versie
            .compiled()
            .simple_types
            .iter()
            .map(|t| {
                t.patterns
                    .iter()
                    // The build script translated and the tests compile
                    // every pattern, so this cannot fail at run time.
                    .map(|p| Regex::new(p).unwrap_or_else(|e| panic!("pattern {p}: {e}")))
                    .collect()
            })
            .collect()
    })
}

/// Checks the lexical form of a built-in type; for integers returns the
/// value (saturated: no facet in the schema comes near i128's range).
fn lexical(value: &str, builtin: Builtin) -> Result<Option<i128>, &'static str> {
    match builtin {
        Builtin::String | Builtin::NormalizedString | Builtin::Token => Ok(None),
        // Every other lexical form is ASCII; this also keeps the byte
        // slicing below on character boundaries.
        _ if !value.is_ascii() => Err("contains characters outside its lexical form"),
        Builtin::Boolean => match value {
            "true" | "false" | "1" | "0" => Ok(None),
            _ => Err("expected true, false, 1 or 0"),
        },
        Builtin::Date => date(value).map(|_| None),
        Builtin::DateTime => date_time(value).map(|_| None),
        Builtin::Decimal => decimal(value).map(|_| None),
        Builtin::Integer => integer(value).map(Some),
        Builtin::NonNegativeInteger => match integer(value)? {
            n if n < 0 => Err("must not be negative"),
            n => Ok(Some(n)),
        },
        Builtin::PositiveInteger => match integer(value)? {
            n if n < 1 => Err("must be 1 or more"),
            n => Ok(Some(n)),
        },
    }
}

/// `xs:decimal` (Datatypes §3.2.3): an optional sign, digits with at most
/// one period, at least one digit.
fn decimal(value: &str) -> Result<(), &'static str> {
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() + fraction.len() == 0 || !all_digits(whole) || !all_digits(fraction) {
        return Err("expected a decimal number such as 1250 or 1250.50");
    }
    Ok(())
}

fn integer(value: &str) -> Result<i128, &'static str> {
    let (negative, digits) = match value.as_bytes().first() {
        Some(b'-') => (true, &value[1..]),
        Some(b'+') => (false, &value[1..]),
        _ => (false, value),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected an optional sign followed by digits");
    }
    let significant = digits.trim_start_matches('0');
    let magnitude = if significant.len() > 30 {
        i128::MAX / 2
    } else {
        significant.parse::<i128>().unwrap_or(0)
    };
    Ok(if negative { -magnitude } else { magnitude })
}

/// The parts of a date; the year keeps its sign.
struct Ymd<'a> {
    rest: &'a str,
}

fn two_digits(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    (b.len() == 2 && b[0].is_ascii_digit() && b[1].is_ascii_digit())
        .then(|| u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0'))
}

/// `-?YYYY+-MM-DD`, year ≥ 4 digits without superfluous leading zeros and
/// not 0000 (XSD 1.0), day valid for the month. Returns what follows.
fn date_part(value: &str) -> Result<Ymd<'_>, &'static str> {
    const FORM: &str = "expected YYYY-MM-DD";
    let (negative, s) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    let year_len = s.bytes().take_while(u8::is_ascii_digit).count();
    if year_len < 4 {
        return Err(FORM);
    }
    let year_str = &s[..year_len];
    if year_len > 4 && year_str.starts_with('0') {
        return Err("a year of more than four digits may not start with 0");
    }
    if year_str.bytes().all(|b| b == b'0') {
        return Err("year 0000 does not exist in XSD 1.0");
    }
    let s = &s[year_len..];
    let b = s.as_bytes();
    if b.len() < 6 || b[0] != b'-' || b[3] != b'-' {
        return Err(FORM);
    }
    let month = two_digits(&s[1..3]).ok_or(FORM)?;
    let day = two_digits(&s[4..6]).ok_or(FORM)?;
    if !(1..=12).contains(&month) {
        return Err("the month must be 01-12");
    }
    // Leap years of the proleptic Gregorian calendar; XSD 1.0 numbers
    // years before 1 CE as -0001 = 1 BCE, which is astronomical year 0.
    let year: i128 = if year_len > 30 {
        0
    } else {
        let y: i128 = year_str.parse().unwrap_or(0);
        if negative {
            1 - y
        } else {
            y
        }
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day < 1 || day > days {
        return Err("no such day in that month");
    }
    Ok(Ymd { rest: &s[6..] })
}

fn timezone(tz: &str) -> Result<(), &'static str> {
    const FORM: &str = "expected a time zone Z or ±hh:mm";
    if tz.is_empty() || tz == "Z" {
        return Ok(());
    }
    let b = tz.as_bytes();
    if b.len() != 6 || !matches!(b[0], b'+' | b'-') || b[3] != b':' {
        return Err(FORM);
    }
    let h = two_digits(&tz[1..3]).ok_or(FORM)?;
    let m = two_digits(&tz[4..6]).ok_or(FORM)?;
    if m > 59 || h > 14 || (h == 14 && m != 0) {
        return Err("a time zone lies within -14:00..+14:00");
    }
    Ok(())
}

fn date(value: &str) -> Result<(), &'static str> {
    timezone(date_part(value)?.rest)
}

fn date_time(value: &str) -> Result<(), &'static str> {
    const FORM: &str = "expected YYYY-MM-DDThh:mm:ss";
    let rest = date_part(value)?.rest;
    let t = rest.strip_prefix('T').ok_or(FORM)?;
    let b = t.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return Err(FORM);
    }
    let h = two_digits(&t[0..2]).ok_or(FORM)?;
    let m = two_digits(&t[3..5]).ok_or(FORM)?;
    let s = two_digits(&t[6..8]).ok_or(FORM)?;
    let mut rest = &t[8..];
    let mut fraction_zero = true;
    if let Some(f) = rest.strip_prefix('.') {
        let n = f.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err("expected digits after the decimal point");
        }
        fraction_zero = f[..n].bytes().all(|b| b == b'0');
        rest = &f[n..];
    }
    if m > 59 || s > 59 {
        return Err("minutes and seconds must be 00-59");
    }
    if h > 24 || (h == 24 && (m != 0 || s != 0 || !fraction_zero)) {
        return Err("the hour must be 00-23, or 24:00:00 exactly");
    }
    timezone(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compiled_pattern_is_a_valid_regex() {
        for v in Schemaversie::ALL {
            assert_eq!(regexes(v).len(), v.compiled().simple_types.len());
        }
    }

    #[test]
    fn decimals_follow_xsd_1_0() {
        for ok in ["0", "1250", "1250.50", "+1.", ".5", "-0.0", "007"] {
            assert!(lexical(ok, Builtin::Decimal).is_ok(), "{ok}");
        }
        for bad in ["", ".", "+", "1.2.3", "1e3", "1,50", " 1", "١"] {
            assert!(lexical(bad, Builtin::Decimal).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_follow_xsd_1_0() {
        for ok in [
            "2024-02-29",
            "2023-12-31Z",
            "2024-01-01+14:00",
            "-0001-01-01",
            "10000-01-01",
            "2024-01-01-00:00",
        ] {
            assert!(date(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "0000-01-01",
            "2024-1-01",
            "2024-01-01+14:01",
            "01000-01-01",
            "2024-04-31",
            "2024-01-01 ",
        ] {
            assert!(date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn date_times_follow_xsd_1_0() {
        for ok in [
            "2024-03-01T24:00:00",
            "2024-03-01T10:00:00.123Z",
            "2024-03-01T10:00:00+01:00",
            "2024-03-01T24:00:00.000",
        ] {
            assert!(date_time(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2024-03-01T24:00:01",
            "2024-03-01T10:00",
            "2024-03-01T10:00:60",
            "2024-03-01",
            "2024-03-01T10:00:00.",
            "2024-03-01T25:00:00",
        ] {
            assert!(date_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn non_ascii_in_a_date_is_an_error_not_a_panic() {
        assert!(lexical("2024-01-0é", Builtin::Date).is_err());
        assert!(lexical("2024-03-01T16:40:0é€0+01:00", Builtin::DateTime).is_err());
    }

    #[test]
    fn integers_and_booleans() {
        assert_eq!(integer("+01"), Ok(1));
        assert_eq!(integer("-0"), Ok(0));
        assert!(integer("1.0").is_err());
        assert!(integer("1e3").is_err());
        assert!(integer("").is_err());
        assert!(lexical("TRUE", Builtin::Boolean).is_err());
        assert!(lexical("1", Builtin::Boolean).is_ok());
    }

    #[test]
    fn collapse_and_replace() {
        assert_eq!(normalize("  a \t b\n", WhiteSpace::Collapse), "a b");
        assert_eq!(normalize("a\tb", WhiteSpace::Replace), "a b");
        assert_eq!(normalize(" a ", WhiteSpace::Preserve), " a ");
    }
}
