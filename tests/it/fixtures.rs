//! The fixture corpus through the real `ladderpost validate` binary: every
//! valid fixture passes with exactly its recorded warnings, every invalid
//! one fails with its recorded code. Also: every relative link in the
//! README and docs/ resolves, since vendors navigate the docs by them.

use crate::common;

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

/// (code, line, column, path) of each error or warning in a verdict.
fn placed(v: &Value, key: &str) -> Vec<(String, u64, u64, String)> {
    v[key]
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["code"].as_str().expect("code").to_string(),
                e["line"].as_u64().expect("line"),
                e["column"].as_u64().expect("column"),
                e["path"].as_str().expect("path").to_string(),
            )
        })
        .collect()
}

#[test]
fn validate_checks_questionnaire_answers_against_their_flow() {
    use common::messages::{bsn, Bericht};
    let dir = tempfile::tempdir().unwrap();
    // 003_* table 3.1: 1 nee → 3 nee → 4 ja is Trede 3.
    let trede_3 = [(1, false), (3, false), (4, true)];
    let cases = [
        ("consistent", 3, trede_3.to_vec()),
        ("contradicted", 4, trede_3.to_vec()),
        (
            "unreachable",
            3,
            vec![(1, false), (3, false), (4, true), (5, true)],
        ),
        (
            "unknown",
            3,
            vec![(1, false), (3, false), (4, true), (6, false)],
        ),
    ];
    let mut files = Vec::new();
    let mut xml = Vec::new();
    for (i, (name, trede, answers)) in cases.iter().enumerate() {
        let bericht = Bericht::meting(
            &format!("TST-VL-{i}"),
            "0363",
            &bsn(i as u64),
            "2024-03-08",
            *trede,
        )
        .subgroepen(&[3])
        .vragenlijst("regioplan-2008", answers);
        let path = dir.path().join(format!("{name}.xml"));
        std::fs::write(&path, bericht.xml()).unwrap();
        files.push(path);
        xml.push(bericht.xml());
    }
    let at = |text: &str, needle: &str| -> (u64, u64) {
        let offset = text.find(needle).expect(needle);
        let line = text[..offset].matches('\n').count() as u64 + 1;
        let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
        (line, column as u64)
    };
    let (status, v) = run(&["validate", "--format", "json"], &files);
    assert_eq!(status, 1, "{v:#?}");
    assert_eq!(v.len(), 4);

    assert_eq!(v[0]["valid"], true, "{:#}", v[0]);
    assert_eq!(placed(&v[0], "errors"), []);
    assert_eq!(placed(&v[0], "warnings"), []);

    assert_eq!(v[1]["valid"], true, "{:#}", v[1]);
    let (l, c) = at(&xml[1], "<Trede>");
    let want = (
        "signaal.trede-wijkt-af-van-vragenlijst".to_string(),
        l,
        c,
        "/Meting/Plaatsing/Trede".to_string(),
    );
    assert_eq!(placed(&v[1], "warnings"), [want]);

    for (i, needle, code) in [
        (2, "<Antwoord><Vraag>5<", "regel.vraag-niet-bereikt"),
        (3, "<Antwoord><Vraag>6<", "regel.vraag-onbekend"),
    ] {
        assert_eq!(v[i]["valid"], false, "{:#}", v[i]);
        let (l, c) = at(&xml[i], needle);
        let want = (
            code.to_string(),
            l,
            c,
            "/Meting/Vragenlijst/Antwoord".to_string(),
        );
        assert_eq!(placed(&v[i], "errors"), [want], "{:#}", v[i]);
    }
}

#[test]
fn the_complete_example_for_vendors_is_valid_without_warnings() {
    // docs/vendors.md "A complete example": vendors copy it.
    let doc = std::fs::read_to_string(common::root().join("docs/vendors.md")).unwrap();
    let section = &doc[doc.find("## A complete example").expect("the section")..];
    let start = section.find("```xml\n").expect("an xml block") + "```xml\n".len();
    let xml = &section[start..start + section[start..].find("```").expect("block end")];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("voorbeeld.xml");
    std::fs::write(&path, xml).unwrap();
    let (status, v) = run(&["validate", "--format", "json"], &[path]);
    assert_eq!(status, 0, "{v:#?}");
    assert_eq!(v[0]["warnings"], serde_json::json!([]), "{:#}", v[0]);
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

/// GitHub's anchor for a heading: lower case, spaces to `-`, every other
/// character but letters, digits, `-` and `_` dropped; a link counts only
/// by its text.
fn anchor(heading: &str) -> String {
    let mut text = String::new();
    let mut rest = heading;
    while let Some(at) = rest.find("](") {
        text.push_str(&rest[..at]);
        rest = rest[at..].split_once(')').map_or("", |(_, after)| after);
    }
    text.push_str(rest);
    text.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The lines outside code fences, numbered from 1.
fn outside_fences(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            lines.push((n + 1, line));
        }
    }
    lines
}

/// Every heading's anchor; a repeated heading gets `-1`, `-2`, … as on GitHub.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = std::collections::HashMap::<String, usize>::new();
    let mut all = BTreeSet::new();
    for (_, line) in outside_fences(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        let Some(heading) = line[hashes..].strip_prefix(' ') else {
            continue;
        };
        if !(1..=6).contains(&hashes) {
            continue;
        }
        let base = anchor(heading.trim());
        let count = seen.entry(base.clone()).or_default();
        all.insert(match *count {
            0 => base,
            n => format!("{base}-{n}"),
        });
        *count += 1;
    }
    all
}

/// The targets of `[text](target)` links outside code spans.
fn link_targets(line: &str) -> Vec<String> {
    let prose: String = line.split('`').step_by(2).collect();
    prose
        .split("](")
        .skip(1)
        .filter_map(|after| after.split_once(')').map(|(target, _)| target))
        .filter(|target| !target.is_empty() && !target.contains(char::is_whitespace))
        .map(str::to_string)
        .collect()
}

#[test]
fn links_in_readme_and_docs_resolve() {
    assert_eq!(anchor("Endpoint × role"), "endpoint--role");
    assert_eq!(
        anchor("`POST /api/v1/berichten/_valideer`"),
        "post-apiv1berichten_valideer"
    );
    assert_eq!(anchor("[The README](../README.md) part"), "the-readme-part");

    let root = common::root();
    let mut pages = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).expect("docs/") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    assert!(pages.len() > 5, "docs/ went missing: {pages:?}");
    let mut links = 0;
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).expect("read page");
        for (n, line) in outside_fences(&text) {
            for target in link_targets(line) {
                let scheme = target.split_once(':').map(|(s, _)| s);
                if scheme.is_some_and(|s| s.chars().all(|c| c.is_ascii_alphabetic())) {
                    continue; // https:, mailto: — not ours to check
                }
                links += 1;
                let (file, fragment) = match target.split_once('#') {
                    Some((file, fragment)) => (file, Some(fragment)),
                    None => (target.as_str(), None),
                };
                let linked = if file.is_empty() {
                    page.clone()
                } else {
                    page.parent().expect("page directory").join(file)
                };
                let name = page.strip_prefix(&root).unwrap_or(page);
                let here = format!("{}:{n}: {target}", name.display());
                if !linked.exists() {
                    broken.push(format!("{here}: no such file"));
                } else if let Some(fragment) = fragment {
                    let linked_text = std::fs::read_to_string(&linked).expect("read linked");
                    if !anchors(&linked_text).contains(fragment) {
                        broken.push(format!("{here}: no such heading"));
                    }
                }
            }
        }
    }
    assert!(
        links > 50,
        "only {links} links found: the link reader is broken"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
