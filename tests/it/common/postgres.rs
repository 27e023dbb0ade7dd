//! A fresh PostgreSQL database per test, on the server `.ci/run` starts
//! (`LADDERPOST_TEST_POSTGRES`: the URL of a database to connect to for
//! `CREATE DATABASE`). Without that variable the PostgreSQL variants are
//! skipped, except under CI (`CI` set), where they must run.

use std::sync::atomic::{AtomicU32, Ordering};

/// A database of its own, dropped with it.
pub struct TestDatabase {
    /// Its URL, for `--store` or `store::Config`.
    pub url: String,
    name: String,
    admin: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The synchronous client may not run on a thread that drives async tasks:
/// every statement here runs on a thread of its own.
fn on_a_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f)
        .join()
        .expect("a PostgreSQL helper thread")
}

fn execute(admin: &str, sql: String) -> Result<(), String> {
    let admin = admin.to_string();
    on_a_thread(move || {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .map_err(|e| format!("cannot connect to {admin}: {e}"))?;
        client.batch_execute(&sql).map_err(|e| e.to_string())
    })
}

/// A new, empty database, or `None` when no server was given (and this is
/// not CI).
pub fn database() -> Option<TestDatabase> {
    let Ok(admin) = std::env::var("LADDERPOST_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PostgreSQL tests: set LADDERPOST_TEST_POSTGRES (.ci/run does)"
        );
        eprintln!("no LADDERPOST_TEST_POSTGRES: skipping the PostgreSQL variant");
        return None;
    };
    let name = format!(
        "lp_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    execute(&admin, format!("DROP DATABASE IF EXISTS {name}"))
        .and_then(|()| execute(&admin, format!("CREATE DATABASE {name}")))
        .unwrap_or_else(|e| panic!("{e}"));
    // The same server and credentials, the new database.
    let base = admin
        .rsplit_once('/')
        .map_or(admin.as_str(), |(base, _)| base);
    Some(TestDatabase {
        url: format!("{base}/{name}"),
        name,
        admin,
    })
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = execute(
            &self.admin,
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}
