//! The sled engine's side of authentication: organisations, credentials,
//! the audit log and the installation's settings, in their own trees of
//! the same database. Organisations and credentials are fsynced when
//! written; audit entries go through the store's writer, one write per
//! round, made durable by the same sync as the round's messages, before
//! the answers they record leave (`auth::service`).

use crate::auth::store::{AuditEntry, AuditPending, AuditQuery, AuthStore, Organisatie, Sleutel};
use crate::time::Moment;

use super::sled_store::{Job, SledStore, Trees};
use super::StoreError;

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(io)
}

/// An audit value: a group of entries, or (stores written before groups)
/// a single entry.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum AuditValue {
    Group(Vec<AuditEntry>),
    One(AuditEntry),
}

const SALT: &[u8] = b"bsn-salt";
const STARTED: &[u8] = b"gestart";

/// Appends a round of audit entries as one value: sled's cost is per
/// write (docs/performance.md). Called by the store's writer, which makes
/// them durable together with the round's messages.
pub(super) fn append_audit(trees: &Trees, entries: &[AuditEntry]) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    // Monotonic ids keep the tree in time order.
    let n = trees.db.generate_id().map_err(io)?;
    trees
        .audit
        .insert(n.to_be_bytes(), serde_json::to_vec(entries).map_err(io)?)
        .map_err(io)?;
    Ok(())
}

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

    fn append_audit(&self, entry: AuditEntry) -> AuditPending {
        let (reply, durable) = tokio::sync::oneshot::channel();
        let sent = self.send(Job::Audit(entry, reply));
        Box::pin(async move {
            if !sent {
                return Err(StoreError::Unavailable(
                    "the store is not accepting writes".into(),
                ));
            }
            durable
                .await
                .unwrap_or_else(|_| Err(StoreError::Unavailable("the writer stopped".into())))
        })
    }

    fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().audit.iter() {
            let group = match decode::<AuditValue>(&item.map_err(io)?.1)? {
                AuditValue::Group(g) => g,
                AuditValue::One(e) => vec![e],
            };
            for e in group {
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
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(route: &str, second: i64) -> AuditEntry {
        AuditEntry {
            tijdstip: Moment(second * 1_000_000),
            organisatie: Some("o".into()),
            sleutel: Some("k".into()),
            methode: "GET".into(),
            route: route.into(),
            berichten: Vec::new(),
            bsn_hashes: Vec::new(),
            status: 200,
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    #[test]
    fn audit_groups_and_single_entries_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        // A value as stores written before groups hold it: one entry.
        let t = store.trees();
        let n = t.db.generate_id().unwrap();
        t.audit
            .insert(
                n.to_be_bytes(),
                serde_json::to_vec(&entry("/een", 1)).unwrap(),
            )
            .unwrap();
        append_audit(t, &[entry("/twee", 2), entry("/drie", 3)]).unwrap();
        append_audit(t, &[]).unwrap();
        runtime()
            .block_on(store.append_audit(entry("/vier", 4)))
            .unwrap();
        let all = store
            .audit(&AuditQuery {
                limit: 10,
                ..AuditQuery::default()
            })
            .unwrap();
        let routes: Vec<&str> = all.iter().map(|e| e.route.as_str()).collect();
        assert_eq!(routes, ["/een", "/twee", "/drie", "/vier"]);
        let limited = store
            .audit(&AuditQuery {
                van: Some(Moment(2_000_000)),
                limit: 1,
                ..AuditQuery::default()
            })
            .unwrap();
        assert_eq!(limited, [entry("/twee", 2)]);
    }

    #[test]
    fn concurrent_entries_are_all_readable_once_durable() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(SledStore::open(dir.path()).unwrap());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let store = store.clone();
                    tokio::spawn(async move {
                        for j in 0..20 {
                            store.append_audit(entry("/x", i * 100 + j)).await.unwrap();
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        });
        let all = store
            .audit(&AuditQuery {
                limit: 1000,
                ..AuditQuery::default()
            })
            .unwrap();
        assert_eq!(all.len(), 160);
    }
}
