//! The typed message model, generated from the published XSD by xsd-parser
//! (see `build.rs`), with its quick-xml serializer and deserializer.
//!
//! ladderpost writes its replies (`Ontvangstbevestiging`, `Foutbericht`)
//! with these types. It does not read inbound messages with the generated
//! deserializer: `ladderpost bench validate` measures it against building
//! the domain types from the validator's own pass, which is several times
//! faster, and the deserializer is not a validator (docs/validation.md).
#![allow(
    clippy::all,
    clippy::pedantic,
    missing_docs,
    unused,
    non_camel_case_types,
    non_snake_case
)]

include!(concat!(env!("OUT_DIR"), "/typed_model.rs"));
