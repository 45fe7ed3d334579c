//! The GoCD-compatible JSON API: Accept versioning, exact errors, HAL links.
//! Handlers know HTTP and nothing of SQL; the rules live in the services.

mod accept;
mod access;
mod admin_tokens;
mod audit;
mod cctray;
mod credentials;
mod current_user;
mod error;
mod json;
pub mod openapi;
mod scopes;
mod tokens;
mod users;
mod version;

pub use accept::accepts_version;
use accept::{require_version, ApiVersion};
pub use error::{ApiError, WRONG_URL};
pub use json::{GoJson, BODY_LIMIT};

use crate::server::state::AppState;
use axum::http::HeaderMap;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post, MethodRouter};
use axum::Router;
use serde_json::{json, Value};

/// The routes the API serves, recorded as they are added: the router is
/// built from this and nothing else, so [`Routes::paths`] is exactly what it
/// serves, and the OpenAPI document (`openapi`) is checked against it
/// (`tests/integration/openapi.rs`): a route added here without
/// documentation fails that test.
pub struct Routes {
    router: Router<AppState>,
    paths: Vec<ServedPath>,
}

/// A path the router serves, and the GoCD `Accept` version it speaks
/// (`None`: it takes any `Accept`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServedPath {
    pub path: &'static str,
    pub version: Option<u8>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes {
            router: Router::new(),
            paths: Vec::new(),
        }
    }
}

impl Routes {
    /// Serves `path` with `methods`, answering only requests whose `Accept`
    /// names GoCD's version `v` (404 otherwise, as GoCD does).
    pub fn versioned(self, path: &'static str, v: u8, methods: MethodRouter<AppState>) -> Self {
        let methods = methods.layer(from_fn_with_state(ApiVersion(v), require_version));
        self.add(path, Some(v), methods)
    }

    /// Serves `path` with `methods`, whatever the `Accept` header says.
    pub fn any_accept(self, path: &'static str, methods: MethodRouter<AppState>) -> Self {
        self.add(path, None, methods)
    }

    fn add(
        mut self,
        path: &'static str,
        version: Option<u8>,
        methods: MethodRouter<AppState>,
    ) -> Self {
        self.paths.push(ServedPath { path, version });
        self.router = self.router.route(path, methods);
        self
    }

    /// Every path served, in the order added.
    pub fn paths(&self) -> &[ServedPath] {
        &self.paths
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

/// The API's routes: GoCD's (v1 tokens and current user, v3 users),
/// tollgate's additions, the CCTray feed and the OpenAPI document.
pub fn routes() -> Routes {
    Routes::default()
        .versioned("/go/api/version", 1, get(version::show))
        .versioned("/go/api/current_user", 1, get(current_user::show))
        .versioned("/go/api/users", 3, get(users::index).post(users::create))
        .versioned(
            "/go/api/users/{login_name}",
            3,
            get(users::show).patch(users::update).delete(users::destroy),
        )
        .versioned(tokens::BASE, 1, get(tokens::index).post(tokens::create))
        .versioned(
            "/go/api/current_user/access_tokens/{id}",
            1,
            get(tokens::show),
        )
        .versioned(
            "/go/api/current_user/access_tokens/{id}/revoke",
            1,
            post(tokens::revoke),
        )
        .versioned(
            "/go/api/current_user/access_tokens/{id}/rotate",
            1,
            post(tokens::rotate),
        )
        .versioned(tokens::ADMIN_BASE, 1, get(admin_tokens::index))
        .versioned(
            "/go/api/admin/access_tokens/{id}",
            1,
            get(admin_tokens::show),
        )
        .versioned(
            "/go/api/admin/access_tokens/{id}/revoke",
            1,
            post(admin_tokens::revoke),
        )
        .versioned(scopes::BASE, 1, get(scopes::index).post(scopes::create))
        .versioned("/go/api/admin/scopes/{name}", 1, delete(scopes::destroy))
        .versioned(audit::ADMIN_BASE, 1, get(audit::admin_index))
        .versioned(audit::OWN_BASE, 1, get(audit::own_index))
        .any_accept("/go/api/credentials/revoke", post(credentials::revoke))
        .any_accept("/go/cctray.xml", get(cctray::show))
        .any_accept(openapi::PATH, get(openapi::show))
}

/// The API's router: [`routes`], a 404 for any other path under `/go/api`,
/// and the token-expiration header on every answer.
pub fn router(routes: Routes) -> Router<AppState> {
    routes
        .into_router()
        .route("/go/api", any(wrong_url))
        .route("/go/api/", any(wrong_url))
        .route("/go/api/{*rest}", any(wrong_url))
        .layer(axum::middleware::from_fn(
            crate::server::auth::expiration_header,
        ))
}

async fn wrong_url() -> Response {
    ApiError::WrongUrl.into_response()
}

/// `http://host` as the client addressed us, for HAL links.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    state.settings.base_url(headers)
}

pub fn link(href: String) -> Value {
    json!({ "href": href })
}
