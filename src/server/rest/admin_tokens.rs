//! `/go/api/admin/access_tokens` (v1): everyone's tokens, admins only.
//! GoCD's list has no paging: without `page_size` and `after` the answer
//! holds every token (streamed). tollgate keeps its shape and adds optional
//! `q`, and paging with `page_size` and `after`, with a `next` link while
//! more remain.

use super::access::AdminRoute;
use super::tokens::{
    filter_param, list_json, list_stream, next_link, no_store, page_size_param, query_param,
    revoke_answer, token_id, token_response, RevokeBody, ADMIN_BASE as BASE,
};
use super::{base_url, ApiError, GoJson};
use crate::model::TokenView;
use crate::server::state::AppState;
use crate::server::tokens::service::{expiring_within, AdminListQuery};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

pub async fn index(
    AdminRoute(caller): AdminRoute,
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = query.as_deref();
    let filter = filter_param(query)?;
    let page_size = page_size_param(query)?;
    let after = query_param(query, "after");
    let expiring = expiring_within(query_param(query, "expiring_within_days").as_deref())?;
    if page_size.is_none() && after.is_none() {
        // GoCD's list: every token, however many.
        let rows = state
            .tokens
            .admin_all(
                &caller,
                filter,
                query_param(query, "q").as_deref(),
                expiring,
            )
            .await?;
        return Ok(list_stream(base_url(&state, &headers), BASE, rows, true));
    }
    let page = state
        .tokens
        .admin_list(
            &caller,
            AdminListQuery {
                filter,
                q: query_param(query, "q"),
                page_size,
                after,
                expiring_within_days: expiring,
            },
        )
        .await?;
    let base = base_url(&state, &headers);
    let views: Vec<TokenView> = page.tokens.iter().map(|t| t.view()).collect();
    let mut body = list_json(&base, BASE, &views, true);
    if let Some(next) = page.next {
        body["_links"]["next"] = next_link(
            &base,
            BASE,
            query,
            &["filter", "q", "page_size", "expiring_within_days"],
            &next,
        );
    }
    Ok(no_store(body))
}

pub async fn show(
    AdminRoute(caller): AdminRoute,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = token_id(&id)?;
    let token = state.tokens.admin_get(&caller, id).await?;
    Ok(token_response(&state, &headers, &token, true))
}

pub async fn revoke(
    AdminRoute(caller): AdminRoute,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    GoJson(body): GoJson<RevokeBody>,
) -> Result<Response, ApiError> {
    revoke_answer(&state, &headers, &caller, &id, body, true).await
}
