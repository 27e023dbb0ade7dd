//! Errors and warnings about a message, as every layer reports them.
//!
//! One shape for all layers (XML reading, schema, domain rules) so that the
//! CLI, the HTTP replies and the tests print the same thing. Codes are public:
//! docs/errors.md lists them and they never change meaning within a version.

use std::fmt;

use serde::Serialize;

/// The stable code of an error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "&'static str")]
pub enum Code {
    // The HTTP request itself.
    HttpContentType,
    HttpParameter,
    HttpNotFound,
    /// Too many requests for one credential (or address): 429.
    HttpTeVeel,
    /// The request body did not arrive in time: 408.
    HttpTeTraag,
    /// A subscription's receiver is on an address push may not reach (400).
    HttpOntvangerAdres,
    /// No valid credential (401).
    AuthNietAangemeld,
    /// The credential may not do this, or not for this municipality (403).
    AuthGeenToegang,
    /// `Afzender/Oin` is not the sending organisation's own OIN (403).
    AuthAfzender,
    // Reading XML (hardened): the document is not acceptable XML.
    XmlMalformed,
    XmlEncoding,
    XmlDtd,
    XmlTooLarge,
    XmlTooDeep,
    XmlTooManyElements,
    XmlTooManyAttributes,
    // Schema validity (XSD 1.0).
    XsdRoot,
    XsdUnexpectedElement,
    XsdMissingElement,
    XsdTextNotAllowed,
    XsdElementInSimple,
    XsdAttributeNotAllowed,
    XsdAttributeMissing,
    XsdAttributeFixed,
    /// The root's `versie` names no published version.
    XsdVersie,
    XsdDatatype,
    XsdEnumeration,
    XsdPattern,
    XsdLength,
    XsdRange,
    XsdXsi,
    // Domain rules: the message is schema-valid but not acceptable.
    RegelBsnElfproef,
    RegelGeboortedatum,
    RegelMeetdatumToekomst,
    RegelVolgendeMeetdatum,
    RegelGroeipotentieelOntbreekt,
    RegelGroeipotentieelNietVanToepassing,
    RegelPotentietrede,
    RegelUitstroomreden,
    RegelReferentie,
    RegelDubbel,
    /// An `Antwoord` to a question its questionnaire version does not have.
    RegelVraagOnbekend,
    /// An `Antwoord` the questionnaire's flow never reaches with these answers.
    RegelVraagNietBereikt,
    /// Schema 1.1: an `Instrument` that ends before it begins.
    RegelInstrumentPeriode,
    // Acceptance against what is stored.
    BerichtSoort,
    BerichtConflict,
    ReferentieOnbekend,
    ReferentieSoort,
    ReferentieAndereClient,
    ReferentieVervallen,
    BerichtOnbekend,
    OpslagOnbeschikbaar,
    // Warnings: accepted, but a municipality's consistency check flags it.
    SignaalTrajectZonderGroeipotentieel,
    SignaalTrajectOpTrede1Of2,
    SignaalTrede6MetOndersteuning,
    SignaalTrede5ZonderInstrument,
    SignaalVrijstellingMetGroeipotentieel,
    /// The recorded Trede is not the rung the questionnaire's answers give.
    SignaalTredeWijktAfVanVragenlijst,
    /// A question on the questionnaire's path has no answer: no rung derived.
    SignaalVragenlijstOnvolledig,
    /// Growth potential "0" given where it does not apply (0, 6, 9): ignored.
    SignaalGroeipotentieelNietVanToepassing,
    /// Growth potential derived from the potentietrede, not recorded.
    SignaalGroeipotentieelAfgeleid,
    /// The data set's subgroup registration is missing.
    SignaalSubgroepOntbreekt,
    /// No benefit (NUGger) together with a benefit.
    SignaalGeenUitkeringMetUitkering,
    /// Subgroup 6 (young person under 27) for a client 27 or older.
    SignaalSubgroep6Leeftijd,
    /// Subgroup 1 or 7 without the income that defines it.
    SignaalSubgroepZonderInkomen,
    /// A client younger than 18 at the measurement date.
    SignaalJongerDan18,
    /// Code 9 without the reason for leaving.
    SignaalUitstroomredenOntbreekt,
    /// Schema 1.1: an instrument listed as running while items 22 and 23
    /// both say no.
    SignaalInstrumentenTegenKenmerken,
    SignaalAndereOrganisatie,
}

impl Code {
    /// Every code, in documentation order.
    pub const ALL: &'static [Code] = &[
        Code::HttpContentType,
        Code::HttpParameter,
        Code::HttpNotFound,
        Code::HttpTeVeel,
        Code::HttpTeTraag,
        Code::HttpOntvangerAdres,
        Code::AuthNietAangemeld,
        Code::AuthGeenToegang,
        Code::AuthAfzender,
        Code::XmlMalformed,
        Code::XmlEncoding,
        Code::XmlDtd,
        Code::XmlTooLarge,
        Code::XmlTooDeep,
        Code::XmlTooManyElements,
        Code::XmlTooManyAttributes,
        Code::XsdRoot,
        Code::XsdUnexpectedElement,
        Code::XsdMissingElement,
        Code::XsdTextNotAllowed,
        Code::XsdElementInSimple,
        Code::XsdAttributeNotAllowed,
        Code::XsdAttributeMissing,
        Code::XsdAttributeFixed,
        Code::XsdVersie,
        Code::XsdDatatype,
        Code::XsdEnumeration,
        Code::XsdPattern,
        Code::XsdLength,
        Code::XsdRange,
        Code::XsdXsi,
        Code::RegelBsnElfproef,
        Code::RegelGeboortedatum,
        Code::RegelMeetdatumToekomst,
        Code::RegelVolgendeMeetdatum,
        Code::RegelGroeipotentieelOntbreekt,
        Code::RegelGroeipotentieelNietVanToepassing,
        Code::RegelPotentietrede,
        Code::RegelUitstroomreden,
        Code::RegelReferentie,
        Code::RegelDubbel,
        Code::RegelVraagOnbekend,
        Code::RegelVraagNietBereikt,
        Code::RegelInstrumentPeriode,
        Code::BerichtSoort,
        Code::BerichtConflict,
        Code::ReferentieOnbekend,
        Code::ReferentieSoort,
        Code::ReferentieAndereClient,
        Code::ReferentieVervallen,
        Code::BerichtOnbekend,
        Code::OpslagOnbeschikbaar,
        Code::SignaalTrajectZonderGroeipotentieel,
        Code::SignaalTrajectOpTrede1Of2,
        Code::SignaalTrede6MetOndersteuning,
        Code::SignaalTrede5ZonderInstrument,
        Code::SignaalVrijstellingMetGroeipotentieel,
        Code::SignaalTredeWijktAfVanVragenlijst,
        Code::SignaalVragenlijstOnvolledig,
        Code::SignaalGroeipotentieelNietVanToepassing,
        Code::SignaalGroeipotentieelAfgeleid,
        Code::SignaalSubgroepOntbreekt,
        Code::SignaalGeenUitkeringMetUitkering,
        Code::SignaalSubgroep6Leeftijd,
        Code::SignaalSubgroepZonderInkomen,
        Code::SignaalJongerDan18,
        Code::SignaalUitstroomredenOntbreekt,
        Code::SignaalInstrumentenTegenKenmerken,
        Code::SignaalAndereOrganisatie,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::HttpContentType => "http.content-type",
            Code::HttpParameter => "http.parameter",
            Code::HttpNotFound => "http.not-found",
            Code::HttpTeVeel => "http.te-veel",
            Code::HttpTeTraag => "http.te-traag",
            Code::HttpOntvangerAdres => "http.ontvanger-adres",
            Code::AuthNietAangemeld => "auth.niet-aangemeld",
            Code::AuthGeenToegang => "auth.geen-toegang",
            Code::AuthAfzender => "auth.afzender",
            Code::XmlMalformed => "xml.malformed",
            Code::XmlEncoding => "xml.encoding",
            Code::XmlDtd => "xml.dtd",
            Code::XmlTooLarge => "xml.too-large",
            Code::XmlTooDeep => "xml.too-deep",
            Code::XmlTooManyElements => "xml.too-many-elements",
            Code::XmlTooManyAttributes => "xml.too-many-attributes",
            Code::XsdRoot => "xsd.root",
            Code::XsdUnexpectedElement => "xsd.unexpected-element",
            Code::XsdMissingElement => "xsd.missing-element",
            Code::XsdTextNotAllowed => "xsd.text-not-allowed",
            Code::XsdElementInSimple => "xsd.element-in-simple",
            Code::XsdAttributeNotAllowed => "xsd.attribute-not-allowed",
            Code::XsdAttributeMissing => "xsd.attribute-missing",
            Code::XsdAttributeFixed => "xsd.attribute-fixed",
            Code::XsdVersie => "xsd.versie",
            Code::XsdDatatype => "xsd.datatype",
            Code::XsdEnumeration => "xsd.enumeration",
            Code::XsdPattern => "xsd.pattern",
            Code::XsdLength => "xsd.length",
            Code::XsdRange => "xsd.range",
            Code::XsdXsi => "xsd.xsi",
            Code::RegelBsnElfproef => "regel.bsn-elfproef",
            Code::RegelGeboortedatum => "regel.geboortedatum",
            Code::RegelMeetdatumToekomst => "regel.meetdatum-toekomst",
            Code::RegelVolgendeMeetdatum => "regel.volgende-meetdatum",
            Code::RegelGroeipotentieelOntbreekt => "regel.groeipotentieel-ontbreekt",
            Code::RegelGroeipotentieelNietVanToepassing => {
                "regel.groeipotentieel-niet-van-toepassing"
            }
            Code::RegelPotentietrede => "regel.potentietrede",
            Code::RegelUitstroomreden => "regel.uitstroomreden",
            Code::RegelReferentie => "regel.referentie",
            Code::RegelDubbel => "regel.dubbel",
            Code::RegelVraagOnbekend => "regel.vraag-onbekend",
            Code::RegelVraagNietBereikt => "regel.vraag-niet-bereikt",
            Code::RegelInstrumentPeriode => "regel.instrument-periode",
            Code::BerichtSoort => "bericht.soort",
            Code::BerichtConflict => "bericht.conflict",
            Code::ReferentieOnbekend => "referentie.onbekend",
            Code::ReferentieSoort => "referentie.soort",
            Code::ReferentieAndereClient => "referentie.andere-client",
            Code::ReferentieVervallen => "referentie.vervallen",
            Code::BerichtOnbekend => "bericht.onbekend",
            Code::OpslagOnbeschikbaar => "opslag.onbeschikbaar",
            Code::SignaalTrajectZonderGroeipotentieel => "signaal.traject-zonder-groeipotentieel",
            Code::SignaalTrajectOpTrede1Of2 => "signaal.traject-op-trede-1-of-2",
            Code::SignaalTrede6MetOndersteuning => "signaal.trede-6-met-ondersteuning",
            Code::SignaalTrede5ZonderInstrument => "signaal.trede-5-zonder-instrument",
            Code::SignaalVrijstellingMetGroeipotentieel => {
                "signaal.vrijstelling-met-groeipotentieel"
            }
            Code::SignaalTredeWijktAfVanVragenlijst => "signaal.trede-wijkt-af-van-vragenlijst",
            Code::SignaalVragenlijstOnvolledig => "signaal.vragenlijst-onvolledig",
            Code::SignaalGroeipotentieelNietVanToepassing => {
                "signaal.groeipotentieel-niet-van-toepassing"
            }
            Code::SignaalGroeipotentieelAfgeleid => "signaal.groeipotentieel-afgeleid",
            Code::SignaalSubgroepOntbreekt => "signaal.subgroep-ontbreekt",
            Code::SignaalGeenUitkeringMetUitkering => "signaal.geen-uitkering-met-uitkering",
            Code::SignaalSubgroep6Leeftijd => "signaal.subgroep-6-leeftijd",
            Code::SignaalSubgroepZonderInkomen => "signaal.subgroep-zonder-inkomen",
            Code::SignaalJongerDan18 => "signaal.jonger-dan-18",
            Code::SignaalUitstroomredenOntbreekt => "signaal.uitstroomreden-ontbreekt",
            Code::SignaalInstrumentenTegenKenmerken => "signaal.instrumenten-tegen-kenmerken",
            Code::SignaalAndereOrganisatie => "signaal.andere-organisatie",
        }
    }

    /// Looks a code up by its public string.
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// Which layer reports this code.
    pub fn layer(self) -> Layer {
        let s = self.as_str();
        if s.starts_with("http.") || s.starts_with("auth.") {
            Layer::Http
        } else if s.starts_with("xml.") {
            Layer::Xml
        } else if s.starts_with("xsd.") {
            Layer::Schema
        } else if s.starts_with("regel.") {
            Layer::Domain
        } else if s.starts_with("bericht.")
            || s.starts_with("referentie.")
            || s.starts_with("opslag.")
        {
            Layer::Store
        } else {
            Layer::Warning
        }
    }
}

impl From<Code> for &'static str {
    fn from(c: Code) -> Self {
        c.as_str()
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a code comes from; decides e.g. the HTTP status of a rejection.
/// Ordered as the pipeline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    /// The request, before its body is read as XML.
    Http,
    Xml,
    Schema,
    Domain,
    /// Checks against what is stored (repeats, references).
    Store,
    Warning,
}

/// Where in the document something was found. Line and column are 1-based;
/// the column counts characters, not bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    /// The position of byte `offset` in `source`. Only called when reporting,
    /// so a linear scan is fine.
    pub fn of_offset(source: &[u8], offset: usize) -> Position {
        let offset = offset.min(source.len());
        let before = &source[..offset];
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        // Count characters: every byte that is not a UTF-8 continuation byte.
        let column = before[line_start..]
            .iter()
            .filter(|&&b| (b & 0xC0) != 0x80)
            .count()
            + 1;
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

/// One error or warning: a code, a human-readable message, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Melding {
    pub code: Code,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Melding {
    pub fn new(code: Code, message: impl Into<String>) -> Melding {
        Melding {
            code,
            message: message.into(),
            line: None,
            column: None,
            path: None,
        }
    }

    pub fn at(mut self, position: Position) -> Melding {
        self.line = Some(position.line);
        self.column = Some(position.column);
        self
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Melding {
        self.path = Some(path.into());
        self
    }
}

impl fmt::Display for Melding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, " {line}:{column}")?;
        }
        if let Some(path) = &self.path {
            write!(f, " {path}")?;
        }
        write!(f, ": {}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_strings() {
        for &code in Code::ALL {
            assert_eq!(Code::parse(code.as_str()), Some(code));
        }
        assert_eq!(Code::parse("xsd.nonsense"), None);
    }

    #[test]
    fn position_counts_characters_not_bytes() {
        let src = "ab\nëé<x".as_bytes();
        let offset = src.iter().position(|&b| b == b'<').unwrap();
        assert_eq!(
            Position::of_offset(src, offset),
            Position { line: 2, column: 3 }
        );
        assert_eq!(Position::of_offset(src, 0), Position { line: 1, column: 1 });
    }
}
