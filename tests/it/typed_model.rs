//! The typed model xsd-parser generates from the XSD reads every valid
//! fixture and writes it back as a document that is still schema-valid, and
//! builds replies from scratch that the schema accepts.

use crate::common;

use ladderpost::schema::typed;
use xsd_parser_types::quick_xml::{DeserializeSync, SerializeSync, SliceReader, Writer, XmlReader};

macro_rules! write {
    ($value:expr, $root:expr) => {{
        let mut buf = Vec::new();
        let mut w = Writer::new(&mut buf);
        $value.serialize($root, &mut w).ok().expect("serialize");
        String::from_utf8(buf).expect("utf-8")
    }};
}

macro_rules! round_trip {
    ($ty:ty, $text:expr, $root:expr) => {{
        let value = <$ty>::deserialize(&mut SliceReader::new($text).with_error_info())
            .ok()
            .expect("deserialize");
        write!(value, $root)
    }};
}

#[test]
fn every_valid_fixture_round_trips_to_a_valid_document() {
    for path in common::fixtures("valid") {
        let text: &'static str =
            Box::leak(std::fs::read_to_string(&path).unwrap().into_boxed_str());
        let tree = ladderpost::validate_schema(text.as_bytes()).expect("fixture is valid");
        let root = tree.root().name();
        let again = match root {
            "Meting" => round_trip!(typed::Meting, text, root),
            "Correctie" => round_trip!(typed::Correctie, text, root),
            "Intrekking" => round_trip!(typed::Intrekking, text, root),
            "Ontvangstbevestiging" => round_trip!(typed::Ontvangstbevestiging, text, root),
            "Foutbericht" => round_trip!(typed::Foutbericht, text, root),
            other => panic!("unexpected root {other}"),
        };
        let checked = ladderpost::validate(again.as_bytes());
        assert!(
            checked.is_ok(),
            "{}: {:?}\n{again}",
            path.display(),
            checked.err()
        );
    }
}

#[test]
fn replies_built_in_code_are_schema_valid() {
    let melding = |code: &str| typed::MeldingType {
        code: code.into(),
        omschrijving: "a <description> & more".into(),
        regel: std::num::NonZeroUsize::new(3),
        kolom: std::num::NonZeroUsize::new(14),
        pad: Some("/Meting/Plaatsing/Trede".into()),
    };
    let ack = typed::Ontvangstbevestiging {
        versie: "1.0".into(),
        bericht_id: "abc-1".into(),
        ontvangen: "2026-11-25T12:00:00.000001Z".into(),
        volgnummer: std::num::NonZeroUsize::new(42).unwrap(),
        herhaling: Some(false),
        waarschuwing: vec![melding("signaal.trede-5-zonder-instrument")],
    };
    let fout = typed::Foutbericht {
        versie: "1.0".into(),
        bericht_id: None,
        tijdstip: "2026-11-25T12:00:00Z".into(),
        fout: vec![melding("xsd.enumeration"), melding("xsd.pattern")],
    };
    for xml in [
        write!(ack, "Ontvangstbevestiging"),
        write!(fout, "Foutbericht"),
    ] {
        let valid = ladderpost::validate(xml.as_bytes());
        assert!(valid.is_ok(), "{xml}: {:?}", valid.err());
    }
}
