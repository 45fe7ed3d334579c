//! `/go/api/current_user/access_tokens` (v1): the caller's own tokens.

use super::access::TokenRoute;
use super::{base_url, link, ApiError, GoJson};
use crate::model::{TokenFilter, TokenView};
use crate::server::auth::Caller;
use crate::server::scope::Grants;
use crate::server::state::AppState;
use crate::server::time::{iso, now_millis};
use crate::server::tokens::format::PlainToken;
use crate::server::tokens::service::{not_found, TokenRequest};
use crate::server::tokens::AccessToken;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::future::ready;
use futures_util::{stream, Stream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};

const DOC: &str = "https://api.gocd.org/current/#access-tokens";
pub const BASE: &str = "/go/api/current_user/access_tokens";
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
    if let Some(fields) = v.as_object_mut() {
        // For the pages only.
        fields.remove("expires_soon");
        if !admin {
            fields.remove("revoked_because_user_deleted");
        }
    }
    v
}

fn list_links(base: &str, path: &str) -> Value {
    json!({ "self": link(format!("{base}{path}")), "doc": link(DOC.into()) })
}

pub fn list_json(base: &str, path: &str, tokens: &[TokenView], admin: bool) -> Value {
    json!({
        "_links": list_links(base, path),
        "_embedded": {
            "access_tokens": tokens.iter().map(|t| token_json(base, path, t, admin)).collect::<Vec<_>>()
        },
    })
}

/// Tokens written out to the response in [`list_json`]'s shape as they are read, so that
/// a list of any length is never held whole. An error part-way ends the
/// response unfinished, which a client sees as a broken transfer, never
/// as a shorter list.
pub fn list_stream<E>(
    base: String,
    path: &'static str,
    rows: impl Stream<Item = Result<AccessToken, E>> + Send + 'static,
    admin: bool,
) -> Response
where
    E: Into<axum::BoxError> + Send + 'static,
{
    let tail = format!("]}},\"_links\":{}}}", list_links(&base, path));
    let mut first = true;
    let tokens = rows.ready_chunks(256).map(move |batch| {
        let mut out = String::new();
        for row in batch {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(&token_json(&base, path, &row?.view(), admin).to_string());
        }
        Ok::<_, E>(Bytes::from(out))
    });
    let body = stream::once(ready(Ok(Bytes::from_static(
        b"{\"_embedded\":{\"access_tokens\":[",
    ))))
    .chain(tokens)
    .chain(stream::once(ready(Ok(Bytes::from(tail)))));
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_TYPE, "application/json"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// The first value of query parameter `name`, decoded.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

/// Reads `page_size` from the query string: a number, or a 400.
pub fn page_size_param(query: Option<&str>) -> Result<Option<i64>, ApiError> {
    match query_param(query, "page_size") {
        None => Ok(None),
        Some(raw) => raw.trim().parse::<i64>().map(Some).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "Value of query parameter `page_size` must be a number.",
            )
        }),
    }
}

/// The `next` link of a paged list: the request's `kept` parameters, and
/// `after`.
pub fn next_link(base: &str, path: &str, query: Option<&str>, kept: &[&str], after: &str) -> Value {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for name in kept {
        if let Some(v) = query_param(query, name) {
            q.append_pair(name, &v);
        }
    }
    q.append_pair("after", after);
    super::link(format!("{base}{path}?{}", q.finish()))
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
    TokenRoute(caller): TokenRoute,
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
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
    TokenRoute(caller): TokenRoute,
    State(state): State<AppState>,
    headers: HeaderMap,
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

/// `{"description": "...", "scopes": [...], "expires_at": "...",
/// "allowed_cidrs": [...]}`; a missing or null description is blank; without
/// the others the token opens the API (`api`) from anywhere, as GoCD's, and
/// expires as the policy says (never, without a maximum).
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(
    as = CreateAccessTokenRequest,
    examples(
        json!({"description": "ci bot"}),
        json!({"description": "dashboards", "scopes": ["read_api"], "expires_at": "2030-01-31T00:00:00Z", "allowed_cidrs": ["127.0.0.0/8", "::1"]})
    )
)]
pub struct CreateBody {
    /// What the token is for: required (blank is refused with 422), at most
    /// 1024 characters.
    #[serde(default)]
    #[schema(required = true, nullable = false, min_length = 1, max_length = 1024)]
    description: Option<String>,
    /// What it opens (tollgate's): `api` (the default), `read_api`,
    /// `introspect`, `NAME` or `NAME:read` of a service scope; at most 64.
    #[serde(default)]
    scopes: Option<Vec<String>>,
    /// When it stops working (tollgate's), ISO-8601 UTC; by default never,
    /// or the server's maximum lifetime.
    #[serde(default)]
    #[schema(format = DateTime)]
    expires_at: Option<String>,
    /// Networks it may be used from (tollgate's): CIDRs or addresses, at
    /// most 20; by default anywhere.
    #[serde(default)]
    allowed_cidrs: Option<Vec<String>>,
}

/// Answers 200 (as GoCD does, not 201) with the secret, this one time.
pub async fn create(
    TokenRoute(caller): TokenRoute,
    State(state): State<AppState>,
    headers: HeaderMap,
    GoJson(body): GoJson<CreateBody>,
) -> Result<Response, ApiError> {
    let base = base_url(&state, &headers);
    let ask = TokenRequest {
        description: body.description.clone().unwrap_or_default(),
        scopes: body.scopes.clone(),
        expires_at: body.expires_at.clone(),
        allowed_cidrs: body.allowed_cidrs.clone(),
    };
    let created = state.tokens.create_with(&caller, &ask).await;
    let (token, plain) = match created {
        Ok(created) => created,
        Err(e) => {
            // GoCD answers a validation error with the unsaved token and its errors.
            return Err(match ApiError::from(e) {
                ApiError::Unprocessable { message, errors } => ApiError::unprocessable_entity(
                    message,
                    errors,
                    unsaved_json(&base, &caller, body),
                ),
                other => other,
            });
        }
    };
    Ok(created_response(&base, &token, &plain))
}

/// A new token, with its secret this one time.
fn created_response(base: &str, token: &AccessToken, plain: &PlainToken) -> Response {
    let mut v = token_json(base, BASE, &token.view(), false);
    v["token"] = json!(plain.expose());
    no_store(v)
}

/// `POST …/access_tokens/:id/rotate`: 200 with the new token and its secret,
/// this one time; the old one is revoked. A token rotated away before is 409,
/// and its whole rotation chain is revoked.
pub async fn rotate(
    TokenRoute(caller): TokenRoute,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = token_id(&id)?;
    let (token, plain) = state.tokens.rotate_own(&caller, id).await?;
    Ok(created_response(
        &base_url(&state, &headers),
        &token,
        &plain,
    ))
}

/// The token a refused create would have made, as GoCD shows it beside the
/// errors: the token's shape without an id, a `self` link or a secret.
fn unsaved_json(base: &str, caller: &Caller, body: CreateBody) -> Value {
    let view = TokenView {
        id: 0,
        description: String::new(),
        username: caller.user.login_name.clone(),
        created_at: iso(now_millis()),
        last_used_at: None,
        revoked: false,
        revoked_at: None,
        revoked_by: None,
        revoke_cause: None,
        revoked_because_user_deleted: false,
        scopes: body
            .scopes
            .unwrap_or_else(|| Grants::default_api().names().to_vec()),
        expires_at: body.expires_at.clone(),
        expired: false,
        expires_soon: false,
        rotated_from: None,
        last_used_ips: Vec::new(),
        last_used_user_agent: None,
        allowed_cidrs: body.allowed_cidrs.unwrap_or_default(),
    };
    let mut v = token_json(base, BASE, &view, false);
    if let Some(fields) = v.as_object_mut() {
        fields.remove("id");
        fields.insert("description".into(), json!(body.description));
    }
    if let Some(links) = v["_links"].as_object_mut() {
        links.remove("self");
    }
    v
}

/// `{"revoke_cause": "..."}`, optional; a blank body is `{}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = RevokeAccessTokenRequest, examples(json!({"revoke_cause": "no longer used"})))]
pub struct RevokeBody {
    /// Why, at most 1024 characters.
    #[schema(max_length = 1024)]
    pub revoke_cause: Option<String>,
}

pub async fn revoke(
    TokenRoute(caller): TokenRoute,
    State(state): State<AppState>,
    headers: HeaderMap,
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
