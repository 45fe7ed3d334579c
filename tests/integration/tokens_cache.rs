//! What a token proves is remembered (the verified-token cache), and when it
//! was last used is written in batches: both must stay right.

use crate::common::*;
use axum::http::StatusCode;
use serde_json::json;

/// A verified token is remembered, so a busy token costs one database read
/// per TTL; yet every revoke, disable or delete made through the server
/// refuses it on the very next request.
#[tokio::test]
async fn cached_tokens_are_refused_at_once_after_a_revoke_disable_or_delete() {
    let app = TestApp::with_settings(Settings {
        auth_cache_ttl: std::time::Duration::from_secs(60),
        ..Settings::default()
    })
    .await;
    let admin = Auth::admin();
    app.add_user("carl", USER_PASSWORD, false).await;
    let carl = Auth::basic("carl", USER_PASSWORD);

    // Revoke.
    let (id, token) = app.create_token(&carl, "busy").await;
    let before = app.state.tokens.lookups();
    for _ in 0..20 {
        assert_eq!(app.me(&token).await.status, StatusCode::OK);
    }
    assert_eq!(
        app.state.tokens.lookups(),
        before + 1,
        "one read for 20 uses"
    );
    let res = app.revoke_token(&carl, id, None).await;
    assert_eq!(res.status, StatusCode::OK);
    let res = app.me(&token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.message().contains("revoked at"), "{}", res.text());

    // Disable, enable, then delete.
    let (_, token) = app.create_token(&carl, "busy 2").await;
    assert_eq!(app.me(&token).await.status, StatusCode::OK);
    let set_enabled = |enabled: bool| app.set_enabled(&admin, "carl", enabled);
    assert_eq!(set_enabled(false).await.status, StatusCode::OK);
    assert_eq!(app.me(&token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(set_enabled(true).await.status, StatusCode::OK);
    assert_eq!(app.me(&token).await.status, StatusCode::OK);
    // What a token proves follows the user at once, too.
    let res = app
        .update_user(&admin, "carl", json!({ "display_name": "Carl C." }))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(app.me(&token).await.json()["display_name"], "Carl C.");
    let res = app.disable_and_delete_user(&admin, "carl").await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(app.me(&token).await.status, StatusCode::UNAUTHORIZED);
}

async fn revoke_behind_the_back(app: &TestApp, id: i64) {
    sqlx::query("UPDATE access_tokens SET revoked = 1, revoked_at = 1 WHERE id = $1")
        .bind(id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
}

/// A change no server hears of (another process writing to the database
/// directly) is honoured when the cached entry expires; with a TTL of 0,
/// every request reads the database.
#[tokio::test]
async fn changes_behind_the_servers_back_are_seen_within_the_ttl() {
    let app = TestApp::with_settings(Settings {
        auth_cache_ttl: std::time::Duration::from_millis(200),
        ..Settings::default()
    })
    .await;
    let (id, token) = app.create_token(&Auth::admin(), "cached").await;
    assert_eq!(app.me(&token).await.status, StatusCode::OK);
    revoke_behind_the_back(&app, id).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.me(&token).await.status == StatusCode::OK {
        assert!(
            std::time::Instant::now() < deadline,
            "still accepted 10 s after a 200 ms TTL"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let app = TestApp::with_settings(Settings {
        auth_cache_ttl: std::time::Duration::ZERO,
        ..Settings::default()
    })
    .await;
    let (id, token) = app.create_token(&Auth::admin(), "uncached").await;
    let before = app.state.tokens.lookups();
    assert_eq!(app.me(&token).await.status, StatusCode::OK);
    assert_eq!(app.me(&token).await.status, StatusCode::OK);
    assert_eq!(app.state.tokens.lookups(), before + 2);
    revoke_behind_the_back(&app, id).await;
    assert_eq!(app.me(&token).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_hot_token_costs_one_write_per_flush_not_one_per_request() {
    let app = TestApp::new().await;
    let (id, token) = app.create_token(&Auth::admin(), "hot").await;
    let writes_before = app.state.tokens.last_used.writes();
    for _ in 0..200 {
        assert_eq!(app.me(&token).await.status, StatusCode::OK);
    }
    assert_eq!(
        app.state.tokens.last_used.writes(),
        writes_before,
        "no writes between flushes"
    );
    // The page and API already show the use before it is written.
    let show = app.show_token(&Auth::admin(), id).await;
    assert!(show.json()["last_used_at"].is_string());

    let written = app.flush_last_used().await;
    assert_eq!(written, 1);
    assert_eq!(app.state.tokens.last_used.writes(), writes_before + 1);
    // A second flush with no new use writes nothing.
    assert_eq!(app.flush_last_used().await, 0);

    // It is in the database now: another instance (no memory of the uses) sees it.
    let b = app.second_instance().await;
    let show = b.show_token(&Auth::admin(), id).await;
    assert!(show.json()["last_used_at"].is_string(), "{}", show.text());
}

#[tokio::test]
async fn last_used_never_moves_backwards() {
    let app = TestApp::new().await;
    let (id, token) = app.create_token(&Auth::admin(), "t").await;
    assert_eq!(app.me(&token).await.status, StatusCode::OK);
    let last_used =
        || async { app.show_token(&Auth::admin(), id).await.json()["last_used_at"].clone() };
    app.flush_last_used().await;
    let newest = last_used().await;
    // A slow instance flushes an older time afterwards.
    app.state
        .tokens
        .last_used
        .record(id, 1_000, LOCALHOST, None);
    app.flush_last_used().await;
    assert_eq!(last_used().await, newest);
}
