//! The embedded storage engine: sled, with group commit and a real fsync.
//!
//! One writer thread owns every write of messages. It takes all requests
//! queued while the previous group was being flushed, checks each in
//! acceptance order (repeats, conflicts, references, also against earlier
//! members of the same group), writes the whole group as one atomic sled
//! batch, flushes sled and then `fdatasync`s sled's log file itself: sled
//! 0.34's flush only uses `sync_file_range`, which survives a process crash
//! but not a power loss (sled issue #1452). Only then are the group's
//! acknowledgements released. docs/storage.md describes the layout.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use tokio::sync::{oneshot, watch};

use super::record::{check_reference, Draft};
use super::{Incoming, Outcome, Pending, Record, Store, StoreError, Stored};
use crate::report::Code;
use crate::time::Moment;

/// sled stores values larger than a quarter segment outside its log, in
/// files it never fsyncs. 8 MiB segments keep every value (at most the
/// 1 MiB message limit plus its record) inside the synced log.
const SEGMENT_SIZE: usize = 8 * 1024 * 1024;
/// Most messages one group commit takes.
const MAX_GROUP: usize = 512;

/// Key prefixes in the `berichten` tree. One tree, so that a group is one
/// atomic batch.
const BERICHT: u8 = b'b';
const ID: u8 = b'i';
const CLIENT: u8 = b'c';
const GEMEENTE: u8 = b'g';
const LAATSTE: &[u8] = b"m";

struct Job {
    incoming: Incoming,
    reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

/// The database's trees.
#[derive(Clone)]
pub(super) struct Trees {
    pub db: sled::Db,
    pub berichten: sled::Tree,
    pub abonnementen: sled::Tree,
    pub aflevering: sled::Tree,
    pub dode_brieven: sled::Tree,
}

/// The sled engine. Dropping it stops the writer after the queued work.
pub struct SledStore {
    trees: Trees,
    log: Arc<File>,
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    failed: Arc<AtomicBool>,
    changes: watch::Receiver<u64>,
}

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn key(prefix: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len()).sum::<usize>());
    k.push(prefix);
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// A stored message's value: record length (u32 BE), record JSON, raw bytes.
fn encode(record: &Record, raw: &[u8]) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(record).map_err(io)?;
    let len = u32::try_from(json.len()).map_err(io)?;
    let mut v = Vec::with_capacity(4 + json.len() + raw.len());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&json);
    v.extend_from_slice(raw);
    Ok(v)
}

fn decode(value: &[u8]) -> Result<Stored, StoreError> {
    let corrupt = || io("a stored message is unreadable");
    let len = u32::from_be_bytes(
        value
            .get(..4)
            .ok_or_else(corrupt)?
            .try_into()
            .map_err(|_| corrupt())?,
    ) as usize;
    let json = value.get(4..4 + len).ok_or_else(corrupt)?;
    Ok(Stored {
        record: serde_json::from_slice(json).map_err(io)?,
        raw: value[4 + len..].to_vec(),
    })
}

impl SledStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(io)?;
        let db = sled::Config::new()
            .path(dir)
            .segment_size(SEGMENT_SIZE)
            .cache_capacity(256 * 1024 * 1024)
            .open()
            .map_err(io)?;
        let tree = |name: &str| db.open_tree(name).map_err(io);
        let trees = Trees {
            berichten: tree("berichten")?,
            abonnementen: tree("abonnementen")?,
            aflevering: tree("aflevering")?,
            dode_brieven: tree("dode_brieven")?,
            db,
        };
        // Make the files sled created, and their directory entries, durable.
        trees.db.flush().map_err(io)?;
        let log = Arc::new(
            File::options()
                .read(true)
                .write(true)
                .open(dir.join("db"))
                .map_err(io)?,
        );
        log.sync_all().map_err(io)?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;

        let (tx, rx) = mpsc::channel::<Job>();
        let failed = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            trees: trees.clone(),
            dir: dir.to_path_buf(),
            failed: failed.clone(),
        };
        let (last, _) = writer.last()?;
        let (durable, changes) = watch::channel(last);
        let (applied_tx, applied_rx) = mpsc::channel::<Applied>();
        let (t, l, f) = (trees.clone(), log.clone(), failed.clone());
        let syncer = std::thread::Builder::new()
            .name("ladderpost-sync".into())
            .spawn(move || syncer(t, l, f, applied_rx, durable))
            .map_err(io)?;
        let handle = std::thread::Builder::new()
            .name("ladderpost-writer".into())
            .spawn(move || {
                writer.run(rx, applied_tx);
                // The writer is done; the syncer drains and ends with it.
                let _ = syncer.join();
            })
            .map_err(io)?;
        Ok(SledStore {
            trees,
            log,
            jobs: Some(tx),
            writer: Some(handle),
            failed,
            changes,
        })
    }

    pub(super) fn trees(&self) -> &Trees {
        &self.trees
    }

    /// Makes everything written so far durable.
    pub(super) fn sync(&self) -> Result<(), StoreError> {
        self.trees.db.flush().map_err(io)?;
        self.log.sync_data().map_err(io)
    }

    /// A stored message by sequence number, if it is durable: readers never
    /// see a message that a crash could still take back (a feed reader
    /// would otherwise keep a number that could later be another message).
    fn by_seq(&self, seq: &[u8]) -> Result<Option<Stored>, StoreError> {
        let n = seq.try_into().map(u64::from_be_bytes).unwrap_or(u64::MAX);
        if n > *self.changes.borrow() {
            return Ok(None);
        }
        match self.trees.berichten.get(key(BERICHT, &[seq])).map_err(io)? {
            Some(v) => decode(&v).map(Some),
            None => Ok(None),
        }
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish its queue and stop.
        self.jobs.take();
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
        let _ = self.sync();
    }
}

impl Store for SledStore {
    fn accept(&self, incoming: Incoming) -> Pending {
        let (reply, answer) = oneshot::channel();
        let sent = match &self.jobs {
            Some(jobs) if !self.failed.load(Ordering::SeqCst) => {
                jobs.send(Job { incoming, reply }).is_ok()
            }
            _ => false,
        };
        Box::pin(async move {
            if !sent {
                return Err(StoreError::Unavailable(
                    "the store is not accepting writes".into(),
                ));
            }
            answer
                .await
                .unwrap_or_else(|_| Err(StoreError::Unavailable("the writer stopped".into())))
        })
    }

    fn message(&self, bericht_id: &str) -> Result<Option<Stored>, StoreError> {
        match self
            .trees
            .berichten
            .get(key(ID, &[bericht_id.as_bytes()]))
            .map_err(io)?
        {
            Some(seq) => self.by_seq(&seq),
            None => Ok(None),
        }
    }

    fn client(&self, bsn: &str) -> Result<Vec<Stored>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .trees
            .berichten
            .scan_prefix(key(CLIENT, &[bsn.as_bytes()]))
        {
            let (k, _) = item.map_err(io)?;
            if let Some(s) = self.by_seq(&k[1 + bsn.len()..])? {
                out.push(s);
            }
        }
        Ok(out)
    }

    fn count(&self) -> Result<u64, StoreError> {
        Ok(*self.changes.borrow())
    }

    fn ready(&self) -> Result<(), StoreError> {
        if self.failed.load(Ordering::SeqCst) || self.jobs.is_none() {
            return Err(StoreError::Unavailable(
                "a write to disk failed; restart the service".into(),
            ));
        }
        self.trees.berichten.get(LAATSTE).map_err(io)?;
        Ok(())
    }

    fn last_accepted(&self) -> Result<Option<Moment>, StoreError> {
        let last = *self.changes.borrow();
        if last == 0 {
            return Ok(None);
        }
        Ok(self
            .by_seq(&last.to_be_bytes())?
            .map(|s| s.record.ontvangen))
    }

    fn feed(&self, gemeente: &str, after: u64, limit: usize) -> Result<Vec<Stored>, StoreError> {
        let from = key(
            GEMEENTE,
            &[gemeente.as_bytes(), &after.saturating_add(1).to_be_bytes()],
        );
        let to = key(GEMEENTE, &[gemeente.as_bytes(), &u64::MAX.to_be_bytes()]);
        let durable = *self.changes.borrow();
        let mut out = Vec::with_capacity(limit.min(1024));
        for item in self.trees.berichten.range(from..=to).take(limit) {
            let (k, _) = item.map_err(io)?;
            match self.by_seq(&k[1 + gemeente.len()..])? {
                Some(s) if s.record.volgnummer <= durable => out.push(s),
                // Later ones are not durable yet: stop, keeping the order.
                _ => break,
            }
        }
        Ok(out)
    }

    fn backlog(&self, gemeente: &str, after: u64) -> Result<u64, StoreError> {
        let from = key(
            GEMEENTE,
            &[gemeente.as_bytes(), &after.saturating_add(1).to_be_bytes()],
        );

        // Only durable messages count.
        let to = key(
            GEMEENTE,
            &[gemeente.as_bytes(), &self.changes.borrow().to_be_bytes()],
        );
        if to < from {
            return Ok(0);
        }
        Ok(self.trees.berichten.range(from..=to).count() as u64)
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }
}

/// The single writer.
struct Writer {
    trees: Trees,
    dir: PathBuf,
    failed: Arc<AtomicBool>,
}

/// A group member's fate before the group is written.
enum Plan {
    Done(Result<Outcome, StoreError>),
    Insert(Box<Record>),
}

impl Writer {
    /// Plans and applies groups, handing each to the syncer; the next group
    /// is prepared while the previous one is being made durable.
    fn run(self, jobs: mpsc::Receiver<Job>, synced: mpsc::Sender<Applied>) {
        while let Ok(first) = jobs.recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            let applied = if self.failed.load(Ordering::SeqCst) {
                Err(StoreError::Unavailable(
                    "an earlier write to disk failed".into(),
                ))
            } else {
                self.commit(&group)
            };
            let replies = group.into_iter().map(|j| j.reply).collect();
            let msg = match applied {
                Ok((results, last, wrote)) => Applied {
                    replies,
                    results: Ok(results),
                    last,
                    wrote,
                },
                Err(e) => {
                    tracing::error!(error = %e, dir = %self.dir.display(), "write to the store failed");
                    self.failed.store(true, Ordering::SeqCst);
                    Applied {
                        replies,
                        results: Err(e),
                        last: 0,
                        wrote: false,
                    }
                }
            };
            if synced.send(msg).is_err() {
                return;
            }
        }
    }

    fn last(&self) -> Result<(u64, Moment), StoreError> {
        Ok(match self.trees.berichten.get(LAATSTE).map_err(io)? {
            Some(v) if v.len() == 16 => {
                let (a, b) = v.split_at(8);
                (
                    u64::from_be_bytes(a.try_into().unwrap_or_default()),
                    Moment(i64::from_be_bytes(b.try_into().unwrap_or_default())),
                )
            }
            _ => (0, Moment(0)),
        })
    }

    fn stored_by_id(&self, id: &str) -> Result<Option<Stored>, StoreError> {
        let Some(seq) = self
            .trees
            .berichten
            .get(key(ID, &[id.as_bytes()]))
            .map_err(io)?
        else {
            return Ok(None);
        };
        match self
            .trees
            .berichten
            .get(key(BERICHT, &[&seq]))
            .map_err(io)?
        {
            Some(v) => decode(&v).map(Some),
            None => Ok(None),
        }
    }

    fn client_records(&self, bsn: &str) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .trees
            .berichten
            .scan_prefix(key(CLIENT, &[bsn.as_bytes()]))
        {
            let (k, _) = item.map_err(io)?;
            if let Some(v) = self
                .trees
                .berichten
                .get(key(BERICHT, &[&k[1 + bsn.len()..]]))
                .map_err(io)?
            {
                out.push(decode(&v)?.record);
            }
        }
        Ok(out)
    }

    /// Decides, writes and makes durable one group; returns each member's
    /// outcome and the last sequence number. `Err` only when the store
    /// itself failed.
    fn commit(&self, group: &[Job]) -> Result<(Outcomes, u64, bool), StoreError> {
        let (mut seq, mut moment) = self.last()?;
        // Members of this group already planned, by id: (record, raw).
        let mut planned: HashMap<String, (Record, &[u8])> = HashMap::new();
        let mut plans = Vec::with_capacity(group.len());
        let mut batch = sled::Batch::default();
        for job in group {
            let incoming = &job.incoming;
            let draft = match Draft::of(
                &incoming.document,
                &incoming.warnings,
                incoming.wortel.clone(),
            ) {
                Ok(d) => d,
                Err(e) => {
                    plans.push(Plan::Done(Err(e)));
                    continue;
                }
            };
            let earlier = match planned.get(&draft.bericht_id) {
                Some((r, raw)) => Some((r.clone(), raw.to_vec())),
                None => self
                    .stored_by_id(&draft.bericht_id)?
                    .map(|s| (s.record, s.raw)),
            };
            if let Some((record, raw)) = earlier {
                plans.push(Plan::Done(if raw == incoming.raw {
                    Ok(Outcome::Repeat(record.receipt()))
                } else {
                    Err(StoreError::rejected(
                        Code::BerichtConflict,
                        format!(
                            "message id {} was accepted before with different content; a new message needs a new id",
                            draft.bericht_id
                        ),
                    ))
                }));
                continue;
            }
            if let Some(target_id) = &draft.verwijst_naar {
                let target = match planned.get(target_id) {
                    Some((r, _)) => Some(r.clone()),
                    None => self.stored_by_id(target_id)?.map(|s| s.record),
                };
                let mut client = self.client_records(&draft.bsn)?;
                client.extend(
                    planned
                        .values()
                        .filter(|(r, _)| r.bsn == draft.bsn)
                        .map(|(r, _)| r.clone()),
                );
                if let Err(e) = check_reference(&draft, target.as_ref(), &client) {
                    plans.push(Plan::Done(Err(e)));
                    continue;
                }
            }
            seq += 1;
            // Received-at times increase strictly with the sequence numbers.
            moment = Moment::now().max(moment.next());
            let record = draft.into_record(seq, moment);
            let s = seq.to_be_bytes();
            batch.insert(key(BERICHT, &[&s]), encode(&record, &incoming.raw)?);
            batch.insert(key(ID, &[record.bericht_id.as_bytes()]), &s);
            batch.insert(key(CLIENT, &[record.bsn.as_bytes(), &s]), &[]);
            batch.insert(key(GEMEENTE, &[record.gemeente.as_bytes(), &s]), &[]);
            planned.insert(record.bericht_id.clone(), (record.clone(), &incoming.raw));
            plans.push(Plan::Insert(Box::new(record)));
        }

        let wrote = plans.iter().any(|p| matches!(p, Plan::Insert(_)));
        if wrote {
            let mut last = Vec::with_capacity(16);
            last.extend_from_slice(&seq.to_be_bytes());
            last.extend_from_slice(&moment.0.to_be_bytes());
            batch.insert(LAATSTE, last);
            // One tree, one batch: the whole group or nothing after a crash.
            self.trees.berichten.apply_batch(batch).map_err(io)?;
        }
        let results = plans
            .into_iter()
            .map(|p| match p {
                Plan::Done(result) => result,
                Plan::Insert(record) => Ok(Outcome::Accepted(record.receipt())),
            })
            .collect();
        Ok((results, seq, wrote))
    }
}

/// Each group member's answer.
type Outcomes = Vec<Result<Outcome, StoreError>>;

/// A group applied in memory, waiting to be made durable.
struct Applied {
    replies: Vec<oneshot::Sender<Result<Outcome, StoreError>>>,
    results: Result<Outcomes, StoreError>,
    last: u64,
    wrote: bool,
}

/// Makes applied groups durable — one flush and `fdatasync` for all that
/// are waiting — and only then answers them and moves the durable
/// watermark that readers see.
fn syncer(
    trees: Trees,
    log: Arc<File>,
    failed: Arc<AtomicBool>,
    groups: mpsc::Receiver<Applied>,
    durable: watch::Sender<u64>,
) {
    while let Ok(first) = groups.recv() {
        let mut batch = vec![first];
        while let Ok(more) = groups.try_recv() {
            batch.push(more);
        }
        let synced = if batch.iter().any(|a| a.wrote) {
            trees
                .db
                .flush()
                .map_err(io)
                .and_then(|_| log.sync_data().map_err(io))
        } else {
            Ok(())
        };
        if let Err(e) = &synced {
            tracing::error!(error = %e, "syncing the store failed");
            failed.store(true, Ordering::SeqCst);
        }
        let last = batch.iter().filter(|a| a.wrote).map(|a| a.last).max();
        if let (Ok(()), Some(last)) = (&synced, last) {
            durable.send_replace(last);
        }
        for applied in batch {
            let results: Vec<Result<Outcome, StoreError>> = match (&synced, applied.results) {
                (Ok(()), Ok(results)) => results,
                (Err(e), _) => applied.replies.iter().map(|_| Err(e.clone())).collect(),
                (_, Err(e)) => applied.replies.iter().map(|_| Err(e.clone())).collect(),
            };
            for (reply, result) in applied.replies.into_iter().zip(results) {
                let _ = reply.send(result);
            }
        }
    }
}
