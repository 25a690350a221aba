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

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use tokio::sync::OnceCell;

use crate::config::Settings;
use crate::dashboard::Dashboard;
use crate::engine::Engine;
use crate::kpi::{self, CurvePoint, Dimension, KpiRow, Request, Scope, Table};
use crate::model::{Licensee, Wave, Week};
use crate::store::Store;
use crate::store::manifest::EventFile;

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

/// Results computed once per key, bounded by bytes: the oldest results
/// are dropped when the cache holds more than its budget, and a result
/// larger than a sixteenth of the budget is not kept (the next request
/// computes it again), so no caller can fill memory with cached figures.
struct Cache<K, V> {
    inner: Mutex<Entries<K, V>>,
    budget: usize,
}

struct Entries<K, V> {
    map: HashMap<K, (Arc<OnceCell<V>>, usize)>,
    /// Keys in the order they came; may name keys already dropped.
    order: VecDeque<K>,
    bytes: usize,
}

/// Most entries of one cache, whatever their size.
const CACHE_ENTRIES: usize = 4096;

/// The memory a cached value holds, roughly.
pub trait Weigh {
    fn bytes(&self) -> usize;
}

fn strings(values: &[String]) -> usize {
    values.iter().map(|v| v.len() + 24).sum()
}

impl Weigh for Arc<Vec<KpiRow>> {
    fn bytes(&self) -> usize {
        self.iter()
            .map(|r| std::mem::size_of::<KpiRow>() + strings(&r.segment))
            .sum()
    }
}

impl Weigh for Arc<Vec<CurvePoint>> {
    fn bytes(&self) -> usize {
        self.iter()
            .map(|r| std::mem::size_of::<CurvePoint>() + strings(&r.segment))
            .sum()
    }
}

impl Weigh for Arc<Table> {
    fn bytes(&self) -> usize {
        self.rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|c| {
                        std::mem::size_of::<kpi::Cell>()
                            + match c {
                                kpi::Cell::Text(t) => t.len(),
                                _ => 0,
                            }
                    })
                    .sum::<usize>()
                    + 24
            })
            .sum()
    }
}

impl Weigh for Arc<String> {
    fn bytes(&self) -> usize {
        self.len()
    }
}

impl<K: Eq + Hash + Clone, V: Clone + Weigh> Cache<K, V> {
    fn new(budget: usize) -> Self {
        Cache {
            inner: Mutex::new(Entries {
                map: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
            }),
            budget,
        }
    }

    async fn get_or_try_init<E, F, Fut>(&self, key: K, compute: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let (cell, fresh) = {
            let mut e = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            match e.map.get(&key) {
                Some((cell, _)) => (cell.clone(), false),
                None => {
                    let cell: Arc<OnceCell<V>> = Arc::default();
                    e.map.insert(key.clone(), (cell.clone(), 0));
                    e.order.push_back(key.clone());
                    (cell, true)
                }
            }
        };
        let value = cell.get_or_try_init(compute).await.cloned();
        if fresh {
            let mut e = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let ours = e.map.get(&key).is_some_and(|(c, _)| Arc::ptr_eq(c, &cell));
            let weight = value.as_ref().map_or(usize::MAX, Weigh::bytes);
            if ours {
                if weight > self.budget / 16 {
                    e.map.remove(&key);
                } else {
                    if let Some(entry) = e.map.get_mut(&key) {
                        entry.1 = weight;
                    }
                    e.bytes += weight;
                }
            }
            while e.bytes > self.budget || e.map.len() > CACHE_ENTRIES {
                let Some(oldest) = e.order.pop_front() else {
                    break;
                };
                if let Some((_, w)) = e.map.remove(&oldest) {
                    e.bytes -= w;
                }
            }
        }
        value
    }

    /// Forgets every result. A computation in flight finishes into a cell
    /// no later request sees.
    fn clear(&self) {
        let mut e = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        e.map.clear();
        e.order.clear();
        e.bytes = 0;
    }
}

/// What the stored events cover.
#[derive(Debug, Clone, Default)]
struct Stored {
    weeks: Option<(Week, Week)>,
    dates: Option<(NaiveDate, NaiveDate)>,
    /// Event files dated where no event can be, with the reason.
    implausible: Vec<(EventFile, String)>,
}

impl Stored {
    fn of(store: &Store, settings: &Settings) -> Stored {
        Stored {
            weeks: store.event_weeks(settings),
            dates: store.event_dates(settings),
            implausible: store.implausible_event_files(settings),
        }
    }
}

/// Shared by all requests.
pub struct AppState {
    pub settings: Settings,
    source: std::sync::RwLock<kpi::Source>,
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
    /// PDF renders of requests (`server.render_concurrency`).
    pub renders: super::limits::Gate,
    pub audit: crate::auth::audit::Audit,
    stored: Mutex<Stored>,
    kpi: Cache<Request, Arc<Vec<KpiRow>>>,
    curve: Cache<Request, Arc<Vec<CurvePoint>>>,
    modules: Cache<Request, Arc<Table>>,
    /// Serialized API answers by endpoint and request.
    bodies: Cache<(&'static str, Request), Arc<String>>,
}

/// Each of the four caches gets a quarter of `server.cache_mib`.
fn cache_share(settings: &Settings) -> usize {
    usize::try_from(settings.server.cache_mib.saturating_mul(1 << 20) / 4).unwrap_or(usize::MAX)
}

impl AppState {
    pub fn new(
        settings: Settings,
        store: &Store,
        engine: Engine,
        dashboards: Vec<Dashboard>,
    ) -> Result<AppState, crate::store::Error> {
        let licensees = store.table::<Licensee>()?;
        let share = cache_share(&settings);
        Ok(AppState {
            stored: Mutex::new(Stored::of(store, &settings)),
            sessions: super::auth::Sessions::new(&settings.server),
            renders: super::limits::Gate::new(
                settings.server.render_concurrency,
                settings.server.render_queue,
            ),
            audit: crate::auth::audit::Audit::new(store.root(), &settings.audit),
            // Protection decisions are cached with the figures' share.
            source: std::sync::RwLock::new(kpi::Source {
                engine: Arc::new(engine),
                protections: Arc::new(kpi::protect::Cache::new(share)),
            }),
            segments: Segments::from_directory(&licensees),
            waves: store.table::<Wave>()?,
            dashboards,
            reports: Vec::new(),
            data_dir: store.root().to_path_buf(),
            ingest: None,
            tokens: crate::auth::tokens::Tokens::new(store.root()),
            users: crate::auth::users::Users::new(store.root()),
            kpi: Cache::new(share),
            curve: Cache::new(share),
            modules: Cache::new(share),
            bodies: Cache::new(share),
            settings,
        })
    }

    /// Weeks of the first and last stored events.
    pub fn stored_weeks(&self) -> Option<(Week, Week)> {
        self.stored.lock().unwrap_or_else(|p| p.into_inner()).weeks
    }

    /// Dates of the first and last stored events.
    pub fn stored_dates(&self) -> Option<(NaiveDate, NaiveDate)> {
        self.stored.lock().unwrap_or_else(|p| p.into_inner()).dates
    }

    /// Stored event files dated where no event can be (see
    /// [`Store::implausible_event_files`]).
    pub fn implausible_events(&self) -> Vec<(EventFile, String)> {
        self.stored
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .implausible
            .clone()
    }

    /// The engine over the store as last committed.
    pub fn engine(&self) -> Arc<Engine> {
        self.source().engine
    }

    /// The engine over the store as last committed, with its protection
    /// decisions.
    pub fn source(&self) -> kpi::Source {
        self.source
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
        // What protection hides depends on every figure: the new engine
        // decides again the weeks whose figures the new events changed.
        let source = kpi::Source {
            engine: Arc::new(Engine::open(store).await.map_err(internal)?),
            protections: Arc::new(self.source().protections.succeed().await),
        };
        let opened = started.elapsed();
        let stored = Stored::of(store, &self.settings);
        warm_up(&source, &self.settings, stored.weeks).await?;
        tracing::debug!(
            open_millis = opened.as_millis() as u64,
            total_millis = started.elapsed().as_millis() as u64,
            "showing newly committed events"
        );
        *self.source.write().unwrap_or_else(|p| p.into_inner()) = source;
        *self.stored.lock().unwrap_or_else(|p| p.into_inner()) = stored;
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
                    kpi::kpi_rows(&self.source(), &self.settings, request).await?,
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
                    kpi::adoption_curve(&self.source(), &self.settings, request).await?,
                ))
            })
            .await
    }

    pub async fn modules_table(&self, request: &Request) -> Result<Arc<Table>, ApiError> {
        self.modules
            .get_or_try_init(request.clone(), || async {
                Ok::<_, ApiError>(Arc::new(
                    kpi::modules_table(&self.source(), &self.settings, request).await?,
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
        warm_up(&self.source(), &self.settings, self.stored_weeks()).await
    }
}

/// Computes an engine's cube for the stored weeks (at most the weeks one
/// cube covers, the latest), and the protection against differencing of
/// the last 26 of them over the whole organisation.
async fn warm_up(
    source: &kpi::Source,
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
        kpi::kpi_rows(source, settings, &request).await?;
        // The protection of the weeks pages show by default (at most 26).
        let recent = Request {
            from: from.max(to.offset(-25)),
            protected: true,
            ..request
        };
        kpi::kpi_rows(source, settings, &recent).await?;
    }
    Ok(())
}
