//! The tables `build.rs` compiled from each published XSD.

/// `schemas/participatieladder-v1.xsd`, version 1.0.
pub mod v1_0 {
    use crate::schema::model::*;
    include!(concat!(env!("OUT_DIR"), "/compiled_schema_1_0.rs"));
}

/// `schemas/participatieladder-v1.1.xsd`, version 1.1.
pub mod v1_1 {
    use crate::schema::model::*;
    include!(concat!(env!("OUT_DIR"), "/compiled_schema_1_1.rs"));
}
