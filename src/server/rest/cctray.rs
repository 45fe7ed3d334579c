//! `/go/cctray.xml`: GoCD's CCTray feed. tollgate guards access to it (Bearer
//! and Basic work here, as in GoCD) but has no pipelines of its own, so the
//! feed is empty. Errors are XML too.

use crate::server::auth::{AuthError, Identified};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

pub async fn show(Identified(caller): Identified) -> Response {
    match caller {
        Ok(_) => xml(
            StatusCode::OK,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Projects/>\n".into(),
        ),
        Err(e) => {
            let message = match &e {
                AuthError::Service(s) => s.to_string(),
                other => other.to_string(),
            };
            // The status the API would answer (401, 403, 429, 503...).
            let status = super::ApiError::from(e).into_response().status();
            xml(
                status,
                format!(
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<access-denied><message>{}</message></access-denied>\n",
                    escape(&message)
                ),
            )
        }
    }
}
