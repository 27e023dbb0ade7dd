//! Hardened XML reading: the checks that come before any schema.
//!
//! quick-xml is a fast, lenient tokenizer; it does not check everything the
//! XML 1.0 well-formedness constraints require. What it leaves out and what
//! a hub for personal data must refuse lives here: size, depth and element
//! limits, UTF-8 only, no document type declarations (so no entity
//! expansion and no external resources, ever), legal characters, names and
//! references.

use std::borrow::Cow;

use crate::report::{Code, Melding, Position};

/// Bounds on what the reader accepts. A real message is a few kilobytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
    /// Attributes on one element, namespace declarations included: the
    /// schema's elements have at most a few, and a bound keeps every
    /// per-element check cheap whatever a body holds.
    pub max_attributes: usize,
    /// Namespace declarations on one element: each one is searched when a
    /// name is resolved.
    pub max_namespace_declarations: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1024 * 1024,
            max_depth: 64,
            max_elements: 20_000,
            max_attributes: 256,
            max_namespace_declarations: 64,
        }
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Checks the whole input up front: size, encoding and legal characters.
/// Returns the document as text, after an optional UTF-8 byte order mark,
/// with the mark's length.
pub fn check_document<'a>(source: &'a [u8], limits: &Limits) -> Result<(&'a str, usize), Melding> {
    if source.len() > limits.max_bytes {
        return Err(Melding::new(
            Code::XmlTooLarge,
            format!(
                "the document is {} bytes; at most {} are accepted",
                source.len(),
                limits.max_bytes
            ),
        ));
    }
    if source.starts_with(b"\xFE\xFF") || source.starts_with(b"\xFF\xFE") {
        return Err(Melding::new(
            Code::XmlEncoding,
            "the document is UTF-16; only UTF-8 is accepted",
        )
        .at(Position { line: 1, column: 1 }));
    }
    let bom = if source.starts_with(BOM) {
        BOM.len()
    } else {
        0
    };
    let text = std::str::from_utf8(&source[bom..]).map_err(|e| {
        Melding::new(
            Code::XmlEncoding,
            "the document is not valid UTF-8 (only UTF-8 is accepted)",
        )
        .at(Position::of_offset(source, bom + e.valid_up_to()))
    })?;
    if let Some(offset) = first_illegal_char(text.as_bytes()) {
        let c = text[offset..].chars().next().unwrap_or('\0');
        return Err(Melding::new(
            Code::XmlMalformed,
            format!("character U+{:04X} is not allowed in XML", c as u32),
        )
        .at(Position::of_offset(source, bom + offset)));
    }
    Ok((text, bom))
}

/// The offset of the first character outside XML 1.0's `Char` production.
/// Surrogates cannot occur in valid UTF-8, so what remains to find is C0
/// controls other than tab, newline and carriage return, and U+FFFE/U+FFFF.
fn first_illegal_char(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    // Most documents have neither; a cheap scan for the two lead bytes first.
    while let Some(i) = bytes[from..].iter().position(|&b| b < 0x20 || b == 0xEF) {
        let i = from + i;
        let illegal = match bytes[i] {
            b'\t' | b'\n' | b'\r' => false,
            0xEF => {
                bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF))
            }
            _ => true,
        };
        if illegal {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

/// Whether `c` may appear in an XML document (XML 1.0 `Char`).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn is_name_start(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_char(c: char) -> bool {
    is_name_start(c)
        || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
}

/// Whether `name` is a namespace-well-formed qualified name: an XML `Name`
/// with at most one colon, not at either end.
pub fn is_qname(name: &[u8]) -> bool {
    let colons = name.iter().filter(|&&b| b == b':').count();
    if colons > 1 || name.first() == Some(&b':') || name.last() == Some(&b':') {
        return false;
    }
    if name.is_ascii() {
        // The common case, without decoding.
        return match name.split_first() {
            Some((first, rest)) => {
                (first.is_ascii_alphabetic() || matches!(first, b'_' | b':'))
                    && rest.iter().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-' | b'.')
                    })
            }
            None => false,
        };
    }
    let Ok(name) = std::str::from_utf8(name) else {
        return false;
    };
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start) && chars.all(is_name_char)
}

/// Resolves the body of a reference `&...;`: one of the five predefined
/// entities or a character reference. There is no DTD, so any other name is
/// undeclared and the document is not well-formed.
pub fn resolve_reference(body: &str) -> Result<char, String> {
    let c = match body {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let number = if let Some(hex) = body.strip_prefix("#x") {
                (!hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| u32::from_str_radix(hex, 16).ok())
                    .flatten()
            } else if let Some(dec) = body.strip_prefix('#') {
                (!dec.is_empty() && dec.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| dec.parse::<u32>().ok())
                    .flatten()
            } else {
                return Err(format!("reference to undeclared entity &{body};"));
            };
            let c = number
                .and_then(char::from_u32)
                .ok_or_else(|| format!("invalid character reference &{body};"))?;
            if !is_xml_char(c) {
                return Err(format!(
                    "character reference &{body}; names a character not allowed in XML"
                ));
            }
            c
        }
    };
    Ok(c)
}

/// Appends character data with XML's end-of-line handling: `\r\n` and a
/// lone `\r` both become `\n`.
pub fn push_text(out: &mut String, raw: &str) {
    if !raw.contains('\r') {
        out.push_str(raw);
        return;
    }
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
}

/// An attribute's value as XML 1.0 §3.3.3 normalises it for CDATA
/// attributes: line ends and white space become spaces, references are
/// resolved (a character reference to white space stays as written).
pub fn attribute_value(raw: &str) -> Result<Cow<'_, str>, String> {
    if raw.contains('<') {
        return Err("'<' is not allowed in an attribute value".into());
    }
    if !raw.contains(['&', '\t', '\n', '\r']) {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('&') {
            let end = after
                .find(';')
                .ok_or_else(|| "unterminated reference in an attribute value".to_string())?;
            out.push(resolve_reference(&after[..end])?);
            rest = &after[end + 1..];
        } else if let Some(after) = rest.strip_prefix("\r\n") {
            out.push(' ');
            rest = after;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            });
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(Cow::Owned(out))
}

/// XML's white space characters.
pub fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_control_characters_and_non_characters() {
        let limits = Limits::default();
        assert!(check_document(b"<a>\x01</a>", &limits).is_err());
        assert!(check_document("<a>\u{FFFE}</a>".as_bytes(), &limits).is_err());
        assert!(check_document("<a>\u{FFFD}\t\r\n</a>".as_bytes(), &limits).is_ok());
    }

    #[test]
    fn rejects_non_utf8_with_position() {
        let err = check_document(b"<a>\n  \xE9</a>", &Limits::default()).unwrap_err();
        assert_eq!(err.code, Code::XmlEncoding);
        assert_eq!((err.line, err.column), (Some(2), Some(3)));
    }

    #[test]
    fn rejects_oversized_input() {
        let limits = Limits {
            max_bytes: 4,
            ..Limits::default()
        };
        assert_eq!(
            check_document(b"<a/>x", &limits).unwrap_err().code,
            Code::XmlTooLarge
        );
    }

    #[test]
    fn qualified_names() {
        assert!(is_qname(b"pl:Meting"));
        assert!(is_qname(b"_x.y-z"));
        assert!(!is_qname(b"1abc"));
        assert!(!is_qname(b"a:b:c"));
        assert!(!is_qname(b":a"));
        assert!(!is_qname(b""));
    }

    #[test]
    fn references() {
        assert_eq!(resolve_reference("amp"), Ok('&'));
        assert_eq!(resolve_reference("#x4A"), Ok('J'));
        assert_eq!(resolve_reference("#74"), Ok('J'));
        assert!(resolve_reference("#0").is_err());
        assert!(resolve_reference("#x").is_err());
        assert!(resolve_reference("nbsp").is_err());
        assert!(resolve_reference("#xD800").is_err());
    }

    #[test]
    fn attribute_normalisation() {
        assert_eq!(attribute_value("a\r\nb\tc").unwrap(), "a b c");
        assert_eq!(attribute_value("a&#9;b").unwrap(), "a\tb");
        assert!(attribute_value("a<b").is_err());
    }

    #[test]
    fn end_of_line_handling() {
        let mut s = String::new();
        push_text(&mut s, "a\r\nb\rc\n");
        assert_eq!(s, "a\nb\nc\n");
    }
}
