//! `ApiError`: the one place where failures become HTTP responses, and
//! the only error type handlers return. Bodies are JSON `{ "error":
//! "snake_case_code", "message": "..." }`, with the offending `parameter`
//! for a bad parameter and the details of a refused body beside them. Each
//! module's error converts with `From`; a 5xx body never carries internal
//! text: the cause goes to the log.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::kpi;

#[derive(Debug)]
pub enum ApiError {
    /// A query parameter is unknown, repeated or has a bad value.
    BadParameter {
        parameter: String,
        message: String,
    },
    /// Another part of the request (a header, the body) is malformed.
    BadRequest {
        code: &'static str,
        message: String,
    },
    /// The body's encoding or type is not one the route reads.
    Unsupported(String),
    /// The body is well-formed but cannot be taken; `details` go into the
    /// answer beside the code and message.
    Unprocessable {
        code: &'static str,
        message: String,
        details: serde_json::Map<String, serde_json::Value>,
    },
    /// The request cannot be answered from what is stored (e.g. no events,
    /// so there is no default week).
    NoData(String),
    NotFound(String),
    /// What was asked existed and is no more (an expired link).
    Gone(String),
    /// No caller: no token, or an unknown, revoked or expired one.
    Unauthorized(String),
    /// The caller's role or scope does not reach this.
    Forbidden(String),
    /// The body is larger than allowed; the connection is closed after
    /// the answer.
    TooLarge(String),
    /// The body did not arrive within `server.body_timeout_seconds`.
    Timeout,
    /// The caller asked too often, or faster than the store keeps up;
    /// retry after so many seconds.
    TooMany {
        code: &'static str,
        message: String,
        retry_after: u64,
    },
    /// The server is at its limit for this kind of work (or its disk is
    /// full); retry after so many seconds.
    Unavailable {
        code: &'static str,
        message: String,
        retry_after: u64,
    },
    Internal(String),
}

impl ApiError {
    pub fn parameter(parameter: &str, message: impl Into<String>) -> ApiError {
        ApiError::BadParameter {
            parameter: parameter.to_string(),
            message: message.into(),
        }
    }

    /// Too many requests of this caller.
    pub fn too_many(message: impl Into<String>, retry_after: u64) -> ApiError {
        ApiError::TooMany {
            code: "too_many_requests",
            message: message.into(),
            retry_after,
        }
    }

    /// The server is busy with this kind of work.
    pub fn busy(message: impl Into<String>, retry_after: u64) -> ApiError {
        ApiError::Unavailable {
            code: "busy",
            message: message.into(),
            retry_after,
        }
    }

    /// A failure of the server itself; `cause` goes to the log only.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(cause.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadParameter { .. } | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NoData(_) => StatusCode::CONFLICT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The JSON body; never includes internal details.
    pub fn body(&self) -> serde_json::Value {
        match self {
            ApiError::BadParameter { parameter, message } => json!({
                "error": "invalid_parameter",
                "parameter": parameter,
                "message": format!("{parameter}: {message}"),
            }),
            ApiError::BadRequest { code, message } => json!({"error": code, "message": message}),
            ApiError::Unsupported(message) => {
                json!({"error": "unsupported_encoding", "message": message})
            }
            ApiError::Unprocessable {
                code,
                message,
                details,
            } => {
                let mut body = details.clone();
                body.insert("error".into(), json!(code));
                body.insert("message".into(), json!(message));
                serde_json::Value::Object(body)
            }
            ApiError::NoData(message) => json!({"error": "no_data", "message": message}),
            ApiError::NotFound(message) => json!({"error": "not_found", "message": message}),
            ApiError::Gone(message) => json!({"error": "gone", "message": message}),
            ApiError::Unauthorized(message) => {
                json!({"error": "unauthorized", "message": message})
            }
            ApiError::Forbidden(message) => json!({"error": "forbidden", "message": message}),
            ApiError::TooLarge(message) => json!({"error": "body_too_large", "message": message}),
            ApiError::Timeout => json!({
                "error": "body_timeout",
                "message": "the request body did not arrive within server.body_timeout_seconds; send it faster or in smaller parts",
            }),
            ApiError::TooMany { code, message, .. }
            | ApiError::Unavailable { code, message, .. } => {
                json!({"error": code, "message": message})
            }
            ApiError::Internal(_) => json!({
                "error": "internal",
                "message": "the server could not compute this; the cause is in its log",
            }),
        }
    }
}

impl From<kpi::Error> for ApiError {
    fn from(e: kpi::Error) -> ApiError {
        match e {
            kpi::Error::Segment(_) | kpi::Error::CurveWithoutWave => {
                ApiError::parameter("by", e.to_string())
            }
            kpi::Error::EmptyRange { .. } | kpi::Error::LongRange { .. } => {
                ApiError::parameter("from", e.to_string())
            }
            kpi::Error::Engine(crate::engine::Error::Busy) => ApiError::busy(e.to_string(), 5),
            e => ApiError::internal(e),
        }
    }
}

impl From<crate::model::segment::Error> for ApiError {
    fn from(e: crate::model::segment::Error) -> ApiError {
        ApiError::from(kpi::Error::Segment(e))
    }
}

impl From<crate::report::Error> for ApiError {
    fn from(e: crate::report::Error) -> ApiError {
        match e {
            crate::report::Error::Kpi(k) => ApiError::from(k),
            e => ApiError::internal(e),
        }
    }
}

impl From<crate::ingest::Refusal> for ApiError {
    fn from(r: crate::ingest::Refusal) -> ApiError {
        use crate::ingest::Refusal;
        let retry_after = r.retry_after().unwrap_or(1);
        let message = match &r {
            // The cause is the server's business: it goes to the log.
            Refusal::Failed(cause) => {
                tracing::error!(%cause, "a batch could not be logged");
                "the batch could not be made durable; retry in a moment".to_string()
            }
            r => r.to_string(),
        };
        let unavailable = |code| ApiError::Unavailable {
            code,
            message: message.clone(),
            retry_after,
        };
        match r {
            Refusal::KeyConflict => ApiError::Unprocessable {
                code: "idempotency_key_reused",
                message,
                details: Default::default(),
            },
            Refusal::Behind(_) => ApiError::TooMany {
                code: "store_behind",
                message,
                retry_after,
            },
            Refusal::Busy => unavailable("busy"),
            Refusal::DiskFull(_) => unavailable("disk_full"),
            Refusal::Failed(_) => unavailable("not_durable"),
        }
    }
}

/// Failures of the server's own files and computations: 500, with the
/// cause in the log.
macro_rules! internal_from {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for ApiError {
            fn from(e: $error) -> ApiError {
                ApiError::internal(e)
            }
        }
    )*};
}

internal_from!(
    crate::store::Error,
    crate::engine::Error,
    crate::config::Error,
    crate::schedule::Error,
    crate::chart::Error,
    rust_xlsxwriter::XlsxError,
    std::io::Error,
    tokio::task::JoinError,
);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        use axum::http::{HeaderValue, header};
        let mut response = (self.status(), Json(self.body())).into_response();
        let headers = response.headers_mut();
        match self {
            ApiError::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"uptake\""),
                );
            }
            ApiError::TooMany { retry_after, .. } | ApiError::Unavailable { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            ApiError::TooLarge(_) | ApiError::Timeout => {
                // What is left of the body is not read: the connection
                // ends after the answer.
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_failures_answer_without_their_cause() {
        let secret = "/srv/uptake/data/events/part-7.parquet: permission denied";
        for e in [
            ApiError::from(crate::store::Error::Io {
                path: secret.into(),
                source: std::io::Error::other("denied"),
            }),
            ApiError::from(crate::ingest::Refusal::Failed(secret.into())),
            ApiError::from(std::io::Error::other(secret)),
        ] {
            assert!(e.status().is_server_error(), "{e:?}");
            let body = e.body().to_string();
            assert!(
                !body.contains("denied") && !body.contains("part-7"),
                "{body}"
            );
        }
        let failed = ApiError::from(crate::ingest::Refusal::Failed(secret.into()));
        let response = failed.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "5");
    }

    #[test]
    fn refusals_keep_their_code_details_and_retry_after() {
        let behind = ApiError::from(crate::ingest::Refusal::Behind(10));
        assert_eq!(behind.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(behind.body()["error"], "store_behind");
        assert_eq!(behind.into_response().headers()["retry-after"], "1");
        let mut details = serde_json::Map::new();
        details.insert("rejected".into(), json!(3));
        let invalid = ApiError::Unprocessable {
            code: "invalid_events",
            message: "3 of the events are invalid".into(),
            details,
        };
        assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            invalid.body(),
            json!({"error": "invalid_events", "message": "3 of the events are invalid", "rejected": 3})
        );
        let gzip = ApiError::Unsupported("Content-Encoding br: send gzip or no encoding".into());
        assert_eq!(gzip.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
}
