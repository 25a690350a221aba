//! Subscriptions from the pages: the form on `/reports` and every
//! dashboard, subscribing and unsubscribing, and the unsubscribe links of
//! mails (signed, no sign-in needed).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use crate::auth::Caller;
use crate::auth::audit::Entry;
use crate::i18n::Lang;
use crate::schedule::subscriptions::{self, CHOICES, Refused, Subscription, Unsubscribe};

use super::error::ApiError;
use super::state::AppState;

/// The user a caller signed in as on the pages (`user:NAME`); API tokens
/// have no mailbox.
fn user_of(caller: &Caller) -> Option<&str> {
    caller.who.strip_prefix("user:")
}

fn schedule_label(lang: Lang, name: &str) -> &'static str {
    match name {
        "weekly" | "daily" | "biweekly" | "monthly" => lang.t(&format!("schedule_{name}")),
        _ => lang.t("schedule_cron"),
    }
}

/// The subscribe form and the caller's subscriptions (an admin's: all),
/// for `/reports` and the dashboards. `back` is the page to return to.
pub fn section(state: &AppState, caller: &Caller, lang: Lang, back: &str) -> Markup {
    let Some(me) = user_of(caller) else {
        return html! {};
    };
    let mine: Vec<Subscription> = subscriptions::list(&state.data_dir)
        .into_iter()
        .filter(|s| caller.is_admin() || s.user == me)
        .collect();
    let reports: Vec<&crate::report::Report> = state
        .reports
        .iter()
        .filter(|r| super::reports::visible(state, caller, r))
        .collect();
    let has_email = state.users.get(me).and_then(|u| u.email).is_some();
    let title_of = |name: &str| {
        state
            .reports
            .iter()
            .find(|r| r.name == name)
            .map_or_else(|| name.to_string(), |r| r.titles.get(lang).to_string())
    };
    html! {
        section #subscriptions {
            h2 { (lang.t("subscriptions")) }
            @if !mine.is_empty() {
                table #my-subscriptions {
                    thead { tr {
                        th { (lang.t("report")) }
                        @if caller.is_admin() { th { (lang.t("subscription_for")) } }
                        th { (lang.t("language")) }
                        th { (lang.t("schedule")) }
                        th {}
                    } }
                    tbody {
                        @for s in &mine {
                            tr data-subscription=(s.id) {
                                td { (title_of(&s.report)) }
                                @if caller.is_admin() { td { (s.user) } }
                                td { (s.language) }
                                td { code { (s.cron) } " (" (state.settings.timezone) ")" }
                                td {
                                    form method="post" action=(format!("/subscriptions/{}/delete", s.id)) {
                                        input type="hidden" name="form_token" value=(super::auth::form_token());
                                        input type="hidden" name="back" value=(back);
                                        button type="submit" .unsubscribe { (lang.t("unsubscribe")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if !has_email && !caller.is_admin() {
                p.note { (lang.t("subscription_needs_email")) }
            } @else if !reports.is_empty() {
                form #subscribe method="post" action="/subscriptions" {
                    input type="hidden" name="form_token" value=(super::auth::form_token());
                    input type="hidden" name="back" value=(back);
                    label { (lang.t("report")) " "
                        select name="report" {
                            @for r in &reports { option value=(r.name) { (r.titles.get(lang)) } }
                        }
                    }
                    " "
                    label { (lang.t("language")) " "
                        select name="language" {
                            @for l in Lang::ALL { option value=(l.code()) selected[l == lang] { (l.native_name()) } }
                        }
                    }
                    " "
                    label { (lang.t("schedule")) " "
                        select name="schedule" {
                            @for (name, _) in CHOICES { option value=(name) { (schedule_label(lang, name)) } }
                            option value="cron" { (schedule_label(lang, "cron")) }
                        }
                    }
                    " "
                    input type="text" name="cron" placeholder="0 7 * * MON" size="14";
                    @if caller.is_admin() {
                        " "
                        label { (lang.t("subscription_for_user_or_list")) " "
                            input type="text" name="user" placeholder=(me) size="12";
                        }
                    }
                    " "
                    button type="submit" { (lang.t("subscribe")) }
                }
                p.note { (lang.tr("subscription_note", &[("zone", (&state.settings.timezone).into())])) }
            }
        }
    }
}

/// A local page to return to, else `/reports`.
fn back_to(form: &HashMap<String, String>) -> String {
    form.get("back")
        .filter(|b| {
            b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') && b.len() <= 512
        })
        .cloned()
        .unwrap_or_else(|| "/reports".into())
}

fn bad(field: &str, message: impl Into<String>) -> Response {
    ApiError::parameter(field, message).into_response()
}

/// `POST /subscriptions`: subscribes the caller (an admin: any user or
/// mailing list) to a report.
pub async fn subscribe(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    request: Request,
) -> Response {
    let form = match super::auth::session_form(&state, request).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(me) = user_of(&caller) else {
        return ApiError::Forbidden(
            "subscriptions are made by users signed in on the pages".into(),
        )
        .into_response();
    };
    let field = |k: &str| form.get(k).map(|v| v.trim()).unwrap_or("");
    let user = match field("user") {
        "" => me.to_string(),
        other if caller.is_admin() => other.to_string(),
        _ => {
            return ApiError::Forbidden("only admins subscribe other users".into()).into_response();
        }
    };
    let Some(record) = state.users.get(&user) else {
        return bad("user", format!("no user named '{user}'"));
    };
    if record.email.is_none() {
        return bad(
            "user",
            format!("{user} has no e-mail address (uptake user add {user} --email ... )"),
        );
    }
    let subscriber = Caller {
        who: format!("user:{user}"),
        role: record.role,
        scope: record.scope.clone(),
    };
    let report = field("report");
    let Some(found) = state
        .reports
        .iter()
        .find(|r| r.name == report && super::reports::visible(&state, &caller, r))
    else {
        return bad("report", format!("no report named '{report}'"));
    };
    if !super::reports::visible(&state, &subscriber, found) {
        return ApiError::Forbidden(format!("{user} may not see the report '{report}'"))
            .into_response();
    }
    let language = match Lang::read(field("language")) {
        Ok(language) => language,
        Err(e) => return bad("language", e),
    };
    let cron = match field("schedule") {
        "cron" => field("cron").to_string(),
        name => match CHOICES.iter().find(|(n, _)| *n == name) {
            Some((_, cron)) => cron.to_string(),
            None => return bad("schedule", format!("'{name}' is none of the choices")),
        },
    };
    let tz = match state.settings.tz() {
        Ok(tz) => tz,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    if let Err(e) = subscriptions::check_cron(&cron, tz) {
        return bad("cron", e.to_string());
    }
    let added = subscriptions::add(
        &state.data_dir,
        Subscription {
            id: String::new(),
            report: report.to_string(),
            user: user.clone(),
            language: language.code().to_string(),
            cron,
            created_by: caller.who.clone(),
            created: chrono::Utc::now().to_rfc3339(),
        },
    );
    match added {
        Ok(id) => {
            let mut entry = Entry::new(caller.who.clone(), "subscribed");
            entry.target = format!("user:{user}");
            entry.detail = format!("report {report} subscription {id}");
            state.audit.record(&entry);
            Redirect::to(&format!("{}#subscriptions", back_to(&form))).into_response()
        }
        Err(Refused::Invalid(m)) => bad("cron", m),
        Err(Refused::Full(m)) => ApiError::too_many(m, 3600).into_response(),
    }
}

/// `POST /subscriptions/{id}/delete`: the subscriber or an admin ends a
/// subscription.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let form = match super::auth::session_form(&state, request).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mine = subscriptions::get(&state.data_dir, &id)
        .filter(|s| caller.is_admin() || user_of(&caller) == Some(s.user.as_str()));
    let Some(s) = mine else {
        return ApiError::NotFound(format!("no subscription '{id}' of yours")).into_response();
    };
    if let Err(e) = subscriptions::remove(&state.data_dir, &s.id) {
        return ApiError::internal(e).into_response();
    }
    let mut entry = Entry::new(caller.who.clone(), "unsubscribed");
    entry.target = format!("user:{}", s.user);
    entry.detail = format!("report {} subscription {}", s.report, s.id);
    state.audit.record(&entry);
    Redirect::to(&format!("{}#subscriptions", back_to(&form))).into_response()
}

/// What an unsubscribe token stops, if it is one.
fn unsubscribe_of(state: &AppState, token: &str) -> Result<Unsubscribe, ApiError> {
    let links = crate::auth::links::Links::open(&state.data_dir)
        .map_err(|e| ApiError::internal(format!("the link key: {e}")))?;
    links
        .check(token, chrono::Utc::now())
        .ok()
        .and_then(|g| Unsubscribe::parse(&g))
        .ok_or_else(|| ApiError::NotFound("no such unsubscribe link".into()))
}

fn describe(state: &AppState, what: &Unsubscribe, lang: Lang) -> Option<String> {
    match what {
        Unsubscribe::Subscription(id) => {
            let s = subscriptions::get(&state.data_dir, id)?;
            let title = state
                .reports
                .iter()
                .find(|r| r.name == s.report)
                .map_or(s.report.clone(), |r| r.titles.get(lang).to_string());
            Some(lang.tr(
                "unsubscribe_report",
                &[("title", (&title).into()), ("schedule", (&s.cron).into())],
            ))
        }
        Unsubscribe::OptOut { what, address } => Some(lang.tr(
            "unsubscribe_mails",
            &[("what", what.into()), ("address", address.into())],
        )),
    }
}

/// The language of an unsubscribe page: the mail's (`?lang=` of its
/// link), else the browser's. The page is open to anyone holding the
/// link, so an unknown `lang` is passed over rather than refused.
fn link_lang(query: Option<&str>, headers: &HeaderMap) -> Lang {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "lang")
        .and_then(|(_, v)| Lang::parse(&v))
        .unwrap_or_else(|| {
            Lang::negotiate(
                headers
                    .get(axum::http::header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            )
        })
}

/// `GET /unsubscribe/{token}`: what the link stops, and a button that
/// does (a link opened by a mail scanner changes nothing).
pub async fn confirm(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Markup, ApiError> {
    let lang = link_lang(query.as_deref(), &headers);
    let what = unsubscribe_of(&state, &token)?;
    let body = match describe(&state, &what, lang) {
        None => {
            html! { h1 { (lang.t("unsubscribed")) } p #done { (lang.t("subscription_gone")) } }
        }
        Some(text) => html! {
            h1 { (lang.t("unsubscribe")) }
            p { (lang.tr("unsubscribe_question", &[("what", (&text).into())])) }
            form method="post" action=(format!("/unsubscribe/{token}?lang={}", lang.code())) {
                button type="submit" #confirm { (lang.t("unsubscribe")) }
            }
        },
    };
    Ok(super::pages::page(
        &state,
        lang,
        "/unsubscribe",
        None,
        lang.t("unsubscribe"),
        body,
    ))
}

/// `POST /unsubscribe/{token}`: stops what the link names (also as the
/// one-click unsubscribe of RFC 8058).
pub async fn unsubscribe(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    request: Request,
) -> Response {
    let lang = link_lang(request.uri().query(), request.headers());
    // The body (a button, or List-Unsubscribe=One-Click) says nothing;
    // reading it keeps its size and time bounded.
    if let Err(refused) = super::auth::open_form(&state, request).await {
        return refused;
    }
    match unsubscribe_now(&state, &token, lang) {
        Ok(page) => page.into_response(),
        Err(e) => e.into_response(),
    }
}

fn unsubscribe_now(state: &AppState, token: &str, lang: Lang) -> Result<Markup, ApiError> {
    let what = unsubscribe_of(state, token)?;
    let mut entry = Entry::new("unsubscribe-link", "unsubscribed");
    match &what {
        Unsubscribe::Subscription(id) => {
            if let Some(s) = subscriptions::get(&state.data_dir, id) {
                subscriptions::remove(&state.data_dir, id).map_err(ApiError::internal)?;
                entry.target = format!("user:{}", s.user);
                entry.detail = format!("report {} subscription {id}", s.report);
            }
        }
        Unsubscribe::OptOut { what, address } => {
            subscriptions::opt_out(&state.data_dir, what, address)
                .map_err(|m| ApiError::too_many(m, 3600))?;
            entry.target = address.clone();
            entry.detail = format!("opted out of {what}");
        }
    }
    state.audit.record(&entry);
    let body = html! {
        h1 { (lang.t("unsubscribed")) }
        p #done { (lang.t("unsubscribed_done")) }
    };
    Ok(super::pages::page(
        state,
        lang,
        "/unsubscribe",
        None,
        lang.t("unsubscribed"),
        body,
    ))
}
