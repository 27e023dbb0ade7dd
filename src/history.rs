//! A client's measurement history, bitemporally: each measurement has its
//! measurement date (valid time) and the moment ladderpost accepted it
//! (transaction time). Corrections supersede and withdrawals end earlier
//! versions; nothing stored changes, so any past view can be rebuilt by
//! looking only at what had been accepted by then.

use std::collections::HashMap;

use crate::store::{Record, Soort, Stored};
use crate::time::Moment;

/// Whether a measurement version holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Geldig,
    /// Replaced by the named Correctie.
    Vervangen(String),
    /// Withdrawn by the named Intrekking.
    Ingetrokken(String),
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Geldig => "geldig",
            Status::Vervangen(_) => "vervangen",
            Status::Ingetrokken(_) => "ingetrokken",
        }
    }

    /// The message that ended this version, if any.
    pub fn door(&self) -> Option<&str> {
        match self {
            Status::Geldig => None,
            Status::Vervangen(id) | Status::Ingetrokken(id) => Some(id),
        }
    }
}

/// One version of a measurement: the Meting or Correctie that carried it.
#[derive(Debug, Clone)]
pub struct Versie<'a> {
    pub stored: &'a Stored,
    pub status: Status,
}

/// The status of every message in `client` (in acceptance order) as known
/// at `peilmoment` (everything accepted so far when `None`), by volgnummer:
/// message ids are unique per sender only. Intrekkingen themselves have no
/// status.
pub fn statuses(client: &[Stored], peilmoment: Option<Moment>) -> HashMap<u64, Status> {
    let known: Vec<&Record> = client
        .iter()
        .filter(|s| peilmoment.is_none_or(|p| s.record.ontvangen <= p))
        .map(|s| &s.record)
        .collect();
    let mut status: HashMap<u64, Status> = known
        .iter()
        .filter(|r| r.soort != Soort::Intrekking)
        .map(|r| (r.volgnummer, Status::Geldig))
        .collect();
    for (i, r) in known.iter().enumerate() {
        let ended = match r.soort {
            Soort::Correctie => Status::Vervangen(r.bericht_id.clone()),
            Soort::Intrekking => Status::Ingetrokken(r.bericht_id.clone()),
            Soort::Meting => continue,
        };
        if let Some(target) = r.target(known[..i].iter().copied()) {
            if let Some(entry) = status.get_mut(&target) {
                *entry = ended;
            }
        }
    }
    status
}

/// The client's measurements as known at `peilmoment`: only the versions
/// that hold, or with `inclusief_vervallen` every version with its status;
/// ordered by measurement date, then by acceptance.
pub fn metingen(
    client: &[Stored],
    peilmoment: Option<Moment>,
    inclusief_vervallen: bool,
) -> Vec<Versie<'_>> {
    let status = statuses(client, peilmoment);
    let mut out: Vec<Versie<'_>> = client
        .iter()
        .filter_map(|s| {
            let st = status.get(&s.record.volgnummer)?.clone();
            (inclusief_vervallen || st == Status::Geldig).then_some(Versie {
                stored: s,
                status: st,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        let date = |v: &Versie<'_>| v.stored.record.meting.as_ref().map(|m| m.meetdatum.clone());
        date(a)
            .cmp(&date(b))
            .then(a.stored.record.volgnummer.cmp(&b.stored.record.volgnummer))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MetingRij;

    fn stored(seq: u64, id: &str, soort: Soort, refers: Option<&str>, datum: &str) -> Stored {
        Stored {
            record: Record {
                volgnummer: seq,
                bericht_id: id.into(),
                soort,
                ontvangen: Moment(seq as i64 * 1000),
                gemeente: "0363".into(),
                bsn: "123456782".into(),
                verwijst_naar: refers.map(str::to_string),
                meting: (soort != Soort::Intrekking).then(|| MetingRij {
                    meetdatum: datum.into(),
                    trede: "3".into(),
                    groeipotentieel: Some("+".into()),
                    potentietrede: None,
                    medewerker: "K".into(),
                    afdeling: None,
                    team: None,
                    subgroepen: vec![],
                    ..MetingRij::default()
                }),
                waarschuwingen: vec![],
                wortel: (0, 0),
                organisatie: String::new(),
                sleutel: String::new(),
                eigenaar: String::new(),
                vervangt: None,
            },
            raw: Vec::new(),
        }
    }

    fn ids(v: &[Versie<'_>]) -> Vec<(String, &'static str)> {
        v.iter()
            .map(|x| (x.stored.record.bericht_id.clone(), x.status.as_str()))
            .collect()
    }

    #[test]
    fn corrections_supersede_and_withdrawals_remove() {
        let client = vec![
            stored(1, "a", Soort::Meting, None, "2024-03-01"),
            stored(2, "b", Soort::Meting, None, "2023-01-01"),
            stored(3, "a2", Soort::Correctie, Some("a"), "2024-03-02"),
            stored(4, "x", Soort::Intrekking, Some("b"), ""),
        ];
        assert_eq!(
            ids(&metingen(&client, None, false)),
            vec![("a2".into(), "geldig")]
        );
        assert_eq!(
            ids(&metingen(&client, None, true)),
            vec![
                ("b".into(), "ingetrokken"),
                ("a".into(), "vervangen"),
                ("a2".into(), "geldig")
            ]
        );
    }

    #[test]
    fn peilmoment_shows_what_was_known_then() {
        let client = vec![
            stored(1, "a", Soort::Meting, None, "2024-03-01"),
            stored(2, "a2", Soort::Correctie, Some("a"), "2024-03-01"),
            stored(3, "x", Soort::Intrekking, Some("a2"), ""),
        ];
        assert_eq!(
            ids(&metingen(&client, Some(Moment(1000)), false)),
            vec![("a".into(), "geldig")]
        );
        assert_eq!(
            ids(&metingen(&client, Some(Moment(2500)), false)),
            vec![("a2".into(), "geldig")]
        );
        assert!(metingen(&client, Some(Moment(3000)), false).is_empty());
        assert!(metingen(&client, Some(Moment(999)), true).is_empty());
    }
}
