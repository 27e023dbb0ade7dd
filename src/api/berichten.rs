//! `/api/v1/berichten`: sending in messages, trial validation, and reading
//! one stored message back.

use super::extract::{Caller, Path, Query, XmlBody};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::guard::{not_your_gemeente, AuditSink};
use super::{blocking, ApiError, AppState};
use crate::auth::Principal;
use crate::diagnostics::{Code, Melding};
use crate::domain::Document;
use crate::history;
use crate::replies::{self, XML};
use crate::store::{Draft, Incoming, Outcome, Sender};
use crate::validate::Rejection;

/// Runs the validation pipeline, counting rejections by code.
/// Returns the typed message, its warnings and where its root element
/// stands in the bytes.
fn check(
    state: &AppState,
    bytes: &[u8],
) -> Result<(Document, Vec<Melding>, std::ops::Range<usize>), ApiError> {
    let refuse = |rejection: Rejection, id: Option<String>| {
        for e in &rejection.errors {
            state.metrics.rejected(e.code.as_str());
        }
        ApiError::rejected(rejection, id)
    };
    let tree = crate::validate_schema(bytes).map_err(|r| refuse(r, None))?;
    let id = tree
        .root()
        .child("Envelop")
        .and_then(|e| e.child_value("BerichtId"))
        .map(str::to_string);
    let (document, warnings) =
        Document::from_valid(&tree).map_err(|errors| refuse(Rejection { errors }, id))?;
    Ok((document, warnings, tree.root_span()))
}

/// Runs [`check`] on the blocking pool, at most one body per core at a
/// time; callers beyond that wait (asynchronously) for a permit.
async fn off_the_workers(
    state: &AppState,
    bytes: Bytes,
) -> Result<(Document, Vec<Melding>, std::ops::Range<usize>), ApiError> {
    let _permit = state
        .cpu
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::unavailable("the service is shutting down"))?;
    let state = state.clone();
    tokio::task::spawn_blocking(move || check(&state, &bytes))
        .await
        .map_err(|e| ApiError::unavailable(format!("validation task failed: {e}")))?
}

/// A message read from a request and through the pipeline.
struct Received {
    bytes: Bytes,
    document: Document,
    warnings: Vec<Melding>,
    wortel: std::ops::Range<usize>,
    id: Option<String>,
}

/// The shared first half of both POST handlers.
async fn receive(
    state: &AppState,
    principal: &Principal,
    sink: &AuditSink,
    bytes: Bytes,
) -> Result<Received, ApiError> {
    let (document, warnings, wortel) = off_the_workers(state, bytes.clone()).await?;
    let id = document.bericht_id().map(|b| b.as_str().to_string());
    // Who may send this: checked after validation, before storing.
    if let Some(id) = &id {
        sink.bericht(id);
    }
    if let Some(bsn) = document.bsn() {
        sink.bsn(bsn.as_str());
    }
    if let Some(g) = document.gemeente() {
        sink.gemeente(g.as_str());
    }
    // Replies name no municipality: the store refuses them as such.
    if let Some(g) = document.gemeente().filter(|g| !principal.voor(g.as_str())) {
        return Err(not_your_gemeente(g.as_str()).with_id(id));
    }
    if let Some(oin) = document.envelop().and_then(|e| e.afzender.oin.clone()) {
        check_oin(state, principal, oin)
            .await
            .map_err(|e| e.with_id(id.clone()))?;
    }
    Ok(Received {
        bytes,
        document,
        warnings,
        wortel,
        id,
    })
}

/// `Afzender/Oin` must be the sending organisation's own OIN: when it has
/// one registered, exactly that; when not, none registered to another.
async fn check_oin(state: &AppState, principal: &Principal, oin: String) -> Result<(), ApiError> {
    let refuse = |why: String| {
        state.metrics.rejected(Code::AuthAfzender.as_str());
        ApiError::new(StatusCode::FORBIDDEN, Code::AuthAfzender, why)
    };
    match &principal.oin {
        Some(own) if *own == oin => Ok(()),
        Some(own) => Err(refuse(format!(
            "Afzender/Oin {oin} is not the OIN of organisation {} ({own}), whose credential sent this",
            principal.organisatie
        ))),
        None => {
            let auth = state.auth.clone();
            let claimed = oin.clone();
            match blocking(move || auth.oin_owner(&claimed)).await? {
                Some(other) if other != principal.organisatie => Err(refuse(format!(
                    "Afzender/Oin {oin} is registered to another organisation than {}, whose credential sent this",
                    principal.organisatie
                ))),
                _ => Ok(()),
            }
        }
    }
}

/// The warning that another organisation measured the same client in the
/// same municipality within `days` of this measurement; it names no
/// organisation. Reads the client's stored history.
async fn other_organisation(
    state: &AppState,
    principal: &Principal,
    document: &Document,
) -> Result<Option<Melding>, ApiError> {
    let days = i64::from(state.signaal_periode);
    // A Correctie changes a measurement already known; only a new Meting
    // starts following a client.
    let Document::Meting(meting) = document else {
        return Ok(None);
    };
    let (gegevens, gemeente) = (&meting.gegevens, &meting.envelop.gemeente);
    if days == 0 {
        return Ok(None);
    }
    let Some(day) = crate::time::day_number(&gegevens.werkproces.meetdatum.to_string()) else {
        return Ok(None);
    };
    let (store, bsn, gemeente) = (
        state.store.clone(),
        gegevens.client.bsn.as_str().to_string(),
        gemeente.as_str().to_string(),
    );
    let own = principal.organisatie.clone();
    let found = blocking(move || {
        let client = store.client(&bsn)?;
        let holds = history::statuses(&client, None);
        Ok(client.iter().any(|s| {
            let r = &s.record;
            r.gemeente == gemeente
                && !r.organisatie.is_empty()
                && r.organisatie != own
                && holds.get(&r.volgnummer) == Some(&history::Status::Geldig)
                && r.meting
                    .as_ref()
                    .and_then(|m| crate::time::day_number(&m.meetdatum))
                    .is_some_and(|d| (d - day).abs() <= days)
        }))
    })
    .await?;
    Ok(found.then(|| {
        Melding::new(
            Code::SignaalAndereOrganisatie,
            format!("another organisation measured this client in municipality {} within {days} days of this measurement; one client should be followed by one organisation", document.gemeente().map_or("", |g| g.as_str())),
        )
    }))
}

fn xml(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, XML)], body).into_response()
}

/// `POST /api/v1/berichten`: accept a message. The answer carries the
/// store's [`crate::store::Commit`]: the guard releases it only once that is durable.
pub async fn ontvang(
    State(state): State<AppState>,
    Caller(principal): Caller,
    sink: AuditSink,
    XmlBody(bytes): XmlBody,
) -> Result<Response, ApiError> {
    let Received {
        bytes,
        document,
        warnings,
        wortel,
        id,
    } = receive(&state, &principal, &sink, bytes).await?;
    let mut warnings = warnings;
    warnings.extend(other_organisation(&state, &principal, &document).await?);
    let sender = Sender {
        organisatie: principal.organisatie.clone(),
        sleutel: principal.sleutel.clone(),
        namens: document
            .gemeente()
            .map(|g| principal.namens_in(g.as_str()))
            .unwrap_or_default(),
    };
    let incoming = Incoming {
        raw: bytes.to_vec(),
        document,
        warnings,
        wortel,
        sender,
    };
    let decision = state.store.accept(incoming).await;
    let mut response = match decision.result {
        Ok(outcome) => acknowledgement(&state, outcome),
        Err(e) => {
            let e = ApiError::from(e).with_id(id);
            for m in &e.errors {
                state.metrics.rejected(m.code.as_str());
            }
            e.into_response()
        }
    };
    if let Some(commit) = decision.commit {
        response.extensions_mut().insert(commit);
    }
    Ok(response)
}

fn acknowledgement(state: &AppState, outcome: Outcome) -> Response {
    let (status, receipt, repeat) = match outcome {
        Outcome::Accepted(r) => {
            state.metrics.accepted();
            (StatusCode::CREATED, r, false)
        }
        Outcome::Repeat(r) => {
            state.metrics.repeated();
            (StatusCode::OK, r, true)
        }
    };
    let mut response = xml(status, replies::ontvangstbevestiging(&receipt, repeat));
    if let Ok(location) =
        HeaderValue::from_str(&format!("/api/v1/berichten/{}", receipt.bericht_id))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `POST /api/v1/berichten/_valideer`: the same checks, nothing stored.
pub async fn valideer(
    State(state): State<AppState>,
    Caller(principal): Caller,
    sink: AuditSink,
    XmlBody(bytes): XmlBody,
) -> Result<Response, ApiError> {
    let r = receive(&state, &principal, &sink, bytes).await?;
    // The store's own check decides what may be sent in.
    let soort = Draft::of(&r.document, &r.warnings, r.wortel)
        .map_err(|e| ApiError::from(e).with_id(r.id.clone()))?
        .soort;
    let (id, warnings) = (r.id.unwrap_or_default(), r.warnings);
    Ok(xml(
        StatusCode::OK,
        replies::validatieresultaat(&id, soort, &warnings),
    ))
}

#[derive(serde::Deserialize)]
pub struct BerichtParams {
    /// The sending organisation, when several sent a message with this id.
    afzender: Option<String>,
}

/// `GET /api/v1/berichten/{id}`: the message exactly as received; its
/// number, received-at moment, status and sender in `Ladderpost-*`
/// headers. Ids are unique per sender: of the messages with this id that
/// the caller may see, its own organisation's, else the only one, else the
/// one `?afzender=` names.
pub async fn bericht(
    State(state): State<AppState>,
    Caller(principal): Caller,
    sink: AuditSink,
    Path(id): Path<String>,
    Query(params): Query<BerichtParams>,
) -> Result<Response, ApiError> {
    // The id asked for is already in the audit sink: the guard notes it
    // from the path (`guard::asked_for`), whatever the answer.
    let store = state.store.clone();
    let lookup = id.clone();
    let caller = principal.clone();
    let found = blocking(move || {
        // Another municipality's message is answered exactly like an
        // unknown one: no hint that it exists.
        let mut visible: Vec<_> = store
            .messages(&lookup)?
            .into_iter()
            .filter(|s| caller.voor(&s.record.gemeente))
            .filter(|s| {
                params
                    .afzender
                    .as_ref()
                    .is_none_or(|a| *a == s.record.organisatie)
            })
            .collect();
        if visible.len() > 1 {
            let own: Vec<_> = visible
                .iter()
                .filter(|s| s.record.organisatie == caller.organisatie)
                .cloned()
                .collect();
            if own.len() == 1 {
                visible = own;
            }
        }
        let stored = match visible.len() {
            0 => return Ok(Err(Vec::new())),
            1 => visible.remove(0),
            _ => {
                return Ok(Err(visible
                    .into_iter()
                    .map(|s| s.record.organisatie)
                    .collect()))
            }
        };
        let client = store.client(&stored.record.bsn)?;
        let status = history::statuses(&client, None).remove(&stored.record.volgnummer);
        Ok(Ok((stored, status)))
    })
    .await?;
    let (stored, status) = match found {
        Ok(found) => found,
        Err(senders) if senders.is_empty() => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                Code::BerichtOnbekend,
                format!("no message with id {id} is known"),
            ))
        }
        Err(senders) => {
            return Err(ApiError::parameter(format!(
                "organisations {} each sent a message with id {id}; name one with ?afzender=",
                senders.join(", ")
            )))
        }
    };
    sink.bsn(&stored.record.bsn);
    let r = &stored.record;
    let mut response = xml(StatusCode::OK, stored.raw.clone());
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("ladderpost-soort", r.soort.as_str().to_string());
    set("ladderpost-volgnummer", r.volgnummer.to_string());
    set("ladderpost-ontvangen", r.ontvangen.to_string());
    if !r.organisatie.is_empty() {
        set("ladderpost-organisatie", r.organisatie.clone());
    }
    if let Some(status) = status {
        set("ladderpost-status", status.as_str().to_string());
        if let Some(door) = status.door() {
            set("ladderpost-vervallen-door", door.to_string());
        }
    }
    Ok(response)
}
