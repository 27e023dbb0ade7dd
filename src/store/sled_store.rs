//! The embedded storage engine: sled, with group commit and a real fsync.
//!
//! One writer thread owns every write of messages and audit entries. It
//! takes all work queued as one round, decides each message in acceptance
//! order (repeats, conflicts, references, also against earlier members of
//! the round), writes each as one atomic sled insert and the round's audit
//! entries as one more, and answers the decisions with the round's
//! [`Commit`]. A syncer thread then flushes sled and `fdatasync`s sled's log
//! file itself (sled 0.34's flush only uses `sync_file_range`, which
//! survives a process crash but not a power loss: sled issue #1452), and
//! only then confirms the round, answers its audit entries and moves the
//! readers' watermark. docs/storage.md describes the design and layout.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;

use tokio::sync::{oneshot, watch};

use super::admission::{admit, Lookup};
use super::record::Sender;
use super::tijdlijn::{apply_round, rebuild_for, Tijdlijn, TijdlijnRef};
use super::{
    Commit, Decision, Durable, Incoming, Outcome, Pending, Record, Store, StoreError, Stored,
};
use crate::store::auth::AuditEntry;
use crate::time::Moment;

/// sled stores values larger than a quarter segment outside its log, in
/// files it never fsyncs. 8 MiB segments keep every value (at most the
/// 1 MiB message limit plus its record) inside the synced log.
const SEGMENT_SIZE: usize = 8 * 1024 * 1024;
/// Most messages one group commit takes.
const MAX_GROUP: usize = 512;

/// Keys in the `berichten` tree: `b` + volgnummer (u64 big-endian) for each
/// message, so the last number is the last `b` key. Beside them, the
/// indexes by message id (of every sender: ids are unique per sender), by
/// client and by municipality: [`index_key`], empty values. A round's
/// messages and their index entries are one atomic batch, so an index never
/// names a message that is not there, nor misses one that is; nothing is
/// rebuilt in memory when the store opens.
const BERICHT: u8 = b'b';
const BY_ID: u8 = b'i';
const BY_CLIENT: u8 = b'c';
const BY_GEMEENTE: u8 = b'g';
/// Where layout 3 kept each client's timeline, in this tree: `t` +
/// len-prefixed BSN, and `l` + len-prefixed municipality + BSN, empty, for
/// each municipality it has versions in. Read only to move them
/// ([`move_timelines`]).
const OUD_TIJDLIJN: u8 = b't';
const OUD_IN_GEMEENTE: u8 = b'l';
/// Keys in the `tijdlijnen` tree ([`super::tijdlijn`]): the timeline under
/// each municipality it has versions in, `g` + len-prefixed municipality +
/// BSN, so that a municipality's timelines are one range of keys, away
/// from the messages' pages; and `c` + BSN: the first of those
/// municipalities (in code order), where the national scan visits it and
/// where a client's timeline is found. A timeline without versions lies
/// under the empty code. Written in the same atomic write as the round's
/// messages ([`write_round`]).
const IN_GEMEENTE: u8 = b'g';
const EERSTE_GEMEENTE: u8 = b'c';
/// `m` + name: the layout's own settings.
const META: &[u8] = b"mlayout";
/// The layout with the indexes (2), the timelines (3) and the timelines in
/// their own tree by municipality (4); stores of earlier layouts get what
/// they lack written once, when first opened.
const LAYOUT: &[u8] = b"4";
const LAYOUT_INDEXES: &[u8] = b"2";
const LAYOUT_TIJDLIJNEN: &[u8] = b"3";

/// An index entry: kind, the value's length (u16 big-endian), the value,
/// the volgnummer (u64 big-endian). The length keeps one value's entries
/// apart from a longer value's that starts the same way.
fn index_key(kind: u8, value: &str, n: u64) -> Vec<u8> {
    let mut k = index_prefix(kind, value);
    k.extend_from_slice(&n.to_be_bytes());
    k
}

fn index_prefix(kind: u8, value: &str) -> Vec<u8> {
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
    let mut k = Vec::with_capacity(3 + value.len() + 8);
    k.push(kind);
    k.extend_from_slice(&len.to_be_bytes());
    k.extend_from_slice(value.as_bytes());
    k
}

/// The volgnummer at the end of an index key.
fn number_of(key: &[u8]) -> Result<u64, StoreError> {
    key.len()
        .checked_sub(8)
        .and_then(|i| key[i..].try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| io("an index entry is unreadable"))
}

/// Adds a message and its index entries to `batch`.
fn add_to_batch(batch: &mut sled::Batch, record: &Record, raw: &[u8]) -> Result<(), StoreError> {
    let n = record.volgnummer;
    batch.insert(key(BERICHT, &[&n.to_be_bytes()]), encode(record, raw)?);
    add_index(batch, record);
    Ok(())
}

fn add_index(batch: &mut sled::Batch, record: &Record) {
    let n = record.volgnummer;
    let empty: &[u8] = &[];
    batch.insert(index_key(BY_ID, &record.bericht_id, n), empty);
    batch.insert(index_key(BY_CLIENT, &record.bsn, n), empty);
    batch.insert(index_key(BY_GEMEENTE, &record.gemeente, n), empty);
}

/// The volgnummers an index holds for one value, in order.
fn numbers(tree: &sled::Tree, kind: u8, value: &str) -> Result<Vec<u64>, StoreError> {
    tree.scan_prefix(index_prefix(kind, value))
        .keys()
        .map(|k| number_of(&k.map_err(io)?))
        .collect()
}

/// Writes what a store of an earlier layout lacks: the indexes (the first
/// layout kept them in memory only), the timelines, or (layout 3) moves the
/// timelines to their own tree. Once, in batches, then marks the layout.
/// Interrupted, it starts again at the next open (entries are idempotent).
fn upgrade_layout(trees: &Trees) -> Result<(), StoreError> {
    let tree = &trees.berichten;
    let layout = tree.get(META).map_err(io)?;
    match layout.as_deref() {
        Some(LAYOUT) => return Ok(()),
        Some(LAYOUT_TIJDLIJNEN) => move_timelines(trees)?,
        other => {
            if other != Some(LAYOUT_INDEXES) {
                write_indexes(tree)?;
                tree.insert(META, LAYOUT_INDEXES).map_err(io)?;
            }
            write_timelines(trees)?;
        }
    }
    tree.insert(META, LAYOUT).map_err(io)?;
    Ok(())
}

fn write_indexes(tree: &sled::Tree) -> Result<(), StoreError> {
    let mut batch = sled::Batch::default();
    let mut pending = 0;
    let mut written = 0u64;
    for item in tree.scan_prefix([BERICHT]) {
        let (_, v) = item.map_err(io)?;
        add_index(&mut batch, &decode_record(&v)?);
        pending += 1;
        if pending == 10_000 {
            tree.apply_batch(std::mem::take(&mut batch)).map_err(io)?;
            written += pending;
            pending = 0;
        }
    }
    tree.apply_batch(batch).map_err(io)?;
    written += pending;
    if written > 0 {
        tracing::info!(messages = written, "wrote the store's indexes (once)");
    }
    Ok(())
}

/// Writes every client's timeline from its records, client by client (the
/// client index is in BSN order), in batches. Idempotent like the indexes.
fn write_timelines(trees: &Trees) -> Result<(), StoreError> {
    let (tree, out) = (&trees.berichten, &trees.tijdlijnen);
    let mut batch = sled::Batch::default();
    let (mut pending, mut clients) = (0usize, 0u64);
    let mut current: Option<(Vec<u8>, Vec<Stored>)> = None;
    let flush_client = |batch: &mut sled::Batch, prefix: &[u8], client: &[Stored]| {
        let bsn = std::str::from_utf8(&prefix[3..]).map_err(io)?;
        add_timeline(batch, &Tijdlijn::of(bsn, client))
    };
    for item in tree.scan_prefix([BY_CLIENT]) {
        let (k, _) = item.map_err(io)?;
        let prefix = k[..k.len().saturating_sub(8)].to_vec();
        let Some(s) = tree
            .get(key(BERICHT, &[&number_of(&k)?.to_be_bytes()]))
            .map_err(io)?
        else {
            continue;
        };
        let s = decode(&s)?;
        match &mut current {
            Some((p, client)) if *p == prefix => client.push(s),
            _ => {
                if let Some((p, client)) = current.take() {
                    flush_client(&mut batch, &p, &client)?;
                    (pending, clients) = (pending + client.len(), clients + 1);
                }
                current = Some((prefix, vec![s]));
            }
        }
        if pending >= 10_000 {
            out.apply_batch(std::mem::take(&mut batch)).map_err(io)?;
            pending = 0;
        }
    }
    if let Some((p, client)) = current.take() {
        flush_client(&mut batch, &p, &client)?;
        clients += 1;
    }
    out.apply_batch(batch).map_err(io)?;
    if clients > 0 {
        tracing::info!(clients, "wrote the clients' timelines for reports (once)");
    }
    Ok(())
}

/// Moves layout 3's timelines, kept among the messages, to their own tree,
/// then removes them there. Interrupted before the layout is marked, it
/// moves what is left at the next open (nothing writes in between).
fn move_timelines(trees: &Trees) -> Result<(), StoreError> {
    let (from, to) = (&trees.berichten, &trees.tijdlijnen);
    let (mut batch, mut pending, mut clients) = (sled::Batch::default(), 0, 0u64);
    for item in from.scan_prefix([OUD_TIJDLIJN]) {
        let (_, v) = item.map_err(io)?;
        let t = TijdlijnRef::decode(&v)?;
        add_timeline_bytes(&mut batch, t.bsn, &t.gemeenten(), &v);
        (pending, clients) = (pending + 1, clients + 1);
        if pending == 10_000 {
            to.apply_batch(std::mem::take(&mut batch)).map_err(io)?;
            pending = 0;
        }
    }
    to.apply_batch(batch).map_err(io)?;
    for prefix in [OUD_TIJDLIJN, OUD_IN_GEMEENTE] {
        let (mut batch, mut pending) = (sled::Batch::default(), 0);
        for k in from.scan_prefix([prefix]).keys() {
            batch.remove(k.map_err(io)?);
            pending += 1;
            if pending == 10_000 {
                from.apply_batch(std::mem::take(&mut batch)).map_err(io)?;
                pending = 0;
            }
        }
        from.apply_batch(batch).map_err(io)?;
    }
    if clients > 0 {
        tracing::info!(
            clients,
            "moved the clients' timelines to their own tree (once)"
        );
    }
    Ok(())
}

/// The key of a client's timeline under one municipality.
fn timeline_key(gemeente: &str, bsn: &str) -> Vec<u8> {
    let mut k = index_prefix(IN_GEMEENTE, gemeente);
    k.extend_from_slice(bsn.as_bytes());
    k
}

/// The municipality of a [`timeline_key`].
fn gemeente_of(key: &[u8]) -> Result<&str, StoreError> {
    let bad = || io("a timeline's key is unreadable");
    let len = key.get(1..3).ok_or_else(bad)?;
    let end = 3 + usize::from(u16::from_be_bytes([len[0], len[1]]));
    std::str::from_utf8(key.get(3..end).ok_or_else(bad)?).map_err(io)
}

/// Adds a client's timeline, under each of its municipalities, to `batch`.
fn add_timeline(batch: &mut sled::Batch, t: &Tijdlijn) -> Result<(), StoreError> {
    add_timeline_bytes(batch, &t.bsn, &t.gemeenten(), &t.encode()?);
    Ok(())
}

/// Idem, of an encoded timeline and its municipalities (in code order).
/// Its municipalities only grow (versions are never removed), so these
/// keys overwrite every copy written before.
fn add_timeline_bytes(batch: &mut sled::Batch, bsn: &str, gemeenten: &[&str], value: &[u8]) {
    let under = if gemeenten.is_empty() {
        &[""]
    } else {
        gemeenten
    };
    batch.insert(key(EERSTE_GEMEENTE, &[bsn.as_bytes()]), under[0].as_bytes());
    for g in under {
        batch.insert(timeline_key(g, bsn), value);
    }
}

/// A client's stored timeline (in the `tijdlijnen` tree).
fn timeline(tree: &sled::Tree, bsn: &str) -> Result<Option<Tijdlijn>, StoreError> {
    let Some(first) = tree
        .get(key(EERSTE_GEMEENTE, &[bsn.as_bytes()]))
        .map_err(io)?
    else {
        return Ok(None);
    };
    let gemeente = std::str::from_utf8(&first).map_err(io)?;
    match tree.get(timeline_key(gemeente, bsn)).map_err(io)? {
        Some(v) => Tijdlijn::decode(&v).map(Some),
        None => Err(io("a client's timeline is missing")),
    }
}

/// Adds the timelines a round's records change to its batch.
fn add_timelines<'a>(
    batch: &mut sled::Batch,
    tree: &sled::Tree,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<(), StoreError> {
    for t in apply_round(records, |bsn| timeline(tree, bsn))? {
        add_timeline(batch, &t)?;
    }
    Ok(())
}

/// Writes a round's messages (with their indexes) and its timelines as one
/// atomic write: a sled transaction over both trees seals everything it
/// writes as one batch in the log, as `apply_batch` does for one tree
/// (sled 0.34, `TransactionalTrees::commit`), so after a crash a round is
/// there whole or not at all.
fn write_round(
    trees: &Trees,
    berichten: &sled::Batch,
    tijdlijnen: &sled::Batch,
) -> Result<(), StoreError> {
    use sled::transaction::{ConflictableTransactionError, TransactionError};
    use sled::Transactional;
    (&trees.berichten, &trees.tijdlijnen)
        .transaction(|(b, t)| {
            b.apply_batch(berichten)?;
            t.apply_batch(tijdlijnen)?;
            Ok::<_, ConflictableTransactionError<()>>(())
        })
        .map_err(|e| match e {
            TransactionError::Storage(e) => io(e),
            TransactionError::Abort(()) => io("a round's write was aborted"),
        })
}

/// Work for the writer: every write of messages and audit entries goes
/// through it, so that one sync makes a whole round of both durable.
pub(super) enum Job {
    /// A message to accept.
    Message(Box<Incoming>, oneshot::Sender<Decision>),
    /// An audit entry to append (`crate::store::auth`).
    Audit(AuditEntry, oneshot::Sender<Result<(), StoreError>>),
    /// Messages copied from another store, to write exactly as they are
    /// ([`Store::restore`]).
    Restore(Vec<Stored>, oneshot::Sender<Result<(), StoreError>>),
}

/// sled's flush plus an `fdatasync` of its log file, shared by everything
/// that writes the database (the writer's syncer; organisations,
/// credentials, subscriptions): a caller's writes are durable once a sync
/// that *started* after them has finished, so concurrent callers share one
/// sync instead of queueing one each.
pub(super) struct GroupSync {
    db: sled::Db,
    log: File,
    state: Mutex<SyncState>,
    finished: Condvar,
}

#[derive(Default)]
struct SyncState {
    /// Tickets handed out: one per call, taken after the caller's writes.
    asked: u64,
    /// Every ticket up to this one is durable.
    synced: u64,
    /// Whether some caller is syncing now.
    running: bool,
}

impl GroupSync {
    fn lock(&self) -> MutexGuard<'_, SyncState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns once everything the caller wrote before calling is durable.
    pub(super) fn sync(&self) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.asked += 1;
        let ticket = state.asked;
        loop {
            if state.synced >= ticket {
                return Ok(());
            }
            if state.running {
                state = self.finished.wait(state).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Lead: this sync covers every ticket handed out so far.
            state.running = true;
            let covers = state.asked;
            drop(state);
            let result = self
                .db
                .flush()
                .map_err(io)
                .and_then(|_| self.log.sync_data().map_err(io));
            state = self.lock();
            state.running = false;
            if result.is_ok() {
                state.synced = state.synced.max(covers);
            }
            self.finished.notify_all();
            // On failure every waiter tries for itself and sees the error.
            result?;
        }
    }
}

/// The database's trees.
#[derive(Clone)]
pub(super) struct Trees {
    pub db: sled::Db,
    pub berichten: sled::Tree,
    /// The clients' timelines for reports, by municipality.
    pub tijdlijnen: sled::Tree,
    pub abonnementen: sled::Tree,
    pub aflevering: sled::Tree,
    pub dode_brieven: sled::Tree,
    /// Organisations, credentials (hashes only), the audit log and the
    /// installation's own settings (crate::store::auth).
    pub organisaties: sled::Tree,
    pub sleutels: sled::Tree,
    pub audit: sled::Tree,
    pub auth_meta: sled::Tree,
}

/// The sled engine. Dropping it stops the writer after the queued work.
pub struct SledStore {
    trees: Trees,
    durable: Arc<GroupSync>,
    /// `None` once closed.
    jobs: RwLock<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    failed: Arc<AtomicBool>,
    changes: watch::Receiver<u64>,
    /// The last round made durable.
    synced: watch::Receiver<Synced>,
}

/// How far the syncer has got.
#[derive(Debug, Clone, Copy, Default)]
struct Synced {
    /// Every round up to this one is durable.
    round: u64,
    /// A sync failed: nothing after `round` will ever be.
    failed: bool,
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

/// A stored message's value, in one of two forms. The plain form, which
/// every value written before compression has: record length (u32 BE),
/// record JSON, the message bytes as received. The compressed form:
/// [`COMPRESSED`], then the plain form's length (u32 LE) and the plain form
/// LZ4-compressed (block format). A plain value starts with its record
/// length's top byte, so it starts with `COMPRESSED` only if its record JSON
/// has at least 0xF1 << 24 bytes (3.8 GiB), which the record of a message of
/// at most a few MiB never has: the first byte tells the forms apart, and
/// old values read without a layout change.
const COMPRESSED: u8 = 0xF1;

/// The value for a message: compressed, unless that saves nothing.
fn encode(record: &Record, raw: &[u8]) -> Result<Vec<u8>, StoreError> {
    pack(encode_plain(record, raw)?)
}

/// The compressed form of a plain value, or the plain value when that
/// would be no shorter.
fn pack(plain: Vec<u8>) -> Result<Vec<u8>, StoreError> {
    let len = u32::try_from(plain.len()).map_err(io)?;
    let mut v = vec![0; 5 + lz4_flex::block::get_maximum_output_size(plain.len())];
    v[0] = COMPRESSED;
    v[1..5].copy_from_slice(&len.to_le_bytes());
    let n = lz4_flex::block::compress_into(&plain, &mut v[5..]).map_err(io)?;
    if 5 + n >= plain.len() {
        return Ok(plain);
    }
    v.truncate(5 + n);
    Ok(v)
}

fn encode_plain(record: &Record, raw: &[u8]) -> Result<Vec<u8>, StoreError> {
    let json = serde_json::to_vec(record).map_err(io)?;
    let len = u32::try_from(json.len()).map_err(io)?;
    let mut v = Vec::with_capacity(4 + json.len() + raw.len());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&json);
    v.extend_from_slice(raw);
    Ok(v)
}

/// A value's plain form: the value itself, or decompressed.
fn plain(value: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, StoreError> {
    let corrupt = || io("a stored message is unreadable");
    let Some((&COMPRESSED, packed)) = value.split_first() else {
        return Ok(value.into());
    };
    let (size, block) = lz4_flex::block::uncompressed_size(packed).map_err(|_| corrupt())?;
    // LZ4 expands at most about 255-fold: a larger size is damage, not a
    // reason to allocate it.
    if size > 255 * block.len() + 16 {
        return Err(corrupt());
    }
    let mut out = vec![0; size];
    let n = lz4_flex::block::decompress_into(block, &mut out).map_err(|_| corrupt())?;
    if n != size {
        return Err(corrupt());
    }
    Ok(out.into())
}

/// The plain form's record JSON and message bytes.
fn split_plain(plain: &[u8]) -> Result<(&[u8], &[u8]), StoreError> {
    let corrupt = || io("a stored message is unreadable");
    let head: [u8; 4] = plain
        .get(..4)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(corrupt)?;
    let end = 4 + u32::from_be_bytes(head) as usize;
    let json = plain.get(4..end).ok_or_else(corrupt)?;
    Ok((json, &plain[end..]))
}

fn decode_record(value: &[u8]) -> Result<Record, StoreError> {
    let plain = plain(value)?;
    serde_json::from_slice(split_plain(&plain)?.0).map_err(io)
}

fn decode(value: &[u8]) -> Result<Stored, StoreError> {
    let plain = plain(value)?;
    let (json, raw) = split_plain(&plain)?;
    Ok(Stored {
        record: serde_json::from_slice(json).map_err(io)?,
        raw: raw.to_vec(),
    })
}

/// The last stored number and received-at moment.
fn last_stored(berichten: &sled::Tree) -> Result<(u64, Moment), StoreError> {
    Ok(match berichten.scan_prefix([BERICHT]).next_back() {
        Some(item) => {
            let record = decode_record(&item.map_err(io)?.1)?;
            (record.volgnummer, record.ontvangen)
        }
        None => (0, Moment(0)),
    })
}

impl SledStore {
    /// Opens (or creates) the store in `dir`, with the default cache.
    #[cfg(test)]
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        SledStore::open_with(dir, super::DEFAULT_CACHE)
    }

    /// Opens (or creates) the store in `dir`; sled's page cache holds at
    /// most about `cache_bytes`.
    pub fn open_with(dir: &Path, cache_bytes: u64) -> Result<SledStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(io)?;
        let db = sled::Config::new()
            .path(dir)
            .segment_size(SEGMENT_SIZE)
            .cache_capacity(cache_bytes)
            .open()
            .map_err(io)?;
        let tree = |name: &str| db.open_tree(name).map_err(io);
        let trees = Trees {
            berichten: tree("berichten")?,
            tijdlijnen: tree("tijdlijnen")?,
            abonnementen: tree("abonnementen")?,
            aflevering: tree("aflevering")?,
            dode_brieven: tree("dode_brieven")?,
            organisaties: tree("organisaties")?,
            sleutels: tree("sleutels")?,
            audit: tree("audit")?,
            auth_meta: tree("auth_meta")?,
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
        let durable = Arc::new(GroupSync {
            db: trees.db.clone(),
            log,
            state: Mutex::new(SyncState::default()),
            finished: Condvar::new(),
        });

        upgrade_layout(&trees)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let failed = Arc::new(AtomicBool::new(false));
        let (last, last_moment) = last_stored(&trees.berichten)?;
        let writer = Writer {
            trees: trees.clone(),
            dir: dir.to_path_buf(),
            failed: failed.clone(),
            last,
            last_moment,
            round: 0,
            last_audit: super::sled_auth::last_audit_moment(&trees)?.unwrap_or(Moment(0)),
        };
        let (watermark, changes) = watch::channel(last);
        let (rounds, synced) = watch::channel(Synced::default());
        let (applied_tx, applied_rx) = mpsc::channel::<Applied>();
        let (d, f) = (durable.clone(), failed.clone());
        let syncer = std::thread::Builder::new()
            .name("ladderpost-sync".into())
            .spawn(move || syncer(&d, &f, applied_rx, &watermark, &rounds))
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
            durable,
            jobs: RwLock::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            failed,
            changes,
            synced,
        })
    }

    /// Queues work for the writer; `false` once the store has failed or
    /// is closing.
    pub(super) fn send(&self, job: Job) -> bool {
        let jobs = self.jobs.read().unwrap_or_else(|p| p.into_inner());
        match &*jobs {
            Some(jobs) if !self.failed.load(Ordering::SeqCst) => jobs.send(job).is_ok(),
            _ => false,
        }
    }

    fn by_number(&self, n: u64) -> Result<Option<Stored>, StoreError> {
        self.by_seq(&n.to_be_bytes())
    }

    /// One municipality's durable volgnummers above `after`, in order.
    fn gemeente_numbers(
        &self,
        gemeente: &str,
        after: u64,
    ) -> impl Iterator<Item = Result<u64, StoreError>> {
        let durable = *self.changes.borrow();
        let from = index_key(BY_GEMEENTE, gemeente, after.saturating_add(1));
        let to = index_key(BY_GEMEENTE, gemeente, durable);
        let range = (after < durable).then(|| self.trees.berichten.range(from..=to));
        range
            .into_iter()
            .flatten()
            .map(|item| number_of(&item.map_err(io)?.0))
    }

    pub(super) fn trees(&self) -> &Trees {
        &self.trees
    }

    /// Makes everything written so far durable (sharing the sync with
    /// whoever else is syncing).
    pub(super) fn sync(&self) -> Result<(), StoreError> {
        self.durable.sync()
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

impl SledStore {
    /// Stops taking writes, lets the writer finish what is queued, and
    /// makes it durable. Reads still work; the files stay open until the
    /// last reference is dropped.
    fn shut(&self) -> Result<(), StoreError> {
        // Closing the channel lets the writer finish its queue and stop.
        self.jobs.write().unwrap_or_else(|p| p.into_inner()).take();
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(h) = writer {
            h.join().map_err(|_| io("the store's writer panicked"))?;
        }
        self.sync()
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        let _ = self.shut();
    }
}

impl Store for SledStore {
    fn accept(&self, incoming: Incoming) -> Pending {
        let (reply, answer) = oneshot::channel();
        let sent = self.send(Job::Message(Box::new(incoming), reply));
        super::writer_answer(sent, answer, |why| Decision {
            result: Err(StoreError::Unavailable(why.into())),
            commit: None,
        })
    }

    fn durable(&self, commit: Commit) -> Durable {
        let mut synced = self.synced.clone();
        Box::pin(async move {
            match synced
                .wait_for(|s| s.round >= commit.0 || s.failed)
                .await
                .map(|s| *s)
            {
                Ok(s) if s.round >= commit.0 => Ok(()),
                _ => Err(StoreError::Unavailable(
                    "the store could not make the write durable".into(),
                )),
            }
        })
    }

    fn messages(&self, bericht_id: &str) -> Result<Vec<Stored>, StoreError> {
        let numbers = numbers(&self.trees.berichten, BY_ID, bericht_id)?;
        let mut out = Vec::with_capacity(numbers.len());
        for n in numbers {
            if let Some(s) = self.by_number(n)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    fn client(&self, bsn: &str) -> Result<Vec<Stored>, StoreError> {
        let numbers = numbers(&self.trees.berichten, BY_CLIENT, bsn)?;
        let mut out = Vec::with_capacity(numbers.len());
        for n in numbers {
            if let Some(s) = self.by_number(n)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    fn count(&self) -> Result<u64, StoreError> {
        Ok(*self.changes.borrow())
    }

    fn ready(&self) -> Result<(), StoreError> {
        let closed = self.jobs.read().map_or(true, |j| j.is_none());
        if self.failed.load(Ordering::SeqCst) || closed {
            return Err(StoreError::Unavailable(
                "a write to disk failed; restart the service".into(),
            ));
        }
        self.trees.berichten.first().map_err(io)?;
        Ok(())
    }

    fn feed(&self, gemeente: &str, after: u64, limit: usize) -> Result<Vec<Stored>, StoreError> {
        let mut out = Vec::with_capacity(limit.min(1024));
        for n in self.gemeente_numbers(gemeente, after) {
            if out.len() == limit {
                break;
            }
            match self.by_number(n?)? {
                Some(s) => out.push(s),
                None => break,
            }
        }
        Ok(out)
    }

    fn backlog(&self, gemeente: &str, after: u64) -> Result<u64, StoreError> {
        let mut count = 0;
        for n in self.gemeente_numbers(gemeente, after) {
            n?;
            count += 1;
        }
        Ok(count)
    }

    fn changes(&self) -> watch::Receiver<u64> {
        self.changes.clone()
    }

    fn close(&self) -> Result<(), StoreError> {
        self.shut()
    }

    fn tijdlijn(&self, bsn: &str) -> Result<Option<Tijdlijn>, StoreError> {
        timeline(&self.trees.tijdlijnen, bsn)
    }

    fn tijdlijnen(
        &self,
        gemeente: Option<&str>,
        visit: &mut dyn FnMut(&TijdlijnRef<'_>),
    ) -> Result<(), StoreError> {
        // One range of keys either way: a municipality's, or all of them.
        let prefix = match gemeente {
            Some(g) => index_prefix(IN_GEMEENTE, g),
            None => vec![IN_GEMEENTE],
        };
        for item in self.trees.tijdlijnen.scan_prefix(prefix) {
            let (k, v) = item.map_err(io)?;
            let t = TijdlijnRef::decode(&v)?;
            // A client in several municipalities lies under each; all of
            // them count it once, under its first.
            if gemeente.is_none() && gemeente_of(&k)? != t.eerste_gemeente().unwrap_or("") {
                continue;
            }
            visit(&t);
        }
        Ok(())
    }

    fn all(&self, after: u64, limit: usize) -> Result<Vec<Stored>, StoreError> {
        let durable = *self.changes.borrow();
        let from = key(BERICHT, &[&after.saturating_add(1).to_be_bytes()]);
        let to = key(BERICHT, &[&durable.to_be_bytes()]);
        if after >= durable {
            return Ok(Vec::new());
        }
        self.trees
            .berichten
            .range(from..=to)
            .take(limit)
            .map(|item| decode(&item.map_err(io)?.1))
            .collect()
    }

    fn restore(&self, batch: Vec<Stored>) -> Durable {
        let (reply, answer) = oneshot::channel();
        let sent = self.send(Job::Restore(batch, reply));
        super::writer_answer(sent, answer, super::unavailable)
    }
}

/// The single writer.
struct Writer {
    trees: Trees,
    dir: PathBuf,
    failed: Arc<AtomicBool>,
    /// The last number and received-at moment written (durable or not).
    last: u64,
    last_moment: Moment,
    /// Rounds applied so far: each is a [`Commit`].
    round: u64,
    /// The moment of the last audit round written.
    last_audit: Moment,
}

impl Writer {
    /// Plans and applies rounds of work, handing each to the syncer; the
    /// next round is prepared while the previous one is being made durable.
    fn run(mut self, jobs: mpsc::Receiver<Job>, synced: mpsc::Sender<Applied>) {
        while let Ok(first) = jobs.recv() {
            let mut round = vec![first];
            while round.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => round.push(job),
                    Err(_) => break,
                }
            }
            let mut messages = Vec::new();
            let mut replies = Vec::new();
            let mut entries = Vec::new();
            let mut audit_replies = Vec::new();
            let mut restores = Vec::new();
            for job in round {
                match job {
                    Job::Restore(batch, reply) => restores.push((batch, reply)),
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
            // Copies first: they continue the numbering exactly. Their
            // answers wait for the sync, like audit entries.
            let mut restored = false;
            for (batch, reply) in restores {
                match self.restore(&batch) {
                    Ok(()) => {
                        restored = true;
                        audit_replies.push(reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            self.round += 1;
            let commit = Commit(self.round);
            let applied = if self.failed.load(Ordering::SeqCst) {
                Err(StoreError::Unavailable(
                    "an earlier write to disk failed".into(),
                ))
            } else {
                self.commit(&messages).and_then(|(results, last, wrote)| {
                    if !entries.is_empty() {
                        // Audit times increase strictly, like message times.
                        let at = Moment::now().max(self.last_audit.next());
                        super::sled_auth::append_audit(&self.trees, &mut entries, at)?;
                        self.last_audit = at;
                    }
                    Ok((results, last, wrote || restored || !entries.is_empty()))
                })
            };
            // Decisions are answered now; their answers leave only once
            // the syncer has confirmed this round (`Store::durable`).
            let msg = match applied {
                Ok((results, last, wrote)) => {
                    for (reply, result) in replies.into_iter().zip(results) {
                        let _ = reply.send(Decision {
                            result,
                            commit: Some(commit),
                        });
                    }
                    Applied {
                        round: commit.0,
                        audit_replies,
                        last,
                        wrote,
                        ok: true,
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, dir = %self.dir.display(), "write to the store failed");
                    self.failed.store(true, Ordering::SeqCst);
                    for reply in replies {
                        let _ = reply.send(Decision {
                            result: Err(e.clone()),
                            commit: None,
                        });
                    }
                    Applied {
                        round: commit.0,
                        audit_replies,
                        last: 0,
                        wrote: false,
                        ok: false,
                    }
                }
            };
            if synced.send(msg).is_err() {
                return;
            }
        }
    }

    /// Writes copied messages exactly, if they continue the numbering.
    fn restore(&mut self, batch: &[Stored]) -> Result<(), StoreError> {
        let mut expected = self.last + 1;
        let mut moment = self.last_moment;
        let mut writes = sled::Batch::default();
        for s in batch {
            let r = &s.record;
            if r.volgnummer != expected || r.ontvangen <= moment {
                return Err(StoreError::Unavailable(format!(
                    "a copied message must continue the numbering: {} after {}",
                    r.volgnummer,
                    expected - 1
                )));
            }
            add_to_batch(&mut writes, r, &s.raw)?;
            (expected, moment) = (expected + 1, r.ontvangen);
        }
        let tree = &self.trees.berichten;
        let client = |bsn: &str| -> Result<Vec<Stored>, StoreError> {
            let mut out = Vec::new();
            for n in numbers(tree, BY_CLIENT, bsn)? {
                if let Some(v) = tree.get(key(BERICHT, &[&n.to_be_bytes()])).map_err(io)? {
                    out.push(decode(&v)?);
                }
            }
            Ok(out)
        };
        let mut timelines = sled::Batch::default();
        for t in rebuild_for(batch, client)? {
            add_timeline(&mut timelines, &t)?;
        }
        write_round(&self.trees, &writes, &timelines)?;
        (self.last, self.last_moment) = (expected - 1, moment);
        Ok(())
    }

    fn get(&self, n: u64) -> Result<Option<Stored>, StoreError> {
        match self
            .trees
            .berichten
            .get(key(BERICHT, &[&n.to_be_bytes()]))
            .map_err(io)?
        {
            Some(v) => decode(&v).map(Some),
            None => Ok(None),
        }
    }
}

impl Lookup for Writer {
    fn sent_by(&self, sender: &Sender, id: &str) -> Result<Option<Stored>, StoreError> {
        for n in numbers(&self.trees.berichten, BY_ID, id)? {
            if let Some(s) = self.get(n)? {
                if sender.same_id_space(&s.record) {
                    return Ok(Some(s));
                }
            }
        }
        Ok(None)
    }

    fn client_records(&self, bsn: &str) -> Result<Vec<Record>, StoreError> {
        let numbers = numbers(&self.trees.berichten, BY_CLIENT, bsn)?;
        let mut out = Vec::with_capacity(numbers.len());
        for n in numbers {
            if let Some(s) = self.get(n)? {
                out.push(s.record);
            }
        }
        Ok(out)
    }
}

impl Writer {
    /// Decides and writes one group; returns each member's outcome and the
    /// last sequence number. `Err` only when the store itself failed.
    fn commit(&mut self, group: &[Incoming]) -> Result<(Outcomes, u64, bool), StoreError> {
        let round = admit(group, &*self, self.last, self.last_moment)?;
        let wrote = round.writes();
        if wrote {
            // The round's messages, index entries and timelines as one
            // atomic write; none of it is acknowledged before the syncer
            // has made it durable.
            let mut batch = sled::Batch::default();
            for (record, incoming) in round.inserts(group) {
                add_to_batch(&mut batch, record, &incoming.raw)?;
            }
            let records = round.inserts(group).map(|(record, _)| record);
            let mut timelines = sled::Batch::default();
            add_timelines(&mut timelines, &self.trees.tijdlijnen, records)?;
            write_round(&self.trees, &batch, &timelines)?;
        }
        (self.last, self.last_moment) = (round.last, round.last_moment);
        let last = round.last;
        Ok((round.outcomes(), last, wrote))
    }
}

/// Each group member's answer.
type Outcomes = Vec<Result<Outcome, StoreError>>;

/// A round applied in memory, waiting to be made durable.
struct Applied {
    round: u64,
    /// The round's audit entries, answered once durable.
    audit_replies: Vec<oneshot::Sender<Result<(), StoreError>>>,
    /// The last message number written in this round or before.
    last: u64,
    wrote: bool,
    /// Whether the round was applied at all.
    ok: bool,
}

/// Makes applied rounds durable — one flush and `fdatasync` for all that
/// are waiting — and only then confirms them: the rounds (`Store::durable`),
/// the audit entries, and the watermark that readers see.
fn syncer(
    durable: &GroupSync,
    failed: &AtomicBool,
    rounds: mpsc::Receiver<Applied>,
    watermark: &watch::Sender<u64>,
    synced_rounds: &watch::Sender<Synced>,
) {
    while let Ok(first) = rounds.recv() {
        let mut batch = vec![first];
        while let Ok(more) = rounds.try_recv() {
            batch.push(more);
        }
        let synced = if batch.iter().any(|a| a.wrote) {
            durable.sync()
        } else {
            Ok(())
        };
        if let Err(e) = &synced {
            tracing::error!(error = %e, "syncing the store failed");
            failed.store(true, Ordering::SeqCst);
        }
        let ok = synced.is_ok() && batch.iter().all(|a| a.ok);
        let last = batch.iter().filter(|a| a.wrote).map(|a| a.last).max();
        if let (true, Some(last)) = (ok, last) {
            watermark.send_replace(last);
        }
        let round = batch.iter().map(|a| a.round).max().unwrap_or(0);
        synced_rounds.send_modify(|s| {
            if ok {
                s.round = s.round.max(round);
            } else {
                s.failed = true;
            }
        });
        for applied in batch {
            let answer = match (&synced, applied.ok) {
                (Ok(()), true) => Ok(()),
                (Err(e), _) => Err(e.clone()),
                (Ok(()), false) => Err(StoreError::Unavailable(
                    "the store could not write the audit entry".into(),
                )),
            };
            for reply in applied.audit_replies {
                let _ = reply.send(answer.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(file: &str) -> Incoming {
        let raw = std::fs::read(format!(
            "{}/fixtures/valid/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let tree = crate::validate_schema(&raw).unwrap();
        let wortel = tree.root_span();
        let (document, warnings) = crate::domain::Document::from_valid(&tree).unwrap();
        Incoming {
            raw,
            document,
            warnings,
            wortel,
            sender: Sender {
                organisatie: "a".into(),
                ..Sender::default()
            },
        }
    }

    /// A value as versions before compression wrote it, built by hand.
    fn first_form(record: &Record, raw: &[u8]) -> Vec<u8> {
        let json = serde_json::to_vec(record).unwrap();
        let mut v = (json.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(&json);
        v.extend_from_slice(raw);
        v
    }

    fn stored_record(file: &str) -> (Record, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let message = incoming(file);
        let decision = rt.block_on(store.accept(message.clone()));
        rt.block_on(store.durable(decision.commit.unwrap()))
            .unwrap();
        let Ok(Outcome::Accepted(receipt)) = decision.result else {
            panic!("{decision:?}");
        };
        let s = store.messages(&receipt.bericht_id).unwrap().remove(0);
        (s.record, message.raw)
    }

    #[test]
    fn a_value_of_the_plain_form_still_reads_and_a_new_one_round_trips_exactly() {
        let (record, raw) = stored_record("meting-0014-trede5-met-instrument.xml");
        let old = first_form(&record, &raw);
        assert_eq!(old[0], 0, "a record under 16 MiB starts with a zero byte");
        let read = decode(&old).unwrap();
        assert_eq!((&read.record, &read.raw), (&record, &raw));
        assert_eq!(decode_record(&old).unwrap(), record);

        let new = encode(&record, &raw).unwrap();
        assert_eq!(new[0], COMPRESSED);
        assert!(new.len() < old.len(), "{} vs {}", new.len(), old.len());
        let read = decode(&new).unwrap();
        assert_eq!(read.raw, raw, "the bytes as received, byte for byte");
        assert_eq!(read.record, record);
        assert_eq!(decode_record(&new).unwrap(), record);
        // `wortel` is a range of the bytes as received.
        let (from, to) = (record.wortel.0 as usize, record.wortel.1 as usize);
        assert!(std::str::from_utf8(&read.raw[from..to])
            .unwrap()
            .starts_with('<'));

        // Bytes that do not compress stay in the plain form.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let mut incompressible = vec![0; 4];
        incompressible.extend_from_slice(&noise);
        assert_eq!(pack(incompressible.clone()).unwrap(), incompressible);
        assert_eq!(plain(&incompressible).unwrap(), &incompressible[..]);
    }

    #[test]
    fn a_damaged_compressed_value_is_an_error_not_a_panic() {
        let (record, raw) = stored_record("meting-0014-trede5-met-instrument.xml");
        let value = encode(&record, &raw).unwrap();
        for cut in [1, 3, 5, value.len() / 2, value.len() - 1] {
            assert!(decode(&value[..cut]).is_err(), "cut at {cut}");
        }
        // A size no LZ4 block of this length can hold.
        let mut huge = value.clone();
        huge[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_err());
    }

    #[test]
    fn a_decision_is_readable_once_its_commit_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let message = incoming("meting-0014-trede5-met-instrument.xml");
        let first = rt.block_on(store.accept(message.clone()));
        let Ok(Outcome::Accepted(receipt)) = first.result else {
            panic!("{first:?}");
        };
        let commit = first.commit.expect("a decision names its commit");
        rt.block_on(store.durable(commit)).unwrap();
        let stored = store.messages(&receipt.bericht_id).unwrap().remove(0);
        assert_eq!(stored.raw, message.raw);
        assert_eq!(store.count().unwrap(), receipt.volgnummer);

        // The repeat is decided in a later round, which it must wait for.
        let again = rt.block_on(store.accept(message));
        assert!(matches!(again.result, Ok(Outcome::Repeat(_))), "{again:?}");
        let later = again.commit.expect("a repeat names its commit too");
        assert!(later > commit);
        rt.block_on(store.durable(later)).unwrap();
    }

    #[test]
    fn indexes_live_in_the_store_and_a_first_layout_store_gets_them_once() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let files = [
            "meting-0014-trede5-met-instrument.xml",
            "meting-1525-isd-trede2-minimaal.xml",
        ];
        let mut receipts = Vec::new();
        {
            let store = SledStore::open(dir.path()).unwrap();
            for f in files {
                let d = rt.block_on(store.accept(incoming(f)));
                rt.block_on(store.durable(d.commit.unwrap())).unwrap();
                let Ok(Outcome::Accepted(r)) = d.result else {
                    panic!("{d:?}")
                };
                receipts.push(r);
            }
        }
        let check = |store: &SledStore| {
            for r in &receipts {
                let found = store.messages(&r.bericht_id).unwrap();
                assert_eq!(found.len(), 1);
                let record = &found[0].record;
                assert_eq!(record.volgnummer, r.volgnummer);
                let client = store.client(&record.bsn).unwrap();
                assert!(client.iter().any(|s| s.record.volgnummer == r.volgnummer));
                let feed = store.feed(&record.gemeente, 0, 10).unwrap();
                assert!(feed.iter().any(|s| s.record.volgnummer == r.volgnummer));
                assert!(store
                    .feed(&record.gemeente, r.volgnummer, 10)
                    .unwrap()
                    .iter()
                    .all(|s| s.record.volgnummer > r.volgnummer));
                assert_eq!(
                    store.backlog(&record.gemeente, 0).unwrap(),
                    feed.len() as u64
                );
                let timeline = store.tijdlijn(&record.bsn).unwrap().expect("a timeline");
                assert_eq!(timeline, Tijdlijn::of(&record.bsn, &client));
                assert!(timeline.versies.iter().all(|v| v.geboortedatum > 19000000));
            }
            // A prefix of an id, a BSN or a municipality finds nothing.
            let id = &receipts[0].bericht_id;
            assert!(store.messages(&id[..id.len() - 1]).unwrap().is_empty());
        };
        let store = SledStore::open(dir.path()).unwrap();
        check(&store);
        // The first layout: messages only, the indexes in memory.
        let tree = store.trees().berichten.clone();
        let tijdlijnen = store.trees().tijdlijnen.clone();
        drop(store);
        tijdlijnen.clear().unwrap();
        drop(tijdlijnen);
        for item in tree.iter() {
            let (k, v) = item.unwrap();
            if k[0] != BERICHT {
                tree.remove(k).unwrap();
                continue;
            }
            // Records of then lacked what reports need.
            let mut s = decode(&v).unwrap();
            if let Some(rij) = &mut s.record.meting {
                rij.geboortedatum.clear();
                rij.geslacht = None;
                rij.uiterste_meetdatum = None;
            }
            // Stores of then held every value in the plain form.
            tree.insert(k, first_form(&s.record, &s.raw)).unwrap();
        }
        drop(tree);
        let store = SledStore::open(dir.path()).unwrap();
        check(&store);
        assert_eq!(
            store.trees().berichten.get(META).unwrap().as_deref(),
            Some(LAYOUT)
        );
    }

    /// The BSNs `tijdlijnen` visits for `gemeente`, sorted.
    fn visited(store: &SledStore, gemeente: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        store
            .tijdlijnen(gemeente, &mut |t| out.push(t.bsn.to_string()))
            .unwrap();
        out.sort();
        out
    }

    #[test]
    fn a_layout_3_store_gets_its_timelines_moved_to_their_own_tree_once() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let mut timelines = Vec::new();
        for f in [
            "meting-0014-trede5-met-instrument.xml",
            "meting-1525-isd-trede2-minimaal.xml",
        ] {
            let d = rt.block_on(store.accept(incoming(f)));
            rt.block_on(store.durable(d.commit.unwrap())).unwrap();
            let Ok(Outcome::Accepted(r)) = d.result else {
                panic!("{d:?}")
            };
            let bsn = store.messages(&r.bericht_id).unwrap().remove(0).record.bsn;
            timelines.push(store.tijdlijn(&bsn).unwrap().expect("a timeline"));
        }
        // A client who moved: versions in two municipalities, the second
        // before the first in code order.
        let mut mover = timelines[0].clone();
        mover.bsn = "999999990".into();
        let mut elders = mover.versies[0].clone();
        (elders.volgnummer, elders.gemeente) = (99, "0001".into());
        mover.versies.push(elders);
        timelines.push(mover.clone());
        let thuis = timelines[0].versies[0].gemeente.clone();
        assert_eq!(mover.gemeenten(), ["0001", thuis.as_str()]);

        // Layout 3: the timelines among the messages, `t` and `l` keys.
        let trees = store.trees().clone();
        drop(store);
        trees.tijdlijnen.clear().unwrap();
        let empty: &[u8] = &[];
        for t in &timelines {
            let b = &trees.berichten;
            b.insert(index_prefix(OUD_TIJDLIJN, &t.bsn), t.encode().unwrap())
                .unwrap();
            for g in t.gemeenten() {
                let mut k = index_prefix(OUD_IN_GEMEENTE, g);
                k.extend_from_slice(t.bsn.as_bytes());
                b.insert(k, empty).unwrap();
            }
        }
        trees.berichten.insert(META, LAYOUT_TIJDLIJNEN).unwrap();
        drop(trees);

        let store = SledStore::open(dir.path()).unwrap();
        for t in &timelines {
            assert_eq!(store.tijdlijn(&t.bsn).unwrap().as_ref(), Some(t));
        }
        let mut all: Vec<String> = timelines.iter().map(|t| t.bsn.clone()).collect();
        all.sort();
        assert_eq!(visited(&store, None), all, "each client once");
        assert_eq!(visited(&store, Some("0001")), [mover.bsn.clone()]);
        assert!(visited(&store, Some(&thuis)).contains(&mover.bsn));
        let berichten = &store.trees().berichten;
        for old in [OUD_TIJDLIJN, OUD_IN_GEMEENTE] {
            assert_eq!(berichten.scan_prefix([old]).count(), 0, "{old}");
        }
        assert_eq!(berichten.get(META).unwrap().as_deref(), Some(LAYOUT));

        // Opened again: nothing to move, nothing changes.
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(visited(&store, None), all);
    }
}
