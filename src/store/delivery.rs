//! What push delivery keeps: subscriptions, each subscription's delivery
//! state, and its dead letters. Behind its own trait, beside [`super::Store`]
//! (crate::store::Store), so an engine implements both.

use serde::{Deserialize, Serialize};

use super::{Soort, StoreError};
use crate::schema::{Onderdeel, Schemaversie};
use crate::time::Moment;

/// A receiver a back-office registered (*abonnement*).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Abonnement {
    pub id: String,
    pub url: String,
    pub gemeente: String,
    /// The kinds of message delivered; all three when registered empty.
    pub soorten: Vec<Soort>,
    /// The signing secret (`whsec_…`). Stored, because every delivery is
    /// signed with it; shown only once, at registration.
    pub secret: String,
    pub aangemaakt: Moment,
    /// The schema version the receiver understands; `None` (also every
    /// subscription registered before 1.1): the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versie: Option<Schemaversie>,
    /// The optional parts the receiver does not want (data minimisation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weglaten: Vec<Onderdeel>,
}

/// Where a subscription's delivery stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Afleverstand {
    /// Every message up to this sequence number has been delivered (or
    /// dead-lettered, or was not for this subscription).
    pub cursor: u64,
    pub laatste_succes: Option<Moment>,
    pub laatste_fout: Option<Fout>,
    /// Failed attempts at the message after the cursor, and since when.
    pub pogingen: u32,
    pub eerste_poging: Option<Moment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fout {
    pub tijdstip: Moment,
    pub volgnummer: u64,
    pub omschrijving: String,
}

/// A message given up on after the retry window; replayable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DodeBrief {
    pub volgnummer: u64,
    pub bericht_id: String,
    pub sinds: Moment,
    pub pogingen: u32,
    pub fout: String,
}

/// Persistence for push delivery.
pub trait DeliveryStore: Send + Sync + 'static {
    /// Stores a new subscription durably.
    fn add_subscription(&self, abonnement: &Abonnement) -> Result<(), StoreError>;
    fn subscriptions(&self) -> Result<Vec<Abonnement>, StoreError>;
    fn subscription(&self, id: &str) -> Result<Option<Abonnement>, StoreError>;
    /// Ends a subscription with its state and dead letters (configuration,
    /// not messages: nothing accepted is touched). `false` if unknown.
    fn remove_subscription(&self, id: &str) -> Result<bool, StoreError>;
    fn delivery_state(&self, id: &str) -> Result<Afleverstand, StoreError>;
    /// Saves delivery progress. Not synced on every call: after a crash a
    /// receiver may get a message again (at least once), never skip one.
    fn save_delivery_state(&self, id: &str, stand: &Afleverstand) -> Result<(), StoreError>;
    fn add_dead_letter(&self, id: &str, brief: &DodeBrief) -> Result<(), StoreError>;
    /// A subscription's dead letters, in volgnummer order.
    fn dead_letters(&self, id: &str) -> Result<Vec<DodeBrief>, StoreError>;
    /// Drops dead letters from `volgnummer` on (they are being replayed).
    fn clear_dead_letters(&self, id: &str, from: u64) -> Result<(), StoreError>;
    /// Whether other instances deliver from it too (several instances on
    /// one database): only then must registrations, removals and replays
    /// made elsewhere be looked for.
    fn shared(&self) -> bool;
    /// Takes or renews, for `holder`, the right to deliver to subscription
    /// `id` for the next `ttl`: `false` while another holder's right runs.
    /// It keeps two instances on one database from delivering the same
    /// subscription at once (and out of order).
    fn lease(&self, id: &str, holder: &str, ttl: std::time::Duration) -> Result<bool, StoreError>;
    /// Gives the right up (a clean stop), so that another instance takes
    /// over at once instead of when it runs out.
    fn release(&self, id: &str, holder: &str) -> Result<(), StoreError>;
    /// Asks whichever instance delivers `id` to re-send from `from` on (the
    /// lowest asked for, when asked twice before it is taken).
    fn request_replay(&self, id: &str, from: u64) -> Result<(), StoreError>;
    /// The replay asked for, if any; taking it clears it.
    fn take_replay(&self, id: &str) -> Result<Option<u64>, StoreError>;
}
