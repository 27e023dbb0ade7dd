//! The typed messages: what a schema-valid document that also passed the
//! domain rules *is*.
//!
//! Why plain structs with public fields: every field already carries its own
//! proof (a `Bsn` passed the 11-check, a `Plaatsing` is consistent), and the
//! cross-field rules (dates in order, no duplicates, no self-reference) are
//! applied by [`super::Document::from_valid`], the only place these are built
//! from a message. Meting and Correctie share [`Metinggegevens`], as the
//! schema's `MetingGegevens` group does. Municipal extensions (local
//! subgroups and characteristics) are kept as the raw XML received, because
//! their content is the municipality's business, not ours.

use super::codes::{
    Aanleiding, Bedrag, Geslacht, Inkomenssituatie, Instrumentsoort, Subgroep, Vraagnummer,
    VragenlijstVersie,
};
use super::datum::{Datum, Tijdstip};
use super::ids::{BerichtId, Bsn, Gemeentecode, Postcode};
use super::ladder::Plaatsing;

/// Envelope of every inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelop {
    pub bericht_id: BerichtId,
    pub verzonden: Tijdstip,
    pub afzender: Afzender,
    pub gemeente: Gemeentecode,
    pub invoerder: Option<String>,
}

/// The sending organisation and application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Afzender {
    pub organisatie: String,
    /// The organisation's OIN (20 digits), if it has one.
    pub oin: Option<String>,
    pub applicatie: String,
}

/// Personal data of the client (items 1-9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub bsn: Bsn,
    pub achternaam: String,
    pub voornamen: Option<String>,
    pub voorletters: Option<String>,
    pub tussenvoegsel: Option<String>,
    pub geboortedatum: Datum,
    pub geslacht: Option<Geslacht>,
    pub adres: Option<Adres>,
}

/// A Dutch residential address (items 7-9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adres {
    pub straat: String,
    /// 1-99999.
    pub huisnummer: u32,
    pub huisnummertoevoeging: Option<String>,
    pub postcode: Postcode,
    pub woonplaats: String,
}

/// Work-process data (items 10-12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Werkproces {
    /// The measurement date: the valid time of the measurement.
    pub meetdatum: Datum,
    pub aanleiding: Option<Aanleiding>,
    /// Planned next measurement; after `meetdatum`.
    pub geplande_meetdatum: Option<Datum>,
    /// Latest next measurement; after `meetdatum`, not before the planned one.
    pub uiterste_meetdatum: Option<Datum>,
    pub medewerker: String,
    pub afdeling: Option<String>,
    pub team: Option<String>,
}

/// Additional client characteristics (items 15-23); each yes/no item is
/// `None` when the message does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Klantkenmerken {
    /// Item 15: without duplicates.
    pub inkomenssituatie: Vec<Inkomenssituatie>,
    pub startkwalificatie: Option<bool>,
    pub inburgeringsplichtig: Option<bool>,
    pub inburgeringsbehoeftig: Option<bool>,
    pub laaggeletterd: Option<bool>,
    pub vrijstelling_arbeidsplicht: Option<bool>,
    /// Item 20: the municipality's local code for the exemption.
    pub vrijstelling_arbeidsplicht_code: Option<String>,
    pub vrijstelling_inburgeringsplicht: Option<bool>,
    /// Item 22: a participation instrument is already in use.
    pub instrument_in_gebruik: Option<bool>,
    /// Item 23: an (additional or new) instrument is deployed.
    pub instrument_ingezet: Option<bool>,
}

/// The subgroups the client belongs to; not exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subgroepen {
    /// National subgroups, without duplicates.
    pub nationaal: Vec<Subgroep>,
    /// Local subgroups, in the municipality's own namespace.
    pub lokaal: Vec<LokaalElement>,
}

/// An element of a municipality's own namespace (a local subgroup or
/// characteristic), kept as received: ladderpost does not interpret it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LokaalElement {
    /// The element's namespace URI; the raw XML may rely on a declaration
    /// of an ancestor for it.
    pub namespace: String,
    /// The element's XML exactly as received.
    pub xml: String,
}

/// The questionnaire answers from which the rung was derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vragenlijst {
    pub versie: VragenlijstVersie,
    /// At most one answer per question.
    pub antwoorden: Vec<Antwoord>,
}

/// The answer to one question: yes (`true`) or no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Antwoord {
    pub vraag: Vraagnummer,
    pub ja: bool,
}

/// The data set of one measurement, shared by [`Meting`] and [`Correctie`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metinggegevens {
    pub client: Client,
    pub werkproces: Werkproces,
    pub plaatsing: Plaatsing,
    pub klantkenmerken: Option<Klantkenmerken>,
    pub subgroepen: Option<Subgroepen>,
    pub vragenlijst: Option<Vragenlijst>,
    pub toelichting: Option<String>,
    /// The municipality's own characteristics.
    pub lokale_kenmerken: Vec<LokaalElement>,
    /// Schema 1.1: the participation instruments; empty when not recorded.
    pub instrumenten: Vec<Instrument>,
}

/// Schema 1.1: one participation instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    pub soort: Instrumentsoort,
    pub aanbieder: Option<String>,
    pub begindatum: Datum,
    /// Not before `begindatum`; `None` while open-ended.
    pub einddatum: Option<Datum>,
    pub kosten: Option<Bedrag>,
}

impl Instrument {
    /// In use or deployed at `datum`: not ended before it (one that starts
    /// later is deployed at it).
    pub fn loopt_op(&self, datum: &Datum) -> bool {
        self.einddatum
            .as_ref()
            .is_none_or(|eind| !eind.is_before(datum))
    }
}

/// A new measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meting {
    pub envelop: Envelop,
    pub gegevens: Metinggegevens,
}

/// Replaces an earlier measurement with the complete corrected one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correctie {
    pub envelop: Envelop,
    /// The Meting or Correctie replaced; never this message itself.
    pub corrigeert: BerichtId,
    pub reden: Option<String>,
    pub gegevens: Metinggegevens,
}

/// Withdraws an earlier measurement entered in error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intrekking {
    pub envelop: Envelop,
    /// The Meting or Correctie withdrawn; never this message itself.
    pub trekt_in: BerichtId,
    /// The client of the withdrawn measurement, as a check.
    pub bsn: Bsn,
    pub reden: String,
}

/// ladderpost's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ontvangstbevestiging {
    pub bericht_id: BerichtId,
    /// When ladderpost stored the message (its transaction time).
    pub ontvangen: Tijdstip,
    pub volgnummer: u64,
    /// Whether this repeats the acknowledgement of an earlier identical
    /// message; absent in the message means `false`.
    pub herhaling: bool,
    pub waarschuwingen: Vec<BerichtMelding>,
}

/// ladderpost's error report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foutbericht {
    /// The rejected message's id, when it could be read.
    pub bericht_id: Option<BerichtId>,
    pub tijdstip: Tijdstip,
    pub fouten: Vec<BerichtMelding>,
}

/// An error or warning as carried inside a reply (schema type `Melding`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BerichtMelding {
    /// The code as written: it may be one this version does not know.
    pub code: String,
    pub omschrijving: String,
    pub regel: Option<u64>,
    pub kolom: Option<u64>,
    pub pad: Option<String>,
}
