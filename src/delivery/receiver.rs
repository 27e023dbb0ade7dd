//! `ladderpost receive`: a reference receiver for push deliveries, and the
//! behaviour `ladderpost conformance` expects of a vendor's receiver.
//!
//! It verifies each delivery's signature and timestamp (401 otherwise),
//! answers a delivery it already has with 200 without storing it again
//! (deduplication on `webhook-id`, the message id), validates the message,
//! and writes it durably — file fsynced, then renamed, then the directory
//! fsynced — before answering 200. Files are named
//! `<volgnummer, 12 digits>-<message id>.xml`; `received.log` lists the ids
//! in the order they first arrived.

use std::collections::HashSet;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;

use super::signature::{Secret, VerifyError};

struct Inbox {
    dir: PathBuf,
    secret: Secret,
    /// Ids already stored; the lock also serialises writes.
    seen: Mutex<HashSet<String>>,
}

/// Runs the receiver until `shutdown` resolves. Prints
/// `listening on http://ADDR` to stdout.
pub async fn run(
    listen: SocketAddr,
    secret: Secret,
    dir: &Path,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some((n, id)) = name.strip_suffix(".xml").and_then(|n| n.split_once('-')) {
            seen.insert(id.to_string());
            files.push((n.parse::<u64>().unwrap_or(0), id.to_string()));
        }
    }
    // A stop between storing a file and logging it leaves the file
    // unlogged: log it now, so the log lists every stored message.
    let log_path = dir.join("received.log");
    let logged: HashSet<String> = std::fs::read_to_string(&log_path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, id)| id.to_string()))
        .collect();
    files.sort();
    let missing: Vec<_> = files
        .iter()
        .filter(|(_, id)| !logged.contains(id))
        .collect();
    if !missing.is_empty() {
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)?;
        for (n, id) in missing {
            writeln!(log, "{n} {id}")?;
        }
        log.sync_all()?;
    }
    let inbox = Arc::new(Inbox {
        dir: dir.to_path_buf(),
        secret,
        seen: Mutex::new(seen),
    });
    let app = Router::new()
        .route("/", post(receive))
        .route("/{*path}", post(receive))
        .with_state(inbox);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn receive(
    State(inbox): State<Arc<Inbox>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let (Some(id), Some(ts), Some(sig)) = (
        header(&headers, "webhook-id"),
        header(&headers, "webhook-timestamp"),
        header(&headers, "webhook-signature"),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "missing webhook-id, webhook-timestamp or webhook-signature\n".into(),
        );
    };
    let Ok(timestamp) = ts.parse::<i64>() else {
        return (
            StatusCode::BAD_REQUEST,
            "webhook-timestamp is not a number\n".into(),
        );
    };
    let now = crate::time::Moment::now().0 / 1_000_000;
    match inbox.secret.verify(id, timestamp, &body, sig, now) {
        Ok(()) => {}
        Err(e @ (VerifyError::Signature | VerifyError::Timestamp)) => {
            return (StatusCode::UNAUTHORIZED, format!("{e}\n"));
        }
    }
    // Ids become file names: only the schema's BerichtId characters.
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
    {
        return (
            StatusCode::BAD_REQUEST,
            "webhook-id is not a message id\n".into(),
        );
    }
    let volgnummer: u64 = header(&headers, "ladderpost-volgnummer")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let inbox2 = inbox.clone();
    let id = id.to_string();
    let stored = tokio::task::spawn_blocking(move || store(&inbox2, &id, volgnummer, &body)).await;
    match stored {
        Ok(Ok(true)) => (StatusCode::OK, "stored\n".into()),
        Ok(Ok(false)) => (StatusCode::OK, "already received\n".into()),
        Ok(Err(Refusal::Invalid(why))) => (StatusCode::UNPROCESSABLE_ENTITY, why),
        Ok(Err(Refusal::Io(e))) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot store: {e}\n"),
        ),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

enum Refusal {
    Invalid(String),
    Io(std::io::Error),
}

/// Stores a delivery unless already present; `Ok(false)` for a repeat.
fn store(inbox: &Inbox, id: &str, volgnummer: u64, body: &[u8]) -> Result<bool, Refusal> {
    let mut seen = inbox.seen.lock().unwrap_or_else(|p| p.into_inner());
    if seen.contains(id) {
        return Ok(false);
    }
    if let Err(r) = crate::validate(body) {
        let first = r
            .errors
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        return Err(Refusal::Invalid(format!("not a valid message: {first}\n")));
    }
    let name = format!("{volgnummer:012}-{id}.xml");
    let tmp = inbox.dir.join(format!(".{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(body)?;
        f.sync_all()?;
        std::fs::rename(&tmp, inbox.dir.join(&name))?;
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(inbox.dir.join("received.log"))?;
        writeln!(log, "{volgnummer} {id}")?;
        log.sync_all()?;
        std::fs::File::open(&inbox.dir)?.sync_all()
    };
    write().map_err(Refusal::Io)?;
    seen.insert(id.to_string());
    Ok(true)
}
