//! The run log: `<data>/reports/runs.jsonl`, read as a whole and appended
//! to entry by entry.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Settings;

use super::{Error, Result, time, time_opt};

/// One line of the run log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Entry {
    Armed {
        report: String,
        cron: String,
        #[serde(with = "time")]
        since: DateTime<Utc>,
    },
    Run {
        run: String,
        report: String,
        #[serde(with = "time")]
        slot: DateTime<Utc>,
        week: String,
        since_week: String,
        #[serde(with = "time")]
        started: DateTime<Utc>,
        catch_up: bool,
        targets: Vec<String>,
    },
    Skipped {
        report: String,
        slots: usize,
        #[serde(with = "time")]
        first: DateTime<Utc>,
        #[serde(with = "time")]
        last: DateTime<Utc>,
        #[serde(with = "time")]
        at: DateTime<Utc>,
    },
    /// An alert's segment began (`fired`) or ended (`resolved`) an
    /// episode: claimed before it is delivered, as a run is.
    Notice {
        notice: String,
        alert: String,
        /// The alert's title when the notice was made.
        #[serde(default)]
        title: String,
        /// Whose figures: `all` or the scope of the recipients.
        audience: String,
        dims: Vec<String>,
        segment: Vec<String>,
        episode: u32,
        state: NoticeKind,
        week: String,
        #[serde(with = "time")]
        at: DateTime<Utc>,
        message: String,
    },
    /// The notices of one check of an alert for one audience, claimed for
    /// delivery as one message to each target.
    Dispatch {
        dispatch: String,
        alert: String,
        audience: String,
        week: String,
        #[serde(with = "time")]
        at: DateTime<Utc>,
        notices: Vec<String>,
        targets: Vec<String>,
    },
    Attempt {
        run: String,
        target: String,
        attempt: u32,
        #[serde(with = "time")]
        at: DateTime<Utc>,
        ok: bool,
        error: Option<String>,
        #[serde(with = "time_opt")]
        next_attempt: Option<DateTime<Utc>>,
    },
}

/// Whether a notice tells the start or the end of an episode.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    Fired,
    Resolved,
}

/// A notice of an alert, as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NoticeState {
    pub notice: String,
    pub alert: String,
    pub title: String,
    pub audience: String,
    pub dims: Vec<String>,
    pub segment: Vec<String>,
    pub episode: u32,
    pub state: NoticeKind,
    pub week: String,
    #[serde(with = "time")]
    pub at: DateTime<Utc>,
    pub message: String,
    /// The dispatch that delivers it.
    pub dispatch: Option<String>,
}

/// One message of an alert's notices to its targets.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DispatchState {
    pub dispatch: String,
    pub alert: String,
    pub audience: String,
    pub week: String,
    #[serde(with = "time")]
    pub at: DateTime<Utc>,
    pub notices: Vec<String>,
    /// `delivered` when every target is, `failed` when one has failed for
    /// good, else `pending`.
    pub status: &'static str,
    pub targets: Vec<TargetState>,
}

/// The state of one target of a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TargetState {
    pub target: String,
    /// `pending`, `delivered`, `retrying` or `failed`.
    pub status: &'static str,
    pub attempts: u32,
    pub last_error: Option<String>,
    #[serde(with = "time_opt")]
    pub last_attempt: Option<DateTime<Utc>>,
    #[serde(with = "time_opt")]
    pub next_attempt: Option<DateTime<Utc>>,
}

impl TargetState {
    fn pending(target: String) -> TargetState {
        TargetState {
            target,
            status: "pending",
            attempts: 0,
            last_error: None,
            last_attempt: None,
            next_attempt: None,
        }
    }

    /// Whether the target is to be attempted at `now`: never yet, or its
    /// retry is due.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.status == "pending"
            || (self.status == "retrying" && self.next_attempt.is_some_and(|n| n <= now))
    }
}

/// A run's or notice's status from its targets'.
fn overall(targets: &[TargetState]) -> &'static str {
    if targets.iter().all(|t| t.status == "delivered") {
        "delivered"
    } else if targets.iter().any(|t| t.status == "failed") {
        "failed"
    } else {
        "pending"
    }
}

/// A run and its targets, as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunState {
    pub run: String,
    pub report: String,
    #[serde(with = "time")]
    pub slot: DateTime<Utc>,
    pub week: String,
    pub since_week: String,
    #[serde(with = "time")]
    pub started: DateTime<Utc>,
    pub catch_up: bool,
    /// `delivered` when every target is, `failed` when one has failed for
    /// good, else `pending`.
    pub status: &'static str,
    pub targets: Vec<TargetState>,
}

/// Missed slots not run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SkippedState {
    pub report: String,
    pub slots: usize,
    #[serde(with = "time")]
    pub first: DateTime<Utc>,
    #[serde(with = "time")]
    pub last: DateTime<Utc>,
    #[serde(with = "time")]
    pub at: DateTime<Utc>,
}

/// What the run log says.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Log {
    pub runs: Vec<RunState>,
    pub skipped: Vec<SkippedState>,
    /// Notices of alerts, in the order claimed (the alert log).
    pub notices: Vec<NoticeState>,
    /// Their messages to targets.
    pub dispatches: Vec<DispatchState>,
    /// Per report: the cron and since when it is armed.
    #[serde(skip)]
    pub(super) armed: BTreeMap<String, (String, DateTime<Utc>)>,
}

impl Log {
    /// Reads the run log of a data directory (empty when there is none).
    pub fn read(data: &Path, settings: &Settings) -> Result<Log> {
        Log::read_path(log_path(data), settings)
    }

    /// Reads a log file: the run log or the alert log.
    pub fn read_path(path: PathBuf, settings: &Settings) -> Result<Log> {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(Error::Io { path, source }),
        };
        let mut log = Log::default();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry = match serde_json::from_str(line) {
                Ok(e) => e,
                // A last line cut short by a crash is what was not yet
                // recorded: the step it describes is repeated.
                Err(e) if i + 1 == lines.len() && !text.ends_with('\n') => {
                    tracing::warn!(path = %path.display(), line = i + 1, error = %e, "ignoring an incomplete last line of the run log");
                    continue;
                }
                Err(e) => {
                    return Err(Error::Log {
                        path,
                        line: i + 1,
                        message: e.to_string(),
                    });
                }
            };
            log.apply(entry, settings);
        }
        Ok(log)
    }

    /// Adds an entry as read from the log.
    pub fn apply(&mut self, entry: Entry, settings: &Settings) {
        match entry {
            Entry::Armed {
                report,
                cron,
                since,
            } => {
                self.armed.insert(report, (cron, since));
            }
            Entry::Run {
                run,
                report,
                slot,
                week,
                since_week,
                started,
                catch_up,
                targets,
            } => self.runs.push(RunState {
                run,
                report,
                slot,
                week,
                since_week,
                started,
                catch_up,
                status: "pending",
                targets: targets.into_iter().map(TargetState::pending).collect(),
            }),
            Entry::Skipped {
                report,
                slots,
                first,
                last,
                at,
            } => self.skipped.push(SkippedState {
                report,
                slots,
                first,
                last,
                at,
            }),
            Entry::Notice {
                notice,
                alert,
                title,
                audience,
                dims,
                segment,
                episode,
                state,
                week,
                at,
                message,
            } => self.notices.push(NoticeState {
                notice,
                alert,
                title,
                audience,
                dims,
                segment,
                episode,
                state,
                week,
                at,
                message,
                dispatch: None,
            }),
            Entry::Dispatch {
                dispatch,
                alert,
                audience,
                week,
                at,
                notices,
                targets,
            } => {
                // Its notices are the last ones recorded without a dispatch.
                let ids: std::collections::HashSet<&String> = notices.iter().collect();
                for n in self.notices.iter_mut().rev() {
                    if n.dispatch.is_some() {
                        break;
                    }
                    if ids.contains(&n.notice) {
                        n.dispatch = Some(dispatch.clone());
                    }
                }
                let targets: Vec<TargetState> =
                    targets.into_iter().map(TargetState::pending).collect();
                self.dispatches.push(DispatchState {
                    dispatch,
                    alert,
                    audience,
                    week,
                    at,
                    notices,
                    status: overall(&targets),
                    targets,
                });
            }
            Entry::Attempt {
                run,
                target,
                attempt,
                at,
                ok,
                error,
                next_attempt,
            } => {
                let max = settings.delivery.max_attempts;
                let found = match self.runs.iter_mut().find(|r| r.run == run) {
                    Some(r) => Some((&mut r.targets, &mut r.status)),
                    None => self
                        .dispatches
                        .iter_mut()
                        .rev()
                        .find(|d| d.dispatch == run)
                        .map(|d| (&mut d.targets, &mut d.status)),
                };
                if let Some((targets, status)) = found {
                    if let Some(t) = targets.iter_mut().find(|t| t.target == target) {
                        t.attempts = t.attempts.max(attempt);
                        t.last_attempt = Some(at);
                        t.last_error = error;
                        t.next_attempt = next_attempt;
                        t.status = if ok {
                            "delivered"
                        } else if next_attempt.is_some() && attempt < max {
                            "retrying"
                        } else {
                            "failed"
                        };
                    }
                    *status = overall(targets);
                }
            }
        }
    }

    /// The last slot of a report that was run or skipped, or when it was
    /// armed.
    pub(super) fn last_slot(&self, report: &str) -> Option<DateTime<Utc>> {
        let runs = self
            .runs
            .iter()
            .filter(|r| r.report == report)
            .map(|r| r.slot);
        let skipped = self
            .skipped
            .iter()
            .filter(|s| s.report == report)
            .map(|s| s.last);
        let armed = self.armed.get(report).map(|a| a.1);
        runs.chain(skipped).chain(armed).max()
    }

    /// The fired notices of alert episodes still on.
    pub fn active_notices(&self) -> std::collections::HashSet<String> {
        let mut on: std::collections::HashMap<(&str, &str, &[String]), &str> = Default::default();
        for n in &self.notices {
            let key = (n.alert.as_str(), n.audience.as_str(), n.segment.as_slice());
            match n.state {
                NoticeKind::Fired => on.insert(key, &n.notice),
                NoticeKind::Resolved => on.remove(&key),
            };
        }
        on.into_values().map(str::to_string).collect()
    }

    /// Runs, newest first, optionally of one report.
    pub fn newest_first(&self, report: Option<&str>) -> Vec<&RunState> {
        let mut runs: Vec<&RunState> = self
            .runs
            .iter()
            .filter(|r| report.is_none_or(|n| r.report == n))
            .collect();
        runs.sort_by(|a, b| b.started.cmp(&a.started).then(b.slot.cmp(&a.slot)));
        runs
    }
}

pub(super) fn reports_dir(data: &Path) -> PathBuf {
    data.join("reports")
}

pub fn log_path(data: &Path) -> PathBuf {
    reports_dir(data).join("runs.jsonl")
}

/// The alert log: notices of alerts, their dispatches and attempts.
pub fn alert_log_path(data: &Path) -> PathBuf {
    data.join("alerts").join("log.jsonl")
}

/// The alerts on for readers of `scope` (the episodes checked for that
/// audience) within `filter`, newest first, for a report's `alerts`
/// section. Nothing when the log cannot be read.
pub fn active_alerts(
    data: &Path,
    settings: &Settings,
    scope: &crate::kpi::Scope,
    filter: &crate::kpi::Filter,
) -> Vec<crate::report::AlertLine> {
    let Ok(log) = Log::read_path(alert_log_path(data), settings) else {
        return Vec::new();
    };
    let on = log.active_notices();
    let audience = scope.describe();
    let within = |n: &NoticeState| {
        n.dims.iter().zip(&n.segment).all(|(d, v)| {
            let wanted = match d.as_str() {
                "region" => &filter.region,
                "department" => &filter.department,
                "wave" => &filter.wave,
                _ => &None,
            };
            wanted.as_ref().is_none_or(|w| w == v)
        })
    };
    log.notices
        .iter()
        .rev()
        .filter(|n| on.contains(&n.notice) && n.audience == audience && within(n))
        .map(|n| crate::report::AlertLine {
            title: if n.title.is_empty() {
                n.alert.clone()
            } else {
                n.title.clone()
            },
            dims: n.dims.clone(),
            segment: n.segment.clone(),
            message: n.message.clone(),
            week: n.week.clone(),
        })
        .collect()
}

/// Appends entries to the run log and flushes them to disk.
pub(super) fn append(data: &Path, entries: &[Entry]) -> Result<()> {
    append_to(&log_path(data), entries)
}

/// Appends entries to a log file (the run log or the alert log) and
/// flushes them to disk.
pub fn append_to(path: &Path, entries: &[Entry]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut text = String::new();
    for e in entries {
        text.push_str(&serde_json::to_string(e).unwrap_or_default());
        text.push('\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(path)
        .map_err(io)?;
    cut_incomplete_line(&mut f).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_data().map_err(io)?;
    count(entries);
    Ok(())
}

/// Counts runs and delivery attempts for `/metrics`.
fn count(entries: &[Entry]) {
    use crate::metrics::{Metrics, metrics};
    let m = metrics();
    for e in entries {
        match e {
            Entry::Run { .. } => Metrics::count(&m.report_runs, "started"),
            Entry::Skipped { .. } => Metrics::count(&m.report_runs, "skipped"),
            Entry::Attempt { ok: true, .. } => Metrics::count(&m.deliveries, "delivered"),
            Entry::Attempt { ok: false, .. } => Metrics::count(&m.deliveries, "failed"),
            Entry::Notice { state, .. } => Metrics::count(
                &m.alert_notices,
                match state {
                    NoticeKind::Fired => "fired",
                    NoticeKind::Resolved => "resolved",
                },
            ),
            Entry::Armed { .. } | Entry::Dispatch { .. } => {}
        }
    }
}

/// Drops a last line without its line end: one that a crash cut short, and
/// that [`Log::read`] ignored. Appending after it would damage the next.
fn cut_incomplete_line(f: &mut std::fs::File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8];
    f.seek(SeekFrom::Start(len - 1))?;
    f.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    let mut text = Vec::new();
    f.seek(SeekFrom::Start(0))?;
    f.read_to_end(&mut text)?;
    let keep = text.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    f.set_len(keep as u64)?;
    f.sync_data()
}
