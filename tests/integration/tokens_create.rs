//! Creating and listing one's own tokens (`/go/api/current_user/access_tokens`, v1).

use crate::common::*;
use axum::http::{header, StatusCode};
use serde_json::json;

#[tokio::test]
async fn create_answers_200_with_the_secret_once() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let res = app
        .post_token(&admin, json!({"description": "  ci bot  "}))
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.header(header::CACHE_CONTROL), "no-store");
    assert_eq!(
        res.header(header::CONTENT_TYPE),
        "application/vnd.go.cd.v1+json; charset=utf-8"
    );
    let body = res.json();
    let token = body["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("tgp_") && token.len() == 40, "{token}");
    assert_eq!(body["description"], "ci bot");
    assert_eq!(body["username"], "admin");
    assert_eq!(body["revoked"], false);
    for unset in ["revoke_cause", "revoked_by", "revoked_at", "last_used_at"] {
        assert_eq!(body[unset], serde_json::Value::Null, "{unset}");
    }
    assert!(
        body.get("revoked_because_user_deleted").is_none(),
        "admin-only field"
    );
    let created_at = body["created_at"].as_str().unwrap();
    assert!(
        created_at.ends_with('Z') && created_at.len() == 20,
        "{created_at}"
    );
    let id = body["id"].as_i64().unwrap();
    assert_eq!(
        body["_links"]["self"]["href"],
        format!("http://localhost{TOKENS}/{id}")
    );
    assert_eq!(
        body["_links"]["find"]["href"],
        format!("http://localhost{TOKENS}/:id")
    );
    assert_eq!(
        body["_links"]["doc"]["href"],
        "https://api.gocd.org/current/#access-tokens"
    );

    // Never again: not by id, not in lists.
    let show = app.show_token(&admin, id).await;
    assert_eq!(show.status, StatusCode::OK);
    assert!(show.json().get("token").is_none());
    assert!(!show.text().contains(&token));
    let list = app.list_tokens(&admin, None).await;
    assert!(!list.text().contains(&token));

    // And it works.
    let res = app.me(&token).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["login_name"], "admin");
}

#[tokio::test]
async fn lists_filter_active_revoked_and_all() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let (a, _) = app.create_token(&admin, "one").await;
    let (b, _) = app.create_token(&admin, "two").await;
    let res = app.revoke_token(&admin, a, Some("leaked")).await;
    assert_eq!(res.status, StatusCode::OK);
    let ids = |filter: Option<&'static str>| {
        let (app, admin) = (&app, &admin);
        async move {
            let res = app.list_tokens(admin, filter).await;
            assert_eq!(res.status, StatusCode::OK, "{filter:?}: {}", res.text());
            assert_eq!(res.header(header::CACHE_CONTROL), "no-store");
            assert_eq!(
                res.json()["_links"]["self"]["href"],
                format!("http://localhost{TOKENS}")
            );
            res.ids()
        }
    };
    assert_eq!(ids(None).await, vec![b]);
    assert_eq!(ids(Some("")).await, vec![b]);
    assert_eq!(ids(Some("active")).await, vec![b]);
    assert_eq!(ids(Some("revoked")).await, vec![a]);
    assert_eq!(ids(Some("all")).await, vec![a, b]);

    let bad = app.list_tokens(&admin, Some("bad")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.message(),
        "Value `bad` is not allowed for query parameter named `filter`. Valid values are active, all, revoked."
    );
}

#[tokio::test]
async fn blank_or_oversized_descriptions_are_422_and_create_nothing() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    for body in [
        json!({}),
        json!({"description": ""}),
        json!({"description": "   \n "}),
    ] {
        let res = app.post_token(&admin, body.clone()).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let json = res.json();
        assert_eq!(
            json["errors"]["description"],
            json!(["must not be blank"]),
            "{json}"
        );
        assert!(json.get("token").is_none());
    }
    let long = "x".repeat(1025);
    let res = app.post_token(&admin, json!({"description": long})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.json()["errors"]["description"][0]
        .as_str()
        .unwrap()
        .contains("1024"));
    let ok = app
        .post_token(&admin, json!({"description": "é".repeat(1024)}))
        .await;
    assert_eq!(
        ok.status,
        StatusCode::OK,
        "1024 characters (not bytes) are fine"
    );

    let res = app.post_token(&admin, json!({"description": 5})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let cause = app.revoke_token(&admin, 1, Some(&"y".repeat(1025))).await;
    assert_eq!(cause.status, StatusCode::UNPROCESSABLE_ENTITY);
    let list = app.list_tokens(&admin, Some("all")).await.tokens();
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0]["revoked"], false,
        "the refused revoke changed nothing"
    );
}

#[tokio::test]
async fn concurrent_creates_give_unique_ids_and_tokens() {
    let app = TestApp::new().await;
    let cookie = Auth::Cookie(app.login("admin", ADMIN_PASSWORD).await);
    let mut handles = Vec::new();
    for i in 0..100 {
        let (client, cookie) = (app.client(), cookie.clone());
        handles.push(tokio::spawn(async move {
            client.create_token(&cookie, &format!("t{i}")).await
        }));
    }
    let mut ids = std::collections::HashSet::new();
    let mut secrets = std::collections::HashSet::new();
    for h in handles {
        let (id, t) = h.await.unwrap();
        ids.insert(id);
        secrets.insert(t);
    }
    assert_eq!((ids.len(), secrets.len()), (100, 100));
}
