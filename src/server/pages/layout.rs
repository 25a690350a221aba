//! The layout every page shares: head, header with navigation and
//! sign-out, language switch, the filter form; the style sheet and icon
//! (`assets/`).

use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::dashboard::{Dashboard, FilterName};
use crate::i18n::Lang;
use crate::kpi::Dimension;
use crate::model::Week;

use crate::server::params::Params;
use crate::server::state::AppState;

use super::{keep_query, title};

/// The style sheet of every page.
const STYLE: &str = include_str!("../../../assets/style.css");

const FAVICON: &str = include_str!("../../../assets/favicon.svg");

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

pub(super) fn layout(
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
    let caller = crate::server::auth::current().ok();
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
                        a href=(format!("/alerts?lang={}", lang.code()))
                          aria-current=[(path == "/alerts").then_some("page")] { (lang.t("alerts")) }
                        @if caller.as_ref().is_some_and(|c| c.is_admin()) {
                            a href=(format!("/audit?lang={}", lang.code()))
                              aria-current=[(path == "/audit").then_some("page")] { (lang.t("audit_log")) }
                        }
                    }
                    @if let Some(c) = &caller {
                        form.signout method="post" action="/logout" {
                            input type="hidden" name="form_token" value=(crate::server::auth::form_token());
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

pub(super) fn filter_form(
    state: &AppState,
    d: &Dashboard,
    params: &Params,
    lang: Lang,
    from: Week,
    to: Week,
) -> Markup {
    // Only the values of the caller's scope are offered; none without one.
    let scope = crate::server::auth::current().ok().map(|c| c.scope);
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
                        option value=(v) selected[chosen == Some(v.as_str())] { (state.labels.value(dim.name(), v, lang)) }
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
