//! `uptake alerts`: check the alerts, list them, show the alert log; and
//! the check after each import.

use clap::Subcommand;

use crate::config::Settings;
use crate::kpi::{self, Cell, Format};

use super::reports::parse_time;
use super::{Error, Global, Result};

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Check every alert now, record what began or ended, and deliver the
    /// notices and due retries; for an external scheduler. Fails (exit
    /// status 2) when an alert cannot be checked or a delivery failed.
    Check {
        /// Act as if it were this time (RFC 3339).
        #[arg(long, value_parser = parse_time)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The defined alerts: name, condition, breakdown, targets.
    List {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// The alert log: every notice, newest first, and its delivery.
    Status {
        /// Only the episodes still on.
        #[arg(long)]
        active: bool,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// The alerts of `--alerts`, `./alerts` or the bundled ones.
pub fn load_alerts(global: &Global, settings: &Settings) -> Result<Vec<crate::alert::Alert>> {
    let dir = crate::config::given_or_local(global.alerts.as_deref(), "alerts");
    Ok(crate::alert::load(
        dir.as_deref(),
        settings.targets.behind_reference_points,
    )?)
}

pub(super) async fn alert_command(
    global: &Global,
    cmd: AlertCommand,
    settings: &Settings,
) -> Result<()> {
    match cmd {
        AlertCommand::Check { now } => {
            let alerts = load_alerts(global, settings)?;
            let mut settings = settings.clone();
            settings.now = now.or(settings.now);
            let now = settings.now();
            let s = check(global, &settings, &alerts, now).await?;
            if !s.problems.is_empty() || s.failed_attempts > 0 {
                return Err(Error::Delivery(format!(
                    "{} problems, {} failed delivery attempts; see `uptake alerts status`",
                    s.problems.len(),
                    s.failed_attempts
                )));
            }
        }
        AlertCommand::List { format } => {
            let alerts = load_alerts(global, settings)?;
            print!("{}", list_table(&alerts).render(format));
        }
        AlertCommand::Status { active, format } => {
            let log = crate::schedule::Log::read_path(
                crate::alert::alert_log_path(&global.data),
                settings,
            )?;
            print!("{}", notice_table(&log, active).render(format));
        }
    }
    Ok(())
}

/// Checks `alerts` over the data directory as committed and prints what
/// happened.
pub(super) async fn check(
    global: &Global,
    settings: &Settings,
    alerts: &[crate::alert::Alert],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<crate::alert::AlertSummary> {
    let opened = super::reports::Opened::new(global, settings).await?;
    let ctx = opened.context(global, settings, &[]);
    let lock = super::reports::run_log_lock(global)?;
    let s = crate::alert::check(&ctx, alerts, None, now, &lock).await?;
    let counts = [
        ("alerts", s.checked.len().into()),
        ("fired", s.fired.into()),
        ("resolved", s.resolved.into()),
        ("delivered", s.delivered.into()),
        ("failed", s.failed_attempts.into()),
    ];
    eprintln!("{}", global.lang().tr("alerts_checked", &counts));
    for p in &s.problems {
        eprintln!("{p}");
    }
    Ok(s)
}

/// After an import: the alerts of `--alerts` or `./alerts` are checked
/// (not the bundled examples, which `serve` checks). A failure to check or
/// deliver is reported; the import stands.
pub(super) async fn after_import(global: &Global, settings: &Settings) {
    let Some(dir) = crate::config::given_or_local(global.alerts.as_deref(), "alerts") else {
        return;
    };
    let outcome = async {
        let alerts = crate::alert::load(Some(&dir), settings.targets.behind_reference_points)?;
        check(global, settings, &alerts, chrono::Utc::now()).await
    }
    .await;
    if let Err(e) = outcome {
        let error = e.to_string();
        let message = global
            .lang()
            .tr("import_stored_alerts_failed", &[("error", (&error).into())]);
        eprintln!("{message}");
    }
}

fn list_table(alerts: &[crate::alert::Alert]) -> kpi::Table {
    kpi::Table {
        columns: ["alert", "title", "condition", "by", "schedule", "deliver"]
            .map(String::from)
            .to_vec(),
        rows: alerts
            .iter()
            .map(|a| {
                vec![
                    Cell::Text(a.name.clone()),
                    Cell::Text(a.title.clone()),
                    Cell::Text(a.condition.name().to_string()),
                    Cell::Text(a.by.iter().map(|d| d.name()).collect::<Vec<_>>().join(",")),
                    Cell::Text(a.cron.clone()),
                    Cell::Text(
                        a.deliver
                            .iter()
                            .map(|t| t.name())
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                ]
            })
            .collect(),
    }
}

/// The notices of the alert log, newest first; with `active`, only the
/// fired notices of episodes still on.
pub fn notice_table(log: &crate::schedule::Log, active: bool) -> kpi::Table {
    let on = log.active_notices();
    let status = |n: &crate::schedule::NoticeState| {
        n.dispatch
            .as_ref()
            .and_then(|d| log.dispatches.iter().find(|x| &x.dispatch == d))
            .map_or("", |d| d.status)
            .to_string()
    };
    kpi::Table {
        columns: [
            "notice", "alert", "audience", "segment", "episode", "state", "week", "at", "message",
            "delivery",
        ]
        .map(String::from)
        .to_vec(),
        rows: log
            .notices
            .iter()
            .rev()
            .filter(|n| !active || on.contains(&n.notice))
            .map(|n| {
                vec![
                    Cell::Text(n.notice.clone()),
                    Cell::Text(n.alert.clone()),
                    Cell::Text(n.audience.clone()),
                    Cell::Text(n.segment.join(" / ")),
                    Cell::Int(i64::from(n.episode)),
                    Cell::Text(
                        match n.state {
                            crate::schedule::NoticeKind::Fired => "fired",
                            crate::schedule::NoticeKind::Resolved => "resolved",
                        }
                        .into(),
                    ),
                    Cell::Text(n.week.clone()),
                    Cell::Text(n.at.to_rfc3339()),
                    Cell::Text(n.message.clone()),
                    Cell::Text(status(n)),
                ]
            })
            .collect(),
    }
}
