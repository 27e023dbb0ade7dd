//! Compiles the published XSD into the validator's tables and the typed
//! message model, with `crates/schema-compiler`; a construct outside the
//! supported subset fails the build, naming it.

use std::path::PathBuf;

const ENTRY: &str = "schemas/participatieladder-v1.xsd";

fn main() {
    println!("cargo:rerun-if-changed=schemas");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let entry = manifest.join(ENTRY);
    let tables = ladderpost_schema_compiler::compile(&entry)
        .unwrap_or_else(|e| panic!("{ENTRY} uses a construct ladderpost does not support: {e}"));
    std::fs::write(out.join("compiled_schema.rs"), tables).expect("write compiled schema");
    let typed = ladderpost_schema_compiler::typed_model(&entry)
        .unwrap_or_else(|e| panic!("xsd-parser: {e}"));
    std::fs::write(out.join("typed_model.rs"), typed).expect("write typed model");
}
