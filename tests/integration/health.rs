//! Issue 16 (health): `/healthz` and `/readyz`, unauthenticated and cheap.

use crate::common::*;
use axum::http::{header, StatusCode};
use serde_json::json;

#[tokio::test]
async fn health_checks_answer_without_authentication_and_write_nothing() {
    let app = TestApp::new().await;
    let (id, token) = app.create_token(&Auth::admin(), "probe").await;
    let live = app.get_page("/healthz", None).await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.json(), json!({ "status": "up" }));
    assert_eq!(live.header(header::CACHE_CONTROL), "no-store");
    // Every response has an id (issue 16), a generated UUID here.
    let request_id = live.header(header::HeaderName::from_static("x-request-id"));
    assert_eq!(
        (request_id.len(), request_id.matches('-').count()),
        (36, 4),
        "{request_id:?}"
    );
    let ready = app.get_page("/readyz", None).await;
    assert_eq!(ready.status, StatusCode::OK);
    assert_eq!(ready.json(), json!({ "status": "ready" }));
    // A token sent along is not looked at: no use is recorded.
    let mut req = axum::http::Request::builder().uri("/readyz");
    req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
    let res = app
        .exchange(req.body(axum::body::Body::empty()).unwrap())
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(app.flush_last_used().await, 0);
    assert!(app.show_token(&Auth::admin(), id).await.json()["last_used_at"].is_null());
}

#[tokio::test]
async fn readyz_says_why_when_the_database_is_gone() {
    let app = TestApp::new().await;
    assert_eq!(app.get_page("/readyz", None).await.status, StatusCode::OK);
    app.state.db.pool.close().await;
    let res = app.get_page("/readyz", None).await;
    assert_eq!(
        res.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        res.text()
    );
    assert_eq!(res.json()["status"], "unavailable");
    assert!(
        res.json()["reason"].as_str().unwrap().contains("database"),
        "{}",
        res.text()
    );
    // The process itself is still up.
    assert_eq!(app.get_page("/healthz", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn readyz_refuses_a_schema_older_than_the_build() {
    let app = TestApp::new().await;
    sqlx::query("UPDATE _sqlx_migrations SET success = false WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let res = app.get_page("/readyz", None).await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        res.json()["reason"].as_str().unwrap().contains("migration"),
        "{}",
        res.text()
    );
}
