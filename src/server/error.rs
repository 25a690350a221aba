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
            kpi::Error::UnknownDimension(_) | kpi::Error::DuplicateDimension(_) => {
                ApiError::parameter("by", e.to_string())
            }
            kpi::Error::CurveWithoutWave => ApiError::parameter("by", e.to_string()),
            kpi::Error::EmptyRange { .. } | kpi::Error::LongRange { .. } => {
                ApiError::parameter("from", e.to_string())
            }
            e => ApiError::Internal(e.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "request failed");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        if let ApiError::Unauthorized(_) = self {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"uptake\""),
            );
        }
        response
    }
}
