//! Alert episodes: checking alerts, recording each segment's episode once
//! in the alert log, and delivering the notices.
//!
//! The alert log (`<data>/alerts/log.jsonl`) is written like the run log
//! of reports (append-only, each entry on disk before the step it records
//! goes on, under the same lock):
//!
//! - `notice`: a segment's condition began (`fired`, a new episode) or
//!   ended (`resolved`). Episodes are read back from the log, so a segment
//!   fires once per episode however often it is checked, and over
//!   restarts.
//! - `dispatch`: the notices of one check of one alert for one audience,
//!   claimed as one message per target before anything is sent.
//! - `attempt`: one delivery attempt of a dispatch to one target; a
//!   dispatch cut off by a crash is delivered at the next check, with the
//!   same Message-ID or Idempotency-Key.
//!
//! Audiences: the figures are those a reader of the recipients' scope
//! sees, protected. Channels (folders, webhooks, Teams, Slack) and e-mail
//! recipients who see everything share the audience `everything`; the
//! other e-mail recipients (each must be an uptake user) are grouped by
//! scope, and each scope is checked on its own.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::kpi::Scope;
use crate::model::Week;
use crate::schedule::{
    self, Context, Entry, Lock, Log, NoticeKind, NoticeState, alert_log_path, append_to,
};

use super::{Alert, Result, Verdict, evaluate};

/// What a call of [`check`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AlertSummary {
    pub checked: Vec<String>,
    pub fired: usize,
    pub resolved: usize,
    pub delivered: usize,
    pub failed_attempts: usize,
    /// Alerts that could not be checked, recipients left out, and why.
    pub problems: Vec<String>,
    /// When a retry is next due.
    #[serde(skip)]
    pub next_retry: Option<DateTime<Utc>>,
}

/// Who an alert's notices go to, and whose figures they tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Audience {
    pub scope: Scope,
    /// Target names: channel targets by [`crate::report::Target::name`],
    /// e-mail recipients as `email:a@x,b@x`.
    pub targets: Vec<String>,
}

/// The audiences of an alert; recipients left out are named in
/// `problems`.
pub fn audiences(
    alert: &Alert,
    users: &crate::auth::users::Users,
    problems: &mut Vec<String>,
) -> Vec<Audience> {
    let mut everything = Audience {
        scope: Scope::default(),
        targets: Vec::new(),
    };
    let mut scoped: BTreeMap<Scope, Vec<String>> = BTreeMap::new();
    for target in &alert.deliver {
        let Some(to) = &target.email else {
            everything.targets.push(target.name());
            continue;
        };
        for address in to {
            let Some(user) = users.by_email(address) else {
                problems.push(format!(
                    "alert {}: {address} is not the e-mail address of an uptake user, so its \
                     scope is unknown; nothing is sent to it",
                    alert.name
                ));
                continue;
            };
            if let Some((d, v)) = user.scope.outside(&alert.filter) {
                problems.push(format!(
                    "alert {}: {address} may see {} only; the alert covers {} '{v}'",
                    alert.name,
                    user.scope.describe(),
                    d.name()
                ));
                continue;
            }
            scoped.entry(user.scope).or_default().push(address.clone());
        }
    }
    let mut audiences = Vec::new();
    for (scope, to) in scoped {
        let target = format!("email:{}", to.join(","));
        if scope.is_all() {
            everything.targets.push(target);
        } else {
            audiences.push(Audience {
                scope,
                targets: vec![target],
            });
        }
    }
    audiences.insert(0, everything);
    audiences
}

/// Each segment's last episode: its number and whether it is still on.
type Episodes = HashMap<(String, String, Vec<String>), (u32, bool)>;

fn episodes(log: &Log) -> Episodes {
    let mut episodes = Episodes::new();
    for n in &log.notices {
        episodes.insert(
            (n.alert.clone(), n.audience.clone(), n.segment.clone()),
            (n.episode, n.state == NoticeKind::Fired),
        );
    }
    episodes
}

/// Checks `alerts` (those named in `due`, or all) at `now` and records
/// what began or ended, then delivers what is pending or due for a retry
/// (of any of `alerts`). The caller holds the [`Lock`].
pub async fn check(
    ctx: &Context<'_>,
    alerts: &[Alert],
    due: Option<&[String]>,
    now: DateTime<Utc>,
    _lock: &Lock,
) -> Result<AlertSummary> {
    let path = alert_log_path(ctx.data);
    let mut log = Log::read_path(path.clone(), ctx.settings)?;
    let mut summary = AlertSummary::default();
    // The week the pages show by default (the settings' `now`, else
    // the clock's).
    let week = ctx.settings.latest_week(
        ctx.stored
            .map(|(first, last)| (Week::containing(first), Week::containing(last))),
    );
    let users = crate::auth::users::Users::new(ctx.data);
    let mut known = episodes(&log);
    let checked = alerts
        .iter()
        .filter(|a| due.is_none_or(|names| names.contains(&a.name)));
    for alert in checked {
        for audience in audiences(alert, &users, &mut summary.problems) {
            let findings = match evaluate(
                alert,
                ctx.source,
                ctx.settings,
                ctx.labels,
                week,
                &audience.scope,
            )
            .await
            {
                Ok(f) => f,
                Err(e) => {
                    summary
                        .problems
                        .push(format!("alert {}: cannot be checked: {e}", alert.name));
                    continue;
                }
            };
            let who = audience.scope.describe();
            let mut entries = Vec::new();
            for f in findings {
                let key = (alert.name.clone(), who.clone(), f.segment.clone());
                let (last, active) = known.get(&key).copied().unwrap_or((0, false));
                let (state, episode, message) = match f.verdict {
                    Verdict::Firing(m) if !active => (NoticeKind::Fired, last + 1, m),
                    Verdict::Clear(m) if active => (NoticeKind::Resolved, last, m),
                    _ => continue,
                };
                known.insert(key, (episode, state == NoticeKind::Fired));
                entries.push(Entry::Notice {
                    notice: notice_id(alert, &who, &f.segment, episode, state),
                    alert: alert.name.clone(),
                    title: alert.title.clone(),
                    audience: who.clone(),
                    dims: alert.by.iter().map(|d| d.name().to_string()).collect(),
                    segment: f.segment,
                    episode,
                    state,
                    week: week.to_string(),
                    at: now,
                    message,
                });
                match state {
                    NoticeKind::Fired => summary.fired += 1,
                    NoticeKind::Resolved => summary.resolved += 1,
                }
            }
            if entries.is_empty() {
                continue;
            }
            let notices = entries
                .iter()
                .filter_map(|e| match e {
                    Entry::Notice { notice, .. } => Some(notice.clone()),
                    _ => None,
                })
                .collect();
            let n = log.dispatches.len() + 1;
            entries.push(Entry::Dispatch {
                dispatch: format!("{}#{n}", alert.name),
                alert: alert.name.clone(),
                audience: who.clone(),
                week: week.to_string(),
                at: now,
                notices,
                targets: audience.targets.clone(),
            });
            append_to(&path, &entries)?;
            for e in entries {
                log.apply(e, ctx.settings);
            }
        }
        summary.checked.push(alert.name.clone());
    }
    for p in &summary.problems {
        tracing::warn!(problem = %p, "alert");
    }
    deliver_pending(ctx, alerts, &path, &mut log, now, &mut summary).await?;
    Ok(summary)
}

fn notice_id(
    alert: &Alert,
    audience: &str,
    segment: &[String],
    episode: u32,
    state: NoticeKind,
) -> String {
    let kind = match state {
        NoticeKind::Fired => "fired",
        NoticeKind::Resolved => "resolved",
    };
    let audience = if audience == "everything" {
        String::new()
    } else {
        format!("[{}]", &crate::auth::digest(audience)[..8])
    };
    // The segment by digest: its values may hold any character (a team
    // "Sales/Inside"), and the notice carries them itself.
    let segment = crate::auth::digest(&segment.join("\u{1f}"));
    format!(
        "{}{audience}/{}#{episode}:{kind}",
        alert.name,
        &segment[..12]
    )
}

/// What one message of a dispatch tells: its alert, and its notices.
pub struct Message<'a> {
    pub alert: &'a Alert,
    pub dispatch: &'a schedule::DispatchState,
    pub notices: Vec<&'a NoticeState>,
}

async fn deliver_pending(
    ctx: &Context<'_>,
    alerts: &[Alert],
    path: &Path,
    log: &mut Log,
    now: DateTime<Utc>,
    summary: &mut AlertSummary,
) -> Result<()> {
    let work: Vec<(String, Vec<String>)> = log
        .dispatches
        .iter()
        .filter_map(|d| {
            let due: Vec<String> = d
                .targets
                .iter()
                .filter(|t| t.due(now))
                .map(|t| t.target.clone())
                .collect();
            (!due.is_empty()).then(|| (d.dispatch.clone(), due))
        })
        .collect();
    for (id, targets) in work {
        let mut entries = Vec::new();
        {
            let Some(dispatch) = log.dispatches.iter().find(|d| d.dispatch == id) else {
                continue;
            };
            let alert = alerts.iter().find(|a| a.name == dispatch.alert);
            let notices: Vec<&NoticeState> = log
                .notices
                .iter()
                .filter(|n| n.dispatch.as_deref() == Some(id.as_str()))
                .collect();
            for target in targets {
                let attempt = dispatch
                    .targets
                    .iter()
                    .find(|t| t.target == target)
                    .map_or(1, |t| t.attempts + 1);
                let (result, retry) = match alert {
                    None => (
                        Err(format!(
                            "no alert named '{}' is defined any more",
                            dispatch.alert
                        )),
                        false,
                    ),
                    Some(alert) => {
                        let message = Message {
                            alert,
                            dispatch,
                            notices: notices.clone(),
                        };
                        match super::deliver::send_alert(ctx, &message, &target).await {
                            Ok(()) => (Ok(()), true),
                            Err(super::deliver::Failure::Retry(e)) => (Err(e), true),
                            Err(super::deliver::Failure::Final(e)) => (Err(e), false),
                        }
                    }
                };
                let ok = result.is_ok();
                let next_attempt = (!ok && retry && attempt < ctx.settings.delivery.max_attempts)
                    .then(|| now + schedule::backoff(ctx.settings, attempt));
                if ok {
                    summary.delivered += 1;
                    tracing::info!(dispatch = %id, %target, attempt, "alert delivered");
                } else {
                    summary.failed_attempts += 1;
                    let error = result.as_ref().err().map_or("", String::as_str);
                    tracing::warn!(dispatch = %id, %target, attempt, %error, ?next_attempt, "alert delivery failed");
                }
                entries.push(Entry::Attempt {
                    run: id.clone(),
                    target,
                    attempt,
                    at: now,
                    ok,
                    error: result.err(),
                    next_attempt,
                });
            }
        }
        for e in entries {
            append_to(path, std::slice::from_ref(&e))?;
            log.apply(e, ctx.settings);
        }
    }
    summary.next_retry = log
        .dispatches
        .iter()
        .flat_map(|d| &d.targets)
        .filter(|t| t.status == "retrying")
        .filter_map(|t| t.next_attempt)
        .min();
    Ok(())
}

/// When alerts are next checked on their schedules, and which are due.
pub struct Checker {
    pub alerts: Vec<Alert>,
    /// The last check of each alert.
    last: std::sync::Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Checker {
    pub fn new(alerts: Vec<Alert>) -> Checker {
        Checker {
            alerts,
            last: Default::default(),
        }
    }

    /// The names of the alerts to check at `now`: all when `everything`
    /// (after a commit, or at start), else those with a schedule slot
    /// since their last check. Marks them checked.
    pub fn due(&self, now: DateTime<Utc>, everything: bool, tz: chrono_tz::Tz) -> Vec<String> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let due: Vec<String> = self
            .alerts
            .iter()
            .filter(|a| {
                everything
                    || last.get(&a.name).is_none_or(|t| {
                        crate::report::cron::parse(&a.cron)
                            .ok()
                            .and_then(|c| c.after(&t.with_timezone(&tz)).next())
                            .is_some_and(|slot| slot.with_timezone(&Utc) <= now)
                    })
            })
            .map(|a| a.name.clone())
            .collect();
        for name in &due {
            last.insert(name.clone(), now);
        }
        due
    }

    /// When the next schedule slot of any alert comes after `now`.
    pub fn next_slot(&self, now: DateTime<Utc>, tz: chrono_tz::Tz) -> Option<DateTime<Utc>> {
        self.alerts
            .iter()
            .filter_map(|a| {
                crate::report::cron::parse(&a.cron)
                    .ok()?
                    .after(&now.with_timezone(&tz))
                    .next()
                    .map(|t| t.with_timezone(&Utc))
            })
            .min()
    }
}
