//! The real `ladderpost serve` as a child process on an ephemeral port with
//! its own data directory; killed when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    child: Child,
    pub base: String,
    pub data: PathBuf,
    /// The token of organisation `test` (all test municipalities, all four
    /// roles), created with `ladderpost admin` before the first start.
    pub token: String,
    /// The `beheer` token the first start on `data` printed.
    pub beheer: Option<String>,
    /// Whether this start printed a `beheer-token:` line.
    pub printed_beheer: bool,
    /// stderr (the log), when started with [`Server::start_capturing`].
    log: Option<std::sync::Arc<std::sync::Mutex<String>>>,
}

/// The `serve` flag the tests' receivers need: they listen on loopback,
/// which subscriptions may not use by default.
pub const LOCAL_RECEIVERS: &str = "--allow-private-receivers";

/// Every municipality the tests use.
pub const TEST_GEMEENTEN: &str = "0363,0599,0344,0518,0014,0534,0553,1525";

/// Runs `ladderpost admin --data DATA ARGS…` (the server must be stopped);
/// its stdout.
pub fn admin(data: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
        .arg("admin")
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .expect("run ladderpost admin");
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

/// The test organisation's token for `data`, created on first use.
fn test_token(data: &Path) -> String {
    let file = token_file(data, "test");
    if let Ok(t) = std::fs::read_to_string(&file) {
        return t;
    }
    admin(
        data,
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
    let token = token_of(&admin(
        data,
        &[
            "sleutel",
            "maken",
            "--organisatie",
            "test",
            "--rollen",
            "aanleveren,afnemen,rapporteren,beheer",
        ],
    ));
    std::fs::write(&file, &token).expect("write the token file");
    token
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

impl Server {
    /// Starts a server on `data` (which may hold an earlier run's store).
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        Server::start_logging(data, extra, "warn")
    }

    /// Like [`Server::start_with`], with the `LADDERPOST_LOG` filter given
    /// (tests that provoke many delivery failures use `error`).
    pub fn start_logging(data: &Path, extra: &[&str], log: &str) -> Server {
        Server::spawn(data, extra, log, false)
    }

    /// Like [`Server::start_logging`], keeping the log (stderr) for
    /// [`Server::log`].
    pub fn start_capturing(data: &Path, log: &str) -> Server {
        Server::spawn(data, &[], log, true)
    }

    /// The log so far (only for [`Server::start_capturing`]).
    pub fn log(&self) -> String {
        self.log
            .as_ref()
            .map(|l| l.lock().unwrap().clone())
            .unwrap_or_default()
    }

    fn spawn(data: &Path, extra: &[&str], log: &str, capture: bool) -> Server {
        let token = test_token(data);
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
        let mut beheer = std::fs::read_to_string(token_file(data, "beheer")).ok();
        let printed_beheer = line.starts_with("beheer-token: ");
        if let Some(t) = line.trim().strip_prefix("beheer-token: ") {
            std::fs::write(token_file(data, "beheer"), t).expect("write the token file");
            beheer = Some(t.to_string());
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
        Server {
            child,
            base,
            data: data.to_path_buf(),
            token,
            beheer,
            printed_beheer,
            log: captured,
        }
    }

    /// A client sending the test organisation's token.
    pub fn client(&self) -> reqwest::Client {
        self.client_builder().build().expect("reqwest client")
    }

    /// A client builder with the test organisation's token as a default
    /// header.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder().default_headers(bearer(&self.token))
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `kill -9`: no chance to flush anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait for a clean exit; returns its exit status code.
    pub fn stop(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
