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
use axum::routing::{any, delete, get, post};
use axum::Router;
use serde_json::{json, Value};

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
            "/go/api/current_user/access_tokens/{id}/rotate",
            post(tokens::rotate).layer(from_fn_with_state(ApiVersion(1), require_version)),
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
        .route(
            scopes::BASE,
            get(scopes::index)
                .post(scopes::create)
                .layer(from_fn_with_state(ApiVersion(1), require_version)),
        )
        .route(
            "/go/api/admin/scopes/{name}",
            delete(scopes::destroy).layer(from_fn_with_state(ApiVersion(1), require_version)),
        )
        .route(
            audit::ADMIN_BASE,
            get(audit::admin_index).layer(from_fn_with_state(ApiVersion(1), require_version)),
        )
        .route(
            audit::OWN_BASE,
            get(audit::own_index).layer(from_fn_with_state(ApiVersion(1), require_version)),
        )
        .route("/go/api/credentials/revoke", post(credentials::revoke))
        .route("/go/cctray.xml", get(cctray::show))
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
