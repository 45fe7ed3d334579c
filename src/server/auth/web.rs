//! Sign-in and sign-out for the web pages, and the page guard.

use super::{
    removal_cookie, session, session_cookie, session_user, user_agent, AuthMethod, Origin,
    BUSY_RETRY_SECS,
};
use crate::model::{safe_redirect_target, HOME_PATH, LOGIN_PATH};
use crate::server::guard::ClientIp;
use crate::server::state::AppState;
use crate::server::throttle::retry_after_secs;
use crate::server::users::service::{self, LoginError};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::CookieJar;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Pages need a session; a visitor without one goes to the login page and comes
/// back after it. Server functions (under /go/fn) check the caller themselves.
/// `Authorization` is never looked at here: a token cannot open a page.
pub async fn require_page_session(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/go/fn/") {
        let mut res = next.run(req).await;
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return res;
    }
    match session_user(&state, req.headers()).await {
        Ok(Some(user)) => {
            if path == LOGIN_PATH {
                return Redirect::to(HOME_PATH).into_response();
            }
            req.extensions_mut().insert(user);
            let mut res = next.run(req).await;
            // Pages show who is signed in: never cache them in shared caches.
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Ok(None) if path == LOGIN_PATH => next.run(req).await,
        Ok(None) => {
            let target = req
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or(HOME_PATH);
            let to = format!("{LOGIN_PATH}?redirect={}", urlencode(target));
            Redirect::to(&to).into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "tollgate cannot reach its database right now. Please try again shortly.",
        )
            .into_response(),
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    redirect: Option<String>,
}

/// Longest user name or password a sign-in form may carry.
const LOGIN_FIELD_MAX: usize = 1024;

pub async fn login_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let origin = Origin::new(ip, user_agent(&headers));
    let target = safe_redirect_target(form.redirect.as_deref()).to_string();
    // The attempt takes its unit of the client's budget before any hashing,
    // so parallel guesses cannot outrun the count; a success gives it back.
    let attempt = match state.throttle.reserve(ip) {
        Ok(attempt) => attempt,
        Err(wait) => return too_many_sign_ins(wait),
    };
    let back = |error: &str| {
        Redirect::to(&format!(
            "{LOGIN_PATH}?error={error}&redirect={}",
            urlencode(&target)
        ))
        .into_response()
    };
    if form.username.len() > LOGIN_FIELD_MAX || form.password.len() > LOGIN_FIELD_MAX {
        return back("invalid");
    }
    let password = SecretString::from(form.password);
    let user = match service::authenticate(
        &state.db,
        &state.hasher,
        &form.username,
        password,
        AuthMethod::Session,
        &origin,
    )
    .await
    {
        Ok(user) => {
            attempt.refund();
            user
        }
        Err(LoginError::Invalid) => {
            tracing::info!(client = %ip, "failed sign-in");
            return back("invalid");
        }
        Err(LoginError::Disabled) => return back("disabled"),
        Err(LoginError::Busy) => {
            attempt.refund();
            return busy_sign_in();
        }
        Err(LoginError::Service(_)) => {
            attempt.refund();
            return back("unavailable");
        }
    };
    match session::create(&state.db, &user, state.settings.session_ttl, &origin).await {
        Ok(id) => {
            tracing::info!(user = %user.login_name, "signed in");
            let cookie = session_cookie(&state, id.expose_secret().to_string());
            (jar.add(cookie), Redirect::to(&target)).into_response()
        }
        Err(_) => back("unavailable"),
    }
}

/// A small page with a way back, for the sign-in form's refusals.
fn sign_in_refused(status: StatusCode, secs: u64, title: &str, text: &str) -> Response {
    (
        status,
        [
            (header::RETRY_AFTER, secs.to_string()),
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
        ],
        format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} - tollgate</title></head>\
             <body><h1>{text}</h1><p>Please try again in {secs} seconds.</p>\
             <p><a href=\"{LOGIN_PATH}\">Back to sign in</a></p></body></html>"
        ),
    )
        .into_response()
}

/// 429 for the sign-in form, with a way back.
fn too_many_sign_ins(wait: std::time::Duration) -> Response {
    sign_in_refused(
        StatusCode::TOO_MANY_REQUESTS,
        retry_after_secs(wait),
        "Too many attempts",
        "Too many failed sign-in attempts",
    )
}

/// 503 for the sign-in form while too many passwords are being checked.
fn busy_sign_in() -> Response {
    sign_in_refused(
        StatusCode::SERVICE_UNAVAILABLE,
        BUSY_RETRY_SECS,
        "Busy",
        "The server is busy checking other sign-ins",
    )
}

pub async fn logout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    jar: CookieJar,
) -> Response {
    if let Some(c) = jar.get(session::COOKIE_NAME) {
        let origin = Origin::new(ip, user_agent(&headers));
        if let Err(e) = session::delete(&state.db, c.value(), &origin).await {
            tracing::warn!(error = %e, "could not end session");
        }
    }
    (jar.remove(removal_cookie()), Redirect::to(LOGIN_PATH)).into_response()
}
