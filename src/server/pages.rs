//! The dashboards as HTML pages: filters in the URL (a plain GET form, so
//! links can be shared and back/forward works), charts drawn on the server
//! as inline SVG, and each panel's data as CSV (tables also as XLSX). No
//! JavaScript.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::header::{ACCEPT_LANGUAGE, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::chart::{
    self,
    panel::{panel_svg, target_of, to_f64},
};
use crate::dashboard::{Chart, Dashboard, FilterName, Panel, View};
use crate::kpi::{self, Cell, Dimension, Request, Table};
use crate::model::Week;

use super::error::ApiError;
use super::params::Params;
use super::state::AppState;
use crate::i18n::Lang;

const SPARK_SIZE: (u32, u32) = (160, 36);

/// `/`: the first dashboard, keeping the query.
pub async fn index(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Response {
    let first = state.dashboards.first().map_or("", |d| d.id.as_str());
    let query = raw.map(|q| format!("?{q}")).unwrap_or_default();
    Redirect::to(&format!("/dashboards/{first}{query}")).into_response()
}

fn find<'a>(state: &'a AppState, id: &str) -> Result<&'a Dashboard, ApiError> {
    state
        .dashboards
        .iter()
        .find(|d| d.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no dashboard named '{id}'")))
}

fn allowed(d: &Dashboard) -> Vec<&'static str> {
    let mut names = vec!["lang"];
    for f in &d.filters {
        match f {
            FilterName::Region => names.push("region"),
            FilterName::Department => names.push("department"),
            FilterName::Wave => names.push("wave"),
            FilterName::Weeks => names.extend(["from", "to"]),
        }
    }
    names
}

pub fn lang_of(params: &Params, headers: &HeaderMap) -> Result<Lang, ApiError> {
    match params.get("lang") {
        Some(l) => Lang::parse(l).ok_or_else(|| ApiError::parameter("lang", "use en or de")),
        None => Ok(Lang::negotiate(
            headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
        )),
    }
}

/// A panel's segments over the page's filters and weeks.
fn panel_request(
    state: &AppState,
    dashboard: &Dashboard,
    panel: &Panel,
    params: &Params,
) -> Result<Request, ApiError> {
    let (from, to) = params.range(state, Some(dashboard.default_weeks))?;
    let caller = super::auth::current()?;
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
async fn panel_table(
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
            kpi::curve_table(&request.dims, &state.adoption_curve(&request).await?)
        }
    })
}

/// `/dashboards/{id}`.
pub async fn dashboard(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    // The language of an error page, whatever else the query holds.
    let lang = form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(&v))
        .unwrap_or_else(|| {
            Lang::negotiate(headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
        });
    match render_dashboard(&state, &id, raw.as_deref(), &headers).await {
        Ok(page) => page.into_response(),
        Err(e) => {
            if let ApiError::Internal(cause) = &e {
                tracing::error!(%cause, "page failed");
            }
            let message = e.body()["message"].as_str().unwrap_or("").to_string();
            let page = layout(
                &state,
                lang,
                None,
                raw.as_deref(),
                lang.t("error"),
                html! {
                    div.error role="alert" {
                        h1 { (lang.t("error")) }
                        p { (message) }
                        p { a href="/" { "uptake" } }
                    }
                },
            );
            (e.status(), page).into_response()
        }
    }
}

async fn render_dashboard(
    state: &AppState,
    id: &str,
    raw: Option<&str>,
    headers: &HeaderMap,
) -> Result<Markup, ApiError> {
    let d = find(state, id)?;
    let params = Params::parse(raw, &allowed(d))?;
    let lang = lang_of(&params, headers)?;
    let Some(_) = state.stored_weeks().or(params.week("to")?.map(|w| (w, w))) else {
        return Ok(layout(
            state,
            lang,
            Some(d),
            raw,
            title(d, lang),
            html! { p.note { (lang.t("no_events")) } },
        ));
    };
    let (from, to) = params.range(state, Some(d.default_weeks))?;
    let mut panels = Vec::new();
    for (i, panel) in d.panels.iter().enumerate() {
        let table = panel_table(state, d, panel, &params).await?;
        let body = render_panel(state, d, panel, &params, &table, lang, to).await?;
        panels.push((i + 1, panel, body, table.rows.len()));
    }
    let query = keep_query(raw, None);
    Ok(layout(
        state,
        lang,
        Some(d),
        raw,
        title(d, lang),
        html! {
            h1 { (title(d, lang)) }
            p.description { (text(&d.description, lang)) }
            (filter_form(state, d, &params, lang, from, to))
            p.range { (lang.t("weeks")) ": " span #range-from { (from) } " – " span #range-to { (to) } }
            @for (n, panel, body, rows) in panels {
                section.panel id=(format!("panel-{n}")) data-query=(panel.query.query()) data-rows=(rows) {
                    h2 { (text(&panel.title, lang)) }
                    (body)
                    p.downloads {
                        a href=(format!("/dashboards/{}/panels/{n}.csv{query}", d.id)) download { "CSV" }
                        @if panel.chart == Chart::Table {
                            " · "
                            a href=(format!("/dashboards/{}/panels/{n}.xlsx{query}", d.id)) download { "XLSX" }
                        }
                    }
                }
            }
            p.note { (lang.t("suppressed_note")) " (k = " (state.settings.privacy.min_group_size) ")" }
            @let caller = super::auth::current().ok();
            @let reports: Vec<_> = state
                .reports
                .iter()
                .filter(|r| caller.as_ref().is_some_and(|c| super::reports::visible(state, c, r)))
                .collect();
            @if !reports.is_empty() {
                p.reports #pdf-reports {
                    (lang.t("pdf_reports")) ": "
                    @for (i, r) in reports.iter().enumerate() {
                        @if i > 0 { " · " }
                        a href=(format!("/reports/{}.pdf{}", r.name, report_query(&params, to))) download { (r.title) }
                    }
                }
            }
        },
    ))
}

/// The query of a dashboard's report links: its last week and filters.
fn report_query(params: &Params, to: Week) -> String {
    let mut s = form_urlencoded::Serializer::new(String::from("?"));
    s.append_pair("week", &to.to_string());
    for name in ["region", "department", "wave"] {
        if let Some(v) = params.get(name).filter(|v| !v.is_empty()) {
            s.append_pair(name, v);
        }
    }
    s.finish().replacen("?&", "?", 1)
}

fn text(t: &crate::dashboard::Text, lang: Lang) -> &str {
    match lang {
        Lang::En => &t.en,
        Lang::De => &t.de,
    }
}

fn title(d: &Dashboard, lang: Lang) -> &str {
    text(&d.title, lang)
}

/// The query string without `lang` (when switching language) or with the
/// given language.
fn keep_query(raw: Option<&str>, lang: Option<Lang>) -> String {
    // A query longer than any the pages make (an error page's) is not
    // repeated in every link.
    let raw = raw.filter(|r| r.len() <= 2 * super::params::MAX_VALUE);
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .filter(|(k, v)| !v.is_empty() && (lang.is_none() || k != "lang"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if let Some(l) = lang {
        pairs.push(("lang".into(), l.code().into()));
    }
    if pairs.is_empty() {
        return String::new();
    }
    let mut s = form_urlencoded::Serializer::new(String::from("?"));
    for (k, v) in &pairs {
        s.append_pair(k, v);
    }
    s.finish().replacen("?&", "?", 1)
}

const STYLE: &str = r#"
:root { --ink: #1a1a1a; --muted: #555; --line: #ddd; --accent: #0072B2; --warn: #D55E00; --ok: #009E73; }
* { box-sizing: border-box; }
body { font-family: system-ui, sans-serif; color: var(--ink); margin: 0; font-size: 17px; line-height: 1.45; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; font-size: 1.2rem; margin-right: 1rem; }
header nav a { margin-right: 1rem; color: var(--accent); text-decoration: none; }
header nav a[aria-current=page] { font-weight: 700; text-decoration: underline; }
header .signout { margin-left: auto; }
header .lang { margin-left: auto; }
header .signout + .lang { margin-left: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem 1.2rem 3rem; }
form.filters { display: flex; flex-wrap: wrap; gap: .8rem; align-items: end; padding: .8rem; background: #f5f5f5; border-radius: 6px; }
form.filters label { display: flex; flex-direction: column; font-size: .9rem; color: var(--muted); }
form.filters select, form.filters input { font-size: 1rem; padding: .25rem; min-width: 8rem; }
form.filters button { font-size: 1rem; padding: .35rem 1rem; }
section.panel { margin-top: 2rem; }
section.panel svg.chart { width: 100%; height: auto; max-width: 100%; }
.tiles { display: flex; flex-wrap: wrap; gap: 1rem; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1.2rem; min-width: 18rem; flex: 1; }
.tile .value { font-size: 2.6rem; font-weight: 700; }
.tile.passed .status { color: var(--ok); font-weight: 600; }
.tile.missed .status { color: var(--warn); font-weight: 600; }
.tile .meta { color: var(--muted); }
table { border-collapse: collapse; width: 100%; font-size: .95rem; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: middle; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.suppressed { color: var(--muted); font-style: italic; }
.note, .description, .range { color: var(--muted); }
.downloads a { color: var(--accent); }
.error { border-left: 4px solid var(--warn); padding-left: 1rem; }
tr.status-failed td.status, tr.status-retrying td.status { color: var(--warn); font-weight: 700; }
tr.status-delivered td.status { color: var(--ok); }
"#;

const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0072B2"/><path d="M3 12 L7 7 L10 9 L13 4" stroke="#fff" stroke-width="2" fill="none"/></svg>"##;

pub async fn favicon() -> Response {
    ([(CONTENT_TYPE, "image/svg+xml")], FAVICON).into_response()
}

/// A page of its own at `path` (not a dashboard) in the common layout.
pub fn page(
    state: &AppState,
    lang: Lang,
    path: &str,
    raw: Option<&str>,
    title: &str,
    body: Markup,
) -> Markup {
    page_at(state, lang, None, path, raw, title, body)
}

fn layout(
    state: &AppState,
    lang: Lang,
    current: Option<&Dashboard>,
    raw: Option<&str>,
    page_title: &str,
    body: Markup,
) -> Markup {
    let path = current.map_or("/".to_string(), |d| format!("/dashboards/{}", d.id));
    page_at(state, lang, current, &path, raw, page_title, body)
}

/// The `<head>` of every page: title, icon and style sheet.
pub fn head(page_title: &str, style: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (page_title) " · uptake" }
            link rel="icon" href="/favicon.svg" type="image/svg+xml";
            style { (PreEscaped(style)) }
        }
    }
}

fn page_at(
    state: &AppState,
    lang: Lang,
    current: Option<&Dashboard>,
    path: &str,
    raw: Option<&str>,
    page_title: &str,
    body: Markup,
) -> Markup {
    let query = keep_query(raw, None);
    let caller = super::auth::current().ok();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            (head(page_title, STYLE))
            body {
                header {
                    span.brand { "uptake" }
                    nav {
                        @for d in &state.dashboards {
                            @let current_page = current.is_some_and(|c| c.id == d.id);
                            a href=(format!("/dashboards/{}{query}", d.id))
                              aria-current=[current_page.then_some("page")] { (title(d, lang)) }
                        }
                        a href=(format!("/reports?lang={}", lang.code()))
                          aria-current=[(path == "/reports").then_some("page")] { (lang.t("reports")) }
                        @if caller.as_ref().is_some_and(|c| c.is_admin()) {
                            a href=(format!("/audit?lang={}", lang.code()))
                              aria-current=[(path == "/audit").then_some("page")] { (lang.t("audit_log")) }
                        }
                    }
                    @if let Some(c) = &caller {
                        form.signout method="post" action="/logout" {
                            input type="hidden" name="form_token" value=(super::auth::form_token());
                            span.who title=(c.scope.describe()) { (c.who.trim_start_matches("user:").trim_start_matches("token:")) }
                            " "
                            button type="submit" { (lang.t("sign_out")) }
                        }
                    }
                    span.lang {
                        (lang.t("language")) ": "
                        @for l in Lang::ALL {
                            @if l == lang {
                                strong { (l.code().to_uppercase()) }
                            } @else {
                                a href=(format!("{path}{}", keep_query(raw, Some(l))))
                                  hreflang=(l.code()) lang=(l.code()) { (l.code().to_uppercase()) }
                            }
                            " "
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

fn filter_form(
    state: &AppState,
    d: &Dashboard,
    params: &Params,
    lang: Lang,
    from: Week,
    to: Week,
) -> Markup {
    // Only the values of the caller's scope are offered; none without one.
    let scope = super::auth::current().ok().map(|c| c.scope);
    let select = |dim: Dimension| {
        let chosen = params.get(dim.name());
        let values = scope
            .as_ref()
            .map(|s| state.segments.values_in(dim, s))
            .unwrap_or_default();
        html! {
            label {
                (lang.t(dim.name()))
                select name=(dim.name()) {
                    option value="" selected[chosen.is_none()] { "(" (lang.t("all")) ")" }
                    @for v in &values {
                        option value=(v) selected[chosen == Some(v.as_str())] { (v) }
                    }
                }
            }
        }
    };
    html! {
        form.filters method="get" action=(format!("/dashboards/{}", d.id)) aria-label=(lang.t("filters")) {
            @for f in &d.filters {
                @match f {
                    FilterName::Region => (select(Dimension::Region)),
                    FilterName::Department => (select(Dimension::Department)),
                    FilterName::Wave => (select(Dimension::Wave)),
                    FilterName::Weeks => {
                        label { (lang.t("from")) input name="from" value=(from) pattern="[0-9]{4}-W[0-9]{2}" size="9"; }
                        label { (lang.t("to")) input name="to" value=(to) pattern="[0-9]{4}-W[0-9]{2}" size="9"; }
                    }
                }
            }
            @if params.get("lang").is_some() {
                input type="hidden" name="lang" value=(lang.code());
            }
            button type="submit" { (lang.t("apply")) }
            a href=(format!("/dashboards/{}{}", d.id, if params.get("lang").is_some() { format!("?lang={}", lang.code()) } else { String::new() })) { (lang.t("reset")) }
        }
    }
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

async fn render_panel(
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
            let drawn =
                panel_svg(panel, table, &state.settings, lang).unwrap_or_else(|| Ok(String::new()));
            let body = svg(drawn, label)?;
            Ok(if panel.chart == Chart::Line {
                body
            } else {
                html! { (body) p.note { (lang.t("in_week")) " " (to) } }
            })
        }
        Chart::Table => table_panel(state, d, panel, params, table, lang).await,
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
                    lang.decimal(&format!("{:.1}", pts.abs())),
                    if lang == Lang::De { "Pp." } else { "pts" }
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
                        @if suppressed && matches!(cell, Cell::Empty) { (lang.t("suppressed")) } @else { (lang.cell(cell)) }
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
