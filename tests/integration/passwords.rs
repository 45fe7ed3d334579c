//! Issue 16, section 6: a user changes their own password (the Change
//! password page's server function), and an admin resets someone's.

use crate::common::*;
use axum::http::StatusCode;

fn form(current: &str, new: &str) -> String {
    format!(
        "current_password={}&new_password={}",
        encode(current),
        encode(new)
    )
}

#[tokio::test]
async fn a_user_changes_their_password_and_their_other_sessions_end() {
    let app = TestApp::new().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let here = Auth::Cookie(app.login("alice", USER_PASSWORD).await);
    let elsewhere = Auth::Cookie(app.login("alice", USER_PASSWORD).await);
    let (_, token) = app
        .create_token(&Auth::basic("alice", USER_PASSWORD), "ci")
        .await;

    // A wrong current password: a clear error, nothing changed.
    let res = app
        .server_fn(
            "change_password",
            &form("not-the-password", "new-password-1"),
            &here,
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    assert!(
        res.text().contains("The current password is not correct."),
        "{}",
        res.text()
    );
    // A new one the policy refuses.
    let res = app
        .server_fn("change_password", &form(USER_PASSWORD, "short"), &here)
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().contains("Password must be"), "{}", res.text());
    assert_eq!(
        app.current_user(&Auth::basic("alice", USER_PASSWORD))
            .await
            .status,
        StatusCode::OK
    );

    let res = app
        .server_fn(
            "change_password",
            &form(USER_PASSWORD, "new-password-1"),
            &here,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // The old password is gone, the new one works.
    assert_eq!(
        app.current_user(&Auth::basic("alice", USER_PASSWORD))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.current_user(&Auth::basic("alice", "new-password-1"))
            .await
            .status,
        StatusCode::OK
    );
    // This session goes on; the other one ended; tokens keep working.
    assert_eq!(app.current_user(&here).await.status, StatusCode::OK);
    assert_eq!(
        app.current_user(&elsewhere).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.me(&token).await.status, StatusCode::OK);

    // Recorded, by the user, without the password.
    let events = app.own_events(&here, "?action=user.password_changed").await;
    let events = events.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["actor"], "alice");
    assert_eq!(events[0]["details"]["by"], "self");
}

#[tokio::test]
async fn a_token_cannot_change_a_password_and_guesses_are_throttled() {
    let app = TestApp::with_settings(Settings {
        auth_failures_per_minute: 1,
        auth_failure_burst: 2,
        ..Settings::default()
    })
    .await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let (_, token) = app
        .create_token(&Auth::basic("alice", USER_PASSWORD), "ci")
        .await;
    let res = app
        .server_fn(
            "change_password",
            &form(USER_PASSWORD, "new-password-1"),
            &Auth::bearer(&token),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());

    let cookie = Auth::Cookie(app.login("alice", USER_PASSWORD).await);
    let stored = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT password_hash FROM users WHERE login_name = 'alice'",
        )
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
    };
    let before = stored().await;
    for _ in 0..2 {
        let res = app
            .server_fn(
                "change_password",
                &form("guess-guess-1", "new-password-1"),
                &cookie,
            )
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let res = app
        .server_fn(
            "change_password",
            &form(USER_PASSWORD, "new-password-1"),
            &cookie,
        )
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.text());
    assert!(
        res.text().contains("Too many failed attempts"),
        "{}",
        res.text()
    );
    assert_eq!(stored().await, before, "unchanged");
}

#[tokio::test]
async fn an_admin_resets_a_password_from_the_users_page() {
    let app = TestApp::new().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice_session = Auth::Cookie(app.login("alice", USER_PASSWORD).await);
    let admin = Auth::Cookie(app.login("admin", ADMIN_PASSWORD).await);
    let res = app
        .server_fn(
            "reset_user_password",
            "login_name=alice&password=reset-password-1",
            &admin,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        app.current_user(&Auth::basic("alice", "reset-password-1"))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.current_user(&alice_session).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Not for non-admins.
    let alice = Auth::Cookie(app.login("alice", "reset-password-1").await);
    let res = app
        .server_fn(
            "reset_user_password",
            "login_name=admin&password=mine-now-123",
            &alice,
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
}
