//! `ladderpost bench scale`: the storage targets at national size, on the
//! real `ladderpost serve` as a child process (so its memory is its own):
//! durable ingest on the empty store, then a generated history of
//! `messages` measurements (`ladderpost generate`), then start-up to
//! `/health`, resident memory at rest and under ingest, durable ingest on
//! the full store, a feed read, and disk use per message.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{client_runtime, dir_size, http_client, load, resident_of, run_id, Endpoint, TempDir};

/// What `bench scale` measured.
#[derive(Debug, Clone)]
pub struct ScaleFigures {
    pub messages: u64,
    pub generate_seconds: f64,
    /// Durable ingest, 64 senders, messages per second.
    pub empty_rate: f64,
    pub full_rate: f64,
    /// From starting the process on the full store to the first 200 of
    /// `/health`.
    pub startup: Duration,
    pub resident_at_rest: Option<u64>,
    pub resident_peak_under_load: Option<u64>,
    /// One reader paging through a municipality's feed.
    pub feed_per_second: f64,
    pub bytes_per_message: Option<f64>,
}

/// The service as a child process, killed when dropped.
pub(super) struct Served {
    child: Child,
    pub(super) base: String,
    beheer: Option<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn serve(store: &[String]) -> Result<Served, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["serve", "--listen", "127.0.0.1:0", "--rate-limit", "0"])
        // The load generator is one address with many connections.
        .args(["--max-connections-per-address", "0"])
        .args(store)
        .env("LADDERPOST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start serve: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut beheer = None;
    loop {
        let line = lines
            .next()
            .ok_or("serve ended before listening")?
            .map_err(|e| e.to_string())?;
        if let Some(t) = line.strip_prefix("beheer-token: ") {
            beheer = Some(t.to_string());
        } else if let Some(base) = line.strip_prefix("listening on ") {
            return Ok(Served {
                child,
                base: base.to_string(),
                beheer,
            });
        }
    }
}

impl Served {
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(super) fn resident(&self) -> Option<u64> {
        resident_of(&self.pid().to_string())
    }

    /// SIGTERM and a clean exit.
    pub(super) fn stop(mut self) -> Result<(), String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("serve exited with {status}"))
        }
    }
}

/// A sender and reader for the generated municipalities, made with the
/// beheer token of the store's first start.
async fn credential(base: &str, beheer: &str, run: u64) -> Result<String, String> {
    let http = http_client(beheer)?;
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let org = format!("scale-{run:x}");
    let r = post(
        "/api/v1/beheer/organisaties",
        serde_json::json!({"id": org, "naam": "Scale", "gemeenten": ["1525", "0363"]}),
    )
    .await
    .map_err(|e| e.to_string())?;
    if r.status().as_u16() != 201 {
        return Err(format!("organisation: HTTP {}", r.status()));
    }
    let r = post(
        "/api/v1/beheer/sleutels",
        serde_json::json!({"organisatie": org, "rollen": ["aanleveren", "afnemen"]}),
    )
    .await
    .map_err(|e| e.to_string())?;
    let text = r.text().await.map_err(|e| e.to_string())?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    v["token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("no token in {v}"))
}

/// Pages through the feed of `gemeente` (1000 at a time, at most `most`
/// messages); messages per second.
async fn read_feed(
    http: &reqwest::Client,
    base: &str,
    gemeente: &str,
    most: u64,
) -> Result<f64, String> {
    let started = Instant::now();
    let (mut cursor, mut read) = (0u64, 0u64);
    while read < most {
        let body = http
            .get(format!(
                "{base}/api/v1/feed?gemeente={gemeente}&na={cursor}&limit=1000"
            ))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        let items = body.matches("<lp:Item>").count() as u64;
        let next = body
            .split("<lp:Cursor>")
            .nth(1)
            .and_then(|r| r.split('<').next())
            .and_then(|c| c.parse().ok());
        match next {
            Some(n) if items > 0 && n > cursor => {
                cursor = n;
                read += items;
            }
            _ => break,
        }
    }
    Ok(read as f64 / started.elapsed().as_secs_f64().max(1e-9))
}

/// The database's size, for a PostgreSQL store.
fn database_size(url: &str) -> Option<u64> {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).ok()?;
        let row = c
            .query_one("SELECT pg_database_size(current_database())", &[])
            .ok()?;
        u64::try_from(row.get::<_, i64>(0)).ok()
    })
    .join()
    .ok()
    .flatten()
}

/// Runs the whole measurement; `store` a PostgreSQL URL of an empty
/// database, or a temporary embedded store when `None`.
pub fn scale(messages: u64, store: Option<&str>, seconds: f64) -> Result<ScaleFigures, String> {
    let run = run_id();
    let dir = TempDir(std::env::temp_dir().join(format!(
        "ladderpost-bench-scale-{}-{run:x}",
        std::process::id()
    )));
    let flags: Vec<String> = match store {
        Some(url) => vec!["--store".into(), url.into()],
        None => vec!["--data".into(), dir.0.display().to_string()],
    };
    let duration = Duration::from_secs_f64(seconds);
    let rt = client_runtime()?;

    // 1. The empty store: its first start, a credential, durable ingest.
    let first = serve(&flags)?;
    let beheer = first
        .beheer
        .clone()
        .ok_or("the store is not new (no beheer token): give an empty database")?;
    let token = rt.block_on(credential(&first.base, &beheer, run))?;
    let http = http_client(&token)?;
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let empty = rt.block_on(load(
        &http,
        &first.base,
        Endpoint::Ingest,
        64,
        duration,
        run,
        next.clone(),
    ))?;
    first.stop()?;

    // 2. The history.
    let generate = crate::generate::GenerateFlags {
        data: store.is_none().then(|| dir.0.clone()),
        store: store.map(str::to_string),
        cache_mb: crate::store::DEFAULT_CACHE / (1024 * 1024),
        clienten: u32::try_from((messages / 5).max(1)).map_err(|e| e.to_string())?,
        metingen: messages,
        gemeenten: 40,
        seed: 1,
    };
    let filled = crate::generate::run(&generate)?;

    // 3. Start-up on the full store, memory at rest.
    let started = Instant::now();
    let full = serve(&flags)?;
    let probe = reqwest::Client::new();
    rt.block_on(async {
        loop {
            let ok = probe
                .get(format!("{}/health", full.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let startup = started.elapsed();
    let resident_at_rest = full.resident();

    // 4. Durable ingest on the full store, memory sampled meanwhile.
    let pid = full.child.id();
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut peak = None;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                let now = resident_of(&pid.to_string());
                peak = peak.max(now);
                std::thread::sleep(Duration::from_millis(50));
            }
            peak
        })
    };
    let loaded = rt.block_on(load(
        &http,
        &full.base,
        Endpoint::Ingest,
        64,
        duration,
        run,
        next,
    ));
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let resident_peak_under_load = sampler.join().ok().flatten();
    let loaded = loaded?;

    // 5. A feed read; 6. disk use.
    let feed_per_second = rt.block_on(read_feed(&http, &full.base, "0363", 200_000))?;
    full.stop()?;
    let stored = filled.messages() + empty.messages + loaded.messages;
    let bytes = match store {
        Some(url) => database_size(url),
        None => Some(dir_size(&dir.0)),
    };
    Ok(ScaleFigures {
        messages: stored,
        generate_seconds: filled.seconds,
        empty_rate: empty.per_second(),
        full_rate: loaded.per_second(),
        startup,
        resident_at_rest,
        resident_peak_under_load,
        feed_per_second,
        bytes_per_message: bytes.map(|b| b as f64 / stored.max(1) as f64),
    })
}
