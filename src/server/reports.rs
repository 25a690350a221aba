//! Reports over HTTP: their definitions and run log as JSON, the run log
//! as a page, and PDF downloads.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{Markup, html};
use serde_json::json;

use crate::auth::{Caller, Role};
use crate::report::{self, Inputs};
use crate::schedule::{self, Log};

use super::api::json;
use super::error::ApiError;
use super::params::Params;
use super::state::AppState;

fn log(state: &AppState) -> Result<Log, ApiError> {
    Ok(Log::read(&state.data_dir, &state.settings)?)
}

fn next_run(state: &AppState, r: &report::Report) -> Option<chrono::DateTime<chrono_tz::Tz>> {
    let schedule = r.schedule.as_ref()?;
    let tz = schedule.tz(&state.settings).ok()?;
    let cron = crate::report::cron::parse(&schedule.cron).ok()?;
    cron.after(&Utc::now().with_timezone(&tz)).next()
}

/// A time for readers: in the organisation's time zone, to the second.
pub(super) fn local(state: &AppState, t: chrono::DateTime<Utc>) -> String {
    match state.settings.tz() {
        Ok(tz) => t
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        Err(_) => t.to_rfc3339(),
    }
}

/// Whether a caller may see a report: its filter lies within the caller's
/// scope (a region, department and wave the scope holds). Reports for
/// other regions are not listed to a viewer, nor rendered.
pub fn visible(state: &AppState, caller: &Caller, r: &report::Report) -> bool {
    caller.scope.outside(&r.filter).is_none()
        && r.filter.wave.as_ref().is_none_or(|w| {
            caller.scope.is_all()
                || state
                    .segments
                    .values_in(crate::kpi::Dimension::Wave, &caller.scope)
                    .contains(w)
        })
}

/// `/api/v1/reports`: every report, its schedule and targets.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Response {
    // Delivery targets name recipients of every scope: not for viewers.
    let sees_log = caller.role != Role::Viewer;
    if let Err(e) = Params::parse(raw.as_deref(), &[]) {
        return e.into_response();
    }
    let log = match log(&state) {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let reports: Vec<serde_json::Value> = state
        .reports
        .iter()
        .filter(|r| visible(&state, &caller, r))
        .map(|r| {
            let last = log
                .newest_first(Some(&r.name))
                .first()
                .map(|run| json!({"run": run.run, "week": run.week, "status": run.status}));
            json!({
                "name": r.name,
                "title": r.title,
                "audience": r.audience,
                "language": r.lang.code(),
                "by": r.by.iter().map(|d| d.name()).collect::<Vec<_>>(),
                "filter": {
                    "region": r.filter.region,
                    "department": r.filter.department,
                    "wave": r.filter.wave,
                },
                "sections": r.sections,
                "schedule": r.schedule.as_ref().map(|s| json!({
                    "cron": s.cron,
                    "catch_up": s.catch_up,
                    "timezone": s.timezone.clone().unwrap_or_else(|| state.settings.timezone.clone()),
                    "next_run": next_run(&state, r).map(|t| t.to_rfc3339()),
                })),
                "deliver": if sees_log { json!(r.deliver.iter().map(|t| t.name()).collect::<Vec<_>>()) } else { json!(null) },
                "last_run": if sees_log { last } else { None },
                "pdf": format!("/reports/{}.pdf", r.name),
            })
        })
        .collect();
    json(json!({ "reports": reports }).to_string())
}

/// `/api/v1/report-runs?report=NAME`: runs newest first, with each
/// target's delivery status and last error, and missed slots.
pub async fn runs(State(state): State<Arc<AppState>>, RawQuery(raw): RawQuery) -> Response {
    let result = (|| {
        let params = Params::parse(raw.as_deref(), &["report"])?;
        let name = params.get("report");
        if let Some(n) = name {
            report::find(&state.reports, n)
                .map_err(|e| ApiError::parameter("report", e.to_string()))?;
        }
        let log = log(&state)?;
        let runs = log.newest_first(name);
        let skipped: Vec<_> = log
            .skipped
            .iter()
            .filter(|s| name.is_none_or(|n| s.report == n))
            .collect();
        Ok::<_, ApiError>(json!({ "runs": runs, "skipped": skipped }).to_string())
    })();
    match result {
        Ok(body) => json(body),
        Err(e) => e.into_response(),
    }
}

/// `/reports/{name}.pdf?week=&since=&region=&department=&wave=&lang=`: a
/// report rendered now; the filters replace the report's own, `lang` its
/// language.
pub async fn pdf(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    Path(file): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let name = file
        .strip_suffix(".pdf")
        .ok_or_else(|| ApiError::NotFound(format!("no report file '{file}'")))?;
    let mut report = report::find(&state.reports, name)
        .ok()
        .filter(|r| visible(&state, &caller, r))
        .ok_or_else(|| ApiError::NotFound(format!("no report named '{name}'")))?
        .clone();
    let params = Params::parse(
        raw.as_deref(),
        &["week", "since", "region", "department", "wave", "lang"],
    )?;
    if let Some(code) = params.get("lang") {
        let lang = crate::i18n::Lang::read(code).map_err(|e| ApiError::parameter("lang", e))?;
        report = report.in_language(lang);
    }
    let filter = params.filter(&state, &caller.scope)?;
    if !filter.is_empty() {
        report.filter = filter;
    }
    if let Some((d, v)) = caller.scope.outside(&report.filter) {
        return Err(ApiError::Forbidden(format!(
            "this report covers {} '{v}', outside your scope ({})",
            d.name(),
            caller.scope.describe()
        )));
    }
    let now = state.settings.now();
    let week = params.week("week")?.unwrap_or_else(|| {
        state
            .stored_weeks()
            .map_or_else(|| state.settings.latest_week(None), |w| w.1)
    });
    let since = params.week("since")?.unwrap_or(week.offset(-1));
    let Some(_turn) = state.renders.enter().await else {
        return Err(ApiError::busy(
            "many reports are being rendered; try again in a few seconds",
            5,
        ));
    };
    let source = state.source();
    let inputs = Inputs {
        source: &source,
        settings: &state.settings,
        labels: &state.labels,
        week,
        since,
        generated: now,
        stored: state.stored_dates(),
        scope: caller.scope.clone(),
        alerts: schedule::active_alerts(
            &state.data_dir,
            &state.settings,
            &caller.scope,
            &report.filter,
        ),
    };
    let (pdf, _) = report::render(&report, &inputs).await?;
    Ok((
        [
            (CONTENT_TYPE, "application/pdf".to_string()),
            (
                CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}\"",
                    schedule::deliver::file_name(&report, &week.to_string())
                ),
            ),
        ],
        pdf.bytes,
    )
        .into_response())
}

/// `/reports`: the reports with download links, and the run log with
/// every failed delivery and missed run.
pub async fn page(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Markup, ApiError> {
    let sees_log = caller.role != Role::Viewer;
    let params = Params::parse(raw.as_deref(), &["lang"])?;
    let lang = super::pages::lang_of(&state, &params, &headers)?;
    let log = log(&state)?;
    let body = html! {
        h1 { (lang.t("reports")) }
        table #reports {
            thead { tr {
                th { (lang.t("report")) }
                th { (lang.t("language")) }
                th { (lang.t("schedule")) }
                th { (lang.t("next_run")) }
                th { (lang.t("delivered_to")) }
                th { "PDF" }
            } }
            tbody {
                @for r in state.reports.iter().filter(|r| visible(&state, &caller, r)) {
                    tr data-report=(r.name) {
                        td { strong { (r.titles.get(lang)) } br; span.note { (r.name) } }
                        td { (r.lang.code()) }
                        td { @if let Some(s) = &r.schedule { code { (s.cron) } " (" (s.timezone.as_deref().unwrap_or(&state.settings.timezone)) ")" } @else { "–" } }
                        td { (next_run(&state, r).map_or_else(|| "–".into(), |t| local(&state, t.with_timezone(&Utc)))) }
                        td { @if sees_log { @for d in &r.deliver { (d.name()) br; } } @else { "–" } }
                        td { a href=(format!("/reports/{}.pdf", r.name)) download { (lang.t("download")) } }
                    }
                }
            }
        }
        (super::subscriptions::section(&state, &caller, lang, &format!("/reports?lang={}", lang.code())))
        @if !sees_log {
        } @else if log.runs.is_empty() {
            h2 { (lang.t("runs")) }
            p.note { (lang.t("no_run_yet")) }
        } @else {
            h2 { (lang.t("runs")) }
            table #runs {
                thead { tr {
                    th { (lang.t("run")) }
                    th { (lang.t("week")) }
                    th { (lang.t("target")) }
                    th { (lang.t("status")) }
                    th { (lang.t("attempts")) }
                    th { (lang.t("last_error")) }
                    th { (lang.t("next_attempt")) }
                } }
                tbody {
                    @for r in log.newest_first(None).into_iter().take(200) {
                        @for target in &r.targets {
                            tr class=(format!("status-{}", target.status)) {
                                td { (r.run) @if r.catch_up { " " span.note { (lang.t("caught_up")) } } }
                                td { (r.week) }
                                td { (target.target) }
                                td.status { (target.status) }
                                td.num { (target.attempts) }
                                td { (target.last_error.clone().unwrap_or_default()) }
                                td { (target.next_attempt.map(|n| local(&state, n)).unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        }
        @if sees_log && !log.skipped.is_empty() {
            h2 { (lang.t("missed_runs")) }
            ul {
                @for s in &log.skipped {
                    li { (s.report) ": " (s.slots) " × " (local(&state, s.first)) " – " (local(&state, s.last)) }
                }
            }
        }
    };
    Ok(super::pages::page(
        &state,
        lang,
        "/reports",
        raw.as_deref(),
        lang.t("reports"),
        body,
    ))
}
