//! The flags of `ladderpost serve` (each with its `LADDERPOST_*`
//! environment variable) and their translation into [`Settings`]: in the
//! library, so that the tests start in-process servers with exactly the
//! flags the binary takes.

use std::path::PathBuf;
use std::time::Duration;

use super::Settings;
use crate::api::limits::Rate;
use crate::delivery::push::PushSettings;

/// The flags of `serve`.
#[derive(clap::Args, Debug)]
pub struct ServeFlags {
    /// Address to listen on.
    #[arg(long, env = "LADDERPOST_LISTEN", default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// Data directory (created if missing).
    #[arg(long, env = "LADDERPOST_DATA", default_value = "./data")]
    data: PathBuf,
    /// Directory for online backups (`POST /api/v1/beheer/backups`): each
    /// a new embedded store in a subdirectory. None: no online backups.
    #[arg(long, env = "LADDERPOST_BACKUP_DIR")]
    backup_dir: Option<PathBuf>,
    /// Store in PostgreSQL instead (`postgres://user@host/db`): for high
    /// availability, several instances may share one database. Without
    /// it, the embedded store in --data.
    #[arg(long, env = "LADDERPOST_STORE")]
    store: Option<String>,
    /// Megabytes of page cache the embedded store may hold (sled's other
    /// state grows with the store beyond it).
    #[arg(long, env = "LADDERPOST_CACHE_MB", default_value_t = crate::store::DEFAULT_CACHE / (1024 * 1024))]
    cache_mb: u64,
    /// Largest message accepted, in bytes.
    #[arg(long, env = "LADDERPOST_MAX_BODY", default_value_t = 1024 * 1024)]
    max_body: usize,
    /// Days around a measurement within which another organisation's
    /// measurement of the same client earns the warning
    /// signaal.andere-organisatie; 0 turns it off.
    #[arg(long, env = "LADDERPOST_SIGNAAL_PERIODE", default_value_t = 90)]
    signaal_periode: u32,
    /// Reports: a benchmark cell with fewer clients than this is
    /// suppressed (small-cell protection); at least 1.
    #[arg(long, env = "LADDERPOST_DREMPEL", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    drempel: u64,
    /// Push: seconds one delivery may take.
    #[arg(long, env = "LADDERPOST_PUSH_TIMEOUT", default_value_t = 10.0)]
    push_timeout: f64,
    /// Push: seconds before the first retry (doubling per attempt).
    #[arg(long, env = "LADDERPOST_RETRY_BASE", default_value_t = 0.5)]
    retry_base: f64,
    /// Push: longest wait between retries, in seconds.
    #[arg(long, env = "LADDERPOST_RETRY_MAX", default_value_t = 300.0)]
    retry_max: f64,
    /// Push: seconds a message is retried before it becomes a dead letter.
    #[arg(long, env = "LADDERPOST_DEAD_LETTER_AFTER", default_value_t = 86400.0)]
    dead_letter_after: f64,
    /// Push: allow receivers on loopback, private, link-local and
    /// similar addresses (refused by default: subscriptions would probe
    /// the internal network).
    #[arg(long, env = "LADDERPOST_ALLOW_PRIVATE_RECEIVERS")]
    allow_private_receivers: bool,
    /// Push: CA certificates (PEM) to trust for HTTPS receivers besides
    /// the system's, e.g. the PKIoverheid private root.
    #[arg(long, env = "LADDERPOST_PUSH_CA")]
    push_ca: Option<PathBuf>,
    /// Requests per second per credential (or address); 0 turns it off.
    #[arg(long, env = "LADDERPOST_RATE_LIMIT", default_value_t = 200.0)]
    rate_limit: f64,
    /// Requests one credential may make at once after a quiet period.
    #[arg(long, env = "LADDERPOST_RATE_BURST", default_value_t = 400.0)]
    rate_burst: f64,
    #[command(flatten)]
    transport: TransportFlags,
}

impl ServeFlags {
    /// The settings these flags give; an error names the flag that is off.
    pub fn settings(self) -> Result<Settings, String> {
        let roots = self
            .push_ca
            .as_deref()
            .map(push_roots)
            .transpose()?
            .unwrap_or_default();
        Ok(Settings {
            listen: self.listen,
            store: crate::store::Config::from_flags(
                self.store.as_deref(),
                self.data,
                self.cache_mb,
            )?,
            max_body: self.max_body,
            signaal_periode: self.signaal_periode,
            drempel: self.drempel,
            backups: self.backup_dir,
            push: PushSettings {
                timeout: seconds(self.push_timeout),
                retry_base: seconds(self.retry_base),
                retry_max: seconds(self.retry_max),
                dead_after: seconds(self.dead_letter_after),
                allow_private_receivers: self.allow_private_receivers,
                roots,
            },
            rate: Rate {
                per_second: self.rate_limit.max(0.0),
                burst: self.rate_burst.max(1.0),
            },
            transport: self.transport.settings(),
        })
    }
}

/// Seconds from a flag; never zero, which would turn a timeout into an
/// instant refusal.
fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.001))
}

/// TLS and hardening flags of `serve`.
#[derive(clap::Args, Debug)]
struct TransportFlags {
    /// Serve HTTPS with this certificate chain (PEM, leaf first).
    #[arg(long, env = "LADDERPOST_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "LADDERPOST_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Ask clients for a certificate and verify it against these CA
    /// certificates (PEM); the OIN in its subject serialNumber identifies
    /// the organisation. Clients without a certificate may still use a
    /// bearer token.
    #[arg(long, env = "LADDERPOST_CLIENT_CA", requires = "tls_cert")]
    client_ca: Option<PathBuf>,
    /// Allow plain HTTP on an address other than loopback (behind a proxy
    /// that terminates TLS).
    #[arg(long, env = "LADDERPOST_ALLOW_PLAIN_HTTP")]
    allow_plain_http: bool,
    /// Seconds a client has to send a request's headers.
    #[arg(long, env = "LADDERPOST_HEADER_TIMEOUT", default_value_t = 10.0)]
    header_timeout: f64,
    /// Seconds a client has to send a request's whole body.
    #[arg(long, env = "LADDERPOST_BODY_TIMEOUT", default_value_t = 30.0)]
    body_timeout: f64,
    /// Connections served at once.
    #[arg(long, env = "LADDERPOST_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Connections one client address (IPv6: one /64) may hold at once;
    /// 0 turns the cap off (behind a proxy, where every client has the
    /// proxy's address).
    #[arg(
        long,
        env = "LADDERPOST_MAX_CONNECTIONS_PER_ADDRESS",
        default_value_t = 64
    )]
    max_connections_per_address: usize,
}

impl TransportFlags {
    fn settings(self) -> crate::transport::Transport {
        crate::transport::Transport {
            tls: match (self.tls_cert, self.tls_key) {
                (Some(cert), Some(key)) => Some(crate::transport::TlsFiles {
                    cert,
                    key,
                    client_ca: self.client_ca,
                }),
                _ => None,
            },
            allow_plain_http: self.allow_plain_http,
            header_timeout: seconds(self.header_timeout),
            body_timeout: seconds(self.body_timeout),
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
        }
    }
}

/// The CA certificates of `--push-ca`.
fn push_roots(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("--push-ca {}: {e}", path.display()))?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("--push-ca {}: {e}", path.display()))?;
    if roots.is_empty() {
        return Err(format!(
            "--push-ca {}: no PEM certificate in it",
            path.display()
        ));
    }
    Ok(roots)
}
