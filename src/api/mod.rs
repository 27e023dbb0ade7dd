//! The HTTP API (axum): one module per resource, thin handlers, one error
//! type that renders as the schema's `Foutbericht`.
//!
//! Handlers never parse XML themselves (the validation pipeline does) and
//! never touch the storage engine directly (only the [`Store`] trait).

mod abonnementen;
mod beheer;
mod berichten;
mod clienten;
pub mod dashboard;
mod extract;
mod feed;
pub mod guard;
mod health;
pub mod limits;
mod rapportages;
mod schema;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::handler::Handler;
use axum::http::Method;
use axum::middleware;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

pub use crate::http_error::ApiError;

use crate::auth::Rol;
use crate::delivery::push::Dispatcher;
use crate::store::delivery::DeliveryStore;
use crate::store::Store;
use crate::telemetry::Metrics;

/// What every handler shares: one reference, cloned per request and per
/// layer (docs/performance.md).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> AppState {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub delivery: Arc<dyn DeliveryStore>,
    pub dispatcher: Arc<Dispatcher>,
    pub metrics: Arc<Metrics>,
    /// Largest request body accepted, in bytes.
    pub max_body: usize,
    /// Days within which another organisation's measurement of the same
    /// client is signalled (0: never).
    pub signaal_periode: u32,
    /// Benchmark cells with fewer clients than this are shown as `<n>`.
    pub drempel: u64,
    /// Becomes `true` when the service starts shutting down: long polls
    /// answer at once instead of holding the shutdown up.
    pub closing: tokio::sync::watch::Receiver<bool>,
    /// Authentication, credentials and the audit log.
    pub auth: Arc<crate::auth::Auth>,
    /// Token buckets per credential (or address).
    pub limiter: Arc<limits::RateLimiter>,
    /// Where `POST /api/v1/beheer/backups` writes its copies (`--backup-dir`);
    /// none: no online backups.
    pub backups: Option<std::path::PathBuf>,
    /// The dashboard's sessions, of this instance only.
    pub sessions: Arc<crate::dashboard::Sessions>,
    /// Permits for CPU-heavy reading and validation, one per core: such
    /// work runs on the blocking pool, so it can never hold up the async
    /// workers that answer `/health` and every other request.
    pub cpu: Arc<tokio::sync::Semaphore>,
    /// Permits for reports, fewer than the cores: a burst of reports
    /// leaves validation a core.
    pub rapporten: Arc<tokio::sync::Semaphore>,
}

/// Who may call a route, and whether its requests are written to the audit
/// log (every route that posts or reads personal data is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The role it needs; `None` for a public route.
    pub rol: Option<Rol>,
    pub audited: bool,
}

const PUBLIC: Policy = Policy {
    rol: None,
    audited: false,
};

const fn needs(rol: Rol) -> Policy {
    Policy {
        rol: Some(rol),
        audited: false,
    }
}

const fn personal(rol: Rol) -> Policy {
    Policy {
        rol: Some(rol),
        audited: true,
    }
}

/// A route that reads no personal data but is audited all the same.
const fn audited(rol: Rol) -> Policy {
    personal(rol)
}

/// One route: method, path template, handler, policy.
struct Route {
    method: Method,
    path: &'static str,
    handler: MethodRouter<AppState>,
    policy: Policy,
}

/// The method is given once: the handler is routed for exactly it.
fn route<H, T>(method: Method, path: &'static str, handler: H, policy: Policy) -> Route
where
    H: Handler<T, AppState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone())
        .unwrap_or_else(|_| unreachable!("the table names standard methods only"));
    Route {
        method,
        path,
        handler: on(filter, handler),
        policy,
    }
}

/// Every route of the service with its policy: reading this table tells
/// who may call what. The router and the guard are both made from it, so
/// no route can exist without one.
fn routes() -> Vec<Route> {
    use Method as M;
    use Rol::{Aanleveren, Afnemen, Beheer, Rapporteren};
    vec![
        route(
            M::POST,
            "/api/v1/berichten",
            berichten::ontvang,
            personal(Aanleveren),
        ),
        route(
            M::POST,
            "/api/v1/berichten/_valideer",
            berichten::valideer,
            personal(Aanleveren),
        ),
        route(
            M::GET,
            "/api/v1/berichten/{id}",
            berichten::bericht,
            personal(Afnemen),
        ),
        route(
            M::GET,
            "/api/v1/clienten/{bsn}/metingen",
            clienten::metingen,
            personal(Afnemen),
        ),
        route(M::GET, "/api/v1/feed", feed::feed, personal(Afnemen)),
        route(
            M::POST,
            "/api/v1/abonnementen",
            abonnementen::registreer,
            needs(Afnemen),
        ),
        route(
            M::GET,
            "/api/v1/abonnementen",
            abonnementen::lijst,
            needs(Afnemen),
        ),
        // A subscription's status lists its dead letters' message ids.
        route(
            M::GET,
            "/api/v1/abonnementen/{id}",
            abonnementen::status,
            personal(Afnemen),
        ),
        route(
            M::DELETE,
            "/api/v1/abonnementen/{id}",
            abonnementen::verwijder,
            needs(Afnemen),
        ),
        route(
            M::POST,
            "/api/v1/abonnementen/{id}/replay",
            abonnementen::replay,
            personal(Afnemen),
        ),
        // Aggregates, never personal data; audited like every read.
        route(
            M::GET,
            "/api/v1/rapportages/stand",
            rapportages::stand,
            audited(Rapporteren),
        ),
        route(
            M::GET,
            "/api/v1/rapportages/stromen",
            rapportages::stromen,
            audited(Rapporteren),
        ),
        route(
            M::GET,
            "/api/v1/rapportages/jaar",
            rapportages::jaar,
            audited(Rapporteren),
        ),
        route(
            M::GET,
            "/api/v1/rapportages/srg",
            rapportages::srg,
            audited(Rapporteren),
        ),
        route(
            M::GET,
            "/api/v1/rapportages/benchmark",
            rapportages::benchmark,
            audited(Rapporteren),
        ),
        route(
            M::GET,
            "/api/v1/werklijsten",
            rapportages::werklijsten,
            personal(Afnemen),
        ),
        route(M::GET, "/api/v1/schema", schema::lijst, PUBLIC),
        route(M::GET, "/api/v1/schema/{file}", schema::bestand, PUBLIC),
        route(
            M::GET,
            "/api/v1/beheer/organisaties",
            beheer::organisaties,
            needs(Beheer),
        ),
        route(
            M::POST,
            "/api/v1/beheer/organisaties",
            beheer::organisatie_toevoegen,
            needs(Beheer),
        ),
        route(
            M::PUT,
            "/api/v1/beheer/organisaties/{id}/benchmark",
            beheer::benchmark_deelname,
            // Whose figures others may see: a privacy officer asks who set it.
            audited(Beheer),
        ),
        route(
            M::GET,
            "/api/v1/beheer/sleutels",
            beheer::sleutels,
            needs(Beheer),
        ),
        route(
            M::POST,
            "/api/v1/beheer/sleutels",
            beheer::sleutel_maken,
            needs(Beheer),
        ),
        route(
            M::DELETE,
            "/api/v1/beheer/sleutels/{id}",
            beheer::sleutel_intrekken,
            needs(Beheer),
        ),
        route(
            M::GET,
            "/api/v1/beheer/machtigingen",
            beheer::machtigingen,
            needs(Beheer),
        ),
        route(
            M::POST,
            "/api/v1/beheer/machtigingen",
            beheer::machtiging_geven,
            needs(Beheer),
        ),
        route(
            M::DELETE,
            "/api/v1/beheer/machtigingen/{gemeente}/{aan}/{namens}",
            beheer::machtiging_intrekken,
            needs(Beheer),
        ),
        route(M::GET, "/api/v1/beheer/audit", beheer::audit, needs(Beheer)),
        // A backup copies every message: audited like any read of them.
        route(
            M::POST,
            "/api/v1/beheer/backups",
            beheer::backup,
            personal(Beheer),
        ),
        // The dashboard: its pages sign in by session cookie (see
        // api::dashboard); login, logout and the stylesheet are public,
        // logout and login check their own CSRF token and Origin.
        route(M::GET, "/", dashboard::home, PUBLIC),
        route(
            M::GET,
            "/dashboard/inloggen",
            dashboard::inloggen_form,
            PUBLIC,
        ),
        route(M::POST, "/dashboard/inloggen", dashboard::inloggen, PUBLIC),
        route(
            M::POST,
            "/dashboard/uitloggen",
            dashboard::uitloggen,
            PUBLIC,
        ),
        route(M::GET, "/dashboard/stijl.css", dashboard::stijl, PUBLIC),
        // Its reports, as the reports API's (aggregates, audited like
        // every read), and the worklists (personal data).
        route(
            M::GET,
            "/dashboard",
            dashboard::rapportage,
            personal(Rapporteren),
        ),
        route(
            M::GET,
            "/dashboard/csv/stand",
            dashboard::csv_stand,
            personal(Rapporteren),
        ),
        route(
            M::GET,
            "/dashboard/csv/stromen",
            dashboard::csv_stromen,
            personal(Rapporteren),
        ),
        route(
            M::GET,
            "/dashboard/csv/srg",
            dashboard::csv_srg,
            personal(Rapporteren),
        ),
        route(
            M::GET,
            "/dashboard/csv/tijdreeks",
            dashboard::csv_tijdreeks,
            personal(Rapporteren),
        ),
        route(
            M::GET,
            "/dashboard/werklijsten",
            dashboard::werklijsten,
            personal(Afnemen),
        ),
        route(
            M::GET,
            "/dashboard/csv/werklijsten",
            dashboard::csv_werklijsten,
            personal(Afnemen),
        ),
        route(M::GET, "/health", health::health, PUBLIC),
        route(M::GET, "/metrics", health::metrics, PUBLIC),
    ]
}

/// The policy of a route (by method and path template), from `routes`.
pub fn policy(method: &Method, path: &str) -> Option<Policy> {
    static POLICIES: OnceLock<HashMap<(Method, &'static str), Policy>> = OnceLock::new();
    POLICIES
        .get_or_init(|| {
            routes()
                .into_iter()
                .map(|r| ((r.method, r.path), r.policy))
                .collect()
        })
        .get(&(method.clone(), path))
        .copied()
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for r in routes() {
        match by_path.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, methods)) => *methods = std::mem::take(methods).merge(r.handler),
            None => by_path.push((r.path, r.handler)),
        }
    }
    by_path
        .into_iter()
        .fold(Router::new(), |router, (path, methods)| {
            router.route(path, methods)
        })
        // Who may do what, the audit log, metrics and the log line.
        .route_layer(middleware::from_fn_with_state(state.clone(), guard::guard))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        // Authentication and rate limits by credential, outermost: the
        // principal is known to the guard inside.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::authenticate,
        ))
        .with_state(state)
}

async fn unknown_route(
    limited: Option<axum::Extension<limits::RateLimited>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if let Some(axum::Extension(limited)) = limited {
        return limited.response();
    }
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        crate::diagnostics::Code::HttpNotFound,
        "no such resource; the API lives under /api/v1 (see the README)",
    )
    .into_response()
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        crate::diagnostics::Code::HttpNotFound,
        "this resource does not support that method",
    )
}

/// Runs a synchronous store read off the async workers.
/// A reader's `versie` and `weglaten` parameters: the schema version it
/// understands (the latest when absent) and the optional parts it leaves
/// out, comma-separated; messages reach it as
/// [`crate::schema::lezer::voor_lezer`] makes them.
fn lezer(versie: Option<&str>, weglaten: Option<&str>) -> Result<crate::schema::Lezer, ApiError> {
    let versie = versie.map(|v| lezer_versie(Some(v))).transpose()?;
    let weglaten = match weglaten {
        None => Vec::new(),
        Some(list) => onderdelen(list.split(',').map(str::trim).filter(|s| !s.is_empty()))?,
    };
    Ok(crate::schema::Lezer { versie, weglaten })
}

/// Part names as the API takes them, without repeats.
fn onderdelen<'a>(
    names: impl Iterator<Item = &'a str>,
) -> Result<Vec<crate::schema::Onderdeel>, ApiError> {
    use crate::schema::Onderdeel;
    let mut parts = Vec::new();
    for name in names {
        let part = Onderdeel::parse(name).ok_or_else(|| {
            let known: Vec<&str> = Onderdeel::ALL.iter().map(|o| o.as_str()).collect();
            ApiError::parameter(format!(
                "weglaten: {name:?} is not a part that can be left out; one of {}",
                known.join(", ")
            ))
        })?;
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    Ok(parts)
}

/// A schema version as a parameter; the latest when absent.
fn lezer_versie(value: Option<&str>) -> Result<crate::schema::Schemaversie, ApiError> {
    use crate::schema::Schemaversie;
    match value {
        None => Ok(Schemaversie::LATEST),
        Some(v) => Schemaversie::parse(v).ok_or_else(|| {
            let known: Vec<&str> = Schemaversie::ALL.iter().map(|v| v.as_str()).collect();
            ApiError::parameter(format!("versie must be one of {}", known.join(", ")))
        }),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::unavailable(format!("read task failed: {e}")))?
        .map_err(ApiError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_declares_a_policy_and_personal_data_is_audited() {
        let all = routes();
        let mut seen = std::collections::HashSet::new();
        for r in &all {
            assert!(
                seen.insert((r.method.clone(), r.path)),
                "{} {} twice",
                r.method,
                r.path
            );
            assert_eq!(policy(&r.method, r.path), Some(r.policy));
            if r.path.starts_with("/api/v1/beheer") {
                assert_eq!(r.policy.rol, Some(Rol::Beheer), "{}", r.path);
            }
            // Messages, histories and the feed are personal data.
            let personal = ["/api/v1/berichten", "/api/v1/clienten", "/api/v1/feed"];
            if personal.iter().any(|p| r.path.starts_with(p)) {
                assert!(r.policy.audited, "{} {} is not audited", r.method, r.path);
            }
            if r.policy.rol.is_none() {
                assert!(!r.policy.audited && !r.path.contains("berichten"));
            }
            // Every dashboard page that shows figures is a read, audited;
            // the worklists' BSNs need afnemen.
            if r.path.starts_with("/dashboard") && r.policy.rol.is_some() {
                assert!(r.policy.audited, "{} {} is not audited", r.method, r.path);
                if r.path.contains("werklijsten") {
                    assert_eq!(r.policy.rol, Some(Rol::Afnemen), "{}", r.path);
                }
            }
        }
        assert_eq!(policy(&Method::GET, "/api/v1/nergens"), None);
    }
}
