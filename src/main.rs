//! The `ladderpost` command: a thin shell around the library.
//!
//! Exit codes (stable): 0 all files valid, 1 some file invalid, 2 usage or
//! I/O error.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use ladderpost::validate::{check_file, FileVerdict};

#[derive(Parser)]
#[command(name = "ladderpost", version, about = "Participatieladder message hub")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: receive, validate and store messages over HTTP.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "LADDERPOST_LISTEN", default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Data directory (created if missing).
        #[arg(long, env = "LADDERPOST_DATA", default_value = "./data")]
        data: PathBuf,
        /// Largest message accepted, in bytes.
        #[arg(long, env = "LADDERPOST_MAX_BODY", default_value_t = 1024 * 1024)]
        max_body: usize,
        /// Days around a measurement within which another organisation's
        /// measurement of the same client earns the warning
        /// signaal.andere-organisatie; 0 turns it off.
        #[arg(long, env = "LADDERPOST_SIGNAAL_PERIODE", default_value_t = 90)]
        signaal_periode: u32,
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
        #[command(flatten)]
        transport: TransportArgs,
    },
    /// A reference receiver for push deliveries: verifies signatures,
    /// deduplicates and writes each message to a directory.
    Receive {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
        /// The subscription's signing secret (whsec_…).
        #[arg(long, env = "LADDERPOST_SECRET")]
        secret: String,
        /// Directory to write received messages to.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a vendor's push receiver against the delivery contract.
    Conformance {
        /// The receiver's URL.
        #[arg(long)]
        target: String,
        /// The signing secret the receiver was configured with (whsec_…).
        #[arg(long, env = "LADDERPOST_SECRET")]
        secret: String,
    },
    /// Validate message files against the published schema and the domain rules.
    Validate {
        /// Check the XSD only, skipping the domain rules.
        #[arg(long)]
        schema_only: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// The files to validate.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the schema reference (docs/schema.md) generated from the
    /// published XSD.
    SchemaReference,
    /// Measure performance (build with --release).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Organisations and credentials, on the data directory of a stopped
    /// server (while it runs: the beheer API).
    Admin {
        /// Data directory.
        #[arg(long, env = "LADDERPOST_DATA", default_value = "./data")]
        data: PathBuf,
        #[command(subcommand)]
        command: ladderpost::auth::admin::Admin,
    },
}

/// TLS and hardening flags of `serve`.
#[derive(clap::Args)]
struct TransportArgs {
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
    /// Requests per second per credential (or address); 0 turns it off.
    #[arg(long, env = "LADDERPOST_RATE_LIMIT", default_value_t = 200.0)]
    rate_limit: f64,
    /// Requests one credential may make at once after a quiet period.
    #[arg(long, env = "LADDERPOST_RATE_BURST", default_value_t = 400.0)]
    rate_burst: f64,
}

impl TransportArgs {
    fn settings(self) -> ladderpost::transport::Transport {
        let seconds = |s: f64| std::time::Duration::from_secs_f64(s.max(0.001));
        ladderpost::transport::Transport {
            tls: match (self.tls_cert, self.tls_key) {
                (Some(cert), Some(key)) => Some(ladderpost::transport::TlsFiles {
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
            rate: ladderpost::transport::Rate {
                per_second: self.rate_limit.max(0.0),
                burst: self.rate_burst.max(1.0),
            },
        }
    }
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Validated messages per second, beside libxml2's XSD validation.
    Validate {
        /// Seconds to measure each variant.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Documents to validate (default: fixtures/valid/*.xml).
        files: Vec<PathBuf>,
    },
    /// Durable ingest over HTTP (acknowledged after fsync) beside
    /// validation only, on an in-process server with a temporary store.
    Ingest {
        /// Seconds to measure each endpoint at each concurrency.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Concurrent senders, one measurement per value.
        #[arg(long, value_delimiter = ',', default_values_t = [1, 16, 64])]
        senders: Vec<usize>,
    },
    /// Feed read and push delivery throughput, on an in-process server
    /// filled with messages first.
    Delivery {
        /// Messages to store, then read and deliver.
        #[arg(long, default_value_t = 50_000)]
        messages: u64,
    },
    /// Start-up time: fills an in-process store, stops the service, and
    /// times opening the store again (recovery and index rebuild).
    Startup {
        /// Messages to store first.
        #[arg(long, default_value_t = 200_000)]
        messages: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Serve {
            listen,
            data,
            max_body,
            signaal_periode,
            push_timeout,
            retry_base,
            retry_max,
            dead_letter_after,
            allow_private_receivers,
            push_ca,
            transport,
        } => {
            let seconds = |s: f64| std::time::Duration::from_secs_f64(s.max(0.001));
            let roots = match push_ca.as_deref().map(push_roots).transpose() {
                Ok(roots) => roots.unwrap_or_default(),
                Err(why) => {
                    eprintln!("ladderpost: {why}");
                    return ExitCode::from(2);
                }
            };
            serve(ladderpost::server::Settings {
                listen,
                data,
                max_body,
                signaal_periode,
                push: ladderpost::delivery::push::PushSettings {
                    timeout: seconds(push_timeout),
                    retry_base: seconds(retry_base),
                    retry_max: seconds(retry_max),
                    dead_after: seconds(dead_letter_after),
                    allow_private_receivers,
                    roots,
                },
                transport: transport.settings(),
            })
        }
        Command::Receive {
            listen,
            secret,
            out,
        } => receive(listen, &secret, &out),
        Command::Conformance { target, secret } => conformance(&target, &secret),
        Command::Validate {
            schema_only,
            format,
            files,
        } => validate(schema_only, format, &files),
        Command::SchemaReference => {
            match ladderpost::schema::reference::markdown(ladderpost::schema::reference::XSD) {
                Ok(md) => {
                    print!("{md}");
                    ExitCode::SUCCESS
                }
                Err(why) => {
                    eprintln!("ladderpost: cannot read the schema: {why}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Bench(BenchCommand::Validate { seconds, files }) => bench_validate(seconds, files),
        Command::Bench(BenchCommand::Ingest { seconds, senders }) => {
            bench_ingest(seconds, &senders)
        }
        Command::Bench(BenchCommand::Delivery { messages }) => bench_delivery(messages),
        Command::Bench(BenchCommand::Startup { messages }) => bench_startup(messages),
        Command::Admin { data, command } => match ladderpost::auth::admin::run(&data, command) {
            Ok(out) => {
                print!("{out}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ladderpost: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn bench_startup(messages: u64) -> ExitCode {
    println!("in-process server, {messages} stored messages, then the store opened again");
    match ladderpost::bench::startup(messages) {
        Ok(f) => {
            println!(
                "{:>10.2} s  to open the store ({:.0} MB on disk, {:.0} messages/s indexed)",
                f.open.as_secs_f64(),
                f.bytes as f64 / 1e6,
                f.messages as f64 / f.open.as_secs_f64()
            );
            if let Some(bytes) = f.resident {
                println!(
                    "{:>10.0} MB  resident memory the open store added (sled's cache and the index)",
                    bytes as f64 / 1e6
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ladderpost: {e}");
            ExitCode::from(2)
        }
    }
}

fn bench_delivery(messages: u64) -> ExitCode {
    println!("in-process server, {messages} stored messages of one municipality, 2 cores");
    match ladderpost::bench::delivery(messages) {
        Ok(f) => {
            println!(
                "{:>10.0} msgs/s  feed: one pull client paging through all (limit 1000)",
                f.feed_per_second
            );
            println!(
                "{:>10.0} msgs/s  push: one subscription to a local receiver verifying signatures",
                f.push_per_second
            );
            println!(
                "feed target (>= 50,000 msgs/s): {}",
                if f.feed_per_second >= 50_000.0 {
                    "met"
                } else {
                    "NOT met"
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ladderpost: {e}");
            ExitCode::from(2)
        }
    }
}

fn bench_validate(seconds: f64, mut files: Vec<PathBuf>) -> ExitCode {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if files.is_empty() {
        let dir = root.join("fixtures/valid");
        files = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "xml"))
                .collect(),
            Err(e) => {
                eprintln!("ladderpost: {}: {e}", dir.display());
                return ExitCode::from(2);
            }
        };
        files.sort();
    }
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "corpus: {} documents, {} bytes on average; {seconds} s per variant, one core",
        files.len(),
        bytes / files.len().max(1) as u64
    );
    let schema = root.join("schemas/participatieladder-v1.xsd");
    let duration = std::time::Duration::from_secs_f64(seconds);
    match ladderpost::bench::validate_corpus(&schema, &files, duration) {
        Ok(figures) => {
            let baseline = figures.last().map_or(1.0, |f| f.per_second());
            for f in &figures {
                println!(
                    "{:>12.0} msgs/s  {:>5.2}x libxml2  {}",
                    f.per_second(),
                    f.per_second() / baseline,
                    f.name
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ladderpost: {e}");
            ExitCode::from(2)
        }
    }
}

fn bench_ingest(seconds: f64, senders: &[usize]) -> ExitCode {
    use ladderpost::bench::Endpoint;
    if senders.is_empty() || senders.contains(&0) || !seconds.is_finite() || seconds <= 0.0 {
        eprintln!("ladderpost: give a positive --seconds and senders of at least 1");
        return ExitCode::from(2);
    }
    println!(
        "in-process server on a temporary store, HTTP/1.1 keep-alive, unique valid Metingen; \
         {seconds} s per row, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let duration = std::time::Duration::from_secs_f64(seconds);
    let figures = match ladderpost::bench::ingest(senders, duration) {
        Ok(figures) => figures,
        Err(e) => {
            eprintln!("ladderpost: {e}");
            return ExitCode::from(2);
        }
    };
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:>7}  {:<38} {:>10}  {:>8}  {:>8}",
        "senders", "endpoint", "msgs/s", "p50 ms", "p99 ms"
    );
    for f in &figures {
        let name = match f.endpoint {
            Endpoint::Ingest => "POST /api/v1/berichten (durable)",
            Endpoint::Validate => "POST /api/v1/berichten/_valideer",
        };
        println!(
            "{:>7}  {:<38} {:>10.0}  {:>8.2}  {:>8.2}",
            f.senders,
            name,
            f.per_second(),
            ms(f.p50),
            ms(f.p99)
        );
    }
    for &n in senders {
        let rate = |e: Endpoint| {
            figures
                .iter()
                .find(|f| f.senders == n && f.endpoint == e)
                .map_or(0.0, |f| f.per_second())
        };
        let ratio = rate(Endpoint::Ingest) / rate(Endpoint::Validate);
        let verdict = if n == 64 {
            if ratio >= 0.70 {
                "  (target >= 70%: met)"
            } else {
                "  (target >= 70%: NOT met)"
            }
        } else {
            ""
        };
        println!(
            "durable / validate-only at {n} senders: {:.0}%{verdict}",
            ratio * 100.0
        );
    }
    ExitCode::SUCCESS
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Runtime::new() {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("ladderpost: cannot start the runtime: {e}");
            None
        }
    }
}

fn secret(s: &str) -> Option<ladderpost::delivery::signature::Secret> {
    let parsed = ladderpost::delivery::signature::Secret::parse(s);
    if parsed.is_none() {
        eprintln!(
            "ladderpost: --secret must be a signing secret as shown at registration (whsec_…)"
        );
    }
    parsed
}

fn receive(listen: std::net::SocketAddr, secret_text: &str, out: &std::path::Path) -> ExitCode {
    ladderpost::telemetry::init_logging();
    let (Some(secret), Some(rt)) = (secret(secret_text), runtime()) else {
        return ExitCode::from(2);
    };
    match rt.block_on(ladderpost::delivery::receiver::run(
        listen,
        secret,
        out,
        ladderpost::server::shutdown_signal(),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ladderpost: {e}");
            ExitCode::from(2)
        }
    }
}

/// Exit 0 when every case passes, 1 when some fail, 2 when it cannot run.
fn conformance(target: &str, secret_text: &str) -> ExitCode {
    let (Some(secret), Some(rt)) = (secret(secret_text), runtime()) else {
        return ExitCode::from(2);
    };
    match rt.block_on(ladderpost::delivery::conformance::run(target, &secret)) {
        Ok(cases) => {
            let mut failed = 0;
            for c in &cases {
                let status = c.status.map_or("no answer".to_string(), |s| s.to_string());
                let verdict = if c.passed { "PASS" } else { "FAIL" };
                println!(
                    "{verdict}  {:<60} expected {}, got {status}",
                    c.name, c.expected
                );
                if !c.passed {
                    failed += 1;
                    if !c.detail.is_empty() {
                        println!("      {}", c.detail);
                    }
                }
            }
            println!("{} passed, {failed} failed", cases.len() - failed);
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("ladderpost: {e}");
            ExitCode::from(2)
        }
    }
}

fn serve(settings: ladderpost::server::Settings) -> ExitCode {
    ladderpost::telemetry::init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ladderpost: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(ladderpost::server::run(
        settings,
        ladderpost::server::shutdown_signal(),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ladderpost: {e}");
            ExitCode::from(2)
        }
    }
}

fn validate(schema_only: bool, format: Format, files: &[PathBuf]) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let mut any_invalid = false;
    let mut io_error = false;
    for file in files {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("ladderpost: {}: {e}", file.display());
                io_error = true;
                continue;
            }
        };
        let verdict = check_file(&file.display().to_string(), &bytes, schema_only);
        any_invalid |= !verdict.valid;
        let written = match format {
            Format::Json => serde_json::to_writer(&mut out, &verdict)
                .map_err(std::io::Error::other)
                .and_then(|()| writeln!(out)),
            Format::Text => write_text(&mut out, &verdict),
        };
        if written.is_err() {
            return ExitCode::from(2);
        }
    }
    if io_error {
        ExitCode::from(2)
    } else if any_invalid {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn write_text(out: &mut impl Write, v: &FileVerdict) -> std::io::Result<()> {
    let verdict = if v.valid { "valid" } else { "INVALID" };
    writeln!(out, "{}: {verdict}", v.file)?;
    for e in &v.errors {
        writeln!(out, "  error {e}")?;
    }
    for w in &v.warnings {
        writeln!(out, "  warning {w}")?;
    }
    Ok(())
}

// Requests allocate on the async workers and are freed on the store's
// writer (and the reverse); glibc's arenas made that a fifth of the
// writer's time and slowed ingest as the store grew. Built without
// transparent huge pages (Cargo.toml): they raised tail latency and idle
// memory (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
