//! Schema validation against the published XSD.
//!
//! `build.rs` compiles `schemas/participatieladder-v1.xsd` into the tables
//! of [`model`]; [`validate`] runs one streaming pass over the document with
//! them and returns the validated tree.

mod compiled;
mod datatypes;
pub mod model;
pub mod reference;
mod tree;
pub mod typed;
mod validator;

pub use compiled::SCHEMA;
pub use tree::{Children, Element, ValidDocument};
pub use validator::{validate, validate_with};
