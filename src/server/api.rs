//! The JSON API under `/api/v1`: the figures of the CLI with the same
//! field names (SPEC.md section 5). Handlers parse and check parameters,
//! then read computed rows from the state.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::Caller;
use crate::kpi::{self, Dimension, Request};

use super::error::ApiError;
use super::params::Params;
use super::state::AppState;

const FILTERS: [&str; 3] = ["region", "department", "wave"];

fn allowed(extra: &[&'static str]) -> Vec<&'static str> {
    extra.iter().copied().chain(FILTERS).collect()
}

pub fn json(body: String) -> Response {
    ([(CONTENT_TYPE, "application/json")], body).into_response()
}

fn cached_json(body: Arc<String>) -> Response {
    json(String::clone(&body))
}

/// A request over a week range: `by`, `from`, `to` and the filters, over
/// the caller's scope and protected against differencing.
pub fn range_request(
    state: &AppState,
    caller: &Caller,
    params: &Params,
    default_by: &str,
    default_weeks: Option<i32>,
) -> Result<Request, ApiError> {
    let dims = params.dims(default_by)?;
    let (from, to) = params.range(state, default_weeks)?;
    Ok(Request {
        dims,
        from,
        to,
        filter: params.filter(state, &caller.scope)?,
        scope: caller.scope.clone(),
        protected: true,
    })
}

/// A request for one week: `by`, `week` and the filters, like
/// [`range_request`].
pub fn week_request(
    state: &AppState,
    caller: &Caller,
    params: &Params,
    default_by: &str,
) -> Result<Request, ApiError> {
    let dims = params.dims(default_by)?;
    let week = params.one_week(state)?;
    Ok(Request {
        dims,
        from: week,
        to: week,
        filter: params.filter(state, &caller.scope)?,
        scope: caller.scope.clone(),
        protected: true,
    })
}

/// A table as the JSON answer to `request`, serialized once per request
/// until the next commit.
async fn answer<F, Fut, T>(
    state: &AppState,
    endpoint: &'static str,
    request: &Request,
    table: F,
) -> Result<Response, ApiError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
    T: std::borrow::Borrow<kpi::Table>,
{
    let body = state
        .body(endpoint, request, || async {
            Ok(table()
                .await?
                .borrow()
                .with_wave_names(&state.labels)
                .to_json())
        })
        .await?;
    Ok(cached_json(body))
}

pub async fn kpi(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &allowed(&["by", "from", "to"]))?;
    let request = range_request(&state, &caller, &params, "", None)?;
    answer(&state, "kpi", &request, || async {
        Ok(kpi::kpi_table(
            &request.dims,
            &state.kpi_rows(&request).await?,
        ))
    })
    .await
}

pub async fn modules(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &allowed(&["by", "week"]))?;
    let request = week_request(&state, &caller, &params, "")?;
    answer(&state, "modules", &request, || async {
        state.modules_table(&request).await
    })
    .await
}

pub async fn lagging(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &allowed(&["by", "week"]))?;
    let request = week_request(&state, &caller, &params, "")?;
    answer(&state, "lagging", &request, || async {
        let rows = state.kpi_rows(&request).await?;
        Ok(kpi::lagging_table(&request.dims, &rows, &state.settings))
    })
    .await
}

/// `/api/v1/forecast?by=&week=&target_week=&region=...`: the forecast of
/// each segment from the KPI rows of the 8 weeks up to `week`, as the
/// caller may see them (suppressed weeks give no pace).
pub async fn forecast(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &allowed(&["by", "week", "target_week"]))?;
    let request = week_request(&state, &caller, &params, "")?;
    let week = request.to;
    let target_week = params.week("target_week")?;
    if let Some(problem) = kpi::target_week_problem(week, target_week) {
        return Err(ApiError::parameter("target_week", problem));
    }
    let rows = state.kpi_rows(&kpi::forecast_history(&request)).await?;
    let table = kpi::forecast_table(&request.dims, &rows, week, target_week, &state.settings);
    Ok(json(table.with_wave_names(&state.labels).to_json()))
}

pub async fn adoption_curve(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &allowed(&["by", "from", "to"]))?;
    let request = range_request(&state, &caller, &params, "wave", None)?;
    if !request.dims.contains(&Dimension::Wave) {
        return Err(ApiError::parameter(
            "by",
            "an adoption curve is drawn per wave: include wave, e.g. by=wave",
        ));
    }
    answer(&state, "adoption_curve", &request, || async {
        let points = state.adoption_curve(&request).await?;
        Ok(kpi::curve_table(
            &request.dims,
            &points,
            &state.settings,
            &state.labels.waves,
        ))
    })
    .await
}

/// `/api/v1/licensees?week=&region=&department=&wave=&format=`: the
/// user-level view, for admins when `privacy.user_level_views` is on
/// (its route's group, `Access::UserLevel`, checks both before this runs).
pub async fn licensees(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(raw.as_deref(), &allowed(&["week", "format"]))?;
    let week = params.one_week(&state)?;
    let filter = params.filter(&state, &caller.scope)?;
    let table = kpi::licensees(&state.engine(), &state.settings, week, &filter).await?;
    match params.get("format") {
        None | Some("json") => Ok(json(table.to_json())),
        Some("csv") => Ok((
            [
                (CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"uptake-licensees-{week}.csv\""),
                ),
            ],
            table.to_csv(),
        )
            .into_response()),
        Some(_) => Err(ApiError::parameter("format", "use json or csv")),
    }
}

pub async fn segments(
    State(state): State<Arc<AppState>>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let mut body = serde_json::Map::new();
    let scoped_waves = state.segments.values_in(Dimension::Wave, &caller.scope);
    for d in Dimension::ALL {
        body.insert(
            d.name().into(),
            json!(state.segments.values_in(d, &caller.scope)),
        );
    }
    body.insert(
        "waves".into(),
        json!(
            state
                .labels
                .waves
                .iter()
                .filter(|w| scoped_waves.contains(&w.wave_id))
                .map(|w| json!({"wave_id": w.wave_id, "name": w.name, "go_live": w.go_live.to_string()}))
                .collect::<Vec<_>>()
        ),
    );
    body.insert(
        "weeks".into(),
        match state.stored_weeks() {
            Some((first, last)) => json!({"first": first.to_string(), "last": last.to_string()}),
            None => json!(null),
        },
    );
    Ok(json(pretty(&serde_json::Value::Object(body))))
}

/// Always 200 while the server runs; `status` is `degraded` when files were
/// quarantined, events are stored with implausible dates, or the last flush
/// into the store failed.
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let quarantined = crate::store::quarantine::entries(&state.data_dir);
    let ingest = state.ingest.status();
    let failing = ingest.last_error.is_some();
    let implausible: Vec<_> = state
        .implausible_events()
        .into_iter()
        .map(|(f, reason)| json!({"file": f.path, "events": f.events, "reason": reason}))
        .collect();
    let status = if quarantined.is_empty() && !failing && implausible.is_empty() {
        "ok"
    } else {
        "degraded"
    };
    json(pretty(&json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "timezone": state.settings.timezone.to_string(),
        "first_week": state.stored_weeks().map(|w| w.0.to_string()),
        "last_week": state.stored_weeks().map(|w| w.1.to_string()),
        "last_event_date": state.stored_dates().map(|d| d.1.to_string()),
        "events_in_figures": state.stored_events(),
        "ingest": ingest,
        "implausible_events": implausible,
        "quarantined": quarantined,
    })))
}

/// Liveness: 200 whenever the process answers, from the moment it
/// listens (also while it prepares the figures).
pub async fn live() -> Response {
    json(pretty(&json!({"status": "live"})))
}

/// Readiness: 200 once the figures are prepared (this router is installed
/// only then), 503 from the start of shutdown on.
pub async fn ready(State(state): State<Arc<AppState>>) -> Response {
    if state.is_stopping() {
        let body = pretty(&json!({"status": "stopping"}));
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            [(CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    json(pretty(&json!({"status": "ready"})))
}

/// The process's metrics ([`crate::metrics`]), with the gauges of the
/// store and the ingestion queue read now.
pub async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let m = crate::metrics::metrics();
    m.ingest_pending
        .set(state.ingest.status().pending_events as i64);
    m.store_events.set(state.stored_events() as i64);
    m.store_bytes.set(state.store_bytes() as i64);
    metrics_starting().await
}

/// The metrics while the server prepares the figures.
pub async fn metrics_starting() -> Response {
    (
        [(CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::metrics().encode(),
    )
        .into_response()
}

pub async fn openapi() -> Response {
    json(include_str!("openapi.json").to_string())
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such address; the API is described at /api/v1/openapi.json".into())
}

fn pretty(v: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
