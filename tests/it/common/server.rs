//! Test servers, each on port 0 with its own data directory, in two kinds:
//!
//! - [`Server`]: the app in-process (`ladderpost::server::bind`, the flags
//!   parsed by the binary's own [`ServeFlags`]), on its own thread and
//!   runtime. Most tests use it: starting one costs milliseconds, not a
//!   process and two `admin` processes.
//! - [`Process`]: the real `ladderpost serve` as a child process, where a
//!   process is the point: `kill -9`, the exit status on SIGTERM, what it
//!   prints on stdout, its log (the tracing subscriber is process-wide).
//!
//! Both give a [`Service`] (address, data directory, tokens) through
//! `Deref`, so helpers take `&Service` and serve either kind.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use ladderpost::server::{ServeFlags, Settings};

/// The `serve` flag the tests' receivers need: they listen on loopback,
/// which subscriptions may not use by default.
pub const LOCAL_RECEIVERS: &str = "--allow-private-receivers";

/// Every municipality the tests use.
pub const TEST_GEMEENTEN: &str = "0363,0599,0344,0518,0014,0534,0553,1525";

/// The roles of the test organisation's token.
const TEST_ROLLEN: &str = "aanleveren,afnemen,rapporteren,beheer";

/// Longest wait for a server to stop: generous, a loaded machine is slow.
const STOP_WAIT: Duration = Duration::from_secs(60);

/// What a test reaches a running server by, whichever kind it is.
#[derive(Clone)]
pub struct Service {
    pub base: String,
    pub data: PathBuf,
    /// The token of organisation `test` (all test municipalities, all four
    /// roles), created before the first start on `data`.
    pub token: String,
    /// The `beheer` token of the first start on `data`.
    pub beheer: Option<String>,
}

impl Service {
    /// A client sending the test organisation's token.
    pub fn client(&self) -> reqwest::Client {
        self.client_builder().build().expect("reqwest client")
    }

    /// A client builder with the test organisation's token as a default
    /// header.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        client_for(&self.token)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Runs `ladderpost admin --data DATA ARGS…` (the server must be stopped);
/// its stdout.
pub fn admin(data: &Path, args: &[&str]) -> String {
    admin_on(data, None, args)
}

/// Like [`admin`], on the PostgreSQL store `store` when given.
pub fn admin_on(data: &Path, store: Option<&str>, args: &[&str]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ladderpost"));
    command.arg("admin").arg("--data").arg(data);
    if let Some(url) = store {
        command.args(["--store", url]);
    }
    let out = command.args(args).output().expect("run ladderpost admin");
    assert!(
        out.status.success(),
        "ladderpost admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The `token: …` line of `admin sleutel maken`.
pub fn token_of(output: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .unwrap_or_else(|| panic!("no token in {output:?}"))
        .to_string()
}

/// Where the harness keeps a data directory's tokens: beside it (never in
/// it), so restarts on the same store find them.
fn token_file(data: &Path, which: &str) -> PathBuf {
    let name = data
        .file_name()
        .map_or("data".into(), |n| n.to_string_lossy().to_string());
    data.with_file_name(format!(".{name}.{which}-token"))
}

/// Keeps the beheer token a first start showed (`None` on later starts);
/// the one kept, if any.
fn keep_beheer(data: &Path, shown: Option<&str>) -> Option<String> {
    if let Some(t) = shown {
        std::fs::write(token_file(data, "beheer"), t).expect("write the token file");
        return Some(t.to_string());
    }
    std::fs::read_to_string(token_file(data, "beheer")).ok()
}

/// A client builder sending `token`.
pub fn client_for(token: &str) -> reqwest::ClientBuilder {
    reqwest::Client::builder().default_headers(bearer(token))
}

/// Default headers with `Authorization: Bearer TOKEN`.
pub fn bearer(token: &str) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    let mut v =
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header value");
    v.set_sensitive(true);
    h.insert(reqwest::header::AUTHORIZATION, v);
    h
}

// ---------------------------------------------------------------------------
// In-process
// ---------------------------------------------------------------------------

/// `serve`'s own flags, parsed as the binary parses them.
#[derive(Parser)]
struct Serve {
    #[command(flatten)]
    flags: ServeFlags,
}

fn settings(data: &Path, extra: &[&str]) -> Settings {
    let data = data.to_str().expect("UTF-8 data path");
    let args = ["serve", "--listen", "127.0.0.1:0", "--data", data]
        .into_iter()
        .chain(extra.iter().copied());
    Serve::try_parse_from(args)
        .unwrap_or_else(|e| panic!("serve flags {extra:?}: {e}"))
        .flags
        .settings()
        .unwrap_or_else(|e| panic!("serve flags {extra:?}: {e}"))
}

/// The app in-process on its own thread and tokio runtime (so sync and
/// async tests alike can start and stop it). Dropping it stops it at once;
/// [`Server::stop`] stops it gracefully. Either way the thread is joined,
/// so the store (sled locks its directory) is closed when they return and a
/// restart on the same data can follow.
pub struct Server {
    service: Service,
    /// Sent: graceful shutdown, as on SIGTERM.
    graceful: Option<tokio::sync::oneshot::Sender<()>>,
    /// Dropped: stop serving now (what a drop does).
    abort: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl std::ops::Deref for Server {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.service
    }
}

/// What the server thread reports once it listens.
struct Ready {
    base: String,
    token: String,
    beheer: Option<String>,
}

impl Server {
    /// Starts the app on `data` (which may hold an earlier run's store).
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    /// Like [`Server::start`], with `serve` flags.
    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        let settings = settings(data, extra);
        let scheme = if settings.transport.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let data = data.to_path_buf();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<Ready, String>>();
        let (graceful, graceful_rx) = tokio::sync::oneshot::channel::<()>();
        let (abort, abort_rx) = tokio::sync::oneshot::channel::<()>();
        let dir = data.clone();
        let thread = std::thread::Builder::new()
            .name("ladderpost-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("tokio runtime");
                let bound = match runtime.block_on(bind(settings)) {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Ok(());
                    }
                };
                let token = test_token(&dir, bound.auth());
                let beheer = keep_beheer(&dir, bound.beheer_token());
                let base = format!("{scheme}://{}", bound.addr());
                let _ = ready_tx.send(Ok(Ready {
                    base,
                    token,
                    beheer,
                }));
                let served = runtime.block_on(async move {
                    let shutdown = async move {
                        let _ = graceful_rx.await;
                    };
                    tokio::select! {
                        biased;
                        _ = abort_rx => Ok(()),
                        r = bound.serve(shutdown) => r.map_err(|e| e.to_string()),
                    }
                });
                // Cancels what is left and waits for blocking tasks: no
                // store reference outlives the thread.
                drop(runtime);
                served
            })
            .expect("spawn the server thread");
        let ready = match ready_rx.recv() {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => panic!("the server did not start on {}: {e}", data.display()),
            Err(_) => {
                let why = match thread.join() {
                    Err(p) => panic_text(&p),
                    Ok(r) => format!("{r:?}"),
                };
                panic!("the server thread ended before listening: {why}")
            }
        };
        Server {
            service: Service {
                base: ready.base,
                data,
                token: ready.token,
                beheer: ready.beheer,
            },
            graceful: Some(graceful),
            abort: Some(abort),
            thread: Some(thread),
        }
    }

    /// Graceful shutdown, as on SIGTERM (long polls answered, requests in
    /// flight finished, deliveries drained, the store flushed); panics if
    /// the server failed or has not stopped within a generous wait.
    pub fn stop(mut self) {
        if let Some(g) = self.graceful.take() {
            let _ = g.send(());
        }
        let thread = self.thread.take().expect("server thread");
        let deadline = Instant::now() + STOP_WAIT;
        while !thread.is_finished() {
            // Dropping `self` on this panic stops it at once.
            assert!(
                Instant::now() < deadline,
                "the server did not stop within {STOP_WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        match thread.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the server failed: {e}"),
            Err(p) => panic!("the server thread panicked: {}", panic_text(&p)),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.abort.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// `bind`, waiting (generously) while the store's lock is still held: sled
/// may finish a background write of the previous server on `data` after
/// that server's thread has ended.
async fn bind(settings: Settings) -> Result<ladderpost::server::Bound, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ladderpost::server::bind(settings.clone()).await {
            Ok(b) => return Ok(b),
            Err(e) => {
                let why = e.to_string();
                if !why.contains("lock") || Instant::now() > deadline {
                    return Err(why);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The test organisation's token for `data`, created on first use with
/// the service's own credentials (as `ladderpost admin` would).
fn test_token(data: &Path, auth: &ladderpost::auth::Auth) -> String {
    let file = token_file(data, "test");
    if let Ok(t) = std::fs::read_to_string(&file) {
        return t;
    }
    auth.add_organisation(ladderpost::auth::service::NieuweOrganisatie {
        id: "test".into(),
        naam: "Testorganisatie".into(),
        gemeenten: TEST_GEMEENTEN.split(',').map(str::to_string).collect(),
        oin: None,
        rollen_bij_certificaat: Vec::new(),
    })
    .expect("add organisation test");
    let rollen: Vec<String> = TEST_ROLLEN.split(',').map(str::to_string).collect();
    let (_, token) = auth
        .add_credential("test", &rollen, None)
        .expect("a credential for test");
    std::fs::write(&file, &token).expect("write the token file");
    token
}

// ---------------------------------------------------------------------------
// Child process
// ---------------------------------------------------------------------------

/// The real `ladderpost serve` as a child process; killed when dropped.
pub struct Process {
    service: Service,
    child: Child,
    /// Whether this start printed a `beheer-token:` line.
    pub printed_beheer: bool,
    /// stderr (the log), when started with [`Process::start_capturing`].
    log: Option<std::sync::Arc<std::sync::Mutex<String>>>,
}

impl std::ops::Deref for Process {
    type Target = Service;
    fn deref(&self) -> &Service {
        &self.service
    }
}

/// The test organisation's token for `data`, created on first use with
/// `ladderpost admin` (before the server starts: sled locks the store) on
/// the store the `serve` flags `extra` name.
fn test_token_by_cli(data: &Path, extra: &[&str]) -> String {
    let store = extra
        .iter()
        .position(|f| *f == "--store")
        .and_then(|i| extra.get(i + 1).copied());
    let file = token_file(data, "test");
    if let Ok(t) = std::fs::read_to_string(&file) {
        return t;
    }
    admin_on(
        data,
        store,
        &[
            "organisatie",
            "toevoegen",
            "--id",
            "test",
            "--naam",
            "Testorganisatie",
            "--gemeenten",
            TEST_GEMEENTEN,
        ],
    );
    let token = token_of(&admin_on(
        data,
        store,
        &[
            "sleutel",
            "maken",
            "--organisatie",
            "test",
            "--rollen",
            TEST_ROLLEN,
        ],
    ));
    std::fs::write(&file, &token).expect("write the token file");
    token
}

impl Process {
    /// Starts `ladderpost serve` on `data` (which may hold an earlier
    /// run's store).
    pub fn start(data: &Path) -> Process {
        Process::start_with(data, &[])
    }

    pub fn start_with(data: &Path, extra: &[&str]) -> Process {
        Process::start_logging(data, extra, "warn")
    }

    /// Like [`Process::start_with`], with the `LADDERPOST_LOG` filter given
    /// (tests that provoke many delivery failures use `error`).
    pub fn start_logging(data: &Path, extra: &[&str], log: &str) -> Process {
        Process::spawn(data, extra, log, false)
    }

    /// Like [`Process::start_logging`], keeping the log (stderr) for
    /// [`Process::log`].
    pub fn start_capturing(data: &Path, log: &str) -> Process {
        Process::spawn(data, &[], log, true)
    }

    /// The log so far (only for [`Process::start_capturing`]).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .map(|l| l.lock().unwrap().clone())
            .unwrap_or_default()
    }

    fn spawn(data: &Path, extra: &[&str], log: &str, capture: bool) -> Process {
        let token = test_token_by_cli(data, extra);
        let mut child = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra)
            .env("LADDERPOST_LOG", log)
            .stdout(Stdio::piped())
            .stderr(if capture {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("spawn ladderpost serve");
        let captured = child.stderr.take().map(|mut stderr| {
            let buffer = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
            let sink = buffer.clone();
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = std::io::Read::read(&mut stderr, &mut chunk) {
                    if n == 0 {
                        break;
                    }
                    sink.lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            });
            buffer
        });
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("read the first line");
        // The first start on a store prints the beheer token first.
        let shown = line
            .trim()
            .strip_prefix("beheer-token: ")
            .map(str::to_string);
        let printed_beheer = shown.is_some();
        let beheer = keep_beheer(data, shown.as_deref());
        if printed_beheer {
            line.clear();
            reader
                .read_line(&mut line)
                .expect("read the listening line");
        }
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Process {
            service: Service {
                base,
                data: data.to_path_buf(),
                token,
                beheer,
            },
            child,
            printed_beheer,
            log: captured,
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait (generously) for the exit; its status code, or
    /// `None` when it had to be killed.
    pub fn stop(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + STOP_WAIT;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
