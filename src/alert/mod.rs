//! Alerts as data: `alerts/*.toml` name a condition over the KPI tables,
//! the breakdown it is watched by, and who is told. [`evaluate`](mod@evaluate) decides
//! for each segment whether the condition holds, [`check`](mod@check) turns that into
//! episodes (one notice when a segment's condition begins, one when it
//! ends) recorded in the alert log and delivered like reports.

pub mod check;
pub mod deliver;
pub mod evaluate;
pub mod scheduler;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::i18n::Lang;
use crate::kpi::{self, Dimension, Filter};
use crate::model::Week;
use crate::report::Target;

pub use crate::schedule::alert_log_path;
pub use check::{AlertSummary, Checker, check};
pub use evaluate::{Finding, Verdict, evaluate};
pub use scheduler::Scheduler;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read alerts from {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("alert {file}: {message}")]
    Invalid { file: String, message: String },
    #[error(transparent)]
    Kpi(#[from] kpi::Error),
    #[error(transparent)]
    Schedule(#[from] crate::schedule::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The figure a condition watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure {
    ActiveLicenseeRate,
    ModuleUtilization,
}

impl Figure {
    pub fn name(self) -> &'static str {
        match self {
            Figure::ActiveLicenseeRate => "active_licensee_rate",
            Figure::ModuleUtilization => "module_utilization",
        }
    }
}

/// When an alert's segment is in trouble.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The figure at or below its target (not passing) in each of the
    /// last `weeks` weeks.
    BelowTarget { figure: Figure, weeks: u32 },
    /// The figure fell by more than `points` percentage points from the
    /// week before.
    Drop { figure: Figure, points: u32 },
    /// A wave more than `points` percentage points below the reference
    /// wave at the same week since go-live.
    BehindReference { points: u32 },
    /// At the current pace the figure's target is not passed by
    /// `target_week` (forecast `behind`; with `at_risk`, also when only
    /// the faster pace passes).
    ForecastMiss {
        figure: Figure,
        target_week: Week,
        at_risk: bool,
    },
}

impl Condition {
    pub fn name(&self) -> &'static str {
        match self {
            Condition::BelowTarget { .. } => "below_target",
            Condition::Drop { .. } => "drop",
            Condition::BehindReference { .. } => "behind_reference",
            Condition::ForecastMiss { .. } => "forecast_miss",
        }
    }
}

/// A checked alert definition.
#[derive(Debug, Clone)]
pub struct Alert {
    /// The file name without `.toml`.
    pub name: String,
    pub title: String,
    pub lang: Lang,
    pub by: Vec<Dimension>,
    pub filter: Filter,
    pub condition: Condition,
    /// When the alert is checked besides after each commit of new events:
    /// a cron expression in the organisation's time zone.
    pub cron: String,
    pub deliver: Vec<Target>,
}

/// Checked every morning besides after each commit.
pub const DEFAULT_CRON: &str = "0 7 * * *";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    title: String,
    language: String,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    filter: FilterDef,
    condition: String,
    #[serde(default)]
    figure: Option<Figure>,
    weeks: Option<u32>,
    points: Option<u32>,
    target_week: Option<String>,
    #[serde(default)]
    at_risk: bool,
    schedule: Option<String>,
    #[serde(default)]
    deliver: Vec<Target>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterDef {
    region: Option<String>,
    department: Option<String>,
    wave: Option<String>,
}

/// Alerts bundled with uptake, used when `./alerts` does not exist. They
/// name no targets: what they find is listed on `/alerts`.
const BUNDLED: [(&str, &str); 4] = [
    (
        "team-below-target",
        include_str!("../../alerts/team-below-target.toml"),
    ),
    ("region-drop", include_str!("../../alerts/region-drop.toml")),
    (
        "wave-behind-pilot",
        include_str!("../../alerts/wave-behind-pilot.toml"),
    ),
    (
        "modules-below-target",
        include_str!("../../alerts/modules-below-target.toml"),
    ),
];

/// Parses and checks one alert definition. `default_points` is the
/// settings' `targets.behind_reference_points`.
pub fn parse(name: &str, text: &str, default_points: u32) -> Result<Alert> {
    let file = format!("{name}.toml");
    let invalid = |message: String| Error::Invalid {
        file: file.clone(),
        message,
    };
    crate::config::check_definition_name(name).map_err(invalid)?;
    let f: File = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if f.title.trim().is_empty() {
        return Err(invalid("title is empty".into()));
    }
    let lang =
        Lang::read(&f.language).map_err(|e| invalid(format!("language '{}': {e}", f.language)))?;
    let figure = f.figure.unwrap_or(Figure::ActiveLicenseeRate);
    let unused = |key: &str, given: bool| {
        if given {
            Err(invalid(format!(
                "{key} does not apply to condition '{}'",
                f.condition
            )))
        } else {
            Ok(())
        }
    };
    let points = |default: Option<u32>| {
        let p = f.points.or(default).ok_or_else(|| {
            invalid(format!(
                "condition '{}' needs points (percentage points, 1 to 100)",
                f.condition
            ))
        })?;
        if !(1..=100).contains(&p) {
            return Err(invalid(format!("points = {p}: give 1 to 100")));
        }
        Ok(p)
    };
    let condition = match f.condition.as_str() {
        "below_target" => {
            unused("points", f.points.is_some())?;
            unused("target_week", f.target_week.is_some())?;
            let weeks = f.weeks.unwrap_or(1);
            if !(1..=26).contains(&weeks) {
                return Err(invalid(format!("weeks = {weeks}: give 1 to 26")));
            }
            Condition::BelowTarget { figure, weeks }
        }
        "drop" => {
            unused("weeks", f.weeks.is_some())?;
            unused("target_week", f.target_week.is_some())?;
            Condition::Drop {
                figure,
                points: points(None)?,
            }
        }
        "behind_reference" => {
            unused("weeks", f.weeks.is_some())?;
            unused("target_week", f.target_week.is_some())?;
            unused("figure", f.figure.is_some())?;
            Condition::BehindReference {
                points: points(Some(default_points.clamp(1, 100)))?,
            }
        }
        "forecast_miss" => {
            unused("weeks", f.weeks.is_some())?;
            unused("points", f.points.is_some())?;
            let target_week = f
                .target_week
                .as_deref()
                .ok_or_else(|| invalid("forecast_miss needs target_week (e.g. 2027-W10)".into()))?
                .parse::<Week>()
                .map_err(|e| invalid(format!("target_week: {e}")))?;
            Condition::ForecastMiss {
                figure,
                target_week,
                at_risk: f.at_risk,
            }
        }
        other => {
            return Err(invalid(format!(
                "condition '{other}': use below_target, drop, behind_reference or forecast_miss"
            )));
        }
    };
    if f.at_risk && !matches!(condition, Condition::ForecastMiss { .. }) {
        return Err(invalid("at_risk applies to forecast_miss only".into()));
    }
    let default_by = match condition {
        Condition::BehindReference { .. } => "wave",
        _ => "region,department,team",
    };
    let by = kpi::parse_dimensions(f.by.as_deref().unwrap_or(default_by))
        .map_err(|e| invalid(format!("by: {e}")))?;
    if by.is_empty() {
        return Err(invalid("by: name at least one dimension".into()));
    }
    if matches!(condition, Condition::BehindReference { .. }) && !by.contains(&Dimension::Wave) {
        return Err(invalid(
            "by: behind_reference compares waves; name wave among the dimensions".into(),
        ));
    }
    let cron = f.schedule.unwrap_or_else(|| DEFAULT_CRON.to_string());
    crate::report::cron::parse(&cron).map_err(|e| invalid(format!("schedule: {e}")))?;
    crate::report::check_targets(&f.deliver).map_err(invalid)?;
    let clean = |v: Option<String>| v.filter(|v| !v.is_empty());
    Ok(Alert {
        name: name.to_string(),
        title: f.title,
        lang,
        by,
        filter: Filter {
            region: clean(f.filter.region),
            department: clean(f.filter.department),
            wave: clean(f.filter.wave),
        },
        condition,
        cron,
        deliver: f.deliver,
    })
}

/// Loads `dir/*.toml` (or the bundled alerts without a directory), sorted
/// by name.
pub fn load(dir: Option<&Path>, default_points: u32) -> Result<Vec<Alert>> {
    let mut alerts = Vec::new();
    match dir {
        None => {
            for (name, text) in BUNDLED {
                alerts.push(parse(name, text, default_points)?);
            }
        }
        Some(dir) => {
            let files = crate::config::definition_files(dir)
                .map_err(|(path, source)| Error::Io { path, source })?;
            for (name, text) in files {
                alerts.push(parse(&name, &text, default_points)?);
            }
        }
    }
    alerts.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(alerts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_alerts_parse() {
        let alerts = load(None, 10).expect("bundled");
        assert_eq!(alerts.len(), BUNDLED.len());
        let conditions: Vec<&str> = alerts.iter().map(|a| a.condition.name()).collect();
        for c in ["below_target", "drop", "behind_reference"] {
            assert!(conditions.contains(&c), "{conditions:?}");
        }
    }

    #[test]
    fn bad_definitions_are_named() {
        let base = "title = \"T\"\nlanguage = \"en\"\n";
        let ok = parse(
            "ok",
            &format!("{base}condition = \"below_target\"\nweeks = 2\n"),
            10,
        )
        .expect("minimal");
        assert_eq!(
            ok.condition,
            Condition::BelowTarget {
                figure: Figure::ActiveLicenseeRate,
                weeks: 2
            }
        );
        assert_eq!(ok.cron, DEFAULT_CRON);
        let behind = parse("b", &format!("{base}condition = \"behind_reference\"\n"), 7)
            .expect("default points");
        assert_eq!(behind.condition, Condition::BehindReference { points: 7 });
        assert_eq!(behind.by, vec![Dimension::Wave]);
        let cases = [
            ("condition = \"sometimes\"\n", "condition 'sometimes'"),
            ("condition = \"drop\"\n", "needs points"),
            ("condition = \"drop\"\npoints = 0\n", "points = 0"),
            (
                "condition = \"drop\"\npoints = 5\nweeks = 2\n",
                "weeks does not apply",
            ),
            ("condition = \"below_target\"\nweeks = 0\n", "weeks = 0"),
            ("condition = \"below_target\"\nweeks = 99\n", "weeks = 99"),
            ("condition = \"below_target\"\nfigure = \"mood\"\n", "mood"),
            ("condition = \"forecast_miss\"\n", "target_week"),
            (
                "condition = \"forecast_miss\"\ntarget_week = \"2027-W54\"\n",
                "target_week",
            ),
            (
                "condition = \"below_target\"\nat_risk = true\n",
                "at_risk applies",
            ),
            (
                "condition = \"behind_reference\"\nby = \"region\"\n",
                "name wave",
            ),
            ("condition = \"drop\"\npoints = 5\nby = \"country\"\n", "by"),
            (
                "condition = \"drop\"\npoints = 5\nschedule = \"0 7 * * 1\"\n",
                "schedule",
            ),
            (
                "condition = \"drop\"\npoints = 5\n[[deliver]]\nslack = \"ftp://x\"\n",
                "slack",
            ),
            (
                "condition = \"drop\"\npoints = 5\nsound = \"loud\"\n",
                "sound",
            ),
        ];
        for (text, needle) in cases {
            let e = parse("a", &format!("{base}{text}"), 10)
                .expect_err(text)
                .to_string();
            assert!(e.contains(needle) && e.contains("a.toml"), "{text}: {e}");
        }
        assert!(parse("../x", base, 10).is_err());
    }
}
