//! The client's position on the ladder (items 13-14 and the potentietrede).
//!
//! Why an enum rather than four optional fields: growth potential applies to
//! rungs 1-5 only, a potentietrede must agree with it, and a reason for
//! leaving only goes with code 9 (`003_*` table 3.2, `001_*` appendix 5). A
//! [`Plaatsing`] holds exactly what its code allows, so code downstream (the
//! store, the reports) never meets "rung 6 with growth potential +".
//! [`Plaatsing::parse`] is the only way in; the rules it applies are in
//! [`super::rules`].
//!
//! Lenient where the method is: most municipalities record only the
//! potentietrede (`001_*` §1.1), so on rungs 1-5 a potentietrede without
//! growth potential gives the growth potential (`001_*` §1.7), kept as
//! *derived* ([`Ladderplaats::groeipotentieel_afgeleid`]); and `0`, the
//! default code (`003_*` §3.3), where growth potential does not apply is
//! dropped rather than refused (the reader warns about both).

use super::codes::{Groeipotentieel, LadderTrede, Potentietrede, Trede, Uitstroomreden};
use super::rules::{self, Finding};

/// A position on rungs 1-5, with its growth potential (recorded, or derived
/// from the potentietrede) and the optional potentietrede, which always
/// agrees with both. A derived growth potential always has its
/// potentietrede: the two constructors are the only way in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ladderplaats {
    trede: LadderTrede,
    groeipotentieel: Groeipotentieel,
    potentietrede: Option<Potentietrede>,
    groeipotentieel_afgeleid: bool,
}

impl Ladderplaats {
    /// Fails when the potentietrede contradicts the rung or the growth
    /// potential ([`rules::potentietrede`]).
    pub fn parse(
        trede: LadderTrede,
        groeipotentieel: Groeipotentieel,
        potentietrede: Option<Potentietrede>,
    ) -> Result<Ladderplaats, Finding> {
        if let Some(pt) = potentietrede {
            if let Some(finding) = rules::potentietrede(trede, Some(groeipotentieel), pt) {
                return Err(finding);
            }
        }
        Ok(Ladderplaats {
            trede,
            groeipotentieel,
            potentietrede,
            groeipotentieel_afgeleid: false,
        })
    }

    /// The growth potential derived from the potentietrede alone
    /// ([`rules::groeipotentieel_uit_potentietrede`]); fails when the
    /// potentietrede lies below the rung, so that nothing can be derived.
    pub fn afgeleid(
        trede: LadderTrede,
        potentietrede: Potentietrede,
    ) -> Result<Ladderplaats, Finding> {
        let groeipotentieel = rules::groeipotentieel_uit_potentietrede(trede, potentietrede)
            .ok_or_else(|| {
                rules::potentietrede(trede, None, potentietrede)
                    .unwrap_or_else(|| rules::groeipotentieel_ontbreekt(trede))
            })?;
        Ok(Ladderplaats {
            trede,
            groeipotentieel,
            potentietrede: Some(potentietrede),
            groeipotentieel_afgeleid: true,
        })
    }

    pub fn trede(&self) -> LadderTrede {
        self.trede
    }

    /// The growth potential, recorded or derived.
    pub fn groeipotentieel(&self) -> Groeipotentieel {
        self.groeipotentieel
    }

    /// Whether the growth potential was derived from the potentietrede
    /// rather than recorded in the message.
    pub fn groeipotentieel_afgeleid(&self) -> bool {
        self.groeipotentieel_afgeleid
    }

    pub fn potentietrede(&self) -> Option<Potentietrede> {
        self.potentietrede
    }
}

/// The position on the ladder at the measurement date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Plaatsing {
    /// Code 0: intake phase, not yet placed.
    Intake,
    /// Rungs 1-5.
    OpLadder(Ladderplaats),
    /// Rung 6: paid work without support; growth potential does not apply.
    BetaaldWerk,
    /// Code 9: no longer in view, with the reason if given.
    BuitenBeeld { reden: Option<Uitstroomreden> },
}

/// Which child of `Plaatsing` a violation is about, so the reader can point
/// at that element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaatsingField {
    /// The `Plaatsing` element itself (a required child is missing).
    Plaatsing,
    Groeipotentieel,
    Potentietrede,
    Uitstroomreden,
}

/// One rule violation found while building a [`Plaatsing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaatsingFout {
    pub field: PlaatsingField,
    pub finding: Finding,
}

impl Plaatsing {
    /// Builds the position from the message's fields, reporting every rule
    /// violation among them (not just the first).
    pub fn parse(
        trede: Trede,
        groeipotentieel: Option<Groeipotentieel>,
        potentietrede: Option<Potentietrede>,
        uitstroomreden: Option<Uitstroomreden>,
    ) -> Result<Plaatsing, Vec<PlaatsingFout>> {
        let ladder = |lt| op_ladder(lt, groeipotentieel, potentietrede);
        let off_ladder = |plaatsing| {
            let fouten = niet_van_toepassing(trede, groeipotentieel, potentietrede);
            if fouten.is_empty() {
                Ok(plaatsing)
            } else {
                Err(fouten)
            }
        };
        let plaatsing = match trede {
            Trede::Intake => off_ladder(Plaatsing::Intake),
            Trede::Geisoleerd => ladder(LadderTrede::Geisoleerd),
            Trede::SocialeContacten => ladder(LadderTrede::SocialeContacten),
            Trede::GeorganiseerdeActiviteiten => ladder(LadderTrede::GeorganiseerdeActiviteiten),
            Trede::OnbetaaldWerk => ladder(LadderTrede::OnbetaaldWerk),
            Trede::BetaaldWerkMetOndersteuning => ladder(LadderTrede::BetaaldWerkMetOndersteuning),
            Trede::BetaaldWerk => off_ladder(Plaatsing::BetaaldWerk),
            Trede::BuitenBeeld => off_ladder(Plaatsing::BuitenBeeld {
                reden: uitstroomreden,
            }),
        };
        let reden =
            rules::uitstroomreden_alleen_bij_trede_9(trede, uitstroomreden).map(|finding| {
                PlaatsingFout {
                    field: PlaatsingField::Uitstroomreden,
                    finding,
                }
            });
        match (plaatsing, reden) {
            (Ok(plaatsing), None) => Ok(plaatsing),
            (Ok(_), Some(reden)) => Err(vec![reden]),
            (Err(mut fouten), reden) => {
                fouten.extend(reden);
                Err(fouten)
            }
        }
    }

    /// The code for reports: 0-6 or 9.
    pub fn trede(&self) -> Trede {
        match self {
            Plaatsing::Intake => Trede::Intake,
            Plaatsing::OpLadder(plaats) => plaats.trede().trede(),
            Plaatsing::BetaaldWerk => Trede::BetaaldWerk,
            Plaatsing::BuitenBeeld { .. } => Trede::BuitenBeeld,
        }
    }

    /// The growth potential, recorded or derived; `None` where it does not
    /// apply.
    pub fn groeipotentieel(&self) -> Option<Groeipotentieel> {
        match self {
            Plaatsing::OpLadder(plaats) => Some(plaats.groeipotentieel()),
            _ => None,
        }
    }

    /// Whether the growth potential was derived from the potentietrede.
    pub fn groeipotentieel_afgeleid(&self) -> bool {
        match self {
            Plaatsing::OpLadder(plaats) => plaats.groeipotentieel_afgeleid(),
            _ => false,
        }
    }

    /// The potentietrede, if given; only ever on rungs 1-5.
    pub fn potentietrede(&self) -> Option<Potentietrede> {
        match self {
            Plaatsing::OpLadder(plaats) => plaats.potentietrede(),
            _ => None,
        }
    }

    /// The reason for leaving, if given; only ever with code 9.
    pub fn uitstroomreden(&self) -> Option<Uitstroomreden> {
        match self {
            Plaatsing::BuitenBeeld { reden } => *reden,
            _ => None,
        }
    }
}

/// Rungs 1-5: growth potential recorded or derived from the potentietrede,
/// the potentietrede consistent.
fn op_ladder(
    trede: LadderTrede,
    groeipotentieel: Option<Groeipotentieel>,
    potentietrede: Option<Potentietrede>,
) -> Result<Plaatsing, Vec<PlaatsingFout>> {
    let fout = |field, finding| PlaatsingFout { field, finding };
    match (groeipotentieel, potentietrede) {
        (Some(gp), pt) => Ladderplaats::parse(trede, gp, pt)
            .map(Plaatsing::OpLadder)
            .map_err(|finding| vec![fout(PlaatsingField::Potentietrede, finding)]),
        (None, Some(pt)) => Ladderplaats::afgeleid(trede, pt)
            .map(Plaatsing::OpLadder)
            // A potentietrede below the rung derives nothing: growth
            // potential is missing, and the potentietrede wrong.
            .map_err(|below| {
                vec![
                    fout(
                        PlaatsingField::Plaatsing,
                        rules::groeipotentieel_ontbreekt(trede),
                    ),
                    fout(PlaatsingField::Potentietrede, below),
                ]
            }),
        (None, None) => Err(vec![fout(
            PlaatsingField::Plaatsing,
            rules::groeipotentieel_ontbreekt(trede),
        )]),
    }
}

/// Codes 0, 6 and 9: neither growth potential nor potentietrede applies
/// (growth potential `0`, the default, is let through for the reader to
/// warn about: [`rules::groeipotentieel_nul_niet_van_toepassing`]).
fn niet_van_toepassing(
    trede: Trede,
    groeipotentieel: Option<Groeipotentieel>,
    potentietrede: Option<Potentietrede>,
) -> Vec<PlaatsingFout> {
    let gp = rules::groeipotentieel_niet_van_toepassing(trede, groeipotentieel).map(|finding| {
        PlaatsingFout {
            field: PlaatsingField::Groeipotentieel,
            finding,
        }
    });
    let pt = rules::potentietrede_niet_van_toepassing(trede, potentietrede).map(|finding| {
        PlaatsingFout {
            field: PlaatsingField::Potentietrede,
            finding,
        }
    });
    gp.into_iter().chain(pt).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Code;
    use Groeipotentieel::{Nul, Plus};

    fn codes(fouten: &[PlaatsingFout]) -> Vec<(PlaatsingField, Code)> {
        fouten.iter().map(|f| (f.field, f.finding.code)).collect()
    }

    #[test]
    fn intake_betaald_werk_and_buiten_beeld_take_nothing_else() {
        assert_eq!(
            Plaatsing::parse(Trede::Intake, None, None, None),
            Ok(Plaatsing::Intake)
        );
        assert_eq!(
            Plaatsing::parse(Trede::BetaaldWerk, None, None, None),
            Ok(Plaatsing::BetaaldWerk)
        );
        assert_eq!(
            Plaatsing::parse(Trede::BuitenBeeld, None, None, Some(Uitstroomreden::Uitval)),
            Ok(Plaatsing::BuitenBeeld {
                reden: Some(Uitstroomreden::Uitval)
            })
        );
    }

    #[test]
    fn rung_with_growth_potential_becomes_ladderplaats() {
        let p = Plaatsing::parse(
            Trede::OnbetaaldWerk,
            Some(Plus),
            Some(Potentietrede::BetaaldWerk),
            None,
        )
        .unwrap();
        assert_eq!(p.trede(), Trede::OnbetaaldWerk);
        assert_eq!(p.groeipotentieel(), Some(Plus));
        assert_eq!(p.potentietrede(), Some(Potentietrede::BetaaldWerk));
        assert_eq!(p.uitstroomreden(), None);
    }

    #[test]
    fn trede_of_each_plaatsing_is_its_code() {
        for &t in Trede::ALL {
            let gp = matches!(t.nummer(), 1..=5).then_some(Nul);
            assert_eq!(
                Plaatsing::parse(t, gp, None, None).map(|p| p.trede()),
                Ok(t)
            );
        }
    }

    #[test]
    fn missing_growth_potential_points_at_plaatsing() {
        let fouten = Plaatsing::parse(Trede::Geisoleerd, None, None, None).unwrap_err();
        assert_eq!(
            codes(&fouten),
            [(
                PlaatsingField::Plaatsing,
                Code::RegelGroeipotentieelOntbreekt
            )]
        );
    }

    #[test]
    fn missing_growth_potential_and_low_potentietrede_are_both_reported() {
        let fouten = Plaatsing::parse(
            Trede::OnbetaaldWerk,
            None,
            Some(Potentietrede::Geisoleerd),
            None,
        )
        .unwrap_err();
        assert_eq!(
            codes(&fouten),
            [
                (
                    PlaatsingField::Plaatsing,
                    Code::RegelGroeipotentieelOntbreekt
                ),
                (PlaatsingField::Potentietrede, Code::RegelPotentietrede),
            ]
        );
    }

    #[test]
    fn every_violation_is_reported_not_just_the_first() {
        let fouten = Plaatsing::parse(
            Trede::BetaaldWerk,
            Some(Plus),
            Some(Potentietrede::BetaaldWerk),
            Some(Uitstroomreden::Overig),
        )
        .unwrap_err();
        assert_eq!(
            codes(&fouten),
            [
                (
                    PlaatsingField::Groeipotentieel,
                    Code::RegelGroeipotentieelNietVanToepassing
                ),
                (
                    PlaatsingField::Potentietrede,
                    Code::RegelGroeipotentieelNietVanToepassing
                ),
                (PlaatsingField::Uitstroomreden, Code::RegelUitstroomreden),
            ]
        );
    }

    #[test]
    fn potentietrede_alone_derives_growth_potential_marked_as_derived() {
        for (pt, gp) in [
            (Potentietrede::BetaaldWerk, Plus),
            (Potentietrede::OnbetaaldWerk, Nul),
        ] {
            let p = Plaatsing::parse(Trede::OnbetaaldWerk, None, Some(pt), None).unwrap();
            assert_eq!(p.groeipotentieel(), Some(gp));
            assert_eq!(p.potentietrede(), Some(pt));
            assert!(p.groeipotentieel_afgeleid());
        }
        let recorded = Plaatsing::parse(
            Trede::OnbetaaldWerk,
            Some(Plus),
            Some(Potentietrede::BetaaldWerk),
            None,
        )
        .unwrap();
        assert!(!recorded.groeipotentieel_afgeleid());
        // The same values, recorded or derived, are different placements.
        let derived =
            Ladderplaats::afgeleid(LadderTrede::OnbetaaldWerk, Potentietrede::BetaaldWerk);
        assert_ne!(derived.map(Plaatsing::OpLadder), Ok(recorded));
        assert!(!Plaatsing::BetaaldWerk.groeipotentieel_afgeleid());
    }

    #[test]
    fn explicit_nul_where_growth_potential_does_not_apply_is_dropped() {
        assert_eq!(
            Plaatsing::parse(Trede::Intake, Some(Nul), None, None),
            Ok(Plaatsing::Intake)
        );
        assert_eq!(
            Plaatsing::parse(Trede::BetaaldWerk, Some(Nul), None, None),
            Ok(Plaatsing::BetaaldWerk)
        );
        assert_eq!(
            Plaatsing::parse(Trede::BuitenBeeld, Some(Nul), None, None),
            Ok(Plaatsing::BuitenBeeld { reden: None })
        );
        assert_eq!(Plaatsing::BetaaldWerk.groeipotentieel(), None);
        // A potentietrede there is still refused, with or without the 0.
        let fouten = Plaatsing::parse(
            Trede::BetaaldWerk,
            Some(Nul),
            Some(Potentietrede::BetaaldWerk),
            None,
        )
        .unwrap_err();
        assert_eq!(
            codes(&fouten),
            [(
                PlaatsingField::Potentietrede,
                Code::RegelGroeipotentieelNietVanToepassing
            )]
        );
    }

    #[test]
    fn ladderplaats_refuses_inconsistent_potentietrede() {
        assert!(Ladderplaats::parse(
            LadderTrede::OnbetaaldWerk,
            Nul,
            Some(Potentietrede::OnbetaaldWerk)
        )
        .is_ok());
        assert!(Ladderplaats::parse(
            LadderTrede::OnbetaaldWerk,
            Plus,
            Some(Potentietrede::OnbetaaldWerk)
        )
        .is_err());
        assert!(Ladderplaats::parse(
            LadderTrede::OnbetaaldWerk,
            Nul,
            Some(Potentietrede::BetaaldWerk)
        )
        .is_err());
        assert!(Ladderplaats::parse(LadderTrede::OnbetaaldWerk, Plus, None).is_ok());
    }
}
