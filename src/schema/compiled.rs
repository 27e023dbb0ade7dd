//! The tables `build.rs` compiled from `schemas/participatieladder-v1.xsd`.
use super::model::*;

include!(concat!(env!("OUT_DIR"), "/compiled_schema.rs"));
