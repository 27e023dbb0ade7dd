//! What a reader (a feed request, a push subscription, a history request)
//! receives of a stored message: the schema version it understands, and
//! the optional parts it declared it does not want (data minimisation).
//!
//! Both come down to leaving elements out of a valid document and, for an
//! earlier version, saying `versie` of that version: version 1.1 only adds
//! optional elements, and every part a reader may leave out is optional,
//! so what remains is valid against the reader's XSD. [`voor_lezer`] works
//! on the stored bytes, cutting spans out and changing nothing else; a
//! message with nothing to leave out passes untouched after a look at its
//! root's start tag.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::NsReader;
use serde::{Deserialize, Serialize};

use super::versie::{Schemaversie, NAMESPACE, NEW_IN_1_1};

/// An optional part of a message a reader may leave out. In the API its
/// element name (`"Adres"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Onderdeel {
    /// `Envelop/Invoerder`: who typed it in.
    Invoerder,
    /// `Client/Voornamen`.
    Voornamen,
    /// `Client/Voorletters`.
    Voorletters,
    /// `Client/Tussenvoegsel`.
    Tussenvoegsel,
    /// `Client/Geslacht`.
    Geslacht,
    /// `Client/Adres`.
    Adres,
    /// Items 15-23: income, qualifications, literacy, civic integration,
    /// exemptions, instruments in use.
    Klantkenmerken,
    Subgroepen,
    Vragenlijst,
    /// Free text about the client.
    Toelichting,
    LokaleKenmerken,
    /// Schema 1.1: the instruments.
    Instrumenten,
}

/// Where an [`Onderdeel`] sits: the element it is a child of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ouder {
    /// The message root (`Meting`, `Correctie`, `Intrekking`).
    Bericht,
    Envelop,
    Client,
}

impl Onderdeel {
    pub const ALL: [Onderdeel; 12] = [
        Onderdeel::Invoerder,
        Onderdeel::Voornamen,
        Onderdeel::Voorletters,
        Onderdeel::Tussenvoegsel,
        Onderdeel::Geslacht,
        Onderdeel::Adres,
        Onderdeel::Klantkenmerken,
        Onderdeel::Subgroepen,
        Onderdeel::Vragenlijst,
        Onderdeel::Toelichting,
        Onderdeel::LokaleKenmerken,
        Onderdeel::Instrumenten,
    ];

    /// The element's local name, which is also its name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Onderdeel::Invoerder => "Invoerder",
            Onderdeel::Voornamen => "Voornamen",
            Onderdeel::Voorletters => "Voorletters",
            Onderdeel::Tussenvoegsel => "Tussenvoegsel",
            Onderdeel::Geslacht => "Geslacht",
            Onderdeel::Adres => "Adres",
            Onderdeel::Klantkenmerken => "Klantkenmerken",
            Onderdeel::Subgroepen => "Subgroepen",
            Onderdeel::Vragenlijst => "Vragenlijst",
            Onderdeel::Toelichting => "Toelichting",
            Onderdeel::LokaleKenmerken => "LokaleKenmerken",
            Onderdeel::Instrumenten => "Instrumenten",
        }
    }

    pub fn parse(name: &str) -> Option<Onderdeel> {
        Onderdeel::ALL.into_iter().find(|o| o.as_str() == name)
    }

    fn ouder(self) -> Ouder {
        match self {
            Onderdeel::Invoerder => Ouder::Envelop,
            Onderdeel::Voornamen
            | Onderdeel::Voorletters
            | Onderdeel::Tussenvoegsel
            | Onderdeel::Geslacht
            | Onderdeel::Adres => Ouder::Client,
            _ => Ouder::Bericht,
        }
    }
}

/// What one reader receives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Lezer {
    /// The version it understands; `None`: the latest.
    pub versie: Option<Schemaversie>,
    /// The parts it leaves out.
    pub weglaten: Vec<Onderdeel>,
}

impl Lezer {
    /// A reader of version `versie` that takes everything.
    pub fn van_versie(versie: Schemaversie) -> Lezer {
        Lezer {
            versie: Some(versie),
            weglaten: Vec::new(),
        }
    }

    fn versie(&self) -> Schemaversie {
        self.versie.unwrap_or(Schemaversie::LATEST)
    }

    /// Whether the element `local` (in the namespace) under `ouder` is left out.
    fn laat_weg(&self, ouder: Ouder, local: &[u8]) -> bool {
        let later = ouder == Ouder::Bericht
            && self.versie() < Schemaversie::V1_1
            && NEW_IN_1_1.iter().any(|n| n.as_bytes() == local);
        later
            || self
                .weglaten
                .iter()
                .any(|o| o.ouder() == ouder && o.as_str().as_bytes() == local)
    }
}

/// A stored, valid message (the whole document or its root element alone)
/// as `lezer` receives it: without the elements of versions after its own
/// and the parts it leaves out, with `versie` saying its version where the
/// message declared a later one, every other byte as stored.
pub fn voor_lezer<'a>(message: &'a str, lezer: &Lezer) -> Cow<'a, str> {
    if lezer.weglaten.is_empty() && declared(message) <= lezer.versie() {
        return Cow::Borrowed(message);
    }
    match edits(message, lezer) {
        Some(edits) if !edits.is_empty() => Cow::Owned(apply(message, &edits, lezer.versie())),
        _ => Cow::Borrowed(message),
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
                    .and_then(|a| normalized(&a.value));
                return Schemaversie::declared(versie.as_deref().map(str::as_bytes));
            }
            Ok(Event::Eof) | Err(_) => return Schemaversie::V1_0,
            Ok(_) => {}
        }
    }
}

/// An attribute's value as the validator reads it (references expanded).
fn normalized(raw: &[u8]) -> Option<String> {
    let raw = std::str::from_utf8(raw).ok()?;
    crate::xml::attribute_value(raw)
        .ok()
        .map(|v| v.into_owned())
}

enum Edit {
    /// A `versie` value later than the reader's.
    Versie(Range<usize>),
    /// An element left out, start tag to end tag.
    Remove(Range<usize>),
}

/// What each open element is, as far as leaving parts out needs to know.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Bericht,
    Envelop,
    Client,
    Other,
}

/// The spans `lezer` must not see, in document order. `None` when the
/// document cannot be read (a stored document always can: it was valid).
fn edits(document: &str, lezer: &Lezer) -> Option<Vec<Edit>> {
    let mut reader = NsReader::from_str(document);
    let ns = Namespace(NAMESPACE.as_bytes());
    let mut edits = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    loop {
        let before = reader.buffer_position() as usize;
        let (resolved, event) = reader.read_resolved_event().ok()?;
        let ours = matches!(resolved, ResolveResult::Bound(n) if n == ns);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                let local = local.as_ref();
                let ouder = match open.last() {
                    Some(Open::Bericht) => Some(Ouder::Bericht),
                    Some(Open::Envelop) => Some(Ouder::Envelop),
                    Some(Open::Client) => Some(Ouder::Client),
                    _ => None,
                };
                if ours && ouder.is_some_and(|o| lezer.laat_weg(o, local)) {
                    if !empty {
                        reader.read_to_end(e.name()).ok()?;
                    }
                    edits.push(Edit::Remove(before..reader.buffer_position() as usize));
                    continue;
                }
                if ours {
                    for a in e.attributes().flatten() {
                        if a.key.as_ref() != b"versie" {
                            continue;
                        }
                        let said = Schemaversie::parse(&normalized(&a.value)?);
                        if said.is_some_and(|v| v > lezer.versie()) {
                            edits.push(Edit::Versie(span_of(document, a.value.as_ref())?));
                        }
                    }
                }
                let kind = match (ours, local, open.last()) {
                    (true, b"Meting" | b"Correctie" | b"Intrekking", _) => Open::Bericht,
                    (true, b"Envelop", Some(Open::Bericht)) => Open::Envelop,
                    (true, b"Client", Some(Open::Bericht)) => Open::Client,
                    _ => Open::Other,
                };
                if !empty {
                    open.push(kind);
                }
            }
            Event::End(_) => {
                open.pop()?;
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

fn apply(document: &str, edits: &[Edit], versie: Schemaversie) -> String {
    let mut out = String::with_capacity(document.len());
    let mut at = 0;
    for edit in edits {
        let (span, with) = match edit {
            Edit::Versie(span) => (span, versie.as_str()),
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
    const KITCHEN_SINK: &str = include_str!("../../fixtures/valid/meting-0363-trede3-groei.xml");
    const INTREKKING: &str =
        include_str!("../../fixtures/valid/intrekking-0599-verkeerde-client.xml");

    fn valid_as(document: &str, versie: Schemaversie) {
        let doc = crate::schema::validate(document.as_bytes())
            .unwrap_or_else(|e| panic!("not valid: {e:?}\n{document}"));
        assert_eq!(doc.versie(), versie);
    }

    fn without(document: &str, element: &str) -> String {
        let start = document.find(&format!("<{element}>")).unwrap();
        let close = format!("</{element}>");
        let end = document.find(&close).unwrap() + close.len();
        format!("{}{}", &document[..start], &document[end..])
    }

    fn weglaten(parts: &[Onderdeel]) -> Lezer {
        Lezer {
            versie: None,
            weglaten: parts.to_vec(),
        }
    }

    #[test]
    fn a_1_0_message_reaches_every_version_reader_unchanged() {
        assert_eq!(declared(V1_0), Schemaversie::V1_0);
        for v in Schemaversie::ALL {
            let got = voor_lezer(V1_0, &Lezer::van_versie(v));
            assert!(matches!(got, Cow::Borrowed(d) if d == V1_0));
        }
    }

    #[test]
    fn a_1_1_message_reaches_a_1_0_reader_without_what_1_1_added() {
        assert_eq!(declared(V1_1), Schemaversie::V1_1);
        valid_as(V1_1, Schemaversie::V1_1);
        let latest = voor_lezer(V1_1, &Lezer::default());
        assert!(matches!(latest, Cow::Borrowed(_)));
        let old = voor_lezer(V1_1, &Lezer::van_versie(Schemaversie::V1_0));
        valid_as(&old, Schemaversie::V1_0);
        // Every other byte as stored: only the element and the version went.
        let expected =
            without(V1_1, "Instrumenten").replacen(r#"versie="1.1""#, r#"versie="1.0""#, 1);
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
        let old = voor_lezer(doc, &Lezer::van_versie(Schemaversie::V1_0));
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
    fn every_part_can_be_left_out_and_the_rest_stays_valid() {
        let all = weglaten(&Onderdeel::ALL);
        for (message, versie) in [
            (KITCHEN_SINK, Schemaversie::V1_0),
            (V1_1, Schemaversie::V1_1),
            (INTREKKING, Schemaversie::V1_0),
        ] {
            let minimal = voor_lezer(message, &all);
            valid_as(&minimal, versie);
            for part in Onderdeel::ALL {
                let open = format!("<{}>", part.as_str());
                assert!(!minimal.contains(&open), "{open} left in:\n{minimal}");
            }
        }
        // One part: exactly that element gone, nothing else.
        let no_address = voor_lezer(KITCHEN_SINK, &weglaten(&[Onderdeel::Adres]));
        assert_eq!(no_address, without(KITCHEN_SINK, "Adres"));
        let no_text = voor_lezer(KITCHEN_SINK, &weglaten(&[Onderdeel::Toelichting]));
        assert_eq!(no_text, without(KITCHEN_SINK, "Toelichting"));
        // A part the message does not have: unchanged.
        let same = voor_lezer(V1_0, &weglaten(&[Onderdeel::Vragenlijst]));
        assert_eq!(same, V1_0);
    }

    #[test]
    fn a_part_is_left_out_only_where_it_is_that_part() {
        // A Geslacht or Adres elsewhere than under Client, a foreign
        // Toelichting: kept.
        let doc = concat!(
            r#"<Meting xmlns="urn:ladderpost:participatieladder:v1" xmlns:g="urn:g" versie="1.0">"#,
            r#"<Client><Adres><Straat>s</Straat></Adres></Client>"#,
            r#"<LokaleKenmerken><g:Toelichting>t</g:Toelichting><g:Adres/></LokaleKenmerken>"#,
            r#"</Meting>"#,
        );
        let got = voor_lezer(doc, &weglaten(&[Onderdeel::Adres, Onderdeel::Toelichting]));
        assert_eq!(
            got,
            concat!(
                r#"<Meting xmlns="urn:ladderpost:participatieladder:v1" xmlns:g="urn:g" versie="1.0">"#,
                r#"<Client></Client>"#,
                r#"<LokaleKenmerken><g:Toelichting>t</g:Toelichting><g:Adres/></LokaleKenmerken>"#,
                r#"</Meting>"#,
            )
        );
    }

    #[test]
    fn parts_are_named_by_their_element() {
        for o in Onderdeel::ALL {
            assert_eq!(Onderdeel::parse(o.as_str()), Some(o));
            let json = serde_json::to_string(&o).unwrap();
            assert_eq!(json, format!("\"{}\"", o.as_str()));
        }
        assert_eq!(Onderdeel::parse("Bsn"), None);
    }
}
