//! Crash safety of the real `ladderpost serve`: many concurrent senders,
//! `kill -9` at a random moment, restart on the same data directory, and
//! check that nothing acknowledged was lost, duplicated or renumbered.
//!
//! Per round:
//! 1. 16 tokio tasks send unique valid Metingen until the server dies; every
//!    `201` (or `200` repeat) with its `Volgnummer` is an acknowledgement.
//! 2. After a seeded random delay (20–300 ms) the server gets SIGKILL; every
//!    sender is joined before the restart, so no request of an old round can
//!    reach the new server (which may get the same port).
//! 3. The server restarts on the same directory; `/health` must answer 200.
//! 4. Every message acknowledged this round reads back byte-identical with
//!    its acknowledged number; each message sent but not acknowledged is
//!    either present (byte-identical) or absent, and `/health`'s count is
//!    exactly the number of present ids. Numbers stay unique and the stored
//!    ones are exactly 1..=count (a gap would be a partly recovered group).
//! 5. Acknowledged messages sent again are repeats with the same number; the
//!    unacknowledged ones are sent again, as a client that timed out would,
//!    and are then stored exactly once (repeat if present, 201 if not).
//!
//! After the last round every message ever sent is read back once more, and
//! the server must stop cleanly on SIGTERM.
//!
//! The kill moments come from a seeded xorshift (`LADDERPOST_CRASH_SEED`
//! overrides the seed); correctness never depends on timing: the only waits
//! are the random kill delay and polling `/health` against a deadline.

use super::common;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::messages::{self, bsn, Bericht};
use common::server::Process;

/// Kill/restart rounds (`LADDERPOST_CRASH_ROUNDS` overrides).
const ROUNDS: usize = 40;
const SENDERS: usize = 16;
const DEFAULT_SEED: u64 = 0x001a_dde5_c4a5_4001;

// ---------------------------------------------------------------- messages

fn bericht_id(n: u64) -> String {
    format!("crash-{n:07}")
}

/// Message number `n`: a valid Meting, always the same bytes, with its own
/// id and its own client (so reading one back never scans a long history).
fn message(n: u64) -> Vec<u8> {
    Bericht::meting(&bericht_id(n), "0363", &bsn(n), "2025-05-20", 3).bytes()
}

#[test]
fn message_builder_gives_distinct_valid_bsns() {
    let mut seen = HashSet::new();
    for n in (0..20_000).chain([999_999]) {
        let b = bsn(n);
        assert!(messages::elfproef(&b), "{n}: {b}");
        assert!(seen.insert(b));
    }
    for n in [0, 1, 77, 999_999] {
        assert!(ladderpost::validate(&message(n)).is_ok(), "message {n}");
        assert_eq!(message(n), message(n));
    }
}

// ---------------------------------------------------------------- helpers

/// xorshift64: enough randomness for kill moments, no extra crate.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// Uniform enough in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// The text of the first `<name>` element in a reply.
fn element<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(&body[start..end])
}

fn client(server: &Process) -> reqwest::Client {
    server
        .client_builder()
        .no_proxy()
        .pool_max_idle_per_host(SENDERS * 2)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("reqwest client")
}

async fn start(data: PathBuf) -> Process {
    // A durability test under full load, not a test of rate limits.
    tokio::task::spawn_blocking(move || Process::start_with(&data, &["--rate-limit", "0"]))
        .await
        .expect("start task")
}

/// Polls `/health` until it answers 200 (deadline 30 s); the message count.
async fn healthy(http: &reqwest::Client, server: &Process) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(server.url("/health")).send().await {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            if status == 200 {
                let v: serde_json::Value = serde_json::from_str(&body).expect("health JSON");
                return v["messages"].as_u64().expect("messages count");
            }
            assert!(
                Instant::now() < deadline,
                "/health still {status} after 30 s: {body}"
            );
        }
        assert!(Instant::now() < deadline, "/health unreachable after 30 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn count(http: &reqwest::Client, server: &Process) -> u64 {
    let r = http
        .get(server.url("/health"))
        .send()
        .await
        .expect("health");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value =
        serde_json::from_str(&r.text().await.expect("health body")).expect("health JSON");
    v["messages"].as_u64().expect("messages count")
}

/// The stand's clients on rung 3 in 0363 at the messages' date.
async fn on_rung_3(http: &reqwest::Client, server: &Process) -> u64 {
    let url = server.url("/api/v1/rapportages/stand?gemeente=0363&peildatum=2025-05-20");
    let r = http.get(url).send().await.expect("stand");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.text().await.expect("body")).expect("JSON");
    v["treden"][3]["clienten"].as_u64().expect("rung 3")
}

/// What the server answered to a POST of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sent {
    /// 201 with this Volgnummer.
    Accepted(u64),
    /// 200 with `<Herhaling>true</Herhaling>` and this Volgnummer.
    Repeat(u64),
}

/// POSTs message `n`; `Err` when no complete answer arrived (connection
/// error, or the body was cut off), panics on any other answer.
async fn post(http: &reqwest::Client, base: &str, n: u64) -> Result<Sent, String> {
    let r = http
        .post(format!("{base}/api/v1/berichten"))
        .header("content-type", "application/xml")
        .body(message(n))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = r.status().as_u16();
    let body = r.text().await.map_err(|e| e.to_string())?;
    let volgnummer = || -> u64 {
        assert_eq!(
            element(&body, "BerichtId"),
            Some(bericht_id(n).as_str()),
            "{body}"
        );
        assert!(element(&body, "Ontvangen").is_some(), "{body}");
        element(&body, "Volgnummer")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no Volgnummer in {body}"))
    };
    match status {
        201 => {
            assert_eq!(element(&body, "Herhaling"), None, "{body}");
            Ok(Sent::Accepted(volgnummer()))
        }
        200 => {
            assert_eq!(element(&body, "Herhaling"), Some("true"), "{body}");
            Ok(Sent::Repeat(volgnummer()))
        }
        other => panic!("message {n}: unexpected {other}: {body}"),
    }
}

/// GET message `n`: `Some(volgnummer)` after checking the bytes, `None` on 404.
async fn fetch(http: &reqwest::Client, base: &str, n: u64) -> Option<u64> {
    let r = http
        .get(format!("{base}/api/v1/berichten/{}", bericht_id(n)))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET message {n}: {e}"));
    match r.status().as_u16() {
        404 => None,
        200 => {
            let volgnummer = r
                .headers()
                .get("ladderpost-volgnummer")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("message {n}: no ladderpost-volgnummer header"));
            let bytes = r.bytes().await.expect("body");
            assert!(
                bytes[..] == message(n)[..],
                "message {n} reads back different bytes: {}",
                String::from_utf8_lossy(&bytes)
            );
            Some(volgnummer)
        }
        other => panic!("GET message {n}: {other}"),
    }
}

/// Runs `f` over `items` with `SENDERS` tasks; results in input order.
async fn parallel<T, F, Fut>(http: &reqwest::Client, base: &str, items: &[u64], f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(reqwest::Client, String, u64) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = T> + Send,
{
    let items = Arc::new(items.to_vec());
    let mut tasks = Vec::new();
    for k in 0..SENDERS {
        let (items, http, base) = (items.clone(), http.clone(), base.to_string());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in (k..items.len()).step_by(SENDERS) {
                out.push((i, f(http.clone(), base.clone(), items[i]).await));
            }
            out
        }));
    }
    let mut all = Vec::with_capacity(items.len());
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// One sender's log of a round.
#[derive(Default)]
struct Log {
    /// Acknowledged: message number and Volgnummer.
    acked: Vec<(u64, u64)>,
    /// Sent without a complete answer.
    unanswered: Vec<u64>,
    /// Failures seen while the server was still meant to be up.
    early: Vec<String>,
}

/// What the store must hold: message number → Volgnummer.
struct Expected {
    stored: BTreeMap<u64, u64>,
}

impl Expected {
    fn add(&mut self, n: u64, volgnummer: u64, why: &str) {
        if let Some(old) = self.stored.insert(n, volgnummer) {
            panic!("message {n} stored twice ({why}): numbers {old} and {volgnummer}");
        }
    }

    /// The stored numbers are unique and exactly 1..=count.
    fn check_numbers(&self) {
        let numbers: HashSet<u64> = self.stored.values().copied().collect();
        assert_eq!(
            numbers.len(),
            self.stored.len(),
            "a Volgnummer was given twice"
        );
        let count = self.stored.len() as u64;
        let missing: Vec<u64> = (1..=count).filter(|v| !numbers.contains(v)).collect();
        assert!(
            missing.is_empty(),
            "Volgnummers are not 1..={count}: missing {missing:?}"
        );
    }
}

// ---------------------------------------------------------------- the test

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_kill_9() {
    let seed = std::env::var("LADDERPOST_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let rounds = std::env::var("LADDERPOST_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(ROUNDS);
    let mut rng = XorShift::new(seed);
    let began = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");

    let next = Arc::new(AtomicU64::new(0));
    let mut expected = Expected {
        stored: BTreeMap::new(),
    };
    let (mut total_acked, mut total_unanswered, mut total_present_unacked) =
        (0usize, 0usize, 0usize);

    let mut server = start(data.clone()).await;
    let mut http = client(&server);
    assert_eq!(healthy(&http, &server).await, 0);

    for round in 0..rounds {
        // 1. Load.
        // `killing`: failures from now on are expected; `stop`: senders
        // stop sending. The kill lands between the two, mid-load.
        let killing = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let sent_before = next.load(Ordering::SeqCst);
        let mut senders = Vec::new();
        for _ in 0..SENDERS {
            let (http, base, next, killing, stop) = (
                http.clone(),
                server.base.clone(),
                next.clone(),
                killing.clone(),
                stop.clone(),
            );
            senders.push(tokio::spawn(async move {
                let mut log = Log::default();
                while !stop.load(Ordering::SeqCst) {
                    let n = next.fetch_add(1, Ordering::SeqCst);
                    match post(&http, &base, n).await {
                        Ok(Sent::Accepted(v)) => log.acked.push((n, v)),
                        Ok(Sent::Repeat(v)) => {
                            panic!("message {n} is new, yet answered as a repeat of {v}")
                        }
                        Err(e) => {
                            log.unanswered.push(n);
                            if !killing.load(Ordering::SeqCst) {
                                log.early.push(format!("message {n}: {e}"));
                            }
                            break;
                        }
                    }
                }
                log
            }));
        }

        // 2. Kill at a random moment, then wait for every sender to finish.
        let delay = rng.between(20, 300);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        killing.store(true, Ordering::SeqCst);
        tokio::task::spawn_blocking(move || server.kill())
            .await
            .expect("kill");
        stop.store(true, Ordering::SeqCst);
        let mut acked = Vec::new();
        let mut unanswered = Vec::new();
        for s in senders {
            let log = s.await.expect("sender task");
            assert!(
                log.early.is_empty(),
                "failures before the kill: {:?}",
                log.early
            );
            acked.extend(log.acked);
            unanswered.extend(log.unanswered);
        }
        let sent = next.load(Ordering::SeqCst) - sent_before;
        assert_eq!(sent as usize, acked.len() + unanswered.len());

        // 3. Restart on the same directory: the store must open cleanly.
        server = start(data.clone()).await;
        http = client(&server);
        let base = server.base.clone();
        let count_after = healthy(&http, &server).await;

        // 4. Everything acknowledged is there, unchanged; the rest may be.
        let before = expected.stored.len();
        for &(n, v) in &acked {
            expected.add(n, v, "acknowledged");
        }
        let acked_ids: Vec<u64> = acked.iter().map(|(n, _)| *n).collect();
        let read = parallel(&http, &base, &acked_ids, |h, b, n| async move {
            fetch(&h, &b, n).await
        })
        .await;
        for (&(n, v), got) in acked.iter().zip(read) {
            assert_eq!(
                got,
                Some(v),
                "acknowledged message {n} (number {v}) after the kill"
            );
        }
        unanswered.sort_unstable();
        let maybe = parallel(&http, &base, &unanswered, |h, b, n| async move {
            fetch(&h, &b, n).await
        })
        .await;
        let mut absent = Vec::new();
        let mut present = 0;
        for (&n, got) in unanswered.iter().zip(maybe) {
            match got {
                Some(v) => {
                    expected.add(n, v, "sent, unacknowledged, present");
                    present += 1;
                }
                None => absent.push(n),
            }
        }
        assert_eq!(
            count_after,
            expected.stored.len() as u64,
            "round {round}: /health counts {count_after} messages; {} distinct ids are stored",
            expected.stored.len()
        );
        assert!(count_after >= (before + acked.len()) as u64);
        assert!(count_after <= (before as u64) + sent);
        expected.check_numbers();
        // The reports' timelines went with the messages, no more, no less:
        // every message is a client of its own on rung 3.
        assert_eq!(
            on_rung_3(&http, &server).await,
            count_after,
            "round {round}: clients on rung 3 in the stand"
        );

        // Older messages are still there too (a sample; all at the end).
        let older: Vec<u64> = expected
            .stored
            .keys()
            .copied()
            .filter(|n| *n < sent_before)
            .collect();
        let sample: Vec<u64> = (0..older.len().min(32))
            .map(|_| older[rng.next() as usize % older.len()])
            .collect();
        let read = parallel(&http, &base, &sample, |h, b, n| async move {
            fetch(&h, &b, n).await
        })
        .await;
        for (n, got) in sample.iter().zip(read) {
            assert_eq!(got, Some(expected.stored[n]), "older message {n}");
        }

        // 5. Sending again: stored ones are repeats with their number, and a
        //    retried unacknowledged message is stored exactly once.
        let mut again: Vec<u64> = acked_ids.iter().take(12).copied().collect();
        again.extend(&sample[..sample.len().min(8)]);
        again.extend(
            unanswered
                .iter()
                .filter(|n| expected.stored.contains_key(n)),
        );
        let replies = parallel(&http, &base, &again, |h, b, n| async move {
            post(&h, &b, n).await
        })
        .await;
        for (n, reply) in again.iter().zip(replies) {
            assert_eq!(
                reply,
                Ok(Sent::Repeat(expected.stored[n])),
                "message {n} sent again"
            );
        }
        let replies = parallel(&http, &base, &absent, |h, b, n| async move {
            post(&h, &b, n).await
        })
        .await;
        for (&n, reply) in absent.iter().zip(replies) {
            match reply {
                Ok(Sent::Accepted(v)) => expected.add(n, v, "retried"),
                other => panic!("retry of lost message {n}: {other:?}"),
            }
        }
        assert_eq!(count(&http, &server).await, next.load(Ordering::SeqCst));
        assert_eq!(expected.stored.len() as u64, next.load(Ordering::SeqCst));
        expected.check_numbers();

        eprintln!(
            "round {round:2}: kill after {delay:3} ms; sent {sent:4}, acknowledged {:4}, \
             unanswered {:2} (present after restart {present}); store holds {}",
            acked.len(),
            unanswered.len(),
            expected.stored.len()
        );
        total_acked += acked.len();
        total_unanswered += unanswered.len();
        total_present_unacked += present;
    }

    // Every message ever sent, once more, then a clean stop.
    let all: Vec<u64> = expected.stored.keys().copied().collect();
    let base = server.base.clone();
    let read = parallel(&http, &base, &all, |h, b, n| async move {
        fetch(&h, &b, n).await
    })
    .await;
    for (n, got) in all.iter().zip(read) {
        assert_eq!(got, Some(expected.stored[n]), "message {n} at the end");
    }
    assert_eq!(count(&http, &server).await, all.len() as u64);
    let code = tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("stop");
    assert_eq!(code, Some(0), "clean stop after the last round");
    eprintln!(
        "seed {seed}: {rounds} kill -9 rounds in {:.1} s; {} messages sent, {total_acked} \
         acknowledged, {total_unanswered} unanswered at a kill ({total_present_unacked} of \
         them stored anyway), all {} read back intact",
        began.elapsed().as_secs_f64(),
        next.load(Ordering::SeqCst),
        all.len()
    );
}
