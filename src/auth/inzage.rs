//! `ladderpost admin inzage --bsn …`: everything ladderpost holds about one
//! person, for a data subject's request (AVG art. 15): the messages about
//! them as stored, each with its status in their history, and every
//! processing of them the audit log records (who, when, what, answered
//! how). The export is itself audited.
//!
//! The audit log holds BSNs only as salted hashes, so an entry is theirs
//! when it holds their hash or names one of their messages. An entry that
//! also touched others (a feed page) is shown with their hash and their
//! messages only: the export holds nothing of anyone else.

use std::collections::HashSet;

use serde::Serialize;

use super::token;
use crate::domain::Bsn;
use crate::history;
use crate::store::auth::{AuditEntry, AuditQuery};
use crate::store::{Opened, StoreError};
use crate::time::Moment;

/// The export, as written (JSON).
#[derive(Debug, Serialize)]
pub struct Inzage {
    pub bsn: String,
    pub gemaakt: Moment,
    pub berichten: Vec<Bericht>,
    /// In time order.
    pub verwerkingen: Vec<AuditEntry>,
}

/// One stored message about the person.
#[derive(Debug, Serialize)]
pub struct Bericht {
    pub volgnummer: u64,
    pub bericht_id: String,
    pub soort: &'static str,
    pub gemeente: String,
    /// The organisation that sent it (empty for records from before
    /// senders were kept).
    pub organisatie: String,
    pub ontvangen: Moment,
    /// In their history: `geldig`, `vervangen`, `ingetrokken`; absent for
    /// an Intrekking (it has no status of its own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vervallen_door: Option<String>,
    /// The message exactly as received.
    pub xml: String,
}

/// Collects the export for `bsn` and records it in the audit log.
pub fn inzage(store: &Opened, bsn: &Bsn) -> Result<Inzage, StoreError> {
    let client = store.messages.client(bsn.as_str())?;
    let statuses = history::statuses(&client, None);
    let berichten: Vec<Bericht> = client
        .iter()
        .map(|s| {
            let r = &s.record;
            let status = statuses.get(&r.volgnummer);
            Bericht {
                volgnummer: r.volgnummer,
                bericht_id: r.bericht_id.clone(),
                soort: r.soort.as_str(),
                gemeente: r.gemeente.clone(),
                organisatie: r.organisatie.clone(),
                ontvangen: r.ontvangen,
                status: status.map(history::Status::as_str),
                vervallen_door: status.and_then(|s| s.door()).map(str::to_string),
                xml: String::from_utf8_lossy(&s.raw).into_owned(),
            }
        })
        .collect();
    let hash = token::bsn_hash(&store.auth.bsn_salt()?, bsn.as_str());
    let ids: HashSet<&str> = berichten.iter().map(|b| b.bericht_id.as_str()).collect();
    let query = AuditQuery {
        limit: usize::MAX,
        ..AuditQuery::default()
    };
    let verwerkingen: Vec<AuditEntry> = store
        .auth
        .audit(&query)?
        .into_iter()
        .filter(|e| {
            e.bsn_hashes.contains(&hash) || e.berichten.iter().any(|b| ids.contains(b.as_str()))
        })
        .map(|mut e| {
            e.bsn_hashes.retain(|h| *h == hash);
            e.berichten.retain(|b| ids.contains(b.as_str()));
            e
        })
        .collect();
    let export = Inzage {
        bsn: bsn.as_str().to_string(),
        gemaakt: Moment::now(),
        berichten,
        verwerkingen,
    };
    let entry = AuditEntry {
        tijdstip: export.gemaakt,
        organisatie: None,
        sleutel: None,
        methode: "ADMIN".into(),
        route: "inzage".into(),
        berichten: export
            .berichten
            .iter()
            .map(|b| b.bericht_id.clone())
            .collect(),
        gemeente: None,
        bsn_hashes: vec![hash],
        status: 200,
    };
    let pending = store.auth.append_audit(entry);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
        .block_on(pending)?;
    Ok(export)
}
