//! The dashboards as HTML pages: filters in the URL (a plain GET form, so
//! links can be shared and back/forward works), charts drawn on the server
//! as inline SVG, and each panel's data as CSV (tables also as XLSX). No
//! JavaScript.

mod layout;
mod panels;

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use crate::dashboard::{Chart, Dashboard, FilterName};
use crate::i18n::Lang;
use crate::model::Week;

use super::error::ApiError;
use super::params::Params;
use super::state::AppState;

pub use layout::{favicon, head, page};
pub use panels::download;

use layout::{filter_form, layout};
use panels::{panel_table, render_panel};

/// `/`: the first dashboard, keeping the query.
pub async fn index(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Response {
    let first = state.dashboards.first().map_or("", |d| d.id.as_str());
    let query = raw.map(|q| format!("?{q}")).unwrap_or_default();
    Redirect::to(&format!("/dashboards/{first}{query}")).into_response()
}

pub(super) fn find<'a>(state: &'a AppState, id: &str) -> Result<&'a Dashboard, ApiError> {
    state
        .dashboards
        .iter()
        .find(|d| d.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("no dashboard named '{id}'")))
}

pub(super) fn allowed(d: &Dashboard) -> Vec<&'static str> {
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

/// The language of a page: `?lang=` (the language switch), else the
/// signed-in user's language, else the browser's `Accept-Language`, else
/// English.
pub fn lang_of(state: &AppState, params: &Params, headers: &HeaderMap) -> Result<Lang, ApiError> {
    if let Some(l) = params.get("lang") {
        return Lang::read(l).map_err(|e| ApiError::parameter("lang", e));
    }
    Ok(user_lang(state).unwrap_or_else(|| {
        Lang::negotiate(headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
    }))
}

/// The language of the signed-in user of this request, if they chose one.
fn user_lang(state: &AppState) -> Option<Lang> {
    let caller = super::auth::current().ok()?;
    let name = caller.who.strip_prefix("user:")?;
    state.users.get(name)?.language
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
        .or_else(|| user_lang(&state))
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
    let lang = lang_of(state, &params, headers)?;
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
            @let active = super::auth::current().map_or(0, |c| state.active_alerts(&c));
            @if active > 0 {
                p.alerts #active-alerts {
                    a href=(format!("/alerts?lang={}", lang.code())) {
                        (active) " " (lang.t("alerts_active_count"))
                    }
                }
            }
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
                        a href=(format!("/reports/{}.pdf{}", r.name, report_query(&params, to, lang))) download { (r.titles.get(lang)) }
                    }
                }
            }
            @if let Some(c) = &caller {
                (super::subscriptions::section(state, c, lang, &format!("/dashboards/{}{query}", d.id)))
            }
        },
    ))
}

/// The query of a dashboard's report links: its last week, filters and
/// the reader's language.
fn report_query(params: &Params, to: Week, lang: Lang) -> String {
    let mut s = form_urlencoded::Serializer::new(String::from("?"));
    s.append_pair("week", &to.to_string());
    s.append_pair("lang", lang.code());
    for name in ["region", "department", "wave"] {
        if let Some(v) = params.get(name).filter(|v| !v.is_empty()) {
            s.append_pair(name, v);
        }
    }
    s.finish().replacen("?&", "?", 1)
}

pub(super) fn text(t: &crate::dashboard::Text, lang: Lang) -> &str {
    t.get(lang)
}

pub(super) fn title(d: &Dashboard, lang: Lang) -> &str {
    text(&d.title, lang)
}

/// The query string without `lang` (when switching language) or with the
/// given language.
pub(super) fn keep_query(raw: Option<&str>, lang: Option<Lang>) -> String {
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
