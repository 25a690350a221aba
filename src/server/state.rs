//! What every request reads: settings, the engine over the data directory,
//! the directory's segment values, the dashboards, and a cache of computed
//! figures.
//!
//! Stored data changes only when live ingestion commits new events, and a
//! week's figures never depend on the range asked for, so computed rows are
//! cached per request until the next commit ([`AppState::reload`]);
//! concurrent requests for the same figures wait for one computation.
//! After a commit a new engine is opened and its cube computed beside the
//! one serving; then it takes over, so no request waits for a cold cube.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::config::Settings;
use crate::dashboard::Dashboard;
use crate::engine::Engine;
use crate::kpi::{self, CurvePoint, Dimension, KpiRow, Request, Scope, Table};
use crate::model::{Licensee, Wave, Week};
use crate::store::Store;

use super::error::ApiError;

/// The values of each dimension present in the directory, in byte order.
#[derive(Debug, Clone, Default)]
pub struct Segments {
    region: Vec<String>,
    department: Vec<String>,
    team: Vec<String>,
    wave: Vec<String>,
    /// Every (region, department, team, wave) of the directory.
    finest: BTreeSet<[String; 4]>,
}

impl Segments {
    pub fn from_directory(licensees: &[Licensee]) -> Segments {
        let sorted = |f: fn(&Licensee) -> &String| -> Vec<String> {
            let set: BTreeSet<&String> = licensees.iter().map(f).collect();
            set.into_iter().cloned().collect()
        };
        Segments {
            region: sorted(|l| &l.region),
            department: sorted(|l| &l.department),
            team: sorted(|l| &l.team),
            wave: sorted(|l| &l.wave),
            finest: licensees
                .iter()
                .map(|l| {
                    [
                        l.region.clone(),
                        l.department.clone(),
                        l.team.clone(),
                        l.wave.clone(),
                    ]
                })
                .collect(),
        }
    }

    pub fn values(&self, d: Dimension) -> &[String] {
        match d {
            Dimension::Region => &self.region,
            Dimension::Department => &self.department,
            Dimension::Team => &self.team,
            Dimension::Wave => &self.wave,
        }
    }

    /// The values of a dimension among the licensees of a scope.
    pub fn values_in(&self, d: Dimension, scope: &Scope) -> Vec<String> {
        if scope.is_all() {
            return self.values(d).to_vec();
        }
        let i = d.index();
        let set: BTreeSet<&String> = self
            .finest
            .iter()
            .filter(|f| scope.covers(&f[0], &f[1]))
            .map(|f| &f[i])
            .collect();
        set.into_iter().cloned().collect()
    }
}

/// Results computed once per key. Bounded: when full, it starts afresh.
struct Cache<K, V> {
    map: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

const CACHE_ENTRIES: usize = 1024;

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    fn new() -> Self {
        Cache {
            map: Mutex::new(HashMap::new()),
        }
    }

    async fn get_or_try_init<E, F, Fut>(&self, key: K, compute: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let cell = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() >= CACHE_ENTRIES && !map.contains_key(&key) {
                map.clear();
            }
            map.entry(key).or_default().clone()
        };
        cell.get_or_try_init(compute).await.cloned()
    }

    /// Forgets every result. A computation in flight finishes into a cell
    /// no later request sees.
    fn clear(&self) {
        self.map.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// What the stored events cover.
#[derive(Debug, Clone, Default)]
struct Stored {
    weeks: Option<(Week, Week)>,
    dates: Option<(String, String)>,
}

/// Shared by all requests.
pub struct AppState {
    pub settings: Settings,
    engine: std::sync::RwLock<Arc<Engine>>,
    pub segments: Segments,
    pub waves: Vec<Wave>,
    pub dashboards: Vec<Dashboard>,
    /// Report definitions (none unless set after `new`).
    pub reports: Vec<crate::report::Report>,
    /// The data directory: the run log of scheduled reports lives here.
    pub data_dir: std::path::PathBuf,
    /// Live ingestion (`POST /api/v1/events`), when the server runs it.
    pub ingest: Option<Arc<crate::ingest::Ingest>>,
    pub tokens: crate::auth::tokens::Tokens,
    pub users: crate::auth::users::Users,
    pub sessions: super::auth::Sessions,
    pub audit: crate::auth::audit::Audit,
    stored: Mutex<Stored>,
    kpi: Cache<Request, Arc<Vec<KpiRow>>>,
    curve: Cache<Request, Arc<Vec<CurvePoint>>>,
    modules: Cache<Request, Arc<Table>>,
    /// Serialized API answers by endpoint and request.
    bodies: Cache<(&'static str, Request), Arc<String>>,
}

impl AppState {
    pub fn new(
        settings: Settings,
        store: &Store,
        engine: Engine,
        dashboards: Vec<Dashboard>,
    ) -> Result<AppState, crate::store::Error> {
        let licensees = store.table::<Licensee>()?;
        Ok(AppState {
            settings,
            engine: std::sync::RwLock::new(Arc::new(engine)),
            segments: Segments::from_directory(&licensees),
            waves: store.table::<Wave>()?,
            dashboards,
            reports: Vec::new(),
            data_dir: store.root().to_path_buf(),
            ingest: None,
            tokens: crate::auth::tokens::Tokens::new(store.root()),
            users: crate::auth::users::Users::new(store.root()),
            sessions: Default::default(),
            audit: crate::auth::audit::Audit::new(store.root()),
            stored: Mutex::new(Stored {
                weeks: crate::cli::stored_weeks(store),
                dates: crate::store::stored_date_range(store.manifest()),
            }),
            kpi: Cache::new(),
            curve: Cache::new(),
            modules: Cache::new(),
            bodies: Cache::new(),
        })
    }

    /// Weeks of the first and last stored events.
    pub fn stored_weeks(&self) -> Option<(Week, Week)> {
        self.stored.lock().unwrap_or_else(|p| p.into_inner()).weeks
    }

    /// Dates of the first and last stored events.
    pub fn stored_dates(&self) -> Option<(String, String)> {
        self.stored
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .dates
            .clone()
    }

    /// The engine over the store as last committed.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Shows the store as committed now: opens an engine over it, computes
    /// its cube for the stored weeks, and puts it in place of the old one;
    /// cached figures are dropped. Requests meanwhile use the old engine.
    pub async fn reload(&self, store: &Store) -> Result<(), ApiError> {
        let started = std::time::Instant::now();
        let internal = |e: crate::engine::Error| ApiError::Internal(e.to_string());
        let mut engine = Engine::open(store).await.map_err(internal)?;
        // Only events change while the server runs (imports of the
        // directory or waves are refused), so the decisions of what to
        // hide against differencing still hold.
        engine.protections = self.engine().protections.clone();
        let opened = started.elapsed();
        let weeks = crate::cli::stored_weeks(store);
        warm_up(&engine, &self.settings, weeks).await?;
        tracing::debug!(
            open_millis = opened.as_millis() as u64,
            total_millis = started.elapsed().as_millis() as u64,
            "showing newly committed events"
        );
        *self.engine.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(engine);
        *self.stored.lock().unwrap_or_else(|p| p.into_inner()) = Stored {
            weeks,
            dates: crate::store::stored_date_range(store.manifest()),
        };
        self.kpi.clear();
        self.curve.clear();
        self.modules.clear();
        self.bodies.clear();
        Ok(())
    }

    pub async fn kpi_rows(&self, request: &Request) -> Result<Arc<Vec<KpiRow>>, ApiError> {
        self.kpi
            .get_or_try_init(request.clone(), || async {
                Ok::<_, ApiError>(Arc::new(
                    kpi::kpi_rows(&self.engine(), &self.settings, request).await?,
                ))
            })
            .await
    }

    pub async fn adoption_curve(
        &self,
        request: &Request,
    ) -> Result<Arc<Vec<CurvePoint>>, ApiError> {
        self.curve
            .get_or_try_init(request.clone(), || async {
                Ok::<_, ApiError>(Arc::new(
                    kpi::adoption_curve(&self.engine(), &self.settings, request).await?,
                ))
            })
            .await
    }

    pub async fn modules_table(&self, request: &Request) -> Result<Arc<Table>, ApiError> {
        self.modules
            .get_or_try_init(request.clone(), || async {
                Ok::<_, ApiError>(Arc::new(
                    kpi::modules_table(&self.engine(), &self.settings, request).await?,
                ))
            })
            .await
    }

    /// An API answer, serialized once per endpoint and request.
    pub async fn body<F, Fut>(
        &self,
        endpoint: &'static str,
        request: &Request,
        compute: F,
    ) -> Result<Arc<String>, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<String, ApiError>>,
    {
        self.bodies
            .get_or_try_init((endpoint, request.clone()), || async {
                Ok(Arc::new(compute().await?))
            })
            .await
    }

    /// Computes the cube for the stored weeks, so that the first request
    /// does not wait for it.
    pub async fn warm_up(&self) -> Result<(), ApiError> {
        warm_up(&self.engine(), &self.settings, self.stored_weeks()).await
    }
}

/// Computes an engine's cube for the stored weeks (at most the weeks one
/// cube covers, the latest), and the protection against differencing of
/// the last 26 of them over the whole organisation.
async fn warm_up(
    engine: &Engine,
    settings: &Settings,
    weeks: Option<(Week, Week)>,
) -> Result<(), ApiError> {
    if let Some((from, to)) = weeks {
        let request = Request {
            dims: Vec::new(),
            from: from.max(to.offset(-(kpi::MAX_WEEKS - 1))),
            to,
            filter: Default::default(),
            scope: Default::default(),
            protected: false,
        };
        kpi::kpi_rows(engine, settings, &request).await?;
        // The protection of the weeks pages show by default (at most 26).
        let recent = Request {
            from: from.max(to.offset(-25)),
            protected: true,
            ..request
        };
        kpi::kpi_rows(engine, settings, &recent).await?;
    }
    Ok(())
}
