//! The GoCD-compatible JSON API: Accept versioning, exact errors, HAL links.
//! Handlers know HTTP and nothing of SQL; the rules live in the services.

mod admin_tokens;
mod cctray;
mod current_user;
mod tokens;
mod users;
mod version;

use crate::server::auth::{api_caller, AuthError, Caller};
use crate::server::error::{invalid_sentence, ServiceError};
use crate::server::guard::ClientIp;
use crate::server::state::AppState;
use crate::server::throttle::retry_after_secs;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const WRONG_URL: &str = "The url you are trying to reach appears to be incorrect.";
/// Every JSON body we accept fits in this; anything larger is refused unread.
pub const BODY_LIMIT: usize = 64 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/go/api/version",
            get(version::show).layer(from_fn_with_state(ApiVersion(1), require_version)),
        )
        .route(
            "/go/api/current_user",
            get(current_user::show).layer(from_fn_with_state(ApiVersion(1), require_version)),
        )
        .route(
            "/go/api/users",
            get(users::index)
                .post(users::create)
                .layer(from_fn_with_state(ApiVersion(3), require_version)),
        )
        .route(
            "/go/api/users/{login_name}",
            get(users::show)
                .patch(users::update)
                .delete(users::destroy)
                .layer(from_fn_with_state(ApiVersion(3), require_version)),
        )
        .route(
            "/go/api/current_user/access_tokens",
            get(tokens::index)
                .post(tokens::create)
                .layer(from_fn_with_state(ApiVersion(1), require_version)),
        )
        .route(
            "/go/api/current_user/access_tokens/{id}",
            get(tokens::show).layer(from_fn_with_state(ApiVersion(1), require_version)),
        )
        .route(
            "/go/api/current_user/access_tokens/{id}/revoke",
            post(tokens::revoke).layer(from_fn_with_state(ApiVersion(1), require_version)),
        )
        .route(
            "/go/api/admin/access_tokens",
            get(admin_tokens::index).layer(from_fn_with_state(ApiVersion(1), require_version)),
        )
        .route(
            "/go/api/admin/access_tokens/{id}",
            get(admin_tokens::show).layer(from_fn_with_state(ApiVersion(1), require_version)),
        )
        .route(
            "/go/api/admin/access_tokens/{id}/revoke",
            post(admin_tokens::revoke).layer(from_fn_with_state(ApiVersion(1), require_version)),
        )
        .route("/go/cctray.xml", get(cctray::show))
        .route("/go/api", any(wrong_url))
        .route("/go/api/", any(wrong_url))
        .route("/go/api/{*rest}", any(wrong_url))
}

async fn wrong_url() -> Response {
    ApiError::WrongUrl.into_response()
}

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
                retry_after: crate::server::auth::BUSY_RETRY_SECS,
            },
            e => ApiError::Unauthorized(e.to_string()),
        }
    }
}

/// The authenticated API caller; anonymous requests answer 401.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, state).await;
        Ok(api_caller(state, &parts.headers, ip).await?)
    }
}

#[derive(Clone, Copy)]
struct ApiVersion(u8);

/// True when `Accept` names `application/vnd.go.cd.v{v}+json` or the unversioned
/// `application/vnd.go.cd+json` ("the latest").
pub fn accepts_version(headers: &HeaderMap, v: u8) -> bool {
    let wanted = format!("application/vnd.go.cd.v{v}+json");
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(','))
        .map(|m| {
            m.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .any(|m| m == wanted || m == "application/vnd.go.cd+json")
}

async fn require_version(
    State(ApiVersion(v)): State<ApiVersion>,
    req: Request,
    next: Next,
) -> Response {
    if !accepts_version(req.headers(), v) {
        return ApiError::WrongUrl.into_response();
    }
    let mut res = next.run(req).await;
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|ct| ct.as_bytes().starts_with(b"application/json"));
    if is_json {
        let ct = format!("application/vnd.go.cd.v{v}+json; charset=utf-8");
        if let Ok(ct) = HeaderValue::from_str(&ct) {
            res.headers_mut().insert(header::CONTENT_TYPE, ct);
        }
    }
    res
}

/// A JSON body read as GoCD reads it: blank means `{}`; bounded in size;
/// a body must say it is JSON (415 otherwise, so that no cross-site form can
/// send one without a CORS preflight); malformed JSON is a 400 and a wrong
/// shape a 422, each with a message.
pub struct GoJson<T>(pub T);

/// `application/json`, or any `application/*+json` (GoCD's own media types).
fn is_json_content_type(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for GoJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let json_declared = is_json_content_type(req.headers());
        let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "Request body is too large: at most {} KiB is accepted.",
                        BODY_LIMIT / 1024
                    ),
                )
            })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else if !json_declared {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "A request body must be JSON, sent with `Content-Type: application/json`.",
            ));
        } else {
            &bytes
        };
        serde_json::from_slice(text)
            .map(GoJson)
            .map_err(|e| match e.classify() {
                serde_json::error::Category::Data => ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("Request body has an invalid field: {e}"),
                ),
                _ => ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("Request body is not valid JSON: {e}"),
                ),
            })
    }
}

/// `http://host` as the client addressed us, for HAL links.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    state.settings.base_url(headers)
}

pub fn link(href: String) -> Value {
    json!({ "href": href })
}
