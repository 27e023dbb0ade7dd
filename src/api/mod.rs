//! The HTTP API (axum): one module per resource, thin handlers, one error
//! type that renders as the schema's `Foutbericht`.
//!
//! Handlers never parse XML themselves (the validation pipeline does) and
//! never touch the storage engine directly (only the [`Store`] trait).

mod abonnementen;
mod beheer;
mod berichten;
mod clienten;
mod error;
mod extract;
mod feed;
pub mod guard;
mod health;
pub mod replies;
mod schema;

use std::sync::Arc;

use axum::middleware;
use axum::routing::{delete, get, post};
use axum::Router;

pub use error::{as_problem, json_route, ApiError};

use crate::delivery::push::Dispatcher;
use crate::store::delivery::DeliveryStore;
use crate::store::Store;
use crate::telemetry::Metrics;

/// The content type of every XML reply.
pub const XML: &str = "application/xml; charset=utf-8";

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
    /// Becomes `true` when the service starts shutting down: long polls
    /// answer at once instead of holding the shutdown up.
    pub closing: tokio::sync::watch::Receiver<bool>,
    /// Authentication, credentials and the audit log.
    pub auth: Arc<crate::auth::Auth>,
    /// Token buckets per credential (or address).
    pub limiter: Arc<crate::transport::RateLimiter>,
    /// Permits for CPU-heavy reading and validation, one per core: such
    /// work runs on the blocking pool, so it can never hold up the async
    /// workers that answer `/health` and every other request.
    pub cpu: Arc<tokio::sync::Semaphore>,
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/v1/berichten", post(berichten::ontvang))
        .route("/api/v1/berichten/_valideer", post(berichten::valideer))
        .route("/api/v1/berichten/{id}", get(berichten::bericht))
        .route("/api/v1/clienten/{bsn}/metingen", get(clienten::metingen))
        .route("/api/v1/feed", get(feed::feed))
        .route(
            "/api/v1/abonnementen",
            post(abonnementen::registreer).get(abonnementen::lijst),
        )
        .route(
            "/api/v1/abonnementen/{id}",
            get(abonnementen::status).merge(delete(abonnementen::verwijder)),
        )
        .route(
            "/api/v1/abonnementen/{id}/replay",
            post(abonnementen::replay),
        )
        .route("/api/v1/schema", get(schema::lijst))
        .route("/api/v1/schema/{file}", get(schema::bestand))
        .route(
            "/api/v1/beheer/organisaties",
            get(beheer::organisaties).post(beheer::organisatie_toevoegen),
        )
        .route(
            "/api/v1/beheer/sleutels",
            get(beheer::sleutels).post(beheer::sleutel_maken),
        )
        .route(
            "/api/v1/beheer/sleutels/{id}",
            delete(beheer::sleutel_intrekken),
        )
        .route(
            "/api/v1/beheer/machtigingen",
            get(beheer::machtigingen).post(beheer::machtiging_geven),
        )
        .route(
            "/api/v1/beheer/machtigingen/{gemeente}/{aan}/{namens}",
            delete(beheer::machtiging_intrekken),
        )
        .route("/api/v1/beheer/audit", get(beheer::audit))
        .route("/health", get(health::health))
        .route("/metrics", get(health::metrics))
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
    limited: Option<axum::Extension<crate::transport::guard::RateLimited>>,
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
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::unavailable(format!("read task failed: {e}")))?
        .map_err(ApiError::from)
}
