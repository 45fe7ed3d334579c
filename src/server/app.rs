//! The router: pages, server functions, the REST API, sign-in and static files.

use crate::app::{shell, App};
use crate::model::{safe_redirect_target, HOME_PATH, LOGIN_PATH, LOGIN_SUBMIT_PATH, LOGOUT_PATH};
use crate::server::auth::{self, session, session_user};
use crate::server::config::Settings;
use crate::server::db::Db;
use crate::server::limits::{self, retry_after_secs, AuthThrottle, ClientIp};
use crate::server::tokens::Tokens;
use crate::server::users::password;
use crate::server::users::service::{self, LoginError};
use crate::server::{assets, rest};
use axum::extract::{FromRef, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::{Arc, OnceLock};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub tokens: Tokens,
    pub throttle: Arc<AuthThrottle>,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    /// Every password check and hash of the server goes through it.
    pub hasher: Arc<password::Hasher>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    pub fn new(db: Db, settings: Settings) -> Self {
        let leptos_options = LeptosOptions::builder()
            .output_name(env!("CARGO_PKG_NAME"))
            .site_pkg_dir("pkg")
            .build();
        let trusted = settings
            .trusted_proxy_header
            .as_deref()
            .and_then(|h| axum::http::HeaderName::from_bytes(h.trim().as_bytes()).ok());
        db.auth_cache.set_ttl(settings.auth_cache_ttl);
        db.spawn_auth_listener();
        AppState {
            throttle: Arc::new(AuthThrottle::new(
                settings.auth_failures_per_minute,
                settings.auth_failure_burst,
                trusted,
            )),
            tokens: Tokens::new(db.clone())
                .with_max_active_per_user(settings.max_active_tokens_per_user),
            db,
            hasher: password::Hasher::shared(settings.password_checks, settings.password_queue),
            settings: Arc::new(settings),
            leptos_options,
        }
    }
}

/// The pages' routes, found once per process. Finding them renders the app in
/// leptos's route-generation mode, which sets a process-wide flag
/// (`SuppressResourceLoad`) under which any resource created anywhere in the
/// process never loads, and whatever awaits it is never woken
/// (leptos-rs/leptos#4773). Done again while another router of the same
/// process renders pages (the tests and benches build many routers), a page
/// would hang forever. Once, before any router exists, nothing can render
/// meanwhile: every caller waits here until it is done.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn build_router(state: AppState) -> Router {
    let routes = page_routes();
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, || {}, {
            let options = state.leptos_options.clone();
            move || shell(options.clone())
        })
        .route_layer(from_fn_with_state(state.clone(), require_page_session));

    // Bodies of forms and server functions are bounded here; the API's JSON
    // bodies are bounded by `rest::GoJson`, which answers in the API's own format.
    let web = Router::new()
        .route(LOGIN_SUBMIT_PATH, post(login_submit))
        .route(LOGOUT_PATH, post(logout))
        .merge(pages)
        .layer(RequestBodyLimitLayer::new(rest::BODY_LIMIT));

    Router::new()
        .route("/", get(|| async { Redirect::to(HOME_PATH) }))
        .merge(rest::router())
        .merge(web)
        .fallback(assets::serve)
        .layer(from_fn_with_state(state.clone(), limits::guard))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Pages need a session; a visitor without one goes to the login page and comes
/// back after it. Server functions (under /go/fn) check the caller themselves.
/// `Authorization` is never looked at here: a token cannot open a page.
async fn require_page_session(
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
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    redirect: Option<String>,
}

/// Longest user name or password a sign-in form may carry.
const LOGIN_FIELD_MAX: usize = 1024;

async fn login_submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
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
    let user = match service::authenticate(&state.db, &state.hasher, &form.username, password).await
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
    match session::create(&state.db, user.id, state.settings.session_ttl).await {
        Ok(id) => {
            tracing::info!(user = %user.login_name, "signed in");
            let cookie = auth::session_cookie(&state, id.expose_secret().to_string());
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
        auth::BUSY_RETRY_SECS,
        "Busy",
        "The server is busy checking other sign-ins",
    )
}

async fn logout(State(state): State<AppState>, jar: CookieJar) -> Response {
    if let Some(c) = jar.get(session::COOKIE_NAME) {
        if let Err(e) = session::delete(&state.db, c.value()).await {
            tracing::warn!(error = %e, "could not end session");
        }
    }
    (jar.remove(auth::removal_cookie()), Redirect::to(LOGIN_PATH)).into_response()
}
