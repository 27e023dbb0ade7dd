//! `ladderpost bench reports`: the report targets of issue 14 at national
//! size. A generated history (or the one already in `--data`/`--store`),
//! its measurements exported once to CSV and loaded into SQLite and DuckDB
//! (`benches/reports_sql.py`, the same questions as SQL), then the real
//! `ladderpost serve` as a child process asked over HTTP with a
//! `rapporteren` credential. Each question is put to the three engines in
//! turn, round after round, and every answer must be the same: the SQL is
//! an independent statement of the report semantics, so this checks them
//! at scale as well as timing them.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::scale::serve;
use super::{client_runtime, http_client, run_id, TempDir};
use crate::store::{Soort, Store};

/// What to measure on.
#[derive(Debug, Clone)]
pub struct Options {
    pub clienten: u32,
    pub metingen: u64,
    pub gemeenten: usize,
    pub seed: u64,
    /// A PostgreSQL store (generated into when empty, else reused).
    pub store: Option<String>,
    /// An embedded store's directory (idem); a temporary one when neither
    /// is given.
    pub data: Option<PathBuf>,
    /// Rounds of every question on every engine.
    pub rounds: usize,
}

/// One question's times on one engine, in seconds, a sample per round.
#[derive(Debug, Clone, Default)]
pub struct Times(pub Vec<f64>);

impl Times {
    fn sorted(&self) -> Vec<f64> {
        let mut s = self.0.clone();
        s.sort_by(f64::total_cmp);
        s
    }

    pub fn median(&self) -> f64 {
        let s = self.sorted();
        match s.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => s[n / 2],
            n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
        }
    }

    pub fn min(&self) -> f64 {
        self.sorted().first().copied().unwrap_or(f64::NAN)
    }

    pub fn max(&self) -> f64 {
        self.sorted().last().copied().unwrap_or(f64::NAN)
    }
}

/// One question and its times.
#[derive(Debug, Clone)]
pub struct Row {
    pub question: String,
    pub ladderpost: Times,
    pub sqlite: Times,
    pub duckdb: Times,
    /// Clients counted (the sum over the rungs of the first answer).
    pub clienten: u64,
}

#[derive(Debug, Clone)]
pub struct ReportsFigures {
    /// Messages in the store, and the seconds generating them took (`None`
    /// when the store was reused).
    pub messages: u64,
    pub generate_seconds: Option<f64>,
    pub export_seconds: f64,
    pub load_sqlite: f64,
    pub load_duckdb: f64,
    pub largest: String,
    pub gemeenten: usize,
    pub rows: Vec<Row>,
    pub resident_at_rest: Option<u64>,
    pub resident_peak: Option<u64>,
}

/// What the export found.
struct Exported {
    messages: u64,
    /// Per municipality, the clients with a measurement there.
    clients: HashMap<String, usize>,
}

/// Writes every stored message as one CSV row (what the SQL engines
/// load); counts the clients of each municipality.
fn export(store: &dyn Store, path: &Path) -> Result<Exported, String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = BufWriter::new(file);
    let err = |e: std::io::Error| e.to_string();
    writeln!(
        out,
        "volgnummer,bsn,gemeente,soort,vervangt,meetdatum,trede,groeipotentieel,team,\
         instrument_in_gebruik,instrument_ingezet,ontvangen"
    )
    .map_err(err)?;
    let mut clients: HashMap<String, HashSet<u32>> = HashMap::new();
    let (mut after, mut messages) = (0u64, 0u64);
    loop {
        let page = store.all(after, 10_000).map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        after = last.record.volgnummer;
        for s in &page {
            let r = &s.record;
            messages += 1;
            let vervangt = match (r.soort, r.vervangt) {
                (Soort::Meting, _) => String::new(),
                (_, Some(n)) => n.to_string(),
                (_, None) => {
                    return Err(format!(
                        "message {} names what it replaces only by id (a store from before \
                         references by number): the SQL side cannot follow it",
                        r.volgnummer
                    ))
                }
            };
            let m = r.meting.as_ref();
            let opt = |v: Option<&String>| v.map_or(String::new(), |s| csv_field(s));
            let flag = |v: Option<bool>| v.map_or("", |b| if b { "true" } else { "false" });
            if m.is_some() {
                let bsn = r
                    .bsn
                    .parse()
                    .map_err(|_| "a stored BSN is not nine digits")?;
                clients.entry(r.gemeente.clone()).or_default().insert(bsn);
            }
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                r.volgnummer,
                r.bsn,
                r.gemeente,
                r.soort.as_str(),
                vervangt,
                m.map_or(String::new(), |m| csv_field(&m.meetdatum)),
                m.map_or(String::new(), |m| csv_field(&m.trede)),
                opt(m.and_then(|m| m.groeipotentieel.as_ref())),
                opt(m.and_then(|m| m.team.as_ref())),
                flag(m.and_then(|m| m.instrument_in_gebruik)),
                flag(m.and_then(|m| m.instrument_ingezet)),
                r.ontvangen,
            )
            .map_err(err)?;
        }
    }
    out.flush().map_err(err)?;
    Ok(Exported {
        messages,
        clients: clients.into_iter().map(|(g, c)| (g, c.len())).collect(),
    })
}

/// A CSV field, quoted when it must be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// An organisation for every municipality in the data with a
/// `rapporteren` credential, made in the store before the service starts;
/// its token.
fn credential(
    opened: &crate::store::Opened,
    gemeenten: &[String],
    run: u64,
) -> Result<String, String> {
    use crate::auth::service::{Auth, NieuweOrganisatie};
    let auth = Auth::new(opened.auth.clone()).map_err(|e| e.to_string())?;
    let id = format!("bench-reports-{run:x}");
    auth.add_organisation(NieuweOrganisatie {
        id: id.clone(),
        naam: "Bench reports".into(),
        gemeenten: gemeenten.to_vec(),
        ..NieuweOrganisatie::default()
    })
    .map_err(|e| e.to_string())?;
    let (_, token) = auth
        .add_credential(&id, &["rapporteren".to_string()], None)
        .map_err(|e| e.to_string())?;
    Ok(token)
}

/// `benches/reports_sql.py`, loaded and waiting for questions.
struct Sql {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    load_sqlite: f64,
    load_duckdb: f64,
}

impl Drop for Sql {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sql {
    fn start(csv: &Path, work: &Path) -> Result<Sql, String> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/reports_sql.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(csv)
            .arg(work)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot run python3 {}: {e}", script.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut sql = Sql {
            child,
            stdin,
            stdout,
            load_sqlite: 0.0,
            load_duckdb: 0.0,
        };
        let ready = sql.line()?;
        sql.load_sqlite = ready["load"]["sqlite"].as_f64().unwrap_or(f64::NAN);
        sql.load_duckdb = ready["load"]["duckdb"].as_f64().unwrap_or(f64::NAN);
        Ok(sql)
    }

    fn line(&mut self) -> Result<Value, String> {
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            let status = self.child.wait().map_err(|e| e.to_string())?;
            return Err(format!("{} ended ({status}); see above", "reports_sql.py"));
        }
        serde_json::from_str(&line).map_err(|e| format!("reports_sql.py said {line:?}: {e}"))
    }

    /// The engine's answer and the seconds it took.
    fn ask(&mut self, engine: &str, question: &Value) -> Result<(Value, f64), String> {
        let ask = json!({"engine": engine, "question": question});
        writeln!(self.stdin, "{ask}").map_err(|e| e.to_string())?;
        self.stdin.flush().map_err(|e| e.to_string())?;
        let mut answer = self.line()?;
        let seconds = answer["seconds"]
            .as_f64()
            .ok_or("no seconds in the answer")?;
        if let Some(o) = answer.as_object_mut() {
            o.remove("seconds");
        }
        Ok((answer, seconds))
    }
}

/// A question as the API and the SQL take it.
struct Question {
    label: String,
    path: String,
    sql: Value,
}

fn questions(largest: &str, peildatum: &str, van: &str, jaar: u16) -> Vec<Question> {
    let mut out = Vec::new();
    for (gemeente, scope) in [
        (largest, largest.to_string()),
        (crate::reports::ALLE, "alle".into()),
    ] {
        let sql_gemeente = (gemeente != crate::reports::ALLE).then_some(gemeente);
        out.push(Question {
            label: format!("stand {scope}"),
            path: format!("/api/v1/rapportages/stand?gemeente={gemeente}&peildatum={peildatum}"),
            sql: json!({"kind": "stand", "gemeente": sql_gemeente, "peildatum": peildatum}),
        });
        out.push(Question {
            label: format!("stand {scope}, groepeerOp=team"),
            path: format!(
                "/api/v1/rapportages/stand?gemeente={gemeente}&peildatum={peildatum}&groepeerOp=team"
            ),
            sql: json!({"kind": "stand", "gemeente": sql_gemeente, "peildatum": peildatum,
                        "groepeerOp": "team"}),
        });
        out.push(Question {
            label: format!("stromen {scope}"),
            path: format!(
                "/api/v1/rapportages/stromen?gemeente={gemeente}&van={van}&tot={peildatum}"
            ),
            sql: json!({"kind": "stromen", "gemeente": sql_gemeente, "van": van, "tot": peildatum}),
        });
        out.push(Question {
            label: format!("jaar {scope}"),
            path: format!("/api/v1/rapportages/jaar?gemeente={gemeente}&jaar={jaar}"),
            sql: json!({"kind": "jaar", "gemeente": sql_gemeente, "jaar": jaar}),
        });
    }
    out
}

/// An answer as rows to compare: per part (`treden`, `groepen`,
/// `stromen`, `srg`) its non-zero rows, sorted.
type Rows = std::collections::BTreeMap<String, Vec<String>>;

/// ladderpost's JSON as [`Rows`].
fn ladderpost_rows(v: &Value) -> Rows {
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let treden = |t: &Value| -> Vec<Value> {
        t.as_array()
            .into_iter()
            .flatten()
            .filter(|t| n(&t["clienten"]) > 0)
            .map(|t| json!([t["trede"], t["clienten"], t["groeipotentieel"]]))
            .collect()
    };
    let mut parts: HashMap<&str, Vec<Value>> = HashMap::new();
    if v.get("treden").is_some() {
        parts.insert("treden", treden(&v["treden"]));
    }
    if let Some(groepen) = v.get("groepen").and_then(Value::as_array) {
        let rows = groepen
            .iter()
            .flat_map(|g| {
                treden(&g["treden"]).into_iter().map(|t| {
                    let mut row = vec![g["groep"].clone()];
                    row.extend(t.as_array().cloned().unwrap_or_default());
                    Value::Array(row)
                })
            })
            .collect();
        parts.insert("groepen", rows);
    }
    if let Some(stromen) = v.get("stromen").and_then(Value::as_array) {
        let rows = stromen
            .iter()
            .map(|s| json!([s["van"], s["naar"], s["clienten"]]))
            .collect();
        parts.insert("stromen", rows);
    }
    if let Some(srg) = v.get("srg").and_then(Value::as_array) {
        let rows = srg
            .iter()
            .filter(|r| n(&r["clienten"]) > 0)
            .map(|r| json!([r["srg"], r["clienten"]]))
            .collect();
        parts.insert("srg", rows);
    }
    parts
        .into_iter()
        .map(|(k, rows)| (k.to_string(), sorted(rows)))
        .collect()
}

/// The SQL side's answer as [`Rows`].
fn sql_rows(v: &Value) -> Rows {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, rows)| {
            (
                k.clone(),
                sorted(rows.as_array().cloned().unwrap_or_default()),
            )
        })
        .collect()
}

fn sorted(rows: Vec<Value>) -> Vec<String> {
    let mut out: Vec<String> = rows.iter().map(Value::to_string).collect();
    out.sort_unstable();
    out
}

/// Clients counted in an answer: the sum over its rungs, or its flows.
fn clienten(rows: &Rows) -> u64 {
    let (part, at) = match rows.get("treden") {
        Some(treden) => (Some(treden), 1),
        None => (rows.get("stromen"), 2),
    };
    part.into_iter()
        .flatten()
        .filter_map(|r| serde_json::from_str::<Vec<Value>>(r).ok())
        .filter_map(|r| r.get(at).and_then(Value::as_u64))
        .sum()
}

/// An error naming what differs, when `theirs` is not `ours`.
fn same(question: &str, engine: &str, ours: &Rows, theirs: &Rows) -> Result<(), String> {
    if ours == theirs {
        return Ok(());
    }
    let mut out = format!("{question}: ladderpost and {engine} differ:\n");
    let keys: std::collections::BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    for k in keys {
        let (a, b) = (
            ours.get(k).cloned().unwrap_or_default(),
            theirs.get(k).cloned().unwrap_or_default(),
        );
        let only_ours: Vec<&String> = a.iter().filter(|r| !b.contains(r)).take(10).collect();
        let only_theirs: Vec<&String> = b.iter().filter(|r| !a.contains(r)).take(10).collect();
        if !only_ours.is_empty() || !only_theirs.is_empty() {
            out.push_str(&format!(
                "  {k}: only ladderpost {only_ours:?}; only {engine} {only_theirs:?}\n"
            ));
        }
    }
    Err(out)
}

/// The date `years` before `yyyy-mm-dd` (29 February to the 28th).
fn years_before(date: &str, years: i32) -> String {
    let y: i32 = date[..4].parse().unwrap_or(2000) - years;
    let rest = if &date[4..] == "-02-29" {
        "-02-28"
    } else {
        &date[4..]
    };
    format!("{y:04}{rest}")
}

/// `attempt` until it succeeds, for a minute at most when `wait` (an
/// embedded store): sled lets go of its lock from background threads a
/// while after the last handle is dropped, and an open meanwhile (here, or
/// by `serve`) fails.
fn retrying<T>(wait: bool, mut attempt: impl FnMut() -> Result<T, String>) -> Result<T, String> {
    let started = Instant::now();
    loop {
        match attempt() {
            Err(e) if wait && started.elapsed() < Duration::from_secs(60) => {
                eprintln!("bench reports: {e}; trying again");
                std::thread::sleep(Duration::from_millis(200));
            }
            done => return done,
        }
    }
}

/// Runs the whole measurement.
pub fn reports(o: &Options) -> Result<ReportsFigures, String> {
    if o.rounds == 0 {
        return Err("give at least one round".into());
    }
    let run = run_id();
    let work = TempDir(std::env::temp_dir().join(format!(
        "ladderpost-bench-reports-{}-{run:x}",
        std::process::id()
    )));
    std::fs::create_dir_all(&work.0).map_err(|e| format!("{}: {e}", work.0.display()))?;
    let data = o.data.clone().unwrap_or_else(|| work.0.join("store"));
    let flags: Vec<String> = match &o.store {
        Some(url) => vec!["--store".into(), url.clone()],
        None => vec!["--data".into(), data.display().to_string()],
    };
    let cache_mb = crate::store::DEFAULT_CACHE / (1024 * 1024);
    let config = crate::store::Config::from_flags(o.store.as_deref(), &data, cache_mb)?;
    let embedded = o.store.is_none();
    let open = || {
        retrying(embedded, || {
            crate::store::open(&config)
                .map_err(|e| format!("cannot open the store {}: {e}", config.engine))
        })
    };

    // 1. The history: generated unless the store has one.
    let stored = {
        let opened = open()?;
        let n = opened.messages.count().map_err(|e| e.to_string());
        opened.messages.close().map_err(|e| e.to_string())?;
        n?
    };
    let generate_seconds = if stored == 0 {
        let filled = crate::generate::run(&crate::generate::GenerateFlags {
            data: o.store.is_none().then(|| data.clone()),
            store: o.store.clone(),
            cache_mb,
            clienten: o.clienten,
            metingen: o.metingen,
            gemeenten: o.gemeenten,
            seed: o.seed,
        })?;
        Some(filled.seconds)
    } else {
        eprintln!("bench reports: reusing the {stored} messages in the store");
        None
    };

    // 2. The export, and a credential for every municipality in it.
    let csv = work.0.join("metingen.csv");
    let (exported, export_seconds, token) = {
        let opened = open()?;
        let started = Instant::now();
        let exported = export(&*opened.messages, &csv);
        let export_seconds = started.elapsed().as_secs_f64();
        let token = exported.as_ref().map_err(Clone::clone).and_then(|e| {
            let mut codes: Vec<String> = e.clients.keys().cloned().collect();
            codes.sort();
            credential(&opened, &codes, run)
        });
        opened.messages.close().map_err(|e| e.to_string())?;
        (exported?, export_seconds, token?)
    };
    let largest = exported
        .clients
        .iter()
        .max_by_key(|(g, n)| (**n, std::cmp::Reverse((*g).clone())))
        .map(|(g, _)| g.clone())
        .ok_or("the store holds no measurements")?;

    // 3. The SQL engines, loaded before the service starts.
    eprintln!(
        "bench reports: {} messages exported; loading SQLite and DuckDB",
        exported.messages
    );
    let mut sql = Sql::start(&csv, &work.0)?;

    // 4. The service, and its memory while it answers.
    let served = retrying(embedded, || serve(&flags))?;
    let rt = client_runtime()?;
    let http = http_client(&token)?;
    rt.block_on(async {
        let started = Instant::now();
        loop {
            let ready = http
                .get(format!("{}/health", served.base))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(600) {
                return Err("the service did not become healthy in 10 minutes".to_string());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })?;
    let resident_at_rest = served.resident();
    let pid = served.pid();
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        std::thread::spawn(move || {
            let mut peak = None;
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(super::resident_of(&pid.to_string()));
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        })
    };

    // 5. Every question on every engine, round after round.
    let peildatum = crate::generate::model::LAST_DAY;
    let van = years_before(peildatum, 1);
    let jaar: u16 = peildatum[..4].parse::<u16>().map_err(|e| e.to_string())? - 1;
    let questions = questions(&largest, peildatum, &van, jaar);
    let mut rows: Vec<Row> = questions
        .iter()
        .map(|q| Row {
            question: q.label.clone(),
            ladderpost: Times::default(),
            sqlite: Times::default(),
            duckdb: Times::default(),
            clienten: 0,
        })
        .collect();
    let asked = (|| {
        for round in 0..o.rounds {
            for (q, row) in questions.iter().zip(rows.iter_mut()) {
                let started = Instant::now();
                let body = rt.block_on(async {
                    let r = http
                        .get(format!("{}{}", served.base, q.path))
                        .send()
                        .await
                        .map_err(|e| format!("GET {}: {e}", q.path))?;
                    let status = r.status();
                    let body = r
                        .bytes()
                        .await
                        .map_err(|e| format!("GET {}: {e}", q.path))?;
                    if !status.is_success() {
                        return Err(format!(
                            "GET {}: {status}: {}",
                            q.path,
                            String::from_utf8_lossy(&body)
                        ));
                    }
                    Ok(body)
                })?;
                row.ladderpost.0.push(started.elapsed().as_secs_f64());
                let ours: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
                let ours = ladderpost_rows(&ours);
                if round == 0 {
                    row.clienten = clienten(&ours);
                }
                for (engine, times) in [("sqlite", &mut row.sqlite), ("duckdb", &mut row.duckdb)] {
                    let (theirs, seconds) = sql.ask(engine, &q.sql)?;
                    times.0.push(seconds);
                    same(&q.label, engine, &ours, &sql_rows(&theirs))?;
                }
                // Progress: a national run takes a while.
                eprintln!(
                    "bench reports: round {}/{}, {}: ladderpost {:.3} s, SQLite {:.3} s, DuckDB {:.3} s",
                    round + 1,
                    o.rounds,
                    q.label,
                    row.ladderpost.0[round],
                    row.sqlite.0[round],
                    row.duckdb.0[round]
                );
            }
        }
        Ok::<_, String>(())
    })();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let resident_peak = sampler.join().ok().flatten();
    asked?;
    served.stop()?;
    Ok(ReportsFigures {
        messages: exported.messages,
        generate_seconds,
        export_seconds,
        load_sqlite: sql.load_sqlite,
        load_duckdb: sql.load_duckdb,
        largest,
        gemeenten: exported.clients.len(),
        rows,
        resident_at_rest,
        resident_peak,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_before_and_the_median_of_the_rounds() {
        assert_eq!(years_before("2026-06-30", 1), "2025-06-30");
        assert_eq!(years_before("2024-02-29", 1), "2023-02-28");
        assert_eq!(Times(vec![3.0, 1.0, 2.0]).median(), 2.0);
        assert_eq!(Times(vec![4.0, 1.0, 2.0, 3.0]).median(), 2.5);
        assert_eq!(Times(vec![4.0, 1.0]).max(), 4.0);
    }

    #[test]
    fn answers_compare_as_their_non_zero_rows() {
        let ours = ladderpost_rows(&json!({
            "treden": [{"trede": 0, "clienten": 0, "groeipotentieel": 0},
                       {"trede": 3, "clienten": 5, "groeipotentieel": 2}],
            "srg": [{"srg": "99", "clienten": 0}, {"srg": "3", "clienten": 5}],
        }));
        let theirs = sql_rows(&json!({"treden": [[3, 5, 2]], "srg": [["3", 5]]}));
        assert!(same("q", "sqlite", &ours, &theirs).is_ok());
        assert_eq!(clienten(&ours), 5);
        let other = sql_rows(&json!({"treden": [[3, 4, 2]], "srg": [["3", 5]]}));
        let err = same("q", "sqlite", &ours, &other).unwrap_err();
        assert!(err.contains("[3,5,2]") && err.contains("[3,4,2]"), "{err}");
    }
}
