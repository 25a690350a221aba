//! Reports and their schedules: `uptake report` and `uptake schedule`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::config::Settings;
use crate::kpi::{self, Format};
use crate::model::Week;

use super::{Error, Global, Result, open};

/// Where report definitions are read from.
#[derive(Debug, Args)]
pub struct ReportsArg {
    /// Directory of report definitions (*.toml). Default: ./reports when it
    /// exists, else the reports built into uptake.
    #[arg(long, env = "UPTAKE_REPORTS")]
    pub reports: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The names of the defined reports, one per line.
    List(ReportsArg),
    /// Render a report as PDF.
    Render {
        /// The report's name (see `uptake report list`).
        name: String,
        /// The week (default: the last complete week in the organisation's
        /// time zone).
        #[arg(long)]
        week: Option<Week>,
        /// The previous report's week, for the highlights (default: the
        /// week before).
        #[arg(long)]
        since: Option<Week>,
        /// The PDF file (default: NAME-WEEK.pdf).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        reports: ReportsArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Run the scheduled reports that are due, and retries of failed
    /// deliveries; for an external scheduler such as cron or a systemd
    /// timer. Fails (exit status 2) when a delivery failed.
    RunDue {
        #[command(flatten)]
        reports: ReportsArg,
        /// Act as if it were this time (RFC 3339), e.g. to test schedules.
        #[arg(long, value_parser = parse_time)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The run log: every run, its targets and their delivery status.
    Status {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub(super) fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            format!("'{s}' is not an RFC 3339 time such as 2026-11-23T07:00:00+01:00: {e}")
        })
}

/// Reports from `--reports`, `./reports` or the bundled ones.
pub fn load_reports(arg: &ReportsArg) -> Result<Vec<crate::report::Report>> {
    let dir = crate::config::given_or_local(arg.reports.as_deref(), "reports");
    Ok(crate::report::load(dir.as_deref())?)
}

pub(super) async fn report_command(
    global: &Global,
    cmd: ReportCommand,
    settings: &Settings,
) -> Result<()> {
    match cmd {
        ReportCommand::List(arg) => {
            for r in load_reports(&arg)? {
                println!("{}", r.name);
            }
        }
        ReportCommand::Render {
            name,
            week,
            since,
            out,
            reports,
        } => {
            let reports = load_reports(&reports)?;
            let report = crate::report::find(&reports, &name)?;
            let (store, source) = open(global, settings).await?;
            let now = settings.now();
            let week = week.unwrap_or_else(|| settings.latest_week(store.event_weeks(settings)));
            let labels = store.labels(settings)?;
            let inputs = crate::report::Inputs {
                source: &source,
                settings,
                labels: &labels,
                week,
                since: since.unwrap_or(week.offset(-1)),
                generated: now,
                stored: store.event_dates(settings),
                scope: Default::default(),
                alerts: crate::schedule::active_alerts(
                    &global.data,
                    settings,
                    &Default::default(),
                    &report.filter,
                ),
            };
            let started = std::time::Instant::now();
            let (pdf, _) = crate::report::render(report, &inputs).await?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{name}-{week}.pdf")));
            crate::schedule::deliver::write_atomically(&out, &pdf.bytes)
                .map_err(Error::Delivery)?;
            let (file, ms) = (out.display().to_string(), started.elapsed().as_millis());
            let written = [
                ("file", (&file).into()),
                ("pages", pdf.pages.into()),
                ("bytes", pdf.bytes.len().into()),
                ("ms", u64::try_from(ms).unwrap_or(u64::MAX).into()),
            ];
            eprintln!("{}", global.lang().tr("report_written", &written));
        }
    }
    Ok(())
}

/// What scheduled reports and alerts run over: the data directory as
/// committed, its figures and the names readers see.
pub(super) struct Opened {
    store: crate::store::Store,
    source: kpi::Source,
    labels: crate::model::Labels,
}

impl Opened {
    pub(super) async fn new(global: &Global, settings: &Settings) -> Result<Opened> {
        let (store, source) = open(global, settings).await?;
        let labels = store.labels(settings)?;
        Ok(Opened {
            store,
            source,
            labels,
        })
    }

    /// The context of running `reports` (and alerts) over it.
    pub(super) fn context<'a>(
        &'a self,
        global: &'a Global,
        settings: &'a Settings,
        reports: &'a [crate::report::Report],
    ) -> crate::schedule::Context<'a> {
        crate::schedule::Context {
            data: &global.data,
            settings,
            source: &self.source,
            labels: &self.labels,
            stored: self.store.event_dates(settings),
            reports,
        }
    }
}

/// The run log's lock; refused while another process holds it.
pub(super) fn run_log_lock(global: &Global) -> Result<crate::schedule::Lock> {
    crate::schedule::Lock::take(&global.data, true)?
        .ok_or_else(|| Error::Usage("the run log is locked".into()))
}

pub(super) async fn schedule_command(
    global: &Global,
    cmd: ScheduleCommand,
    settings: &Settings,
) -> Result<()> {
    match cmd {
        ScheduleCommand::RunDue { reports, now } => {
            let mut reports = load_reports(&reports)?;
            let subscribed = crate::schedule::subscriptions::as_reports(&global.data, &reports);
            reports.extend(subscribed);
            let opened = Opened::new(global, settings).await?;
            let ctx = opened.context(global, settings, &reports);
            let lock = run_log_lock(global)?;
            let s =
                crate::schedule::run_due(&ctx, now.unwrap_or_else(chrono::Utc::now), &lock).await?;
            let lang = global.lang();
            for name in &s.armed {
                eprintln!(
                    "{}",
                    lang.tr("scheduled_from_now", &[("report", name.into())])
                );
            }
            for run in &s.started {
                eprintln!("{}", lang.tr("ran_run", &[("run", run.into())]));
            }
            if s.skipped > 0 {
                let count = [("count", s.skipped.into())];
                eprintln!("{}", lang.tr("skipped_missed_runs", &count));
            }
            let counts = [
                ("delivered", s.delivered.into()),
                ("failed", s.failed_attempts.into()),
            ];
            eprintln!("{}", lang.tr("deliveries", &counts));
            if s.failed_attempts > 0 {
                return Err(Error::Delivery(format!(
                    "{} delivery attempts failed; see `uptake schedule status`",
                    s.failed_attempts
                )));
            }
        }
        ScheduleCommand::Status { format } => {
            let log = crate::schedule::Log::read(&global.data, settings)?;
            print!("{}", run_table(&log).render(format));
        }
    }
    Ok(())
}

/// The run log as a table: one row per run and target.
pub fn run_table(log: &crate::schedule::Log) -> kpi::Table {
    use kpi::Cell;
    let mut rows = Vec::new();
    for r in log.newest_first(None) {
        for t in &r.targets {
            let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or(Cell::Empty, |t| Cell::Text(t.to_rfc3339()))
            };
            rows.push(vec![
                Cell::Text(r.run.clone()),
                Cell::Text(r.week.clone()),
                Cell::Bool(r.catch_up),
                Cell::Text(t.target.clone()),
                Cell::Text(t.status.to_string()),
                Cell::Int(t.attempts as i64),
                time(t.last_attempt),
                time(t.next_attempt),
                t.last_error.clone().map_or(Cell::Empty, Cell::Text),
            ]);
        }
    }
    kpi::Table {
        columns: [
            "run",
            "week",
            "catch_up",
            "target",
            "status",
            "attempts",
            "last_attempt",
            "next_attempt",
            "last_error",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect(),
        rows,
    }
}
