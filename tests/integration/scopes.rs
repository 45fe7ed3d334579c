//! Issue 13: scopes, forward-auth (`/go/auth/verify`) and introspection
//! (`/go/auth/introspect`), on the real router and database.

use crate::common::*;
use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};

const UNSUPPORTED: &str =
    "Unsupported operation: Accessing this API using access token is forbidden.";

#[tokio::test]
async fn admins_define_and_list_scopes_and_bad_ones_are_422() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let list = app.list_scopes(&admin).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text());
    assert_eq!(list.json()["_embedded"]["scopes"], json!([]));
    let res = app.add_scope(&admin, "grafana", "Grafana dashboards").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        res.json(),
        json!({ "name": "grafana", "description": "Grafana dashboards" })
    );
    for (name, description, why) in [
        ("grafana", "again", "already exists"),
        ("api", "mine", "built-in"),
        ("read_api", "mine", "built-in"),
        ("Grafana", "upper case", "lower-case"),
        ("-x", "leading dash", "lower-case"),
        ("a:read", "colon", "lower-case"),
        ("", "blank", "lower-case"),
    ] {
        let res = app.add_scope(&admin, name, description).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        let errors = res.json()["errors"]["name"].to_string();
        assert!(errors.contains(why), "{name}: {errors}");
    }
    let res = app.add_scope(&admin, "pkg.mirror", "  ").await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.json()["errors"]["description"].is_array());
    let names: Vec<Value> = app.list_scopes(&admin).await.json()["_embedded"]["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, [json!("grafana")]);
}

#[tokio::test]
async fn tokens_and_non_admins_cannot_manage_scopes() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_scope(&admin, "grafana", "Grafana").await;
    let (_, token) = app.create_token(&admin, "admin's").await;
    let bearer = Auth::bearer(&token);
    app.add_user("bob", USER_PASSWORD, false).await;
    let bob = Auth::basic("bob", USER_PASSWORD);
    for (auth, message) in [
        (&bearer, UNSUPPORTED),
        (&bob, "You are not authorized to access this resource!"),
    ] {
        for res in [
            app.list_scopes(auth).await,
            app.add_scope(auth, "evil", "no").await,
            app.delete_scope(auth, "grafana").await,
        ] {
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
            assert_eq!(res.message(), message);
        }
    }
    assert_eq!(
        app.list_scopes(&admin).await.json()["_embedded"]["scopes"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn tokens_carry_the_scopes_asked_for_and_api_by_default() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_scope(&admin, "grafana", "Grafana").await;
    let res = app
        .post_token(
            &admin,
            json!({ "description": "dash", "scopes": ["grafana:read", "api", "api"] }),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["scopes"], json!(["api", "grafana:read"]));
    let id = res.json()["id"].as_i64().unwrap();
    let (gocd, _) = app.create_token(&admin, "gocd script").await;
    let show = app.show_token(&admin, gocd).await.json();
    assert_eq!(show["scopes"], json!(["api"]));
    let admin_view = app.admin_show_token(&admin, id).await.json();
    assert_eq!(admin_view["scopes"], json!(["api", "grafana:read"]));
    for (scopes, named) in [
        (json!(["nope"]), "nope"),
        (json!(["grafana:write"]), "grafana:write"),
        (json!(["api:read"]), "api:read"),
        (json!([]), "at least one"),
    ] {
        let res = app
            .post_token(&admin, json!({ "description": "x", "scopes": scopes }))
            .await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{scopes}");
        let errors = res.json()["errors"]["scopes"].to_string();
        assert!(errors.contains(named), "{scopes}: {errors}");
    }
    let res = app
        .post_token(&admin, json!({ "description": "x", "scopes": "api" }))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.list_tokens(&admin, Some("all")).await.tokens().len(), 2);
}

#[tokio::test]
async fn the_api_needs_api_or_read_api() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_scope(&admin, "grafana", "Grafana").await;
    let (_, svc) = app.create_scoped_token(&admin, "svc", &["grafana"]).await;
    let (_, read) = app.create_scoped_token(&admin, "read", &["read_api"]).await;
    let (_, full) = app.create_scoped_token(&admin, "full", &["api"]).await;
    let res = app.me(&svc).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.message().contains("`api`"), "{}", res.message());
    let cctray = app
        .api_raw(
            Method::GET,
            "/go/cctray.xml",
            None,
            &Auth::bearer(&svc),
            None,
        )
        .await;
    assert_eq!(cctray.status, StatusCode::FORBIDDEN);
    assert_eq!(app.me(&read).await.status, StatusCode::OK);
    assert_eq!(
        app.list_users(&Auth::bearer(&read)).await.status,
        StatusCode::OK
    );
    let res = app
        .create_user(&Auth::bearer(&read), json!({ "login_name": "carol" }))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.message().contains("read_api"), "{}", res.message());
    let res = app
        .create_user(&Auth::bearer(&full), json!({ "login_name": "carol" }))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

fn assert_invalid_token(res: &Res) {
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert_eq!(
        res.header(header::WWW_AUTHENTICATE),
        "Bearer realm=\"tollgate\", error=\"invalid_token\""
    );
}

fn assert_insufficient(res: &Res, scope: &str) {
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    assert_eq!(
        res.header(header::WWW_AUTHENTICATE),
        format!("Bearer realm=\"tollgate\", error=\"insufficient_scope\", scope=\"{scope}\"")
    );
}

#[tokio::test]
async fn verify_answers_proxies_with_identity_headers() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_scope(&admin, "grafana", "Grafana").await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    app.update_user(&admin, "alice", json!({ "email": "alice@example.com" }))
        .await;
    let (id, token) = app
        .create_scoped_token(&alice, "dash", &["grafana:read", "read_api"])
        .await;
    let res = app.verify(Some(&token), "", &[]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert!(res.body.is_empty());
    assert_eq!(res.header(header::CACHE_CONTROL), "no-store");
    for h in ["remote-user", "x-auth-request-user", "x-forwarded-user"] {
        assert_eq!(
            res.header(header::HeaderName::from_static(h)),
            "alice",
            "{h}"
        );
    }
    assert_eq!(
        res.header(header::HeaderName::from_static("x-auth-request-email")),
        "alice@example.com"
    );
    assert_eq!(
        res.header(header::HeaderName::from_static("x-tollgate-token-id")),
        id.to_string()
    );
    assert_eq!(
        res.header(header::HeaderName::from_static("x-tollgate-scopes")),
        "grafana:read read_api"
    );
    // The location's scope, read-only: safe methods pass, others and an
    // unknown method do not.
    for (method_header, method, ok) in [
        ("x-forwarded-method", "GET", true),
        ("x-original-method", "HEAD", true),
        ("x-forwarded-method", "options", true),
        ("x-forwarded-method", "POST", false),
        ("x-original-method", "DELETE", false),
    ] {
        let res = app
            .verify(Some(&token), "?scope=grafana", &[(method_header, method)])
            .await;
        if ok {
            assert_eq!(res.status, StatusCode::OK, "{method}");
        } else {
            assert_insufficient(&res, "grafana");
        }
    }
    let res = app.verify(Some(&token), "?scope=grafana", &[]).await;
    assert_insufficient(&res, "grafana");
    assert!(res.message().contains("method"), "{}", res.message());
    // Another scope, and a scope name that is no name.
    let res = app
        .verify(
            Some(&token),
            "?scope=jenkins",
            &[("x-forwarded-method", "GET")],
        )
        .await;
    assert_insufficient(&res, "jenkins");
    let res = app
        .verify(Some(&token), "?scope=%22%0d%0aX:%20y", &[])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // A full grant needs no method.
    let (_, full) = app
        .create_scoped_token(&alice, "deploy", &["grafana"])
        .await;
    assert_eq!(
        app.verify(Some(&full), "?scope=grafana", &[]).await.status,
        StatusCode::OK
    );
    // Counted as a use.
    app.flush_last_used().await;
    assert!(app.show_token(&alice, id).await.json()["last_used_at"].is_string());
}

#[tokio::test]
async fn verify_refuses_what_the_api_refuses_at_once() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    let (id, token) = app.create_token(&alice, "script").await;
    assert_invalid_token(&app.verify(None, "", &[]).await);
    assert_invalid_token(&app.verify(Some("tgp_garbage"), "", &[]).await);
    let res = app
        .api_raw(Method::GET, "/go/auth/verify", None, &alice, None)
        .await;
    assert_invalid_token(&res);
    assert_eq!(
        app.verify(Some(&token), "", &[]).await.status,
        StatusCode::OK
    );
    // Revoked: refused on the very next request (the cache is emptied).
    assert_eq!(
        app.revoke_token(&alice, id, None).await.status,
        StatusCode::OK
    );
    assert_invalid_token(&app.verify(Some(&token), "", &[]).await);
    // Disabled, then deleted.
    let (_, other) = app.create_token(&alice, "other").await;
    assert_eq!(
        app.verify(Some(&other), "", &[]).await.status,
        StatusCode::OK
    );
    app.set_enabled(&admin, "alice", false).await;
    assert_invalid_token(&app.verify(Some(&other), "", &[]).await);
    app.delete_user(&admin, "alice").await;
    assert_invalid_token(&app.verify(Some(&other), "", &[]).await);
    // A POST (some proxies send the original method) is no cross-site write.
    let (_, admins) = app.create_token(&admin, "admin's").await;
    let res = app
        .exchange(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/go/auth/verify")
                .header(header::AUTHORIZATION, format!("Bearer {admins}"))
                .header(header::ORIGIN, "https://elsewhere.example")
                .header("sec-fetch-site", "cross-site")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
}

#[tokio::test]
async fn verify_throttles_only_the_forwarded_client() {
    let app = TestApp::with_settings(Settings {
        auth_failures_per_minute: 6,
        auth_failure_burst: 3,
        trusted_proxy_header: Some("x-forwarded-for".into()),
        ..Settings::default()
    })
    .await;
    let (_, token) = app.create_token(&Auth::admin(), "good").await;
    let bad = "tgp_garbage";
    let mut throttled = None;
    for _ in 0..10 {
        let res = app
            .verify(Some(bad), "", &[("x-forwarded-for", "203.0.113.7")])
            .await;
        assert_invalid_token(&res);
        if !res.header(header::RETRY_AFTER).is_empty() {
            throttled = Some(res);
            break;
        }
    }
    assert!(throttled.is_some(), "the noisy client was never throttled");
    // Even its valid token waits; another client behind the same proxy does not.
    let res = app
        .verify(Some(&token), "", &[("x-forwarded-for", "203.0.113.7")])
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = app
        .verify(Some(&token), "", &[("x-forwarded-for", "203.0.113.8")])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    // Without the trusted header the proxy itself is never throttled.
    for _ in 0..10 {
        assert!(app
            .verify(Some(bad), "", &[])
            .await
            .header(header::RETRY_AFTER)
            .is_empty());
    }
    assert_eq!(
        app.verify(Some(&token), "", &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn introspection_answers_admins_and_introspect_tokens_only() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_scope(&admin, "grafana", "Grafana").await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    let (id, token) = app
        .create_scoped_token(&alice, "dash", &["grafana:read", "api"])
        .await;
    let res = app.introspect(&admin, &token).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.header(header::CACHE_CONTROL), "no-store");
    let body = res.json();
    let alice_id = body["sub"].as_str().unwrap().to_string();
    assert_eq!(
        body,
        json!({
            "active": true,
            "scope": "api grafana:read",
            "username": "alice",
            "sub": alice_id,
            "token_type": "Bearer",
            "iat": body["iat"],
            "jti": id.to_string(),
        })
    );
    assert!(body["iat"].as_i64().unwrap() > 1_700_000_000);
    // Introspection is no use of the token.
    app.flush_last_used().await;
    assert!(app.show_token(&alice, id).await.json()["last_used_at"].is_null());
    // A token with `introspect` may ask; others may not.
    let (_, inspector) = app
        .create_scoped_token(&admin, "gateway", &["introspect"])
        .await;
    let res = app.introspect(&Auth::bearer(&inspector), &token).await;
    assert_eq!(res.json()["active"], true);
    let (_, plain_api) = app.create_token(&admin, "api only").await;
    for auth in [Auth::bearer(&plain_api), alice.clone()] {
        let res = app.introspect(&auth, &token).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.text());
    }
    assert_eq!(
        app.introspect(&Auth::None, &token).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Inactive: exactly {"active": false}.
    app.revoke_token(&alice, id, None).await;
    for t in [token.as_str(), "tgp_garbage", "", &"x".repeat(500)] {
        let res = app.introspect(&admin, t).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.json(), json!({ "active": false }), "{t}");
    }
    let res = app
        .exchange(
            admin
                .apply(
                    axum::http::Request::builder()
                        .method(Method::POST)
                        .uri("/go/auth/introspect")
                        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded"),
                )
                .body(axum::body::Body::from("nothing=here"))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
    assert_eq!(res.json()["error"], "invalid_request");
}

#[tokio::test]
async fn deleting_a_scope_narrows_tokens_and_revokes_those_left_with_none() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_scope(&admin, "grafana", "Grafana").await;
    app.add_scope(&admin, "grafana_x", "Another").await;
    let (only, only_token) = app
        .create_scoped_token(&admin, "only grafana", &["grafana"])
        .await;
    let (mixed, mixed_token) = app
        .create_scoped_token(&admin, "mixed", &["api", "grafana:read", "grafana_x"])
        .await;
    let get = [("x-forwarded-method", "GET")];
    assert_eq!(
        app.verify(Some(&mixed_token), "?scope=grafana", &get)
            .await
            .status,
        StatusCode::OK
    );
    let res = app.delete_scope(&admin, "grafana").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["tokens"], 2);
    assert_eq!(res.json()["revoked"], 1);
    let gone = app.admin_show_token(&admin, only).await.json();
    assert_eq!(gone["revoked"], true);
    assert_eq!(gone["revoke_cause"], "Scope grafana was deleted");
    assert_eq!(gone["revoked_by"], "admin");
    assert_eq!(gone["scopes"], json!([]));
    assert_invalid_token(&app.verify(Some(&only_token), "", &[]).await);
    let kept = app.admin_show_token(&admin, mixed).await.json();
    assert_eq!(kept["revoked"], false);
    assert_eq!(kept["scopes"], json!(["api", "grafana_x"]));
    // At once, cache or not.
    assert_insufficient(
        &app.verify(Some(&mixed_token), "?scope=grafana", &get).await,
        "grafana",
    );
    assert_eq!(
        app.verify(Some(&mixed_token), "?scope=grafana_x", &get)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.delete_scope(&admin, "grafana").await.status,
        StatusCode::NOT_FOUND
    );
    // The active list and its search still agree after the revoke.
    let active = app.admin_tokens(&admin, "?filter=active").await.ids();
    assert_eq!(active, vec![mixed]);
    let found = app
        .admin_tokens(&admin, "?filter=revoked&q=only&page_size=10")
        .await
        .ids();
    assert_eq!(found, vec![only]);
}

#[tokio::test]
async fn the_admin_search_matches_scope_names_and_forgets_deleted_ones() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_scope(&admin, "wiki", "Wiki").await;
    app.add_scope(&admin, "metrics", "Metrics").await;
    let (wiki, _) = app
        .create_scoped_token(&admin, "alpha", &["wiki:read"])
        .await;
    let (metrics, _) = app
        .create_scoped_token(&admin, "beta", &["api", "metrics"])
        .await;
    let (plain, _) = app.create_token(&admin, "gamma").await;
    let search = |q: &'static str| {
        let app = &app;
        let admin = &admin;
        async move {
            app.admin_tokens(admin, &format!("?filter=all&page_size=10&q={q}"))
                .await
                .ids()
        }
    };
    assert_eq!(search("wiki").await, vec![wiki]);
    assert_eq!(search("METR").await, vec![metrics], "case folds");
    assert_eq!(search("%3Aread").await, vec![wiki]);
    assert_eq!(
        search("wi").await,
        vec![wiki],
        "a short term, through token_grams"
    );
    assert_eq!(
        search("api").await,
        vec![plain, metrics],
        "the default scope too"
    );
    app.delete_scope(&admin, "wiki").await;
    app.delete_scope(&admin, "metrics").await;
    assert_eq!(search("wiki").await, Vec::<i64>::new());
    assert_eq!(search("wi").await, Vec::<i64>::new());
    assert_eq!(search("metr").await, Vec::<i64>::new());
    assert_eq!(search("api").await, vec![plain, metrics]);
    assert_eq!(
        search("alpha").await,
        vec![wiki],
        "its other lines stay searchable"
    );
}
