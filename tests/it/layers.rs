//! The layering rule of docs/architecture.md, checked on the source: a
//! module of the library uses only modules of lower layers. The table
//! below is the one in that document; a new top-level module needs a row
//! in both.

use std::collections::BTreeSet;
use std::path::Path;

/// Top-level modules by layer, lowest first.
const LAYERS: &[&[&str]] = &[
    &["time", "diagnostics", "telemetry"],
    &["xml"],
    &["schema"],
    &["domain"],
    &["validate"],
    &["store"],
    &["history"],
    &["reports"],
    &["auth", "delivery"],
    &["replies"],
    &["http_error"],
    &["transport", "dashboard"],
    &["api"],
    &["server"],
    &["generate"],
    &["bench"],
];

/// Known exceptions (module, what it uses): none now; one would be named
/// here, with why, and in docs/architecture.md.
const EXCEPTIONS: &[(&str, &str)] = &[];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level module a file belongs to (`src/api/feed.rs` → `api`).
fn module_of(root: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(root).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::name` in code, `use crate::{a, b::c}` groups included
/// (comments left out).
fn uses(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The top-level names of the group.
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        found.insert(ident(&group[start..j]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(&group[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident(rest));
        }
    }
    found.remove("");
    found
}

/// The crate root's re-exports, named by the module they come from.
fn defined_in(name: &str) -> &str {
    match name {
        "validate_schema" | "Valid" | "Rejection" => "validate",
        "Code" | "Layer" | "Melding" | "Position" => "diagnostics",
        other => other,
    }
}

#[test]
fn no_module_uses_a_layer_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut violations = Vec::new();
    let mut checked = 0;
    for file in &files {
        let Some(module) = module_of(&root, file) else {
            continue;
        };
        let Some(own) = layer(&module) else {
            violations.push(format!("{module}: not in the layer table"));
            continue;
        };
        let source = std::fs::read_to_string(file).expect("read a source file");
        for used in uses(&source) {
            let used = defined_in(&used);
            if used == module || EXCEPTIONS.contains(&(module.as_str(), used)) {
                continue;
            }
            checked += 1;
            match layer(used) {
                Some(l) if l < own => {}
                Some(_) => violations.push(format!(
                    "{}: uses crate::{used}, which is not below {module}",
                    file.display()
                )),
                None => violations.push(format!(
                    "{}: uses crate::{used}, which is not in the layer table",
                    file.display()
                )),
            }
        }
    }
    assert!(checked > 50, "the check saw only {checked} uses");
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn the_layer_table_is_the_one_in_the_architecture_document() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"))
            .expect("read docs/architecture.md");
    for (i, modules) in LAYERS.iter().enumerate() {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("{}. ", i + 1)))
            .unwrap_or_else(|| panic!("docs/architecture.md has no layer {}", i + 1));
        for m in *modules {
            assert!(
                row.contains(&format!("`{m}`")),
                "layer {} of docs/architecture.md does not name `{m}`: {row}",
                i + 1
            );
        }
    }
}
