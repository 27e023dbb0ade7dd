//! What authentication keeps: organisations, credentials (hashes only),
//! the roles they hold, the audit log and a per-installation salt. Behind
//! its own trait, beside [`crate::store::Store`], so an engine implements
//! both (the sled engine in `store::sled_auth`); the logic that uses it is
//! `crate::auth`.

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::time::Moment;

/// A role a credential can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rol {
    /// May post messages for its organisation's municipalities.
    Aanleveren,
    /// May read feed, history, messages and subscriptions of its
    /// municipalities.
    Afnemen,
    /// Aggregate reports only, no personal data.
    Rapporteren,
    /// Manages organisations and credentials; reads the audit log.
    Beheer,
}

impl Rol {
    pub const ALL: [Rol; 4] = [Rol::Aanleveren, Rol::Afnemen, Rol::Rapporteren, Rol::Beheer];

    pub fn as_str(self) -> &'static str {
        match self {
            Rol::Aanleveren => "aanleveren",
            Rol::Afnemen => "afnemen",
            Rol::Rapporteren => "rapporteren",
            Rol::Beheer => "beheer",
        }
    }

    pub fn parse(s: &str) -> Option<Rol> {
        Rol::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// An organisation (municipality, ISD, vendor) and the municipalities it
/// acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organisatie {
    pub id: String,
    pub naam: String,
    /// CBS codes.
    pub gemeenten: Vec<String>,
    /// The OIN in its PKIoverheid certificate, for mutual TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oin: Option<String>,
    /// The roles a request authenticated by that certificate gets (none:
    /// the certificate alone does not authenticate).
    #[serde(default)]
    pub rollen_bij_certificaat: Vec<Rol>,
    pub aangemaakt: Moment,
    /// Whether its municipalities take part in the benchmark between
    /// municipalities (set by `beheer`; no unless said).
    #[serde(default)]
    pub benchmark: bool,
}

/// A credential: an API token's id, owner, roles and the SHA-256 of the
/// token (the token itself is shown once and never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sleutel {
    pub id: String,
    pub organisatie: String,
    pub rollen: Vec<Rol>,
    /// Hex SHA-256 of the whole token.
    pub hash: String,
    pub aangemaakt: Moment,
    #[serde(default)]
    pub verloopt: Option<Moment>,
    #[serde(default)]
    pub ingetrokken: Option<Moment>,
}

/// An authorisation given by the municipality's administrator: organisation
/// `aan` may correct and withdraw the measurements that organisation
/// `namens` sent for municipality `gemeente`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machtiging {
    pub gemeente: String,
    pub aan: String,
    pub namens: String,
    pub aangemaakt: Moment,
}

/// One entry of the audit log of processing of personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When it was recorded, just before the answer left (UTC, like
    /// `ontvangen`; set by the store).
    pub tijdstip: Moment,
    /// Who: absent when the request was not authenticated.
    pub organisatie: Option<String>,
    pub sleutel: Option<String>,
    /// What: method and route template (never the URI: it can hold a BSN).
    pub methode: String,
    pub route: String,
    pub berichten: Vec<String>,
    /// The municipality asked about (a feed's `gemeente`, a message's
    /// `Envelop/Gemeente`), also when refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gemeente: Option<String>,
    /// The BSNs touched, as salted SHA-256 (hex); never plain.
    pub bsn_hashes: Vec<String>,
    /// The HTTP status answered.
    pub status: u16,
}

/// Which audit entries to read.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub van: Option<Moment>,
    pub tot: Option<Moment>,
    pub organisatie: Option<String>,
    pub limit: usize,
}

/// A future answering [`AuthStore::append_audit`].
pub type AuditPending =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), StoreError>> + Send>>;

/// Persistence for organisations, credentials and the audit log.
pub trait AuthStore: Send + Sync + 'static {
    fn organisations(&self) -> Result<Vec<Organisatie>, StoreError>;
    fn organisation(&self, id: &str) -> Result<Option<Organisatie>, StoreError>;
    /// Stores a new organisation durably; `false` if the id is taken.
    fn add_organisation(&self, org: &Organisatie) -> Result<bool, StoreError>;
    /// Replaces a stored organisation; `false` if there is none with its id.
    fn update_organisation(&self, org: &Organisatie) -> Result<bool, StoreError>;
    fn credentials(&self) -> Result<Vec<Sleutel>, StoreError>;
    fn credential(&self, id: &str) -> Result<Option<Sleutel>, StoreError>;
    /// Stores a new credential durably.
    fn add_credential(&self, sleutel: &Sleutel) -> Result<(), StoreError>;
    /// Marks a credential revoked (durably); `false` if unknown. Revoking
    /// it again keeps the first moment.
    fn revoke_credential(&self, id: &str, at: Moment) -> Result<bool, StoreError>;
    /// Every authorisation to correct another organisation's measurements.
    fn authorisations(&self) -> Result<Vec<Machtiging>, StoreError>;
    /// Stores an authorisation durably; `false` if it exists already.
    fn add_authorisation(&self, m: &Machtiging) -> Result<bool, StoreError>;
    /// Removes one durably; `false` if there was none.
    fn remove_authorisation(
        &self,
        gemeente: &str,
        aan: &str,
        namens: &str,
    ) -> Result<bool, StoreError>;
    /// The installation's salt for hashing BSNs in the audit log, created
    /// on first use.
    fn bsn_salt(&self) -> Result<Vec<u8>, StoreError>;
    /// Whether `serve` has started on this store before; marks it so.
    fn first_start(&self) -> Result<bool, StoreError>;
    /// Whether other processes may change it while this one runs (several
    /// instances on one database): what this one caches must then expire.
    fn shared(&self) -> bool;
    /// Whether `serve` has started on this store, without marking it.
    fn started(&self) -> Result<bool, StoreError>;
    /// Appends an entry (append-only; never changed or deleted); resolves
    /// once it is durable. The store sets `tijdstip` to the moment it
    /// records the entry: never decreasing over the log, and later than
    /// every entry whose append had resolved before this one was made
    /// (entries recorded together may share one).
    fn append_audit(&self, entry: AuditEntry) -> AuditPending;
    /// Entries in time order, filtered, at most `limit`.
    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
    /// Writes entries copied from another store with the moments they
    /// were recorded at (in time order; entries of one round share one),
    /// durably, on a store that is not serving. Copying the same entries
    /// again changes nothing.
    fn restore_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError>;
    /// Takes another store's BSN salt, so that copied audit entries keep
    /// matching; an error if this store has a different one already.
    fn restore_salt(&self, salt: &[u8]) -> Result<(), StoreError>;
}

/// The salt a store must take ([`AuthStore::restore_salt`]), compared with
/// the one it holds.
pub(crate) fn same_salt(held: &[u8], salt: &[u8]) -> Result<(), StoreError> {
    if held == salt {
        Ok(())
    } else {
        Err(StoreError::Unavailable(
            "the destination has a BSN salt of its own: copy into a new, empty store".into(),
        ))
    }
}
