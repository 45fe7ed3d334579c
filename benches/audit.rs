//! Admin audit search at scale: p50 and p95 of the Audit Log's server function
//! (`audit::admin_page`) and of the REST search (`/go/api/admin/audit_events`),
//! over a fixed set of searches, filters and their combinations.
//!
//! Needs a seeded database (a million events over a year, 1,000 users):
//!   tollgate dev seed --users 1000 --tokens 0 --events 1000000 --database-url sqlite://bench/audit-1m.db
//!   TOLLGATE_BENCH_DB=sqlite://bench/audit-1m.db cargo bench --features ssr --bench audit
//! (`make bench-audit` does both, on SQLite and on PostgreSQL.)
//! Without TOLLGATE_BENCH_DB it prints this and exits.

use std::time::Instant;
use support::{ms, pct};
use tollgate::server::audit::{self, AuditQuery};
use tollgate::server::time::{iso, now_millis, DAY_MILLIS};

mod support;

const RUNS: usize = 15;

/// The searches: (label, query parameters).
/// `older` and `newer`: ids of tokens the log has events about.
fn searches(older: i64, newer: i64) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let now = now_millis();
    let day = |days_ago: i64| iso(now - days_ago * DAY_MILLIS)[..10].to_string();
    let s = |v: &str| v.to_string();
    vec![
        ("newest", vec![]),
        ("q common word", vec![("q", s("deploy"))]),
        ("q two words", vec![("q", s("build agent"))]),
        ("q a user", vec![("q", s("user00042"))]),
        ("q an address", vec![("q", s("10.2.33.4"))]),
        ("q a cause", vec![("q", s("laptop stolen"))]),
        ("q non-ASCII", vec![("q", s("straße"))]),
        ("q an action", vec![("q", s("token.rotated"))]),
        ("q a token id", vec![("q", newer.to_string())]),
        ("q absent", vec![("q", s("xyzzy"))]),
        ("q 1 char", vec![("q", s("a"))]),
        ("q 2 chars", vec![("q", s("zq"))]),
        ("family", vec![("action", s("token"))]),
        ("rare action", vec![("action", s("scope.created"))]),
        ("user", vec![("user", s("user00042"))]),
        ("token", vec![("token_id", older.to_string())]),
        ("one day", vec![("since", day(180)), ("until", day(180))]),
        ("last week", vec![("since", day(7))]),
        (
            "q + family, none",
            vec![("q", s("deploy")), ("action", s("auth"))],
        ),
        (
            "q + rare action",
            vec![("q", s("nightly")), ("action", s("user.password_changed"))],
        ),
        (
            "q + one day",
            vec![("q", s("deploy")), ("since", day(90)), ("until", day(90))],
        ),
        (
            "user + action",
            vec![("user", s("user00042")), ("action", s("token.revoked"))],
        ),
        (
            "user + q",
            vec![("user", s("user00042")), ("q", s("laptop"))],
        ),
        (
            "user + old day",
            vec![
                ("user", s("user00042")),
                ("since", day(300)),
                ("until", day(240)),
            ],
        ),
    ]
}

fn audit_query(params: &[(&str, String)]) -> AuditQuery {
    let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
    AuditQuery {
        q: get("q"),
        action: get("action"),
        user: get("user"),
        token_id: get("token_id"),
        since: get("since"),
        until: get("until"),
        page_size: None,
        after: get("after"),
    }
}

#[tokio::main]
async fn main() {
    let Ok(url) = std::env::var("TOLLGATE_BENCH_DB") else {
        println!("set TOLLGATE_BENCH_DB to a seeded database (see benches/audit.rs); skipping");
        return;
    };
    let db = support::connect(&url).await;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let (caller, cookie, app) = support::admin_session(&db).await;
    let router = app.router.clone();

    println!(
        "{total} audit events in {}",
        if url.starts_with("sqlite") {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    );
    println!(
        "{:<18} {:>9} {:>9} {:>9} {:>9} {:>6} {:>9} {:>9}",
        "search", "fn p50", "fn p95", "rest p50", "rest p95", "found", "p2 p50", "p2 p95"
    );
    let (mut all_fn, mut all_rest) = (Vec::new(), Vec::new());
    let token_near = |id: i64| {
        sqlx::query_scalar::<_, i64>(
            "SELECT target_token_id FROM audit_events \
             WHERE target_token_id IS NOT NULL AND id >= $1 ORDER BY id LIMIT 1",
        )
        .bind(id)
        .fetch_one(&db.pool)
    };
    let (older, newer) = (
        token_near(total / 2).await.unwrap(),
        token_near(total * 2 / 3).await.unwrap(),
    );
    for (label, params) in searches(older, newer) {
        let query = audit_query(&params);
        let (mut f, mut r, mut p2) = (Vec::new(), Vec::new(), Vec::new());
        let mut found = 0;
        for _ in 0..RUNS {
            let t = Instant::now();
            let page = audit::admin_page(&db, &caller, &query).await.unwrap();
            f.push(t.elapsed());
            found = page.events.len();

            // The next page, where there is one: Load more.
            if let Some(next) = page.next.clone() {
                let more = AuditQuery {
                    after: Some(next),
                    ..query.clone()
                };
                let t = Instant::now();
                audit::admin_page(&db, &caller, &more).await.unwrap();
                p2.push(t.elapsed());
            }

            let uri = format!(
                "/go/api/admin/audit_events?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
                    .finish()
            );
            r.push(support::get_v1(&router, &uri, &cookie).await);
        }
        f.sort();
        r.sort();
        p2.sort();
        let (p2_50, p2_95) = if p2.is_empty() {
            ("-".to_string(), "-".to_string())
        } else {
            (
                format!("{:.2}", ms(pct(&p2, 0.5))),
                format!("{:.2}", ms(pct(&p2, 0.95))),
            )
        };
        println!(
            "{label:<18} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {found:>6} {p2_50:>9} {p2_95:>9}",
            ms(pct(&f, 0.5)),
            ms(pct(&f, 0.95)),
            ms(pct(&r, 0.5)),
            ms(pct(&r, 0.95)),
        );
        all_fn.extend(f);
        all_fn.extend(p2);
        all_rest.extend(r);
    }
    all_fn.sort();
    all_rest.sort();
    println!(
        "{:<18} {:>9.2} {:>9.2} {:>9.2} {:>9.2}   (fn: first and next pages)",
        "ALL",
        ms(pct(&all_fn, 0.5)),
        ms(pct(&all_fn, 0.95)),
        ms(pct(&all_rest, 0.5)),
        ms(pct(&all_rest, 0.95))
    );
    db.pool.close().await;
}
