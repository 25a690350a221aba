//! The composition root: everything `uptake serve` runs, built in one
//! place. [`App::build`] opens the data directory, replays acknowledged
//! events, opens the engine and computes the stored weeks' figures, loads
//! dashboards and reports and binds the listener; [`App::run_until_stopped`]
//! starts the background loops (the report scheduler, the ingest flusher,
//! the audit's refusal counts) and serves until shutdown, then stores what
//! ingestion acknowledged. The tests build the server through the same
//! function, on port 0.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::alert::Scheduler;
use crate::auth::audit::Audit;
use crate::config::{self, Settings};
use crate::ingest::{Ingest, flusher};
use crate::kpi::live::Live;
use crate::kpi::protect;
use crate::server::{AppState, Server, state};
use crate::store::Store;
use crate::store::remote::Remote;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("another uptake process writes {0}; one server per data directory")]
    Busy(PathBuf),
    #[error("cannot prepare the figures: {0}")]
    Figures(#[from] crate::kpi::Error),
    #[error(transparent)]
    Dashboard(#[from] crate::dashboard::Error),
    #[error(transparent)]
    Report(#[from] crate::report::Error),
    #[error(transparent)]
    Alert(#[from] crate::alert::Error),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the server is built from, besides the settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// The data directory.
    pub data: PathBuf,
    /// Where to listen; port 0 picks a free port ([`App::address`]).
    pub listen: SocketAddr,
    /// Dashboards (`*.toml`); `None`: `./dashboards` when it exists, else
    /// the built-in ones.
    pub dashboards: Option<PathBuf>,
    /// Report definitions (`*.toml`); `None`: `./reports` when it exists,
    /// else the built-in ones.
    pub reports: Option<PathBuf>,
    /// Alert definitions (`*.toml`); `None`: `./alerts` when it exists,
    /// else the built-in ones.
    pub alerts: Option<PathBuf>,
    /// The object store when `data` is the working copy of a data
    /// directory there: each flush is committed to it, and what else
    /// changes (tokens, users, the audit and run logs) every
    /// [`COMMIT_EVERY`].
    pub remote: Option<Arc<tokio::sync::Mutex<Remote>>>,
}

/// How often the server commits changes other than flushes to the object
/// store; every tenth time it also removes objects no commit names.
pub const COMMIT_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The server, built and bound, not yet serving.
pub struct App {
    server: Server,
    address: SocketAddr,
    state: Arc<AppState>,
    scheduler: Scheduler,
    ingest: Arc<Ingest>,
    remote: Option<Arc<tokio::sync::Mutex<Remote>>>,
}

impl App {
    pub async fn build(settings: Settings, options: Options) -> Result<App> {
        let mut store = Store::open(&options.data)?;
        if !store.is_writer() {
            return Err(Error::Busy(options.data));
        }
        // Listening from here on: alive, and not ready until the figures
        // are prepared (`/health/live`, `/health/ready`).
        let server = Server::bind(options.listen, &settings.server)
            .await
            .map_err(|source| Error::Listen {
                address: options.listen,
                source,
            })?;
        let address = server.address();
        tracing::info!(%address, "listening; preparing the figures");
        store.repair(&settings)?;
        store.check_derived(&settings)?;
        store.check_pseudonym(&settings)?;
        // Events acknowledged before a stop are replayed from the log and
        // stored before the figures are computed.
        let mut ingest = Ingest::open(store.clone(), &settings)?;
        if let Some(remote) = &options.remote {
            ingest = ingest.with_commit(commit_hook(remote.clone()));
        }
        let ingest = Arc::new(ingest);
        let store = ingest.flush()?.unwrap_or(store);
        // Protection decisions are cached with the figures' share.
        let protections =
            Arc::new(protect::Cache::new(state::cache_share(&settings)).kept_in(store.root()));
        let live = Arc::new(Live::open(&store, &settings, protections).await?);
        let dashboards = crate::dashboard::load(
            config::given_or_local(options.dashboards.as_deref(), "dashboards").as_deref(),
            &live.source().engine.query_names(),
        )?;
        let reports = crate::report::load(
            config::given_or_local(options.reports.as_deref(), "reports").as_deref(),
        )?;
        let alerts = crate::alert::load(
            config::given_or_local(options.alerts.as_deref(), "alerts").as_deref(),
            settings.targets.behind_reference_points,
        )?;
        let started = std::time::Instant::now();
        live.warm_up().await?;
        tracing::info!(
            millis = started.elapsed().as_millis() as u64,
            "computed the figures of the stored weeks"
        );
        let scheduler = Scheduler {
            data: store.root().to_path_buf(),
            settings: settings.clone(),
            live: live.clone(),
            labels: store.labels(&settings)?,
            reports: reports.clone(),
            alerts: crate::alert::Checker::new(alerts.clone()),
            checked_generation: None,
        };
        let older = live.clone();
        let state = Arc::new(AppState::new(state::Parts {
            audit: Arc::new(Audit::new(store.root(), &settings.audit)),
            settings,
            store: &store,
            live,
            dashboards,
            reports,
            alerts,
            ingest: ingest.clone(),
        })?);
        server.install(state.clone());
        tracing::info!(%address, "ready");
        tokio::spawn(async move { older.warm_older_weeks().await });
        Ok(App {
            server,
            address,
            state,
            scheduler,
            ingest,
            remote: options.remote,
        })
    }

    /// The address bound (with port 0, the port picked).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `https` when the server speaks TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.state.settings.server.tls_cert.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// What every request reads.
    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// Whether some user or token can sign in.
    pub fn anyone_can_sign_in(&self) -> Result<bool> {
        let data = &self.state.data_dir;
        Ok(!crate::auth::users::list(data)?.is_empty()
            || !crate::auth::tokens::list(data)?.is_empty())
    }

    /// Serves until `shutdown` completes, with the background loops
    /// running; then stores what ingestion acknowledged, so that nothing
    /// is left to replay, and writes the pending refusal counts.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let App {
            server,
            address,
            state,
            scheduler,
            ingest,
            remote,
        } = self;
        let mut loops = vec![
            tokio::spawn(scheduler.run_forever()),
            tokio::spawn(flusher::run_forever(ingest.clone(), state.live.clone())),
            tokio::spawn(state.audit.clone().flush_refusals_forever()),
        ];
        if let Some(remote) = &remote {
            loops.push(tokio::spawn(commit_forever(remote.clone())));
        }
        let stopping = state.clone();
        let shutdown = async move {
            shutdown.await;
            stopping.stop();
        };
        let served = server
            .run(shutdown)
            .await
            .map_err(|source| Error::Listen { address, source });
        for task in loops {
            task.abort();
        }
        flusher::flush(&ingest).await;
        state.audit.flush_refusals(true);
        if let Some(remote) = &remote
            && let Err(e) = remote.lock().await.push(true, false).await
        {
            tracing::error!(error = %e, "committing to the object store at shutdown failed");
        }
        served
    }
}

/// Commits each flush to the object store before its log segments go
/// ([`Ingest::with_commit`]).
fn commit_hook(remote: Arc<tokio::sync::Mutex<Remote>>) -> crate::ingest::CommitHook {
    let handle = tokio::runtime::Handle::current();
    Box::new(move || {
        tokio::task::block_in_place(|| {
            handle.block_on(async { remote.lock().await.push(true, false).await })
        })
        .map(|_| ())
        .map_err(Into::into)
    })
}

/// Commits what changed besides flushes every [`COMMIT_EVERY`].
async fn commit_forever(remote: Arc<tokio::sync::Mutex<Remote>>) {
    for round in 1u64.. {
        tokio::time::sleep(COMMIT_EVERY).await;
        let collect = round % 10 == 0;
        if let Err(e) = remote.lock().await.push(true, collect).await {
            tracing::error!(error = %e, "committing to the object store failed");
        }
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
