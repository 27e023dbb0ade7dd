//! What a store keeps for each accepted message beside its raw bytes, and
//! the admission rules that need stored state. Engine-independent.

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::{Document, Metinggegevens};
use crate::report::{Code, Melding};
use crate::time::Moment;

/// The kind of an inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Soort {
    Meting,
    Correctie,
    Intrekking,
}

impl Soort {
    pub fn as_str(self) -> &'static str {
        match self {
            Soort::Meting => "Meting",
            Soort::Correctie => "Correctie",
            Soort::Intrekking => "Intrekking",
        }
    }
}

/// The parsed form of a measurement that reports and history need, so they
/// never have to re-read the XML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetingRij {
    pub meetdatum: String,
    /// Codes as in the message: trede "0"-"6" or "9", groeipotentieel "+"
    /// or "0", potentietrede "1"-"6", subgroepen "1"-"7".
    pub trede: String,
    pub groeipotentieel: Option<String>,
    pub potentietrede: Option<String>,
    pub medewerker: String,
    pub afdeling: Option<String>,
    pub team: Option<String>,
    pub subgroepen: Vec<String>,
}

impl MetingRij {
    fn of(g: &Metinggegevens) -> MetingRij {
        MetingRij {
            meetdatum: g.werkproces.meetdatum.to_string(),
            trede: g.plaatsing.trede().as_str().to_string(),
            groeipotentieel: g
                .plaatsing
                .groeipotentieel()
                .map(|x| x.as_str().to_string()),
            potentietrede: g.plaatsing.potentietrede().map(|p| p.as_str().to_string()),
            medewerker: g.werkproces.medewerker.clone(),
            afdeling: g.werkproces.afdeling.clone(),
            team: g.werkproces.team.clone(),
            subgroepen: g
                .subgroepen
                .as_ref()
                .map(|s| s.nationaal.iter().map(|x| x.as_str().to_string()).collect())
                .unwrap_or_default(),
        }
    }
}

/// A warning as stored with its message, so that a repeat gets the very
/// acknowledgement the original got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waarschuwing {
    pub code: String,
    pub omschrijving: String,
    pub regel: Option<u32>,
    pub kolom: Option<u32>,
    pub pad: Option<String>,
}

impl From<&Melding> for Waarschuwing {
    fn from(m: &Melding) -> Self {
        Waarschuwing {
            code: m.code.as_str().to_string(),
            omschrijving: m.message.clone(),
            regel: m.line,
            kolom: m.column,
            pad: m.path.clone(),
        }
    }
}

/// One accepted message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub volgnummer: u64,
    pub bericht_id: String,
    pub soort: Soort,
    /// Transaction time: when ladderpost accepted it.
    pub ontvangen: Moment,
    pub gemeente: String,
    pub bsn: String,
    /// The message a Correctie replaces or an Intrekking withdraws.
    pub verwijst_naar: Option<String>,
    /// For a Meting or Correctie: the measurement.
    pub meting: Option<MetingRij>,
    pub waarschuwingen: Vec<Waarschuwing>,
    /// Byte range of the root element in the original: feeds and histories
    /// embed the message without re-reading it.
    #[serde(default)]
    pub wortel: (u32, u32),
}

impl Record {
    pub fn receipt(&self) -> Receipt {
        Receipt {
            bericht_id: self.bericht_id.clone(),
            volgnummer: self.volgnummer,
            ontvangen: self.ontvangen,
            waarschuwingen: self.waarschuwingen.clone(),
        }
    }
}

/// What an acknowledgement reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub bericht_id: String,
    pub volgnummer: u64,
    pub ontvangen: Moment,
    pub waarschuwingen: Vec<Waarschuwing>,
}

/// The stored facts of an inbound message before it gets its number.
pub struct Draft {
    pub wortel: (u32, u32),
    pub bericht_id: String,
    pub soort: Soort,
    pub gemeente: String,
    pub bsn: String,
    pub verwijst_naar: Option<String>,
    pub meting: Option<MetingRij>,
    pub waarschuwingen: Vec<Waarschuwing>,
}

impl Draft {
    /// Only Meting, Correctie and Intrekking can be sent in.
    pub fn of(
        document: &Document,
        warnings: &[Melding],
        wortel: std::ops::Range<usize>,
    ) -> Result<Draft, StoreError> {
        let (soort, envelop, verwijst_naar, gegevens, bsn) = match document {
            Document::Meting(m) => (
                Soort::Meting,
                &m.envelop,
                None,
                Some(&m.gegevens),
                m.gegevens.client.bsn.as_str(),
            ),
            Document::Correctie(c) => (
                Soort::Correctie,
                &c.envelop,
                Some(c.corrigeert.as_str().to_string()),
                Some(&c.gegevens),
                c.gegevens.client.bsn.as_str(),
            ),
            Document::Intrekking(i) => (
                Soort::Intrekking,
                &i.envelop,
                Some(i.trekt_in.as_str().to_string()),
                None,
                i.bsn.as_str(),
            ),
            other => {
                return Err(StoreError::rejected(
                    Code::BerichtSoort,
                    format!(
                        "{} is a reply of ladderpost, not a message to send in",
                        other.kind()
                    ),
                ))
            }
        };
        Ok(Draft {
            wortel: (
                u32::try_from(wortel.start).unwrap_or(0),
                u32::try_from(wortel.end).unwrap_or(0),
            ),
            bericht_id: envelop.bericht_id.as_str().to_string(),
            soort,
            gemeente: envelop.gemeente.as_str().to_string(),
            bsn: bsn.to_string(),
            verwijst_naar,
            meting: gegevens.map(MetingRij::of),
            waarschuwingen: warnings.iter().map(Waarschuwing::from).collect(),
        })
    }

    pub fn into_record(self, volgnummer: u64, ontvangen: Moment) -> Record {
        Record {
            volgnummer,
            bericht_id: self.bericht_id,
            soort: self.soort,
            ontvangen,
            gemeente: self.gemeente,
            bsn: self.bsn,
            verwijst_naar: self.verwijst_naar,
            meting: self.meting,
            waarschuwingen: self.waarschuwingen,
            wortel: self.wortel,
        }
    }
}

/// Checks a Correctie's or Intrekking's reference against what is stored:
/// `target` is the named message (if known), `client` every stored record
/// of the draft's client. Rejections name the rule; none reveals anything
/// of another municipality's client.
pub(crate) fn check_reference(
    draft: &Draft,
    target: Option<&Record>,
    client: &[Record],
) -> Result<(), StoreError> {
    let Some(id) = &draft.verwijst_naar else {
        return Ok(());
    };
    let verb = match draft.soort {
        Soort::Correctie => "corrected",
        _ => "withdrawn",
    };
    // Another municipality's message is reported exactly like an unknown
    // one: a sender learns nothing about clients that are not its own.
    let target = match target {
        Some(t) if t.gemeente == draft.gemeente => t,
        _ => {
            return Err(StoreError::rejected(
                Code::ReferentieOnbekend,
                format!("message {id} cannot be {verb}: no message with that id is known for municipality {}", draft.gemeente),
            ))
        }
    };
    if target.soort == Soort::Intrekking {
        return Err(StoreError::rejected(
            Code::ReferentieSoort,
            format!("message {id} is an Intrekking; only a Meting or Correctie can be {verb}"),
        ));
    }
    if target.bsn != draft.bsn {
        return Err(StoreError::rejected(
            Code::ReferentieAndereClient,
            format!(
                "message {id} concerns another client; withdraw it and send a new Meting instead"
            ),
        ));
    }
    if let Some(later) = client
        .iter()
        .find(|r| r.verwijst_naar.as_deref() == Some(id.as_str()))
    {
        let what = match later.soort {
            Soort::Correctie => "corrected",
            _ => "withdrawn",
        };
        return Err(StoreError::rejected(
            Code::ReferentieVervallen,
            format!("message {id} was already {what} by message {}; only the current version can be {verb}", later.bericht_id),
        ));
    }
    Ok(())
}
