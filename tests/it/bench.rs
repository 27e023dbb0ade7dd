//! The benchmark commands run end to end and report what they measured
//! (tiny runs: the figures themselves are never asserted; they are
//! recorded in docs/performance.md).

use std::process::Command;

fn bench(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .arg("bench")
        .args(args)
        .output()
        .expect("run ladderpost bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "bench {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The number in the column before `label` on the line that contains it.
fn figure(report: &str, label: &str) -> f64 {
    let line = report
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no line with {label:?} in {report}"));
    line.split_whitespace()
        .find_map(|w| w.parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no figure in {line:?}"))
}

#[test]
fn ingest_reports_both_endpoints_at_each_concurrency() {
    let report = bench(&["ingest", "--seconds", "0.3", "--senders", "1,4"]);
    for senders in ["1", "4"] {
        for endpoint in ["/api/v1/berichten/_valideer", "/api/v1/berichten (durable)"] {
            let row = report
                .lines()
                .find(|l| l.split_whitespace().next() == Some(senders) && l.contains(endpoint))
                .unwrap_or_else(|| panic!("no row for {senders} {endpoint}: {report}"));
            let per_second = figure(&row[row.find(endpoint).unwrap() + endpoint.len()..], "");
            assert!(per_second > 0.0, "{row}");
        }
    }
    assert!(
        report.contains("durable / validate-only at 4 senders"),
        "{report}"
    );
}

#[test]
fn delivery_reads_and_pushes_every_message() {
    let report = bench(&["delivery", "--messages", "300"]);
    assert!(figure(&report, "feed: one pull client") > 0.0, "{report}");
    assert!(figure(&report, "push: one subscription") > 0.0, "{report}");
}

#[test]
fn startup_reopens_a_filled_store() {
    let report = bench(&["startup", "--messages", "300"]);
    assert!(figure(&report, "to open the store") > 0.0, "{report}");
}

#[test]
fn ingest_runs_on_postgresql_too() {
    let Some(db) = crate::common::postgres::database() else {
        return;
    };
    let report = bench(&[
        "ingest",
        "--seconds",
        "0.3",
        "--senders",
        "2",
        "--store",
        &db.url,
    ]);
    assert!(report.contains("on PostgreSQL"), "{report}");
    let row = report
        .lines()
        .find(|l| l.contains("(durable)"))
        .unwrap_or_else(|| panic!("{report}"));
    let per_second = figure(&row[row.find("(durable)").unwrap() + 9..], "");
    assert!(per_second > 0.0, "{row}");
}

#[test]
fn scale_measures_a_generated_history_on_each_engine() {
    let mut stores = vec![None];
    let db = crate::common::postgres::database();
    if let Some(db) = &db {
        stores.push(Some(db.url.clone()));
    }
    for store in stores {
        let mut args = vec!["scale", "--messages", "2000", "--seconds", "0.3"];
        if let Some(url) = &store {
            args.extend(["--store", url.as_str()]);
        }
        let report = bench(&args);
        assert!(figure(&report, "messages stored") >= 2000.0, "{report}");
        assert!(figure(&report, "start-up to /health") > 0.0, "{report}");
        assert!(figure(&report, "empty store") > 0.0, "{report}");
        assert!(figure(&report, "feed, one reader") > 0.0, "{report}");
        assert!(
            figure(&report, "bytes on disk per message") > 0.0,
            "{report}"
        );
    }
}

#[test]
fn reports_agree_with_sqlite_and_duckdb_on_each_engine_and_reuse_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store");
    let mut stores = vec![vec!["--data".to_string(), data.display().to_string()]];
    let db = crate::common::postgres::database();
    if let Some(db) = &db {
        stores.push(vec!["--store".to_string(), db.url.clone()]);
    }
    for store in stores {
        let mut args = vec![
            "reports",
            "--clienten",
            "300",
            "--metingen",
            "1200",
            "--gemeenten",
            "3",
            "--rounds",
            "1",
        ];
        args.extend(store.iter().map(String::as_str));
        // The bench fails unless the three engines give the same answers.
        let report = bench(&args);
        assert!(figure(&report, "generated in") >= 1200.0, "{report}");
        // The clients column: the clients with a state at the date.
        let clients = |question: &str| -> u64 {
            let row = report
                .lines()
                .find(|l| l.starts_with(question))
                .unwrap_or_else(|| panic!("no row {question:?}: {report}"));
            row[question.len()..]
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no clients in {row:?}"))
        };
        let national = clients("stand alle ");
        assert!(national > 0 && national <= 300, "{report}");
        assert_eq!(clients("stand alle, groepeerOp=team"), national);
        assert_eq!(clients("stromen alle"), national);
        assert!(clients("jaar alle") <= national, "{report}");
        assert!(report.contains("serve resident at most"), "{report}");
        // Run again on the same store: reused, not generated again.
        let again = bench(&args);
        assert!(again.contains("(reused)"), "{again}");
    }
}
