//! `/api/v1/clienten/{bsn}/metingen`: a client's measurement history.

use super::extract::{Caller, Path, Query};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::guard::AuditSink;
use super::{blocking, ApiError, AppState};
use crate::domain::Bsn;
use crate::history;
use crate::replies::{self, XML};
use crate::time::Moment;

#[derive(Deserialize)]
pub struct Params {
    peilmoment: Option<String>,
    #[serde(rename = "inclusiefVervallen")]
    inclusief_vervallen: Option<String>,
    versie: Option<String>,
    weglaten: Option<String>,
}

/// The current measurements in date order; `peilmoment` gives the history
/// as known at that moment, `inclusiefVervallen=true` adds superseded and
/// withdrawn versions, `versie` the schema version the reader understands
/// (default the latest), `weglaten` the optional parts it leaves out.
pub async fn metingen(
    State(state): State<AppState>,
    Caller(principal): Caller,
    sink: AuditSink,
    Path(bsn): Path<String>,
    Query(params): Query<Params>,
) -> Result<Response, ApiError> {
    let bsn =
        Bsn::parse(&bsn).map_err(|_| ApiError::parameter("the path does not hold a valid BSN"))?;
    let peilmoment = match params.peilmoment.as_deref() {
        None => None,
        Some(p) => Some(Moment::parse(p).ok_or_else(|| {
            ApiError::parameter(
                "peilmoment must be a date and time with a time zone, e.g. 2026-01-31T12:00:00Z",
            )
        })?),
    };
    let inclusief = match params.inclusief_vervallen.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::parameter(
                "inclusiefVervallen must be true or false",
            ))
        }
    };
    let lezer = super::lezer(params.versie.as_deref(), params.weglaten.as_deref())?;
    let store = state.store.clone();
    let key = bsn.as_str().to_string();
    let client = blocking(move || store.client(&key)).await?;
    // Only its municipalities' messages: a client known elsewhere only
    // looks exactly like an unknown one.
    let client: Vec<_> = client
        .into_iter()
        .filter(|s| principal.voor(&s.record.gemeente))
        .collect();
    for s in &client {
        sink.bericht(&s.record.bericht_id);
    }
    let versies = history::metingen(&client, peilmoment, inclusief);
    let body = replies::meetgeschiedenis(bsn.as_str(), peilmoment, &versies, &lezer);
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, XML)], body).into_response())
}
