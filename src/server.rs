//! Builds and runs the service: used by `ladderpost serve` and by the
//! benchmarks, so both run exactly the same application.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::store::sled_store::SledStore;
use crate::store::Store;
use crate::telemetry::Metrics;

/// How to run the service.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data: PathBuf,
    /// Largest message accepted, in bytes.
    pub max_body: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot open the store in {path}: {why}")]
    Store { path: PathBuf, why: String },
    #[error("cannot listen on {addr}: {why}")]
    Listen {
        addr: SocketAddr,
        why: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// Opens the store, binds, prints `listening on http://ADDR` to stdout
/// (tests and scripts read the actual port from it), and serves until
/// `shutdown` resolves; in-flight requests are finished, then the store's
/// writer drains and the store is flushed.
pub async fn run(
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let data = settings.data.clone();
    let store = tokio::task::spawn_blocking(move || SledStore::open(&data))
        .await
        .map_err(|e| ServeError::Store {
            path: settings.data.clone(),
            why: e.to_string(),
        })?
        .map_err(|e| ServeError::Store {
            path: settings.data.clone(),
            why: e.to_string(),
        })?;
    let store: Arc<dyn Store> = Arc::new(store);
    let state = AppState {
        store: store.clone(),
        metrics: Arc::new(Metrics::new()),
        max_body: settings.max_body,
    };
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|why| ServeError::Listen {
            addr: settings.listen,
            why,
        })?;
    let addr = listener.local_addr().map_err(ServeError::Serve)?;
    tracing::info!(%addr, data = %settings.data.display(), "ladderpost serving");
    println!("listening on http://{addr}");
    axum::serve(listener, api::router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ServeError::Serve)?;
    tracing::info!("stopped accepting requests; closing the store");
    // The last reference: dropping it drains the writer and flushes.
    tokio::task::spawn_blocking(move || drop(store)).await.ok();
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested");
}
