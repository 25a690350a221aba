//! A dashboard's panels: their requests, charts as inline SVG, tiles and
//! tables, and each panel's data as CSV or XLSX.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use maud::{Markup, PreEscaped, html};

use crate::chart::{
    self,
    panel::{panel_svg, target_of, to_f64},
};
use crate::dashboard::{Chart, Dashboard, Panel, View};
use crate::i18n::Lang;
use crate::kpi::{self, Cell, Request, Table};
use crate::model::Week;
use crate::server::error::ApiError;
use crate::server::params::Params;
use crate::server::state::AppState;

use super::{allowed, find, text};

const SPARK_SIZE: (u32, u32) = (160, 36);

/// A panel's segments over the page's filters and weeks.
fn panel_request(
    state: &AppState,
    dashboard: &Dashboard,
    panel: &Panel,
    params: &Params,
) -> Result<Request, ApiError> {
    let (from, to) = params.range(state, Some(dashboard.default_weeks))?;
    let caller = crate::server::auth::current()?;
    Ok(Request {
        dims: panel.dims.clone(),
        from,
        to,
        filter: params.filter(state, &caller.scope)?,
        scope: caller.scope,
        protected: true,
    })
}

/// The table a panel shows, for the page's filters and weeks.
pub(super) async fn panel_table(
    state: &AppState,
    dashboard: &Dashboard,
    panel: &Panel,
    params: &Params,
) -> Result<Table, ApiError> {
    let request = panel_request(state, dashboard, panel, params)?;
    let last_week = Request {
        from: request.to,
        ..request.clone()
    };
    Ok(match panel.query {
        View::Kpi => kpi::kpi_table(&request.dims, &state.kpi_rows(&request).await?),
        View::Lagging => kpi::lagging_table(
            &request.dims,
            &state.kpi_rows(&last_week).await?,
            &state.settings,
        ),
        View::Modules => (*state.modules_table(&last_week).await?).clone(),
        View::AdoptionCurve => {
            let points = state.adoption_curve(&request).await?;
            kpi::curve_table(&request.dims, &points, &state.settings, &state.labels.waves)
        }
        View::Forecast => {
            let rows = state.kpi_rows(&kpi::forecast_history(&request)).await?;
            kpi::forecast_table(&request.dims, &rows, request.to, None, &state.settings)
        }
    })
}

fn svg(result: Result<String, chart::Error>, label: &str) -> Result<Markup, ApiError> {
    let svg = result?;
    let svg = svg.replacen(
        "<svg ",
        &format!(
            "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" ",
            maud::html! { (label) }.into_string()
        ),
        1,
    );
    Ok(PreEscaped(svg))
}

pub(super) async fn render_panel(
    state: &AppState,
    d: &Dashboard,
    panel: &Panel,
    params: &Params,
    table: &Table,
    lang: Lang,
    to: Week,
) -> Result<Markup, ApiError> {
    let label = text(&panel.title, lang);
    match panel.chart {
        Chart::Tiles => tiles(state, panel, table, lang),
        Chart::Line | Chart::HeatMap | Chart::Bar => {
            let drawn = panel_svg(panel, table, &state.settings, lang, &state.labels)
                .unwrap_or_else(|| Ok(String::new()));
            let body = svg(drawn, label)?;
            Ok(if panel.chart == Chart::Line {
                html! { (body) (reference_note(state, table, lang)) }
            } else {
                html! { (body) p.note { (lang.t("in_week")) " " (to) } }
            })
        }
        Chart::Table => table_panel(state, d, panel, params, table, lang).await,
    }
}

/// Under an adoption curve with a reference wave: the waves more than
/// `targets.behind_reference_points` behind it in their latest week since
/// go-live whose gap is shown, or that none is.
fn reference_note(state: &AppState, table: &Table, lang: Lang) -> Markup {
    let limit = state.settings.targets.behind_reference_points;
    match crate::report::behind_sentence(table, &state.labels, limit, lang) {
        Some(sentence) => html! { p.note.reference { (sentence) } },
        None => html! {},
    }
}

fn tiles(state: &AppState, panel: &Panel, table: &Table, lang: Lang) -> Result<Markup, ApiError> {
    let col = |name: &str| table.columns.iter().position(|c| c == name);
    let last = table.rows.last();
    let previous = table.rows.len().checked_sub(2).map(|i| &table.rows[i]);
    let mut out = Vec::new();
    for figure in &panel.figures {
        let Some(i) = col(figure) else { continue };
        let value = last.map(|r| &r[i]).cloned().unwrap_or(Cell::Empty);
        let v = chart::data::number(&value);
        let target = target_of(&state.settings, figure);
        // Passing compares the exact fraction, as success does.
        let passed = last.and_then(|r| {
            let get = |n: &str| {
                col(n)
                    .and_then(|j| chart::data::number(&r[j]))
                    .map(|x| x as i64)
            };
            let (num, den) = match figure.as_str() {
                "active_licensee_rate" => (get("regular")?, get("eligible")?),
                "module_utilization" => (get("modules_in_use")?, get("modules_licensed")?),
                _ => return None,
            };
            target.map(|t| t.is_exceeded_by(num, den))
        });
        let change = match (v, previous.and_then(|r| chart::data::number(&r[i]))) {
            (Some(a), Some(b)) => {
                let pts = (a - b) * 100.0;
                Some(format!(
                    "{}{} {}",
                    if pts >= 0.0 { "+" } else { "−" },
                    lang.points(pts),
                    lang.t("points_short")
                ))
            }
            _ => None,
        };
        let trend: Vec<Option<f64>> = table
            .rows
            .iter()
            .map(|r| chart::data::number(&r[i]))
            .collect();
        let spark = svg(
            chart::sparkline(&trend, target.map(to_f64), (320, 60)),
            lang.t("trend"),
        )?;
        let class = match passed {
            Some(true) => "tile passed",
            Some(false) => "tile missed",
            None => "tile",
        };
        out.push(html! {
            div class=(class) data-figure=(figure) data-value=(Table::cell_text(&value)) {
                div.label { (lang.label(figure)) }
                div.value { @match v { Some(v) => (lang.percent(v)), None => (lang.t("suppressed")) } }
                div.status {
                    @match passed {
                        Some(true) => (lang.t("passed")),
                        Some(false) => (lang.t("missed")),
                        None => "",
                    }
                    @if let Some(t) = target { " · " (lang.t("target")) " > " (lang.percent(to_f64(t))) }
                }
                @if let Some(c) = change { div.meta { (c) " " (lang.t("vs_previous")) } }
                (spark)
            }
        });
    }
    Ok(html! { div.tiles { @for t in out { (t) } } })
}

async fn table_panel(
    state: &AppState,
    d: &Dashboard,
    panel: &Panel,
    params: &Params,
    table: &Table,
    lang: Lang,
) -> Result<Markup, ApiError> {
    let dim_names: Vec<String> = panel.dims.iter().map(|d| d.name().to_string()).collect();
    let mut shown_columns: Vec<usize> = Vec::new();
    for name in dim_names.iter().chain(if panel.figures.is_empty() {
        table.columns.iter()
    } else {
        panel.figures.iter()
    }) {
        if let Some(i) = table.columns.iter().position(|c| c == name)
            && !shown_columns.contains(&i)
        {
            shown_columns.push(i);
        }
    }
    // Trend per row: the figure over the page's weeks, by the same segment.
    let trends: Option<(Vec<Vec<Cell>>, usize)> = match &panel.sparkline {
        Some(figure) => {
            let request = panel_request(state, d, panel, params)?;
            let rows = state.kpi_rows(&request).await?;
            let t = kpi::kpi_table(&request.dims, &rows);
            let fi = t.columns.iter().position(|c| c == figure);
            fi.map(|fi| (t.rows, fi))
        }
        None => None,
    };
    let n_dims = panel.dims.len();
    let limit = panel.limit.unwrap_or(usize::MAX);
    let suppressed_col = table.columns.iter().position(|c| c == "suppressed");
    let target = panel
        .sparkline
        .as_deref()
        .and_then(|f| target_of(&state.settings, f));
    let mut body = Vec::new();
    for row in table.rows.iter().take(limit) {
        let suppressed = suppressed_col.is_some_and(|i| row[i] == Cell::Bool(true));
        let spark = match &trends {
            Some((rows, fi)) => {
                let segment = &row[1..1 + n_dims];
                let values: Vec<Option<f64>> = rows
                    .iter()
                    .filter(|r| &r[1..1 + n_dims] == segment)
                    .map(|r| chart::data::number(&r[*fi]))
                    .collect();
                Some(svg(
                    chart::sparkline(&values, target.map(to_f64), SPARK_SIZE),
                    lang.t("trend"),
                )?)
            }
            None => None,
        };
        body.push(html! {
            tr {
                @for &i in &shown_columns {
                    @let cell = &row[i];
                    @let numeric = matches!(cell, Cell::Int(_) | Cell::Rate(_) | Cell::Money(_));
                    td class=(if suppressed && matches!(cell, Cell::Empty) { "suppressed" } else if numeric { "num" } else { "" })
                       data-column=(table.columns[i]) data-value=(Table::cell_text(cell)) {
                        @if suppressed && matches!(cell, Cell::Empty) { (lang.t("suppressed")) }
                        // Waves, regions and modules by name; data-value
                        // keeps the id.
                        @else if let Some(name) = state.labels.cell(&table.columns, row, i, lang) { (name) }
                        @else if table.columns[i] == "forecast_status" { (lang.label(&Table::cell_text(cell))) }
                        @else { (lang.cell(cell)) }
                    }
                }
                @if let Some(s) = spark { td.trend { (s) } }
            }
        });
    }
    Ok(html! {
        @if table.rows.is_empty() {
            p.note { (lang.t("no_data")) }
        } @else {
            table {
                thead { tr {
                    @for &i in &shown_columns {
                        th scope="col" { (lang.label(&table.columns[i])) }
                    }
                    @if trends.is_some() { th scope="col" { (lang.t("trend")) } }
                } }
                tbody { @for r in body { (r) } }
            }
            @if table.rows.len() > limit {
                p.note { (limit) " " (lang.t("rows_shown")) " " (table.rows.len()) }
            }
        }
    })
}

/// `/dashboards/{id}/panels/{n}.csv` and `.xlsx`: a panel's whole table.
pub async fn download(
    State(state): State<Arc<AppState>>,
    Path((id, file)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let d = find(&state, &id)?;
    let (n, ext) = file
        .rsplit_once('.')
        .ok_or_else(|| ApiError::NotFound(format!("no download named '{file}'")))?;
    let panel = n
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| d.panels.get(i))
        .ok_or_else(|| ApiError::NotFound(format!("dashboard {id} has no panel {n}")))?;
    let params = Params::parse(raw.as_deref(), &allowed(d))?;
    let table = panel_table(&state, d, panel, &params).await?;
    let (from, to) = params.range(&state, Some(d.default_weeks))?;
    let name = format!("uptake-{id}-{n}-{from}-{to}.{ext}");
    let disposition = format!("attachment; filename=\"{name}\"");
    match ext {
        "csv" => Ok((
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (CONTENT_DISPOSITION, disposition),
            ],
            table.to_csv(),
        )
            .into_response()),
        "xlsx" if panel.chart == Chart::Table => {
            let bytes = table.to_xlsx(&format!("{id}-{n}"))?;
            Ok((
                StatusCode::OK,
                [
                    (
                        CONTENT_TYPE,
                        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                            .to_string(),
                    ),
                    (CONTENT_DISPOSITION, disposition),
                ],
                bytes,
            )
                .into_response())
        }
        _ => Err(ApiError::NotFound(format!(
            "panel {n} of {id} is offered as CSV{}",
            if panel.chart == Chart::Table {
                " and XLSX"
            } else {
                ""
            }
        ))),
    }
}
