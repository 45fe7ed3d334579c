//! GoCD's API versions: each route answers only the `Accept` version it
//! speaks, and says which in its `Content-Type`.

use super::ApiError;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

#[derive(Clone, Copy)]
pub struct ApiVersion(pub u8);

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

pub async fn require_version(
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
