//! PostgreSQL stopped under load: ladderpost answers 503 (nothing
//! acknowledged that is not committed) and recovers by itself when the
//! database returns. On a PostgreSQL server of its own (`.ci/postgres`),
//! since stopping the shared one would stop every other test's.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common;
use common::messages::{bsn, Bericht};
use common::server::Process;

const PATIENCE: Duration = Duration::from_secs(60);

/// A PostgreSQL server of this test's own, stopped when dropped.
struct OwnServer {
    dir: PathBuf,
    url: String,
}

fn script(command: &str, dir: &Path) -> String {
    let out = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/postgres"))
        .arg(command)
        .arg(dir)
        .output()
        .expect("run .ci/postgres");
    assert!(
        out.status.success(),
        ".ci/postgres {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .trim()
        .to_string()
}

impl OwnServer {
    fn start(dir: PathBuf) -> OwnServer {
        let url = script("start", &dir);
        OwnServer { dir, url }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        script("stop", &self.dir);
    }
}

fn message(n: u64) -> Vec<u8> {
    Bericht::meting(&format!("uitval-{n}"), "0363", &bsn(n), "2025-05-20", 3).bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgresql_stopped_under_load_gives_503_and_ladderpost_recovers() {
    // The shared server's presence says PostgreSQL can run here.
    if common::postgres::database().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pg_dir = dir.path().join("pg");
    let pg = tokio::task::spawn_blocking(move || OwnServer::start(pg_dir))
        .await
        .unwrap();
    let data = dir.path().join("data");
    let url = pg.url.clone();
    let server = tokio::task::spawn_blocking(move || {
        Process::start_with(&data, &["--store", &url, "--rate-limit", "0"])
    })
    .await
    .unwrap();
    let http = server.client();
    let base = server.base.clone();

    let next = Arc::new(AtomicU64::new(1));
    let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let refused = Arc::new(AtomicU64::new(0));
    let sending = Arc::new(AtomicBool::new(true));
    let mut senders = Vec::new();
    for _ in 0..4 {
        let (http, base, next, acked, refused, sending) = (
            http.clone(),
            base.clone(),
            next.clone(),
            acked.clone(),
            refused.clone(),
            sending.clone(),
        );
        senders.push(tokio::spawn(async move {
            while sending.load(Ordering::SeqCst) {
                let n = next.fetch_add(1, Ordering::SeqCst);
                let r = http
                    .post(format!("{base}/api/v1/berichten"))
                    .header("content-type", "application/xml")
                    .body(message(n))
                    .send()
                    .await
                    .expect("ladderpost answers while the database is away");
                match r.status().as_u16() {
                    201 => acked.lock().unwrap().push(n),
                    // Nothing acknowledged; the message may or may not be
                    // stored (a COMMIT cut off), never half.
                    503 => {
                        refused.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    other => panic!("message {n}: {other}: {}", r.text().await.unwrap()),
                }
            }
        }));
    }
    let wait_for = |what: &'static str, ok: Box<dyn Fn() -> bool + Send>| async move {
        let started = Instant::now();
        while !ok() {
            assert!(started.elapsed() < PATIENCE, "waited in vain for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let a = acked.clone();
    wait_for(
        "messages before",
        Box::new(move || a.lock().unwrap().len() >= 50),
    )
    .await;

    // The database goes away under load.
    let pg_dir = pg.dir.clone();
    tokio::task::spawn_blocking(move || script("stop", &pg_dir))
        .await
        .unwrap();
    let r = refused.clone();
    wait_for("503s", Box::new(move || r.load(Ordering::SeqCst) >= 20)).await;
    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 503);
    let during = acked.lock().unwrap().len();

    // It comes back: ladderpost takes messages again by itself.
    let pg_dir = pg.dir.clone();
    tokio::task::spawn_blocking(move || script("resume", &pg_dir))
        .await
        .unwrap();
    let a = acked.clone();
    wait_for(
        "messages after",
        Box::new(move || a.lock().unwrap().len() >= during + 50),
    )
    .await;
    sending.store(false, Ordering::SeqCst);
    for s in senders {
        s.await.unwrap();
    }
    let health = http.get(format!("{base}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    // Every acknowledged message is there, exactly.
    let acked = acked.lock().unwrap().clone();
    for n in acked {
        let r = http
            .get(format!("{base}/api/v1/berichten/uitval-{n}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "message {n}");
        assert_eq!(r.bytes().await.unwrap().as_ref(), message(n).as_slice());
    }
    drop(server);
    drop(pg);
}
