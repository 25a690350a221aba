//! Accepting and serving connections (HTTP/1.1, with or without TLS), with
//! bounds that hold whatever a client does: at most
//! `server.max_connections` at once, a request head within
//! `server.header_timeout_seconds`, an idle keep-alive connection closed
//! after `server.idle_timeout_seconds`, and on shutdown every connection
//! closed at the latest `server.shutdown_grace_seconds` after the signal,
//! whether or not its client finished.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};

use super::tls::Acceptor;

/// How long a client may take for the TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(10);

/// The time bounds of connections (from `[server]`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header: Duration,
    pub idle: Duration,
    pub grace: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn of(server: &crate::config::Server) -> Limits {
        Limits {
            header: Duration::from_secs(server.header_timeout_seconds),
            idle: Duration::from_secs(server.idle_timeout_seconds),
            grace: Duration::from_secs(server.shutdown_grace_seconds),
            max_connections: server.max_connections as usize,
        }
    }
}

/// Requests of one connection in progress and the time the last one
/// ended, for closing idle connections.
struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `started` when the last request ended.
    last_done: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_done: AtomicU64::new(0),
        }
    }

    fn idle_for(&self) -> Option<Duration> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let done = Duration::from_millis(self.last_done.load(Ordering::SeqCst));
        Some(self.started.elapsed().saturating_sub(done))
    }
}

/// The router requests go to, replaced once the server is ready.
pub type Routes = Arc<std::sync::RwLock<Router>>;

/// Accepts connections until `shutdown` completes, then lets each finish
/// the request it is on for at most `limits.grace`, and closes the rest.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Acceptor>,
    router: Routes,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            _ = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(s) => s,
                Err(_) => break,
            },
        };
        let (stream, addr) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let stopped = stopped.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _slot = slot;
            match tls {
                None => connection(stream, addr, router, limits, stopped).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection(stream, addr, router, limits, stopped).await,
                        Ok(Err(e)) => {
                            tracing::debug!(client = %addr, error = %e, "TLS handshake failed");
                        }
                        Err(_) => {}
                    }
                }
            }
        });
        // Forget finished connections.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop.send(true);
    let finished = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.grace, finished).await.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "closing connections still open after the shutdown grace time"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Serves one connection until it ends, is idle too long, or the server
/// stops (then it finishes its request in progress).
async fn connection<S>(
    stream: S,
    addr: SocketAddr,
    router: Routes,
    limits: Limits,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let tracked = activity.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(addr));
        tracked.in_flight.fetch_add(1, Ordering::SeqCst);
        // The router of the moment: the starting one until the figures
        // are prepared, then the server's.
        let current = router.read().unwrap_or_else(|p| p.into_inner()).clone();
        let service = TowerToHyperService::new(current);
        let response = hyper::service::Service::call(&service, request);
        let tracked = tracked.clone();
        async move {
            let response = response.await;
            tracked.last_done.store(
                tracked.started.elapsed().as_millis() as u64,
                Ordering::SeqCst,
            );
            tracked.in_flight.fetch_sub(1, Ordering::SeqCst);
            response
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let check = (limits.idle / 4).max(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = stopped.wait_for(|s| *s) => break,
            _ = tokio::time::sleep(check) => {
                if activity.idle_for().is_some_and(|idle| idle >= limits.idle) {
                    break;
                }
            }
        }
    }
    // Idle or stopping: no new request on this connection; the one in
    // progress, if any, finishes.
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}
