//! Tokens that open other services: forward-auth for reverse proxies
//! (`/go/auth/verify`, for nginx `auth_request`, Caddy `forward_auth` and
//! Traefik `ForwardAuth`) and RFC 7662 introspection (`/go/auth/introspect`).
//!
//! Both check a token exactly as the API does (`Tokens::authenticate`, its
//! cache and its revocation rules); what a token opens is decided by its
//! grants (`scope::Grants`). Identity headers come only from here: a proxy
//! must drop any its client sent (README recipes).

use crate::server::auth::{api_caller, parse_authorization, AuthMethod, Credentials};
use crate::server::guard::ClientIp;
use crate::server::identity::AuthError;
use crate::server::metrics;
use crate::server::scope::valid_name;
use crate::server::state::AppState;
use crate::server::throttle::retry_after_secs;
use crate::server::tokens::format::PlainToken;
use axum::body::{to_bytes, Body};
use axum::extract::{RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::time::Duration;

/// The forward-auth method label of `tollgate_auth_attempts_total`.
const FORWARD_AUTH: &str = "forward_auth";

/// Introspection bodies are a token and a hint: far smaller than this.
const FORM_LIMIT: usize = 8 * 1024;

/// Where proxies say which method the original request used.
const METHOD_HEADERS: [&str; 2] = ["x-forwarded-method", "x-original-method"];

fn www_authenticate(value: String) -> (HeaderName, HeaderValue) {
    (
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&value)
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer realm=\"tollgate\"")),
    )
}

/// 401 for the proxy: no usable token (with `Retry-After` when throttled).
fn invalid_token(message: &str, wait: Option<Duration>) -> Response {
    let mut res = (
        StatusCode::UNAUTHORIZED,
        [www_authenticate(
            "Bearer realm=\"tollgate\", error=\"invalid_token\"".into(),
        )],
        Json(json!({ "message": message })),
    )
        .into_response();
    if let Some(wait) = wait {
        res.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(retry_after_secs(wait)),
        );
    }
    res
}

fn insufficient_scope(message: &str, scope: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [www_authenticate(format!(
            "Bearer realm=\"tollgate\", error=\"insufficient_scope\", scope=\"{scope}\""
        ))],
        Json(json!({ "message": message })),
    )
        .into_response()
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "message": "The database is unavailable. Please try again shortly." })),
    )
        .into_response()
}

/// The first value of query parameter `name`.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `GET|POST|... /go/auth/verify[?scope=NAME]`: 200 with the identity
/// headers, 401, 403 or 503, and nothing else (nginx treats any other status
/// as an error). Failures are throttled per original client, and only when
/// the trusted proxy header names it: never everyone behind one proxy.
pub async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let client = state.throttle.forwarded_client(&headers);
    if let Some(ip) = client {
        if let Err(wait) = state.throttle.check(ip) {
            return invalid_token(&AuthError::Throttled(wait).to_string(), Some(wait));
        }
    }
    let refused = |e: AuthError| {
        metrics::auth_attempt(FORWARD_AUTH, metrics::refusal(&e));
        let wait = client.and_then(|ip| state.throttle.failed(ip).err());
        invalid_token(&e.to_string(), wait)
    };
    let token = match parse_authorization(&headers) {
        Ok(Some(Credentials::Bearer(token))) => token,
        Ok(Some(Credentials::Basic { .. }) | None) => {
            return invalid_token(
                "A personal access token (Authorization: Bearer) is required.",
                None,
            )
        }
        Err(e) => return refused(e),
    };
    let agent = crate::server::auth::user_agent(&headers);
    let result = state.tokens.authenticate(&token, ip, agent).await;
    let verified = match result {
        Ok(v) => v,
        Err(AuthError::Service(_)) => return unavailable(),
        Err(e) => return refused(e),
    };
    if let Some(scope) = query_param(query.as_deref(), "scope") {
        if !valid_name(&scope) {
            return insufficient_scope("The location names no valid scope.", "invalid");
        }
        let method = METHOD_HEADERS
            .iter()
            .find_map(|h| headers.get(*h))
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        if let Err(r) = verified.grants.allow_service(&scope, method) {
            metrics::auth_attempt(FORWARD_AUTH, "forbidden");
            return insufficient_scope(&r.message, &r.scope);
        }
    }
    metrics::auth_attempt(FORWARD_AUTH, "ok");
    let user = &verified.user;
    let mut res = (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response();
    let h = res.headers_mut();
    // Login names are of a fixed ASCII alphabet; scopes too.
    if let Ok(name) = HeaderValue::from_str(&user.login_name) {
        for header in ["remote-user", "x-auth-request-user", "x-forwarded-user"] {
            h.insert(header, name.clone());
        }
    }
    if let Some(email) = user.email.as_deref().filter(|e| !e.is_empty()) {
        if let Ok(email) = HeaderValue::from_bytes(email.as_bytes()) {
            h.insert("x-auth-request-email", email);
        }
    }
    h.insert("x-tollgate-token-id", HeaderValue::from(verified.token_id));
    if let Ok(scopes) = HeaderValue::from_str(&verified.grants.to_stored()) {
        h.insert("x-tollgate-scopes", scopes);
    }
    res
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn answer(body: Value) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// `POST /go/auth/introspect` (RFC 7662): `token=...` in a form body. The
/// caller is an admin (Basic or session) or a token with the `introspect`
/// scope. An inactive token (unknown, malformed, revoked, its owner disabled
/// or deleted) is `{"active": false}` and nothing more. It never records a
/// use of the token looked at.
pub async fn introspect(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    req: Request<Body>,
) -> Response {
    let caller = match api_caller(&state, req.headers(), ip).await {
        Ok(c) => c,
        Err(AuthError::Service(_)) => return unavailable(),
        Err(e @ (AuthError::Throttled(_) | AuthError::Busy)) => {
            return crate::server::rest::ApiError::from(e).into_response()
        }
        Err(e) => {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Basic realm=\"tollgate\"")],
                Json(json!({ "error": "invalid_client", "error_description": e.to_string() })),
            )
                .into_response()
        }
    };
    let allowed = match (&caller.method, &caller.grants) {
        (AuthMethod::Bearer, Some(grants)) => grants.allow_introspect(),
        (AuthMethod::Bearer, None) => false,
        _ => caller.user.is_admin,
    };
    if !allowed {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "Introspection needs an admin's password or a token with the `introspect` scope.",
        );
    }
    let Ok(body) = to_bytes(req.into_body(), FORM_LIMIT).await else {
        return oauth_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "The request body is too large.",
        );
    };
    let Some(raw) = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
    else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The form body must carry `token`.",
        );
    };
    let inactive = || answer(json!({ "active": false }));
    let Ok(token) = PlainToken::parse(raw.trim()) else {
        return inactive();
    };
    let result = state.tokens.verify(&token).await;
    metrics::auth_attempt("introspect", metrics::outcome(&result));
    match result {
        Ok(v) => {
            let mut body = json!({
                "active": true,
                "scope": v.grants.to_stored(),
                "username": v.user.login_name,
                "sub": v.user.id.to_string(),
                "token_type": "Bearer",
                "iat": v.created_at / 1000,
                "jti": v.token_id.to_string(),
            });
            if let Some(exp) = v.expires_at {
                body["exp"] = json!(exp / 1000);
            }
            answer(body)
        }
        Err(AuthError::Service(_)) => unavailable(),
        Err(_) => inactive(),
    }
}
