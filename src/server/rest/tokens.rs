//! `/go/api/current_user/access_tokens` (v1): the caller's own tokens.

use super::{base_url, link, ApiError, GoJson};
use crate::model::{TokenFilter, TokenView};
use crate::server::auth::Caller;
use crate::server::state::AppState;
use crate::server::tokens::service::not_found;
use crate::server::tokens::AccessToken;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

const DOC: &str = "https://api.gocd.org/current/#access-tokens";
const BASE: &str = "/go/api/current_user/access_tokens";
/// Where the admin route serves everyone's tokens (see `admin_tokens`).
pub const ADMIN_BASE: &str = "/go/api/admin/access_tokens";

/// GoCD's token JSON: the token's one shape, [`TokenView`], as serde writes
/// it, with HAL links; only admin routes show `revoked_because_user_deleted`.
pub fn token_json(base: &str, path: &str, t: &TokenView, admin: bool) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or_else(|_| json!({}));
    v["_links"] = json!({
        "self": link(format!("{base}{path}/{}", t.id)),
        "doc": link(DOC.into()),
        "find": link(format!("{base}{path}/:id")),
    });
    if !admin {
        if let Some(fields) = v.as_object_mut() {
            fields.remove("revoked_because_user_deleted");
        }
    }
    v
}

pub fn list_json(base: &str, path: &str, tokens: &[TokenView], admin: bool) -> Value {
    json!({
        "_links": { "self": link(format!("{base}{path}")), "doc": link(DOC.into()) },
        "_embedded": {
            "access_tokens": tokens.iter().map(|t| token_json(base, path, t, admin)).collect::<Vec<_>>()
        },
    })
}

/// The first value of query parameter `name`, decoded.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

/// Reads `filter` from the query string: blank is active, unknown is a 400.
pub fn filter_param(query: Option<&str>) -> Result<TokenFilter, ApiError> {
    TokenFilter::parse(query_param(query, "filter").as_deref())
        .map_err(|m| ApiError::new(StatusCode::BAD_REQUEST, m))
}

/// Path ids that are not numbers name no token: 404, as for unknown ids.
pub fn token_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().map_err(|_| {
        let shown: String = raw.chars().take(64).collect();
        not_found(shown).into()
    })
}

/// Responses that carry a token or token lists are never cached.
pub fn no_store(body: Value) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

pub async fn index(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    caller: Caller,
) -> Result<Response, ApiError> {
    let filter = filter_param(query.as_deref())?;
    let tokens = state.tokens.list_own(&caller, filter).await?;
    let views: Vec<TokenView> = tokens.iter().map(|t| t.view()).collect();
    Ok(no_store(list_json(
        &base_url(&state, &headers),
        BASE,
        &views,
        false,
    )))
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = token_id(&id)?;
    let token = state.tokens.get_own(&caller, id).await?;
    Ok(token_response(&state, &headers, &token, false))
}

/// One token, as the owner's route (`admin` false) or the admin's shows it.
pub fn token_response(
    state: &AppState,
    headers: &HeaderMap,
    token: &AccessToken,
    admin: bool,
) -> Response {
    let path = if admin { ADMIN_BASE } else { BASE };
    no_store(token_json(
        &base_url(state, headers),
        path,
        &token.view(),
        admin,
    ))
}

#[derive(Deserialize)]
pub struct CreateBody {
    #[serde(default)]
    description: String,
}

/// Answers 200 (as GoCD does, not 201) with the secret, this one time.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    GoJson(body): GoJson<CreateBody>,
) -> Result<Response, ApiError> {
    let (token, plain) = match state.tokens.create(&caller, &body.description).await {
        Ok(created) => created,
        Err(e) => {
            // GoCD answers a validation error with the entity and its errors.
            return Err(match ApiError::from(e) {
                ApiError::Unprocessable { message, errors } => ApiError::unprocessable_entity(
                    message,
                    errors,
                    json!({ "description": body.description }),
                ),
                other => other,
            });
        }
    };
    let mut v = token_json(&base_url(&state, &headers), BASE, &token.view(), false);
    v["token"] = json!(plain.expose());
    Ok(no_store(v))
}

/// `{"revoke_cause": "..."}`, optional; a blank body is `{}`.
#[derive(Deserialize)]
pub struct RevokeBody {
    pub revoke_cause: Option<String>,
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
    Path(id): Path<String>,
    GoJson(body): GoJson<RevokeBody>,
) -> Result<Response, ApiError> {
    revoke_answer(&state, &headers, &caller, &id, body, false).await
}

/// The owner's and the admin's revoke routes: the same answer, from the
/// service's revoke for each.
pub async fn revoke_answer(
    state: &AppState,
    headers: &HeaderMap,
    caller: &Caller,
    raw_id: &str,
    body: RevokeBody,
    admin: bool,
) -> Result<Response, ApiError> {
    let id = token_id(raw_id)?;
    let cause = body.revoke_cause.as_deref();
    let token = if admin {
        state.tokens.admin_revoke(caller, id, cause).await?
    } else {
        state.tokens.revoke_own(caller, id, cause).await?
    };
    Ok(token_response(state, headers, &token, admin))
}
