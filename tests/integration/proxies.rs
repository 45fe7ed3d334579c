//! Issue 13: forward-auth behind the real nginx (`auth_request`) and Caddy
//! (`forward_auth`), each in front of a small upstream that echoes the
//! headers it received, with the README's recipes. `make test` installs
//! Debian's nginx and caddy when they are missing.

use crate::common::*;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// An upstream that answers every request with the headers it received.
async fn echo_upstream() -> SocketAddr {
    async fn echo(headers: HeaderMap) -> axum::Json<Value> {
        let seen: serde_json::Map<String, Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or("?"))))
            .collect();
        axum::Json(Value::Object(seen))
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback(echo))
            .await
            .unwrap()
    });
    addr
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn need(tool: &str) -> String {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin", "/usr/local/sbin"] {
        let p = format!("{dir}/{tool}");
        if Path::new(&p).exists() {
            return p;
        }
    }
    panic!("{tool} is not installed: `make proxy-deps` installs Debian's nginx and caddy");
}

/// The nginx recipe of the README: `auth_request` to tollgate, the login
/// name passed upstream as `Remote-User` (replacing whatever the client sent).
fn nginx_conf(dir: &Path, port: u16, tollgate: SocketAddr, upstream: SocketAddr) -> String {
    let d = dir.display();
    format!(
        r#"worker_processes 1;
error_log {d}/error.log;
pid {d}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    upstream tollgate {{ server {tollgate}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        location = /_tollgate_verify {{
            internal;
            proxy_pass http://tollgate/go/auth/verify;
            include {d}/verify.conf;
        }}
        location = /_tollgate_verify_grafana {{
            internal;
            proxy_pass http://tollgate/go/auth/verify?scope=grafana;
            include {d}/verify.conf;
        }}
        location /open/ {{
            auth_request /_tollgate_verify;
            auth_request_set $tollgate_user $upstream_http_remote_user;
            proxy_set_header Remote-User $tollgate_user;
            proxy_pass http://{upstream};
        }}
        location /grafana/ {{
            auth_request /_tollgate_verify_grafana;
            auth_request_set $tollgate_user $upstream_http_remote_user;
            proxy_set_header Remote-User $tollgate_user;
            proxy_pass http://{upstream};
        }}
    }}
}}
"#
    )
}

const NGINX_VERIFY: &str = r#"proxy_pass_request_body off;
proxy_set_header Content-Length "";
proxy_set_header X-Original-Method $request_method;
proxy_set_header X-Original-URI $request_uri;
proxy_set_header X-Forwarded-For $remote_addr;
proxy_http_version 1.1;
proxy_set_header Connection "";
"#;

/// The Caddy recipe of the README: `forward_auth` copying `Remote-User`.
fn caddyfile(port: u16, tollgate: SocketAddr, upstream: SocketAddr) -> String {
    format!(
        r#"{{
    admin off
    auto_https off
}}
http://127.0.0.1:{port} {{
    handle /open/* {{
        forward_auth {tollgate} {{
            uri /go/auth/verify
            copy_headers Remote-User X-Tollgate-Scopes
        }}
        reverse_proxy {upstream}
    }}
    handle /grafana/* {{
        forward_auth {tollgate} {{
            uri /go/auth/verify?scope=grafana
            copy_headers Remote-User X-Tollgate-Scopes
        }}
        reverse_proxy {upstream}
    }}
}}
"#
    )
}

/// A running proxy, stopped when dropped.
struct Proxy {
    base: String,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

async fn start(kind: &str, tollgate: SocketAddr, upstream: SocketAddr) -> Proxy {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = match kind {
        "nginx" => {
            std::fs::write(
                dir.path().join("nginx.conf"),
                nginx_conf(dir.path(), port, tollgate, upstream),
            )
            .unwrap();
            std::fs::write(dir.path().join("verify.conf"), NGINX_VERIFY).unwrap();
            let mut c = tokio::process::Command::new(need("nginx"));
            c.arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(dir.path().join("nginx.conf"));
            c.args(["-g", "daemon off;"]);
            c
        }
        _ => {
            let file = dir.path().join("Caddyfile");
            std::fs::write(&file, caddyfile(port, tollgate, upstream)).unwrap();
            let mut c = tokio::process::Command::new(need("caddy"));
            c.arg("run")
                .arg("--config")
                .arg(&file)
                .args(["--adapter", "caddyfile"]);
            c.env("XDG_DATA_HOME", dir.path())
                .env("XDG_CONFIG_HOME", dir.path());
            c.env("HOME", dir.path());
            c
        }
    };
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{kind} did not start: {e}"));
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Proxy {
                base,
                _child: child,
                _dir: dir,
            };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
    panic!("{kind} is not listening on {port}: {log}");
}

/// One request through the proxy: its status and, on 200, what the upstream saw.
async fn through(
    http: &reqwest::Client,
    proxy: &Proxy,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = http.request(method, format!("{}{path}", proxy.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
    let body = if status == StatusCode::OK {
        res.json().await.unwrap()
    } else {
        Value::Null
    };
    (status, body)
}

async fn the_proxy_lets_in_exactly_what_tollgate_says(kind: &str) {
    let app = TestApp::new().await;
    let admin = Auth::admin();
    app.add_scope(&admin, "grafana", "Grafana").await;
    app.add_user("alice", USER_PASSWORD, false).await;
    let alice = Auth::basic("alice", USER_PASSWORD);
    let (id, token) = app.create_token(&alice, "plain").await;
    let (_, reader) = app
        .create_scoped_token(&alice, "reader", &["grafana:read"])
        .await;
    let tollgate = app.serve().await.addr().unwrap();
    let upstream = echo_upstream().await;
    let proxy = start(kind, tollgate, upstream).await;
    let http = reqwest::Client::new();
    let get = reqwest::Method::GET;

    // No token, or a bad one: 401, and the upstream is never asked.
    let (status, _) = through(&http, &proxy, get.clone(), "/open/x", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{kind}: no token");
    let (status, _) = through(&http, &proxy, get.clone(), "/open/x", Some("tgp_nope"), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{kind}: bad token");
    // A valid token: the upstream sees who, never what the client claimed.
    let spoof = [("Remote-User", "admin")];
    let (status, seen) = through(&http, &proxy, get.clone(), "/open/x", Some(&token), &spoof).await;
    assert_eq!(status, StatusCode::OK, "{kind}: valid token");
    assert_eq!(seen["remote-user"], "alice", "{kind}: {seen}");
    let (status, _) = through(&http, &proxy, get.clone(), "/open/x", None, &spoof).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "{kind}: a claimed user alone"
    );
    // The location's scope: `api` alone is not enough; `grafana:read` reads.
    let (status, _) = through(&http, &proxy, get.clone(), "/grafana/d", Some(&token), &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{kind}: no grafana scope");
    let (status, seen) =
        through(&http, &proxy, get.clone(), "/grafana/d", Some(&reader), &[]).await;
    assert_eq!(status, StatusCode::OK, "{kind}: grafana:read GET");
    assert_eq!(seen["remote-user"], "alice");
    let (status, _) = through(
        &http,
        &proxy,
        reqwest::Method::POST,
        "/grafana/d",
        Some(&reader),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{kind}: grafana:read POST");
    // Revoked through the API: refused on the very next request.
    assert_eq!(
        app.revoke_token(&alice, id, None).await.status,
        StatusCode::OK
    );
    let (status, _) = through(&http, &proxy, get.clone(), "/open/x", Some(&token), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{kind}: revoked");
    // A deleted user: refused.
    let (status, _) = through(&http, &proxy, get.clone(), "/grafana/d", Some(&reader), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.disable_and_delete_user(&admin, "alice").await.status,
        StatusCode::OK
    );
    let (status, _) = through(&http, &proxy, get.clone(), "/grafana/d", Some(&reader), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{kind}: deleted user");
}

#[tokio::test]
async fn nginx_auth_request_lets_in_exactly_what_tollgate_says() {
    the_proxy_lets_in_exactly_what_tollgate_says("nginx").await;
}

#[tokio::test]
async fn caddy_forward_auth_lets_in_exactly_what_tollgate_says() {
    the_proxy_lets_in_exactly_what_tollgate_says("caddy").await;
}
