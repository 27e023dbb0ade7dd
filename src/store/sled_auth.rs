//! The sled engine's side of authentication: organisations, credentials,
//! the audit log and the installation's settings, in their own trees of
//! the same database. Organisations and credentials are fsynced when
//! written; audit entries are synced by the audit writer, one sync per
//! group, before the answers they record leave (`auth::service`).

use crate::auth::store::{AuditEntry, AuditQuery, AuthStore, Organisatie, Sleutel};
use crate::time::Moment;

use super::sled_store::SledStore;
use super::StoreError;

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(io)
}

const SALT: &[u8] = b"bsn-salt";
const STARTED: &[u8] = b"gestart";

impl AuthStore for SledStore {
    fn organisations(&self) -> Result<Vec<Organisatie>, StoreError> {
        self.trees()
            .organisaties
            .iter()
            .map(|item| decode(&item.map_err(io)?.1))
            .collect()
    }

    fn organisation(&self, id: &str) -> Result<Option<Organisatie>, StoreError> {
        match self.trees().organisaties.get(id.as_bytes()).map_err(io)? {
            Some(v) => decode(&v).map(Some),
            None => Ok(None),
        }
    }

    fn add_organisation(&self, org: &Organisatie) -> Result<bool, StoreError> {
        let value = serde_json::to_vec(org).map_err(io)?;
        let swapped = self
            .trees()
            .organisaties
            .compare_and_swap(org.id.as_bytes(), None::<&[u8]>, Some(value))
            .map_err(io)?;
        if swapped.is_err() {
            return Ok(false);
        }
        self.sync()?;
        Ok(true)
    }

    fn credentials(&self) -> Result<Vec<Sleutel>, StoreError> {
        self.trees()
            .sleutels
            .iter()
            .map(|item| decode(&item.map_err(io)?.1))
            .collect()
    }

    fn credential(&self, id: &str) -> Result<Option<Sleutel>, StoreError> {
        match self.trees().sleutels.get(id.as_bytes()).map_err(io)? {
            Some(v) => decode(&v).map(Some),
            None => Ok(None),
        }
    }

    fn add_credential(&self, sleutel: &Sleutel) -> Result<(), StoreError> {
        self.trees()
            .sleutels
            .insert(
                sleutel.id.as_bytes(),
                serde_json::to_vec(sleutel).map_err(io)?,
            )
            .map_err(io)?;
        self.sync()
    }

    fn revoke_credential(&self, id: &str, at: Moment) -> Result<bool, StoreError> {
        let Some(mut s) = self.credential(id)? else {
            return Ok(false);
        };
        if s.ingetrokken.is_none() {
            s.ingetrokken = Some(at);
            self.trees()
                .sleutels
                .insert(id.as_bytes(), serde_json::to_vec(&s).map_err(io)?)
                .map_err(io)?;
            self.sync()?;
        }
        Ok(true)
    }

    fn bsn_salt(&self) -> Result<Vec<u8>, StoreError> {
        let meta = &self.trees().auth_meta;
        if let Some(v) = meta.get(SALT).map_err(io)? {
            return Ok(v.to_vec());
        }
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt).map_err(io)?;
        // Another caller may have won the race: keep whichever is stored.
        let _ = meta
            .compare_and_swap(SALT, None::<&[u8]>, Some(&salt[..]))
            .map_err(io)?;
        self.sync()?;
        Ok(meta
            .get(SALT)
            .map_err(io)?
            .map_or(salt.to_vec(), |v| v.to_vec()))
    }

    fn first_start(&self) -> Result<bool, StoreError> {
        let swapped = self
            .trees()
            .auth_meta
            .compare_and_swap(STARTED, None::<&[u8]>, Some(&b"1"[..]))
            .map_err(io)?;
        Ok(swapped.is_ok())
    }

    fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let t = self.trees();
        // Monotonic ids keep the tree in time order.
        let n = t.db.generate_id().map_err(io)?;
        t.audit
            .insert(n.to_be_bytes(), serde_json::to_vec(entry).map_err(io)?)
            .map_err(io)?;
        Ok(())
    }

    fn sync_audit(&self) -> Result<(), StoreError> {
        self.sync()
    }

    fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().audit.iter() {
            let e: AuditEntry = decode(&item.map_err(io)?.1)?;
            if q.van.is_some_and(|van| e.tijdstip < van)
                || q.tot.is_some_and(|tot| e.tijdstip >= tot)
                || q.organisatie
                    .as_ref()
                    .is_some_and(|o| e.organisatie.as_ref() != Some(o))
            {
                continue;
            }
            out.push(e);
            if out.len() >= q.limit {
                break;
            }
        }
        Ok(out)
    }
}
