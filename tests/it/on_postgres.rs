//! The API tests and the crash test again, on the PostgreSQL engine: the
//! same files, compiled a second time with this module's `common`, whose
//! `Server` and `Process` start ladderpost with `--store` on a database of
//! their own (one per data directory, so a restart finds its messages).
//! Both engines must answer exactly alike.
//!
//! Without `LADDERPOST_TEST_POSTGRES` (outside `.ci/run`), they run on the
//! embedded engine again, saying so; under CI that is refused.

pub mod common {
    pub use crate::common::{fixtures, manifest, messages, reply, root};

    pub mod server {
        pub use super::super::engine::{Process, Server};
        pub use crate::common::server::*;
    }
}

mod engine {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex, OnceLock};

    use crate::common::postgres::{database, TestDatabase};
    use crate::common::server::{self, Service};

    /// The database of each data directory, kept for the whole run: a test
    /// that restarts its server must find the same database again.
    fn store_flag(data: &Path) -> Option<String> {
        static DATABASES: OnceLock<Mutex<HashMap<PathBuf, Option<Arc<TestDatabase>>>>> =
            OnceLock::new();
        let mut all = DATABASES
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        all.entry(data.to_path_buf())
            .or_insert_with(|| database().map(Arc::new))
            .as_ref()
            .map(|db| db.url.clone())
    }

    fn with_store(data: &Path, extra: &[&str]) -> Vec<String> {
        let mut flags: Vec<String> = match store_flag(data) {
            Some(url) => vec!["--store".into(), url],
            None => Vec::new(),
        };
        flags.extend(extra.iter().map(|s| s.to_string()));
        flags
    }

    fn refs(flags: &[String]) -> Vec<&str> {
        flags.iter().map(String::as_str).collect()
    }

    /// [`server::Server`] on PostgreSQL.
    pub struct Server(server::Server);

    impl Server {
        pub fn start(data: &Path) -> Server {
            Server::start_with(data, &[])
        }

        pub fn start_with(data: &Path, extra: &[&str]) -> Server {
            let flags = with_store(data, extra);
            Server(server::Server::start_with(data, &refs(&flags)))
        }

        pub fn stop(self) {
            self.0.stop()
        }
    }

    impl std::ops::Deref for Server {
        type Target = Service;
        fn deref(&self) -> &Service {
            &self.0
        }
    }

    /// [`server::Process`] on PostgreSQL: `kill -9` takes the service, not
    /// the database.
    pub struct Process(server::Process);

    impl Process {
        pub fn start_with(data: &Path, extra: &[&str]) -> Process {
            let flags = with_store(data, extra);
            Process(server::Process::start_with(data, &refs(&flags)))
        }

        pub fn kill(self) {
            self.0.kill()
        }

        pub fn stop(self) -> Option<i32> {
            self.0.stop()
        }
    }

    impl std::ops::Deref for Process {
        type Target = Service;
        fn deref(&self) -> &Service {
            &self.0
        }
    }
}

// The point: the same files, a second time, with this module's harness.
#[allow(clippy::duplicate_mod)]
#[path = "api.rs"]
mod api;
#[allow(clippy::duplicate_mod)]
#[path = "crash.rs"]
mod crash;
#[allow(clippy::duplicate_mod)]
#[path = "reports.rs"]
mod reports;
