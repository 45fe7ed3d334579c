//! The API base: Accept versioning, authentication, errors.

use crate::common::*;
use axum::http::{header, Method, StatusCode};

const WRONG_URL: &str = "The url you are trying to reach appears to be incorrect.";

#[tokio::test]
async fn a_missing_or_unsupported_version_is_a_plain_404() {
    let app = TestApp::new().await;
    let cases = [
        ("/go/api/current_user", None),
        ("/go/api/current_user", Some("application/json")),
        (
            "/go/api/current_user",
            Some("application/vnd.go.cd.v2+json"),
        ),
        ("/go/api/users", Some("application/vnd.go.cd.v1+json")),
        ("/go/api/version", None),
    ];
    for (path, accept) in cases {
        let res = app
            .api_raw(Method::GET, path, accept, &Auth::admin(), None)
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path} {accept:?}");
        assert!(res.header(header::CONTENT_TYPE).starts_with("text/plain"));
        assert_eq!(res.text(), WRONG_URL);
    }
    // Checked before authentication, as GoCD routes by Accept first.
    let res = app
        .api_raw(Method::GET, "/go/api/users", None, &Auth::None, None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_unversioned_media_type_means_latest_and_responses_are_versioned() {
    let app = TestApp::new().await;
    for (path, accept, answered) in [
        ("/go/api/users", "application/vnd.go.cd+json", 3),
        (
            "/go/api/current_user",
            "text/html, application/vnd.go.cd.v1+json;q=0.9",
            1,
        ),
    ] {
        let res = app
            .api_raw(Method::GET, path, Some(accept), &Auth::admin(), None)
            .await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(
            res.header(header::CONTENT_TYPE),
            format!("application/vnd.go.cd.v{answered}+json; charset=utf-8")
        );
    }
}

#[tokio::test]
async fn unknown_api_paths_are_a_plain_404() {
    let app = TestApp::new().await;
    let res = app
        .api(Method::GET, "/go/api/nothing/here", 1, &Auth::admin(), None)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.text(), WRONG_URL);
}

#[tokio::test]
async fn version_answers_without_authentication() {
    let app = TestApp::new().await;
    let res = app
        .api(Method::GET, "/go/api/version", 1, &Auth::None, None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let body = res.json();
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        body["_links"]["self"]["href"],
        "http://localhost/go/api/version"
    );
}

#[tokio::test]
async fn current_user_with_basic_auth() {
    let app = TestApp::new().await;
    let res = app
        .current_user(&Auth::basic("Admin", ADMIN_PASSWORD))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let body = res.json();
    assert_eq!(body["login_name"], "admin");
    assert_eq!(body["display_name"], "admin");
    assert_eq!(body["enabled"], true);
    assert_eq!(body["email"], serde_json::Value::Null);
}

#[tokio::test]
async fn authentication_failures_are_401_with_a_message() {
    let app = TestApp::new().await;
    let path = "/go/api/current_user";
    let anon = app.current_user(&Auth::None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anon.message(), "You are not authenticated!");
    assert_eq!(
        anon.header(header::WWW_AUTHENTICATE),
        "Basic realm=\"GoCD\""
    );

    let bad = app
        .current_user(&Auth::basic("admin", "wrong-password"))
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad.message().starts_with("Invalid credentials."));
    let ghost = app
        .current_user(&Auth::basic("ghost", "wrong-password"))
        .await;
    assert_eq!(
        ghost.message(),
        bad.message(),
        "must not reveal which part was wrong"
    );

    let garbage = app
        .api_raw(Method::GET, path, Some(&accept(1)), &Auth::None, None)
        .await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);

    let bearer = app.me("tgp_notatoken").await;
    assert_eq!(bearer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bearer.message(), "Invalid Personal Access Token.");
}

#[tokio::test]
async fn malformed_authorization_headers_are_401_not_500() {
    let app = TestApp::new().await;
    for value in [
        "Basic !!!",
        "Basic",
        "Digest abc",
        "Bearer",
        "Basic YWRtaW4=",
    ] {
        let req = axum::http::Request::builder()
            .uri("/go/api/current_user")
            .header(header::ACCEPT, accept(1))
            .header(header::AUTHORIZATION, value)
            .body(axum::body::Body::empty())
            .unwrap();
        let res = app.send(req).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{value}");
        assert!(!res.message().is_empty());
    }
}

#[tokio::test]
async fn a_disabled_user_is_refused_by_basic_auth() {
    let app = TestApp::new().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    assert_eq!(app.current_user(&alice).await.status, StatusCode::OK);
    app.set_enabled(&Auth::admin(), "alice", false).await;
    let res = app.current_user(&alice).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.message(),
        "Your account has been disabled by the administrator"
    );
}

#[tokio::test]
async fn static_files_and_unknown_paths() {
    let app = TestApp::new().await;
    let res = app.get_page("/no/such/file.js", None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}
