//! The loop that runs due reports and checks alerts while the server
//! runs.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::Settings;
use crate::kpi::live::Live;
use crate::report::Report;
use crate::schedule::{self, Context, Lock};

use super::{Checker, Result, check};

/// Runs due reports and checks alerts while the server runs, over the
/// figures as last committed.
pub struct Scheduler {
    pub data: std::path::PathBuf,
    pub settings: Settings,
    pub live: Arc<Live>,
    /// Waves, modules and regions by name for readers.
    pub labels: crate::model::Labels,
    pub reports: Vec<Report>,
    /// Alerts, checked after each commit the server shows and on their
    /// schedules.
    pub alerts: Checker,
    /// The generation of the figures the alerts were last checked on.
    pub checked_generation: Option<u64>,
}

impl Scheduler {
    /// Sleeps until the next slot or retry (at most a minute) or until
    /// newly committed figures are shown, then runs what is due (also of
    /// subscriptions made meanwhile); never returns.
    pub async fn run_forever(mut self) {
        tracing::info!("report and alert scheduler started");
        let live = self.live.clone();
        loop {
            let wait = match self.tick().await {
                Ok(Some(next)) => (next - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .clamp(Duration::from_millis(200), Duration::from_secs(60)),
                Ok(None) => Duration::from_secs(60),
                Err(e) => {
                    tracing::error!(error = %e, "scheduled reports or alerts could not run");
                    Duration::from_secs(60)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = live.changed() => {}
            }
        }
    }

    async fn tick(&mut self) -> Result<Option<DateTime<Utc>>> {
        let Some(lock) = Lock::take(&self.data, false)? else {
            // Another process (`uptake schedule run-due`) works on the log.
            return Ok(Some(Utc::now() + chrono::Duration::seconds(5)));
        };
        let shown = self.live.shown();
        // Subscriptions come and go while the server runs.
        let mut reports = self.reports.clone();
        reports.extend(schedule::subscriptions::as_reports(
            &self.data,
            &self.reports,
        ));
        let ctx = Context {
            data: &self.data,
            settings: &self.settings,
            source: &shown.source,
            labels: &self.labels,
            stored: shown.stored.dates,
            reports: &reports,
        };
        let now = Utc::now();
        let summary = schedule::run_due(&ctx, now, &lock).await?;
        let tz = self.settings.tz().map_err(schedule::Error::from)?;
        // Every alert after a commit (and at the start), else those whose
        // schedule came round.
        let committed = self.checked_generation != Some(shown.generation);
        let due = self.alerts.due(now, committed, tz);
        self.checked_generation = Some(shown.generation);
        let alerts = check(&ctx, &self.alerts.alerts, Some(&due), now, &lock).await?;
        Ok([
            summary.next_due,
            alerts.next_retry,
            self.alerts.next_slot(now, tz),
        ]
        .into_iter()
        .flatten()
        .min())
    }
}
