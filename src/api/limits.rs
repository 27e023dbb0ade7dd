//! Rate limits: a token bucket per credential, or per address for
//! requests without one. Here, beside authentication, because the
//! credential is the limiter's key; the refusal is put on the request and
//! answered by the route's guard, so that it is audited, logged and counted
//! like any other answer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::auth::Principal;
use crate::diagnostics::Code;
use crate::http_error::ApiError;

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
