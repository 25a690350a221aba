//! The web server: the JSON API under `/api/v1`, the dashboards as HTML
//! pages, `/health`. Handlers are thin: they check parameters and read
//! figures through [`state::AppState`]; every failure becomes a response
//! in [`error::ApiError`].

pub mod api;
pub mod auth;
pub mod conn;
pub mod error;
pub mod ingest;
pub mod limits;
pub mod pages;
pub mod params;
pub mod reports;
pub mod state;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

pub use state::AppState;

/// All routes, over shared state.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/kpi", get(api::kpi))
        .route("/modules", get(api::modules))
        .route("/lagging", get(api::lagging))
        .route("/adoption-curve", get(api::adoption_curve))
        .route("/segments", get(api::segments))
        .route("/licensees", get(api::licensees))
        .route("/openapi.json", get(api::openapi))
        .route("/reports", get(reports::list))
        .route("/report-runs", get(reports::runs))
        .route("/events", post(ingest::post_events))
        .route("/audit", get(auth::audit_log))
        .route("/tokens", get(auth::tokens))
        .route("/users", get(auth::users))
        .fallback(api::not_found);
    Router::new()
        .route("/", get(pages::index))
        .route("/health", get(api::health))
        .route("/favicon.svg", get(pages::favicon))
        .route("/favicon.ico", get(pages::favicon))
        .route("/dashboards/{id}", get(pages::dashboard))
        .route("/dashboards/{id}/panels/{file}", get(pages::download))
        .route("/reports", get(reports::page))
        .route("/reports/{file}", get(reports::pdf))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/audit", get(auth::audit_page))
        .nest("/api/v1", api)
        .fallback(api::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// One structured log line per request: method, path, status, duration.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    tracing::info!(
        target: "uptake::http",
        %method,
        path,
        status = response.status().as_u16(),
        millis = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    response
}

/// A server bound to its address; `run` serves until shutdown.
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Option<tls::Acceptor>,
    limits: conn::Limits,
}

impl Server {
    /// Binds `listen` (port 0 picks a free port: see [`Server::address`]).
    /// With `server.tls_cert` and `server.tls_key` set it speaks HTTPS
    /// only; a certificate or key that cannot be read stops it here.
    pub async fn bind(listen: SocketAddr, state: Arc<AppState>) -> std::io::Result<Server> {
        let tls = match (
            &state.settings.server.tls_cert,
            &state.settings.server.tls_key,
        ) {
            (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind(listen).await?;
        Ok(Server {
            listener,
            limits: conn::Limits::of(&state.settings.server),
            router: router(state),
            tls,
        })
    }

    pub fn address(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then lets requests in flight
    /// finish within `server.shutdown_grace_seconds`.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        conn::serve(self.listener, self.tls, self.router, self.limits, shutdown).await
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
