//! Health checks for supervisors (Kubernetes probes, systemd, load
//! balancers): unauthenticated, cheap, and never a write.
//!
//! - `GET /healthz`: the process is up and serving (200).
//! - `GET /readyz`: the database answers and its schema is this build's
//!   (200 `{"status":"ready"}`), else 503 with the reason.

use crate::server::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use std::time::Duration;

/// A probe waits at most this long for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

pub async fn live() -> Response {
    answer(StatusCode::OK, json!({ "status": "up" }))
}

pub async fn ready(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(READY_TIMEOUT, state.db.ready()).await {
        Ok(Ok(())) => answer(StatusCode::OK, json!({ "status": "ready" })),
        Ok(Err(reason)) => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "unavailable", "reason": reason }),
        ),
        Err(_) => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({ "status": "unavailable", "reason": format!("the database did not answer within {} s", READY_TIMEOUT.as_secs()) }),
        ),
    }
}
