//! The `ladderpost bench` subcommands: their flags, and the figures of
//! each printed as a table (docs/performance.md quotes them).

use std::path::PathBuf;

/// `ladderpost bench …`.
#[derive(clap::Subcommand, Debug)]
pub enum Bench {
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
        /// On this PostgreSQL database instead of a temporary embedded
        /// store (it may hold messages already: the bench's ids are new).
        #[arg(long)]
        store: Option<String>,
    },
    /// Feed read and push delivery throughput, on an in-process server
    /// filled with messages first.
    Delivery {
        /// Messages to store, then read and deliver.
        #[arg(long, default_value_t = 50_000)]
        messages: u64,
    },
    /// The storage targets at national size, on `serve` as a child
    /// process: ingest on the empty store, then `messages` generated
    /// measurements, then start-up, memory at rest and under ingest, ingest
    /// on the full store, a feed read, disk per message.
    Scale {
        /// Measurements to generate (corrections and withdrawals on top).
        #[arg(long, default_value_t = 5_000_000)]
        messages: u64,
        /// Seconds of ingest on the empty and on the full store.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// An empty PostgreSQL database instead of a temporary embedded
        /// store.
        #[arg(long)]
        store: Option<String>,
    },
    /// The reports at national size: a generated history (or the one in
    /// `--data`/`--store`), `serve` as a child process asked over HTTP,
    /// and the same questions as SQL in SQLite and DuckDB
    /// (`benches/reports_sql.py`; needs python3 and the PyPI package
    /// `duckdb`), every answer checked equal.
    Reports {
        #[arg(long, default_value_t = 1_000_000)]
        clienten: u32,
        /// Measurements to generate (corrections and withdrawals on top).
        #[arg(long, default_value_t = 5_000_000)]
        metingen: u64,
        #[arg(long, default_value_t = 50)]
        gemeenten: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Rounds of every question on every engine.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// A PostgreSQL database: generated into when empty, else reused.
        #[arg(long, conflicts_with = "data")]
        store: Option<String>,
        /// An embedded store's directory: generated into when empty or
        /// missing, else reused (default: a temporary one).
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Start-up time: fills an in-process store, stops the service, and
    /// times opening the store again (recovery and index rebuild).
    Startup {
        /// Messages to store first.
        #[arg(long, default_value_t = 200_000)]
        messages: u64,
    },
}

/// Runs one benchmark and prints its figures to stdout.
pub fn run(bench: Bench) -> Result<(), String> {
    match bench {
        Bench::Validate { seconds, files } => validate(seconds, files),
        Bench::Ingest {
            seconds,
            senders,
            store,
        } => ingest(seconds, &senders, store.as_deref()),
        Bench::Delivery { messages } => delivery(messages),
        Bench::Startup { messages } => startup(messages),
        Bench::Scale {
            messages,
            seconds,
            store,
        } => scale(messages, seconds, store.as_deref()),
        Bench::Reports {
            clienten,
            metingen,
            gemeenten,
            seed,
            rounds,
            store,
            data,
        } => reports(&super::reports::Options {
            clienten,
            metingen,
            gemeenten,
            seed,
            store,
            data,
            rounds,
        }),
    }
}

fn reports(o: &super::reports::Options) -> Result<(), String> {
    let on = if o.store.is_some() {
        "PostgreSQL"
    } else {
        "the embedded store"
    };
    println!(
        "`serve` as a child process on {on}; {} rounds, each question to ladderpost, SQLite, DuckDB in turn",
        o.rounds
    );
    let f = super::reports::reports(o)?;
    match f.generate_seconds {
        Some(s) => println!("{:>10} messages stored (generated in {s:.0} s)", f.messages),
        None => println!("{:>10} messages stored (reused)", f.messages),
    }
    println!(
        "{:>10} municipalities; the largest {}",
        f.gemeenten, f.largest
    );
    println!("{:>10.1} s  export to CSV (Store::all)", f.export_seconds);
    println!("{:>10.1} s  load into SQLite (with indexes)", f.load_sqlite);
    println!("{:>10.1} s  load into DuckDB", f.load_duckdb);
    let mb = |b: Option<u64>| b.map_or("?".to_string(), |b| format!("{:.0}", b as f64 / 1e6));
    println!("{:>10} MB  serve resident at rest", mb(f.resident_at_rest));
    println!(
        "{:>10} MB  serve resident at most during the reports",
        mb(f.resident_peak)
    );
    println!(
        "seconds: median (min-max) over the rounds; every answer identical on the three engines"
    );
    println!(
        "{:<34} {:>9}  {:>24}  {:>24}  {:>24}",
        "question", "clients", "ladderpost", "SQLite", "DuckDB"
    );
    let cell =
        |t: &super::reports::Times| format!("{:.3} ({:.3}-{:.3})", t.median(), t.min(), t.max());
    for r in &f.rows {
        println!(
            "{:<34} {:>9}  {:>24}  {:>24}  {:>24}",
            r.question,
            r.clienten,
            cell(&r.ladderpost),
            cell(&r.sqlite),
            cell(&r.duckdb)
        );
    }
    let slow: Vec<&str> = f
        .rows
        .iter()
        .filter(|r| r.ladderpost.median() >= 1.0 || r.ladderpost.median() > r.sqlite.median())
        .map(|r| r.question.as_str())
        .collect();
    if slow.is_empty() {
        println!("targets: every report under 1 s and no slower than SQLite: met");
    } else {
        println!(
            "targets: every report under 1 s and no slower than SQLite: missed by {}",
            slow.join("; ")
        );
    }
    Ok(())
}

fn scale(messages: u64, seconds: f64, store: Option<&str>) -> Result<(), String> {
    if !seconds.is_finite() || seconds <= 0.0 || messages == 0 {
        return Err("give a positive --seconds and --messages".into());
    }
    let on = if store.is_some() {
        "PostgreSQL"
    } else {
        "the embedded store"
    };
    println!("`serve` as a child process on {on}; {messages} generated measurements");
    let f = super::scale::scale(messages, store, seconds)?;
    let mb = |b: Option<u64>| b.map_or("?".to_string(), |b| format!("{:.0}", b as f64 / 1e6));
    println!(
        "{:>10} messages stored (generated in {:.0} s)",
        f.messages, f.generate_seconds
    );
    println!(
        "{:>10.2} s  start-up to /health on the full store",
        f.startup.as_secs_f64()
    );
    println!("{:>10} MB  resident at rest", mb(f.resident_at_rest));
    println!(
        "{:>10} MB  resident at most under ingest",
        mb(f.resident_peak_under_load)
    );
    println!(
        "{:>10.0} msgs/s  durable ingest, 64 senders, empty store",
        f.empty_rate
    );
    println!(
        "{:>10.0} msgs/s  durable ingest, 64 senders, full store ({:.2}x the empty store)",
        f.full_rate,
        f.full_rate / f.empty_rate.max(1e-9)
    );
    println!(
        "{:>10.0} msgs/s  feed, one reader, limit 1000",
        f.feed_per_second
    );
    println!(
        "{:>10} bytes on disk per message",
        f.bytes_per_message
            .map_or("?".to_string(), |b| format!("{b:.0}"))
    );
    Ok(())
}

fn startup(messages: u64) -> Result<(), String> {
    println!("in-process server, {messages} stored messages, then the store opened again");
    let f = super::startup(messages)?;
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
    Ok(())
}

fn delivery(messages: u64) -> Result<(), String> {
    println!("in-process server, {messages} stored messages of one municipality, 2 cores");
    let f = super::delivery(messages)?;
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
    Ok(())
}

fn validate(seconds: f64, mut files: Vec<PathBuf>) -> Result<(), String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if files.is_empty() {
        let dir = root.join("fixtures/valid");
        files = match std::fs::read_dir(&dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "xml"))
                .collect(),
            Err(e) => {
                return Err(format!("{}: {e}", dir.display()));
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
    let figures = super::validate_corpus(&schema, &files, duration)?;
    let baseline = figures.last().map_or(1.0, |f| f.per_second());
    for f in &figures {
        println!(
            "{:>12.0} msgs/s  {:>5.2}x libxml2  {}",
            f.per_second(),
            f.per_second() / baseline,
            f.name
        );
    }
    Ok(())
}

fn ingest(seconds: f64, senders: &[usize], store: Option<&str>) -> Result<(), String> {
    use super::Endpoint;
    if senders.is_empty() || senders.contains(&0) || !seconds.is_finite() || seconds <= 0.0 {
        return Err("give a positive --seconds and senders of at least 1".into());
    }
    let on = if store.is_some() {
        "PostgreSQL"
    } else {
        "a temporary embedded store"
    };
    println!(
        "in-process server on {on}, HTTP/1.1 keep-alive, unique valid Metingen; \
         {seconds} s per row, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let duration = std::time::Duration::from_secs_f64(seconds);
    let figures = super::ingest(senders, duration, store)?;
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
    Ok(())
}
