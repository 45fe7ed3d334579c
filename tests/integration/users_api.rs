//! `/go/api/users` (v3): every path, and its errors.

use crate::common::*;
use axum::http::{header, Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn admins_list_create_show_update_and_delete_users() {
    let app = TestApp::new().await;
    let admin = Auth::admin();

    let res = app
        .create_user(
            &admin,
            json!({
                "login_name": "Alice", "display_name": "Alice A.", "email": "alice@example.com",
                "email_me": true, "checkin_aliases": ["alice", "aa"], "password": USER_PASSWORD
            }),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body = res.json();
    assert_eq!(body["login_name"], "Alice");
    assert_eq!(body["display_name"], "Alice A.");
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["email_me"], true);
    assert_eq!(body["checkin_aliases"], json!(["alice", "aa"]));
    assert_eq!(body["is_admin"], false);
    assert_eq!(body["enabled"], true);
    assert_eq!(
        body["_links"]["self"]["href"],
        "http://localhost/go/api/users/Alice"
    );
    assert!(body.get("password").is_none() && !res.text().contains("argon2"));

    // The new user can sign in with the password given.
    let me = app.current_user(&Auth::basic("alice", USER_PASSWORD)).await;
    assert_eq!(me.status, StatusCode::OK);

    let list = app.list_users(&admin).await;
    assert_eq!(list.status, StatusCode::OK);
    let names: Vec<_> = list.json()["_embedded"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["admin", "Alice"]);

    let show = app.show_user(&admin, "ALICE").await;
    assert_eq!(show.status, StatusCode::OK);
    assert_eq!(show.json()["login_name"], "Alice");

    let patched = app
        .update_user(
            &admin,
            "alice",
            json!({"email": "", "enabled": false, "is_admin": true}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text());
    assert_eq!(patched.json()["email"], serde_json::Value::Null);
    assert_eq!(patched.json()["enabled"], false);
    assert_eq!(patched.json()["is_admin"], true);

    let deleted = app.delete_user(&admin, "alice").await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.message(), "User 'Alice' was deleted successfully.");
    assert_eq!(
        app.show_user(&admin, "alice").await.status,
        StatusCode::NOT_FOUND
    );

    // The name is free again, for a different user.
    let again = app
        .create_user(
            &admin,
            json!({"login_name": "alice", "password": "another-password"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    let old = app.current_user(&Auth::basic("alice", USER_PASSWORD)).await;
    assert_eq!(
        old.status,
        StatusCode::UNAUTHORIZED,
        "the old password belonged to the deleted user"
    );
}

#[tokio::test]
async fn non_admins_are_forbidden() {
    let app = TestApp::new().await;
    app.add_user("bob", USER_PASSWORD, false).await;
    let bob = Auth::basic("bob", USER_PASSWORD);
    let calls = [
        (Method::GET, "/go/api/users", None),
        (
            Method::POST,
            "/go/api/users",
            Some(json!({"login_name": "x", "password": "xxxxxxxxxx"})),
        ),
        (Method::GET, "/go/api/users/admin", None),
        (
            Method::PATCH,
            "/go/api/users/admin",
            Some(json!({"enabled": false})),
        ),
        (Method::DELETE, "/go/api/users/admin", None),
    ];
    for (method, path, body) in calls {
        let res = app.api(method.clone(), path, 3, &bob, body).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(
            res.message(),
            "You are not authorized to perform this action."
        );
    }
    let anon = app.list_users(&Auth::None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn deleting_an_enabled_user_is_refused() {
    let app = TestApp::new().await;
    app.add_user("carol", USER_PASSWORD, false).await;
    let res = app.delete_user(&Auth::admin(), "carol").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(
        res.message().contains("is not disabled"),
        "{}",
        res.message()
    );
    // Nothing changed.
    let res = app.current_user(&Auth::basic("carol", USER_PASSWORD)).await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn admins_cannot_lock_themselves_out() {
    let app = TestApp::new().await;
    let res = app.set_enabled(&Auth::admin(), "admin", false).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    let res = app
        .update_user(&Auth::admin(), "admin", json!({"admin": false}))
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_users_are_404() {
    let app = TestApp::new().await;
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let res = app
            .api(
                method.clone(),
                "/go/api/users/ghost",
                3,
                &Auth::admin(),
                Some(json!({})),
            )
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{method}");
        assert_eq!(res.message(), "User 'ghost' was not found!");
    }
    let res = app.show_user(&Auth::admin(), "%3Cscript%3E").await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn invalid_users_are_422_with_errors_and_nothing_is_created() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let cases = [
        (json!({}), "login_name"),
        (
            json!({"login_name": "a b", "password": "long-enough"}),
            "login_name",
        ),
        (
            json!({"login_name": "x".repeat(65), "password": "long-enough"}),
            "login_name",
        ),
        (
            json!({"login_name": "dave", "password": "short"}),
            "password",
        ),
        (
            json!({"login_name": "dave", "password": "long-enough", "email": "e".repeat(300)}),
            "email",
        ),
        (
            json!({"login_name": "dave", "password": "long-enough", "display_name": "a\u{0}b"}),
            "display_name",
        ),
        (
            json!({"login_name": "admin", "password": "long-enough"}),
            "login_name",
        ),
        (
            json!({"login_name": "ADMIN", "password": "long-enough"}),
            "login_name",
        ),
    ];
    for (body, field) in cases {
        let res = app.create_user(&admin, body.clone()).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let json = res.json();
        assert!(json["errors"][field].is_array(), "{body}: {json}");
        assert!(!res.message().is_empty());
    }
    let list = app.list_users(&admin).await;
    assert_eq!(
        list.json()["_embedded"]["users"].as_array().unwrap().len(),
        1
    );

    let dup = app
        .create_user(
            &admin,
            json!({"login_name": "Admin", "password": "long-enough"}),
        )
        .await;
    assert!(
        dup.message().contains("already exists"),
        "{}",
        dup.message()
    );
}

#[tokio::test]
async fn bad_bodies_get_clear_4xx_answers() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let v3 = accept(3);
    let post = |body: &'static str| {
        app.api_raw(Method::POST, "/go/api/users", Some(&v3), &admin, Some(body))
    };

    let res = post("{not json").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.message().contains("not valid JSON"));

    let res = post(r#"{"login_name": 42}"#).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.message().contains("invalid field"));

    // Not an object (issue 17): 400, as GoCD answers.
    let res = post("[]").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert!(res.message().contains("JSON object"));

    // A blank body is `{}`: the missing login name is the error.
    let res = post("   ").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.json()["errors"]["login_name"].is_array());

    let huge = format!(r#"{{"login_name": "{}"}}"#, "a".repeat(100_000));
    let res = app
        .api_raw(
            Method::POST,
            "/go/api/users",
            Some(&v3),
            &admin,
            Some(&huge),
        )
        .await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        res.header(header::CONTENT_TYPE).contains("json"),
        "{}",
        res.text()
    );

    let res = app
        .api_raw(
            Method::PATCH,
            "/go/api/users/admin",
            Some(&v3),
            &admin,
            Some(r#"{"enabled": "yes"}"#),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn users_created_without_a_password_cannot_sign_in_until_given_one() {
    let app = TestApp::new().await;
    let res = app
        .create_user(&Auth::admin(), json!({"login_name": "erin"}))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    for attempt in ["", "!", "anything-at-all"] {
        let r = app.current_user(&Auth::basic("erin", attempt)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{attempt:?}");
    }
    let res = app
        .update_user(&Auth::admin(), "erin", json!({"password": "erin-password"}))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let r = app
        .current_user(&Auth::basic("erin", "erin-password"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
}
