//! `GET /metrics` on the metrics listener (`--metrics-addr`): the gauges
//! that are read rather than counted are set, then everything is rendered
//! in the Prometheus text format 0.0.4 (see `metrics`).

use crate::server::metrics::handle;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics::gauge;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The token counts are read from the database at most this often.
const TOKENS_EVERY: Duration = Duration::from_secs(60);

/// The token counts and when they were read.
static TOKENS: Mutex<Option<(Instant, [i64; 3])>> = Mutex::new(None);

/// Sets the gauges that are read rather than counted, then renders.
async fn scrape(State(state): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return (StatusCode::NOT_FOUND, "metrics are off").into_response();
    };
    gauge!("tollgate_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    gauge!("tollgate_last_used_pending").set(state.tokens.last_used.len() as f64);
    let pool = &state.db.pool;
    let idle = pool.num_idle() as f64;
    gauge!("tollgate_db_pool_connections", "state" => "idle").set(idle);
    gauge!("tollgate_db_pool_connections", "state" => "in_use").set(f64::from(pool.size()) - idle);
    let stale = TOKENS
        .lock()
        .map(|t| t.is_none_or(|(at, _)| at.elapsed() >= TOKENS_EVERY))
        .unwrap_or(true);
    if stale {
        if let Ok(counts) = state.tokens.state_counts().await {
            if let Ok(mut t) = TOKENS.lock() {
                *t = Some((Instant::now(), counts));
            }
        }
    }
    if let Some((_, [active, expired, revoked])) = TOKENS.lock().ok().and_then(|t| *t) {
        for (s, n) in [
            ("active", active),
            ("expired", expired),
            ("revoked", revoked),
        ] {
            gauge!("tollgate_tokens", "state" => s).set(n as f64);
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// `GET /metrics`, for the metrics listener only.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}
