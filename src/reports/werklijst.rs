//! Worklists: the clients a team leader acts on. Personal data (BSNs):
//! only for `afnemen`, audited by the API.

use serde::Serialize;

use super::{toestanden, Gebied, Peildatum};
use crate::store::tijdlijn::StipRef;
use crate::store::{Store, StoreError};

/// One client on a worklist: its latest measurement's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Werkregel {
    pub bsn: String,
    pub team: Option<String>,
    pub medewerker: String,
    pub meetdatum: String,
    pub trede: u8,
    #[serde(rename = "geplandeMeetdatum")]
    pub geplande_meetdatum: Option<String>,
    #[serde(rename = "uitersteMeetdatum")]
    pub uiterste_meetdatum: Option<String>,
    pub signalen: Vec<String>,
}

/// How many clients of one client-manager are on each list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PerMedewerker {
    pub team: Option<String>,
    pub medewerker: String,
    #[serde(rename = "teLaat")]
    pub te_laat: u64,
    pub binnenkort: u64,
    pub signalen: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Werklijsten {
    pub gemeente: String,
    pub peildatum: String,
    #[serde(rename = "binnenDagen")]
    pub binnen_dagen: u32,
    /// The latest measurement's `UitersteMeetdatum` has passed.
    #[serde(rename = "teLaat")]
    pub te_laat: Vec<Werkregel>,
    /// Not overdue; the next measurement (the planned date, or once that
    /// has passed or is absent the latest date) falls within `binnen_dagen`.
    pub binnenkort: Vec<Werkregel>,
    /// The latest measurement raised `signaal.*` warnings.
    pub signalen: Vec<Werkregel>,
    #[serde(rename = "perMedewerker")]
    pub per_medewerker: Vec<PerMedewerker>,
}

/// `yyyymmdd` as `YYYY-MM-DD`.
fn dag_tekst(dag: u32) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        dag / 10_000,
        dag / 100 % 100,
        dag % 100
    )
}

fn regel(bsn: &str, v: &StipRef<'_>) -> Werkregel {
    Werkregel {
        bsn: bsn.to_string(),
        team: v.team.map(str::to_string),
        medewerker: v.medewerker.to_string(),
        meetdatum: dag_tekst(v.meetdatum),
        trede: v.trede,
        geplande_meetdatum: v.geplande_meetdatum.map(dag_tekst),
        uiterste_meetdatum: v.uiterste_meetdatum.map(dag_tekst),
        signalen: v.signalen.iter().map(|s| s.to_string()).collect(),
    }
}

/// The worklists of `gemeente` at `peildatum`, from each client's state
/// then (its latest valid measurement, as known now) if it counts for the
/// municipality.
/// Clients off the ladder (rung 9) are out of view and on no list.
pub fn werklijsten(
    store: &dyn Store,
    gemeente: &str,
    peildatum: &Peildatum,
    binnen_dagen: u32,
) -> Result<Werklijsten, StoreError> {
    let gebied = Gebied::Gemeente(gemeente.to_string());
    let grens = peildatum.plus_dagen(binnen_dagen).dag;
    let (mut te_laat, mut binnenkort, mut signalen) = (Vec::new(), Vec::new(), Vec::new());
    toestanden(store, &gebied, None, &[peildatum.dag], &mut |t, states| {
        let Some(v) = states[0].filter(|v| v.trede != 9) else {
            return;
        };
        let overdue = v.uiterste_meetdatum.is_some_and(|d| d < peildatum.dag);
        // A planned date that has passed leaves the latest date as due.
        let next = v
            .geplande_meetdatum
            .filter(|&d| d >= peildatum.dag)
            .or(v.uiterste_meetdatum);
        if overdue {
            te_laat.push(regel(t.bsn, v));
        } else if next.is_some_and(|d| d >= peildatum.dag && d <= grens) {
            binnenkort.push(regel(t.bsn, v));
        }
        if !v.signalen.is_empty() {
            signalen.push(regel(t.bsn, v));
        }
    })?;
    let order = |r: &Werkregel| {
        (
            r.team.clone(),
            r.medewerker.clone(),
            r.uiterste_meetdatum.clone(),
            r.bsn.clone(),
        )
    };
    for list in [&mut te_laat, &mut binnenkort, &mut signalen] {
        list.sort_by_key(order);
    }
    let mut per: std::collections::BTreeMap<(Option<String>, String), [u64; 3]> =
        std::collections::BTreeMap::new();
    for (i, list) in [&te_laat, &binnenkort, &signalen].into_iter().enumerate() {
        for r in list {
            per.entry((r.team.clone(), r.medewerker.clone()))
                .or_default()[i] += 1;
        }
    }
    Ok(Werklijsten {
        gemeente: gemeente.to_string(),
        peildatum: peildatum.tekst.clone(),
        binnen_dagen,
        te_laat,
        binnenkort,
        signalen,
        per_medewerker: per
            .into_iter()
            .map(|((team, medewerker), [a, b, c])| PerMedewerker {
                team,
                medewerker,
                te_laat: a,
                binnenkort: b,
                signalen: c,
            })
            .collect(),
    })
}
