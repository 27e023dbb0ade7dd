//! Copying a whole store into another, through the traits only: for
//! `ladderpost migrate` (sled to PostgreSQL, or back) and `ladderpost
//! backup` (sled to a new sled directory). Then a check that the copy holds
//! exactly what the source holds.
//!
//! Everything is copied: organisations, credentials, authorisations, the
//! BSN salt and whether the service has started; subscriptions with their
//! delivery state and dead letters; every message with its number, record
//! and bytes; the audit log with its moments. Configuration first and
//! messages after, so that no delivery cursor in the copy points past its
//! messages. Run again after an interruption, it goes on where it stopped
//! (messages continue from the copy's last number; the rest is idempotent).

use super::auth::AuditQuery;
use super::{Opened, StoreError, Stored};

/// Messages per restored batch.
const BATCH: usize = 1000;

/// What a copy held, once checked.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Copied {
    pub berichten: u64,
    pub organisaties: usize,
    pub sleutels: usize,
    pub machtigingen: usize,
    pub abonnementen: usize,
    pub dode_brieven: usize,
    pub audit: usize,
}

impl std::fmt::Display for Copied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} messages, {} organisations, {} credentials, {} authorisations, \
             {} subscriptions ({} dead letters), {} audit entries",
            self.berichten,
            self.organisaties,
            self.sleutels,
            self.machtigingen,
            self.abonnementen,
            self.dode_brieven,
            self.audit
        )
    }
}

fn everything() -> AuditQuery {
    AuditQuery {
        limit: usize::MAX,
        ..AuditQuery::default()
    }
}

/// Copies `from` into `to` (which should be new and not serving);
/// `progress` hears the number of messages copied so far. Of a source that
/// is serving (`live`), the messages up to the count it has once its
/// configuration and delivery states are copied — so no cursor in the copy
/// points past its messages; otherwise all. Returns the last number
/// copied.
pub async fn copy(
    from: &Opened,
    to: &Opened,
    live: bool,
    mut progress: impl FnMut(u64),
) -> Result<u64, StoreError> {
    // Who may do what, and the salt the audit log's BSN hashes depend on.
    to.auth.restore_salt(&from.auth.bsn_salt()?)?;
    for o in from.auth.organisations()? {
        to.auth.add_organisation(&o)?;
    }
    for s in from.auth.credentials()? {
        to.auth.add_credential(&s)?;
    }
    for m in from.auth.authorisations()? {
        to.auth.add_authorisation(&m)?;
    }
    if from.auth.started()? {
        // The copy must not hand out a second beheer token.
        to.auth.first_start()?;
    }
    for a in from.delivery.subscriptions()? {
        to.delivery.add_subscription(&a)?;
        to.delivery
            .save_delivery_state(&a.id, &from.delivery.delivery_state(&a.id)?)?;
        for d in from.delivery.dead_letters(&a.id)? {
            to.delivery.add_dead_letter(&a.id, &d)?;
        }
    }
    // The messages, continuing from what the copy has.
    let upto = if live {
        Some(from.messages.count()?)
    } else {
        None
    };
    let mut after = to.messages.count()?;
    loop {
        let limit = upto.map_or(BATCH, |u| left(u, after));
        if limit == 0 {
            break;
        }
        let batch: Vec<Stored> = from.messages.all(after, limit)?;
        let Some(last) = batch.last().map(|s| s.record.volgnummer) else {
            break;
        };
        to.messages.restore(batch).await?;
        after = last;
        progress(after);
    }
    to.auth.restore_audit(&from.auth.audit(&everything())?)?;
    Ok(after)
}

/// Opens both stores, copies `from` into `to`, checks the copy, closes
/// both: `ladderpost migrate` and `ladderpost backup`. Both must be
/// stopped (the embedded engine refuses a store that is open elsewhere).
pub fn migrate(
    from: &super::Config,
    to: &super::Config,
    progress: impl FnMut(u64),
) -> Result<Copied, String> {
    if from == to {
        return Err("--from and --to name the same store".into());
    }
    let open = |c: &super::Config| {
        super::open(c).map_err(|e| format!("cannot open the store {}: {e}", c.engine))
    };
    let source = open(from)?;
    let copy_to = open(to)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime
        .block_on(copy(&source, &copy_to, false, progress))
        .map_err(|e| format!("copying failed (run it again to go on): {e}"))?;
    let checked = verify(&source, &copy_to, None)?;
    for store in [&source, &copy_to] {
        store.messages.close().map_err(|e| e.to_string())?;
    }
    Ok(checked)
}

/// A batch's size when `upto` is the last number to copy.
fn left(upto: u64, after: u64) -> usize {
    usize::try_from(upto.saturating_sub(after)).map_or(BATCH, |n| n.min(BATCH))
}

/// Compares the copy with its source, item by item; what differs first, or
/// what both hold. A source that kept serving meanwhile (`upto`: the
/// count the copy took) is compared up to that: its messages up to `upto`,
/// its audit log as far as the copy's goes, and not the delivery states,
/// which move with every delivery.
pub fn verify(from: &Opened, to: &Opened, upto: Option<u64>) -> Result<Copied, String> {
    let e = |e: StoreError| e.to_string();
    let same = |what: &str, equal: bool| -> Result<(), String> {
        if equal {
            Ok(())
        } else {
            Err(format!("the copy's {what} differ from the source's"))
        }
    };
    same(
        "start marks",
        from.auth.started().map_err(e)? == to.auth.started().map_err(e)?,
    )?;
    same(
        "BSN salts",
        from.auth.bsn_salt().map_err(e)? == to.auth.bsn_salt().map_err(e)?,
    )?;
    let organisaties = from.auth.organisations().map_err(e)?;
    same(
        "organisations",
        organisaties == to.auth.organisations().map_err(e)?,
    )?;
    let sleutels = from.auth.credentials().map_err(e)?;
    same("credentials", sleutels == to.auth.credentials().map_err(e)?)?;
    let machtigingen = from.auth.authorisations().map_err(e)?;
    same(
        "authorisations",
        machtigingen == to.auth.authorisations().map_err(e)?,
    )?;
    let abonnementen = from.delivery.subscriptions().map_err(e)?;
    same(
        "subscriptions",
        abonnementen == to.delivery.subscriptions().map_err(e)?,
    )?;
    let mut dode_brieven = 0;
    for a in &abonnementen {
        if upto.is_none() {
            same(
                "delivery states",
                from.delivery.delivery_state(&a.id).map_err(e)?
                    == to.delivery.delivery_state(&a.id).map_err(e)?,
            )?;
        }
        let dead = from.delivery.dead_letters(&a.id).map_err(e)?;
        same(
            "dead letters",
            dead == to.delivery.dead_letters(&a.id).map_err(e)?,
        )?;
        dode_brieven += dead.len();
    }
    let berichten = match upto {
        Some(u) => u,
        None => from.messages.count().map_err(e)?,
    };
    same(
        "message counts",
        berichten == to.messages.count().map_err(e)?,
    )?;
    let mut after = 0;
    loop {
        let limit = left(berichten, after);
        let ours = from.messages.all(after, limit).map_err(e)?;
        let theirs = to.messages.all(after, limit).map_err(e)?;
        if ours.len() != theirs.len() {
            return Err(format!("the copy lacks messages after {after}"));
        }
        for (a, b) in ours.iter().zip(&theirs) {
            if a.raw != b.raw || a.record != b.record {
                return Err(format!(
                    "message {} differs in the copy",
                    a.record.volgnummer
                ));
            }
        }
        match ours.last() {
            Some(s) if limit > 0 => after = s.record.volgnummer,
            _ => break,
        }
    }
    if upto.is_none() {
        // The reports' timelines, written beside the copied messages.
        let mut differs = None;
        from.messages
            .tijdlijnen(None, &mut |t| {
                if differs.is_none()
                    && to.messages.tijdlijn(t.bsn).ok().flatten() != Some(t.to_tijdlijn())
                {
                    differs = Some(());
                }
            })
            .map_err(e)?;
        same("client timelines", differs.is_none())?;
    }
    let mut audit = from.auth.audit(&everything()).map_err(e)?;
    let copied = to.auth.audit(&everything()).map_err(e)?;
    if upto.is_some() {
        audit.truncate(copied.len());
    }
    same("audit logs", audit == copied)?;
    Ok(Copied {
        berichten,
        organisaties: organisaties.len(),
        sleutels: sleutels.len(),
        machtigingen: machtigingen.len(),
        abonnementen: abonnementen.len(),
        dode_brieven,
        audit: audit.len(),
    })
}
