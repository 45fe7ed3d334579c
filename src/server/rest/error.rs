//! The API's errors, rendered as GoCD renders them, and how service and
//! authentication errors map to them.

use crate::server::auth::{AuthError, Caller, Identified, BUSY_RETRY_SECS};
use crate::server::error::{invalid_sentence, ServiceError};
use crate::server::state::AppState;
use crate::server::throttle::retry_after_secs;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const WRONG_URL: &str = "The url you are trying to reach appears to be incorrect.";

/// An API error, rendered as GoCD renders it.
#[derive(Debug)]
pub enum ApiError {
    Message(StatusCode, String),
    /// 401, with a Basic challenge so that curl and browsers know what to do.
    Unauthorized(String),
    /// 429 with `Retry-After`, after too many failed authentications.
    TooManyRequests {
        message: String,
        retry_after: u64,
    },
    /// 503 with `Retry-After`, while too many passwords are being checked.
    Busy {
        message: String,
        retry_after: u64,
    },
    /// 422 with GoCD's `errors` object.
    Unprocessable {
        message: String,
        errors: BTreeMap<&'static str, Vec<String>>,
    },
    /// 422 with the entity as sent, its `errors` and a message.
    UnprocessableEntity(Value),
    /// A missing or unsupported Accept version, or an unknown API path: 404 text/plain.
    WrongUrl,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError::Message(status, message.into())
    }

    pub fn unprocessable_entity(
        message: String,
        errors: BTreeMap<&'static str, Vec<String>>,
        mut entity: Value,
    ) -> Self {
        entity["message"] = json!(message);
        entity["errors"] = json!(errors);
        ApiError::UnprocessableEntity(entity)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Message(status, message) => {
                (status, Json(json!({ "message": message }))).into_response()
            }
            ApiError::Unauthorized(message) => (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"GoCD\"")],
                Json(json!({ "message": message })),
            )
                .into_response(),
            ApiError::Busy {
                message,
                retry_after,
            } => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, retry_after.to_string())],
                Json(json!({ "message": message })),
            )
                .into_response(),
            ApiError::Unprocessable { message, errors } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "message": message, "data": { "errors": errors }, "errors": errors })),
            )
                .into_response(),
            ApiError::TooManyRequests {
                message,
                retry_after,
            } => (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, retry_after.to_string())],
                Json(json!({ "message": message })),
            )
                .into_response(),
            ApiError::UnprocessableEntity(body) => {
                (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
            }
            ApiError::WrongUrl => (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                WRONG_URL,
            )
                .into_response(),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid { field, message } => {
                let sentence = invalid_sentence(field, &message);
                ApiError::Unprocessable {
                    errors: BTreeMap::from([(field, vec![message])]),
                    message: format!("Validation failed. {sentence}"),
                }
            }
            ServiceError::BadRequest(m) => ApiError::new(StatusCode::BAD_REQUEST, m),
            ServiceError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, m),
            ServiceError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
            ServiceError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, m),
            e @ ServiceError::Unavailable(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
            }
            ServiceError::Busy(message) => ApiError::Busy {
                message,
                retry_after: BUSY_RETRY_SECS,
            },
            ServiceError::Database(_) | ServiceError::Internal(_) => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An internal error occurred. It has been logged.",
            ),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Service(e) => e.into(),
            AuthError::Throttled(wait) => ApiError::TooManyRequests {
                message: e.to_string(),
                retry_after: retry_after_secs(wait),
            },
            AuthError::Busy => ApiError::Busy {
                message: e.to_string(),
                retry_after: BUSY_RETRY_SECS,
            },
            e => ApiError::Unauthorized(e.to_string()),
        }
    }
}

/// The authenticated API caller; anonymous requests answer 401.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Ok(Identified(caller)) = Identified::from_request_parts(parts, state).await;
        Ok(caller?)
    }
}
