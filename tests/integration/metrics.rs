//! Issue 16, section 1: Prometheus metrics on their own listener, checked by
//! the real `promtool` on a scrape fetched as Prometheus fetches it.

use crate::common::*;
use axum::http::{header, Method, StatusCode};
use std::collections::BTreeSet;

async fn scrape(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = tollgate::server::metrics_http::router(app.state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let res = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let content_type = res.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    res.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_and_auth_by_template_and_pass_promtool() {
    let app = TestApp::with_settings(Settings {
        metrics: true,
        ..Settings::default()
    })
    .await;
    let admin = Auth::admin();
    let (id, token) = app.create_token(&admin, "metered").await;
    assert_eq!(app.me(&token).await.status, StatusCode::OK);
    assert_eq!(
        app.me(&token).await.status,
        StatusCode::OK,
        "from the cache"
    );
    assert_eq!(app.show_token(&admin, id).await.status, StatusCode::OK);
    let forged = format!(
        "{}{}",
        &token[..39],
        if token.ends_with('a') { 'b' } else { 'a' }
    );
    assert_eq!(app.me(&forged).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.me("tgp_short").await.status, StatusCode::UNAUTHORIZED);
    app.revoke_token(&admin, id, None).await;
    assert_eq!(app.me(&token).await.status, StatusCode::UNAUTHORIZED);
    app.verify(Some(&forged), "", &[]).await;
    app.api(Method::GET, "/go/api/nothing/here/12345", 1, &admin, None)
        .await;
    app.state
        .tokens
        .last_used
        .flush(&app.state.db)
        .await
        .unwrap();

    let text = scrape(&app).await;
    for line in [
        "tollgate_http_requests_total{route=\"/go/api/current_user\",method=\"GET\",status_class=\"2xx\"}",
        "tollgate_http_requests_total{route=\"/go/api/current_user/access_tokens/{id}\",method=\"GET\",status_class=\"2xx\"}",
        "tollgate_auth_attempts_total{method=\"bearer\",outcome=\"ok\"}",
        "tollgate_auth_attempts_total{method=\"bearer\",outcome=\"bad_checksum\"}",
        "tollgate_auth_attempts_total{method=\"bearer\",outcome=\"malformed\"}",
        "tollgate_auth_attempts_total{method=\"bearer\",outcome=\"revoked\"}",
        "tollgate_auth_attempts_total{method=\"basic\",outcome=\"ok\"}",
        "tollgate_auth_attempts_total{method=\"forward_auth\",outcome=\"bad_checksum\"}",
        "tollgate_auth_cache_hits_total",
        "tollgate_auth_cache_misses_total",
        "tollgate_http_request_duration_seconds_bucket{route=\"/go/api/current_user\",method=\"GET\",le=\"0.005\"}",
        "tollgate_last_used_flush_duration_seconds_count",
        "tollgate_last_used_pending",
        "tollgate_db_pool_connections{state=\"idle\"}",
        "tollgate_tokens{state=\"active\"}",
        "tollgate_tokens{state=\"revoked\"}",
        "tollgate_build_info{version=",
    ] {
        assert!(text.contains(line), "no {line} in\n{text}");
    }
    // No raw path, token, user or address ever becomes a label.
    for secret in [&token[4..], &forged[4..], "12345", "admin", "127.0.0.1"] {
        assert!(!text.contains(secret), "{secret} in the metrics");
    }
    // HELP on every metric.
    let typed: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let helped: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# HELP "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert!(!typed.is_empty());
    assert_eq!(typed, helped);

    // promtool, as Prometheus' own lint.
    let promtool = which("promtool")
        .expect("promtool is not installed: `make proxy-deps` installs Debian's prometheus");
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn which(cmd: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| std::path::Path::new(d).join(cmd))
        .find(|p| p.is_file())
}
