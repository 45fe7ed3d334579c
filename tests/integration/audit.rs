//! Issue 15, section 1: the audit log. Every change writes its event in its
//! own transaction; refusals write none; no secret is ever in it; admins
//! search it, users read their own.

use crate::common::*;
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use tollgate::model::AUDIT_ACTIONS;

/// Every event, newest first, through the admin API's pages.
async fn all_events(app: &TestApp) -> Vec<Value> {
    let admin = Auth::admin();
    let mut query = "?page_size=1000".to_string();
    let mut out = Vec::new();
    loop {
        let res = app.audit_events(&admin, &query).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        out.extend(res.events());
        match res.next_events(AUDIT) {
            Some(next) => query = next,
            None => return out,
        }
    }
}

fn of<'a>(events: &'a [Value], action: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["action"] == action).collect()
}

/// Every row of the table, every column, as text.
async fn raw_table(app: &TestApp) -> String {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT id, at, actor, actor_method, client_ip, user_agent, action, family, \
         target_user, target_user_id, target_token_id, details, search_text FROM audit_log",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    rows.iter()
        .map(|r| {
            let text = |i: usize| {
                r.try_get::<Option<String>, _>(i)
                    .unwrap()
                    .unwrap_or_default()
            };
            [2, 3, 4, 5, 6, 7, 8, 11, 12].map(text).join("|")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_action_is_recorded_with_its_actor_target_and_details_and_never_a_secret() {
    let app = TestApp::with_settings(Settings {
        trusted_proxy_header: Some("x-forwarded-for".into()),
        ..Settings::default()
    })
    .await;
    let admin = Auth::admin();
    let mut secrets = vec![ADMIN_PASSWORD.to_string()];

    // Users: created, updated, password changed, disabled, enabled.
    let res = app
        .create_user(
            &admin,
            json!({"login_name": "bob", "password": "bob-password-1"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    secrets.push("bob-password-1".into());
    let patch = json!({"display_name": "Bob B", "email": "bob@example.com"});
    assert_eq!(
        app.update_user(&admin, "bob", patch).await.status,
        StatusCode::OK
    );
    let patch = json!({"password": "bob-password-2"});
    assert_eq!(
        app.update_user(&admin, "bob", patch).await.status,
        StatusCode::OK
    );
    secrets.push("bob-password-2".into());
    assert_eq!(
        app.set_enabled(&admin, "bob", false).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.set_enabled(&admin, "bob", true).await.status,
        StatusCode::OK
    );
    let bob = Auth::basic("bob", "bob-password-2");

    // Sign-ins: failed, succeeded, signed out.
    let res = app.login_form("bob", "not-his-password", None).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    secrets.push("not-his-password".into());
    let cookie = app.login("bob", "bob-password-2").await;
    secrets.push(cookie.trim_start_matches("tollgate_session=").to_string());
    assert_eq!(app.logout(&cookie).await.status, StatusCode::SEE_OTHER);

    // Tokens: created, rotated, revoked by owner and by admin, reported.
    let (first, first_secret) = app.create_token(&bob, "deploy bot").await;
    let res = app.rotate_token(&bob, first).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let second = res.json()["id"].as_i64().unwrap();
    secrets.push(first_secret);
    secrets.push(res.json()["token"].as_str().unwrap().to_string());
    // Reuse: the rotated-away token rotated again revokes the family.
    assert_eq!(
        app.rotate_token(&bob, first).await.status,
        StatusCode::CONFLICT
    );
    let (own, own_secret) = app.create_token(&bob, "laptop").await;
    secrets.push(own_secret);
    let res = app.revoke_token(&bob, own, Some("lost the laptop")).await;
    assert_eq!(res.status, StatusCode::OK);
    let (by_admin, by_admin_secret) = app.create_token(&bob, "old ci").await;
    secrets.push(by_admin_secret);
    let res = app
        .admin_revoke_token(&admin, by_admin, Some("policy"))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let (leaked, leaked_secret) = app.create_token(&bob, "pasted").await;
    let res = app
        .report_leaks(&json!({ "credentials": [leaked_secret] }).to_string())
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED);
    secrets.push(leaked_secret);

    // Scopes: created, deleted (its only-scoped token revoked).
    assert_eq!(
        app.add_scope(&admin, "grafana", "Grafana").await.status,
        StatusCode::OK
    );
    let (scoped, scoped_secret) = app
        .create_scoped_token(&bob, "dashboards", &["grafana:read"])
        .await;
    secrets.push(scoped_secret);
    assert_eq!(
        app.delete_scope(&admin, "grafana").await.status,
        StatusCode::OK
    );

    // User deleted: their last token revoked with it.
    let (last, last_secret) = app.create_token(&bob, "last one").await;
    secrets.push(last_secret);
    assert_eq!(
        app.disable_and_delete_user(&admin, "bob").await.status,
        StatusCode::OK
    );

    let events = all_events(&app).await;
    let seen: BTreeSet<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    let throttled_elsewhere = BTreeSet::from(["auth.throttled"]);
    let expected: BTreeSet<&str> = AUDIT_ACTIONS.into_iter().collect();
    assert_eq!(
        expected.difference(&seen).copied().collect::<BTreeSet<_>>(),
        throttled_elsewhere,
        "every action but throttling (its own test) was recorded"
    );
    // Newest first.
    let ids: Vec<i64> = events.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    let created: Vec<_> = of(&events, "user.created")
        .into_iter()
        .filter(|e| e["target_user"] == "bob")
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["actor"], "admin");
    assert_eq!(created[0]["actor_method"], "basic");
    assert_eq!(created[0]["target_user"], "bob");
    assert_eq!(created[0]["client_ip"], "127.0.0.1");
    let updated = of(&events, "user.updated");
    assert_eq!(
        updated[0]["details"]["changed"],
        json!(["display_name", "email"])
    );
    assert_eq!(of(&events, "user.password_changed").len(), 1);
    assert_eq!(
        of(&events, "user.disabled").len(),
        2,
        "once, and before deletion"
    );
    assert_eq!(of(&events, "user.enabled").len(), 1);

    let failed = of(&events, "auth.sign_in_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["actor"], "bob");
    assert_eq!(failed[0]["actor_method"], "session");
    assert_eq!(failed[0]["details"]["reason"], "invalid credentials");
    assert_eq!(of(&events, "auth.signed_in")[0]["target_user"], "bob");
    assert_eq!(of(&events, "auth.signed_out")[0]["actor"], "bob");

    let created = of(&events, "token.created");
    assert_eq!(created.len(), 6);
    let deploy = created
        .iter()
        .find(|e| e["target_token_id"] == first)
        .unwrap();
    assert_eq!(deploy["details"]["description"], "deploy bot");
    assert_eq!(deploy["details"]["scopes"], "api");
    let rotated = of(&events, "token.rotated");
    assert_eq!(rotated[0]["target_token_id"], second);
    assert_eq!(rotated[0]["details"]["rotated_from"], first);

    let cause_of = |id: i64| {
        of(&events, "token.revoked")
            .into_iter()
            .filter(|e| e["target_token_id"] == id)
            .map(|e| (e["actor"].clone(), e["details"]["cause"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        cause_of(first),
        vec![(json!("bob"), json!(format!("Rotated to token {second}")))]
    );
    assert_eq!(
        cause_of(second),
        vec![(
            json!("bob"),
            json!("Rotation of an already rotated token; family revoked")
        )]
    );
    assert_eq!(
        cause_of(own),
        vec![(json!("bob"), json!("lost the laptop"))]
    );
    assert_eq!(cause_of(by_admin), vec![(json!("admin"), json!("policy"))]);
    assert_eq!(
        cause_of(leaked),
        vec![(json!("system"), json!("Reported as leaked"))]
    );
    let report = of(&events, "token.revoked")
        .into_iter()
        .find(|e| e["target_token_id"] == leaked)
        .unwrap();
    assert_eq!(report["actor_method"], "system");
    assert_eq!(report["client_ip"], "127.0.0.1", "the reporter's address");
    assert_eq!(
        cause_of(scoped),
        vec![(json!("admin"), json!("Scope grafana was deleted"))]
    );
    assert_eq!(
        cause_of(last),
        vec![(
            json!("admin"),
            json!("Revoked because user was deleted by admin")
        )]
    );
    let deleted = of(&events, "user.deleted");
    assert_eq!(deleted[0]["details"]["tokens_revoked"], 1);
    assert_eq!(
        of(&events, "scope.deleted")[0]["details"]["tokens_revoked"],
        1
    );
    assert_eq!(
        of(&events, "scope.created")[0]["details"]["scope"],
        "grafana"
    );

    // No secret anywhere: no token, password, session id or hash.
    let table = raw_table(&app).await;
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM access_tokens")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    let passwords: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    for secret in secrets.iter().chain(&hashes).chain(&passwords) {
        assert!(
            !table.contains(secret.as_str()),
            "{secret} is in the audit log"
        );
    }
    assert!(!table.contains("argon2"));
}

#[tokio::test]
async fn a_refused_change_records_nothing() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    let (id, secret) = app.create_token(&alice, "ci").await;
    app.revoke_token(&alice, id, None).await;
    let before = count(&app).await;

    let refusals = [
        app.post_token(&alice, json!({"description": ""})).await,
        app.post_token(&alice, json!({"description": "x", "scopes": ["nope"]}))
            .await,
        app.post_token(&Auth::bearer(&secret), json!({"description": "x"}))
            .await,
        app.revoke_token(&alice, id, None).await,
        app.rotate_token(&alice, 999_999).await,
        app.delete_user(&admin, "alice").await,
        app.add_scope(&admin, "api", "built in").await,
        app.delete_scope(&admin, "never-defined").await,
        app.create_user(&alice, json!({"login_name": "eve"})).await,
        app.update_user(&admin, "ghost", json!({"display_name": "x"}))
            .await,
    ];
    for res in &refusals {
        assert!(
            res.status.is_client_error(),
            "{} {}",
            res.status,
            res.text()
        );
    }
    assert_eq!(count(&app).await, before, "no event for a refused change");

    // A change that fails inside its transaction leaves neither change nor
    // event: the second of two identical scopes.
    assert_eq!(
        app.add_scope(&admin, "grafana", "G").await.status,
        StatusCode::OK
    );
    let after_one = count(&app).await;
    assert_eq!(
        app.add_scope(&admin, "grafana", "G").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(count(&app).await, after_one);
}

#[tokio::test]
async fn admins_search_and_filter_users_read_their_own_and_tokens_read_nothing() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_user("alice", USER_PASSWORD, false).await;
    app.add_user("carol", "carol-password-1", false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    let carol = Auth::basic("carol", "carol-password-1");
    let (deploy, _) = app.create_token(&alice, "Deploy Pipeline").await;
    let (other, _) = app.create_token(&carol, "carol's laptop").await;
    app.revoke_token(&alice, deploy, Some("rotated keys")).await;
    app.login_form("alice", "wrong-password-x", None).await;

    let search = |q: &str| {
        let q = q.to_string();
        let app = &app;
        let admin = admin.clone();
        async move {
            let res = app
                .audit_events(&admin, &format!("?q={}", encode(&q)))
                .await;
            assert_eq!(res.status, StatusCode::OK, "{q}: {}", res.text());
            res.events()
        }
    };
    // Details text, case-insensitive, three characters or more (the index)
    // and fewer (the bounded scan).
    let hits = search("PIPELINE").await;
    assert_eq!(hits.len(), 2, "created and revoked: {hits:?}");
    assert!(hits.iter().all(|e| e["target_token_id"] == deploy));
    assert_eq!(search("rotated keys").await.len(), 1);
    assert!(!search("ca").await.is_empty());
    assert_eq!(search("carol's").await.len(), 1);
    let by_id = search(&other.to_string()).await;
    assert!(
        by_id.iter().any(|e| e["target_token_id"] == other),
        "{by_id:?}"
    );
    assert!(search("127.0.0.1").await.len() >= 4, "by client address");
    assert_eq!(search("sign_in_failed").await.len(), 1);
    assert!(search("no such thing anywhere").await.is_empty());
    assert!(search("%").await.is_empty(), "LIKE's wildcards are literal");

    // Filters: family, action, user, token, time.
    let list = |query: &str| {
        let query = query.to_string();
        let app = &app;
        let admin = admin.clone();
        async move {
            let res = app.audit_events(&admin, &query).await;
            assert_eq!(res.status, StatusCode::OK, "{query}: {}", res.text());
            res.events()
        }
    };
    let tokens = list("?action=token").await;
    assert_eq!(tokens.len(), 3);
    assert!(tokens
        .iter()
        .all(|e| e["action"].as_str().unwrap().starts_with("token.")));
    assert_eq!(list("?action=token.revoked").await.len(), 1);
    assert_eq!(list("?action=auth&q=alice").await.len(), 1);
    assert_eq!(list("?user=carol").await.len(), 2, "created, and her token");
    let story = list(&format!("?token_id={deploy}")).await;
    assert_eq!(
        story
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["token.revoked", "token.created"]
    );
    assert!(list("?since=2000-01-01&until=2999-12-31").await.len() >= 6);
    assert!(list("?until=2000-01-01").await.is_empty());
    assert!(list("?since=2999-01-01T00:00:00Z").await.is_empty());

    // Paging: one at a time, newest first, no event twice.
    let everything = list("?page_size=1000").await;
    let mut query = "?page_size=2".to_string();
    let mut paged = Vec::new();
    loop {
        let res = app.audit_events(&admin, &query).await;
        paged.extend(res.events());
        match res.next_events(AUDIT) {
            Some(next) => query = next,
            None => break,
        }
    }
    assert_eq!(paged, everything);

    // Bad parameters: a clear 400 each.
    for bad in [
        "?action=token.stolen",
        "?since=yesterday",
        "?until=2026-13-01",
        "?token_id=abc",
        "?page_size=0",
        "?page_size=1001",
        "?after=xyz",
    ] {
        let res = app.audit_events(&admin, bad).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{bad}: {}", res.text());
        assert!(!res.message().is_empty());
    }

    // A user reads their own events only, whoever acted.
    let res = app.own_events(&alice, "").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let own = res.events();
    assert!(own.iter().all(|e| e["target_user"] == "alice"), "{own:?}");
    let actions: BTreeSet<&str> = own.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains("token.revoked") && actions.contains("auth.sign_in_failed"));
    assert!(!own.iter().any(|e| e["target_token_id"] == other));
    // Not even with a user filter for someone else.
    let res = app.own_events(&alice, "?user=carol").await;
    assert!(res.events().iter().all(|e| e["target_user"] == "alice"));

    // Non-admins and tokens: refused.
    assert_eq!(
        app.audit_events(&alice, "").await.status,
        StatusCode::FORBIDDEN
    );
    let (_, token) = app.create_token(&admin, "reader").await;
    let bearer = Auth::bearer(&token);
    assert_eq!(
        app.audit_events(&bearer, "").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.own_events(&bearer, "").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.audit_events(&Auth::None, "").await.status,
        StatusCode::UNAUTHORIZED
    );
    let _ = carol;
}

#[tokio::test]
async fn a_throttling_episode_is_recorded_once() {
    let app = TestApp::with_settings(Settings {
        auth_failures_per_minute: 1,
        auth_failure_burst: 2,
        ..Settings::default()
    })
    .await;
    let junk = Auth::bearer("tgp_0000000000000000000000000000000000000000");
    for _ in 0..10 {
        app.current_user(&junk).await;
    }
    // Recorded in the background.
    for _ in 0..50 {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.throttled'")
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        if n > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let events: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT action, actor, client_ip FROM audit_log WHERE action = 'auth.throttled'",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        events,
        vec![(
            "auth.throttled".to_string(),
            "system".to_string(),
            Some("127.0.0.1".to_string())
        )],
        "one event for the whole episode"
    );
    // Failed token uses are not logged one by one.
    let failures: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM audit_log WHERE family = 'auth' AND action <> 'auth.throttled'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(failures, 0);
}

#[tokio::test]
async fn old_events_are_pruned_in_batches_and_the_export_is_one_json_object_a_line() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    for i in 0..5 {
        app.create_token(&admin, &format!("token {i}")).await;
    }
    // The admin's creation, then the five tokens'.
    assert_eq!(count(&app).await, 6);
    // Moved into the indexed log (the server does it every second), the
    // two oldest made "old".
    tollgate::server::audit::move_all(&app.state.db, 2)
        .await
        .unwrap();
    let day = 24 * 3600 * 1000_i64;
    let now = tollgate::server::time::now_millis();
    sqlx::query("UPDATE audit_events SET at = $1 WHERE id IN (SELECT id FROM audit_events ORDER BY id LIMIT 2)")
        .bind(now - 400 * day)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let pruned = tollgate::server::audit::prune(&app.state.db, 365, now)
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    assert_eq!(count(&app).await, 4);
    // The search index forgot them too.
    let res = app.audit_events(&admin, "?q=token%200").await;
    assert!(res.events().is_empty(), "{}", res.text());

    // `tollgate audit export`, the real binary on the same database.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["audit", "export", "--format", "jsonl"])
        .env("DATABASE_URL", &app.db_args.database_url)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0]["details"]["description"], "token 1",
        "oldest first"
    );
    assert!(lines
        .iter()
        .all(|e| e["action"] == "token.created" && e["at"].is_string()));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Exported 4 audit events"));

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["audit", "export", "--since", "2999-01-01"])
        .env("DATABASE_URL", &app.db_args.database_url)
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["audit", "export", "--since", "last tuesday"])
        .env("DATABASE_URL", &app.db_args.database_url)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("since"));
}

/// Every way a page can be found (trigram index, a short term looked for row
/// by row, each driving index, a user's two indexes merged, time ranges
/// turned into id ranges, windows that end a page early) finds exactly what a
/// plain filter over every row finds, newest first, each event once, with
/// windows as small as a handful of events and as large as the defaults.
#[tokio::test]
async fn every_strategy_finds_what_a_plain_filter_finds() {
    use tollgate::server::audit::repo::{self, Windows};
    use tollgate::server::audit::{Action, ActionFilter, Event, Filter, Who};
    use tollgate::server::identity::Origin;
    use tollgate::server::tokens::search::term::SearchTerm;

    let app = TestApp::new().await;
    let db = &app.state.db;
    let day = 24 * 3600 * 1000_i64;
    let start = tollgate::server::time::now_millis() - 30 * day;
    let names = ["ann", "bob", "cyd"];
    let actions = [
        Action::TokenCreated,
        Action::TokenRevoked,
        Action::SignedIn,
        Action::UserUpdated,
        Action::ScopeCreated,
    ];
    let whos: Vec<Who> = (0..6)
        .map(|k| Who {
            actor: if k % 3 == 0 {
                "admin".into()
            } else {
                names[k % 3].into()
            },
            method: "session",
            origin: Origin {
                ip: Some(format!("10.0.0.{k}").parse().unwrap()),
                user_agent: None,
            },
        })
        .collect();
    let events: Vec<Event> = (0..240_usize)
        .map(|i| {
            let e = Event::new(&whos[i % 6], actions[(i / 2) % 5])
                .user(names[(i / 3) % 3], Some(((i / 3) % 3) as i64 + 100))
                .token((i % 17) as i64 + 1);
            let words = ["deploy nightly", "backup", "café deploy", "sync"];
            e.details(json!({ "description": words[(i / 5) % 4] }))
        })
        .collect();
    // Spread over 30 days, a few out of order (clocks, commit order).
    let stamped: Vec<(i64, &Event)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                start + i as i64 * 3 * 3600 * 1000 - (i % 4) as i64 * 60_000,
                e,
            )
        })
        .collect();
    // Only these, so ids follow times (the admin's creation is stamped now).
    let mut tx = db.begin_write().await.unwrap();
    for table in ["audit_events", "audit_inbox"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    repo::insert(&mut tx, &stamped).await.unwrap();
    tx.commit().await.unwrap();

    type Raw = (
        i64,
        i64,
        String,
        String,
        String,
        Option<String>,
        Option<i64>,
        Option<i64>,
        String,
    );
    let rows: Vec<Raw> = sqlx::query_as(
        "SELECT id, at, actor, action, family, target_user, target_user_id, target_token_id, \
         search_text FROM audit_log ORDER BY id DESC",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let plain = |f: &Filter| -> Vec<i64> {
        rows.iter()
            .filter(|(_, at, actor, action, family, tu, tuid, tid, text)| {
                f.term.as_ref().is_none_or(|t| text.contains(t.as_str()))
                    && match f.action {
                        Some(ActionFilter::Action(a)) => action == a,
                        Some(ActionFilter::Family(x)) => family == x,
                        None => true,
                    }
                    && f.user
                        .as_ref()
                        .is_none_or(|u| actor == u || tu.as_ref() == Some(u))
                    && f.token_id.is_none_or(|id| *tid == Some(id))
                    && f.own.is_none_or(|id| *tuid == Some(id))
                    && f.since.is_none_or(|s| *at >= s)
                    && f.until.is_none_or(|u| *at < u)
            })
            .map(|r| r.0)
            .collect()
    };
    let term = |t: &str| SearchTerm::parse(Some(t)).unwrap();
    let base = Filter::default();
    let filters = vec![
        base.clone(),
        Filter {
            term: term("deploy"),
            ..base.clone()
        },
        Filter {
            term: term("Café"),
            ..base.clone()
        },
        Filter {
            term: term("de"),
            ..base.clone()
        },
        Filter {
            term: term("zq"),
            ..base.clone()
        },
        Filter {
            term: term("10.0.0.4"),
            ..base.clone()
        },
        Filter {
            action: Some(ActionFilter::Family("token")),
            ..base.clone()
        },
        Filter {
            action: Some(ActionFilter::Action("user.updated")),
            ..base.clone()
        },
        Filter {
            user: Some("bob".into()),
            ..base.clone()
        },
        Filter {
            user: Some("admin".into()),
            ..base.clone()
        },
        Filter {
            token_id: Some(5),
            ..base.clone()
        },
        Filter {
            own: Some(101),
            ..base.clone()
        },
        Filter {
            since: Some(start + 5 * day),
            until: Some(start + 9 * day),
            ..base.clone()
        },
        Filter {
            since: Some(start + 29 * day),
            ..base.clone()
        },
        Filter {
            until: Some(start + 2 * day),
            ..base.clone()
        },
        Filter {
            term: term("deploy"),
            action: Some(ActionFilter::Family("auth")),
            ..base.clone()
        },
        Filter {
            term: term("nightly"),
            user: Some("cyd".into()),
            ..base.clone()
        },
        Filter {
            term: term("backup"),
            token_id: Some(3),
            ..base.clone()
        },
        Filter {
            term: term("sync"),
            own: Some(100),
            ..base.clone()
        },
        Filter {
            term: term("ba"),
            user: Some("ann".into()),
            ..base.clone()
        },
        Filter {
            user: Some("bob".into()),
            action: Some(ActionFilter::Action("token.revoked")),
            ..base.clone()
        },
        Filter {
            term: term("deploy"),
            since: Some(start + 3 * day),
            until: Some(start + 20 * day),
            ..base.clone()
        },
        Filter {
            user: Some("admin".into()),
            since: Some(start + 10 * day),
            action: Some(ActionFilter::Family("scope")),
            ..base.clone()
        },
        Filter {
            token_id: Some(2),
            action: Some(ActionFilter::Family("token")),
            ..base.clone()
        },
    ];
    let tiny = Windows {
        scan: 7,
        sift: 11,
        newest: 5,
    };
    // All in the inbox (read row by row), half moved on into the indexed log,
    // then all of it. (The server's mover may move more meanwhile: any mix
    // must find the same.)
    let inbox: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_inbox")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    for stage in 0..3 {
        match stage {
            0 => {}
            1 => {
                tollgate::server::audit::repo::move_batch(db, inbox / 2)
                    .await
                    .unwrap();
            }
            _ => {
                tollgate::server::audit::move_all(db, 100).await.unwrap();
            }
        }
        for windows in [tiny, Windows::default()] {
            for f in &filters {
                let want = plain(f);
                let mut got = Vec::new();
                let mut cursor = f.clone();
                for _ in 0..1000 {
                    let found = repo::page_in(db, &cursor, 4, windows).await.unwrap();
                    got.extend(found.events.iter().map(|e| e.id));
                    match found.next {
                        Some(next) => cursor.before_id = Some(next),
                        None => break,
                    }
                }
                assert_eq!(got, want, "{f:?} with {windows:?} at stage {stage}");
            }
        }
    }
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_inbox")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
