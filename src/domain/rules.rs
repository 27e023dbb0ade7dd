//! The domain rules and consistency warnings, in one place.
//!
//! Why here and why this shape: the schema says what a message may look
//! like; these rules say what it may *mean*. Each rule is a small function on
//! typed values that returns a [`Finding`] (code and English message) when
//! it is violated, so it can be read against its source and tested without a
//! document. The reader (`read.rs`) decides which element a finding points
//! at; [`super::ladder::Plaatsing::parse`] applies the ladder rules.
//!
//! Choices worth knowing:
//! - A potentietrede with code 0, 6 or 9 is reported as
//!   `RegelGroeipotentieelNietVanToepassing`, like growth potential there:
//!   the fault is that the field is present at all, not its value.
//!   `RegelPotentietrede` is only about its value against rungs 1-5.
//! - Date rules compare calendar dates as written and ignore timezones (a
//!   date is the day the client-manager meant; `Verzonden` counts by the
//!   date written in it).
//! - Absent is not false: a warning reads only what the message records. A
//!   missing yes/no item is neither "yes" nor "no", so a check that needs
//!   "no" stays silent without it; the data set's required items have
//!   warnings of their own (`SignaalSubgroepOntbreekt`).
//! - A programme (traject) is running when an instrument is in use or
//!   deployed (items 22, 23), in every check that asks.
//! - No message ever contains a BSN.

use std::fmt;

use super::bericht::{Instrument, Klantkenmerken, Subgroepen};
use super::codes::{
    Groeipotentieel, Inkomenssituatie, LadderTrede, Potentietrede, Subgroep, Trede, Uitstroomreden,
};
use super::datum::{Datum, Tijdstip};
use super::ids::{BerichtId, Bsn, BsnError};
use super::ladder::Plaatsing;
use crate::diagnostics::Code;

/// A rule violation or a warning, before it is placed in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: Code,
    pub message: String,
}

impl Finding {
    fn new(code: Code, message: impl Into<String>) -> Finding {
        Finding {
            code,
            message: message.into(),
        }
    }
}

// ---------------------------------------------------------------------------
// Identity
// ---------------------------------------------------------------------------

/// `RegelBsnElfproef`: a BSN must pass the 11-check (docs/domain.md "The data
/// set": "nine digits that pass the elfproef"; the check itself is
/// `Bsn::parse`; XSD type `Bsn`). Applies to `Client/Bsn` and `Intrekking/Bsn`. A value
/// that is not 9 digits at all is a schema matter (`XsdPattern`).
pub fn bsn(value: &str) -> Result<Bsn, Finding> {
    Bsn::parse(value).map_err(|e| match e {
        BsnError::Elfproef => Finding::new(Code::RegelBsnElfproef, "the BSN fails the 11-check"),
        BsnError::Format => Finding::new(Code::XsdPattern, "the BSN must be exactly 9 digits"),
    })
}

// ---------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------

/// `RegelGeboortedatum`: the client is born strictly before the measurement
/// (XSD `Client/Geboortedatum`: "must lie before the measurement date").
pub fn geboortedatum_voor_meetdatum(geboortedatum: &Datum, meetdatum: &Datum) -> Option<Finding> {
    (!geboortedatum.is_before(meetdatum)).then(|| {
        Finding::new(
            Code::RegelGeboortedatum,
            format!("Geboortedatum {geboortedatum} is not before Meetdatum {meetdatum}"),
        )
    })
}

/// `RegelMeetdatumToekomst`: a measurement cannot be dated after the day
/// the message was sent (docs/domain.md "The data set", item 10: the measurement
/// is taken on the meetmoment; a later date is a measurement not yet taken).
/// Compares the calendar date of `Verzonden` as written, ignoring timezones.
pub fn meetdatum_niet_na_verzending(meetdatum: &Datum, verzonden: &Tijdstip) -> Option<Finding> {
    let verzonden_op = verzonden.datum();
    meetdatum.is_after(&verzonden_op).then(|| {
        Finding::new(
            Code::RegelMeetdatumToekomst,
            format!(
                "Meetdatum {meetdatum} is after the date the message was sent ({})",
                verzonden_op
            ),
        )
    })
}

/// `RegelVolgendeMeetdatum` (planned date): the planned next measurement
/// lies strictly after this one (docs/domain.md item 11; XSD
/// `Werkproces/GeplandeMeetdatum`: "after the measurement date").
pub fn geplande_meetdatum_na_meetdatum(meetdatum: &Datum, gepland: &Datum) -> Option<Finding> {
    (!gepland.is_after(meetdatum)).then(|| {
        Finding::new(
            Code::RegelVolgendeMeetdatum,
            format!("GeplandeMeetdatum {gepland} is not after Meetdatum {meetdatum}"),
        )
    })
}

/// `RegelVolgendeMeetdatum` (latest date): the latest next measurement lies
/// strictly after this one and not before the planned one (docs/domain.md item
/// 11; XSD `Werkproces/UitersteMeetdatum`). One finding at most: if it is not
/// after the measurement date, that is reported and not also the order
/// against the planned date.
pub fn uiterste_meetdatum(
    meetdatum: &Datum,
    gepland: Option<&Datum>,
    uiterste: &Datum,
) -> Option<Finding> {
    if !uiterste.is_after(meetdatum) {
        return Some(Finding::new(
            Code::RegelVolgendeMeetdatum,
            format!("UitersteMeetdatum {uiterste} is not after Meetdatum {meetdatum}"),
        ));
    }
    let gepland = gepland?;
    uiterste.is_before(gepland).then(|| {
        Finding::new(
            Code::RegelVolgendeMeetdatum,
            format!("UitersteMeetdatum {uiterste} is before GeplandeMeetdatum {gepland}"),
        )
    })
}

// ---------------------------------------------------------------------------
// The position on the ladder (applied by `Plaatsing::parse`)
// ---------------------------------------------------------------------------

/// `RegelGroeipotentieelOntbreekt`: on rungs 1-5 growth potential must be
/// decided at every measurement (docs/domain.md item 14: "It must be decided at
/// every measurement"; `003_*` §2.3), recorded or derivable from a
/// potentietrede ([`groeipotentieel_uit_potentietrede`]). The finding for a
/// rung that has neither.
pub fn groeipotentieel_ontbreekt(trede: LadderTrede) -> Finding {
    Finding::new(
        Code::RegelGroeipotentieelOntbreekt,
        format!(
            "Groeipotentieel (or a Potentietrede to derive it from) is required on Trede {trede}"
        ),
    )
}

/// The growth potential a potentietrede implies on rungs 1-5: above the
/// rung `+`, equal to it `0` (`001_*` §1.7: "dat vanuit deze potentietrede
/// kan worden teruggeredeneerd naar óf er sprake is van groeipotentieel";
/// docs/domain.md item 14). `None` below the rung: nothing to derive.
pub fn groeipotentieel_uit_potentietrede(
    trede: LadderTrede,
    potentietrede: Potentietrede,
) -> Option<Groeipotentieel> {
    match potentietrede.trede().cmp(&trede.trede()) {
        std::cmp::Ordering::Greater => Some(Groeipotentieel::Plus),
        std::cmp::Ordering::Equal => Some(Groeipotentieel::Nul),
        std::cmp::Ordering::Less => None,
    }
}

/// `SignaalGroeipotentieelAfgeleid`: the growth potential was derived from
/// the potentietrede, not recorded (`001_*` §1.1: most municipalities
/// register the potentietrede, only some also growth potential; §1.7).
/// Reported so that the sender sees what ladderpost keeps.
pub fn groeipotentieel_afgeleid(plaatsing: &Plaatsing) -> Option<Finding> {
    let gp = plaatsing.groeipotentieel()?;
    let pt = plaatsing.potentietrede()?;
    plaatsing.groeipotentieel_afgeleid().then(|| {
        Finding::new(
            Code::SignaalGroeipotentieelAfgeleid,
            format!(
                "Groeipotentieel \"{gp}\" derived from Potentietrede {pt} on Trede {}",
                plaatsing.trede()
            ),
        )
    })
}

/// `RegelGroeipotentieelNietVanToepassing`: growth potential `+` does not
/// apply to rung 6 (`003_*` table 3.2: "n.v.t.") nor to codes 0 and 9,
/// which are not rungs. (`0` there is only a warning:
/// [`groeipotentieel_nul_niet_van_toepassing`].)
pub fn groeipotentieel_niet_van_toepassing(
    trede: Trede,
    groeipotentieel: Option<Groeipotentieel>,
) -> Option<Finding> {
    let gp = groeipotentieel.filter(|gp| *gp == Groeipotentieel::Plus)?;
    geen_groei_mogelijk(trede).then(|| {
        Finding::new(
            Code::RegelGroeipotentieelNietVanToepassing,
            format!("Groeipotentieel \"{gp}\" does not apply to Trede {trede}"),
        )
    })
}

/// `SignaalGroeipotentieelNietVanToepassing`: an explicit `0` on code 0, 6
/// or 9. `0` is the default code (`003_*` §3.3: "dit is de standaardcode")
/// and growth potential is "n.v.t." on rung 6 (table 3.2), so a system that
/// always fills it in says nothing wrong: accepted, the value not kept.
pub fn groeipotentieel_nul_niet_van_toepassing(
    trede: Trede,
    groeipotentieel: Option<Groeipotentieel>,
) -> Option<Finding> {
    let gp = groeipotentieel.filter(|gp| *gp == Groeipotentieel::Nul)?;
    geen_groei_mogelijk(trede).then(|| {
        Finding::new(
            Code::SignaalGroeipotentieelNietVanToepassing,
            format!("Groeipotentieel \"{gp}\" does not apply to Trede {trede} and is ignored"),
        )
    })
}

/// `RegelGroeipotentieelNietVanToepassing` for the potentietrede: where
/// growth potential does not apply, neither does the rung one can grow to
/// (docs/domain.md item 14: the potentietrede "must be consistent with the
/// growth potential"). Reported under this code, not `RegelPotentietrede`: the
/// field should be absent, whatever its value.
pub fn potentietrede_niet_van_toepassing(
    trede: Trede,
    potentietrede: Option<Potentietrede>,
) -> Option<Finding> {
    let pt = potentietrede?;
    geen_groei_mogelijk(trede).then(|| {
        Finding::new(
            Code::RegelGroeipotentieelNietVanToepassing,
            format!("Potentietrede {pt} does not apply to Trede {trede}"),
        )
    })
}

fn geen_groei_mogelijk(trede: Trede) -> bool {
    matches!(
        trede,
        Trede::Intake | Trede::BetaaldWerk | Trede::BuitenBeeld
    )
}

/// `RegelPotentietrede`: the potentietrede agrees with the rung and the
/// growth potential (docs/domain.md item 14: "a potentietrede above the current
/// rung means `+`"; XSD `Plaatsing/Potentietrede`: "equal to it means 0;
/// never below it"). Without growth potential only "below" is checked.
pub fn potentietrede(
    trede: LadderTrede,
    groeipotentieel: Option<Groeipotentieel>,
    potentietrede: Potentietrede,
) -> Option<Finding> {
    let (pt, t) = (potentietrede.trede(), trede.trede());
    let message = match (pt.cmp(&t), groeipotentieel) {
        (std::cmp::Ordering::Less, _) => format!("Potentietrede {pt} is below Trede {t}"),
        (std::cmp::Ordering::Greater, Some(Groeipotentieel::Nul)) => {
            format!("Potentietrede {pt} is above Trede {t}, so Groeipotentieel must be \"+\", not \"0\"")
        }
        (std::cmp::Ordering::Equal, Some(Groeipotentieel::Plus)) => {
            format!(
                "Potentietrede {pt} equals Trede {t}, so Groeipotentieel must be \"0\", not \"+\""
            )
        }
        _ => return None,
    };
    Some(Finding::new(Code::RegelPotentietrede, message))
}

/// `RegelUitstroomreden`: a reason for leaving only goes with code 9
/// (docs/domain.md "When a measurement is taken": leaving the ladder; XSD
/// `Plaatsing/Uitstroomreden`: "only with code 9").
pub fn uitstroomreden_alleen_bij_trede_9(
    trede: Trede,
    reden: Option<Uitstroomreden>,
) -> Option<Finding> {
    let reden = reden?;
    (trede != Trede::BuitenBeeld).then(|| {
        Finding::new(
            Code::RegelUitstroomreden,
            format!("Uitstroomreden \"{reden}\" is only allowed with Trede 9, not {trede}"),
        )
    })
}

// ---------------------------------------------------------------------------
// References and duplicates
// ---------------------------------------------------------------------------

/// `RegelReferentie`: a Correctie or Intrekking names an *earlier* message,
/// never itself (XSD `Corrigeert`/`TrektIn`: "the Meting or Correctie this
/// message replaces/withdraws"). `element` names the referring element.
pub fn referentie_niet_naar_zichzelf(
    eigen: &BerichtId,
    referentie: &BerichtId,
    element: &str,
) -> Option<Finding> {
    (eigen == referentie).then(|| {
        Finding::new(
            Code::RegelReferentie,
            format!("{element} {referentie} refers to this message's own BerichtId"),
        )
    })
}

/// `RegelDubbel`: a code list item counts once (docs/domain.md item 15
/// inkomenssituatie "one or more"; subgroups; questionnaire answers, one per
/// question asked). Returns, for every repeated occurrence after the first,
/// its index in `values` and the finding.
pub fn geen_dubbele<T: PartialEq + fmt::Display>(
    element: &str,
    values: &[T],
) -> Vec<(usize, Finding)> {
    values
        .iter()
        .enumerate()
        .filter(|(i, v)| values[..*i].contains(v))
        .map(|(i, v)| {
            let finding = Finding::new(
                Code::RegelDubbel,
                format!("{element} {v} occurs more than once"),
            );
            (i, finding)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Warnings: municipalities' consistency checks (`001_*` §1.4, docs/domain.md
// "Rules and warnings"). Accepted, but flagged.
// ---------------------------------------------------------------------------

/// Whether the message records the yes/no item as true. An absent item is
/// not "no": it says nothing, and no check may read it as either.
fn is_true(value: Option<bool>) -> bool {
    value == Some(true)
}

/// A programme (traject) is running when an instrument is in use (item 22)
/// *or* deployed (item 23) (`001_*` appendix 5; `003_*` §3.2: a programme
/// starts and ends with a measurement). The names of the items recorded as
/// true, for the message; empty when neither is.
fn traject(kenmerken: Option<&Klantkenmerken>) -> Vec<&'static str> {
    let Some(k) = kenmerken else {
        return Vec::new();
    };
    [
        ("InstrumentInGebruik", k.instrument_in_gebruik),
        ("InstrumentIngezet", k.instrument_ingezet),
    ]
    .into_iter()
    .filter(|(_, v)| is_true(*v))
    .map(|(name, _)| name)
    .collect()
}

fn true_items(items: &[&str]) -> String {
    format!("{} is true", items.join(" and "))
}

/// `SignaalTrajectZonderGroeipotentieel`: "geen groeipotentieel wel traject"
/// (`001_*` §1.4) — growth potential 0 while a programme is running
/// ([`traject`]: an instrument in use or deployed).
pub fn traject_zonder_groeipotentieel(
    plaatsing: &Plaatsing,
    kenmerken: Option<&Klantkenmerken>,
) -> Option<Finding> {
    let traject = traject(kenmerken);
    (!traject.is_empty() && plaatsing.groeipotentieel() == Some(Groeipotentieel::Nul)).then(|| {
        Finding::new(
            Code::SignaalTrajectZonderGroeipotentieel,
            format!("Groeipotentieel is \"0\" while {}", true_items(&traject)),
        )
    })
}

/// `SignaalTrajectOpTrede1Of2`: "wel (re-integratie)traject maar ingedeeld
/// op trede 1 of 2" (`001_*` §1.4) — a programme running ([`traject`]) on
/// rung 1 or 2.
pub fn traject_op_trede_1_of_2(
    plaatsing: &Plaatsing,
    kenmerken: Option<&Klantkenmerken>,
) -> Option<Finding> {
    let trede = plaatsing.trede();
    let traject = traject(kenmerken);
    (!traject.is_empty() && matches!(trede, Trede::Geisoleerd | Trede::SocialeContacten)).then(
        || {
            Finding::new(
                Code::SignaalTrajectOpTrede1Of2,
                format!("Trede {trede} while {}", true_items(&traject)),
            )
        },
    )
}

/// `SignaalTrede6MetOndersteuning`: "klant ingedeeld op 6" while a
/// programme runs ([`traject`]) — rung 6 "maakt geen gebruik van WSW of
/// gemeentelijke participatie-instrumenten"; with them it is rung 5
/// (`001_*` §1.4 and appendix 5, "Niveau 6"/"Niveau 5").
pub fn trede_6_met_ondersteuning(
    plaatsing: &Plaatsing,
    kenmerken: Option<&Klantkenmerken>,
) -> Option<Finding> {
    let traject = traject(kenmerken);
    (!traject.is_empty() && plaatsing.trede() == Trede::BetaaldWerk).then(|| {
        Finding::new(
            Code::SignaalTrede6MetOndersteuning,
            format!(
                "Trede 6 while {}: paid work with support is Trede 5",
                true_items(&traject)
            ),
        )
    })
}

/// `SignaalTrede5ZonderInstrument`: "ingedeeld op 5 maar geen instrument
/// ingezet" (`001_*` §1.4) — rung 5 while the message records both
/// instrument items (22 and 23) and neither is true. Silent when either is
/// absent: the absent one may be true, so nothing is known to be missing.
pub fn trede_5_zonder_instrument(
    plaatsing: &Plaatsing,
    kenmerken: Option<&Klantkenmerken>,
) -> Option<Finding> {
    let k = kenmerken?;
    let neither = k.instrument_in_gebruik == Some(false) && k.instrument_ingezet == Some(false);
    (plaatsing.trede() == Trede::BetaaldWerkMetOndersteuning && neither).then(|| {
        Finding::new(
            Code::SignaalTrede5ZonderInstrument,
            "Trede 5 while neither InstrumentInGebruik nor InstrumentIngezet is true",
        )
    })
}

/// `SignaalVrijstellingMetGroeipotentieel`: "ontheffing en toch
/// groeipotentieel" (`001_*` §1.4) — an exemption, from the obligation to
/// work (item 20) or from the civic-integration obligation (item 21; the
/// source names no particular one), yet growth potential `+`.
pub fn vrijstelling_met_groeipotentieel(
    plaatsing: &Plaatsing,
    kenmerken: Option<&Klantkenmerken>,
) -> Option<Finding> {
    let k = kenmerken?;
    let vrijstellingen: Vec<&str> = [
        ("VrijstellingArbeidsplicht", k.vrijstelling_arbeidsplicht),
        (
            "VrijstellingInburgeringsplicht",
            k.vrijstelling_inburgeringsplicht,
        ),
    ]
    .into_iter()
    .filter(|(_, v)| is_true(*v))
    .map(|(name, _)| name)
    .collect();
    (!vrijstellingen.is_empty() && plaatsing.groeipotentieel() == Some(Groeipotentieel::Plus)).then(
        || {
            Finding::new(
                Code::SignaalVrijstellingMetGroeipotentieel,
                format!(
                    "Groeipotentieel is \"+\" while {}",
                    true_items(&vrijstellingen)
                ),
            )
        },
    )
}

// ---------------------------------------------------------------------------
// Warnings: the data set's own requirements and definitions. Each reads only
// what the message records and is silent about what it leaves out.
// ---------------------------------------------------------------------------

/// `SignaalSubgroepOntbreekt`: the subgroups are a registration of every
/// measurement (`003_*` §3.3: "Bij elke participatiemeting vinden de
/// volgende vier registraties plaats: … subgroep"; §2.5: "moet voor elke
/// burger van wie het participatieniveau wordt vastgesteld ook worden
/// geregistreerd tot welke subgroep(en) hij/zij behoort"). Of the data set's
/// items this is the only one the sources require that the XSD does not
/// (docs/domain.md "Which items are required"). It applies where a
/// participation level is determined, rungs 1-6: not at intake (0) nor on
/// leaving (9). A local subgroup counts as a registration.
pub fn subgroep_ontbreekt(
    plaatsing: &Plaatsing,
    subgroepen: Option<&Subgroepen>,
) -> Option<Finding> {
    let trede = plaatsing.trede();
    let geregistreerd = subgroepen.is_some_and(|s| !s.nationaal.is_empty() || !s.lokaal.is_empty());
    (!geregistreerd && (1..=6).contains(&trede.nummer())).then(|| {
        Finding::new(
            Code::SignaalSubgroepOntbreekt,
            format!(
                "no Subgroep is recorded on Trede {trede} (a registration of every measurement)"
            ),
        )
    })
}

/// `SignaalGeenUitkeringMetUitkering`: "NUGger" (item 15c) is someone
/// without a benefit (`003_*` table 3.3, "Niet-uitkeringsgerechtigde"), so
/// `geen-uitkering` contradicts a municipal or UWV benefit in the same list.
/// Reported at the `geen-uitkering`.
pub fn geen_uitkering_met_uitkering(inkomenssituatie: &[Inkomenssituatie]) -> Option<Finding> {
    if !inkomenssituatie.contains(&Inkomenssituatie::GeenUitkering) {
        return None;
    }
    let uitkeringen: Vec<&str> = inkomenssituatie
        .iter()
        .filter(|i| {
            matches!(
                i,
                Inkomenssituatie::GemeentelijkeUitkering | Inkomenssituatie::UwvUitkering
            )
        })
        .map(|i| i.as_str())
        .collect();
    (!uitkeringen.is_empty()).then(|| {
        Finding::new(
            Code::SignaalGeenUitkeringMetUitkering,
            format!(
                "Inkomenssituatie geen-uitkering together with {}",
                uitkeringen.join(" and ")
            ),
        )
    })
}

/// `SignaalSubgroep6Leeftijd`: subgroup 6 is a "Jongere onder de 27 jaar"
/// (`003_*` table 3.3; §2.5 "Jongere tot 27 jaar"), so a client 27 or older
/// at the measurement date does not belong to it.
pub fn subgroep_6_leeftijd(
    geboortedatum: &Datum,
    meetdatum: &Datum,
    subgroepen: &[Subgroep],
) -> Option<Finding> {
    let leeftijd = geboortedatum.jaren_tot(meetdatum);
    (subgroepen.contains(&Subgroep::JongereMetLeerwerkrecht) && leeftijd >= 27).then(|| {
        Finding::new(
            Code::SignaalSubgroep6Leeftijd,
            format!(
                "Subgroep 6 is for young people under 27; the client is {leeftijd} at Meetdatum"
            ),
        )
    })
}

/// `SignaalSubgroepZonderInkomen`: subgroups 1 and 7 are defined by income
/// (`003_*` table 3.3): 1 "Ontvangt uitkering van de gemeente" or
/// "Uitgestroomd uit uitkering en half jaar gewerkt" (`gemeentelijke-uitkering`
/// or `werk`), 7 "Ontvangt een uitkering van UWV" (`uwv-uitkering`). Checked
/// only when the message records an income situation at all. One finding per
/// such subgroup, with its index in `subgroepen`.
pub fn subgroep_zonder_inkomen(
    subgroepen: &[Subgroep],
    inkomenssituatie: &[Inkomenssituatie],
) -> Vec<(usize, Finding)> {
    use Inkomenssituatie::{GemeentelijkeUitkering, UwvUitkering, Werk};
    if inkomenssituatie.is_empty() {
        return Vec::new();
    }
    subgroepen
        .iter()
        .enumerate()
        .filter_map(|(i, sg)| {
            let (passend, wat): (&[Inkomenssituatie], &str) = match sg {
                Subgroep::GemeentelijkeUitkering => (
                    &[GemeentelijkeUitkering, Werk],
                    "gemeentelijke-uitkering or werk",
                ),
                Subgroep::UwvUitkering => (&[UwvUitkering], "uwv-uitkering"),
                _ => return None,
            };
            (!passend.iter().any(|p| inkomenssituatie.contains(p))).then(|| {
                let finding = Finding::new(
                    Code::SignaalSubgroepZonderInkomen,
                    format!("Subgroep {sg} without Inkomenssituatie {wat}"),
                );
                (i, finding)
            })
        })
        .collect()
}

/// The youngest age at which the ladder follows a client: "In de ladder
/// worden in principe alle burgers (18+) opgenomen" (`003_*` §2.4).
pub const MINIMUMLEEFTIJD: i64 = 18;

/// `SignaalJongerDan18`: a client younger than [`MINIMUMLEEFTIJD`] at the
/// measurement date. "In principe" in the source: a warning, not a refusal.
pub fn jonger_dan_18(geboortedatum: &Datum, meetdatum: &Datum) -> Option<Finding> {
    let leeftijd = geboortedatum.jaren_tot(meetdatum);
    (geboortedatum.is_before(meetdatum) && leeftijd < MINIMUMLEEFTIJD).then(|| {
        Finding::new(
            Code::SignaalJongerDan18,
            format!(
                "the client is {leeftijd} at Meetdatum; the ladder follows clients of {MINIMUMLEEFTIJD} and older"
            ),
        )
    })
}

/// `SignaalUitstroomredenOntbreekt`: code 9 is leaving the ladder, and
/// leaving has a reason (`003_*` §3.2: the five ways a client "stroomt van
/// de participatieladder af"; docs/domain.md: "Leaving is recorded as Trede 9
/// with the reason").
pub fn uitstroomreden_ontbreekt(plaatsing: &Plaatsing) -> Option<Finding> {
    matches!(plaatsing, Plaatsing::BuitenBeeld { reden: None }).then(|| {
        Finding::new(
            Code::SignaalUitstroomredenOntbreekt,
            "Trede 9 without Uitstroomreden",
        )
    })
}

/// `RegelInstrumentPeriode` (schema 1.1): an instrument cannot end before
/// it begins. Timezones are ignored, as in the other date rules.
pub fn instrument_periode(instrument: &Instrument) -> Option<Finding> {
    let eind = instrument.einddatum.as_ref()?;
    eind.is_before(&instrument.begindatum).then(|| {
        Finding::new(
            Code::RegelInstrumentPeriode,
            format!(
                "Einddatum {eind} is before Begindatum {}",
                instrument.begindatum
            ),
        )
    })
}

/// `SignaalInstrumentenTegenKenmerken` (schema 1.1): the message lists an
/// instrument running at the measurement (not ended before it) while the
/// data set's items 22 and 23 both say no instrument is in use or
/// deployed. Silent when either item is absent or yes (absent is not "no").
pub fn instrumenten_tegen_kenmerken(
    instrumenten: &[Instrument],
    meetdatum: &Datum,
    kenmerken: Option<&Klantkenmerken>,
) -> Option<(usize, Finding)> {
    let k = kenmerken?;
    let neither = k.instrument_in_gebruik == Some(false) && k.instrument_ingezet == Some(false);
    let i = instrumenten.iter().position(|x| x.loopt_op(meetdatum))?;
    neither.then(|| {
        (
            i,
            Finding::new(
                Code::SignaalInstrumentenTegenKenmerken,
                format!(
                    "Instrument {} runs at Meetdatum {meetdatum}, but InstrumentInGebruik and InstrumentIngezet are both false",
                    instrumenten[i].soort.as_str()
                ),
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::codes::Subgroep;

    fn d(s: &str) -> Datum {
        Datum::parse(s).unwrap()
    }

    fn code(f: Option<Finding>) -> Option<Code> {
        f.map(|f| f.code)
    }

    fn plaatsing(trede: Trede, gp: Option<Groeipotentieel>) -> Plaatsing {
        Plaatsing::parse(trede, gp, None, None).unwrap()
    }

    fn kenmerken(
        in_gebruik: Option<bool>,
        ingezet: Option<bool>,
        vrijstelling: Option<bool>,
    ) -> Klantkenmerken {
        Klantkenmerken {
            instrument_in_gebruik: in_gebruik,
            instrument_ingezet: ingezet,
            vrijstelling_arbeidsplicht: vrijstelling,
            ..Klantkenmerken::default()
        }
    }

    // Identity ---------------------------------------------------------------

    #[test]
    fn bsn_passing_the_eleven_check_is_accepted() {
        assert_eq!(
            bsn("123456782").map(|b| b.masked()),
            Ok("*****6782".to_owned())
        );
    }

    #[test]
    fn bsn_failing_the_eleven_check_is_regel_bsn_elfproef_without_the_number() {
        let f = bsn("123456789").unwrap_err();
        assert_eq!(f.code, Code::RegelBsnElfproef);
        assert_eq!(f.message, "the BSN fails the 11-check");
        assert_eq!(bsn("000000000").unwrap_err().code, Code::RegelBsnElfproef);
    }

    // Dates ------------------------------------------------------------------

    #[test]
    fn geboortedatum_must_be_strictly_before_meetdatum() {
        assert_eq!(
            geboortedatum_voor_meetdatum(&d("1980-01-01"), &d("2011-03-01")),
            None
        );
        let f = geboortedatum_voor_meetdatum(&d("2011-03-01"), &d("2011-03-01")).unwrap();
        assert_eq!(f.code, Code::RegelGeboortedatum);
        assert_eq!(
            f.message,
            "Geboortedatum 2011-03-01 is not before Meetdatum 2011-03-01"
        );
        assert_eq!(
            code(geboortedatum_voor_meetdatum(
                &d("2012-01-01"),
                &d("2011-03-01")
            )),
            Some(Code::RegelGeboortedatum)
        );
    }

    #[test]
    fn meetdatum_may_be_the_day_of_sending_but_not_after() {
        let verzonden = Tijdstip::parse("2011-03-01T23:00:00+01:00").unwrap();
        assert_eq!(
            meetdatum_niet_na_verzending(&d("2011-03-01"), &verzonden),
            None
        );
        assert_eq!(
            meetdatum_niet_na_verzending(&d("2011-02-01"), &verzonden),
            None
        );
        let f = meetdatum_niet_na_verzending(&d("2011-03-02"), &verzonden).unwrap();
        assert_eq!(f.code, Code::RegelMeetdatumToekomst);
        assert_eq!(
            f.message,
            "Meetdatum 2011-03-02 is after the date the message was sent (2011-03-01+01:00)"
        );
    }

    #[test]
    fn meetdatum_comparison_ignores_timezones() {
        // 23:30 at -05:00 is already the next day in UTC; the date as written counts.
        let verzonden = Tijdstip::parse("2011-03-01T23:30:00-05:00").unwrap();
        assert!(meetdatum_niet_na_verzending(&d("2011-03-02"), &verzonden).is_some());
        assert!(meetdatum_niet_na_verzending(&d("2011-03-01+14:00"), &verzonden).is_none());
    }

    #[test]
    fn geplande_meetdatum_must_be_strictly_after_meetdatum() {
        let meet = d("2011-03-01");
        assert_eq!(
            geplande_meetdatum_na_meetdatum(&meet, &d("2011-03-02")),
            None
        );
        for gepland in ["2011-03-01", "2011-02-01"] {
            let f = geplande_meetdatum_na_meetdatum(&meet, &d(gepland)).unwrap();
            assert_eq!(f.code, Code::RegelVolgendeMeetdatum);
            assert!(f.message.contains(gepland), "{}", f.message);
        }
    }

    #[test]
    fn uiterste_meetdatum_must_be_after_meetdatum_and_not_before_gepland() {
        let meet = d("2011-03-01");
        let gepland = d("2011-06-01");
        assert_eq!(
            uiterste_meetdatum(&meet, Some(&gepland), &d("2011-06-01")),
            None
        );
        assert_eq!(uiterste_meetdatum(&meet, None, &d("2011-03-02")), None);
        let f = uiterste_meetdatum(&meet, Some(&gepland), &d("2011-05-31")).unwrap();
        assert_eq!(f.code, Code::RegelVolgendeMeetdatum);
        assert_eq!(
            f.message,
            "UitersteMeetdatum 2011-05-31 is before GeplandeMeetdatum 2011-06-01"
        );
        let f = uiterste_meetdatum(&meet, None, &meet).unwrap();
        assert_eq!(
            f.message,
            "UitersteMeetdatum 2011-03-01 is not after Meetdatum 2011-03-01"
        );
    }

    #[test]
    fn uiterste_meetdatum_reports_only_one_finding() {
        let f =
            uiterste_meetdatum(&d("2011-03-01"), Some(&d("2011-06-01")), &d("2011-01-01")).unwrap();
        assert!(f.message.contains("not after Meetdatum"));
    }

    // Plaatsing --------------------------------------------------------------

    #[test]
    fn groeipotentieel_missing_names_the_rung() {
        for &lt in LadderTrede::ALL {
            let f = groeipotentieel_ontbreekt(lt);
            assert_eq!(f.code, Code::RegelGroeipotentieelOntbreekt);
            assert_eq!(
                f.message,
                format!(
                    "Groeipotentieel (or a Potentietrede to derive it from) is required on Trede {lt}"
                )
            );
        }
    }

    #[test]
    fn potentietrede_above_gives_plus_equal_gives_nul_below_nothing() {
        let lt = LadderTrede::GeorganiseerdeActiviteiten;
        assert_eq!(
            groeipotentieel_uit_potentietrede(lt, Potentietrede::BetaaldWerk),
            Some(Groeipotentieel::Plus)
        );
        assert_eq!(
            groeipotentieel_uit_potentietrede(lt, Potentietrede::OnbetaaldWerk),
            Some(Groeipotentieel::Plus)
        );
        assert_eq!(
            groeipotentieel_uit_potentietrede(lt, Potentietrede::GeorganiseerdeActiviteiten),
            Some(Groeipotentieel::Nul)
        );
        assert_eq!(
            groeipotentieel_uit_potentietrede(lt, Potentietrede::SocialeContacten),
            None
        );
    }

    #[test]
    fn derived_growth_potential_is_told_recorded_is_not() {
        let afgeleid = Plaatsing::parse(
            Trede::OnbetaaldWerk,
            None,
            Some(Potentietrede::BetaaldWerk),
            None,
        )
        .unwrap();
        let f = groeipotentieel_afgeleid(&afgeleid).unwrap();
        assert_eq!(f.code, Code::SignaalGroeipotentieelAfgeleid);
        assert_eq!(
            f.message,
            "Groeipotentieel \"+\" derived from Potentietrede 6 on Trede 4"
        );
        let vastgelegd = Plaatsing::parse(
            Trede::OnbetaaldWerk,
            Some(Groeipotentieel::Plus),
            Some(Potentietrede::BetaaldWerk),
            None,
        )
        .unwrap();
        assert_eq!(groeipotentieel_afgeleid(&vastgelegd), None);
        assert_eq!(groeipotentieel_afgeleid(&Plaatsing::BetaaldWerk), None);
    }

    #[test]
    fn groeipotentieel_plus_does_not_apply_to_0_6_and_9_and_nul_is_a_warning() {
        for t in [Trede::Intake, Trede::BetaaldWerk, Trede::BuitenBeeld] {
            assert_eq!(groeipotentieel_niet_van_toepassing(t, None), None);
            assert_eq!(
                code(groeipotentieel_niet_van_toepassing(
                    t,
                    Some(Groeipotentieel::Plus)
                )),
                Some(Code::RegelGroeipotentieelNietVanToepassing)
            );
            assert_eq!(
                groeipotentieel_niet_van_toepassing(t, Some(Groeipotentieel::Nul)),
                None
            );
            assert_eq!(
                code(groeipotentieel_nul_niet_van_toepassing(
                    t,
                    Some(Groeipotentieel::Nul)
                )),
                Some(Code::SignaalGroeipotentieelNietVanToepassing)
            );
            assert_eq!(
                groeipotentieel_nul_niet_van_toepassing(t, Some(Groeipotentieel::Plus)),
                None
            );
            assert_eq!(groeipotentieel_nul_niet_van_toepassing(t, None), None);
        }
        assert_eq!(
            groeipotentieel_niet_van_toepassing(Trede::BetaaldWerk, Some(Groeipotentieel::Plus))
                .unwrap()
                .message,
            "Groeipotentieel \"+\" does not apply to Trede 6"
        );
        assert_eq!(
            groeipotentieel_nul_niet_van_toepassing(Trede::Intake, Some(Groeipotentieel::Nul))
                .unwrap()
                .message,
            "Groeipotentieel \"0\" does not apply to Trede 0 and is ignored"
        );
        for t in [Trede::Geisoleerd, Trede::BetaaldWerkMetOndersteuning] {
            for gp in [Groeipotentieel::Plus, Groeipotentieel::Nul] {
                assert_eq!(groeipotentieel_niet_van_toepassing(t, Some(gp)), None);
                assert_eq!(groeipotentieel_nul_niet_van_toepassing(t, Some(gp)), None);
            }
        }
    }

    #[test]
    fn potentietrede_does_not_apply_to_0_6_and_9() {
        for t in [Trede::Intake, Trede::BetaaldWerk, Trede::BuitenBeeld] {
            assert_eq!(potentietrede_niet_van_toepassing(t, None), None);
            assert_eq!(
                code(potentietrede_niet_van_toepassing(
                    t,
                    Some(Potentietrede::BetaaldWerk)
                )),
                Some(Code::RegelGroeipotentieelNietVanToepassing)
            );
        }
        assert_eq!(
            potentietrede_niet_van_toepassing(
                Trede::OnbetaaldWerk,
                Some(Potentietrede::BetaaldWerk)
            ),
            None
        );
    }

    #[test]
    fn potentietrede_below_trede_is_rejected_whatever_the_growth_potential() {
        for gp in [
            None,
            Some(Groeipotentieel::Nul),
            Some(Groeipotentieel::Plus),
        ] {
            let f = potentietrede(
                LadderTrede::OnbetaaldWerk,
                gp,
                Potentietrede::SocialeContacten,
            )
            .unwrap();
            assert_eq!(f.code, Code::RegelPotentietrede);
            assert_eq!(f.message, "Potentietrede 2 is below Trede 4");
        }
    }

    #[test]
    fn potentietrede_above_trede_needs_plus() {
        let lt = LadderTrede::OnbetaaldWerk;
        assert_eq!(
            potentietrede(lt, Some(Groeipotentieel::Plus), Potentietrede::BetaaldWerk),
            None
        );
        let f = potentietrede(lt, Some(Groeipotentieel::Nul), Potentietrede::BetaaldWerk).unwrap();
        assert_eq!(f.code, Code::RegelPotentietrede);
        assert!(f.message.contains("above Trede 4"), "{}", f.message);
    }

    #[test]
    fn potentietrede_equal_to_trede_needs_nul() {
        let lt = LadderTrede::OnbetaaldWerk;
        assert_eq!(
            potentietrede(lt, Some(Groeipotentieel::Nul), Potentietrede::OnbetaaldWerk),
            None
        );
        let f = potentietrede(
            lt,
            Some(Groeipotentieel::Plus),
            Potentietrede::OnbetaaldWerk,
        )
        .unwrap();
        assert_eq!(f.code, Code::RegelPotentietrede);
        assert!(f.message.contains("equals Trede 4"), "{}", f.message);
    }

    #[test]
    fn uitstroomreden_only_with_trede_9() {
        let reden = Some(Uitstroomreden::WerkZesMaanden);
        assert_eq!(
            uitstroomreden_alleen_bij_trede_9(Trede::BuitenBeeld, reden),
            None
        );
        assert_eq!(
            uitstroomreden_alleen_bij_trede_9(Trede::BetaaldWerk, None),
            None
        );
        for &t in Trede::ALL.iter().filter(|&&t| t != Trede::BuitenBeeld) {
            let f = uitstroomreden_alleen_bij_trede_9(t, reden).unwrap();
            assert_eq!(f.code, Code::RegelUitstroomreden);
        }
        assert_eq!(
            uitstroomreden_alleen_bij_trede_9(Trede::BetaaldWerk, reden)
                .unwrap()
                .message,
            "Uitstroomreden \"werk-zes-maanden\" is only allowed with Trede 9, not 6"
        );
    }

    // References and duplicates ----------------------------------------------

    #[test]
    fn reference_to_own_bericht_id_is_rejected() {
        let eigen = BerichtId::parse("abc-1").unwrap();
        let ander = BerichtId::parse("abc-0").unwrap();
        assert_eq!(
            referentie_niet_naar_zichzelf(&eigen, &ander, "Corrigeert"),
            None
        );
        let f = referentie_niet_naar_zichzelf(&eigen, &eigen, "TrektIn").unwrap();
        assert_eq!(f.code, Code::RegelReferentie);
        assert_eq!(
            f.message,
            "TrektIn abc-1 refers to this message's own BerichtId"
        );
    }

    #[test]
    fn each_repeated_occurrence_is_reported_once() {
        let subgroepen = [
            Subgroep::UwvUitkering,
            Subgroep::Educatieaanbod,
            Subgroep::UwvUitkering,
            Subgroep::UwvUitkering,
        ];
        let found = geen_dubbele("Subgroep", &subgroepen);
        let indices: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
        assert_eq!(indices, [2, 3]);
        assert_eq!(found[0].1.code, Code::RegelDubbel);
        assert_eq!(found[0].1.message, "Subgroep 7 occurs more than once");
        assert!(geen_dubbele(
            "Subgroep",
            &[Subgroep::UwvUitkering, Subgroep::Educatieaanbod]
        )
        .is_empty());
        assert!(geen_dubbele::<Subgroep>("Subgroep", &[]).is_empty());
    }

    // Warnings ---------------------------------------------------------------

    fn traject_kenmerken() -> [(Klantkenmerken, &'static str); 3] {
        [
            (
                kenmerken(Some(true), None, None),
                "InstrumentInGebruik is true",
            ),
            (
                kenmerken(None, Some(true), None),
                "InstrumentIngezet is true",
            ),
            (
                kenmerken(Some(true), Some(true), None),
                "InstrumentInGebruik and InstrumentIngezet is true",
            ),
        ]
    }

    fn geen_traject() -> [Option<Klantkenmerken>; 4] {
        [
            None,
            Some(Klantkenmerken::default()),
            Some(kenmerken(Some(false), None, None)),
            Some(kenmerken(Some(false), Some(false), None)),
        ]
    }

    #[test]
    fn warns_on_programme_in_use_or_deployed_without_growth_potential() {
        let nul = plaatsing(
            Trede::GeorganiseerdeActiviteiten,
            Some(Groeipotentieel::Nul),
        );
        let plus = plaatsing(
            Trede::GeorganiseerdeActiviteiten,
            Some(Groeipotentieel::Plus),
        );
        for (k, items) in traject_kenmerken() {
            let f = traject_zonder_groeipotentieel(&nul, Some(&k)).unwrap();
            assert_eq!(f.code, Code::SignaalTrajectZonderGroeipotentieel);
            assert_eq!(f.message, format!("Groeipotentieel is \"0\" while {items}"));
            assert_eq!(traject_zonder_groeipotentieel(&plus, Some(&k)), None);
        }
        for k in geen_traject() {
            assert_eq!(traject_zonder_groeipotentieel(&nul, k.as_ref()), None);
        }
    }

    #[test]
    fn warns_on_programme_in_use_or_deployed_on_rung_1_or_2() {
        for t in [Trede::Geisoleerd, Trede::SocialeContacten] {
            let p = plaatsing(t, Some(Groeipotentieel::Plus));
            for (k, items) in traject_kenmerken() {
                let f = traject_op_trede_1_of_2(&p, Some(&k)).unwrap();
                assert_eq!(f.code, Code::SignaalTrajectOpTrede1Of2);
                assert_eq!(f.message, format!("Trede {t} while {items}"));
            }
            for k in geen_traject() {
                assert_eq!(traject_op_trede_1_of_2(&p, k.as_ref()), None);
            }
        }
        let p = plaatsing(
            Trede::GeorganiseerdeActiviteiten,
            Some(Groeipotentieel::Plus),
        );
        for (k, _) in traject_kenmerken() {
            assert_eq!(traject_op_trede_1_of_2(&p, Some(&k)), None);
        }
    }

    #[test]
    fn warns_on_rung_6_with_instrument_in_use_or_deployed() {
        let zes = plaatsing(Trede::BetaaldWerk, None);
        for (k, items) in traject_kenmerken() {
            let f = trede_6_met_ondersteuning(&zes, Some(&k)).unwrap();
            assert_eq!(f.code, Code::SignaalTrede6MetOndersteuning);
            assert_eq!(
                f.message,
                format!("Trede 6 while {items}: paid work with support is Trede 5")
            );
        }
        for k in geen_traject() {
            assert_eq!(trede_6_met_ondersteuning(&zes, k.as_ref()), None);
        }
        let vijf = plaatsing(
            Trede::BetaaldWerkMetOndersteuning,
            Some(Groeipotentieel::Nul),
        );
        for (k, _) in traject_kenmerken() {
            assert_eq!(trede_6_met_ondersteuning(&vijf, Some(&k)), None);
        }
    }

    #[test]
    fn warns_on_rung_5_only_when_both_instrument_items_are_recorded_no() {
        let vijf = plaatsing(
            Trede::BetaaldWerkMetOndersteuning,
            Some(Groeipotentieel::Nul),
        );
        assert_eq!(
            code(trede_5_zonder_instrument(
                &vijf,
                Some(&kenmerken(Some(false), Some(false), None))
            )),
            Some(Code::SignaalTrede5ZonderInstrument)
        );
        // Absent is not false: silent when either item is missing.
        for k in [
            None,
            Some(Klantkenmerken::default()),
            Some(kenmerken(Some(false), None, None)),
            Some(kenmerken(None, Some(false), None)),
            Some(kenmerken(Some(true), Some(false), None)),
            Some(kenmerken(Some(false), Some(true), None)),
        ] {
            assert_eq!(trede_5_zonder_instrument(&vijf, k.as_ref()), None, "{k:?}");
        }
        let vier = plaatsing(Trede::OnbetaaldWerk, Some(Groeipotentieel::Nul));
        let nee = kenmerken(Some(false), Some(false), None);
        assert_eq!(trede_5_zonder_instrument(&vier, Some(&nee)), None);
    }

    #[test]
    fn warns_on_either_exemption_with_growth_potential() {
        let plus = plaatsing(Trede::OnbetaaldWerk, Some(Groeipotentieel::Plus));
        let nul = plaatsing(Trede::OnbetaaldWerk, Some(Groeipotentieel::Nul));
        let inburgering = Klantkenmerken {
            vrijstelling_inburgeringsplicht: Some(true),
            ..Klantkenmerken::default()
        };
        let beide = Klantkenmerken {
            vrijstelling_arbeidsplicht: Some(true),
            ..inburgering.clone()
        };
        for (k, items) in [
            (
                kenmerken(None, None, Some(true)),
                "VrijstellingArbeidsplicht",
            ),
            (inburgering, "VrijstellingInburgeringsplicht"),
            (
                beide,
                "VrijstellingArbeidsplicht and VrijstellingInburgeringsplicht",
            ),
        ] {
            let f = vrijstelling_met_groeipotentieel(&plus, Some(&k)).unwrap();
            assert_eq!(f.code, Code::SignaalVrijstellingMetGroeipotentieel);
            assert_eq!(
                f.message,
                format!("Groeipotentieel is \"+\" while {items} is true")
            );
            assert_eq!(vrijstelling_met_groeipotentieel(&nul, Some(&k)), None);
        }
        for k in [
            None,
            Some(kenmerken(None, None, Some(false))),
            Some(Klantkenmerken::default()),
        ] {
            assert_eq!(vrijstelling_met_groeipotentieel(&plus, k.as_ref()), None);
        }
    }

    // The data set's requirements and definitions ------------------------------

    #[test]
    fn warns_without_any_subgroup_on_rungs_1_to_6() {
        let nationaal = Subgroepen {
            nationaal: vec![Subgroep::ReIntegratieaanbod],
            lokaal: Vec::new(),
        };
        let lokaal = Subgroepen {
            nationaal: Vec::new(),
            lokaal: vec![crate::domain::bericht::LokaalElement {
                namespace: "urn:gemeente:0363".into(),
                xml: "<g:Subgroep xmlns:g=\"urn:gemeente:0363\"/>".into(),
            }],
        };
        for &t in Trede::ALL {
            let gp = matches!(t.nummer(), 1..=5).then_some(Groeipotentieel::Plus);
            let p = plaatsing(t, gp);
            let applies = (1..=6).contains(&t.nummer());
            for leeg in [None, Some(&Subgroepen::default())] {
                assert_eq!(
                    code(subgroep_ontbreekt(&p, leeg)),
                    applies.then_some(Code::SignaalSubgroepOntbreekt),
                    "{t}"
                );
            }
            assert_eq!(subgroep_ontbreekt(&p, Some(&nationaal)), None);
            assert_eq!(subgroep_ontbreekt(&p, Some(&lokaal)), None);
        }
        assert_eq!(
            subgroep_ontbreekt(&plaatsing(Trede::BetaaldWerk, None), None)
                .unwrap()
                .message,
            "no Subgroep is recorded on Trede 6 (a registration of every measurement)"
        );
    }

    #[test]
    fn warns_on_no_benefit_together_with_a_benefit() {
        use Inkomenssituatie::*;
        let f = geen_uitkering_met_uitkering(&[GeenUitkering, Werk, UwvUitkering]).unwrap();
        assert_eq!(f.code, Code::SignaalGeenUitkeringMetUitkering);
        assert_eq!(
            f.message,
            "Inkomenssituatie geen-uitkering together with uwv-uitkering"
        );
        assert_eq!(
            geen_uitkering_met_uitkering(&[GemeentelijkeUitkering, GeenUitkering])
                .unwrap()
                .message,
            "Inkomenssituatie geen-uitkering together with gemeentelijke-uitkering"
        );
        for ok in [
            &[GeenUitkering][..],
            &[GeenUitkering, Werk],
            &[GemeentelijkeUitkering, UwvUitkering],
            &[],
        ] {
            assert_eq!(geen_uitkering_met_uitkering(ok), None, "{ok:?}");
        }
    }

    #[test]
    fn warns_on_subgroup_6_from_the_27th_birthday() {
        let zes = [Subgroep::Educatieaanbod, Subgroep::JongereMetLeerwerkrecht];
        let geboren = d("1997-03-08");
        assert_eq!(subgroep_6_leeftijd(&geboren, &d("2024-03-07"), &zes), None);
        let f = subgroep_6_leeftijd(&geboren, &d("2024-03-08"), &zes).unwrap();
        assert_eq!(f.code, Code::SignaalSubgroep6Leeftijd);
        assert_eq!(
            f.message,
            "Subgroep 6 is for young people under 27; the client is 27 at Meetdatum"
        );
        assert_eq!(
            code(subgroep_6_leeftijd(
                &d("1980-01-01"),
                &d("2024-03-08"),
                &zes
            )),
            Some(Code::SignaalSubgroep6Leeftijd)
        );
        assert_eq!(
            subgroep_6_leeftijd(&d("1980-01-01"), &d("2024-03-08"), &zes[..1]),
            None
        );
    }

    #[test]
    fn warns_on_subgroup_1_or_7_without_its_income_when_income_is_recorded() {
        use Inkomenssituatie::*;
        let sg = [
            Subgroep::GemeentelijkeUitkering,
            Subgroep::ReIntegratieaanbod,
            Subgroep::UwvUitkering,
        ];
        let found = subgroep_zonder_inkomen(&sg, &[GeenUitkering]);
        let at: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
        assert_eq!(at, [0, 2]);
        assert!(found
            .iter()
            .all(|(_, f)| f.code == Code::SignaalSubgroepZonderInkomen));
        assert_eq!(
            found[0].1.message,
            "Subgroep 1 without Inkomenssituatie gemeentelijke-uitkering or werk"
        );
        assert_eq!(
            found[1].1.message,
            "Subgroep 7 without Inkomenssituatie uwv-uitkering"
        );
        // Subgroup 1 also holds after leaving the benefit for work.
        let werk = subgroep_zonder_inkomen(&sg, &[Werk]);
        assert_eq!(werk.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [2]);
        assert!(subgroep_zonder_inkomen(&sg, &[GemeentelijkeUitkering, UwvUitkering]).is_empty());
        // Absent is not false: no income recorded, nothing to compare.
        assert!(subgroep_zonder_inkomen(&sg, &[]).is_empty());
    }

    #[test]
    fn warns_on_a_client_under_18_at_the_measurement_date() {
        assert_eq!(MINIMUMLEEFTIJD, 18);
        let geboren = d("2006-03-08");
        let f = jonger_dan_18(&geboren, &d("2024-03-07")).unwrap();
        assert_eq!(f.code, Code::SignaalJongerDan18);
        assert_eq!(
            f.message,
            "the client is 17 at Meetdatum; the ladder follows clients of 18 and older"
        );
        assert_eq!(jonger_dan_18(&geboren, &d("2024-03-08")), None);
        assert_eq!(
            code(jonger_dan_18(&d("2016-01-01"), &d("2024-03-08"))),
            Some(Code::SignaalJongerDan18)
        );
        // A birth date on or after the measurement is regel.geboortedatum's.
        assert_eq!(jonger_dan_18(&d("2024-03-08"), &d("2024-03-08")), None);
    }

    #[test]
    fn warns_on_rung_9_without_a_reason() {
        let f = uitstroomreden_ontbreekt(&Plaatsing::BuitenBeeld { reden: None }).unwrap();
        assert_eq!(f.code, Code::SignaalUitstroomredenOntbreekt);
        assert_eq!(f.message, "Trede 9 without Uitstroomreden");
        assert_eq!(
            uitstroomreden_ontbreekt(&Plaatsing::BuitenBeeld {
                reden: Some(Uitstroomreden::Uitval)
            }),
            None
        );
        assert_eq!(uitstroomreden_ontbreekt(&Plaatsing::Intake), None);
    }
}
