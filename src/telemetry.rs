//! Logs and metrics.
//!
//! Logs are structured (tracing) and never carry message contents, BSNs or
//! request paths with personal data in them: requests are logged by their
//! route template (`/api/v1/clienten/{bsn}/metingen`), not their URI.
//! Metrics are Prometheus text, served at `GET /metrics`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Starts structured logging to stderr. `LADDERPOST_LOG` sets the filter
/// (default `info`); `LADDERPOST_LOG_FORMAT=json` gives JSON lines.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LADDERPOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if std::env::var("LADDERPOST_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    rejections: Family<CodeLabels, Counter>,
    accepted: Counter,
    repeats: Counter,
    stored: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ladderpost");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 100 µs to about 3 s.
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        let rejections = Family::<CodeLabels, Counter>::default();
        let accepted = Counter::default();
        let repeats = Counter::default();
        let stored = Gauge::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            latency.clone(),
        );
        registry.register(
            "rejections",
            "Errors in rejected messages, by code (validation and storage rules)",
            rejections.clone(),
        );
        registry.register(
            "messages_accepted",
            "Messages accepted and stored",
            accepted.clone(),
        );
        registry.register(
            "messages_repeated",
            "Repeats of already accepted messages (answered with the original acknowledgement)",
            repeats.clone(),
        );
        registry.register("messages_stored", "Messages in the store", stored.clone());
        Metrics {
            registry,
            requests,
            latency,
            rejections,
            accepted,
            repeats,
            stored,
        }
    }

    pub fn request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_string(),
                route: route.to_string(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn rejected(&self, code: &str) {
        self.rejections
            .get_or_create(&CodeLabels {
                code: code.to_string(),
            })
            .inc();
    }

    pub fn accepted(&self) {
        self.accepted.inc();
    }

    pub fn repeated(&self) {
        self.repeats.inc();
    }

    /// Prometheus text exposition, with the stored-message count current.
    pub fn render(&self, stored: u64) -> String {
        self.stored.set(i64::try_from(stored).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
