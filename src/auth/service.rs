//! Authentication and credential management over an [`AuthStore`]: shared
//! by the HTTP middleware, the beheer API, `ladderpost admin` and the
//! first start of `serve`.

use std::collections::HashMap;
use std::sync::Arc;

use super::{token, Principal, Rol};
use crate::store::auth::{AuditEntry, AuthStore, Machtiging, Organisatie, Sleutel};
use crate::store::StoreError;
use crate::time::Moment;

/// Why a management action was refused.
#[derive(Debug, thiserror::Error)]
pub enum BeheerError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// A new organisation as asked for.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct NieuweOrganisatie {
    pub id: String,
    pub naam: String,
    #[serde(default)]
    pub gemeenten: Vec<String>,
    #[serde(default)]
    pub oin: Option<String>,
    #[serde(default)]
    pub rollen_bij_certificaat: Vec<String>,
}

pub struct Auth {
    store: Arc<dyn AuthStore>,
    salt: Vec<u8>,
    /// Credentials and certificate organisations found so far: a store
    /// read and decode per request cost a fifth of the API's throughput
    /// (docs/performance.md). Cleared by every change made through this
    /// `Auth`; on a store other instances (or `ladderpost admin`) change
    /// too, also when older than [`SHARED_CACHE`]. On the embedded store
    /// nothing else writes: `ladderpost admin` cannot open it meanwhile.
    known: std::sync::RwLock<Known>,
}

/// How long what was read of a shared store is trusted: a revocation or a
/// removed authorisation on another instance takes effect within this.
pub const SHARED_CACHE: std::time::Duration = std::time::Duration::from_secs(1);

#[derive(Default)]
struct Known {
    /// Bumped by every change: what was read from the store before a
    /// change is not cached after it (a revocation racing with a lookup
    /// would otherwise leave the revoked credential cached).
    generation: u64,
    /// Credential id to its stored hash, expiry, revocation and principal.
    keys: HashMap<String, Arc<KnownKey>>,
    /// OIN to the principal of its organisation's certificate roles.
    oins: HashMap<String, Principal>,
    /// When the first of these was read.
    since: Option<std::time::Instant>,
}

struct KnownKey {
    hash: String,
    verloopt: Option<Moment>,
    ingetrokken: bool,
    principal: Principal,
}

fn rollen(names: &[String]) -> Result<Vec<Rol>, BeheerError> {
    let mut out = Vec::new();
    for n in names {
        let r = Rol::parse(n.trim()).ok_or_else(|| {
            BeheerError::Invalid(format!(
                "unknown role {n:?}; roles are aanleveren, afnemen, rapporteren, beheer"
            ))
        })?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    Ok(out)
}

fn random(e: getrandom::Error) -> BeheerError {
    BeheerError::Store(StoreError::Unavailable(format!("no randomness: {e}")))
}

impl Auth {
    pub fn new(store: Arc<dyn AuthStore>) -> Result<Auth, StoreError> {
        let salt = store.bsn_salt()?;
        Ok(Auth {
            store,
            salt,
            known: std::sync::RwLock::new(Known::default()),
        })
    }

    pub fn store(&self) -> &Arc<dyn AuthStore> {
        &self.store
    }

    fn known(&self) -> std::sync::RwLockReadGuard<'_, Known> {
        let stale = self.store.shared() && {
            let known = self.known.read().unwrap_or_else(|p| p.into_inner());
            known.since.is_some_and(|t| t.elapsed() >= SHARED_CACHE)
        };
        if stale {
            self.forget();
        }
        self.known.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets every cached credential and organisation: after any change.
    fn forget(&self) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        *known = Known {
            generation: known.generation + 1,
            ..Known::default()
        };
    }

    /// Caches what was read from the store at `generation`, unless a change
    /// came in between.
    fn remember(&self, generation: u64, add: impl FnOnce(&mut Known)) {
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        if known.generation == generation {
            known.since.get_or_insert_with(std::time::Instant::now);
            add(&mut known);
        }
    }

    /// The principal a bearer token stands for, if it is known, matches,
    /// is not revoked and has not expired.
    pub fn bearer(&self, presented: &str) -> Result<Option<Principal>, StoreError> {
        let Some(id) = token::credential_id(presented) else {
            return Ok(None);
        };
        let (cached, generation) = {
            let known = self.known();
            (known.keys.get(id).cloned(), known.generation)
        };
        let key = match cached {
            Some(k) => k,
            None => {
                // Only credentials that exist are cached: unknown ids,
                // which anyone can make up, cost a store read each.
                let Some(s) = self.store.credential(id)? else {
                    return Ok(None);
                };
                let Some(org) = self.store.organisation(&s.organisatie)? else {
                    return Ok(None);
                };
                let key = Arc::new(KnownKey {
                    hash: s.hash,
                    verloopt: s.verloopt,
                    ingetrokken: s.ingetrokken.is_some(),
                    principal: self.principal(org, s.id, s.rollen)?,
                });
                self.remember(generation, |known| {
                    known.keys.insert(id.to_string(), key.clone());
                });
                key
            }
        };
        if !token::matches(presented, &key.hash)
            || key.ingetrokken
            || key.verloopt.is_some_and(|v| v <= Moment::now())
        {
            return Ok(None);
        }
        Ok(Some(key.principal.clone()))
    }

    /// The principal of a verified client certificate: the organisation
    /// with that OIN, with its `rollen_bij_certificaat` (none: refused).
    pub fn certificate(&self, oin: &str) -> Result<Option<Principal>, StoreError> {
        let generation = {
            let known = self.known();
            if let Some(p) = known.oins.get(oin) {
                return Ok(Some(p.clone()));
            }
            known.generation
        };
        let org = self
            .store
            .organisations()?
            .into_iter()
            .find(|o| o.oin.as_deref() == Some(oin) && !o.rollen_bij_certificaat.is_empty());
        let principal = match org {
            Some(o) => {
                let rollen = o.rollen_bij_certificaat.clone();
                Some(self.principal(o, format!("certificaat:{oin}"), rollen)?)
            }
            None => None,
        };
        if let Some(p) = &principal {
            self.remember(generation, |known| {
                known.oins.insert(oin.to_string(), p.clone());
            });
        }
        Ok(principal)
    }

    /// The organisation registered with this OIN, if any.
    pub fn oin_owner(&self, oin: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .store
            .organisations()?
            .into_iter()
            .find(|o| o.oin.as_deref() == Some(oin))
            .map(|o| o.id))
    }

    /// Who a credential of `org` is, with the authorisations given to it.
    fn principal(
        &self,
        org: Organisatie,
        sleutel: String,
        rollen: Vec<Rol>,
    ) -> Result<Principal, StoreError> {
        let namens = self
            .store
            .authorisations()?
            .into_iter()
            .filter(|m| m.aan == org.id)
            .map(|m| (m.gemeente, m.namens))
            .collect();
        Ok(Principal {
            organisatie: org.id,
            sleutel,
            rollen,
            gemeenten: org.gemeenten,
            oin: org.oin,
            namens,
        })
    }

    /// Every authorisation, or those given to or by `organisatie`.
    pub fn authorisations(&self, organisatie: Option<&str>) -> Result<Vec<Machtiging>, StoreError> {
        let mut all = self.store.authorisations()?;
        if let Some(o) = organisatie {
            all.retain(|m| m.aan == o || m.namens == o);
        }
        Ok(all)
    }

    /// Lets organisation `aan` correct and withdraw the measurements
    /// `namens` sent for `gemeente`. Both must exist and act for it.
    pub fn add_authorisation(
        &self,
        gemeente: &str,
        aan: &str,
        namens: &str,
    ) -> Result<Machtiging, BeheerError> {
        if aan == namens {
            return Err(BeheerError::Invalid(
                "an organisation may always correct its own measurements".into(),
            ));
        }
        for id in [aan, namens] {
            let Some(org) = self.store.organisation(id)? else {
                return Err(BeheerError::Invalid(format!("no organisation {id:?}")));
            };
            if !org.gemeenten.iter().any(|g| g == gemeente) {
                return Err(BeheerError::Invalid(format!(
                    "organisation {id} does not act for municipality {gemeente}"
                )));
            }
        }
        let m = Machtiging {
            gemeente: gemeente.to_string(),
            aan: aan.to_string(),
            namens: namens.to_string(),
            aangemaakt: Moment::now(),
        };
        let added = self.store.add_authorisation(&m);
        self.forget();
        if added? {
            Ok(m)
        } else {
            Err(BeheerError::Conflict(format!(
                "{aan} is authorised for {namens}'s measurements in {gemeente} already"
            )))
        }
    }

    /// Ends an authorisation (at once); `false` if there was none.
    pub fn remove_authorisation(
        &self,
        gemeente: &str,
        aan: &str,
        namens: &str,
    ) -> Result<bool, StoreError> {
        let removed = self.store.remove_authorisation(gemeente, aan, namens);
        self.forget();
        removed
    }

    /// Revokes a credential (durably, at once); `false` if it is unknown.
    pub fn revoke_credential(&self, id: &str) -> Result<bool, StoreError> {
        let revoked = self.store.revoke_credential(id, Moment::now());
        self.forget();
        revoked
    }

    pub fn add_organisation(&self, n: NieuweOrganisatie) -> Result<Organisatie, BeheerError> {
        let valid_id = !n.id.is_empty()
            && n.id.len() <= 64
            && n.id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_id {
            return Err(BeheerError::Invalid(
                "id must be 1-64 characters a-z, 0-9 and -".into(),
            ));
        }
        if n.naam.trim().is_empty() {
            return Err(BeheerError::Invalid("naam is required".into()));
        }
        let mut gemeenten = Vec::new();
        for g in &n.gemeenten {
            let g = crate::domain::Gemeentecode::parse(g.trim()).map_err(|_| {
                BeheerError::Invalid(format!("gemeente {g:?} is not a CBS code of four digits"))
            })?;
            if !gemeenten.iter().any(|x| x == g.as_str()) {
                gemeenten.push(g.as_str().to_string());
            }
        }
        if let Some(oin) = &n.oin {
            if oin.len() != 20 || !oin.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BeheerError::Invalid("oin must be 20 digits".into()));
            }
        }
        let org = Organisatie {
            id: n.id,
            naam: n.naam.trim().to_string(),
            gemeenten,
            oin: n.oin,
            rollen_bij_certificaat: rollen(&n.rollen_bij_certificaat)?,
            aangemaakt: Moment::now(),
            benchmark: false,
        };
        let added = self.store.add_organisation(&org);
        self.forget();
        if added? {
            Ok(org)
        } else {
            Err(BeheerError::Conflict(format!(
                "organisation {} exists already",
                org.id
            )))
        }
    }

    /// Sets whether an organisation's municipalities take part in the
    /// benchmark; the organisation, or `None` if unknown.
    pub fn set_benchmark(
        &self,
        id: &str,
        deelname: bool,
    ) -> Result<Option<Organisatie>, StoreError> {
        let Some(mut org) = self.store.organisation(id)? else {
            return Ok(None);
        };
        org.benchmark = deelname;
        let updated = self.store.update_organisation(&org);
        self.forget();
        Ok(updated?.then_some(org))
    }

    /// The municipalities of every organisation that takes part in the
    /// benchmark, each once, in order.
    pub fn benchmark_gemeenten(&self) -> Result<Vec<String>, StoreError> {
        let mut out: Vec<String> = self
            .store
            .organisations()?
            .into_iter()
            .filter(|o| o.benchmark)
            .flat_map(|o| o.gemeenten)
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Creates a credential; returns it with its token (shown once).
    pub fn add_credential(
        &self,
        organisatie: &str,
        rol_names: &[String],
        verloopt: Option<Moment>,
    ) -> Result<(Sleutel, String), BeheerError> {
        if self.store.organisation(organisatie)?.is_none() {
            return Err(BeheerError::Invalid(format!(
                "no organisation {organisatie}"
            )));
        }
        let rollen = rollen(rol_names)?;
        if rollen.is_empty() {
            return Err(BeheerError::Invalid("give at least one role".into()));
        }
        let id = token::new_id().map_err(random)?;
        let secret = token::generate(&id).map_err(random)?;
        let s = Sleutel {
            id,
            organisatie: organisatie.to_string(),
            rollen,
            hash: token::hash(&secret),
            aangemaakt: Moment::now(),
            verloopt,
            ingetrokken: None,
        };
        let added = self.store.add_credential(&s);
        self.forget();
        added?;
        Ok((s, secret))
    }

    /// On the first start of `serve` on a store: organisation `beheer`
    /// with a `beheer` credential; its token. `None` ever after.
    pub fn first_start(&self) -> Result<Option<String>, BeheerError> {
        if !self.store.first_start()? {
            return Ok(None);
        }
        if self.store.organisation(super::INSTALLATIE)?.is_none() {
            self.add_organisation(NieuweOrganisatie {
                id: super::INSTALLATIE.into(),
                naam: "Beheer".into(),
                ..NieuweOrganisatie::default()
            })?;
        }
        let (_, secret) = self.add_credential(super::INSTALLATIE, &["beheer".to_string()], None)?;
        Ok(Some(secret))
    }

    pub fn bsn_hash(&self, bsn: &str) -> String {
        token::bsn_hash(&self.salt, bsn)
    }

    /// Appends to the audit log; resolves once the entry is durable:
    /// `false` when it could not be recorded.
    pub fn audit(&self, entry: AuditEntry) -> impl std::future::Future<Output = bool> + Send {
        let durable = self.store.append_audit(entry);
        async move {
            durable
                .await
                .map_err(|e| tracing::error!(error = %e, "cannot write the audit log"))
                .is_ok()
        }
    }
}

/// A credential as listed (never its hash).
#[derive(serde::Serialize)]
pub struct SleutelView {
    pub id: String,
    pub organisatie: String,
    pub rollen: Vec<Rol>,
    pub aangemaakt: String,
    pub verloopt: Option<String>,
    pub ingetrokken: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl SleutelView {
    pub fn of(s: &Sleutel, token: Option<String>) -> SleutelView {
        SleutelView {
            id: s.id.clone(),
            organisatie: s.organisatie.clone(),
            rollen: s.rollen.clone(),
            aangemaakt: s.aangemaakt.to_string(),
            verloopt: s.verloopt.map(|m| m.to_string()),
            ingetrokken: s.ingetrokken.map(|m| m.to_string()),
            token,
        }
    }
}

/// An organisation as listed.
#[derive(serde::Serialize)]
pub struct OrganisatieView {
    pub id: String,
    pub naam: String,
    pub gemeenten: Vec<String>,
    pub oin: Option<String>,
    pub rollen_bij_certificaat: Vec<Rol>,
    pub aangemaakt: String,
    pub benchmark: bool,
}

impl OrganisatieView {
    pub fn of(o: &Organisatie) -> OrganisatieView {
        OrganisatieView {
            id: o.id.clone(),
            naam: o.naam.clone(),
            gemeenten: o.gemeenten.clone(),
            oin: o.oin.clone(),
            rollen_bij_certificaat: o.rollen_bij_certificaat.clone(),
            aangemaakt: o.aangemaakt.to_string(),
            benchmark: o.benchmark,
        }
    }
}

/// An audit entry as shown.
#[derive(serde::Serialize)]
pub struct AuditView<'a> {
    pub tijdstip: String,
    pub organisatie: Option<&'a str>,
    pub sleutel: Option<&'a str>,
    pub methode: &'a str,
    pub route: &'a str,
    pub berichten: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gemeente: Option<&'a str>,
    pub bsn_hashes: &'a [String],
    pub status: u16,
}

impl<'a> AuditView<'a> {
    pub fn of(e: &'a AuditEntry) -> AuditView<'a> {
        AuditView {
            tijdstip: e.tijdstip.to_string(),
            organisatie: e.organisatie.as_deref(),
            sleutel: e.sleutel.as_deref(),
            methode: &e.methode,
            route: &e.route,
            berichten: &e.berichten,
            gemeente: e.gemeente.as_deref(),
            bsn_hashes: &e.bsn_hashes,
            status: e.status,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_was_read_before_a_change_is_not_cached_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::open(&crate::store::Config::sled(dir.path())).unwrap();
        let auth = Auth::new(store.auth).unwrap();
        let principal = Principal {
            organisatie: "o".into(),
            sleutel: "certificaat:1".into(),
            rollen: vec![Rol::Afnemen],
            gemeenten: vec!["0363".into()],
            oin: None,
            namens: vec![],
        };
        let before = auth.known().generation;
        // A revocation (or any change) lands between the read and the cache.
        auth.forget();
        auth.remember(before, |k| {
            k.oins.insert("1".into(), principal.clone());
        });
        assert!(auth.known().oins.is_empty());
        let now = auth.known().generation;
        auth.remember(now, |k| {
            k.oins.insert("1".into(), principal.clone());
        });
        assert_eq!(auth.known().oins.get("1"), Some(&principal));
    }
}
