//! The sled engine's side of push delivery: subscriptions, delivery state
//! and dead letters, in their own trees of the same database.
//!
//! Registering a subscription is acknowledged only once it is fsynced, like
//! a message. Delivery progress is written without a sync of its own (it
//! rides along with the next sync, or sled's periodic flush): after a crash
//! a receiver may get a message again, which it deduplicates; a clean stop
//! flushes everything.

use super::delivery::{Abonnement, Afleverstand, DeliveryStore, DodeBrief};
use super::sled_store::SledStore;
use super::StoreError;

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(io)
}

fn dead_key(id: &str, volgnummer: u64) -> Vec<u8> {
    let mut k = id.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(&volgnummer.to_be_bytes());
    k
}

/// A requested replay, in the `aflevering` tree: a NUL cannot start a
/// subscription id.
fn replay_key(id: &str) -> Vec<u8> {
    [b"\0replay/".as_slice(), id.as_bytes()].concat()
}

fn dead_prefix(id: &str) -> Vec<u8> {
    let mut k = id.as_bytes().to_vec();
    k.push(0);
    k
}

impl DeliveryStore for SledStore {
    fn add_subscription(&self, abonnement: &Abonnement) -> Result<(), StoreError> {
        let t = self.trees();
        t.abonnementen
            .insert(
                abonnement.id.as_bytes(),
                serde_json::to_vec(abonnement).map_err(io)?,
            )
            .map_err(io)?;
        self.sync()
    }

    fn subscriptions(&self) -> Result<Vec<Abonnement>, StoreError> {
        self.trees()
            .abonnementen
            .iter()
            .map(|item| decode(&item.map_err(io)?.1))
            .collect()
    }

    fn subscription(&self, id: &str) -> Result<Option<Abonnement>, StoreError> {
        match self.trees().abonnementen.get(id.as_bytes()).map_err(io)? {
            Some(v) => decode(&v).map(Some),
            None => Ok(None),
        }
    }

    fn remove_subscription(&self, id: &str) -> Result<bool, StoreError> {
        let t = self.trees();
        let existed = t.abonnementen.remove(id.as_bytes()).map_err(io)?.is_some();
        t.aflevering.remove(id.as_bytes()).map_err(io)?;
        t.aflevering.remove(replay_key(id)).map_err(io)?;
        for item in t.dode_brieven.scan_prefix(dead_prefix(id)) {
            t.dode_brieven.remove(item.map_err(io)?.0).map_err(io)?;
        }
        self.sync()?;
        Ok(existed)
    }

    fn delivery_state(&self, id: &str) -> Result<Afleverstand, StoreError> {
        match self.trees().aflevering.get(id.as_bytes()).map_err(io)? {
            Some(v) => decode(&v),
            None => Ok(Afleverstand::default()),
        }
    }

    fn save_delivery_state(&self, id: &str, stand: &Afleverstand) -> Result<(), StoreError> {
        self.trees()
            .aflevering
            .insert(id.as_bytes(), serde_json::to_vec(stand).map_err(io)?)
            .map_err(io)?;
        Ok(())
    }

    fn add_dead_letter(&self, id: &str, brief: &DodeBrief) -> Result<(), StoreError> {
        self.trees()
            .dode_brieven
            .insert(
                dead_key(id, brief.volgnummer),
                serde_json::to_vec(brief).map_err(io)?,
            )
            .map_err(io)?;
        Ok(())
    }

    fn dead_letters(&self, id: &str) -> Result<Vec<DodeBrief>, StoreError> {
        self.trees()
            .dode_brieven
            .scan_prefix(dead_prefix(id))
            .map(|item| decode(&item.map_err(io)?.1))
            .collect()
    }

    fn clear_dead_letters(&self, id: &str, from: u64) -> Result<(), StoreError> {
        let t = self.trees();
        for item in t
            .dode_brieven
            .range(dead_key(id, from)..dead_key(id, u64::MAX))
        {
            t.dode_brieven.remove(item.map_err(io)?.0).map_err(io)?;
        }
        // The maximum itself is not covered by the half-open range.
        t.dode_brieven.remove(dead_key(id, u64::MAX)).map_err(io)?;
        Ok(())
    }

    /// sled locks its directory: one process delivers.
    fn shared(&self) -> bool {
        false
    }

    /// One process has the database (sled locks it): always granted.
    fn lease(
        &self,
        _id: &str,
        _holder: &str,
        _ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }

    fn release(&self, _id: &str, _holder: &str) -> Result<(), StoreError> {
        Ok(())
    }

    fn request_replay(&self, id: &str, from: u64) -> Result<(), StoreError> {
        self.trees()
            .aflevering
            .fetch_and_update(replay_key(id), |old| {
                let earlier = old
                    .and_then(|v| v.try_into().ok())
                    .map(u64::from_be_bytes)
                    .map_or(from, |o| o.min(from));
                Some(earlier.to_be_bytes().to_vec())
            })
            .map_err(io)?;
        Ok(())
    }

    fn take_replay(&self, id: &str) -> Result<Option<u64>, StoreError> {
        Ok(self
            .trees()
            .aflevering
            .remove(replay_key(id))
            .map_err(io)?
            .and_then(|v| v.as_ref().try_into().ok())
            .map(u64::from_be_bytes))
    }
}
