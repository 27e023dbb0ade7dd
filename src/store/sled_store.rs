//! The embedded storage engine: sled, with group commit and a real fsync.
//!
//! One writer thread owns every write. It takes all requests queued while
//! the previous group was being flushed, checks each in acceptance order
//! (repeats, conflicts, references, also against earlier members of the
//! same group), writes the whole group in one sled transaction, flushes
//! sled and then `fdatasync`s sled's log file itself: sled 0.34's flush
//! only uses `sync_file_range`, which survives a process crash but not a
//! power loss (sled issue #1452). Only then are the group's
//! acknowledgements released. docs/storage.md describes the layout.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use tokio::sync::oneshot;

use super::record::{check_reference, Draft};
use super::{Incoming, Outcome, Pending, Record, Store, StoreError, Stored};
use crate::report::Code;
use crate::time::Moment;

/// sled stores values larger than a quarter segment outside its log, in
/// files it never fsyncs. 8 MiB segments keep every value (at most the
/// 1 MiB message limit) inside the fsynced log.
const SEGMENT_SIZE: usize = 8 * 1024 * 1024;
/// Most messages one group commit takes.
const MAX_GROUP: usize = 512;

const TREE_BERICHTEN: &str = "berichten";
const TREE_ORIGINEEL: &str = "origineel";
const TREE_IDS: &str = "ids";
const TREE_CLIENTEN: &str = "clienten";
const TREE_GEMEENTEN: &str = "gemeenten";
const TREE_META: &str = "meta";
const KEY_LAST: &[u8] = b"laatste";

struct Job {
    incoming: Incoming,
    reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

#[derive(Clone)]
struct Trees {
    db: sled::Db,
    berichten: sled::Tree,
    origineel: sled::Tree,
    ids: sled::Tree,
    clienten: sled::Tree,
    gemeenten: sled::Tree,
    meta: sled::Tree,
}

/// The sled engine. Dropping it stops the writer after the queued work.
pub struct SledStore {
    trees: Trees,
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    failed: Arc<AtomicBool>,
}

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
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
            berichten: tree(TREE_BERICHTEN)?,
            origineel: tree(TREE_ORIGINEEL)?,
            ids: tree(TREE_IDS)?,
            clienten: tree(TREE_CLIENTEN)?,
            gemeenten: tree(TREE_GEMEENTEN)?,
            meta: tree(TREE_META)?,
            db,
        };
        // Make the files sled created, and their directory entries, durable.
        trees.db.flush().map_err(io)?;
        let log = File::options()
            .read(true)
            .write(true)
            .open(dir.join("db"))
            .map_err(io)?;
        log.sync_all().map_err(io)?;
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;

        let (tx, rx) = mpsc::channel::<Job>();
        let failed = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            trees: trees.clone(),
            log,
            dir: dir.to_path_buf(),
            failed: failed.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("ladderpost-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(io)?;
        Ok(SledStore {
            trees,
            jobs: Some(tx),
            writer: Some(handle),
            failed,
        })
    }

    fn record(&self, seq: &[u8]) -> Result<Option<Record>, StoreError> {
        match self.trees.berichten.get(seq).map_err(io)? {
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(io),
            None => Ok(None),
        }
    }

    fn stored(&self, seq: &[u8]) -> Result<Option<Stored>, StoreError> {
        let Some(record) = self.record(seq)? else {
            return Ok(None);
        };
        let raw = self
            .trees
            .origineel
            .get(seq)
            .map_err(io)?
            .map(|v| v.to_vec())
            .unwrap_or_default();
        Ok(Some(Stored { record, raw }))
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish its queue and stop.
        self.jobs.take();
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
        let _ = self.trees.db.flush();
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
        match self.trees.ids.get(bericht_id.as_bytes()).map_err(io)? {
            Some(seq) => self.stored(&seq),
            None => Ok(None),
        }
    }

    fn client(&self, bsn: &str) -> Result<Vec<Stored>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees.clienten.scan_prefix(bsn.as_bytes()) {
            let (key, _) = item.map_err(io)?;
            if let Some(s) = self.stored(&key[bsn.len()..])? {
                out.push(s);
            }
        }
        Ok(out)
    }

    fn count(&self) -> Result<u64, StoreError> {
        Ok(self.trees.berichten.len() as u64)
    }

    fn ready(&self) -> Result<(), StoreError> {
        if self.failed.load(Ordering::SeqCst) || self.jobs.is_none() {
            return Err(StoreError::Unavailable(
                "a write to disk failed; restart the service".into(),
            ));
        }
        self.trees.meta.get(KEY_LAST).map_err(io)?;
        Ok(())
    }

    fn last_accepted(&self) -> Result<Option<Moment>, StoreError> {
        match self.trees.berichten.last().map_err(io)? {
            Some((_, v)) => Ok(Some(
                serde_json::from_slice::<Record>(&v).map_err(io)?.ontvangen,
            )),
            None => Ok(None),
        }
    }
}

/// The single writer.
struct Writer {
    trees: Trees,
    log: File,
    dir: PathBuf,
    failed: Arc<AtomicBool>,
}

/// A group member's fate before the group is written.
enum Plan {
    Done(Result<Outcome, StoreError>),
    Insert(Box<Record>, Vec<u8>),
}

impl Writer {
    fn run(self, jobs: mpsc::Receiver<Job>) {
        while let Ok(first) = jobs.recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
            let results = match self.commit(&group) {
                Ok(results) => results,
                Err(e) => {
                    // What sled holds in memory may not be on disk; refuse
                    // further writes rather than acknowledge on top of it.
                    tracing::error!(error = %e, dir = %self.dir.display(), "write to the store failed");
                    self.failed.store(true, Ordering::SeqCst);
                    group.iter().map(|_| Err(e.clone())).collect()
                }
            };
            for (job, result) in group.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
    }

    fn last(&self) -> Result<(u64, Moment), StoreError> {
        Ok(match self.trees.meta.get(KEY_LAST).map_err(io)? {
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

    fn stored_by_id(&self, id: &str) -> Result<Option<(Record, Vec<u8>)>, StoreError> {
        let Some(seq) = self.trees.ids.get(id.as_bytes()).map_err(io)? else {
            return Ok(None);
        };
        let record: Record = match self.trees.berichten.get(&seq).map_err(io)? {
            Some(v) => serde_json::from_slice(&v).map_err(io)?,
            None => return Ok(None),
        };
        let raw = self
            .trees
            .origineel
            .get(&seq)
            .map_err(io)?
            .map(|v| v.to_vec())
            .unwrap_or_default();
        Ok(Some((record, raw)))
    }

    fn client_records(&self, bsn: &str) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees.clienten.scan_prefix(bsn.as_bytes()) {
            let (key, _) = item.map_err(io)?;
            if let Some(v) = self.trees.berichten.get(&key[bsn.len()..]).map_err(io)? {
                out.push(serde_json::from_slice(&v).map_err(io)?);
            }
        }
        Ok(out)
    }

    /// Decides, writes and makes durable one group. `Err` only when the
    /// store itself failed.
    fn commit(&self, group: &[Job]) -> Result<Vec<Result<Outcome, StoreError>>, StoreError> {
        let (mut seq, mut moment) = self.last()?;
        // Members of this group already planned, by id.
        let mut planned: HashMap<String, (Record, Vec<u8>)> = HashMap::new();
        let mut plans = Vec::with_capacity(group.len());
        for job in group {
            let incoming = &job.incoming;
            let draft = match Draft::of(&incoming.document, &incoming.warnings) {
                Ok(d) => d,
                Err(e) => {
                    plans.push(Plan::Done(Err(e)));
                    continue;
                }
            };
            let earlier = match planned.get(&draft.bericht_id) {
                Some((r, raw)) => Some((r.clone(), raw.clone())),
                None => self.stored_by_id(&draft.bericht_id)?,
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
                    None => self.stored_by_id(target_id)?.map(|(r, _)| r),
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
            planned.insert(
                record.bericht_id.clone(),
                (record.clone(), incoming.raw.clone()),
            );
            plans.push(Plan::Insert(Box::new(record), incoming.raw.clone()));
        }

        let inserts: Vec<(&Box<Record>, &Vec<u8>)> = plans
            .iter()
            .filter_map(|p| match p {
                Plan::Insert(r, raw) => Some((r, raw)),
                Plan::Done(_) => None,
            })
            .collect();
        if !inserts.is_empty() {
            let encoded: Vec<Vec<u8>> = inserts
                .iter()
                .map(|(r, _)| serde_json::to_vec(r))
                .collect::<Result<_, _>>()
                .map_err(io)?;
            let mut last = Vec::with_capacity(16);
            last.extend_from_slice(&seq.to_be_bytes());
            last.extend_from_slice(&moment.0.to_be_bytes());
            let t = &self.trees;
            (
                &t.berichten,
                &t.origineel,
                &t.ids,
                &t.clienten,
                &t.gemeenten,
                &t.meta,
            )
                .transaction(|(berichten, origineel, ids, clienten, gemeenten, meta)| {
                    for ((record, raw), json) in inserts.iter().zip(&encoded) {
                        let key = seq_key(record.volgnummer);
                        berichten.insert(&key, json.as_slice())?;
                        origineel.insert(&key, raw.as_slice())?;
                        ids.insert(record.bericht_id.as_bytes(), &key)?;
                        let mut ck = record.bsn.as_bytes().to_vec();
                        ck.extend_from_slice(&key);
                        clienten.insert(ck, &[])?;
                        let mut gk = record.gemeente.as_bytes().to_vec();
                        gk.extend_from_slice(&key);
                        gemeenten.insert(gk, &[])?;
                    }
                    meta.insert(KEY_LAST, last.as_slice())?;
                    Ok::<(), ConflictableTransactionError<()>>(())
                })
                .map_err(|e: TransactionError<()>| io(format!("{e:?}")))?;
            self.trees.db.flush().map_err(io)?;
            self.log.sync_data().map_err(io)?;
        }
        Ok(plans
            .into_iter()
            .map(|p| match p {
                Plan::Done(result) => result,
                Plan::Insert(record, _) => Ok(Outcome::Accepted(record.receipt())),
            })
            .collect())
    }
}
