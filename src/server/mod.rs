//! Builds and runs the service: used by `ladderpost serve` and by the
//! benchmarks, so both run exactly the same application.

mod flags;

pub use flags::ServeFlags;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::limits::{Rate, RateLimiter};
use crate::api::{self, AppState};
use crate::delivery::push::{Dispatcher, PushSettings};
use crate::telemetry::Metrics;
use crate::transport::{self, Transport};

/// How to run the service.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// Which storage engine, where, and its cache.
    pub store: crate::store::Config,
    /// Largest message accepted, in bytes.
    pub max_body: usize,
    /// Days within which another organisation's measurement of the same
    /// client is signalled (0: never).
    pub signaal_periode: u32,
    /// Benchmark cells with fewer clients are suppressed.
    pub drempel: u64,
    /// Push delivery timing.
    pub push: PushSettings,
    /// Where online backups go (`--backup-dir`).
    pub backups: Option<std::path::PathBuf>,
    /// Requests per second (and burst) per credential or address.
    pub rate: Rate,
    /// TLS, timeouts and connection caps.
    pub transport: Transport,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot open the store {engine}: {why}")]
    Store { engine: String, why: String },
    #[error("cannot listen on {addr}: {why}")]
    Listen {
        addr: SocketAddr,
        why: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("{0}")]
    PlainHttp(String),
    #[error(transparent)]
    Tls(#[from] transport::tls::TlsError),
}

/// Opens the store, binds, prints `listening on http://ADDR` to stdout
/// (tests and scripts read the actual port from it), and serves until
/// `shutdown` resolves; in-flight requests are finished, then the store's
/// writer drains and the store is flushed.
pub async fn run(
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let bound = bind(settings).await?;
    if let Some(token) = bound.beheer_token() {
        // Once, on the first start: the only way to the beheer API.
        println!("beheer-token: {token}");
    }
    println!(
        "listening on {}://{}",
        bound.transport.scheme(),
        bound.addr()
    );
    bound.serve(shutdown).await
}

/// The service with its store open and its socket bound, not yet serving.
pub struct Bound {
    /// The first `beheer` token, on the first start on a store only.
    beheer_token: Option<String>,
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
    closing: tokio::sync::watch::Sender<bool>,
    transport: Transport,
    tls: Option<Arc<rustls::ServerConfig>>,
}

/// Opens the store and binds the listening socket: the first half of
/// [`run`], for callers (the benchmarks) that need the actual address.
pub async fn bind(settings: Settings) -> Result<Bound, ServeError> {
    settings
        .transport
        .check_listen(settings.listen)
        .map_err(ServeError::PlainHttp)?;
    let tls = match &settings.transport.tls {
        Some(files) => Some(transport::tls::server_config(files)?),
        None => None,
    };
    // The address first: a start that cannot listen must not get as far as
    // the first-start set-up, whose beheer token is shown only once.
    let listener = TcpListener::bind(settings.listen)
        .await
        .map_err(|why| ServeError::Listen {
            addr: settings.listen,
            why,
        })?;
    let store_error = |why: String| ServeError::Store {
        engine: settings.store.engine.to_string(),
        why,
    };
    let config = settings.store.clone();
    let opened = tokio::task::spawn_blocking(move || crate::store::open(&config))
        .await
        .map_err(|e| store_error(e.to_string()))?
        .map_err(|e| store_error(e.to_string()))?;
    let auth_store = opened.auth.clone();
    let (auth, beheer_token) = tokio::task::spawn_blocking(move || {
        let auth = crate::auth::Auth::new(auth_store).map_err(|e| e.to_string())?;
        let token = auth.first_start().map_err(|e| e.to_string())?;
        Ok::<_, String>((Arc::new(auth), token))
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r)
    .map_err(store_error)?;
    let (store, delivery) = (opened.messages, opened.delivery);
    let dispatcher = Dispatcher::start(store.clone(), delivery.clone(), settings.push)
        .map_err(|e| store_error(e.to_string()))?;
    let (closing_tx, closing) = tokio::sync::watch::channel(false);
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let state = AppState::new(api::Shared {
        store,
        delivery,
        dispatcher,
        metrics: Arc::new(Metrics::new()),
        max_body: settings.max_body,
        signaal_periode: settings.signaal_periode,
        drempel: settings.drempel,
        closing,
        limiter: Arc::new(RateLimiter::new(settings.rate)),
        auth,
        backups: settings.backups.clone(),
        sessions: Arc::new(crate::dashboard::Sessions::default()),
        cpu: Arc::new(tokio::sync::Semaphore::new(cores)),
        rapporten: Arc::new(tokio::sync::Semaphore::new((cores / 2).max(1))),
    });
    let addr = listener.local_addr().map_err(ServeError::Serve)?;
    tracing::info!(%addr, store = %settings.store.engine, "ladderpost serving");
    Ok(Bound {
        listener,
        addr,
        state,
        closing: closing_tx,
        beheer_token,
        transport: settings.transport,
        tls,
    })
}

impl Bound {
    /// The `beheer` token created by the first start on this store
    /// (shown once; `None` on every later start).
    pub fn beheer_token(&self) -> Option<&str> {
        self.beheer_token.as_deref()
    }

    /// The service's credentials and audit log.
    pub fn auth(&self) -> &Arc<crate::auth::Auth> {
        &self.state.auth
    }

    /// The address actually bound (the port chosen for `:0`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves; in-flight requests are finished,
    /// then the store's writer drains and the store is flushed.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Bound {
            listener,
            state,
            closing,
            transport,
            tls,
            ..
        } = self;
        // Tell long polls before axum waits for in-flight requests.
        let shutdown = async move {
            shutdown.await;
            let _ = closing.send(true);
        };
        let store = state.store.clone();
        let delivery = state.delivery.clone();
        let dispatcher = state.dispatcher.clone();
        let auth = state.auth.clone();
        let app = api::router(state);
        transport::serve(listener, app, tls, &transport, shutdown).await;
        tracing::info!("stopped accepting requests; finishing deliveries in flight");
        dispatcher.shutdown().await;
        drop(dispatcher);
        drop(delivery);
        tracing::info!("closing the store");
        // The writer finishes what is queued and makes it durable; the
        // files are released with the last references (credentials and
        // the audit log live in the same store).
        let closed = tokio::task::spawn_blocking(move || {
            let closed = store.close();
            drop(auth);
            drop(store);
            closed
        })
        .await;
        match closed {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(ServeError::Serve(std::io::Error::other(e.to_string()))),
            Err(e) => Err(ServeError::Serve(std::io::Error::other(e.to_string()))),
        }
    }
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
