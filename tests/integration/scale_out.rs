//! Several stateless instances on one database, over real HTTP on real ports;
//! database outages; start-up failures; graceful shutdown of the real binary.

use crate::common::*;
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// Polls with a Bearer token until it is refused (at most 10 s), and
/// returns the refusal's body.
async fn until_refused(client: &Client, token: &str) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let res = client.me(token).await;
        if res.status == StatusCode::UNAUTHORIZED {
            return res.json();
        }
        assert_eq!(res.status, StatusCode::OK);
        assert!(
            std::time::Instant::now() < deadline,
            "the token was still accepted 10 s after it lost its validity"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn two_instances_on_one_database_behave_as_one() {
    // Each instance caches verified tokens. On PostgreSQL the cache is made to
    // outlive the test, so refusals below can only come from the other
    // instance's notification; on one SQLite file (no notifications between
    // processes) they come from the entry's short expiry.
    let settings = || Settings {
        auth_cache_ttl: if on_postgres() {
            Duration::from_secs(60)
        } else {
            Duration::from_millis(300)
        },
        ..Settings::default()
    };
    let app_a = TestApp::with_settings(settings()).await;
    let app_b = app_a.second_instance_with(settings()).await;
    let a = app_a.serve().await;
    let b = app_b.serve().await;
    assert_ne!(a.addr().unwrap().port(), b.addr().unwrap().port());
    let admin = Auth::admin();
    let page = |client: &Client, cookie: &str| {
        let (client, cookie) = (client.clone(), cookie.to_string());
        async move {
            client
                .get_page("/go/access_tokens", Some(&cookie))
                .await
                .status
        }
    };

    // A login on A is valid on B.
    let cookie = a.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(page(&b, &cookie).await, StatusCode::OK);

    // A token created on A works on B.
    let (id, token) = a.create_token(&Auth::Cookie(cookie.clone()), "multi").await;
    let me = b.me(&token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["login_name"], "admin");
    assert_eq!(a.me(&token).await.status, StatusCode::OK, "now cached on A");

    // A revoke on B is refused on A too.
    let res = b.revoke_token(&admin, id, None).await;
    assert_eq!(res.status, StatusCode::OK);
    let body = until_refused(&a, &token).await;
    assert!(body["message"].as_str().unwrap().contains("revoked at"));

    // A user deleted on A loses access on B: token, password and session.
    let res = a
        .create_user(
            &admin,
            json!({"login_name": "dana", "password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let dana = Auth::basic("dana", USER_PASSWORD);
    let (_, dana_token) = b.create_token(&dana, "dana's").await;
    let dana_cookie = b.login("dana", USER_PASSWORD).await;
    assert_eq!(b.me(&dana_token).await.status, StatusCode::OK);
    let res = a.disable_and_delete_user(&admin, "dana").await;
    assert_eq!(res.status, StatusCode::OK);
    until_refused(&b, &dana_token).await;
    assert_eq!(b.current_user(&dana).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(page(&b, &dana_cookie).await, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn instances_flushing_one_token_keep_the_newest_use() {
    let app_a = TestApp::new().await;
    let app_b = app_a.second_instance().await;
    let (id, _) = app_a.create_token(&Auth::admin(), "shared").await;
    // B saw the newest use, A an older one; B flushes first, then A.
    app_b
        .state
        .tokens
        .last_used
        .record(id, 2_000_000_000_000, LOCALHOST, None);
    app_a
        .state
        .tokens
        .last_used
        .record(id, 1_000_000_000_000, LOCALHOST, None);
    app_b.flush_last_used().await;
    app_a.flush_last_used().await;
    let res = app_a.show_token(&Auth::admin(), id).await;
    assert_eq!(res.json()["last_used_at"], "2033-05-18T03:33:20Z");
}

/// A database that goes away gives 503s with a message, not hangs or crashes,
/// and the instance recovers when it comes back. PostgreSQL leg only: the test
/// refuses connections to its own database, then allows them again.
#[tokio::test]
async fn a_database_outage_gives_503_then_recovery() {
    if !on_postgres() {
        eprintln!("skipped on SQLite: runs in the PostgreSQL leg");
        return;
    }
    // No cache of verified tokens: this is about what a database read does
    // when the database is gone.
    let settings = tollgate::server::config::Settings {
        auth_cache_ttl: Duration::ZERO,
        ..Default::default()
    };
    let app = TestApp::build(settings, 1).await;
    let (_, token) = app.create_token(&Auth::admin(), "outage").await;
    assert_eq!(app.me(&token).await.status, StatusCode::OK);

    let mut ctl = PgControl::new(&app).await;
    let name = ctl.db.clone();
    ctl.exec(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"))
        .await;
    ctl.disconnect_all().await;

    let down = app.me(&token).await;
    assert_eq!(
        down.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        down.text()
    );
    assert_eq!(
        down.message(),
        "The database is unavailable. Please try again shortly."
    );
    let basic = app.current_user(&Auth::admin()).await;
    assert_eq!(basic.status, StatusCode::SERVICE_UNAVAILABLE);
    let page = app
        .get_page("/go/access_tokens", Some("tollgate_session=abc"))
        .await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);

    ctl.exec(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .await;
    let mut recovered = false;
    for _ in 0..20 {
        if app.me(&token).await.status == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        recovered,
        "the instance did not recover when the database came back"
    );
}

/// An unreachable database at start is a clear error and a non-zero exit.
#[tokio::test]
async fn an_unreachable_database_at_start_is_a_clear_error() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/nope",
            "--db-acquire-timeout",
            "1",
        ])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to the database"), "{err}");

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--database-url", "mysql://x/y"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}

/// SIGTERM: the real binary stops gracefully and writes the last-used times it
/// was holding in memory, so nothing buffered is lost.
#[tokio::test]
async fn sigterm_flushes_last_used_times_before_exit() {
    let (storage, url) = Storage::new().await;
    let (mut child, addr) = spawn_server(&url, &["--last-used-flush-secs", "3600"]).await;
    let http = Client::http(addr);
    let (id, token) = http.create_token(&Auth::admin(), "flush me").await;
    assert_eq!(http.me(&token).await.status, StatusCode::OK);

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("no graceful exit")
        .unwrap();
    assert!(status.success(), "{status:?}");

    let db = tollgate::server::db::connect(&tollgate::server::config::DbArgs {
        database_url: url,
        db_max_connections: 1,
        db_acquire_timeout: 5,
    })
    .await
    .unwrap();
    let last_used: Option<i64> =
        sqlx::query_scalar("SELECT last_used_at FROM access_tokens WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(
        last_used.is_some(),
        "the last-used time held in memory was lost at shutdown"
    );
    db.pool.close().await;
    drop(storage);
}
