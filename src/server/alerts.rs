//! Alerts over HTTP: the defined alerts and their notices as JSON and as
//! a page, and the signed links that messages carry.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde_json::json;

use crate::auth::{Caller, Role};
use crate::schedule::{Log, NoticeKind, NoticeState};

use super::api::json;
use super::error::ApiError;
use super::params::Params;
use super::state::AppState;

/// Most notices one answer lists.
pub const MAX_NOTICES: usize = 1000;

fn log(state: &AppState) -> Result<Log, ApiError> {
    Ok(Log::read_path(
        crate::alert::alert_log_path(&state.data_dir),
        &state.settings,
    )?)
}

/// Whether a caller sees a notice: it was computed for the caller's scope
/// (each scope's figures are protected on their own; another scope's
/// could be combined with the caller's). Admins see every audience.
fn sees(caller: &Caller, n: &NoticeState) -> bool {
    caller.is_admin() || n.audience == caller.scope.describe()
}

/// The notices a caller sees: the fired notices of episodes still on, and
/// the others newest first, at most `limit`, optionally of one alert.
fn notices<'a>(
    log: &'a Log,
    caller: &Caller,
    alert: Option<&str>,
    limit: usize,
) -> (Vec<&'a NoticeState>, Vec<&'a NoticeState>) {
    let on = log.active_notices();
    let mine = || {
        log.notices
            .iter()
            .rev()
            .filter(|n| sees(caller, n) && alert.is_none_or(|a| n.alert == a))
    };
    let active = mine()
        .filter(|n| on.contains(&n.notice))
        .take(limit)
        .collect();
    let past = mine()
        .filter(|n| !on.contains(&n.notice))
        .take(limit)
        .collect();
    (active, past)
}

fn notice_json(n: &NoticeState, log: &Log, sees_delivery: bool) -> serde_json::Value {
    let dispatch = n
        .dispatch
        .as_ref()
        .and_then(|d| log.dispatches.iter().rev().find(|x| &x.dispatch == d));
    json!({
        "notice": n.notice,
        "alert": n.alert,
        "state": n.state,
        "episode": n.episode,
        "dims": n.dims,
        "segment": n.segment,
        "week": n.week,
        "at": n.at.to_rfc3339(),
        "message": n.message,
        "audience": n.audience,
        "delivery": if sees_delivery { dispatch.map(|d| json!({"dispatch": d.dispatch, "status": d.status, "targets": d.targets})) } else { None },
    })
}

/// `/api/v1/alerts?alert=&limit=`: the defined alerts, the active
/// episodes and past notices the caller may see.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &["alert", "limit"])?;
    let alert = params.get("alert");
    if let Some(a) = alert
        && !state.alerts.iter().any(|x| x.name == a)
    {
        return Err(ApiError::parameter(
            "alert",
            format!("no alert named '{a}'"),
        ));
    }
    let limit = match params.get("limit") {
        None => 100,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=MAX_NOTICES).contains(l))
            .ok_or_else(|| {
                ApiError::parameter("limit", format!("'{l}': give 1 to {MAX_NOTICES}"))
            })?,
    };
    // Targets name recipients of every scope: not for viewers.
    let sees_delivery = caller.role != Role::Viewer;
    let log = log(&state)?;
    let (active, past) = notices(&log, &caller, alert, limit);
    let definitions: Vec<serde_json::Value> = state
        .alerts
        .iter()
        .filter(|a| alert.is_none_or(|x| a.name == x))
        .filter(|a| caller.scope.outside(&a.filter).is_none())
        .map(|a| {
            json!({
                "name": a.name,
                "title": a.title,
                "language": a.lang.code(),
                "condition": a.condition.name(),
                "by": a.by.iter().map(|d| d.name()).collect::<Vec<_>>(),
                "filter": {"region": a.filter.region, "department": a.filter.department, "wave": a.filter.wave},
                "schedule": a.cron,
                "timezone": state.settings.timezone,
                "deliver": if sees_delivery { json!(a.deliver.iter().map(|t| t.name()).collect::<Vec<_>>()) } else { json!(null) },
            })
        })
        .collect();
    let body = json!({
        "alerts": definitions,
        "active": active.iter().map(|n| notice_json(n, &log, sees_delivery)).collect::<Vec<_>>(),
        "past": past.iter().map(|n| notice_json(n, &log, sees_delivery)).collect::<Vec<_>>(),
    });
    Ok(json(body.to_string()))
}

/// `/alerts`: the alerts, what is active now, and past notices.
pub async fn page(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Markup, ApiError> {
    let params = Params::parse(raw.as_deref(), &["lang", "alert"])?;
    let lang = super::pages::lang_of(&state, &params, &headers)?;
    let alert = params
        .get("alert")
        .filter(|a| state.alerts.iter().any(|x| x.name == *a));
    let log = log(&state)?;
    let (active, past) = notices(&log, &caller, alert, 200);
    let title_of = |name: &str| {
        state
            .alerts
            .iter()
            .find(|a| a.name == name)
            .map_or_else(|| name.to_string(), |a| a.title.clone())
    };
    let segment = |n: &NoticeState| lang.segment(&n.dims, &n.segment, &state.labels);
    let local = |t| super::reports::local(&state, t);
    let body = html! {
        h1 { (lang.t("alerts")) }
        h2 { (lang.t("alerts_active")) }
        @if active.is_empty() {
            p.note #no-active { (lang.t("alert_none_active")) }
        } @else {
            table #active {
                thead { tr {
                    th { (lang.t("alert")) }
                    th { (lang.t("alert_segment")) }
                    th { (lang.t("alert_message")) }
                    th { (lang.t("alert_since")) }
                } }
                tbody {
                    @for n in &active {
                        tr data-alert=(n.alert) data-notice=(n.notice) {
                            td { (title_of(&n.alert)) }
                            td { (segment(n)) }
                            td { (n.message) }
                            td { (n.week) br; span.note { (local(n.at)) } }
                        }
                    }
                }
            }
        }
        h2 { (lang.t("alerts_past")) }
        table #past {
            tbody {
                @for n in &past {
                    tr data-alert=(n.alert) data-notice=(n.notice) class=(match n.state { NoticeKind::Fired => "fired", NoticeKind::Resolved => "resolved" }) {
                        td { (title_of(&n.alert)) }
                        td { (segment(n)) }
                        td { (match n.state { NoticeKind::Fired => lang.t("alert_new"), NoticeKind::Resolved => lang.t("alert_resolved") }) }
                        td { (n.message) }
                        td { (n.week) br; span.note { (local(n.at)) } }
                    }
                }
            }
        }
        h2 { (lang.t("alerts_defined")) }
        table #definitions {
            thead { tr {
                th { (lang.t("alert")) }
                th { (lang.t("alert_condition")) }
                th { "by" }
                th { "cron" }
            } }
            tbody {
                @for a in state.alerts.iter().filter(|a| caller.scope.outside(&a.filter).is_none()) {
                    tr data-alert=(a.name) {
                        td { strong { (a.title) } br; span.note { (a.name) } }
                        td { code { (a.condition.name()) } }
                        td { (a.by.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")) }
                        td { code { (a.cron) } " (" (state.settings.timezone) ")" }
                    }
                }
            }
        }
    };
    Ok(super::pages::page(
        &state,
        lang,
        "/alerts",
        raw.as_deref(),
        lang.t("alerts"),
        body,
    ))
}

/// `/links/{token}`: what a signed link grants, without signing in: a
/// report run's PDF. A link that is malformed, forged or names no file is
/// 404; an expired one 410.
pub async fn link(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let links = crate::auth::links::Links::open(&state.data_dir)
        .map_err(|e| ApiError::internal(format!("the link key: {e}")))?;
    let grant = match links.check(&token, chrono::Utc::now()) {
        Ok(g) => g,
        Err(crate::auth::links::Refused::Expired(at)) => {
            return Err(ApiError::Gone(format!(
                "this link expired at {}; open the report on the reports page",
                at.to_rfc3339()
            )));
        }
        Err(e) => return Err(ApiError::NotFound(format!("no such link: {e}"))),
    };
    let file = grant
        .strip_prefix("pdf:")
        .filter(|f| {
            f.ends_with(".pdf")
                && !f.starts_with('.')
                && f.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
        .ok_or_else(|| ApiError::NotFound("no such link".into()))?;
    let path = crate::schedule::run::out_dir(&state.data_dir).join(file);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| ApiError::NotFound("the report of this link is no longer kept".into()))?;
    Ok((
        [
            (CONTENT_TYPE, "application/pdf".to_string()),
            (CONTENT_DISPOSITION, format!("inline; filename=\"{file}\"")),
        ],
        bytes,
    )
        .into_response())
}
