//! Connections for reads and short writes, each owned by a thread of its
//! own. The synchronous client drives its connection with a runtime of
//! its own, which may not run on a thread that is driving async tasks
//! already; callers (async handlers among them) hand the work over and
//! wait for its answer instead. The writer and the listener hold
//! connections of their own, on their own threads.

use std::str::FromStr;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use postgres::{Client, NoTls};

use crate::store::StoreError;

/// Threads, each with one connection.
const THREADS: usize = 4;

/// A PostgreSQL error as the store reports it. Only the error's kind and
/// PostgreSQL's message: never the values of a statement.
pub fn pg(e: postgres::Error) -> StoreError {
    StoreError::Unavailable(match e.as_db_error() {
        Some(db) => format!("PostgreSQL: {} ({})", db.message(), db.code().code()),
        None => format!("PostgreSQL: {e}"),
    })
}

type Task = Box<dyn FnOnce(&mut Slot) + Send>;

/// One thread's connection, made when first needed and again after it
/// broke.
struct Slot {
    config: Arc<postgres::Config>,
    client: Option<Client>,
}

impl Slot {
    fn client(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.client = Some(self.config.connect(NoTls).map_err(pg)?);
        }
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable("no connection to PostgreSQL".into()))
    }
}

pub struct Pool {
    config: Arc<postgres::Config>,
    tasks: Mutex<Option<mpsc::Sender<Task>>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Pool {
    pub fn new(url: &str) -> Result<Pool, StoreError> {
        let mut config = postgres::Config::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("the PostgreSQL URL: {e}")))?;
        // A database that does not answer is refused soon (503), not
        // waited for; keepalives notice a vanished server.
        config
            .connect_timeout(Duration::from_secs(5))
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30));
        if config.get_application_name().is_none() {
            config.application_name("ladderpost");
        }
        // An instance that froze in a writer round must not hold every
        // other instance's writes: the server ends its transaction (and
        // the lock) after 30 s idle, and no one waits for a lock longer.
        let options = format!(
            "{} -c idle_in_transaction_session_timeout=30000 -c lock_timeout=30000",
            config.get_options().unwrap_or("")
        );
        config.options(options.trim());
        let config = Arc::new(config);
        let (tx, rx) = mpsc::channel::<Task>();
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::with_capacity(THREADS);
        for i in 0..THREADS {
            let (rx, config) = (rx.clone(), config.clone());
            let thread = std::thread::Builder::new()
                .name(format!("ladderpost-pg-{i}"))
                .spawn(move || {
                    let mut slot = Slot {
                        config,
                        client: None,
                    };
                    loop {
                        let task = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match task {
                            Ok(task) => task(&mut slot),
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            threads.push(thread);
        }
        Ok(Pool {
            config,
            tasks: Mutex::new(Some(tx)),
            threads: Mutex::new(threads),
        })
    }

    /// A new connection of its own, for a thread that is not driving
    /// async tasks (TLS is not built in: run PostgreSQL on a private
    /// network or a Unix socket; docs/storage.md).
    pub fn connect(&self) -> Result<Client, StoreError> {
        self.config.connect(NoTls).map_err(pg)
    }

    /// Runs `f` on one of the pool's connections and waits for it; a
    /// connection that failed is made anew for the next task.
    pub fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (answer, answered) = mpsc::sync_channel(1);
        let task: Task = Box::new(move |slot| {
            let result = match slot.client() {
                Ok(client) => {
                    let result = f(client);
                    let broken = client.is_closed()
                        || result
                            .as_ref()
                            .err()
                            .is_some_and(|e| e.as_db_error().is_none());
                    if broken {
                        slot.client = None;
                    }
                    result.map_err(pg)
                }
                Err(e) => Err(e),
            };
            let _ = answer.send(result);
        });
        let sent = match &*self.tasks.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(tasks) => tasks.send(task).is_ok(),
            None => false,
        };
        if !sent {
            return Err(StoreError::Unavailable("the store is closed".into()));
        }
        answered
            .recv()
            .map_err(|_| StoreError::Unavailable("a PostgreSQL task failed".into()))?
    }

    /// Ends the threads once their queued work is done.
    fn close(&self) {
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).take();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|p| p.into_inner()));
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.close();
    }
}
