//! Whether an alert's condition holds for each segment, from the KPI
//! tables as a reader of the scope sees them: protected, so a hidden
//! group is never evaluated, and nothing is said of it.

use std::collections::BTreeMap;

use crate::config::Settings;
use crate::i18n::Lang;
use crate::kpi::{self, Cell, KpiRow, Request, Scope, Source, Table};
use crate::model::{Labels, Week};

use super::{Alert, Condition, Figure, Result};

/// What an evaluation says of one segment. A segment whose figures are
/// hidden, or that lacks the weeks the condition needs, gets no finding:
/// its episode (if any) goes on as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The condition holds; the message says how.
    Firing(String),
    /// The condition does not hold; the message says what the figures are.
    Clear(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Values of the alert's dimensions, in its order.
    pub segment: Vec<String>,
    pub verdict: Verdict,
}

/// How many weeks back a wave is compared with the reference wave: its
/// go-live may lie this far after the reference's.
pub const CURVE_WEEKS: i32 = 52;

/// Evaluates `alert` for the week `week` over what `scope` may see.
pub async fn evaluate(
    alert: &Alert,
    source: &Source,
    settings: &Settings,
    labels: &Labels,
    week: Week,
    scope: &Scope,
) -> Result<Vec<Finding>> {
    let lang = alert.lang;
    let request = |from: Week| Request {
        dims: alert.by.clone(),
        from,
        to: week,
        filter: alert.filter.clone(),
        scope: scope.clone(),
        protected: true,
    };
    let findings = match &alert.condition {
        Condition::BelowTarget { figure, weeks } => {
            let weeks = *weeks as i32;
            let rows = kpi::kpi_rows(source, settings, &request(week.offset(1 - weeks))).await?;
            let target = target_of(settings, *figure);
            by_segment(&rows)
                .into_iter()
                .filter_map(|(segment, rows)| {
                    let latest = shown_rate(rows.last()?, *figure, week)?;
                    let verdict = if latest > target {
                        Verdict::Clear(text::above(lang, *figure, latest, target))
                    } else {
                        let all_below = rows.len() == weeks as usize
                            && rows.iter().enumerate().all(|(i, r)| {
                                shown_rate(r, *figure, week.offset(i as i32 + 1 - weeks))
                                    .is_some_and(|rate| rate <= target)
                            });
                        if !all_below {
                            return None;
                        }
                        let needed = rows.last().map_or(0, |r| needed(r, *figure, settings));
                        Verdict::Firing(text::below(lang, *figure, latest, target, weeks, needed))
                    };
                    Some(Finding { segment, verdict })
                })
                .collect()
        }
        Condition::Drop { figure, points } => {
            let rows = kpi::kpi_rows(source, settings, &request(week.offset(-1))).await?;
            by_segment(&rows)
                .into_iter()
                .filter_map(|(segment, rows)| {
                    let [before, now] = rows.as_slice() else {
                        return None;
                    };
                    let before = shown_rate(before, *figure, week.offset(-1))?;
                    let now = shown_rate(now, *figure, week)?;
                    let fell = before - now;
                    let verdict = if fell > i64::from(*points) * 10_000 {
                        Verdict::Firing(text::dropped(lang, *figure, before, now, week))
                    } else {
                        Verdict::Clear(text::held(lang, *figure, before, now, week))
                    };
                    Some(Finding { segment, verdict })
                })
                .collect()
        }
        Condition::BehindReference { points } => {
            let points_curve =
                kpi::adoption_curve(source, settings, &request(week.offset(1 - CURVE_WEEKS)))
                    .await?;
            let mut limited = settings.clone();
            limited.targets.behind_reference_points = *points;
            let table = kpi::curve_table(&alert.by, &points_curve, &limited, &labels.waves);
            match kpi::behind_reference(&table) {
                None => Vec::new(),
                Some((reference, gaps)) => {
                    let name = labels.wave(&reference, lang);
                    gaps.into_iter()
                        .filter(|g| g.wave != Cell::Text(reference.clone()))
                        .map(|g| Finding {
                            segment: g.segment.iter().map(Table::cell_text).collect(),
                            verdict: if g.behind {
                                Verdict::Firing(text::behind(
                                    lang,
                                    &name,
                                    g.gap,
                                    g.weeks_since_go_live,
                                ))
                            } else {
                                Verdict::Clear(text::close(
                                    lang,
                                    &name,
                                    g.gap,
                                    g.weeks_since_go_live,
                                ))
                            },
                        })
                        .collect()
                }
            }
        }
        Condition::ForecastMiss {
            figure,
            target_week,
            at_risk,
        } => {
            if kpi::target_week_problem(week, Some(*target_week)).is_some() {
                // The target week is here: what it reached is measured,
                // no longer forecast (`below_target` watches that).
                return Ok(Vec::new());
            }
            let history = kpi::forecast_history(&request(week));
            let rows = kpi::kpi_rows(source, settings, &history).await?;
            let table = kpi::forecast_table(&alert.by, &rows, week, Some(*target_week), settings);
            forecast_findings(&table, alert.by.len(), *figure, *at_risk, lang)
        }
    };
    Ok(findings)
}

/// The rows of each segment, oldest week first.
fn by_segment(rows: &[KpiRow]) -> BTreeMap<Vec<String>, Vec<&KpiRow>> {
    let mut segments: BTreeMap<Vec<String>, Vec<&KpiRow>> = BTreeMap::new();
    for r in rows {
        segments.entry(r.segment.clone()).or_default().push(r);
    }
    for rows in segments.values_mut() {
        rows.sort_by_key(|r| r.week);
    }
    segments
}

fn target_of(settings: &Settings, figure: Figure) -> i64 {
    match figure {
        Figure::ActiveLicenseeRate => settings.targets.active_licensee_rate.to_micros(),
        Figure::ModuleUtilization => settings.targets.module_utilization.to_micros(),
    }
}

/// The figure of a row of `week` when it is shown.
fn shown_rate(row: &KpiRow, figure: Figure, week: Week) -> Option<i64> {
    if row.suppressed || row.week != week {
        return None;
    }
    match figure {
        Figure::ActiveLicenseeRate => row.active_licensee_rate,
        Figure::ModuleUtilization => row.module_utilization,
    }
}

/// Regular users (modules in use) to gain to pass the target.
fn needed(row: &KpiRow, figure: Figure, settings: &Settings) -> i64 {
    match figure {
        Figure::ActiveLicenseeRate => row.users_to_target,
        Figure::ModuleUtilization => (settings
            .targets
            .module_utilization
            .parts_to_exceed(row.modules_licensed)
            - row.modules_in_use)
            .max(0),
    }
}

/// Findings from a forecast table's rows of `figure`.
fn forecast_findings(
    table: &Table,
    dims: usize,
    figure: Figure,
    at_risk: bool,
    lang: Lang,
) -> Vec<Finding> {
    let col = |name: &str| table.columns.iter().position(|c| c == name);
    let (Some(target), Some(status), Some(earliest), Some(latest), Some(needed)) = (
        col("target"),
        col("forecast_status"),
        col("forecast_pass_earliest"),
        col("forecast_pass_latest"),
        col("forecast_needed_per_week"),
    ) else {
        return Vec::new();
    };
    table
        .rows
        .iter()
        .filter(|r| r[target] == Cell::Text(figure.name().to_string()))
        .filter_map(|r| {
            let Cell::Text(s) = &r[status] else {
                return None;
            };
            let misses = s == "behind" || (at_risk && s == "at_risk");
            let clear = s == "passing" || s == "on_track" || (!at_risk && s == "at_risk");
            let week = |c: &Cell| match c {
                Cell::Text(w) => Some(w.clone()),
                _ => None,
            };
            let needed = match r[needed] {
                Cell::Int(n) => n,
                _ => 0,
            };
            let verdict = if misses {
                Verdict::Firing(text::misses(
                    lang,
                    figure,
                    week(&r[earliest]),
                    week(&r[latest]),
                    needed,
                ))
            } else if clear {
                Verdict::Clear(text::on_track(lang, figure, s))
            } else {
                return None;
            };
            Some(Finding {
                segment: r[1..1 + dims].iter().map(Table::cell_text).collect(),
                verdict,
            })
        })
        .collect()
}

/// The messages, in the alert's language (`locales/*/alerts.ftl`).
mod text {
    use super::Figure;
    use crate::i18n::Lang;
    use crate::model::Week;

    fn pct(lang: Lang, micros: i64) -> String {
        lang.percent(micros as f64 / 1e6)
    }

    fn points(lang: Lang, micros: i64) -> String {
        lang.decimal(&format!("{:.1}", micros as f64 / 1e4))
    }

    pub fn below(lang: Lang, f: Figure, rate: i64, target: i64, weeks: i32, n: i64) -> String {
        lang.tr(
            "alert_below",
            &[
                ("figure", f.name().into()),
                ("rate", (&pct(lang, rate)).into()),
                ("target", (&pct(lang, target)).into()),
                ("weeks", i64::from(weeks).into()),
                ("n", (&lang.integer(n)).into()),
            ],
        )
    }

    pub fn above(lang: Lang, f: Figure, rate: i64, target: i64) -> String {
        lang.tr(
            "alert_above",
            &[
                ("figure", f.name().into()),
                ("rate", (&pct(lang, rate)).into()),
                ("target", (&pct(lang, target)).into()),
            ],
        )
    }

    fn change(lang: Lang, key: &str, f: Figure, before: i64, now: i64, week: Week) -> String {
        lang.tr(
            key,
            &[
                ("figure", f.name().into()),
                ("before", (&pct(lang, before)).into()),
                ("now", (&pct(lang, now)).into()),
                ("points", (&points(lang, before - now)).into()),
                ("week", (&week.to_string()).into()),
            ],
        )
    }

    pub fn dropped(lang: Lang, f: Figure, before: i64, now: i64, week: Week) -> String {
        change(lang, "alert_dropped", f, before, now, week)
    }

    pub fn held(lang: Lang, f: Figure, before: i64, now: i64, week: Week) -> String {
        change(lang, "alert_held", f, before, now, week)
    }

    fn gap(lang: Lang, key: &str, reference: &str, gap: i64, since: i64) -> String {
        lang.tr(
            key,
            &[
                ("points", (&points(lang, gap)).into()),
                ("reference", reference.into()),
                ("since", since.into()),
            ],
        )
    }

    pub fn behind(lang: Lang, reference: &str, gap_micros: i64, since: i64) -> String {
        gap(lang, "alert_behind", reference, gap_micros, since)
    }

    pub fn close(lang: Lang, reference: &str, gap_micros: i64, since: i64) -> String {
        gap(lang, "alert_close", reference, gap_micros, since)
    }

    pub fn misses(
        lang: Lang,
        f: Figure,
        earliest: Option<String>,
        latest: Option<String>,
        n: i64,
    ) -> String {
        let when = match (earliest, latest) {
            (Some(e), Some(l)) if e == l => lang.tr("alert_passes_in", &[("week", (&e).into())]),
            (Some(e), Some(l)) => lang.tr(
                "alert_passes_between",
                &[("earliest", (&e).into()), ("latest", (&l).into())],
            ),
            (Some(e), None) => lang.tr("alert_passes_earliest", &[("week", (&e).into())]),
            (None, _) => lang.t("alert_passes_never").to_string(),
        };
        lang.tr(
            "alert_misses",
            &[
                ("figure", f.name().into()),
                ("when", (&when).into()),
                ("n", (&lang.integer(n)).into()),
            ],
        )
    }

    pub fn on_track(lang: Lang, f: Figure, status: &str) -> String {
        lang.tr(
            "alert_on_track",
            &[("figure", f.name().into()), ("status", status.into())],
        )
    }
}
