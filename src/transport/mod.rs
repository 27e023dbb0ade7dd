//! How the service meets the network: the accept loop (plain HTTP or TLS
//! with optional client certificates), timeouts against slow clients, a
//! cap on connections (in all and per client address), and the guards every request passes (security
//! headers, body deadline). It knows nothing of routes or credentials:
//! those are `api`'s, above it.

pub mod guard;
mod per_address;
pub mod tls;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

pub use tls::TlsFiles;

use crate::auth::ClientCertificate;

/// Transport settings of `serve`.
#[derive(Debug, Clone)]
pub struct Transport {
    /// Serve HTTPS with these files; plain HTTP when `None`.
    pub tls: Option<TlsFiles>,
    /// Allow plain HTTP on an address other than loopback.
    pub allow_plain_http: bool,
    /// Time a client has to send a request's headers (and to finish the
    /// TLS handshake).
    pub header_timeout: Duration,
    /// Time a client has to send a request's whole body.
    pub body_timeout: Duration,
    /// Connections served at once; further ones wait in the backlog.
    pub max_connections: usize,
    /// Connections one client address (an IPv6 /64) may hold at once;
    /// further ones are closed at once. 0: no cap.
    pub max_connections_per_address: usize,
}

impl Default for Transport {
    fn default() -> Self {
        Transport {
            tls: None,
            allow_plain_http: false,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            max_connections: 1024,
            max_connections_per_address: 64,
        }
    }
}

impl Transport {
    /// `https` or `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// Refuses plain HTTP on a non-loopback address unless allowed.
    pub fn check_listen(&self, listen: SocketAddr) -> Result<(), String> {
        if self.tls.is_none() && !listen.ip().is_loopback() && !self.allow_plain_http {
            return Err(format!(
                "refusing plain HTTP on {listen}, which is not a loopback address: \
                 give --tls-cert and --tls-key, or --allow-plain-http when a proxy \
                 in front terminates TLS"
            ));
        }
        Ok(())
    }
}

/// Accepts connections until `shutdown` resolves, then stops accepting
/// and waits for the connections in flight to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    transport: &Transport,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(transport.max_connections.max(1)));
    let per_address = per_address::PerAddress::new(transport.max_connections_per_address);
    let limits = Limits {
        header_timeout: transport.header_timeout,
        body_timeout: transport.body_timeout,
        tls: acceptor.is_some(),
    };
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // One address must not hold the connections everyone shares: over
        // its cap, close at once (the global permit goes back with it).
        let Some(slot) = per_address.take(peer.ip()) else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let app = app.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let _permit = (permit, slot);
            match acceptor {
                None => connection(stream, peer, None, app, limits, watcher).await,
                Some(acceptor) => {
                    let stream =
                        match tokio::time::timeout(limits.header_timeout, acceptor.accept(stream))
                            .await
                        {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::info!(%peer, error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => {
                                tracing::info!(%peer, "TLS handshake timed out");
                                return;
                            }
                        };
                    let certificate = tls::client_certificate(stream.get_ref().1);
                    connection(stream, peer, certificate, app, limits, watcher).await
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// What every connection applies to its requests.
#[derive(Clone, Copy)]
struct Limits {
    header_timeout: Duration,
    body_timeout: Duration,
    tls: bool,
}

/// Serves HTTP/1.1 on one connection. Every request carries the peer's
/// address and, when verified, the client certificate; its body gets a
/// deadline and its response the security headers. These are applied
/// here rather than as router layers: each layer costs every request a
/// clone of the service below it (docs/performance.md).
async fn connection<I>(
    io: I,
    peer: SocketAddr,
    certificate: Option<ClientCertificate>,
    app: Router,
    limits: Limits,
    watcher: hyper_util::server::graceful::Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        if let Some(c) = &certificate {
            request.extensions_mut().insert(c.clone());
        }
        let json = crate::http_error::json_route(request.uri().path());
        let (request, expired) = guard::body_deadline(request, limits.body_timeout);
        let mut app = app.clone();
        async move {
            let mut response = match tower::Service::call(&mut app, request).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if expired.is_some_and(|e| e.load(Ordering::Relaxed)) {
                response = guard::body_too_slow(limits.body_timeout);
                if json {
                    response = crate::http_error::as_problem(response);
                }
            }
            guard::security_headers(response.headers_mut(), limits.tls);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let conn = http.serve_connection(TokioIo::new(io), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}
