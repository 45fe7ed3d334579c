use super::{base_url, link};
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

/// `GET /go/api/version`: answers without authentication.
pub async fn show(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&state, &headers);
    let version = env!("CARGO_PKG_VERSION");
    Json(json!({
        "_links": {
            "self": link(format!("{base}/go/api/version")),
            "doc": link("https://api.gocd.org/current/#version".into()),
        },
        "version": version,
        "build_number": "0",
        "git_sha": option_env!("TOLLGATE_GIT_SHA").unwrap_or("unknown"),
        "full_version": format!("{version} (tollgate)"),
        "commit_url": "",
    }))
}
