//! The questionnaires from which a rung is derived (`Vragenlijst`), as data.
//!
//! Why data: each version the schema accepts ([`VragenlijstVersie`]) is a
//! table with one row per question — its number, its text as the source
//! words it, and where "ja" and "nee" lead (another question or a rung) —
//! so that a reader can check it line by line against the source, and one
//! walker serves every version. Table 3.2 of `003_*` (the growth-potential
//! question per rung) is kept beside the version it belongs to.
//!
//! Choices worth knowing (docs/validation.md, "The questionnaire"):
//! - The answers are walked from the first question by number; their order
//!   in the message does not matter.
//! - A number the version does not have is `RegelVraagOnbekend`; an answer
//!   the walk never reaches is `RegelVraagNietBereikt`. Both are reported
//!   at the `Antwoord`.
//! - A question on the path without an answer stops the walk: the rung
//!   cannot be derived (`SignaalVragenlijstOnvolledig`), which is a warning,
//!   not an error: the client-manager assigns the rung, and only some
//!   municipalities register the answers too (`001_*` §1.4). Answers that
//!   some answers to the missing questions could still reach are then kept;
//!   the others are `RegelVraagNietBereikt`.
//! - The recorded `Trede` is compared with the derived rung
//!   (`SignaalTredeWijktAfVanVragenlijst`; `001_*` §2.1: staff sometimes
//!   place "niet conform de richtlijn"), except code 9: "uit de ladder"
//!   (`001_*` appendix 5, item 13) is a status no question leads to.
//!   Code 0 (not yet placed) is compared: complete answers place the client.
//! - Schema 1.0 carries no answer to table 3.2's question, so growth
//!   potential is not derived; [`Afleiding::groeivraag`] names the question
//!   that applies to the derived rung (or that it does not apply, rung 6).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::bericht::{Antwoord, Vragenlijst};
use super::codes::{Trede, VragenlijstVersie};
use super::rules::Finding;
use crate::diagnostics::Code;

/// Where an answer leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naar {
    /// To the question with this number.
    Vraag(u8),
    /// The rung is decided.
    Trede(Trede),
}

use Naar::Vraag as V;
const T1: Naar = Naar::Trede(Trede::Geisoleerd);
const T2: Naar = Naar::Trede(Trede::SocialeContacten);
const T3: Naar = Naar::Trede(Trede::GeorganiseerdeActiviteiten);
const T4: Naar = Naar::Trede(Trede::OnbetaaldWerk);
const T5: Naar = Naar::Trede(Trede::BetaaldWerkMetOndersteuning);
const T6: Naar = Naar::Trede(Trede::BetaaldWerk);

/// One question: its number, its text (Dutch, as in the source), and where
/// each answer leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vraag {
    pub nummer: u8,
    pub tekst: &'static str,
    pub ja: Naar,
    pub nee: Naar,
}

/// One row: `q(number, text, where "ja" leads, where "nee" leads)`.
const fn q(nummer: u8, tekst: &'static str, ja: Naar, nee: Naar) -> Vraag {
    Vraag {
        nummer,
        tekst,
        ja,
        nee,
    }
}

/// `003_*` table 3.2: the question that decides growth potential on a rung
/// ("JA: +, NEE: 0"), or `None` where it does not apply (rung 6: "n.v.t.").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Groeivraag {
    pub trede: Trede,
    pub vraag: Option<&'static str>,
}

/// One questionnaire version: its questions, numbered from 1 in order (the
/// walk starts at question 1), and its growth-potential questions, if any.
#[derive(Debug)]
pub struct Stroomschema {
    pub versie: VragenlijstVersie,
    /// The source, for messages and docs.
    pub bron: &'static str,
    pub vragen: &'static [Vraag],
    /// Empty when the version has none.
    pub groeivragen: &'static [Groeivraag],
}

/// `regioplan-2008`: `003_*` §3.3, table 3.1 "Vragen voor bepaling
/// participatieniveau" (five questions), and table 3.2.
pub static REGIOPLAN_2008: Stroomschema = Stroomschema {
    versie: VragenlijstVersie::Regioplan2008,
    bron: "003_* table 3.1",
    vragen: &[
        // 003 t3.1 VRAAG 1: "nee → vraag 3 / ja → vraag 2"
        q(1, "Heeft de klant een arbeidscontract of is de klant een zzp'er?", V(2), V(3)),
        // 003 t3.1 VRAAG 2: "nee → trede 6 / ja → trede 5"
        q(2, "Krijgt de klant ondersteuning in de vorm van participatie-instrument, uitkering, WSW of reguliere opleiding?", T5, T6),
        // 003 t3.1 VRAAG 3: "nee → vraag 4 / ja → trede 4"
        q(3, "Verricht de klant onbetaald werk met minimaal 1x per week contact met anderen?", T4, V(4)),
        // 003 t3.1 VRAAG 4: "nee → vraag 5 / ja → trede 3"
        q(4, "Neemt de klant deel aan georganiseerde activiteiten met minimaal 1x per week contact met anderen?", T3, V(5)),
        // 003 t3.1 VRAAG 5: "ja → trede 2 / nee → trede 1"
        q(5, "Heeft de klant minimaal 1x per week contact met mensen die geen huisgenoten zijn?", T2, T1),
    ],
    groeivragen: &[
        // 003 t3.2 "6. Betaald werk: n.v.t."
        Groeivraag { trede: Trede::BetaaldWerk, vraag: None },
        // 003 t3.2 "5. Betaald werk met ondersteuning"
        Groeivraag { trede: Trede::BetaaldWerkMetOndersteuning, vraag: Some("Verwacht u dat de klant binnen een jaar zonder of met minder ondersteuning kan werken?") },
        // 003 t3.2 "4. Onbetaald werk"
        Groeivraag { trede: Trede::OnbetaaldWerk, vraag: Some("Verwacht u dat de klant binnen een jaar betaald kan werken met of zonder ondersteuning?") },
        // 003 t3.2 "3. Deelname aan georganiseerde activiteiten"
        Groeivraag { trede: Trede::GeorganiseerdeActiviteiten, vraag: Some("Verwacht u dat de klant binnen een jaar betaald of onbetaald kan werken (al dan niet binnen een traject)?") },
        // 003 t3.2 "2. Sociale contacten buiten de deur"
        Groeivraag { trede: Trede::SocialeContacten, vraag: Some("Verwacht u dat de klant binnen een jaar kan deelnemen aan georganiseerde activiteiten (inclusief trajecten)?") },
        // 003 t3.2 "1. Geïsoleerd"
        Groeivraag { trede: Trede::Geisoleerd, vraag: Some("Verwacht u dat de klant binnen een jaar in contact kan en wil komen met anderen in informeel of georganiseerd verband?") },
    ],
};

/// `vng-2011`: `001_*` appendix 5, "Stroomschema Tredebepaling" with its
/// "Specifieke vragen bij stroomschema" (21 questions). "Naar vragen voor
/// trede 4" is question 10, "naar vragen over trede 3" question 14, "naar
/// vragen over trede 2 / 1" question 19: the first question of each group.
/// The appendix has no growth-potential questions.
pub static VNG_2011: Stroomschema = Stroomschema {
    versie: VragenlijstVersie::Vng2011,
    bron: "001_* appendix 5",
    vragen: &[
        // 001 b5 "Vragen voor trede 5 / 6", 1: "Ja (vraag 4) / Nee (vraag 2)"
        q(1, "Heeft u een betaalde baan of werkt u als zelfstandige?", V(4), V(2)),
        // 001 b5, 2: "Ja (vraag 3) / Nee (naar vragen voor trede 4)"
        q(2, "Loopt u stage?", V(3), V(10)),
        // 001 b5, 3: "Ja (vraag 4) / Nee (naar vragen voor trede 4)"
        q(3, "Krijgt u hiervoor een stagevergoeding?", V(4), V(10)),
        // 001 b5, 4: "Ja (Trede 5) / Nee (vraag 5)"
        q(4, "Ontvangt u een aanvullende uitkering?", T5, V(5)),
        // 001 b5, 5: "Ja (Trede 5) / Nee (vraag 6)"
        q(5, "Volgt u een cursus of opleiding die door de gemeente wordt betaald?", T5, V(6)),
        // 001 b5, 6: "Ja (Trede 5) / Nee (vraag 7)"
        q(6, "Werkt u via de WSW?", T5, V(7)),
        // 001 b5, 7: "Ja (Trede 5) / Nee (vraag 8)"
        q(7, "Werkt u met loonkostensubsidie of in een gesubsidieerde baan?", T5, V(8)),
        // 001 b5, 8: "Ja (Trede 5) / Nee (vraag 9)"
        q(8, "Heeft u een jobcoach of krijgt u begeleiding bij uw werk als onderdeel van een re-integratietraject?", T5, V(9)),
        // 001 b5, 9: "Ja (Trede 5) / Nee (Trede 6)"
        q(9, "Volgt u een inburgeringstraject?", T5, T6),
        // 001 b5 "Vragen voor trede 4", 10: "Ja (vraag 12) / Nee (vraag 11)"
        q(10, "Doet u vrijwilligerswerk of onbetaalde stage?", V(12), V(11)),
        // 001 b5, 11: "Ja (vraag 12) / Nee (naar vragen over Trede 3)"
        q(11, "Werkt u in het kader van uw re-integratietraject?", V(12), V(14)),
        // 001 b5, 12: "Ja (vraag 13) / Nee (naar vragen over Trede 3)"
        q(12, "Doet u dit werk wekelijks?", V(13), V(14)),
        // 001 b5, 13: "Ja (Trede 4) / Nee (naar vragen over Trede 3)"
        q(13, "Ontmoet u iedere week mensen bij dit werk?", T4, V(14)),
        // 001 b5 "Vragen voor trede 3", 14: "Ja (vraag 18) / Nee (vraag 15)"
        q(14, "Bent u lid van een vereniging?", V(18), V(15)),
        // 001 b5, 15: "Ja (vraag 18) / Nee (vraag 16)"
        q(15, "Volgt u een re-integratietraject?", V(18), V(16)),
        // 001 b5, 16: "Ja (vraag 18) / Nee (vraag 17)"
        q(16, "Volgt u een inburgeringstraject?", V(18), V(17)),
        // 001 b5, 17: "Ja (vraag 18) / Nee (naar vragen over Trede 2 / 1)"
        q(17, "Volgt u een cursus of opleiding?", V(18), V(19)),
        // 001 b5, 18: "Ja (Trede 3) / Nee (naar vragen over Trede 2 /)"
        q(18, "Ontmoet u hierbij (vereniging, traject, opleiding) iedere week mensen?", T3, V(19)),
        // 001 b5 "Vragen voor trede 2 / 1", 19: "Ja (vraag 20) / Nee (vraag 21)"
        q(19, "Ontmoet u (in uw vrije tijd) naast uw huisgenoten en familie ook andere mensen?", V(20), V(21)),
        // 001 b5, 20: "Ja (Trede 2) / Nee (vraag 21)"
        q(20, "Ontmoet u deze mensen iedere week?", T2, V(21)),
        // 001 b5, 21: "Ja (Trede 2) / Nee (Trede 1)"
        q(21, "Verricht u mantelzorg voor andere mensen dan uw huisgenoten en familie?", T2, T1),
    ],
    groeivragen: &[],
};

impl Stroomschema {
    /// The table of a version.
    pub fn van(versie: VragenlijstVersie) -> &'static Stroomschema {
        match versie {
            VragenlijstVersie::Regioplan2008 => &REGIOPLAN_2008,
            VragenlijstVersie::Vng2011 => &VNG_2011,
        }
    }

    /// Question `nummer`, if the version has it.
    pub fn vraag(&self, nummer: u8) -> Option<&'static Vraag> {
        let vragen: &'static [Vraag] = self.vragen;
        vragen.iter().find(|v| v.nummer == nummer)
    }

    /// Table 3.2's row for `trede`, if the version has growth questions.
    pub fn groeivraag(&self, trede: Trede) -> Option<&'static Groeivraag> {
        let groeivragen: &'static [Groeivraag] = self.groeivragen;
        groeivragen.iter().find(|g| g.trede == trede)
    }

    /// The questions the walk can reach from question `vanaf` (itself
    /// included): an answered question leads on by its answer, an
    /// unanswered one either way.
    pub fn bereikbaar(&self, vanaf: u8, antwoord: impl Fn(u8) -> Option<bool>) -> BTreeSet<u8> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![vanaf];
        while let Some(n) = todo.pop() {
            let Some(vraag) = self.vraag(n) else { continue };
            if seen.insert(n) {
                let beide = [vraag.ja, vraag.nee];
                let naar = match antwoord(n) {
                    Some(true) => &beide[..1],
                    Some(false) => &beide[1..],
                    None => &beide[..],
                };
                for &naar in naar {
                    if let Naar::Vraag(next) = naar {
                        todo.push(next);
                    }
                }
            }
        }
        seen
    }

    /// Walks `antwoorden` through this version from question 1.
    pub fn afleiden(&'static self, antwoorden: &[Antwoord]) -> Afleiding {
        let antwoord = |n: u8| antwoorden.iter().position(|a| a.vraag.get() == n);
        let waarde = |n: u8| antwoord(n).map(|i| antwoorden[i].ja);
        let mut pad = Vec::new();
        let mut op_pad = BTreeSet::new();
        let mut at = 1;
        let uitkomst = loop {
            let (Some(vraag), Some(i)) = (self.vraag(at), antwoord(at)) else {
                break Uitkomst::Onvolledig { vraag: at };
            };
            // A question answered twice is `RegelDubbel`; the first counts.
            let gegeven = antwoorden[i];
            pad.push(gegeven);
            op_pad.insert(i);
            // Edges lead to higher numbers only (a test checks it), so the
            // walk ends; the bound keeps that true should a row be wrong.
            match (if gegeven.ja { vraag.ja } else { vraag.nee }, pad.len()) {
                (Naar::Trede(trede), _) => break Uitkomst::Trede(trede),
                (Naar::Vraag(_), n) if n > self.vragen.len() => {
                    break Uitkomst::Onvolledig { vraag: at };
                }
                (Naar::Vraag(next), _) => at = next,
            }
        };
        let nog_bereikbaar = match uitkomst {
            Uitkomst::Onvolledig { vraag } => self.bereikbaar(vraag, waarde),
            Uitkomst::Trede(_) => BTreeSet::new(),
        };
        let mut fouten = Vec::new();
        for (i, a) in antwoorden.iter().enumerate() {
            let n = a.vraag.get();
            if op_pad.contains(&i) || nog_bereikbaar.contains(&n) {
                continue;
            }
            let finding = if self.vraag(n).is_none() {
                vraag_onbekend(self, n)
            } else {
                vraag_niet_bereikt(self, n, &pad, uitkomst)
            };
            fouten.push((i, finding));
        }
        Afleiding {
            schema: self,
            pad,
            uitkomst,
            fouten,
        }
    }
}

/// Where the walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uitkomst {
    /// The answers lead to this rung.
    Trede(Trede),
    /// Question `vraag` is on the path but has no answer.
    Onvolledig { vraag: u8 },
}

/// The outcome of walking a message's answers through its version.
#[derive(Debug, Clone)]
pub struct Afleiding {
    pub schema: &'static Stroomschema,
    /// The answers on the path, in the order walked.
    pub pad: Vec<Antwoord>,
    pub uitkomst: Uitkomst,
    /// Every answer not on a possible path: its index among the message's
    /// answers, and the `regel.*` finding to report at that `Antwoord`.
    pub fouten: Vec<(usize, Finding)>,
}

/// Derives the rung from a message's questionnaire.
pub fn afleiden(vragenlijst: &Vragenlijst) -> Afleiding {
    Stroomschema::van(vragenlijst.versie).afleiden(&vragenlijst.antwoorden)
}

impl Afleiding {
    /// The derived rung, when the path is complete.
    pub fn trede(&self) -> Option<Trede> {
        match self.uitkomst {
            Uitkomst::Trede(trede) => Some(trede),
            Uitkomst::Onvolledig { .. } => None,
        }
    }

    /// Table 3.2's growth question for the derived rung, where the version
    /// has one (`vraag: None`: growth potential does not apply).
    pub fn groeivraag(&self) -> Option<&'static Groeivraag> {
        self.schema.groeivraag(self.trede()?)
    }

    /// `SignaalVragenlijstOnvolledig`: a question on the path has no
    /// answer, so the rung cannot be derived.
    pub fn onvolledig(&self) -> Option<Finding> {
        let Uitkomst::Onvolledig { vraag } = self.uitkomst else {
            return None;
        };
        let versie = self.schema.versie;
        let message = if self.pad.is_empty() {
            format!("question {vraag} of {versie} has no answer, so the rung cannot be derived")
        } else {
            format!(
                "question {vraag} of {versie} has no answer: the answers {} stop there, so the rung cannot be derived",
                pad_tekst(&self.pad)
            )
        };
        Some(finding(Code::SignaalVragenlijstOnvolledig, message))
    }

    /// `SignaalTredeWijktAfVanVragenlijst`: the recorded `Trede` is not the
    /// rung the answers lead to. Code 9 is not compared (module docs).
    pub fn trede_wijkt_af(&self, trede: Trede) -> Option<Finding> {
        let afgeleid = self.trede()?;
        (trede != afgeleid && trede != Trede::BuitenBeeld).then(|| {
            finding(
                Code::SignaalTredeWijktAfVanVragenlijst,
                format!(
                    "Trede {trede} differs from Trede {afgeleid}, to which the {} answers {} lead ({})",
                    self.schema.versie,
                    pad_tekst(&self.pad),
                    self.schema.bron
                ),
            )
        })
    }
}

fn finding(code: Code, message: String) -> Finding {
    Finding { code, message }
}

/// `RegelVraagOnbekend`: the version has no question with this number.
fn vraag_onbekend(schema: &Stroomschema, n: u8) -> Finding {
    finding(
        Code::RegelVraagOnbekend,
        format!(
            "{} has questions 1 to {} ({}); there is no question {n}",
            schema.versie,
            schema.vragen.len(),
            schema.bron
        ),
    )
}

/// `RegelVraagNietBereikt`: no answers to the questions still open lead
/// the walk to question `n`.
fn vraag_niet_bereikt(
    schema: &Stroomschema,
    n: u8,
    pad: &[Antwoord],
    uitkomst: Uitkomst,
) -> Finding {
    let versie = schema.versie;
    let message = match uitkomst {
        Uitkomst::Trede(trede) => format!(
            "question {n} of {versie} is not reached: the answers {} lead to Trede {trede} without it",
            pad_tekst(pad)
        ),
        Uitkomst::Onvolledig { vraag } => format!(
            "question {n} of {versie} cannot be reached from question {vraag}, the first question on the path without an answer"
        ),
    };
    finding(Code::RegelVraagNietBereikt, message)
}

/// "1 nee, 3 ja".
fn pad_tekst(pad: &[Antwoord]) -> String {
    let mut text = String::new();
    for (i, a) in pad.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(text, "{sep}{} {}", a.vraag, if a.ja { "ja" } else { "nee" });
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::codes::Vraagnummer;

    fn antwoorden(spec: &[(u8, bool)]) -> Vec<Antwoord> {
        spec.iter()
            .map(|&(n, ja)| Antwoord {
                vraag: Vraagnummer::parse(&n.to_string()).unwrap(),
                ja,
            })
            .collect()
    }

    /// Walks `spec` and requires a complete, error-free path to `trede`.
    fn leidt_tot(schema: &'static Stroomschema, spec: &[(u8, bool)], trede: Trede) {
        let a = schema.afleiden(&antwoorden(spec));
        assert_eq!(a.uitkomst, Uitkomst::Trede(trede), "{spec:?}");
        assert!(a.fouten.is_empty(), "{spec:?}: {:?}", a.fouten);
        assert_eq!(a.pad.len(), spec.len(), "{spec:?}");
        assert_eq!(a.onvolledig(), None);
        assert_eq!(a.trede_wijkt_af(trede), None);
    }

    const J: bool = true;
    const N: bool = false;

    // The tables themselves -----------------------------------------------------

    fn every_version() -> Vec<&'static Stroomschema> {
        VragenlijstVersie::ALL
            .iter()
            .map(|&v| Stroomschema::van(v))
            .collect()
    }

    #[test]
    fn every_schema_version_has_a_table_numbered_from_one() {
        for schema in every_version() {
            assert_eq!(Stroomschema::van(schema.versie).versie, schema.versie);
            for (i, vraag) in schema.vragen.iter().enumerate() {
                assert_eq!(usize::from(vraag.nummer), i + 1, "{:?}", schema.versie);
                assert!(vraag.tekst.ends_with('?'), "{vraag:?}");
            }
        }
        assert_eq!(
            REGIOPLAN_2008.vragen.len(),
            5,
            "003 §3.3: \"maximaal vijf vragen\""
        );
        assert_eq!(VNG_2011.vragen.len(), 21, "001 appendix 5: 21 questions");
    }

    #[test]
    fn answers_lead_forward_to_existing_questions_and_every_question_is_reachable() {
        for schema in every_version() {
            for vraag in schema.vragen {
                for naar in [vraag.ja, vraag.nee] {
                    if let Naar::Vraag(n) = naar {
                        assert!(n > vraag.nummer, "{vraag:?}: edges lead forward");
                        assert!(schema.vraag(n).is_some(), "{vraag:?}");
                    }
                }
            }
            let all: BTreeSet<u8> = schema.vragen.iter().map(|v| v.nummer).collect();
            assert_eq!(schema.bereikbaar(1, |_| None), all, "{:?}", schema.versie);
        }
    }

    /// Every path from question 1 to a rung, as (answers, rung).
    fn paths(schema: &Stroomschema) -> Vec<(Vec<(u8, bool)>, Trede)> {
        fn walk(
            schema: &Stroomschema,
            at: u8,
            so_far: &mut Vec<(u8, bool)>,
            out: &mut Vec<(Vec<(u8, bool)>, Trede)>,
        ) {
            let vraag = schema.vraag(at).unwrap();
            for (ja, naar) in [(true, vraag.ja), (false, vraag.nee)] {
                so_far.push((at, ja));
                match naar {
                    Naar::Trede(t) => out.push((so_far.clone(), t)),
                    Naar::Vraag(n) => walk(schema, n, so_far, out),
                }
                so_far.pop();
            }
        }
        let mut out = Vec::new();
        walk(schema, 1, &mut Vec::new(), &mut out);
        out
    }

    #[test]
    fn the_number_of_paths_is_what_the_source_gives() {
        // Regioplan: one path per rung. VNG, counted by hand from appendix
        // 5: 7 paths end in questions 4-9; questions 10-21 have 147; 1 nee
        // gives 154 + 147 via question 2, so 7 + 301 = 308.
        assert_eq!(paths(&REGIOPLAN_2008).len(), 6);
        assert_eq!(paths(&VNG_2011).len(), 308);
    }

    #[test]
    fn growth_questions_follow_table_3_2() {
        let g = |t| REGIOPLAN_2008.groeivraag(t).map(|g| g.vraag);
        assert_eq!(g(Trede::BetaaldWerk), Some(None), "rung 6: n.v.t.");
        for t in [
            Trede::Geisoleerd,
            Trede::SocialeContacten,
            Trede::GeorganiseerdeActiviteiten,
            Trede::OnbetaaldWerk,
            Trede::BetaaldWerkMetOndersteuning,
        ] {
            assert!(g(t).flatten().is_some_and(|v| v.starts_with("Verwacht u")));
        }
        assert_eq!(g(Trede::Intake), None);
        assert_eq!(g(Trede::BuitenBeeld), None);
        assert!(VNG_2011.groeivragen.is_empty(), "appendix 5 has none");
        let a = REGIOPLAN_2008.afleiden(&antwoorden(&[(1, J), (2, N)]));
        assert_eq!(a.groeivraag().map(|g| g.vraag), Some(None));
        let a = REGIOPLAN_2008.afleiden(&antwoorden(&[(1, N), (3, J)]));
        assert_eq!(
            a.groeivraag().and_then(|g| g.vraag),
            Some("Verwacht u dat de klant binnen een jaar betaald kan werken met of zonder ondersteuning?")
        );
        let a = VNG_2011.afleiden(&antwoorden(&[(1, J), (4, J)]));
        assert_eq!(a.groeivraag(), None);
    }

    // regioplan-2008: every path, written out from table 3.1 ------------------

    #[test]
    fn regioplan_contract_and_support_is_trede_5() {
        leidt_tot(
            &REGIOPLAN_2008,
            &[(1, J), (2, J)],
            Trede::BetaaldWerkMetOndersteuning,
        );
    }

    #[test]
    fn regioplan_contract_without_support_is_trede_6() {
        leidt_tot(&REGIOPLAN_2008, &[(1, J), (2, N)], Trede::BetaaldWerk);
    }

    #[test]
    fn regioplan_unpaid_work_is_trede_4() {
        leidt_tot(&REGIOPLAN_2008, &[(1, N), (3, J)], Trede::OnbetaaldWerk);
    }

    #[test]
    fn regioplan_organised_activities_is_trede_3() {
        leidt_tot(
            &REGIOPLAN_2008,
            &[(1, N), (3, N), (4, J)],
            Trede::GeorganiseerdeActiviteiten,
        );
    }

    #[test]
    fn regioplan_weekly_contacts_is_trede_2() {
        leidt_tot(
            &REGIOPLAN_2008,
            &[(1, N), (3, N), (4, N), (5, J)],
            Trede::SocialeContacten,
        );
    }

    #[test]
    fn regioplan_no_weekly_contacts_is_trede_1() {
        leidt_tot(
            &REGIOPLAN_2008,
            &[(1, N), (3, N), (4, N), (5, N)],
            Trede::Geisoleerd,
        );
    }

    // vng-2011: every edge of appendix 5 on a written-out path ----------------

    #[test]
    fn vng_paid_work_with_support_is_trede_5_by_each_of_questions_4_to_9() {
        let t5 = Trede::BetaaldWerkMetOndersteuning;
        leidt_tot(&VNG_2011, &[(1, J), (4, J)], t5);
        leidt_tot(&VNG_2011, &[(1, J), (4, N), (5, J)], t5);
        leidt_tot(&VNG_2011, &[(1, J), (4, N), (5, N), (6, J)], t5);
        leidt_tot(&VNG_2011, &[(1, J), (4, N), (5, N), (6, N), (7, J)], t5);
        leidt_tot(
            &VNG_2011,
            &[(1, J), (4, N), (5, N), (6, N), (7, N), (8, J)],
            t5,
        );
        leidt_tot(
            &VNG_2011,
            &[(1, J), (4, N), (5, N), (6, N), (7, N), (8, N), (9, J)],
            t5,
        );
    }

    #[test]
    fn vng_paid_work_without_support_is_trede_6() {
        let none = [(1, J), (4, N), (5, N), (6, N), (7, N), (8, N), (9, N)];
        leidt_tot(&VNG_2011, &none, Trede::BetaaldWerk);
    }

    #[test]
    fn vng_paid_internship_joins_the_paid_work_questions() {
        // 1 nee → 2 ja → 3 ja → 4.
        leidt_tot(
            &VNG_2011,
            &[(1, N), (2, J), (3, J), (4, J)],
            Trede::BetaaldWerkMetOndersteuning,
        );
        let t6 = [
            (1, N),
            (2, J),
            (3, J),
            (4, N),
            (5, N),
            (6, N),
            (7, N),
            (8, N),
            (9, N),
        ];
        leidt_tot(&VNG_2011, &t6, Trede::BetaaldWerk);
    }

    #[test]
    fn vng_unpaid_work_is_trede_4_by_volunteering_or_reintegration() {
        let t4 = Trede::OnbetaaldWerk;
        // Unpaid internship (2 ja, 3 nee) → 10.
        leidt_tot(
            &VNG_2011,
            &[(1, N), (2, J), (3, N), (10, J), (12, J), (13, J)],
            t4,
        );
        // No internship → 10; volunteering.
        leidt_tot(&VNG_2011, &[(1, N), (2, N), (10, J), (12, J), (13, J)], t4);
        // Work as part of a re-integration programme.
        leidt_tot(
            &VNG_2011,
            &[(1, N), (2, N), (10, N), (11, J), (12, J), (13, J)],
            t4,
        );
    }

    #[test]
    fn vng_unpaid_work_not_weekly_or_alone_goes_on_to_the_trede_3_questions() {
        let t3 = Trede::GeorganiseerdeActiviteiten;
        // 11 nee, 12 nee and 13 nee each lead to question 14.
        leidt_tot(
            &VNG_2011,
            &[(1, N), (2, N), (10, N), (11, N), (14, J), (18, J)],
            t3,
        );
        leidt_tot(
            &VNG_2011,
            &[(1, N), (2, N), (10, J), (12, N), (14, J), (18, J)],
            t3,
        );
        leidt_tot(
            &VNG_2011,
            &[(1, N), (2, N), (10, J), (12, J), (13, N), (14, J), (18, J)],
            t3,
        );
    }

    #[test]
    fn vng_organised_activities_are_trede_3_by_each_of_questions_14_to_17() {
        let t3 = Trede::GeorganiseerdeActiviteiten;
        let start = [(1, N), (2, N), (10, N), (11, N)];
        let via = [
            vec![(14, J)],
            vec![(14, N), (15, J)],
            vec![(14, N), (15, N), (16, J)],
            vec![(14, N), (15, N), (16, N), (17, J)],
        ];
        for v in via {
            let path: Vec<_> = start.iter().copied().chain(v).chain([(18, J)]).collect();
            leidt_tot(&VNG_2011, &path, t3);
        }
    }

    #[test]
    fn vng_social_contacts_are_trede_2_by_weekly_meetings_or_informal_care() {
        let t2 = Trede::SocialeContacten;
        let start = [
            (1, N),
            (2, N),
            (10, N),
            (11, N),
            (14, N),
            (15, N),
            (16, N),
            (17, N),
        ];
        let path = |tail: &[(u8, bool)]| -> Vec<(u8, bool)> {
            start.iter().chain(tail).copied().collect()
        };
        leidt_tot(&VNG_2011, &path(&[(19, J), (20, J)]), t2);
        leidt_tot(&VNG_2011, &path(&[(19, J), (20, N), (21, J)]), t2);
        leidt_tot(&VNG_2011, &path(&[(19, N), (21, J)]), t2);
        // Organised, but not weekly: 18 nee → 19.
        let via_18 = [
            (1, N),
            (2, N),
            (10, N),
            (11, N),
            (14, J),
            (18, N),
            (19, J),
            (20, J),
        ];
        leidt_tot(&VNG_2011, &via_18, t2);
    }

    #[test]
    fn vng_no_contacts_and_no_informal_care_is_trede_1() {
        let t1 = Trede::Geisoleerd;
        let start = [
            (1, N),
            (2, N),
            (10, N),
            (11, N),
            (14, N),
            (15, N),
            (16, N),
            (17, N),
        ];
        let path = |tail: &[(u8, bool)]| -> Vec<(u8, bool)> {
            start.iter().chain(tail).copied().collect()
        };
        leidt_tot(&VNG_2011, &path(&[(19, N), (21, N)]), t1);
        leidt_tot(&VNG_2011, &path(&[(19, J), (20, N), (21, N)]), t1);
    }

    /// Appendix 5 read as code, independently of the table: the rung for
    /// answers to every question.
    fn vng_as_code(ja: &dyn Fn(u8) -> bool) -> Trede {
        let betaald = ja(1) || (ja(2) && ja(3));
        if betaald {
            return if (4..=9).any(ja) {
                Trede::BetaaldWerkMetOndersteuning
            } else {
                Trede::BetaaldWerk
            };
        }
        if (ja(10) || ja(11)) && ja(12) && ja(13) {
            return Trede::OnbetaaldWerk;
        }
        if (14..=17).any(ja) && ja(18) {
            return Trede::GeorganiseerdeActiviteiten;
        }
        if (ja(19) && ja(20)) || ja(21) {
            return Trede::SocialeContacten;
        }
        Trede::Geisoleerd
    }

    fn regioplan_as_code(ja: &dyn Fn(u8) -> bool) -> Trede {
        match (ja(1), ja(2), ja(3), ja(4), ja(5)) {
            (true, true, ..) => Trede::BetaaldWerkMetOndersteuning,
            (true, false, ..) => Trede::BetaaldWerk,
            (false, _, true, ..) => Trede::OnbetaaldWerk,
            (false, _, false, true, _) => Trede::GeorganiseerdeActiviteiten,
            (false, _, false, false, true) => Trede::SocialeContacten,
            (false, _, false, false, false) => Trede::Geisoleerd,
        }
    }

    #[test]
    fn every_path_gives_the_rung_the_source_read_as_code_gives() {
        type AsCode = fn(&dyn Fn(u8) -> bool) -> Trede;
        let cases: [(&'static Stroomschema, AsCode); 2] = [
            (&REGIOPLAN_2008, regioplan_as_code),
            (&VNG_2011, vng_as_code),
        ];
        for (schema, as_code) in cases {
            for (path, trede) in paths(schema) {
                leidt_tot(schema, &path, trede);
                // Questions off the path may be anything: try both.
                for rest in [false, true] {
                    let ja = |n: u8| path.iter().find(|(q, _)| *q == n).map_or(rest, |a| a.1);
                    assert_eq!(as_code(&ja), trede, "{:?} {path:?}", schema.versie);
                }
            }
        }
    }

    // What is wrong with a set of answers ----------------------------------------

    #[test]
    fn answer_order_does_not_matter() {
        leidt_tot(
            &REGIOPLAN_2008,
            &[(4, J), (1, N), (3, N)],
            Trede::GeorganiseerdeActiviteiten,
        );
    }

    #[test]
    fn an_answer_the_flow_never_reaches_is_regel_vraag_niet_bereikt() {
        // The old kitchen-sink fixture: 1 nee → 3 ja → Trede 4; 2, 4 and 5
        // are never asked.
        let a = REGIOPLAN_2008.afleiden(&antwoorden(&[(1, N), (2, N), (3, J), (4, J), (5, J)]));
        assert_eq!(a.trede(), Some(Trede::OnbetaaldWerk));
        let fout: Vec<(usize, Code)> = a.fouten.iter().map(|(i, f)| (*i, f.code)).collect();
        assert_eq!(
            fout,
            [
                (1, Code::RegelVraagNietBereikt),
                (3, Code::RegelVraagNietBereikt),
                (4, Code::RegelVraagNietBereikt)
            ]
        );
        assert_eq!(
            a.fouten[0].1.message,
            "question 2 of regioplan-2008 is not reached: the answers 1 nee, 3 ja lead to Trede 4 without it"
        );
        assert_eq!(
            a.trede_wijkt_af(Trede::GeorganiseerdeActiviteiten).map(|f| f.message),
            Some(
                "Trede 3 differs from Trede 4, to which the regioplan-2008 answers 1 nee, 3 ja lead (003_* table 3.1)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn the_old_vng_fixture_mixes_branches() {
        // 1 nee → 2 nee → 10, unanswered: 5 and 8 cannot be reached from
        // 10, 12, 17 and 21 can.
        let a = VNG_2011.afleiden(&antwoorden(&[
            (1, N),
            (2, N),
            (5, J),
            (8, J),
            (12, J),
            (17, N),
            (21, J),
        ]));
        assert_eq!(a.uitkomst, Uitkomst::Onvolledig { vraag: 10 });
        let fout: Vec<(usize, Code)> = a.fouten.iter().map(|(i, f)| (*i, f.code)).collect();
        assert_eq!(
            fout,
            [
                (2, Code::RegelVraagNietBereikt),
                (3, Code::RegelVraagNietBereikt)
            ]
        );
        assert_eq!(
            a.fouten[0].1.message,
            "question 5 of vng-2011 cannot be reached from question 10, the first question on the path without an answer"
        );
        assert_eq!(
            a.onvolledig().map(|f| f.code),
            Some(Code::SignaalVragenlijstOnvolledig)
        );
    }

    #[test]
    fn a_number_the_version_does_not_have_is_regel_vraag_onbekend() {
        let a = REGIOPLAN_2008.afleiden(&antwoorden(&[(1, N), (3, J), (17, N)]));
        assert_eq!(a.trede(), Some(Trede::OnbetaaldWerk));
        assert_eq!(a.fouten.len(), 1);
        let (i, f) = &a.fouten[0];
        assert_eq!((*i, f.code), (2, Code::RegelVraagOnbekend));
        assert_eq!(
            f.message,
            "regioplan-2008 has questions 1 to 5 (003_* table 3.1); there is no question 17"
        );
        // Unknown even when the path is incomplete.
        let a = REGIOPLAN_2008.afleiden(&antwoorden(&[(1, N), (6, J)]));
        assert_eq!(
            a.fouten.iter().map(|(_, f)| f.code).collect::<Vec<_>>(),
            [Code::RegelVraagOnbekend]
        );
    }

    #[test]
    fn a_missing_answer_on_the_path_is_a_warning_and_keeps_answers_still_reachable() {
        // 1 nee → 3 unanswered; 4 can still be reached (3 nee), 2 cannot.
        let a = REGIOPLAN_2008.afleiden(&antwoorden(&[(1, N), (4, J), (2, J)]));
        assert_eq!(a.uitkomst, Uitkomst::Onvolledig { vraag: 3 });
        assert_eq!(a.trede(), None);
        assert_eq!(
            a.trede_wijkt_af(Trede::Geisoleerd),
            None,
            "nothing to compare"
        );
        assert_eq!(
            a.fouten
                .iter()
                .map(|(i, f)| (*i, f.code))
                .collect::<Vec<_>>(),
            [(2, Code::RegelVraagNietBereikt)]
        );
        assert_eq!(
            a.onvolledig().map(|f| f.message),
            Some("question 3 of regioplan-2008 has no answer: the answers 1 nee stop there, so the rung cannot be derived".to_owned())
        );
        // No answer to question 1 at all.
        let a = VNG_2011.afleiden(&antwoorden(&[(10, J)]));
        assert_eq!(a.uitkomst, Uitkomst::Onvolledig { vraag: 1 });
        assert!(a.fouten.is_empty());
        assert_eq!(
            a.onvolledig().map(|f| f.message),
            Some("question 1 of vng-2011 has no answer, so the rung cannot be derived".to_owned())
        );
    }

    #[test]
    fn after_a_missing_answer_the_given_answers_still_decide_what_is_reachable() {
        // 3 unanswered: 4 can be reached (3 nee), but 4 ja ends at Trede 3,
        // so 5 cannot.
        let a = REGIOPLAN_2008.afleiden(&antwoorden(&[(1, N), (4, J), (5, J)]));
        assert_eq!(a.uitkomst, Uitkomst::Onvolledig { vraag: 3 });
        assert_eq!(
            a.fouten
                .iter()
                .map(|(i, f)| (*i, f.code))
                .collect::<Vec<_>>(),
            [(2, Code::RegelVraagNietBereikt)]
        );
        // With 4 nee, 5 can.
        let a = REGIOPLAN_2008.afleiden(&antwoorden(&[(1, N), (4, N), (5, J)]));
        assert!(a.fouten.is_empty(), "{:?}", a.fouten);
    }

    #[test]
    fn every_path_cut_short_is_incomplete_not_wrong() {
        for schema in every_version() {
            for (path, _) in paths(schema) {
                let cut = &path[..path.len() - 1];
                let a = schema.afleiden(&antwoorden(cut));
                assert_eq!(
                    a.uitkomst,
                    Uitkomst::Onvolledig {
                        vraag: path[path.len() - 1].0
                    }
                );
                assert!(a.fouten.is_empty(), "{cut:?}");
            }
        }
    }

    #[test]
    fn trede_9_is_not_compared_and_trede_0_is() {
        let a = REGIOPLAN_2008.afleiden(&antwoorden(&[(1, J), (2, N)]));
        assert_eq!(a.trede_wijkt_af(Trede::BuitenBeeld), None);
        assert_eq!(a.trede_wijkt_af(Trede::BetaaldWerk), None);
        assert_eq!(
            a.trede_wijkt_af(Trede::Intake).map(|f| f.code),
            Some(Code::SignaalTredeWijktAfVanVragenlijst)
        );
        assert_eq!(
            a.trede_wijkt_af(Trede::BetaaldWerkMetOndersteuning)
                .map(|f| f.code),
            Some(Code::SignaalTredeWijktAfVanVragenlijst)
        );
    }
}
