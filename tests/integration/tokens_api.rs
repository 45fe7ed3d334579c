//! `/go/api/current_user/access_tokens` (v1) and Bearer authentication.

use crate::common::*;
use axum::http::{header, Method, StatusCode};
use serde_json::json;

const TOKENS: &str = "/go/api/current_user/access_tokens";
const ME: &str = "/go/api/current_user";
const BEARER_FORBIDDEN: &str =
    "Unsupported operation: Accessing this API using access token is forbidden.";

async fn me(app: &TestApp, token: &str) -> Res {
    app.api(Method::GET, ME, 1, &Auth::Bearer(token.into()), None)
        .await
}

#[tokio::test]
async fn create_answers_200_with_the_secret_once() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let res = app
        .api(
            Method::POST,
            TOKENS,
            1,
            &admin,
            Some(json!({"description": "  ci bot  "})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header(header::CACHE_CONTROL), "no-store");
    assert_eq!(
        res.header(header::CONTENT_TYPE),
        "application/vnd.go.cd.v1+json; charset=utf-8"
    );
    let body = res.json();
    let token = body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("tgp_") && token.len() == 40, "{token}");
    assert_eq!(body["description"], "ci bot");
    assert_eq!(body["username"], "admin");
    assert_eq!(body["revoked"], false);
    for unset in ["revoke_cause", "revoked_by", "revoked_at", "last_used_at"] {
        assert_eq!(body[unset], serde_json::Value::Null, "{unset}");
    }
    assert!(
        body.get("revoked_because_user_deleted").is_none(),
        "admin-only field"
    );
    let created_at = body["created_at"].as_str().unwrap();
    assert!(
        created_at.ends_with('Z') && created_at.len() == 20,
        "{created_at}"
    );
    let id = body["id"].as_i64().unwrap();
    assert_eq!(
        body["_links"]["self"]["href"],
        format!("http://localhost{TOKENS}/{id}")
    );
    assert_eq!(
        body["_links"]["find"]["href"],
        format!("http://localhost{TOKENS}/:id")
    );
    assert_eq!(
        body["_links"]["doc"]["href"],
        "https://api.gocd.org/current/#access-tokens"
    );

    // Never again: not by id, not in lists.
    let show = app
        .api(Method::GET, &format!("{TOKENS}/{id}"), 1, &admin, None)
        .await;
    assert_eq!(show.status, StatusCode::OK);
    assert!(show.json().get("token").is_none());
    assert!(!show.text().contains(&token));
    let list = app.api(Method::GET, TOKENS, 1, &admin, None).await;
    assert!(!list.text().contains(&token));

    // And it works.
    let res = me(&app, &token).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["login_name"], "admin");
}

#[tokio::test]
async fn lists_filter_active_revoked_and_all() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let (a, _) = app.create_token(&admin, "one").await;
    let (b, _) = app.create_token(&admin, "two").await;
    let res = app
        .api(
            Method::POST,
            &format!("{TOKENS}/{a}/revoke"),
            1,
            &admin,
            Some(json!({"revoke_cause": "leaked"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let ids = |q: &str| {
        let app = &app;
        let admin = admin.clone();
        let q = q.to_string();
        async move {
            let res = app
                .api(Method::GET, &format!("{TOKENS}{q}"), 1, &admin, None)
                .await;
            assert_eq!(res.status, StatusCode::OK, "{q}: {}", res.text());
            assert_eq!(res.header(header::CACHE_CONTROL), "no-store");
            let body = res.json();
            assert_eq!(
                body["_links"]["self"]["href"],
                format!("http://localhost{TOKENS}")
            );
            body["_embedded"]["access_tokens"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("").await, vec![b]);
    assert_eq!(ids("?filter=").await, vec![b]);
    assert_eq!(ids("?filter=active").await, vec![b]);
    assert_eq!(ids("?filter=revoked").await, vec![a]);
    assert_eq!(ids("?filter=all").await, vec![a, b]);

    let bad = app
        .api(
            Method::GET,
            &format!("{TOKENS}?filter=bad"),
            1,
            &admin,
            None,
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.message(),
        "Value `bad` is not allowed for query parameter named `filter`. Valid values are active, all, revoked."
    );
}

#[tokio::test]
async fn revoke_records_who_when_and_why_and_a_second_revoke_is_409() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let (id, token) = app.create_token(&admin, "to revoke").await;
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);

    let res = app
        .api(
            Method::POST,
            &format!("{TOKENS}/{id}/revoke"),
            1,
            &admin,
            Some(json!({"revoke_cause": "  no longer needed "})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let body = res.json();
    assert_eq!(body["revoked"], true);
    assert_eq!(body["revoked_by"], "admin");
    assert_eq!(body["revoke_cause"], "no longer needed");
    let revoked_at = body["revoked_at"].as_str().unwrap().to_string();

    // Refused on the very next request, naming the time.
    let res = me(&app, &token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.message(),
        format!("Invalid Personal Access Token. Access token was revoked at: {revoked_at}")
    );

    let again = app
        .api(
            Method::POST,
            &format!("{TOKENS}/{id}/revoke"),
            1,
            &admin,
            None,
        )
        .await;
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
    let show = app
        .api(Method::GET, &format!("{TOKENS}/{id}"), 1, &alice, None)
        .await;
    assert_eq!(show.status, StatusCode::NOT_FOUND);
    assert_eq!(show.message(), msg);
    let revoke = app
        .api(
            Method::POST,
            &format!("{TOKENS}/{id}/revoke"),
            1,
            &alice,
            None,
        )
        .await;
    assert_eq!(revoke.status, StatusCode::NOT_FOUND);
    assert_eq!(revoke.message(), msg);
    // Still alive.
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    let list = app
        .api(
            Method::GET,
            &format!("{TOKENS}?filter=all"),
            1,
            &alice,
            None,
        )
        .await;
    assert_eq!(list.json()["_embedded"]["access_tokens"], json!([]));

    for bad in ["999999", "abc", "-1", "1.5"] {
        let res = app
            .api(Method::GET, &format!("{TOKENS}/{bad}"), 1, &alice, None)
            .await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(
            res.message(),
            format!("Access token with id '{bad}' was not found!")
        );
    }
}

#[tokio::test]
async fn blank_or_oversized_descriptions_are_422_and_create_nothing() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    for body in [
        json!({}),
        json!({"description": ""}),
        json!({"description": "   \n "}),
    ] {
        let res = app
            .api(Method::POST, TOKENS, 1, &admin, Some(body.clone()))
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let json = res.json();
        assert_eq!(
            json["errors"]["description"],
            json!(["must not be blank"]),
            "{json}"
        );
        assert!(json.get("token").is_none());
    }
    let long = "x".repeat(1025);
    let res = app
        .api(
            Method::POST,
            TOKENS,
            1,
            &admin,
            Some(json!({"description": long})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.json()["errors"]["description"][0]
        .as_str()
        .unwrap()
        .contains("1024"));
    let ok = app
        .api(
            Method::POST,
            TOKENS,
            1,
            &admin,
            Some(json!({"description": "é".repeat(1024)})),
        )
        .await;
    assert_eq!(
        ok.status,
        StatusCode::OK,
        "1024 characters (not bytes) are fine"
    );

    let res = app
        .api(
            Method::POST,
            TOKENS,
            1,
            &admin,
            Some(json!({"description": 5})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let cause = app
        .api(
            Method::POST,
            &format!("{TOKENS}/1/revoke"),
            1,
            &admin,
            Some(json!({"revoke_cause": "y".repeat(1025)})),
        )
        .await;
    assert_eq!(cause.status, StatusCode::UNPROCESSABLE_ENTITY);
    let all = app
        .api(
            Method::GET,
            &format!("{TOKENS}?filter=all"),
            1,
            &admin,
            None,
        )
        .await;
    let list = all.json()["_embedded"]["access_tokens"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0]["revoked"], false,
        "the refused revoke changed nothing"
    );
}

#[tokio::test]
async fn tokens_can_never_mint_list_or_revoke_tokens() {
    let app = TestApp::new().await;
    let (id, token) = app.create_token(&Auth::admin(), "bot").await;
    let bearer = Auth::Bearer(token.clone());
    let calls = [
        (Method::GET, TOKENS.to_string(), None),
        (
            Method::POST,
            TOKENS.to_string(),
            Some(json!({"description": "minted by a token"})),
        ),
        (Method::GET, format!("{TOKENS}/{id}"), None),
        (Method::POST, format!("{TOKENS}/{id}/revoke"), None),
    ];
    for (method, path, body) in calls {
        let res = app.api(method.clone(), &path, 1, &bearer, body).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(res.message(), BEARER_FORBIDDEN);
    }
    // Nothing was minted or revoked.
    let all = app
        .api(
            Method::GET,
            &format!("{TOKENS}?filter=all"),
            1,
            &Auth::admin(),
            None,
        )
        .await;
    let list = all.json()["_embedded"]["access_tokens"]
        .as_array()
        .unwrap()
        .clone();
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
        .api(
            Method::POST,
            TOKENS,
            1,
            &cookie,
            Some(json!({"description": "from the browser"})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let list = app.api(Method::GET, TOKENS, 1, &cookie, None).await;
    assert_eq!(
        list.json()["_embedded"]["access_tokens"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn bearer_failures_are_401_with_gocd_messages() {
    let app = TestApp::new().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    let (_, token) = app.create_token(&alice, "alice's").await;
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);

    for garbage in ["nonsense", "tgp_short", &"a".repeat(40)] {
        let res = me(&app, garbage).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        assert_eq!(res.message(), "Invalid Personal Access Token.");
    }

    // Disabled: refused with GoCD's message, and works again once re-enabled.
    let admin = Auth::admin();
    app.api(
        Method::PATCH,
        "/go/api/users/alice",
        3,
        &admin,
        Some(json!({"enabled": false})),
    )
    .await;
    let res = me(&app, &token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.message(),
        "Your account has been disabled by the administrator"
    );
    app.api(
        Method::PATCH,
        "/go/api/users/alice",
        3,
        &admin,
        Some(json!({"enabled": true})),
    )
    .await;
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);

    // Deleted: invalid, also for a new user of the same name.
    app.api(
        Method::PATCH,
        "/go/api/users/alice",
        3,
        &admin,
        Some(json!({"enabled": false})),
    )
    .await;
    let del = app
        .api(Method::DELETE, "/go/api/users/alice", 3, &admin, None)
        .await;
    assert_eq!(del.status, StatusCode::OK);
    let res = me(&app, &token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.message(), "Invalid Personal Access Token.");
    app.add_user("alice", "new-alice-password", false).await;
    let res = me(&app, &token).await;
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
        assert_eq!(me(&app, t).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.state.tokens.lookups(),
        before,
        "no lookup for malformed tokens"
    );
    // A well-formed token does reach the database (so the counter counts).
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    assert_eq!(app.state.tokens.lookups(), before + 1);

    // With the database gone, a forged token is still a clean 401, while a
    // well-formed one not seen before needs the database and says it is
    // unavailable.
    app.state.db.pool.close().await;
    assert_eq!(me(&app, &forged).await.status, StatusCode::UNAUTHORIZED);
    let unseen = tollgate::server::tokens::format::PlainToken::generate();
    assert_eq!(
        me(&app, unseen.expose()).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

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
        assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    }
    assert_eq!(
        app.state.tokens.lookups(),
        before + 1,
        "one read for 20 uses"
    );
    let res = app
        .api(
            Method::POST,
            &format!("{TOKENS}/{id}/revoke"),
            1,
            &carl,
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let res = me(&app, &token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.message().contains("revoked at"), "{}", res.text());

    // Disable, enable, then delete.
    let (_, token) = app.create_token(&carl, "busy 2").await;
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    let patch = |enabled: bool| {
        app.api(
            Method::PATCH,
            "/go/api/users/carl",
            3,
            &admin,
            Some(json!({ "enabled": enabled })),
        )
    };
    assert_eq!(patch(false).await.status, StatusCode::OK);
    assert_eq!(me(&app, &token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(patch(true).await.status, StatusCode::OK);
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    // What a token proves follows the user at once, too.
    let res = app
        .api(
            Method::PATCH,
            "/go/api/users/carl",
            3,
            &admin,
            Some(json!({ "display_name": "Carl C." })),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(me(&app, &token).await.json()["display_name"], "Carl C.");
    assert_eq!(patch(false).await.status, StatusCode::OK);
    let res = app
        .api(Method::DELETE, "/go/api/users/carl", 3, &admin, None)
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(me(&app, &token).await.status, StatusCode::UNAUTHORIZED);
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
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    revoke_behind_the_back(&app, id).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while me(&app, &token).await.status == StatusCode::OK {
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
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    assert_eq!(app.state.tokens.lookups(), before + 2);
    revoke_behind_the_back(&app, id).await;
    assert_eq!(me(&app, &token).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn concurrent_revokes_of_one_token_give_exactly_one_200() {
    let app = TestApp::new().await;
    let (id, _) = app.create_token(&Auth::admin(), "contested").await;
    let cookie = app.login("admin", ADMIN_PASSWORD).await;
    let mut handles = Vec::new();
    for i in 0..100 {
        let cookie = cookie.clone();
        let router = app.router.clone();
        let path = format!("{TOKENS}/{id}/revoke");
        handles.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let body = json!({"revoke_cause": format!("revoker {i}")}).to_string();
            let req = axum::http::Request::builder()
                .method(Method::POST)
                .uri(path)
                .header(header::ACCEPT, accept(1))
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::COOKIE, cookie)
                .body(axum::body::Body::from(body))
                .unwrap();
            router.oneshot(req).await.unwrap().status()
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

#[tokio::test]
async fn concurrent_creates_give_unique_ids_and_tokens() {
    let app = TestApp::new().await;
    let cookie = app.login("admin", ADMIN_PASSWORD).await;
    let mut handles = Vec::new();
    for i in 0..100 {
        let cookie = cookie.clone();
        let router = app.router.clone();
        handles.push(tokio::spawn(async move {
            use tower::ServiceExt;
            let req = axum::http::Request::builder()
                .method(Method::POST)
                .uri(TOKENS)
                .header(header::ACCEPT, accept(1))
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::COOKIE, cookie)
                .body(axum::body::Body::from(
                    json!({"description": format!("t{i}")}).to_string(),
                ))
                .unwrap();
            let res = router.oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            let bytes = http_body_util::BodyExt::collect(res.into_body())
                .await
                .unwrap()
                .to_bytes();
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            (
                v["id"].as_i64().unwrap(),
                v["token"].as_str().unwrap().to_string(),
            )
        }));
    }
    let mut ids = std::collections::HashSet::new();
    let mut secrets = std::collections::HashSet::new();
    for h in handles {
        let (id, t) = h.await.unwrap();
        ids.insert(id);
        secrets.insert(t);
    }
    assert_eq!((ids.len(), secrets.len()), (100, 100));
}

#[tokio::test]
async fn a_hot_token_costs_one_write_per_flush_not_one_per_request() {
    let app = TestApp::new().await;
    let (id, token) = app.create_token(&Auth::admin(), "hot").await;
    let writes_before = app.state.tokens.last_used.writes();
    for _ in 0..200 {
        assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    }
    assert_eq!(
        app.state.tokens.last_used.writes(),
        writes_before,
        "no writes between flushes"
    );
    // The page and API already show the use before it is written.
    let show = app
        .api(
            Method::GET,
            &format!("{TOKENS}/{id}"),
            1,
            &Auth::admin(),
            None,
        )
        .await;
    assert!(show.json()["last_used_at"].is_string());

    let written = app
        .state
        .tokens
        .last_used
        .flush(&app.state.db)
        .await
        .unwrap();
    assert_eq!(written, 1);
    assert_eq!(app.state.tokens.last_used.writes(), writes_before + 1);
    // A second flush with no new use writes nothing.
    assert_eq!(
        app.state
            .tokens
            .last_used
            .flush(&app.state.db)
            .await
            .unwrap(),
        0
    );

    // It is in the database now: another instance (no memory of the uses) sees it.
    let b = app.second_instance().await;
    let show = b
        .api(
            Method::GET,
            &format!("{TOKENS}/{id}"),
            1,
            &Auth::admin(),
            None,
        )
        .await;
    assert!(show.json()["last_used_at"].is_string(), "{}", show.text());
}

#[tokio::test]
async fn last_used_never_moves_backwards() {
    let app = TestApp::new().await;
    let (id, token) = app.create_token(&Auth::admin(), "t").await;
    assert_eq!(me(&app, &token).await.status, StatusCode::OK);
    app.state
        .tokens
        .last_used
        .flush(&app.state.db)
        .await
        .unwrap();
    let newest = app
        .api(
            Method::GET,
            &format!("{TOKENS}/{id}"),
            1,
            &Auth::admin(),
            None,
        )
        .await
        .json()["last_used_at"]
        .clone();
    // A slow instance flushes an older time afterwards.
    app.state.tokens.last_used.record(id, 1_000);
    app.state
        .tokens
        .last_used
        .flush(&app.state.db)
        .await
        .unwrap();
    let after = app
        .api(
            Method::GET,
            &format!("{TOKENS}/{id}"),
            1,
            &Auth::admin(),
            None,
        )
        .await
        .json()["last_used_at"]
        .clone();
    assert_eq!(after, newest);
}

#[tokio::test]
async fn cctray_takes_bearer_and_answers_xml_even_for_errors() {
    let app = TestApp::new().await;
    let (_, token) = app.create_token(&Auth::admin(), "cctray").await;
    let get = |auth: Auth| {
        let mut req = axum::http::Request::builder().uri("/go/cctray.xml");
        req = match auth {
            Auth::Bearer(t) => req.header(header::AUTHORIZATION, format!("Bearer {t}")),
            _ => req,
        };
        req.body(axum::body::Body::empty()).unwrap()
    };
    let ok = app.send(get(Auth::Bearer(token))).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert!(ok
        .header(header::CONTENT_TYPE)
        .starts_with("application/xml"));
    assert!(ok.text().contains("<Projects/>"));
    let bad = app.send(get(Auth::Bearer("tgp_nope".into()))).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert!(bad
        .header(header::CONTENT_TYPE)
        .starts_with("application/xml"));
    assert!(bad.text().contains(
        "<access-denied><message>Invalid Personal Access Token.</message></access-denied>"
    ));
    let anon = app.send(get(Auth::None)).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
    assert!(anon.text().contains("<access-denied>"));
}

/// The pages' server functions share the service: same rules, session only.
#[tokio::test]
async fn server_functions_create_list_and_revoke_with_the_session_only() {
    let app = TestApp::new().await;
    let cookie = app.login("admin", ADMIN_PASSWORD).await;
    let call = |endpoint: &str, form: &str, cookie: Option<&str>, bearer: Option<&str>| {
        let mut req = axum::http::Request::builder()
            .method(Method::POST)
            .uri(format!("/go/fn/{endpoint}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        if let Some(t) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        req.body(axum::body::Body::from(form.to_string())).unwrap()
    };
    let res = app
        .send(call(
            "create_token",
            "description=from+the+page",
            Some(&cookie),
            None,
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header(header::CACHE_CONTROL), "no-store");
    let created = res.json();
    let secret = created["secret"].as_str().unwrap().to_string();
    let id = created["token"]["id"].as_i64().unwrap();
    assert_eq!(created["token"]["description"], "from the page");

    let res = app
        .send(call("create_token", "description=+++", Some(&cookie), None))
        .await;
    assert!(
        res.text().contains("Description must not be blank"),
        "{}",
        res.text()
    );

    // A token cannot drive the pages' functions either: no session, no access.
    let res = app
        .send(call("create_token", "description=x", None, Some(&secret)))
        .await;
    assert_ne!(res.status, StatusCode::OK);
    assert!(res.text().contains("Unauthenticated"), "{}", res.text());
    let res = app
        .send(call("list_tokens", "filter=all", None, Some(&secret)))
        .await;
    assert!(res.text().contains("Unauthenticated"), "{}", res.text());

    let res = app
        .send(call("list_tokens", "filter=all", Some(&cookie), None))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json().as_array().unwrap().len(), 1);
    assert!(!res.text().contains(&secret));

    let res = app
        .send(call(
            "revoke_token",
            &format!("id={id}&cause=done"),
            Some(&cookie),
            None,
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["revoked"], true);
    assert_eq!(res.json()["revoke_cause"], "done");
    let res = app
        .send(call(
            "revoke_token",
            &format!("id={id}"),
            Some(&cookie),
            None,
        ))
        .await;
    assert!(
        res.text().contains("already been revoked"),
        "{}",
        res.text()
    );
}
