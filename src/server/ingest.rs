//! `POST /api/v1/events`: live ingestion of usage events, and the task
//! that flushes acknowledged events into the store.
//!
//! The body is NDJSON or a JSON array of SPEC.md events, optionally gzip
//! (`Content-Encoding: gzip`). The format is told by the first character
//! (`[` starts an array), not by `Content-Type`, which log shippers and
//! `curl` often set to something else. The answer comes once the batch is durable.
//! Refused rows are listed with their line (NDJSON) or element (array),
//! field and reason; without `?partial=true` one refused row refuses the
//! batch.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::ingest::{ADMISSION_WAIT, Outcome, Refusal};
use crate::store::input::{Problems, ndjson_batch};

use super::error::ApiError;
use super::state::AppState;

/// Refused rows listed in an answer; the count covers all.
const LISTED_ERRORS: usize = 1000;
/// Longest accepted `Idempotency-Key`.
const MAX_KEY: usize = 200;

/// A request that cannot be read: 400 with this code.
fn bad(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code,
        message: message.into(),
    }
}

/// Reads and drops up to `limit` bytes of a body within `timeout`, so
/// that a client still sending it gets the answer that follows instead of
/// a reset connection. Nothing is kept, so refused requests cost no
/// memory, and a client that stalls costs at most `timeout`.
async fn drain(body: Body, limit: usize, timeout: Duration) {
    use http_body_util::BodyExt;
    let read = async {
        let mut body = body;
        let mut read = 0usize;
        while read <= limit {
            match body.frame().await {
                Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len()),
                _ => break,
            }
        }
    };
    let _ = tokio::time::timeout(timeout, read).await;
}

/// A refusal sent after the body was read and dropped ([`drain`]).
async fn refused_after(body: Body, limit: usize, timeout: Duration, r: Refusal) -> ApiError {
    drain(body, limit, timeout).await;
    ApiError::from(r)
}

/// The `Idempotency-Key`, checked: 1 to 200 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let invalid = || {
        bad(
            "invalid_header",
            format!("Idempotency-Key: use 1 to {MAX_KEY} visible ASCII characters"),
        )
    };
    let key = value.to_str().map_err(|_| invalid())?;
    let key = key.trim_matches('"');
    if key.is_empty() || key.len() > MAX_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid());
    }
    Ok(Some(key.to_string()))
}

fn partial(raw: Option<&str>) -> Result<bool, ApiError> {
    let mut partial = false;
    for (name, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match (name.as_ref(), value.as_ref()) {
            ("partial", "true" | "1") => partial = true,
            ("partial", "false" | "0") => partial = false,
            ("partial", other) => {
                return Err(ApiError::parameter(
                    "partial",
                    format!("'{other}' is not true or false"),
                ));
            }
            (other, _) => {
                return Err(ApiError::parameter(
                    other,
                    "unknown parameter; the only one is partial",
                ));
            }
        }
    }
    Ok(partial)
}

fn checked_encoding(headers: &HeaderMap) -> Result<bool, ApiError> {
    match headers
        .get(header::CONTENT_ENCODING)
        .map(|e| e.to_str().unwrap_or("").trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("" | "identity") => Ok(false),
        Some("gzip" | "x-gzip") => Ok(true),
        Some(other) => Err(ApiError::Unsupported(format!(
            "Content-Encoding {other}: send gzip or no encoding"
        ))),
    }
}

fn too_large(max: u64) -> ApiError {
    ApiError::TooLarge(format!(
        "the body is larger than {max} bytes (ingest.max_body_bytes); send smaller batches"
    ))
}

/// What parsing a body produced.
struct Parsed {
    batch: Option<datafusion::arrow::record_batch::RecordBatch>,
    problems: Problems,
    digest: [u8; 32],
}

fn parse(
    bytes: bytes::Bytes,
    gzip: bool,
    max: u64,
    times: &crate::model::event::TimeRange,
    pseudonym: Option<&crate::store::Pseudonym>,
) -> Result<Parsed, ApiError> {
    let body: Vec<u8> = if gzip {
        let mut out = Vec::new();
        let read = flate2::read::MultiGzDecoder::new(&bytes[..])
            .take(max + 1)
            .read_to_end(&mut out);
        if let Err(e) = read {
            return Err(bad(
                "invalid_body",
                format!("the body is not valid gzip: {e}"),
            ));
        }
        if out.len() as u64 > max {
            return Err(too_large(max));
        }
        out
    } else {
        bytes.to_vec()
    };
    let digest: [u8; 32] = Sha256::digest(&body).into();
    let (batch, problems) =
        ndjson_batch(body, "body", times).map_err(|e| bad("invalid_body", e.to_string()))?;
    // Raw ids never reach the log: the digest above is of the body as sent.
    let batch = match (batch, pseudonym) {
        (Some(b), Some(p)) => Some(p.batch(&b)?),
        (b, _) => b,
    };
    Ok(Parsed {
        batch,
        problems,
        digest,
    })
}

fn listed(problems: &Problems) -> Vec<serde_json::Value> {
    problems
        .kept
        .iter()
        .take(LISTED_ERRORS)
        .map(|p| json!({"position": p.position, "field": p.column, "reason": p.reason}))
        .collect()
}

/// `POST /api/v1/events`.
pub async fn post_events(
    State(state): State<Arc<AppState>>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    accept(&state, raw.as_deref(), &headers, body)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn accept(
    state: &AppState,
    raw: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let ingest = state.ingest.clone();
    // The caller was checked by `auth::authorize` (the route's group):
    // only ingest and admin tokens reach this.
    let partial = partial(raw)?;
    let key = idempotency_key(headers)?;
    let gzip = checked_encoding(headers)?;
    let max = ingest.settings().ingest.max_body_bytes;
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let timeout = Duration::from_secs(state.settings.server.body_timeout_seconds);
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        // A body up to twice the limit is read and dropped, so the client
        // sees the 413; beyond that the connection is closed after it.
        drain(body, limit.saturating_mul(2), timeout).await;
        return Err(too_large(max));
    }
    if let Err(r) = ingest.admit() {
        return Err(refused_after(body, limit, timeout, r).await);
    }
    let Ok(Ok(_permit)) = tokio::time::timeout(ADMISSION_WAIT, ingest.parsing.acquire()).await
    else {
        return Err(refused_after(body, limit, timeout, Refusal::Busy).await);
    };
    // Checked again: the store may have fallen behind while this waited.
    if let Err(r) = ingest.admit() {
        return Err(refused_after(body, limit, timeout, r).await);
    }
    // The parse permit is held while the body arrives: a client that
    // stalls gives it back after the body timeout.
    let bytes = match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            let too_long = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            return Err(if too_long {
                too_large(max)
            } else {
                bad("invalid_body", format!("the body could not be read: {e}"))
            });
        }
        Err(_) => return Err(ApiError::Timeout),
    };
    let pseudonym = crate::store::Pseudonym::new(&ingest.settings().privacy.pseudonym_key);
    let times = ingest.settings().event_times(chrono::Utc::now());
    let parsed =
        tokio::task::spawn_blocking(move || parse(bytes, gzip, max, &times, pseudonym.as_ref()))
            .await??;
    let rejected = parsed.problems.total;
    if rejected > 0 && (!partial || parsed.batch.is_none()) {
        let details = json!({
            "accepted": 0,
            "rejected": rejected,
            "errors": listed(&parsed.problems),
        });
        return Err(ApiError::Unprocessable {
            code: "invalid_events",
            message: format!(
                "{rejected} of the events are invalid; nothing was stored{}",
                if partial {
                    ""
                } else {
                    " (send ?partial=true to store the valid ones)"
                }
            ),
            details: details.as_object().cloned().unwrap_or_default(),
        });
    }
    let batch = parsed
        .batch
        .ok_or_else(|| bad("no_events", "the body holds no events"))?;
    let (events, replayed) = match ingest.submit(key, parsed.digest, batch).await {
        Ok(Outcome::Stored { events }) => (events, false),
        Ok(Outcome::Replayed { events }) => (events, true),
        Err(r) => return Err(r.into()),
    };
    let mut response = axum::Json(json!({
        "accepted": events,
        "rejected": rejected,
        "errors": listed(&parsed.problems),
        "replayed": replayed,
    }))
    .into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}
