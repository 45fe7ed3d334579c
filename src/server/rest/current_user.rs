use super::{base_url, link};
use crate::server::auth::Caller;
use crate::server::state::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde_json::{json, Value};

/// `GET /go/api/current_user` (v1): who the caller is.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Caller,
) -> Json<Value> {
    let base = base_url(&state, &headers);
    let u = &caller.user;
    Json(json!({
        "_links": {
            "self": link(format!("{base}/go/api/current_user")),
            "doc": link("https://api.gocd.org/current/#current-user".into()),
        },
        "login_name": u.login_name,
        "display_name": u.display_name,
        "enabled": u.enabled,
        "email": u.email,
        "email_me": u.email_me,
        "checkin_aliases": u.aliases(),
    }))
}
