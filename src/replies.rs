//! The service's XML replies, per the published schema.
//!
//! Acknowledgements, error reports and trial-validation results are built
//! as values of the typed model xsd-parser generates from the XSD and
//! written by its serializer. The measurement history embeds the stored
//! messages byte for byte (what was received is evidence), so it is written
//! directly.

use std::borrow::Cow;
use std::num::NonZeroUsize;

use xsd_parser_types::quick_xml::{SerializeSync, Writer};

use crate::diagnostics::Melding;
use crate::history::Versie;
use crate::schema::lezer::{self, Lezer};
use crate::schema::typed;
use crate::schema::Schemaversie;
use crate::store::{Receipt, Soort, Waarschuwing};
use crate::time::Moment;

/// The content type of every XML reply.
pub const XML: &str = "application/xml; charset=utf-8";

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
const NS: &str = "urn:ladderpost:participatieladder:v1";

macro_rules! serialize {
    ($value:expr, $root:literal) => {{
        let mut buf = DECLARATION.as_bytes().to_vec();
        let mut writer = Writer::new(&mut buf);
        // Writing to a Vec does not fail; the model's values come from
        // validated data, so the serializer has nothing to refuse.
        if $value.serialize($root, &mut writer).is_err() {
            tracing::error!(root = $root, "reply serialization failed");
        }
        buf.push(b'\n');
        buf
    }};
}

fn positive(n: u32) -> Option<NonZeroUsize> {
    NonZeroUsize::new(n as usize)
}

/// Text for the serializer, which refuses any text holding `]]>` (and
/// would leave the reply cut short): error messages quote input, so the
/// sequence is shown as the text `]]&gt;` (docs/errors.md).
fn text(s: &str) -> String {
    s.replace("]]>", "]]&gt;")
}

fn melding_of_waarschuwing(w: &Waarschuwing) -> typed::MeldingType {
    typed::MeldingType {
        code: w.code.clone(),
        omschrijving: text(&w.omschrijving),
        regel: w.regel.and_then(positive),
        kolom: w.kolom.and_then(positive),
        pad: w.pad.as_deref().map(text),
    }
}

fn melding(m: &Melding) -> typed::MeldingType {
    let mut t = melding_of_waarschuwing(&Waarschuwing::from(m));
    // The schema allows 4000 characters; messages quote values cut short,
    // this is the backstop.
    if t.omschrijving.chars().count() > 4000 {
        t.omschrijving = t.omschrijving.chars().take(3999).collect::<String>() + "…";
    }
    t
}

/// `Ontvangstbevestiging`.
pub fn ontvangstbevestiging(receipt: &Receipt, herhaling: bool) -> Vec<u8> {
    let value = typed::Ontvangstbevestiging {
        versie: "1.0".into(),
        bericht_id: receipt.bericht_id.clone(),
        ontvangen: receipt.ontvangen.to_string(),
        volgnummer: NonZeroUsize::new(receipt.volgnummer as usize).unwrap_or(NonZeroUsize::MIN),
        herhaling: herhaling.then_some(true),
        waarschuwing: receipt
            .waarschuwingen
            .iter()
            .map(melding_of_waarschuwing)
            .collect(),
    };
    serialize!(value, "Ontvangstbevestiging")
}

/// `Foutbericht`.
pub fn foutbericht(bericht_id: Option<&str>, errors: &[Melding]) -> Vec<u8> {
    let value = typed::Foutbericht {
        versie: "1.0".into(),
        bericht_id: bericht_id.map(str::to_string),
        tijdstip: Moment::now().to_string(),
        fout: errors.iter().map(melding).collect(),
    };
    serialize!(value, "Foutbericht")
}

/// `Validatieresultaat`.
pub fn validatieresultaat(bericht_id: &str, soort: Soort, warnings: &[Melding]) -> Vec<u8> {
    let value = typed::Validatieresultaat {
        versie: "1.0".into(),
        bericht_id: bericht_id.to_string(),
        soort: match soort {
            Soort::Meting => typed::BerichtsoortType::Meting,
            Soort::Correctie => typed::BerichtsoortType::Correctie,
            Soort::Intrekking => typed::BerichtsoortType::Intrekking,
        },
        waarschuwing: warnings.iter().map(melding).collect(),
    };
    serialize!(value, "Validatieresultaat")
}

/// `Meetgeschiedenis`, each version with its stored message embedded as
/// received (its root element; the prolog is left out).
///
/// Each message as `lezer` receives it ([`lezer::voor_lezer`]: its schema
/// version, the parts it leaves out); the wrapper says the highest version
/// among them, so it is valid against that version's XSD.
pub fn meetgeschiedenis(
    bsn: &str,
    peilmoment: Option<Moment>,
    versies: &[Versie<'_>],
    lezer: &Lezer,
) -> Vec<u8> {
    let roots: Vec<Cow<'_, str>> = versies
        .iter()
        .map(|v| lezer::voor_lezer(stored_root(v.stored), lezer))
        .collect();
    let mut out = String::with_capacity(
        256 + versies
            .iter()
            .map(|v| v.stored.raw.len() + 256)
            .sum::<usize>(),
    );
    out.push_str(DECLARATION);
    // A prefix, not a default namespace: the embedded messages must keep
    // exactly the namespaces they were sent with.
    out.push_str(&format!(
        "<lp:Meetgeschiedenis xmlns:lp=\"{NS}\" versie=\"{}\">\n  <lp:Bsn>{bsn}</lp:Bsn>\n",
        highest(&roots)
    ));
    if let Some(p) = peilmoment {
        out.push_str(&format!("  <lp:Peilmoment>{p}</lp:Peilmoment>\n"));
    }
    for (v, root) in versies.iter().zip(&roots) {
        let r = &v.stored.record;
        out.push_str(&format!(
            "  <lp:Metingversie>\n    <lp:Volgnummer>{}</lp:Volgnummer>\n    <lp:Ontvangen>{}</lp:Ontvangen>\n    <lp:Status>{}</lp:Status>\n",
            r.volgnummer,
            r.ontvangen,
            v.status.as_str()
        ));
        if let Some(door) = v.status.door() {
            // Message ids are restricted to [A-Za-z0-9._:-]: nothing to escape.
            out.push_str(&format!(
                "    <lp:VervallenDoor>{door}</lp:VervallenDoor>\n"
            ));
        }
        out.push_str(root);
        push_organisatie(&mut out, r);
        out.push_str("\n  </lp:Metingversie>\n");
    }
    out.push_str("</lp:Meetgeschiedenis>\n");
    out.into_bytes()
}

/// The authenticated sender after an embedded message; organisation ids
/// are restricted to [a-z0-9-]: nothing to escape.
fn push_organisatie(out: &mut String, r: &crate::store::Record) {
    if !r.organisatie.is_empty() {
        out.push_str(&format!(
            "\n    <lp:Organisatie>{}</lp:Organisatie>",
            r.organisatie
        ));
    }
}

/// The root element of a stored (hence valid) message, as received.
fn root_element(raw: &[u8]) -> &str {
    let span = crate::validate_schema(raw).map_or(0..0, |tree| tree.root_span());
    raw.get(span)
        .and_then(|r| std::str::from_utf8(r).ok())
        .unwrap_or("")
}

/// The version a wrapper of these messages declares: the highest of theirs.
fn highest(roots: &[Cow<'_, str>]) -> Schemaversie {
    roots
        .iter()
        .map(|r| lezer::declared(r))
        .max()
        .unwrap_or(Schemaversie::V1_0)
}

/// `Berichtenfeed`: the page's messages embedded as `lezer` receives them,
/// as in [`meetgeschiedenis`].
pub fn berichtenfeed(
    gemeente: &str,
    cursor: u64,
    items: &[crate::store::Stored],
    lezer: &Lezer,
) -> Vec<u8> {
    let roots: Vec<Cow<'_, str>> = items
        .iter()
        .map(|s| lezer::voor_lezer(stored_root(s), lezer))
        .collect();
    let mut out =
        String::with_capacity(256 + items.iter().map(|s| s.raw.len() + 200).sum::<usize>());
    out.push_str(DECLARATION);
    // Prefixed for the same reason as the history: embedded messages keep
    // their own namespaces.
    out.push_str(&format!(
        "<lp:Berichtenfeed xmlns:lp=\"{NS}\" versie=\"{}\">\n  <lp:Gemeente>{gemeente}</lp:Gemeente>\n  <lp:Cursor>{cursor}</lp:Cursor>\n",
        highest(&roots)
    ));
    for (s, root) in items.iter().zip(&roots) {
        let r = &s.record;
        out.push_str(&format!(
            "  <lp:Item>\n    <lp:Volgnummer>{}</lp:Volgnummer>\n    <lp:Soort>{}</lp:Soort>\n    <lp:Ontvangen>{}</lp:Ontvangen>\n",
            r.volgnummer,
            r.soort.as_str(),
            r.ontvangen
        ));
        out.push_str(root);
        push_organisatie(&mut out, r);
        out.push_str("\n  </lp:Item>\n");
    }
    out.push_str("</lp:Berichtenfeed>\n");
    out.into_bytes()
}

/// The root element of a stored message: from the span recorded at
/// acceptance, or by reading it again for records without one.
fn stored_root(s: &crate::store::Stored) -> &str {
    let (start, end) = s.record.wortel;
    match s
        .raw
        .get(start as usize..end as usize)
        .and_then(|r| std::str::from_utf8(r).ok())
    {
        Some(root) if end > start => root,
        _ => root_element(&s.raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Code;

    /// Reads the reply to its end: it must be well-formed throughout.
    fn well_formed(reply: &[u8]) {
        let mut reader = quick_xml::Reader::from_reader(reply);
        let mut buf = Vec::new();
        loop {
            match reader.read_event_into(&mut buf) {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => buf.clear(),
                Err(e) => panic!("reply not well-formed: {e}"),
            }
        }
    }

    #[test]
    fn foutbericht_quoting_cdata_end_is_complete() {
        let errors = [
            Melding::new(Code::XmlMalformed, "unterminated CDATA: ']]>' never came"),
            Melding::new(Code::XmlMalformed, "the second error"),
        ];
        let reply = foutbericht(Some("b-1"), &errors);
        well_formed(&reply);
        let text = String::from_utf8_lossy(&reply);
        // `]]&gt;` as text, escaped once more by the serializer.
        assert!(text.contains("]]&amp;gt;&apos; never came"), "{text}");
        assert!(text.contains("the second error"), "{text}");
        assert!(text.trim_end().ends_with("</Foutbericht>"), "{text}");
    }
}
