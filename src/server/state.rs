//! What every request reads: settings, the engine over the data directory,
//! the directory's segment values, the dashboards, and a cache of computed
//! figures.
//!
//! Stored data changes only when live ingestion commits new events, and a
//! week's figures never depend on the range asked for, so computed rows are
//! cached per request until the next commit (a new generation of
//! [`Live`]); concurrent requests for the same figures wait for one
//! computation.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use tokio::sync::OnceCell;

use crate::config::Settings;
use crate::dashboard::Dashboard;
use crate::engine::Engine;
use crate::kpi::live::Live;
use crate::kpi::{self, CurvePoint, Dimension, KpiRow, Request, Scope, Table};
use crate::model::{Licensee, Week};
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
    /// The generation of the figures held.
    generation: u64,
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
                generation: 0,
            }),
            budget,
        }
    }

    /// The value for `key` computed over the state of `generation`
    /// ([`crate::kpi::live::Shown::generation`]). A newer generation
    /// drops every entry first; a request over an older one is computed
    /// and not kept.
    async fn get_or_try_init<E, F, Fut>(&self, generation: u64, key: K, compute: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let found = {
            let mut e = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            if generation > e.generation {
                e.map.clear();
                e.order.clear();
                crate::metrics::metrics().cache_bytes.dec_by(e.bytes as i64);
                e.bytes = 0;
                e.generation = generation;
            }
            if generation < e.generation {
                None
            } else {
                Some(match e.map.get(&key) {
                    Some((cell, _)) => {
                        crate::metrics::metrics().cache_hits.inc();
                        (cell.clone(), false)
                    }
                    None => {
                        crate::metrics::metrics().cache_misses.inc();
                        let cell: Arc<OnceCell<V>> = Arc::default();
                        e.map.insert(key.clone(), (cell.clone(), 0));
                        e.order.push_back(key.clone());
                        (cell, true)
                    }
                })
            }
        };
        let Some((cell, fresh)) = found else {
            return compute().await;
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
                    crate::metrics::metrics().cache_bytes.inc_by(weight as i64);
                }
            }
            while e.bytes > self.budget || e.map.len() > CACHE_ENTRIES {
                let Some(oldest) = e.order.pop_front() else {
                    break;
                };
                if let Some((_, w)) = e.map.remove(&oldest) {
                    e.bytes -= w;
                    crate::metrics::metrics().cache_bytes.dec_by(w as i64);
                }
            }
        }
        value
    }
}

/// Shared by all requests; complete when built ([`AppState::new`]).
pub struct AppState {
    pub settings: Settings,
    /// The figures as last committed.
    pub live: Arc<Live>,
    pub segments: Segments,
    /// Waves, modules and regions by name for readers.
    pub labels: crate::model::Labels,
    pub dashboards: Vec<Dashboard>,
    pub reports: Vec<crate::report::Report>,
    pub alerts: Vec<crate::alert::Alert>,
    /// The data directory: the run log of scheduled reports lives here.
    pub data_dir: std::path::PathBuf,
    /// Live ingestion (`POST /api/v1/events`).
    pub ingest: Arc<crate::ingest::Ingest>,
    pub tokens: crate::auth::tokens::Tokens,
    pub users: crate::auth::users::Users,
    pub sessions: super::auth::Sessions,
    /// PDF renders of requests (`server.render_concurrency`).
    pub renders: super::limits::Gate,
    pub audit: Arc<crate::auth::audit::Audit>,
    kpi: Cache<Request, Arc<Vec<KpiRow>>>,
    curve: Cache<Request, Arc<Vec<CurvePoint>>>,
    modules: Cache<Request, Arc<Table>>,
    /// Serialized API answers by endpoint and request.
    bodies: Cache<(&'static str, Request), Arc<String>>,
    /// Set when shutdown began: no longer ready for new requests.
    stopping: std::sync::atomic::AtomicBool,
    /// The bytes of the stored files, and when they were summed.
    store_size: Mutex<Option<(std::time::Instant, u64)>>,
    /// Active alerts per audience, and the alert log's length and time
    /// they were counted at.
    active_alerts: Mutex<Option<(AlertLogStamp, HashMap<String, usize>)>>,
}

type AlertLogStamp = (u64, Option<std::time::SystemTime>);

/// What the server is built from.
pub struct Parts<'a> {
    pub settings: Settings,
    /// The store as committed when the server starts.
    pub store: &'a Store,
    pub live: Arc<Live>,
    pub dashboards: Vec<Dashboard>,
    pub reports: Vec<crate::report::Report>,
    pub alerts: Vec<crate::alert::Alert>,
    pub ingest: Arc<crate::ingest::Ingest>,
    pub audit: Arc<crate::auth::audit::Audit>,
}

/// Each of the four caches gets a quarter of `server.cache_mib`.
pub fn cache_share(settings: &Settings) -> usize {
    usize::try_from(settings.server.cache_mib.saturating_mul(1 << 20) / 4).unwrap_or(usize::MAX)
}

impl AppState {
    pub fn new(parts: Parts<'_>) -> Result<AppState, crate::store::Error> {
        let Parts {
            settings,
            store,
            live,
            dashboards,
            reports,
            alerts,
            ingest,
            audit,
        } = parts;
        let licensees = store.table::<Licensee>()?;
        let share = cache_share(&settings);
        Ok(AppState {
            live,
            sessions: super::auth::Sessions::new(&settings.server),
            renders: super::limits::Gate::new(
                settings.server.render_concurrency,
                settings.server.render_queue,
            ),
            audit,
            segments: Segments::from_directory(&licensees),
            labels: store.labels(&settings)?,
            dashboards,
            reports,
            alerts,
            data_dir: store.root().to_path_buf(),
            ingest,
            tokens: crate::auth::tokens::Tokens::new(store.root()),
            users: crate::auth::users::Users::new(store.root()),
            kpi: Cache::new(share),
            curve: Cache::new(share),
            modules: Cache::new(share),
            bodies: Cache::new(share),
            stopping: Default::default(),
            store_size: Mutex::new(None),
            active_alerts: Mutex::new(None),
            settings,
        })
    }

    /// Marks the server as stopping (`/health/ready` answers 503).
    /// How many alert episodes are on for a caller: those of their
    /// audience (admins: of every audience). Counted again only when the
    /// alert log changed.
    pub fn active_alerts(&self, caller: &crate::auth::Caller) -> usize {
        let path = crate::alert::alert_log_path(&self.data_dir);
        let stamp = std::fs::metadata(&path)
            .map(|m| (m.len(), m.modified().ok()))
            .unwrap_or((0, None));
        let mut kept = self.active_alerts.lock().unwrap_or_else(|p| p.into_inner());
        if kept.as_ref().is_none_or(|(s, _)| *s != stamp) {
            let mut counts: HashMap<String, usize> = HashMap::new();
            if let Ok(log) = crate::schedule::Log::read_path(path, &self.settings) {
                let on = log.active_notices();
                for n in log.notices.iter().filter(|n| on.contains(&n.notice)) {
                    *counts.entry(n.audience.clone()).or_default() += 1;
                }
            }
            *kept = Some((stamp, counts));
        }
        let counts = kept.as_ref().map(|(_, c)| c);
        match counts {
            Some(c) if caller.is_admin() => c.values().sum(),
            Some(c) => c.get(&caller.scope.describe()).copied().unwrap_or(0),
            None => 0,
        }
    }

    pub fn stop(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether shutdown began.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The bytes of the stored event and rollup files, summed at most
    /// every ten seconds (a scrape costs no walk of the store).
    pub fn store_bytes(&self) -> u64 {
        let mut size = self.store_size.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, bytes)) = *size
            && at.elapsed() < std::time::Duration::from_secs(10)
        {
            return bytes;
        }
        let bytes = self.live.stored().files_bytes();
        *size = Some((std::time::Instant::now(), bytes));
        bytes
    }

    /// The week of the first stored event and the latest week
    /// ([`Settings::latest_week`]): the range pages and API requests
    /// default to.
    pub fn stored_weeks(&self) -> Option<(Week, Week)> {
        let (first, last) = self.live.stored().weeks?;
        Some((first, self.settings.latest_week(Some((first, last)))))
    }

    /// Events stored in the store the figures are read from now.
    pub fn stored_events(&self) -> u64 {
        self.live.stored().events
    }

    /// Dates of the first and last stored events.
    pub fn stored_dates(&self) -> Option<(NaiveDate, NaiveDate)> {
        self.live.stored().dates
    }

    /// Stored event files dated where no event can be.
    pub fn implausible_events(&self) -> Vec<(EventFile, String)> {
        self.live.stored().implausible.clone()
    }

    /// The engine over the store as last committed.
    pub fn engine(&self) -> Arc<Engine> {
        self.live.source().engine
    }

    /// The engine over the store as last committed, with its protection
    /// decisions.
    pub fn source(&self) -> kpi::Source {
        self.live.source()
    }

    pub async fn kpi_rows(&self, request: &Request) -> Result<Arc<Vec<KpiRow>>, ApiError> {
        let shown = self.live.shown();
        self.kpi
            .get_or_try_init(shown.generation, request.clone(), || async {
                Ok::<_, ApiError>(Arc::new(
                    kpi::kpi_rows(&shown.source, &self.settings, request).await?,
                ))
            })
            .await
    }

    pub async fn adoption_curve(
        &self,
        request: &Request,
    ) -> Result<Arc<Vec<CurvePoint>>, ApiError> {
        let shown = self.live.shown();
        self.curve
            .get_or_try_init(shown.generation, request.clone(), || async {
                Ok::<_, ApiError>(Arc::new(
                    kpi::adoption_curve(&shown.source, &self.settings, request).await?,
                ))
            })
            .await
    }

    pub async fn modules_table(&self, request: &Request) -> Result<Arc<Table>, ApiError> {
        let shown = self.live.shown();
        self.modules
            .get_or_try_init(shown.generation, request.clone(), || async {
                Ok::<_, ApiError>(Arc::new(
                    kpi::modules_table(&shown.source, &self.settings, request).await?,
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
            .get_or_try_init(
                self.live.shown().generation,
                (endpoint, request.clone()),
                || async { Ok(Arc::new(compute().await?)) },
            )
            .await
    }
}
