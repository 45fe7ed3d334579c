//! Issue 17: where a GoCD client must see GoCD's answer. Who may call is
//! decided before anything in the request is read; bodies are objects; a
//! refused create shows the unsaved token; the unpaged admin list is whole.

use crate::common::*;
use axum::http::{header, Method, StatusCode};
use serde_json::{json, Value};
use tollgate::server::dev::{bulk_insert, SeedToken};

const UNSUPPORTED: &str =
    "Unsupported operation: Accessing this API using access token is forbidden.";
const NOT_ADMIN: &str = "You are not authorized to access this resource!";

/// Requests whose id, query or body is wrong in some way, on the owner's and
/// the admin's token routes.
fn malformed(base: &str) -> Vec<(Method, String, Option<&'static str>)> {
    vec![
        (Method::GET, format!("{base}/some-id"), None),
        (Method::GET, format!("{base}/99999999999999999999"), None),
        (Method::POST, format!("{base}/some-id/revoke"), None),
        (Method::POST, format!("{base}/1/revoke"), Some("{not json")),
        (Method::POST, format!("{base}/1/revoke"), Some("[\"x\"]")),
        (Method::GET, format!("{base}?filter=bad-value"), None),
        (
            Method::GET,
            format!("{base}?filter=active&page_size=abc"),
            None,
        ),
    ]
}

#[tokio::test]
async fn a_token_is_refused_before_the_request_is_read() {
    let app = TestApp::new().await;
    let (_, admin_token) = app.create_token(&Auth::admin(), "admin's").await;
    let bearer = Auth::bearer(&admin_token);
    let mut calls = malformed(TOKENS);
    calls.extend(malformed(ADMIN_TOKENS));
    calls.push((Method::POST, TOKENS.into(), Some("{not json")));
    calls.push((Method::POST, TOKENS.into(), Some("[\"array body\"]")));
    calls.push((Method::POST, TOKENS.into(), Some("{\"description\": 5}")));
    for (method, path, body) in &calls {
        let res = app
            .api_raw(method.clone(), path, Some(&accept(1)), &bearer, *body)
            .await;
        assert_eq!(
            res.status,
            StatusCode::FORBIDDEN,
            "{method} {path} {body:?}"
        );
        assert_eq!(res.message(), UNSUPPORTED, "{method} {path}");
    }
    // Nothing was made: the admin still has the one token.
    let list = app.list_tokens(&Auth::admin(), Some("all")).await;
    assert_eq!(list.tokens().len(), 1);
}

#[tokio::test]
async fn a_non_admin_is_refused_on_admin_routes_before_the_request_is_read() {
    let app = TestApp::new().await;
    app.add_user("bob", USER_PASSWORD, false).await;
    let bob = Auth::basic("bob", USER_PASSWORD);
    let (id, _) = app.create_token(&Auth::admin(), "admin's").await;
    let mut calls = malformed(ADMIN_TOKENS);
    calls.push((Method::GET, ADMIN_TOKENS.into(), None));
    calls.push((Method::GET, format!("{ADMIN_TOKENS}/{id}"), None));
    calls.push((Method::POST, format!("{ADMIN_TOKENS}/{id}/revoke"), None));
    calls.push((Method::GET, format!("{ADMIN_TOKENS}?after=zzz"), None));
    for (method, path, body) in &calls {
        let res = app
            .api_raw(method.clone(), path, Some(&accept(1)), &bob, *body)
            .await;
        assert_eq!(
            res.status,
            StatusCode::FORBIDDEN,
            "{method} {path} {body:?}"
        );
        assert_eq!(res.message(), NOT_ADMIN, "{method} {path}");
    }
    assert_eq!(
        app.admin_show_token(&Auth::admin(), id).await.json()["revoked"],
        false
    );
    // Bob's own routes still parse as before: his bad id is a 404.
    assert_eq!(
        app.show_token(&bob, "some-id").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_body_must_be_a_json_object() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let (id, _) = app.create_token(&admin, "keep").await;
    app.add_user("carol", USER_PASSWORD, false).await;
    let routes = [
        (Method::POST, TOKENS.to_string(), 1),
        (Method::POST, format!("{TOKENS}/{id}/revoke"), 1),
        (Method::POST, format!("{ADMIN_TOKENS}/{id}/revoke"), 1),
        (Method::POST, USERS.to_string(), 3),
        (Method::PATCH, format!("{USERS}/carol"), 3),
    ];
    let bodies = [
        "[\"array body\"]",
        "[\"mallory\", \"pw\", true]",
        "\"a string\"",
        "42",
        "true",
        "null",
    ];
    for (method, path, v) in &routes {
        for body in bodies {
            let res = app
                .api_raw(method.clone(), path, Some(&accept(*v)), &admin, Some(body))
                .await;
            assert_eq!(
                res.status,
                StatusCode::BAD_REQUEST,
                "{method} {path} {body}"
            );
            assert!(res.message().contains("JSON object"), "{}", res.message());
        }
    }
    // Nothing changed: one active token, no new user, carol still enabled.
    let all = app.list_tokens(&admin, Some("all")).await;
    assert_eq!(all.descriptions(), ["keep"]);
    assert_eq!(all.tokens()[0]["revoked"], false);
    let users = app.list_users(&admin).await.json();
    let names: Vec<&str> = users["_embedded"]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login_name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(app.show_user(&admin, "carol").await.json()["enabled"], true);
}

/// GoCD's 422 for a create: the unsaved token (no id, no secret) beside
/// `errors` and `message`.
fn assert_unsaved_token(res: &Res, description: Value) {
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    let body = res.json();
    assert_eq!(
        body["errors"]["description"],
        json!(["must not be blank"]),
        "{body}"
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("must not be blank"));
    assert!(body.get("id").is_none(), "{body}");
    assert!(body.get("token").is_none(), "{body}");
    let links = &body["_links"];
    assert_eq!(
        links["doc"]["href"],
        "https://api.gocd.org/current/#access-tokens"
    );
    assert!(links["find"]["href"]
        .as_str()
        .unwrap()
        .ends_with("/go/api/current_user/access_tokens/:id"));
    assert!(links.get("self").is_none(), "{links}");
    assert_eq!(body["description"], description);
    assert_eq!(body["username"], "admin");
    assert_eq!(body["revoked"], false);
    for unset in ["revoke_cause", "revoked_by", "revoked_at", "last_used_at"] {
        assert_eq!(body[unset], Value::Null, "{unset}");
    }
    let created = body["created_at"].as_str().unwrap();
    assert!(
        created.len() == 20 && created.ends_with('Z') && created.as_bytes()[10] == b'T',
        "{created}"
    );
}

#[tokio::test]
async fn a_null_or_blank_description_is_422_with_the_unsaved_token() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let res = app.post_token(&admin, json!({ "description": null })).await;
    assert_unsaved_token(&res, Value::Null);
    let res = app
        .post_token(&admin, json!({ "description": " \n " }))
        .await;
    assert_unsaved_token(&res, json!(" \n "));
    let res = app.post_token(&admin, json!({})).await;
    assert_unsaved_token(&res, Value::Null);
    let res = app
        .api_raw(Method::POST, TOKENS, Some(&accept(1)), &admin, Some(""))
        .await;
    assert_unsaved_token(&res, Value::Null);
    assert!(app
        .list_tokens(&admin, Some("all"))
        .await
        .tokens()
        .is_empty());
}

#[tokio::test]
async fn the_unpaged_admin_list_holds_every_token() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let ann = app.add_user("ann", USER_PASSWORD, false).await;
    // More than a page (1,000), written directly: the API caps active tokens per user.
    const N: usize = 2_345;
    let mut tx = app.state.db.pool.begin().await.unwrap();
    let rows: Vec<SeedToken> = (0..N)
        .map(|i| SeedToken {
            hash: format!("{i:064x}"),
            description: if i % 100 == 7 {
                format!("needle {i}")
            } else {
                format!("hay {i}")
            },
            user_id: ann.id,
            username: "ann".into(),
            created_at: i as i64,
            revoked_at: (i % 4 == 0).then_some(1_000_000 - i as i64),
            revoked_by: (i % 4 == 0).then(|| "admin".to_string()),
        })
        .collect();
    for chunk in rows.chunks(500) {
        bulk_insert(&mut tx, chunk).await.unwrap();
    }
    tx.commit().await.unwrap();

    for (query, expected) in [
        ("", N - N.div_ceil(4)),
        ("?filter=active", N - N.div_ceil(4)),
        ("?filter=revoked", N.div_ceil(4)),
        ("?filter=all", N),
        ("?filter=all&q=NEEDLE", N.div_ceil(100)),
    ] {
        let res = app.admin_tokens(&admin, query).await;
        assert_eq!(res.status, StatusCode::OK, "{query}: {}", res.text());
        assert_eq!(res.header(header::CACHE_CONTROL), "no-store");
        assert_eq!(
            res.header(header::CONTENT_TYPE),
            "application/vnd.go.cd.v1+json; charset=utf-8"
        );
        let body = res.json();
        assert!(body["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .ends_with(ADMIN_TOKENS));
        assert!(body["_links"].get("next").is_none(), "{query}");
        let whole = res.tokens();
        assert_eq!(whole.len(), expected, "{query}");
        // The same tokens, in the same order and shape, as paging through.
        let sep = if query.is_empty() { "?" } else { "&" };
        let paged = app
            .admin_pages(&admin, &format!("{query}{sep}page_size=1000"), 10)
            .await;
        assert_eq!(whole, paged, "{query}");
        assert!(whole[0].get("revoked_because_user_deleted").is_some());
    }
    // With a paging parameter, a page as before.
    let res = app.admin_tokens(&admin, "?filter=all&page_size=10").await;
    assert_eq!(res.tokens().len(), 10);
    assert!(res.next_page().is_some());
    let after = res.next_page().unwrap();
    let after = after.split("after=").nth(1).unwrap();
    let res = app
        .admin_tokens(&admin, &format!("?filter=all&after={after}"))
        .await;
    assert_eq!(
        res.tokens().len(),
        1000,
        "after alone pages, 1,000 at a time"
    );
    assert!(res.next_page().is_some());
    // An empty database answers an empty, well-formed list.
    let res = app.admin_tokens(&admin, "?filter=all&q=nothing-here").await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.tokens().is_empty());
}
