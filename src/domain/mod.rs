//! The domain layer: schema-valid documents become typed messages.
//!
//! Why this layer exists: the XSD says what a message may look like, not
//! what it may mean. A `Bsn` that fails the 11-check, a measurement dated
//! after it was sent, growth potential on rung 6 — all schema-valid, all
//! wrong. Here every value is parsed into a type that can only hold valid
//! values ("parse, don't validate"): once a [`Document`] exists, it is a
//! message ladderpost accepts, and downstream code (store, feed, reports)
//! never checks again.
//!
//! Where things live:
//! - [`ids`], [`datum`], [`codes`]: the newtypes and code lists;
//! - [`ladder`]: the position on the ladder, [`Plaatsing`];
//! - [`bericht`]: the messages ([`Meting`], [`Correctie`], [`Intrekking`], and
//!   the replies [`Ontvangstbevestiging`], [`Foutbericht`]);
//! - [`rules`]: every domain rule and consistency warning, with its source;
//! - [`vragenlijst`]: the questionnaires as data, and the rung their answers
//!   give (with the rules and warnings about the answers);
//! - `read`: the thin mapping from the schema's tree to these types.

pub mod bericht;
pub mod codes;
pub mod datum;
pub mod ids;
pub mod ladder;
mod read;
pub mod rules;
pub mod vragenlijst;

pub use bericht::{
    Adres, Afzender, Antwoord, BerichtMelding, Client, Correctie, Envelop, Foutbericht, Intrekking,
    Klantkenmerken, LokaalElement, Meting, Metinggegevens, Ontvangstbevestiging, Subgroepen,
    Vragenlijst, Werkproces,
};
pub use codes::{
    Aanleiding, Geslacht, Groeipotentieel, Inkomenssituatie, LadderTrede, Potentietrede, Subgroep,
    Trede, Uitstroomreden, Vraagnummer, VragenlijstVersie,
};
pub use datum::{Datum, Tijdstip, Timezone};
pub use ids::{BerichtId, Bsn, Gemeentecode, Postcode};
pub use ladder::{Ladderplaats, Plaatsing};

use crate::diagnostics::Melding;
use crate::schema::ValidDocument;

/// A message that passed the schema and every domain rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Meting(Meting),
    Correctie(Correctie),
    Intrekking(Intrekking),
    Ontvangstbevestiging(Ontvangstbevestiging),
    Foutbericht(Foutbericht),
    /// A listing ladderpost produces (`Validatieresultaat`,
    /// `Meetgeschiedenis`, `Berichtenfeed`): schema-valid; no domain rules
    /// apply to it.
    Overzicht(&'static str),
}

impl Document {
    /// Reads a schema-valid document into its typed message.
    ///
    /// On success, returns the message and the consistency warnings it
    /// raised (`signaal.*`, see [`rules`]). Otherwise returns *every* rule
    /// violation found (`regel.*`), each at the position and path of the
    /// element concerned, in document order. Should the tree lack something
    /// the schema guarantees, that is reported as an `xsd.*` error; this
    /// never panics.
    pub fn from_valid(doc: &ValidDocument<'_>) -> Result<(Document, Vec<Melding>), Vec<Melding>> {
        read::document(doc)
    }

    /// The root element's name: `Meting`, `Correctie`, `Intrekking`,
    /// `Ontvangstbevestiging` or `Foutbericht`.
    pub fn kind(&self) -> &'static str {
        match self {
            Document::Meting(_) => "Meting",
            Document::Correctie(_) => "Correctie",
            Document::Intrekking(_) => "Intrekking",
            Document::Ontvangstbevestiging(_) => "Ontvangstbevestiging",
            Document::Foutbericht(_) => "Foutbericht",
            Document::Overzicht(kind) => kind,
        }
    }

    /// The message's id: the envelope's for inbound messages, the
    /// acknowledged or rejected message's for replies. `None` only for a
    /// Foutbericht about a message whose id could not be read.
    pub fn bericht_id(&self) -> Option<&BerichtId> {
        match self {
            Document::Ontvangstbevestiging(o) => Some(&o.bericht_id),
            Document::Foutbericht(f) => f.bericht_id.as_ref(),
            _ => self.envelop().map(|e| &e.bericht_id),
        }
    }

    /// The envelope of an inbound message (Meting, Correctie, Intrekking).
    pub fn envelop(&self) -> Option<&Envelop> {
        match self {
            Document::Meting(m) => Some(&m.envelop),
            Document::Correctie(c) => Some(&c.envelop),
            Document::Intrekking(i) => Some(&i.envelop),
            Document::Ontvangstbevestiging(_)
            | Document::Foutbericht(_)
            | Document::Overzicht(_) => None,
        }
    }

    /// The municipality an inbound message is about; replies name none.
    pub fn gemeente(&self) -> Option<&Gemeentecode> {
        self.envelop().map(|e| &e.gemeente)
    }

    /// The client's BSN, for inbound messages.
    pub fn bsn(&self) -> Option<&Bsn> {
        match self {
            Document::Meting(m) => Some(&m.gegevens.client.bsn),
            Document::Correctie(c) => Some(&c.gegevens.client.bsn),
            Document::Intrekking(i) => Some(&i.bsn),
            Document::Ontvangstbevestiging(_)
            | Document::Foutbericht(_)
            | Document::Overzicht(_) => None,
        }
    }

    /// The measurement data of a Meting or Correctie.
    pub fn metinggegevens(&self) -> Option<&Metinggegevens> {
        match self {
            Document::Meting(m) => Some(&m.gegevens),
            Document::Correctie(c) => Some(&c.gegevens),
            _ => None,
        }
    }
}
