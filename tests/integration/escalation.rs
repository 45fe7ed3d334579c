//! A token never leads to more power than it has; a password reset ends the
//! user's sessions; browser-credentialed writes cannot be forged cross-site;
//! the sign-in page keeps `redirect` without WASM.

use crate::common::*;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64::Engine;
use serde_json::json;
use tollgate::server::identity::BEARER_CANNOT_ESCALATE;
use tollgate::server::users::service::{self, UserPatch};
use tollgate::server::users::Actor;

/// The users known to the admin API, as (login, admin, enabled).
async fn users(app: &TestApp) -> Vec<(String, bool, bool)> {
    let res = app
        .api(Method::GET, "/go/api/users", 3, &Auth::admin(), None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    res.json()["_embedded"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["login_name"].as_str().unwrap().to_string(),
                u["is_admin"].as_bool().unwrap(),
                u["enabled"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_admins_token_cannot_create_credentials_or_raise_privileges() {
    let app = TestApp::new().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    app.add_user("dora", USER_PASSWORD, false).await;
    let (_, secret) = app.create_token(&Auth::admin(), "admin script").await;
    let token = Auth::Bearer(secret);
    // Disable dora with the password, so that enabling her is a raise.
    let res = app
        .api(
            Method::PATCH,
            "/go/api/users/dora",
            3,
            &Auth::admin(),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let before = users(&app).await;

    let refused = [
        (
            Method::POST,
            "/go/api/users",
            json!({ "login_name": "mallory", "password": "mallory-password" }),
        ),
        (
            Method::POST,
            "/go/api/users",
            json!({ "login_name": "mallory", "admin": true }),
        ),
        (
            Method::POST,
            "/go/api/users",
            json!({ "login_name": "mallory", "is_admin": true, "password": "mallory-password" }),
        ),
        (
            Method::PATCH,
            "/go/api/users/alice",
            json!({ "password": "new-alice-password" }),
        ),
        (
            Method::PATCH,
            "/go/api/users/alice",
            json!({ "admin": true }),
        ),
        (
            Method::PATCH,
            "/go/api/users/alice",
            json!({ "is_admin": true, "display_name": "Alice" }),
        ),
        (
            Method::PATCH,
            "/go/api/users/dora",
            json!({ "enabled": true }),
        ),
        (
            Method::PATCH,
            "/go/api/users/admin",
            json!({ "password": "other-admin-password" }),
        ),
    ];
    for (method, path, body) in refused {
        let res = app
            .api(method.clone(), path, 3, &token, Some(body.clone()))
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path} {body}");
        assert_eq!(res.message(), BEARER_CANNOT_ESCALATE);
    }
    assert_eq!(users(&app).await, before, "nothing changed");
    // The old passwords still work, the new ones do not.
    assert_eq!(
        app.login_form("alice", "new-alice-password", None)
            .await
            .header(header::LOCATION),
        "/go/auth/login?error=invalid&redirect=%2Fgo%2Faccess_tokens"
    );
    app.login("alice", USER_PASSWORD).await;
    app.login("admin", ADMIN_PASSWORD).await;

    // Writes that lower privileges, or create no credential, stay allowed to an
    // admin's token (GoCD scripts use them).
    let res = app
        .api(
            Method::POST,
            "/go/api/users",
            3,
            &token,
            Some(json!({ "login_name": "bot", "display_name": "Bot" })),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app
        .api(
            Method::PATCH,
            "/go/api/users/alice",
            3,
            &token,
            Some(json!({ "display_name": "Alice A.", "enabled": false, "admin": false })),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let res = app
        .api(Method::DELETE, "/go/api/users/alice", 3, &token, None)
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // The new user has no password: nobody can sign in as it.
    assert_eq!(
        app.login_form("bot", "", None)
            .await
            .header(header::LOCATION),
        "/go/auth/login?error=invalid&redirect=%2Fgo%2Faccess_tokens"
    );

    // The same writes with the admin's password work: the rule is about how
    // the caller authenticated, not about the caller.
    let res = app
        .api(
            Method::PATCH,
            "/go/api/users/dora",
            3,
            &Auth::admin(),
            Some(json!({ "enabled": true, "admin": true, "password": "dora-new-password" })),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

/// Every server function refuses a caller who brings only a token: they take
/// the session, never `Authorization`.
#[tokio::test]
async fn no_server_function_accepts_a_bearer_token() {
    let app = TestApp::new().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let (id, secret) = app.create_token(&Auth::admin(), "admin script").await;
    let calls = [
        ("current_user", String::new()),
        ("list_tokens", "filter=all".to_string()),
        ("create_token", "description=minted".to_string()),
        ("revoke_token", format!("id={id}")),
        ("admin_list_tokens", "filter=all&q=".to_string()),
        ("admin_revoke_token", format!("id={id}")),
        ("list_users", String::new()),
        (
            "add_user",
            "login_name=mallory&display_name=M&email=&password=mallory-password&admin=true"
                .to_string(),
        ),
        (
            "set_user_enabled",
            "login_name=alice&enabled=false".to_string(),
        ),
        ("delete_user", "login_name=alice".to_string()),
        ("list_scopes", String::new()),
        (
            "admin_add_scope",
            "name=evil&description=minted".to_string(),
        ),
        ("admin_delete_scope", "name=evil".to_string()),
        ("rotate_token", format!("id={id}")),
        ("token_policy", String::new()),
    ];
    for (endpoint, form) in calls {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/go/fn/{endpoint}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(header::AUTHORIZATION, format!("Bearer {secret}"))
            .body(Body::from(form))
            .unwrap();
        let res = app.send(req).await;
        if endpoint == "current_user" {
            // Answers "nobody is signed in", never the token's owner.
            assert_eq!(res.status, StatusCode::OK, "{}", res.text());
            assert_eq!(res.text(), "null");
        } else {
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{endpoint}");
            assert!(res.text().contains("Unauthenticated"), "{endpoint}");
        }
    }
    // Nothing happened: the token is still active, no user was added or changed.
    let res = app
        .api(
            Method::GET,
            &format!("/go/api/current_user/access_tokens/{id}"),
            1,
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.json()["revoked"], false);
    let names: Vec<_> = users(&app).await;
    assert_eq!(
        names,
        vec![
            ("admin".to_string(), true, true),
            ("alice".to_string(), false, true)
        ]
    );
}

#[tokio::test]
async fn a_new_password_ends_every_session_of_its_user() {
    let app = TestApp::new().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let app = &app;
    let page = move |cookie: String| async move {
        app.get_page("/go/access_tokens", Some(&cookie))
            .await
            .status
    };

    // By an admin through the API.
    let cookie = app.login("alice", USER_PASSWORD).await;
    let other = app.login("alice", USER_PASSWORD).await;
    let admin_cookie = app.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(page(cookie.clone()).await, StatusCode::OK);
    let res = app
        .api(
            Method::PATCH,
            "/go/api/users/alice",
            3,
            &Auth::admin(),
            Some(json!({ "password": "second-alice-password" })),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(page(cookie).await, StatusCode::SEE_OTHER);
    assert_eq!(page(other).await, StatusCode::SEE_OTHER);
    assert_eq!(
        page(admin_cookie.clone()).await,
        StatusCode::OK,
        "other users' sessions stay"
    );

    // A change that sets no password leaves sessions alone.
    let cookie = app.login("alice", "second-alice-password").await;
    let res = app
        .api(
            Method::PATCH,
            "/go/api/users/alice",
            3,
            &Auth::admin(),
            Some(json!({ "display_name": "Alice" })),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(page(cookie.clone()).await, StatusCode::OK);

    // By the operator (what `tollgate user password` runs).
    let patch = UserPatch {
        password: Some("third-alice-password".to_string().into()),
        ..UserPatch::default()
    };
    service::update(
        &app.state.db,
        &app.state.auth_cache,
        &Actor::Operator,
        "alice",
        patch,
    )
    .await
    .unwrap();
    assert_eq!(page(cookie).await, StatusCode::SEE_OTHER);
    app.login("alice", "third-alice-password").await;
    assert_eq!(page(admin_cookie).await, StatusCode::OK);
}

fn basic_post(path: &str, content_type: &str, extra: &[(&str, &str)], body: &str) -> Request<Body> {
    let enc = base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::ACCEPT, accept(3))
        .header(header::AUTHORIZATION, format!("Basic {enc}"))
        .header(header::CONTENT_TYPE, content_type);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    req.body(Body::from(body.to_string())).unwrap()
}

/// A cross-site form can send only text/plain, urlencoded or multipart bodies,
/// with the browser's cached Basic credentials; none of them gets in.
#[tokio::test]
async fn browser_credentialed_writes_cannot_be_forged_cross_site() {
    let app = TestApp::new().await;
    let body = r#"{"login_name":"mallory","password":"mallory-password","admin":true}"#;
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let res = app
            .send(basic_post("/go/api/users", content_type, &[], body))
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
        assert!(res.message().contains("Content-Type: application/json"));
    }
    for forged in [
        ("origin", "http://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ] {
        let res = app
            .send(basic_post("/go/api/users", "text/plain", &[forged], body))
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{forged:?}");
        assert_eq!(res.message(), "Cross-site request refused.");
    }
    assert_eq!(users(&app).await.len(), 1, "mallory was never created");

    // Scripts are unaffected: JSON with its content type, GoCD's media type
    // too, and bodiless writes without one.
    for content_type in [
        "application/json",
        "application/vnd.go.cd.v3+json; charset=utf-8",
    ] {
        let name = if content_type == "application/json" {
            "carol"
        } else {
            "dave"
        };
        let res = app
            .send(basic_post(
                "/go/api/users",
                content_type,
                &[],
                &format!(r#"{{"login_name":"{name}"}}"#),
            ))
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    }
    let (id, _) = app.create_token(&Auth::admin(), "to revoke").await;
    let res = app
        .api_raw(
            Method::POST,
            &format!("/go/api/current_user/access_tokens/{id}/revoke"),
            Some(&accept(1)),
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

/// The sign-in form carries `redirect` in its HTML, so a browser without WASM
/// is sent back where it came from.
#[tokio::test]
async fn the_sign_in_form_keeps_redirect_without_wasm() {
    let app = TestApp::new().await;
    let page = app
        .get_page("/go/auth/login?redirect=%2Fgo%2Fadmin%2Fusers", None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains(r#"name="redirect" value="/go/admin/users""#),
        "{html}"
    );
    // Submitting exactly what the HTML holds lands there.
    let res = app
        .login_form("admin", ADMIN_PASSWORD, Some("/go/admin/users"))
        .await;
    assert_eq!(res.header(header::LOCATION), "/go/admin/users");
}
