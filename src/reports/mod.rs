//! Management information: stand, flows, the yearly and SRG tables, the
//! benchmark, worklists. Computed from the clients' timelines
//! ([`crate::store::tijdlijn`]), one compact record per client, the same
//! way whatever the engine; never from the messages themselves.
//!
//! The semantics (README, "Reports"): a client's state at a date is its
//! latest valid version with a measurement date on or before it
//! (corrections applied, withdrawals left out; of two on one day the later
//! accepted), as known now or at a `peilmoment`. A client counts for the
//! municipality of that version.
//!
//! A report covers one municipality ([`Gebied::Gemeente`], read through the
//! municipality's index of timelines) or several at once
//! ([`Gebied::Gemeenten`]: the clients counting for any of them, so the sum
//! of their figures, in one pass over every timeline). The API offers the
//! second only as `gemeente=alle`, every municipality the caller acts for:
//! for a credential that acts for all, the national figure, and nobody sees
//! a municipality it does not act for.

mod csv;
mod werklijst;

pub use csv::Csv;
pub use werklijst::{werklijsten, Werklijsten, Werkregel};

use serde::Serialize;

use crate::store::tijdlijn::{StipRef, TijdlijnRef, Zicht};
use crate::store::{Store, StoreError};
use crate::time::Moment;

/// The rungs every report lists, in order: intake, 1-6, off the ladder.
pub const TREDEN: [u8; 8] = [0, 1, 2, 3, 4, 5, 6, 9];

/// A breakdown (`groepeerOp=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Groepering {
    Team,
    Medewerker,
    Afdeling,
    /// A client in several subgroups counts in each.
    Subgroep,
    /// Idem for sources of income.
    Inkomenssituatie,
    Geslacht,
    /// Age at the date, in bands.
    Leeftijd,
}

/// The label of a group for clients the breakdown knows nothing of.
pub const ONBEKEND: &str = "onbekend";

impl Groepering {
    pub const ALL: [Groepering; 7] = [
        Groepering::Team,
        Groepering::Medewerker,
        Groepering::Afdeling,
        Groepering::Subgroep,
        Groepering::Inkomenssituatie,
        Groepering::Geslacht,
        Groepering::Leeftijd,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Groepering::Team => "team",
            Groepering::Medewerker => "medewerker",
            Groepering::Afdeling => "afdeling",
            Groepering::Subgroep => "subgroep",
            Groepering::Inkomenssituatie => "inkomenssituatie",
            Groepering::Geslacht => "geslacht",
            Groepering::Leeftijd => "leeftijd",
        }
    }

    pub fn parse(s: &str) -> Option<Groepering> {
        Groepering::ALL.into_iter().find(|g| g.as_str() == s)
    }

    /// Calls `groep` with each group a version counts in at `datum`
    /// (borrowed, so that counting a client allocates nothing).
    fn groepen(self, v: &StipRef<'_>, datum: u32, mut groep: impl FnMut(&str)) {
        fn or_unknown(s: Option<&str>) -> &str {
            s.unwrap_or(ONBEKEND)
        }
        match self {
            Groepering::Team => groep(or_unknown(v.team)),
            Groepering::Medewerker => groep(v.medewerker),
            Groepering::Afdeling => groep(or_unknown(v.afdeling)),
            Groepering::Subgroep if v.subgroepen.is_empty() => groep(ONBEKEND),
            Groepering::Subgroep => {
                for s in v.subgroepen {
                    groep(&s.to_string());
                }
            }
            Groepering::Inkomenssituatie if v.inkomenssituatie.is_empty() => groep(ONBEKEND),
            Groepering::Inkomenssituatie => v.inkomenssituatie.iter().for_each(|s| groep(s)),
            Groepering::Geslacht => groep(or_unknown(v.geslacht)),
            Groepering::Leeftijd => groep(leeftijdsband(v.geboortedatum, datum)),
        }
    }
}

/// The age bands of the breakdown by age.
pub const LEEFTIJDSBANDEN: [&str; 4] = ["<27", "27-44", "45-54", "55+"];

/// The band of someone born on `geboren` at `datum` (both `yyyymmdd`).
fn leeftijdsband(geboren: u32, datum: u32) -> &'static str {
    if geboren == 0 || geboren > datum {
        return ONBEKEND;
    }
    // Whole years: the day number's difference, less a year before the
    // birthday.
    let leeftijd = (datum - geboren) / 10_000;
    match leeftijd {
        0..=26 => LEEFTIJDSBANDEN[0],
        27..=44 => LEEFTIJDSBANDEN[1],
        45..=54 => LEEFTIJDSBANDEN[2],
        _ => LEEFTIJDSBANDEN[3],
    }
}

/// A date as the reports take it: `yyyymmdd`, and as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peildatum {
    pub dag: u32,
    pub tekst: String,
}

impl Peildatum {
    /// `YYYY-MM-DD`, a real calendar day.
    pub fn parse(s: &str) -> Option<Peildatum> {
        let d = crate::domain::Datum::parse(s).ok()?;
        if d.timezone().is_some() || s.len() != 10 {
            return None;
        }
        let dag = crate::store::tijdlijn::dagnummer(s)?;
        Some(Peildatum {
            dag,
            tekst: s.to_string(),
        })
    }

    /// 31 December of `jaar`.
    pub fn jaareinde(jaar: u16) -> Peildatum {
        Peildatum {
            dag: u32::from(jaar) * 10_000 + 1231,
            tekst: format!("{jaar:04}-12-31"),
        }
    }

    /// Today (UTC).
    pub fn vandaag() -> Peildatum {
        let dag = Moment::now().0.div_euclid(86_400_000_000);
        let tekst = crate::time::date_of_day(dag);
        Peildatum::parse(&tekst).unwrap_or(Peildatum { dag: 0, tekst })
    }

    /// This date plus `days`.
    pub fn plus_dagen(&self, days: u32) -> Peildatum {
        let base = crate::time::day_number(&self.tekst).unwrap_or(0);
        let tekst = crate::time::date_of_day(base + i64::from(days));
        Peildatum::parse(&tekst).unwrap_or(self.clone())
    }
}

/// Whose clients a report counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gebied {
    /// Those counting for this municipality.
    Gemeente(String),
    /// Those counting for any of these (sorted, each once).
    Gemeenten(Vec<String>),
}

/// How a report names [`Gebied::Gemeenten`] (`gemeente=alle`).
pub const ALLE: &str = "alle";

impl Gebied {
    /// Several municipalities, in any order.
    pub fn gemeenten(mut codes: Vec<String>) -> Gebied {
        codes.sort_unstable();
        codes.dedup();
        Gebied::Gemeenten(codes)
    }

    /// As the report names it: the CBS code, or [`ALLE`].
    pub fn naam(&self) -> &str {
        match self {
            Gebied::Gemeente(g) => g,
            Gebied::Gemeenten(_) => ALLE,
        }
    }

    /// The municipality whose index to read; `None`: every timeline.
    fn index(&self) -> Option<&str> {
        match self {
            Gebied::Gemeente(g) => Some(g),
            Gebied::Gemeenten(_) => None,
        }
    }

    /// Whether a state in `gemeente` counts.
    fn telt(&self, gemeente: &str) -> bool {
        match self {
            Gebied::Gemeente(g) => g == gemeente,
            Gebied::Gemeenten(all) => all.binary_search_by(|g| g.as_str().cmp(gemeente)).is_ok(),
        }
    }
}

/// What a report is asked about.
#[derive(Debug, Clone)]
pub struct Vraag {
    pub gemeente: Gebied,
    pub groepeer_op: Option<Groepering>,
    /// As known at this moment; `None`: as known now.
    pub peilmoment: Option<Moment>,
}

/// Clients on one rung.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TredeTelling {
    pub trede: u8,
    pub clienten: u64,
    /// Of those, how many with growth potential `+`.
    pub groeipotentieel: u64,
}

fn lege_treden() -> Vec<TredeTelling> {
    TREDEN
        .iter()
        .map(|&trede| TredeTelling {
            trede,
            ..TredeTelling::default()
        })
        .collect()
}

fn tel(treden: &mut [TredeTelling], v: &StipRef<'_>) {
    if let Some(t) = treden.iter_mut().find(|t| t.trede == v.trede) {
        t.clienten += 1;
        t.groeipotentieel += u64::from(v.groeipotentieel);
    }
}

/// The stand at a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stand {
    pub gemeente: String,
    pub peildatum: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peilmoment: Option<String>,
    pub treden: Vec<TredeTelling>,
    #[serde(rename = "groepeerOp", skip_serializing_if = "Option::is_none")]
    pub groepeer_op: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groepen: Option<Vec<StandGroep>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StandGroep {
    pub groep: String,
    pub treden: Vec<TredeTelling>,
}

/// Groups in label order, each made on first use.
struct Groepen<T> {
    items: std::collections::BTreeMap<String, T>,
}

impl<T> Groepen<T> {
    fn new() -> Groepen<T> {
        Groepen {
            items: std::collections::BTreeMap::new(),
        }
    }

    /// The group of `label`; a label seen before costs no allocation.
    fn get(&mut self, label: &str, make: impl FnOnce() -> T) -> &mut T {
        if !self.items.contains_key(label) {
            self.items.insert(label.to_string(), make());
        }
        self.items.get_mut(label).expect("inserted above")
    }
}

/// The view a report takes: what is durable, as known now or then.
fn zicht(store: &dyn Store, peilmoment: Option<Moment>) -> Zicht {
    Zicht {
        tot_en_met: *store.changes().borrow(),
        peilmoment,
    }
}

/// Visits the state at each of `data` of every client counting for
/// `gebied` at that date (`None` where it does not count).
pub(super) fn toestanden(
    store: &dyn Store,
    gebied: &Gebied,
    peilmoment: Option<Moment>,
    data: &[u32],
    visit: &mut dyn FnMut(&TijdlijnRef<'_>, &[Option<&StipRef<'_>>]),
) -> Result<(), StoreError> {
    let z = zicht(store, peilmoment);
    store.tijdlijnen(gebied.index(), &mut |t| {
        let states: Vec<Option<&StipRef<'_>>> = data
            .iter()
            .map(|&d| t.toestand(d, &z).filter(|v| gebied.telt(v.gemeente)))
            .collect();
        visit(t, &states);
    })
}

/// The stand at `peildatum`: per rung the clients whose state is on it.
pub fn stand(store: &dyn Store, vraag: &Vraag, peildatum: &Peildatum) -> Result<Stand, StoreError> {
    let mut treden = lege_treden();
    let mut groepen: Groepen<Vec<TredeTelling>> = Groepen::new();
    toestanden(
        store,
        &vraag.gemeente,
        vraag.peilmoment,
        &[peildatum.dag],
        &mut |_, states| {
            let Some(v) = states[0] else { return };
            tel(&mut treden, v);
            if let Some(by) = vraag.groepeer_op {
                by.groepen(v, peildatum.dag, |label| {
                    tel(groepen.get(label, lege_treden), v);
                });
            }
        },
    )?;
    Ok(Stand {
        gemeente: vraag.gemeente.naam().to_string(),
        peildatum: peildatum.tekst.clone(),
        peilmoment: vraag.peilmoment.map(|m| m.to_string()),
        treden,
        groepeer_op: vraag.groepeer_op.map(Groepering::as_str),
        groepen: vraag.groepeer_op.map(|_| {
            groepen
                .items
                .into_iter()
                .map(|(groep, treden)| StandGroep { groep, treden })
                .collect()
        }),
    })
}

/// The stand at several dates in one pass (the stand over time).
pub fn reeks(
    store: &dyn Store,
    vraag: &Vraag,
    data: &[Peildatum],
) -> Result<Vec<Stand>, StoreError> {
    let dagen: Vec<u32> = data.iter().map(|d| d.dag).collect();
    let mut treden: Vec<Vec<TredeTelling>> = data.iter().map(|_| lege_treden()).collect();
    toestanden(
        store,
        &vraag.gemeente,
        vraag.peilmoment,
        &dagen,
        &mut |_, states| {
            for (t, v) in treden.iter_mut().zip(states) {
                if let Some(v) = v {
                    tel(t, v);
                }
            }
        },
    )?;
    Ok(data
        .iter()
        .zip(treden)
        .map(|(d, treden)| Stand {
            gemeente: vraag.gemeente.naam().to_string(),
            peildatum: d.tekst.clone(),
            peilmoment: vraag.peilmoment.map(|m| m.to_string()),
            treden,
            groepeer_op: None,
            groepen: None,
        })
        .collect())
}

/// One cell of the flow matrix: clients from rung `van` (`None`: no state
/// at the first date, "nieuw") to rung `naar`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stroom {
    pub van: Option<u8>,
    pub naar: u8,
    pub clienten: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stromen {
    pub gemeente: String,
    pub van: String,
    pub tot: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peilmoment: Option<String>,
    /// Only non-zero cells, by `van` (new first) then `naar`.
    pub stromen: Vec<Stroom>,
    #[serde(rename = "groepeerOp", skip_serializing_if = "Option::is_none")]
    pub groepeer_op: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groepen: Option<Vec<StroomGroep>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StroomGroep {
    pub groep: String,
    pub stromen: Vec<Stroom>,
}

type Matrix = std::collections::BTreeMap<(Option<u8>, u8), u64>;

fn cellen(m: Matrix) -> Vec<Stroom> {
    m.into_iter()
        .map(|((van, naar), clienten)| Stroom {
            van,
            naar,
            clienten,
        })
        .collect()
}

/// The flows between `van` and `tot`: for every client counting for the
/// municipality at `tot`, its rung then and at `van` (wherever it was
/// measured; `None` when it had no state yet). Groups by the state at
/// `tot`.
pub fn stromen(
    store: &dyn Store,
    vraag: &Vraag,
    van: &Peildatum,
    tot: &Peildatum,
) -> Result<Stromen, StoreError> {
    let z = zicht(store, vraag.peilmoment);
    let mut totaal = Matrix::new();
    let mut groepen: Groepen<Matrix> = Groepen::new();
    let gebied = &vraag.gemeente;
    store.tijdlijnen(gebied.index(), &mut |t| {
        let Some(naar) = t.toestand(tot.dag, &z).filter(|v| gebied.telt(v.gemeente)) else {
            return;
        };
        let cel = (t.toestand(van.dag, &z).map(|v| v.trede), naar.trede);
        *totaal.entry(cel).or_default() += 1;
        if let Some(by) = vraag.groepeer_op {
            by.groepen(naar, tot.dag, |label| {
                *groepen.get(label, Matrix::new).entry(cel).or_default() += 1;
            });
        }
    })?;
    Ok(Stromen {
        gemeente: vraag.gemeente.naam().to_string(),
        van: van.tekst.clone(),
        tot: tot.tekst.clone(),
        peilmoment: vraag.peilmoment.map(|m| m.to_string()),
        stromen: cellen(totaal),
        groepeer_op: vraag.groepeer_op.map(Groepering::as_str),
        groepen: vraag.groepeer_op.map(|_| {
            groepen
                .items
                .into_iter()
                .map(|(groep, m)| StroomGroep {
                    groep,
                    stromen: cellen(m),
                })
                .collect()
        }),
    })
}

/// The SRG re-integration positions (`003_*` table 1.1), in order.
pub const SRG_CODES: [&str; 8] = ["99", "0", "1", "2", "3", "4", "5a", "5b"];

/// The SRG code of a state: intake 99; rungs 1-6 with an instrument in use
/// or deployed 1, 2, 3, 4, 5a, 5b; without one 0. Off the ladder (9) has
/// none.
pub fn srg_code(v: &StipRef<'_>) -> Option<&'static str> {
    let met_instrument = v.instrument == Some(true);
    match v.trede {
        0 => Some("99"),
        1..=6 if !met_instrument => Some("0"),
        1 => Some("1"),
        2 => Some("2"),
        3 => Some("3"),
        4 => Some("4"),
        5 => Some("5a"),
        6 => Some("5b"),
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SrgRegel {
    pub srg: &'static str,
    pub clienten: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Srg {
    pub gemeente: String,
    pub peildatum: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peilmoment: Option<String>,
    pub srg: Vec<SrgRegel>,
}

fn srg_tabel(states: impl Iterator<Item = &'static str>) -> Vec<SrgRegel> {
    let mut out: Vec<SrgRegel> = SRG_CODES
        .iter()
        .map(|&srg| SrgRegel { srg, clienten: 0 })
        .collect();
    for code in states {
        if let Some(r) = out.iter_mut().find(|r| r.srg == code) {
            r.clienten += 1;
        }
    }
    out
}

/// The SRG table at `peildatum`.
pub fn srg(store: &dyn Store, vraag: &Vraag, peildatum: &Peildatum) -> Result<Srg, StoreError> {
    Ok(stand_en_srg(store, vraag, peildatum)?.1)
}

fn stand_en_srg(
    store: &dyn Store,
    vraag: &Vraag,
    peildatum: &Peildatum,
) -> Result<(Vec<TredeTelling>, Srg), StoreError> {
    let mut treden = lege_treden();
    let mut codes: Vec<&'static str> = Vec::new();
    toestanden(
        store,
        &vraag.gemeente,
        vraag.peilmoment,
        &[peildatum.dag],
        &mut |_, states| {
            if let Some(v) = states[0] {
                tel(&mut treden, v);
                codes.extend(srg_code(v));
            }
        },
    )?;
    Ok((
        treden,
        Srg {
            gemeente: vraag.gemeente.naam().to_string(),
            peildatum: peildatum.tekst.clone(),
            peilmoment: vraag.peilmoment.map(|m| m.to_string()),
            srg: srg_tabel(codes.into_iter()),
        },
    ))
}

/// The yearly report: the stand at 31 December (the latest measurement in
/// or before the year counts) with its SRG table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jaar {
    pub gemeente: String,
    pub jaar: u16,
    pub peildatum: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peilmoment: Option<String>,
    pub treden: Vec<TredeTelling>,
    pub srg: Vec<SrgRegel>,
}

pub fn jaar(store: &dyn Store, vraag: &Vraag, jaar: u16) -> Result<Jaar, StoreError> {
    let peildatum = Peildatum::jaareinde(jaar);
    let (treden, srg) = stand_en_srg(store, vraag, &peildatum)?;
    Ok(Jaar {
        gemeente: vraag.gemeente.naam().to_string(),
        jaar,
        peildatum: peildatum.tekst,
        peilmoment: srg.peilmoment,
        treden,
        srg: srg.srg,
    })
}

/// A benchmark cell: a share, or suppressed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Aandeel {
    /// Percent of the municipality's clients, of counts rounded to
    /// [`afrondingsbasis`], one decimal.
    Procent(f64),
    /// Fewer clients than the threshold: `"<10"`.
    Onderdrukt(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchmarkCel {
    pub trede: u8,
    pub aandeel: Aandeel,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchmarkRij {
    pub gemeente: String,
    /// The number of clients, rounded to [`afrondingsbasis`].
    pub clienten: u64,
    pub treden: Vec<BenchmarkCel>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benchmark {
    pub peildatum: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subgroep: Option<u8>,
    pub drempel: u64,
    /// The base counts are rounded to.
    pub afronding: u64,
    pub gemeenten: Vec<BenchmarkRij>,
}

/// The municipalities in the benchmark: those every organisation acting
/// for them takes part (so one organisation cannot publish another's
/// clients); `organisaties` as (takes part, municipalities).
pub fn benchmark_gemeenten(organisaties: &[(bool, Vec<String>)]) -> Vec<String> {
    let mut all: Vec<&String> = organisaties.iter().flat_map(|(_, g)| g).collect();
    all.sort();
    all.dedup();
    all.into_iter()
        .filter(|g| {
            organisaties
                .iter()
                .filter(|(_, gs)| gs.contains(g))
                .all(|(deelname, _)| *deelname)
        })
        .cloned()
        .collect()
}

/// The stand in percentages per rung for each of `gemeenten`, of clients
/// in `subgroep` if given, with small cells suppressed ([`onderdruk`]).
pub fn benchmark(
    store: &dyn Store,
    gemeenten: &[String],
    peildatum: &Peildatum,
    subgroep: Option<u8>,
    drempel: u64,
) -> Result<Benchmark, StoreError> {
    let mut rijen = Vec::new();
    for g in gemeenten {
        let mut treden = lege_treden();
        let gebied = Gebied::Gemeente(g.clone());
        toestanden(store, &gebied, None, &[peildatum.dag], &mut |_, states| {
            if let Some(v) = states[0] {
                if subgroep.is_none_or(|s| v.subgroepen.contains(&s)) {
                    tel(&mut treden, v);
                }
            }
        })?;
        rijen.push(onderdruk(g, &treden, drempel));
    }
    Ok(Benchmark {
        peildatum: peildatum.tekst.clone(),
        subgroep,
        drempel,
        afronding: afrondingsbasis(drempel),
        gemeenten: rijen,
    })
}

/// The base benchmark counts are rounded to: 5, or more for a threshold
/// above 20, so that a suppressed cell's value stays uncertain by at least
/// the threshold's size (below).
pub fn afrondingsbasis(drempel: u64) -> u64 {
    drempel.div_ceil(4).div_ceil(5).max(1) * 5
}

fn afgerond(n: u64, basis: u64) -> u64 {
    (n + basis / 2) / basis * basis
}

/// A row of the benchmark: cells under `drempel` clients shown as
/// `"<drempel"`, the others as shares of counts rounded to the base, the
/// total rounded too. Why rounding rather than hiding more cells: the
/// shares of exact counts give the total away (their decimals pin it
/// down), and then one suppressed cell is the total less the others;
/// with every count rounded, the others' sum is uncertain by several
/// bases, wider than the threshold.
fn onderdruk(gemeente: &str, treden: &[TredeTelling], drempel: u64) -> BenchmarkRij {
    let basis = afrondingsbasis(drempel);
    let totaal = afgerond(treden.iter().map(|t| t.clienten).sum(), basis);
    let cellen = treden
        .iter()
        .map(|t| BenchmarkCel {
            trede: t.trede,
            aandeel: if t.clienten < drempel {
                Aandeel::Onderdrukt(format!("<{drempel}"))
            } else {
                let pct = afgerond(t.clienten, basis) as f64 * 100.0 / totaal.max(1) as f64;
                Aandeel::Procent((pct * 10.0).round() / 10.0)
            },
        })
        .collect();
    BenchmarkRij {
        gemeente: gemeente.to_string(),
        clienten: totaal,
        treden: cellen,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telling(counts: [u64; 8]) -> Vec<TredeTelling> {
        TREDEN
            .iter()
            .zip(counts)
            .map(|(&trede, clienten)| TredeTelling {
                trede,
                clienten,
                groeipotentieel: 0,
            })
            .collect()
    }

    fn shown(r: &BenchmarkRij) -> Vec<String> {
        r.treden
            .iter()
            .map(|c| match &c.aandeel {
                Aandeel::Procent(p) => format!("{p}"),
                Aandeel::Onderdrukt(s) => s.clone(),
            })
            .collect()
    }

    #[test]
    fn small_cells_are_suppressed_and_the_rest_shown_of_rounded_counts() {
        let r = onderdruk("0363", &telling([20, 30, 40, 50, 60, 70, 25, 5]), 10);
        assert_eq!(r.clienten, 300);
        assert_eq!(
            shown(&r),
            ["6.7", "10", "13.3", "16.7", "20", "23.3", "8.3", "<10"]
        );
        let r = onderdruk("0363", &telling([0, 3, 40, 52, 60, 70, 23, 10]), 10);
        assert_eq!(r.clienten, 260);
        assert_eq!(shown(&r)[..4], ["<10", "<10", "15.4", "19.2"]);
        assert_eq!(afrondingsbasis(10), 5);
        assert_eq!(afrondingsbasis(20), 5);
        assert_eq!(afrondingsbasis(21), 10);
    }

    /// What an attacker can learn of a row with one suppressed cell: the
    /// values that cell could have, given everything the row shows.
    fn candidates(r: &BenchmarkRij, drempel: u64) -> Vec<u64> {
        let basis = afrondingsbasis(drempel);
        // The shown cells' rounded counts follow from shares and total;
        // each true count lies within half a base of its rounded one.
        let (mut lo, mut hi) = (0u64, 0u64);
        for c in &r.treden {
            if let Aandeel::Procent(p) = c.aandeel {
                let rounded = (p * r.clienten as f64 / 100.0 / basis as f64).round() as u64 * basis;
                lo += rounded.saturating_sub(basis / 2).max(drempel);
                hi += rounded + (basis - 1) / 2;
            }
        }
        (0..drempel)
            .filter(|v| {
                // Some total within rounding of the shown one is reachable.
                (lo..=hi).any(|others| afgerond(others + v, basis) == r.clienten)
            })
            .collect()
    }

    #[test]
    fn a_single_suppressed_cell_cannot_be_recomputed() {
        // The review's row: with exact shares its rung 9 was recomputable.
        let r = onderdruk("0363", &telling([16, 30, 20, 11, 10, 10, 19, 5]), 10);
        assert!(candidates(&r, 10).len() >= 3, "{:?}", candidates(&r, 10));
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..300 {
            let mut counts = [0u64; 8];
            for c in counts.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *c = 10 + x % 60;
            }
            let small = (x % 8) as usize;
            counts[small] = x % 10;
            let r = onderdruk("0363", &telling(counts), 10);
            let found = candidates(&r, 10);
            assert!(found.contains(&counts[small]), "{counts:?}: {found:?}");
            assert!(found.len() >= 3, "{counts:?} leaves only {found:?}");
        }
    }

    #[test]
    fn a_municipality_is_in_the_benchmark_only_if_all_its_organisations_take_part() {
        let orgs = vec![
            (true, vec!["0534".to_string(), "0553".to_string()]),
            (false, vec!["0553".to_string()]),
            (true, vec!["0363".to_string()]),
            (false, vec![]),
        ];
        assert_eq!(benchmark_gemeenten(&orgs), ["0363", "0534"]);
    }

    #[test]
    fn age_bands_count_whole_years() {
        assert_eq!(leeftijdsband(19990601, 20260531), "<27");
        assert_eq!(leeftijdsband(19990601, 20260601), "27-44");
        assert_eq!(leeftijdsband(19710101, 20251231), "45-54");
        assert_eq!(leeftijdsband(19700101, 20250101), "55+");
        assert_eq!(leeftijdsband(0, 20250101), ONBEKEND);
    }
}
