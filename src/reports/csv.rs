//! Every report as CSV (`Accept: text/csv`, and the dashboard's
//! downloads): RFC 4180, comma-separated, a header row, one row per cell.
//! A value that a spreadsheet would run as a formula (team and medewerker
//! names come from messages) is prefixed with `'`.

use super::werklijst::Werkregel;
use super::{Aandeel, Benchmark, Jaar, Srg, Stand, Stromen, TredeTelling, Werklijsten};

/// A report as CSV text.
pub trait Csv {
    fn csv(&self) -> String;
}

/// One field, quoted where it must be.
fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

struct Table(String);

impl Table {
    fn new(header: &[&str]) -> Table {
        let mut t = Table(String::new());
        t.row(header.iter().map(|h| h.to_string()));
        t
    }

    fn row(&mut self, fields: impl IntoIterator<Item = String>) {
        let line: Vec<String> = fields.into_iter().map(|f| field(&f)).collect();
        self.0.push_str(&line.join(","));
        self.0.push_str("\r\n");
    }
}

fn treden_rows(t: &mut Table, prefix: &[String], treden: &[TredeTelling]) {
    for r in treden {
        let mut row = prefix.to_vec();
        row.extend([
            r.trede.to_string(),
            r.clienten.to_string(),
            r.groeipotentieel.to_string(),
        ]);
        t.row(row);
    }
}

impl Csv for Stand {
    fn csv(&self) -> String {
        match &self.groepen {
            None => {
                let mut t = Table::new(&["trede", "clienten", "groeipotentieel"]);
                treden_rows(&mut t, &[], &self.treden);
                t.0
            }
            Some(groepen) => {
                let mut t = Table::new(&["groep", "trede", "clienten", "groeipotentieel"]);
                for g in groepen {
                    treden_rows(&mut t, std::slice::from_ref(&g.groep), &g.treden);
                }
                t.0
            }
        }
    }
}

fn rung(r: Option<u8>) -> String {
    r.map_or_else(|| "nieuw".to_string(), |r| r.to_string())
}

impl Csv for Stromen {
    fn csv(&self) -> String {
        match &self.groepen {
            None => {
                let mut t = Table::new(&["van", "naar", "clienten"]);
                for s in &self.stromen {
                    t.row([rung(s.van), s.naar.to_string(), s.clienten.to_string()]);
                }
                t.0
            }
            Some(groepen) => {
                let mut t = Table::new(&["groep", "van", "naar", "clienten"]);
                for g in groepen {
                    for s in &g.stromen {
                        t.row([
                            g.groep.clone(),
                            rung(s.van),
                            s.naar.to_string(),
                            s.clienten.to_string(),
                        ]);
                    }
                }
                t.0
            }
        }
    }
}

impl Csv for Srg {
    fn csv(&self) -> String {
        let mut t = Table::new(&["srg", "clienten"]);
        for r in &self.srg {
            t.row([r.srg.to_string(), r.clienten.to_string()]);
        }
        t.0
    }
}

impl Csv for Jaar {
    fn csv(&self) -> String {
        let mut t = Table::new(&["tabel", "code", "clienten", "groeipotentieel"]);
        treden_rows(&mut t, &["trede".to_string()], &self.treden);
        for r in &self.srg {
            t.row([
                "srg".to_string(),
                r.srg.to_string(),
                r.clienten.to_string(),
                String::new(),
            ]);
        }
        t.0
    }
}

impl Csv for Benchmark {
    fn csv(&self) -> String {
        let mut t = Table::new(&["gemeente", "clienten", "trede", "aandeel"]);
        for g in &self.gemeenten {
            for c in &g.treden {
                t.row([
                    g.gemeente.clone(),
                    g.clienten.map(|n| n.to_string()).unwrap_or_default(),
                    c.trede.to_string(),
                    match &c.aandeel {
                        Aandeel::Procent(p) => format!("{p:.1}"),
                        Aandeel::Onderdrukt(s) => s.clone(),
                    },
                ]);
            }
        }
        t.0
    }
}

impl Csv for Werklijsten {
    fn csv(&self) -> String {
        let mut t = Table::new(&[
            "lijst",
            "team",
            "medewerker",
            "bsn",
            "meetdatum",
            "trede",
            "geplandeMeetdatum",
            "uitersteMeetdatum",
            "signalen",
        ]);
        let lists: [(&str, &Vec<Werkregel>); 3] = [
            ("teLaat", &self.te_laat),
            ("binnenkort", &self.binnenkort),
            ("signalen", &self.signalen),
        ];
        for (name, list) in lists {
            for r in list {
                t.row([
                    name.to_string(),
                    r.team.clone().unwrap_or_default(),
                    r.medewerker.clone(),
                    r.bsn.clone(),
                    r.meetdatum.clone(),
                    r.trede.to_string(),
                    r.geplande_meetdatum.clone().unwrap_or_default(),
                    r.uiterste_meetdatum.clone().unwrap_or_default(),
                    r.signalen.join(" "),
                ]);
            }
        }
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("Team Zuid"), "Team Zuid");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(field("-1,2"), "\"'-1,2\"");
    }
}
