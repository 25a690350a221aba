//! What a report shows: its figures for one week, computed by the same
//! KPI functions as the API, formatted in the report's language, with its
//! charts drawn by the same code as the dashboards.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::chart::panel::{is_rate, panel_svg, target_of, to_f64};
use crate::config::Settings;
use crate::dashboard::{Chart, Panel, Text, View};
use crate::i18n::Lang;
use crate::kpi::{self, Cell, Dimension, KpiRow, Request, Table};
use crate::model::Week;

use super::{Report, Result, Section};

/// Everything a report is computed from besides its definition.
pub struct Inputs<'a> {
    pub source: &'a kpi::Source,
    pub settings: &'a Settings,
    pub labels: &'a crate::model::Labels,
    /// The report's week.
    pub week: Week,
    /// The week of the previous report: highlights are targets passed
    /// after it.
    pub since: Week,
    pub generated: DateTime<Utc>,
    /// Dates of the first and last stored events.
    pub stored: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    /// The recipient's scope: the report covers its licensees only, and
    /// its totals are theirs.
    pub scope: crate::kpi::Scope,
    /// The alerts on for the scope within the report's filter, for the
    /// `alerts` section.
    pub alerts: Vec<AlertLine>,
}

/// An alert on for a report's readers: the alert's title, the segment
/// and the notice's message and week.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertLine {
    pub title: String,
    pub dims: Vec<String>,
    pub segment: Vec<String>,
    pub message: String,
    pub week: String,
}

/// A report ready to typeset: `data` is read by the template, `charts[i]`
/// is the SVG file `charts/{i}.svg`.
#[derive(Debug, Clone)]
pub struct Content {
    pub data: Data,
    pub charts: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Data {
    pub lang: &'static str,
    pub title: String,
    pub audience: String,
    pub labels: Labels,
    /// Label and value pairs: filter, breakdown, weeks, time zone, ...
    pub meta: Vec<(String, String)>,
    pub warning: Option<String>,
    pub sections: Vec<Block>,
    /// Figures of the scope in the report's week, for tests and webhooks.
    pub figures: Vec<Tile>,
    pub highlights: Vec<String>,
}

/// Fixed words of the template.
#[derive(Debug, Clone, Serialize)]
pub struct Labels {
    pub page: String,
    pub of: String,
    pub suppressed_note: String,
    pub generated: String,
    pub no_data: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tile {
    pub figure: String,
    pub label: String,
    pub value: String,
    pub target: String,
    /// passed, missed or suppressed.
    pub status: String,
    pub status_text: String,
    pub change: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Block {
    Heading {
        text: String,
    },
    Tiles {
        tiles: Vec<Tile>,
    },
    List {
        title: String,
        items: Vec<String>,
        empty: String,
    },
    Table {
        title: String,
        columns: Vec<String>,
        right: Vec<bool>,
        rows: Vec<Vec<String>>,
        suppressed: Vec<bool>,
        note: String,
    },
    Chart {
        title: String,
        file: String,
        note: String,
    },
}

fn panel(chart: Chart, query: View, dims: &[Dimension], figures: &[&str]) -> Panel {
    Panel {
        title: Text::default(),
        chart,
        query,
        by: String::new(),
        figures: figures.iter().map(|f| f.to_string()).collect(),
        x: None,
        sparkline: None,
        target_share_of: None,
        limit: None,
        dims: dims.to_vec(),
    }
}

fn week_span(w: Week, lang: Lang) -> String {
    format!(
        "{w} ({} – {})",
        lang.date(w.monday()),
        lang.date(w.sunday())
    )
}

/// A segment's name for readers: dimension and value, waves by name,
/// regions by their name where the settings give one.
fn segment_name(
    dims: &[Dimension],
    values: &[String],
    labels: &crate::model::Labels,
    lang: Lang,
) -> String {
    if dims.is_empty() {
        return lang.t("organisation").to_string();
    }
    dims.iter()
        .zip(values)
        .map(|(d, v)| {
            // A wave by its name ("Pilot", "Wave 2 DACH"), else by id.
            if *d == Dimension::Wave && labels.waves.iter().any(|w| &w.wave_id == v) {
                labels.wave(v, lang)
            } else {
                let v = labels.value(d.name(), v, lang);
                format!("{} {v}", lang.label(d.name()))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The report's filter for readers: regions and waves by name.
fn filter_text(report: &Report, labels: &crate::model::Labels, lang: Lang) -> String {
    let f = &report.filter;
    let parts: Vec<String> = [
        ("region", &f.region),
        ("department", &f.department),
        ("wave", &f.wave),
    ]
    .iter()
    .filter_map(|(name, v)| {
        v.as_ref()
            .map(|v| format!("{} = {}", lang.label(name), labels.value(name, v, lang)))
    })
    .collect();
    if parts.is_empty() {
        lang.t("whole_organisation").to_string()
    } else {
        parts.join(", ")
    }
}

/// Whether a row passes a target figure, on the exact fraction.
fn passes(settings: &Settings, figure: &str, r: &KpiRow) -> Option<bool> {
    if r.suppressed {
        return None;
    }
    match figure {
        "active_licensee_rate" => Some(
            settings
                .targets
                .active_licensee_rate
                .is_exceeded_by(r.regular, r.eligible),
        ),
        "module_utilization" => Some(
            settings
                .targets
                .module_utilization
                .is_exceeded_by(r.modules_in_use, r.modules_licensed),
        ),
        _ => None,
    }
}

fn value_of(figure: &str, r: &KpiRow) -> Option<i64> {
    match figure {
        "active_licensee_rate" => r.active_licensee_rate,
        _ => r.module_utilization,
    }
}

const TARGET_FIGURES: [&str; 2] = ["active_licensee_rate", "module_utilization"];

/// The scope's two KPIs against their targets, with the change since the
/// week compared with.
fn tiles(
    settings: &Settings,
    now: Option<&KpiRow>,
    before: Option<&KpiRow>,
    since: Week,
    lang: Lang,
) -> Vec<Tile> {
    TARGET_FIGURES
        .iter()
        .map(|figure| {
            let target = target_of(settings, figure).map(to_f64).unwrap_or(0.0);
            let value = now
                .filter(|r| !r.suppressed)
                .and_then(|r| value_of(figure, r));
            let (status, text) = match now.and_then(|r| passes(settings, figure, r)) {
                Some(true) => ("passed", lang.t("passed")),
                Some(false) => ("missed", lang.t("missed")),
                None => ("suppressed", lang.t("suppressed")),
            };
            let previous = before
                .filter(|r| !r.suppressed)
                .and_then(|r| value_of(figure, r));
            let change = match (value, previous) {
                (Some(a), Some(b)) => {
                    let pts = (a - b) as f64 / 1e4;
                    format!(
                        "{}{} {} {} {since}",
                        if pts >= 0.0 { "+" } else { "−" },
                        lang.points(pts),
                        lang.t("points_short"),
                        lang.t("vs")
                    )
                }
                _ => String::new(),
            };
            Tile {
                figure: figure.to_string(),
                label: lang.label(figure).to_string(),
                value: value.map_or_else(
                    || lang.t("suppressed").to_string(),
                    |v| lang.percent(v as f64 / 1e6),
                ),
                target: format!("{} > {}", lang.t("target"), lang.percent(target)),
                status: status.to_string(),
                status_text: text.to_string(),
                change,
            }
        })
        .collect()
}

/// The sentence naming the waves (segments) of an adoption curve table
/// more than `limit` points behind the reference wave in their latest
/// week, or saying none is; `None` without a reference wave.
pub fn behind_sentence(
    table: &Table,
    labels: &crate::model::Labels,
    limit: u32,
    lang: Lang,
) -> Option<String> {
    let (reference, mut behind) = kpi::behind_reference(table)?;
    behind.retain(|b| b.behind);
    let reference = labels.wave(&reference, lang);
    let limit = lang.integer(i64::from(limit));
    if behind.is_empty() {
        return Some(lang.tr(
            "behind_none",
            &[
                ("points", (&limit).into()),
                ("reference", (&reference).into()),
            ],
        ));
    }
    let named: Vec<String> = behind
        .iter()
        .map(|b| {
            let mut who: Vec<String> = b
                .segment
                .iter()
                .map(|c| match c {
                    Cell::Text(id) if *c == b.wave => labels.wave(id, lang),
                    _ => Table::cell_text(c),
                })
                .collect();
            who.retain(|w| !w.is_empty());
            lang.tr(
                "behind_one",
                &[
                    ("wave", (&who.join(" ")).into()),
                    ("gap", (&lang.points(b.gap as f64 / 10_000.0)).into()),
                    ("since", b.weeks_since_go_live.into()),
                ],
            )
        })
        .collect();
    Some(lang.tr(
        "behind_some",
        &[
            ("points", (&limit).into()),
            ("reference", (&reference).into()),
            ("waves", (&named.join(", ")).into()),
        ],
    ))
}

/// A table block of some columns of a table, suppressed rows marked,
/// waves, modules and regions by name.
fn table_block(
    title: String,
    table: &Table,
    columns: &[&str],
    limit: usize,
    note: String,
    lang: Lang,
    labels: &crate::model::Labels,
) -> Block {
    let table = &*labels.naming(table, lang);
    let idx: Vec<usize> = columns
        .iter()
        .filter_map(|c| table.columns.iter().position(|t| t == c))
        .collect();
    let sup = table.columns.iter().position(|c| c == "suppressed");
    let mut rows = Vec::new();
    let mut suppressed = Vec::new();
    for row in table.rows.iter().take(limit) {
        let s = sup.is_some_and(|i| row[i] == Cell::Bool(true));
        rows.push(
            idx.iter()
                .map(|&i| match &row[i] {
                    Cell::Empty if s => lang.t("suppressed").to_string(),
                    Cell::Money(m) => lang.money(*m),
                    // The catalog's price, a decimal as imported.
                    Cell::Text(status) if table.columns[i] == "forecast_status" => {
                        lang.label(status).to_string()
                    }
                    Cell::Text(price) if table.columns[i] == "monthly_cost_per_user" => {
                        lang.money_text(price)
                    }
                    c => lang.cell(c),
                })
                .collect(),
        );
        suppressed.push(s);
    }
    let mut note = note;
    if table.rows.len() > limit {
        note = format!(
            "{limit} {} {}. {note}",
            lang.t("rows_shown"),
            table.rows.len()
        );
    }
    Block::Table {
        title,
        columns: idx
            .iter()
            .map(|&i| lang.label(&table.columns[i]).to_string())
            .collect(),
        right: idx
            .iter()
            .map(|&i| {
                table
                    .rows
                    .iter()
                    .any(|r| matches!(r[i], Cell::Int(_) | Cell::Rate(_) | Cell::Money(_)))
                    || is_rate(&table.columns[i])
                    || table.columns[i] == "monthly_cost_per_user"
            })
            .collect(),
        rows,
        suppressed,
        note,
    }
}

/// Computes a report's content for `inputs.week`.
pub async fn build(report: &Report, inputs: &Inputs<'_>) -> Result<Content> {
    let lang = report.lang;
    let settings = inputs.settings;
    let week = inputs.week;
    let first = week.offset(-(report.weeks as i32 - 1));
    let request = |dims: &[Dimension], from: Week, to: Week| Request {
        dims: dims.to_vec(),
        from,
        to,
        filter: report.filter.clone(),
        scope: inputs.scope.clone(),
        protected: true,
    };
    let k = settings.privacy.min_group_size;
    let tz = &settings.timezone;
    let generated = settings
        .tz()
        .map(|z| {
            inputs
                .generated
                .with_timezone(&z)
                .format(&format!("{} %Z", lang.t("datetime_format")))
                .to_string()
        })
        .unwrap_or_else(|_| inputs.generated.to_rfc3339());
    let mut meta = vec![
        (
            lang.t("filter").to_string(),
            filter_text(report, inputs.labels, lang),
        ),
        (
            lang.t("breakdown").to_string(),
            if report.by.is_empty() {
                lang.t("none").to_string()
            } else {
                report
                    .by
                    .iter()
                    .map(|d| lang.label(d.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        ),
        (lang.t("report_week").to_string(), week_span(week, lang)),
        (lang.t("weeks").to_string(), format!("{first} – {week}")),
        (
            lang.t("compared_with").to_string(),
            inputs.since.to_string(),
        ),
        (lang.t("time_zone").to_string(), tz.clone()),
        (lang.t("generated").to_string(), generated.clone()),
    ];
    let mut warning = None;
    match &inputs.stored {
        Some((from, to)) => {
            meta.push((
                lang.t("stored_events").to_string(),
                format!("{} – {}", lang.date(*from), lang.date(*to)),
            ));
            if *to < week.sunday() {
                warning = Some(format!("{} {}.", lang.t("data_ends"), lang.date(*to)));
            }
        }
        None => warning = Some(lang.t("no_events").to_string()),
    }

    // The scope over the report's weeks, and in the previous report's week.
    let scope = kpi::kpi_rows(inputs.source, settings, &request(&[], first, week)).await?;
    let now = scope.iter().find(|r| r.week == week);
    let before_rows = kpi::kpi_rows(
        inputs.source,
        settings,
        &request(&[], inputs.since, inputs.since),
    )
    .await?;
    let before = before_rows.first();
    let figures = tiles(settings, now, before, inputs.since, lang);

    let mut sections = Vec::new();
    let mut charts = Vec::new();
    let mut chart = |svg: String| {
        charts.push(svg);
        format!("charts/{}.svg", charts.len() - 1)
    };
    let mut highlights = Vec::new();
    for section in &report.sections {
        match section {
            Section::Summary => {
                sections.push(Block::Heading {
                    text: lang.t("summary").to_string(),
                });
                sections.push(Block::Tiles {
                    tiles: figures.clone(),
                });
                if !report.by.is_empty() {
                    let rows =
                        kpi::kpi_rows(inputs.source, settings, &request(&report.by, week, week))
                            .await?;
                    let table = kpi::kpi_table(&report.by, &rows);
                    let mut columns: Vec<&str> = report.by.iter().map(|d| d.name()).collect();
                    columns.extend([
                        "eligible",
                        "regular",
                        "active_licensee_rate",
                        "modules_in_use",
                        "modules_licensed",
                        "module_utilization",
                        "users_to_target",
                        "success",
                    ]);
                    sections.push(table_block(
                        format!("{} {week}", lang.t("by_breakdown")),
                        &table,
                        &columns,
                        usize::MAX,
                        String::new(),
                        lang,
                        inputs.labels,
                    ));
                }
            }
            Section::Highlights => {
                highlights = passed_targets(report, inputs).await?;
                sections.push(Block::List {
                    title: format!("{} {}", lang.t("highlights_since"), inputs.since),
                    items: highlights.clone(),
                    empty: lang.t("no_highlights").to_string(),
                });
            }
            Section::Trend => {
                let p = panel(
                    Chart::Line,
                    View::Kpi,
                    &[],
                    &["active_licensee_rate", "module_utilization"],
                );
                let table = kpi::kpi_table(&[], &scope);
                if let Some(svg) = panel_svg(&p, &table, settings, lang, inputs.labels) {
                    sections.push(Block::Chart {
                        title: lang.t("trend_title").to_string(),
                        file: chart(svg?),
                        note: format!("{} {first} – {week}", lang.t("weeks")),
                    });
                }
            }
            Section::AdoptionCurve => {
                let mut p = panel(
                    Chart::Line,
                    View::AdoptionCurve,
                    &[Dimension::Wave],
                    &["active_licensee_rate"],
                );
                p.x = Some("weeks_since_go_live".into());
                let points = kpi::adoption_curve(
                    inputs.source,
                    settings,
                    &request(&[Dimension::Wave], first, week),
                )
                .await?;
                let table = kpi::curve_table(&p.dims, &points, settings, &inputs.labels.waves);
                if let Some(svg) = panel_svg(&p, &table, settings, lang, inputs.labels) {
                    let mut note = format!("{} {first} – {week}.", lang.t("weeks"));
                    let limit = settings.targets.behind_reference_points;
                    if let Some(behind) = behind_sentence(&table, inputs.labels, limit, lang) {
                        note = format!("{note} {behind}");
                    }
                    sections.push(Block::Chart {
                        title: lang.t("curve_title").to_string(),
                        file: chart(svg?),
                        note,
                    });
                }
            }
            Section::Lagging => {
                let rows = kpi::kpi_rows(
                    inputs.source,
                    settings,
                    &request(&report.lagging_by, week, week),
                )
                .await?;
                let table = kpi::lagging_table(&report.lagging_by, &rows, settings);
                let mut columns: Vec<&str> = report.lagging_by.iter().map(|d| d.name()).collect();
                columns.extend([
                    "eligible",
                    "regular",
                    "active_licensee_rate",
                    "module_utilization",
                    "users_to_target",
                    "below_target",
                ]);
                let hidden = rows.iter().filter(|r| r.suppressed).count();
                let note = if hidden > 0 {
                    format!("{hidden} {} (k = {k}).", lang.t("segments_suppressed"))
                } else {
                    String::new()
                };
                sections.push(table_block(
                    format!("{} {week}", lang.t("lagging_title")),
                    &table,
                    &columns,
                    report.lagging_limit,
                    note,
                    lang,
                    inputs.labels,
                ));
            }
            Section::Alerts => {
                sections.push(Block::List {
                    title: lang.t("alerts_active").to_string(),
                    items: inputs
                        .alerts
                        .iter()
                        .map(|a| {
                            format!(
                                "{}: {} – {} ({} {})",
                                a.title,
                                lang.segment(&a.dims, &a.segment, inputs.labels),
                                a.message,
                                lang.t("alerts_since"),
                                a.week
                            )
                        })
                        .collect(),
                    empty: lang.t("alerts_none_in_scope").to_string(),
                });
            }
            Section::Forecast => {
                let dims = if report.by.is_empty() {
                    vec![Dimension::Wave]
                } else {
                    report.by.clone()
                };
                let history = kpi::forecast_history(&request(&dims, week, week));
                let rows = kpi::kpi_rows(inputs.source, settings, &history).await?;
                let table = kpi::forecast_table(&dims, &rows, week, report.target_week, settings);
                let mut columns: Vec<&str> = dims.iter().map(|d| d.name()).collect();
                columns.extend([
                    "target",
                    "measured_rate",
                    "forecast_status",
                    "forecast_pass_earliest",
                    "forecast_pass_latest",
                ]);
                if report.target_week.is_some() {
                    columns.push("forecast_needed_per_week");
                }
                sections.push(table_block(
                    format!("{} {week}", lang.t("forecast_title")),
                    &table,
                    &columns,
                    usize::MAX,
                    lang.t("forecast_note").to_string(),
                    lang,
                    inputs.labels,
                ));
            }
            Section::Modules => {
                let table =
                    kpi::modules_table(inputs.source, settings, &request(&[], week, week)).await?;
                // The scope's idle cost and inactive licensees repeat on each
                // module row: shown once, below the table.
                let col = |name: &str| table.columns.iter().position(|c| c == name);
                let note = match (
                    table.rows.first(),
                    col("idle_license_cost"),
                    col("inactive_licensees"),
                ) {
                    (Some(row), Some(i), Some(j)) => match (&row[i], &row[j]) {
                        (Cell::Money(m), Cell::Int(n)) => format!(
                            "{}: {} ({} {}).",
                            lang.t("idle_license_cost"),
                            lang.money(*m),
                            n,
                            lang.label("inactive_licensees")
                        ),
                        _ => String::new(),
                    },
                    _ => String::new(),
                };
                sections.push(table_block(
                    format!("{} {week}", lang.t("modules_title")),
                    &table,
                    &[
                        "module_name",
                        "monthly_cost_per_user",
                        "module_users",
                        "eligible",
                        "module_adoption",
                        "in_use",
                    ],
                    usize::MAX,
                    note,
                    lang,
                    inputs.labels,
                ));
                if !report.by.is_empty() {
                    let p = panel(
                        Chart::HeatMap,
                        View::Modules,
                        &report.by,
                        &["module_adoption"],
                    );
                    let table = kpi::modules_table(
                        inputs.source,
                        settings,
                        &request(&report.by, week, week),
                    )
                    .await?;
                    if let Some(svg) = panel_svg(&p, &table, settings, lang, inputs.labels) {
                        sections.push(Block::Chart {
                            title: format!("{} {week}", lang.t("module_map_title")),
                            file: chart(svg?),
                            note: String::new(),
                        });
                    }
                }
            }
        }
    }
    Ok(Content {
        data: Data {
            lang: lang.code(),
            title: report.title.clone(),
            audience: report.audience.clone(),
            labels: Labels {
                page: lang.t("page").to_string(),
                of: lang.t("of").to_string(),
                suppressed_note: format!("{} (k = {k})", lang.t("suppressed_note")),
                generated,
                no_data: lang.t("no_data").to_string(),
            },
            meta,
            warning,
            sections,
            figures,
            highlights,
        },
        charts,
    })
}

/// Segments (the scope, the breakdown's and each wave) that pass a target
/// in the report's week but did not in the previous report's week. A
/// segment suppressed in either week is left out.
async fn passed_targets(report: &Report, inputs: &Inputs<'_>) -> Result<Vec<String>> {
    let lang = report.lang;
    let settings = inputs.settings;
    let mut groupings: Vec<Vec<Dimension>> = vec![Vec::new()];
    if !report.by.is_empty() {
        groupings.push(report.by.clone());
    }
    if report.by != [Dimension::Wave] {
        groupings.push(vec![Dimension::Wave]);
    }
    let mut out = Vec::new();
    for dims in groupings {
        let rows = |w: Week| Request {
            dims: dims.clone(),
            from: w,
            to: w,
            filter: report.filter.clone(),
            scope: inputs.scope.clone(),
            protected: true,
        };
        let now = kpi::kpi_rows(inputs.source, settings, &rows(inputs.week)).await?;
        let before = kpi::kpi_rows(inputs.source, settings, &rows(inputs.since)).await?;
        for r in &now {
            let b = before.iter().find(|b| b.segment == r.segment);
            for figure in TARGET_FIGURES {
                let passed_now = passes(settings, figure, r) == Some(true);
                let passed_before = b.and_then(|b| passes(settings, figure, b));
                if passed_now && passed_before == Some(false) {
                    let target = target_of(settings, figure).map(to_f64).unwrap_or(0.0);
                    let value = value_of(figure, r).map_or(0.0, |v| v as f64 / 1e6);
                    let previous = b
                        .and_then(|b| value_of(figure, b))
                        .map_or(0.0, |v| v as f64 / 1e6);
                    out.push(lang.tr(
                        "highlight_passed",
                        &[
                            (
                                "segment",
                                (&segment_name(&dims, &r.segment, inputs.labels, lang)).into(),
                            ),
                            ("target", (&lang.percent(target)).into()),
                            ("figure", (*figure).into()),
                            ("value", (&lang.percent(value)).into()),
                            ("previous", (&lang.percent(previous)).into()),
                            ("since", (&inputs.since.to_string()).into()),
                        ],
                    ));
                }
            }
        }
    }
    Ok(out)
}
