//! On-track forecasts: for each segment and target, whether and when it
//! passes the target at its current pace, and what it must gain per week
//! to pass by a target week. SPEC.md defines no forecast; the method is
//! uptake's (README, "Forecasts"):
//!
//! - The pace is the least-squares slope of the measured rate (active
//!   licensee rate R/N, module utilization modules in use/licensed) over
//!   the last 4 and over the last 8 weeks up to the week forecast from,
//!   each needing at least two weeks with shown figures. The two paces
//!   give the range: the week the target is passed at the faster pace is
//!   `forecast_pass_earliest`, at the slower `forecast_pass_latest` (none
//!   when that pace does not rise).
//! - A rate passes when it is strictly more than the target, as measured.
//! - What must be gained: the regular users (or modules in use) the
//!   segment lacks now (`users_to_target`, or modules), spread evenly over
//!   the weeks up to the target week, rounded up. It assumes the eligible
//!   licensees (licensed modules) stay as they are.
//!
//! Only weeks whose figures are shown count: a segment suppressed in the
//! week forecast from is suppressed here too, and its earlier suppressed
//! weeks give no pace, so a forecast tells nothing a KPI table hides.

use crate::config::Settings;
use crate::model::Week;
use crate::model::decimal::Decimal;

use super::rows::KpiRow;
use super::{Cell, Dimension, Request, Table, header};

/// The pace windows, in weeks: the range of a forecast.
pub const WINDOWS: [i32; 2] = [4, 8];

/// Weeks of history a forecast needs: the longest window.
pub const HISTORY_WEEKS: i32 = 8;

/// The columns of the forecast table after the segment's.
pub const FORECAST_FIGURES: [&str; 11] = [
    "target",
    "measured_rate",
    "target_rate",
    "forecast_status",
    "forecast_pace_4_weeks",
    "forecast_pace_8_weeks",
    "forecast_pass_earliest",
    "forecast_pass_latest",
    "target_week",
    "forecast_needed_per_week",
    "suppressed",
];

/// Where a segment stands against a target, as forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Measured above the target in the week forecast from.
    Passing,
    /// Passes by the target week even at the slower pace.
    OnTrack,
    /// Passes by the target week at the faster pace only.
    AtRisk,
    /// Passes after the target week at both paces, or neither pace rises.
    Behind,
    /// Passes at some pace (no target week asked).
    Rising,
    /// Neither pace rises (no target week asked).
    NotRising,
    /// Fewer than two weeks with shown figures.
    TooLittleHistory,
    /// The segment's figures are not shown.
    Suppressed,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Passing => "passing",
            Status::OnTrack => "on_track",
            Status::AtRisk => "at_risk",
            Status::Behind => "behind",
            Status::Rising => "rising",
            Status::NotRising => "not_rising",
            Status::TooLittleHistory => "too_little_history",
            Status::Suppressed => "suppressed",
        }
    }
}

/// The forecast of one segment against one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// The week forecast from (the last measured).
    pub week: Week,
    pub segment: Vec<String>,
    /// `active_licensee_rate` or `module_utilization`.
    pub target: &'static str,
    pub target_rate: Decimal,
    /// The rate measured in `week`, in millionths.
    pub measured: Option<i64>,
    pub status: Status,
    /// Change of the rate per week over the last 4 and the last 8 weeks, in
    /// millionths.
    pub paces: [Option<i64>; 2],
    pub pass_earliest: Option<Week>,
    pub pass_latest: Option<Week>,
    pub target_week: Option<Week>,
    /// Regular users (or modules in use) to gain per week to pass by the
    /// target week.
    pub needed_per_week: Option<i64>,
}

/// One measured point: the week, the part and the whole of the rate.
type Point = (i32, i64, i64);

/// A target: its figure's name, its rate, and the part and whole of the
/// figure in a KPI row.
type TargetOf = (&'static str, Decimal, fn(&KpiRow) -> (i64, i64));

/// The request of the KPI rows a forecast from the last week of
/// `request` reads: the 8 weeks (`HISTORY_WEEKS`) up to it.
pub fn forecast_history(request: &Request) -> Request {
    Request {
        from: request.to.offset(-(HISTORY_WEEKS - 1)),
        ..request.clone()
    }
}

/// Why `target_week` cannot be forecast to from `week`, if it cannot.
pub fn target_week_problem(week: Week, target_week: Option<Week>) -> Option<String> {
    target_week
        .filter(|by| *by <= week)
        .map(|by| format!("{by} is not after the week forecast from ({week})"))
}

/// Forecasts from `rows`, the KPI rows of the weeks up to `week` (at least
/// [`HISTORY_WEEKS`] of them for the full range), for every segment shown
/// in `week`: both targets each, sorted by segment.
fn forecasts(
    rows: &[KpiRow],
    week: Week,
    target_week: Option<Week>,
    settings: &Settings,
) -> Vec<Forecast> {
    let mut by_segment: std::collections::BTreeMap<&Vec<String>, Vec<&KpiRow>> = Default::default();
    for row in rows.iter().filter(|r| r.week <= week) {
        by_segment.entry(&row.segment).or_default().push(row);
    }
    let mut out = Vec::new();
    for (segment, rows) in by_segment {
        let Some(now) = rows.iter().find(|r| r.week == week) else {
            continue;
        };
        let shown: Vec<&&KpiRow> = rows.iter().filter(|r| !r.suppressed).collect();
        let targets: [TargetOf; 2] = [
            (
                "active_licensee_rate",
                settings.targets.active_licensee_rate,
                |r| (r.regular, r.eligible),
            ),
            (
                "module_utilization",
                settings.targets.module_utilization,
                |r| (r.modules_in_use, r.modules_licensed),
            ),
        ];
        for (target, rate, of) in targets {
            let points: Vec<Point> = shown
                .iter()
                .map(|r| {
                    let (part, whole) = of(r);
                    (r.week.number(), part, whole)
                })
                .filter(|p| p.2 > 0)
                .collect();
            out.push(forecast(
                week,
                segment.clone(),
                (target, rate),
                (!now.suppressed).then(|| of(now)),
                &points,
                target_week,
            ));
        }
    }
    out
}

/// The forecast of one segment against one target from its measured
/// `points`; `now` is the part and whole in `week` (`None`: suppressed).
fn forecast(
    week: Week,
    segment: Vec<String>,
    (target, rate): (&'static str, Decimal),
    now: Option<(i64, i64)>,
    points: &[Point],
    target_week: Option<Week>,
) -> Forecast {
    let mut f = Forecast {
        week,
        segment,
        target,
        target_rate: rate,
        measured: None,
        status: Status::Suppressed,
        paces: [None, None],
        pass_earliest: None,
        pass_latest: None,
        target_week,
        needed_per_week: None,
    };
    let Some((part, whole)) = now else {
        return f;
    };
    if whole <= 0 {
        f.status = Status::TooLittleHistory;
        return f;
    }
    f.measured = Some(crate::engine::functions::rate_micros(part, whole).unwrap_or(0));
    if rate.is_exceeded_by(part, whole) {
        f.status = Status::Passing;
        return f;
    }
    let current = part as f64 / whole as f64;
    let goal = rate.as_f64();
    let mut passes = Vec::new();
    for (i, window) in WINDOWS.iter().enumerate() {
        let from = week.number() - window + 1;
        let recent: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.0 >= from && p.0 <= week.number())
            .map(|p| (f64::from(p.0), p.1 as f64 / p.2 as f64))
            .collect();
        let Some(slope) = slope(&recent) else {
            continue;
        };
        f.paces[i] = Some((slope * 1e6).round() as i64);
        if slope > 0.0 {
            // The first whole week in which the rate is above the goal
            // (a line that reaches it exactly in a week is not above it
            // then; the nudge keeps rounding from deciding that).
            let weeks = ((goal - current) / slope + 1e-9).floor() as i64 + 1;
            passes.push(week.offset(weeks.clamp(1, 100_000) as i32));
        }
    }
    let measured_paces = f.paces.iter().flatten().count();
    f.pass_earliest = passes.iter().min().copied();
    // The slower pace passes too only when both windows rise.
    f.pass_latest = (passes.len() == measured_paces && !passes.is_empty())
        .then(|| passes.iter().max().copied())
        .flatten();
    f.status = match (measured_paces, target_week) {
        (0, _) => Status::TooLittleHistory,
        (_, None) if passes.is_empty() => Status::NotRising,
        (_, None) => Status::Rising,
        (_, Some(by)) => match (f.pass_earliest, f.pass_latest) {
            (_, Some(latest)) if latest <= by => Status::OnTrack,
            (Some(earliest), _) if earliest <= by => Status::AtRisk,
            _ => Status::Behind,
        },
    };
    if let Some(by) = target_week {
        let weeks_left = i64::from(by.number() - week.number());
        // The smallest part above the goal, less what there is.
        let lacking = rate.parts_to_exceed(whole) - part;
        f.needed_per_week =
            (weeks_left > 0).then(|| (lacking.max(0) + weeks_left - 1) / weeks_left);
    }
    f
}

/// The least-squares slope of `points` (x, y); `None` for fewer than two
/// distinct x.
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The forecasts from `rows` (see `forecasts`) as a table: suppressed
/// segments keep only their status.
pub fn forecast_table(
    dims: &[Dimension],
    rows: &[KpiRow],
    week: Week,
    target_week: Option<Week>,
    settings: &Settings,
) -> Table {
    let forecasts = forecasts(rows, week, target_week, settings);
    let week = |w: Option<Week>| w.map_or(Cell::Empty, |w| Cell::Text(w.to_string()));
    Table {
        columns: header(&["week"], dims, &FORECAST_FIGURES),
        rows: forecasts
            .iter()
            .map(|f| {
                let mut cells = vec![Cell::Text(f.week.to_string())];
                cells.extend(f.segment.iter().cloned().map(Cell::Text));
                cells.push(Cell::Text(f.target.to_string()));
                cells.push(f.measured.map_or(Cell::Empty, Cell::Rate));
                cells.push(Cell::Rate(f.target_rate.to_micros()));
                cells.push(Cell::Text(f.status.name().to_string()));
                for pace in f.paces {
                    cells.push(pace.map_or(Cell::Empty, Cell::Rate));
                }
                cells.push(week(f.pass_earliest));
                cells.push(week(f.pass_latest));
                cells.push(week(f.target_week));
                cells.push(f.needed_per_week.map_or(Cell::Empty, Cell::Int));
                cells.push(Cell::Bool(f.status == Status::Suppressed));
                cells
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal() -> (&'static str, Decimal) {
        ("active_licensee_rate", "0.75".parse().expect("decimal"))
    }

    fn w(n: i32) -> Week {
        Week::from_number(n)
    }

    #[test]
    fn a_steady_rise_passes_when_the_line_crosses_the_target() {
        // 50, 55, 60, 65 of 100 over four weeks: 5 points a week, and
        // 65 + 5k > 75 first for k = 3.
        let points: Vec<Point> = (0..4)
            .map(|i| (100 + i, 50 + 5 * i64::from(i), 100))
            .collect();
        let f = forecast(
            w(103),
            vec!["DACH".into()],
            goal(),
            Some((65, 100)),
            &points,
            Some(w(110)),
        );
        assert_eq!(f.paces, [Some(50_000), Some(50_000)]);
        assert_eq!(
            (f.pass_earliest, f.pass_latest),
            (Some(w(106)), Some(w(106)))
        );
        assert_eq!(f.status, Status::OnTrack);
        // 76 of 100 pass: 11 more over 7 weeks, 2 a week.
        assert_eq!(f.needed_per_week, Some(2));
        let late = forecast(
            w(103),
            vec![],
            goal(),
            Some((65, 100)),
            &points,
            Some(w(105)),
        );
        assert_eq!(late.status, Status::Behind);
    }

    #[test]
    fn two_paces_give_a_range_and_a_fall_gives_none() {
        // Flat for four weeks, then rising over the last four.
        let mut points: Vec<Point> = (0..4).map(|i| (100 + i, 40, 100)).collect();
        points.extend((4..8).map(|i| (100 + i, 40 + 4 * i64::from(i - 3), 100)));
        let now = Some((56, 100));
        let f = forecast(w(107), vec![], goal(), now, &points, Some(w(112)));
        let [four, eight] = f.paces;
        assert!(four.expect("4") > eight.expect("8") && eight.expect("8") > 0);
        assert!(f.pass_earliest < f.pass_latest, "{f:?}");
        assert_eq!(f.status, Status::AtRisk);
        let falling: Vec<Point> = (0..8).map(|i| (100 + i, 60 - i64::from(i), 100)).collect();
        let f = forecast(w(107), vec![], goal(), Some((53, 100)), &falling, None);
        assert_eq!(
            (f.status, f.pass_earliest, f.pass_latest),
            (Status::NotRising, None, None)
        );
    }

    #[test]
    fn passing_suppressed_and_thin_segments_say_so() {
        let points: Vec<Point> = vec![(100, 80, 100)];
        let f = forecast(w(100), vec![], goal(), Some((80, 100)), &points, None);
        assert_eq!(f.status, Status::Passing);
        // Exactly the target is not passing.
        let f = forecast(
            w(100),
            vec![],
            goal(),
            Some((75, 100)),
            &[(100, 75, 100)],
            None,
        );
        assert_eq!(f.status, Status::TooLittleHistory);
        let f = forecast(w(100), vec![], goal(), None, &points, Some(w(104)));
        assert_eq!(
            (f.status, f.measured, f.needed_per_week),
            (Status::Suppressed, None, None)
        );
    }
}
