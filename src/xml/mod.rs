//! Hardened XML reading: the checks that come before any schema.
//!
//! quick-xml is a fast, lenient tokenizer; it does not check everything the
//! XML 1.0 well-formedness constraints require. The pieces that make up
//! for it are here: the limits ([`Limits`]), the checks on the whole
//! document before any parsing (size, UTF-8 only, legal characters:
//! [`check_document`]), the XML declaration, names, references and
//! namespaces. They are applied in the one pass over the tokens,
//! `schema::validator::Pass::run`, which is also where a document type
//! declaration is refused (so no entity expansion and no external
//! resources, ever), with processing instructions, `]]>` in text, and
//! the depth and element limits: one pass reads each byte once.

use std::borrow::Cow;

use crate::diagnostics::{Code, Melding, Position};

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

/// Whether `name` is a namespace-well-formed qualified name (Namespaces in
/// XML 1.0, production 7): an NCName, or two joined by one colon.
pub fn is_qname(name: &[u8]) -> bool {
    match name.iter().position(|&b| b == b':') {
        Some(i) => is_ncname(&name[..i]) && is_ncname(&name[i + 1..]),
        None => is_ncname(name),
    }
}

/// Whether `name` is an NCName: an XML `Name` without a colon.
pub fn is_ncname(name: &[u8]) -> bool {
    if name.is_ascii() {
        // The common case, without decoding.
        return match name.split_first() {
            Some((first, rest)) => {
                (first.is_ascii_alphabetic() || *first == b'_')
                    && rest
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
            }
            None => false,
        };
    }
    let Ok(name) = std::str::from_utf8(name) else {
        return false;
    };
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c != ':' && is_name_start(c))
        && chars.all(|c| c != ':' && is_name_char(c))
}

/// The XML namespace, bound to the prefix `xml` by definition.
pub const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of namespace declarations themselves.
const XMLNS_NAMESPACE: &str = "http://www.w3.org/2000/xmlns/";

/// The namespace declarations in scope (Namespaces in XML 1.0). A
/// namespace name is the declaration's normalised attribute value, with
/// references resolved (XML 1.0 §3.3.3), so `urn:x&#x3A;y` and `urn:x:y`
/// name the same namespace.
#[derive(Default)]
pub struct Namespaces {
    /// `(prefix, namespace name)`; the default namespace has prefix "" and
    /// an empty name when undeclared.
    bindings: Vec<(Box<[u8]>, Box<str>)>,
    /// Where each open element's declarations start in `bindings`.
    marks: Vec<usize>,
}

impl Namespaces {
    /// Opens an element: takes its namespace declarations into scope.
    pub fn open(&mut self, element: &quick_xml::events::BytesStart<'_>) -> Result<(), String> {
        self.marks.push(self.bindings.len());
        for attr in element.attributes().with_checks(false) {
            let attr = attr.map_err(|e| format!("not well-formed attribute: {e}"))?;
            let prefix: &[u8] = match attr.key.as_ref() {
                b"xmlns" => b"",
                key => match key.strip_prefix(b"xmlns:") {
                    Some(p) => p,
                    None => continue,
                },
            };
            let raw = std::str::from_utf8(&attr.value).unwrap_or("");
            let name = attribute_value(raw)?;
            let shown = String::from_utf8_lossy(prefix);
            match (prefix, name.as_ref()) {
                (b"xml", XML_NAMESPACE) => continue,
                (b"xml", _) => return Err("the prefix xml is bound to its own namespace and no other".into()),
                (b"xmlns", _) => return Err("the prefix xmlns cannot be declared".into()),
                (_, XML_NAMESPACE | XMLNS_NAMESPACE) => {
                    return Err(format!("namespace {name} cannot be bound to {}", if prefix.is_empty() { "the default namespace".to_string() } else { format!("prefix {shown}") }))
                }
                (p, "") if !p.is_empty() => {
                    return Err(format!("xmlns:{shown}=\"\" undeclares a prefix, which Namespaces in XML 1.0 does not allow"))
                }
                _ => {}
            }
            self.bindings.push((prefix.into(), name.into()));
        }
        Ok(())
    }

    /// Closes the innermost open element.
    pub fn close(&mut self) {
        if let Some(mark) = self.marks.pop() {
            self.bindings.truncate(mark);
        }
    }

    /// The namespace name `prefix` is bound to ("" for the default
    /// namespace); `Ok(None)` for no namespace (no prefix, no default),
    /// `Err` for an undeclared prefix.
    pub fn resolve(&self, prefix: &[u8]) -> Result<Option<&str>, UndeclaredPrefix> {
        // Called for every element: the unprefixed case without comparing
        // bytes (a `memcmp` call per binding showed in profiles).
        let found = if prefix.is_empty() {
            self.bindings.iter().rev().find(|(p, _)| p.is_empty())
        } else if prefix == b"xml" {
            return Ok(Some(XML_NAMESPACE));
        } else {
            self.bindings
                .iter()
                .rev()
                .find(|(p, _)| p.len() == prefix.len() && p.as_ref() == prefix)
        };
        match found {
            Some((_, name)) if name.is_empty() => Ok(None),
            Some((_, name)) => Ok(Some(name)),
            None if prefix.is_empty() => Ok(None),
            None => Err(UndeclaredPrefix),
        }
    }
}

/// A prefix used without a declaration in scope.
#[derive(Debug, PartialEq, Eq)]
pub struct UndeclaredPrefix;

/// Splits a qualified name into prefix ("" when none) and local part.
pub fn split_qname(name: &[u8]) -> (&[u8], &[u8]) {
    match name.iter().position(|&b| b == b':') {
        Some(i) => (&name[..i], &name[i + 1..]),
        None => (b"", name),
    }
}

/// Checks an XML declaration, `<?xml` to `?>`, against its grammar (XML 1.0
/// productions 23–32 and 80–81): version, then an optional encoding, then an
/// optional standalone, each after white space, nothing else. Returns the
/// encoding named, if any.
pub fn declaration(decl: &str) -> Result<Option<&str>, String> {
    let inner = decl
        .strip_prefix("<?xml")
        .and_then(|d| d.strip_suffix("?>"))
        .ok_or("the XML declaration is not closed by ?>")?;
    let mut rest = inner;
    /// One pseudo-attribute `S name Eq quoted-value`, if `rest` starts
    /// with it; moves `rest` past it.
    fn pseudo<'a>(name: &str, rest: &mut &'a str) -> Result<Option<&'a str>, String> {
        let after_space = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        let spaced = after_space.len() < rest.len();
        let Some(after_name) = after_space.strip_prefix(name) else {
            return Ok(None);
        };
        if !spaced {
            return Err(format!(
                "white space is needed before {name} in the XML declaration"
            ));
        }
        let after_eq = after_name
            .trim_start_matches([' ', '\t', '\r', '\n'])
            .strip_prefix('=')
            .ok_or_else(|| format!("{name} in the XML declaration needs ="))?
            .trim_start_matches([' ', '\t', '\r', '\n']);
        let quote = after_eq
            .chars()
            .next()
            .filter(|q| matches!(q, '"' | '\''))
            .ok_or_else(|| format!("the value of {name} in the XML declaration needs quotes"))?;
        let body = &after_eq[1..];
        let end = body
            .find(quote)
            .ok_or_else(|| format!("the value of {name} in the XML declaration is not closed"))?;
        *rest = &body[end + 1..];
        Ok(Some(&body[..end]))
    }
    let version =
        pseudo("version", &mut rest)?.ok_or("the XML declaration must start with version")?;
    if version != "1.0" {
        return Err("only XML version 1.0 is accepted".into());
    }
    let encoding = pseudo("encoding", &mut rest)?;
    if let Some(e) = encoding {
        let mut chars = e.chars();
        let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !ok {
            return Err(format!("{e:?} is not an encoding name"));
        }
    }
    if let Some(s) = pseudo("standalone", &mut rest)? {
        if s != "yes" && s != "no" {
            return Err(format!("standalone must be \"yes\" or \"no\", not {s:?}"));
        }
    }
    if !rest.trim_start_matches([' ', '\t', '\r', '\n']).is_empty() {
        return Err("the XML declaration holds something other than version, encoding and standalone, in that order".into());
    }
    Ok(encoding)
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

    #[test]
    fn qualified_names_are_ncnames_on_both_sides_of_the_colon() {
        for ok in ["a", "g:K", "_x:y.z-1", "é:ü"] {
            assert!(is_qname(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "g:1K",
            "g:-K",
            "g:.K",
            "1g:K",
            "g:",
            ":K",
            "a:b:c",
            "g:\u{301}K",
            "",
        ] {
            assert!(!is_qname(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn the_xml_declaration_follows_its_grammar() {
        for ok in [
            r#"<?xml version="1.0"?>"#,
            r#"<?xml version='1.0' encoding='utf-8'?>"#,
            r#"<?xml version = "1.0"  encoding="UTF-8" standalone="no" ?>"#,
            "<?xml\tversion=\"1.0\"\nstandalone='yes'?>",
        ] {
            assert!(declaration(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            declaration(r#"<?xml version="1.0" encoding="latin1"?>"#),
            Ok(Some("latin1"))
        );
        for bad in [
            r#"<?xml version="1.0" standalone="yes" encoding="UTF-8"?>"#,
            r#"<?xml version="1.0" standalone="maybe"?>"#,
            r#"<?xml version="1.0" standalone="NO"?>"#,
            r#"<?xml version="1.0" Standalone="yes"?>"#,
            r#"<?xml version="1.0" version="1.0"?>"#,
            r#"<?xml version="1.0" foo="bar"?>"#,
            r#"<?xml version="1.0"encoding="UTF-8"?>"#,
            r#"<?xml encoding="UTF-8"?>"#,
            r#"<?xml version="1.0" encoding="8bit"?>"#,
            r#"<?xml version="1.0" encoding="UTF-8?>"#,
            r#"<?xml version=1.0?>"#,
        ] {
            assert!(declaration(bad).is_err(), "{bad}");
        }
    }

    fn start(tag: &str) -> quick_xml::events::BytesStart<'_> {
        quick_xml::events::BytesStart::from_content(tag, tag.find(' ').unwrap_or(tag.len()))
    }

    #[test]
    fn namespace_names_are_resolved_attribute_values() {
        let mut ns = Namespaces::default();
        ns.open(&start(r#"a xmlns="urn:x:&#x76;1" xmlns:p="urn:&#112;""#))
            .unwrap();
        assert_eq!(ns.resolve(b""), Ok(Some("urn:x:v1")));
        assert_eq!(ns.resolve(b"p"), Ok(Some("urn:p")));
        assert_eq!(ns.resolve(b"xml"), Ok(Some(XML_NAMESPACE)));
        assert_eq!(ns.resolve(b"q"), Err(UndeclaredPrefix));
        ns.open(&start(r#"b xmlns="""#)).unwrap();
        assert_eq!(ns.resolve(b""), Ok(None), "the default undeclared");
        ns.close();
        assert_eq!(ns.resolve(b""), Ok(Some("urn:x:v1")));
        ns.close();
        assert_eq!(ns.resolve(b"p"), Err(UndeclaredPrefix));
    }

    #[test]
    fn forbidden_namespace_declarations() {
        for bad in [
            r#"a xmlns:p="""#,
            r#"a xmlns:xml="urn:other""#,
            r#"a xmlns:xmlns="urn:x""#,
            r#"a xmlns:p="http://www.w3.org/XML/1998/namespace""#,
            r#"a xmlns="http://www.w3.org/2000/xmlns/""#,
        ] {
            assert!(Namespaces::default().open(&start(bad)).is_err(), "{bad}");
        }
        let ok = r#"a xmlns:xml="http://www.w3.org/XML/1998/namespace""#;
        assert!(Namespaces::default().open(&start(ok)).is_ok());
    }
}
