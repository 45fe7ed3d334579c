//! The pages' server functions (`/go/fn/...`): they share the services with
//! the REST API, and take the session cookie only.

use crate::common::*;
use axum::http::{header, StatusCode};

/// The pages' server functions share the service: same rules, session only.
#[tokio::test]
async fn server_functions_create_list_and_revoke_with_the_session_only() {
    let app = TestApp::new().await;
    let cookie = Auth::Cookie(app.login("admin", ADMIN_PASSWORD).await);
    let res = app
        .server_fn("create_token", "description=from+the+page", &cookie)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header(header::CACHE_CONTROL), "no-store");
    let created = res.json();
    let secret = created["secret"].as_str().unwrap().to_string();
    let id = created["token"]["id"].as_i64().unwrap();
    assert_eq!(created["token"]["description"], "from the page");

    let res = app
        .server_fn("create_token", "description=+++", &cookie)
        .await;
    assert!(
        res.text().contains("Description must not be blank"),
        "{}",
        res.text()
    );

    // A token cannot drive the pages' functions either: no session, no access.
    let bearer = Auth::bearer(&secret);
    let res = app
        .server_fn("create_token", "description=x", &bearer)
        .await;
    assert_ne!(res.status, StatusCode::OK);
    assert!(res.text().contains("Unauthenticated"), "{}", res.text());
    let res = app.server_fn("list_tokens", "filter=all", &bearer).await;
    assert!(res.text().contains("Unauthenticated"), "{}", res.text());

    let res = app.server_fn("list_tokens", "filter=all", &cookie).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json().as_array().unwrap().len(), 1);
    assert!(!res.text().contains(&secret));

    let res = app
        .server_fn("revoke_token", &format!("id={id}&cause=done"), &cookie)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["revoked"], true);
    assert_eq!(res.json()["revoke_cause"], "done");
    let res = app
        .server_fn("revoke_token", &format!("id={id}"), &cookie)
        .await;
    assert!(
        res.text().contains("already been revoked"),
        "{}",
        res.text()
    );
}

#[tokio::test]
async fn the_current_user_server_function_uses_the_session_only() {
    let app = TestApp::new().await;
    let cookie = Auth::Cookie(app.login("admin", ADMIN_PASSWORD).await);
    let res = app.server_fn("current_user", "", &cookie).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["login_name"], "admin");
    assert_eq!(res.json()["is_admin"], true);
    let res = app.server_fn("current_user", "", &Auth::None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json(), serde_json::Value::Null);
}
