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
    /// Measure performance (build with --release).
    #[command(subcommand)]
    Bench(BenchCommand),
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
        } => serve(ladderpost::server::Settings {
            listen,
            data,
            max_body,
        }),
        Command::Validate {
            schema_only,
            format,
            files,
        } => validate(schema_only, format, &files),
        Command::Bench(BenchCommand::Validate { seconds, files }) => bench_validate(seconds, files),
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
