//! `ladderpost bench validate`: validated messages per second on a corpus,
//! side by side with libxml2's own XSD validation of the same documents in
//! the same run (through Python's lxml, `benches/libxml2_validate.py`).
//!
//! Both run on one core, single-threaded, over the documents in memory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// One measured variant.
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: &'static str,
    pub messages: u64,
    pub seconds: f64,
}

impl Figure {
    pub fn per_second(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
}

/// Runs `f` over the documents, round after round, for about `duration`.
fn measure(
    name: &'static str,
    docs: &[Vec<u8>],
    duration: Duration,
    mut f: impl FnMut(&[u8]) -> bool,
) -> Figure {
    // Warm up, and make sure the corpus is what we think it is.
    for d in docs {
        assert!(f(d), "the benchmark corpus must be valid");
    }
    let start = Instant::now();
    let mut messages = 0u64;
    while start.elapsed() < duration {
        for d in docs {
            std::hint::black_box(f(std::hint::black_box(d)));
        }
        messages += docs.len() as u64;
    }
    Figure {
        name,
        messages,
        seconds: start.elapsed().as_secs_f64(),
    }
}

/// Reads a schema-valid document into xsd-parser's generated model.
fn deserialize_typed(root: &str, bytes: &[u8]) -> bool {
    use crate::schema::typed;
    use xsd_parser_types::quick_xml::{DeserializeSync, SliceReader, XmlReader};
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    macro_rules! read {
        ($ty:ty) => {
            <$ty>::deserialize(&mut SliceReader::new(text).with_error_info()).is_ok()
        };
    }
    match root {
        "Meting" => read!(typed::Meting),
        "Correctie" => read!(typed::Correctie),
        "Intrekking" => read!(typed::Intrekking),
        "Ontvangstbevestiging" => read!(typed::Ontvangstbevestiging),
        "Foutbericht" => read!(typed::Foutbericht),
        _ => false,
    }
}

#[derive(Deserialize)]
struct PythonFigure {
    messages: u64,
    seconds: f64,
}

/// Measures ladderpost's pipeline variants and, where Python's lxml is
/// installed, libxml2's validation of the same files.
pub fn validate_corpus(
    schema: &Path,
    files: &[PathBuf],
    duration: Duration,
) -> Result<Vec<Figure>, String> {
    let docs: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).map_err(|e| format!("{}: {e}", f.display())))
        .collect::<Result<_, _>>()?;
    if docs.is_empty() {
        return Err("no documents to measure".into());
    }
    let mut figures = vec![
        measure(
            "ladderpost: schema + domain rules, typed result",
            &docs,
            duration,
            |d| crate::validate(d).is_ok(),
        ),
        measure("ladderpost: schema only", &docs, duration, |d| {
            crate::validate_schema(d).is_ok()
        }),
        measure(
            "ladderpost schema + xsd-parser's generated deserializer (rejected design)",
            &docs,
            duration,
            |d| {
                crate::validate_schema(d).is_ok_and(|tree| deserialize_typed(tree.root().name(), d))
            },
        ),
    ];
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/libxml2_validate.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(schema)
        .arg(duration.as_secs_f64().to_string())
        .args(files)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the libxml2 baseline failed (is lxml installed?): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let p: PythonFigure =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("baseline output: {e}"))?;
    figures.push(Figure {
        name: "libxml2 (lxml): parse + XSD validation",
        messages: p.messages,
        seconds: p.seconds,
    });
    Ok(figures)
}
