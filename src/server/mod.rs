//! The web server: the JSON API under `/api/v1`, the dashboards as HTML
//! pages, `/health`. Handlers are thin: they check parameters and read
//! figures through [`state::AppState`]; every failure becomes a response
//! in [`error::ApiError`].

pub mod alerts;
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
pub mod subscriptions;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, any, get, post};
use tracing::Instrument;

pub use auth::Access;
pub use state::AppState;

/// Every route with its permission group ([`auth::Access`]). The router
/// is built from this table alone: a route cannot be added without a
/// group.
pub fn routes() -> Vec<(&'static str, Access, MethodRouter<Arc<AppState>>)> {
    use Access::*;
    vec![
        ("/health", Open, get(api::health)),
        ("/health/live", Open, get(api::live)),
        ("/health/ready", Open, get(api::ready)),
        ("/metrics", Open, get(api::metrics)),
        ("/favicon.svg", Open, get(pages::favicon)),
        ("/favicon.ico", Open, get(pages::favicon)),
        ("/login", Open, get(auth::login_form).post(auth::login)),
        ("/links/{token}", Open, get(alerts::link)),
        (
            "/unsubscribe/{token}",
            Open,
            get(subscriptions::confirm).post(subscriptions::unsubscribe),
        ),
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
        ("/subscriptions", SignedIn, post(subscriptions::subscribe)),
        (
            "/subscriptions/{id}/delete",
            SignedIn,
            post(subscriptions::delete),
        ),
        ("/alerts", Readers, get(alerts::page)),
        ("/audit", Admins, get(auth::audit_page)),
        ("/api/v1/kpi", Readers, get(api::kpi)),
        ("/api/v1/modules", Readers, get(api::modules)),
        ("/api/v1/lagging", Readers, get(api::lagging)),
        ("/api/v1/forecast", Readers, get(api::forecast)),
        ("/api/v1/adoption-curve", Readers, get(api::adoption_curve)),
        ("/api/v1/segments", Readers, get(api::segments)),
        ("/api/v1/licensees", UserLevel, get(api::licensees)),
        ("/api/v1/openapi.json", Readers, get(api::openapi)),
        ("/api/v1/reports", Readers, get(reports::list)),
        ("/api/v1/report-runs", NotViewers, get(reports::runs)),
        ("/api/v1/alerts", Readers, get(alerts::list)),
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

/// One structured log line per request (method, path, status, duration)
/// and its place in the request metrics. Every log line of the request
/// carries its id: the caller's `X-Request-Id` when it is a plain token of
/// at most 128 characters, else a new one; the response carries it back.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let id = request_id(request.headers());
    let span = tracing::info_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span.clone()).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    let took = started.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            target: "uptake::http",
            %method,
            path,
            status,
            millis = took.as_secs_f64() * 1e3,
            "request"
        );
    });
    crate::metrics::metrics().request(&route, method_label(&method), status, took);
    response
}

const REQUEST_ID: &str = "x-request-id";

/// The caller's request id when it is a plain token, else a new one.
fn request_id(headers: &axum::http::HeaderMap) -> String {
    let given = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            (1..=128).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        });
    match given {
        Some(id) => id.to_string(),
        None => format!("{:016x}", rand::random::<u64>()),
    }
}

/// A request's method as a metrics label: the methods the routes know,
/// `other` for any other, so that no caller adds label values.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// What the server answers while it prepares the figures: alive, not
/// ready; every other address 503 with `Retry-After`.
fn starting() -> Router {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let not_yet = || async {
        let body = serde_json::json!({
            "error": "starting",
            "message": "uptake is preparing the figures; try again shortly",
        });
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "5")],
            axum::Json(body),
        )
            .into_response()
    };
    Router::new()
        .route("/health/live", get(api::live))
        .route("/metrics", get(api::metrics_starting))
        .fallback(not_yet)
}

/// A bound server. From [`Server::bind`] on it answers as starting (alive,
/// not ready); [`Server::install`] hands it the full router once the
/// figures are prepared; [`Server::run`] serves until shutdown.
pub struct Server {
    address: SocketAddr,
    routes: conn::Routes,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Binds `listen` (port 0 picks a free port: see [`Server::address`])
    /// and starts answering. With `server.tls_cert` and `server.tls_key`
    /// set it speaks HTTPS only; a certificate or key that cannot be read
    /// stops it here.
    pub async fn bind(
        listen: SocketAddr,
        settings: &crate::config::Server,
    ) -> std::io::Result<Server> {
        let tls = match (&settings.tls_cert, &settings.tls_key) {
            (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
            _ => None,
        };
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let address = listener.local_addr()?;
        let routes: conn::Routes = Arc::new(std::sync::RwLock::new(starting()));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(conn::serve(
            listener,
            tls,
            routes.clone(),
            conn::Limits::of(settings),
            async {
                let _ = stopped.await;
            },
        ));
        Ok(Server {
            address,
            routes,
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// From now on, requests go to the full router over `state`.
    pub fn install(&self, state: Arc<AppState>) {
        let router = router(state);
        *self.routes.write().unwrap_or_else(|p| p.into_inner()) = router;
    }

    /// Serves until `shutdown` completes, then lets requests in flight
    /// finish within `server.shutdown_grace_seconds`.
    pub async fn run(
        mut self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        shutdown.await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            None => Ok(()),
        }
    }
}

/// A server dropped before it ran (its start failed) stops answering.
impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
