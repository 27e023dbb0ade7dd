//! Compiles the published XSDs into the validator's tables and the typed
//! message model, with `crates/schema-compiler`; a construct outside the
//! supported subset fails the build, naming it.
//!
//! Every published version gets its own tables, since a document is
//! validated against the version it declares; the typed model follows the
//! latest, whose documents include every earlier version's.

use std::path::PathBuf;

/// (published file, the generated tables' file name).
const VERSIONS: &[(&str, &str)] = &[
    (
        "schemas/participatieladder-v1.xsd",
        "compiled_schema_1_0.rs",
    ),
    (
        "schemas/participatieladder-v1.1.xsd",
        "compiled_schema_1_1.rs",
    ),
];
const LATEST: &str = "schemas/participatieladder-v1.1.xsd";

fn main() {
    println!("cargo:rerun-if-changed=schemas");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    for (file, generated) in VERSIONS {
        let tables = ladderpost_schema_compiler::compile(&manifest.join(file))
            .unwrap_or_else(|e| panic!("{file} uses a construct ladderpost does not support: {e}"));
        std::fs::write(out.join(generated), tables).expect("write compiled schema");
    }
    let typed = ladderpost_schema_compiler::typed_model(&manifest.join(LATEST))
        .unwrap_or_else(|e| panic!("xsd-parser: {e}"));
    std::fs::write(out.join("typed_model.rs"), typed).expect("write typed model");
}
