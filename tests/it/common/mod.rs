//! Shared test set-up: paths to the corpus and the built binary.
#![allow(dead_code)]

use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `*.xml` files of a fixture directory, sorted.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures").join(dir))
        .expect("fixture directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
}

/// Rows of a tab-separated manifest, without its header line.
pub fn manifest(path: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(root().join(path)).expect("manifest");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Whether `xmllint` (an oracle, not ladderpost) finds `document` valid
/// against the published XSD `schemas/{xsd}`; its complaint otherwise.
pub fn xmllint(document: &[u8], xsd: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("document.xml");
    std::fs::write(&file, document).expect("write document");
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(root().join("schemas").join(xsd))
        .arg(&file)
        .output()
        .expect("xmllint (libxml2-utils) must be installed: .ci/run installs it");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

pub mod messages;
pub mod postgres;
pub mod receiver;
pub mod reply;
pub mod server;
pub mod webdriver;
