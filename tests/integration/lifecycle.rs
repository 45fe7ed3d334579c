//! Issue 14: expiry, rotation with reuse detection, where a token is used
//! from, and network allowlists, on the real router and database.

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;
use tollgate::server::time::{iso, now_millis, DAY_MILLIS};

const EXPIRATION: &str = "x-tollgate-token-expiration";

fn settings_with_max(days: u32) -> Settings {
    Settings {
        token_max_lifetime_days: Some(days),
        ..Settings::default()
    }
}

fn errors(res: &Res, field: &str) -> String {
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    res.json()["errors"][field][0]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} error in {}", res.text()))
        .to_string()
}

#[tokio::test]
async fn gocd_scripts_see_tokens_that_never_expire_and_work_anywhere() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let (id, token) = app.create_token(&admin, "plain").await;
    let t = app.show_token(&admin, id).await.json();
    assert_eq!(t["expires_at"], Value::Null);
    assert_eq!(t["rotated_from"], Value::Null);
    assert_eq!(t["allowed_cidrs"], json!([]));
    assert_eq!(t["last_used_ips"], json!([]));
    assert!(
        t.get("expires_soon").is_none(),
        "a field for the pages only"
    );
    let res = app.me(&token).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(
        res.headers.get(EXPIRATION).is_none(),
        "no expiry, no header"
    );
}

#[tokio::test]
async fn expiry_is_checked_on_every_use_even_from_the_cache() {
    let app = TestApp::with_settings(Settings {
        auth_cache_ttl: Duration::from_secs(60),
        ..Settings::default()
    })
    .await;
    let admin = Auth::admin();
    let soon = now_millis() + 2_000;
    let res = app
        .post_token(
            &admin,
            json!({ "description": "short", "expires_at": iso(soon) }),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let created = res.json();
    let (id, token) = (
        created["id"].as_i64().unwrap(),
        created["token"].as_str().unwrap().to_string(),
    );
    assert_eq!(created["expires_at"], iso(soon));
    let ok = app.me(&token).await;
    assert_eq!(ok.status, StatusCode::OK);
    let header = ok.header(axum::http::header::HeaderName::from_static(EXPIRATION));
    assert!(
        header.ends_with(" UTC") && header.len() == 23,
        "GitHub's format: {header}"
    );
    let listed = app.list_tokens(&admin, Some("active")).await.ids();
    assert!(listed.contains(&id));
    tokio::time::sleep(Duration::from_millis(
        (soon - now_millis()).max(0) as u64 + 1_100,
    ))
    .await;
    // Cached a moment ago, and still refused at once.
    let res = app.me(&token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.message(),
        format!(
            "Invalid Personal Access Token. Access token expired at: {}",
            iso(soon)
        )
    );
    // Not revoked: its history stays as it was, under its own tab.
    let t = app.show_token(&admin, id).await.json();
    assert_eq!(
        (t["revoked"].clone(), t["expired"].clone()),
        (json!(false), json!(true))
    );
    assert!(!app
        .list_tokens(&admin, Some("active"))
        .await
        .ids()
        .contains(&id));
    assert_eq!(
        app.list_tokens(&admin, Some("expired")).await.ids(),
        vec![id]
    );
    assert!(app
        .list_tokens(&admin, Some("all"))
        .await
        .ids()
        .contains(&id));
    assert!(app
        .list_tokens(&admin, Some("revoked"))
        .await
        .ids()
        .is_empty());
    for q in ["", "&q=short", "&q=sh", "&q=zz"] {
        let expired = app
            .admin_tokens(&admin, &format!("?filter=expired{q}"))
            .await
            .ids();
        assert_eq!(expired, if q == "&q=zz" { vec![] } else { vec![id] }, "{q}");
        let active = app
            .admin_tokens(&admin, &format!("?filter=active{q}"))
            .await
            .ids();
        assert!(!active.contains(&id), "{q}");
    }
    // forward-auth and cctray refuse it too.
    let res = app.verify(Some(&token), "", &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = app
        .api_raw(
            Method::GET,
            "/go/cctray.xml",
            None,
            &Auth::bearer(&token),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.text().contains("expired at"), "{}", res.text());
}

#[tokio::test]
async fn expiry_is_validated_and_the_maximum_applies() {
    let app = TestApp::with_settings(settings_with_max(30)).await;
    let admin = Auth::admin();
    let post = |body: Value| app.post_token(&admin, body);
    let past = post(json!({ "description": "x", "expires_at": iso(now_millis() - 1000) })).await;
    assert!(errors(&past, "expires_at").contains("future"));
    let bad = post(json!({ "description": "x", "expires_at": "next tuesday" })).await;
    assert!(errors(&bad, "expires_at").contains("2027-01-31T00:00:00Z"));
    let far =
        post(json!({ "description": "x", "expires_at": iso(now_millis() + 31 * DAY_MILLIS) }))
            .await;
    assert!(errors(&far, "expires_at").contains("at most 30 days"));
    assert_eq!(
        far.json()["description"],
        "x",
        "GoCD's unsaved token beside the errors"
    );
    assert!(
        app.list_tokens(&admin, Some("all")).await.ids().is_empty(),
        "nothing saved"
    );
    // Without an expiry, the maximum.
    let before = now_millis();
    let res = post(json!({ "description": "default" })).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let at = res.json()["expires_at"].as_str().unwrap().to_string();
    let at = tollgate::server::time::parse_iso(&at).unwrap();
    assert!(
        at >= before / 1000 * 1000 + 30 * DAY_MILLIS - 1000 && at <= now_millis() + 30 * DAY_MILLIS
    );
    let within =
        post(json!({ "description": "week", "expires_at": iso(now_millis() + 7 * DAY_MILLIS) }))
            .await;
    assert_eq!(within.status, StatusCode::OK);
    let week = within.json()["id"].as_i64().unwrap();
    // The admin list's warning view, paged and unpaged, searched or not.
    for query in ["", "&page_size=10", "&q=we", "&q=week&page_size=10"] {
        let ids = app
            .admin_tokens(
                &admin,
                &format!("?filter=active&expiring_within_days=8{query}"),
            )
            .await
            .ids();
        assert_eq!(ids, vec![week], "{query}");
    }
    let all = app
        .admin_tokens(&admin, "?filter=active&expiring_within_days=31")
        .await
        .ids();
    assert_eq!(all.len(), 2);
    for bad in ["0", "x", "-1"] {
        let res = app
            .admin_tokens(&admin, &format!("?expiring_within_days={bad}"))
            .await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn rotation_replaces_a_token_and_reuse_revokes_its_family() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_scope(&admin, "wiki", "Wiki").await;
    let res = app
        .post_token(
            &admin,
            json!({
                "description": "deploy bot",
                "scopes": ["api", "wiki:read"],
                "expires_at": iso(now_millis() + 10 * DAY_MILLIS),
                "allowed_cidrs": ["127.0.0.0/8"],
            }),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let first = res.json();
    let (a, a_token) = (
        first["id"].as_i64().unwrap(),
        first["token"].as_str().unwrap().to_string(),
    );
    let lifetime = tollgate::server::time::parse_iso(first["expires_at"].as_str().unwrap())
        .unwrap()
        - tollgate::server::time::parse_iso(first["created_at"].as_str().unwrap()).unwrap();

    // A token cannot rotate anything, not even itself; nor can one rotate another's.
    let res = app.rotate_token(&Auth::bearer(&a_token), a).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = app.rotate_token(&Auth::None, a).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    app.add_user("bob", "bob-password-1", false).await;
    let res = app
        .rotate_token(&Auth::basic("bob", "bob-password-1"), a)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(app.rotate_token(&admin, 999_999).await.status == StatusCode::NOT_FOUND);

    let res = app.rotate_token(&admin, a).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let second = res.json();
    let (b, b_token) = (
        second["id"].as_i64().unwrap(),
        second["token"].as_str().unwrap().to_string(),
    );
    assert_ne!(a, b);
    assert_eq!(second["rotated_from"], a);
    assert_eq!(second["description"], "deploy bot");
    assert_eq!(second["scopes"], json!(["api", "wiki:read"]));
    assert_eq!(second["allowed_cidrs"], json!(["127.0.0.0/8"]));
    let new_lifetime = tollgate::server::time::parse_iso(second["expires_at"].as_str().unwrap())
        .unwrap()
        - tollgate::server::time::parse_iso(second["created_at"].as_str().unwrap()).unwrap();
    assert!(
        (new_lifetime - lifetime).abs() <= 1000,
        "{new_lifetime} vs {lifetime}"
    );
    let old = app.show_token(&admin, a).await.json();
    assert_eq!(old["revoked"], true);
    assert_eq!(old["revoked_by"], "admin");
    assert_eq!(old["revoke_cause"], format!("Rotated to token {b}"));
    assert_eq!(app.me(&a_token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me(&b_token).await.status, StatusCode::OK);

    // The chain goes on: b -> c.
    let c = app.rotate_token(&admin, b).await.json();
    let (c, c_token) = (
        c["id"].as_i64().unwrap(),
        c["token"].as_str().unwrap().to_string(),
    );
    // Rotating a again means a copy of it is loose: the family goes.
    let res = app.rotate_token(&admin, a).await;
    assert_eq!(res.status, StatusCode::CONFLICT, "{}", res.text());
    assert!(
        res.message().contains("rotated already"),
        "{}",
        res.message()
    );
    let c_now = app.show_token(&admin, c).await.json();
    assert_eq!(c_now["revoked"], true);
    assert_eq!(
        c_now["revoke_cause"],
        "Rotation of an already rotated token; family revoked"
    );
    assert_eq!(app.me(&c_token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.show_token(&admin, b).await.json()["revoke_cause"],
        format!("Rotated to token {c}"),
        "an already revoked member keeps its own story"
    );
    // A token revoked by hand is not a rotation: 409, and nothing else happens.
    let (d, _) = app.create_token(&admin, "other").await;
    app.revoke_token(&admin, d, None).await;
    let res = app.rotate_token(&admin, d).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert_eq!(res.message(), "Access token has already been revoked!");
    // Admins revoke; owners rotate.
    let res = app
        .api(
            Method::POST,
            &format!("/go/api/admin/access_tokens/{c}/rotate"),
            1,
            &admin,
            None,
        )
        .await;
    assert_ne!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn a_token_is_used_only_from_its_networks_and_remembers_where_it_was_used() {
    let app = TestApp::with_settings(Settings {
        trusted_proxy_header: Some("x-forwarded-for".into()),
        auth_cache_ttl: Duration::from_secs(60),
        ..Settings::default()
    })
    .await;
    let admin = Auth::admin();
    let bad = app
        .post_token(
            &admin,
            json!({ "description": "x", "allowed_cidrs": ["10.0.0.0/8", "10.0.0.0/40"] }),
        )
        .await;
    assert!(errors(&bad, "allowed_cidrs").contains("`10.0.0.0/40`"));
    let many: Vec<String> = (0..21).map(|i| format!("10.0.0.{i}")).collect();
    let bad = app
        .post_token(&admin, json!({ "description": "x", "allowed_cidrs": many }))
        .await;
    assert!(errors(&bad, "allowed_cidrs").contains("at most 20"));

    let res = app
        .post_token(
            &admin,
            json!({ "description": "ci", "allowed_cidrs": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"] }),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let created = res.json();
    assert_eq!(
        created["allowed_cidrs"],
        json!(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"])
    );
    let (id, token) = (
        created["id"].as_i64().unwrap(),
        created["token"].as_str().unwrap().to_string(),
    );
    for (from, ok) in [
        ("10.1.2.3", true),
        ("2001:db8::9", true),
        ("192.0.2.7", true),
        ("192.0.2.8", false),
        ("10.1.2.3", true), // cached now, and still checked
        ("203.0.113.5", false),
    ] {
        let res = app.me_from(&token, from, "deploy-bot/1.0").await;
        if ok {
            assert_eq!(res.status, StatusCode::OK, "{from}");
        } else {
            assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{from}");
            assert_eq!(
                res.message(),
                format!("Invalid Personal Access Token. Access token is not allowed from {from}")
            );
        }
    }
    // Shown before the flush, and after it.
    let seen = app.show_token(&admin, id).await.json();
    assert_eq!(
        seen["last_used_ips"],
        json!(["10.1.2.3", "192.0.2.7", "2001:db8::9"])
    );
    assert_eq!(seen["last_used_user_agent"], "deploy-bot/1.0");
    app.state
        .tokens
        .last_used
        .flush(&app.state.db)
        .await
        .unwrap();
    for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.1.2.3"] {
        assert_eq!(
            app.me_from(&token, ip, "deploy-bot/2.0").await.status,
            StatusCode::OK
        );
    }
    app.state
        .tokens
        .last_used
        .flush(&app.state.db)
        .await
        .unwrap();
    let seen = app.admin_show_token(&admin, id).await.json();
    assert_eq!(
        seen["last_used_ips"],
        json!(["10.1.2.3", "10.0.0.3", "10.0.0.2", "10.0.0.1", "192.0.2.7"]),
        "five, distinct, newest first"
    );
    assert_eq!(seen["last_used_user_agent"], "deploy-bot/2.0");
    // The admin search finds a token by an address it was used from.
    let found = app
        .admin_tokens(&admin, "?filter=all&q=10.1.2.3")
        .await
        .ids();
    assert_eq!(found, vec![id]);
    // A token without a list works from anywhere.
    let (_, open) = app.create_token(&admin, "open").await;
    assert_eq!(
        app.me_from(&open, "203.0.113.5", "x").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_upgraded_database_keeps_its_tokens() {
    use tollgate::server::config::DbArgs;
    use tollgate::server::tokens::format::PlainToken;
    let (storage, url) = Storage::new().await;
    sqlx::any::install_default_drivers();
    let raw = if url.starts_with("sqlite:") {
        format!("{url}?mode=rwc")
    } else {
        url.clone()
    };
    let pool = sqlx::AnyPool::connect(&raw).await.unwrap();
    let migrator = if url.starts_with("sqlite:") {
        sqlx::migrate!("migrations/sqlite")
    } else {
        sqlx::migrate!("migrations/postgres")
    };
    // The schema as issue 13 left it, with a user and two tokens.
    migrator.run_to(4, &pool).await.unwrap();
    sqlx::query(
        "INSERT INTO users (login_name, login_name_lower, display_name, password_hash, created_at) \
         VALUES ('carol', 'carol', 'Carol', '', 1)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let plain = PlainToken::generate();
    for (hash, description, revoked) in [
        (plain.hash().0, "Old Deploy", 0),
        ("x".repeat(64), "gone", 1),
    ] {
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, description, user_id, username, search_text, \
             created_at, revoked) VALUES ($1, $2, 1, 'carol', $3, 1000, $4)",
        )
        .bind(hash)
        .bind(description)
        .bind(format!("{}\ncarol", description.to_lowercase()))
        .bind(revoked)
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    // This build's start-up migrates it.
    let db_args = DbArgs {
        database_url: url,
        db_max_connections: 5,
        db_acquire_timeout: 5,
    };
    let app = TestApp::open(db_args, Settings::default(), std::sync::Arc::new(storage)).await;
    app.add_user("admin", ADMIN_PASSWORD, true).await;
    let admin = Auth::admin();
    assert_eq!(
        app.me(plain.expose()).await.status,
        StatusCode::OK,
        "the old token works"
    );
    let all = app.admin_tokens(&admin, "?filter=all").await.tokens();
    assert_eq!(all.len(), 2);
    let old = all
        .iter()
        .find(|t| t["description"] == "Old Deploy")
        .unwrap();
    assert_eq!(old["scopes"], json!(["api"]));
    assert_eq!(old["expires_at"], Value::Null);
    assert_eq!(old["allowed_cidrs"], json!([]));
    // Search was rebuilt: by description, user, a short term and a scope.
    for q in ["old%20dep", "carol", "ol", "api"] {
        let ids = app
            .admin_tokens(&admin, &format!("?filter=active&q={q}"))
            .await
            .tokens();
        assert_eq!(ids.len(), 1, "{q}");
    }
    assert_eq!(
        app.admin_tokens(&admin, "?filter=revoked&q=gone")
            .await
            .tokens()
            .len(),
        1
    );
}
