//! Admin live search at scale: p50 and p95 of the server function's work (list
//! plus per-tab counts) and of the REST search, over a fixed set of queries.
//!
//! Needs a seeded database:
//!   tollgate dev seed --users 1000 --tokens 1000000 --database-url sqlite://bench/1m.db
//!   TOLLGATE_BENCH_DB=sqlite://bench/1m.db cargo bench --features ssr --bench search
//! Without TOLLGATE_BENCH_DB it prints this and exits.

use std::time::Instant;
use support::{ms, pct};
use tollgate::model::{TokenFilter, ADMIN_PAGE_SIZE, COUNT_CAP};

mod support;

/// Common, rare and absent substrings of 1 to 3+ characters, ASCII and not,
/// and terms without a trigram pg_trgm can index (punctuation only, or one
/// letter and then none: "h ☃" finds the seeded "Zürich ☃").
const QUERIES: &[&str] = &[
    "a",
    "z",
    "é",
    "日",
    "de",
    "zq",
    "☃",
    "zü",
    "ß",
    "dep",
    "bot",
    "qqq",
    "zürich",
    "café",
    "straße",
    "日本",
    "nightly",
    "build agent",
    "user00042",
    "12345",
    "xyzzy",
    "%",
    "_",
    // Three or more characters without a letter or digit: no pg_trgm trigram.
    "----",
    "%%%",
    "-_-",
    "...",
    "@#!",
    "h ☃",
];
const RUNS: usize = 15;

#[tokio::main]
async fn main() {
    let Ok(url) = std::env::var("TOLLGATE_BENCH_DB") else {
        println!("set TOLLGATE_BENCH_DB to a seeded database (see benches/search.rs); skipping");
        return;
    };
    let db = support::connect(&url).await;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM access_tokens")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let (caller, cookie, app) = support::admin_session(&db).await;
    let (state, router) = (app.state.clone(), app.router.clone());

    println!(
        "{total} tokens in {}",
        if url.starts_with("sqlite") {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    );
    println!(
        "{:<14} {:>10} {:>10} {:>10} {:>10} {:>10} {:>7} {:>7}",
        "query",
        "fn p50 ms",
        "fn p95 ms",
        "rev p95 ms",
        "rest p50",
        "rest p95",
        "active",
        "revoked"
    );
    let (mut all_fn, mut all_rest) = (Vec::new(), Vec::new());
    for q in QUERIES {
        let (mut f, mut rev, mut r) = (Vec::new(), Vec::new(), Vec::new());
        let mut hits = tollgate::model::TabCounts::default();
        for _ in 0..RUNS {
            // The page's server function (`Tokens::admin_page`): the first
            // page of a tab and both tabs' counts; Active, then Revoked.
            for (filter, times) in [
                (TokenFilter::Active, &mut f),
                (TokenFilter::Revoked, &mut rev),
            ] {
                let t = Instant::now();
                let (_, counts) = state
                    .tokens
                    .admin_page(&caller, filter, q, None)
                    .await
                    .unwrap();
                hits = counts.expect("the first page has counts");
                times.push(t.elapsed());
            }

            let uri = format!(
                "/go/api/admin/access_tokens?page_size={ADMIN_PAGE_SIZE}&q={}",
                url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
            );
            r.push(support::get_v1(&router, &uri, &cookie).await);
        }
        f.sort();
        rev.sort();
        r.sort();
        let shown = |n: i64| {
            if n >= COUNT_CAP {
                format!("{COUNT_CAP}+")
            } else {
                n.to_string()
            }
        };
        println!(
            "{:<14} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>7} {:>7}",
            format!("{q:?}"),
            ms(pct(&f, 0.5)),
            ms(pct(&f, 0.95)),
            ms(pct(&rev, 0.95)),
            ms(pct(&r, 0.5)),
            ms(pct(&r, 0.95)),
            shown(hits.active),
            shown(hits.revoked),
        );
        all_fn.extend(f);
        all_fn.extend(rev);
        all_rest.extend(r);
    }
    all_fn.sort();
    all_rest.sort();
    println!(
        "{:<14} {:>10.2} {:>10.2} {:>10} {:>10.2} {:>10.2}",
        "ALL (fn: both tabs)",
        ms(pct(&all_fn, 0.5)),
        ms(pct(&all_fn, 0.95)),
        "",
        ms(pct(&all_rest, 0.5)),
        ms(pct(&all_rest, 0.95))
    );
    db.pool.close().await;
}
