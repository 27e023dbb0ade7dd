//! `ladderpost migrate` and `ladderpost backup` through the real binary: a
//! store filled through the API is copied (to PostgreSQL and back, and to
//! a backup directory), and a server on each copy answers exactly as the
//! original did.

use std::path::Path;
use std::process::Command;

use crate::common;
use common::messages::{bsn, Bericht};
use common::server::{Server, Service};

fn run(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(args)
        .output()
        .expect("run ladderpost");
    assert!(
        out.status.success(),
        "ladderpost {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

async fn post(s: &Service, body: Vec<u8>) -> u16 {
    s.client()
        .post(s.url("/api/v1/berichten"))
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn get(s: &Service, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let r = s.client().get(s.url(path)).send().await.unwrap();
    let status = r.status().as_u16();
    let mut headers: Vec<(String, String)> = r
        .headers()
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("ladderpost-"))
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    headers.sort();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

/// What a server answers about the history: the feed, a client's history,
/// one message with its headers, the subscriptions; the reply moments
/// (`Tijdstip`-free parts only) must be the same on every copy.
async fn answers(s: &Service) -> Vec<(u16, Vec<(String, String)>, Vec<u8>)> {
    let mut out = Vec::new();
    for path in [
        "/api/v1/feed?gemeente=0363".to_string(),
        format!("/api/v1/clienten/{}/metingen", bsn(1)),
        "/api/v1/berichten/mig-1".to_string(),
        "/api/v1/berichten/mig-7".to_string(),
        "/api/v1/beheer/organisaties".to_string(),
    ] {
        out.push(get(s, &path).await);
    }
    out
}

/// Fills a store through the API: Metingen, a Correctie, an Intrekking,
/// an organisation; every request is in the audit log.
async fn fill(data: &Path) -> Vec<(u16, Vec<(String, String)>, Vec<u8>)> {
    let server = Server::start(data);
    for n in 1..=8u64 {
        let m = Bericht::meting(&format!("mig-{n}"), "0363", &bsn(n % 3), "2025-05-20", 3);
        assert_eq!(post(&server, m.bytes()).await, 201);
    }
    let c = Bericht::correctie("mig-9", "mig-1", "0363", &bsn(1), "2025-05-20", 4);
    assert_eq!(post(&server, c.bytes()).await, 201);
    let i = Bericht::intrekking("mig-10", "mig-2", "0363", &bsn(2));
    assert_eq!(post(&server, i.bytes()).await, 201);
    let before = answers(&server).await;
    server.stop();
    before
}

fn count_line(out: &str) -> &str {
    out.lines()
        .find(|l| l.starts_with("copied and checked"))
        .unwrap_or_else(|| panic!("no summary in {out:?}"))
}

#[tokio::test]
async fn a_backup_is_a_store_that_answers_as_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let (data, backup) = (dir.path().join("data"), dir.path().join("backup"));
    let before = fill(&data).await;
    let out = run(&[
        "backup",
        "--data",
        data.to_str().unwrap(),
        "--to",
        backup.to_str().unwrap(),
    ]);
    assert!(count_line(&out).contains("10 messages"), "{out}");
    // The same tokens work on the copy: credentials were copied.
    let token = std::fs::read_to_string(dir.path().join(".data.test-token")).unwrap();
    std::fs::write(dir.path().join(".backup.test-token"), token).unwrap();
    let server = Server::start(&backup);
    assert_eq!(answers(&server).await, before);
    server.stop();
    // A backup goes into a new directory only.
    let again = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(["backup", "--data", data.to_str().unwrap(), "--to"])
        .arg(&backup)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
}

#[tokio::test]
async fn migrate_copies_to_postgresql_and_back_and_goes_on_after_a_second_run() {
    let Some(db) = common::postgres::database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (data, back) = (dir.path().join("data"), dir.path().join("back"));
    let before = fill(&data).await;
    let from = data.to_str().unwrap();
    let out = run(&["migrate", "--from", from, "--to", &db.url]);
    assert!(count_line(&out).contains("10 messages"), "{out}");
    // A second run finds everything there and changes nothing.
    let out = run(&["migrate", "--from", from, "--to", &db.url]);
    assert!(count_line(&out).contains("10 messages"), "{out}");

    // A server on the copy answers as the original did, with the same
    // token (the harness keeps it beside `data`).
    let server = Server::start_with(&data, &["--store", &db.url]);
    assert_eq!(answers(&server).await, before);
    // It goes on numbering after the copied messages.
    let m = Bericht::meting("mig-11", "0363", &bsn(4), "2025-05-21", 2);
    assert_eq!(post(&server, m.bytes()).await, 201);
    let (_, headers, _) = get(&server, "/api/v1/berichten/mig-11").await;
    assert!(
        headers.contains(&("ladderpost-volgnummer".into(), "11".into())),
        "{headers:?}"
    );
    server.stop();

    // And back into a new embedded store.
    let out = run(&["migrate", "--from", &db.url, "--to", back.to_str().unwrap()]);
    assert!(count_line(&out).contains("11 messages"), "{out}");
    let token = std::fs::read_to_string(dir.path().join(".data.test-token")).unwrap();
    std::fs::write(dir.path().join(".back.test-token"), token).unwrap();
    let server = Server::start(&back);
    let (status, _, body) = get(&server, "/api/v1/berichten/mig-11").await;
    assert_eq!((status, body), (200, m.bytes()));
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_backup_is_made_while_the_service_goes_on_serving() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let (data, backups) = (dir.path().join("data"), dir.path().join("backups"));
    std::fs::create_dir_all(&backups).unwrap();
    let server = Server::start_with(
        &data,
        &[
            "--backup-dir",
            backups.to_str().unwrap(),
            "--rate-limit",
            "0",
        ],
    );
    let beheer = server
        .beheer
        .clone()
        .expect("the first start's beheer token");
    let sending = Arc::new(AtomicBool::new(true));
    let sent = Arc::new(AtomicU64::new(0));
    let sender = {
        let (service, sending, sent) = ((*server).clone(), sending.clone(), sent.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while sending.load(Ordering::SeqCst) {
                n += 1;
                let m = Bericht::meting(&format!("online-{n}"), "0363", &bsn(n), "2025-05-20", 3);
                assert_eq!(post(&service, m.bytes()).await, 201);
                sent.store(n, Ordering::SeqCst);
            }
        })
    };
    while sent.load(Ordering::SeqCst) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let backup = |naam: &'static str| {
        let (base, beheer) = (server.base.clone(), beheer.clone());
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_ladderpost"))
                .args(["backup", "--server", &base, "--naam", naam])
                .env("LADDERPOST_TOKEN", beheer)
                .output()
                .unwrap()
        })
    };
    let out = backup("b1").await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let copied = made["berichten"].as_u64().unwrap();
    assert!(copied >= 20, "{made}");
    // A name is used once.
    let again = backup("b1").await.unwrap();
    assert_eq!(again.status.code(), Some(1));
    // Only the installation's administrator makes backups, of plain names.
    let ask = |token: Option<String>, naam: &str| {
        let mut r = reqwest::Client::new()
            .post(server.url("/api/v1/beheer/backups"))
            .header("content-type", "application/json")
            .body(format!(r#"{{"naam":"{naam}"}}"#));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(ask(None, "b2").await, 401);
    // `test` holds the beheer role for its own organisation only.
    assert_eq!(ask(Some(server.token.clone()), "b2").await, 403);
    assert_eq!(ask(Some(beheer.clone()), "../b2").await, 400);
    assert!(!backups.join("b2").exists());
    sending.store(false, Ordering::SeqCst);
    sender.await.unwrap();
    let total = sent.load(Ordering::SeqCst);
    server.stop();

    // The backup is a store: exactly the messages up to its count.
    let token = std::fs::read_to_string(dir.path().join(".data.test-token")).unwrap();
    std::fs::write(backups.join(".b1.test-token"), token).unwrap();
    let restored = Server::start(&backups.join("b1"));
    for n in 1..=total {
        let (status, headers, body) =
            get(&restored, &format!("/api/v1/berichten/online-{n}")).await;
        if n <= copied {
            assert_eq!(status, 200, "online-{n}");
            let m = Bericht::meting(&format!("online-{n}"), "0363", &bsn(n), "2025-05-20", 3);
            assert_eq!(body, m.bytes());
            assert!(headers.contains(&("ladderpost-volgnummer".into(), n.to_string())));
        } else {
            assert_eq!(status, 404, "online-{n} came after the backup began");
        }
    }
    restored.stop();

    // Without --backup-dir the service makes none.
    let plain = Server::start(&data);
    let r = reqwest::Client::new()
        .post(plain.url("/api/v1/beheer/backups"))
        .bearer_auth(&beheer)
        .header("content-type", "application/json")
        .body(r#"{"naam":"b3"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    plain.stop();
}
