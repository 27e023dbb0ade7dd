//! `ladderpost generate`: fills a store with a synthetic history for the
//! benchmarks, the scale tests and trying out reports.
//!
//! The messages ([`model`]) are a pure function of the plan and the seed:
//! the same seed gives byte-identical messages in the same order. They go
//! in through the normal acceptance path: [`crate::validate`] (schema and
//! domain rules) on a few threads, then [`crate::store::Store::accept`] on
//! the store `store::open` opens, a few hundred accepts in flight at once
//! so that the writer's group commit batches them, each awaited until
//! durable. A client's next message is accepted only after its previous one
//! is decided, so per-client order (what corrections and withdrawals rest
//! on) is kept; the volgnummers of different clients' messages may
//! interleave differently between runs. Nothing goes through HTTP, so no
//! audit entries are written.

pub mod model;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use model::{bsn, Gemeente, Generator, Message, Plan, APPLICATIE, MAX_GEMEENTEN};

use crate::auth::service::{Auth, BeheerError, NieuweOrganisatie};
use crate::auth::Rol;
use crate::store::{Incoming, Opened, Outcome, Sender, Soort, Store};

/// `ladderpost generate`'s flags. No environment variables: synthetic
/// data must never land in a store by accident.
#[derive(clap::Args, Debug, Clone)]
pub struct GenerateFlags {
    /// Data directory of the embedded store to fill.
    #[arg(long, required_unless_present = "store")]
    pub data: Option<std::path::PathBuf>,
    /// A PostgreSQL store instead (`postgres://…`), as `serve --store`.
    #[arg(long, conflicts_with = "data")]
    pub store: Option<String>,
    /// Megabytes of page cache the store may hold, as `serve --cache-mb`.
    #[arg(long, default_value_t = crate::store::DEFAULT_CACHE / (1024 * 1024))]
    pub cache_mb: u64,
    /// Number of clients.
    #[arg(long)]
    pub clienten: u32,
    /// Number of measurements (Meting messages) over all clients, at least
    /// one per client; corrections and withdrawals come on top.
    #[arg(long)]
    pub metingen: u64,
    /// Number of municipalities (real CBS codes, largest first after the
    /// tests' eight).
    #[arg(long, default_value_t = 8)]
    pub gemeenten: usize,
    /// The seed: the same seed gives the same messages.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl GenerateFlags {
    pub fn plan(&self) -> Plan {
        Plan {
            clienten: self.clienten,
            metingen: self.metingen,
            gemeenten: self.gemeenten,
            seed: self.seed,
        }
    }

    pub fn config(&self) -> Result<crate::store::Config, String> {
        let data = match (&self.store, &self.data) {
            (None, None) => return Err("give --data DIR or --store URL".into()),
            (_, dir) => dir.clone().unwrap_or_default(),
        };
        crate::store::Config::from_flags(self.store.as_deref(), data, self.cache_mb)
    }
}

/// What a run stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filled {
    pub metingen: u64,
    pub correcties: u64,
    pub intrekkingen: u64,
    /// Stored before with identical bytes (a second run of the same seed
    /// on the same store).
    pub repeats: u64,
    pub seconds: f64,
    /// The first `beheer` token, when this run was the store's first start.
    pub beheer_token: Option<String>,
    /// The organisations messages were sent as.
    pub organisaties: Vec<String>,
}

impl Filled {
    pub fn messages(&self) -> u64 {
        self.metingen + self.correcties + self.intrekkingen + self.repeats
    }
}

/// Messages handed from the generator to the validators at a time.
const BATCH: usize = 256;
/// Accepts in flight at once: enough for the writer's rounds to batch.
const WINDOW: usize = 512;

/// Opens the store the flags name, fills it, closes it: the command.
pub fn run(flags: &GenerateFlags) -> Result<Filled, String> {
    let config = flags.config()?;
    // Checked before the store is touched.
    flags.plan().check()?;
    let opened = crate::store::open(&config)
        .map_err(|e| format!("cannot open the store {}: {e}", config.engine))?;
    let filled = fill(&opened, flags.plan(), |done| {
        eprintln!("ladderpost generate: {done} messages stored…");
    });
    let closed = opened.messages.close().map_err(|e| e.to_string());
    let filled = filled?;
    closed?;
    Ok(filled)
}

/// What the command prints: what was stored, how fast, as whom, and the
/// way to the beheer API.
pub fn summary(flags: &GenerateFlags, f: &Filled) -> String {
    let mut out = format!(
        "generated: seed={} clienten={} metingen={} gemeenten={} (measurement dates {} to {})\n\
         stored: Meting={} Correctie={} Intrekking={} ({} messages; {} were stored before)\n\
         time: {:.1} s, {:.0} messages/s\n\
         organisations: {}\n",
        flags.seed,
        flags.clienten,
        flags.metingen,
        flags.gemeenten,
        model::FIRST_DAY,
        model::LAST_DAY,
        f.metingen,
        f.correcties,
        f.intrekkingen,
        f.messages(),
        f.repeats,
        f.seconds,
        f.messages() as f64 / f.seconds.max(1e-9),
        f.organisaties.join(" "),
    );
    match &f.beheer_token {
        // As `serve` shows it on a first start: once.
        Some(token) => out.push_str(&format!("beheer-token: {token}\n")),
        None => out.push_str(
            "beheer token: not shown (not the store's first start); make one with \
             `ladderpost admin … sleutel maken --organisatie beheer --rollen beheer` \
             while no server runs on the store\n",
        ),
    }
    out
}

/// One organisation per municipality (`gemeente-<code>`), made through
/// [`Auth`] unless it exists, with a credential for sending: who the
/// messages are stored as sent by. Also the store's first start, if it is
/// one: its `beheer` token.
fn organisations(
    opened: &Opened,
    gemeenten: &[Gemeente],
) -> Result<(Option<String>, Vec<Sender>), String> {
    let shown = |e: BeheerError| e.to_string();
    let auth = Auth::new(opened.auth.clone()).map_err(|e| e.to_string())?;
    let token = auth.first_start().map_err(shown)?;
    let credentials = opened.auth.credentials().map_err(|e| e.to_string())?;
    let mut senders = Vec::new();
    for g in gemeenten {
        let id = g.organisatie();
        if opened
            .auth
            .organisation(&id)
            .map_err(|e| e.to_string())?
            .is_none()
        {
            auth.add_organisation(NieuweOrganisatie {
                id: id.clone(),
                naam: g.organisatie_naam(),
                gemeenten: vec![g.code.to_string()],
                ..NieuweOrganisatie::default()
            })
            .map_err(shown)?;
        }
        let existing = credentials.iter().find(|s| {
            s.organisatie == id && s.ingetrokken.is_none() && s.rollen.contains(&Rol::Aanleveren)
        });
        let sleutel = match existing {
            Some(s) => s.id.clone(),
            // Its token is not shown: nothing but this run sends with it.
            None => {
                auth.add_credential(&id, &["aanleveren".to_string()], None)
                    .map_err(shown)?
                    .0
                    .id
            }
        };
        senders.push(Sender {
            organisatie: id,
            sleutel,
            namens: Vec::new(),
        });
    }
    Ok((token, senders))
}

/// A message ready to accept.
struct Ready {
    client: u32,
    soort: Soort,
    bericht_id: String,
    incoming: Incoming,
}

/// Validates one generated message as the API does; an invalid one is a
/// bug in the generator.
fn check(message: Message, sender: &Sender) -> Result<Ready, String> {
    let Message {
        client,
        soort,
        bericht_id,
        bytes,
        ..
    } = message;
    let invalid = |errors: Vec<crate::Melding>| {
        let errors: Vec<String> = errors.iter().map(|e| format!("{e}")).collect();
        format!(
            "generated {} {bericht_id} (client {client}) is invalid: {}",
            soort.as_str(),
            errors.join("; ")
        )
    };
    let tree = crate::validate_schema(&bytes).map_err(|r| invalid(r.errors))?;
    let (document, warnings) = crate::domain::Document::from_valid(&tree).map_err(invalid)?;
    let wortel = tree.root_span();
    drop(tree);
    Ok(Ready {
        client,
        soort,
        bericht_id,
        incoming: Incoming {
            raw: bytes,
            document,
            warnings,
            wortel,
            sender: sender.clone(),
        },
    })
}

type Batch = (u64, Result<Vec<Ready>, String>);

/// Generates the plan's messages into `opened` and waits until every one
/// is durable. `progress` is called now and then with the number stored.
pub fn fill(opened: &Opened, plan: Plan, mut progress: impl FnMut(u64)) -> Result<Filled, String> {
    let started = Instant::now();
    let generator = Generator::new(plan)?;
    let (beheer_token, senders) = organisations(opened, generator.gemeenten())?;
    let organisaties = senders.iter().map(|s| s.organisatie.clone()).collect();
    let senders = Arc::new(senders);

    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (batches_tx, batches_rx) =
        std::sync::mpsc::sync_channel::<(u64, Vec<Message>)>(threads * 2);
    let batches_rx = Arc::new(Mutex::new(batches_rx));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<Batch>(threads * 2);

    let producer = std::thread::Builder::new()
        .name("generate".into())
        .spawn(move || {
            let mut generator = generator;
            for n in 0u64.. {
                let batch: Vec<Message> = generator.by_ref().take(BATCH).collect();
                if batch.is_empty() || batches_tx.send((n, batch)).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| format!("cannot start the generator: {e}"))?;
    let mut validators = Vec::new();
    for i in 0..threads {
        let (rx, tx, senders) = (batches_rx.clone(), ready_tx.clone(), senders.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("generate-validate-{i}"))
            .spawn(move || loop {
                let next = rx.lock().map(|rx| rx.recv());
                let Ok(Ok((n, batch))) = next else {
                    return;
                };
                let checked = batch
                    .into_iter()
                    .map(|m| {
                        let sender = &senders[m.gemeente];
                        check(m, sender)
                    })
                    .collect();
                if tx.blocking_send((n, checked)).is_err() {
                    return;
                }
            })
            .map_err(|e| format!("cannot start a validator: {e}"))?;
        validators.push(spawned);
    }
    drop(ready_tx);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let store = opened.messages.clone();
    let result = runtime.block_on(accept_all(store, &mut ready_rx, &mut progress));
    // Stops the generator and the validators if it ended early.
    drop(ready_rx);
    let _ = producer.join();
    for v in validators {
        let _ = v.join();
    }
    let mut filled = result?;
    filled.seconds = started.elapsed().as_secs_f64();
    filled.beheer_token = beheer_token;
    filled.organisaties = organisaties;
    Ok(filled)
}

type Accepted = Result<(u32, Soort, Outcome), String>;

/// Accepts the validated batches in their order, a window at a time, and
/// never two messages of one client at once.
async fn accept_all(
    store: Arc<dyn Store>,
    ready: &mut tokio::sync::mpsc::Receiver<Batch>,
    progress: &mut impl FnMut(u64),
) -> Result<Filled, String> {
    let mut waiting: BTreeMap<u64, Result<Vec<Ready>, String>> = BTreeMap::new();
    let mut next = 0u64;
    let mut in_flight: HashSet<u32> = HashSet::new();
    let mut tasks: tokio::task::JoinSet<Accepted> = tokio::task::JoinSet::new();
    let mut filled = Filled::default();
    let mut reported = Instant::now();

    let mut finish = |done: Option<Result<Accepted, tokio::task::JoinError>>,
                      in_flight: &mut HashSet<u32>,
                      filled: &mut Filled|
     -> Result<(), String> {
        let Some(done) = done else {
            return Ok(());
        };
        let (client, soort, outcome) = done.map_err(|e| format!("an accept failed: {e}"))??;
        in_flight.remove(&client);
        match (outcome, soort) {
            (Outcome::Repeat(_), _) => filled.repeats += 1,
            (Outcome::Accepted(_), Soort::Meting) => filled.metingen += 1,
            (Outcome::Accepted(_), Soort::Correctie) => filled.correcties += 1,
            (Outcome::Accepted(_), Soort::Intrekking) => filled.intrekkingen += 1,
        }
        if reported.elapsed() > Duration::from_secs(10) {
            reported = Instant::now();
            progress(filled.messages());
        }
        Ok(())
    };

    loop {
        let batch = loop {
            if let Some(b) = waiting.remove(&next) {
                break Some(b);
            }
            match ready.recv().await {
                Some((n, b)) => {
                    waiting.insert(n, b);
                }
                None => break None,
            }
        };
        let Some(batch) = batch else {
            break;
        };
        next += 1;
        for r in batch? {
            while tasks.len() >= WINDOW || in_flight.contains(&r.client) {
                finish(tasks.join_next().await, &mut in_flight, &mut filled)?;
            }
            in_flight.insert(r.client);
            let pending = store.accept(r.incoming);
            let store = store.clone();
            let (client, soort, id) = (r.client, r.soort, r.bericht_id);
            tasks.spawn(async move {
                let decision = pending.await;
                let outcome = decision.result.map_err(|e| {
                    let why = match e {
                        crate::store::StoreError::Rejected(m) => {
                            format!("{}: {}", m.code, m.message)
                        }
                        other => other.to_string(),
                    };
                    format!(
                        "the store refused generated {} {id} (client {client}): {why}",
                        soort.as_str()
                    )
                })?;
                if let Some(commit) = decision.commit {
                    store
                        .durable(commit)
                        .await
                        .map_err(|e| format!("{} {id} not made durable: {e}", soort.as_str()))?;
                }
                Ok((client, soort, outcome))
            });
        }
    }
    while !tasks.is_empty() {
        finish(tasks.join_next().await, &mut in_flight, &mut filled)?;
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(seed: u64) -> Plan {
        Plan {
            clienten: 300,
            metingen: 1_500,
            gemeenten: 5,
            seed,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_messages_in_the_same_order() {
        let a: Vec<Message> = Generator::new(plan(7)).unwrap().collect();
        let b: Vec<Message> = Generator::new(plan(7)).unwrap().collect();
        assert_eq!(a.len(), b.len());
        assert!(a.iter().zip(&b).all(|(x, y)| x.bytes == y.bytes));
        let c: Vec<Message> = Generator::new(plan(8)).unwrap().collect();
        assert_ne!(a[0].bytes, c[0].bytes, "another seed, other messages");
    }

    #[test]
    fn every_message_passes_validation_and_the_counts_add_up() {
        let plan = plan(3);
        let messages: Vec<Message> = Generator::new(plan).unwrap().collect();
        let mut kinds = BTreeMap::new();
        let mut ids = HashSet::new();
        for m in &messages {
            if let Err(r) = crate::validate(&m.bytes) {
                panic!(
                    "{} is invalid: {:?}\n{}",
                    m.bericht_id,
                    r.errors,
                    String::from_utf8_lossy(&m.bytes)
                );
            }
            *kinds.entry(m.soort.as_str()).or_insert(0u64) += 1;
            assert!(ids.insert(m.bericht_id.clone()), "{} twice", m.bericht_id);
        }
        assert_eq!(kinds["Meting"], plan.metingen);
        // A small share of corrections and withdrawals, not none.
        assert!(
            kinds.get("Correctie").copied().unwrap_or(0) > 5,
            "{kinds:?}"
        );
        assert!(
            kinds.get("Intrekking").copied().unwrap_or(0) > 0,
            "{kinds:?}"
        );
        assert!(kinds["Correctie"] + kinds["Intrekking"] < plan.metingen / 10);
    }

    #[test]
    fn the_bsn_scheme_is_bsn_numbered_below_a_million_and_distinct_above() {
        for n in [0, 1, 999_999] {
            assert_eq!(bsn(n), crate::domain::Bsn::numbered(n).as_str());
        }
        let mut seen = HashSet::new();
        for n in [0, 1, 999_999, 1_000_000, 1_000_001, 8_999_999] {
            let b = bsn(n);
            assert!(crate::domain::Bsn::parse(&b).is_ok(), "{n}");
            assert!(seen.insert(b));
        }
    }

    /// What a history should show: clients that climb, some that leave,
    /// dates in order per client, every municipality and several teams.
    #[test]
    fn the_history_moves_over_the_ladder_through_the_years() {
        let messages: Vec<Message> = Generator::new(plan(11)).unwrap().collect();
        let mut last: std::collections::HashMap<u32, (String, String)> = Default::default();
        let (mut climbs, mut leaves, mut teams, mut gemeenten) =
            (0, 0, HashSet::new(), HashSet::new());
        for m in &messages {
            let valid = crate::validate(&m.bytes).unwrap();
            let crate::domain::Document::Meting(meting) = &valid.document else {
                continue;
            };
            let w = &meting.gegevens.werkproces;
            let (date, trede) = (
                w.meetdatum.to_string(),
                meting.gegevens.plaatsing.trede().as_str().to_string(),
            );
            teams.insert((m.gemeente, w.team.clone()));
            gemeenten.insert(m.gemeente);
            if let Some((before, was)) = last.get(&m.client) {
                assert!(*before <= date, "client {}: {before} then {date}", m.client);
                if was.as_str() < trede.as_str() && trede != "9" {
                    climbs += 1;
                }
            }
            if trede == "9" {
                leaves += 1;
            }
            assert!(
                date.as_str() >= "2021" && date.as_str() <= "2026-07",
                "{date}"
            );
            last.insert(m.client, (date, trede));
        }
        assert!(climbs > 50, "{climbs} climbs");
        assert!(leaves > 5, "{leaves} leave the ladder");
        assert_eq!(gemeenten.len(), 5);
        assert!(teams.len() > 10, "{} teams", teams.len());
    }

    #[test]
    fn a_plan_it_cannot_keep_is_refused() {
        let p = plan(1);
        for bad in [
            Plan { clienten: 0, ..p },
            Plan { metingen: 10, ..p },
            Plan { gemeenten: 0, ..p },
            Plan {
                gemeenten: MAX_GEMEENTEN + 1,
                ..p
            },
            Plan {
                clienten: 1,
                metingen: 20_000,
                ..p
            },
        ] {
            assert!(Generator::new(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_small_plan_goes_through_the_store_and_counts_what_it_stored() {
        let dir = tempfile::tempdir().unwrap();
        let opened = crate::store::open(&crate::store::Config::sled(dir.path())).unwrap();
        let p = Plan {
            clienten: 40,
            metingen: 200,
            gemeenten: 3,
            seed: 5,
        };
        let filled = fill(&opened, p, |_| {}).unwrap();
        assert_eq!(filled.metingen, 200);
        assert!(filled.beheer_token.is_some(), "the store's first start");
        let expected = Generator::new(p).unwrap().count() as u64;
        assert_eq!(filled.messages(), expected);
        assert_eq!(opened.messages.count().unwrap(), expected);
        // Again: every message a repeat, nothing new.
        let again = fill(&opened, p, |_| {}).unwrap();
        assert_eq!((again.repeats, again.metingen), (expected, 0));
        assert!(again.beheer_token.is_none());
        opened.messages.close().unwrap();
    }
}
