//! Revoking one's own tokens (`/go/api/current_user/access_tokens/:id/revoke`,
//! v1), and other users' tokens staying out of reach.

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn revoke_records_who_when_and_why_and_a_second_revoke_is_409() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let (id, token) = app.create_token(&admin, "to revoke").await;
    assert_eq!(app.me(&token).await.status, StatusCode::OK);

    let res = app
        .revoke_token(&admin, id, Some("  no longer needed "))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body = res.json();
    assert_eq!(body["revoked"], true);
    assert_eq!(body["revoked_by"], "admin");
    assert_eq!(body["revoke_cause"], "no longer needed");
    let revoked_at = body["revoked_at"].as_str().unwrap().to_string();

    // Refused on the very next request, naming the time.
    let res = app.me(&token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.message(),
        format!("Invalid Personal Access Token. Access token was revoked at: {revoked_at}")
    );

    let again = app.revoke_token(&admin, id, None).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.message(), "Access token has already been revoked!");
}

#[tokio::test]
async fn a_blank_body_revokes_without_a_cause() {
    let app = TestApp::new().await;
    let (id, _) = app.create_token(&Auth::admin(), "x").await;
    let res = app
        .api_raw(
            Method::POST,
            &format!("{TOKENS}/{id}/revoke"),
            Some(&accept(1)),
            &Auth::admin(),
            Some(""),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["revoke_cause"], serde_json::Value::Null);
}

#[tokio::test]
async fn another_users_token_is_404_everywhere() {
    let app = TestApp::new().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    let (id, token) = app.create_token(&Auth::admin(), "admin's").await;
    let msg = format!("Access token with id '{id}' was not found!");
    let show = app.show_token(&alice, id).await;
    assert_eq!(show.status, StatusCode::NOT_FOUND);
    assert_eq!(show.message(), msg);
    let revoke = app.revoke_token(&alice, id, None).await;
    assert_eq!(revoke.status, StatusCode::NOT_FOUND);
    assert_eq!(revoke.message(), msg);
    // Still alive.
    assert_eq!(app.me(&token).await.status, StatusCode::OK);
    let list = app.list_tokens(&alice, Some("all")).await;
    assert_eq!(list.json()["_embedded"]["access_tokens"], json!([]));

    for bad in ["999999", "abc", "-1", "1.5"] {
        let res = app.show_token(&alice, bad).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(
            res.message(),
            format!("Access token with id '{bad}' was not found!")
        );
    }
}

#[tokio::test]
async fn concurrent_revokes_of_one_token_give_exactly_one_200() {
    let app = TestApp::new().await;
    let (id, _) = app.create_token(&Auth::admin(), "contested").await;
    let cookie = Auth::Cookie(app.login("admin", ADMIN_PASSWORD).await);
    let mut handles = Vec::new();
    for i in 0..100 {
        let (client, cookie) = (app.client(), cookie.clone());
        handles.push(tokio::spawn(async move {
            let cause = format!("revoker {i}");
            client.revoke_token(&cookie, id, Some(&cause)).await.status
        }));
    }
    let mut ok = 0;
    let mut conflict = 0;
    for h in handles {
        match h.await.unwrap() {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => conflict += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((ok, conflict), (1, 99));
}
