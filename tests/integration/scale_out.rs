//! Several stateless instances on one database, over real HTTP on real ports;
//! database outages; start-up failures; graceful shutdown of the real binary.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

/// Serves `app` on an ephemeral loopback port, in the background.
async fn serve(app: &TestApp) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

struct Http {
    client: reqwest::Client,
    addr: SocketAddr,
}

impl Http {
    fn new(addr: SocketAddr) -> Http {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Http { client, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        v: u8,
        auth: &Auth,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header("Accept", accept(v));
        req = match auth {
            Auth::None => req,
            Auth::Basic(u, p) => req.basic_auth(u, Some(p)),
            Auth::Bearer(t) => req.bearer_auth(t),
            Auth::Cookie(c) => req.header("Cookie", c.as_str()),
        };
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    async fn login(&self, user: &str, password: &str) -> String {
        let res = self
            .client
            .post(self.url("/go/auth/security_check"))
            .form(&[("username", user), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let set = res.headers()["set-cookie"].to_str().unwrap().to_string();
        set.split(';').next().unwrap().to_string()
    }

    /// `GET /go/api/current_user` with a Bearer token.
    async fn me(&self, token: &str) -> (StatusCode, Value) {
        self.api(
            reqwest::Method::GET,
            "/go/api/current_user",
            1,
            &Auth::Bearer(token.to_string()),
            None,
        )
        .await
    }

    /// Polls with a Bearer token until it is refused (at most 10 s), and
    /// returns the refusal's body.
    async fn until_refused(&self, token: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let (s, body) = self.me(token).await;
            if s == StatusCode::UNAUTHORIZED {
                return body;
            }
            assert_eq!(s, StatusCode::OK);
            assert!(
                std::time::Instant::now() < deadline,
                "the token was still accepted 10 s after it lost its validity"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn page(&self, path: &str, cookie: &str) -> StatusCode {
        self.client
            .get(self.url(path))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap()
            .status()
    }
}

#[tokio::test]
async fn two_instances_on_one_database_behave_as_one() {
    // Each instance caches verified tokens. On PostgreSQL the cache is made to
    // outlive the test, so refusals below can only come from the other
    // instance's notification; on one SQLite file (no notifications between
    // processes) they come from the entry's short expiry.
    let settings = || Settings {
        auth_cache_ttl: if on_postgres() {
            Duration::from_secs(60)
        } else {
            Duration::from_millis(300)
        },
        ..Settings::default()
    };
    let app_a = TestApp::with_settings(settings()).await;
    let app_b = app_a.second_instance_with(settings()).await;
    let a = Http::new(serve(&app_a).await);
    let b = Http::new(serve(&app_b).await);
    assert_ne!(a.addr.port(), b.addr.port());
    let admin = Auth::admin();
    use reqwest::Method;

    // A login on A is valid on B.
    let cookie = a.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(b.page("/go/access_tokens", &cookie).await, StatusCode::OK);

    // A token created on A works on B.
    let (s, body) = a
        .api(
            Method::POST,
            "/go/api/current_user/access_tokens",
            1,
            &Auth::Cookie(cookie.clone()),
            Some(json!({"description": "multi"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let token = body["token"].as_str().unwrap().to_string();
    let id = body["id"].as_i64().unwrap();
    let (s, me) = b.me(&token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["login_name"], "admin");
    let (s, _) = a.me(&token).await;
    assert_eq!(s, StatusCode::OK, "now cached on A");

    // A revoke on B is refused on A too.
    let (s, _) = b
        .api(
            Method::POST,
            &format!("/go/api/current_user/access_tokens/{id}/revoke"),
            1,
            &admin,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let body = a.until_refused(&token).await;
    assert!(body["message"].as_str().unwrap().contains("revoked at"));

    // A user deleted on A loses access on B: token, password and session.
    let (s, _) = a
        .api(
            Method::POST,
            "/go/api/users",
            3,
            &admin,
            Some(json!({"login_name": "dana", "password": USER_PASSWORD})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let dana = Auth::basic("dana", USER_PASSWORD);
    let (_, body) = b
        .api(
            Method::POST,
            "/go/api/current_user/access_tokens",
            1,
            &dana,
            Some(json!({"description": "dana's"})),
        )
        .await;
    let dana_token = body["token"].as_str().unwrap().to_string();
    let dana_cookie = b.login("dana", USER_PASSWORD).await;
    assert_eq!(b.me(&dana_token).await.0, StatusCode::OK);
    a.api(
        Method::PATCH,
        "/go/api/users/dana",
        3,
        &admin,
        Some(json!({"enabled": false})),
    )
    .await;
    let (s, _) = a
        .api(Method::DELETE, "/go/api/users/dana", 3, &admin, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    b.until_refused(&dana_token).await;
    assert_eq!(
        b.api(Method::GET, "/go/api/current_user", 1, &dana, None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        b.page("/go/access_tokens", &dana_cookie).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn instances_flushing_one_token_keep_the_newest_use() {
    let app_a = TestApp::new().await;
    let app_b = app_a.second_instance().await;
    let (id, _) = app_a.create_token(&Auth::admin(), "shared").await;
    // B saw the newest use, A an older one; B flushes first, then A.
    app_b.state.tokens.last_used.record(id, 2_000_000_000_000);
    app_a.state.tokens.last_used.record(id, 1_000_000_000_000);
    app_b
        .state
        .tokens
        .last_used
        .flush(&app_b.state.db)
        .await
        .unwrap();
    app_a
        .state
        .tokens
        .last_used
        .flush(&app_a.state.db)
        .await
        .unwrap();
    let res = app_a
        .api(
            axum::http::Method::GET,
            &format!("/go/api/current_user/access_tokens/{id}"),
            1,
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(res.json()["last_used_at"], "2033-05-18T03:33:20Z");
}

/// A database that goes away gives 503s with a message, not hangs or crashes,
/// and the instance recovers when it comes back. PostgreSQL leg only: the test
/// refuses connections to its own database, then allows them again.
#[tokio::test]
async fn a_database_outage_gives_503_then_recovery() {
    if !on_postgres() {
        eprintln!("skipped on SQLite: runs in the PostgreSQL leg");
        return;
    }
    // No cache of verified tokens: this is about what a database read does
    // when the database is gone.
    let settings = tollgate::server::config::Settings {
        auth_cache_ttl: Duration::ZERO,
        ..Default::default()
    };
    let app = TestApp::build(settings, 1).await;
    let (_, token) = app.create_token(&Auth::admin(), "outage").await;
    let me = |t: String| {
        let app = &app;
        async move {
            app.api(
                axum::http::Method::GET,
                "/go/api/current_user",
                1,
                &Auth::Bearer(t),
                None,
            )
            .await
        }
    };
    assert_eq!(me(token.clone()).await.status, axum::http::StatusCode::OK);

    let mut ctl = PgControl::new(&app).await;
    let name = ctl.db.clone();
    ctl.exec(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"))
        .await;
    ctl.disconnect_all().await;

    let down = me(token.clone()).await;
    assert_eq!(
        down.status,
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        down.text()
    );
    assert_eq!(
        down.message(),
        "The database is unavailable. Please try again shortly."
    );
    let basic = app
        .api(
            axum::http::Method::GET,
            "/go/api/current_user",
            1,
            &Auth::admin(),
            None,
        )
        .await;
    assert_eq!(basic.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
    let page = app
        .get_page("/go/access_tokens", Some("tollgate_session=abc"))
        .await;
    assert_eq!(page.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);

    ctl.exec(format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .await;
    let mut recovered = false;
    for _ in 0..20 {
        if me(token.clone()).await.status == axum::http::StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        recovered,
        "the instance did not recover when the database came back"
    );
}

/// An unreachable database at start is a clear error and a non-zero exit.
#[tokio::test]
async fn an_unreachable_database_at_start_is_a_clear_error() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/nope",
            "--db-acquire-timeout",
            "1",
        ])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to the database"), "{err}");

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--database-url", "mysql://x/y"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}

/// SIGTERM: the real binary stops gracefully and writes the last-used times it
/// was holding in memory, so nothing buffered is lost.
#[tokio::test]
async fn sigterm_flushes_last_used_times_before_exit() {
    let (storage, url) = Storage::new().await;
    let (mut child, addr) = spawn_server(&url, &["--last-used-flush-secs", "3600"]).await;
    let http = Http::new(addr);
    let (s, body) = http
        .api(
            reqwest::Method::POST,
            "/go/api/current_user/access_tokens",
            1,
            &Auth::admin(),
            Some(json!({"description": "flush me"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let id = body["id"].as_i64().unwrap();
    let token = body["token"].as_str().unwrap().to_string();
    let (s, _) = http
        .api(
            reqwest::Method::GET,
            "/go/api/current_user",
            1,
            &Auth::Bearer(token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("no graceful exit")
        .unwrap();
    assert!(status.success(), "{status:?}");

    let db = tollgate::server::db::connect(&tollgate::server::config::DbArgs {
        database_url: url,
        db_max_connections: 1,
        db_acquire_timeout: 5,
    })
    .await
    .unwrap();
    let last_used: Option<i64> =
        sqlx::query_scalar("SELECT last_used_at FROM access_tokens WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert!(
        last_used.is_some(),
        "the last-used time held in memory was lost at shutdown"
    );
    db.pool.close().await;
    drop(storage);
}
