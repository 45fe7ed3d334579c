//! The worst-case token create: a description of 1024 distinct CJK characters
//! (2,047 distinct one- and two-character grams, the most one description can
//! have, plus the owner's), by one user filling up to the active-token cap.
//!
//! Phases, each printing p50 / p95 / max:
//! 0. ordinary: `ORDINARY` creates of a short description by another user,
//!    each followed by its revoke (the everyday cost; compare runs of two
//!    commits, see BENCHMARKS.md);
//! 1. fill: creates 1 .. cap-1, each with a worst-case description;
//! 2. at the cap: revoke one, then time the create that takes the last slot
//!    (the count reads `cap - 1` index entries), `ROUNDS` times;
//! 3. refused: a create at the cap, answered without writing.
//!
//! SQLite (a temporary file):
//!   cargo bench --features ssr --bench create
//! PostgreSQL (a database of its own is created and dropped on that server):
//!   TOLLGATE_BENCH_PG=postgres://postgres@127.0.0.1:5432 cargo bench --features ssr --bench create
//! `TOLLGATE_BENCH_CAP` changes the cap (default 1000). `TOLLGATE_BENCH_SQL`
//! runs statements after the migrations (`DROP TRIGGER ...`: what a piece of
//! the schema costs, BENCHMARKS.md section 11).

use std::sync::Arc;
use std::time::{Duration, Instant};
use support::ms;
use tollgate::server::auth::AuthMethod;
use tollgate::server::auth_cache::AuthCache;
use tollgate::server::tokens::Tokens;

mod support;

const ROUNDS: usize = 50;
const ORDINARY: usize = 400;

fn worst_description(k: usize) -> String {
    // 1024 distinct CJK unified ideographs, a different run for each token.
    (0..1024)
        .map(|i| char::from_u32(0x4e00 + ((k * 1024 + i) % 20_900) as u32).unwrap())
        .collect()
}

fn summary(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "{name:<28} n={:<5} p50 {:>7.2} ms   p95 {:>7.2} ms   max {:>7.2} ms",
        times.len(),
        ms(pct(0.5)),
        ms(pct(0.95)),
        ms(*times.last().unwrap()),
    );
}

#[tokio::main]
async fn main() {
    let cap: u32 = std::env::var("TOLLGATE_BENCH_CAP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let _dir;
    let mut pg_drop = None;
    let url = match std::env::var("TOLLGATE_BENCH_PG") {
        Ok(base) => {
            use sqlx::Connection;
            let name = format!("tollgate_bench_create_{}", std::process::id());
            let mut c = sqlx::PgConnection::connect(&format!("{base}/postgres"))
                .await
                .unwrap();
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut c)
                .await
                .unwrap();
            pg_drop = Some((c, name.clone()));
            format!("{base}/{name}")
        }
        Err(_) => {
            _dir = tempfile::tempdir().unwrap();
            format!("sqlite://{}/bench.db", _dir.path().display())
        }
    };
    let db = support::connect(&url).await;
    // What a piece of the schema costs: drop it here and compare runs.
    if let Ok(sql) = std::env::var("TOLLGATE_BENCH_SQL") {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&db.pool)
            .await
            .unwrap();
    }
    let caller = support::caller(support::user(&db, "bench", false).await, AuthMethod::Basic);
    let tokens =
        Tokens::new(db.clone(), Arc::new(AuthCache::default())).with_max_active_per_user(cap);
    println!(
        "worst-case create on {}, cap {cap}",
        if pg_drop.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );

    let everyday = support::caller(
        support::user(&db, "everyday", false).await,
        AuthMethod::Basic,
    );
    let (mut created, mut revoked) = (Vec::new(), Vec::new());
    for k in 0..ORDINARY {
        let d = format!("nightly deploy {k}");
        let t = Instant::now();
        let (token, _) = tokens.create(&everyday, &d).await.unwrap();
        created.push(t.elapsed());
        let t = Instant::now();
        tokens.revoke_own(&everyday, token.id, None).await.unwrap();
        revoked.push(t.elapsed());
    }
    summary("ordinary create", created);
    summary("ordinary revoke", revoked);

    let mut fill = Vec::new();
    let mut ids = Vec::new();
    for k in 0..(cap as usize - 1) {
        let d = worst_description(k);
        let t = Instant::now();
        let (token, _) = tokens.create(&caller, &d).await.unwrap();
        fill.push(t.elapsed());
        ids.push(token.id);
    }
    summary("fill (creates 1..cap-1)", fill);

    let mut at_cap = Vec::new();
    for r in 0..ROUNDS {
        let d = worst_description(cap as usize + r);
        let t = Instant::now();
        let (token, _) = tokens.create(&caller, &d).await.unwrap();
        at_cap.push(t.elapsed());
        tokens.revoke_own(&caller, token.id, None).await.unwrap();
    }
    summary("create of the cap-th token", at_cap);

    tokens.create(&caller, &worst_description(0)).await.unwrap();
    let mut refused = Vec::new();
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let e = tokens
            .create(&caller, &worst_description(1))
            .await
            .unwrap_err();
        refused.push(t.elapsed());
        assert!(e.to_string().contains("active access tokens"), "{e}");
    }
    summary("create refused at the cap", refused);

    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM token_grams")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    println!("token_grams rows: {rows}");
    db.pool.close().await;
    if let Some((mut c, name)) = pg_drop {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
        )))
        .execute(&mut c)
        .await;
    }
}
