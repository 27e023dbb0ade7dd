//! Schema validation against the published XSD.
//!
//! `build.rs` compiles each published XSD (`schemas/participatieladder-v1.xsd`
//! for 1.0, `…-v1.1.xsd` for 1.1) into the tables of [`model`]; [`validate`]
//! runs one streaming pass over the document with the tables of the version
//! it declares and returns the validated tree.

mod compiled;
mod datatypes;
pub mod lezer;
pub mod model;
pub mod reference;
mod tree;
pub mod typed;
mod validator;
pub mod versie;

pub use lezer::{Lezer, Onderdeel};
pub use tree::{Children, Element, ValidDocument};
pub use validator::{validate, validate_with};
pub use versie::Schemaversie;
