//! `/go/api/admin/access_tokens` (v1): everyone's tokens, search, paging, and
//! user deletion that revokes for good.

use crate::common::*;
use axum::http::{Method, StatusCode};
use serde_json::Value;
use std::collections::HashSet;

#[tokio::test]
async fn admins_see_and_revoke_everyones_tokens() {
    let app = TestApp::new().await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    let (a1, alice_token) = app.create_token(&alice, "alice ci").await;
    let (b1, _) = app.create_token(&Auth::admin(), "admin script").await;

    let admin = Auth::admin();
    let res = app.admin_tokens(&admin, "").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let list = res.tokens();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], b1, "newest first");
    assert_eq!(list[1]["username"], "alice");
    assert_eq!(list[1]["revoked_because_user_deleted"], false);
    assert_eq!(
        list[1]["_links"]["self"]["href"],
        format!("http://localhost{ADMIN_TOKENS}/{a1}")
    );

    let show = app.admin_show_token(&admin, a1).await;
    assert_eq!(show.status, StatusCode::OK);
    assert_eq!(show.json()["revoked_because_user_deleted"], false);

    let res = app.admin_revoke_token(&admin, a1, Some("policy")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(res.json()["revoked_by"], "admin");
    assert_eq!(res.json()["revoke_cause"], "policy");
    let refused = app.me(&alice_token).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    // Alice sees it revoked, by the admin.
    let mine = app.list_tokens(&alice, Some("revoked")).await;
    assert_eq!(mine.tokens()[0]["revoked_by"], "admin");

    let again = app.admin_revoke_token(&admin, a1, None).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.message(), "Access token has already been revoked!");
    let missing = app.admin_revoke_token(&admin, 4242, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.message(),
        "Access token with id '4242' was not found!"
    );
    let missing = app.admin_show_token(&admin, 4242).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    let list = |query: &'static str| app.admin_tokens(&admin, query);
    assert_eq!(list("?filter=revoked").await.descriptions(), ["alice ci"]);
    assert_eq!(
        list("?filter=active").await.descriptions(),
        ["admin script"]
    );
    assert_eq!(list("?filter=all").await.tokens().len(), 2);
    assert_eq!(list("?filter=nope").await.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn non_admins_and_tokens_are_refused() {
    let app = TestApp::new().await;
    app.add_user("bob", USER_PASSWORD, false).await;
    let bob = Auth::basic("bob", USER_PASSWORD);
    let (id, admin_token) = app.create_token(&Auth::admin(), "admin's").await;
    let calls = [
        (Method::GET, ADMIN_TOKENS.to_string()),
        (Method::GET, format!("{ADMIN_TOKENS}/{id}")),
        (Method::POST, format!("{ADMIN_TOKENS}/{id}/revoke")),
    ];
    for (method, path) in &calls {
        let res = app.api(method.clone(), path, 1, &bob, None).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}");
        // GoCD's answer on its admin routes (issue 17).
        assert_eq!(
            res.message(),
            "You are not authorized to access this resource!"
        );
        // Even an admin's token cannot use the token APIs.
        let res = app
            .api(method.clone(), path, 1, &Auth::bearer(&admin_token), None)
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(
            res.message(),
            "Unsupported operation: Accessing this API using access token is forbidden."
        );
        let res = app.api(method.clone(), path, 1, &Auth::None, None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let still = app.admin_show_token(&Auth::admin(), id).await;
    assert_eq!(still.json()["revoked"], false);
}

#[tokio::test]
async fn search_is_a_case_insensitive_literal_substring() {
    let app = TestApp::new().await;
    app.add_user("Zoë", USER_PASSWORD, false).await;
    let zoe = Auth::basic("zoë", USER_PASSWORD);
    let admin = Auth::admin();
    for d in [
        "Deploy Bot",
        "100% done",
        "under_score",
        "it's quoted",
        "say \"hi\"",
        "Grüße aus Straße",
        "backslash \\ here",
        "nightly",
    ] {
        app.create_token(&admin, d).await;
    }
    app.create_token(&zoe, "zoe's laptop").await;

    let search = |q: &str| {
        let query = format!("?filter=all&q={}", encode(q));
        let (app, admin, q) = (&app, &admin, q.to_string());
        async move {
            let res = app.admin_tokens(admin, &query).await;
            assert_eq!(res.status, StatusCode::OK, "{q}: {}", res.text());
            let mut d = res.descriptions();
            d.sort();
            d
        }
    };
    assert_eq!(search("ploy b").await, ["Deploy Bot"]);
    assert_eq!(search("DEPLOY").await, ["Deploy Bot"]);
    assert_eq!(search("dE").await, ["Deploy Bot", "under_score"]);
    assert_eq!(search("y").await, ["Deploy Bot", "nightly", "say \"hi\""]);
    // By username, including non-ASCII, in any case.
    assert_eq!(search("zoë").await, ["zoe's laptop"]);
    assert_eq!(search("ZOË").await, ["zoe's laptop"]);
    assert_eq!(search("Ë").await, ["zoe's laptop"]);
    assert_eq!(
        search("GRÜSSE").await,
        Vec::<String>::new(),
        "no fuzzy folding: ß is not ss"
    );
    assert_eq!(search("STRASSE").await, Vec::<String>::new());
    assert_eq!(search("straße").await, ["Grüße aus Straße"]);
    assert_eq!(search("ÜSSE").await, Vec::<String>::new());
    assert_eq!(search("Ü").await, ["Grüße aus Straße"]);
    // Wildcards and quotes are literal; nothing leaks, nothing breaks.
    assert_eq!(search("%").await, ["100% done"]);
    assert_eq!(search("0% d").await, ["100% done"]);
    assert_eq!(search("_").await, ["under_score"]);
    assert_eq!(search("r_s").await, ["under_score"]);
    assert_eq!(search("%%").await, Vec::<String>::new());
    assert_eq!(search("'").await, ["it's quoted", "zoe's laptop"]);
    assert_eq!(search("\"hi\"").await, ["say \"hi\""]);
    assert_eq!(search("\\").await, ["backslash \\ here"]);
    assert_eq!(search("' OR 1=1 --").await, Vec::<String>::new());
    assert_eq!(search("\" OR \"\"=\"").await, Vec::<String>::new());
    assert_eq!(search("no such thing").await, Vec::<String>::new());
    // Blank is no search.
    assert_eq!(search("  ").await.len(), 9);

    let long = app
        .admin_tokens(&admin, &format!("?q={}", "a".repeat(257)))
        .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn paging_has_no_duplicates_or_gaps_while_tokens_are_created() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let mut created = HashSet::new();
    for i in 0..25 {
        created.insert(app.create_token(&admin, &format!("batch {i}")).await.0);
    }
    let mut seen = Vec::new();
    let mut query = "?page_size=10&q=batch".to_string();
    let mut pages = 0;
    loop {
        let res = app.admin_tokens(&admin, &query).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
        let page = res.tokens();
        assert!(page.len() <= 10);
        seen.extend(page.iter().map(|t| t["id"].as_i64().unwrap()));
        pages += 1;
        // Someone creates tokens while we page.
        app.create_token(&admin, &format!("batch new {pages}"))
            .await;
        match res.next_page() {
            Some(next) => query = next,
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let unique: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "duplicates: {seen:?}");
    assert_eq!(
        unique, created,
        "the tokens present at the start are all seen, once"
    );
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first throughout");
}

#[tokio::test]
async fn revoked_tokens_page_by_newest_revocation() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let mut order = Vec::new();
    for i in 0..5 {
        let (id, _) = app.create_token(&admin, &format!("r{i}")).await;
        order.push(id);
    }
    // Revoke in a different order than created.
    for &id in [order[2], order[0], order[4], order[1], order[3]].iter() {
        let res = app.admin_revoke_token(&admin, id, None).await;
        assert_eq!(res.status, StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let seen: Vec<i64> = app
        .admin_pages(&admin, "?filter=revoked&page_size=2", usize::MAX)
        .await
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(seen, vec![order[3], order[1], order[4], order[0], order[2]]);
}

#[tokio::test]
async fn bad_paging_parameters_are_400() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    for q in [
        "?page_size=0",
        "?page_size=1001",
        "?page_size=abc",
        "?after=zzz",
        "?after=i12x",
        "?filter=revoked&after=i5",
        "?after=r1_2",
    ] {
        let res = app.admin_tokens(&admin, q).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{q}: {}", res.text());
        assert!(!res.message().is_empty());
    }
    assert_eq!(
        app.admin_tokens(&admin, "?page_size=1000").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn deleting_a_user_revokes_their_tokens_for_good() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    let (active_id, active_token) = app.create_token(&alice, "still active").await;
    let (old_id, _) = app.create_token(&alice, "revoked before").await;
    app.revoke_token(&alice, old_id, Some("mine")).await;

    let res = app.disable_and_delete_user(&admin, "alice").await;
    assert_eq!(res.status, StatusCode::OK);

    let t = app.admin_show_token(&admin, active_id).await.json();
    assert_eq!(t["revoked"], true);
    assert_eq!(t["revoked_by"], "admin");
    assert_eq!(
        t["revoke_cause"],
        "Revoked because user was deleted by admin"
    );
    assert_eq!(t["revoked_because_user_deleted"], true);
    assert!(t["revoked_at"].is_string());
    let old = app.admin_show_token(&admin, old_id).await.json();
    assert_eq!(
        old["revoke_cause"], "mine",
        "an earlier revocation keeps its own record"
    );
    assert_eq!(old["revoked_because_user_deleted"], true);

    // A new alice sees none of it and cannot use it.
    app.add_user("alice", "second-alice-password", false).await;
    let alice2 = Auth::basic("alice", "second-alice-password");
    let mine = app.list_tokens(&alice2, Some("all")).await;
    assert_eq!(mine.tokens(), Vec::<Value>::new());
    for id in [active_id, old_id] {
        let res = app.show_token(&alice2, id).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
        let res = app.revoke_token(&alice2, id, None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND);
    }
    let res = app.me(&active_token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(res.message(), "Invalid Personal Access Token.");

    // Admins still see them, marked.
    let all = app.admin_tokens(&admin, "?filter=revoked").await.tokens();
    assert!(all
        .iter()
        .all(|t| t["revoked_because_user_deleted"] == true));
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn the_operator_can_delete_from_the_command_line_path() {
    use tollgate::server::users::{service, Actor};
    let app = TestApp::new().await;
    app.add_user("carol", USER_PASSWORD, false).await;
    let (id, _) = app
        .create_token(&Auth::basic("carol", USER_PASSWORD), "carol's")
        .await;
    let op = Actor::Operator;
    let patch = service::UserPatch {
        enabled: Some(false),
        ..Default::default()
    };
    service::update(&app.state.db, &app.state.auth_cache, &op, "carol", patch)
        .await
        .unwrap();
    let (_, revoked) = service::delete(&app.state.db, &app.state.auth_cache, &op, "carol")
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    let t = app.admin_show_token(&Auth::admin(), id).await.json();
    assert_eq!(
        t["revoke_cause"],
        "Revoked because user was deleted by operator"
    );
}

/// Every path of the search (the newest-rows window, the blocks of one- and
/// two-character grams, the trigram indexes, the exact counts) against a plain
/// scan of all tokens, on thousands of tokens, with rare terms far from the
/// newest, after revokes and a user deletion, page by page.
#[tokio::test]
async fn search_agrees_with_a_scan_of_every_token() {
    use tollgate::model::COUNT_CAP;
    use tollgate::server::auth::{AuthMethod, Caller};
    use tollgate::server::dev::{bulk_insert, SeedToken};

    let app = TestApp::new().await;
    let admin = Auth::admin();
    let ann = app.add_user("Ann", USER_PASSWORD, false).await;
    let bo = app.add_user("bo", USER_PASSWORD, false).await;
    // 3,000 tokens (three blocks of grams); the rare words only among the oldest.
    const N: usize = 3000;
    let mut tx = app.state.db.pool.begin().await.unwrap();
    let rows: Vec<SeedToken> = (0..N)
        .map(|i| {
            let (user_id, username) = if i % 3 == 0 {
                (bo.id, "bo".to_string())
            } else {
                (ann.id, "Ann".to_string())
            };
            let description = match i {
                5 => "Zürich ☃ QQQX".to_string(),
                17 => "zürich backup".to_string(),
                23 => "a-_-b %%% 50% done...".to_string(),
                // Punctuation in one token in five: terms pg_trgm has no trigram for.
                _ => format!(
                    "{} job {i}{}",
                    ["Deploy", "café", "日本", "nightly"][i % 4],
                    if i % 5 == 1 { " ----" } else { "" }
                ),
            };
            SeedToken {
                hash: format!("{i:064x}"),
                description,
                user_id,
                username,
                created_at: i as i64,
                revoked_at: (i % 10 == 0).then_some(10_000 - i as i64),
                revoked_by: (i % 10 == 0).then(|| "admin".to_string()),
            }
        })
        .collect();
    for chunk in rows.chunks(500) {
        bulk_insert(&mut tx, chunk).await.unwrap();
    }
    tx.commit().await.unwrap();
    // Revoke a few more through the service, and delete bo (revoking all his).
    let first: i64 = sqlx::query_scalar("SELECT MIN(id) FROM access_tokens")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    for id in [first + 5, first + 1234, first + 2999] {
        let res = app.admin_revoke_token(&admin, id, None).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    }
    let res = app.disable_and_delete_user(&admin, "bo").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());

    // Everything, from the unsearched list, as the reference.
    let all_of = |filter: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let query = format!("?filter={filter}&page_size=1000");
            app.admin_pages(admin, &query, usize::MAX).await
        }
    };
    let reference = [
        ("active", all_of("active").await),
        ("revoked", all_of("revoked").await),
        ("all", all_of("all").await),
    ];
    assert_eq!(reference[2].1.len(), N);
    let caller = Caller {
        user: tollgate::server::users::repo::find_by_login(&app.state.db, "admin")
            .await
            .unwrap()
            .unwrap(),
        method: AuthMethod::Session,
        origin: Default::default(),
        grants: None,
        token_expires_at: None,
    };

    for q in [
        "a", "A", "é", "日", "☃", "zü", "b", "bo", "an", "0\nb", "qqq", "qqqx", "zürich", "job 1",
        "café", "%", "x", "j", "----", "---", "%%%", "-_-", "h ☃", "y -", "1 -", "...", "@#!",
        "- -",
    ] {
        let lower = q.to_lowercase();
        for (filter, all) in &reference {
            let expected: Vec<i64> = all
                .iter()
                .filter(|t| {
                    let scopes: Vec<&str> = t["scopes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| s.as_str().unwrap())
                        .collect();
                    let text = format!(
                        "{}\n{}\n{}",
                        t["description"].as_str().unwrap().to_lowercase(),
                        t["username"].as_str().unwrap().to_lowercase(),
                        scopes.join(" ")
                    );
                    text.contains(&lower)
                })
                .map(|t| t["id"].as_i64().unwrap())
                .collect();
            for page_size in [7, 1000] {
                let query = format!("?filter={filter}&page_size={page_size}&q={}", encode(q));
                // Of small pages, the first three are what a person reads.
                let max_pages = if page_size == 7 { 3 } else { usize::MAX };
                let got: Vec<i64> = app
                    .admin_pages(&admin, &query, max_pages)
                    .await
                    .iter()
                    .map(|t| t["id"].as_i64().unwrap())
                    .collect();
                let want = &expected[..got.len().min(expected.len())];
                assert_eq!(got, want, "q={q:?} filter={filter} page_size={page_size}");
                if page_size == 1000 {
                    assert_eq!(got.len(), expected.len(), "q={q:?} filter={filter}");
                }
            }
            let counts = app
                .state
                .tokens
                .admin_counts(&caller, Some(q))
                .await
                .unwrap();
            let count = match *filter {
                "active" => counts.active,
                "revoked" => counts.revoked,
                _ => continue,
            };
            assert_eq!(
                count,
                (expected.len() as i64).min(COUNT_CAP),
                "count of q={q:?} filter={filter}"
            );
        }
    }
}
