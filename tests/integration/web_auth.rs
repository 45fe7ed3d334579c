//! Signing in and out of the web UI, sessions, and the page guard.

use crate::common::*;
use axum::http::{header, StatusCode};
use tollgate::server::config::Settings;

#[tokio::test]
async fn login_sets_a_safe_cookie_and_logout_ends_the_session() {
    let app = TestApp::new().await;
    let res = app
        .login_form("admin", ADMIN_PASSWORD, Some("/go/admin/users"))
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header(header::LOCATION), "/go/admin/users");
    let set = res.header(header::SET_COOKIE);
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Lax"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    assert!(!set.contains("Secure"), "not behind TLS: {set}");
    let cookie = set.split(';').next().unwrap().to_string();

    let page = app.get_page("/go/admin/users", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header(header::CACHE_CONTROL), "no-store");
    let html = page.text();
    assert!(
        html.contains("Access Tokens Management"),
        "admin menu missing"
    );
    assert!(html.contains("Personal Access Tokens"));

    let out = app.logout(&cookie).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.header(header::LOCATION), "/go/auth/login");
    assert!(out
        .header(header::SET_COOKIE)
        .starts_with("tollgate_session=;"));

    // The old cookie is dead even if a client keeps sending it.
    let page = app.get_page("/go/admin/users", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn login_names_are_case_insensitive() {
    let app = TestApp::new().await;
    app.login("ADMIN", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn wrong_user_and_wrong_password_get_the_same_answer() {
    let app = TestApp::new().await;
    let wrong_pw = app
        .login_form("admin", "nope-nope-nope", Some("/go/admin/users"))
        .await;
    let no_user = app
        .login_form("ghost", "nope-nope-nope", Some("/go/admin/users"))
        .await;
    let bad_name = app
        .login_form("<script>", "nope-nope-nope", Some("/go/admin/users"))
        .await;
    for res in [&wrong_pw, &no_user, &bad_name] {
        assert_eq!(res.status, StatusCode::SEE_OTHER);
        assert_eq!(
            res.header(header::LOCATION),
            "/go/auth/login?error=invalid&redirect=%2Fgo%2Fadmin%2Fusers"
        );
        assert!(res.header(header::SET_COOKIE).is_empty());
    }
}

#[tokio::test]
async fn oversized_login_fields_are_refused_without_hashing() {
    let app = TestApp::new().await;
    let res = app.login_form("admin", &"x".repeat(5000), None).await;
    assert!(res.header(header::LOCATION).contains("error=invalid"));
}

#[tokio::test]
async fn a_disabled_user_cannot_sign_in_and_loses_their_session() {
    let app = TestApp::new().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let cookie = app.login("alice", USER_PASSWORD).await;
    assert_eq!(
        app.get_page("/go/access_tokens", Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );

    let res = app.set_enabled(&Auth::admin(), "alice", false).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    assert_eq!(
        app.get_page("/go/access_tokens", Some(&cookie))
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let res = app.login_form("alice", USER_PASSWORD, None).await;
    assert!(res.header(header::LOCATION).contains("error=disabled"));
    assert!(res.header(header::SET_COOKIE).is_empty());
}

#[tokio::test]
async fn redirects_after_login_never_leave_the_site() {
    let app = TestApp::new().await;
    for evil in [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let res = app.login_form("admin", ADMIN_PASSWORD, Some(evil)).await;
        assert_eq!(res.header(header::LOCATION), "/go/access_tokens", "{evil}");
    }
}

#[tokio::test]
async fn pages_need_a_session_and_send_visitors_back_after_login() {
    let app = TestApp::new().await;
    let res = app.get_page("/go/admin/users?x=1", None).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        res.header(header::LOCATION),
        "/go/auth/login?redirect=%2Fgo%2Fadmin%2Fusers%3Fx%3D1"
    );

    let login = app
        .get_page("/go/auth/login?redirect=%2Fgo%2Fadmin%2Fusers", None)
        .await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.text().contains("Sign in"));

    // A signed-in user who opens the login page goes home.
    let cookie = app.login("admin", ADMIN_PASSWORD).await;
    let res = app.get_page("/go/auth/login", Some(&cookie)).await;
    assert_eq!(res.header(header::LOCATION), "/go/access_tokens");
    assert_eq!(
        app.get_page("/", None).await.header(header::LOCATION),
        "/go/access_tokens"
    );
}

#[tokio::test]
async fn a_bearer_header_never_opens_a_page() {
    let app = TestApp::new().await;
    let req = axum::http::Request::builder()
        .uri("/go/access_tokens")
        .header(header::AUTHORIZATION, "Bearer tgp_anything")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(res.header(header::LOCATION).starts_with("/go/auth/login"));

    // Nor does Basic: pages take only the session cookie.
    let req = axum::http::Request::builder()
        .uri("/go/access_tokens")
        .header(header::AUTHORIZATION, "Basic YWRtaW46YWRtaW4tcGFzc3dvcmQ=")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn sessions_are_shared_by_instances_on_one_database() {
    let a = TestApp::new().await;
    let b = a.second_instance().await;
    let cookie = a.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        b.get_page("/go/access_tokens", Some(&cookie)).await.status,
        StatusCode::OK
    );
    let res = b.current_user(&Auth::Cookie(cookie.clone())).await;
    assert_eq!(res.json()["login_name"], "admin");

    // Logging out on B ends the session on A.
    b.logout(&cookie).await;
    assert_eq!(
        a.get_page("/go/access_tokens", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn cookies_are_secure_behind_tls() {
    let app = TestApp::with_settings(Settings {
        behind_tls: true,
        ..Settings::default()
    })
    .await;
    let res = app.login_form("admin", ADMIN_PASSWORD, None).await;
    assert!(res.header(header::SET_COOKIE).contains("Secure"));
}
