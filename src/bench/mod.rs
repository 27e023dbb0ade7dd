//! The `ladderpost bench` subcommands, each measured in one run of the
//! real code:
//!
//! - `validate` ([`validate_corpus`]): validated messages per second on a
//!   corpus, side by side with libxml2's own XSD validation of the same
//!   documents in the same run (through Python's lxml,
//!   `benches/libxml2_validate.py`); both on one core, single-threaded,
//!   over the documents in memory.
//! - `ingest` ([`ingest`]): durable ingest over HTTP (acknowledged after
//!   fsync) beside validation only, on an in-process server with a
//!   temporary store, at each given number of concurrent senders.
//! - `delivery` ([`delivery`]): feed read and push delivery throughput on
//!   an in-process server filled with messages first.
//! - `startup` ([`startup`]): the time to open a filled store again
//!   (recovery and index rebuild) and the memory the open store takes.

mod command;
mod reports;
mod scale;

pub use command::{run, Bench};

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
const INGEST_TEMPLATE: &str =
    include_str!("../../fixtures/valid/meting-1525-isd-trede2-minimaal.xml");
const TEMPLATE_ID: &str = "ISDB-1525-2024-3381";
const TEMPLATE_BSN: &str = "984480717";

/// A BSN passing the 11-check, distinct for each `n` below 10^6.
fn bench_bsn(n: u64) -> String {
    crate::domain::Bsn::numbered(n).as_str().to_string()
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

/// The real service, in-process on `127.0.0.1:0` with a fresh data
/// directory under the system's temp dir, on a runtime of its own.
struct InProcess {
    base: String,
    /// A credential for 1525 with `aanleveren` and `afnemen`.
    token: String,
    rt: tokio::runtime::Runtime,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<Result<(), crate::server::ServeError>>,
    dir: TempDir,
}

impl InProcess {
    fn start(
        name: &str,
        run: u64,
        push: crate::delivery::push::PushSettings,
    ) -> Result<InProcess, String> {
        InProcess::start_on(name, run, push, None)
    }

    /// Like [`InProcess::start`], on the PostgreSQL database `store` when
    /// given.
    fn start_on(
        name: &str,
        run: u64,
        push: crate::delivery::push::PushSettings,
        store: Option<&str>,
    ) -> Result<InProcess, String> {
        let dir = TempDir(std::env::temp_dir().join(format!(
            "ladderpost-bench-{name}-{}-{run:x}",
            std::process::id()
        )));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .thread_name("bench-server")
            .enable_all()
            .build()
            .map_err(|e| format!("server runtime: {e}"))?;
        let bound = rt
            .block_on(crate::server::bind(crate::server::Settings {
                listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                store: match store {
                    Some(url) => crate::store::Config::at(url),
                    None => crate::store::Config::sled(&dir.0),
                },
                backups: None,
                max_body: 1024 * 1024,
                signaal_periode: 90,
                drempel: 10,
                push,
                // Measures the service, not the rate limit.
                rate: crate::api::limits::Rate {
                    per_second: 0.0,
                    burst: 0.0,
                },
                transport: crate::transport::Transport::default(),
            }))
            .map_err(|e| e.to_string())?;
        let base = format!("http://{}", bound.addr());
        // The bench's sender and reader, created in-process.
        let auth = bound.auth().clone();
        let token = (move || {
            auth.add_organisation(crate::auth::service::NieuweOrganisatie {
                // A run's own: a database may hold earlier runs'.
                id: format!("bench-{run:x}"),
                naam: "Benchmark".into(),
                gemeenten: vec!["1525".into()],
                ..Default::default()
            })?;
            auth.add_credential(
                &format!("bench-{run:x}"),
                &["aanleveren".to_string(), "afnemen".to_string()],
                None,
            )
            .map(|(_, token)| token)
        })()
        .map_err(|e: crate::auth::service::BeheerError| format!("credential: {e}"))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = rt.spawn(bound.serve(async {
            let _ = stopped.await;
        }));
        Ok(InProcess {
            base,
            token,
            rt,
            stop,
            serving,
            dir,
        })
    }

    /// Stops the service cleanly (and removes its directory).
    fn finish(self) -> Result<(), String> {
        self.stop().map(drop)
    }

    /// Stops the service cleanly; its directory stays until the returned
    /// value is dropped.
    fn stop(self) -> Result<TempDir, String> {
        let _ = self.stop.send(());
        let served = self.rt.block_on(self.serving);
        served
            .map_err(|e| format!("server task: {e}"))?
            .map_err(|e| e.to_string())?;
        Ok(self.dir)
    }
}

fn run_id() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn client_runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-client")
        .enable_all()
        .build()
        .map_err(|e| format!("client runtime: {e}"))
}

fn http_client(token: &str) -> Result<reqwest::Client, String> {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|e| format!("token header: {e}"))?;
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder()
        .default_headers(headers)
        .no_proxy()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))
}

/// For each concurrency in `levels`, sends unique valid messages for
/// `duration` to `_valideer` and then to the ingest endpoint of an
/// in-process service. The senders run on a runtime of their own (sharing
/// the machine's cores, as a co-located client would).
pub fn ingest(
    levels: &[usize],
    duration: Duration,
    store: Option<&str>,
) -> Result<Vec<IngestFigure>, String> {
    let run = run_id();
    let service = InProcess::start_on(
        "ingest",
        run,
        crate::delivery::push::PushSettings::default(),
        store,
    )?;
    let client_rt = client_runtime()?;
    let figures = client_rt.block_on(async {
        let http = http_client(&service.token)?;
        let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut figures = Vec::new();
        for &senders in levels {
            for endpoint in [Endpoint::Validate, Endpoint::Ingest] {
                figures.push(
                    load(
                        &http,
                        &service.base,
                        endpoint,
                        senders,
                        duration,
                        run,
                        next.clone(),
                    )
                    .await?,
                );
            }
        }
        Ok::<_, String>(figures)
    });
    drop(client_rt);
    service.finish()?;
    figures
}

/// Posts `messages` unique Metingen of one municipality (0 .. messages)
/// with 64 senders; every one must be accepted.
async fn fill(http: &reqwest::Client, base: &str, run: u64, messages: u64) -> Result<(), String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let next = std::sync::Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (http, next, url) = (
            http.clone(),
            next.clone(),
            format!("{base}/api/v1/berichten"),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= messages {
                    return Ok::<_, String>(());
                }
                let r = http
                    .post(&url)
                    .header("content-type", "application/xml")
                    .body(bench_message(run, n))
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status().as_u16() != 201 {
                    return Err(format!("fill: HTTP {}", r.status()));
                }
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// What opening a filled store costs.
#[derive(Debug, Clone)]
pub struct StartupFigures {
    pub messages: u64,
    /// Bytes in the data directory.
    pub bytes: u64,
    /// Opening the store: sled's recovery and the index rebuilt from every
    /// record.
    pub open: Duration,
    /// What the open store added to this process's resident memory (sled's
    /// cache and the index), where the system tells (Linux).
    pub resident: Option<u64>,
}

/// This process's resident memory in bytes (Linux; `None` elsewhere).
fn resident() -> Option<u64> {
    resident_of("self")
}

/// A process's resident memory in bytes, by pid (or `self`).
fn resident_of(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Fills an in-process service with `messages` messages, stops it, and
/// times opening its store again (what a restart waits for before it
/// serves).
pub fn startup(messages: u64) -> Result<StartupFigures, String> {
    let run = run_id();
    let service = InProcess::start(
        "startup",
        run,
        crate::delivery::push::PushSettings::default(),
    )?;
    let client_rt = client_runtime()?;
    client_rt.block_on(async {
        let http = http_client(&service.token)?;
        fill(&http, &service.base, run, messages).await
    })?;
    drop(client_rt);
    let dir = service.stop()?;
    let bytes = dir_size(&dir.0);
    let before = resident();
    let started = Instant::now();
    let store = crate::store::open(&crate::store::Config::sled(&dir.0))
        .map_err(|e| e.to_string())?
        .messages;
    let open = started.elapsed();
    let resident = resident()
        .zip(before)
        .map(|(after, before)| after.saturating_sub(before));
    let stored = store.count().map_err(|e| e.to_string())?;
    drop(store);
    if stored != messages {
        return Err(format!("the store holds {stored} messages, not {messages}"));
    }
    Ok(StartupFigures {
        messages,
        bytes,
        open,
        resident,
    })
}

fn dir_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Feed and push throughput.
#[derive(Debug, Clone)]
pub struct DeliveryFigures {
    pub messages: u64,
    /// Messages per second streamed to one pull client paging through the
    /// whole feed (1,000 per page).
    pub feed_per_second: f64,
    /// Messages per second pushed to a local receiver that verifies every
    /// signature.
    pub push_per_second: f64,
}

/// Fills an in-process service with `messages` messages of one
/// municipality, then times one pull client reading the whole feed, and one
/// push subscription delivering all of them to a local receiver.
pub fn delivery(messages: u64) -> Result<DeliveryFigures, String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let run = run_id();
    // The receiver is local.
    let push = crate::delivery::push::PushSettings {
        allow_private_receivers: true,
        ..Default::default()
    };
    let service = InProcess::start("feed", run, push)?;
    let client_rt = client_runtime()?;
    let result = client_rt.block_on(async {
        let http = http_client(&service.token)?;
        fill(&http, &service.base, run, messages).await?;

        // Pull: one client, pages of 1,000.
        let started = Instant::now();
        let (mut cursor, mut read) = (0u64, 0u64);
        loop {
            let page = http
                .get(format!(
                    "{}/api/v1/feed?gemeente=1525&na={cursor}&limit=1000",
                    service.base
                ))
                .send()
                .await
                .map_err(|e| e.to_string())?
                .bytes()
                .await
                .map_err(|e| e.to_string())?;
            // The client checks every page against the schema; pages are
            // larger than one message, so with a client's own limits.
            let limits = crate::xml::Limits {
                max_bytes: 64 * 1024 * 1024,
                max_depth: 64,
                max_elements: 10_000_000,
                ..crate::xml::Limits::default()
            };
            let tree = crate::schema::validate_with(&page, &limits)
                .map_err(|errors| format!("feed page: {:?}", errors.first()))?;
            let items = tree.root().children_named("Item").count() as u64;
            if items == 0 {
                break;
            }
            read += items;
            cursor = tree
                .root()
                .child_value("Cursor")
                .and_then(|c| c.parse().ok())
                .ok_or("feed page without cursor")?;
        }
        let feed_seconds = started.elapsed().as_secs_f64();
        if read != messages {
            return Err(format!("the feed held {read} messages, not {messages}"));
        }

        // Push: a local receiver that verifies each signature.
        let (secret, received) = (
            std::sync::Arc::new(std::sync::Mutex::new(None)),
            std::sync::Arc::new(AtomicU64::new(0)),
        );
        let app = {
            let (secret, received) = (secret.clone(), received.clone());
            axum::Router::new().route(
                "/",
                axum::routing::post(
                    move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let (secret, received) = (secret.clone(), received.clone());
                        async move {
                            let h = |n: &str| {
                                headers
                                    .get(n)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("")
                                    .to_string()
                            };
                            let ts: i64 = h("webhook-timestamp").parse().unwrap_or(0);
                            let now = crate::time::Moment::now().0 / 1_000_000;
                            let ok = secret.lock().ok().and_then(|s| s.clone()).is_some_and(
                                |s: crate::delivery::signature::Secret| {
                                    s.verify(
                                        &h("webhook-id"),
                                        ts,
                                        &body,
                                        &h("webhook-signature"),
                                        now,
                                    )
                                    .is_ok()
                                },
                            );
                            if ok {
                                received.fetch_add(1, Ordering::Relaxed);
                                axum::http::StatusCode::OK
                            } else {
                                axum::http::StatusCode::UNAUTHORIZED
                            }
                        }
                    },
                ),
            )
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let receiver = format!(
            "http://{}/",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        let answer = http
            .post(format!("{}/api/v1/abonnementen", service.base))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "url": receiver, "gemeente": "1525" }).to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        let registration: serde_json::Value =
            serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let parsed = registration["secret"]
            .as_str()
            .and_then(crate::delivery::signature::Secret::parse);
        *secret.lock().map_err(|_| "lock")? = parsed;
        while received.load(Ordering::Relaxed) < messages {
            if started.elapsed() > Duration::from_secs(600) {
                return Err("push did not finish within 10 minutes".into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let push_seconds = started.elapsed().as_secs_f64();
        Ok(DeliveryFigures {
            messages,
            feed_per_second: messages as f64 / feed_seconds,
            push_per_second: messages as f64 / push_seconds,
        })
    });
    drop(client_rt);
    service.finish()?;
    result
}

/// `senders` tasks posting unique messages to `endpoint` for `duration`
/// (after a short warm-up that is not counted), each until it has measured
/// at least one.
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
                // Each sender measures at least one message, so that a
                // loaded machine gives a slow figure, never none.
                if now >= end && !latencies.is_empty() {
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
