//! Liveness, storage readiness and metrics.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{blocking, AppState};

/// `GET /health`: 200 when the store can take writes, 503 otherwise.
pub async fn health(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    let checked = blocking(move || {
        store.ready()?;
        store.count()
    })
    .await;
    let (status, body) = match checked {
        Ok(count) => (
            StatusCode::OK,
            format!("{{\"status\":\"ok\",\"storage\":\"ok\",\"messages\":{count}}}\n"),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "{\"status\":\"degraded\",\"storage\":\"unavailable\"}\n".to_string(),
        ),
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let store = state.store.clone();
    let count = blocking(move || store.count()).await.unwrap_or(0);
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(count),
    )
        .into_response()
}
