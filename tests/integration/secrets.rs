//! After a full create, use and revoke cycle, neither the database files nor the
//! logs contain a plaintext token: only its SHA-256 is stored.

use crate::common::*;
use axum::http::StatusCode;
use sha2::{Digest, Sha256};

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn no_plaintext_token_in_the_database_or_the_logs() {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    let (id, token) = app.create_token(&admin, "secret keeper").await;
    assert_eq!(app.me(&token).await.status, StatusCode::OK);
    app.flush_last_used().await;
    let res = app.revoke_token(&admin, id, None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(app.me(&token).await.status, StatusCode::UNAUTHORIZED);

    let hash: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let random_part = &token[4..34];

    let stored = stored_bytes(&app).await;
    assert!(
        contains(&stored, &hash),
        "the hash should be stored (are we reading the right data?)"
    );
    assert!(
        !contains(&stored, &token),
        "plaintext token found in the database"
    );
    assert!(
        !contains(&stored, random_part),
        "token's random part found in the database"
    );

    // Every test's logs, this one's included (one global subscriber).
    let logs = test_logs().0.lock().unwrap().clone();
    assert!(
        contains(&logs, "access token created"),
        "the logs were not captured"
    );
    assert!(contains(&logs, "access token revoked"));
    assert!(
        !contains(&logs, &token),
        "plaintext token found in the logs"
    );
    assert!(
        !contains(&logs, random_part),
        "token's random part found in the logs"
    );
    assert!(
        !contains(&logs, ADMIN_PASSWORD),
        "a password found in the logs"
    );
}

/// Everything the database holds: the files for SQLite (database and WAL), a
/// dump of every table for PostgreSQL.
async fn stored_bytes(app: &TestApp) -> Vec<u8> {
    match app.storage.as_ref() {
        Storage::Sqlite(dir) => {
            let mut all = Vec::new();
            for entry in std::fs::read_dir(dir.path()).unwrap() {
                all.extend(std::fs::read(entry.unwrap().path()).unwrap());
            }
            all
        }
        Storage::Postgres(_) => {
            let mut all = Vec::new();
            for table in ["users", "sessions", "access_tokens"] {
                let sql = format!("SELECT COALESCE(string_agg(t::text, ','), '') FROM {table} t");
                let (dump,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&app.state.db.pool)
                    .await
                    .unwrap();
                all.extend(dump.into_bytes());
            }
            all
        }
    }
}

/// The `X-Request-Id` a response carries.
fn request_id(res: &Res) -> String {
    res.header(axum::http::HeaderName::from_static("x-request-id"))
}

/// Issue 16: the real binary, `--log-format json`, everything logged
/// (`TOLLGATE_LOG=trace`, sqlx's statements and tower-http's spans
/// included). Every line of standard error is a JSON object, from start-up
/// to shutdown; a request's lines carry its id (the client's, or the one
/// generated and answered in `X-Request-Id`) and its route template; and
/// no line holds a token, a password or a session id.
#[tokio::test]
async fn json_logs_carry_request_ids_and_never_a_secret() {
    use axum::body::Body;
    use axum::http::{header, Request};
    use base64::Engine;

    const WRONG_PASSWORD: &str = "not-the-admin-password";
    let (_storage, url) = Storage::new().await;
    let dir = tempfile::TempDir::new().unwrap();
    let log_path = dir.path().join("stderr.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let (mut child, addr) = spawn_server_with(
        &url,
        &["--log-format", "json"],
        &[("TOLLGATE_LOG", "trace")],
        log.into(),
    )
    .await;
    let http = Client::http(addr);

    // A session, from the sign-in form, used on a page and a server function.
    let cookie = http.login("admin", ADMIN_PASSWORD).await;
    let session_id = cookie
        .strip_prefix("tollgate_session=")
        .unwrap()
        .to_string();
    assert!(session_id.len() >= 16, "{cookie}");
    let page = http.get_page("/go/access_tokens", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    // A token, created with Basic credentials, then used as Bearer.
    let (id, token) = http.create_token(&Auth::admin(), "logged").await;
    assert_eq!(http.me(&token).await.status, StatusCode::OK);

    let me_with_id = |id: &str| {
        Auth::bearer(&token)
            .apply(Request::builder().uri(CURRENT_USER))
            .header(header::ACCEPT, accept(1))
            .header("x-request-id", id)
            .body(Body::empty())
            .unwrap()
    };
    // The client's id is answered and logged.
    let res = http.exchange(me_with_id("test-req-123")).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(request_id(&res), "test-req-123");
    // Without one, a UUID is generated.
    let res = http.me(&token).await;
    let generated = request_id(&res);
    assert_eq!(generated.len(), 36, "{generated:?}");
    assert_eq!(generated.matches('-').count(), 4, "{generated:?}");
    // One that could forge a log field, or that carries a token, is replaced.
    for forged in [r#"x" level="ERROR"#.to_string(), format!("id-{token}")] {
        let res = http.exchange(me_with_id(&forged)).await;
        assert_eq!(res.status, StatusCode::OK);
        let answered = request_id(&res);
        assert_eq!(answered.len(), 36, "{forged:?} answered as {answered:?}");
    }
    // A 404 carries one too, as does the 401 below.
    let missing = http.get_page("/no/such/page", None).await;
    assert_eq!(request_id(&missing).len(), 36);

    // Wrong passwords: the form, and Basic.
    let refused = http.login_form("admin", WRONG_PASSWORD, None).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    assert!(refused.header(header::LOCATION).contains("error=invalid"));
    let res = http
        .current_user(&Auth::basic("admin", WRONG_PASSWORD))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(request_id(&res).len(), 36);

    // The token revoked with the session's cookie (a server function), then
    // the session ended.
    let res = http
        .server_fn(
            "revoke_token",
            &format!("id={id}"),
            &Auth::Cookie(cookie.clone()),
        )
        .await;
    assert!(res.status.is_success(), "{} {}", res.status, res.text());
    assert_eq!(http.me(&token).await.status, StatusCode::UNAUTHORIZED);
    let res = http.logout(&cookie).await;
    assert!(res.status.is_redirection(), "{}", res.status);

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("no graceful exit")
        .unwrap();
    assert!(status.success(), "{status:?}");

    let logs = std::fs::read_to_string(&log_path).unwrap();
    let mut lines: Vec<serde_json::Map<String, serde_json::Value>> = Vec::new();
    for line in logs.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        let serde_json::Value::Object(object) = value else {
            panic!("not a JSON object: {line}")
        };
        for key in ["timestamp", "level", "target"] {
            assert!(
                object.get(key).is_some_and(|v| v.is_string()),
                "no {key}: {line}"
            );
        }
        lines.push(object);
    }
    // A line with each of these string fields.
    let has = |fields: &[(&str, &str)]| {
        lines.iter().any(|l| {
            fields
                .iter()
                .all(|(k, v)| l.get(*k).and_then(|x| x.as_str()) == Some(*v))
        })
    };
    // Start-up, requests and shutdown were all logged (trace level: sqlx too).
    let listening = format!("tollgate listening on http://{addr}");
    for m in [
        listening.as_str(),
        "signed in",
        "failed sign-in",
        "access token created",
        "access token revoked",
        "shutting down",
    ] {
        assert!(has(&[("message", m)]), "no {m:?} line:\n{logs}");
    }
    assert!(has(&[("target", "sqlx::query")]), "no sqlx line:\n{logs}");
    // The client's id, with the route template and the method.
    assert!(
        has(&[
            ("request_id", "test-req-123"),
            ("route", CURRENT_USER),
            ("method", "GET")
        ]),
        "no line of the request test-req-123:\n{logs}"
    );
    assert!(has(&[("request_id", &generated)]), "{generated}:\n{logs}");
    // The services' lines carry their request's too.
    assert!(
        has(&[
            ("message", "signed in"),
            ("method", "POST"),
            ("route", "/go/auth/security_check")
        ]),
        "{logs}"
    );

    let basic = base64::engine::general_purpose::STANDARD;
    let secrets = [
        ("the token", token.clone()),
        ("the token's random part", token[4..34].to_string()),
        ("the admin password", ADMIN_PASSWORD.to_string()),
        ("the wrong password", WRONG_PASSWORD.to_string()),
        ("the session id", session_id.clone()),
        (
            "Basic credentials",
            basic.encode(format!("admin:{ADMIN_PASSWORD}")),
        ),
        (
            "wrong Basic credentials",
            basic.encode(format!("admin:{WRONG_PASSWORD}")),
        ),
        ("a forged request id", "level=\\\"ERROR".to_string()),
    ];
    for (i, line) in logs.lines().enumerate() {
        for (what, secret) in &secrets {
            assert!(
                !line.contains(secret.as_str()),
                "{what} in log line {i}: {line}"
            );
        }
    }
}
