//! The sled engine's side of authentication: organisations, credentials,
//! the audit log and the installation's settings, in their own trees of
//! the same database. Organisations and credentials are fsynced when
//! written; audit entries go through the store's writer, one write per
//! round, made durable by the same sync as the round's messages, before
//! the answers they record leave (`auth::service`).

use crate::store::auth::{
    AuditEntry, AuditPending, AuditQuery, AuthStore, Machtiging, Organisatie, Sleutel,
};
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
/// Authorisations: one key each, `machtiging/` + gemeente, aan and namens
/// separated by NUL (none of them can hold one).
const MACHTIGING: &[u8] = b"machtiging/";

fn authorisation_key(gemeente: &str, aan: &str, namens: &str) -> Vec<u8> {
    [
        MACHTIGING,
        gemeente.as_bytes(),
        b"\0",
        aan.as_bytes(),
        b"\0",
        namens.as_bytes(),
    ]
    .concat()
}

/// Audit keys below this are sled-generated ids of stores written before
/// audit keys were times (2^40 µs after 1970 is in January 1970).
const LEGACY_END: u64 = 1 << 40;

/// The audit key of a moment: µs since 1970, big-endian, never among the
/// older stores' ids.
fn time_key(m: Moment) -> [u8; 8] {
    u64::try_from(m.0)
        .unwrap_or(0)
        .max(LEGACY_END)
        .to_be_bytes()
}

/// The time key of the last audit round stored, if any.
pub(super) fn last_audit_moment(trees: &Trees) -> Result<Option<Moment>, StoreError> {
    Ok(match trees.audit.last().map_err(io)? {
        Some((k, _)) => k
            .as_ref()
            .try_into()
            .ok()
            .map(u64::from_be_bytes)
            .filter(|&n| n >= LEGACY_END)
            .and_then(|n| i64::try_from(n).ok())
            .map(Moment),
        None => None,
    })
}

/// Appends a round of audit entries as one value (sled's cost is per
/// write, docs/performance.md), keyed by `at`, the moment of recording,
/// which becomes every entry's `tijdstip`: keys in time order make a
/// query by time a range read. Called by the store's writer, which makes
/// them durable together with the round's messages and passes strictly
/// increasing moments.
pub(super) fn append_audit(
    trees: &Trees,
    entries: &mut [AuditEntry],
    at: Moment,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    for e in entries.iter_mut() {
        e.tijdstip = at;
    }
    trees
        .audit
        .insert(time_key(at), serde_json::to_vec(entries).map_err(io)?)
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

    fn update_organisation(&self, org: &Organisatie) -> Result<bool, StoreError> {
        let value = serde_json::to_vec(org).map_err(io)?;
        let tree = &self.trees().organisaties;
        let Some(old) = tree.get(org.id.as_bytes()).map_err(io)? else {
            return Ok(false);
        };
        // Only over the value read: an organisation is never removed.
        if tree
            .compare_and_swap(org.id.as_bytes(), Some(old), Some(value))
            .map_err(io)?
            .is_err()
        {
            return Err(io("the organisation changed meanwhile; try again"));
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

    fn authorisations(&self) -> Result<Vec<Machtiging>, StoreError> {
        self.trees()
            .auth_meta
            .scan_prefix(MACHTIGING)
            .map(|item| decode(&item.map_err(io)?.1))
            .collect()
    }

    fn add_authorisation(&self, m: &Machtiging) -> Result<bool, StoreError> {
        let value = serde_json::to_vec(m).map_err(io)?;
        let swapped = self
            .trees()
            .auth_meta
            .compare_and_swap(
                authorisation_key(&m.gemeente, &m.aan, &m.namens),
                None::<&[u8]>,
                Some(value),
            )
            .map_err(io)?;
        if swapped.is_err() {
            return Ok(false);
        }
        self.sync()?;
        Ok(true)
    }

    fn remove_authorisation(
        &self,
        gemeente: &str,
        aan: &str,
        namens: &str,
    ) -> Result<bool, StoreError> {
        let removed = self
            .trees()
            .auth_meta
            .remove(authorisation_key(gemeente, aan, namens))
            .map_err(io)?;
        if removed.is_none() {
            return Ok(false);
        }
        self.sync()?;
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

    /// sled locks its directory: no other process writes it.
    fn shared(&self) -> bool {
        false
    }

    fn started(&self) -> Result<bool, StoreError> {
        Ok(self.trees().auth_meta.get(STARTED).map_err(io)?.is_some())
    }

    fn append_audit(&self, entry: AuditEntry) -> AuditPending {
        let (reply, durable) = tokio::sync::oneshot::channel();
        let sent = self.send(Job::Audit(entry, reply));
        super::writer_answer(sent, durable, super::unavailable)
    }

    fn restore_audit(&self, entries: &[AuditEntry]) -> Result<(), StoreError> {
        for round in entries.chunk_by(|a, b| a.tijdstip == b.tijdstip) {
            let value = serde_json::to_vec(round).map_err(io)?;
            self.trees()
                .audit
                .insert(time_key(round[0].tijdstip), value)
                .map_err(io)?;
        }
        self.sync()
    }

    fn restore_salt(&self, salt: &[u8]) -> Result<(), StoreError> {
        let meta = &self.trees().auth_meta;
        let _ = meta
            .compare_and_swap(SALT, None::<&[u8]>, Some(salt))
            .map_err(io)?;
        self.sync()?;
        super::auth::same_salt(&meta.get(SALT).map_err(io)?.unwrap_or_default(), salt)
    }

    fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        if q.limit == 0 {
            return Ok(Vec::new());
        }
        let audit = &self.trees().audit;
        // Older stores' entries (small keys) are all read; time-keyed
        // rounds only from `van` to `tot`.
        let legacy = audit.range(..LEGACY_END.to_be_bytes());
        let from = q.van.map_or(LEGACY_END.to_be_bytes(), time_key);
        let timed = match q.tot {
            Some(tot) => audit.range(from..time_key(tot)),
            None => audit.range(from..),
        };
        let mut out = Vec::new();
        for item in legacy.chain(timed) {
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
            gemeente: None,
            bsn_hashes: Vec::new(),
            status: 200,
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    fn at(s: &str) -> Moment {
        Moment::parse(s).unwrap()
    }

    fn query(store: &SledStore, van: Option<Moment>, tot: Option<Moment>) -> Vec<String> {
        store
            .audit(&AuditQuery {
                van,
                tot,
                limit: 10,
                ..AuditQuery::default()
            })
            .unwrap()
            .into_iter()
            .map(|e| e.route)
            .collect()
    }

    #[test]
    fn audit_rounds_are_read_by_time_beside_older_single_entries() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let (t1, t2) = (at("2026-01-01T10:00:00Z"), at("2026-01-02T10:00:00Z"));
        // A value as stores written before rounds hold it: one entry under
        // a sled-generated id.
        let t = store.trees();
        let mut een = entry("/een", 0);
        een.tijdstip = t1;
        let n = t.db.generate_id().unwrap();
        t.audit
            .insert(n.to_be_bytes(), serde_json::to_vec(&een).unwrap())
            .unwrap();
        append_audit(t, &mut [entry("/twee", 0), entry("/drie", 0)], t2).unwrap();
        append_audit(t, &mut [], t2).unwrap();
        // Through the writer: recorded now, after everything above.
        runtime()
            .block_on(store.append_audit(entry("/vier", 0)))
            .unwrap();

        assert_eq!(
            query(&store, None, None),
            ["/een", "/twee", "/drie", "/vier"]
        );
        let all = store
            .audit(&AuditQuery {
                limit: 10,
                ..AuditQuery::default()
            })
            .unwrap();
        assert_eq!(
            all[1].tijdstip, t2,
            "the round's moment is its entries' time"
        );
        assert!(all[3].tijdstip > t2);
        assert_eq!(query(&store, None, Some(t2)), ["/een"]);
        assert_eq!(query(&store, Some(t2), Some(t2.next())), ["/twee", "/drie"]);
        assert_eq!(query(&store, Some(t2.next()), None), ["/vier"]);
        let limited = store
            .audit(&AuditQuery {
                van: Some(t1),
                limit: 2,
                ..AuditQuery::default()
            })
            .unwrap();
        assert_eq!(limited.len(), 2);
        // A reopened store goes on after its last round.
        drop(store);
        let store = SledStore::open(dir.path()).unwrap();
        runtime()
            .block_on(store.append_audit(entry("/vijf", 0)))
            .unwrap();
        assert_eq!(query(&store, Some(t2.next()), None), ["/vier", "/vijf"]);
    }
}
