//! What protects the service from its clients on every connection:
//! security headers on every response and a deadline for reading a request
//! body (applied by the connection itself, in `transport::connection`).
//! Rate limits by credential are `api::limits`: their key is known only
//! after authentication.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::diagnostics::Code;
use crate::http_error::ApiError;

/// Sets the security headers on a response; `Strict-Transport-Security`
/// only when `tls` (browsers ignore it over plain HTTP anyway). A
/// `Content-Security-Policy` or `Referrer-Policy` the response already has
/// is kept.
pub fn security_headers(headers: &mut axum::http::HeaderMap, tls: bool) {
    let mut set = |name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::CACHE_CONTROL, "no-store");
    set(header::X_FRAME_OPTIONS, "DENY");
    if tls {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    // A page that needs more sets its own policies (the dashboard: its
    // own stylesheet, and `Origin` on its form posts, which browsers send
    // as `null` under `no-referrer`); everything else gets the strictest.
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("default-src 'none'"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
}

/// Gives a request's whole body `limit` to arrive, counted from now (the
/// moment its headers were read). Returns the request and, when it has a
/// body, the flag that tells afterwards whether the deadline passed.
pub fn body_deadline<B>(request: Request<B>, limit: Duration) -> (Request, Option<Arc<AtomicBool>>)
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    if request.body().is_end_stream() {
        return (request.map(Body::new), None);
    }
    let expired = Arc::new(AtomicBool::new(false));
    let flag = expired.clone();
    let request = request.map(|inner| {
        Body::new(Deadline {
            inner: Body::new(inner),
            sleep: Box::pin(tokio::time::sleep(limit)),
            expired: flag,
        })
    });
    (request, Some(expired))
}

/// The answer to a client that trickled its body in past the deadline:
/// 408, and the connection closed, instead of holding a worker.
pub fn body_too_slow(limit: Duration) -> Response {
    let mut response = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        Code::HttpTeTraag,
        format!(
            "the request body did not arrive within {} s",
            limit.as_secs_f64()
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request body that fails once its deadline has passed.
struct Deadline {
    inner: Body,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

/// Whether reading a body failed because its deadline passed, so that the
/// handler answers (and the audit log, log and metrics record) 408, not a
/// size error.
pub fn body_timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<BodyTimedOut>() {
            return true;
        }
        cause = e.source();
    }
    false
}

impl HttpBody for Deadline {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            this.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}
