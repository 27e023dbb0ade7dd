//! `ladderpost generate`: the real binary fills a store; a server started
//! on it afterwards serves the history (feed, client histories with their
//! corrections and withdrawals, each message's bytes, the beheer token the
//! run printed); the same seed in another store gives the same messages;
//! a second run on the same store stores nothing new; on PostgreSQL the
//! same seed stores the same messages as on the embedded engine.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::common::reply::Reply;
use crate::common::server::Server;

const CLIENTEN: u32 = 60;
const METINGEN: u64 = 400;
/// The first three municipalities of the generator: in the test
/// organisation's `TEST_GEMEENTEN`.
const GEMEENTEN: [&str; 3] = ["0363", "0599", "0344"];
const SEED: &str = "42";

/// What a run printed.
#[derive(Debug, PartialEq)]
struct Summary {
    meting: u64,
    correctie: u64,
    intrekking: u64,
    total: u64,
    before: u64,
    beheer: Option<String>,
}

fn generate(data: &Path) -> Summary {
    generate_into(&["--data", data.to_str().expect("UTF-8 path")])
}

/// Runs `ladderpost generate` with the test's plan for `clienten`
/// clients; `store` names the store (`--data DIR` or `--store URL`).
fn run(store: &[&str], clienten: u32) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .arg("generate")
        .args(["--clienten", &clienten.to_string()])
        .args(["--metingen", &METINGEN.to_string()])
        .args(["--gemeenten", &GEMEENTEN.len().to_string()])
        .args(["--seed", SEED])
        .args(store)
        .output()
        .expect("run ladderpost generate")
}

/// `generate` with `store` naming the store (`--data DIR` or `--store URL`).
fn generate_into(store: &[&str]) -> Summary {
    let out = run(store, CLIENTEN);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "ladderpost generate: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = stdout
        .lines()
        .find_map(|l| l.strip_prefix("stored: "))
        .unwrap_or_else(|| panic!("no stored: line in {stdout}"));
    // `Meting=400 Correctie=9 Intrekking=3 (412 messages; 0 were stored before)`
    let numbers: Vec<u64> = stored
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap())
        .collect();
    let [meting, correctie, intrekking, total, before] = numbers[..] else {
        panic!("unexpected stored: line {stored:?}");
    };
    Summary {
        meting,
        correctie,
        intrekking,
        total,
        before,
        beheer: stdout
            .lines()
            .find_map(|l| l.strip_prefix("beheer-token: "))
            .map(str::to_string),
    }
}

/// One feed item: its kind and the message it embeds, as text.
struct Item {
    soort: String,
    id: String,
    raw: String,
}

/// A municipality's whole feed, page by page.
async fn feed(client: &reqwest::Client, server: &Server, gemeente: &str) -> Vec<Item> {
    let (mut items, mut cursor) = (Vec::new(), 0u64);
    loop {
        let reply = Reply::send(client.get(server.url(&format!(
            "/api/v1/feed?gemeente={gemeente}&na={cursor}&limit=100"
        ))))
        .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let tree = reply.tree("Berichtenfeed");
        let page: Vec<Item> = tree
            .root()
            .children_named("Item")
            .map(|item| {
                let soort = item.child_value("Soort").unwrap().to_string();
                let message = item.child(&soort).expect("the embedded message");
                Item {
                    id: message
                        .child("Envelop")
                        .and_then(|e| e.child_value("BerichtId"))
                        .unwrap()
                        .to_string(),
                    raw: message.raw().to_string(),
                    soort,
                }
            })
            .collect();
        if page.is_empty() {
            return items;
        }
        items.extend(page);
        cursor = tree.root().child_value("Cursor").unwrap().parse().unwrap();
    }
}

/// Every message of every generated municipality, by id, as the server
/// gives it back (`GET /api/v1/berichten/{id}`: the bytes as received).
async fn messages(server: &Server) -> (BTreeMap<String, Vec<u8>>, Vec<Item>) {
    let client = server.client();
    let mut all = Vec::new();
    for g in GEMEENTEN {
        all.extend(feed(&client, server, g).await);
    }
    let mut bytes = BTreeMap::new();
    for item in &all {
        let reply =
            Reply::send(client.get(server.url(&format!("/api/v1/berichten/{}", item.id)))).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert!(bytes.insert(item.id.clone(), reply.body).is_none());
    }
    (bytes, all)
}

/// A `<name>…</name>` value in a message's text.
fn value<'a>(raw: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = raw
        .find(&open)
        .unwrap_or_else(|| panic!("no {name} in {raw}"))
        + open.len();
    &raw[start..start + raw[start..].find('<').unwrap()]
}

/// The status of version `id` in its client's history.
async fn status(server: &Server, bsn: &str, id: &str) -> String {
    let reply = Reply::send(server.client().get(server.url(&format!(
        "/api/v1/clienten/{bsn}/metingen?inclusiefVervallen=true"
    ))))
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let tree = reply.tree("Meetgeschiedenis");
    let versie = tree
        .root()
        .children_named("Metingversie")
        .find(|v| {
            v.children()
                .filter(|c| c.name() == "Meting" || c.name() == "Correctie")
                .any(|m| m.child("Envelop").and_then(|e| e.child_value("BerichtId")) == Some(id))
        })
        .unwrap_or_else(|| panic!("{id} is not in its client's history"));
    versie.child_value("Status").unwrap().to_string()
}

#[tokio::test]
async fn a_generated_history_is_served_and_the_same_seed_gives_the_same_messages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));

    let first = generate(&a);
    assert_eq!(first.meting, METINGEN);
    assert!(first.correctie > 0 && first.intrekking > 0, "{first:?}");
    assert_eq!(
        first.total,
        first.meting + first.correctie + first.intrekking
    );
    assert_eq!(first.before, 0);
    let beheer = first
        .beheer
        .clone()
        .expect("the first start's beheer token");
    let second = generate(&b);
    assert_eq!(
        (second.meting, second.correctie, second.intrekking),
        (first.meting, first.correctie, first.intrekking)
    );

    let server = Server::start(&a);
    let (from_a, items) = messages(&server).await;
    assert_eq!(
        from_a.len() as u64,
        first.total,
        "the feeds hold every message"
    );
    let count = |soort: &str| items.iter().filter(|i| i.soort == soort).count() as u64;
    assert_eq!(count("Correctie"), first.correctie);
    assert_eq!(count("Intrekking"), first.intrekking);
    assert!(from_a.values().all(
        |m| String::from_utf8_lossy(m).contains("<Applicatie>ladderpost generate</Applicatie>")
    ));

    // Corrections and withdrawals show in the clients' histories.
    let correctie = items.iter().find(|i| i.soort == "Correctie").unwrap();
    let (bsn, corrected) = (
        value(&correctie.raw, "Bsn"),
        value(&correctie.raw, "Corrigeert"),
    );
    assert_eq!(status(&server, bsn, corrected).await, "vervangen");
    assert_eq!(status(&server, bsn, &correctie.id).await, "geldig");
    let intrekking = items.iter().find(|i| i.soort == "Intrekking").unwrap();
    let (bsn, withdrawn) = (
        value(&intrekking.raw, "Bsn"),
        value(&intrekking.raw, "TrektIn"),
    );
    assert_eq!(status(&server, bsn, withdrawn).await, "ingetrokken");

    // The organisations the messages were sent as, seen with the run's
    // beheer token.
    let organisaties = Reply::send(
        crate::common::server::client_for(&beheer)
            .build()
            .unwrap()
            .get(server.url("/api/v1/beheer/organisaties")),
    )
    .await;
    assert_eq!(organisaties.status, 200, "{}", organisaties.text());
    for g in GEMEENTEN {
        assert!(organisaties.text().contains(&format!("\"gemeente-{g}\"")));
    }
    server.stop();

    let server = Server::start(&b);
    let (from_b, _) = messages(&server).await;
    server.stop();
    assert_eq!(
        from_a.keys().collect::<Vec<_>>(),
        from_b.keys().collect::<Vec<_>>()
    );
    for (id, bytes) in &from_a {
        assert!(from_b[id] == *bytes, "{id} differs between the two runs");
    }

    // The same seed again on the same store: all repeats, nothing new.
    let again = generate(&a);
    assert_eq!((again.meting, again.before), (0, first.total));
    assert_eq!(again.beheer, None);

    // Another plan under the same seed reuses ids for other messages: the
    // store refuses the first conflicting one, and the run stops naming it.
    let out = run(&["--data", a.to_str().unwrap()], CLIENTEN + 1);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the store refused generated Meting gen-2a-"),
        "{stderr}"
    );
}

#[tokio::test]
async fn on_postgres_the_same_seed_stores_the_same_messages_as_on_sled() {
    let Some(db) = crate::common::postgres::database() else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let sled = dir.path().join("sled");
    let on_sled = generate(&sled);
    let on_postgres = generate_into(&["--store", &db.url]);
    let counts = |s: &Summary| (s.meting, s.correctie, s.intrekking, s.total, s.before);
    assert_eq!(counts(&on_postgres), counts(&on_sled));
    assert!(on_postgres.beheer.is_some(), "the database's first start");

    let server = Server::start(&sled);
    let (from_sled, _) = messages(&server).await;
    server.stop();
    let server = Server::start_with(&dir.path().join("pg"), &["--store", &db.url]);
    let (from_postgres, _) = messages(&server).await;
    server.stop();
    assert_eq!(from_postgres.len() as u64, on_sled.total);
    assert!(
        from_postgres == from_sled,
        "the same messages in both engines"
    );
}
