//! The persistence contract, at the level of the traits: what every engine
//! behind [`Store`], [`DeliveryStore`] and [`AuthStore`] must do, checked
//! the same way for each (docs/storage.md states the guarantees). The API
//! tests check much of this through HTTP for the engine `serve` runs; this
//! suite holds every engine to exactly the same behaviour.
//!
//! Each test runs its body once per entry of [`engines`], on a fresh, empty
//! store opened through `store::open` only, and names the engine in every
//! assertion message. An engine joins with one entry there: a name and a
//! function giving a fresh store ([`Tested`]: its `Config` and whatever
//! keeps it alive — for sled a temporary directory; for PostgreSQL a
//! database of its own on the server `LADDERPOST_TEST_POSTGRES` names,
//! dropped with it (`common::postgres`). Reopening (close, drop
//! every handle, `open` the same `Config` again) is how persistence is
//! checked, so the function must give a store that can be opened again.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ladderpost::store::auth::{
    AuditEntry, AuditQuery, AuthStore, Machtiging, Organisatie, Rol, Sleutel,
};
use ladderpost::store::delivery::{Abonnement, Afleverstand, DeliveryStore, DodeBrief, Fout};
use ladderpost::store::tijdlijn::Tijdlijn;
use ladderpost::store::{
    self, Config, Decision, Incoming, Opened, Outcome, Receipt, Sender, Soort, Store, StoreError,
    Stored,
};
use ladderpost::time::Moment;
use ladderpost::Code;

use crate::common;
use common::messages::{bsn, Bericht};

/// Long enough for a loaded machine; only reached when something is wrong.
const PATIENCE: Duration = Duration::from_secs(60);

/// An engine under contract: its name and how to get a fresh, empty store.
struct Engine {
    name: &'static str,
    fresh: Box<dyn Fn() -> Tested>,
}

/// Every engine the contract holds.
fn engines() -> Vec<Engine> {
    let mut engines = vec![Engine {
        name: "sled",
        fresh: Box::new(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            Tested::new("sled", Config::sled(dir.path().join("data")), Box::new(dir))
        }),
    }];
    // PostgreSQL, on a database of its own per store, when a server is
    // named (always under CI: common::postgres).
    if std::env::var_os("LADDERPOST_TEST_POSTGRES").is_some() || std::env::var_os("CI").is_some() {
        engines.push(Engine {
            name: "postgres",
            fresh: Box::new(|| {
                let db = common::postgres::database().expect("a PostgreSQL server");
                let config = Config {
                    engine: ladderpost::store::Engine::Postgres(db.url.clone()),
                    ..Config::sled("unused")
                };
                Tested::new("postgres", config, Box::new(db))
            }),
        });
    }
    engines
}

/// One fresh store of one engine, open.
struct Tested {
    name: &'static str,
    config: Config,
    /// `None` only while reopening. Declared before `_keep`, so the store
    /// is closed before what it lives in goes.
    opened: Option<Opened>,
    /// Whether the test closed it already (`close` is called once).
    closed: bool,
    _keep: Box<dyn std::any::Any + Send + Sync>,
}

impl Tested {
    fn new(
        name: &'static str,
        config: Config,
        keep: Box<dyn std::any::Any + Send + Sync>,
    ) -> Tested {
        let opened = store::open(&config).unwrap_or_else(|e| panic!("{name}: open: {e}"));
        Tested {
            name,
            config,
            opened: Some(opened),
            closed: false,
            _keep: keep,
        }
    }

    fn opened(&self) -> &Opened {
        self.opened.as_ref().expect("open")
    }

    fn store(&self) -> &Arc<dyn Store> {
        &self.opened().messages
    }

    fn delivery(&self) -> &Arc<dyn DeliveryStore> {
        &self.opened().delivery
    }

    fn auth(&self) -> &Arc<dyn AuthStore> {
        &self.opened().auth
    }

    fn close(&mut self) {
        let name = self.name;
        self.store()
            .close()
            .unwrap_or_else(|e| panic!("{name}: close: {e}"));
        self.closed = true;
    }

    /// Closes the store (unless closed), drops every handle and opens it
    /// again. The test must hold no handle of its own.
    fn reopen(&mut self) {
        let name = self.name;
        if !self.closed {
            self.close();
        }
        let opened = self.opened.take().expect("open");
        let weak = (
            Arc::downgrade(&opened.messages),
            Arc::downgrade(&opened.delivery),
            Arc::downgrade(&opened.auth),
        );
        drop(opened);
        assert!(
            weak.0.upgrade().is_none() && weak.1.upgrade().is_none() && weak.2.upgrade().is_none(),
            "{name}: the test still holds a handle"
        );
        self.closed = false;
        self.opened =
            Some(store::open(&self.config).unwrap_or_else(|e| panic!("{name}: reopen: {e}")));
    }

    /// Accepts a message and waits until its decision is durable, as the
    /// API does before answering.
    async fn put(&self, from: &Sender, bytes: &[u8]) -> Result<Outcome, StoreError> {
        let decision = self.store().accept(incoming(bytes, from)).await;
        self.settle(decision).await
    }

    async fn settle(&self, decision: Decision) -> Result<Outcome, StoreError> {
        if let Some(commit) = decision.commit {
            self.store()
                .durable(commit)
                .await
                .unwrap_or_else(|e| panic!("{}: durable({commit:?}): {e}", self.name));
        }
        decision.result
    }

    async fn accepted(&self, from: &Sender, bytes: &[u8]) -> Receipt {
        match self.put(from, bytes).await {
            Ok(Outcome::Accepted(r)) => r,
            other => panic!("{}: expected Accepted, got {other:?}", self.name),
        }
    }

    async fn repeat(&self, from: &Sender, bytes: &[u8]) -> Receipt {
        match self.put(from, bytes).await {
            Ok(Outcome::Repeat(r)) => r,
            other => panic!("{}: expected Repeat, got {other:?}", self.name),
        }
    }

    /// Expects a refusal with `code` and returns its message; nothing new
    /// is stored.
    async fn refused(&self, from: &Sender, bytes: &[u8], code: Code) -> String {
        let before = self.count();
        let result = self.put(from, bytes).await;
        let message = match result {
            Err(StoreError::Rejected(m)) if m.code == code => m.message,
            other => panic!("{}: expected {}, got {other:?}", self.name, code.as_str()),
        };
        assert_eq!(
            self.count(),
            before,
            "{}: a refusal stores nothing",
            self.name
        );
        message
    }

    fn count(&self) -> u64 {
        self.store()
            .count()
            .unwrap_or_else(|e| panic!("{}: count: {e}", self.name))
    }

    fn messages(&self, id: &str) -> Vec<Stored> {
        self.store()
            .messages(id)
            .unwrap_or_else(|e| panic!("{}: messages: {e}", self.name))
    }

    /// The one stored message with this id.
    fn one(&self, id: &str) -> Stored {
        let mut found = self.messages(id);
        assert_eq!(found.len(), 1, "{}: messages({id})", self.name);
        found.remove(0)
    }

    fn feed(&self, gemeente: &str, after: u64, limit: usize) -> Vec<u64> {
        numbers(
            &self
                .store()
                .feed(gemeente, after, limit)
                .unwrap_or_else(|e| panic!("{}: feed: {e}", self.name)),
        )
    }

    fn backlog(&self, gemeente: &str, after: u64) -> u64 {
        self.store()
            .backlog(gemeente, after)
            .unwrap_or_else(|e| panic!("{}: backlog: {e}", self.name))
    }
}

/// A validated message from `from`, as the API hands it to the store.
fn incoming(bytes: &[u8], from: &Sender) -> Incoming {
    let valid = ladderpost::validate(bytes).expect("a valid message");
    let wortel = ladderpost::validate_schema(bytes)
        .expect("schema-valid")
        .root_span();
    Incoming {
        raw: bytes.to_vec(),
        document: valid.document,
        warnings: valid.warnings,
        wortel,
        sender: from.clone(),
    }
}

fn sender(organisatie: &str) -> Sender {
    Sender {
        organisatie: organisatie.into(),
        sleutel: format!("{organisatie}-sleutel"),
        namens: Vec::new(),
    }
}

fn numbers(stored: &[Stored]) -> Vec<u64> {
    stored.iter().map(|s| s.record.volgnummer).collect()
}

fn meting(id: &str, gemeente: &str, client: u64) -> Vec<u8> {
    Bericht::meting(id, gemeente, &bsn(client), "2024-03-08", 3).bytes()
}

fn correctie(id: &str, of: &str, gemeente: &str, client: u64) -> Vec<u8> {
    Bericht::correctie(id, of, gemeente, &bsn(client), "2024-03-08", 4).bytes()
}

fn intrekking(id: &str, of: &str, gemeente: &str, client: u64) -> Vec<u8> {
    Bericht::intrekking(id, of, gemeente, &bsn(client)).bytes()
}

fn fixture(file: &str) -> Vec<u8> {
    std::fs::read(common::root().join("fixtures/valid").join(file)).expect("fixture")
}

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {PATIENCE:?}"))
}

#[tokio::test]
async fn a_fresh_store_is_empty_and_ready() {
    for engine in engines() {
        let t = (engine.fresh)();
        let n = engine.name;
        assert_eq!(t.count(), 0, "{n}");
        assert_eq!(*t.store().changes().borrow(), 0, "{n}: watermark");
        assert!(t.store().ready().is_ok(), "{n}: ready");
        assert!(t.messages("X-1").is_empty(), "{n}");
        assert!(t.store().client(&bsn(1)).unwrap().is_empty(), "{n}");
        assert!(t.feed("0363", 0, 10).is_empty(), "{n}");
        assert_eq!(t.backlog("0363", 0), 0, "{n}");
        assert!(t.delivery().subscriptions().unwrap().is_empty(), "{n}");
        assert!(t.auth().organisations().unwrap().is_empty(), "{n}");
        assert!(t.auth().credentials().unwrap().is_empty(), "{n}");
        assert!(t.auth().authorisations().unwrap().is_empty(), "{n}");
        let all = AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        };
        assert!(t.auth().audit(&all).unwrap().is_empty(), "{n}");
    }
}

/// Every inbound fixture Meting (both namespace styles, with and without
/// warnings): the bytes come back exactly, with the record of what was
/// decided.
#[tokio::test]
async fn accepted_messages_read_back_byte_for_byte_with_their_record() {
    for engine in engines() {
        let t = (engine.fresh)();
        let n = engine.name;
        let from = sender("org-a");
        let files: Vec<_> = common::fixtures("valid")
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .starts_with("meting-")
            })
            .collect();
        assert!(files.len() >= 10, "the corpus has its Metingen");
        let mut last = Moment(0);
        for (i, path) in files.iter().enumerate() {
            let bytes = std::fs::read(path).unwrap();
            let valid = ladderpost::validate(&bytes).unwrap();
            let id = valid.document.bericht_id().unwrap().as_str().to_string();
            let receipt = t.accepted(&from, &bytes).await;
            let what = format!("{n}: {}", path.display());
            assert_eq!(receipt.bericht_id, id, "{what}");
            assert_eq!(receipt.volgnummer, i as u64 + 1, "{what}: numbered from 1");
            let codes: Vec<_> = receipt.waarschuwingen.iter().map(|w| &w.code).collect();
            let expected: Vec<_> = valid.warnings.iter().map(|w| w.code.as_str()).collect();
            assert_eq!(codes, expected, "{what}: warnings kept");
            assert!(receipt.ontvangen > last, "{what}: ontvangen increases");
            last = receipt.ontvangen;

            let stored = t.one(&id);
            assert_eq!(stored.raw, bytes, "{what}: bytes as received");
            let r = &stored.record;
            assert_eq!(r.receipt(), receipt, "{what}: the record is the receipt's");
            assert_eq!(r.soort, Soort::Meting, "{what}");
            assert_eq!(
                r.gemeente,
                valid.document.gemeente().unwrap().as_str(),
                "{what}"
            );
            assert_eq!(
                (r.verwijst_naar.as_ref(), r.vervangt),
                (None, None),
                "{what}"
            );
            assert_eq!(
                (
                    r.organisatie.as_str(),
                    r.sleutel.as_str(),
                    r.eigenaar.as_str()
                ),
                ("org-a", "org-a-sleutel", "org-a"),
                "{what}: sender kept"
            );
            assert!(r.meting.is_some(), "{what}: measurement kept");
            // Where the root element stands, as it came in.
            let span = ladderpost::validate_schema(&bytes).unwrap().root_span();
            assert_eq!(
                r.wortel,
                (span.start as u32, span.end as u32),
                "{what}: wortel"
            );
            let root = &bytes[span];
            assert!(
                root.starts_with(b"<") && root.ends_with(b"Meting>"),
                "{what}: wortel"
            );
        }
        assert_eq!(t.count(), files.len() as u64, "{n}");

        // A reply cannot be sent in, and takes no number.
        let reply = fixture("ontvangstbevestiging-0363-eenvoudig.xml");
        t.refused(&from, &reply, Code::BerichtSoort).await;
        let next = t.accepted(&from, &meting("NA-REPLY", "0363", 1)).await;
        assert_eq!(next.volgnummer, files.len() as u64 + 1, "{n}: no gap");
    }
}

#[tokio::test]
async fn numbering_is_gap_free_and_continues_after_reopen() {
    for engine in engines() {
        let mut t = (engine.fresh)();
        let n = engine.name;
        let a = sender("org-a");
        let first = meting("N-1", "0363", 1);
        assert_eq!(t.accepted(&a, &first).await.volgnummer, 1, "{n}");
        // Repeats and refusals take no number.
        t.repeat(&a, &first).await;
        t.refused(&a, &meting("N-1", "0363", 2), Code::BerichtConflict)
            .await;
        t.refused(
            &a,
            &correctie("N-X", "NOPE", "0363", 1),
            Code::ReferentieOnbekend,
        )
        .await;
        let second = t.accepted(&a, &meting("N-2", "0599", 2)).await;
        assert_eq!(second.volgnummer, 2, "{n}");

        t.reopen();
        assert_eq!(t.count(), 2, "{n}: count after reopen");
        assert_eq!(
            *t.store().changes().borrow(),
            2,
            "{n}: watermark after reopen"
        );
        let third = t.accepted(&a, &meting("N-3", "0363", 3)).await;
        assert_eq!(third.volgnummer, 3, "{n}: numbering continues");
        assert!(third.ontvangen > second.ontvangen, "{n}: ontvangen too");
        // What was decided before is decided the same way after.
        let again = t.repeat(&a, &first).await;
        assert_eq!(again, t.one("N-1").record.receipt(), "{n}");
        assert_eq!(again.volgnummer, 1, "{n}");
        t.refused(&a, &meting("N-2", "0363", 9), Code::BerichtConflict)
            .await;
        assert_eq!(t.feed("0363", 0, 10), [1, 3], "{n}");
        assert_eq!(t.feed("0599", 0, 10), [2], "{n}");
    }
}

#[tokio::test]
async fn a_repeat_gets_the_original_receipt_and_other_bytes_conflict() {
    for engine in engines() {
        let t = (engine.fresh)();
        let n = engine.name;
        let a = sender("org-a");
        // A Meting with warnings: a repeat gets them too.
        let bytes = fixture("meting-0518-trede2-traject-zonder-groei.xml");
        let id = ladderpost::validate(&bytes)
            .unwrap()
            .document
            .bericht_id()
            .unwrap()
            .as_str()
            .to_string();
        let original = t.accepted(&a, &bytes).await;
        assert_eq!(original.waarschuwingen.len(), 2, "{n}");
        assert_eq!(t.repeat(&a, &bytes).await, original, "{n}");
        // Ids are the organisation's, whichever of its credentials sends.
        let other_key = Sender {
            sleutel: "org-a-tweede".into(),
            ..a.clone()
        };
        assert_eq!(t.repeat(&other_key, &bytes).await, original, "{n}");
        // The same id with other bytes (even one byte more) conflicts.
        let mut longer = bytes.clone();
        longer.push(b'\n');
        t.refused(&a, &longer, Code::BerichtConflict).await;
        let stored = t.one(&id);
        assert_eq!(stored.raw, bytes, "{n}: the original stays");
        assert_eq!(stored.record.sleutel, "org-a-sleutel", "{n}");

        // A repeat decided before its original is durable: once the
        // repeat's own commit is durable, so is the original.
        let fresh = meting("R-2", "0363", 5);
        let d1 = t.store().accept(incoming(&fresh, &a)).await;
        let d2 = t.store().accept(incoming(&fresh, &a)).await;
        let Ok(Outcome::Accepted(r1)) = d1.result else {
            panic!("{n}: {d1:?}")
        };
        assert_eq!(
            t.settle(d2).await.unwrap(),
            Outcome::Repeat(r1.clone()),
            "{n}"
        );
        assert_eq!(t.one("R-2").record.volgnummer, r1.volgnummer, "{n}");
        assert!(
            *t.store().changes().borrow() >= r1.volgnummer,
            "{n}: watermark"
        );
        assert_eq!(t.count(), 2, "{n}");
    }
}

#[tokio::test]
async fn another_organisations_id_is_a_message_of_its_own() {
    for engine in engines() {
        let t = (engine.fresh)();
        let n = engine.name;
        let (a, b) = (sender("org-a"), sender("org-b"));
        let bytes = meting("S-1", "0363", 1);
        let ra = t.accepted(&a, &bytes).await;
        // Identical bytes, another sender: stored, not a repeat.
        let rb = t.accepted(&b, &bytes).await;
        assert_eq!((ra.volgnummer, rb.volgnummer), (1, 2), "{n}");
        let both = t.messages("S-1");
        assert_eq!(numbers(&both), [1, 2], "{n}: acceptance order");
        assert_eq!(both[0].record.organisatie, "org-a", "{n}");
        assert_eq!(both[1].record.organisatie, "org-b", "{n}");
        assert!(both.iter().all(|s| s.raw == bytes), "{n}");
        // Each sender's repeat is its own; each conflicts with its own.
        assert_eq!(t.repeat(&b, &bytes).await, rb, "{n}");
        assert_eq!(t.repeat(&a, &bytes).await, ra, "{n}");
        t.refused(&b, &meting("S-1", "0363", 2), Code::BerichtConflict)
            .await;
        // Ids are matched whole.
        t.accepted(&a, &meting("S-10", "0363", 1)).await;
        t.accepted(&a, &meting("S", "0363", 1)).await;
        assert_eq!(numbers(&t.messages("S-1")), [1, 2], "{n}");
        assert_eq!(numbers(&t.messages("S-10")), [3], "{n}");
        assert_eq!(numbers(&t.messages("S")), [4], "{n}");
        assert!(t.messages("S-").is_empty(), "{n}");
    }
}

#[tokio::test]
async fn a_correctie_and_an_intrekking_record_their_target() {
    for engine in engines() {
        let t = (engine.fresh)();
        let n = engine.name;
        let a = sender("org-a");
        let m = t.accepted(&a, &meting("C-M", "0363", 1)).await;
        let c = t.accepted(&a, &correctie("C-C", "C-M", "0363", 1)).await;
        let rc = t.one("C-C").record;
        assert_eq!(rc.soort, Soort::Correctie, "{n}");
        assert_eq!(rc.verwijst_naar.as_deref(), Some("C-M"), "{n}");
        assert_eq!(rc.vervangt, Some(m.volgnummer), "{n}");
        assert_eq!(rc.eigenaar, "org-a", "{n}");
        assert_eq!(rc.meting.as_ref().unwrap().trede, "4", "{n}");
        t.accepted(&a, &intrekking("C-I", "C-C", "0363", 1)).await;
        let ri = t.one("C-I").record;
        assert_eq!(ri.soort, Soort::Intrekking, "{n}");
        assert_eq!(ri.vervangt, Some(c.volgnummer), "{n}");
        assert_eq!(ri.meting, None, "{n}");

        // A decided message counts for the next decision before it is
        // durable (a Meting and its Correctie in quick succession).
        let d = t
            .store()
            .accept(incoming(&meting("Q-M", "0363", 2), &a))
            .await;
        let Ok(Outcome::Accepted(q)) = &d.result else {
            panic!("{n}: {d:?}")
        };
        let q = q.volgnummer;
        let next = t
            .store()
            .accept(incoming(&correctie("Q-C", "Q-M", "0363", 2), &a))
            .await;
        t.settle(next).await.unwrap();
        t.settle(d).await.unwrap();
        assert_eq!(t.one("Q-C").record.vervangt, Some(q), "{n}");

        // An organisation authorised by the owner may change its
        // measurement; the owner stays the owner, and may go on.
        let b = Sender {
            namens: vec!["org-a".into()],
            ..sender("org-b")
        };
        let m3 = t.accepted(&a, &meting("A-M", "0363", 3)).await;
        t.accepted(&b, &correctie("B-C", "A-M", "0363", 3)).await;
        let rb = t.one("B-C").record;
        assert_eq!(rb.vervangt, Some(m3.volgnummer), "{n}");
        assert_eq!(
            (rb.organisatie.as_str(), rb.eigenaar.as_str()),
            ("org-b", "org-a"),
            "{n}"
        );
        let b_c = rb.volgnummer;
        t.accepted(&a, &intrekking("A-I", "B-C", "0363", 3)).await;
        assert_eq!(t.one("A-I").record.vervangt, Some(b_c), "{n}");
        // With a message of its own under that id, the sender means its own.
        t.accepted(&a, &meting("D-1", "0363", 4)).await;
        let own = t.accepted(&b, &meting("D-1", "0363", 4)).await;
        t.accepted(&b, &correctie("B-D", "D-1", "0363", 4)).await;
        assert_eq!(t.one("B-D").record.vervangt, Some(own.volgnummer), "{n}");
    }
}

#[tokio::test]
async fn every_reference_rule_refuses_with_its_code() {
    for engine in engines() {
        let t = (engine.fresh)();
        let n = engine.name;
        let (a, b) = (sender("org-a"), sender("org-b"));
        t.accepted(&a, &meting("M1", "0363", 1)).await;
        t.accepted(&a, &meting("M2", "0363", 2)).await;
        use Code::{
            ReferentieAndereClient, ReferentieOnbekend, ReferentieSoort, ReferentieVervallen,
        };

        let unknown = t
            .refused(&a, &correctie("X1", "NOPE", "0363", 1), ReferentieOnbekend)
            .await;
        t.refused(&a, &intrekking("X2", "NOPE", "0363", 1), ReferentieOnbekend)
            .await;
        // Another municipality's message, and one of another organisation
        // that did not authorise the sender, look unknown — worded alike.
        t.refused(&a, &correctie("X3", "M1", "0599", 1), ReferentieOnbekend)
            .await;
        let foreign = t
            .refused(&b, &correctie("X1", "M1", "0363", 1), ReferentieOnbekend)
            .await;
        assert_eq!(
            foreign.replace("M1", "?"),
            unknown.replace("NOPE", "?"),
            "{n}: nothing leaks"
        );
        t.refused(&b, &intrekking("X4", "M1", "0363", 1), ReferentieOnbekend)
            .await;
        // The sender's own message, about another client.
        t.refused(
            &a,
            &correctie("X5", "M1", "0363", 2),
            ReferentieAndereClient,
        )
        .await;
        t.refused(
            &a,
            &intrekking("X6", "M1", "0363", 2),
            ReferentieAndereClient,
        )
        .await;
        // Only the current version can be changed.
        t.accepted(&a, &correctie("C1", "M1", "0363", 1)).await;
        t.refused(&a, &correctie("X7", "M1", "0363", 1), ReferentieVervallen)
            .await;
        t.refused(&a, &intrekking("X8", "M1", "0363", 1), ReferentieVervallen)
            .await;
        t.accepted(&a, &intrekking("I1", "C1", "0363", 1)).await;
        t.refused(&a, &correctie("X9", "C1", "0363", 1), ReferentieVervallen)
            .await;
        // An Intrekking cannot be corrected or withdrawn.
        t.refused(&a, &correctie("X10", "I1", "0363", 1), ReferentieSoort)
            .await;
        t.refused(&a, &intrekking("X11", "I1", "0363", 1), ReferentieSoort)
            .await;
        // Two organisations that authorised the sender each sent this id:
        // ambiguous, refused.
        let c = Sender {
            namens: vec!["org-a".into(), "org-b".into()],
            ..sender("org-c")
        };
        t.accepted(&b, &meting("M2", "0363", 2)).await;
        t.refused(&c, &correctie("X12", "M2", "0363", 2), ReferentieOnbekend)
            .await;
        assert_eq!(t.count(), 5, "{n}: only the accepted are stored");
        assert_eq!(t.feed("0363", 0, 10), [1, 2, 3, 4, 5], "{n}: no gaps");
    }
}

#[tokio::test]
async fn client_lists_every_message_about_one_client_in_order() {
    for engine in engines() {
        let t = (engine.fresh)();
        let n = engine.name;
        let (a, b) = (sender("org-a"), sender("org-b"));
        let sent = [
            (&a, meting("K1", "0363", 1)),
            (&a, meting("K2", "0363", 2)),
            (&b, meting("K3", "0599", 1)),
            (&a, correctie("K4", "K1", "0363", 1)),
            (&b, meting("K5", "0599", 2)),
            (&b, intrekking("K6", "K3", "0599", 1)),
        ];
        for (from, bytes) in &sent {
            t.accepted(from, bytes).await;
        }
        let one = t.store().client(&bsn(1)).unwrap();
        assert_eq!(numbers(&one), [1, 3, 4, 6], "{n}");
        for s in &one {
            let i = s.record.volgnummer as usize - 1;
            assert_eq!(s.raw, sent[i].1, "{n}: bytes of {}", s.record.bericht_id);
            assert_eq!(s.record.bsn, bsn(1), "{n}");
        }
        let soorten: Vec<_> = one.iter().map(|s| s.record.soort).collect();
        assert_eq!(
            soorten,
            [
                Soort::Meting,
                Soort::Meting,
                Soort::Correctie,
                Soort::Intrekking
            ],
            "{n}"
        );
        assert_eq!(numbers(&t.store().client(&bsn(2)).unwrap()), [2, 5], "{n}");
        assert!(t.store().client(&bsn(3)).unwrap().is_empty(), "{n}");
    }
}

#[tokio::test]
async fn the_feed_pages_one_municipality_in_order() {
    for engine in engines() {
        let t = (engine.fresh)();
        let n = engine.name;
        let a = sender("org-a");
        let mut ours = Vec::new();
        for i in 0..12u64 {
            let gemeente = if i % 3 == 1 { "0599" } else { "0363" };
            let bytes = meting(&format!("F-{i}"), gemeente, i);
            let r = t.accepted(&a, &bytes).await;
            if gemeente == "0363" {
                ours.push((r.volgnummer, bytes));
            }
        }
        let all: Vec<u64> = ours.iter().map(|(v, _)| *v).collect();
        let feed = t.store().feed("0363", 0, 100).unwrap();
        assert_eq!(numbers(&feed), all, "{n}: one municipality, in order");
        for (s, (_, bytes)) in feed.iter().zip(&ours) {
            assert_eq!(&s.raw, bytes, "{n}");
            assert_eq!(s.record.gemeente, "0363", "{n}");
        }
        assert_eq!(t.feed("0599", 0, 100), [2, 5, 8, 11], "{n}");
        // `after` is any number, of this municipality or not.
        assert_eq!(t.feed("0363", 3, 100), all[2..], "{n}");
        assert_eq!(t.feed("0363", 2, 100), all[1..], "{n}");
        assert_eq!(t.feed("0363", 3, 2), all[2..4], "{n}: limit");
        assert!(t.feed("0363", 3, 0).is_empty(), "{n}: limit 0");
        assert!(
            t.feed("0363", 12, 10).is_empty(),
            "{n}: nothing after the last"
        );
        assert!(t.feed("0363", u64::MAX, 10).is_empty(), "{n}");
        assert!(t.feed("9999", 0, 10).is_empty(), "{n}");
        assert!(
            t.feed("036", 0, 10).is_empty(),
            "{n}: codes are matched whole"
        );
        // Paging by the last number read gets everything once.
        let (mut paged, mut cursor) = (Vec::new(), 0);
        loop {
            let page = t.feed("0363", cursor, 3);
            let Some(&last) = page.last() else { break };
            paged.extend(page);
            cursor = last;
        }
        assert_eq!(paged, all, "{n}: paging");
        // The backlog counts what the feed would give.
        assert_eq!(t.backlog("0363", 0), all.len() as u64, "{n}");
        assert_eq!(t.backlog("0363", 3), all.len() as u64 - 2, "{n}");
        assert_eq!(t.backlog("0363", 12), 0, "{n}");
        assert_eq!(t.backlog("0599", 5), 2, "{n}");
        assert_eq!(t.backlog("9999", 0), 0, "{n}");
    }
}

/// Readers never see a message beyond the watermark, which only moves on
/// when messages are durable: every number a reader returns is at most the
/// watermark read after it. Checked by a reader thread while writers run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_pass_the_watermark_and_it_moves_once_durable() {
    for engine in engines() {
        let t = Arc::new((engine.fresh)());
        let n = engine.name;
        let mut watch = t.store().changes();
        assert_eq!(*watch.borrow_and_update(), 0, "{n}");
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (t, done) = (t.clone(), done.clone());
            std::thread::spawn(move || {
                let (store, name) = (t.store().clone(), t.name);
                let changes = store.changes();
                let mut seen = 0;
                let mut rounds = 0u64;
                while !done.load(std::sync::atomic::Ordering::SeqCst) || rounds == 0 {
                    rounds += 1;
                    let feed = numbers(&store.feed("0363", 0, usize::MAX).unwrap());
                    let client = numbers(&store.client(&bsn(7)).unwrap());
                    let ids = numbers(&store.messages("W-0-3").unwrap());
                    let (count, backlog) =
                        (store.count().unwrap(), store.backlog("0363", 0).unwrap());
                    let mark = *changes.borrow();
                    assert!(mark >= seen, "{name}: the watermark went back");
                    seen = mark;
                    let highest = feed.iter().chain(&client).chain(&ids).max().copied();
                    assert!(
                        highest.unwrap_or(0) <= mark && count <= mark && backlog <= mark,
                        "{name}: a reader saw {highest:?} (count {count}, backlog {backlog}) beyond the watermark {mark}"
                    );
                    assert_eq!(
                        feed,
                        (1..=feed.len() as u64).collect::<Vec<_>>(),
                        "{name}: gap-free"
                    );
                }
            })
        };
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let t = t.clone();
                tokio::spawn(async move {
                    let a = sender("org-a");
                    for i in 0..15 {
                        let bytes = meting(
                            &format!("W-{w}-{i}"),
                            "0363",
                            if i % 4 == 0 { 7 } else { w * 100 + i },
                        );
                        let d = t.store().accept(incoming(&bytes, &a)).await;
                        let commit = d.commit;
                        let Ok(Outcome::Accepted(r)) = d.result else {
                            panic!("{}: {d:?}", t.name)
                        };
                        if let Some(c) = commit {
                            t.store().durable(c).await.unwrap();
                        }
                        // Durable: readable, and the watermark has moved.
                        assert!(*t.store().changes().borrow() >= r.volgnummer, "{}", t.name);
                        assert_eq!(t.one(&r.bericht_id).record.volgnummer, r.volgnummer);
                    }
                })
            })
            .collect();
        // A waiter is woken as the watermark moves.
        within("the watermark reaching 60", watch.wait_for(|&v| v >= 60))
            .await
            .unwrap();
        for w in writers {
            w.await.unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        reader.join().unwrap();
        assert_eq!(*t.store().changes().borrow(), 60, "{n}");
        assert_eq!(t.count(), 60, "{n}");
    }
}

/// Many tasks at once, with repeats, conflicts and audit entries among
/// them: each message is stored exactly once, numbers are unique and
/// gap-free, and every audit entry is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_accepts_store_each_message_exactly_once() {
    const TASKS: usize = 8;
    const EACH: usize = 20;
    for engine in engines() {
        let t = Arc::new((engine.fresh)());
        let n = engine.name;
        let shared = meting("SHARED", "0363", 1);
        let tasks: Vec<_> = (0..TASKS)
            .map(|k| {
                let (t, shared) = (t.clone(), shared.clone());
                tokio::spawn(async move {
                    let a = sender("org-a");
                    let mut outcomes = Vec::new();
                    // The same message, and one id with bytes of each task's own.
                    outcomes.push(t.put(&a, &shared).await);
                    let contested = meting("CONTESTED", "0363", k as u64 + 10);
                    outcomes.push(t.put(&a, &contested).await);
                    for i in 0..EACH {
                        let bytes = meting(&format!("T{k}-{i}"), "0363", (k * 100 + i) as u64);
                        outcomes.push(t.put(&a, &bytes).await);
                        let entry = audit_entry("org-a", &format!("/taak/{k}/{i}"));
                        t.auth().append_audit(entry).await.unwrap();
                    }
                    (outcomes, contested)
                })
            })
            .collect();
        let mut receipts = Vec::new();
        let (mut shared_receipts, mut contested_winner, mut conflicts) = (Vec::new(), None, 0);
        for task in tasks {
            let (outcomes, contested) = within("a task", task).await.unwrap();
            let mut outcomes = outcomes.into_iter();
            match outcomes.next().unwrap() {
                Ok(Outcome::Accepted(r)) => {
                    receipts.push(r.clone());
                    shared_receipts.push(r);
                }
                Ok(Outcome::Repeat(r)) => shared_receipts.push(r),
                other => panic!("{n}: {other:?}"),
            }
            match outcomes.next().unwrap() {
                Ok(Outcome::Accepted(r)) => {
                    assert!(contested_winner.is_none(), "{n}: CONTESTED stored twice");
                    contested_winner = Some(contested);
                    receipts.push(r);
                }
                Err(StoreError::Rejected(m)) if m.code == Code::BerichtConflict => conflicts += 1,
                other => panic!("{n}: {other:?}"),
            }
            for o in outcomes {
                match o {
                    Ok(Outcome::Accepted(r)) => receipts.push(r),
                    other => panic!("{n}: {other:?}"),
                }
            }
        }
        let total = (TASKS * EACH + 2) as u64;
        assert_eq!(receipts.len() as u64, total, "{n}");
        assert!(
            shared_receipts.windows(2).all(|w| w[0] == w[1]),
            "{n}: one receipt for SHARED"
        );
        assert_eq!(conflicts, TASKS - 1, "{n}");
        assert_eq!(t.one("CONTESTED").raw, contested_winner.unwrap(), "{n}");
        let numbers: BTreeSet<u64> = receipts.iter().map(|r| r.volgnummer).collect();
        assert_eq!(numbers, (1..=total).collect(), "{n}: unique and gap-free");
        assert_eq!(t.count(), total, "{n}");
        assert_eq!(
            t.feed("0363", 0, usize::MAX),
            (1..=total).collect::<Vec<_>>(),
            "{n}"
        );
        for r in &receipts {
            assert_eq!(t.one(&r.bericht_id).record.volgnummer, r.volgnummer, "{n}");
        }
        let audit = t
            .auth()
            .audit(&AuditQuery {
                limit: 10_000,
                ..AuditQuery::default()
            })
            .unwrap();
        let routes: BTreeSet<_> = audit.iter().map(|e| e.route.clone()).collect();
        assert_eq!(
            (audit.len(), routes.len()),
            (TASKS * EACH, TASKS * EACH),
            "{n}: every audit entry once"
        );
        assert!(
            audit.windows(2).all(|w| w[0].tijdstip <= w[1].tijdstip),
            "{n}: audit in time order"
        );
    }
}

#[tokio::test]
async fn a_closed_store_refuses_writes_and_keeps_reads() {
    for engine in engines() {
        let mut t = (engine.fresh)();
        let n = engine.name;
        let a = sender("org-a");
        t.accepted(&a, &meting("Z-1", "0363", 1)).await;
        // Decided, not yet confirmed durable: close makes it so.
        let pending = t
            .store()
            .accept(incoming(&meting("Z-2", "0363", 2), &a))
            .await;
        assert!(
            matches!(pending.result, Ok(Outcome::Accepted(_))),
            "{n}: {pending:?}"
        );
        t.close();
        if let Some(commit) = pending.commit {
            within("durable after close", t.store().durable(commit))
                .await
                .unwrap_or_else(|e| panic!("{n}: durable after close: {e}"));
        }
        let refused = t
            .store()
            .accept(incoming(&meting("Z-3", "0363", 3), &a))
            .await;
        assert!(
            matches!(refused.result, Err(StoreError::Unavailable(_))),
            "{n}: {refused:?}"
        );
        assert_eq!(
            refused.commit, None,
            "{n}: a refusal to write waits for nothing"
        );
        assert!(
            matches!(t.store().ready(), Err(StoreError::Unavailable(_))),
            "{n}: ready"
        );
        let audit = t
            .auth()
            .append_audit(audit_entry("org-a", "/na-sluiten"))
            .await;
        assert!(
            matches!(audit, Err(StoreError::Unavailable(_))),
            "{n}: {audit:?}"
        );
        // Reads go on.
        assert_eq!(t.count(), 2, "{n}");
        assert_eq!(t.feed("0363", 0, 10), [1, 2], "{n}");
        assert_eq!(numbers(&t.messages("Z-2")), [2], "{n}");
        assert_eq!(numbers(&t.store().client(&bsn(1)).unwrap()), [1], "{n}");

        t.reopen();
        assert!(t.store().ready().is_ok(), "{n}: ready after reopen");
        assert_eq!(
            t.feed("0363", 0, 10),
            [1, 2],
            "{n}: close kept what it had decided"
        );
        assert!(t.messages("Z-3").is_empty(), "{n}");
        assert_eq!(
            t.accepted(&a, &meting("Z-3", "0363", 3)).await.volgnummer,
            3,
            "{n}"
        );
    }
}

#[tokio::test]
async fn messages_and_their_references_survive_a_reopen() {
    for engine in engines() {
        let mut t = (engine.fresh)();
        let n = engine.name;
        let a = sender("org-a");
        let sent = [
            meting("P-1", "0363", 1),
            fixture("meting-0344-trede6-met-ondersteuning.xml"),
            correctie("P-2", "P-1", "0363", 1),
            meting("P-3", "0599", 2),
        ];
        let mut receipts = Vec::new();
        for bytes in &sent {
            receipts.push(t.accepted(&a, bytes).await);
        }
        let before: Vec<_> = receipts.iter().map(|r| t.one(&r.bericht_id)).collect();
        t.reopen();
        for (s, bytes) in before.iter().zip(&sent) {
            let after = t.one(&s.record.bericht_id);
            assert_eq!(&after.raw, bytes, "{n}: bytes after reopen");
            assert_eq!(after.record, s.record, "{n}: record after reopen");
        }
        assert_eq!(numbers(&t.store().client(&bsn(1)).unwrap()), [1, 3], "{n}");
        assert_eq!(t.feed("0363", 0, 10), [1, 3], "{n}");
        assert_eq!(t.feed("0344", 0, 10), [2], "{n}");
        assert_eq!(t.backlog("0599", 0), 1, "{n}");
        // References resolve against what was stored before.
        t.refused(
            &a,
            &correctie("P-4", "P-1", "0363", 1),
            Code::ReferentieVervallen,
        )
        .await;
        t.accepted(&a, &intrekking("P-5", "P-2", "0363", 1)).await;
        assert_eq!(t.one("P-5").record.vervangt, Some(3), "{n}");
        t.accepted(&a, &correctie("P-6", "P-3", "0599", 2)).await;
        assert_eq!(t.one("P-6").record.vervangt, Some(4), "{n}");
    }
}

impl Tested {
    fn timeline(&self, client: u64) -> Option<Tijdlijn> {
        self.store()
            .tijdlijn(&bsn(client))
            .unwrap_or_else(|e| panic!("{}: tijdlijn: {e}", self.name))
    }

    /// The BSNs `tijdlijnen` visits for `gemeente`, in order.
    fn timelines_of(&self, gemeente: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        self.store()
            .tijdlijnen(gemeente, &mut |t| out.push(t.bsn.to_string()))
            .unwrap_or_else(|e| panic!("{}: tijdlijnen: {e}", self.name));
        out
    }

    /// Each client's stored timeline is the fold of its messages.
    fn timelines_match_messages(&self, clients: &[u64]) {
        for &c in clients {
            let messages = self.store().client(&bsn(c)).unwrap();
            assert_eq!(
                self.timeline(c),
                Some(Tijdlijn::of(&bsn(c), &messages)),
                "{}: timeline of client {c}",
                self.name
            );
        }
    }
}

#[tokio::test]
async fn timelines_follow_corrections_withdrawals_and_moves_and_survive_a_reopen() {
    for engine in engines() {
        let mut t = (engine.fresh)();
        let n = engine.name;
        let a = sender("org-a");
        assert_eq!(t.timeline(1), None, "{n}");
        t.accepted(&a, &meting("T-1", "0363", 1)).await;
        t.accepted(&a, &correctie("T-2", "T-1", "0363", 1)).await;
        t.accepted(&a, &meting("T-3", "0599", 2)).await;
        t.accepted(&a, &meting("T-4", "0363", 2)).await;
        t.accepted(&a, &intrekking("T-5", "T-2", "0363", 1)).await;
        t.accepted(&a, &meting("T-6", "0599", 3)).await;
        t.refused(
            &a,
            &correctie("T-7", "T-1", "0363", 1),
            Code::ReferentieVervallen,
        )
        .await;

        let one = t.timeline(1).expect("client 1");
        assert_eq!(one.versies.len(), 2, "{n}: the Meting and its Correctie");
        let ended: Vec<_> = one
            .versies
            .iter()
            .map(|v| v.einde.map(|e| (e.door, e.ingetrokken)))
            .collect();
        assert_eq!(ended, [Some((2, false)), Some((5, true))], "{n}");
        assert_eq!(t.timeline(2).unwrap().gemeenten(), ["0363", "0599"], "{n}");
        t.timelines_match_messages(&[1, 2, 3]);
        let (b1, b2, b3) = (bsn(1), bsn(2), bsn(3));
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        assert_eq!(
            sorted(t.timelines_of(Some("0363"))),
            sorted(vec![b1.clone(), b2.clone()]),
            "{n}"
        );
        assert_eq!(
            sorted(t.timelines_of(Some("0599"))),
            sorted(vec![b2.clone(), b3.clone()]),
            "{n}"
        );
        assert_eq!(
            sorted(t.timelines_of(None)),
            sorted(vec![b1, b2, b3]),
            "{n}"
        );
        assert!(t.timelines_of(Some("0344")).is_empty(), "{n}");

        t.reopen();
        t.timelines_match_messages(&[1, 2, 3]);
        assert_eq!(t.timelines_of(None).len(), 3, "{n}");
    }
}

fn abonnement(id: &str, gemeente: &str) -> Abonnement {
    Abonnement {
        id: id.into(),
        url: format!("https://ontvanger.example/{id}"),
        gemeente: gemeente.into(),
        soorten: vec![Soort::Meting, Soort::Intrekking],
        secret: format!("whsec_{id}"),
        aangemaakt: Moment(1_780_000_000_000_000),
        versie: Some(ladderpost::schema::Schemaversie::V1_0),
        weglaten: vec![ladderpost::schema::Onderdeel::Adres],
    }
}

fn brief(volgnummer: u64) -> DodeBrief {
    DodeBrief {
        volgnummer,
        bericht_id: format!("B-{volgnummer}"),
        sinds: Moment(1_780_000_000_000_000 + volgnummer as i64),
        pogingen: 7,
        fout: "HTTP 500".into(),
    }
}

#[tokio::test]
async fn subscriptions_are_stored_listed_and_removed_with_their_state() {
    for engine in engines() {
        let mut t = (engine.fresh)();
        let n = engine.name;
        let d = t.delivery().clone();
        let (one, ten) = (abonnement("ab-1", "0363"), abonnement("ab-10", "0599"));
        d.add_subscription(&one).unwrap();
        d.add_subscription(&ten).unwrap();
        assert_eq!(d.subscription("ab-1").unwrap(), Some(one.clone()), "{n}");
        assert_eq!(d.subscription("ab").unwrap(), None, "{n}");
        let mut all = d.subscriptions().unwrap();
        all.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(all, [one.clone(), ten.clone()], "{n}");

        let stand = Afleverstand {
            cursor: 12,
            pogingen: 2,
            ..Afleverstand::default()
        };
        d.save_delivery_state("ab-1", &stand).unwrap();
        d.add_dead_letter("ab-1", &brief(4)).unwrap();
        d.add_dead_letter("ab-10", &brief(5)).unwrap();
        assert!(d.remove_subscription("ab-1").unwrap(), "{n}");
        assert!(!d.remove_subscription("ab-1").unwrap(), "{n}: gone already");
        assert!(!d.remove_subscription("onbekend").unwrap(), "{n}");
        assert_eq!(d.subscription("ab-1").unwrap(), None, "{n}");
        // Its state and dead letters went with it; the other's stayed.
        assert_eq!(
            d.delivery_state("ab-1").unwrap(),
            Afleverstand::default(),
            "{n}"
        );
        assert!(d.dead_letters("ab-1").unwrap().is_empty(), "{n}");
        assert_eq!(d.dead_letters("ab-10").unwrap(), [brief(5)], "{n}");

        drop(d);
        t.reopen();
        let d = t.delivery();
        assert_eq!(d.subscriptions().unwrap(), [ten], "{n}: after reopen");
        assert_eq!(
            d.dead_letters("ab-10").unwrap(),
            [brief(5)],
            "{n}: after reopen"
        );
    }
}

#[tokio::test]
async fn delivery_state_and_dead_letters_are_kept_and_cleared_from_a_number() {
    for engine in engines() {
        let mut t = (engine.fresh)();
        let n = engine.name;
        let d = t.delivery().clone();
        d.add_subscription(&abonnement("s", "0363")).unwrap();
        d.add_subscription(&abonnement("s2", "0363")).unwrap();
        assert_eq!(
            d.delivery_state("s").unwrap(),
            Afleverstand::default(),
            "{n}: a new one starts at 0"
        );
        let first = Afleverstand {
            cursor: 3,
            laatste_succes: Some(Moment(1_780_000_000_000_001)),
            ..Afleverstand::default()
        };
        d.save_delivery_state("s", &first).unwrap();
        assert_eq!(d.delivery_state("s").unwrap(), first, "{n}");
        let later = Afleverstand {
            cursor: 9,
            laatste_succes: first.laatste_succes,
            laatste_fout: Some(Fout {
                tijdstip: Moment(1_780_000_000_000_002),
                volgnummer: 10,
                omschrijving: "verbinding geweigerd".into(),
            }),
            pogingen: 4,
            eerste_poging: Some(Moment(1_780_000_000_000_000)),
        };
        d.save_delivery_state("s", &later).unwrap();
        assert_eq!(
            d.delivery_state("s").unwrap(),
            later,
            "{n}: the last save counts"
        );
        assert_eq!(
            d.delivery_state("s2").unwrap(),
            Afleverstand::default(),
            "{n}"
        );

        // Dead letters come in volgnummer order, whatever the order added.
        for v in [12, 5, 300, 9] {
            d.add_dead_letter("s", &brief(v)).unwrap();
        }
        d.add_dead_letter("s2", &brief(9)).unwrap();
        let order = |id: &str| -> Vec<u64> {
            d.dead_letters(id)
                .unwrap()
                .iter()
                .map(|b| b.volgnummer)
                .collect()
        };
        assert_eq!(order("s"), [5, 9, 12, 300], "{n}");
        assert_eq!(d.dead_letters("s").unwrap()[0], brief(5), "{n}: kept whole");
        // Clearing from a number drops it and everything after, of that
        // subscription only.
        d.clear_dead_letters("s", 9).unwrap();
        assert_eq!(order("s"), [5], "{n}");
        assert_eq!(order("s2"), [9], "{n}");
        d.clear_dead_letters("s", 6).unwrap();
        assert_eq!(order("s"), [5], "{n}: nothing from 6 on");
        d.add_dead_letter("s", &brief(7)).unwrap();

        // A clean close keeps what was saved without a sync of its own.
        drop(d);
        t.reopen();
        let d = t.delivery();
        assert_eq!(d.delivery_state("s").unwrap(), later, "{n}: after reopen");
        let order: Vec<u64> = d
            .dead_letters("s")
            .unwrap()
            .iter()
            .map(|b| b.volgnummer)
            .collect();
        assert_eq!(order, [5, 7], "{n}: after reopen");
        d.clear_dead_letters("s", 0).unwrap();
        assert!(
            d.dead_letters("s").unwrap().is_empty(),
            "{n}: cleared from 0"
        );
        assert_eq!(d.dead_letters("s2").unwrap(), [brief(9)], "{n}");
    }
}

fn organisatie(id: &str, naam: &str) -> Organisatie {
    Organisatie {
        benchmark: false,
        id: id.into(),
        naam: naam.into(),
        gemeenten: vec!["0363".into(), "0599".into()],
        oin: Some("00000001234567890000".into()),
        rollen_bij_certificaat: vec![Rol::Aanleveren],
        aangemaakt: Moment(1_780_000_000_000_000),
    }
}

fn sleutel(id: &str, organisatie: &str) -> Sleutel {
    Sleutel {
        id: id.into(),
        organisatie: organisatie.into(),
        rollen: vec![Rol::Aanleveren, Rol::Afnemen],
        hash: format!("{:064x}", id.len()),
        aangemaakt: Moment(1_780_000_000_000_000),
        verloopt: Some(Moment(1_790_000_000_000_000)),
        ingetrokken: None,
    }
}

#[tokio::test]
async fn organisations_and_credentials_are_kept_and_credentials_revoked() {
    for engine in engines() {
        let mut t = (engine.fresh)();
        let n = engine.name;
        let auth = t.auth().clone();
        let (a, b) = (
            organisatie("org-a", "Gemeente A"),
            organisatie("org-b", "ISD B"),
        );
        assert!(auth.add_organisation(&a).unwrap(), "{n}");
        assert!(auth.add_organisation(&b).unwrap(), "{n}");
        // An id is taken once; the first stays.
        assert!(
            !auth
                .add_organisation(&organisatie("org-a", "Ander"))
                .unwrap(),
            "{n}"
        );
        assert_eq!(auth.organisation("org-a").unwrap(), Some(a.clone()), "{n}");
        assert_eq!(auth.organisation("org").unwrap(), None, "{n}");
        let mut orgs = auth.organisations().unwrap();
        orgs.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(orgs, [a.clone(), b.clone()], "{n}");
        // An organisation's settings change in place; an unknown one is not made.
        let a = Organisatie {
            benchmark: true,
            ..a
        };
        assert!(auth.update_organisation(&a).unwrap(), "{n}");
        assert_eq!(auth.organisation("org-a").unwrap(), Some(a.clone()), "{n}");
        assert!(
            !auth
                .update_organisation(&organisatie("org-z", "Z"))
                .unwrap(),
            "{n}"
        );
        assert_eq!(auth.organisation("org-z").unwrap(), None, "{n}");

        let (k1, k2) = (sleutel("k1", "org-a"), sleutel("k2", "org-b"));
        auth.add_credential(&k1).unwrap();
        auth.add_credential(&k2).unwrap();
        assert_eq!(auth.credential("k1").unwrap(), Some(k1.clone()), "{n}");
        assert_eq!(auth.credential("k").unwrap(), None, "{n}");
        assert!(
            !auth.revoke_credential("onbekend", Moment(1)).unwrap(),
            "{n}"
        );
        let at = Moment(1_781_000_000_000_000);
        assert!(auth.revoke_credential("k1", at).unwrap(), "{n}");
        // Revoking again changes nothing: the moment of revocation stays.
        assert!(
            auth.revoke_credential("k1", Moment(at.0 + 5)).unwrap(),
            "{n}"
        );
        let revoked = Sleutel {
            ingetrokken: Some(at),
            ..k1
        };
        assert_eq!(auth.credential("k1").unwrap(), Some(revoked.clone()), "{n}");
        assert_eq!(
            auth.credential("k2").unwrap(),
            Some(k2.clone()),
            "{n}: the other untouched"
        );

        drop(auth);
        t.reopen();
        let auth = t.auth();
        let mut orgs = auth.organisations().unwrap();
        orgs.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(orgs, [a, b], "{n}: after reopen");
        let mut keys = auth.credentials().unwrap();
        keys.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(keys, [revoked, k2], "{n}: after reopen");
    }
}

#[tokio::test]
async fn authorisations_are_added_once_and_removed() {
    for engine in engines() {
        let mut t = (engine.fresh)();
        let n = engine.name;
        let auth = t.auth().clone();
        let m = |gemeente: &str, aan: &str, namens: &str| Machtiging {
            gemeente: gemeente.into(),
            aan: aan.into(),
            namens: namens.into(),
            aangemaakt: Moment(1_780_000_000_000_000),
        };
        let sorted = |auth: &dyn AuthStore| {
            let mut all = auth.authorisations().unwrap();
            all.sort_by(|x, y| {
                (&x.gemeente, &x.aan, &x.namens).cmp(&(&y.gemeente, &y.aan, &y.namens))
            });
            all
        };
        assert!(
            auth.add_authorisation(&m("0363", "isd", "gemeente"))
                .unwrap(),
            "{n}"
        );
        assert!(
            !auth
                .add_authorisation(&m("0363", "isd", "gemeente"))
                .unwrap(),
            "{n}: exists"
        );
        // Each part counts: the reverse, another municipality.
        assert!(
            auth.add_authorisation(&m("0363", "gemeente", "isd"))
                .unwrap(),
            "{n}"
        );
        assert!(
            auth.add_authorisation(&m("0599", "isd", "gemeente"))
                .unwrap(),
            "{n}"
        );
        assert_eq!(
            sorted(auth.as_ref()),
            [
                m("0363", "gemeente", "isd"),
                m("0363", "isd", "gemeente"),
                m("0599", "isd", "gemeente")
            ],
            "{n}"
        );
        assert!(
            auth.remove_authorisation("0363", "isd", "gemeente")
                .unwrap(),
            "{n}"
        );
        assert!(
            !auth
                .remove_authorisation("0363", "isd", "gemeente")
                .unwrap(),
            "{n}: gone"
        );
        assert!(
            !auth.remove_authorisation("0363", "isd", "gemeent").unwrap(),
            "{n}"
        );
        assert!(
            auth.add_authorisation(&m("0363", "isd", "gemeente"))
                .unwrap(),
            "{n}: again"
        );
        assert!(
            auth.remove_authorisation("0599", "isd", "gemeente")
                .unwrap(),
            "{n}"
        );

        drop(auth);
        t.reopen();
        assert_eq!(
            sorted(t.auth().as_ref()),
            [m("0363", "gemeente", "isd"), m("0363", "isd", "gemeente")],
            "{n}: after reopen"
        );
    }
}

#[tokio::test]
async fn the_bsn_salt_is_stable_and_first_start_answers_once() {
    for engine in engines() {
        let mut t = (engine.fresh)();
        let n = engine.name;
        let salt = t.auth().bsn_salt().unwrap();
        assert!(salt.len() >= 16, "{n}: a salt of {} bytes", salt.len());
        assert_eq!(t.auth().bsn_salt().unwrap(), salt, "{n}: stable");
        assert!(t.auth().first_start().unwrap(), "{n}: the first start");
        assert!(!t.auth().first_start().unwrap(), "{n}: not twice");
        t.reopen();
        assert_eq!(t.auth().bsn_salt().unwrap(), salt, "{n}: after reopen");
        assert!(!t.auth().first_start().unwrap(), "{n}: after reopen");
        // Another installation has a salt of its own.
        let other = (engine.fresh)();
        assert_ne!(other.auth().bsn_salt().unwrap(), salt, "{n}");
        assert!(other.auth().first_start().unwrap(), "{n}");
    }
}

fn audit_entry(organisatie: &str, route: &str) -> AuditEntry {
    AuditEntry {
        // The store sets it.
        tijdstip: Moment(0),
        organisatie: Some(organisatie.into()),
        sleutel: Some(format!("{organisatie}-sleutel")),
        methode: "GET".into(),
        route: route.into(),
        berichten: vec!["B-1".into()],
        gemeente: Some("0363".into()),
        bsn_hashes: vec!["ab".repeat(32)],
        status: 200,
    }
}

#[tokio::test]
async fn audit_entries_are_appended_durably_and_read_by_time_and_organisation() {
    for engine in engines() {
        let mut t = (engine.fresh)();
        let n = engine.name;
        let start = Moment::now();
        let sent = [
            audit_entry("org-a", "/een"),
            audit_entry("org-b", "/twee"),
            audit_entry("org-a", "/drie"),
        ];
        for e in &sent {
            within("append_audit", t.auth().append_audit(e.clone()))
                .await
                .unwrap_or_else(|e| panic!("{n}: append_audit: {e}"));
        }
        let query = |t: &Tested, van, tot, organisatie: Option<&str>, limit| -> Vec<AuditEntry> {
            t.auth()
                .audit(&AuditQuery {
                    van,
                    tot,
                    organisatie: organisatie.map(str::to_string),
                    limit,
                })
                .unwrap()
        };
        let routes = |entries: Vec<AuditEntry>| -> Vec<String> {
            entries.into_iter().map(|e| e.route).collect()
        };
        let all = query(&t, None, None, None, 100);
        assert_eq!(all.len(), 3, "{n}");
        // Kept whole, with the moment the store recorded, strictly later
        // for each entry appended after the previous one was durable.
        for (got, e) in all.iter().zip(&sent) {
            assert_eq!(
                AuditEntry {
                    tijdstip: Moment(0),
                    ..got.clone()
                },
                *e,
                "{n}"
            );
        }
        assert!(all[0].tijdstip >= start, "{n}: recorded now, not as given");
        assert!(
            all[0].tijdstip < all[1].tijdstip && all[1].tijdstip < all[2].tijdstip,
            "{n}"
        );
        let (t1, t2, t3) = (all[0].tijdstip, all[1].tijdstip, all[2].tijdstip);
        // `van` is inclusive, `tot` exclusive.
        assert_eq!(
            routes(query(&t, Some(t2), None, None, 100)),
            ["/twee", "/drie"],
            "{n}"
        );
        assert_eq!(
            routes(query(&t, None, Some(t2), None, 100)),
            ["/een"],
            "{n}"
        );
        assert_eq!(
            routes(query(&t, Some(t1), Some(t3), None, 100)),
            ["/een", "/twee"],
            "{n}"
        );
        assert!(
            query(&t, Some(t3.next()), None, None, 100).is_empty(),
            "{n}"
        );
        assert_eq!(
            routes(query(&t, None, None, Some("org-a"), 100)),
            ["/een", "/drie"],
            "{n}"
        );
        assert_eq!(
            routes(query(&t, Some(t2), None, Some("org-a"), 100)),
            ["/drie"],
            "{n}"
        );
        assert!(query(&t, None, None, Some("org"), 100).is_empty(), "{n}");
        assert_eq!(
            routes(query(&t, None, None, None, 2)),
            ["/een", "/twee"],
            "{n}: limit"
        );
        assert!(query(&t, None, None, None, 0).is_empty(), "{n}: limit 0");

        t.reopen();
        assert_eq!(query(&t, None, None, None, 100), all, "{n}: after reopen");
        t.auth()
            .append_audit(audit_entry("org-b", "/vier"))
            .await
            .unwrap();
        let later = query(&t, Some(t3.next()), None, None, 100);
        assert_eq!(
            routes(later.clone()),
            ["/vier"],
            "{n}: after the last before reopen"
        );
        assert!(later[0].tijdstip > t3, "{n}");
    }
}

/// A replay asked for is taken once, the lowest `vanaf` when asked twice;
/// the lease is renewed by its holder, and taken by another once given up.
/// An engine that several instances share must also keep a running lease
/// from anyone else (the embedded engine has one process: it grants all).
#[tokio::test]
async fn replays_are_taken_once_and_leases_serve_one_holder() {
    for engine in engines() {
        let mut t = (engine.fresh)();
        let n = engine.name;
        let d = t.delivery().clone();
        d.add_subscription(&abonnement("s", "0363")).unwrap();
        assert_eq!(d.take_replay("s").unwrap(), None, "{n}");
        d.request_replay("s", 40).unwrap();
        d.request_replay("s", 7).unwrap();
        d.request_replay("s", 12).unwrap();
        assert_eq!(d.take_replay("s").unwrap(), Some(7), "{n}: the lowest");
        assert_eq!(d.take_replay("s").unwrap(), None, "{n}: taken once");
        d.request_replay("s", 3).unwrap();

        let long = Duration::from_secs(600);
        assert!(d.lease("s", "a", long).unwrap(), "{n}: free");
        assert!(
            d.lease("s", "a", long).unwrap(),
            "{n}: renewed by its holder"
        );
        if n == "postgres" {
            assert!(!d.lease("s", "b", long).unwrap(), "{n}: held by a");
            // A lease that has run out is anyone's.
            assert!(d.lease("s", "a", Duration::ZERO).unwrap(), "{n}");
            std::thread::sleep(Duration::from_millis(5));
            assert!(d.lease("s", "b", long).unwrap(), "{n}: a's ran out");
            assert!(!d.lease("s", "a", long).unwrap(), "{n}: now b's");
        }
        d.release("s", "b").unwrap();
        assert!(d.lease("s", "c", long).unwrap(), "{n}: given up, taken");

        drop(d);
        t.reopen();
        let d = t.delivery();
        assert_eq!(d.take_replay("s").unwrap(), Some(3), "{n}: kept");
        // Removing the subscription takes its replay and lease with it.
        d.request_replay("s", 9).unwrap();
        assert!(d.remove_subscription("s").unwrap(), "{n}");
        assert_eq!(d.take_replay("s").unwrap(), None, "{n}");
        assert!(d.lease("s", "d", long).unwrap(), "{n}");
    }
}
