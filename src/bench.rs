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

// ------------------------------------------------------------------ ingest

/// `ladderpost bench ingest`: one endpoint at one concurrency.
#[derive(Debug, Clone)]
pub struct IngestFigure {
    pub endpoint: Endpoint,
    pub senders: usize,
    /// Answered requests (201 for ingest, 200 for validation).
    pub messages: u64,
    pub seconds: f64,
    pub p50: Duration,
    pub p99: Duration,
}

impl IngestFigure {
    pub fn per_second(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
}

/// What the benchmark sends messages to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /api/v1/berichten`: validated, stored, fsynced, acknowledged.
    Ingest,
    /// `POST /api/v1/berichten/_valideer`: validated only.
    Validate,
}

impl Endpoint {
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Ingest => "/api/v1/berichten",
            Endpoint::Validate => "/api/v1/berichten/_valideer",
        }
    }

    fn expected(self) -> u16 {
        match self {
            Endpoint::Ingest => 201,
            Endpoint::Validate => 200,
        }
    }
}

/// The template of every message the ingest benchmark sends; each gets its
/// own `BerichtId` and BSN.
const INGEST_TEMPLATE: &str = include_str!("../fixtures/valid/meting-1525-isd-trede2-minimaal.xml");
const TEMPLATE_ID: &str = "ISDB-1525-2024-3381";
const TEMPLATE_BSN: &str = "984480717";

/// A BSN passing the 11-check, distinct for each `n` below 10^6:
/// digits 1–8 are `1 n k` (k the first giving a check digit below 10).
fn bench_bsn(n: u64) -> String {
    let n = n % 1_000_000;
    for k in 0..10 {
        let first8 = 10_000_000 + n * 10 + k;
        let digits = format!("{first8:08}");
        let sum: u64 = digits
            .bytes()
            .zip([9u64, 8, 7, 6, 5, 4, 3, 2])
            .map(|(d, w)| u64::from(d - b'0') * w)
            .sum();
        if sum % 11 < 10 {
            return format!("{digits}{}", sum % 11);
        }
    }
    unreachable!("k adds 2k to the sum, so at most one k gives check digit 10")
}

/// Message `n` of run `run`: a valid Meting with a unique id and client.
fn bench_message(run: u64, n: u64) -> Vec<u8> {
    INGEST_TEMPLATE
        .replacen(TEMPLATE_ID, &format!("bench-{run:x}-{n}"), 1)
        .replacen(TEMPLATE_BSN, &bench_bsn(n), 1)
        .into_bytes()
}

/// Removes the benchmark's data directory, however the run ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts the service in-process on a fresh data directory under the
/// system's temp dir and, for each concurrency in `levels`, sends unique
/// valid messages for `duration` to `_valideer` and then to the ingest
/// endpoint. The server has its own runtime; the senders run on another
/// (both share the machine's cores, as a co-located client would).
pub fn ingest(levels: &[usize], duration: Duration) -> Result<Vec<IngestFigure>, String> {
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let dir = TempDir(std::env::temp_dir().join(format!(
        "ladderpost-bench-ingest-{}-{run:x}",
        std::process::id()
    )));
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-server")
        .enable_all()
        .build()
        .map_err(|e| format!("server runtime: {e}"))?;
    let bound = server_rt
        .block_on(crate::server::bind(crate::server::Settings {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            data: dir.0.clone(),
            max_body: 1024 * 1024,
            push: crate::delivery::push::PushSettings::default(),
        }))
        .map_err(|e| e.to_string())?;
    let base = format!("http://{}", bound.addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = server_rt.spawn(bound.serve(async {
        let _ = stopped.await;
    }));

    let client_rt = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-client")
        .enable_all()
        .build()
        .map_err(|e| format!("client runtime: {e}"))?;
    let figures = client_rt.block_on(async {
        let http = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut figures = Vec::new();
        for &senders in levels {
            for endpoint in [Endpoint::Validate, Endpoint::Ingest] {
                figures.push(
                    load(&http, &base, endpoint, senders, duration, run, next.clone()).await?,
                );
            }
        }
        Ok::<_, String>(figures)
    });
    drop(client_rt);
    let _ = stop.send(());
    let served = server_rt.block_on(serving);
    drop(server_rt);
    served
        .map_err(|e| format!("server task: {e}"))?
        .map_err(|e| e.to_string())?;
    figures
}

/// `senders` tasks posting unique messages to `endpoint` for `duration`
/// (after a short warm-up that is not counted).
async fn load(
    http: &reqwest::Client,
    base: &str,
    endpoint: Endpoint,
    senders: usize,
    duration: Duration,
    run: u64,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
) -> Result<IngestFigure, String> {
    use std::sync::atomic::Ordering;
    let url = format!("{base}{}", endpoint.path());
    let warm_up = (duration / 10).min(Duration::from_secs(1));
    let start = Instant::now();
    let measure_from = start + warm_up;
    let end = measure_from + duration;
    let mut tasks = Vec::with_capacity(senders);
    for _ in 0..senders {
        let (http, url, next) = (http.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies: Vec<Duration> = Vec::new();
            loop {
                let now = Instant::now();
                if now >= end {
                    break;
                }
                let body = bench_message(run, next.fetch_add(1, Ordering::Relaxed));
                let response = http
                    .post(&url)
                    .header("content-type", "application/xml")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| format!("POST {url}: {e}"))?;
                let status = response.status().as_u16();
                let reply = response
                    .bytes()
                    .await
                    .map_err(|e| format!("POST {url}: {e}"))?;
                if status != endpoint.expected() {
                    return Err(format!(
                        "POST {url}: {status}: {}",
                        String::from_utf8_lossy(&reply)
                    ));
                }
                if now >= measure_from {
                    latencies.push(now.elapsed());
                }
            }
            Ok::<_, String>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.map_err(|e| format!("sender: {e}"))??);
    }
    let seconds = measure_from.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    Ok(IngestFigure {
        endpoint,
        senders,
        messages: latencies.len() as u64,
        seconds,
        p50: at(0.50),
        p99: at(0.99),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_messages_are_valid_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for n in [0, 1, 2, 10, 999, 123_456, 999_999] {
            let m = bench_message(7, n);
            assert!(crate::validate(&m).is_ok(), "message {n}");
            assert!(seen.insert(bench_bsn(n)));
        }
    }
}
