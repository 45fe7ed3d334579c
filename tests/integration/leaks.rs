//! Issue 15, section 2: anyone can revoke a leaked token, and learns nothing.

use crate::common::*;
use axum::http::{header, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_reported_token_is_revoked_and_the_answer_reveals_nothing() {
    let app = TestApp::with_settings(Settings {
        auth_cache_ttl: std::time::Duration::from_secs(60),
        ..Settings::default()
    })
    .await;
    let admin = Auth::admin();
    app.add_user("alice", "alice-password-1", false).await;
    let alice = Auth::basic("alice", "alice-password-1");
    let (leaked, leaked_token) = app.create_token(&alice, "pasted in a gist").await;
    let (kept, kept_token) = app.create_token(&alice, "still private").await;
    assert_eq!(
        app.me(&leaked_token).await.status,
        StatusCode::OK,
        "cached now"
    );
    let forged = format!(
        "{}{}",
        &kept_token[..39],
        if kept_token.ends_with('a') { 'b' } else { 'a' }
    );
    let body = json!({ "credentials": [
        leaked_token, "not a token", "ghp_16C7e42F292c6912E7710c838347Ae178B4a", forged, leaked_token,
    ]});
    let res = app.report_leaks(&body.to_string()).await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.text());
    assert_eq!(res.json(), json!({}));
    let t = app.show_token(&alice, leaked).await.json();
    assert_eq!(t["revoked"], true);
    assert_eq!(t["revoke_cause"], "Reported as leaked");
    assert_eq!(t["revoked_by"], "system");
    assert_eq!(
        app.me(&leaked_token).await.status,
        StatusCode::UNAUTHORIZED,
        "at once, cache or not"
    );
    assert_eq!(app.show_token(&alice, kept).await.json()["revoked"], false);
    assert_eq!(app.me(&kept_token).await.status, StatusCode::OK);

    // The same answer for a token that was already revoked, one never
    // issued, and nothing well-formed at all: a report tests nothing.
    let (_, never) = app.create_token(&admin, "to learn the format").await;
    app.report_leaks(&json!({ "credentials": [never] }).to_string())
        .await;
    for credentials in [json!([leaked_token]), json!([never]), json!(["junk"])] {
        let res = app
            .report_leaks(&json!({ "credentials": credentials }).to_string())
            .await;
        assert_eq!(res.status, StatusCode::ACCEPTED);
        assert_eq!(res.body, b"{}");
        assert_eq!(res.header(header::CACHE_CONTROL), "no-store");
    }
}

#[tokio::test]
async fn reports_of_the_wrong_shape_are_422_and_floods_429() {
    let app = TestApp::with_settings(Settings {
        leak_reports_per_hour: 12,
        ..Settings::default()
    })
    .await;
    let many: Vec<String> = (0..1001).map(|i| format!("x{i}")).collect();
    for body in [
        "[]".to_string(),
        "{}".to_string(),
        "".to_string(),
        "not json".to_string(),
        json!({ "credentials": [] }).to_string(),
        json!({ "credentials": "tgp_x" }).to_string(),
        json!({ "credentials": [1, 2] }).to_string(),
        json!({ "credentials": many }).to_string(),
    ] {
        let res = app.report_leaks(&body).await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body:.40}: {}",
            res.text()
        );
        assert!(res.message().contains("credentials"), "{}", res.message());
    }
    let ok = json!({ "credentials": ["junk"] }).to_string();
    for _ in 0..4 {
        assert_eq!(app.report_leaks(&ok).await.status, StatusCode::ACCEPTED);
    }
    let res = app.report_leaks(&ok).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(res.header(header::RETRY_AFTER).parse::<u64>().unwrap() > 0);
}
