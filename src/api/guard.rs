//! Authentication, authorisation by role, and the audit log, for every
//! route but the public ones (`/health`, `/metrics`, `/api/v1/schema*`).
//!
//! A request carries a bearer token (`Authorization: Bearer lp_…`) or, on
//! a mutual-TLS connection, a verified [`ClientCertificate`]; either gives
//! a [`Principal`], inserted into the request's extensions. The role a
//! route needs, as its [`super::Policy`] declares, is checked here; the
//! municipality a request concerns is checked by its handler, which also notes the message ids and BSNs it
//! touched in the request's [`AuditSink`]. Requests that post or read
//! personal data are written to the audit log, refused ones included, and
//! no answer leaves before its audit entry, and the store decision it
//! rests on ([`Commit`]), are durable.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::limits::{self, RateLimited};
use super::{ApiError, AppState};
use crate::auth::{ClientCertificate, Principal};
use crate::diagnostics::Code;
use crate::store::auth::AuditEntry;
use crate::store::Commit;
use crate::time::Moment;

/// What a request touched, for its audit entry (plain BSNs, request-scoped
/// only: they are hashed before anything is written).
#[derive(Clone, Default)]
pub struct AuditSink(Arc<Mutex<Touched>>);

#[derive(Default)]
struct Touched {
    berichten: Vec<String>,
    gemeente: Option<String>,
    bsns: Vec<String>,
}

impl AuditSink {
    pub fn bericht(&self, id: &str) {
        if let Ok(mut t) = self.0.lock() {
            if !t.berichten.iter().any(|b| b == id) {
                t.berichten.push(id.to_string());
            }
        }
    }

    pub fn gemeente(&self, gemeente: &str) {
        if let Ok(mut t) = self.0.lock() {
            t.gemeente = Some(gemeente.to_string());
        }
    }

    pub fn bsn(&self, bsn: &str) {
        if let Ok(mut t) = self.0.lock() {
            if !t.bsns.iter().any(|b| b == bsn) {
                t.bsns.push(bsn.to_string());
            }
        }
    }
}

/// Notes the message id or BSN in the path, so that a request refused
/// before its handler (401, 403, 429) is audited with what it asked for.
/// Only well-formed ones: anything else names nothing.
fn asked_for(sink: &AuditSink, route: &str, path: &str) {
    for (template, value) in route.split('/').zip(path.split('/')) {
        match template {
            "{bsn}" if crate::domain::Bsn::parse(value).is_ok() => sink.bsn(value),
            "{id}"
                if route.starts_with("/api/v1/berichten")
                    && crate::domain::ids::BerichtId::parse(value).is_ok() =>
            {
                sink.bericht(value)
            }
            _ => {}
        }
    }
}

pub fn not_signed_in() -> Response {
    let mut r = ApiError::new(
        StatusCode::UNAUTHORIZED,
        Code::AuthNietAangemeld,
        "a valid credential is required: send Authorization: Bearer <token>",
    )
    .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"ladderpost\""),
    );
    r
}

/// 403, naming the rule that refused (a role, a municipality, an
/// organisation), never anything about the data asked for.
pub fn no_access(rule: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, Code::AuthGeenToegang, rule)
}

/// The 403 of a municipality the credential does not act for.
pub fn not_your_gemeente(gemeente: &str) -> ApiError {
    no_access(format!(
        "this credential's organisation does not act for municipality {gemeente}"
    ))
}

fn principal(state: &AppState, request: &Request) -> Result<Option<Principal>, ApiError> {
    let auth = state.auth.clone();
    if let Some(value) = request.headers().get(header::AUTHORIZATION) {
        let Some(token) = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(|t| t.trim().to_string())
        else {
            return Ok(None);
        };
        return auth.bearer(&token).map_err(ApiError::from);
    }
    if let Some(cert) = request.extensions().get::<ClientCertificate>() {
        return auth.certificate(&cert.oin).map_err(ApiError::from);
    }
    Ok(None)
}

/// The outer middleware, on every request: when the request carries a
/// valid credential, its [`Principal`] goes into the extensions (for
/// [`guard`]); then the rate limit by credential (or address).
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Every answer of a JSON route, refusals of the layers included, is
    // JSON: its errors become problem+json here, outermost.
    if crate::http_error::json_route(request.uri().path()) {
        crate::http_error::as_problem(signed_in(&state, request, next).await)
    } else if super::dashboard::is_dashboard(request.uri().path()) {
        super::dashboard::finish(signed_in(&state, request, next).await)
    } else {
        signed_in(&state, request, next).await
    }
}

async fn signed_in(state: &AppState, mut request: Request, next: Next) -> Response {
    match principal(state, &request) {
        Ok(Some(p)) => {
            request.extensions_mut().insert(p);
        }
        Ok(None) => {
            // A spoofed extension never survives: only this layer sets it.
            request.extensions_mut().remove::<Principal>();
            request
                .extensions_mut()
                .remove::<super::dashboard::Sessie>();
            // A dashboard page may be signed in by its session cookie
            // instead, when no other credential is presented.
            let other = request.headers().contains_key(header::AUTHORIZATION)
                || request.extensions().get::<ClientCertificate>().is_some();
            if !other {
                match super::dashboard::session_principal(state, &request) {
                    Ok(Some((p, sessie))) => {
                        request.extensions_mut().insert(p);
                        request.extensions_mut().insert(sessie);
                    }
                    Ok(None) => {}
                    Err(e) => return e.into_response(),
                }
            }
        }
        Err(e) => return e.into_response(),
    }
    // Answered by the route's guard (audited, logged, counted), or by the
    // fallback for unknown routes.
    if let Some(refused) = limits::rate_limit(&state.limiter, &request) {
        request.extensions_mut().insert(refused);
    }
    next.run(request).await
}

/// The inner middleware, per route: refuses requests without a principal
/// (401) or without the route's role (403), writes the audit entry, and
/// counts the request in the metrics and the log, by route template
/// (URIs can hold BSNs, templates cannot).
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(String::new, |p| p.as_str().to_string());
    let method = request.method().clone();
    let response = authorised(&state, &method, &route, request, next).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state
        .metrics
        .request(method.as_str(), &route, status, elapsed);
    tracing::info!(
        method = %method,
        route = %route,
        status,
        micros = elapsed.as_micros() as u64,
        "request"
    );
    response
}

async fn authorised(
    state: &AppState,
    method: &Method,
    route: &str,
    mut request: Request,
    next: Next,
) -> Response {
    let principal = request.extensions().get::<Principal>().cloned();
    let sink = AuditSink::default();
    // Every route declares its policy (`api::routes`); one that did not
    // would be refused, never served unchecked.
    let Some(policy) = super::policy(method, route) else {
        tracing::error!(%method, route, "route without a policy");
        return no_access("this route declares no policy").into_response();
    };
    if policy.audited {
        asked_for(&sink, route, request.uri().path());
    }
    let limited = request.extensions().get::<RateLimited>().copied();
    let response = match (limited, policy.rol, &principal) {
        (Some(limited), _, _) => limited.response(),
        (None, None, _) => next.run(request).await,
        // A browser without a session goes to the login form.
        (None, Some(_), None) if super::dashboard::is_dashboard(route) => {
            super::dashboard::to_login()
        }
        (None, Some(_), None) => not_signed_in(),
        (None, Some(rol), Some(p)) if !p.heeft(rol) => no_access(format!(
            "this route needs the {} role, which this credential does not have",
            rol.as_str()
        ))
        .into_response(),
        (None, Some(_), Some(_)) => {
            request.extensions_mut().insert(sink.clone());
            next.run(request).await
        }
    };
    let entry = policy.audited.then(|| {
        let (berichten, gemeente, bsns) = match sink.0.lock() {
            Ok(mut t) => (
                std::mem::take(&mut t.berichten),
                t.gemeente.take(),
                std::mem::take(&mut t.bsns),
            ),
            Err(_) => (Vec::new(), None, Vec::new()),
        };
        AuditEntry {
            // The store replaces it with the moment it records the entry.
            tijdstip: Moment::now(),
            organisatie: principal.as_ref().map(|p| p.organisatie.clone()),
            sleutel: principal.as_ref().map(|p| p.sleutel.clone()),
            methode: method.as_str().to_string(),
            route: route.to_string(),
            berichten,
            gemeente,
            bsn_hashes: bsns.iter().map(|b| state.auth.bsn_hash(b)).collect(),
            status: response.status().as_u16(),
        }
    });
    // Every processing of personal data is accounted for before its answer
    // leaves (no answer without a durable audit entry), and an answer that
    // rests on a store decision waits until that decision is durable. The
    // audit entry is written after the decision, so the sync that makes it
    // durable covers the decision too: the second wait is then over at once.
    let recorded = match entry {
        Some(entry) => state.auth.audit(entry).await,
        None => true,
    };
    let durable = match response.extensions().get::<Commit>() {
        Some(&commit) => state.store.durable(commit).await,
        None => Ok(()),
    };
    if !recorded {
        return ApiError::unavailable(
            "the audit log cannot be written; nothing is answered without it",
        )
        .into_response();
    }
    if let Err(e) = durable {
        return ApiError::from(e).into_response();
    }
    response
}
