//! What a store keeps for each accepted message beside its raw bytes, and
//! the admission rules that need stored state. Engine-independent.

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::diagnostics::{Code, Melding};
use crate::domain::{Document, Metinggegevens};
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
    /// What reports group and count by; absent in records stored before
    /// reports (their timelines are built from the original bytes).
    #[serde(default)]
    pub geboortedatum: String,
    #[serde(default)]
    pub geslacht: Option<String>,
    #[serde(default)]
    pub inkomenssituatie: Vec<String>,
    /// Items 22 and 23: an instrument in use, one deployed.
    #[serde(default)]
    pub instrument_in_gebruik: Option<bool>,
    #[serde(default)]
    pub instrument_ingezet: Option<bool>,
    #[serde(default)]
    pub geplande_meetdatum: Option<String>,
    #[serde(default)]
    pub uiterste_meetdatum: Option<String>,
}

impl MetingRij {
    pub(crate) fn of(g: &Metinggegevens) -> MetingRij {
        let kenmerken = g.klantkenmerken.as_ref();
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
            geboortedatum: g.client.geboortedatum.to_string(),
            geslacht: g.client.geslacht.map(|x| x.as_str().to_string()),
            inkomenssituatie: kenmerken
                .map(|k| {
                    k.inkomenssituatie
                        .iter()
                        .map(|x| x.as_str().to_string())
                        .collect()
                })
                .unwrap_or_default(),
            instrument_in_gebruik: kenmerken.and_then(|k| k.instrument_in_gebruik),
            instrument_ingezet: kenmerken.and_then(|k| k.instrument_ingezet),
            geplande_meetdatum: g
                .werkproces
                .geplande_meetdatum
                .as_ref()
                .map(|d| d.to_string()),
            uiterste_meetdatum: g
                .werkproces
                .uiterste_meetdatum
                .as_ref()
                .map(|d| d.to_string()),
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
    /// The authenticated organisation that sent it, and its credential;
    /// empty in records stored before senders were kept.
    #[serde(default)]
    pub organisatie: String,
    #[serde(default)]
    pub sleutel: String,
    /// The organisation whose measurement this is: the sender of the
    /// Meting a chain of corrections started with. Only it, or an
    /// organisation it authorised, may correct or withdraw it.
    #[serde(default)]
    pub eigenaar: String,
    /// The volgnummer of the message `verwijst_naar` names (message ids
    /// are unique per sender only).
    #[serde(default)]
    pub vervangt: Option<u64>,
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

    /// The volgnummer of the message this one refers to; `earlier` are the
    /// client's records before it, needed only for records stored before
    /// references were kept by number (their ids were unique then).
    pub fn target<'a>(&self, earlier: impl DoubleEndedIterator<Item = &'a Record>) -> Option<u64> {
        let id = self.verwijst_naar.as_deref()?;
        self.vervangt.or_else(|| {
            earlier
                .rev()
                .find(|r| r.bericht_id == id && r.volgnummer < self.volgnummer)
                .map(|r| r.volgnummer)
        })
    }
}

/// Who sent a message in, as authenticated: what acceptance needs to scope
/// ids and references.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sender {
    pub organisatie: String,
    pub sleutel: String,
    /// The organisations that authorised this one to correct and withdraw
    /// their measurements in the message's municipality.
    pub namens: Vec<String>,
}

impl Sender {
    /// Whether a stored message with this id and sender is the same
    /// message: ids are unique per sender (records without one, stored
    /// before senders were kept, share one space with everyone's).
    pub fn same_id_space(&self, r: &Record) -> bool {
        r.organisatie.is_empty() || r.organisatie == self.organisatie
    }

    /// Whether this sender may correct or withdraw `r`.
    fn may_change(&self, r: &Record) -> bool {
        r.eigenaar.is_empty() || r.eigenaar == self.organisatie || self.namens.contains(&r.eigenaar)
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

    /// The record, once acceptance has numbered it and resolved its
    /// reference (`target`).
    pub fn into_record(
        self,
        volgnummer: u64,
        ontvangen: Moment,
        sender: &Sender,
        target: Option<&Record>,
    ) -> Record {
        Record {
            organisatie: sender.organisatie.clone(),
            sleutel: sender.sleutel.clone(),
            eigenaar: match target {
                Some(t) if !t.eigenaar.is_empty() => t.eigenaar.clone(),
                _ => sender.organisatie.clone(),
            },
            vervangt: target.map(|t| t.volgnummer),
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

/// Resolves and checks a Correctie's or Intrekking's reference against
/// what is stored, returning the message it names (`None`: no reference).
/// The named message is looked for only among what the sender may change:
/// its own measurements and those of organisations that authorised it, in
/// the draft's municipality. `client` is every stored record of the
/// draft's client, in acceptance order; `own` the sender's own message
/// with that id, whatever its client. Rejections name the rule; none
/// reveals anything of a message the sender may not change.
pub(crate) fn check_reference<'a>(
    draft: &Draft,
    sender: &Sender,
    client: &'a [Record],
    own: Option<&'a Record>,
) -> Result<Option<&'a Record>, StoreError> {
    let Some(id) = &draft.verwijst_naar else {
        return Ok(None);
    };
    let verb = match draft.soort {
        Soort::Correctie => "corrected",
        _ => "withdrawn",
    };
    let mut candidates: Vec<&Record> = client
        .iter()
        .filter(|r| &r.bericht_id == id && r.gemeente == draft.gemeente && sender.may_change(r))
        .collect();
    if candidates.len() > 1 {
        // Ids are unique per sender: the sender's own one first.
        candidates.retain(|r| sender.same_id_space(r));
    }
    let target = match candidates[..] {
        [one] => one,
        // The sender's own message about another client: reported as such.
        // (About this client it was among the candidates, unless the
        // sender may no longer change that measurement.)
        [] => match own.filter(|o| o.gemeente == draft.gemeente && o.bsn != draft.bsn) {
            Some(o) => o,
            // Unknown, another municipality's or another organisation's:
            // answered alike, so a sender learns nothing of them.
            None => {
                return Err(StoreError::rejected(
                    Code::ReferentieOnbekend,
                    format!(
                        "message {id} cannot be {verb}: no message with that id that you may {} is known for municipality {}",
                        if verb == "corrected" { "correct" } else { "withdraw" },
                        draft.gemeente
                    ),
                ))
            }
        },
        _ => {
            return Err(StoreError::rejected(
                Code::ReferentieOnbekend,
                format!("message {id} cannot be {verb}: organisations that authorised you each sent a message with that id; ask the municipality's administrator"),
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
    if let Some((_, later)) = client.iter().enumerate().find(|(i, r)| {
        r.verwijst_naar.is_some() && r.target(client[..*i].iter()) == Some(target.volgnummer)
    }) {
        let what = match later.soort {
            Soort::Correctie => "corrected",
            _ => "withdrawn",
        };
        return Err(StoreError::rejected(
            Code::ReferentieVervallen,
            format!("message {id} was already {what} by message {}; only the current version can be {verb}", later.bericht_id),
        ));
    }
    Ok(Some(target))
}
