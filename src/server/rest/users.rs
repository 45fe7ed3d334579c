//! `/go/api/users` (v3), admins only.

use super::{base_url, link, ApiError, GoJson};
use crate::server::auth::Caller;
use crate::server::state::AppState;
use crate::server::users::service::{self, NewUser, UserPatch};
use crate::server::users::{Actor, User};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{json, Value};

const DOC: &str = "https://api.gocd.org/current/#users";

fn user_json(base: &str, u: &User) -> Value {
    json!({
        "_links": {
            "doc": link(DOC.into()),
            "self": link(format!("{base}/go/api/users/{}", u.login_name)),
            "find": link(format!("{base}/go/api/users/:login_name")),
        },
        "login_name": u.login_name,
        "display_name": u.display_name,
        "enabled": u.enabled,
        "email": u.email,
        "email_me": u.email_me,
        "checkin_aliases": u.aliases(),
        "is_admin": u.is_admin,
    })
}

fn actor(caller: Caller) -> Actor {
    Actor::from(caller)
}

pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let users = service::list(&state.db, &actor(caller)).await?;
    let base = base_url(&state, &headers);
    Ok(Json(json!({
        "_links": { "self": link(format!("{base}/go/api/users")), "doc": link(DOC.into()) },
        "_embedded": { "users": users.iter().map(|u| user_json(&base, u)).collect::<Vec<_>>() },
    })))
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Path(login): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let user = service::get(&state.db, &actor(caller), &login).await?;
    Ok(Json(user_json(&base_url(&state, &headers), &user)))
}

fn yes() -> bool {
    true
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(
    as = CreateUserRequest,
    examples(json!({"login_name": "alice", "email": "alice@example.com", "password": "s3cret-passw0rd", "admin": false}))
)]
pub struct CreateUser {
    /// Letters, digits and `._@-`; unique, case-insensitively.
    #[serde(default)]
    #[schema(required = true, min_length = 1, max_length = 64)]
    login_name: String,
    display_name: Option<String>,
    email: Option<String>,
    #[serde(default)]
    email_me: bool,
    #[serde(default)]
    checkin_aliases: Vec<String>,
    /// tollgate's addition: without it the user cannot sign in until one is set.
    password: Option<String>,
    /// tollgate's addition (`is_admin` too).
    #[serde(default, alias = "is_admin")]
    admin: bool,
    #[serde(default = "yes")]
    enabled: bool,
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    GoJson(body): GoJson<CreateUser>,
) -> Result<Json<Value>, ApiError> {
    let new = NewUser {
        login_name: body.login_name,
        display_name: body.display_name,
        email: body.email,
        email_me: body.email_me,
        checkin_aliases: body.checkin_aliases,
        password: body.password.map(SecretString::from),
        admin: body.admin,
        enabled: body.enabled,
    };
    let user = service::create(&state.db, &actor(caller), new).await?;
    Ok(Json(user_json(&base_url(&state, &headers), &user)))
}

/// The fields to change; the others stay as they are.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = PatchUserRequest, examples(json!({"display_name": "Alice", "enabled": false})))]
pub struct PatchUser {
    display_name: Option<String>,
    email: Option<String>,
    email_me: Option<bool>,
    checkin_aliases: Option<Vec<String>>,
    enabled: Option<bool>,
    #[serde(alias = "is_admin")]
    admin: Option<bool>,
    password: Option<String>,
}

pub async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Path(login): Path<String>,
    GoJson(body): GoJson<PatchUser>,
) -> Result<Json<Value>, ApiError> {
    let patch = UserPatch {
        display_name: body.display_name,
        email: body.email,
        email_me: body.email_me,
        checkin_aliases: body.checkin_aliases,
        enabled: body.enabled,
        admin: body.admin,
        password: body.password.map(SecretString::from),
    };
    let user = service::update(&state.db, &state.auth_cache, &actor(caller), &login, patch).await?;
    Ok(Json(user_json(&base_url(&state, &headers), &user)))
}

pub async fn destroy(
    State(state): State<AppState>,
    caller: Caller,
    Path(login): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (user, _) = service::delete(&state.db, &state.auth_cache, &actor(caller), &login).await?;
    Ok(Json(json!({
        "message": format!("User '{}' was deleted successfully.", user.login_name)
    })))
}
