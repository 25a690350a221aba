//! `ApiError`: the one place where failures become HTTP responses. Bodies
//! are JSON `{ "error": "snake_case_code", "message": "..." }`, with the
//! offending `parameter` for a bad request. A 5xx body stays generic; the
//! cause goes to the log.

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
    /// The request cannot be answered from what is stored (e.g. no events,
    /// so there is no default week).
    NoData(String),
    NotFound(String),
    /// No caller: no token, or an unknown, revoked or expired one.
    Unauthorized(String),
    /// The caller's role or scope does not reach this.
    Forbidden(String),
    /// The body is larger than allowed; the connection is closed after
    /// the answer.
    TooLarge(String),
    /// The body did not arrive within `server.body_timeout_seconds`.
    Timeout,
    /// The caller asked too often; retry after so many seconds.
    TooMany {
        message: String,
        retry_after: u64,
    },
    /// The server is at its limit for this kind of work; retry soon.
    Busy {
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

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadParameter { .. } => StatusCode::BAD_REQUEST,
            ApiError::NoData(_) => StatusCode::CONFLICT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
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
            ApiError::NoData(message) => json!({"error": "no_data", "message": message}),
            ApiError::NotFound(message) => json!({"error": "not_found", "message": message}),
            ApiError::Unauthorized(message) => {
                json!({"error": "unauthorized", "message": message})
            }
            ApiError::Forbidden(message) => json!({"error": "forbidden", "message": message}),
            ApiError::TooLarge(message) => json!({"error": "body_too_large", "message": message}),
            ApiError::Timeout => json!({
                "error": "body_timeout",
                "message": "the request body did not arrive in time (server.body_timeout_seconds)",
            }),
            ApiError::TooMany { message, .. } => {
                json!({"error": "too_many_requests", "message": message})
            }
            ApiError::Busy { message, .. } => json!({"error": "busy", "message": message}),
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
            kpi::Error::Engine(crate::engine::Error::Busy) => ApiError::Busy {
                message: e.to_string(),
                retry_after: 5,
            },
            e => ApiError::Internal(e.to_string()),
        }
    }
}

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
            ApiError::TooMany { retry_after, .. } | ApiError::Busy { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            ApiError::TooLarge(_) | ApiError::Timeout => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}
