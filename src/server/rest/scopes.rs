//! `/go/api/admin/scopes` (v1): the service scopes admins define. Admins
//! only, never with a token.

use super::access::AdminRoute;
use super::{base_url, link, ApiError, GoJson};
use crate::server::scopes::{self, Scope};
use crate::server::state::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

pub const BASE: &str = "/go/api/admin/scopes";

fn scope_json(s: &Scope) -> Value {
    json!({ "name": s.name, "description": s.description })
}

pub async fn index(
    AdminRoute(caller): AdminRoute,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let list = scopes::list(&state.db, &caller.into()).await?;
    Ok(Json(json!({
        "_links": { "self": link(format!("{}{BASE}", base_url(&state, &headers))) },
        "_embedded": { "scopes": list.iter().map(scope_json).collect::<Vec<_>>() },
    }))
    .into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CreateScopeRequest, examples(json!({"name": "grafana", "description": "Grafana dashboards"})))]
pub struct CreateBody {
    /// Lower-case letters, digits, `_`, `.` and `-`, starting with a letter
    /// or digit; not a built-in scope (`api`, `read_api`, `introspect`).
    #[serde(default)]
    #[schema(
        required = true,
        nullable = false,
        pattern = "^[a-z0-9][a-z0-9_.-]{0,62}$"
    )]
    name: Option<String>,
    /// Required, at most 1024 characters.
    #[serde(default)]
    #[schema(required = true, nullable = false, min_length = 1, max_length = 1024)]
    description: Option<String>,
}

pub async fn create(
    AdminRoute(caller): AdminRoute,
    State(state): State<AppState>,
    GoJson(body): GoJson<CreateBody>,
) -> Result<Response, ApiError> {
    let name = body.name.as_deref().unwrap_or_default();
    let description = body.description.as_deref().unwrap_or_default();
    match scopes::add(&state.db, &caller.into(), name, description).await {
        Ok(scope) => Ok(Json(scope_json(&scope)).into_response()),
        // As GoCD answers a validation error: the entity and its errors.
        Err(e) => Err(match ApiError::from(e) {
            ApiError::Unprocessable { message, errors } => ApiError::unprocessable_entity(
                message,
                errors,
                json!({ "name": body.name, "description": body.description }),
            ),
            other => other,
        }),
    }
}

pub async fn destroy(
    AdminRoute(caller): AdminRoute,
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let done = scopes::delete(&state.db, &state.auth_cache, &caller.into(), &name).await?;
    Ok(Json(json!({
        "message": format!(
            "Scope '{}' was deleted: removed from {} token(s), {} of which had no other scope and were revoked.",
            done.scope.name, done.tokens, done.revoked
        ),
        "tokens": done.tokens,
        "revoked": done.revoked,
    }))
    .into_response())
}
