//! Push receivers for the delivery tests.
//!
//! [`TestReceiver`]: an in-process HTTP/1.1 receiver on an ephemeral port,
//! written on raw tokio sockets so that it can misbehave in every way a
//! real back-office does: answer 500, hang past the push timeout, or close
//! the connection without an answer. It verifies every delivery's Standard
//! Webhooks signature with the subscription's secret and records every
//! attempt and every accepted delivery.
//!
//! [`ReceiveChild`]: the real `ladderpost receive` as a child process,
//! killed when dropped.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ladderpost::delivery::signature::Secret;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the test receiver answers a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// 200 for a correctly signed delivery (401 for a bad signature).
    Accept,
    /// 200 for anything, signed or not: a broken receiver.
    AcceptAnything,
    /// 500 Internal Server Error.
    Fail,
    /// Reads the request and never answers (until the sender gives up).
    Hang,
    /// Reads the request and closes the connection without an answer.
    Close,
    /// 307 to `http://ADDR/elders`.
    Redirect(SocketAddr),
}

/// One delivery the receiver answered 200 to.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub volgnummer: u64,
    pub soort: String,
    pub timestamp: i64,
    pub body: Vec<u8>,
    pub path: String,
}

/// One request, whatever its fate.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub id: String,
    pub volgnummer: u64,
    /// The mode that answered it; `None` if it was refused for its
    /// signature.
    pub mode: Option<Mode>,
}

#[derive(Default)]
struct Shared {
    mode: Option<Mode>,
    /// Ids answered with 500 whatever the mode (a message the receiver
    /// cannot take).
    fail_ids: HashSet<String>,
    secret: Option<Secret>,
    accepted: Vec<Delivery>,
    attempts: Vec<Attempt>,
    bad_signatures: Vec<String>,
}

/// The in-process receiver; its task ends when dropped.
pub struct TestReceiver {
    pub addr: SocketAddr,
    /// `https` when started with [`TestReceiver::start_tls`].
    scheme: &'static str,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestReceiver {
    /// Binds 127.0.0.1:0 and serves in the current tokio runtime.
    pub async fn start(mode: Mode) -> TestReceiver {
        TestReceiver::serve(mode, None).await
    }

    /// Like [`TestReceiver::start`], over TLS with this configuration.
    pub async fn start_tls(mode: Mode, tls: Arc<rustls::ServerConfig>) -> TestReceiver {
        TestReceiver::serve(mode, Some(tokio_rustls::TlsAcceptor::from(tls))).await
    }

    async fn serve(mode: Mode, tls: Option<tokio_rustls::TlsAcceptor>) -> TestReceiver {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let shared = Arc::new(Mutex::new(Shared {
            mode: Some(mode),
            ..Shared::default()
        }));
        let s = shared.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => match &tls {
                        None => {
                            connections.spawn(connection(stream, s.clone()));
                        }
                        Some(acceptor) => {
                            let (acceptor, s) = (acceptor.clone(), s.clone());
                            connections.spawn(async move {
                                // A client that does not trust us ends here.
                                if let Ok(stream) = acceptor.accept(stream).await {
                                    connection(stream, s).await;
                                }
                            });
                        }
                    },
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
                while connections.try_join_next().is_some() {}
            }
        });
        TestReceiver {
            addr,
            scheme,
            shared,
            task,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The URL to register, with a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    pub fn set_secret(&self, secret: &str) {
        self.lock().secret = Some(Secret::parse(secret).expect("a whsec_ secret"));
    }

    pub fn set_mode(&self, mode: Mode) {
        self.lock().mode = Some(mode);
    }

    pub fn set_fail_ids(&self, ids: &[&str]) {
        self.lock().fail_ids = ids.iter().map(|s| s.to_string()).collect();
    }

    pub fn accepted(&self) -> Vec<Delivery> {
        self.lock().accepted.clone()
    }

    pub fn accepted_ids(&self) -> Vec<String> {
        self.lock().accepted.iter().map(|d| d.id.clone()).collect()
    }

    pub fn attempts(&self) -> Vec<Attempt> {
        self.lock().attempts.clone()
    }

    /// Attempts answered in `mode`.
    pub fn attempts_in(&self, mode: Mode) -> usize {
        self.lock()
            .attempts
            .iter()
            .filter(|a| a.mode == Some(mode))
            .count()
    }

    /// Ids of deliveries refused for a wrong or missing signature.
    pub fn bad_signatures(&self) -> Vec<String> {
        self.lock().bad_signatures.clone()
    }

    /// How often each id was accepted.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for d in &self.lock().accepted {
            *m.entry(d.id.clone()).or_insert(0) += 1;
        }
        m
    }

    /// The accepted deliveries in order of first receipt, one per id.
    pub fn first_receipts(&self) -> Vec<Delivery> {
        let mut seen = HashSet::new();
        self.lock()
            .accepted
            .iter()
            .filter(|d| seen.insert(d.id.clone()))
            .cloned()
            .collect()
    }
}

struct Request {
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// Reads one request; `None` at the end of the connection.
async fn read_request<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> Option<Request> {
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?;
    let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
    let mut headers = HashMap::new();
    for line in lines {
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = buf[head_end..head_end + length].to_vec();
    buf.drain(..head_end + length);
    Some(Request {
        path,
        headers,
        body,
    })
}

async fn respond<S: AsyncWrite + Unpin>(stream: &mut S, status: &str, text: &str) -> bool {
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{text}",
        text.len()
    );
    stream.write_all(response.as_bytes()).await.is_ok()
}

async fn connection<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, shared: Arc<Mutex<Shared>>) {
    let mut buf = Vec::new();
    while let Some(request) = read_request(&mut stream, &mut buf).await {
        let h = |name: &str| request.headers.get(name).cloned();
        let id = h("webhook-id").unwrap_or_default();
        let volgnummer: u64 = h("ladderpost-volgnummer")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let timestamp: Option<i64> = h("webhook-timestamp").and_then(|v| v.parse().ok());
        let (mode, verdict) = {
            let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
            let mode = s.mode.unwrap_or(Mode::Accept);
            let signed = match (&s.secret, timestamp, h("webhook-signature")) {
                (Some(secret), Some(ts), Some(sig)) => {
                    let now = ladderpost::time::Moment::now().0 / 1_000_000;
                    secret.verify(&id, ts, &request.body, &sig, now).is_ok()
                }
                _ => false,
            };
            let mode = if s.fail_ids.contains(&id) && mode == Mode::Accept {
                Mode::Fail
            } else {
                mode
            };
            let refused = mode == Mode::Accept && !signed;
            s.attempts.push(Attempt {
                id: id.clone(),
                volgnummer,
                mode: (!refused).then_some(mode),
            });
            if refused {
                s.bad_signatures.push(id.clone());
            } else if matches!(mode, Mode::Accept | Mode::AcceptAnything) {
                s.accepted.push(Delivery {
                    id: id.clone(),
                    volgnummer,
                    soort: h("ladderpost-soort").unwrap_or_default(),
                    timestamp: timestamp.unwrap_or(0),
                    body: request.body.clone(),
                    path: request.path.clone(),
                });
            }
            (mode, refused)
        };
        let ok = match (mode, verdict) {
            (_, true) => respond(&mut stream, "401 Unauthorized", "bad signature\n").await,
            (Mode::Accept | Mode::AcceptAnything, _) => {
                respond(&mut stream, "200 OK", "stored\n").await
            }
            (Mode::Fail, _) => respond(&mut stream, "500 Internal Server Error", "down\n").await,
            (Mode::Hang, _) => {
                // Never answer: wait for the sender to give up and close.
                let mut sink = [0u8; 1024];
                let _ = tokio::time::timeout(Duration::from_secs(120), async {
                    while let Ok(n) = stream.read(&mut sink).await {
                        if n == 0 {
                            break;
                        }
                    }
                })
                .await;
                false
            }
            (Mode::Close, _) => false,
            (Mode::Redirect(to), _) => {
                let response = format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://{to}/elders\r\ncontent-length: 0\r\n\r\n"
                );
                stream.write_all(response.as_bytes()).await.is_ok()
            }
        };
        if !ok {
            return;
        }
    }
}

// ---------------------------------------------------------------------------
// `ladderpost receive` as a child
// ---------------------------------------------------------------------------

/// The real reference receiver; killed (SIGKILL) when dropped.
pub struct ReceiveChild {
    child: Child,
    pub addr: SocketAddr,
    pub out: PathBuf,
}

impl ReceiveChild {
    /// Starts `ladderpost receive` on `listen` (port 0 for any), writing to
    /// `out`; retries for a few seconds while the port is still taken.
    pub fn start(listen: &str, secret: &str, out: &Path) -> ReceiveChild {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        loop {
            let mut child = Command::new(env!("CARGO_BIN_EXE_ladderpost"))
                .args(["receive", "--listen", listen, "--out"])
                .arg(out)
                .env("LADDERPOST_SECRET", secret)
                .env("LADDERPOST_LOG", "error")
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn ladderpost receive");
            let stdout = child.stdout.take().expect("stdout");
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            if let Some(addr) = line.trim().strip_prefix("listening on http://") {
                return ReceiveChild {
                    addr: addr.parse().expect("receiver address"),
                    child,
                    out: out.to_path_buf(),
                };
            }
            let _ = child.kill();
            let status = child.wait();
            assert!(
                std::time::Instant::now() < deadline,
                "ladderpost receive did not start on {listen}: {status:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// `kill -9`.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ReceiveChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What `ladderpost receive` wrote to `dir`: the `<volgnummer>-<id>.xml`
/// files (id → (volgnummer, bytes)) and the `received.log` lines.
pub struct Inbox {
    pub files: BTreeMap<String, (u64, Vec<u8>)>,
    /// Every file name, to see duplicates under other numbers.
    pub names: Vec<String>,
    pub log: Vec<(u64, String)>,
}

pub fn read_inbox(dir: &Path) -> Inbox {
    let mut files = BTreeMap::new();
    let mut names = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".xml") else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let (n, id) = stem.split_once('-').expect("<volgnummer>-<id>.xml");
            let bytes = std::fs::read(e.path()).expect("read a received file");
            files.insert(id.to_string(), (n.parse().expect("volgnummer"), bytes));
            names.push(name);
        }
    }
    names.sort();
    let log = std::fs::read_to_string(dir.join("received.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let (n, id) = l.split_once(' ').expect("<volgnummer> <id>");
            (n.parse().expect("volgnummer"), id.to_string())
        })
        .collect();
    Inbox { files, names, log }
}
