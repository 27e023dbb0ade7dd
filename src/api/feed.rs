//! `GET /api/v1/feed`: one municipality's accepted messages in acceptance
//! order, page by page, with long polling.

use super::extract::{Caller, Query};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::guard::{not_your_gemeente, AuditSink};
use super::{blocking, lezer, ApiError, AppState};
use crate::domain::Gemeentecode;
use crate::replies::{self, XML};

/// Most items on one page, and the longest long poll.
pub const MAX_LIMIT: usize = 1000;
pub const MAX_WACHT: u64 = 60;

#[derive(Deserialize)]
pub struct Params {
    gemeente: Option<String>,
    na: Option<String>,
    limit: Option<String>,
    wacht: Option<String>,
    versie: Option<String>,
    weglaten: Option<String>,
}

fn number<T: std::str::FromStr>(
    value: Option<&str>,
    name: &str,
    default: T,
) -> Result<T, ApiError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::parameter(format!("{name} must be a whole number"))),
    }
}

/// `gemeente` (required), `na` (cursor: the last Volgnummer seen, default
/// 0), `limit` (1-1000, default 100), `wacht` (seconds to wait for new
/// messages when there are none, 0-60, default 0), `versie` (the schema
/// version the reader understands, default the latest), `weglaten` (the
/// optional parts it leaves out, comma-separated).
pub async fn feed(
    State(state): State<AppState>,
    Caller(principal): Caller,
    sink: AuditSink,
    Query(p): Query<Params>,
) -> Result<Response, ApiError> {
    let gemeente = p
        .gemeente
        .as_deref()
        .ok_or_else(|| ApiError::parameter("gemeente (a CBS code) is required"))?;
    let gemeente = Gemeentecode::parse(gemeente)
        .map_err(|_| ApiError::parameter("gemeente must be a CBS code of four digits"))?;
    sink.gemeente(gemeente.as_str());
    if !principal.voor(gemeente.as_str()) {
        return Err(not_your_gemeente(gemeente.as_str()));
    }
    let na: u64 = number(p.na.as_deref(), "na", 0)?;
    let limit: usize = number(p.limit.as_deref(), "limit", 100)?;
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::parameter(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    let lezer = lezer(p.versie.as_deref(), p.weglaten.as_deref())?;
    let wacht: u64 = number(p.wacht.as_deref(), "wacht", 0)?;
    if wacht > MAX_WACHT {
        return Err(ApiError::parameter(format!(
            "wacht must be 0 to {MAX_WACHT} seconds"
        )));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wacht);
    // Subscribe before reading, so nothing accepted in between is missed.
    let mut changes = state.store.changes();
    let items = loop {
        changes.borrow_and_update();
        let store = state.store.clone();
        let code = gemeente.as_str().to_string();
        let items = blocking(move || store.feed(&code, na, limit)).await?;
        if !items.is_empty() || wacht == 0 {
            break items;
        }
        let mut closing = state.closing.clone();
        if *closing.borrow_and_update() {
            break items;
        }
        tokio::select! {
            changed = tokio::time::timeout_at(deadline, changes.changed()) => match changed {
                Ok(Ok(())) => continue,
                // Deadline, or the store is closing: answer with what there is.
                _ => break items,
            },
            // The service is shutting down: answer now.
            _ = closing.changed() => break items,
        }
    };
    for s in &items {
        sink.bericht(&s.record.bericht_id);
        sink.bsn(&s.record.bsn);
    }
    let cursor = items.last().map_or(na, |s| s.record.volgnummer);
    let body = replies::berichtenfeed(gemeente.as_str(), cursor, &items, &lezer);
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, XML)], body).into_response())
}
