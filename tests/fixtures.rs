//! The fixture corpus through the real `ladderpost validate` binary: every
//! valid fixture passes with exactly its recorded warnings, every invalid
//! one fails with its recorded code.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

fn run(args: &[&str], files: &[std::path::PathBuf]) -> (i32, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(args)
        .args(files)
        .output()
        .expect("run ladderpost");
    let verdicts = String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    (out.status.code().expect("exit code"), verdicts)
}

fn codes(v: &Value, key: &str) -> BTreeSet<String> {
    v[key]
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["code"].as_str().expect("code").to_string())
        .collect()
}

#[test]
fn valid_fixtures_pass_with_their_recorded_warnings() {
    let files = common::fixtures("valid");
    assert!(files.len() >= 10, "the valid corpus is too small");
    let (status, verdicts) = run(&["validate", "--format", "json"], &files);
    assert_eq!(status, 0, "{verdicts:#?}");
    let expected: Vec<(String, BTreeSet<String>)> = common::manifest("fixtures/valid/WARNINGS.tsv")
        .into_iter()
        .map(|row| {
            (
                row[0].clone(),
                row[1].split(',').map(|c| c.trim().to_string()).collect(),
            )
        })
        .collect();
    for v in &verdicts {
        let file = v["file"].as_str().expect("file");
        let name = file.rsplit('/').next().expect("file name");
        assert_eq!(v["valid"], true, "{v:#}");
        let want = expected
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, c)| c.clone())
            .unwrap_or_default();
        assert_eq!(codes(v, "warnings"), want, "warnings of {name}");
    }
}

#[test]
fn every_invalid_fixture_fails_with_its_recorded_code() {
    let rows = common::manifest("fixtures/invalid/EXPECTED.tsv");
    assert!(rows.len() >= 40, "at least 40 invalid fixtures");
    let listed: BTreeSet<String> = rows.iter().map(|r| r[0].clone()).collect();
    let on_disk: BTreeSet<String> = common::fixtures("invalid")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, on_disk, "EXPECTED.tsv and the files must match");
    let mut failures = Vec::new();
    for row in &rows {
        let (file, code) = (&row[0], &row[1]);
        assert!(
            ladderpost::Code::parse(code).is_some(),
            "unknown code {code}"
        );
        let path = common::root().join("fixtures/invalid").join(file);
        let (status, verdicts) = run(&["validate", "--format", "json"], &[path]);
        let got = codes(&verdicts[0], "errors");
        if status != 1 || !got.contains(code) {
            failures.push(format!(
                "{file}: expected {code}, exit 1; got exit {status}, {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn schema_only_skips_the_domain_rules() {
    let rows = common::manifest("fixtures/invalid/EXPECTED.tsv");
    let domain: Vec<_> = rows
        .iter()
        .filter(|r| r[1].starts_with("regel."))
        .map(|r| common::root().join("fixtures/invalid").join(&r[0]))
        .collect();
    assert!(!domain.is_empty());
    let (status, verdicts) = run(&["validate", "--schema-only", "--format", "json"], &domain);
    assert_eq!(status, 0, "{verdicts:#?}");
}

#[test]
fn text_output_names_code_line_column_and_path() {
    let path = common::root().join("fixtures/invalid").join(
        &common::manifest("fixtures/invalid/EXPECTED.tsv")
            .into_iter()
            .find(|r| r[1] == "xsd.enumeration")
            .expect("an enumeration fixture")[0],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(["validate"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("error xsd.enumeration"))
        .expect(&text);
    // "  error xsd.enumeration 12:14 /Meting/Plaatsing/Trede: ..."
    let mut parts = line.split_whitespace().skip(2);
    let pos = parts.next().unwrap();
    let (l, c) = pos.split_once(':').expect("line:column");
    assert!(
        l.parse::<u32>().unwrap() > 1 && c.parse::<u32>().unwrap() >= 1,
        "{line}"
    );
    assert!(parts.next().unwrap().starts_with('/'), "{line}");
}

#[test]
fn usage_and_io_errors_exit_2() {
    let missing = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(["validate", "/nonexistent/file.xml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let usage = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(["validate", "--format", "yaml", "x.xml"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    let none = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(["validate"])
        .output()
        .unwrap();
    assert_eq!(none.status.code(), Some(2));
}

#[test]
fn schema_reference_is_current() {
    let generated = ladderpost::schema::reference::markdown(ladderpost::schema::reference::XSD)
        .expect("the XSD reads");
    let on_disk =
        std::fs::read_to_string(common::root().join("docs/schema.md")).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/schema.md is stale: run `cargo run -- schema-reference > docs/schema.md`"
    );
}
