//! The chart of a dashboard panel, as an SVG string: shared by the pages
//! and the PDF reports, so both draw the same figures the same way.

use crate::config::Settings;
use crate::dashboard::{Chart, Panel, View};
use crate::i18n::Lang;
use crate::model::output::Table;
use crate::model::{Decimal, Labels, Week};

use super::{ChartText, Result, Scale, TargetLine};

/// Size of line charts; heat maps and bars are as high as their rows need.
pub const LINE_SIZE: (u32, u32) = (960, 420);
pub const WIDTH: u32 = 960;

/// Whether a figure is a rate (0..1).
pub fn is_rate(figure: &str) -> bool {
    matches!(
        figure,
        "active_licensee_rate" | "module_utilization" | "module_adoption"
    )
}

pub fn to_f64(d: Decimal) -> f64 {
    d.numerator() as f64 / d.denominator() as f64
}

/// The target of a figure, when it has one.
pub fn target_of(settings: &Settings, figure: &str) -> Option<Decimal> {
    match figure {
        "active_licensee_rate" => Some(settings.targets.active_licensee_rate),
        "module_utilization" => Some(settings.targets.module_utilization),
        _ => None,
    }
}

pub fn chart_text(lang: Lang, x: &str, y: &str) -> ChartText {
    ChartText {
        x_label: lang.label(x).to_string(),
        y_label: lang.label(y).to_string(),
        suppressed: lang.t("suppressed").to_string(),
        no_data: lang.t("no_data").to_string(),
    }
}

/// The SVG of a line, heat map or bar panel over its table; `None` for
/// tiles and tables, which are not one chart. Waves, modules and regions
/// are shown by their names in `lang`.
pub fn panel_svg(
    panel: &Panel,
    table: &Table,
    settings: &Settings,
    lang: Lang,
    labels: &Labels,
) -> Option<Result<String>> {
    let table = &*labels.naming(table, lang);
    let dim_names: Vec<String> = panel.dims.iter().map(|d| d.name().to_string()).collect();
    match panel.chart {
        Chart::Tiles | Chart::Table => None,
        Chart::Line => Some(line(panel, table, &dim_names, settings, lang)),
        Chart::HeatMap => {
            let figure = panel.figures.first().map(String::as_str).unwrap_or("");
            let (rows, column) = if panel.query == View::Modules {
                (dim_names.clone(), "module_name".to_string())
            } else {
                (
                    dim_names[..dim_names.len().saturating_sub(1)].to_vec(),
                    dim_names.last().cloned().unwrap_or_default(),
                )
            };
            let map = super::data::heat_map(table, &rows, &column, figure);
            Some(super::heat_map(
                &map,
                &chart_text(lang, &column, figure),
                WIDTH,
            ))
        }
        Chart::Bar => {
            let figure = panel.figures.first().map(String::as_str).unwrap_or("");
            let mut bars = super::data::bars(table, &dim_names, figure);
            if let Some(limit) = panel.limit {
                bars.truncate(limit);
            }
            let money = figure == "idle_license_cost";
            let format = move |v: f64| {
                if money {
                    lang.decimal(&format!("{v:.2}"))
                } else {
                    format!("{v:.0}")
                }
            };
            Some(super::bar_chart(
                &bars,
                &format,
                &chart_text(lang, figure, figure),
                WIDTH,
            ))
        }
    }
}

fn line(
    panel: &Panel,
    table: &Table,
    dim_names: &[String],
    settings: &Settings,
    lang: Lang,
) -> Result<String> {
    let x = panel.x.as_deref().unwrap_or("week");
    let figures: Vec<(String, String)> = panel
        .figures
        .iter()
        .map(|f| (f.clone(), lang.label(f).to_string()))
        .collect();
    let series = super::data::series(table, x, dim_names, &figures);
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let (x0, x1) = xs
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let mut targets = Vec::new();
    for f in &panel.figures {
        if let Some(t) = target_of(settings, f)
            && x0 <= x1
        {
            let v = to_f64(t);
            targets.push(TargetLine {
                label: format!("{} {}", lang.t("target_line"), lang.percent(v)),
                values: vec![(x0, v), (x1, v)],
            });
        }
    }
    if let Some(of) = &panel.target_share_of {
        let share = to_f64(settings.targets.module_utilization);
        let base = super::data::series(table, x, dim_names, &[(of.clone(), of.clone())]);
        if let Some(s) = base.first() {
            targets.push(TargetLine {
                label: format!("{} ({})", lang.t("mu_target_share"), lang.percent(share)),
                values: s
                    .points
                    .iter()
                    .filter_map(|(x, y)| y.map(|y| (*x, y * share)))
                    .collect(),
            });
        }
    }
    let scale = if panel.figures.iter().all(|f| is_rate(f)) {
        Scale::Percent
    } else {
        Scale::Count
    };
    let y_label = if panel.figures.len() == 1 {
        panel.figures[0].as_str()
    } else {
        ""
    };
    let week_axis = x == "week";
    let x_labels = move |v: f64| {
        if v.fract() != 0.0 {
            String::new()
        } else if week_axis {
            Week::from_number(v as i32).to_string()
        } else {
            format!("{v:.0}")
        }
    };
    super::line_chart(
        &series,
        &targets,
        scale,
        &x_labels,
        &chart_text(lang, x, y_label),
        LINE_SIZE,
    )
}
