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
