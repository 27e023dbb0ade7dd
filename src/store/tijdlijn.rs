//! A client's timeline: per measurement version only what the reports
//! count and group by, kept by every engine beside the messages and
//! written in the same atomic write. Reports read one compact timeline per
//! client instead of every message (`crate::reports`).
//!
//! The timeline is bitemporal like [`crate::history`]: each version keeps
//! when it became known and, once a Correctie or Intrekking ended it, when
//! and by which message. So "as known now" and "as known at a moment" are
//! both read from it. [`Tijdlijn::of`] folds a client's records; engines
//! apply a round's new records to the stored timeline with [`apply_round`].
//! Both give the same timeline, which the tests check.
//!
//! Reports read a stored timeline in place as a [`TijdlijnRef`]: the same
//! postcard bytes (a `String` and a `&str` have one wire format), its
//! strings borrowed from them. A report reads a few fields of one or two
//! versions per client, and allocating every string of every version was
//! most of its time (docs/performance.md, "Reports (issue 14)").

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{MetingRij, Record, Soort, StoreError, Stored};
use crate::domain::Datum;
use crate::time::Moment;

/// One client's measurement versions, in acceptance order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tijdlijn {
    pub bsn: String,
    pub versies: Vec<Stip>,
}

/// One measurement version (a Meting or Correctie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stip {
    /// The message that carried it.
    pub volgnummer: u64,
    /// The message that began its chain (its own number for a Meting; a
    /// Correctie takes the place of what it corrects): of two versions
    /// measured on one day, the later chain counts.
    pub orde: u64,
    pub gemeente: String,
    /// Valid time, as a day number `yyyymmdd`.
    pub meetdatum: u32,
    /// Transaction time: when ladderpost accepted it.
    pub bekend: Moment,
    /// Set once a later message replaced or withdrew it.
    pub einde: Option<Einde>,
    /// 0-6 or 9.
    pub trede: u8,
    /// Growth potential `+`.
    pub groeipotentieel: bool,
    /// An instrument in use or deployed (items 22, 23); `None` when the
    /// message records neither.
    pub instrument: Option<bool>,
    pub medewerker: String,
    pub team: Option<String>,
    pub afdeling: Option<String>,
    /// National subgroups 1-7.
    pub subgroepen: Vec<u8>,
    pub inkomenssituatie: Vec<String>,
    pub geslacht: Option<String>,
    /// `yyyymmdd`, 0 when unknown.
    pub geboortedatum: u32,
    pub geplande_meetdatum: Option<u32>,
    pub uiterste_meetdatum: Option<u32>,
    /// The `signaal.*` warnings its message raised.
    pub signalen: Vec<String>,
}

/// How and when a version ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Einde {
    /// The Correctie or Intrekking that ended it.
    pub door: u64,
    pub moment: Moment,
    pub ingetrokken: bool,
}

/// Which view of the history a report takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Zicht {
    /// Messages above this number are not durable yet: left out.
    pub tot_en_met: u64,
    /// As known at this moment; `None`: as known now.
    pub peilmoment: Option<Moment>,
}

impl Zicht {
    fn sees(&self, volgnummer: u64, moment: Moment) -> bool {
        volgnummer <= self.tot_en_met && self.peilmoment.is_none_or(|p| moment <= p)
    }
}

/// `yyyymmdd` of a date as written; `None` when unreadable or before the
/// year 1.
pub fn dagnummer(datum: &str) -> Option<u32> {
    let d = Datum::parse(datum).ok()?;
    let year = u32::try_from(d.year()).ok()?;
    Some(year * 10_000 + u32::from(d.month()) * 100 + u32::from(d.day()))
}

impl Stip {
    fn of(record: &Record, rij: &MetingRij) -> Stip {
        let instrument = match (rij.instrument_in_gebruik, rij.instrument_ingezet) {
            (None, None) => None,
            (a, b) => Some(a == Some(true) || b == Some(true)),
        };
        Stip {
            volgnummer: record.volgnummer,
            orde: record.volgnummer,
            gemeente: record.gemeente.clone(),
            meetdatum: dagnummer(&rij.meetdatum).unwrap_or(0),
            bekend: record.ontvangen,
            einde: None,
            trede: rij.trede.parse().unwrap_or(0),
            groeipotentieel: rij.groeipotentieel.as_deref() == Some("+"),
            instrument,
            medewerker: rij.medewerker.clone(),
            team: rij.team.clone(),
            afdeling: rij.afdeling.clone(),
            subgroepen: rij
                .subgroepen
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect(),
            inkomenssituatie: rij.inkomenssituatie.clone(),
            geslacht: rij.geslacht.clone(),
            geboortedatum: dagnummer(&rij.geboortedatum).unwrap_or(0),
            geplande_meetdatum: rij.geplande_meetdatum.as_deref().and_then(dagnummer),
            uiterste_meetdatum: rij.uiterste_meetdatum.as_deref().and_then(dagnummer),
            signalen: record
                .waarschuwingen
                .iter()
                .filter(|w| w.code.starts_with("signaal."))
                .map(|w| w.code.clone())
                .collect(),
        }
    }
}

impl Tijdlijn {
    /// The timeline of a client's records (in acceptance order). Records
    /// stored before reports lack some facts; those are read again from
    /// the original bytes.
    pub fn of(bsn: &str, client: &[Stored]) -> Tijdlijn {
        let mut t = Tijdlijn {
            bsn: bsn.to_string(),
            versies: Vec::new(),
        };
        for (i, s) in client.iter().enumerate() {
            let earlier = client[..i].iter().map(|s| &s.record);
            let target = s.record.target(earlier);
            let rij = match &s.record.meting {
                Some(rij) if rij.geboortedatum.is_empty() => match reread(s) {
                    Some(full) => Some(full),
                    None => {
                        tracing::warn!(
                            volgnummer = s.record.volgnummer,
                            "a stored message could not be read again; its timeline lacks birth date, sex, income, instruments and planning"
                        );
                        Some(rij.clone())
                    }
                },
                other => other.clone(),
            };
            t.apply(&s.record, rij.as_ref(), target);
        }
        t
    }

    /// Applies one newly stored record: a version added, and the one a
    /// Correctie or Intrekking names (`target`) ended.
    pub fn apply(&mut self, record: &Record, rij: Option<&MetingRij>, target: Option<u64>) {
        let mut orde = record.volgnummer;
        if let Some(target) = target {
            if let Some(v) = self.versies.iter_mut().find(|v| v.volgnummer == target) {
                v.einde = Some(Einde {
                    door: record.volgnummer,
                    moment: record.ontvangen,
                    ingetrokken: record.soort == Soort::Intrekking,
                });
                orde = v.orde;
            }
        }
        if let (Soort::Meting | Soort::Correctie, Some(rij)) = (record.soort, rij) {
            self.versies.push(Stip {
                orde,
                ..Stip::of(record, rij)
            });
        }
    }

    /// The same timeline as a report reads it.
    pub fn view(&self) -> TijdlijnRef<'_> {
        TijdlijnRef {
            bsn: &self.bsn,
            versies: self.versies.iter().map(Stip::view).collect(),
        }
    }

    /// The municipalities it has versions in, each once, in code order.
    pub fn gemeenten(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.versies.iter().map(|v| v.gemeente.as_str()).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        postcard::to_allocvec(self).map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    pub fn decode(bytes: &[u8]) -> Result<Tijdlijn, StoreError> {
        postcard::from_bytes(bytes)
            .map_err(|e| StoreError::Unavailable(format!("a stored timeline is unreadable: {e}")))
    }
}

/// A stored timeline read in place, as reports read it: [`Tijdlijn`]'s
/// fields in [`Tijdlijn`]'s order, its strings borrowed from the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TijdlijnRef<'a> {
    pub bsn: &'a str,
    #[serde(borrow)]
    pub versies: Vec<StipRef<'a>>,
}

/// A [`Stip`] read in place. The field order is the wire format: it must
/// stay [`Stip`]'s (the tests decode one as the other).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StipRef<'a> {
    pub volgnummer: u64,
    pub orde: u64,
    pub gemeente: &'a str,
    pub meetdatum: u32,
    pub bekend: Moment,
    pub einde: Option<Einde>,
    pub trede: u8,
    pub groeipotentieel: bool,
    pub instrument: Option<bool>,
    pub medewerker: &'a str,
    #[serde(borrow)]
    pub team: Option<&'a str>,
    #[serde(borrow)]
    pub afdeling: Option<&'a str>,
    /// A `Vec<u8>`'s postcard form is its length and its bytes, which is
    /// also a byte string's: read in place.
    pub subgroepen: &'a [u8],
    #[serde(borrow)]
    pub inkomenssituatie: Vec<&'a str>,
    #[serde(borrow)]
    pub geslacht: Option<&'a str>,
    pub geboortedatum: u32,
    pub geplande_meetdatum: Option<u32>,
    pub uiterste_meetdatum: Option<u32>,
    #[serde(borrow)]
    pub signalen: Vec<&'a str>,
}

impl Stip {
    fn view(&self) -> StipRef<'_> {
        StipRef {
            volgnummer: self.volgnummer,
            orde: self.orde,
            gemeente: &self.gemeente,
            meetdatum: self.meetdatum,
            bekend: self.bekend,
            einde: self.einde,
            trede: self.trede,
            groeipotentieel: self.groeipotentieel,
            instrument: self.instrument,
            medewerker: &self.medewerker,
            team: self.team.as_deref(),
            afdeling: self.afdeling.as_deref(),
            subgroepen: &self.subgroepen,
            inkomenssituatie: self.inkomenssituatie.iter().map(String::as_str).collect(),
            geslacht: self.geslacht.as_deref(),
            geboortedatum: self.geboortedatum,
            geplande_meetdatum: self.geplande_meetdatum,
            uiterste_meetdatum: self.uiterste_meetdatum,
            signalen: self.signalen.iter().map(String::as_str).collect(),
        }
    }
}

impl StipRef<'_> {
    /// Whether this version holds in `zicht`.
    pub fn geldig(&self, zicht: &Zicht) -> bool {
        zicht.sees(self.volgnummer, self.bekend)
            && self.einde.is_none_or(|e| !zicht.sees(e.door, e.moment))
    }

    fn to_stip(&self) -> Stip {
        Stip {
            volgnummer: self.volgnummer,
            orde: self.orde,
            gemeente: self.gemeente.to_string(),
            meetdatum: self.meetdatum,
            bekend: self.bekend,
            einde: self.einde,
            trede: self.trede,
            groeipotentieel: self.groeipotentieel,
            instrument: self.instrument,
            medewerker: self.medewerker.to_string(),
            team: self.team.map(str::to_string),
            afdeling: self.afdeling.map(str::to_string),
            subgroepen: self.subgroepen.to_vec(),
            inkomenssituatie: self
                .inkomenssituatie
                .iter()
                .map(|s| s.to_string())
                .collect(),
            geslacht: self.geslacht.map(str::to_string),
            geboortedatum: self.geboortedatum,
            geplande_meetdatum: self.geplande_meetdatum,
            uiterste_meetdatum: self.uiterste_meetdatum,
            signalen: self.signalen.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl<'a> TijdlijnRef<'a> {
    /// Reads stored bytes ([`Tijdlijn::encode`]) in place.
    pub fn decode(bytes: &'a [u8]) -> Result<TijdlijnRef<'a>, StoreError> {
        postcard::from_bytes(bytes)
            .map_err(|e| StoreError::Unavailable(format!("a stored timeline is unreadable: {e}")))
    }

    /// The client's state at `datum` (`yyyymmdd`): its latest valid
    /// version with a measurement date on or before it; of two on one day
    /// the one whose chain began later ([`Stip::orde`]).
    pub fn toestand(&self, datum: u32, zicht: &Zicht) -> Option<&StipRef<'a>> {
        self.versies
            .iter()
            .filter(|v| v.meetdatum <= datum && v.geldig(zicht))
            .max_by_key(|v| (v.meetdatum, v.orde))
    }

    /// The first of its municipalities in code order; `None` while it has
    /// no versions.
    pub fn eerste_gemeente(&self) -> Option<&'a str> {
        self.versies.iter().map(|v| v.gemeente).min()
    }

    /// The municipalities it has versions in, each once, in code order.
    pub fn gemeenten(&self) -> Vec<&'a str> {
        let mut out: Vec<&str> = self.versies.iter().map(|v| v.gemeente).collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// An owned copy, for comparing and writing.
    pub fn to_tijdlijn(&self) -> Tijdlijn {
        Tijdlijn {
            bsn: self.bsn.to_string(),
            versies: self.versies.iter().map(StipRef::to_stip).collect(),
        }
    }
}

/// The facts of a stored measurement that records stored before reports
/// lack, read again from its original bytes. Schema validity is all it
/// needs: a rule added since (a message accepted then may break it now)
/// must not lose a client's facts.
fn reread(s: &Stored) -> Option<MetingRij> {
    let mut rij = s.record.meting.clone()?;
    let tree = crate::validate::validate_schema(&s.raw).ok()?;
    let root = tree.root();
    let (client, werkproces) = (root.child("Client")?, root.child("Werkproces")?);
    let kenmerken = root.child("Klantkenmerken");
    let ja = |name: &str| {
        kenmerken
            .and_then(|k| k.child_value(name))
            .map(|v| v == "true" || v == "1")
    };
    rij.geboortedatum = client.child_value("Geboortedatum")?.to_string();
    rij.geslacht = client.child_value("Geslacht").map(str::to_string);
    rij.inkomenssituatie = kenmerken
        .map(|k| {
            k.children_named("Inkomenssituatie")
                .map(|e| e.value().to_string())
                .collect()
        })
        .unwrap_or_default();
    rij.instrument_in_gebruik = ja("InstrumentInGebruik");
    rij.instrument_ingezet = ja("InstrumentIngezet");
    rij.geplande_meetdatum = werkproces
        .child_value("GeplandeMeetdatum")
        .map(str::to_string);
    rij.uiterste_meetdatum = werkproces
        .child_value("UitersteMeetdatum")
        .map(str::to_string);
    Some(rij)
}

/// The timelines a round of newly stored records changes, in the order the
/// round first touched each client: `load` reads a client's stored
/// timeline (once per client), and the records are applied in order.
pub(crate) fn apply_round<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    mut load: impl FnMut(&str) -> Result<Option<Tijdlijn>, StoreError>,
) -> Result<Vec<Tijdlijn>, StoreError> {
    let mut out: Vec<Tijdlijn> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for record in records {
        let i = match index.get(&record.bsn) {
            Some(&i) => i,
            None => {
                let t = load(&record.bsn)?.unwrap_or_else(|| Tijdlijn {
                    bsn: record.bsn.clone(),
                    versies: Vec::new(),
                });
                out.push(t);
                index.insert(record.bsn.clone(), out.len() - 1);
                out.len() - 1
            }
        };
        out[i].apply(record, record.meting.as_ref(), record.vervangt);
    }
    Ok(out)
}

/// The timelines of the clients in a batch of copied messages, built
/// again from all their messages: `stored` reads a client's messages
/// stored before the batch. Copies may come from stores that predate
/// references by number and the facts reports need, which
/// [`Tijdlijn::of`] handles and [`apply_round`] does not.
pub(crate) fn rebuild_for(
    batch: &[Stored],
    mut stored: impl FnMut(&str) -> Result<Vec<Stored>, StoreError>,
) -> Result<Vec<Tijdlijn>, StoreError> {
    let mut order: Vec<&str> = Vec::new();
    let mut copied: HashMap<&str, Vec<&Stored>> = HashMap::new();
    for s in batch {
        let bsn = s.record.bsn.as_str();
        copied
            .entry(bsn)
            .or_insert_with(|| {
                order.push(bsn);
                Vec::new()
            })
            .push(s);
    }
    order
        .into_iter()
        .map(|bsn| {
            let mut client = stored(bsn)?;
            client.extend(copied[bsn].iter().map(|s| (*s).clone()));
            Ok(Tijdlijn::of(bsn, &client))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u64, soort: Soort, vervangt: Option<u64>, datum: &str, trede: &str) -> Record {
        Record {
            volgnummer: n,
            bericht_id: format!("m{n}"),
            soort,
            ontvangen: Moment(n as i64 * 1000),
            gemeente: "0363".into(),
            bsn: "123456782".into(),
            verwijst_naar: vervangt.map(|v| format!("m{v}")),
            meting: (soort != Soort::Intrekking).then(|| MetingRij {
                meetdatum: datum.into(),
                trede: trede.into(),
                groeipotentieel: Some("+".into()),
                medewerker: "K".into(),
                geboortedatum: "1980-01-01".into(),
                ..MetingRij::default()
            }),
            waarschuwingen: vec![],
            wortel: (0, 0),
            organisatie: String::new(),
            sleutel: String::new(),
            eigenaar: String::new(),
            vervangt,
        }
    }

    fn now(upto: u64) -> Zicht {
        Zicht {
            tot_en_met: upto,
            peilmoment: None,
        }
    }

    #[test]
    fn corrections_chains_and_withdrawals_as_known_now_and_then() {
        let records = vec![
            record(1, Soort::Meting, None, "2024-01-10", "2"),
            record(2, Soort::Meting, None, "2024-06-01", "3"),
            record(3, Soort::Correctie, Some(2), "2024-06-01", "4"),
            record(4, Soort::Correctie, Some(3), "2024-05-01", "5"),
            record(5, Soort::Intrekking, Some(1), "", ""),
        ];
        let t = apply_round(&records, |_| Ok(None)).unwrap().remove(0);
        assert_eq!(t.versies.len(), 4);
        let rung = |d, z: &Zicht| t.view().toestand(d, z).map(|s| s.trede);
        // Now: the chain ends in 4 (rung 5, dated 2024-05-01); 1 is withdrawn.
        assert_eq!(rung(20240430, &now(5)), None);
        assert_eq!(rung(20240501, &now(5)), Some(5));
        // Before message 5 was durable, message 1 still counted.
        assert_eq!(rung(20240430, &now(4)), Some(2));
        // As known at message 2's moment: rung 3 from June.
        let then = Zicht {
            tot_en_met: 5,
            peilmoment: Some(Moment(2000)),
        };
        assert_eq!(rung(20240601, &then), Some(3));
        assert_eq!(rung(20240531, &then), Some(2));
    }

    #[test]
    fn a_correctie_keeps_its_originals_place_among_measurements_of_one_day() {
        let records = vec![
            record(1, Soort::Meting, None, "2024-01-10", "2"),
            record(2, Soort::Meting, None, "2024-01-10", "6"),
            record(3, Soort::Correctie, Some(1), "2024-01-10", "3"),
        ];
        let t = apply_round(&records, |_| Ok(None)).unwrap().remove(0);
        assert_eq!(
            t.view().toestand(20240110, &now(3)).map(|s| s.trede),
            Some(6)
        );
        // Correcting the later one still counts.
        let more = [record(4, Soort::Correctie, Some(2), "2024-01-10", "5")];
        let t = apply_round(&more, |_| Ok(Some(t.clone())))
            .unwrap()
            .remove(0);
        assert_eq!(
            t.view().toestand(20240110, &now(4)).map(|s| s.trede),
            Some(5)
        );
    }

    #[test]
    fn facts_are_read_again_from_a_message_that_no_rule_would_accept_now() {
        // Schema-valid, but its Meetdatum lies after sending: a rule error.
        let raw = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/invalid/regel-meetdatum-toekomst.xml"
        ))
        .unwrap();
        assert!(crate::validate::validate(&raw).is_err());
        let mut r = record(1, Soort::Meting, None, "2024-01-10", "2");
        if let Some(rij) = &mut r.meting {
            rij.geboortedatum.clear();
        }
        let s = Stored { record: r, raw };
        let t = Tijdlijn::of("123456782", &[s]);
        assert!(t.versies[0].geboortedatum > 19000000, "{t:?}");
    }

    #[test]
    fn two_on_one_day_the_later_counts_and_the_round_fold_equals_the_full_fold() {
        let records = vec![
            record(1, Soort::Meting, None, "2024-01-10", "2"),
            record(2, Soort::Meting, None, "2024-01-10", "6"),
        ];
        let t = &apply_round(&records, |_| Ok(None)).unwrap()[0];
        assert_eq!(
            t.view().toestand(20240110, &now(2)).map(|s| s.trede),
            Some(6)
        );
        let stored: Vec<Stored> = records
            .iter()
            .map(|r| Stored {
                record: r.clone(),
                raw: Vec::new(),
            })
            .collect();
        assert_eq!(&Tijdlijn::of("123456782", &stored), t);
        assert_eq!(Tijdlijn::decode(&t.encode().unwrap()).unwrap(), *t);
    }

    #[test]
    fn a_stored_timeline_reads_in_place_as_it_reads_owned() {
        let mut rij = MetingRij {
            meetdatum: "2024-01-10".into(),
            trede: "4".into(),
            groeipotentieel: Some("+".into()),
            medewerker: "Klantmanager met een lange naam".into(),
            team: Some("Team Noord".into()),
            afdeling: Some("Werk".into()),
            subgroepen: vec!["2".into(), "5".into()],
            inkomenssituatie: vec!["bijstand".into(), "werk".into()],
            geslacht: Some("V".into()),
            geboortedatum: "1980-02-29".into(),
            geplande_meetdatum: Some("2024-07-01".into()),
            uiterste_meetdatum: Some("2024-12-31".into()),
            instrument_in_gebruik: Some(true),
            ..MetingRij::default()
        };
        let mut first = record(1, Soort::Meting, None, "", "");
        first.meting = Some(rij.clone());
        first.waarschuwingen = ["signaal.lang-op-trede", "signaal.terugval"]
            .map(|code| crate::store::Waarschuwing {
                code: code.into(),
                omschrijving: String::new(),
                regel: None,
                kolom: None,
                pad: None,
            })
            .to_vec();
        rij.team = None;
        rij.subgroepen.clear();
        rij.inkomenssituatie.clear();
        let mut second = record(2, Soort::Correctie, Some(1), "", "");
        second.gemeente = "0599".into();
        second.meting = Some(rij);
        let t = apply_round(&[first, second], |_| Ok(None))
            .unwrap()
            .remove(0);
        assert_eq!(t.versies[0].signalen.len(), 2, "{t:?}");
        assert!(t.versies[0].einde.is_some());
        let bytes = t.encode().unwrap();
        let read = TijdlijnRef::decode(&bytes).unwrap();
        assert_eq!(read, t.view());
        assert_eq!(read.to_tijdlijn(), t);
        assert_eq!(read.eerste_gemeente(), Some("0363"));
        assert!(TijdlijnRef::decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
