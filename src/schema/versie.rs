//! The published versions of the schema within namespace v1, and what a
//! reader of an earlier version receives of a later version's document.
//!
//! A document is validated against the version its root's `versie` names.
//! Version 1.1 only adds optional elements, so a 1.1 document becomes a
//! valid 1.0 document by leaving those out and saying `versie="1.0"`:
//! [`for_reader`] does that on the stored bytes, changing nothing else. A
//! 1.0 message passes untouched after a look at its root's start tag.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::NsReader;

use super::compiled::{v1_0, v1_1};
use super::model::CompiledSchema;

/// The namespace every version of 1.x shares.
pub const NAMESPACE: &str = "urn:ladderpost:participatieladder:v1";

/// A published version of the schema; in JSON its number (`"1.0"`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Schemaversie {
    #[serde(rename = "1.0")]
    V1_0,
    #[serde(rename = "1.1")]
    V1_1,
}

/// The elements 1.1 added, by local name, each a direct child of a
/// Meting or Correctie (the end of the `MetingGegevens` group).
const NEW_IN_1_1: &[&str] = &["Instrumenten"];

impl Schemaversie {
    pub const ALL: [Schemaversie; 2] = [Schemaversie::V1_0, Schemaversie::V1_1];
    pub const LATEST: Schemaversie = Schemaversie::V1_1;

    /// The value of the `versie` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Schemaversie::V1_0 => "1.0",
            Schemaversie::V1_1 => "1.1",
        }
    }

    pub fn parse(value: &str) -> Option<Schemaversie> {
        Schemaversie::ALL.into_iter().find(|v| v.as_str() == value)
    }

    /// The published file, under `schemas/`.
    pub fn file(self) -> &'static str {
        match self {
            Schemaversie::V1_0 => "participatieladder-v1.xsd",
            Schemaversie::V1_1 => "participatieladder-v1.1.xsd",
        }
    }

    /// The published XSD's text, as compiled into this build.
    pub fn xsd(self) -> &'static str {
        match self {
            Schemaversie::V1_0 => include_str!("../../schemas/participatieladder-v1.xsd"),
            Schemaversie::V1_1 => include_str!("../../schemas/participatieladder-v1.1.xsd"),
        }
    }

    pub fn compiled(self) -> &'static CompiledSchema {
        match self {
            Schemaversie::V1_0 => &v1_0::SCHEMA,
            Schemaversie::V1_1 => &v1_1::SCHEMA,
        }
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }

    /// The version a document's root `versie` names: the tables to validate
    /// it with. A value no version has is judged by the latest, whose
    /// attribute type then reports it.
    pub fn declared(versie: Option<&[u8]>) -> Schemaversie {
        versie
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(Schemaversie::parse)
            .unwrap_or(Schemaversie::LATEST)
    }
}

/// The version that added element `local` of the namespace, if a later one
/// than 1.0.
pub fn added_in(local: &[u8]) -> Option<Schemaversie> {
    let local = std::str::from_utf8(local).ok()?;
    NEW_IN_1_1.contains(&local).then_some(Schemaversie::V1_1)
}

impl std::fmt::Display for Schemaversie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored, valid message (the whole document or its root element alone)
/// as a reader of version `reader` receives it: unchanged when it declares
/// that version or an earlier one; otherwise without the elements of later
/// versions and with `versie` saying `reader`, every other byte as stored.
pub fn for_reader(message: &str, reader: Schemaversie) -> Cow<'_, str> {
    if declared(message) <= reader {
        return Cow::Borrowed(message);
    }
    match later_parts(message) {
        Some(edits) => Cow::Owned(apply(message, &edits, reader)),
        None => Cow::Borrowed(message),
    }
}

/// The version a stored, valid message's root declares, read from its
/// start tag alone (a message declares the version whose tables judged it).
pub fn declared(message: &str) -> Schemaversie {
    let mut reader = quick_xml::Reader::from_str(message);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let versie = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.as_ref() == b"versie")
                    .and_then(|a| {
                        let raw = std::str::from_utf8(&a.value).ok()?;
                        crate::xml::attribute_value(raw)
                            .ok()
                            .map(|v| v.into_owned())
                    });
                return Schemaversie::declared(versie.as_deref().map(str::as_bytes));
            }
            Ok(Event::Eof) | Err(_) => return Schemaversie::V1_0,
            Ok(_) => {}
        }
    }
}

enum Edit {
    /// A `versie="1.1"` attribute value.
    Versie(Range<usize>),
    /// An element new in 1.1, start tag to end tag.
    Remove(Range<usize>),
}

/// The spans a 1.0 reader must not see. `None` when the document cannot be
/// read (a stored document always can: it was validated).
fn later_parts(document: &str) -> Option<Vec<Edit>> {
    let mut reader = NsReader::from_str(document);
    let ns = Namespace(NAMESPACE.as_bytes());
    let mut edits = Vec::new();
    // Depth of the open elements, and of the message root at that depth.
    let mut depth = 0usize;
    let mut message_depth: Option<usize> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let (resolved, event) = reader.read_resolved_event().ok()?;
        let ours = matches!(resolved, ResolveResult::Bound(n) if n == ns);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                let local = local.as_ref();
                if ours
                    && message_depth == Some(depth.wrapping_sub(1))
                    && NEW_IN_1_1.contains(&std::str::from_utf8(local).ok()?)
                {
                    let end = if empty {
                        reader.buffer_position() as usize
                    } else {
                        reader.read_to_end(e.name()).ok()?;
                        reader.buffer_position() as usize
                    };
                    edits.push(Edit::Remove(before..end));
                    continue;
                }
                if ours {
                    for a in e.attributes().flatten() {
                        let value = std::str::from_utf8(&a.value).ok()?;
                        let later = crate::xml::attribute_value(value).ok()? == "1.1";
                        if a.key.as_ref() == b"versie" && later {
                            edits.push(Edit::Versie(span_of(document, a.value.as_ref())?));
                        }
                    }
                    if matches!(local, b"Meting" | b"Correctie") {
                        message_depth = Some(depth);
                    }
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.checked_sub(1)?;
                if message_depth == Some(depth) {
                    message_depth = None;
                }
            }
            Event::Eof => return Some(edits),
            _ => {}
        }
    }
}

/// Where `part`, borrowed from `whole`, lies in it.
fn span_of(whole: &str, part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start + part.len();
    (end <= whole.len()).then_some(start..end)
}

fn apply(document: &str, edits: &[Edit], reader: Schemaversie) -> String {
    let mut out = String::with_capacity(document.len());
    let mut at = 0;
    for edit in edits {
        let (span, with) = match edit {
            Edit::Versie(span) => (span, reader.as_str()),
            Edit::Remove(span) => (span, ""),
        };
        out.push_str(&document[at..span.start]);
        out.push_str(with);
        at = span.end;
    }
    out.push_str(&document[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_1: &str = include_str!("../../fixtures/valid/meting-0014-trede5-instrumenten.xml");
    const V1_0: &str = include_str!("../../fixtures/valid/meting-0014-trede5-met-instrument.xml");

    fn valid_as(document: &str, versie: Schemaversie) {
        let doc = crate::schema::validate(document.as_bytes())
            .unwrap_or_else(|e| panic!("not valid: {e:?}\n{document}"));
        assert_eq!(doc.versie(), versie);
    }

    #[test]
    fn a_1_0_message_reaches_every_reader_unchanged() {
        assert_eq!(declared(V1_0), Schemaversie::V1_0);
        for reader in Schemaversie::ALL {
            assert!(matches!(for_reader(V1_0, reader), Cow::Borrowed(d) if d == V1_0));
        }
    }

    #[test]
    fn a_1_1_message_reaches_a_1_0_reader_without_what_1_1_added() {
        assert_eq!(declared(V1_1), Schemaversie::V1_1);
        valid_as(V1_1, Schemaversie::V1_1);
        assert!(matches!(
            for_reader(V1_1, Schemaversie::V1_1),
            Cow::Borrowed(_)
        ));
        let old = for_reader(V1_1, Schemaversie::V1_0);
        valid_as(&old, Schemaversie::V1_0);
        assert!(!old.contains("<Instrumenten>") && !old.contains("Werkpunt"));
        // Every other byte as stored: only the element and the version went.
        let start = V1_1.find("<Instrumenten>").unwrap();
        let end = V1_1.find("</Instrumenten>").unwrap() + "</Instrumenten>".len();
        let expected = format!("{}{}", &V1_1[..start], &V1_1[end..]).replacen(
            r#"versie="1.1""#,
            r#"versie="1.0""#,
            1,
        );
        assert_eq!(old, expected);
    }

    #[test]
    fn prefixes_empty_elements_and_embedded_messages_are_handled() {
        let doc = concat!(
            r#"<p:Berichtenfeed xmlns:p="urn:ladderpost:participatieladder:v1" versie='1.1'>"#,
            r#"<p:Item><q:Meting xmlns:q="urn:ladderpost:participatieladder:v1" versie="1.1">"#,
            r#"<q:Toelichting>x</q:Toelichting><q:Instrumenten/></q:Meting>"#,
            r#"<x:Instrumenten xmlns:x="urn:ander"/></p:Item></p:Berichtenfeed>"#,
        );
        let old = for_reader(doc, Schemaversie::V1_0);
        assert_eq!(
            old,
            concat!(
                r#"<p:Berichtenfeed xmlns:p="urn:ladderpost:participatieladder:v1" versie='1.0'>"#,
                r#"<p:Item><q:Meting xmlns:q="urn:ladderpost:participatieladder:v1" versie="1.0">"#,
                r#"<q:Toelichting>x</q:Toelichting></q:Meting>"#,
                r#"<x:Instrumenten xmlns:x="urn:ander"/></p:Item></p:Berichtenfeed>"#,
            )
        );
    }

    #[test]
    fn published_versions_are_named_by_number_and_file() {
        for v in Schemaversie::ALL {
            assert_eq!(Schemaversie::parse(v.as_str()), Some(v));
            assert!(v.xsd().contains(NAMESPACE));
            assert_eq!(v.compiled().target_namespace, NAMESPACE);
        }
        assert_eq!(Schemaversie::parse("2.0"), None);
        assert_eq!(Schemaversie::declared(Some(b"9")), Schemaversie::LATEST);
    }
}
