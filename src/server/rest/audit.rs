//! `/go/api/admin/audit_events` (v1), everyone's events for admins, and
//! `/go/api/current_user/audit_events` (v1), the caller's own: newest first,
//! paged as the admin token list (`page_size`, `after`, a `next` link).

use super::access::{AdminRoute, TokenRoute};
use super::tokens::{next_link, no_store, page_size_param, query_param};
use super::{base_url, link, ApiError};
use crate::server::audit::{self, AuditQuery};
use crate::server::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

pub const ADMIN_BASE: &str = "/go/api/admin/audit_events";
pub const OWN_BASE: &str = "/go/api/current_user/audit_events";

/// The parameters each list takes, kept in its `next` link.
const ADMIN_PARAMS: [&str; 7] = [
    "q",
    "action",
    "user",
    "token_id",
    "since",
    "until",
    "page_size",
];
const OWN_PARAMS: [&str; 6] = ["q", "action", "token_id", "since", "until", "page_size"];

fn query(raw: Option<&str>) -> Result<AuditQuery, ApiError> {
    Ok(AuditQuery {
        q: query_param(raw, "q"),
        action: query_param(raw, "action"),
        user: query_param(raw, "user"),
        token_id: query_param(raw, "token_id"),
        since: query_param(raw, "since"),
        until: query_param(raw, "until"),
        page_size: page_size_param(raw)?,
        after: query_param(raw, "after"),
    })
}

fn answer(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    raw: Option<&str>,
    kept: &[&str],
    page: crate::model::AuditPage,
) -> Response {
    let base = base_url(state, headers);
    let mut body = json!({
        "_links": { "self": link(format!("{base}{path}")) },
        "_embedded": { "audit_events": page.events },
    });
    if let Some(next) = page.next {
        body["_links"]["next"] = next_link(&base, path, raw, kept, &next);
    }
    no_store(body)
}

pub async fn admin_index(
    AdminRoute(caller): AdminRoute,
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let raw = raw.as_deref();
    let page = audit::admin_page(&state.db, &caller, &query(raw)?).await?;
    Ok(answer(
        &state,
        &headers,
        ADMIN_BASE,
        raw,
        &ADMIN_PARAMS,
        page,
    ))
}

pub async fn own_index(
    TokenRoute(caller): TokenRoute,
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let raw = raw.as_deref();
    let page = audit::own_page(&state.db, &caller, &query(raw)?).await?;
    Ok(answer(&state, &headers, OWN_BASE, raw, &OWN_PARAMS, page))
}
