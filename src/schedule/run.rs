//! Running what is due: claiming slots, rendering, delivering with
//! retries, and the loop that does so while the server runs.

use std::path::Path;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::config::Settings;
use crate::i18n::Lang;
use crate::kpi::Scope;
use crate::model::Week;
use crate::report::{self, Inputs, Report, Target};

use super::log::{Entry, Log, RunState, TargetState, append, reports_dir};
use super::{Lock, ON_TIME, Result, deliver, time_opt};

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
    pub labels: &'a crate::model::Labels,
    pub stored: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    pub reports: &'a [Report],
}

fn run_id(report: &str, slot: DateTime<Utc>) -> String {
    format!("{report}@{}", slot.format("%Y-%m-%dT%H:%M:%SZ"))
}

/// How long after a failed attempt the next one is due.
pub fn backoff(settings: &Settings, attempt: u32) -> chrono::Duration {
    let base = settings.delivery.retry_seconds.max(1);
    let factor = 4u64.saturating_pow(attempt.saturating_sub(1));
    chrono::Duration::seconds(base.saturating_mul(factor).min(6 * 3600) as i64)
}

/// Runs what is due at `now`: new slots of every scheduled report, and
/// retries whose time has come. The caller holds the [`Lock`].
pub async fn run_due(ctx: &Context<'_>, now: DateTime<Utc>, _lock: &Lock) -> Result<Summary> {
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
        let tz: Tz = match schedule.tz(ctx.settings) {
            Ok(tz) => tz,
            Err(_) => ctx.settings.tz()?,
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
            let week = Week::last_complete(latest, tz);
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
            let due: Vec<TargetState> = r.targets.iter().filter(|t| t.due(now)).cloned().collect();
            (!due.is_empty()).then(|| (r.clone(), due))
        })
        .collect();
    for (run, targets) in work {
        // A report or target removed from the definitions since the run was
        // claimed cannot be delivered: recorded as failed, not retried.
        let report = ctx.reports.iter().find(|r| r.name == run.report);
        let outcome = match report {
            Some(report) => {
                render_run(ctx, report, report.lang, &run, now, &Scope::default()).await
            }
            None => Err(format!(
                "no report named '{}' is defined any more",
                run.report
            )),
        };
        for t in targets {
            let attempt = t.attempts + 1;
            let target = report.and_then(|r| r.deliver.iter().find(|d| d.name() == t.target));
            let (result, retry) = match (&outcome, report, target) {
                (Ok(whole), Some(report), Some(target)) if target.email.is_some() => (
                    email_by_scope(ctx, report, &run, target, now, whole).await,
                    true,
                ),
                (Ok(whole), Some(report), Some(target)) => {
                    let sent = deliver::send(
                        ctx,
                        report,
                        &run,
                        target,
                        (&whole.pdf, &whole.file),
                        &whole.content,
                    )
                    .await;
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
/// allows, in their language: every address must belong to a user
/// (`uptake user add --email`); recipients are grouped by scope and
/// language (theirs, else the report's), and each group gets the report
/// computed over its scope in its language (`whole`, the run's report over
/// everything, for those who see everything in the report's language). A
/// report whose filter lies outside a recipient's scope is not sent to
/// anyone of the target.
async fn email_by_scope(
    ctx: &Context<'_>,
    report: &Report,
    run: &RunState,
    target: &Target,
    now: DateTime<Utc>,
    whole: &Rendered,
) -> std::result::Result<(), String> {
    let users = crate::auth::users::Users::new(ctx.data);
    let mut groups: std::collections::BTreeMap<(Scope, Lang), Vec<String>> = Default::default();
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
        let lang = user.language.unwrap_or(report.lang);
        groups
            .entry((scope, lang))
            .or_default()
            .push(address.clone());
    }
    for ((scope, lang), to) in groups {
        let scoped = if scope.is_all() && lang == report.lang {
            None
        } else {
            Some(render_run(ctx, report, lang, run, now, &scope).await?)
        };
        let report = &report.in_language(lang);
        let rendered = scoped.as_ref().unwrap_or(whole);
        let group = Target {
            email: Some(to.clone()),
            ..Target::default()
        };
        deliver::send(
            ctx,
            report,
            run,
            &group,
            (&rendered.pdf, &rendered.file),
            &rendered.content,
        )
        .await?;
        audit_sent(ctx, report, run, &group.name(), &scope);
    }
    Ok(())
}

/// Where the PDFs of runs are kept (and served from by signed links).
pub fn out_dir(data: &Path) -> std::path::PathBuf {
    reports_dir(data).join("out")
}

/// A run's PDF, its file name in `<data>/reports/out`, and what it shows.
struct Rendered {
    pdf: Vec<u8>,
    file: String,
    content: report::Content,
}

/// The PDF of a run over a scope in a language: rendered once and kept in
/// `<data>/reports/out`, so retries send the same file.
async fn render_run(
    ctx: &Context<'_>,
    report: &Report,
    lang: Lang,
    run: &RunState,
    now: DateTime<Utc>,
    scope: &Scope,
) -> Result<Rendered, String> {
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
        labels: ctx.labels,
        week,
        since,
        generated: run.started.min(now),
        stored: ctx.stored,
        scope: scope.clone(),
        alerts: super::active_alerts(ctx.data, ctx.settings, scope, &report.filter),
    };
    let scoped = if scope.is_all() {
        String::new()
    } else {
        let key = serde_json::to_string(scope).unwrap_or_default();
        format!("-scope-{}", &crate::auth::digest(&key)[..16])
    };
    // In another language than the report's: a file of its own.
    let (report, translated) = if lang == report.lang {
        (std::borrow::Cow::Borrowed(report), String::new())
    } else {
        (
            std::borrow::Cow::Owned(report.in_language(lang)),
            format!("-{}", lang.code()),
        )
    };
    let report = &*report;
    let file = format!(
        "{}{scoped}{translated}.pdf",
        run.run.replace([':', '@'], "-")
    );
    let path = out_dir(ctx.data).join(&file);
    let content = report::build(report, &inputs)
        .await
        .map_err(|e| e.to_string())?;
    if let Ok(pdf) = std::fs::read(&path) {
        return Ok(Rendered { pdf, file, content });
    }
    let pdf = report::typeset(&content, inputs.generated)
        .await
        .map_err(|e| e.to_string())?;
    deliver::write_atomically(&path, &pdf.bytes)?;
    Ok(Rendered {
        pdf: pdf.bytes,
        file,
        content,
    })
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
            Week::last_complete(utc("2026-11-23T06:00:00Z"), tz).to_string(),
            "2026-W47"
        );
        // Just after local midnight on Monday, it is already Monday there.
        assert_eq!(
            Week::last_complete(utc("2026-11-22T23:30:00Z"), tz).to_string(),
            "2026-W47"
        );
        assert_eq!(
            Week::last_complete(utc("2026-11-22T23:30:00Z"), chrono_tz::UTC).to_string(),
            "2026-W46"
        );
        // A 53-week year: the first Monday of 2027 reports 2026-W53.
        assert_eq!(
            Week::last_complete(utc("2027-01-04T08:00:00Z"), tz).to_string(),
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
