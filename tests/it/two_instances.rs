//! Two ladderpost instances on one PostgreSQL database, each accepting and
//! serving (docs/storage.md, the PostgreSQL engine): concurrent senders on
//! both, one instance killed -9 and started again, a feed reader and a
//! push receiver running throughout. Nothing acknowledged may be lost, the
//! feed must be gap-free and in order, push in order per subscription.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common;
use common::messages::{bsn, Bericht};
use common::receiver::{Mode, TestReceiver};
use common::server::{Process, LOCAL_RECEIVERS};

const SENDERS: usize = 6;
/// Generous: waits end as soon as what they wait for has happened.
const PATIENCE: Duration = Duration::from_secs(60);

fn bericht_id(n: u64) -> String {
    format!("twee-{n:07}")
}

fn message(n: u64) -> Vec<u8> {
    Bericht::meting(&bericht_id(n), "0363", &bsn(n), "2025-05-20", 3).bytes()
}

/// Every `<…Volgnummer>` of a feed page, in order, and its cursor.
fn feed_page(body: &str) -> (Vec<u64>, Option<u64>) {
    let numbers = |tag: &str| -> Vec<u64> {
        body.split(&format!("<lp:{tag}>"))
            .skip(1)
            .filter_map(|rest| rest.split('<').next()?.parse().ok())
            .collect()
    };
    (numbers("Volgnummer"), numbers("Cursor").first().copied())
}

fn start(data: &std::path::Path, url: &str) -> Process {
    Process::start_with(
        data,
        // A short push timeout: a lease runs 3 × (timeout + 2 s), so the
        // survivor takes over A's deliveries within seconds.
        &[
            "--store",
            url,
            "--rate-limit",
            "0",
            "--push-timeout",
            "1",
            LOCAL_RECEIVERS,
        ],
    )
}

/// Posts message `n` to `base`: its Volgnummer when acknowledged (201, or
/// 200 for a repeat of an earlier attempt), `None` when no answer came (the
/// instance was killed) or the answer was 503.
async fn post(http: &reqwest::Client, base: &str, n: u64) -> Option<u64> {
    let r = http
        .post(format!("{base}/api/v1/berichten"))
        .header("content-type", "application/xml")
        .body(message(n))
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    let body = r.text().await.ok()?;
    match status {
        200 | 201 => {
            let v = body
                .split("<Volgnummer>")
                .nth(1)
                .and_then(|r| r.split('<').next())
                .and_then(|v| v.parse().ok());
            assert!(v.is_some(), "message {n}: {body}");
            v
        }
        503 => None,
        other => panic!("message {n}: unexpected {other}: {body}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_history_through_a_kill() {
    let Some(db) = common::postgres::database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let url = db.url.clone();
    let (d, u) = (data.clone(), url.clone());
    let a = tokio::task::spawn_blocking(move || start(&d, &u))
        .await
        .unwrap();
    let (d, u) = (data.clone(), url.clone());
    let b = tokio::task::spawn_blocking(move || start(&d, &u))
        .await
        .unwrap();
    let http = a.client();
    let bases = Arc::new(Mutex::new([a.base.clone(), b.base.clone()]));

    // A subscription, registered on A; B must deliver it too when A dies.
    let receiver = TestReceiver::start(Mode::Accept).await;
    let registration = serde_json::json!({ "url": receiver.url("/in"), "gemeente": "0363" });
    let reply = http
        .post(format!("{}/api/v1/abonnementen", a.base))
        .header("content-type", "application/json")
        .body(registration.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 201);
    let reg: serde_json::Value = serde_json::from_str(&reply.text().await.unwrap()).unwrap();
    receiver.set_secret(reg["secret"].as_str().expect("secret"));

    // The feed reader, on B throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let read: Arc<Mutex<Vec<u64>>> = Arc::default();
    let reader = {
        let (http, base, stop, read) = (http.clone(), b.base.clone(), stop.clone(), read.clone());
        tokio::spawn(async move {
            let mut cursor = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let r = http
                    .get(format!(
                        "{base}/api/v1/feed?gemeente=0363&na={cursor}&wacht=1"
                    ))
                    .send()
                    .await
                    .expect("B answers the feed");
                let body = r.text().await.unwrap();
                let (numbers, next) = feed_page(&body);
                read.lock().unwrap().extend(&numbers);
                if let Some(next) = next {
                    cursor = next;
                }
            }
        })
    };

    // Senders, alternating between the instances.
    let next = Arc::new(std::sync::atomic::AtomicU64::new(1));
    let acked: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let sending = Arc::new(AtomicBool::new(true));
    let mut senders = Vec::new();
    for s in 0..SENDERS {
        let (http, bases, next, acked, sending) = (
            http.clone(),
            bases.clone(),
            next.clone(),
            acked.clone(),
            sending.clone(),
        );
        senders.push(tokio::spawn(async move {
            let mut turn = s;
            while sending.load(Ordering::SeqCst) {
                let n = next.fetch_add(1, Ordering::SeqCst);
                // A message not acknowledged is sent again (to either
                // instance) until it is: then it counts.
                loop {
                    let base = bases.lock().unwrap()[turn % 2].clone();
                    turn += 1;
                    if let Some(v) = post(&http, &base, n).await {
                        acked.lock().unwrap().push((n, v));
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }

    // Let both take messages, then kill A under load and start it again.
    let waited = Instant::now();
    while acked.lock().unwrap().len() < 200 {
        assert!(waited.elapsed() < PATIENCE, "no progress before the kill");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::task::spawn_blocking(move || a.kill()).await.unwrap();
    let before_restart = acked.lock().unwrap().len();
    let (d, u) = (data.clone(), url.clone());
    let a = tokio::task::spawn_blocking(move || start(&d, &u))
        .await
        .unwrap();
    bases.lock().unwrap()[0] = a.base.clone();
    let waited = Instant::now();
    while acked.lock().unwrap().len() < before_restart + 200 {
        assert!(waited.elapsed() < PATIENCE, "no progress after the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sending.store(false, Ordering::SeqCst);
    for s in senders {
        s.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let highest = acked.iter().map(|&(_, v)| v).max().unwrap();

    // Every acknowledged message is there, under the number it was given,
    // on both instances.
    for base in [&a.base, &b.base] {
        for &(n, v) in acked.iter().step_by(7) {
            let r = http
                .get(format!("{base}/api/v1/berichten/{}", bericht_id(n)))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "message {n} on {base}");
            let number = r
                .headers()
                .get("ladderpost-volgnummer")
                .and_then(|h| h.to_str().ok())
                .and_then(|h| h.parse::<u64>().ok());
            assert_eq!(number, Some(v), "message {n} on {base}");
            assert_eq!(r.bytes().await.unwrap().as_ref(), message(n).as_slice());
        }
    }
    let numbers: BTreeSet<u64> = acked.iter().map(|&(_, v)| v).collect();
    assert_eq!(numbers.len(), acked.len(), "two messages with one number");

    // The feed: read while everything happened, gap-free and in order.
    let waited = Instant::now();
    while read.lock().unwrap().last().copied().unwrap_or(0) < highest {
        assert!(waited.elapsed() < PATIENCE, "the feed reader fell behind");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::SeqCst);
    reader.await.unwrap();
    let read = read.lock().unwrap().clone();
    let expected: Vec<u64> = (1..=read.len() as u64).collect();
    assert_eq!(read, expected, "the feed skipped, repeated or reordered");
    assert!(numbers.iter().all(|v| read.contains(v)));

    // Push: every message delivered (at least once), first deliveries in
    // order, whichever instance delivered.
    let waited = Instant::now();
    loop {
        let firsts: Vec<u64> = receiver
            .first_receipts()
            .iter()
            .map(|d| d.volgnummer)
            .collect();
        if firsts.len() as u64 >= highest {
            let expected: Vec<u64> = (1..=firsts.len() as u64).collect();
            assert_eq!(firsts, expected, "push out of order");
            break;
        }
        if waited.elapsed() > PATIENCE {
            let status = http
                .get(format!(
                    "{}/api/v1/abonnementen/{}",
                    b.base,
                    reg["id"].as_str().unwrap()
                ))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            panic!(
                "push delivered {} of {highest}; attempts {}; status {status}",
                firsts.len(),
                receiver.attempts().len()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop((a, b));
}

/// What one instance changes in credentials reaches the others: a token
/// revoked through one stops working on the other soon (its cache of a
/// shared store expires), without a restart.
#[test]
fn a_revocation_on_one_instance_holds_on_the_other() {
    let Some(db) = common::postgres::database() else {
        return;
    };
    let url = db.url.clone();
    // The client drives its own runtime: off the test's thread.
    std::thread::spawn(move || {
        let config = ladderpost::store::Config::at(&url);
        let one =
            ladderpost::auth::Auth::new(ladderpost::store::open(&config).unwrap().auth).unwrap();
        let two =
            ladderpost::auth::Auth::new(ladderpost::store::open(&config).unwrap().auth).unwrap();
        one.add_organisation(ladderpost::auth::service::NieuweOrganisatie {
            id: "g".into(),
            naam: "G".into(),
            gemeenten: vec!["0363".into()],
            ..Default::default()
        })
        .unwrap();
        let (sleutel, token) = one
            .add_credential("g", &["afnemen".to_string()], None)
            .unwrap();
        assert!(two.bearer(&token).unwrap().is_some(), "known on the other");
        assert!(one.revoke_credential(&sleutel.id).unwrap());
        assert!(
            one.bearer(&token).unwrap().is_none(),
            "at once where revoked"
        );
        let waited = Instant::now();
        while two.bearer(&token).unwrap().is_some() {
            assert!(
                waited.elapsed() < PATIENCE,
                "the other instance still accepts it"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .join()
    .unwrap();
}
