//! The published versions of the schema within namespace v1. A document is
//! validated against the version its root's `versie` names; what a reader
//! of an earlier version receives is [`super::lezer`]'s.

use super::compiled::{v1_0, v1_1};
use super::model::CompiledSchema;

/// The namespace every version of 1.x shares.
pub const NAMESPACE: &str = "urn:ladderpost:participatieladder:v1";

/// A published version of the schema; in JSON its number (`"1.0"`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Schemaversie {
    #[serde(rename = "1.0")]
    V1_0,
    #[serde(rename = "1.1")]
    V1_1,
}

/// The elements 1.1 added, by local name, each a direct child of a
/// Meting or Correctie (the end of the `MetingGegevens` group).
pub(super) const NEW_IN_1_1: &[&str] = &["Instrumenten"];

impl Schemaversie {
    pub const ALL: [Schemaversie; 2] = [Schemaversie::V1_0, Schemaversie::V1_1];
    pub const LATEST: Schemaversie = Schemaversie::V1_1;

    /// The value of the `versie` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Schemaversie::V1_0 => "1.0",
            Schemaversie::V1_1 => "1.1",
        }
    }

    pub fn parse(value: &str) -> Option<Schemaversie> {
        Schemaversie::ALL.into_iter().find(|v| v.as_str() == value)
    }

    /// The published file, under `schemas/`.
    pub fn file(self) -> &'static str {
        match self {
            Schemaversie::V1_0 => "participatieladder-v1.xsd",
            Schemaversie::V1_1 => "participatieladder-v1.1.xsd",
        }
    }

    /// The published XSD's text, as compiled into this build.
    pub fn xsd(self) -> &'static str {
        match self {
            Schemaversie::V1_0 => include_str!("../../schemas/participatieladder-v1.xsd"),
            Schemaversie::V1_1 => include_str!("../../schemas/participatieladder-v1.1.xsd"),
        }
    }

    pub fn compiled(self) -> &'static CompiledSchema {
        match self {
            Schemaversie::V1_0 => &v1_0::SCHEMA,
            Schemaversie::V1_1 => &v1_1::SCHEMA,
        }
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }

    /// The version a document's root `versie` names: the tables to validate
    /// it with. A value no version has is judged by the latest, whose
    /// attribute type then reports it.
    pub fn declared(versie: Option<&[u8]>) -> Schemaversie {
        versie
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(Schemaversie::parse)
            .unwrap_or(Schemaversie::LATEST)
    }
}

/// The version that added element `local` of the namespace, if a later one
/// than 1.0.
pub fn added_in(local: &[u8]) -> Option<Schemaversie> {
    let local = std::str::from_utf8(local).ok()?;
    NEW_IN_1_1.contains(&local).then_some(Schemaversie::V1_1)
}

impl std::fmt::Display for Schemaversie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_versions_are_named_by_number_and_file() {
        for v in Schemaversie::ALL {
            assert_eq!(Schemaversie::parse(v.as_str()), Some(v));
            assert!(v.xsd().contains(NAMESPACE));
            assert_eq!(v.compiled().target_namespace, NAMESPACE);
        }
        assert_eq!(Schemaversie::parse("2.0"), None);
        assert_eq!(Schemaversie::declared(Some(b"9")), Schemaversie::LATEST);
    }
}
