//! Durable storage of accepted messages, behind a small trait.
//!
//! The HTTP and domain layers only see [`Store`]; `sled_store` is the
//! embedded default engine, and a PostgreSQL engine can implement the same
//! trait later. What a store must guarantee:
//!
//! - `accept` decides, in acceptance order, and is idempotent on the
//!   message id, which is unique per sending organisation: the same bytes
//!   again from the same sender give the original receipt, different bytes
//!   under that id from that sender a conflict; another organisation's
//!   message with the same id is a message of its own. Its decision names a [`Commit`]; no
//!   answer based on it leaves before [`Store::durable`] has confirmed that
//!   commit (fsynced) — the API's guard waits for it together with the
//!   request's audit entry, so that one sync serves both;
//! - references (a Correctie or Intrekking naming an earlier message) are
//!   resolved among the measurements the sender may change (its own, and
//!   those of organisations that authorised it) and checked in acceptance
//!   order, atomically with the insert;
//! - messages are numbered from 1 without gaps (a refusal or a repeat
//!   takes no number), on after a reopen, with received-at moments that
//!   increase strictly with the numbers; readers see only durable
//!   messages, never one above the watermark ([`Store::changes`]);
//! - nothing accepted is ever changed or deleted: corrections and
//!   withdrawals are new records, and history is derived from them
//!   ([`crate::history`]).
//!
//! `tests/it/store_contract.rs` checks all of this, and the delivery and
//! auth traits, the same way for every engine.

pub mod admission;
pub mod auth;
pub mod delivery;
pub mod postgres;
mod record;
mod sled_auth;
mod sled_delivery;
mod sled_store;
pub mod tijdlijn;
pub mod transfer;

use std::future::Future;
use std::pin::Pin;

pub use record::{Draft, MetingRij, Receipt, Record, Sender, Soort, Waarschuwing};

use crate::diagnostics::{Code, Melding};
use crate::domain::Document;

/// A validated inbound message, ready to store.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The bytes exactly as received: kept as evidence.
    pub raw: Vec<u8>,
    pub document: Document,
    pub warnings: Vec<Melding>,
    /// Where the root element stands in `raw`.
    pub wortel: std::ops::Range<usize>,
    /// Who sent it: ids are unique per sender, references resolve among
    /// what it may change.
    pub sender: Sender,
}

/// What `accept` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    Accepted(Receipt),
    /// Stored before with identical bytes; this is the original receipt.
    Repeat(Receipt),
}

/// Why `accept` refused a message, or could not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The message cannot be stored as it stands (a rule needing stored
    /// state: a conflicting repeat, an unusable reference).
    #[error("{}", .0.message)]
    Rejected(Melding),
    /// The store failed; nothing was acknowledged.
    #[error("storage failure: {0}")]
    Unavailable(String),
}

impl StoreError {
    pub fn rejected(code: Code, message: impl Into<String>) -> StoreError {
        StoreError::Rejected(Melding::new(code, message))
    }
}

/// A point in a store's order of writes: an `accept` decision becomes
/// durable when its commit does. Goes on the response (as an extension)
/// whose answer must wait for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Commit(pub u64);

/// What `accept` decided: the outcome or why not, and (when the decision
/// rests on written or stored state) the commit to wait for before
/// answering with it.
#[derive(Debug)]
pub struct Decision {
    pub result: Result<Outcome, StoreError>,
    pub commit: Option<Commit>,
}

/// A future answering an `accept`.
pub type Pending = Pin<Box<dyn Future<Output = Decision> + Send>>;

/// The answer of an engine's writer to a job: `answer` once given, or
/// `refused` (why) when the job could not be queued (`sent` false) or the
/// writer stopped before answering. Shared by every engine's writer.
pub(crate) fn writer_answer<T: Send + 'static>(
    sent: bool,
    answer: tokio::sync::oneshot::Receiver<T>,
    refused: impl FnOnce(&str) -> T + Send + 'static,
) -> Pin<Box<dyn Future<Output = T> + Send>> {
    Box::pin(async move {
        if !sent {
            return refused("the store is not accepting writes");
        }
        match answer.await {
            Ok(a) => a,
            Err(_) => refused("the writer stopped"),
        }
    })
}

/// A refusal of a write: the store cannot take it now.
pub(crate) fn unavailable(why: &str) -> Result<(), StoreError> {
    Err(StoreError::Unavailable(why.into()))
}

/// A future answering [`Store::durable`].
pub type Durable = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>;

/// One stored message with the bytes it arrived as.
#[derive(Debug, Clone)]
pub struct Stored {
    pub record: Record,
    pub raw: Vec<u8>,
}

/// The storage engine's interface. Reads are synchronous and quick (call
/// them from a blocking-friendly context) and see only durable messages.
pub trait Store: Send + Sync + 'static {
    /// Decides on a message and writes it; durable once
    /// [`Store::durable`] confirms the decision's commit.
    fn accept(&self, incoming: Incoming) -> Pending;

    /// Resolves once `commit` is durable; an error if it can no longer be.
    fn durable(&self, commit: Commit) -> Durable;

    /// The messages with this id, of every sender, in acceptance order.
    fn messages(&self, bericht_id: &str) -> Result<Vec<Stored>, StoreError>;

    /// Every message about one client (Meting, Correctie, Intrekking), in
    /// acceptance order, with their raw bytes.
    fn client(&self, bsn: &str) -> Result<Vec<Stored>, StoreError>;

    /// Number of stored messages.
    fn count(&self) -> Result<u64, StoreError>;

    /// Whether the store can take writes now.
    fn ready(&self) -> Result<(), StoreError>;

    /// Up to `limit` messages of one municipality with a sequence number
    /// above `after`, in acceptance order. Reads only what it returns.
    fn feed(&self, gemeente: &str, after: u64, limit: usize) -> Result<Vec<Stored>, StoreError>;

    /// How many messages of one municipality come after `after`.
    fn backlog(&self, gemeente: &str, after: u64) -> Result<u64, StoreError>;

    /// The last accepted sequence number, changing as messages are
    /// accepted: what long polls and push workers wait on.
    fn changes(&self) -> tokio::sync::watch::Receiver<u64>;

    /// Up to `limit` messages of every municipality with a number above
    /// `after`, in order: for copying a store.
    fn all(&self, after: u64, limit: usize) -> Result<Vec<Stored>, StoreError>;

    /// Writes messages copied from another store exactly as they were
    /// stored (numbers, records, bytes), on a store that is not taking
    /// messages: they must continue its numbering. Resolves once durable.
    fn restore(&self, batch: Vec<Stored>) -> Durable;

    /// A client's timeline ([`tijdlijn`]), as the store keeps it.
    fn tijdlijn(&self, bsn: &str) -> Result<Option<tijdlijn::Tijdlijn>, StoreError>;

    /// Every client timeline with a version in `gemeente` (every timeline
    /// when `None`), each once, read in place. May include versions not
    /// yet durable: readers leave out what lies above [`Store::changes`].
    fn tijdlijnen(
        &self,
        gemeente: Option<&str>,
        visit: &mut dyn FnMut(&tijdlijn::TijdlijnRef<'_>),
    ) -> Result<(), StoreError>;

    /// Stops taking writes and makes everything decided so far durable;
    /// reads still work. Called once, at shutdown (blocking).
    fn close(&self) -> Result<(), StoreError>;
}

/// The page cache a store may hold unless told otherwise (`--cache-mb`).
pub const DEFAULT_CACHE: u64 = 64 * 1024 * 1024;

/// Which engine, where, and how much memory its cache may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub engine: Engine,
    /// Bytes of cache the engine may keep (sled: its page cache).
    pub cache_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Engine {
    /// The embedded default: a sled database in this directory.
    Sled(std::path::PathBuf),
    /// A PostgreSQL database (`postgres://…`), which several instances
    /// may share.
    Postgres(String),
}

impl Engine {
    /// The PostgreSQL engine at `url`; an error unless it is one.
    pub fn postgres(url: &str) -> Result<Engine, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Engine::Postgres(url.to_string()))
        } else {
            Err("--store takes a PostgreSQL URL, postgres://user@host/database".into())
        }
    }
}

impl Config {
    /// A store named as on the command line: a PostgreSQL URL, or else the
    /// directory of an embedded store.
    pub fn at(spec: &str) -> Config {
        match Engine::postgres(spec) {
            Ok(engine) => Config {
                engine,
                cache_bytes: DEFAULT_CACHE,
            },
            Err(_) => Config::sled(spec),
        }
    }

    /// The store the command-line flags choose: `--store URL`
    /// (PostgreSQL) when given, else the embedded store in `--data`, with
    /// `--cache-mb` of cache; an error names a `--store` that is no
    /// PostgreSQL URL.
    pub fn from_flags(
        store: Option<&str>,
        data: impl Into<std::path::PathBuf>,
        cache_mb: u64,
    ) -> Result<Config, String> {
        Ok(Config {
            engine: match store {
                Some(url) => Engine::postgres(url)?,
                None => Engine::Sled(data.into()),
            },
            cache_bytes: cache_mb.max(1) * 1024 * 1024,
        })
    }

    /// The embedded engine in `dir`, with the default cache.
    pub fn sled(dir: impl Into<std::path::PathBuf>) -> Config {
        Config {
            engine: Engine::Sled(dir.into()),
            cache_bytes: DEFAULT_CACHE,
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Sled(dir) => write!(f, "{}", dir.display()),
            // Never a password: neither the user part nor the query.
            Engine::Postgres(url) => {
                let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
                let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
                let rest = rest.split('?').next().unwrap_or(rest);
                write!(f, "postgres://{rest}")
            }
        }
    }
}

/// An open store: one engine behind every persistence trait. No engine
/// type leaves this module.
#[derive(Clone)]
pub struct Opened {
    pub messages: std::sync::Arc<dyn Store>,
    pub delivery: std::sync::Arc<dyn delivery::DeliveryStore>,
    pub auth: std::sync::Arc<dyn auth::AuthStore>,
}

/// Opens the engine `config` names (blocking): used by `serve`, `admin`
/// and the benchmarks alike.
pub fn open(config: &Config) -> Result<Opened, StoreError> {
    match &config.engine {
        Engine::Sled(dir) => {
            let store =
                std::sync::Arc::new(sled_store::SledStore::open_with(dir, config.cache_bytes)?);
            Ok(Opened {
                messages: store.clone(),
                delivery: store.clone(),
                auth: store,
            })
        }
        Engine::Postgres(url) => {
            let store = std::sync::Arc::new(postgres::PgStore::open(url)?);
            Ok(Opened {
                messages: store.clone(),
                delivery: store.clone(),
                auth: store,
            })
        }
    }
}
