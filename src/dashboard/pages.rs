//! The pages: login, errors, the reports page and the worklists, each
//! built from plain figures (what `crate::reports` computed) and the
//! pieces in [`super::html`] and [`super::charts`].

use std::fmt::Write as _;

use super::charts::{self, Frame, Series};
use super::html::{datum, esc, getal, procent, Cell, Nav, Table};

/// The rungs in the order reports list them.
pub const TREDEN: [u8; 8] = [0, 1, 2, 3, 4, 5, 6, 9];

/// A rung's name for a team leader.
pub fn trede_naam(trede: u8) -> &'static str {
    match trede {
        0 => "Intake, nog niet ingedeeld",
        1 => "Geïsoleerd",
        2 => "Sociale contacten buitenshuis",
        3 => "Deelname aan georganiseerde activiteiten",
        4 => "Onbetaald werk",
        5 => "Betaald werk met ondersteuning",
        6 => "Betaald werk",
        9 => "Buiten de ladder",
        _ => "Onbekende trede",
    }
}

/// "Trede 3", or "Nieuw" for a client without a state at the start.
pub fn trede_kort(trede: Option<u8>) -> String {
    match trede {
        Some(t) => format!("Trede {t}"),
        None => "Nieuw".into(),
    }
}

/// The series class of a rung in the line chart (one colour per rung).
fn trede_class(trede: u8) -> String {
    let i = TREDEN.iter().position(|t| *t == trede).unwrap_or(0);
    format!("s{i}")
}

/// The groupings `groepeerOp` takes, with their Dutch labels.
pub const GROEPERINGEN: [(&str, &str); 7] = [
    ("team", "Team"),
    ("medewerker", "Medewerker"),
    ("afdeling", "Afdeling"),
    ("subgroep", "Subgroep"),
    ("inkomenssituatie", "Inkomenssituatie"),
    ("geslacht", "Geslacht"),
    ("leeftijd", "Leeftijdsgroep"),
];

/// One rung's count at a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TredeCijfer {
    pub trede: u8,
    pub clienten: u64,
    pub groeipotentieel: u64,
}

/// One cell of the flow matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stroom {
    pub van: Option<u8>,
    pub naar: u8,
    pub clienten: u64,
}

/// What the user chose in the form (already checked).
#[derive(Debug, Clone)]
pub struct Keuze {
    /// The caller's municipalities, for the menu.
    pub gemeenten: Vec<String>,
    pub gemeente: String,
    pub peildatum: String,
    pub van: String,
    pub groepeer_op: Option<String>,
}

/// Why a choice in the form cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeuzeFout {
    /// A value that is not what the field takes.
    Ongeldig(String),
    /// A municipality the caller does not act for.
    NietUwGemeente(String),
    /// The caller acts for no municipality at all.
    GeenGemeenten,
}

/// Whether `s` is a real date written `YYYY-MM-DD`.
pub fn is_datum(s: &str) -> bool {
    s.len() == 10 && crate::time::day_number(s).is_some_and(|n| crate::time::date_of_day(n) == s)
}

/// The same day a year before (28 February for the 29th).
pub fn jaar_eerder(d: &str) -> String {
    let year: i64 = d.get(0..4).and_then(|y| y.parse().ok()).unwrap_or(0);
    let same = format!("{:04}{}", year - 1, d.get(4..).unwrap_or(""));
    if is_datum(&same) {
        same
    } else {
        format!("{:04}-02-28", year - 1)
    }
}

impl Keuze {
    /// The choice from the query string, with defaults: the caller's first
    /// municipality, `vandaag`, the same day a year earlier, no grouping.
    pub fn kies(
        gemeenten: &[String],
        gemeente: Option<&str>,
        peildatum: Option<&str>,
        van: Option<&str>,
        groepeer_op: Option<&str>,
        vandaag: &str,
    ) -> Result<Keuze, KeuzeFout> {
        let mut gemeenten = gemeenten.to_vec();
        gemeenten.sort();
        let gemeente = match gemeente.filter(|g| !g.is_empty()) {
            Some(g) if gemeenten.iter().any(|o| o == g) => g.to_string(),
            Some(g) if g.len() == 4 && g.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(KeuzeFout::NietUwGemeente(g.to_string()))
            }
            Some(g) => {
                return Err(KeuzeFout::Ongeldig(format!(
                    "gemeente {g:?} is geen CBS-code van vier cijfers"
                )))
            }
            None => gemeenten.first().cloned().ok_or(KeuzeFout::GeenGemeenten)?,
        };
        let datum_of =
            |v: Option<&str>, veld: &str, standaard: String| match v.filter(|v| !v.is_empty()) {
                Some(d) if is_datum(d) => Ok(d.to_string()),
                Some(d) => Err(KeuzeFout::Ongeldig(format!(
                    "{veld} {d:?} is geen datum JJJJ-MM-DD"
                ))),
                None => Ok(standaard),
            };
        let peildatum = datum_of(peildatum, "peildatum", vandaag.to_string())?;
        let van = datum_of(van, "van", jaar_eerder(&peildatum))?;
        if van >= peildatum {
            return Err(KeuzeFout::Ongeldig(
                "de datum om mee te vergelijken (van) moet vóór de peildatum liggen".into(),
            ));
        }
        let groepeer_op = match groepeer_op.filter(|g| !g.is_empty()) {
            Some(g) if GROEPERINGEN.iter().any(|(v, _)| *v == g) => Some(g.to_string()),
            Some(g) => {
                return Err(KeuzeFout::Ongeldig(format!(
                    "groepeerOp {g:?} is geen van: {}",
                    GROEPERINGEN.map(|(v, _)| v).join(", ")
                )))
            }
            None => None,
        };
        Ok(Keuze {
            gemeenten,
            gemeente,
            peildatum,
            van,
            groepeer_op,
        })
    }

    /// The query string of this choice, for links (its values are
    /// checked: digits, dates and names from a fixed list, nothing to
    /// encode). Escaped where it is written into HTML.
    pub fn query_zonder_groep(&self) -> String {
        format!(
            "gemeente={}&peildatum={}&van={}",
            self.gemeente, self.peildatum, self.van
        )
    }

    pub fn query(&self) -> String {
        let mut q = format!(
            "gemeente={}&peildatum={}&van={}",
            self.gemeente, self.peildatum, self.van
        );
        if let Some(g) = &self.groepeer_op {
            let _ = write!(q, "&groepeerOp={g}");
        }
        q
    }
}

/// The login form; `fout` says why the last attempt failed.
pub fn login(csrf: &str, fout: Option<&str>) -> String {
    let mut body = String::new();
    body.push_str(
        "<p>Log in met uw bestaande ladderpost-token (het begint met <code>lp_</code>). \
         U krijgt het van de beheerder van uw organisatie; het token moet de rol \
         <code>rapporteren</code> of <code>afnemen</code> hebben.</p>\n",
    );
    if let Some(f) = fout {
        let _ = writeln!(
            body,
            "<div class=\"fout\" role=\"alert\"><p>{}</p></div>",
            esc(f)
        );
    }
    let _ = write!(
        body,
        "<form class=\"inloggen\" method=\"post\" action=\"/dashboard/inloggen\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
         <div><label for=\"token\">Token</label>\
         <p class=\"hint\" id=\"token-hint\">Plak het hele token; het wordt niet in uw browser bewaard.</p>\
         <input type=\"password\" id=\"token\" name=\"token\" required autocomplete=\"off\" aria-describedby=\"token-hint\"></div>\n\
         <div><button type=\"submit\">Inloggen</button></div>\n</form>\n",
        esc(csrf)
    );
    let nav = Nav {
        rapportages: false,
        werklijsten: false,
        csrf: None,
        wie: None,
    };
    super::html::page("Inloggen", &nav, "/dashboard/inloggen", &body)
}

/// An error page: what went wrong, in one sentence, and the way back.
pub fn fout(titel: &str, uitleg: &str, nav: &Nav) -> String {
    let body = format!(
        "<div class=\"fout\" role=\"alert\"><p>{}</p></div>\n<p><a href=\"/dashboard\">Terug naar de rapportages</a></p>\n",
        esc(uitleg)
    );
    super::html::page(titel, nav, "", &body)
}

/// The form at the top of the reports page: every control labelled.
pub fn keuze_form(k: &Keuze) -> String {
    let mut out = String::from(
        "<form class=\"keuze\" method=\"get\" action=\"/dashboard\" aria-label=\"Keuze van gemeente, datum en indeling\">\n",
    );
    out.push_str(
        "<div><label for=\"gemeente\">Gemeente</label><select id=\"gemeente\" name=\"gemeente\">",
    );
    for g in &k.gemeenten {
        let sel = if *g == k.gemeente { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{0}\"{sel}>{0}</option>", esc(g));
    }
    out.push_str("</select></div>\n");
    let _ = write!(
        out,
        "<div><label for=\"peildatum\">Peildatum</label><input type=\"date\" id=\"peildatum\" name=\"peildatum\" value=\"{}\" required></div>\n\
         <div><label for=\"van\">Vergelijken met</label><input type=\"date\" id=\"van\" name=\"van\" value=\"{}\" required></div>\n",
        esc(&k.peildatum),
        esc(&k.van)
    );
    out.push_str("<div><label for=\"groepeerOp\">Uitsplitsen naar</label><select id=\"groepeerOp\" name=\"groepeerOp\">");
    let none = if k.groepeer_op.is_none() {
        " selected"
    } else {
        ""
    };
    let _ = write!(out, "<option value=\"\"{none}>Niet uitsplitsen</option>");
    for (value, label) in GROEPERINGEN {
        let sel = if k.groepeer_op.as_deref() == Some(value) {
            " selected"
        } else {
            ""
        };
        let _ = write!(out, "<option value=\"{value}\"{sel}>{label}</option>");
    }
    out.push_str("</select></div>\n<div><button type=\"submit\">Toon</button></div>\n</form>\n");
    out
}

fn uitleg(out: &mut String, text: &str) {
    let _ = writeln!(out, "<p class=\"uitleg\">{}</p>", esc(text));
}

/// The stand at the peildatum: a stacked bar per rung (with and without
/// growth potential), its legend, its sentence and its table.
pub fn stand(k: &Keuze, treden: &[TredeCijfer]) -> String {
    let mut out = String::from("<section aria-labelledby=\"stand-kop\">\n");
    let _ = writeln!(
        out,
        "<h2 id=\"stand-kop\">Stand per trede op {}</h2>",
        datum(&k.peildatum)
    );
    let total: u64 = treden.iter().map(|t| t.clienten).sum();
    let plus: u64 = treden.iter().map(|t| t.groeipotentieel).sum();
    let categories: Vec<String> = treden.iter().map(|t| t.trede.to_string()).collect();
    let met = Series {
        name: "Met groeipotentieel (+)".into(),
        class: "s0".into(),
        values: treden.iter().map(|t| t.groeipotentieel).collect(),
    };
    let zonder = Series {
        name: "Zonder groeipotentieel".into(),
        class: "sl".into(),
        values: treden
            .iter()
            .map(|t| t.clienten.saturating_sub(t.groeipotentieel))
            .collect(),
    };
    let desc = format!(
        "Staafdiagram: aantal cliënten per trede op {} in gemeente {}, {} in totaal, van wie {} met groeipotentieel. De tabel eronder bevat dezelfde cijfers.",
        datum(&k.peildatum),
        k.gemeente,
        getal(total),
        getal(plus)
    );
    out.push_str("<figure class=\"figuur\">\n");
    out.push_str(&charts::legend(&[(&met.name, "s0"), (&zonder.name, "sl")]));
    out.push_str(&charts::stacked_bars(
        &Frame {
            id: "grafiek-stand",
            title: "Stand per trede",
            desc: &desc,
        },
        &categories,
        &[met, zonder],
        "Cliënten",
    ));
    let _ = writeln!(
        out,
        "<figcaption class=\"uitleg\">Hoeveel cliënten op {} op elke trede staan (hun laatste geldige meting op of vóór die datum); het donkere deel heeft groeipotentieel.</figcaption>\n</figure>",
        datum(&k.peildatum)
    );
    let mut rows: Vec<(String, Vec<Cell>)> = treden
        .iter()
        .map(|t| {
            (
                format!("{} – {}", t.trede, trede_naam(t.trede)),
                vec![
                    Cell::getal(t.clienten),
                    Cell::getal(t.groeipotentieel),
                    Cell {
                        html: procent(t.groeipotentieel, t.clienten),
                        class: Some("n".into()),
                    },
                ],
            )
        })
        .collect();
    rows.push((
        "Totaal".into(),
        vec![
            Cell::getal(total),
            Cell::getal(plus),
            Cell {
                html: procent(plus, total),
                class: Some("n".into()),
            },
        ],
    ));
    out.push_str(
        &Table {
            id: "tabel-stand",
            caption: "Stand per trede",
            columns: vec![
                "Trede".into(),
                "Cliënten".into(),
                "Met groeipotentieel".into(),
                "Aandeel met groeipotentieel".into(),
            ],
            rows,
            csv: Some(format!("/dashboard/csv/stand?{}", k.query_zonder_groep())),
        }
        .render(),
    );
    out.push_str("</section>\n");
    out
}

/// The stand per group (`groepeerOp`): a table of groups by rung.
pub fn groepen(k: &Keuze, groepen: &[(String, Vec<TredeCijfer>)]) -> String {
    let Some(op) = &k.groepeer_op else {
        return String::new();
    };
    let label = GROEPERINGEN
        .iter()
        .find(|(v, _)| v == op)
        .map_or(op.as_str(), |(_, l)| l);
    let mut out = String::from("<section aria-labelledby=\"groepen-kop\">\n");
    let _ = writeln!(
        out,
        "<h2 id=\"groepen-kop\">Stand per {} op {}</h2>",
        esc(&label.to_lowercase()),
        datum(&k.peildatum)
    );
    uitleg(
        &mut out,
        &format!(
            "Dezelfde stand, uitgesplitst naar {}: elke rij telt de cliënten van één groep per trede.",
            label.to_lowercase()
        ),
    );
    let mut columns = vec![label.to_string()];
    columns.extend(TREDEN.iter().map(|t| format!("Trede {t}")));
    columns.push("Totaal".into());
    let rows = groepen
        .iter()
        .map(|(groep, treden)| {
            let mut cells: Vec<Cell> = TREDEN
                .iter()
                .map(|t| {
                    Cell::getal(
                        treden
                            .iter()
                            .find(|c| c.trede == *t)
                            .map_or(0, |c| c.clienten),
                    )
                })
                .collect();
            cells.push(Cell::getal(treden.iter().map(|c| c.clienten).sum()));
            (groep.clone(), cells)
        })
        .collect();
    let caption = format!("Stand per trede en {}", label.to_lowercase());
    out.push_str(
        &Table {
            id: "tabel-groepen",
            caption: &caption,
            columns,
            rows,
            csv: Some(format!("/dashboard/csv/stand?{}", k.query())),
        }
        .render(),
    );
    out.push_str("</section>\n");
    out
}

/// The flows between `van` and the peildatum: the matrix as a heat-map
/// table, and a chart of the largest movements.
pub fn stromen(k: &Keuze, stromen: &[Stroom]) -> String {
    let mut out = String::from("<section aria-labelledby=\"stromen-kop\">\n");
    let _ = writeln!(
        out,
        "<h2 id=\"stromen-kop\">Stromen van {} naar {}</h2>",
        datum(&k.van),
        datum(&k.peildatum)
    );
    let cell = |van: Option<u8>, naar: u8| {
        stromen
            .iter()
            .filter(|s| s.van == van && s.naar == naar)
            .map(|s| s.clienten)
            .sum::<u64>()
    };
    let max = stromen.iter().map(|s| s.clienten).max().unwrap_or(0);
    let van_rijen: Vec<Option<u8>> = std::iter::once(None)
        .chain(TREDEN.iter().map(|t| Some(*t)))
        .collect();
    let mut columns = vec!["Trede op ".to_string() + &datum(&k.van)];
    columns.extend(TREDEN.iter().map(|t| format!("Naar trede {t}")));
    columns.push("Totaal".into());
    let mut rows: Vec<(String, Vec<Cell>)> = van_rijen
        .iter()
        .map(|van| {
            let mut cells: Vec<Cell> = TREDEN
                .iter()
                .map(|naar| {
                    let v = cell(*van, *naar);
                    Cell {
                        html: getal(v),
                        class: Some(format!("n {}", charts::heat_class(v, max))),
                    }
                })
                .collect();
            let total = TREDEN.iter().map(|naar| cell(*van, *naar)).sum();
            cells.push(Cell::getal(total));
            let head = match van {
                None => "Nieuw (geen meting)".to_string(),
                Some(t) => format!("Trede {t}"),
            };
            (head, cells)
        })
        .collect();
    let mut totals: Vec<Cell> = TREDEN
        .iter()
        .map(|naar| Cell::getal(van_rijen.iter().map(|van| cell(*van, *naar)).sum()))
        .collect();
    totals.push(Cell::getal(stromen.iter().map(|s| s.clienten).sum()));
    rows.push(("Totaal".into(), totals));
    uitleg(
        &mut out,
        &format!(
            "Elke cel telt de cliënten die op {} op de trede van de rij stonden (of nog geen meting hadden: nieuw) en op {} op de trede van de kolom; hoe donkerder de cel, hoe meer cliënten.",
            datum(&k.van),
            datum(&k.peildatum)
        ),
    );
    out.push_str(
        &Table {
            id: "tabel-stromen",
            caption: "Stromen tussen treden (rij: vanaf, kolom: naar)",
            columns,
            rows,
            csv: Some(format!("/dashboard/csv/stromen?{}", k.query_zonder_groep())),
        }
        .render(),
    );
    // The largest movements: a change of rung, or new on the ladder.
    let mut moves: Vec<&Stroom> = stromen
        .iter()
        .filter(|s| s.van != Some(s.naar) && s.clienten > 0)
        .collect();
    moves.sort_by(|a, b| b.clienten.cmp(&a.clienten).then(a.van.cmp(&b.van)));
    moves.truncate(10);
    let items: Vec<(String, u64)> = moves
        .iter()
        .map(|s| {
            (
                format!("{} → trede {}", trede_kort(s.van), s.naar),
                s.clienten,
            )
        })
        .collect();
    out.push_str("<h3 id=\"grootste-kop\">Grootste stromen</h3>\n");
    if items.is_empty() {
        out.push_str("<p class=\"leeg\">Geen cliënt veranderde van trede in deze periode.</p>\n");
    } else {
        let desc = format!(
            "Liggend staafdiagram van de {} grootste stromen naar een andere trede tussen {} en {}; de grootste is {} met {} cliënten. De tabel ernaast bevat dezelfde cijfers.",
            items.len(),
            datum(&k.van),
            datum(&k.peildatum),
            items[0].0,
            getal(items[0].1)
        );
        out.push_str("<figure class=\"figuur\">\n");
        out.push_str(&charts::legend(&[(
            "Cliënten die van trede veranderden",
            "s3",
        )]));
        out.push_str(&charts::horizontal_bars(
            &Frame {
                id: "grafiek-stromen",
                title: "Grootste stromen naar een andere trede",
                desc: &desc,
            },
            &items,
            "s3",
        ));
        out.push_str(
            "<figcaption class=\"uitleg\">De grootste verschuivingen in de periode: cliënten die naar een andere trede gingen of nieuw instroomden, grootste eerst.</figcaption>\n</figure>\n",
        );
        out.push_str(
            &Table {
                id: "tabel-grootste",
                caption: "Grootste stromen naar een andere trede",
                columns: vec!["Stroom".into(), "Cliënten".into()],
                rows: items
                    .iter()
                    .map(|(l, v)| (l.clone(), vec![Cell::getal(*v)]))
                    .collect(),
                csv: None,
            }
            .render(),
        );
    }
    out.push_str("</section>\n");
    out
}

/// The stand over time: a line per rung over the given dates.
pub fn tijdreeks(k: &Keuze, punten: &[(String, Vec<TredeCijfer>)]) -> String {
    let mut out = String::from("<section aria-labelledby=\"tijdreeks-kop\">\n");
    out.push_str("<h2 id=\"tijdreeks-kop\">Stand door de tijd</h2>\n");
    let x: Vec<String> = punten.iter().map(|(d, _)| kwartaal(d)).collect();
    let value = |treden: &Vec<TredeCijfer>, t: u8| {
        treden
            .iter()
            .find(|c| c.trede == t)
            .map_or(0, |c| c.clienten)
    };
    let series: Vec<Series> = TREDEN
        .iter()
        .map(|t| Series {
            name: format!("Trede {t}"),
            class: trede_class(*t),
            values: punten.iter().map(|(_, tr)| value(tr, *t)).collect(),
        })
        .collect();
    let legend: Vec<(String, String)> = series
        .iter()
        .map(|s| (s.name.clone(), s.class.clone()))
        .collect();
    let legend: Vec<(&str, &str)> = legend
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let (first, last) = (
        punten.first().map_or(String::new(), |(d, _)| datum(d)),
        punten.last().map_or(String::new(), |(d, _)| datum(d)),
    );
    let desc = format!(
        "Lijndiagram: het aantal cliënten per trede in gemeente {} aan het eind van elk kwartaal van {first} tot {last}, één lijn per trede. De tabel eronder bevat dezelfde cijfers.",
        k.gemeente
    );
    out.push_str("<figure class=\"figuur\">\n");
    out.push_str(&charts::legend(&legend));
    out.push_str(&charts::lines(
        &Frame {
            id: "grafiek-tijdreeks",
            title: "Stand per trede door de tijd",
            desc: &desc,
        },
        &x,
        &series,
        "Cliënten",
    ));
    out.push_str(
        "<figcaption class=\"uitleg\">Hoe het aantal cliënten op elke trede zich per kwartaal ontwikkelde: een stijgende lijn betekent meer cliënten op die trede.</figcaption>\n</figure>\n",
    );
    let mut columns = vec!["Kwartaaleinde".to_string()];
    columns.extend(TREDEN.iter().map(|t| format!("Trede {t}")));
    let rows = punten
        .iter()
        .map(|(d, treden)| {
            (
                datum(d),
                TREDEN
                    .iter()
                    .map(|t| Cell::getal(value(treden, *t)))
                    .collect(),
            )
        })
        .collect();
    out.push_str(
        &Table {
            id: "tabel-tijdreeks",
            caption: "Stand per trede per kwartaal",
            columns,
            rows,
            csv: Some(format!(
                "/dashboard/csv/tijdreeks?{}",
                k.query_zonder_groep()
            )),
        }
        .render(),
    );
    out.push_str("</section>\n");
    out
}

/// An SRG code's meaning (`003_*` table 1.1).
pub fn srg_naam(code: &str) -> String {
    match code {
        "99" => "Intake (trede 0)".into(),
        "0" => "Zonder participatie-instrument (trede 1 tot en met 6)".into(),
        "5a" => "Trede 5 met participatie-instrument".into(),
        "5b" => "Trede 6 met participatie-instrument".into(),
        c => format!("Trede {c} met participatie-instrument"),
    }
}

/// The SRG table (re-integration positions for the CBS statistics).
pub fn srg(k: &Keuze, regels: &[(String, u64)]) -> String {
    let mut out = String::from("<section aria-labelledby=\"srg-kop\">\n");
    let _ = writeln!(
        out,
        "<h2 id=\"srg-kop\">SRG-tabel op {}</h2>",
        datum(&k.peildatum)
    );
    uitleg(
        &mut out,
        "De stand vertaald naar de codes van de Statistiek Re-integratie Gemeenten: trede 1 tot en met 6 telt alleen met een participatie-instrument mee op zijn eigen code, anders op code 0; buiten de ladder (trede 9) heeft geen code.",
    );
    let total: u64 = regels.iter().map(|(_, n)| n).sum();
    let mut rows: Vec<(String, Vec<Cell>)> = regels
        .iter()
        .map(|(code, n)| {
            (
                code.clone(),
                vec![Cell::text(&srg_naam(code)), Cell::getal(*n)],
            )
        })
        .collect();
    rows.push(("Totaal".into(), vec![Cell::text(""), Cell::getal(total)]));
    out.push_str(
        &Table {
            id: "tabel-srg",
            caption: "SRG-tabel",
            columns: vec!["SRG-code".into(), "Betekenis".into(), "Cliënten".into()],
            rows,
            csv: Some(format!("/dashboard/csv/srg?{}", k.query_zonder_groep())),
        }
        .render(),
    );
    out.push_str("</section>\n");
    out
}

/// One client on a worklist.
#[derive(Debug, Clone)]
pub struct Werkrij {
    pub bsn: String,
    pub team: Option<String>,
    pub medewerker: String,
    pub meetdatum: String,
    pub trede: u8,
    pub gepland: Option<String>,
    pub uiterste: Option<String>,
    pub signalen: Vec<String>,
}

/// One client-manager's counts on the three lists.
#[derive(Debug, Clone)]
pub struct PerMedewerker {
    pub team: Option<String>,
    pub medewerker: String,
    pub te_laat: u64,
    pub binnenkort: u64,
    pub signalen: u64,
}

/// What the worklists page shows.
pub struct Werklijsten<'a> {
    pub gemeenten: &'a [String],
    pub gemeente: &'a str,
    pub peildatum: &'a str,
    pub dagen: u32,
    pub te_laat: &'a [Werkrij],
    pub binnenkort: &'a [Werkrij],
    pub signalen: &'a [Werkrij],
    pub per_medewerker: &'a [PerMedewerker],
}

fn werk_tabel(id: &str, caption: &str, rows: &[Werkrij], csv: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"leeg\">Geen cliënten op deze lijst.</p>\n<p class=\"download\"><a href=\"{}\">Download „{}” als CSV</a></p>\n", esc(csv), esc(caption));
    }
    let mut sorted: Vec<&Werkrij> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.team, &a.medewerker, &a.uiterste, &a.bsn).cmp(&(
            &b.team,
            &b.medewerker,
            &b.uiterste,
            &b.bsn,
        ))
    });
    Table {
        id,
        caption,
        columns: [
            "BSN",
            "Team",
            "Medewerker",
            "Laatste meting",
            "Trede",
            "Geplande meetdatum",
            "Uiterste meetdatum",
            "Signalen",
        ]
        .map(String::from)
        .to_vec(),
        rows: sorted
            .iter()
            .map(|r| {
                (
                    r.bsn.clone(),
                    vec![
                        Cell::text(r.team.as_deref().unwrap_or("–")),
                        Cell::text(&r.medewerker),
                        Cell::text(&datum(&r.meetdatum)),
                        Cell::getal(u64::from(r.trede)),
                        Cell::text(&r.gepland.as_deref().map_or("–".into(), datum)),
                        Cell::text(&r.uiterste.as_deref().map_or("–".into(), datum)),
                        Cell::text(&r.signalen.join(", ")),
                    ],
                )
            })
            .collect(),
        csv: Some(csv.to_string()),
    }
    .render()
}

/// The worklists page's body: its form, the counts per client-manager and
/// the three lists.
pub fn werklijsten(w: &Werklijsten) -> String {
    let mut out = String::from(
        "<form class=\"keuze\" method=\"get\" action=\"/dashboard/werklijsten\" aria-label=\"Keuze van gemeente en termijn\">\n<div><label for=\"gemeente\">Gemeente</label><select id=\"gemeente\" name=\"gemeente\">",
    );
    for g in w.gemeenten {
        let sel = if g == w.gemeente { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{0}\"{sel}>{0}</option>", esc(g));
    }
    let _ = write!(
        out,
        "</select></div>\n<div><label for=\"dagen\">Binnen hoeveel dagen</label><input type=\"number\" id=\"dagen\" name=\"dagen\" min=\"1\" max=\"366\" value=\"{}\" required></div>\n<div><button type=\"submit\">Toon</button></div>\n</form>\n",
        w.dagen
    );
    let _ = writeln!(
        out,
        "<p>Stand van {}: de laatste geldige meting van elke cliënt van gemeente {} (cliënten buiten de ladder staan op geen lijst). Deze pagina bevat persoonsgegevens; elke opvraging wordt gelogd.</p>",
        datum(w.peildatum),
        esc(w.gemeente)
    );
    let csv = |lijst: &str| {
        format!(
            "/dashboard/csv/werklijsten?gemeente={}&dagen={}&lijst={lijst}",
            w.gemeente, w.dagen
        )
    };
    out.push_str(
        "<section aria-labelledby=\"per-kop\">\n<h2 id=\"per-kop\">Per team en medewerker</h2>\n",
    );
    uitleg(&mut out, "Hoeveel cliënten van elke medewerker te laat zijn voor hun meting, binnenkort gemeten moeten worden, of een open signaal hebben.");
    let mut per: Vec<&PerMedewerker> = w.per_medewerker.iter().collect();
    per.sort_by(|a, b| (&a.team, &a.medewerker).cmp(&(&b.team, &b.medewerker)));
    out.push_str(
        &Table {
            id: "tabel-per-medewerker",
            caption: "Werklijsten per team en medewerker",
            columns: [
                "Medewerker",
                "Team",
                "Te laat",
                "Binnenkort",
                "Open signalen",
            ]
            .map(String::from)
            .to_vec(),
            rows: per
                .iter()
                .map(|p| {
                    (
                        p.medewerker.clone(),
                        vec![
                            Cell::text(p.team.as_deref().unwrap_or("–")),
                            Cell::getal(p.te_laat),
                            Cell::getal(p.binnenkort),
                            Cell::getal(p.signalen),
                        ],
                    )
                })
                .collect(),
            csv: Some(csv("alle")),
        }
        .render(),
    );
    out.push_str("</section>\n");
    let lists = [
        ("te-laat", "Te laat", "Cliënten van wie de uiterste meetdatum van hun laatste meting voorbij is, zonder nieuwere meting.", w.te_laat, "teLaat"),
        ("binnenkort", "Binnenkort", "Cliënten die niet te laat zijn en van wie de volgende meting binnen de gekozen termijn valt.", w.binnenkort, "binnenkort"),
        ("signalen", "Open signalen", "Cliënten bij wier laatste meting ladderpost een signaal gaf (bijvoorbeeld een meting door een andere organisatie).", w.signalen, "signalen"),
    ];
    for (id, titel, zin, rows, lijst) in lists {
        let _ = writeln!(
            out,
            "<section aria-labelledby=\"{id}-kop\">\n<h2 id=\"{id}-kop\">{titel} ({})</h2>",
            getal(rows.len() as u64)
        );
        uitleg(&mut out, zin);
        out.push_str(&werk_tabel(
            &format!("tabel-{id}"),
            titel,
            rows,
            &csv(lijst),
        ));
        out.push_str("</section>\n");
    }
    out
}

/// "K4 2025" for a quarter's last day.
pub fn kwartaal(d: &str) -> String {
    let month: u8 = d.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    format!("K{} {}", month.div_ceil(3), d.get(0..4).unwrap_or(""))
}

/// The last days of the `n` quarters up to and including `peildatum`'s
/// (the first of them that has ended: a quarter still running counts as
/// its peildatum), oldest first.
pub fn kwartalen(peildatum: &str, n: usize) -> Vec<String> {
    let (Some(y), Some(m)) = (
        peildatum.get(0..4).and_then(|y| y.parse::<i64>().ok()),
        peildatum.get(5..7).and_then(|m| m.parse::<i64>().ok()),
    ) else {
        return Vec::new();
    };
    let end = |y: i64, q: i64| match q {
        1 => format!("{y:04}-03-31"),
        2 => format!("{y:04}-06-30"),
        3 => format!("{y:04}-09-30"),
        _ => format!("{y:04}-12-31"),
    };
    let mut out = Vec::with_capacity(n);
    let (mut year, mut q) = (y, (m + 2) / 3);
    let current = end(year, q);
    if current.as_str() > peildatum {
        out.push(peildatum.to_string());
        q -= 1;
        if q == 0 {
            q = 4;
            year -= 1;
        }
    }
    while out.len() < n {
        out.push(end(year, q));
        q -= 1;
        if q == 0 {
            q = 4;
            year -= 1;
        }
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keuze() -> Keuze {
        Keuze {
            gemeenten: vec!["0363".into(), "0599".into()],
            gemeente: "0599".into(),
            peildatum: "2025-12-31".into(),
            van: "2024-12-31".into(),
            groepeer_op: Some("team".into()),
        }
    }

    #[test]
    fn a_choice_has_defaults_and_refuses_what_is_not_the_callers() {
        let own = vec!["0599".to_string(), "0363".to_string()];
        let k = Keuze::kies(&own, None, None, None, Some(""), "2024-02-29").unwrap();
        assert_eq!(k.gemeente, "0363", "the first, sorted");
        assert_eq!(
            (k.peildatum.as_str(), k.van.as_str()),
            ("2024-02-29", "2023-02-28")
        );
        assert_eq!(k.groepeer_op, None);
        let k = Keuze::kies(
            &own,
            Some("0599"),
            Some("2025-12-31"),
            Some("2025-01-01"),
            Some("team"),
            "x",
        )
        .unwrap();
        assert_eq!(
            k.query(),
            "gemeente=0599&peildatum=2025-12-31&van=2025-01-01&groepeerOp=team"
        );
        assert_eq!(
            Keuze::kies(&own, Some("0344"), None, None, None, "2025-01-01").unwrap_err(),
            KeuzeFout::NietUwGemeente("0344".into())
        );
        for (g, p, v, o) in [
            (Some("03x3"), None, None, None),
            (None, Some("2025-02-30"), None, None),
            (None, Some("2025-01-01"), Some("2025-01-01"), None),
            (None, None, None, Some("bsn")),
        ] {
            assert!(matches!(
                Keuze::kies(&own, g, p, v, o, "2025-06-30"),
                Err(KeuzeFout::Ongeldig(_))
            ));
        }
        assert_eq!(
            Keuze::kies(&[], None, None, None, None, "2025-06-30").unwrap_err(),
            KeuzeFout::GeenGemeenten
        );
    }

    #[test]
    fn quarters_end_at_the_peildatum() {
        assert_eq!(
            kwartalen("2025-12-31", 3),
            ["2025-06-30", "2025-09-30", "2025-12-31"]
        );
        assert_eq!(
            kwartalen("2026-02-10", 3),
            ["2025-09-30", "2025-12-31", "2026-02-10"]
        );
        assert_eq!(kwartaal("2025-09-30"), "K3 2025");
        assert_eq!(kwartaal("2026-02-10"), "K1 2026");
    }

    #[test]
    fn the_form_labels_every_control_and_keeps_the_choice() {
        let f = keuze_form(&keuze());
        for id in ["gemeente", "peildatum", "van", "groepeerOp"] {
            assert!(f.contains(&format!("<label for=\"{id}\">")), "{id}");
            assert!(f.contains(&format!("id=\"{id}\"")), "{id}");
        }
        assert!(f.contains("<option value=\"0599\" selected>"));
        assert!(f.contains("<option value=\"team\" selected>"));
        assert!(f.contains("value=\"2024-12-31\""));
    }

    #[test]
    fn the_stand_shows_every_rung_with_totals_and_shares() {
        let treden: Vec<TredeCijfer> = TREDEN
            .iter()
            .map(|t| TredeCijfer {
                trede: *t,
                clienten: 1000 * *t as u64,
                groeipotentieel: 250 * *t as u64,
            })
            .collect();
        let h = stand(&keuze(), &treden);
        assert!(h.contains("<th scope=\"row\">9 – Buiten de ladder</th><td class=\"n\">9.000</td>"));
        assert!(h.contains("<th scope=\"row\">Totaal</th><td class=\"n\">30.000</td><td class=\"n\">7.500</td><td class=\"n\">25,0%</td>"));
        assert!(h.contains("/dashboard/csv/stand?gemeente=0599&amp;peildatum=2025-12-31"));
        assert!(h.contains("<svg role=\"img\""));
    }

    #[test]
    fn the_flow_matrix_has_a_row_for_new_clients_and_heat_classes() {
        let s = [
            Stroom {
                van: None,
                naar: 3,
                clienten: 7,
            },
            Stroom {
                van: Some(2),
                naar: 3,
                clienten: 4,
            },
            Stroom {
                van: Some(3),
                naar: 3,
                clienten: 20,
            },
        ];
        let h = stromen(&keuze(), &s);
        assert!(h.contains("<th scope=\"row\">Nieuw (geen meting)</th>"));
        assert!(h.contains("<td class=\"n h2\">7</td>"), "{h}");
        assert!(h.contains("<td class=\"n h5\">20</td>"));
        // Staying on rung 3 is not a movement; new → 3 is the largest.
        assert!(h.contains("Nieuw → trede 3"));
        assert!(!h.contains("Trede 3 → trede 3"));
        assert!(h.contains("<th scope=\"row\">Totaal</th>"));
    }

    #[test]
    fn the_login_form_carries_its_csrf_token_and_a_labelled_field() {
        let h = login("abc", Some("Onbekend token"));
        assert!(h.contains("name=\"csrf\" value=\"abc\""));
        assert!(h.contains("<label for=\"token\">"));
        assert!(h.contains("role=\"alert\""));
    }
}
