//! What protects the service from its clients: security headers on every
//! response and a deadline for reading a request body (applied by the
//! connection itself, in `transport::connection`), and a token bucket per
//! credential (or per address, applied after authentication).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::api::ApiError;
use crate::auth::Principal;
use crate::diagnostics::Code;

/// Sets the security headers on a response; `Strict-Transport-Security`
/// only when `tls` (browsers ignore it over plain HTTP anyway).
pub fn security_headers(headers: &mut axum::http::HeaderMap, tls: bool) {
    let mut set = |name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::CACHE_CONTROL, "no-store");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::CONTENT_SECURITY_POLICY, "default-src 'none'");
    set(header::REFERRER_POLICY, "no-referrer");
    if tls {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
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

use std::future::Future as _;

/// Requests per second and burst of one token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Sustained requests per second; 0 turns rate limiting off.
    pub per_second: f64,
    /// Requests allowed at once after a quiet period.
    pub burst: f64,
}

impl Default for Rate {
    fn default() -> Self {
        Rate {
            per_second: 200.0,
            burst: 400.0,
        }
    }
}

/// Token buckets by key, in memory.
pub struct RateLimiter {
    rate: Rate,
    buckets: Mutex<Buckets>,
}

struct Buckets {
    map: HashMap<String, Bucket>,
    swept: Instant,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// How often full buckets are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

impl RateLimiter {
    pub fn new(rate: Rate) -> RateLimiter {
        RateLimiter {
            rate,
            buckets: Mutex::new(Buckets {
                map: HashMap::new(),
                swept: Instant::now(),
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.rate.per_second > 0.0
    }

    /// Takes one token from `key`'s bucket; when it is empty, says how long
    /// until the next token.
    pub fn take(&self, key: &str) -> Result<(), Duration> {
        if !self.enabled() {
            return Ok(());
        }
        let Rate { per_second, burst } = self.rate;
        let burst = burst.max(1.0);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if now.duration_since(buckets.swept) >= SWEEP_EVERY {
            // A bucket that has refilled completely is the same as none.
            buckets.map.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < burst
            });
            buckets.swept = now;
        }
        let bucket = match buckets.map.get_mut(key) {
            Some(b) => b,
            None => buckets.map.entry(key.to_string()).or_insert(Bucket {
                tokens: burst,
                at: now,
            }),
        };
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_second).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }

    /// Buckets currently held (for tests).
    pub fn len(&self) -> usize {
        self.buckets.lock().map_or(0, |b| b.map.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The rate-limit key of a request: its credential when authenticated
/// (the authentication middleware runs before this one), otherwise the
/// peer's IP address.
fn key(request: &Request) -> String {
    if let Some(p) = request.extensions().get::<Principal>() {
        return format!("sleutel:{}", p.sleutel);
    }
    match request.extensions().get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(addr)) => format!("ip:{}", addr.ip()),
        None => "anoniem".to_string(),
    }
}

/// A request refused by the rate limit: put on the request by the
/// authentication layer and answered by the route's guard, so that the
/// refusal is audited, logged and counted like any other answer.
#[derive(Debug, Clone, Copy)]
pub struct RateLimited {
    retry_after: u64,
}

impl RateLimited {
    /// 429 with `Retry-After`.
    pub fn response(self) -> Response {
        let seconds = self.retry_after;
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            Code::HttpTeVeel,
            format!("too many requests for this credential; try again in {seconds} s"),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        response
    }
}

/// Takes a token for `request` (after authentication, which sets the
/// key); the refusal when the caller's bucket is empty.
pub fn rate_limit(limiter: &RateLimiter, request: &Request) -> Option<RateLimited> {
    if !limiter.enabled() {
        return None;
    }
    limiter.take(&key(request)).err().map(|wait| RateLimited {
        retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses_with_a_wait() {
        let limiter = RateLimiter::new(Rate {
            per_second: 10.0,
            burst: 5.0,
        });
        for _ in 0..5 {
            assert!(limiter.take("a").is_ok());
        }
        let wait = limiter.take("a").expect_err("burst spent");
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        assert!(limiter.take("b").is_ok(), "another key has its own bucket");
        assert_eq!(limiter.len(), 2);
    }

    #[test]
    fn a_zero_rate_turns_limiting_off() {
        let limiter = RateLimiter::new(Rate {
            per_second: 0.0,
            burst: 0.0,
        });
        for _ in 0..1000 {
            assert!(limiter.take("a").is_ok());
        }
        assert!(limiter.is_empty());
    }
}
