//! Authenticating with tokens: Bearer on the API and cctray, what a token may
//! not do, the session cookie on the token APIs, and GoCD's refusals.

use crate::common::*;
use axum::http::{header, Method, StatusCode};
use serde_json::json;

const BEARER_FORBIDDEN: &str =
    "Unsupported operation: Accessing this API using access token is forbidden.";

#[tokio::test]
async fn tokens_can_never_mint_list_or_revoke_tokens() {
    let app = TestApp::new().await;
    let (id, token) = app.create_token(&Auth::admin(), "bot").await;
    let bearer = Auth::bearer(&token);
    let calls = [
        ("list", app.list_tokens(&bearer, None).await),
        (
            "create",
            app.post_token(&bearer, json!({"description": "minted by a token"}))
                .await,
        ),
        ("show", app.show_token(&bearer, id).await),
        ("revoke", app.revoke_token(&bearer, id, None).await),
    ];
    for (what, res) in calls {
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{what}");
        assert_eq!(res.message(), BEARER_FORBIDDEN);
    }
    // Nothing was minted or revoked.
    let list = app.list_tokens(&Auth::admin(), Some("all")).await.tokens();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["revoked"], false);
    // Lower-case scheme is still Bearer.
    let req = axum::http::Request::builder()
        .uri(TOKENS)
        .header(header::ACCEPT, accept(1))
        .header(header::AUTHORIZATION, format!("bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_session_cookie_works_on_token_apis() {
    let app = TestApp::new().await;
    let cookie = Auth::Cookie(app.login("admin", ADMIN_PASSWORD).await);
    let res = app
        .post_token(&cookie, json!({"description": "from the browser"}))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let list = app.list_tokens(&cookie, None).await;
    assert_eq!(list.tokens().len(), 1);
}

#[tokio::test]
async fn bearer_failures_are_401_with_gocd_messages() {
    let app = TestApp::new().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    let (_, token) = app.create_token(&alice, "alice's").await;
    assert_eq!(app.me(&token).await.status, StatusCode::OK);

    for garbage in ["nonsense", "tgp_short", &"a".repeat(40)] {
        let res = app.me(garbage).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.message(), "Invalid Personal Access Token.");
    }

    // Disabled: refused with GoCD's message, and works again once re-enabled.
    let admin = Auth::admin();
    app.set_enabled(&admin, "alice", false).await;
    let res = app.me(&token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.message(),
        "Your account has been disabled by the administrator"
    );
    app.set_enabled(&admin, "alice", true).await;
    assert_eq!(app.me(&token).await.status, StatusCode::OK);

    // Deleted: invalid, also for a new user of the same name.
    let del = app.disable_and_delete_user(&admin, "alice").await;
    assert_eq!(del.status, StatusCode::OK);
    let res = app.me(&token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.message(), "Invalid Personal Access Token.");
    app.add_user("alice", "new-alice-password", false).await;
    let res = app.me(&token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.message(), "Invalid Personal Access Token.");
}

#[tokio::test]
async fn forged_tokens_are_refused_before_any_database_query() {
    let app = TestApp::new().await;
    let (_, token) = app.create_token(&Auth::admin(), "real").await;
    let before = app.state.tokens.lookups();
    // Same prefix and length, one character changed: the checksum fails.
    let mut forged: Vec<char> = token.chars().collect();
    forged[12] = if forged[12] == 'x' { 'y' } else { 'x' };
    let forged: String = forged.into_iter().collect();
    for t in [
        forged.as_str(),
        "tgp_",
        "ghp_0123456789012345678901234567890123",
        "x",
    ] {
        assert_eq!(app.me(t).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.state.tokens.lookups(),
        before,
        "no lookup for malformed tokens"
    );
    // A well-formed token does reach the database (so the counter counts).
    assert_eq!(app.me(&token).await.status, StatusCode::OK);
    assert_eq!(app.state.tokens.lookups(), before + 1);

    // With the database gone, a forged token is still a clean 401, while a
    // well-formed one not seen before needs the database and says it is
    // unavailable.
    app.state.db.pool.close().await;
    assert_eq!(app.me(&forged).await.status, StatusCode::UNAUTHORIZED);
    let unseen = tollgate::server::tokens::format::PlainToken::generate();
    assert_eq!(
        app.me(unseen.expose()).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn cctray_takes_bearer_and_answers_xml_even_for_errors() {
    let app = TestApp::new().await;
    let (_, token) = app.create_token(&Auth::admin(), "cctray").await;
    // No Accept header: cctray is not a versioned API.
    let get = |auth: Auth| {
        let app = &app;
        async move {
            app.api_raw(Method::GET, "/go/cctray.xml", None, &auth, None)
                .await
        }
    };
    let ok = get(Auth::Bearer(token)).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok
        .header(header::CONTENT_TYPE)
        .starts_with("application/xml"));
    assert!(ok.text().contains("<Projects/>"));
    let bad = get(Auth::bearer("tgp_nope")).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad
        .header(header::CONTENT_TYPE)
        .starts_with("application/xml"));
    assert!(bad.text().contains(
        "<access-denied><message>Invalid Personal Access Token.</message></access-denied>"
    ));
    let anon = get(Auth::None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert!(anon.text().contains("<access-denied>"));
}
