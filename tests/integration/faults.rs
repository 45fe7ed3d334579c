//! Faults: a crash (kill -9) under load loses nothing acknowledged; a full disk
//! or a read-only database answers 503 and recovers.

use crate::common::*;
use axum::http::StatusCode;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Runs the real binary under concurrent creates and revokes, kills it with
/// SIGKILL mid-load, restarts it on the same database, and checks that every
/// create and revoke answered 200 is there.
#[tokio::test]
async fn kill_9_under_load_loses_nothing_acknowledged() {
    let (storage, url) = Storage::new().await;
    let (mut child, addr) = spawn_server(&url, &[]).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://{addr}{TOKENS}");

    let created = Arc::new(Mutex::new(Vec::<i64>::new()));
    let revoked = Arc::new(Mutex::new(Vec::<i64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (client, base, created, revoked, stop) = (
            client.clone(),
            base.clone(),
            created.clone(),
            revoked.clone(),
            stop.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let res = client
                    .post(&base)
                    .header("Accept", accept(1))
                    .basic_auth("admin", Some(ADMIN_PASSWORD))
                    .json(&json!({"description": format!("worker {w} #{i}")}))
                    .send()
                    .await;
                let Ok(res) = res else { break };
                if res.status() != reqwest::StatusCode::OK {
                    continue;
                }
                let Ok(body) = res.json::<serde_json::Value>().await else {
                    break;
                };
                let id = body["id"].as_i64().unwrap();
                created.lock().unwrap().push(id);
                if i % 2 == 0 {
                    let res = client
                        .post(format!("{base}/{id}/revoke"))
                        .header("Accept", accept(1))
                        .basic_auth("admin", Some(ADMIN_PASSWORD))
                        .send()
                        .await;
                    match res {
                        Ok(r) if r.status() == reqwest::StatusCode::OK => {
                            revoked.lock().unwrap().push(id)
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
            }
        }));
    }
    // Let the load build up, then pull the plug.
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if created.lock().unwrap().len() >= 40 {
            break;
        }
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }

    // Restart on the same database (SQLite recovers its WAL on open).
    let (mut child, _) = spawn_server(&url, &[]).await;
    let db = tollgate::server::db::connect(&tollgate::server::config::DbArgs {
        database_url: url.clone(),
        db_max_connections: 1,
        db_acquire_timeout: 5,
    })
    .await
    .unwrap();
    let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT id, revoked FROM access_tokens")
        .fetch_all(&db.pool)
        .await
        .unwrap();
    let stored: std::collections::HashMap<i64, i64> = rows.into_iter().collect();
    let created = created.lock().unwrap().clone();
    let revoked = revoked.lock().unwrap().clone();
    let lost_creates = created.iter().filter(|id| !stored.contains_key(id)).count();
    let lost_revokes = revoked
        .iter()
        .filter(|id| stored.get(id) != Some(&1))
        .count();
    eprintln!(
        "kill -9 under load ({}): {} creates and {} revokes acknowledged; lost {lost_creates} creates, {lost_revokes} revokes",
        if on_postgres() { "PostgreSQL" } else { "SQLite" },
        created.len(),
        revoked.len()
    );
    assert!(created.len() >= 40 && !revoked.is_empty());
    assert_eq!((lost_creates, lost_revokes), (0, 0));
    db.pool.close().await;
    child.start_kill().unwrap();
    let _ = child.wait().await;
    drop(storage);
}

/// A full disk answers 503 on writes, keeps serving reads, loses nothing that
/// was acknowledged, and recovers once there is room. SQLite: the database is
/// capped with `max_page_count`, which makes SQLite report SQLITE_FULL
/// ("database or disk is full"), the same error a full disk gives.
#[tokio::test]
async fn a_full_disk_answers_503_and_recovers() {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL: the read-only test covers it");
        return;
    }
    let (storage, url) = Storage::new().await;
    // One connection, so the cap below applies to every query.
    let args = tollgate::server::config::DbArgs {
        database_url: url,
        db_max_connections: 1,
        db_acquire_timeout: 5,
    };
    let app = TestApp::open(args, Default::default(), Arc::new(storage)).await;
    tollgate::server::users::service::bootstrap_admin(
        &app.state.db,
        "admin",
        Some(ADMIN_PASSWORD.to_string().into()),
    )
    .await
    .unwrap();
    let cookie = Auth::Cookie(app.login("admin", ADMIN_PASSWORD).await);
    let (kept, _) = app.create_token(&cookie, "before the disk filled").await;

    let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "PRAGMA max_page_count = {}",
        pages + 2
    )))
    .execute(&app.state.db.pool)
    .await
    .unwrap();

    let mut saw_503 = false;
    for i in 0..200 {
        let description = format!("{i} {}", "x".repeat(1000));
        let res = app
            .post_token(&cookie, json!({ "description": description }))
            .await;
        match res.status {
            StatusCode::OK => continue,
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(
                    res.message(),
                    "The database is unavailable. Please try again shortly."
                );
                saw_503 = true;
                break;
            }
            other => panic!("full disk gave {other}: {}", res.text()),
        }
    }
    assert!(saw_503, "the disk never filled");
    let res = app.show_token(&cookie, kept).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "reads still work on a full disk"
    );

    sqlx::raw_sql("PRAGMA max_page_count = 1073741823")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let res = app
        .post_token(&cookie, json!({"description": "after"}))
        .await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "did not recover: {}",
        res.text()
    );
    let all = app.list_tokens(&cookie, Some("all")).await;
    assert!(all.text().contains("before the disk filled"));
}

/// A read-only database (PostgreSQL: default_transaction_read_only) answers
/// 503 on writes, still serves reads, and recovers when writable again.
#[tokio::test]
async fn a_read_only_database_answers_503_and_recovers() {
    if !on_postgres() {
        eprintln!("skipped on SQLite: the full-disk test covers it");
        return;
    }
    let app = TestApp::new().await;
    let cookie = Auth::Cookie(app.login("admin", ADMIN_PASSWORD).await);
    let (kept, _) = app.create_token(&cookie, "kept").await;
    let mut ctl = PgControl::new(&app).await;
    let name = ctl.db.clone();
    ctl.exec(format!(
        "ALTER DATABASE \"{name}\" SET default_transaction_read_only = on"
    ))
    .await;
    ctl.disconnect_all().await;

    let mut status = StatusCode::OK;
    for _ in 0..10 {
        status = app
            .post_token(&cookie, json!({"description": "refused"}))
            .await
            .status;
        if status != StatusCode::OK {
            break;
        }
    }
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(app.show_token(&cookie, kept).await.status, StatusCode::OK);

    ctl.exec(format!(
        "ALTER DATABASE \"{name}\" RESET default_transaction_read_only"
    ))
    .await;
    ctl.disconnect_all().await;
    let mut recovered = false;
    for _ in 0..20 {
        if app
            .post_token(&cookie, json!({"description": "after"}))
            .await
            .status
            == StatusCode::OK
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(recovered);
}
