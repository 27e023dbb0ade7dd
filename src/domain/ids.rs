//! Identifiers and codes that name things: the client's BSN, the
//! municipality's CBS code, a message id, a postcode.
//!
//! Why newtypes: a `Bsn` in a signature proves the 11-check passed, and a
//! `Bsn` cannot leak into a log line by accident (its `Debug` and `Display`
//! are masked). The schema already checks the lexical patterns; parsing again
//! here keeps each type honest on its own, whoever constructs it.

use std::fmt;

/// Why a string is not a BSN. The messages never contain the number itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BsnError {
    #[error("a BSN has exactly 9 digits")]
    Format,
    #[error("the BSN fails the 11-check")]
    Elfproef,
}

/// A burgerservicenummer: 9 digits passing the 11-check (*elfproef*).
///
/// Never printed in full: `Display` and `Debug` show [`Bsn::masked`]; use
/// [`Bsn::as_str`] only to store or serialise it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bsn(String);

impl Bsn {
    /// Parses 9 ASCII digits d1…d9 with 9·d1 + 8·d2 + … + 2·d8 − 1·d9 ≡ 0
    /// (mod 11), not all zeros.
    pub fn parse(s: &str) -> Result<Bsn, BsnError> {
        let b = s.as_bytes();
        if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) {
            return Err(BsnError::Format);
        }
        let sum: i32 = b
            .iter()
            .zip([9, 8, 7, 6, 5, 4, 3, 2, -1])
            .map(|(d, weight)| i32::from(d - b'0') * weight)
            .sum();
        if sum.rem_euclid(11) != 0 || b.iter().all(|&d| d == b'0') {
            return Err(BsnError::Elfproef);
        }
        Ok(Bsn(s.to_owned()))
    }

    /// A valid BSN unique to `n` (taken modulo 10^6), for tests and
    /// benchmarks: digits 1–8 are `1 n k`, k the first that makes the check
    /// digit below 10 (k changes the weighted sum by 2k, so at most one k
    /// gives 10).
    pub fn numbered(n: u64) -> Bsn {
        let n = n % 1_000_000;
        (0..10)
            .find_map(|k| {
                let first8 = format!("{:08}", 10_000_000 + n * 10 + k);
                let sum: u64 = first8
                    .bytes()
                    .zip([9u64, 8, 7, 6, 5, 4, 3, 2])
                    .map(|(d, w)| u64::from(d - b'0') * w)
                    .sum();
                // 9·d1 + … + 2·d8 − d9 ≡ 0 (mod 11) ⇔ d9 = sum mod 11.
                (sum % 11 < 10).then(|| Bsn(format!("{first8}{}", sum % 11)))
            })
            .unwrap_or_else(|| unreachable!("one of ten k gives a check digit below 10"))
    }

    /// The full number, for storage and serialisation only; never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but its last four digits hidden: `*****1234`.
    pub fn masked(&self) -> String {
        let last_four = self.0.get(5..).unwrap_or("");
        format!("*****{last_four}")
    }
}

impl fmt::Display for Bsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for Bsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bsn({})", self.masked())
    }
}

/// A value that does not have the shape its type requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {what}: {expected}")]
pub struct FormatError {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// A CBS municipality code: exactly 4 digits, for example `0363`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gemeentecode(String);

impl Gemeentecode {
    pub fn parse(s: &str) -> Result<Gemeentecode, FormatError> {
        if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Gemeentecode(s.to_owned()))
        } else {
            Err(FormatError {
                what: "Gemeentecode",
                value: s.to_owned(),
                expected: "exactly 4 digits",
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Gemeentecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A message id: 1-64 of `A-Z a-z 0-9 . _ : -`; the sender's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BerichtId(String);

impl BerichtId {
    pub fn parse(s: &str) -> Result<BerichtId, FormatError> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
        if (1..=64).contains(&s.len()) && s.bytes().all(allowed) {
            Ok(BerichtId(s.to_owned()))
        } else {
            Err(FormatError {
                what: "BerichtId",
                value: s.to_owned(),
                expected: "1-64 letters, digits, '.', '_', ':' or '-'",
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BerichtId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Dutch postcode, kept in its usual written form `1234 AB`.
///
/// Both `1234 AB` and `1234AB` are accepted; they are the same postcode, so
/// the value is normalised to the form with a space.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Postcode(String);

impl Postcode {
    pub fn parse(s: &str) -> Result<Postcode, FormatError> {
        let b = s.as_bytes();
        let letters = match b.len() {
            6 => &b[4..6],
            7 if b[4] == b' ' => &b[5..7],
            _ => &[][..],
        };
        let digits_ok =
            b.len() >= 4 && (b'1'..=b'9').contains(&b[0]) && b[1..4].iter().all(u8::is_ascii_digit);
        if digits_ok && letters.len() == 2 && letters.iter().all(u8::is_ascii_uppercase) {
            let (digits, letters) = (&s[..4], &s[s.len() - 2..]);
            Ok(Postcode(format!("{digits} {letters}")))
        } else {
            Err(FormatError {
                what: "Postcode",
                value: s.to_owned(),
                expected: "four digits not starting with 0, an optional space, two capitals",
            })
        }
    }

    /// The postcode as `1234 AB`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Postcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_bsns_pass_the_eleven_check() {
        for s in ["111222333", "123456782", "999999990"] {
            assert_eq!(Bsn::parse(s).unwrap().as_str(), s);
        }
    }

    #[test]
    fn numbered_bsns_are_valid_and_distinct() {
        let all: std::collections::HashSet<String> = (0..2000)
            .map(|n| {
                let b = Bsn::numbered(n);
                assert!(Bsn::parse(b.as_str()).is_ok(), "{n}");
                b.as_str().to_string()
            })
            .collect();
        assert_eq!(all.len(), 2000);
    }

    #[test]
    fn bsn_failing_the_eleven_check_is_rejected() {
        assert_eq!(Bsn::parse("123456789"), Err(BsnError::Elfproef));
        assert_eq!(Bsn::parse("111222334"), Err(BsnError::Elfproef));
    }

    #[test]
    fn all_zero_bsn_is_rejected_although_its_sum_is_zero() {
        assert_eq!(Bsn::parse("000000000"), Err(BsnError::Elfproef));
    }

    #[test]
    fn bsn_must_be_nine_ascii_digits() {
        for s in [
            "",
            "11122233",
            "1112223330",
            "11122233a",
            "１１１２２２３３３",
            " 11122233",
        ] {
            assert_eq!(Bsn::parse(s), Err(BsnError::Format), "{s:?}");
        }
    }

    #[test]
    fn bsn_never_prints_in_full() {
        let bsn = Bsn::parse("123456782").unwrap();
        assert_eq!(bsn.masked(), "*****6782");
        assert_eq!(bsn.to_string(), "*****6782");
        assert_eq!(format!("{bsn:?}"), "Bsn(*****6782)");
        assert!(!format!("{bsn} {bsn:?} {bsn:#?}").contains("12345"));
    }

    #[test]
    fn bsn_errors_do_not_contain_the_number() {
        let err = Bsn::parse("123456789").unwrap_err();
        assert!(!err.to_string().contains("123456789"));
    }

    #[test]
    fn gemeentecode_is_four_digits() {
        assert_eq!(Gemeentecode::parse("0363").unwrap().as_str(), "0363");
        for s in ["363", "03630", "03a3", ""] {
            assert!(Gemeentecode::parse(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn bericht_id_allows_uuid_like_ids_up_to_64_characters() {
        assert!(BerichtId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").is_ok());
        assert!(BerichtId::parse("urn:abc.def_1").is_ok());
        assert!(BerichtId::parse(&"a".repeat(64)).is_ok());
        for s in [
            String::new(),
            "a".repeat(65),
            "a b".into(),
            "a/b".into(),
            "é".into(),
        ] {
            assert!(BerichtId::parse(&s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn postcode_is_normalised_to_the_form_with_a_space() {
        assert_eq!(Postcode::parse("1234AB").unwrap().as_str(), "1234 AB");
        assert_eq!(
            Postcode::parse("1234 AB").unwrap(),
            Postcode::parse("1234AB").unwrap()
        );
    }

    #[test]
    fn invalid_postcodes_are_rejected() {
        for s in [
            "0234 AB", "1234 ab", "1234  AB", "123 AB", "1234 A", "1234-AB", "12345AB", "1234 ÄB",
        ] {
            assert!(Postcode::parse(s).is_err(), "{s:?}");
        }
    }
}
