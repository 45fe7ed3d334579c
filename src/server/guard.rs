//! The guard in front of every route: bounded headers, no cross-site writes
//! with a browser's credentials, security headers; and the client's address
//! as the throttle sees it.

use crate::server::state::AppState;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{header, request::Parts, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};

/// The client's IP address, as [`crate::server::throttle::AuthThrottle::client_ip`] sees it.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(ClientIp(state.throttle.client_ip(&parts.headers, peer)))
    }
}

/// Headers larger than this in total are refused with 431.
pub const HEADERS_MAX: usize = 16 * 1024;

fn refuse(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response()
}

/// Bounds the request headers, refuses cross-site writes made with the browser's
/// cookies (CSRF), and adds security headers to every response.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if header_bytes > HEADERS_MAX {
        return refuse(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request headers are too large: at most 16 KiB is accepted.",
        );
    }
    if is_cross_site_write(&state, &req) {
        tracing::warn!(path = %req.uri().path(), "refused a cross-site request");
        return refuse(StatusCode::FORBIDDEN, "Cross-site request refused.");
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// A write (not GET/HEAD/OPTIONS) that a browser could authenticate on its
/// own (our cookies, or Basic credentials it cached), or that targets sign-in
/// or a server function, must come from our own origin: `Sec-Fetch-Site` must
/// not say another site, and `Origin`, when sent, must be ours. Scripts (curl
/// and the like) send neither header.
fn is_cross_site_write(state: &AppState, req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let headers = req.headers();
    let path = req.uri().path();
    // Forward-auth changes nothing (but a last-used time), and proxies pass
    // on the browser's own Origin and Sec-Fetch-Site with whatever method.
    if path == crate::model::VERIFY_PATH {
        return false;
    }
    let browser_authenticated = headers.contains_key(header::COOKIE)
        || headers.contains_key(header::AUTHORIZATION)
        || path.starts_with("/go/fn/")
        || path.starts_with("/go/auth/");
    if !browser_authenticated {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return true;
        }
    }
    match headers.get(header::ORIGIN) {
        Some(origin) => origin.as_bytes() != state.settings.base_url(headers).as_bytes(),
        None => false,
    }
}
