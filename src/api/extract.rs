//! Extractors whose refusals are the API's own errors (a code, and a
//! `Foutbericht` or problem+json), never axum's plain-text rejections.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::IntoResponse;
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::diagnostics::Code;

/// A rejection of axum's, with its status and text, as an `http.parameter`.
fn refused(rejection: impl IntoResponse + std::fmt::Display, what: &str) -> ApiError {
    let text = rejection.to_string();
    let status = rejection.into_response().status();
    ApiError::new(status, Code::HttpParameter, format!("{what}: {text}"))
}

/// The query string, deserialised; a duplicate or malformed parameter is
/// 400 `http.parameter` naming it.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| refused(e, "query"))
    }
}

/// Path parameters, deserialised.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| refused(e, "path"))
    }
}

/// A JSON route's body, whole (axum's default limit of 2 MB: 413 beyond).
pub struct Body(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        axum::body::Bytes::from_request(request, state)
            .await
            .map(Body)
            .map_err(|e| refused(e, "body"))
    }
}
