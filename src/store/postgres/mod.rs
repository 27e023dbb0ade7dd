//! The PostgreSQL engine, for high availability: two or more ladderpost
//! instances on one database, each accepting and serving.
//!
//! Every write of messages and audit entries goes through one writer
//! thread per instance, which takes all queued work as one round (as the
//! sled engine does) and writes it in one transaction. Each round first
//! takes a transaction-scoped advisory lock, so rounds of all instances
//! run one at a time: a round reads the last number under the lock,
//! numbers its messages after it, and gives the lock up only by
//! committing. Numbers are therefore given out in commit order and
//! without gaps, so a reader that has seen number n has seen everything
//! below it — which a sequence cannot promise, since its numbers can
//! commit out of order. Admission (repeats, conflicts, references) sees
//! every round committed before, of every instance.
//!
//! A decision is answered only after its COMMIT (with PostgreSQL's
//! default `synchronous_commit`). Other instances learn of new messages
//! by `NOTIFY`, with a poll as the fallback. docs/storage.md describes the
//! design and its operation.

mod pool;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, Row, Transaction};
use tokio::sync::{oneshot, watch};

use self::pool::{pg, Pool};
use super::admission::{admit, Lookup};
use super::auth::{
    AuditEntry, AuditPending, AuditQuery, AuthStore, Machtiging, Organisatie, Sleutel,
};
use super::delivery::{Abonnement, Afleverstand, DeliveryStore, DodeBrief};
use super::record::Sender;
use super::tijdlijn::{apply_round, rebuild_for, Tijdlijn, TijdlijnRef};
use super::{Commit, Decision, Durable, Incoming, Pending, Record, Store, StoreError, Stored};
use crate::time::Moment;

/// The advisory lock every writer round holds until it commits.
const WRITER_LOCK: i64 = 0x6c61_6464_0001;
/// The advisory lock migrations run under.
const MIGRATION_LOCK: i64 = 0x6c61_6464_0002;
/// The channel a committed round is announced on, with its last number.
const CHANNEL: &str = "ladderpost_berichten";
/// Most messages one round takes.
const MAX_GROUP: usize = 512;
/// How often an instance looks for new messages when no notification
/// came (after a lost connection, say).
const POLL: Duration = Duration::from_secs(1);

/// The schema, one script per version, applied in order at start-up.
const MIGRATIONS: &[&str] = &[
    include_str!("001_schema.sql"),
    include_str!("002_bezorging.sql"),
    include_str!("003_tijdlijnen.sql"),
];

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

/// A statement's parameters, owned: they travel to a pool thread.
type Params = Vec<Box<dyn ToSql + Sync + Send>>;

macro_rules! params {
    ($($p:expr),* $(,)?) => {
        vec![$(Box::new($p) as Box<dyn ToSql + Sync + Send>),*]
    };
}

fn refs(params: &Params) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(io)
}

fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(io)
}

/// A `berichten` row selected as `record, raw`.
fn stored(row: &Row) -> Result<Stored, StoreError> {
    Ok(Stored {
        record: decode(row.get::<_, &str>(0))?,
        raw: row.get::<_, Vec<u8>>(1),
    })
}

/// Each message's answer in a round.
type Outcomes = Vec<Result<super::Outcome, StoreError>>;

/// Work for the writer.
enum Job {
    Message(Box<Incoming>, oneshot::Sender<Decision>),
    Audit(AuditEntry, oneshot::Sender<Result<(), StoreError>>),
}

/// The PostgreSQL engine. Dropping it stops the writer after the queued
/// work.
pub struct PgStore {
    pool: Arc<Pool>,
    /// `None` once closed.
    jobs: RwLock<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    listener: Mutex<Option<JoinHandle<()>>>,
    stopping: Arc<AtomicBool>,
    changes: watch::Receiver<u64>,
    watermark: Arc<watch::Sender<u64>>,
}

impl PgStore {
    /// Connects, applies the migrations this version has and the database
    /// lacks, and starts the writer and the listener.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        let pool = Arc::new(Pool::new(url)?);
        // On the pool's threads: `open` may be called from async code.
        pool.run(|c| Ok(migrate(c)))??;
        pool.run(|c| Ok(build_timelines(c)))??;
        let last = pool.run(|c| Ok(last_number(c)))??;
        let (watermark, changes) = watch::channel(last);
        let watermark = Arc::new(watermark);
        let stopping = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<Job>();
        let writer = Writer {
            pool: pool.clone(),
            client: None,
            watermark: watermark.clone(),
        };
        let announcer = watermark.clone();
        let writer = std::thread::Builder::new()
            .name("ladderpost-pg-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(io)?;
        let (p, s) = (pool.clone(), stopping.clone());
        let listener = std::thread::Builder::new()
            .name("ladderpost-pg-listen".into())
            .spawn(move || listen(&p, &watermark, &s))
            .map_err(io)?;
        Ok(PgStore {
            pool,
            jobs: RwLock::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            listener: Mutex::new(Some(listener)),
            stopping,
            changes,
            watermark: announcer,
        })
    }

    fn send(&self, job: Job) -> bool {
        let jobs = self.jobs.read().unwrap_or_else(|p| p.into_inner());
        jobs.as_ref().is_some_and(|j| j.send(job).is_ok())
    }

    /// Rows of a query, on the pool.
    fn query(&self, sql: &'static str, params: Params) -> Result<Vec<Row>, StoreError> {
        self.pool.run(move |c| c.query(sql, &refs(&params)))
    }

    fn query_opt(&self, sql: &'static str, params: Params) -> Result<Option<Row>, StoreError> {
        self.pool.run(move |c| c.query_opt(sql, &refs(&params)))
    }

    /// Rows changed by a statement, on the pool.
    fn execute(&self, sql: &'static str, params: Params) -> Result<u64, StoreError> {
        self.pool.run(move |c| c.execute(sql, &refs(&params)))
    }

    /// Messages by a query selecting `record, raw`.
    fn select(&self, sql: &'static str, params: Params) -> Result<Vec<Stored>, StoreError> {
        self.query(sql, params)?.iter().map(stored).collect()
    }

    /// Values of a query selecting one JSON column.
    fn values<T: serde::de::DeserializeOwned>(
        &self,
        sql: &'static str,
        params: Params,
    ) -> Result<Vec<T>, StoreError> {
        self.query(sql, params)?
            .iter()
            .map(|r| decode(r.get::<_, &str>(0)))
            .collect()
    }

    fn value<T: serde::de::DeserializeOwned>(
        &self,
        sql: &'static str,
        params: Params,
    ) -> Result<Option<T>, StoreError> {
        self.query_opt(sql, params)?
            .map(|r| decode(r.get::<_, &str>(0)))
            .transpose()
    }

    fn shut(&self) -> Result<(), StoreError> {
        self.jobs.write().unwrap_or_else(|p| p.into_inner()).take();
        self.stopping.store(true, Ordering::SeqCst);
        for thread in [&self.writer, &self.listener] {
            let handle = thread.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(h) = handle {
                h.join().map_err(|_| io("a store thread panicked"))?;
            }
        }
        Ok(())
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        let _ = self.shut();
    }
}

/// Brings the schema up to this version, one instance at a time.
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(pg)?;
    let applied = (|| {
        client.batch_execute(
            "CREATE TABLE IF NOT EXISTS ladderpost_schema (versie INTEGER NOT NULL)",
        )?;
        let versie: i32 = client
            .query_opt("SELECT max(versie) FROM ladderpost_schema", &[])?
            .and_then(|r| r.get::<_, Option<i32>>(0))
            .unwrap_or(0);
        for (i, script) in MIGRATIONS.iter().enumerate() {
            let v = i32::try_from(i + 1).unwrap_or(i32::MAX);
            if v <= versie {
                continue;
            }
            let mut tx = client.transaction()?;
            tx.batch_execute(script)?;
            tx.execute("INSERT INTO ladderpost_schema (versie) VALUES ($1)", &[&v])?;
            tx.commit()?;
            tracing::info!(versie = v, "applied a database migration");
        }
        Ok::<_, postgres::Error>(versie)
    })();
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
    let versie = applied.map_err(pg)?;
    unlocked.map_err(pg)?;
    let known = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
    if versie > known {
        return Err(io(format!(
            "the database has schema version {versie}, newer than this ladderpost knows ({known}): upgrade ladderpost"
        )));
    }
    Ok(())
}

fn last_number(client: &mut Client) -> Result<u64, StoreError> {
    let row = client
        .query_one("SELECT coalesce(max(volgnummer), 0) FROM berichten", &[])
        .map_err(pg)?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// Moves the watermark up (never down) to `n`.
fn announce(watermark: &watch::Sender<u64>, n: u64) {
    watermark.send_if_modified(|w| {
        let newer = n > *w;
        if newer {
            *w = n;
        }
        newer
    });
}

/// Follows other instances' commits: their notifications, and a poll when
/// none come. Reconnects after an error; ends when the store closes.
fn listen(pool: &Pool, watermark: &watch::Sender<u64>, stopping: &AtomicBool) {
    while !stopping.load(Ordering::SeqCst) {
        let mut client = match pool.connect() {
            Ok(c) => c,
            Err(_) => {
                std::thread::sleep(POLL);
                continue;
            }
        };
        if client.batch_execute(&format!("LISTEN {CHANNEL}")).is_err() {
            std::thread::sleep(POLL);
            continue;
        }
        while !stopping.load(Ordering::SeqCst) {
            match last_number(&mut client) {
                Ok(n) => announce(watermark, n),
                Err(_) => break,
            }
            let mut notes = client.notifications();
            let mut iter = notes.timeout_iter(POLL);
            let mut broken = false;
            loop {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                match iter.next() {
                    Ok(Some(note)) => {
                        if let Ok(n) = note.payload().parse() {
                            announce(watermark, n);
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        broken = true;
                        break;
                    }
                }
            }
            if broken {
                break;
            }
        }
    }
}

/// The writer: one round at a time, each one transaction.
struct Writer {
    pool: Arc<Pool>,
    client: Option<Client>,
    watermark: Arc<watch::Sender<u64>>,
}

impl Writer {
    fn run(mut self, jobs: mpsc::Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut round = vec![first];
            while round.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => round.push(job),
                    Err(_) => break,
                }
            }
            let (mut messages, mut replies) = (Vec::new(), Vec::new());
            let (mut entries, mut audit_replies) = (Vec::new(), Vec::new());
            for job in round {
                match job {
                    Job::Message(incoming, reply) => {
                        messages.push(*incoming);
                        replies.push(reply);
                    }
                    Job::Audit(entry, reply) => {
                        entries.push(entry);
                        audit_replies.push(reply);
                    }
                }
            }
            match self.round(&messages, &mut entries) {
                Ok((outcomes, last)) => {
                    if let Some(last) = last {
                        announce(&self.watermark, last);
                    }
                    for (reply, result) in replies.into_iter().zip(outcomes) {
                        let _ = reply.send(Decision {
                            result,
                            commit: None,
                        });
                    }
                    for reply in audit_replies {
                        let _ = reply.send(Ok(()));
                    }
                }
                Err(e) => {
                    // Whether a failed COMMIT took effect is unknown: the
                    // senders are told so (StoreError::Unavailable) and
                    // resend; the next round starts on a new connection.
                    tracing::error!(error = %e, "a write to PostgreSQL failed");
                    self.client = None;
                    for reply in replies {
                        let _ = reply.send(Decision {
                            result: Err(e.clone()),
                            commit: None,
                        });
                    }
                    for reply in audit_replies {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = Some(self.pool.connect()?);
        }
        self.client
            .as_mut()
            .ok_or_else(|| io("no connection to PostgreSQL"))
    }

    /// Decides and writes one round in one transaction; each message's
    /// outcome, and the last number if any was given out.
    fn round(
        &mut self,
        group: &[Incoming],
        entries: &mut [AuditEntry],
    ) -> Result<(Outcomes, Option<u64>), StoreError> {
        let client = self.client()?;
        let (mut tx, last, last_moment) = begin_writing(client).map_err(pg)?;
        // What admission asks most, the stored messages with the round's
        // ids, in one query rather than one per message.
        let ids: Vec<String> = group
            .iter()
            .filter_map(|i| i.document.bericht_id().map(|b| b.as_str().to_string()))
            .collect();
        // Every id asked about gets an entry, found or not.
        let mut by_id: HashMap<String, Vec<Stored>> =
            ids.iter().map(|id| (id.clone(), Vec::new())).collect();
        for row in tx
            .query(
                "SELECT record, raw FROM berichten WHERE bericht_id = ANY($1) ORDER BY volgnummer",
                &[&ids],
            )
            .map_err(pg)?
        {
            let s = stored(&row)?;
            by_id
                .entry(s.record.bericht_id.clone())
                .or_default()
                .push(s);
        }
        let round = {
            let lookup = InTransaction {
                tx: RefCell::new(&mut tx),
                by_id,
            };
            admit(group, &lookup, last, last_moment)?
        };
        let wrote = round.writes();
        if wrote {
            let columns = Columns::of(
                round
                    .inserts(group)
                    .map(|(record, incoming)| (record, incoming.raw.as_slice())),
            )?;
            columns.insert(&mut tx, round.last).map_err(pg)?;
            let records: Vec<&Record> = round.inserts(group).map(|(r, _)| r).collect();
            let bsns: Vec<&str> = records.iter().map(|r| r.bsn.as_str()).collect();
            let mut stored: HashMap<String, Tijdlijn> = HashMap::new();
            for row in tx
                .query(
                    "SELECT tijdlijn FROM tijdlijnen WHERE bsn = ANY($1)",
                    &[&bsns],
                )
                .map_err(pg)?
            {
                let t = Tijdlijn::decode(row.get(0))?;
                stored.insert(t.bsn.clone(), t);
            }
            let changed = apply_round(records, |bsn| Ok(stored.remove(bsn)))?;
            write_timelines(&mut tx, &changed)?;
        }
        if !entries.is_empty() {
            // Audit times increase strictly over the log of every
            // instance: the lock orders the rounds.
            let previous: Option<i64> = tx
                .query_one("SELECT max(tijdstip) FROM audit", &[])
                .map_err(pg)?
                .get(0);
            let at = Moment::now().max(Moment(previous.unwrap_or(0)).next());
            let (mut ns, mut organisaties, mut waarden) = (Vec::new(), Vec::new(), Vec::new());
            for (n, entry) in entries.iter_mut().enumerate() {
                entry.tijdstip = at;
                ns.push(i32::try_from(n).unwrap_or(i32::MAX));
                organisaties.push(entry.organisatie.clone());
                waarden.push(json(entry)?);
            }
            tx.execute(
                "INSERT INTO audit (tijdstip, n, organisatie, waarde) \
                 SELECT $1, * FROM UNNEST($2::INTEGER[], $3::TEXT[], $4::TEXT[])",
                &[&at.0, &ns, &organisaties, &waarden],
            )
            .map_err(pg)?;
        }
        tx.commit().map_err(pg)?;
        let last = round.last;
        Ok((round.outcomes(), wrote.then_some(last)))
    }
}

/// Writes changed timelines and their municipalities.
fn write_timelines(tx: &mut Transaction<'_>, changed: &[Tijdlijn]) -> Result<(), StoreError> {
    let (mut bsns, mut values) = (Vec::new(), Vec::new());
    let (mut gemeenten, mut leden) = (Vec::new(), Vec::new());
    for t in changed {
        bsns.push(t.bsn.as_str());
        values.push(t.encode()?);
        for g in t.gemeenten() {
            gemeenten.push(g);
            leden.push(t.bsn.as_str());
        }
    }
    tx.execute(
        "INSERT INTO tijdlijnen (bsn, tijdlijn) SELECT * FROM UNNEST($1::TEXT[], $2::BYTEA[]) \
         ON CONFLICT (bsn) DO UPDATE SET tijdlijn = EXCLUDED.tijdlijn",
        &[&bsns, &values],
    )
    .map_err(pg)?;
    tx.execute(
        "INSERT INTO tijdlijn_gemeenten (gemeente, bsn) SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[]) \
         ON CONFLICT DO NOTHING",
        &[&gemeenten, &leden],
    )
    .map_err(pg)?;
    Ok(())
}

/// Builds every client's timeline from the messages, once, for a database
/// that had messages before timelines were kept: under the writer lock,
/// client by client, in one transaction.
fn build_timelines(client: &mut Client) -> Result<(), StoreError> {
    let needed =
        "SELECT EXISTS (SELECT 1 FROM berichten) AND NOT EXISTS (SELECT 1 FROM tijdlijnen)";
    if !client.query_one(needed, &[]).map_err(pg)?.get::<_, bool>(0) {
        return Ok(());
    }
    let (mut tx, _, _) = begin_writing(client).map_err(pg)?;
    if !tx.query_one(needed, &[]).map_err(pg)?.get::<_, bool>(0) {
        return Ok(());
    }
    let portal = tx
        .bind(
            "SELECT record, raw FROM berichten ORDER BY bsn, volgnummer",
            &[],
        )
        .map_err(pg)?;
    let (mut current, mut changed, mut clients) = (Vec::<Stored>::new(), Vec::new(), 0u64);
    loop {
        let rows = tx.query_portal(&portal, 10_000).map_err(pg)?;
        let done = rows.is_empty();
        for row in &rows {
            let s = stored(row)?;
            if current
                .first()
                .is_some_and(|c| c.record.bsn != s.record.bsn)
            {
                changed.push(Tijdlijn::of(&current[0].record.bsn, &current));
                current.clear();
            }
            current.push(s);
        }
        if done {
            if let Some(first) = current.first() {
                changed.push(Tijdlijn::of(&first.record.bsn, &current));
            }
        }
        clients += changed.len() as u64;
        write_timelines(&mut tx, &std::mem::take(&mut changed))?;
        if done {
            break;
        }
    }
    tx.commit().map_err(pg)?;
    tracing::info!(clients, "built the clients' timelines for reports (once)");
    Ok(())
}

/// Starts a transaction that writes messages: READ COMMITTED whatever the
/// database's default (each statement's snapshot is taken after the lock,
/// so it sees every round before), under the writer lock, with the last
/// message's number and moment.
fn begin_writing(client: &mut Client) -> Result<(Transaction<'_>, u64, Moment), postgres::Error> {
    let mut tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::ReadCommitted)
        .start()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])?;
    let last = tx.query_opt(
        "SELECT volgnummer, ontvangen FROM berichten ORDER BY volgnummer DESC LIMIT 1",
        &[],
    )?;
    let (n, moment) = last.map_or((0, Moment(0)), |row| {
        (
            u64::try_from(row.get::<_, i64>(0)).unwrap_or(0),
            Moment(row.get(1)),
        )
    });
    Ok((tx, n, moment))
}

/// Messages to insert, column by column, for one `UNNEST` statement.
#[derive(Default)]
struct Columns {
    volgnummer: Vec<i64>,
    bericht_id: Vec<String>,
    bsn: Vec<String>,
    gemeente: Vec<String>,
    ontvangen: Vec<i64>,
    record: Vec<String>,
    raw: Vec<Vec<u8>>,
}

impl Columns {
    fn of<'a>(rows: impl Iterator<Item = (&'a Record, &'a [u8])>) -> Result<Columns, StoreError> {
        let mut c = Columns::default();
        for (record, raw) in rows {
            c.volgnummer.push(int(record.volgnummer));
            c.bericht_id.push(record.bericht_id.clone());
            c.bsn.push(record.bsn.clone());
            c.gemeente.push(record.gemeente.clone());
            c.ontvangen.push(record.ontvangen.0);
            c.record.push(json(record)?);
            c.raw.push(raw.to_vec());
        }
        Ok(c)
    }

    /// Inserts them in one statement and announces `last` to every
    /// instance (delivered at commit).
    fn insert(&self, tx: &mut Transaction<'_>, last: u64) -> Result<(), postgres::Error> {
        tx.execute(
            "INSERT INTO berichten (volgnummer, bericht_id, bsn, gemeente, ontvangen, record, raw) \
             SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::TEXT[], $7::BYTEA[])",
            &[
                &self.volgnummer,
                &self.bericht_id,
                &self.bsn,
                &self.gemeente,
                &self.ontvangen,
                &self.record,
                &self.raw,
            ],
        )?;
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &last.to_string()])?;
        Ok(())
    }
}

/// Admission's reads, inside the round's transaction (so under its lock):
/// the messages with the round's own ids read beforehand, the rest (the
/// ids a reference names, a client's records) when asked.
struct InTransaction<'a, 'b> {
    tx: RefCell<&'a mut Transaction<'b>>,
    by_id: HashMap<String, Vec<Stored>>,
}

impl Lookup for InTransaction<'_, '_> {
    fn sent_by(&self, sender: &Sender, id: &str) -> Result<Option<Stored>, StoreError> {
        let read;
        let stored_with_id = match self.by_id.get(id) {
            Some(found) => found,
            None => {
                read = self
                    .tx
                    .borrow_mut()
                    .query(
                        "SELECT record, raw FROM berichten WHERE bericht_id = $1 ORDER BY volgnummer",
                        &[&id],
                    )
                    .map_err(pg)?
                    .iter()
                    .map(stored)
                    .collect::<Result<Vec<_>, _>>()?;
                &read
            }
        };
        Ok(stored_with_id
            .iter()
            .find(|s| sender.same_id_space(&s.record))
            .cloned())
    }

    fn client_records(&self, bsn: &str) -> Result<Vec<Record>, StoreError> {
        let rows = self
            .tx
            .borrow_mut()
            .query(
                "SELECT record FROM berichten WHERE bsn = $1 ORDER BY volgnummer",
                &[&bsn],
            )
            .map_err(pg)?;
        rows.iter().map(|r| decode(r.get::<_, &str>(0))).collect()
    }
}

impl Store for PgStore {
    fn accept(&self, incoming: Incoming) -> Pending {
        let (reply, answer) = oneshot::channel();
        let sent = self.send(Job::Message(Box::new(incoming), reply));
        super::writer_answer(sent, answer, |why| Decision {
            result: Err(StoreError::Unavailable(why.into())),
            commit: None,
        })
    }

    /// Decisions are answered after their COMMIT: nothing to wait for.
    fn durable(&self, _commit: Commit) -> Durable {
        Box::pin(async { Ok(()) })
    }

    fn messages(&self, bericht_id: &str) -> Result<Vec<Stored>, StoreError> {
        self.select(
            "SELECT record, raw FROM berichten WHERE bericht_id = $1 ORDER BY volgnummer",
            params![bericht_id.to_string()],
        )
    }

    fn client(&self, bsn: &str) -> Result<Vec<Stored>, StoreError> {
        self.select(
            "SELECT record, raw FROM berichten WHERE bsn = $1 ORDER BY volgnummer",
            params![bsn.to_string()],
        )
    }

    fn count(&self) -> Result<u64, StoreError> {
        Ok(*self.changes.borrow())
    }

    fn ready(&self) -> Result<(), StoreError> {
        if self.jobs.read().map_or(true, |j| j.is_none()) {
            return Err(io("the store is closed"));
        }
        self.pool.run(|c| c.simple_query("SELECT 1").map(|_| ()))
    }

    fn feed(&self, gemeente: &str, after: u64, limit: usize) -> Result<Vec<Stored>, StoreError> {
        // Up to the watermark only, as the sled engine: every reader of
        // an instance agrees on what has been announced.
        let upto = *self.changes.borrow();
        if after >= upto {
            return Ok(Vec::new());
        }
        self.select(
            "SELECT record, raw FROM berichten \
             WHERE gemeente = $1 AND volgnummer > $2 AND volgnummer <= $3 \
             ORDER BY volgnummer LIMIT $4",
            params![
                gemeente.to_string(),
                int(after),
                int(upto),
                i64::try_from(limit).unwrap_or(i64::MAX),
            ],
        )
    }

    fn backlog(&self, gemeente: &str, after: u64) -> Result<u64, StoreError> {
        let upto = *self.changes.borrow();
        if after >= upto {
            return Ok(0);
        }
        let rows = self.query(
            "SELECT count(*) FROM berichten \
             WHERE gemeente = $1 AND volgnummer > $2 AND volgnummer <= $3",
            params![gemeente.to_string(), int(after), int(upto)],
        )?;
        Ok(rows
            .first()
            .map_or(0, |r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0)))
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    fn close(&self) -> Result<(), StoreError> {
        self.shut()
    }

    fn all(&self, after: u64, limit: usize) -> Result<Vec<Stored>, StoreError> {
        let upto = *self.changes.borrow();
        if after >= upto {
            return Ok(Vec::new());
        }
        self.select(
            "SELECT record, raw FROM berichten WHERE volgnummer > $1 AND volgnummer <= $2 \
             ORDER BY volgnummer LIMIT $3",
            params![
                int(after),
                int(upto),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
        )
    }

    fn tijdlijn(&self, bsn: &str) -> Result<Option<Tijdlijn>, StoreError> {
        self.query_opt(
            "SELECT tijdlijn FROM tijdlijnen WHERE bsn = $1",
            params![bsn.to_string()],
        )?
        .map(|row| Tijdlijn::decode(row.get(0)))
        .transpose()
    }

    fn tijdlijnen(
        &self,
        gemeente: Option<&str>,
        visit: &mut dyn FnMut(&TijdlijnRef<'_>),
    ) -> Result<(), StoreError> {
        // Pages in BSN order, so that no result is held whole.
        const PAGE: i64 = 5_000;
        let mut after = String::new();
        loop {
            let rows = match gemeente {
                None => self.query(
                    "SELECT bsn, tijdlijn FROM tijdlijnen WHERE bsn > $1 ORDER BY bsn LIMIT $2",
                    params![after.clone(), PAGE],
                )?,
                Some(g) => self.query(
                    "SELECT t.bsn, t.tijdlijn FROM tijdlijn_gemeenten g \
                     JOIN tijdlijnen t ON t.bsn = g.bsn \
                     WHERE g.gemeente = $1 AND g.bsn > $2 ORDER BY g.bsn LIMIT $3",
                    params![g.to_string(), after.clone(), PAGE],
                )?,
            };
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = last.get::<_, String>(0);
            let full = rows.len() as i64 == PAGE;
            for row in &rows {
                visit(&TijdlijnRef::decode(row.get(1))?);
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn restore(&self, batch: Vec<Stored>) -> Durable {
        let Some(last) = batch.last().map(|s| s.record.volgnummer) else {
            return Box::pin(async { Ok(()) });
        };
        let (first, first_moment) = (batch[0].record.volgnummer, batch[0].record.ontvangen);
        // The batch continues its own numbering; the store's last message
        // is checked under the lock.
        let continuous = batch.windows(2).all(|w| {
            w[1].record.volgnummer == w[0].record.volgnummer + 1
                && w[1].record.ontvangen > w[0].record.ontvangen
        });
        let columns = match Columns::of(batch.iter().map(|s| (&s.record, s.raw.as_slice()))) {
            Ok(c) if continuous => c,
            Ok(_) => {
                return Box::pin(async { Err(io("copied messages must be numbered without gaps")) })
            }
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        let written = self.pool.run(move |c| {
            let (mut tx, before, moment) = begin_writing(c)?;
            if first != before + 1 || first_moment <= moment {
                return Ok(Err(format!(
                    "a copied message must continue the numbering: {first} after {before}"
                )));
            }
            columns.insert(&mut tx, last)?;
            let rebuilt = rebuild_for(&batch, |bsn| {
                let rows = tx
                    .query(
                        "SELECT record, raw FROM berichten WHERE bsn = $1 AND volgnummer < $2 ORDER BY volgnummer",
                        &[&bsn, &int(first)],
                    )
                    .map_err(pg)?;
                rows.iter().map(stored).collect()
            });
            match rebuilt.and_then(|changed| write_timelines(&mut tx, &changed)) {
                Ok(()) => {}
                Err(e) => return Ok(Err(e.to_string())),
            }
            tx.commit()?;
            Ok(Ok(()))
        });
        let result = match written {
            Ok(Ok(())) => {
                announce(&self.watermark, last);
                Ok(())
            }
            Ok(Err(why)) => Err(StoreError::Unavailable(why)),
            Err(e) => Err(e),
        };
        Box::pin(async move { result })
    }
}

impl DeliveryStore for PgStore {
    fn add_subscription(&self, a: &Abonnement) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO abonnementen (id, waarde) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET waarde = excluded.waarde",
            params![a.id.clone(), json(a)?],
        )?;
        Ok(())
    }

    fn subscriptions(&self) -> Result<Vec<Abonnement>, StoreError> {
        self.values(
            "SELECT waarde FROM abonnementen ORDER BY id COLLATE \"C\"",
            params![],
        )
    }

    fn subscription(&self, id: &str) -> Result<Option<Abonnement>, StoreError> {
        self.value(
            "SELECT waarde FROM abonnementen WHERE id = $1",
            params![id.to_string()],
        )
    }

    fn remove_subscription(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.pool.run(move |c| {
            let mut tx = c.transaction()?;
            let existed = tx.execute("DELETE FROM abonnementen WHERE id = $1", &[&id])? > 0;
            tx.execute("DELETE FROM aflevering WHERE id = $1", &[&id])?;
            tx.execute("DELETE FROM dode_brieven WHERE id = $1", &[&id])?;
            tx.execute("DELETE FROM herhalingen WHERE id = $1", &[&id])?;
            tx.execute("DELETE FROM bezorgers WHERE id = $1", &[&id])?;
            tx.commit()?;
            Ok(existed)
        })
    }

    fn delivery_state(&self, id: &str) -> Result<Afleverstand, StoreError> {
        Ok(self
            .value(
                "SELECT waarde FROM aflevering WHERE id = $1",
                params![id.to_string()],
            )?
            .unwrap_or_default())
    }

    fn save_delivery_state(&self, id: &str, stand: &Afleverstand) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO aflevering (id, waarde) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET waarde = excluded.waarde",
            params![id.to_string(), json(stand)?],
        )?;
        Ok(())
    }

    fn add_dead_letter(&self, id: &str, brief: &DodeBrief) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO dode_brieven (id, volgnummer, waarde) VALUES ($1, $2, $3) \
             ON CONFLICT (id, volgnummer) DO UPDATE SET waarde = excluded.waarde",
            params![id.to_string(), int(brief.volgnummer), json(brief)?],
        )?;
        Ok(())
    }

    fn dead_letters(&self, id: &str) -> Result<Vec<DodeBrief>, StoreError> {
        self.values(
            "SELECT waarde FROM dode_brieven WHERE id = $1 ORDER BY volgnummer",
            params![id.to_string()],
        )
    }

    fn clear_dead_letters(&self, id: &str, from: u64) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM dode_brieven WHERE id = $1 AND volgnummer >= $2",
            params![id.to_string(), int(from)],
        )?;
        Ok(())
    }

    fn shared(&self) -> bool {
        true
    }

    fn lease(&self, id: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        // The database's clock, not the instances': they may disagree.
        let millis = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let taken = self.execute(
            "INSERT INTO bezorgers (id, houder, tot) \
             VALUES ($1, $2, clock_timestamp() + $3::BIGINT * interval '1 millisecond') \
             ON CONFLICT (id) DO UPDATE SET houder = excluded.houder, tot = excluded.tot \
             WHERE bezorgers.houder = excluded.houder OR bezorgers.tot < clock_timestamp()",
            params![id.to_string(), holder.to_string(), millis],
        )?;
        Ok(taken > 0)
    }

    fn release(&self, id: &str, holder: &str) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM bezorgers WHERE id = $1 AND houder = $2",
            params![id.to_string(), holder.to_string()],
        )?;
        Ok(())
    }

    fn request_replay(&self, id: &str, from: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO herhalingen (id, vanaf) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET vanaf = least(herhalingen.vanaf, excluded.vanaf)",
            params![id.to_string(), int(from)],
        )?;
        Ok(())
    }

    fn take_replay(&self, id: &str) -> Result<Option<u64>, StoreError> {
        let row = self.query_opt(
            "DELETE FROM herhalingen WHERE id = $1 RETURNING vanaf",
            params![id.to_string()],
        )?;
        Ok(row.and_then(|r| u64::try_from(r.get::<_, i64>(0)).ok()))
    }
}

impl PgStore {
    /// One setting's value, created with `make` when there is none yet
    /// (by whichever instance gets there first), and whether this call
    /// created it.
    fn setting(&self, naam: &'static str, make: Vec<u8>) -> Result<(Vec<u8>, bool), StoreError> {
        self.pool.run(move |c| {
            let created = c.execute(
                "INSERT INTO instellingen (naam, waarde) VALUES ($1, $2) ON CONFLICT (naam) DO NOTHING",
                &[&naam, &make],
            )? > 0;
            let row = c.query_one("SELECT waarde FROM instellingen WHERE naam = $1", &[&naam])?;
            Ok((row.get::<_, Vec<u8>>(0), created))
        })
    }
}

impl AuthStore for PgStore {
    fn organisations(&self) -> Result<Vec<Organisatie>, StoreError> {
        self.values(
            "SELECT waarde FROM organisaties ORDER BY id COLLATE \"C\"",
            params![],
        )
    }

    fn organisation(&self, id: &str) -> Result<Option<Organisatie>, StoreError> {
        self.value(
            "SELECT waarde FROM organisaties WHERE id = $1",
            params![id.to_string()],
        )
    }

    fn add_organisation(&self, org: &Organisatie) -> Result<bool, StoreError> {
        let added = self.execute(
            "INSERT INTO organisaties (id, waarde) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            params![org.id.clone(), json(org)?],
        )?;
        Ok(added > 0)
    }

    fn update_organisation(&self, org: &Organisatie) -> Result<bool, StoreError> {
        let updated = self.execute(
            "UPDATE organisaties SET waarde = $2 WHERE id = $1",
            params![org.id.clone(), json(org)?],
        )?;
        Ok(updated > 0)
    }

    fn credentials(&self) -> Result<Vec<Sleutel>, StoreError> {
        self.values(
            "SELECT waarde FROM sleutels ORDER BY id COLLATE \"C\"",
            params![],
        )
    }

    fn credential(&self, id: &str) -> Result<Option<Sleutel>, StoreError> {
        self.value(
            "SELECT waarde FROM sleutels WHERE id = $1",
            params![id.to_string()],
        )
    }

    fn add_credential(&self, sleutel: &Sleutel) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO sleutels (id, waarde) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET waarde = excluded.waarde",
            params![sleutel.id.clone(), json(sleutel)?],
        )?;
        Ok(())
    }

    fn revoke_credential(&self, id: &str, at: Moment) -> Result<bool, StoreError> {
        loop {
            let Some(row) = self.query_opt(
                "SELECT waarde FROM sleutels WHERE id = $1",
                params![id.to_string()],
            )?
            else {
                return Ok(false);
            };
            let before: String = row.get(0);
            let mut s: Sleutel = decode(&before)?;
            if s.ingetrokken.is_some() {
                return Ok(true);
            }
            s.ingetrokken = Some(at);
            // Only over the value read: a revocation by another instance
            // meanwhile keeps its moment.
            let changed = self.execute(
                "UPDATE sleutels SET waarde = $2 WHERE id = $1 AND waarde = $3",
                params![id.to_string(), json(&s)?, before],
            )?;
            if changed > 0 {
                return Ok(true);
            }
        }
    }

    fn authorisations(&self) -> Result<Vec<Machtiging>, StoreError> {
        self.values(
            "SELECT waarde FROM machtigingen ORDER BY gemeente COLLATE \"C\", aan COLLATE \"C\", namens COLLATE \"C\"",
            params![],
        )
    }

    fn add_authorisation(&self, m: &Machtiging) -> Result<bool, StoreError> {
        let added = self.execute(
            "INSERT INTO machtigingen (gemeente, aan, namens, waarde) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
            params![
                m.gemeente.clone(),
                m.aan.clone(),
                m.namens.clone(),
                json(m)?
            ],
        )?;
        Ok(added > 0)
    }

    fn remove_authorisation(
        &self,
        gemeente: &str,
        aan: &str,
        namens: &str,
    ) -> Result<bool, StoreError> {
        let removed = self.execute(
            "DELETE FROM machtigingen WHERE gemeente = $1 AND aan = $2 AND namens = $3",
            params![gemeente.to_string(), aan.to_string(), namens.to_string()],
        )?;
        Ok(removed > 0)
    }

    fn bsn_salt(&self) -> Result<Vec<u8>, StoreError> {
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt).map_err(io)?;
        Ok(self.setting("bsn-salt", salt.to_vec())?.0)
    }

    fn first_start(&self) -> Result<bool, StoreError> {
        Ok(self.setting("gestart", b"1".to_vec())?.1)
    }

    fn shared(&self) -> bool {
        true
    }

    fn started(&self) -> Result<bool, StoreError> {
        Ok(self
            .query_opt(
                "SELECT 1 FROM instellingen WHERE naam = 'gestart'",
                params![],
            )?
            .is_some())
    }

    fn append_audit(&self, entry: AuditEntry) -> AuditPending {
        let (reply, durable) = oneshot::channel();
        let sent = self.send(Job::Audit(entry, reply));
        super::writer_answer(sent, durable, super::unavailable)
    }

    fn restore_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(entries.len());
        for round in entries.chunk_by(|a, b| a.tijdstip == b.tijdstip) {
            for (n, e) in round.iter().enumerate() {
                let n = i32::try_from(n).unwrap_or(i32::MAX);
                rows.push((e.tijdstip.0, n, e.organisatie.clone(), json(e)?));
            }
        }
        self.pool.run(move |c| {
            let mut tx = c.transaction()?;
            let insert = tx.prepare(
                "INSERT INTO audit (tijdstip, n, organisatie, waarde) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (tijdstip, n) DO NOTHING",
            )?;
            for (t, n, o, v) in &rows {
                tx.execute(&insert, &[t, n, o, v])?;
            }
            tx.commit()
        })
    }

    fn restore_salt(&self, salt: &[u8]) -> Result<(), StoreError> {
        let (held, _) = self.setting("bsn-salt", salt.to_vec())?;
        super::auth::same_salt(&held, salt)
    }

    fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        self.values(
            "SELECT waarde FROM audit \
             WHERE ($1::BIGINT IS NULL OR tijdstip >= $1) \
               AND ($2::BIGINT IS NULL OR tijdstip < $2) \
               AND ($3::TEXT IS NULL OR organisatie = $3) \
             ORDER BY tijdstip, n LIMIT $4",
            params![
                q.van.map(|m| m.0),
                q.tot.map(|m| m.0),
                q.organisatie.clone(),
                i64::try_from(q.limit).unwrap_or(i64::MAX),
            ],
        )
    }
}
