//! Delivery to back-offices through the real `ladderpost serve`: the pull
//! feed (paging, cursors across restarts, long polling, parameters) and
//! signed push (subscriptions, retries through 500s, hangs and closed
//! connections, the soorten filter, dead letters and replay, removal,
//! state across a clean restart), and `ladderpost conformance` against the
//! reference receiver and against a broken one.
//!
//! Every test runs its own server on its own data directory; receivers bind
//! port 0. Waiting is always polling against a generous deadline; the only
//! fixed pauses give a long poll time to park, or give a delivery that
//! must not happen a chance to show up.

use crate::common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::messages::{bsn, root_element, Bericht};
use common::receiver::{read_inbox, Mode, ReceiveChild, TestReceiver};
use common::reply::{fout, problem, Reply};
use common::server::{Process, Server, LOCAL_RECEIVERS};
use serde_json::{json, Value};

const BERICHTEN: &str = "/api/v1/berichten";
const ABONNEMENTEN: &str = "/api/v1/abonnementen";

/// Fast retries, so failure phases take well under a second.
const FAST_PUSH: &[&str] = &[
    "--push-timeout",
    "0.5",
    "--retry-base",
    "0.05",
    "--retry-max",
    "0.2",
];

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// A running server on its own data directory, restartable.
struct Hub {
    server: Option<Server>,
    client: reqwest::Client,
    extra: Vec<String>,
    dir: tempfile::TempDir,
}

/// A message as sent and acknowledged.
#[derive(Debug, Clone)]
struct Posted {
    id: String,
    gemeente: String,
    soort: &'static str,
    volgnummer: u64,
    xml: String,
}

/// One `Item` of a `Berichtenfeed`.
#[derive(Debug, Clone)]
struct Item {
    volgnummer: u64,
    soort: String,
    ontvangen: String,
    id: String,
    gemeente: String,
    /// The embedded message element as it stands in the reply.
    raw: String,
}

#[derive(Debug, Clone)]
struct Page {
    gemeente: String,
    cursor: u64,
    items: Vec<Item>,
}

impl Hub {
    /// A server that allows receivers on loopback, as the test receivers are.
    fn start(extra: &[&str]) -> Hub {
        Hub::start_strict(&[&[LOCAL_RECEIVERS][..], extra].concat())
    }

    /// A server with exactly these flags.
    fn start_strict(extra: &[&str]) -> Hub {
        let dir = tempfile::tempdir().expect("temp dir");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let mut hub = Hub {
            server: None,
            client: reqwest::Client::new(),
            extra,
            dir,
        };
        let server = hub.spawn();
        hub.client = server
            .client_builder()
            .timeout(Duration::from_secs(90))
            .build()
            .expect("client");
        hub.server = Some(server);
        hub
    }

    fn spawn(&self) -> Server {
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        Server::start_with(&self.dir.path().join("data"), &extra)
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("server running")
    }

    fn url(&self, path: &str) -> String {
        self.server().url(path)
    }

    /// A graceful stop (as on SIGTERM; it must succeed), then a start
    /// on the same data.
    fn restart(&mut self) {
        self.server.take().expect("server running").stop();
        self.server = Some(self.spawn());
    }

    async fn request(&self, request: reqwest::RequestBuilder) -> Reply {
        Reply::send(request).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.request(self.client.get(self.url(path))).await
    }

    async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.request(
            self.client
                .post(self.url(path))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    async fn post_xml(&self, xml: &str) -> Reply {
        self.request(
            self.client
                .post(self.url(BERICHTEN))
                .header("content-type", "application/xml")
                .body(xml.to_string()),
        )
        .await
    }

    async fn post_empty(&self, path: &str) -> Reply {
        self.request(self.client.post(self.url(path))).await
    }

    async fn delete(&self, path: &str) -> Reply {
        self.request(self.client.delete(self.url(path))).await
    }

    /// Sends a message; requires 201 and returns it with its Volgnummer.
    async fn send(&self, b: &Bericht) -> Posted {
        let xml = b.xml();
        let reply = self.post_xml(&xml).await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        Posted {
            id: b.id.clone(),
            gemeente: b.gemeente.clone(),
            soort: soort(b),
            volgnummer: volgnummer_of_ack(&reply.body),
            xml,
        }
    }

    async fn feed(&self, query: &str) -> Page {
        let reply = self.get(&format!("/api/v1/feed?{query}")).await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.text());
        page(&reply.body)
    }

    /// Pages through a municipality's feed from `na` with `limit` until an
    /// empty page; checks every page's cursor; returns items and the last
    /// cursor.
    async fn read_all(&self, gemeente: &str, mut na: u64, limit: usize) -> (Vec<Item>, u64) {
        let mut items = Vec::new();
        for _ in 0..10_000 {
            let p = self
                .feed(&format!("gemeente={gemeente}&na={na}&limit={limit}"))
                .await;
            assert_eq!(p.gemeente, gemeente);
            assert!(p.items.len() <= limit, "a page longer than limit={limit}");
            match p.items.last() {
                None => {
                    assert_eq!(p.cursor, na, "an empty page's Cursor is the request's na");
                    return (items, na);
                }
                Some(last) => {
                    assert_eq!(p.cursor, last.volgnummer, "Cursor is the last item's");
                    assert!(
                        p.items.iter().all(|i| i.volgnummer > na),
                        "item at or before na"
                    );
                    na = p.cursor;
                    items.extend(p.items);
                }
            }
        }
        panic!("the feed never ended");
    }

    /// Registers a subscription; requires 201; returns the answer.
    async fn register(&self, url: &str, gemeente: &str, soorten: &[&str]) -> Value {
        let mut body = json!({ "url": url, "gemeente": gemeente });
        if !soorten.is_empty() {
            body["soorten"] = json!(soorten);
        }
        let reply = self.post_json(ABONNEMENTEN, &body).await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let v = reply.json();
        let id = v["id"].as_str().expect("id");
        assert_eq!(
            reply.headers.get("location").and_then(|h| h.to_str().ok()),
            Some(format!("{ABONNEMENTEN}/{id}").as_str())
        );
        v
    }

    async fn status(&self, id: &str) -> Value {
        let reply = self.get(&format!("{ABONNEMENTEN}/{id}")).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    }

    /// Polls a subscription's status until `ok` holds (60 s at most).
    async fn wait_status(&self, id: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let s = self.status(id).await;
            if ok(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {s:#}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Polls `ok` every 10 ms until it holds (60 s at most).
async fn eventually(what: &str, ok: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn soort(b: &Bericht) -> &'static str {
    match b.soort {
        common::messages::Soort::Meting => "Meting",
        common::messages::Soort::Correctie => "Correctie",
        common::messages::Soort::Intrekking => "Intrekking",
    }
}

fn volgnummer_of_ack(body: &[u8]) -> u64 {
    let tree = ladderpost::validate_schema(body).expect("schema-valid acknowledgement");
    assert_eq!(tree.root().name(), "Ontvangstbevestiging");
    tree.root()
        .child_value("Volgnummer")
        .expect("Volgnummer")
        .parse()
        .expect("a number")
}

/// A schema-valid `Berichtenfeed`, parsed.
fn page(body: &[u8]) -> Page {
    let text = String::from_utf8_lossy(body);
    let tree = ladderpost::validate_schema(body)
        .unwrap_or_else(|r| panic!("feed page not schema-valid: {:?}\n{text}", r.errors));
    let root = tree.root();
    assert_eq!(root.name(), "Berichtenfeed", "{text}");
    let items = root
        .children_named("Item")
        .map(|item| {
            let message = item
                .children()
                .find(|c| matches!(c.name(), "Meting" | "Correctie" | "Intrekking"))
                .expect("an embedded message");
            let envelop = message.child("Envelop").expect("Envelop");
            Item {
                volgnummer: item.child_value("Volgnummer").unwrap().parse().unwrap(),
                soort: item.child_value("Soort").unwrap().to_string(),
                ontvangen: item.child_value("Ontvangen").unwrap().to_string(),
                id: envelop.child_value("BerichtId").unwrap().to_string(),
                gemeente: envelop.child_value("Gemeente").unwrap().to_string(),
                raw: message.raw().to_string(),
            }
        })
        .collect();
    Page {
        gemeente: root.child_value("Gemeente").unwrap().to_string(),
        cursor: root.child_value("Cursor").unwrap().parse().unwrap(),
        items,
    }
}

/// The feed items must be exactly `posted`, in order, embedding each
/// message exactly as sent.
fn assert_items_are(items: &[Item], posted: &[&Posted]) {
    let got: Vec<(&str, u64)> = items
        .iter()
        .map(|i| (i.id.as_str(), i.volgnummer))
        .collect();
    let want: Vec<(&str, u64)> = posted
        .iter()
        .map(|p| (p.id.as_str(), p.volgnummer))
        .collect();
    assert_eq!(got, want, "feed items (id, volgnummer)");
    for (item, p) in items.iter().zip(posted) {
        assert_eq!(item.soort, p.soort, "{}", p.id);
        assert_eq!(item.gemeente, p.gemeente, "{}", p.id);
        assert_eq!(
            item.raw,
            root_element(&p.xml),
            "{} is embedded as sent",
            p.id
        );
        assert!(
            ladderpost::time::Moment::parse(&item.ontvangen).is_some(),
            "Ontvangen {:?}",
            item.ontvangen
        );
    }
    assert!(
        items.windows(2).all(|w| w[0].volgnummer < w[1].volgnummer),
        "Volgnummers strictly increase"
    );
}

fn meting(id: &str, gemeente: &str, n: u32) -> Bericht {
    Bericht::meting(
        id,
        gemeente,
        &bsn(u64::from(n)),
        &format!("2024-{:02}-10", 1 + n % 12),
        3,
    )
}

// ---------------------------------------------------------------------------
// 1. Pull: the full feed, in order, across a restart
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_client_reads_the_whole_feed_in_order_across_a_restart() {
    let mut hub = Hub::start(&[]);
    let mut posted: Vec<Posted> = Vec::new();
    // Round 1: 0363 and 0599 interleaved, with a correction and a withdrawal.
    for i in 0..6u32 {
        posted.push(
            hub.send(&meting(&format!("pull-0363-{i}"), "0363", i))
                .await,
        );
        if i % 2 == 0 {
            posted.push(
                hub.send(&meting(&format!("pull-0599-{i}"), "0599", 50 + i))
                    .await,
            );
        }
    }
    posted.push(
        hub.send(&Bericht::correctie(
            "pull-0363-c0",
            "pull-0363-0",
            "0363",
            &bsn(0),
            "2024-01-10",
            4,
        ))
        .await,
    );
    posted.push(
        hub.send(&Bericht::correctie(
            "pull-0599-c0",
            "pull-0599-0",
            "0599",
            &bsn(50),
            "2024-01-10",
            4,
        ))
        .await,
    );
    posted.push(
        hub.send(&Bericht::intrekking(
            "pull-0363-x1",
            "pull-0363-1",
            "0363",
            &bsn(1),
        ))
        .await,
    );

    let of = |posted: &[Posted], g: &str| -> Vec<Posted> {
        posted.iter().filter(|p| p.gemeente == g).cloned().collect()
    };

    // A pull client pages through 0363 with a small limit.
    let (items_0363, cursor_0363) = hub.read_all("0363", 0, 2).await;
    let want = of(&posted, "0363");
    assert_items_are(&items_0363, &want.iter().collect::<Vec<_>>());
    let (items_0599, cursor_0599) = hub.read_all("0599", 0, 3).await;
    let want = of(&posted, "0599");
    assert_items_are(&items_0599, &want.iter().collect::<Vec<_>>());

    // Clean restart; more messages; the clients continue from their cursors.
    hub.restart();
    for i in 6..10u32 {
        posted.push(
            hub.send(&meting(&format!("pull-0363-{i}"), "0363", i))
                .await,
        );
        if i % 2 == 1 {
            posted.push(
                hub.send(&meting(&format!("pull-0599-{i}"), "0599", 50 + i))
                    .await,
            );
        }
    }
    let (more_0363, end_0363) = hub.read_all("0363", cursor_0363, 2).await;
    let (more_0599, end_0599) = hub.read_all("0599", cursor_0599, 3).await;
    let all_0363: Vec<Item> = items_0363.into_iter().chain(more_0363).collect();
    let all_0599: Vec<Item> = items_0599.into_iter().chain(more_0599).collect();
    let want_0363 = of(&posted, "0363");
    let want_0599 = of(&posted, "0599");
    assert_items_are(&all_0363, &want_0363.iter().collect::<Vec<_>>());
    assert_items_are(&all_0599, &want_0599.iter().collect::<Vec<_>>());
    assert_eq!(end_0363, want_0363.last().unwrap().volgnummer);
    assert_eq!(end_0599, want_0599.last().unwrap().volgnummer);

    // Each municipality's feed holds exactly its own messages, each once.
    let ids_0363: HashSet<&str> = all_0363.iter().map(|i| i.id.as_str()).collect();
    let ids_0599: HashSet<&str> = all_0599.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids_0363.len(), all_0363.len(), "a 0363 message twice");
    assert_eq!(ids_0599.len(), all_0599.len(), "a 0599 message twice");
    assert!(ids_0363.is_disjoint(&ids_0599));
    assert!(all_0363.iter().all(|i| i.gemeente == "0363"));
    assert!(all_0599.iter().all(|i| i.gemeente == "0599"));

    // Reading from the start in one page gives the same, after the restart.
    let page = hub.feed("gemeente=0363&limit=1000").await;
    assert_items_are(&page.items, &want_0363.iter().collect::<Vec<_>>());
    // A municipality without messages has an empty feed.
    let empty = hub.feed("gemeente=0014").await;
    assert!(empty.items.is_empty());
    assert_eq!(empty.cursor, 0);
}

// ---------------------------------------------------------------------------
// 2. Long polling and parameters
// ---------------------------------------------------------------------------

/// The longest `wacht`: a poll that answers well before it was woken.
const WACHT: u64 = 60;

/// Well before a `wacht=60` would time out: the bound that tells "woken"
/// from "timed out", generous for a loaded machine.
const WOKEN_WITHIN: Duration = Duration::from_secs(WACHT / 2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_wakes_on_a_new_message() {
    let hub = Hub::start(&[]);
    let mut last = hub.send(&meting("lp-0", "0363", 0)).await.volgnummer;
    for trial in 1..=3u32 {
        let url = hub.url(&format!(
            "/api/v1/feed?gemeente=0363&na={last}&wacht={WACHT}"
        ));
        let client = hub.client.clone();
        let started = Instant::now();
        let poll = tokio::spawn(async move {
            let response = client.get(url).send().await.expect("long poll");
            let status = response.status().as_u16();
            let body = response.bytes().await.expect("body").to_vec();
            (Instant::now(), status, body)
        });
        // Let it park; then another municipality's message must not end it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        hub.send(&meting(&format!("lp-0599-{trial}"), "0599", 40 + trial))
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !poll.is_finished(),
            "the long poll answered without a 0363 message"
        );

        let b = meting(&format!("lp-{trial}"), "0363", trial);
        let v = hub.send(&b).await.volgnummer;

        // The answer holds the message, long before the poll's wacht ran
        // out: the message woke it.
        let (answered, status, body) = poll.await.expect("poll task");
        assert_eq!(status, 200);
        let p = page(&body);
        assert_eq!(p.items.len(), 1, "{}", String::from_utf8_lossy(&body));
        assert_eq!(
            (p.items[0].id.as_str(), p.items[0].volgnummer),
            (b.id.as_str(), v)
        );
        assert_eq!(p.cursor, v);
        let took = answered - started;
        assert!(
            took < WOKEN_WITHIN,
            "answered after {took:?} of wacht={WACHT}: timed out, not woken"
        );
        last = v;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_long_poll_returns_an_empty_page_after_wacht() {
    let hub = Hub::start(&[]);
    let v = hub.send(&meting("ep-1", "0363", 1)).await.volgnummer;
    for query in [
        format!("gemeente=0363&na={v}&wacht=1"),
        "gemeente=0014&wacht=1".to_string(),
    ] {
        let started = Instant::now();
        let p = hub.feed(&query).await;
        let took = started.elapsed();
        assert!(p.items.is_empty(), "{query}");
        assert_eq!(
            p.cursor,
            if query.contains("na=") { v } else { 0 },
            "{query}"
        );
        // At least its wacht (a loaded machine only adds to that), and
        // far less than the longest one.
        assert!(
            took >= Duration::from_millis(950) && took < WOKEN_WITHIN,
            "{query}: answered after {took:?}"
        );
    }
    // Without wacht, an empty page: no waiting for a message.
    let started = Instant::now();
    let p = hub.feed(&format!("gemeente=0363&na={}", v + 1000)).await;
    assert!(p.items.is_empty());
    assert_eq!(p.cursor, v + 1000);
    let took = started.elapsed();
    assert!(took < WOKEN_WITHIN, "answered after {took:?}");
    // With a message waiting, even the longest wacht answers at once.
    let started = Instant::now();
    let p = hub
        .feed(&format!("gemeente=0363&na=0&wacht={WACHT}&limit=1"))
        .await;
    assert_eq!(p.items.len(), 1);
    let took = started.elapsed();
    assert!(took < WOKEN_WITHIN, "answered after {took:?}");
    let p = hub.feed("gemeente=0363&limit=1000&wacht=0").await;
    assert_eq!(p.items.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_feed_parameters_are_refused_with_400_http_parameter() {
    let hub = Hub::start(&[]);
    for query in [
        "",
        "na=0",
        "gemeente=",
        "gemeente=363",
        "gemeente=03631",
        "gemeente=abcd",
        "gemeente=0363&limit=0",
        "gemeente=0363&limit=1001",
        "gemeente=0363&limit=ten",
        "gemeente=0363&wacht=61",
        "gemeente=0363&wacht=-1",
        "gemeente=0363&wacht=1.5",
        "gemeente=0363&na=abc",
        "gemeente=0363&na=-1",
        "gemeente=0363&na=",
    ] {
        let reply = hub.get(&format!("/api/v1/feed?{query}")).await;
        assert_eq!(reply.status, 400, "{query:?}: {}", reply.text());
        fout(&reply, 400, "http.parameter");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_a_waiting_long_poll_and_stops_promptly() {
    // The binary's signal handling and exit status: a child process.
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Process::start(&dir.path().join("data"));
    let url = server.url(&format!("/api/v1/feed?gemeente=0363&wacht={WACHT}"));
    let client = server.client();
    let poll = tokio::spawn(async move {
        match client.get(url).send().await {
            Ok(r) => Some((r.status().as_u16(), r.bytes().await.ok())),
            Err(_) => None,
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!poll.is_finished());
    let started = Instant::now();
    let code = tokio::task::spawn_blocking(move || server.stop())
        .await
        .expect("stop");
    let took = started.elapsed();
    let answer = poll.await.expect("poll task");
    assert_eq!(
        code,
        Some(0),
        "no clean exit on SIGTERM while a long poll (wacht={WACHT}) was waiting \
         (Process::stop gave up after {took:?}); the poll got {answer:?}"
    );
    // Not held up by the poll's wacht.
    assert!(took < WOKEN_WITHIN, "stopping took {took:?}");
}

// ---------------------------------------------------------------------------
// 3. Push through failures, in order, signed, filtered
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_delivers_in_order_after_errors_hangs_and_closed_connections() {
    let hub = Hub::start(FAST_PUSH);
    let all = TestReceiver::start(Mode::Fail).await;
    let metingen = TestReceiver::start(Mode::Accept).await;

    // Registration: secret once, Location, defaults.
    let reg = hub.register(&all.url("/hooks/ladder"), "0363", &[]).await;
    let id = reg["id"].as_str().unwrap().to_string();
    let secret = reg["secret"]
        .as_str()
        .expect("secret shown at registration");
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert!(ladderpost::delivery::signature::Secret::parse(secret).is_some());
    assert_eq!(reg["url"], all.url("/hooks/ladder"));
    assert_eq!(reg["gemeente"], "0363");
    assert_eq!(reg["soorten"], json!(["Meting", "Correctie", "Intrekking"]));
    assert!(ladderpost::time::Moment::parse(reg["aangemaakt"].as_str().unwrap()).is_some());
    all.set_secret(secret);
    let reg_m = hub.register(&metingen.url("/"), "0363", &["Meting"]).await;
    let id_m = reg_m["id"].as_str().unwrap().to_string();
    assert_eq!(reg_m["soorten"], json!(["Meting"]));
    assert_ne!(
        reg_m["secret"], reg["secret"],
        "each subscription its own secret"
    );
    metingen.set_secret(reg_m["secret"].as_str().unwrap());

    // Listed, without secrets.
    let list = hub.get(ABONNEMENTEN).await;
    assert_eq!(list.status, 200);
    assert!(!list.text().contains("whsec_"), "{}", list.text());
    let list = list.json();
    let listed = list["abonnementen"].as_array().expect("abonnementen");
    assert_eq!(listed.len(), 2);
    let mine = listed
        .iter()
        .find(|a| a["id"] == id.as_str())
        .expect("listed");
    assert!(mine.get("secret").is_none());
    assert_eq!(mine["url"], reg["url"]);
    assert_eq!(mine["aangemaakt"], reg["aangemaakt"]);
    // The status does not show it either.
    let s = hub.status(&id).await;
    assert!(s.get("secret").is_none());
    assert_eq!(s["cursor"], 0);
    assert_eq!(s["achterstand"], 0);

    // Phase 1: the receiver answers 500.
    let mut posted = vec![hub.send(&meting("push-m1", "0363", 1)).await];
    let other = hub.send(&meting("push-0599", "0599", 60)).await;
    eventually("three 500s", || all.attempts_in(Mode::Fail) >= 3).await;
    let s = hub
        .wait_status(&id, "a 500 reported", |s| {
            s["laatste_fout"]["omschrijving"]
                .as_str()
                .is_some_and(|o| o.contains("HTTP 500"))
        })
        .await;
    assert_eq!(s["laatste_fout"]["volgnummer"], posted[0].volgnummer);
    assert!(
        ladderpost::time::Moment::parse(s["laatste_fout"]["tijdstip"].as_str().unwrap()).is_some()
    );
    assert_eq!(s["laatste_succes"], Value::Null);
    assert_eq!(s["cursor"], 0);
    assert_eq!(s["achterstand"], 1);
    assert!(s["pogingen"].as_u64().unwrap() >= 1);

    // Phase 2: it hangs past the push timeout.
    all.set_mode(Mode::Hang);
    posted.push(
        hub.send(&Bericht::correctie(
            "push-c1",
            "push-m1",
            "0363",
            &bsn(1),
            "2024-02-10",
            4,
        ))
        .await,
    );
    eventually("two hangs", || all.attempts_in(Mode::Hang) >= 2).await;
    let s = hub
        .wait_status(&id, "a timeout reported", |s| {
            s["laatste_fout"]["omschrijving"] == "timed out"
        })
        .await;
    assert_eq!(s["laatste_fout"]["volgnummer"], posted[0].volgnummer);
    assert_eq!(s["achterstand"], 2);

    // Phase 3: it closes connections without answering.
    all.set_mode(Mode::Close);
    posted.push(
        hub.send(&Bericht::intrekking("push-x1", "push-c1", "0363", &bsn(1)))
            .await,
    );
    eventually("two closed connections", || {
        all.attempts_in(Mode::Close) >= 2
    })
    .await;
    let s = hub
        .wait_status(&id, "a closed connection reported", |s| {
            s["laatste_fout"]["omschrijving"]
                .as_str()
                .is_some_and(|o| o != "timed out" && !o.contains("HTTP 500"))
        })
        .await;
    assert_eq!(s["achterstand"], 3);
    assert!(all.accepted().is_empty(), "nothing accepted while failing");

    // Recovery: everything arrives, in order, signed, as sent.
    all.set_mode(Mode::Accept);
    posted.push(hub.send(&meting("push-m2", "0363", 2)).await);
    posted.push(hub.send(&meting("push-m3", "0363", 3)).await);
    let last = posted.last().unwrap().volgnummer;
    let s = hub
        .wait_status(&id, "the backlog delivered", |s| {
            s["achterstand"] == 0 && s["cursor"] == last
        })
        .await;
    let got = all.first_receipts();
    let ids: Vec<&str> = got.iter().map(|d| d.id.as_str()).collect();
    let want: Vec<&str> = posted.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, want, "first receipts in acceptance order");
    for (d, p) in got.iter().zip(&posted) {
        assert_eq!(d.volgnummer, p.volgnummer, "{}", p.id);
        assert_eq!(d.soort, p.soort, "{}", p.id);
        assert_eq!(
            d.body,
            p.xml.as_bytes(),
            "{} delivered exactly as sent",
            p.id
        );
        assert_eq!(d.path, "/hooks/ladder");
    }
    assert!(
        all.bad_signatures().is_empty(),
        "{:?}",
        all.bad_signatures()
    );
    assert!(all.counts().values().all(|&n| n == 1), "{:?}", all.counts());
    assert!(
        !all.accepted_ids().contains(&other.id),
        "0599 is not for this subscription"
    );
    assert!(
        ladderpost::time::Moment::parse(s["laatste_succes"].as_str().expect("laatste_succes"))
            .is_some()
    );
    assert!(s["laatste_fout"]["omschrijving"].as_str().is_some());
    assert_eq!(s["pogingen"], 0);
    assert_eq!(s["dode_brieven"], json!([]));

    // The Meting-only subscription got the Metingen, and nothing else.
    hub.wait_status(&id_m, "the Meting subscription drained", |s| {
        s["achterstand"] == 0 && s["cursor"] == last
    })
    .await;
    let got: Vec<(String, String)> = metingen
        .accepted()
        .into_iter()
        .map(|d| (d.id, d.soort))
        .collect();
    let want: Vec<(String, String)> = posted
        .iter()
        .filter(|p| p.soort == "Meting")
        .map(|p| (p.id.clone(), "Meting".to_string()))
        .collect();
    assert_eq!(got, want);
    assert!(metingen.bad_signatures().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_registrations_are_refused() {
    let hub = Hub::start(&[]);
    for body in [
        json!({ "gemeente": "0363" }),
        json!({ "url": "not a url", "gemeente": "0363" }),
        json!({ "url": "ftp://127.0.0.1/x", "gemeente": "0363" }),
        json!({ "url": "http://127.0.0.1:9/x", "gemeente": "363" }),
        json!({ "url": "http://127.0.0.1:9/x", "gemeente": "0363", "soorten": ["Bogus"] }),
    ] {
        let reply = hub.post_json(ABONNEMENTEN, &body).await;
        problem(&reply, 400, "http.parameter");
    }
    let reply = hub
        .request(hub.client.post(hub.url(ABONNEMENTEN)).body("{not json"))
        .await;
    problem(&reply, 400, "http.parameter");
    let list = hub.get(ABONNEMENTEN).await.json();
    assert_eq!(list["abonnementen"], json!([]));
}

// ---------------------------------------------------------------------------
// 4. Dead letters, replay, removal
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_skipped_then_replayed_and_removal_stops_delivery() {
    let hub = Hub::start(&[
        "--dead-letter-after",
        "0.3",
        "--retry-base",
        "0.05",
        "--retry-max",
        "0.1",
        "--push-timeout",
        "2",
    ]);
    let r = TestReceiver::start(Mode::Accept).await;
    let control = TestReceiver::start(Mode::Accept).await;
    let reg = hub.register(&r.url("/"), "0363", &[]).await;
    let id = reg["id"].as_str().unwrap().to_string();
    r.set_secret(reg["secret"].as_str().unwrap());
    let reg_c = hub.register(&control.url("/"), "0363", &[]).await;
    let id_c = reg_c["id"].as_str().unwrap().to_string();
    control.set_secret(reg_c["secret"].as_str().unwrap());

    // m1 cannot be taken: it becomes a dead letter and m2 is delivered.
    r.set_fail_ids(&["dl-m1"]);
    let m1 = hub.send(&meting("dl-m1", "0363", 1)).await;
    let m2 = hub.send(&meting("dl-m2", "0363", 2)).await;
    eventually("m2 delivered past the dead m1", || {
        r.accepted_ids().contains(&m2.id)
    })
    .await;
    let s = hub
        .wait_status(&id, "the cursor past m2", |s| s["cursor"] == m2.volgnummer)
        .await;
    let dead = s["dode_brieven"].as_array().unwrap();
    assert_eq!(dead.len(), 1, "{s:#}");
    assert_eq!(dead[0]["volgnummer"], m1.volgnummer);
    assert_eq!(dead[0]["bericht_id"], "dl-m1");
    assert!(dead[0]["pogingen"].as_u64().unwrap() >= 2, "{s:#}");
    assert!(
        dead[0]["fout"].as_str().unwrap().contains("HTTP 500"),
        "{s:#}"
    );
    assert!(ladderpost::time::Moment::parse(dead[0]["sinds"].as_str().unwrap()).is_some());
    assert_eq!(s["achterstand"], 0);
    assert_eq!(r.accepted_ids(), vec![m2.id.clone()]);

    // m3 too; m4 gets through.
    r.set_fail_ids(&["dl-m3"]);
    let m3 = hub.send(&meting("dl-m3", "0363", 3)).await;
    let m4 = hub.send(&meting("dl-m4", "0363", 4)).await;
    eventually("m4 delivered", || r.accepted_ids().contains(&m4.id)).await;
    let s = hub
        .wait_status(&id, "the cursor past m4", |s| s["cursor"] == m4.volgnummer)
        .await;
    let dead: Vec<&Value> = s["dode_brieven"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["bericht_id"])
        .collect();
    assert_eq!(dead, vec!["dl-m1", "dl-m3"], "{s:#}");
    assert_eq!(s["dode_brieven"][1]["volgnummer"], m3.volgnummer);
    assert_eq!(r.accepted_ids(), vec![m2.id.clone(), m4.id.clone()]);

    // The receiver recovers; replay from m1 re-sends m1..m4 in order.
    r.set_fail_ids(&[]);
    let before = r.accepted().len();
    let reply = hub
        .post_empty(&format!(
            "{ABONNEMENTEN}/{id}/replay?vanaf={}",
            m1.volgnummer
        ))
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    assert_eq!(reply.json(), json!({ "id": id, "vanaf": m1.volgnummer }));
    eventually("the replay delivered", || r.accepted().len() >= before + 4).await;
    let replayed: Vec<String> = r.accepted()[before..]
        .iter()
        .map(|d| d.id.clone())
        .collect();
    assert_eq!(replayed, vec!["dl-m1", "dl-m2", "dl-m3", "dl-m4"]);
    let s = hub
        .wait_status(&id, "dead letters cleared", |s| {
            s["dode_brieven"] == json!([]) && s["achterstand"] == 0
        })
        .await;
    assert_eq!(s["cursor"], m4.volgnummer);

    // Replay without vanaf starts at the oldest dead letter.
    r.set_fail_ids(&["dl-m5"]);
    let m5 = hub.send(&meting("dl-m5", "0363", 5)).await;
    let m6 = hub.send(&meting("dl-m6", "0363", 6)).await;
    eventually("m6 delivered", || r.accepted_ids().contains(&m6.id)).await;
    let s = hub
        .wait_status(&id, "the cursor past m6", |s| s["cursor"] == m6.volgnummer)
        .await;
    assert_eq!(s["dode_brieven"].as_array().unwrap().len(), 1, "{s:#}");
    assert_eq!(s["dode_brieven"][0]["volgnummer"], m5.volgnummer);
    r.set_fail_ids(&[]);
    let before = r.accepted().len();
    let reply = hub.post_empty(&format!("{ABONNEMENTEN}/{id}/replay")).await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    assert_eq!(reply.json()["vanaf"], m5.volgnummer);
    eventually("m5 and m6 replayed", || r.accepted().len() >= before + 2).await;
    let replayed: Vec<String> = r.accepted()[before..]
        .iter()
        .map(|d| d.id.clone())
        .collect();
    assert_eq!(replayed, vec!["dl-m5", "dl-m6"]);
    hub.wait_status(&id, "dead letters cleared", |s| {
        s["dode_brieven"] == json!([]) && s["achterstand"] == 0
    })
    .await;
    assert!(r.bad_signatures().is_empty());

    // Replay parameters.
    let path = format!("{ABONNEMENTEN}/{id}/replay");
    problem(&hub.post_empty(&path).await, 400, "http.parameter"); // no dead letters
    problem(
        &hub.post_empty(&format!("{path}?vanaf=0")).await,
        400,
        "http.parameter",
    );
    problem(
        &hub.post_empty(&format!("{path}?vanaf=x")).await,
        400,
        "http.parameter",
    );

    // Unknown subscriptions.
    let unknown = format!("{ABONNEMENTEN}/ab-000000000000000000000000");
    problem(&hub.get(&unknown).await, 404, "http.not-found");
    problem(
        &hub.post_empty(&format!("{unknown}/replay?vanaf=1")).await,
        404,
        "http.not-found",
    );
    problem(&hub.delete(&unknown).await, 404, "http.not-found");

    // Removal: 204, then gone, and deliveries stop.
    let reply = hub.delete(&format!("{ABONNEMENTEN}/{id}")).await;
    assert_eq!(reply.status, 204, "{}", reply.text());
    assert!(reply.body.is_empty());
    problem(
        &hub.get(&format!("{ABONNEMENTEN}/{id}")).await,
        404,
        "http.not-found",
    );
    problem(
        &hub.delete(&format!("{ABONNEMENTEN}/{id}")).await,
        404,
        "http.not-found",
    );
    problem(
        &hub.post_empty(&format!("{path}?vanaf=1")).await,
        404,
        "http.not-found",
    );
    let list = hub.get(ABONNEMENTEN).await.json();
    let ids: Vec<&str> = list["abonnementen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id_c.as_str()]);
    let seen = r.attempts().len();
    let m7 = hub.send(&meting("dl-m7", "0363", 7)).await;
    eventually("the other subscription got m7", || {
        control.accepted_ids().contains(&m7.id)
    })
    .await;
    // Give a delivery that must not happen the same chance again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        r.attempts().len(),
        seen,
        "a removed subscription got a delivery"
    );
    assert_eq!(
        control.accepted_ids(),
        vec!["dl-m1", "dl-m2", "dl-m3", "dl-m4", "dl-m5", "dl-m6", "dl-m7"],
        "the other subscription is unaffected by the dead letters and replays"
    );
}

/// The status's cursor means "every message up to here is delivered or
/// dead-lettered" (src/api/abonnementen.rs). A replay from beyond the
/// cursor must not break that: messages never delivered must not be
/// skipped silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_from_beyond_the_cursor_does_not_skip_undelivered_messages() {
    let hub = Hub::start(FAST_PUSH);
    let r = TestReceiver::start(Mode::Fail).await;
    let reg = hub.register(&r.url("/"), "0363", &[]).await;
    let id = reg["id"].as_str().unwrap().to_string();
    r.set_secret(reg["secret"].as_str().unwrap());
    let posted = [
        hub.send(&meting("rf-1", "0363", 1)).await,
        hub.send(&meting("rf-2", "0363", 2)).await,
        hub.send(&meting("rf-3", "0363", 3)).await,
    ];
    // Stuck at rf-1 (the receiver is down); then a replay from rf-3.
    eventually("two failed attempts", || r.attempts_in(Mode::Fail) >= 2).await;
    let reply = hub
        .post_empty(&format!(
            "{ABONNEMENTEN}/{id}/replay?vanaf={}",
            posted[2].volgnummer
        ))
        .await;
    r.set_mode(Mode::Accept);
    if reply.status == 400 {
        return; // refusing a replay that would skip messages is fine too
    }
    assert_eq!(reply.status, 202, "{}", reply.text());
    let s = hub
        .wait_status(&id, "drained", |s| s["achterstand"] == 0)
        .await;
    let delivered: HashSet<String> = r.accepted_ids().into_iter().collect();
    let dead: HashSet<String> = s["dode_brieven"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["bericht_id"].as_str().unwrap().to_string())
        .collect();
    let lost: Vec<&str> = posted
        .iter()
        .filter(|p| p.volgnummer <= s["cursor"].as_u64().unwrap())
        .map(|p| p.id.as_str())
        .filter(|id| !delivered.contains(*id) && !dead.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "replay?vanaf={} skipped {lost:?}: neither delivered nor dead-lettered, \
         yet behind the cursor (status {s:#}; delivered {delivered:?})",
        posted[2].volgnummer
    );
}

// ---------------------------------------------------------------------------
// 5. Delivery state across a clean restart
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_restart_resumes_push_without_delivering_twice() {
    let mut hub = Hub::start(FAST_PUSH);
    let r = TestReceiver::start(Mode::Accept).await;
    let reg = hub.register(&r.url("/inbox"), "0363", &[]).await;
    let id = reg["id"].as_str().unwrap().to_string();
    r.set_secret(reg["secret"].as_str().unwrap());

    let mut posted = Vec::new();
    let mut n = 0u32;
    for round in 0..3 {
        for _ in 0..3 {
            n += 1;
            posted.push(hub.send(&meting(&format!("rs-{n}"), "0363", n)).await);
        }
        hub.send(&meting(&format!("rs-0599-{round}"), "0599", 70 + round))
            .await;
        let last = posted.last().map(|p: &Posted| p.volgnummer).unwrap();
        hub.wait_status(&id, "delivered", |s| {
            s["achterstand"] == 0 && s["cursor"] == last
        })
        .await;
        eventually("the receiver has them", || r.counts().len() == posted.len()).await;
        if round < 2 {
            hub.restart();
            let s = hub.status(&id).await;
            assert_eq!(s["cursor"], last, "the cursor survives a clean restart");
            assert_eq!(s["achterstand"], 0);
        }
    }
    let ids: Vec<String> = r.first_receipts().into_iter().map(|d| d.id).collect();
    let want: Vec<String> = posted.iter().map(|p| p.id.clone()).collect();
    assert_eq!(ids, want);
    let twice: Vec<_> = r.counts().into_iter().filter(|(_, c)| *c != 1).collect();
    assert!(
        twice.is_empty(),
        "delivered more than once after a clean restart: {twice:?}"
    );
    assert_eq!(
        r.attempts().len(),
        posted.len(),
        "no failed or repeated attempts"
    );
    assert!(r.bad_signatures().is_empty());
}

// ---------------------------------------------------------------------------
// 6. Receiver addresses: no probing of loopback and private networks
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_on_private_addresses_are_refused_unless_allowed() {
    let mut hub = Hub::start_strict(FAST_PUSH);
    let r = TestReceiver::start(Mode::Accept).await;
    let port = r.addr.port();
    for (url, rule) in [
        (r.url("/inbox"), "loopback"),
        (format!("http://localhost:{port}/"), "localhost"),
        (format!("http://[::1]:{port}/"), "loopback"),
        (format!("http://[::ffff:127.0.0.1]:{port}/"), "loopback"),
        // 127.0.0.1 as one number.
        (format!("http://2130706433:{port}/"), "loopback"),
        ("http://10.1.2.3/".to_string(), "private"),
        ("http://100.64.0.1/".to_string(), "shared address space"),
        (
            "http://169.254.169.254/latest/meta-data".to_string(),
            "link-local",
        ),
        ("http://[fd00::1]/".to_string(), "unique local"),
        ("http://0.0.0.0:22/".to_string(), "unspecified"),
    ] {
        let reply = hub
            .post_json(ABONNEMENTEN, &json!({ "url": url, "gemeente": "0363" }))
            .await;
        problem(&reply, 400, "http.ontvanger-adres");
        let text = reply.text();
        assert!(
            text.contains(rule) && text.contains("--allow-private-receivers"),
            "{url}: the refusal names the rule and the flag: {text}"
        );
    }
    let list = hub.get(ABONNEMENTEN).await.json();
    assert_eq!(list["abonnementen"], json!([]), "nothing was stored");
    // A public name is fine (nothing is sent: 0599 has no messages).
    hub.register("https://kvs.example.nl/ladderpost", "0599", &[])
        .await;

    // With the flag, the loopback receiver is registered and delivered to.
    hub.extra.push(LOCAL_RECEIVERS.to_string());
    hub.restart();
    let reg = hub.register(&r.url("/inbox"), "0363", &[]).await;
    r.set_secret(reg["secret"].as_str().unwrap());
    hub.send(&meting("ra-1", "0363", 1)).await;
    eventually("delivery to the loopback receiver", || {
        r.accepted_ids() == ["ra-1"]
    })
    .await;
}

/// Registered while allowed, then the flag is gone (or a name now resolves
/// to loopback): deliveries are refused before connecting, by IP literal
/// and by the resolver, with one reason whether or not anything listens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_to_private_addresses_are_refused_without_the_flag() {
    let mut hub = Hub::start(FAST_PUSH);
    let r = TestReceiver::start(Mode::Accept).await;
    let listening = r.addr.port();
    let silent = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut ids = Vec::new();
    for url in [
        format!("http://127.0.0.1:{listening}/a"),
        format!("http://127.0.0.1:{silent}/a"),
        // Names go through the resolver, which drops loopback addresses.
        format!("http://localhost:{listening}/b"),
        format!("http://localhost:{silent}/b"),
    ] {
        // No secret set: a delivery that got through would be a 401.
        let reg = hub.register(&url, "0363", &[]).await;
        ids.push(reg["id"].as_str().unwrap().to_string());
    }
    hub.extra.retain(|f| f != LOCAL_RECEIVERS);
    hub.restart();
    hub.send(&meting("rb-1", "0363", 1)).await;
    let mut reasons = Vec::new();
    for id in &ids {
        let s = hub
            .wait_status(id, "a refused delivery", |s| {
                s["pogingen"].as_u64() >= Some(2)
            })
            .await;
        assert_eq!(s["cursor"], 0, "{s:#}");
        reasons.push(
            s["laatste_fout"]["omschrijving"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    for reason in &reasons {
        assert!(
            reason.starts_with("refused: ") && reason.contains("--allow-private-receivers"),
            "{reasons:#?}"
        );
    }
    assert_eq!(reasons[0], reasons[1], "port state shows (IP literal)");
    assert_eq!(reasons[2], reasons[3], "port state shows (name)");
    assert!(r.attempts().is_empty(), "the receiver was reached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed() {
    let hub = Hub::start(FAST_PUSH);
    let target = TestReceiver::start(Mode::Accept).await;
    let redirect = TestReceiver::start(Mode::Redirect(target.addr)).await;
    let reg = hub.register(&redirect.url("/"), "0363", &[]).await;
    let id = reg["id"].as_str().unwrap().to_string();
    target.set_secret(reg["secret"].as_str().unwrap());
    hub.send(&meting("rd-1", "0363", 1)).await;
    let s = hub
        .wait_status(&id, "a failed delivery", |s| {
            s["pogingen"].as_u64() >= Some(2)
        })
        .await;
    assert_eq!(
        s["laatste_fout"]["omschrijving"], "the receiver answered HTTP 307",
        "{s:#}"
    );
    assert!(target.attempts().is_empty(), "the redirect was followed");
}

// ---------------------------------------------------------------------------
// 7. Conformance kit
// ---------------------------------------------------------------------------

fn conformance(target: &str, secret: &str) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .args(["conformance", "--target", target, "--secret", secret])
        .output()
        .expect("run ladderpost conformance");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_passes_against_the_reference_receiver() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = ladderpost::delivery::signature::Secret::generate()
        .unwrap()
        .encode();
    let out = dir.path().join("inbox");
    let receiver = ReceiveChild::start("127.0.0.1:0", &secret, &out);
    let target = receiver.url();
    let s = secret.clone();
    let (code, stdout) = tokio::task::spawn_blocking(move || conformance(&target, &s))
        .await
        .unwrap();
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("8 passed, 0 failed"), "{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("PASS")).count(),
        8,
        "{stdout}"
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
    // Stored the three good messages once each, the repeat not again.
    let inbox = read_inbox(&out);
    assert_eq!(inbox.names.len(), 3, "{:?}", inbox.names);
    assert_eq!(inbox.log.len(), 3, "{:?}", inbox.log);
    let numbers: Vec<u64> = inbox.log.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, vec![1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_fails_against_a_receiver_that_accepts_bad_signatures() {
    let broken = TestReceiver::start(Mode::AcceptAnything).await;
    let secret = ladderpost::delivery::signature::Secret::generate()
        .unwrap()
        .encode();
    let target = broken.url("/");
    let (code, stdout) = tokio::task::spawn_blocking(move || conformance(&target, &secret))
        .await
        .unwrap();
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("4 passed, 4 failed"), "{stdout}");
    let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(failed.len(), 4, "{stdout}");
    for case in [
        "wrong signature",
        "stale",
        "without signature headers",
        "different body",
    ] {
        assert!(
            failed.iter().any(|l| l.contains(case)),
            "no FAIL line for {case:?}:\n{stdout}"
        );
    }
    // It did get all eight requests.
    assert_eq!(broken.attempts().len(), 8);
}

/// Schema 1.1: a 1.1 message reaches a reader that declared 1.0 (feed
/// request, push subscription, history) without what 1.1 added, valid
/// against the 1.0 XSD; every other reader gets it as received.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_1_message_reaches_1_0_readers_valid_against_the_1_0_xsd() {
    const V1_0: &str = "participatieladder-v1.xsd";
    const V1_1: &str = "participatieladder-v1.1.xsd";
    let hub = Hub::start(FAST_PUSH);
    let oud = TestReceiver::start(Mode::Accept).await;
    let nieuw = TestReceiver::start(Mode::Accept).await;
    let body = json!({ "url": oud.url("/oud"), "gemeente": "0014", "versie": "1.0" });
    let reg = hub.post_json(ABONNEMENTEN, &body).await;
    assert_eq!(reg.status, 201, "{}", reg.text());
    let reg = reg.json();
    assert_eq!(reg["versie"], "1.0");
    oud.set_secret(reg["secret"].as_str().unwrap());
    let reg_nieuw = hub.register(&nieuw.url("/nieuw"), "0014", &[]).await;
    assert!(reg_nieuw.get("versie").is_none(), "{reg_nieuw}");
    nieuw.set_secret(reg_nieuw["secret"].as_str().unwrap());
    let bad = json!({ "url": oud.url("/x"), "gemeente": "0014", "versie": "2.0" });
    let refused = hub.post_json(ABONNEMENTEN, &bad).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(refused.text().contains("versie"), "{}", refused.text());

    let path = common::root().join("fixtures/valid/meting-0014-trede5-instrumenten.xml");
    let xml = std::fs::read_to_string(path).expect("fixture");
    let ack = hub.post_xml(&xml).await;
    assert_eq!(ack.status, 201, "{}", ack.text());
    let oud_bericht = hub.send(&meting("v10-m1", "0014", 3)).await;

    // Feed: the 1.0 reader's page is valid against 1.0 and has no 1.1
    // element; the default page is the latest, with the message as sent.
    let page_1_0 = hub.get("/api/v1/feed?gemeente=0014&versie=1.0").await;
    assert_eq!(page_1_0.status, 200, "{}", page_1_0.text());
    common::xmllint(&page_1_0.body, V1_0).unwrap_or_else(|e| panic!("{e}\n{}", page_1_0.text()));
    assert!(!page_1_0.text().contains("Instrumenten"));
    assert!(!page_1_0.text().contains("versie=\"1.1\""));
    let latest = hub.get("/api/v1/feed?gemeente=0014").await;
    common::xmllint(&latest.body, V1_1).unwrap_or_else(|e| panic!("{e}\n{}", latest.text()));
    assert!(
        common::xmllint(&latest.body, V1_0).is_err(),
        "the 1.1 page is not 1.0"
    );
    let p = page(&latest.body);
    assert_eq!(p.items.len(), 2);
    assert_eq!(p.items[0].raw, root_element(&xml), "as received");
    assert_eq!(p.items[1].raw, root_element(&oud_bericht.xml));
    // A page of 1.0 messages only says 1.0, for readers that never declared.
    let only_old = hub
        .get(&format!(
            "/api/v1/feed?gemeente=0014&na={}",
            p.items[0].volgnummer
        ))
        .await;
    common::xmllint(&only_old.body, V1_0).unwrap_or_else(|e| panic!("{e}\n{}", only_old.text()));
    let wrong = hub.get("/api/v1/feed?gemeente=0014&versie=1").await;
    assert_eq!(wrong.status, 400, "{}", wrong.text());

    // History, the same way.
    let history = hub
        .get("/api/v1/clienten/184736298/metingen?versie=1.0")
        .await;
    assert_eq!(history.status, 200, "{}", history.text());
    common::xmllint(&history.body, V1_0).unwrap_or_else(|e| panic!("{e}\n{}", history.text()));
    assert!(!history.text().contains("Instrumenten"));
    let history = hub.get("/api/v1/clienten/184736298/metingen").await;
    common::xmllint(&history.body, V1_1).unwrap_or_else(|e| panic!("{e}\n{}", history.text()));
    assert!(history.text().contains("<Instrumenten>"));

    // Push: signed and delivered in order to both; bodies as their readers need.
    eventually("both delivered to the 1.0 receiver", || {
        oud.accepted().len() >= 2
    })
    .await;
    eventually("both delivered to the latest receiver", || {
        nieuw.accepted().len() >= 2
    })
    .await;
    assert!(oud.bad_signatures().is_empty() && nieuw.bad_signatures().is_empty());
    let oud_push = oud.accepted();
    common::xmllint(&oud_push[0].body, V1_0)
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&oud_push[0].body)));
    let sent = String::from_utf8(oud_push[0].body.clone()).unwrap();
    assert!(!sent.contains("Instrumenten") && sent.contains("versie=\"1.0\""));
    assert_eq!(
        oud_push[1].body,
        oud_bericht.xml.as_bytes(),
        "a 1.0 message as received"
    );
    assert_eq!(nieuw.accepted()[0].body, xml.as_bytes(), "as received");
}

/// Data minimisation: a reader that declared the optional parts it does
/// not need (per feed or history request, per subscription) gets messages
/// without them, still valid against the schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_gets_messages_without_the_parts_it_left_out() {
    let hub = Hub::start(FAST_PUSH);
    let receiver = TestReceiver::start(Mode::Accept).await;
    let body = json!({
        "url": receiver.url("/minimaal"),
        "gemeente": "0363",
        "weglaten": ["Adres", "Toelichting", "Adres"],
    });
    let reg = hub.post_json(ABONNEMENTEN, &body).await;
    assert_eq!(reg.status, 201, "{}", reg.text());
    let reg = reg.json();
    assert_eq!(reg["weglaten"], json!(["Adres", "Toelichting"]));
    receiver.set_secret(reg["secret"].as_str().unwrap());
    let bad = json!({ "url": receiver.url("/x"), "gemeente": "0363", "weglaten": ["Bsn"] });
    let refused = hub.post_json(ABONNEMENTEN, &bad).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        refused.text().contains("Adres"),
        "names what can be left out: {}",
        refused.text()
    );

    let path = common::root().join("fixtures/valid/meting-0363-trede3-groei.xml");
    let xml = std::fs::read_to_string(path).expect("fixture");
    let ack = hub.post_xml(&xml).await;
    assert_eq!(ack.status, 201, "{}", ack.text());
    let address = ["Van Woustraat", "1073 LS"];
    let text = "schuldhulpverlening";
    assert!(address.iter().all(|a| xml.contains(a)) && xml.contains(text));

    let minimal = hub
        .get("/api/v1/feed?gemeente=0363&weglaten=Adres,Toelichting,Klantkenmerken")
        .await;
    assert_eq!(minimal.status, 200, "{}", minimal.text());
    common::xmllint(&minimal.body, "participatieladder-v1.xsd")
        .unwrap_or_else(|e| panic!("{e}\n{}", minimal.text()));
    let page = minimal.text();
    assert!(
        address.iter().all(|a| !page.contains(a)) && !page.contains(text),
        "{page}"
    );
    assert!(!page.contains("<Klantkenmerken>") && page.contains("<Subgroepen>"));
    let full = hub.get("/api/v1/feed?gemeente=0363").await;
    assert!(full.text().contains(text), "without weglaten: everything");
    let history = hub
        .get("/api/v1/clienten/233426784/metingen?weglaten=Adres")
        .await;
    assert_eq!(history.status, 200, "{}", history.text());
    assert!(!history.text().contains("1073 LS") && history.text().contains(text));
    let wrong = hub.get("/api/v1/feed?gemeente=0363&weglaten=Client").await;
    assert_eq!(wrong.status, 400, "{}", wrong.text());

    eventually("delivered", || !receiver.accepted().is_empty()).await;
    assert!(
        receiver.bad_signatures().is_empty(),
        "signed over the body as sent"
    );
    let pushed = receiver.accepted()[0].body.clone();
    common::xmllint(&pushed, "participatieladder-v1.xsd")
        .unwrap_or_else(|e| panic!("{e}\n{}", String::from_utf8_lossy(&pushed)));
    let pushed = String::from_utf8(pushed).unwrap();
    assert!(address.iter().all(|a| !pushed.contains(a)) && !pushed.contains(text));
    assert!(
        pushed.contains("<Klantkenmerken>"),
        "only what the subscription left out"
    );
}
