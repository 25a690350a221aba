//! Scheduled reports: cron schedules in the organisation's time zone, a
//! run log in the data directory, and delivery with retries.
//!
//! The run log (`<data>/reports/runs.jsonl`) is append-only; every entry is
//! flushed to disk before the step it records goes on, so a restart knows
//! what happened:
//!
//! - `armed`: a schedule was first seen (or its cron changed); slots before
//!   it are never run.
//! - `run`: a slot was claimed, before anything is rendered or sent. A slot
//!   with a run is never run again.
//! - `skipped`: slots missed while uptake was not running, not caught up.
//! - `attempt`: one delivery attempt to one target, its outcome and, after a
//!   failure, when the next attempt is due.
//!
//! Missed slots: when more than one slot fell due since the last one, or the
//! latest is more than [`ON_TIME`] late, uptake was down. With `catch_up`
//! (the default) the latest missed slot is run once, marked as a catch-up;
//! without, the slots are recorded as skipped. Either way every earlier
//! slot is recorded as skipped, never run.
//!
//! A run interrupted after its claim (a crash) is finished at the next
//! start: targets without an outcome are attempted again. An e-mail keeps
//! its Message-ID and a webhook call its Idempotency-Key across attempts,
//! so receivers can recognise a repeat in the short window between a
//! delivery and its record.
//!
//! One process at a time works on the log: `<data>/reports/lock` is held
//! while due runs are processed.

pub mod deliver;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::kpi::Scope;
use crate::model::{Wave, Week};
use crate::report::{self, Inputs, Report, Target};

/// A slot run within this time of its due time is on time; later, it was
/// missed (uptake was down).
pub const ON_TIME: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("run log {path} line {line}: {message}")]
    Log {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Config(#[from] crate::config::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Times in the run log and the API: RFC 3339 in UTC.
mod time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

mod time_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::time::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

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
    /// Per report: the cron and since when it is armed.
    #[serde(skip)]
    armed: BTreeMap<String, (String, DateTime<Utc>)>,
}

impl Log {
    /// Reads the log of a data directory (empty when there is none).
    pub fn read(data: &Path, settings: &Settings) -> Result<Log> {
        let path = log_path(data);
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

    fn apply(&mut self, entry: Entry, settings: &Settings) {
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
                targets: targets
                    .into_iter()
                    .map(|target| TargetState {
                        target,
                        status: "pending",
                        attempts: 0,
                        last_error: None,
                        last_attempt: None,
                        next_attempt: None,
                    })
                    .collect(),
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
                if let Some(r) = self.runs.iter_mut().find(|r| r.run == run) {
                    if let Some(t) = r.targets.iter_mut().find(|t| t.target == target) {
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
                    r.status = if r.targets.iter().all(|t| t.status == "delivered") {
                        "delivered"
                    } else if r.targets.iter().any(|t| t.status == "failed") {
                        "failed"
                    } else {
                        "pending"
                    };
                }
            }
        }
    }

    /// The last slot of a report that was run or skipped, or when it was
    /// armed.
    fn last_slot(&self, report: &str) -> Option<DateTime<Utc>> {
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

fn reports_dir(data: &Path) -> PathBuf {
    data.join("reports")
}

pub fn log_path(data: &Path) -> PathBuf {
    reports_dir(data).join("runs.jsonl")
}

/// Appends entries to the run log and flushes them to disk.
fn append(data: &Path, entries: &[Entry]) -> Result<()> {
    let path = log_path(data);
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(reports_dir(data)).map_err(io)?;
    let mut text = String::new();
    for e in entries {
        text.push_str(&serde_json::to_string(e).unwrap_or_default());
        text.push('\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(&path)
        .map_err(io)?;
    cut_incomplete_line(&mut f).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)?;
    f.sync_data().map_err(io)?;
    Ok(())
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

/// What a call of [`run_due`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub armed: Vec<String>,
    pub started: Vec<String>,
    pub skipped: usize,
    pub delivered: usize,
    pub failed_attempts: usize,
    /// When something is next due: a slot or a retry.
    #[serde(with = "time_opt")]
    pub next_due: Option<DateTime<Utc>>,
}

/// What rendering and delivery need.
pub struct Context<'a> {
    pub data: &'a Path,
    pub settings: &'a Settings,
    pub source: &'a crate::kpi::Source,
    pub waves: &'a [Wave],
    pub stored: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    pub reports: &'a [Report],
}

/// Holds the lock of the run log while alive.
pub struct Lock {
    _file: std::fs::File,
}

impl Lock {
    /// Takes the lock, waiting for another process to let go (`wait`) or
    /// returning `None` when it is held.
    pub fn take(data: &Path, wait: bool) -> Result<Option<Lock>> {
        let dir = reports_dir(data);
        let path = dir.join("lock");
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let file = crate::store::files::lock_file(&path, wait).map_err(io)?;
        Ok(file.map(|f| Lock { _file: f }))
    }
}

fn run_id(report: &str, slot: DateTime<Utc>) -> String {
    format!("{report}@{}", slot.format("%Y-%m-%dT%H:%M:%SZ"))
}

fn backoff(settings: &Settings, attempt: u32) -> chrono::Duration {
    let base = settings.delivery.retry_seconds.max(1);
    let factor = 4u64.saturating_pow(attempt.saturating_sub(1));
    chrono::Duration::seconds(base.saturating_mul(factor).min(6 * 3600) as i64)
}

/// Runs what is due at `now`: new slots of every scheduled report, and
/// retries whose time has come. The caller holds the [`Lock`].
pub async fn run_due(ctx: &Context<'_>, now: DateTime<Utc>, _lock: &Lock) -> Result<Summary> {
    let tz: Tz = ctx.settings.tz()?;
    let mut log = Log::read(ctx.data, ctx.settings)?;
    let mut summary = Summary::default();
    let mut next_due: Vec<DateTime<Utc>> = Vec::new();
    for report in ctx.reports {
        let Some(schedule) = &report.schedule else {
            continue;
        };
        let Ok(cron) = report::cron::parse(&schedule.cron) else {
            continue;
        };
        let armed = log.armed.get(&report.name);
        if armed.is_none_or(|(c, _)| c != &schedule.cron) {
            let entry = Entry::Armed {
                report: report.name.clone(),
                cron: schedule.cron.clone(),
                since: now,
            };
            append(ctx.data, std::slice::from_ref(&entry))?;
            log.apply(entry, ctx.settings);
            summary.armed.push(report.name.clone());
        }
        let last = log.last_slot(&report.name).unwrap_or(now);
        let after = last.with_timezone(&tz);
        // The slots due since the last one: counted, not collected, so a
        // long downtime of a frequent schedule costs no memory.
        let (mut due, mut first, mut before_latest, mut latest) = (0usize, None, None, None);
        for t in cron.after(&after) {
            let t = t.with_timezone(&Utc);
            if t > now {
                next_due.push(t);
                break;
            }
            due += 1;
            first = first.or(Some(t));
            before_latest = latest;
            latest = Some(t);
        }
        let (Some(first), Some(latest)) = (first, latest) else {
            continue;
        };
        let missed = due > 1 || now - latest > ON_TIME;
        let run_latest = !missed || schedule.catch_up;
        let skipped = if run_latest { due - 1 } else { due };
        let last_skipped = if run_latest {
            before_latest
        } else {
            Some(latest)
        };
        let mut entries = Vec::new();
        if skipped > 0
            && let Some(last) = last_skipped
        {
            entries.push(Entry::Skipped {
                report: report.name.clone(),
                slots: skipped,
                first,
                last,
                at: now,
            });
            summary.skipped += skipped;
            tracing::warn!(
                report = %report.name,
                slots = skipped,
                %first,
                "scheduled runs were missed while uptake was not running"
            );
        }
        if run_latest {
            let week = report::last_complete_week(latest, tz);
            let since = log
                .runs
                .iter()
                .filter(|r| r.report == report.name)
                .filter_map(|r| r.week.parse::<Week>().ok())
                .filter(|w| *w < week)
                .max()
                .unwrap_or(week.offset(-1));
            let run = run_id(&report.name, latest);
            entries.push(Entry::Run {
                run: run.clone(),
                report: report.name.clone(),
                slot: latest,
                week: week.to_string(),
                since_week: since.to_string(),
                started: now,
                catch_up: missed,
                targets: report.deliver.iter().map(|t| t.name()).collect(),
            });
            summary.started.push(run);
        }
        append(ctx.data, &entries)?;
        for e in entries {
            log.apply(e, ctx.settings);
        }
    }

    // Deliver what is pending or due for a retry.
    let work: Vec<(RunState, Vec<TargetState>)> = log
        .runs
        .iter()
        .filter_map(|r| {
            let due: Vec<TargetState> = r
                .targets
                .iter()
                .filter(|t| {
                    t.status == "pending"
                        || (t.status == "retrying" && t.next_attempt.is_some_and(|n| n <= now))
                })
                .cloned()
                .collect();
            (!due.is_empty()).then(|| (r.clone(), due))
        })
        .collect();
    for (run, targets) in work {
        // A report or target removed from the definitions since the run was
        // claimed cannot be delivered: recorded as failed, not retried.
        let report = ctx.reports.iter().find(|r| r.name == run.report);
        let outcome = match report {
            Some(report) => render_run(ctx, report, &run, now, &Scope::default()).await,
            None => Err(format!(
                "no report named '{}' is defined any more",
                run.report
            )),
        };
        for t in targets {
            let attempt = t.attempts + 1;
            let target = report.and_then(|r| r.deliver.iter().find(|d| d.name() == t.target));
            let (result, retry) = match (&outcome, report, target) {
                (Ok((pdf, content)), Some(report), Some(target)) if target.email.is_some() => (
                    email_by_scope(ctx, report, &run, target, now, (pdf, content)).await,
                    true,
                ),
                (Ok((pdf, content)), Some(report), Some(target)) => {
                    let sent = deliver::send(ctx, report, &run, target, pdf, content).await;
                    if sent.is_ok() {
                        audit_sent(ctx, report, &run, &target.name(), &Scope::default());
                    }
                    (sent, true)
                }
                (Ok(_), _, _) => (
                    Err("the report no longer names this target".to_string()),
                    false,
                ),
                (Err(e), Some(_), _) => (Err(format!("rendering failed: {e}")), true),
                (Err(e), None, _) => (Err(e.clone()), false),
            };
            let (ok, error) = match result {
                Ok(()) => (true, None),
                Err(e) => (false, Some(e)),
            };
            let next_attempt = (!ok && retry && attempt < ctx.settings.delivery.max_attempts)
                .then(|| now + backoff(ctx.settings, attempt));
            if ok {
                summary.delivered += 1;
                tracing::info!(run = %run.run, target = %t.target, attempt, "report delivered");
            } else {
                summary.failed_attempts += 1;
                let error = error.as_deref().unwrap_or("");
                match next_attempt {
                    Some(next) => {
                        tracing::warn!(run = %run.run, target = %t.target, attempt, %error, %next, "report delivery failed, will retry");
                        next_due.push(next);
                    }
                    None => {
                        tracing::error!(run = %run.run, target = %t.target, attempt, %error, "report delivery failed for good")
                    }
                }
            }
            let entry = Entry::Attempt {
                run: run.run.clone(),
                target: t.target.clone(),
                attempt,
                at: now,
                ok,
                error,
                next_attempt,
            };
            append(ctx.data, std::slice::from_ref(&entry))?;
            log.apply(entry, ctx.settings);
        }
    }
    for r in &log.runs {
        for t in &r.targets {
            if t.status == "retrying"
                && let Some(n) = t.next_attempt
            {
                next_due.push(n);
            }
        }
    }
    summary.next_due = next_due.into_iter().min();
    Ok(summary)
}

fn audit_sent(ctx: &Context<'_>, report: &Report, run: &RunState, to: &str, scope: &Scope) {
    let mut entry = crate::auth::audit::Entry::new("scheduler", "report_sent");
    entry.target = to.to_string();
    entry.scope = scope.describe();
    entry.detail = format!("report {} run {} week {}", report.name, run.run, run.week);
    crate::auth::audit::record(ctx.data, &ctx.settings.audit, &entry);
}

/// Sends a report by e-mail so that each recipient gets what their scope
/// allows: every address must belong to a user (`uptake user add
/// --email`); recipients are grouped by scope, and each group gets the
/// report computed over its scope (`whole`, the run's report over
/// everything, for those who see everything). A report whose filter lies
/// outside a recipient's scope is not sent to anyone of the target.
async fn email_by_scope(
    ctx: &Context<'_>,
    report: &Report,
    run: &RunState,
    target: &Target,
    now: DateTime<Utc>,
    whole: (&[u8], &report::Content),
) -> std::result::Result<(), String> {
    let users = crate::auth::users::Users::new(ctx.data);
    let mut groups: std::collections::BTreeMap<Scope, Vec<String>> = Default::default();
    for address in target.email.iter().flatten() {
        let user = users.by_email(address).ok_or_else(|| {
            format!(
                "{address} is not the e-mail address of an uptake user, so its scope is \
                 unknown; add it with `uptake user add NAME --email {address} --role ...`"
            )
        })?;
        let scope = user.scope;
        if let Some((d, v)) = scope.outside(&report.filter) {
            return Err(format!(
                "{address} may see {} only; the report covers {} '{v}'",
                scope.describe(),
                d.name()
            ));
        }
        groups.entry(scope).or_default().push(address.clone());
    }
    for (scope, to) in groups {
        let scoped = if scope.is_all() {
            None
        } else {
            Some(render_run(ctx, report, run, now, &scope).await?)
        };
        let (pdf, content) = match &scoped {
            Some((pdf, content)) => (pdf.as_slice(), content),
            None => whole,
        };
        let group = Target {
            email: Some(to.clone()),
            ..Target::default()
        };
        deliver::send(ctx, report, run, &group, pdf, content).await?;
        audit_sent(ctx, report, run, &group.name(), &scope);
    }
    Ok(())
}

/// The PDF of a run over a scope: rendered once and kept in
/// `<data>/reports/out`, so retries send the same file.
async fn render_run(
    ctx: &Context<'_>,
    report: &Report,
    run: &RunState,
    now: DateTime<Utc>,
    scope: &Scope,
) -> Result<(Vec<u8>, report::Content), String> {
    let week: Week = run
        .week
        .parse()
        .map_err(|e| format!("week {}: {e}", run.week))?;
    let since: Week = run
        .since_week
        .parse()
        .map_err(|e| format!("week {}: {e}", run.since_week))?;
    let inputs = Inputs {
        source: ctx.source,
        settings: ctx.settings,
        waves: ctx.waves,
        week,
        since,
        generated: run.started.min(now),
        stored: ctx.stored,
        scope: scope.clone(),
    };
    let scoped = if scope.is_all() {
        String::new()
    } else {
        let key = serde_json::to_string(scope).unwrap_or_default();
        format!("-scope-{}", &crate::auth::digest(&key)[..16])
    };
    let path = reports_dir(ctx.data)
        .join("out")
        .join(format!("{}{scoped}.pdf", run.run.replace([':', '@'], "-")));
    let content = report::build(report, &inputs)
        .await
        .map_err(|e| e.to_string())?;
    if let Ok(pdf) = std::fs::read(&path) {
        return Ok((pdf, content));
    }
    let pdf = report::typeset(&content, inputs.generated)
        .await
        .map_err(|e| e.to_string())?;
    deliver::write_atomically(&path, &pdf.bytes)?;
    Ok((pdf.bytes, content))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    #[test]
    fn cron_runs_in_the_organisations_time_zone() {
        let tz: Tz = "Europe/Berlin".parse().expect("tz");
        let cron = report::cron::parse("0 7 * * MON").expect("cron");
        let next = |after: &str| {
            cron.after(&utc(after).with_timezone(&tz))
                .next()
                .expect("next")
                .with_timezone(&Utc)
        };
        // Winter: 07:00 CET is 06:00 UTC; summer: 07:00 CEST is 05:00 UTC.
        assert_eq!(next("2026-11-20T00:00:00Z"), utc("2026-11-23T06:00:00Z"));
        assert_eq!(next("2026-03-27T00:00:00Z"), utc("2026-03-30T05:00:00Z"));
        // The last complete week of a Monday-morning run is the week before.
        assert_eq!(
            report::last_complete_week(utc("2026-11-23T06:00:00Z"), tz).to_string(),
            "2026-W47"
        );
        // Just after local midnight on Monday, it is already Monday there.
        assert_eq!(
            report::last_complete_week(utc("2026-11-22T23:30:00Z"), tz).to_string(),
            "2026-W47"
        );
        assert_eq!(
            report::last_complete_week(utc("2026-11-22T23:30:00Z"), chrono_tz::UTC).to_string(),
            "2026-W46"
        );
        // A 53-week year: the first Monday of 2027 reports 2026-W53.
        assert_eq!(
            report::last_complete_week(utc("2027-01-04T08:00:00Z"), tz).to_string(),
            "2026-W53"
        );
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_six_hours() {
        let s = Settings::default();
        assert_eq!(backoff(&s, 1).num_seconds(), 60);
        assert_eq!(backoff(&s, 2).num_seconds(), 240);
        assert_eq!(backoff(&s, 3).num_seconds(), 960);
        assert_eq!(backoff(&s, 30).num_seconds(), 6 * 3600);
    }
}
