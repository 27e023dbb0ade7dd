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
    Serve(ladderpost::server::ServeFlags),
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
    Bench(ladderpost::bench::Bench),
    /// Fill a store with a synthetic history (reproducible by seed), through
    /// validation and the store's acceptance, for benchmarks and trials.
    Generate(ladderpost::generate::GenerateFlags),
    /// Organisations and credentials: on the data directory of a stopped
    /// server (while it runs: the beheer API), or on a PostgreSQL store.
    Admin {
        /// Data directory.
        #[arg(long, env = "LADDERPOST_DATA", default_value = "./data")]
        data: PathBuf,
        /// The PostgreSQL store instead (`postgres://…`), as `serve --store`;
        /// its instances may keep running.
        #[arg(long, env = "LADDERPOST_STORE")]
        store: Option<String>,
        #[command(subcommand)]
        command: ladderpost::auth::admin::Admin,
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
        Command::Serve(flags) => match flags.settings() {
            Ok(settings) => serve(settings),
            Err(why) => {
                eprintln!("ladderpost: {why}");
                ExitCode::from(2)
            }
        },
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
        Command::Bench(bench) => match ladderpost::bench::run(bench) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ladderpost: {e}");
                ExitCode::from(2)
            }
        },
        Command::Generate(flags) => generate(&flags),
        Command::Admin {
            data,
            store,
            command,
        } => {
            let config = match store.as_deref().map(ladderpost::store::Engine::postgres) {
                None => ladderpost::store::Config::sled(data),
                Some(Ok(engine)) => ladderpost::store::Config {
                    engine,
                    ..ladderpost::store::Config::sled(data)
                },
                Some(Err(why)) => {
                    eprintln!("ladderpost: {why}");
                    return ExitCode::from(2);
                }
            };
            match ladderpost::auth::admin::run(&config, command) {
                Ok(out) => {
                    print!("{out}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("ladderpost: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
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

fn generate(flags: &ladderpost::generate::GenerateFlags) -> ExitCode {
    match ladderpost::generate::run(flags) {
        Ok(f) => {
            print!("{}", ladderpost::generate::summary(flags, &f));
            ExitCode::SUCCESS
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
