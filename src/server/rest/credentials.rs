//! `POST /go/api/credentials/revoke`: anyone who finds a leaked token can
//! kill it, without an account (as GitHub's `POST /credentials/revoke`). The
//! answer is always the same 202, so it cannot be used to test a token.

use super::{ApiError, GoJson};
use crate::server::guard::ClientIp;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

/// Most strings one report may carry.
pub const REPORT_MAX: usize = 1000;

/// Tokens found where they should not be.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LeakReport, examples(json!({"credentials": ["tgp_0123456789abcdefghijklmnopqrst0a1b2c"]})))]
pub struct Report {
    #[schema(min_items = 1, max_items = 1000)]
    credentials: Vec<String>,
}

const SHAPE: &str =
    "The body must be {\"credentials\": [\"tgp_...\", ...]} with 1 to 1000 strings.";

pub async fn revoke(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: Result<GoJson<Report>, ApiError>,
) -> Result<Response, ApiError> {
    if let Err(wait) = state.reports.failed(ip) {
        return Err(ApiError::TooManyRequests {
            message: format!(
                "Too many leaked-token reports from this address. Try again in {} seconds.",
                crate::server::throttle::retry_after_secs(wait)
            ),
            retry_after: crate::server::throttle::retry_after_secs(wait),
        });
    }
    let report = match body {
        Ok(GoJson(report)) => report,
        // Any body that is not the report's shape, JSON or not.
        Err(ApiError::Message(StatusCode::BAD_REQUEST, m))
        | Err(ApiError::Message(StatusCode::UNPROCESSABLE_ENTITY, m)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{SHAPE} {m}"),
            ))
        }
        Err(e) => return Err(e),
    };
    if report.credentials.is_empty() || report.credentials.len() > REPORT_MAX {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, SHAPE));
    }
    state
        .tokens
        .revoke_reported(&report.credentials, ip)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({})),
    )
        .into_response())
}
