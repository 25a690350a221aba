//! The figures as last committed: the engine over the store, its
//! protection decisions and what the stored events cover, replaced as a
//! whole when new events are committed ([`Live::reload`]).
//!
//! Whoever serves figures (the web server, the report scheduler, the
//! ingest flusher) shares one `Live`. Each replacement raises its
//! [`Shown::generation`], by which caches of computed figures know their
//! entries are stale.

use std::sync::{Arc, RwLock};

use chrono::NaiveDate;

use crate::config::Settings;
use crate::engine::Engine;
use crate::model::Week;
use crate::store::Store;
use crate::store::manifest::EventFile;

use super::{
    MAX_WEEKS, Request, Result, Source, kpi_rows, learn_protection, protect, read_kept_protection,
};

/// The weeks whose protection the server decides at start-up: those pages
/// show by default.
const RECENT_WEEKS: i32 = 26;

/// What the stored events cover.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// Weeks of the first and last stored events.
    pub weeks: Option<(Week, Week)>,
    /// Dates of the first and last stored events.
    pub dates: Option<(NaiveDate, NaiveDate)>,
    /// Event files dated where no event can be, with the reason (see
    /// [`Store::implausible_event_files`]).
    pub implausible: Vec<(EventFile, String)>,
    /// Events stored.
    pub events: u64,
    /// The stored event and rollup files.
    pub files: Vec<std::path::PathBuf>,
}

impl Stored {
    pub fn of(store: &Store, settings: &Settings) -> Stored {
        let mut files = store.event_file_paths();
        files.extend(store.rollup_files().map(|r| r.all()).unwrap_or_default());
        Stored {
            weeks: store.event_weeks(settings),
            dates: store.event_dates(settings),
            implausible: store.implausible_event_files(settings),
            events: store.manifest().event_count(),
            files,
        }
    }

    /// The bytes of the stored files (those removed meanwhile count 0).
    pub fn files_bytes(&self) -> u64 {
        self.files
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

/// One committed state of the store, as figures are read from it.
#[derive(Clone)]
pub struct Shown {
    /// Counts the replacements: 0 for the state opened first.
    pub generation: u64,
    pub source: Source,
    pub stored: Arc<Stored>,
}

/// The committed state figures are read from now.
pub struct Live {
    settings: Settings,
    shown: RwLock<Shown>,
    changed: tokio::sync::Notify,
}

impl Live {
    /// Opens an engine over `store`, with the protection decisions kept in
    /// `protections` (held by the caller, bounded as it chose).
    pub async fn open(
        store: &Store,
        settings: &Settings,
        protections: Arc<protect::Cache>,
    ) -> Result<Live> {
        let engine = Engine::open(store).await?;
        Ok(Live {
            settings: settings.clone(),
            shown: RwLock::new(Shown {
                generation: 0,
                source: Source {
                    engine: Arc::new(engine),
                    protections,
                },
                stored: Arc::new(Stored::of(store, settings)),
            }),
            changed: tokio::sync::Notify::new(),
        })
    }

    /// Completes when a newer state is shown than when it was called.
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    /// The state shown now.
    pub fn shown(&self) -> Shown {
        self.shown.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The engine over the store as last committed, with its protection
    /// decisions.
    pub fn source(&self) -> Source {
        self.shown().source
    }

    /// What the stored events cover as last committed.
    pub fn stored(&self) -> Arc<Stored> {
        self.shown().stored
    }

    /// Computes the cube of the stored weeks, so that the first request
    /// does not wait for it.
    pub async fn warm_up(&self) -> Result<()> {
        let shown = self.shown();
        warm_up(&shown.source, &self.settings, shown.stored.weeks).await
    }

    /// Reads into memory the kept protection decisions of the stored
    /// weeks before the last 26 ([`Live::warm_up`] has those), newest
    /// first and four weeks at a time, while they fit in the cache without
    /// dropping others; decides none. Run in the background after the
    /// server listens, so that a first request over older weeks finds
    /// their decisions in memory.
    pub async fn warm_older_weeks(&self) {
        if !self.settings.privacy.complementary_suppression {
            return;
        }
        let shown = self.shown();
        let Some((first, last)) = shown.stored.weeks else {
            return;
        };
        let newest = last;
        let first = first.max(last.offset(-(MAX_WEEKS - 1)));
        let started = std::time::Instant::now();
        let mut to = last.offset(-RECENT_WEEKS);
        let mut weeks = 0;
        while to >= first && shown.source.protections.room_for(4).await {
            let from = to.offset(-3).max(first);
            weeks += to.number() - from.number() + 1;
            let read = read_kept_protection(&shown.source, &self.settings, from, to).await;
            if let Err(e) = read {
                tracing::warn!(error = %e, "reading kept protection decisions");
                return;
            }
            to = from.offset(-1);
        }
        tracing::info!(
            weeks,
            millis = started.elapsed().as_millis() as u64,
            "read the kept protection of older weeks"
        );
        // Live events change the newest week first: its next decision
        // starts from the moves of an audit now.
        let started = std::time::Instant::now();
        if let Err(e) = learn_protection(&shown.source, &self.settings, newest).await {
            tracing::warn!(error = %e, "auditing the newest week's protection");
        }
        tracing::debug!(
            millis = started.elapsed().as_millis() as u64,
            "audited the newest week's protection again"
        );
    }

    /// Shows the store as committed now: opens an engine over it, computes
    /// its cube for the stored weeks, and puts it in place of the old one.
    /// Readers meanwhile use the old engine.
    pub async fn reload(&self, store: &Store) -> Result<()> {
        let started = std::time::Instant::now();
        let old = self.shown();
        // What protection hides depends on every figure: the new engine
        // decides again the weeks whose figures the new events changed.
        let source = Source {
            engine: Arc::new(Engine::open_after(store, &old.source.engine).await?),
            protections: Arc::new(old.source.protections.succeed().await),
        };
        let opened = started.elapsed();
        let stored = Stored::of(store, &self.settings);
        warm_up(&source, &self.settings, stored.weeks).await?;
        tracing::debug!(
            open_millis = opened.as_millis() as u64,
            total_millis = started.elapsed().as_millis() as u64,
            "showing newly committed events"
        );
        {
            let mut shown = self.shown.write().unwrap_or_else(|p| p.into_inner());
            *shown = Shown {
                generation: shown.generation + 1,
                source,
                stored: Arc::new(stored),
            };
        }
        self.changed.notify_waiters();
        crate::metrics::metrics()
            .reloads
            .observe(started.elapsed().as_secs_f64());
        Ok(())
    }
}

/// Computes an engine's cube for the stored weeks (at most the weeks one
/// cube covers, the latest), and the protection against differencing of
/// the last 26 of them over the whole organisation.
async fn warm_up(source: &Source, settings: &Settings, weeks: Option<(Week, Week)>) -> Result<()> {
    if let Some((from, to)) = weeks {
        let request = Request {
            dims: Vec::new(),
            from: from.max(to.offset(-(MAX_WEEKS - 1))),
            to,
            filter: Default::default(),
            scope: Default::default(),
            protected: false,
        };
        kpi_rows(source, settings, &request).await?;
        // The protection of the weeks pages show by default (at most 26,
        // up to the latest week) and of any later stored week.
        let latest = settings.latest_week(Some((from, to)));
        let recent = Request {
            from: from.max(latest.offset(-(RECENT_WEEKS - 1))),
            protected: true,
            ..request
        };
        kpi_rows(source, settings, &recent).await?;
    }
    Ok(())
}
