//! From the schema-valid tree to the typed messages.
//!
//! Why a separate, thin reader: it knows the element names and which
//! element a rule violation points at, and nothing else; the meaning lives in
//! the newtypes and in [`super::rules`]. It never stops at the first problem:
//! every field is read before any is required, so one pass reports every
//! violation with the position and path of the offending element.
//!
//! The tree is schema-valid, so a missing required element or an unparsable
//! value "cannot happen"; should it happen anyway (a schema/engine mismatch),
//! it becomes an `Xsd*` error rather than a panic.

use std::fmt;

use super::bericht::{
    Adres, Afzender, Antwoord, BerichtMelding, Client, Correctie, Envelop, Foutbericht, Instrument,
    Intrekking, Klantkenmerken, LokaalElement, Meting, Metinggegevens, Ontvangstbevestiging,
    Subgroepen, Vragenlijst, Werkproces,
};
use super::codes::{
    parse_boolean, parse_positive_integer, Aanleiding, Bedrag, Geslacht, Groeipotentieel,
    Inkomenssituatie, Instrumentsoort, Potentietrede, Subgroep, Trede, Uitstroomreden, UnknownCode,
    Vraagnummer, VragenlijstVersie,
};
use super::datum::{Datum, Tijdstip};
use super::ids::{BerichtId, Bsn, Gemeentecode, Postcode};
use super::ladder::{Plaatsing, PlaatsingField};
use super::rules::{self, Finding};
use super::vragenlijst;
use super::Document;
use crate::diagnostics::{Code, Layer, Melding};
use crate::schema::{Element, ValidDocument};

/// A foreign element as the domain keeps it.
fn lokaal_element(el: Element<'_>) -> LokaalElement {
    LokaalElement {
        namespace: el.namespace().to_owned(),
        xml: el.raw().to_owned(),
    }
}

/// Reads the document's root into a typed [`Document`], applying every rule.
pub(super) fn document(doc: &ValidDocument<'_>) -> Result<(Document, Vec<Melding>), Vec<Melding>> {
    let mut reader = Reader::default();
    let root = doc.root();
    let document = match root.name() {
        "Meting" => reader.meting(root).map(Document::Meting),
        "Correctie" => reader.correctie(root).map(Document::Correctie),
        "Intrekking" => reader.intrekking(root).map(Document::Intrekking),
        "Ontvangstbevestiging" => reader
            .ontvangstbevestiging(root)
            .map(Document::Ontvangstbevestiging),
        "Foutbericht" => reader.foutbericht(root).map(Document::Foutbericht),
        "Validatieresultaat" => Some(Document::Overzicht("Validatieresultaat")),
        "Meetgeschiedenis" => Some(Document::Overzicht("Meetgeschiedenis")),
        "Berichtenfeed" => Some(Document::Overzicht("Berichtenfeed")),
        other => {
            reader.error(
                root,
                Code::XsdRoot,
                format!("{other} is not a message of this schema"),
            );
            None
        }
    };
    reader.finish(root, document)
}

/// Collects errors and warnings while reading.
///
/// Invariant: every method that returns `None` has recorded an error.
#[derive(Default)]
struct Reader {
    errors: Vec<Melding>,
    warnings: Vec<Melding>,
}

fn melding(el: Element<'_>, code: Code, message: impl Into<String>) -> Melding {
    Melding::new(code, message)
        .at(el.position())
        .with_path(el.path())
}

impl Reader {
    fn finish<T>(
        mut self,
        root: Element<'_>,
        value: Option<T>,
    ) -> Result<(T, Vec<Melding>), Vec<Melding>> {
        let by_position = |m: &Melding| (m.line.unwrap_or(u32::MAX), m.column.unwrap_or(u32::MAX));
        self.errors.sort_by_key(by_position);
        self.warnings.sort_by_key(by_position);
        match value {
            Some(value) if self.errors.is_empty() => Ok((value, self.warnings)),
            Some(_) => Err(self.errors),
            None if self.errors.is_empty() => {
                // Only reachable if the invariant above is broken.
                Err(vec![melding(
                    root,
                    Code::XsdMissingElement,
                    "the message is incomplete",
                )])
            }
            None => Err(self.errors),
        }
    }

    fn error(&mut self, el: Element<'_>, code: Code, message: impl Into<String>) {
        self.errors.push(melding(el, code, message));
    }

    /// Records a rule finding at `el`: an error, or a warning for `signaal.*`.
    fn finding(&mut self, el: Element<'_>, finding: Finding) {
        let m = melding(el, finding.code, finding.message);
        if finding.code.layer() == Layer::Warning {
            self.warnings.push(m);
        } else {
            self.errors.push(m);
        }
    }

    fn check(&mut self, el: Element<'_>, finding: Option<Finding>) {
        if let Some(finding) = finding {
            self.finding(el, finding);
        }
    }

    fn required<'d>(&mut self, parent: Element<'d>, name: &str) -> Option<Element<'d>> {
        let child = parent.child(name);
        if child.is_none() {
            self.error(
                parent,
                Code::XsdMissingElement,
                format!("{} has no {name} element", parent.name()),
            );
        }
        child
    }

    /// Parses an element's value; a failure is the schema's code `code`.
    fn parsed<T, E: fmt::Display>(
        &mut self,
        el: Element<'_>,
        code: Code,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        match parse(el.value()) {
            Ok(value) => Some(value),
            Err(e) => {
                self.error(el, code, format!("{}: {e}", el.name()));
                None
            }
        }
    }

    fn required_parsed<T, E: fmt::Display>(
        &mut self,
        parent: Element<'_>,
        name: &str,
        code: Code,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let el = self.required(parent, name)?;
        self.parsed(el, code, parse)
    }

    /// `None` when absent, or when unparsable (then an error is recorded).
    fn optional_parsed<T, E: fmt::Display>(
        &mut self,
        parent: Element<'_>,
        name: &str,
        code: Code,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let el = parent.child(name)?;
        self.parsed(el, code, parse)
    }

    fn text(&mut self, parent: Element<'_>, name: &str) -> Option<String> {
        self.required(parent, name).map(|el| el.value().to_owned())
    }

    fn optional_text(&self, parent: Element<'_>, name: &str) -> Option<String> {
        parent.child_value(name).map(str::to_owned)
    }

    fn boolean(&mut self, parent: Element<'_>, name: &str) -> Option<bool> {
        self.optional_parsed(parent, name, Code::XsdDatatype, parse_boolean)
    }

    fn bsn(&mut self, parent: Element<'_>, name: &str) -> Option<Bsn> {
        let el = self.required(parent, name)?;
        match rules::bsn(el.value()) {
            Ok(bsn) => Some(bsn),
            Err(finding) => {
                self.finding(el, finding);
                None
            }
        }
    }

    /// All non-foreign children named `name`, parsed, each value at most once
    /// (`RegelDubbel`). `None` if any failed.
    fn list<T: PartialEq + fmt::Display, E: fmt::Display>(
        &mut self,
        parent: Element<'_>,
        name: &str,
        code: Code,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Option<Vec<T>> {
        let before = self.errors.len();
        let mut values = Vec::new();
        let mut elements = Vec::new();
        for el in parent.children_named(name).filter(|el| !el.is_foreign()) {
            if let Some(value) = self.parsed(el, code, &parse) {
                values.push(value);
                elements.push(el);
            }
        }
        for (i, finding) in rules::geen_dubbele(name, &values) {
            self.finding(elements.get(i).copied().unwrap_or(parent), finding);
        }
        (self.errors.len() == before).then_some(values)
    }

    // Messages -------------------------------------------------------------

    fn meting(&mut self, root: Element<'_>) -> Option<Meting> {
        let envelop = self
            .required(root, "Envelop")
            .and_then(|el| self.envelop(el));
        let gegevens = self.metinggegevens(root, envelop.as_ref());
        Some(Meting {
            envelop: envelop?,
            gegevens: gegevens?,
        })
    }

    fn correctie(&mut self, root: Element<'_>) -> Option<Correctie> {
        let envelop = self
            .required(root, "Envelop")
            .and_then(|el| self.envelop(el));
        let corrigeert = self.referentie(root, "Corrigeert", envelop.as_ref());
        let reden = self.optional_text(root, "Reden");
        let gegevens = self.metinggegevens(root, envelop.as_ref());
        Some(Correctie {
            envelop: envelop?,
            corrigeert: corrigeert?,
            reden,
            gegevens: gegevens?,
        })
    }

    fn intrekking(&mut self, root: Element<'_>) -> Option<Intrekking> {
        let envelop = self
            .required(root, "Envelop")
            .and_then(|el| self.envelop(el));
        let trekt_in = self.referentie(root, "TrektIn", envelop.as_ref());
        let bsn = self.bsn(root, "Bsn");
        let reden = self.text(root, "Reden");
        Some(Intrekking {
            envelop: envelop?,
            trekt_in: trekt_in?,
            bsn: bsn?,
            reden: reden?,
        })
    }

    fn ontvangstbevestiging(&mut self, root: Element<'_>) -> Option<Ontvangstbevestiging> {
        let bericht_id =
            self.required_parsed(root, "BerichtId", Code::XsdPattern, BerichtId::parse);
        let ontvangen = self.required_parsed(root, "Ontvangen", Code::XsdDatatype, Tijdstip::parse);
        let volgnummer = self.required_parsed(root, "Volgnummer", Code::XsdDatatype, |s| {
            parse_positive_integer(s, u64::MAX)
        });
        let herhaling = self.boolean(root, "Herhaling");
        let waarschuwingen = self.berichtmeldingen(root, "Waarschuwing");
        Some(Ontvangstbevestiging {
            bericht_id: bericht_id?,
            ontvangen: ontvangen?,
            volgnummer: volgnummer?,
            herhaling: herhaling.unwrap_or(false),
            waarschuwingen: waarschuwingen?,
        })
    }

    fn foutbericht(&mut self, root: Element<'_>) -> Option<Foutbericht> {
        let bericht_id =
            self.optional_parsed(root, "BerichtId", Code::XsdPattern, BerichtId::parse);
        let tijdstip = self.required_parsed(root, "Tijdstip", Code::XsdDatatype, Tijdstip::parse);
        let fouten = self.berichtmeldingen(root, "Fout");
        Some(Foutbericht {
            bericht_id,
            tijdstip: tijdstip?,
            fouten: fouten?,
        })
    }

    fn berichtmeldingen(&mut self, parent: Element<'_>, name: &str) -> Option<Vec<BerichtMelding>> {
        let read: Vec<Option<BerichtMelding>> = parent
            .children_named(name)
            .map(|el| {
                let code = self.text(el, "Code");
                let omschrijving = self.text(el, "Omschrijving");
                let number = |s: &str| parse_positive_integer(s, u64::MAX);
                let regel = self.optional_parsed(el, "Regel", Code::XsdDatatype, number);
                let kolom = self.optional_parsed(el, "Kolom", Code::XsdDatatype, number);
                Some(BerichtMelding {
                    code: code?,
                    omschrijving: omschrijving?,
                    regel,
                    kolom,
                    pad: self.optional_text(el, "Pad"),
                })
            })
            .collect();
        read.into_iter().collect()
    }

    /// `Corrigeert` or `TrektIn`: an id that is not the message's own.
    fn referentie(
        &mut self,
        root: Element<'_>,
        name: &str,
        envelop: Option<&Envelop>,
    ) -> Option<BerichtId> {
        let el = self.required(root, name)?;
        let id = self.parsed(el, Code::XsdPattern, BerichtId::parse)?;
        if let Some(envelop) = envelop {
            self.check(
                el,
                rules::referentie_niet_naar_zichzelf(&envelop.bericht_id, &id, name),
            );
        }
        Some(id)
    }

    // Parts ----------------------------------------------------------------

    fn envelop(&mut self, el: Element<'_>) -> Option<Envelop> {
        let bericht_id = self.required_parsed(el, "BerichtId", Code::XsdPattern, BerichtId::parse);
        let verzonden = self.required_parsed(el, "Verzonden", Code::XsdDatatype, Tijdstip::parse);
        let afzender = self.required(el, "Afzender").and_then(|a| {
            let organisatie = self.text(a, "Organisatie");
            let applicatie = self.text(a, "Applicatie");
            Some(Afzender {
                organisatie: organisatie?,
                oin: self.optional_text(a, "Oin"),
                applicatie: applicatie?,
            })
        });
        let gemeente = self.required_parsed(el, "Gemeente", Code::XsdPattern, Gemeentecode::parse);
        Some(Envelop {
            bericht_id: bericht_id?,
            verzonden: verzonden?,
            afzender: afzender?,
            gemeente: gemeente?,
            invoerder: self.optional_text(el, "Invoerder"),
        })
    }

    /// The `MetingGegevens` group, children of `root`, with the rules that
    /// span its parts and the consistency warnings.
    fn metinggegevens(
        &mut self,
        root: Element<'_>,
        envelop: Option<&Envelop>,
    ) -> Option<Metinggegevens> {
        let client_el = self.required(root, "Client");
        let client = client_el.and_then(|el| self.client(el));
        let werkproces_el = self.required(root, "Werkproces");
        let werkproces = werkproces_el.and_then(|el| self.werkproces(el));
        let plaatsing_el = self.required(root, "Plaatsing");
        let plaatsing = plaatsing_el.and_then(|el| self.plaatsing(el));
        let klantkenmerken = root
            .child("Klantkenmerken")
            .map(|el| self.klantkenmerken(el));
        let subgroepen = root.child("Subgroepen").map(|el| self.subgroepen(el));
        let vragenlijst = root.child("Vragenlijst").map(|el| self.vragenlijst(el));
        let toelichting = self.optional_text(root, "Toelichting");
        let lokale_kenmerken = root
            .child("LokaleKenmerken")
            .map(|el| el.children().map(lokaal_element).collect())
            .unwrap_or_default();
        let instrument_els: Vec<Element<'_>> = root
            .child("Instrumenten")
            .map(|el| el.children_named("Instrument").collect())
            .unwrap_or_default();
        let instrumenten: Option<Vec<Instrument>> = instrument_els
            .iter()
            .map(|&el| self.instrument(el))
            .collect::<Vec<_>>()
            .into_iter()
            .collect();

        if let (Some(client), Some(werkproces)) = (&client, &werkproces) {
            if let Some(el) = client_el.and_then(|c| c.child("Geboortedatum")) {
                self.check(
                    el,
                    rules::geboortedatum_voor_meetdatum(
                        &client.geboortedatum,
                        &werkproces.meetdatum,
                    ),
                );
            }
        }
        if let (Some(werkproces), Some(envelop)) = (&werkproces, envelop) {
            if let Some(el) = werkproces_el.and_then(|w| w.child("Meetdatum")) {
                self.check(
                    el,
                    rules::meetdatum_niet_na_verzending(&werkproces.meetdatum, &envelop.verzonden),
                );
            }
        }
        let kenmerken = klantkenmerken.as_ref().and_then(Option::as_ref);
        if let (Some(plaatsing), Some(el)) = (&plaatsing, plaatsing_el) {
            self.signalen(el, plaatsing, kenmerken);
            let subgroepen_el = root.child("Subgroepen");
            let subgroepen = subgroepen.as_ref().and_then(Option::as_ref);
            if subgroepen_el.is_none() || subgroepen.is_some() {
                self.check(
                    subgroepen_el.unwrap_or(root),
                    rules::subgroep_ontbreekt(plaatsing, subgroepen),
                );
            }
        }
        self.definities(
            root,
            client.as_ref().zip(werkproces.as_ref()),
            kenmerken,
            subgroepen.as_ref().and_then(Option::as_ref),
        );
        if let (Some(instrumenten), Some(werkproces)) = (&instrumenten, &werkproces) {
            let found =
                rules::instrumenten_tegen_kenmerken(instrumenten, &werkproces.meetdatum, kenmerken);
            if let Some((i, finding)) = found {
                self.finding(instrument_els.get(i).copied().unwrap_or(root), finding);
            }
        }
        if let (Some(Some(antwoorden)), Some(el)) = (&vragenlijst, root.child("Vragenlijst")) {
            let trede = plaatsing.as_ref().map(Plaatsing::trede);
            let trede_el = plaatsing_el.and_then(|p| p.child("Trede"));
            self.afleiding(el, antwoorden, trede.zip(trede_el));
        }

        Some(Metinggegevens {
            client: client?,
            werkproces: werkproces?,
            plaatsing: plaatsing?,
            klantkenmerken: optional(klantkenmerken)?,
            subgroepen: optional(subgroepen)?,
            vragenlijst: optional(vragenlijst)?,
            toelichting,
            lokale_kenmerken,
            instrumenten: instrumenten?,
        })
    }

    /// One `Instrument` (schema 1.1), with its period checked.
    fn instrument(&mut self, el: Element<'_>) -> Option<Instrument> {
        let soort = self.required_parsed(el, "Soort", Code::XsdEnumeration, Instrumentsoort::parse);
        let begindatum = self.required_parsed(el, "Begindatum", Code::XsdDatatype, Datum::parse);
        let einddatum = el
            .child("Einddatum")
            .map(|e| self.parsed(e, Code::XsdDatatype, Datum::parse));
        let kosten = el
            .child("Kosten")
            .map(|e| self.parsed(e, Code::XsdPattern, Bedrag::parse));
        let instrument = Instrument {
            soort: soort?,
            aanbieder: self.optional_text(el, "Aanbieder"),
            begindatum: begindatum?,
            einddatum: optional(einddatum)?,
            kosten: optional(kosten)?,
        };
        if let Some(finding) = rules::instrument_periode(&instrument) {
            self.finding(el.child("Einddatum").unwrap_or(el), finding);
            return None;
        }
        Some(instrument)
    }

    fn client(&mut self, el: Element<'_>) -> Option<Client> {
        let bsn = self.bsn(el, "Bsn");
        let achternaam = self.text(el, "Achternaam");
        let geboortedatum =
            self.required_parsed(el, "Geboortedatum", Code::XsdDatatype, Datum::parse);
        let geslacht = el
            .child("Geslacht")
            .map(|g| self.parsed(g, Code::XsdEnumeration, Geslacht::parse));
        let adres = el.child("Adres").map(|a| self.adres(a));
        Some(Client {
            bsn: bsn?,
            achternaam: achternaam?,
            voornamen: self.optional_text(el, "Voornamen"),
            voorletters: self.optional_text(el, "Voorletters"),
            tussenvoegsel: self.optional_text(el, "Tussenvoegsel"),
            geboortedatum: geboortedatum?,
            geslacht: optional(geslacht)?,
            adres: optional(adres)?,
        })
    }

    fn adres(&mut self, el: Element<'_>) -> Option<Adres> {
        let straat = self.text(el, "Straat");
        let huisnummer = self.required_parsed(el, "Huisnummer", Code::XsdDatatype, |s| {
            parse_positive_integer(s, 99_999).map(|n| u32::try_from(n).unwrap_or(u32::MAX))
        });
        let postcode = self.required_parsed(el, "Postcode", Code::XsdPattern, Postcode::parse);
        let woonplaats = self.text(el, "Woonplaats");
        Some(Adres {
            straat: straat?,
            huisnummer: huisnummer?,
            huisnummertoevoeging: self.optional_text(el, "Huisnummertoevoeging"),
            postcode: postcode?,
            woonplaats: woonplaats?,
        })
    }

    fn werkproces(&mut self, el: Element<'_>) -> Option<Werkproces> {
        let date = |this: &mut Reader, name: &str| {
            el.child(name)
                .map(|d| this.parsed(d, Code::XsdDatatype, Datum::parse))
        };
        let meetdatum = self.required_parsed(el, "Meetdatum", Code::XsdDatatype, Datum::parse);
        let aanleiding = el
            .child("Aanleiding")
            .map(|a| self.parsed(a, Code::XsdEnumeration, Aanleiding::parse));
        let gepland = date(self, "GeplandeMeetdatum");
        let uiterste = date(self, "UitersteMeetdatum");
        let medewerker = self.text(el, "Medewerker");

        if let Some(meet) = &meetdatum {
            if let (Some(Some(gepland)), Some(g_el)) = (&gepland, el.child("GeplandeMeetdatum")) {
                self.check(g_el, rules::geplande_meetdatum_na_meetdatum(meet, gepland));
            }
            if let (Some(Some(uiterste)), Some(u_el)) = (&uiterste, el.child("UitersteMeetdatum")) {
                let gepland = gepland.as_ref().and_then(Option::as_ref);
                self.check(u_el, rules::uiterste_meetdatum(meet, gepland, uiterste));
            }
        }

        Some(Werkproces {
            meetdatum: meetdatum?,
            aanleiding: optional(aanleiding)?,
            geplande_meetdatum: optional(gepland)?,
            uiterste_meetdatum: optional(uiterste)?,
            medewerker: medewerker?,
            afdeling: self.optional_text(el, "Afdeling"),
            team: self.optional_text(el, "Team"),
        })
    }

    fn plaatsing(&mut self, el: Element<'_>) -> Option<Plaatsing> {
        let before = self.errors.len();
        let trede = self.required_parsed(el, "Trede", Code::XsdEnumeration, Trede::parse);
        let gp_el = el.child("Groeipotentieel");
        let pt_el = el.child("Potentietrede");
        let reden_el = el.child("Uitstroomreden");
        let gp = gp_el.and_then(|e| self.parsed(e, Code::XsdEnumeration, Groeipotentieel::parse));
        let pt = pt_el.and_then(|e| self.parsed(e, Code::XsdEnumeration, Potentietrede::parse));
        let reden =
            reden_el.and_then(|e| self.parsed(e, Code::XsdEnumeration, Uitstroomreden::parse));
        // An unreadable field must not look absent to the rules below.
        if self.errors.len() > before {
            return None;
        }
        let trede = trede?;
        match Plaatsing::parse(trede, gp, pt, reden) {
            Ok(plaatsing) => {
                // What ladderpost did with the growth potential, told.
                if let Some(gp_el) = gp_el {
                    self.check(
                        gp_el,
                        rules::groeipotentieel_nul_niet_van_toepassing(trede, gp),
                    );
                }
                self.check(
                    pt_el.unwrap_or(el),
                    rules::groeipotentieel_afgeleid(&plaatsing),
                );
                Some(plaatsing)
            }
            Err(fouten) => {
                for fout in fouten {
                    let target = match fout.field {
                        PlaatsingField::Plaatsing => None,
                        PlaatsingField::Groeipotentieel => gp_el,
                        PlaatsingField::Potentietrede => pt_el,
                        PlaatsingField::Uitstroomreden => reden_el,
                    };
                    self.finding(target.unwrap_or(el), fout.finding);
                }
                None
            }
        }
    }

    /// The data set's definitions (`003_*` §2.4, table 3.3), each read only
    /// where the message records what it needs: income, subgroups, age.
    fn definities(
        &mut self,
        root: Element<'_>,
        client: Option<(&Client, &Werkproces)>,
        kenmerken: Option<&Klantkenmerken>,
        subgroepen: Option<&Subgroepen>,
    ) {
        let inkomen = kenmerken.map_or(&[][..], |k| &k.inkomenssituatie[..]);
        let nationaal = subgroepen.map_or(&[][..], |s| &s.nationaal[..]);
        // `list` kept every non-foreign element (or failed), so indexes match.
        let elements = |parent: &str, name: &str| -> Vec<Element<'_>> {
            root.child(parent)
                .map(|p| {
                    p.children_named(name)
                        .filter(|el| !el.is_foreign())
                        .collect()
                })
                .unwrap_or_default()
        };
        let inkomen_els = elements("Klantkenmerken", "Inkomenssituatie");
        let subgroep_els = elements("Subgroepen", "Subgroep");

        if let Some(finding) = rules::geen_uitkering_met_uitkering(inkomen) {
            let i = inkomen
                .iter()
                .position(|x| *x == Inkomenssituatie::GeenUitkering);
            self.finding(at(&inkomen_els, i).unwrap_or(root), finding);
        }
        for (i, finding) in rules::subgroep_zonder_inkomen(nationaal, inkomen) {
            self.finding(at(&subgroep_els, Some(i)).unwrap_or(root), finding);
        }
        let Some((client, werkproces)) = client else {
            return;
        };
        let (geboren, meet) = (&client.geboortedatum, &werkproces.meetdatum);
        if let Some(finding) = rules::subgroep_6_leeftijd(geboren, meet, nationaal) {
            let i = nationaal
                .iter()
                .position(|x| *x == Subgroep::JongereMetLeerwerkrecht);
            self.finding(at(&subgroep_els, i).unwrap_or(root), finding);
        }
        let geboortedatum_el = root.child("Client").and_then(|c| c.child("Geboortedatum"));
        self.check(
            geboortedatum_el.unwrap_or(root),
            rules::jonger_dan_18(geboren, meet),
        );
    }

    /// The consistency warnings; trede warnings point at `Trede`, growth
    /// potential warnings at `Groeipotentieel`.
    fn signalen(
        &mut self,
        el: Element<'_>,
        plaatsing: &Plaatsing,
        kenmerken: Option<&Klantkenmerken>,
    ) {
        let trede_el = el.child("Trede").unwrap_or(el);
        let gp_el = el.child("Groeipotentieel").unwrap_or(el);
        self.check(
            gp_el,
            rules::traject_zonder_groeipotentieel(plaatsing, kenmerken),
        );
        self.check(
            trede_el,
            rules::traject_op_trede_1_of_2(plaatsing, kenmerken),
        );
        self.check(
            trede_el,
            rules::trede_6_met_ondersteuning(plaatsing, kenmerken),
        );
        self.check(
            trede_el,
            rules::trede_5_zonder_instrument(plaatsing, kenmerken),
        );
        self.check(
            gp_el,
            rules::vrijstelling_met_groeipotentieel(plaatsing, kenmerken),
        );
        self.check(trede_el, rules::uitstroomreden_ontbreekt(plaatsing));
    }

    /// The questionnaire walked through its version ([`vragenlijst`]):
    /// answers off every possible path are errors at their `Antwoord`, an
    /// incomplete path a warning at `Vragenlijst`, a `Trede` the answers
    /// contradict a warning at `Trede`.
    fn afleiding(
        &mut self,
        el: Element<'_>,
        antwoorden: &Vragenlijst,
        trede: Option<(Trede, Element<'_>)>,
    ) {
        let afleiding = vragenlijst::afleiden(antwoorden);
        // `vragenlijst` kept every Antwoord (or failed), so indexes match.
        let elements: Vec<Element<'_>> = el.children_named("Antwoord").collect();
        for (i, finding) in afleiding.fouten.iter().cloned() {
            self.finding(elements.get(i).copied().unwrap_or(el), finding);
        }
        self.check(el, afleiding.onvolledig());
        if let Some((trede, trede_el)) = trede {
            self.check(trede_el, afleiding.trede_wijkt_af(trede));
        }
    }

    fn klantkenmerken(&mut self, el: Element<'_>) -> Option<Klantkenmerken> {
        let inkomenssituatie = self.list(
            el,
            "Inkomenssituatie",
            Code::XsdEnumeration,
            Inkomenssituatie::parse,
        );
        let kenmerken = Klantkenmerken {
            inkomenssituatie: Vec::new(),
            startkwalificatie: self.boolean(el, "Startkwalificatie"),
            inburgeringsplichtig: self.boolean(el, "Inburgeringsplichtig"),
            inburgeringsbehoeftig: self.boolean(el, "Inburgeringsbehoeftig"),
            laaggeletterd: self.boolean(el, "Laaggeletterd"),
            vrijstelling_arbeidsplicht: self.boolean(el, "VrijstellingArbeidsplicht"),
            vrijstelling_arbeidsplicht_code: self
                .optional_text(el, "VrijstellingArbeidsplichtCode"),
            vrijstelling_inburgeringsplicht: self.boolean(el, "VrijstellingInburgeringsplicht"),
            instrument_in_gebruik: self.boolean(el, "InstrumentInGebruik"),
            instrument_ingezet: self.boolean(el, "InstrumentIngezet"),
        };
        Some(Klantkenmerken {
            inkomenssituatie: inkomenssituatie?,
            ..kenmerken
        })
    }

    fn subgroepen(&mut self, el: Element<'_>) -> Option<Subgroepen> {
        let nationaal = self.list(el, "Subgroep", Code::XsdEnumeration, Subgroep::parse);
        let lokaal = el
            .children()
            .filter(|c| c.is_foreign())
            .map(lokaal_element)
            .collect();
        Some(Subgroepen {
            nationaal: nationaal?,
            lokaal,
        })
    }

    fn vragenlijst(&mut self, el: Element<'_>) -> Option<Vragenlijst> {
        let before = self.errors.len();
        let versie =
            self.required_parsed(el, "Versie", Code::XsdEnumeration, VragenlijstVersie::parse);
        let mut antwoorden = Vec::new();
        let mut vraag_elements = Vec::new();
        for antwoord in el.children_named("Antwoord") {
            let vraag_el = self.required(antwoord, "Vraag");
            let vraag =
                vraag_el.and_then(|v| self.parsed(v, Code::XsdDatatype, Vraagnummer::parse));
            let ja = self.required_parsed(antwoord, "Waarde", Code::XsdEnumeration, parse_ja_nee);
            if let (Some(vraag), Some(ja), Some(vraag_el)) = (vraag, ja, vraag_el) {
                antwoorden.push(Antwoord { vraag, ja });
                vraag_elements.push(vraag_el);
            }
        }
        let vragen: Vec<Vraagnummer> = antwoorden.iter().map(|a| a.vraag).collect();
        for (i, finding) in rules::geen_dubbele("Vraag", &vragen) {
            self.finding(vraag_elements.get(i).copied().unwrap_or(el), finding);
        }
        if self.errors.len() > before {
            return None;
        }
        Some(Vragenlijst {
            versie: versie?,
            antwoorden,
        })
    }
}

/// The `i`th of `elements`, if there is one.
fn at<'d>(elements: &[Element<'d>], i: Option<usize>) -> Option<Element<'d>> {
    elements.get(i?).copied()
}

/// An optional part read as `Option<Option<T>>` (outer: present; inner:
/// read successfully) as `None` if it failed, else whether it was present.
fn optional<T>(part: Option<Option<T>>) -> Option<Option<T>> {
    match part {
        None => Some(None),
        Some(read) => read.map(Some),
    }
}

/// The schema's `JaNee`: `ja` is yes.
fn parse_ja_nee(s: &str) -> Result<bool, UnknownCode> {
    match s {
        "ja" => Ok(true),
        "nee" => Ok(false),
        _ => Err(UnknownCode {
            list: "JaNee",
            value: s.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema;
    use std::path::PathBuf;

    fn fixture(path: &str) -> Vec<u8> {
        let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(path);
        std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
    }

    fn manifest(path: &str) -> Vec<Vec<String>> {
        String::from_utf8(fixture(path))
            .unwrap()
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect()
    }

    fn read(path: &str) -> Result<(Document, Vec<Melding>), Vec<Melding>> {
        let bytes = fixture(path);
        let tree = schema::validate(&bytes)
            .unwrap_or_else(|e| panic!("{path} is not schema-valid: {e:?}"));
        Document::from_valid(&tree)
    }

    fn codes(meldingen: &[Melding]) -> Vec<&'static str> {
        let mut codes: Vec<_> = meldingen.iter().map(|m| m.code.as_str()).collect();
        codes.sort_unstable();
        codes
    }

    #[test]
    fn valid_fixtures_are_accepted_with_exactly_their_warnings() {
        let warnings = manifest("valid/WARNINGS.tsv");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/valid");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if !name.ends_with(".xml") {
                continue;
            }
            seen += 1;
            let (document, found) =
                read(&format!("valid/{name}")).unwrap_or_else(|e| panic!("{name}: {e:#?}"));
            assert!(
                name.to_lowercase()
                    .starts_with(&document.kind().to_lowercase()),
                "{name}"
            );
            let mut want: Vec<&str> = warnings
                .iter()
                .find(|row| row[0] == name)
                .map(|row| row[1].split(',').map(str::trim).collect())
                .unwrap_or_default();
            want.sort_unstable();
            assert_eq!(codes(&found), want, "{name}");
        }
        assert!(seen >= 10);
    }

    #[test]
    fn rule_fixtures_are_rejected_with_their_code_only() {
        for row in manifest("invalid/EXPECTED.tsv")
            .iter()
            .filter(|r| r[1].starts_with("regel."))
        {
            let errors = read(&format!("invalid/{}", row[0]))
                .map(|_| ())
                .unwrap_err();
            assert_eq!(codes(&errors), [row[1].as_str()], "{}: {errors:#?}", row[0]);
            for e in &errors {
                assert!(
                    e.line.is_some() && e.column.is_some() && e.path.is_some(),
                    "{e:?}"
                );
            }
        }
    }

    #[test]
    fn rule_errors_point_at_the_offending_element() {
        let path_of = |file: &str| {
            let errors = read(&format!("invalid/{file}")).map(|_| ()).unwrap_err();
            errors[0].path.clone().unwrap()
        };
        assert!(path_of("regel-bsn-elfproef-client.xml").ends_with("/Client/Bsn"));
        assert!(
            path_of("regel-potentietrede-onder-trede.xml").ends_with("/Plaatsing/Potentietrede")
        );
        assert!(path_of("regel-groeipotentieel-ontbreekt-trede3.xml").ends_with("/Plaatsing"));
        assert!(path_of("regel-meetdatum-toekomst.xml").ends_with("/Werkproces/Meetdatum"));
        assert!(path_of("regel-referentie-intrekking.xml").ends_with("/Intrekking/TrektIn"));
        assert!(path_of("regel-dubbel-vraag.xml").ends_with("/Antwoord/Vraag"));
        assert!(path_of("regel-vraag-onbekend.xml").ends_with("/Vragenlijst/Antwoord"));
        assert!(path_of("regel-vraag-niet-bereikt-vng.xml").ends_with("/Vragenlijst/Antwoord"));
    }

    #[test]
    fn questionnaire_findings_point_at_the_answer_the_questionnaire_or_the_trede() {
        // The stray answer is the second Antwoord (question 2).
        let errors = read("invalid/regel-vraag-niet-bereikt-regioplan.xml")
            .map(|_| ())
            .unwrap_err();
        let text =
            String::from_utf8(fixture("invalid/regel-vraag-niet-bereikt-regioplan.xml")).unwrap();
        let second = text.match_indices("<Antwoord>").nth(1).unwrap().0;
        let line = text[..second].matches('\n').count() + 1;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, u32::try_from(line).ok());
        let warning_path = |file: &str| {
            let (_, warnings) = read(&format!("valid/{file}")).unwrap();
            warnings
                .iter()
                .map(|w| w.path.clone().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            warning_path("meting-0518-trede3-vragenlijst-onvolledig.xml"),
            ["/Meting/Vragenlijst"]
        );
        assert_eq!(
            warning_path("meting-0014-trede6-wijkt-af-van-vragenlijst.xml"),
            ["/Meting/Plaatsing/Trede"]
        );
    }

    #[test]
    fn data_set_warnings_point_at_what_they_are_about() {
        let warning_path = |file: &str| {
            let (_, warnings) = read(&format!("valid/{file}")).unwrap();
            warnings
                .iter()
                .map(|w| (w.code.as_str(), w.path.clone().unwrap()))
                .collect::<Vec<_>>()
        };
        for (file, code, path) in [
            (
                "meting-0599-trede1-subgroep-ontbreekt.xml",
                "signaal.subgroep-ontbreekt",
                "/Meting",
            ),
            (
                "meting-0518-trede0-geen-uitkering-met-uitkering.xml",
                "signaal.geen-uitkering-met-uitkering",
                "/Meting/Klantkenmerken/Inkomenssituatie",
            ),
            (
                "meting-0518-trede0-subgroep-6-leeftijd.xml",
                "signaal.subgroep-6-leeftijd",
                "/Meting/Subgroepen/Subgroep",
            ),
            (
                "meting-0344-trede4-subgroep-zonder-inkomen.xml",
                "signaal.subgroep-zonder-inkomen",
                "/Meting/Subgroepen/Subgroep",
            ),
            (
                "meting-0599-trede1-jonger-dan-18.xml",
                "signaal.jonger-dan-18",
                "/Meting/Client/Geboortedatum",
            ),
            (
                "meting-0599-trede9-uitstroomreden-ontbreekt.xml",
                "signaal.uitstroomreden-ontbreekt",
                "/Meting/Plaatsing/Trede",
            ),
            (
                "meting-0363-trede6-groeipotentieel-niet-van-toepassing.xml",
                "signaal.groeipotentieel-niet-van-toepassing",
                "/Meting/Plaatsing/Groeipotentieel",
            ),
            (
                "meting-0014-trede5-groeipotentieel-afgeleid.xml",
                "signaal.groeipotentieel-afgeleid",
                "/Meting/Plaatsing/Potentietrede",
            ),
        ] {
            assert_eq!(warning_path(file), [(code, path.to_string())], "{file}");
        }
        // The subgroup without its income is the third Subgroep, 7; the one
        // out of age the third of the intake's, 6.
        let line_of = |file: &str, needle: &str| {
            let text = String::from_utf8(fixture(&format!("valid/{file}"))).unwrap();
            let at = text.find(needle).unwrap();
            u32::try_from(text[..at].matches('\n').count() + 1).ok()
        };
        for (file, needle) in [
            (
                "meting-0344-trede4-subgroep-zonder-inkomen.xml",
                "<Subgroep>7<",
            ),
            ("meting-0518-trede0-subgroep-6-leeftijd.xml", "<Subgroep>6<"),
            (
                "meting-0518-trede0-geen-uitkering-met-uitkering.xml",
                "<Inkomenssituatie>geen-uitkering<",
            ),
        ] {
            let (_, warnings) = read(&format!("valid/{file}")).unwrap();
            assert_eq!(warnings[0].line, line_of(file, needle), "{file}");
        }
    }

    #[test]
    fn derived_growth_potential_is_in_the_typed_message() {
        let (document, _) = read("valid/meting-0014-trede5-groeipotentieel-afgeleid.xml").unwrap();
        let plaatsing = document.metinggegevens().unwrap().plaatsing;
        assert_eq!(plaatsing.groeipotentieel(), Some(Groeipotentieel::Plus));
        assert!(plaatsing.groeipotentieel_afgeleid());
        let (document, _) = read("valid/meting-0014-trede5-met-instrument.xml").unwrap();
        let plaatsing = document.metinggegevens().unwrap().plaatsing;
        assert_eq!(plaatsing.groeipotentieel(), Some(Groeipotentieel::Plus));
        assert!(!plaatsing.groeipotentieel_afgeleid());
        // The explicit 0 on rung 6 is not kept: growth potential does not apply.
        let (document, _) =
            read("valid/meting-0363-trede6-groeipotentieel-niet-van-toepassing.xml").unwrap();
        let plaatsing = document.metinggegevens().unwrap().plaatsing;
        assert_eq!(plaatsing, Plaatsing::BetaaldWerk);
    }

    #[test]
    fn bsn_never_appears_in_error_messages() {
        let errors = read("invalid/regel-bsn-elfproef-client.xml")
            .map(|_| ())
            .unwrap_err();
        assert!(
            errors.iter().all(|e| !e.message.contains("233426785")),
            "{errors:?}"
        );
    }

    #[test]
    fn kitchen_sink_meting_keeps_local_extensions_raw() {
        let (document, _) = read("valid/meting-0363-trede3-groei.xml").unwrap();
        let gegevens = document.metinggegevens().unwrap();
        assert_eq!(document.gemeente().map(Gemeentecode::as_str), Some("0363"));
        assert_eq!(
            gegevens.plaatsing.trede(),
            Trede::GeorganiseerdeActiviteiten
        );
        let lokaal = gegevens
            .subgroepen
            .as_ref()
            .map(|s| s.lokaal.len())
            .unwrap_or(0)
            + gegevens.lokale_kenmerken.len();
        assert!(lokaal > 0, "{gegevens:#?}");
        assert!(gegevens
            .lokale_kenmerken
            .iter()
            .all(|e| e.xml.starts_with('<') && e.namespace.starts_with("urn:gemeente:")));
    }

    #[test]
    fn ja_nee_is_a_boolean() {
        assert_eq!(parse_ja_nee("ja"), Ok(true));
        assert_eq!(parse_ja_nee("nee"), Ok(false));
        assert!(parse_ja_nee("Ja").is_err());
    }
}
