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
    /// Copy a whole store into another and check the copy: the embedded
    /// store into PostgreSQL, or back (both stopped).
    Migrate {
        /// The store to copy: a data directory or a postgres:// URL.
        #[arg(long)]
        from: String,
        /// The new store: a directory or a postgres:// URL (an empty
        /// database); run again after an interruption to go on.
        #[arg(long)]
        to: String,
    },
    /// A backup into a new directory: an embedded store of its own,
    /// checked; restore it by serving with --data on it. Of a stopped
    /// server's store (--data, --to), or by a running service of itself
    /// (--server, --naam; the installation's beheer token in
    /// LADDERPOST_TOKEN; it writes under its --backup-dir).
    Backup {
        #[arg(long, env = "LADDERPOST_DATA", default_value = "./data")]
        data: PathBuf,
        /// The new directory (a stopped server's store).
        #[arg(long, required_unless_present = "server", conflicts_with = "server")]
        to: Option<PathBuf>,
        /// A running service's address, e.g. http://127.0.0.1:8080.
        #[arg(long, requires = "naam")]
        server: Option<String>,
        /// The backup's name under the service's --backup-dir.
        #[arg(long)]
        naam: Option<String>,
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
        Command::Migrate { from, to } => transfer(
            &ladderpost::store::Config::at(&from),
            &ladderpost::store::Config::at(&to),
        ),
        Command::Backup {
            server: Some(server),
            naam: Some(naam),
            ..
        } => online_backup(&server, &naam),
        Command::Backup { data, to, .. } => {
            let Some(to) = to else {
                eprintln!("ladderpost: give --to DIR, or --server URL --naam NAME");
                return ExitCode::from(2);
            };
            if to.exists() && std::fs::read_dir(&to).is_ok_and(|mut d| d.next().is_some()) {
                eprintln!(
                    "ladderpost: {} is not empty: back up into a new directory",
                    to.display()
                );
                return ExitCode::from(2);
            }
            transfer(
                &ladderpost::store::Config::sled(data),
                &ladderpost::store::Config::sled(to),
            )
        }
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
            let cache_mb = ladderpost::store::DEFAULT_CACHE / (1024 * 1024);
            let config =
                match ladderpost::store::Config::from_flags(store.as_deref(), data, cache_mb) {
                    Ok(config) => config,
                    Err(why) => {
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

/// `backup --server`: asks a running service to back itself up.
fn online_backup(server: &str, naam: &str) -> ExitCode {
    let Ok(token) = std::env::var("LADDERPOST_TOKEN") else {
        eprintln!("ladderpost: set LADDERPOST_TOKEN to the installation's beheer token");
        return ExitCode::from(2);
    };
    let Some(rt) = runtime() else {
        return ExitCode::from(2);
    };
    let url = format!("{}/api/v1/beheer/backups", server.trim_end_matches('/'));
    let body = serde_json::json!({ "naam": naam }).to_string();
    let answer = rt.block_on(async {
        let r = reqwest::Client::new()
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = r.status();
        Ok::<_, reqwest::Error>((status, r.text().await?))
    });
    match answer {
        Ok((status, text)) if status.as_u16() == 201 => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Ok((status, text)) => {
            eprintln!("ladderpost: the service answered {status}: {text}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("ladderpost: {}: {}", url, e.without_url());
            ExitCode::from(2)
        }
    }
}

/// `migrate` and `backup`: copy, check, say what was copied.
fn transfer(from: &ladderpost::store::Config, to: &ladderpost::store::Config) -> ExitCode {
    let started = std::time::Instant::now();
    let mut shown = 0;
    let result = ladderpost::store::transfer::migrate(from, to, |n| {
        if n >= shown + 100_000 {
            shown = n;
            eprintln!("{n} messages copied");
        }
    });
    match result {
        Ok(copied) => {
            println!(
                "copied and checked in {:.1} s: {copied}",
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("ladderpost: {why}");
            ExitCode::from(2)
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
