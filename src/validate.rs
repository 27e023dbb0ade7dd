//! The validation pipeline: bytes in, a typed valid message or a list of
//! errors out.

use crate::diagnostics::{Layer, Melding};
use crate::domain::Document;
use crate::schema::{self, ValidDocument};

/// A message that passed every check, with the warnings it raised.
#[derive(Debug, Clone)]
pub struct Valid {
    pub document: Document,
    pub warnings: Vec<Melding>,
}

/// Why a message was not accepted: at least one error. Domain-rule errors
/// never mix with XML or schema errors (the rules only run on a
/// schema-valid document); a fatal XML error may follow schema errors found
/// before it.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub errors: Vec<Melding>,
}

impl Rejection {
    /// The layer that rejected the message: the earliest layer among the
    /// errors (XML before schema before domain).
    pub fn layer(&self) -> Layer {
        self.errors
            .iter()
            .map(|e| e.code.layer())
            .min()
            .unwrap_or(Layer::Xml)
    }
}

/// Hardened reading and XSD validation only: the verdict is exactly the
/// schema's.
pub fn validate_schema(bytes: &[u8]) -> Result<ValidDocument<'_>, Rejection> {
    schema::validate(bytes).map_err(|errors| Rejection { errors })
}

/// The whole pipeline: XML, schema, then the domain rules.
pub fn validate(bytes: &[u8]) -> Result<Valid, Rejection> {
    let tree = validate_schema(bytes)?;
    let (document, warnings) =
        Document::from_valid(&tree).map_err(|errors| Rejection { errors })?;
    Ok(Valid { document, warnings })
}

/// One file's verdict, as `ladderpost validate` prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FileVerdict {
    pub file: String,
    pub valid: bool,
    pub errors: Vec<Melding>,
    pub warnings: Vec<Melding>,
}

/// Validates one file's bytes; `schema_only` skips the domain rules.
pub fn check_file(file: &str, bytes: &[u8], schema_only: bool) -> FileVerdict {
    let (errors, warnings) = if schema_only {
        match validate_schema(bytes) {
            Ok(_) => (Vec::new(), Vec::new()),
            Err(r) => (r.errors, Vec::new()),
        }
    } else {
        match validate(bytes) {
            Ok(v) => (Vec::new(), v.warnings),
            Err(r) => (r.errors, Vec::new()),
        }
    };
    FileVerdict {
        file: file.to_string(),
        valid: errors.is_empty(),
        errors,
        warnings,
    }
}
