//! Push delivery under faults: senders post continuously while the
//! receiver (the real `ladderpost receive`) is killed and restarted, and
//! `ladderpost serve` itself is `kill -9`ed and restarted, a few rounds
//! each. At the end, after the senders stop and delivery drains, the
//! receiver holds every acknowledged message, byte for byte, once (it
//! deduplicates on the message id), and `received.log` lists them in
//! strictly increasing Volgnummer order.
//!
//! The subscription is registered once and must survive the crashes. The
//! receiver keeps its port across restarts (the one it first bound). The
//! pauses between faults only vary the moments; correctness is checked
//! after polling for the drained state against a deadline.

use crate::common;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::messages::{bsn, Bericht};
use common::receiver::{read_inbox, ReceiveChild};
use common::server::{self, Process};
use serde_json::Value;

/// Fault rounds (`LADDERPOST_FAULT_ROUNDS` overrides).
const ROUNDS: usize = 3;
const SENDERS: usize = 3;
const PUSH: &[&str] = &[
    "--push-timeout",
    "2",
    "--retry-base",
    "0.05",
    "--retry-max",
    "0.3",
    server::LOCAL_RECEIVERS,
];

/// A free port for the receiver, kept across its restarts: below the
/// kernel's ephemeral range when possible, so that no `:0` bind or
/// outgoing connection (the hub's restarts, the senders) can take it while
/// the receiver is down; otherwise one the OS picks.
fn receiver_port() -> u16 {
    let low: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    if low > 12_000 {
        let span = low - 11_000;
        let seed = std::process::id()
            .wrapping_mul(7919)
            .wrapping_add(ladderpost::time::Moment::now().0 as u32);
        for i in 0..200u32 {
            let port = 10_000 + seed.wrapping_add(i.wrapping_mul(104_729)) % span;
            if std::net::TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
                return port as u16;
            }
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(data: &std::path::Path) -> Process {
    Process::start_logging(data, PUSH, "error")
}

/// One sender: posts new Metingen until told to stop; each message is sent
/// again (an idempotent repeat) until it is acknowledged, so every message
/// it sent is acknowledged when it returns.
async fn sender(
    token: String,
    n: usize,
    base: Arc<Mutex<String>>,
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<(String, u64, String)>>>,
) {
    let client = server::client_for(&token)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let mut k = 0u64;
    while !stop.load(Ordering::SeqCst) {
        k += 1;
        let id = format!("fault-{n}-{k}");
        let xml = Bericht::meting(&id, "0363", &bsn(n as u64 * 100_000 + k), "2024-05-01", 3).xml();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let url = format!("{}/api/v1/berichten", base.lock().unwrap());
            let sent = client
                .post(url)
                .header("content-type", "application/xml")
                .body(xml.clone())
                .send()
                .await;
            if let Ok(response) = sent {
                let status = response.status().as_u16();
                if let Ok(body) = response.bytes().await {
                    if status == 201 || status == 200 {
                        let tree = ladderpost::validate_schema(&body).expect("acknowledgement");
                        let v: u64 = tree
                            .root()
                            .child_value("Volgnummer")
                            .expect("Volgnummer")
                            .parse()
                            .expect("number");
                        acked.lock().unwrap().push((id.clone(), v, xml.clone()));
                        break;
                    }
                    assert!(
                        status >= 500,
                        "{id}: unexpected {status}: {}",
                        String::from_utf8_lossy(&body)
                    );
                }
            }
            assert!(Instant::now() < deadline, "{id} never acknowledged");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_message_arrives_once_in_order_through_crashes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let out = dir.path().join("inbox");
    let mut server = Some(start_server(&data));
    let token = server.as_ref().unwrap().token.clone();
    let client = server
        .as_ref()
        .unwrap()
        .client_builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    let base = Arc::new(Mutex::new(server.as_ref().unwrap().base.clone()));

    let port = receiver_port();
    let listen = format!("127.0.0.1:{port}");
    let first_base = base.lock().unwrap().clone();
    let reply = client
        .post(format!("{first_base}/api/v1/abonnementen"))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({ "url": format!("http://{listen}/inbox"), "gemeente": "0363" })
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 201);
    let reg: Value = serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
    let id = reg["id"].as_str().unwrap().to_string();
    let secret = reg["secret"].as_str().unwrap().to_string();
    let mut receiver = Some(ReceiveChild::start(&listen, &secret, &out));

    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let senders: Vec<_> = (0..SENDERS)
        .map(|n| {
            tokio::spawn(sender(
                token.clone(),
                n,
                base.clone(),
                stop.clone(),
                acked.clone(),
            ))
        })
        .collect();

    let rounds: usize = std::env::var("LADDERPOST_FAULT_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(ROUNDS)
        .max(1);
    let pause = |ms: u64| tokio::time::sleep(Duration::from_millis(ms));
    for round in 0..rounds {
        // The receiver dies and comes back on the same port.
        pause(300 + 100 * (round % 3) as u64).await;
        receiver.take().unwrap().kill();
        pause(200).await;
        let (l, s, o) = (listen.clone(), secret.clone(), out.clone());
        receiver = Some(
            tokio::task::spawn_blocking(move || ReceiveChild::start(&l, &s, &o))
                .await
                .unwrap(),
        );
        // The hub dies (kill -9) and comes back on the same data.
        pause(250 + 150 * (round % 3) as u64).await;
        server.take().unwrap().kill();
        if round == rounds - 1 {
            // Both down at once; the receiver comes back first.
            receiver.take().unwrap().kill();
            pause(100).await;
            let (l, s, o) = (listen.clone(), secret.clone(), out.clone());
            receiver = Some(
                tokio::task::spawn_blocking(move || ReceiveChild::start(&l, &s, &o))
                    .await
                    .unwrap(),
            );
        }
        pause(100).await;
        let d = data.clone();
        let s = tokio::task::spawn_blocking(move || start_server(&d))
            .await
            .unwrap();
        *base.lock().unwrap() = s.base.clone();
        server = Some(s);
    }
    pause(300).await;
    stop.store(true, Ordering::SeqCst);
    for s in senders {
        s.await.expect("sender");
    }
    let acked: Vec<(String, u64, String)> = acked.lock().unwrap().clone();
    assert!(acked.len() >= 20, "only {} messages sent", acked.len());
    let last = acked.iter().map(|a| a.1).max().unwrap();

    // Drain: the subscription's backlog empties and the receiver has all.
    let base_url = base.lock().unwrap().clone();
    let want: HashSet<&str> = acked.iter().map(|a| a.0.as_str()).collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        let reply = client
            .get(format!("{base_url}/api/v1/abonnementen/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status().as_u16(), 200, "the subscription survived");
        let s: Value = serde_json::from_slice(&reply.bytes().await.unwrap()).unwrap();
        let inbox = read_inbox(&out);
        let have = want.iter().all(|id| inbox.files.contains_key(*id));
        if s["achterstand"] == 0 && s["cursor"].as_u64() >= Some(last) && have {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "not drained: {s:#}; receiver has {} of {}",
            inbox.files.len(),
            want.len()
        );
        pause(50).await;
    };
    assert_eq!(status["dode_brieven"], serde_json::json!([]));

    // Registered once, still once.
    let list: Value = serde_json::from_slice(
        &client
            .get(format!("{base_url}/api/v1/abonnementen"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(list["abonnementen"].as_array().unwrap().len(), 1);

    // Every acknowledged message, byte for byte, under its number, once.
    let inbox = read_inbox(&out);
    assert_eq!(
        inbox.names.len(),
        inbox.files.len(),
        "an id stored under two numbers: {:?}",
        inbox.names
    );
    let by_id: BTreeMap<&str, (u64, &str)> = acked
        .iter()
        .map(|(id, v, xml)| (id.as_str(), (*v, xml.as_str())))
        .collect();
    assert_eq!(by_id.len(), acked.len(), "an id acknowledged twice");
    for (id, (v, xml)) in &by_id {
        let (n, bytes) = inbox
            .files
            .get(*id)
            .unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(n, v, "{id} stored under its Volgnummer");
        assert_eq!(bytes.as_slice(), xml.as_bytes(), "{id} stored as sent");
    }
    let extra: Vec<&String> = inbox
        .files
        .keys()
        .filter(|id| !by_id.contains_key(id.as_str()))
        .collect();
    assert!(extra.is_empty(), "never sent: {extra:?}");

    // received.log: each id once, in strictly increasing Volgnummer order.
    let logged: Vec<&str> = inbox.log.iter().map(|(_, id)| id.as_str()).collect();
    let unique: HashSet<&str> = logged.iter().copied().collect();
    assert_eq!(unique.len(), logged.len(), "an id logged twice");
    assert_eq!(
        unique, want,
        "received.log lists exactly the acknowledged ids"
    );
    for (n, id) in &inbox.log {
        assert_eq!(Some(n), by_id.get(id.as_str()).map(|x| &x.0), "{id}");
    }
    let out_of_order: Vec<_> = inbox.log.windows(2).filter(|w| w[0].0 >= w[1].0).collect();
    assert!(
        out_of_order.is_empty(),
        "received.log out of order: {out_of_order:?}"
    );
    eprintln!(
        "{} messages from {SENDERS} senders through {rounds} receiver and hub crashes",
        acked.len()
    );

    drop(receiver);
    let code = tokio::task::spawn_blocking(move || server.take().unwrap().stop())
        .await
        .unwrap();
    assert_eq!(code, Some(0), "ladderpost serve stops cleanly at the end");
}
