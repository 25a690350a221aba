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
use axum::routing::{MethodRouter, any, get, post};

pub use auth::Access;
pub use state::AppState;

/// Every route with its permission group ([`auth::Access`]). The router
/// is built from this table alone: a route cannot be added without a
/// group.
pub fn routes() -> Vec<(&'static str, Access, MethodRouter<Arc<AppState>>)> {
    use Access::*;
    vec![
        ("/health", Open, get(api::health)),
        ("/favicon.svg", Open, get(pages::favicon)),
        ("/favicon.ico", Open, get(pages::favicon)),
        ("/login", Open, get(auth::login_form).post(auth::login)),
        ("/logout", SignedIn, post(auth::logout)),
        ("/", Readers, get(pages::index)),
        ("/dashboards/{id}", Readers, get(pages::dashboard)),
        (
            "/dashboards/{id}/panels/{file}",
            Readers,
            get(pages::download),
        ),
        ("/reports", Readers, get(reports::page)),
        ("/reports/{file}", Readers, get(reports::pdf)),
        ("/audit", Admins, get(auth::audit_page)),
        ("/api/v1/kpi", Readers, get(api::kpi)),
        ("/api/v1/modules", Readers, get(api::modules)),
        ("/api/v1/lagging", Readers, get(api::lagging)),
        ("/api/v1/adoption-curve", Readers, get(api::adoption_curve)),
        ("/api/v1/segments", Readers, get(api::segments)),
        ("/api/v1/licensees", UserLevel, get(api::licensees)),
        ("/api/v1/openapi.json", Readers, get(api::openapi)),
        ("/api/v1/reports", Readers, get(reports::list)),
        ("/api/v1/report-runs", NotViewers, get(reports::runs)),
        ("/api/v1/events", Ingest, post(ingest::post_events)),
        ("/api/v1/audit", Admins, get(auth::audit_log)),
        ("/api/v1/tokens", Admins, get(auth::tokens)),
        ("/api/v1/users", Admins, get(auth::users)),
    ]
}

/// All routes, over shared state: one router per permission group, each
/// behind its group's layer ([`auth::authorize`]); an unknown address is
/// answered as to a reader.
pub fn router(state: Arc<AppState>) -> Router {
    let mut table = routes();
    let mut router = Router::new();
    for access in Access::ALL {
        let mut group = Router::new();
        for (path, _, methods) in table.extract_if(.., |(_, a, _)| *a == access) {
            group = group.route(path, methods);
        }
        let admit = middleware::from_fn_with_state((state.clone(), access), auth::authorize);
        router = router.merge(group.route_layer(admit));
    }
    let readers = middleware::from_fn_with_state((state.clone(), Access::Readers), auth::authorize);
    router
        .fallback_service(any(api::not_found).layer(readers).with_state(state.clone()))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::identify,
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
