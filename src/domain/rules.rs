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
//! - Warnings treat an absent yes/no characteristic as "not true".
//! - No message ever contains a BSN.

use std::fmt;

use super::bericht::Klantkenmerken;
use super::codes::{Groeipotentieel, LadderTrede, Potentietrede, Trede, Uitstroomreden};
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
/// every measurement"; `003_*` §2.3). Returns it when present.
pub fn groeipotentieel_vereist(
    trede: LadderTrede,
    groeipotentieel: Option<Groeipotentieel>,
) -> Result<Groeipotentieel, Finding> {
    groeipotentieel.ok_or_else(|| {
        Finding::new(
            Code::RegelGroeipotentieelOntbreekt,
            format!("Groeipotentieel is required on Trede {trede}"),
        )
    })
}

/// `RegelGroeipotentieelNietVanToepassing`: growth potential does not apply
/// to rung 6 (`003_*` table 3.2) nor to codes 0 and 9, which are not rungs
/// (XSD `Plaatsing/Groeipotentieel`: "must be absent").
pub fn groeipotentieel_niet_van_toepassing(
    trede: Trede,
    groeipotentieel: Option<Groeipotentieel>,
) -> Option<Finding> {
    let gp = groeipotentieel?;
    geen_groei_mogelijk(trede).then(|| {
        Finding::new(
            Code::RegelGroeipotentieelNietVanToepassing,
            format!("Groeipotentieel \"{gp}\" does not apply to Trede {trede}"),
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

fn is_true(value: Option<bool>) -> bool {
    value == Some(true)
}

/// `SignaalTrajectZonderGroeipotentieel`: "geen groeipotentieel wel traject"
/// — growth potential 0 while an instrument is deployed (`001_*` §1.4).
pub fn traject_zonder_groeipotentieel(
    plaatsing: &Plaatsing,
    kenmerken: Option<&Klantkenmerken>,
) -> Option<Finding> {
    let ingezet = is_true(kenmerken.and_then(|k| k.instrument_ingezet));
    (ingezet && plaatsing.groeipotentieel() == Some(Groeipotentieel::Nul)).then(|| {
        Finding::new(
            Code::SignaalTrajectZonderGroeipotentieel,
            "Groeipotentieel is \"0\" while InstrumentIngezet is true",
        )
    })
}

/// `SignaalTrajectOpTrede1Of2`: "wel (re-integratie)traject maar ingedeeld
/// op trede 1 of 2" — an instrument deployed on rung 1 or 2 (`001_*` §1.4).
pub fn traject_op_trede_1_of_2(
    plaatsing: &Plaatsing,
    kenmerken: Option<&Klantkenmerken>,
) -> Option<Finding> {
    let trede = plaatsing.trede();
    let ingezet = is_true(kenmerken.and_then(|k| k.instrument_ingezet));
    (ingezet && matches!(trede, Trede::Geisoleerd | Trede::SocialeContacten)).then(|| {
        Finding::new(
            Code::SignaalTrajectOpTrede1Of2,
            format!("Trede {trede} while InstrumentIngezet is true"),
        )
    })
}

/// `SignaalTrede6MetOndersteuning`: "klant ingedeeld op 6" while an
/// instrument is in use — paid work *with* support is rung 5 (`001_*` §1.4,
/// docs/domain.md, the table of Treden).
pub fn trede_6_met_ondersteuning(
    plaatsing: &Plaatsing,
    kenmerken: Option<&Klantkenmerken>,
) -> Option<Finding> {
    let in_gebruik = is_true(kenmerken.and_then(|k| k.instrument_in_gebruik));
    (in_gebruik && plaatsing.trede() == Trede::BetaaldWerk).then(|| {
        Finding::new(
            Code::SignaalTrede6MetOndersteuning,
            "Trede 6 while InstrumentInGebruik is true: paid work with support is Trede 5",
        )
    })
}

/// `SignaalTrede5ZonderInstrument`: "ingedeeld op 5 maar geen instrument
/// ingezet" — rung 5 while no instrument is in use or deployed (`001_*`
/// §1.4). Absent characteristics count as "no".
pub fn trede_5_zonder_instrument(
    plaatsing: &Plaatsing,
    kenmerken: Option<&Klantkenmerken>,
) -> Option<Finding> {
    let in_gebruik = is_true(kenmerken.and_then(|k| k.instrument_in_gebruik));
    let ingezet = is_true(kenmerken.and_then(|k| k.instrument_ingezet));
    (plaatsing.trede() == Trede::BetaaldWerkMetOndersteuning && !in_gebruik && !ingezet).then(
        || {
            Finding::new(
                Code::SignaalTrede5ZonderInstrument,
                "Trede 5 while neither InstrumentInGebruik nor InstrumentIngezet is true",
            )
        },
    )
}

/// `SignaalVrijstellingMetGroeipotentieel`: "ontheffing en toch
/// groeipotentieel" — exempted from the obligation to work, yet growth
/// potential + (`001_*` §1.4).
pub fn vrijstelling_met_groeipotentieel(
    plaatsing: &Plaatsing,
    kenmerken: Option<&Klantkenmerken>,
) -> Option<Finding> {
    let vrijgesteld = is_true(kenmerken.and_then(|k| k.vrijstelling_arbeidsplicht));
    (vrijgesteld && plaatsing.groeipotentieel() == Some(Groeipotentieel::Plus)).then(|| {
        Finding::new(
            Code::SignaalVrijstellingMetGroeipotentieel,
            "Groeipotentieel is \"+\" while VrijstellingArbeidsplicht is true",
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
    fn groeipotentieel_is_required_on_rungs_1_to_5() {
        for &lt in LadderTrede::ALL {
            assert_eq!(
                groeipotentieel_vereist(lt, Some(Groeipotentieel::Nul)),
                Ok(Groeipotentieel::Nul)
            );
            let f = groeipotentieel_vereist(lt, None).unwrap_err();
            assert_eq!(f.code, Code::RegelGroeipotentieelOntbreekt);
            assert_eq!(
                f.message,
                format!("Groeipotentieel is required on Trede {lt}")
            );
        }
    }

    #[test]
    fn groeipotentieel_does_not_apply_to_0_6_and_9() {
        for t in [Trede::Intake, Trede::BetaaldWerk, Trede::BuitenBeeld] {
            assert_eq!(groeipotentieel_niet_van_toepassing(t, None), None);
            for gp in [Groeipotentieel::Plus, Groeipotentieel::Nul] {
                assert_eq!(
                    code(groeipotentieel_niet_van_toepassing(t, Some(gp))),
                    Some(Code::RegelGroeipotentieelNietVanToepassing)
                );
            }
        }
        assert_eq!(
            groeipotentieel_niet_van_toepassing(Trede::BetaaldWerk, Some(Groeipotentieel::Plus))
                .unwrap()
                .message,
            "Groeipotentieel \"+\" does not apply to Trede 6"
        );
        assert_eq!(
            groeipotentieel_niet_van_toepassing(Trede::Geisoleerd, Some(Groeipotentieel::Plus)),
            None
        );
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

    #[test]
    fn warns_on_programme_without_growth_potential() {
        let nul = plaatsing(
            Trede::GeorganiseerdeActiviteiten,
            Some(Groeipotentieel::Nul),
        );
        let plus = plaatsing(
            Trede::GeorganiseerdeActiviteiten,
            Some(Groeipotentieel::Plus),
        );
        let ingezet = kenmerken(None, Some(true), None);
        assert_eq!(
            code(traject_zonder_groeipotentieel(&nul, Some(&ingezet))),
            Some(Code::SignaalTrajectZonderGroeipotentieel)
        );
        assert_eq!(traject_zonder_groeipotentieel(&plus, Some(&ingezet)), None);
        assert_eq!(
            traject_zonder_groeipotentieel(&nul, Some(&kenmerken(None, Some(false), None))),
            None
        );
        assert_eq!(traject_zonder_groeipotentieel(&nul, None), None);
    }

    #[test]
    fn warns_on_programme_on_rung_1_or_2() {
        let ingezet = kenmerken(None, Some(true), None);
        for t in [Trede::Geisoleerd, Trede::SocialeContacten] {
            let p = plaatsing(t, Some(Groeipotentieel::Plus));
            assert_eq!(
                code(traject_op_trede_1_of_2(&p, Some(&ingezet))),
                Some(Code::SignaalTrajectOpTrede1Of2)
            );
            assert_eq!(traject_op_trede_1_of_2(&p, None), None);
        }
        let p = plaatsing(
            Trede::GeorganiseerdeActiviteiten,
            Some(Groeipotentieel::Plus),
        );
        assert_eq!(traject_op_trede_1_of_2(&p, Some(&ingezet)), None);
    }

    #[test]
    fn warns_on_rung_6_with_instrument_in_use() {
        let zes = plaatsing(Trede::BetaaldWerk, None);
        let in_gebruik = kenmerken(Some(true), None, None);
        assert_eq!(
            code(trede_6_met_ondersteuning(&zes, Some(&in_gebruik))),
            Some(Code::SignaalTrede6MetOndersteuning)
        );
        assert_eq!(
            trede_6_met_ondersteuning(&zes, Some(&kenmerken(Some(false), Some(true), None))),
            None
        );
        let vijf = plaatsing(
            Trede::BetaaldWerkMetOndersteuning,
            Some(Groeipotentieel::Nul),
        );
        assert_eq!(trede_6_met_ondersteuning(&vijf, Some(&in_gebruik)), None);
    }

    #[test]
    fn warns_on_rung_5_without_any_instrument() {
        let vijf = plaatsing(
            Trede::BetaaldWerkMetOndersteuning,
            Some(Groeipotentieel::Nul),
        );
        assert_eq!(
            code(trede_5_zonder_instrument(&vijf, None)),
            Some(Code::SignaalTrede5ZonderInstrument)
        );
        assert_eq!(
            code(trede_5_zonder_instrument(
                &vijf,
                Some(&kenmerken(Some(false), Some(false), None))
            )),
            Some(Code::SignaalTrede5ZonderInstrument)
        );
        assert_eq!(
            trede_5_zonder_instrument(&vijf, Some(&kenmerken(Some(true), None, None))),
            None
        );
        assert_eq!(
            trede_5_zonder_instrument(&vijf, Some(&kenmerken(None, Some(true), None))),
            None
        );
        let vier = plaatsing(Trede::OnbetaaldWerk, Some(Groeipotentieel::Nul));
        assert_eq!(trede_5_zonder_instrument(&vier, None), None);
    }

    #[test]
    fn warns_on_exemption_with_growth_potential() {
        let vrij = kenmerken(None, None, Some(true));
        let plus = plaatsing(Trede::OnbetaaldWerk, Some(Groeipotentieel::Plus));
        let nul = plaatsing(Trede::OnbetaaldWerk, Some(Groeipotentieel::Nul));
        assert_eq!(
            code(vrijstelling_met_groeipotentieel(&plus, Some(&vrij))),
            Some(Code::SignaalVrijstellingMetGroeipotentieel)
        );
        assert_eq!(vrijstelling_met_groeipotentieel(&nul, Some(&vrij)), None);
        assert_eq!(
            vrijstelling_met_groeipotentieel(&plus, Some(&kenmerken(None, None, Some(false)))),
            None
        );
    }
}
