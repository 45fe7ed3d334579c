//! Request bodies, read as GoCD reads them.

use super::ApiError;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

/// Every JSON body we accept fits in this; anything larger is refused unread.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body read as GoCD reads it: blank means `{}`; bounded in size;
/// a body must say it is JSON (415 otherwise, so that no cross-site form can
/// send one without a CORS preflight); malformed JSON is a 400 and a wrong
/// shape a 422, each with a message. Anything but an object is a 400.
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
        // Every body is an object: serde would read an array as a struct's
        // fields in order (`["x"]` as `{"description": "x"}`).
        if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "Request body must be a JSON object (`{...}`).",
            ));
        }
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
