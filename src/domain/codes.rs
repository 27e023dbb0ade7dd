//! The code lists of the message format: each XSD enumeration becomes a Rust
//! enum, so a `match` over, say, [`Trede`] is checked for completeness by the
//! compiler and no code outside the published list can exist in memory.
//!
//! Also the few XSD built-in types the messages use besides dates
//! (`xs:boolean`, `xs:positiveInteger`), parsed by their XSD 1.0 lexical
//! rules.

use std::fmt;

/// A value that is not one of a code list's codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {list} code")]
pub struct UnknownCode {
    pub list: &'static str,
    pub value: String,
}

/// Declares an enum for an XSD enumeration: its codes as written in the
/// messages and a Dutch description of each.
macro_rules! code_list {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, $omschrijving:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every code, in the order of the schema.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Parses a code exactly as the schema writes it.
            pub fn parse(s: &str) -> Result<$name, UnknownCode> {
                match s {
                    $( $code => Ok($name::$variant), )+
                    _ => Err(UnknownCode { list: stringify!($name), value: s.to_owned() }),
                }
            }

            /// The code as written in the messages.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $code, )+
                }
            }

            /// The code's meaning, in Dutch as the source documents name it.
            pub fn omschrijving(self) -> &'static str {
                match self {
                    $( $name::$variant => $omschrijving, )+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_list! {
    /// Item 13: the position on the ladder as the message codes it, including
    /// the two codes that are not rungs (0 intake, 9 off the ladder).
    /// `Ord` follows the codes' numeric order.
    Trede {
        Intake = "0", "Intakefase, nog niet ingedeeld";
        Geisoleerd = "1", "Geïsoleerd";
        SocialeContacten = "2", "Sociale contacten buitenshuis";
        GeorganiseerdeActiviteiten = "3", "Deelname georganiseerde activiteiten";
        OnbetaaldWerk = "4", "Onbetaald werk";
        BetaaldWerkMetOndersteuning = "5", "Betaald werk met ondersteuning";
        BetaaldWerk = "6", "Betaald werk";
        BuitenBeeld = "9", "Uit beeld, niet meer op de ladder";
    }
}

impl Trede {
    /// The numeric code: 0-6 or 9.
    pub fn nummer(self) -> u8 {
        match self {
            Trede::Intake => 0,
            Trede::Geisoleerd => 1,
            Trede::SocialeContacten => 2,
            Trede::GeorganiseerdeActiviteiten => 3,
            Trede::OnbetaaldWerk => 4,
            Trede::BetaaldWerkMetOndersteuning => 5,
            Trede::BetaaldWerk => 6,
            Trede::BuitenBeeld => 9,
        }
    }
}

code_list! {
    /// A rung on which growth potential applies: 1-5.
    LadderTrede {
        Geisoleerd = "1", "Geïsoleerd";
        SocialeContacten = "2", "Sociale contacten buitenshuis";
        GeorganiseerdeActiviteiten = "3", "Deelname georganiseerde activiteiten";
        OnbetaaldWerk = "4", "Onbetaald werk";
        BetaaldWerkMetOndersteuning = "5", "Betaald werk met ondersteuning";
    }
}

impl LadderTrede {
    pub fn trede(self) -> Trede {
        match self {
            LadderTrede::Geisoleerd => Trede::Geisoleerd,
            LadderTrede::SocialeContacten => Trede::SocialeContacten,
            LadderTrede::GeorganiseerdeActiviteiten => Trede::GeorganiseerdeActiviteiten,
            LadderTrede::OnbetaaldWerk => Trede::OnbetaaldWerk,
            LadderTrede::BetaaldWerkMetOndersteuning => Trede::BetaaldWerkMetOndersteuning,
        }
    }
}

code_list! {
    /// The rung a client can reach within a year (schema type
    /// `Ladderpositie`, 1-6).
    Potentietrede {
        Geisoleerd = "1", "Geïsoleerd";
        SocialeContacten = "2", "Sociale contacten buitenshuis";
        GeorganiseerdeActiviteiten = "3", "Deelname georganiseerde activiteiten";
        OnbetaaldWerk = "4", "Onbetaald werk";
        BetaaldWerkMetOndersteuning = "5", "Betaald werk met ondersteuning";
        BetaaldWerk = "6", "Betaald werk";
    }
}

impl Potentietrede {
    pub fn trede(self) -> Trede {
        match self {
            Potentietrede::Geisoleerd => Trede::Geisoleerd,
            Potentietrede::SocialeContacten => Trede::SocialeContacten,
            Potentietrede::GeorganiseerdeActiviteiten => Trede::GeorganiseerdeActiviteiten,
            Potentietrede::OnbetaaldWerk => Trede::OnbetaaldWerk,
            Potentietrede::BetaaldWerkMetOndersteuning => Trede::BetaaldWerkMetOndersteuning,
            Potentietrede::BetaaldWerk => Trede::BetaaldWerk,
        }
    }
}

code_list! {
    /// Item 14: whether the client is expected to rise within a year.
    Groeipotentieel {
        Plus = "+", "Stijging binnen een jaar verwacht";
        Nul = "0", "Geen groei verwacht";
    }
}

code_list! {
    /// Why a client left the ladder (code 9), `003_*` §3.2.
    Uitstroomreden {
        WerkZesMaanden = "werk-zes-maanden", "Minimaal zes maanden werkzaam op de hoogste trede";
        TrajectZonderVervolg = "traject-zonder-vervolg", "Traject beëindigd zonder vervolg en zonder uitkering";
        UitkeringBeeindigd = "uitkering-beeindigd", "Uitkering beëindigd om een andere reden dan werk";
        Uitval = "uitval", "Uitgevallen zonder uitkering";
        BblOpleiding = "bbl-opleiding", "Minimaal zes maanden in een BBL-opleiding";
        Overig = "overig", "Andere reden";
    }
}

code_list! {
    /// Schema 1.1: the kind of a participation instrument (`003_*` §1.2:
    /// re-integration, civic-integration and education instruments alike;
    /// table 1.1: activation, care, work with aftercare).
    Instrumentsoort {
        ReIntegratie = "re-integratie", "Re-integratie naar werk";
        WerkMetOndersteuning = "werk-met-ondersteuning", "Betaald werk met ondersteuning";
        Activering = "activering", "Activering";
        Educatie = "educatie", "Educatie";
        Inburgering = "inburgering", "Inburgering";
        Zorg = "zorg", "Zorg";
        Overig = "overig", "Ander instrument";
    }
}

code_list! {
    /// Why a measurement was taken, `003_*` §3.2.
    Aanleiding {
        Intake = "intake", "Eerste indeling bij intake";
        Jaarlijks = "jaarlijks", "Jaarlijkse meting";
        StartTraject = "start-traject", "Start van een traject";
        EindeTraject = "einde-traject", "Einde van een traject";
        AanvraagUitkering = "aanvraag-uitkering", "Aanmelding voor een uitkering";
        Uitstroom = "uitstroom", "Uitstroom van de ladder";
        Overig = "overig", "Andere aanleiding";
    }
}

code_list! {
    /// Item 15: a source of income.
    Inkomenssituatie {
        GemeentelijkeUitkering = "gemeentelijke-uitkering", "Gemeentelijke uitkering";
        UwvUitkering = "uwv-uitkering", "UWV-uitkering";
        GeenUitkering = "geen-uitkering", "Geen uitkering (NUGger)";
        Werk = "werk", "Inkomen uit werk";
    }
}

code_list! {
    /// The national subgroups, `003_*` §2.5 and table 3.3; not exclusive.
    Subgroep {
        GemeentelijkeUitkering = "1", "Burger met gemeentelijke uitkering";
        NietUitkeringsgerechtigdeMetAanbod = "2", "Niet-uitkeringsgerechtigde met aanbod";
        ReIntegratieaanbod = "3", "Burger met re-integratieaanbod";
        InburgeraarMetAanbod = "4", "Inburgeraar met aanbod";
        Educatieaanbod = "5", "Burger met educatieaanbod";
        JongereMetLeerwerkrecht = "6", "Jongere tot 27 jaar met aanspraak op leerwerkrecht";
        UwvUitkering = "7", "Burger met UWV-uitkering";
    }
}

code_list! {
    /// Item 6: sex, as the BRP codes it.
    Geslacht {
        Man = "M", "Man";
        Vrouw = "V", "Vrouw";
        Onbekend = "O", "Onbekend";
    }
}

code_list! {
    /// The questionnaire from which the rung was derived.
    VragenlijstVersie {
        Regioplan2008 = "regioplan-2008", "De vijf vragen van Regioplan (2008), tabel 3.1";
        Vng2011 = "vng-2011", "Het stroomschema met 21 vragen van VNG (2011), bijlage 5";
    }
}

/// A value that is not a valid number of its XSD type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not {expected}")]
pub struct NumberError {
    pub value: String,
    pub expected: &'static str,
}

/// Parses an `xs:boolean`: `true`, `false`, `1` or `0`.
pub fn parse_boolean(s: &str) -> Result<bool, NumberError> {
    match s {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(NumberError {
            value: s.to_owned(),
            expected: "a boolean (true, false, 1 or 0)",
        }),
    }
}

/// Parses an `xs:positiveInteger` (optional `+`, leading zeros allowed) that
/// must also lie within `1..=max`.
pub fn parse_positive_integer(s: &str, max: u64) -> Result<u64, NumberError> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    let value = (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.trim_start_matches('0'))
        .and_then(|significant| {
            if significant.is_empty() {
                Some(0)
            } else {
                significant.parse::<u64>().ok()
            }
        });
    match value {
        Some(v) if (1..=max).contains(&v) => Ok(v),
        _ => Err(NumberError {
            value: s.to_owned(),
            expected: "a positive whole number within range",
        }),
    }
}

/// The number of a question in the questionnaire: 1-21.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vraagnummer(u8);

impl Vraagnummer {
    pub fn parse(s: &str) -> Result<Vraagnummer, NumberError> {
        let n = parse_positive_integer(s, 21)?;
        u8::try_from(n).map(Vraagnummer).map_err(|_| NumberError {
            value: s.to_owned(),
            expected: "a question number 1-21",
        })
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Vraagnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Schema 1.1: an amount in euros (`Bedrag`: not negative, at most two
/// decimals), held in cents so sums are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bedrag {
    pub centen: u64,
}

impl Bedrag {
    /// Parses the schema's lexical form, `[0-9]{1,9}(\.[0-9]{1,2})?`.
    pub fn parse(s: &str) -> Result<Bedrag, UnknownCode> {
        let unknown = || UnknownCode {
            list: "Bedrag",
            value: s.to_string(),
        };
        let (euros, cents) = s.split_once('.').unwrap_or((s, ""));
        let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
        if !(1..=9).contains(&euros.len()) || cents.len() > 2 || !digits(euros) || !digits(cents) {
            return Err(unknown());
        }
        if s.contains('.') && cents.is_empty() {
            return Err(unknown());
        }
        let euros: u64 = euros.parse().map_err(|_| unknown())?;
        let cents: u64 = format!("{cents:0<2}").parse().map_err(|_| unknown())?;
        Ok(Bedrag {
            centen: euros * 100 + cents,
        })
    }
}

impl fmt::Display for Bedrag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.centen / 100, self.centen % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_string() {
        fn check<T: Copy + PartialEq + fmt::Debug>(
            all: &[T],
            as_str: fn(T) -> &'static str,
            parse: fn(&str) -> Result<T, UnknownCode>,
        ) {
            for &code in all {
                assert_eq!(parse(as_str(code)), Ok(code));
            }
        }
        check(Trede::ALL, Trede::as_str, Trede::parse);
        check(LadderTrede::ALL, LadderTrede::as_str, LadderTrede::parse);
        check(
            Potentietrede::ALL,
            Potentietrede::as_str,
            Potentietrede::parse,
        );
        check(
            Groeipotentieel::ALL,
            Groeipotentieel::as_str,
            Groeipotentieel::parse,
        );
        check(
            Uitstroomreden::ALL,
            Uitstroomreden::as_str,
            Uitstroomreden::parse,
        );
        check(Aanleiding::ALL, Aanleiding::as_str, Aanleiding::parse);
        check(
            Instrumentsoort::ALL,
            Instrumentsoort::as_str,
            Instrumentsoort::parse,
        );
        check(
            Inkomenssituatie::ALL,
            Inkomenssituatie::as_str,
            Inkomenssituatie::parse,
        );
        check(Subgroep::ALL, Subgroep::as_str, Subgroep::parse);
        check(Geslacht::ALL, Geslacht::as_str, Geslacht::parse);
        check(
            VragenlijstVersie::ALL,
            VragenlijstVersie::as_str,
            VragenlijstVersie::parse,
        );
    }

    #[test]
    fn trede_codes_are_zero_to_six_and_nine() {
        let codes: Vec<u8> = Trede::ALL.iter().map(|t| t.nummer()).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5, 6, 9]);
        for t in Trede::ALL {
            assert_eq!(t.as_str(), t.nummer().to_string());
        }
        assert!(Trede::parse("7").is_err());
        assert!(Trede::parse("8").is_err());
        assert!(Trede::parse(" 1").is_err());
    }

    #[test]
    fn trede_order_follows_the_numbers() {
        assert!(Trede::Intake < Trede::Geisoleerd);
        assert!(Trede::BetaaldWerk < Trede::BuitenBeeld);
    }

    #[test]
    fn ladder_and_potentie_tredes_map_to_the_same_numbered_trede() {
        for lt in LadderTrede::ALL {
            assert_eq!(lt.trede().as_str(), lt.as_str());
        }
        for pt in Potentietrede::ALL {
            assert_eq!(pt.trede().as_str(), pt.as_str());
        }
        assert!(LadderTrede::parse("6").is_err());
        assert!(Potentietrede::parse("0").is_err());
        assert!(Potentietrede::parse("9").is_err());
    }

    #[test]
    fn groeipotentieel_is_plus_or_zero() {
        assert_eq!(Groeipotentieel::parse("+"), Ok(Groeipotentieel::Plus));
        assert_eq!(Groeipotentieel::parse("0"), Ok(Groeipotentieel::Nul));
        assert!(Groeipotentieel::parse("-").is_err());
    }

    #[test]
    fn subgroepen_have_dutch_descriptions() {
        assert_eq!(Subgroep::ALL.len(), 7);
        assert_eq!(
            Subgroep::parse("6").map(Subgroep::omschrijving),
            Ok("Jongere tot 27 jaar met aanspraak op leerwerkrecht")
        );
        assert!(Subgroep::parse("8").is_err());
    }

    #[test]
    fn unknown_codes_name_the_list_and_value() {
        let err = Inkomenssituatie::parse("loterij").unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"loterij\" is not a Inkomenssituatie code"
        );
    }

    #[test]
    fn amounts_are_held_in_cents() {
        assert_eq!(Bedrag::parse("1250").map(|b| b.centen), Ok(125_000));
        assert_eq!(Bedrag::parse("1250.5").map(|b| b.centen), Ok(125_050));
        assert_eq!(Bedrag::parse("0.07").map(|b| b.centen), Ok(7));
        assert_eq!(
            Bedrag::parse("999999999.99")
                .map(|b| b.to_string())
                .as_deref(),
            Ok("999999999.99")
        );
        for bad in ["", "1.", ".5", "-1", "1.234", "1e3", "1234567890"] {
            assert!(Bedrag::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn booleans_follow_xsd() {
        assert_eq!(parse_boolean("true"), Ok(true));
        assert_eq!(parse_boolean("1"), Ok(true));
        assert_eq!(parse_boolean("false"), Ok(false));
        assert_eq!(parse_boolean("0"), Ok(false));
        for s in ["True", "yes", "ja", "", " true"] {
            assert!(parse_boolean(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn positive_integers_allow_plus_and_leading_zeros() {
        assert_eq!(parse_positive_integer("+007", 10), Ok(7));
        assert_eq!(parse_positive_integer("10", 10), Ok(10));
        assert_eq!(
            parse_positive_integer("000000000000000000000000001", 10),
            Ok(1)
        );
        for s in [
            "0",
            "+0",
            "-1",
            "11",
            "",
            "+",
            "1.0",
            "99999999999999999999999",
        ] {
            assert!(parse_positive_integer(s, 10).is_err(), "{s:?}");
        }
    }

    #[test]
    fn vraagnummer_is_one_to_twenty_one() {
        assert_eq!(Vraagnummer::parse("21").map(Vraagnummer::get), Ok(21));
        assert_eq!(Vraagnummer::parse("01"), Vraagnummer::parse("1"));
        assert!(Vraagnummer::parse("22").is_err());
        assert!(Vraagnummer::parse("0").is_err());
    }
}
