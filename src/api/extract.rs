//! Extractors whose refusals are the API's own errors (a code, and a
//! `Foutbericht` or problem+json), never axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::de::DeserializeOwned;

use super::guard::{not_signed_in, AuditSink};
use super::{ApiError, AppState};
use crate::auth::Principal;
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

/// The JSON a route takes, named in its refusals.
pub trait Shape {
    /// Its fields, as the refusal names them.
    const SHAPE: &'static str;
}

/// A JSON route's body, deserialised; 400 `http.parameter` naming the
/// expected shape and what is wrong (axum's default limit of 2 MB: 413
/// beyond).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Shape, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|e| refused(e, "body"))?;
        serde_json::from_slice(&body)
            .map(Json)
            .map_err(|e| ApiError::parameter(format!("expected JSON {}: {e}", T::SHAPE)))
    }
}

/// Who is calling: the principal the authentication layer found. The
/// guard lets no request without one through to a route that needs a
/// role; should one reach a handler anyway, it is refused (401), never
/// served as nobody.
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = axum::response::Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or_else(not_signed_in)
    }
}

/// What the request touched, for its audit entry; the guard puts it on
/// every request it lets through to a route that needs a role.
impl<S: Send + Sync> FromRequestParts<S> for AuditSink {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<AuditSink>().cloned().ok_or_else(|| {
            tracing::error!("a handler that audits ran without the guard");
            ApiError::unavailable("this request cannot be audited, so it is not served")
        })
    }
}

/// A message body: `Content-Type: application/xml` (or `text/xml`), at
/// most the configured size. 415 for another type, 413 beyond the size,
/// 408 when it did not arrive in time; each counted in the metrics.
pub struct XmlBody(pub Bytes);

impl FromRequest<AppState> for XmlBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type.split(';').next().unwrap_or("").trim();
        if !mime.eq_ignore_ascii_case("application/xml") && !mime.eq_ignore_ascii_case("text/xml") {
            state.metrics.rejected(Code::HttpContentType.as_str());
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                Code::HttpContentType,
                "send messages with Content-Type: application/xml",
            ));
        }
        axum::body::to_bytes(request.into_body(), state.max_body)
            .await
            .map(XmlBody)
            .map_err(|e| {
                if crate::transport::guard::body_timed_out(&e) {
                    state.metrics.rejected(Code::HttpTeTraag.as_str());
                    return ApiError::new(
                        StatusCode::REQUEST_TIMEOUT,
                        Code::HttpTeTraag,
                        "the request body did not arrive in time",
                    );
                }
                state.metrics.rejected(Code::XmlTooLarge.as_str());
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    Code::XmlTooLarge,
                    format!("the body is larger than {} bytes", state.max_body),
                )
            })
    }
}
