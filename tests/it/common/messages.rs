//! One builder for the inbound messages tests send: a valid `Meting`,
//! `Correctie` or `Intrekking` for a given id, municipality, client (BSN),
//! measurement date and rung, by templating. What it produces passes the
//! schema and the domain rules (unless a test sets a field to break one).
#![allow(dead_code)]

/// The kind of inbound message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Soort {
    Meting,
    Correctie,
    Intrekking,
}

/// A message to send in. Build with [`Bericht::meting`],
/// [`Bericht::correctie`] or [`Bericht::intrekking`], adjust with the
/// setters, and render with [`Bericht::xml`].
#[derive(Debug, Clone)]
pub struct Bericht {
    pub soort: Soort,
    pub id: String,
    pub gemeente: String,
    pub bsn: String,
    /// `Corrigeert` of a Correctie, `TrektIn` of an Intrekking.
    pub verwijst_naar: Option<String>,
    pub verzonden: String,
    pub meetdatum: String,
    pub geboortedatum: String,
    /// "0"-"6" or "9"; `Groeipotentieel` is "+" on 1-5 and absent otherwise.
    pub trede: String,
    pub achternaam: String,
    pub medewerker: String,
    pub reden: String,
    pub toelichting: Option<String>,
    /// `Afzender/Oin`, absent by default.
    pub oin: Option<String>,
    /// `Vragenlijst`: the version and (question, ja) answers, absent by
    /// default. Each `Antwoord` is on a line of its own.
    pub vragenlijst: Option<(String, Vec<(u8, bool)>)>,
    /// What reports group and count by; absent by default.
    pub kenmerken: Kenmerken,
}

/// The optional items reports read: sex, planning, team, income,
/// instruments (items 22 and 23), national subgroups.
#[derive(Debug, Clone, Default)]
pub struct Kenmerken {
    pub geslacht: Option<String>,
    pub gepland: Option<String>,
    pub uiterste: Option<String>,
    pub team: Option<String>,
    pub inkomen: Vec<String>,
    pub instrument: (Option<bool>, Option<bool>),
    pub subgroepen: Vec<u8>,
}

/// Sent on this date: every default measurement date lies before it.
pub const VERZONDEN: &str = "2025-06-02T10:15:00+02:00";

impl Bericht {
    pub fn meting(id: &str, gemeente: &str, bsn: &str, meetdatum: &str, trede: u8) -> Bericht {
        Bericht {
            soort: Soort::Meting,
            id: id.to_string(),
            gemeente: gemeente.to_string(),
            bsn: bsn.to_string(),
            verwijst_naar: None,
            verzonden: VERZONDEN.to_string(),
            meetdatum: meetdatum.to_string(),
            geboortedatum: "1981-07-14".to_string(),
            trede: trede.to_string(),
            achternaam: "Verhoeven".to_string(),
            medewerker: "Karin de Wit".to_string(),
            reden: "Meting bij de verkeerde cliënt ingevoerd".to_string(),
            toelichting: None,
            oin: None,
            vragenlijst: None,
            kenmerken: Kenmerken::default(),
        }
    }

    pub fn correctie(
        id: &str,
        corrigeert: &str,
        gemeente: &str,
        bsn: &str,
        meetdatum: &str,
        trede: u8,
    ) -> Bericht {
        Bericht {
            soort: Soort::Correctie,
            verwijst_naar: Some(corrigeert.to_string()),
            ..Bericht::meting(id, gemeente, bsn, meetdatum, trede)
        }
    }

    pub fn intrekking(id: &str, trekt_in: &str, gemeente: &str, bsn: &str) -> Bericht {
        Bericht {
            soort: Soort::Intrekking,
            verwijst_naar: Some(trekt_in.to_string()),
            ..Bericht::meting(id, gemeente, bsn, "2024-01-01", 3)
        }
    }

    pub fn achternaam(mut self, achternaam: &str) -> Bericht {
        self.achternaam = achternaam.to_string();
        self
    }

    /// Raw text: escape `&` and `<` yourself (or break the XML on purpose).
    pub fn toelichting(mut self, toelichting: &str) -> Bericht {
        self.toelichting = Some(toelichting.to_string());
        self
    }

    /// Raw text placed in `Trede`: any string, to break the schema.
    pub fn trede(mut self, trede: &str) -> Bericht {
        self.trede = trede.to_string();
        self
    }

    pub fn geboortedatum(mut self, datum: &str) -> Bericht {
        self.geboortedatum = datum.to_string();
        self
    }

    pub fn verzonden(mut self, verzonden: &str) -> Bericht {
        self.verzonden = verzonden.to_string();
        self
    }

    pub fn reden(mut self, reden: &str) -> Bericht {
        self.reden = reden.to_string();
        self
    }

    /// Answers to questionnaire `versie` (`regioplan-2008`, `vng-2011`).
    pub fn vragenlijst(mut self, versie: &str, antwoorden: &[(u8, bool)]) -> Bericht {
        self.vragenlijst = Some((versie.to_string(), antwoorden.to_vec()));
        self
    }

    pub fn medewerker(mut self, medewerker: &str) -> Bericht {
        self.medewerker = medewerker.to_string();
        self
    }

    pub fn team(mut self, team: &str) -> Bericht {
        self.kenmerken.team = Some(team.to_string());
        self
    }

    /// `M`, `V` or `O`.
    pub fn geslacht(mut self, geslacht: &str) -> Bericht {
        self.kenmerken.geslacht = Some(geslacht.to_string());
        self
    }

    /// `GeplandeMeetdatum` and `UitersteMeetdatum`.
    pub fn planning(mut self, gepland: Option<&str>, uiterste: Option<&str>) -> Bericht {
        self.kenmerken.gepland = gepland.map(str::to_string);
        self.kenmerken.uiterste = uiterste.map(str::to_string);
        self
    }

    pub fn inkomen(mut self, codes: &[&str]) -> Bericht {
        self.kenmerken.inkomen = codes.iter().map(|c| c.to_string()).collect();
        self
    }

    /// `InstrumentInGebruik`, `InstrumentIngezet`.
    pub fn instrument(mut self, in_gebruik: Option<bool>, ingezet: Option<bool>) -> Bericht {
        self.kenmerken.instrument = (in_gebruik, ingezet);
        self
    }

    pub fn subgroepen(mut self, subgroepen: &[u8]) -> Bericht {
        self.kenmerken.subgroepen = subgroepen.to_vec();
        self
    }

    pub fn oin(mut self, oin: &str) -> Bericht {
        self.oin = Some(oin.to_string());
        self
    }

    fn envelop(&self) -> String {
        let oin = self
            .oin
            .as_ref()
            .map(|o| format!("\n      <Oin>{o}</Oin>"))
            .unwrap_or_default();
        format!(
            "  <Envelop>\n    <BerichtId>{}</BerichtId>\n    <Verzonden>{}</Verzonden>\n    <Afzender>\n      <Organisatie>Gemeente {} Werk en Inkomen</Organisatie>{oin}\n      <Applicatie>ladderpost-tests 1.0</Applicatie>\n    </Afzender>\n    <Gemeente>{}</Gemeente>\n  </Envelop>\n",
            self.id, self.verzonden, self.gemeente, self.gemeente
        )
    }

    fn gegevens(&self) -> String {
        let groei = match self.trede.as_str() {
            "1" | "2" | "3" | "4" | "5" => "\n    <Groeipotentieel>+</Groeipotentieel>",
            _ => "",
        };
        let uitstroom = if self.trede == "9" {
            "\n    <Uitstroomreden>uitkering-beeindigd</Uitstroomreden>"
        } else {
            ""
        };
        let vragenlijst = self
            .vragenlijst
            .as_ref()
            .map(|(versie, antwoorden)| {
                let antwoorden: String = antwoorden
                    .iter()
                    .map(|(vraag, ja)| {
                        let waarde = if *ja { "ja" } else { "nee" };
                        format!("    <Antwoord><Vraag>{vraag}</Vraag><Waarde>{waarde}</Waarde></Antwoord>\n")
                    })
                    .collect();
                format!("  <Vragenlijst>\n    <Versie>{versie}</Versie>\n{antwoorden}  </Vragenlijst>\n")
            })
            .unwrap_or_default();
        let k = &self.kenmerken;
        let element = |name: &str, v: &Option<String>| {
            v.as_ref()
                .map(|v| format!("\n    <{name}>{v}</{name}>"))
                .unwrap_or_default()
        };
        let geslacht = element("Geslacht", &k.geslacht);
        let planning =
            element("GeplandeMeetdatum", &k.gepland) + &element("UitersteMeetdatum", &k.uiterste);
        let team = element("Team", &k.team);
        let flag = |name: &str, v: Option<bool>| element(name, &v.map(|b| b.to_string()));
        let mut kenmerken: String = k
            .inkomen
            .iter()
            .map(|c| format!("\n    <Inkomenssituatie>{c}</Inkomenssituatie>"))
            .collect();
        kenmerken += &flag("InstrumentInGebruik", k.instrument.0);
        kenmerken += &flag("InstrumentIngezet", k.instrument.1);
        let kenmerken = if kenmerken.is_empty() {
            String::new()
        } else {
            format!("  <Klantkenmerken>{kenmerken}\n  </Klantkenmerken>\n")
        };
        let subgroepen = if k.subgroepen.is_empty() {
            String::new()
        } else {
            let items: String = k
                .subgroepen
                .iter()
                .map(|s| format!("\n    <Subgroep>{s}</Subgroep>"))
                .collect();
            format!("  <Subgroepen>{items}\n  </Subgroepen>\n")
        };
        let toelichting = self
            .toelichting
            .as_ref()
            .map(|t| format!("  <Toelichting>{t}</Toelichting>\n"))
            .unwrap_or_default();
        format!(
            "  <Client>\n    <Bsn>{}</Bsn>\n    <Achternaam>{}</Achternaam>\n    <Geboortedatum>{}</Geboortedatum>{geslacht}\n  </Client>\n  <Werkproces>\n    <Meetdatum>{}</Meetdatum>{planning}\n    <Medewerker>{}</Medewerker>{team}\n  </Werkproces>\n  <Plaatsing>\n    <Trede>{}</Trede>{groei}{uitstroom}\n  </Plaatsing>\n{kenmerken}{subgroepen}{vragenlijst}{toelichting}",
            self.bsn, self.achternaam, self.geboortedatum, self.meetdatum, self.medewerker, self.trede
        )
    }

    /// The message as XML text.
    pub fn xml(&self) -> String {
        let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
        let ns = "xmlns=\"urn:ladderpost:participatieladder:v1\" versie=\"1.0\"";
        match self.soort {
            Soort::Meting => format!("{head}<Meting {ns}>\n{}{}</Meting>\n", self.envelop(), self.gegevens()),
            Soort::Correctie => format!(
                "{head}<Correctie {ns}>\n{}  <Corrigeert>{}</Corrigeert>\n  <Reden>Trede verkeerd ingevoerd</Reden>\n{}</Correctie>\n",
                self.envelop(),
                self.verwijst_naar.as_deref().unwrap_or(""),
                self.gegevens()
            ),
            Soort::Intrekking => format!(
                "{head}<Intrekking {ns}>\n{}  <TrektIn>{}</TrektIn>\n  <Bsn>{}</Bsn>\n  <Reden>{}</Reden>\n</Intrekking>\n",
                self.envelop(),
                self.verwijst_naar.as_deref().unwrap_or(""),
                self.bsn,
                self.reden
            ),
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.xml().into_bytes()
    }
}

/// A BSN unique to `n` (below 10^6) that passes the 11-check.
pub fn bsn(n: u64) -> String {
    assert!(n < 1_000_000, "BSN number out of range");
    ladderpost::domain::Bsn::numbered(n).as_str().to_string()
}

/// Whether `s` is 9 digits passing the 11-check (and not all zeros).
pub fn elfproef(s: &str) -> bool {
    ladderpost::domain::Bsn::parse(s).is_ok()
}

/// The root element of a message as sent (without its XML declaration):
/// what a history or a feed item must embed.
pub fn root_element(xml: &str) -> &str {
    let start = xml.find("?>").map_or(0, |i| i + 2);
    let start = start + xml[start..].find('<').expect("root start");
    let end = xml.rfind('>').expect("root end") + 1;
    &xml[start..end]
}
