//! The PostgreSQL listener that carries revokes between instances, when its
//! connection dies: loudly (its backend is terminated) or silently (a relay
//! in between stops forwarding and keeps the sockets open). Both instances
//! cache verified tokens for 60 s, so a refusal on B below can only come from
//! B's listener or from B bypassing its cache while that listener is not
//! known to be healthy. PostgreSQL leg only.

use crate::common::*;
use axum::http::StatusCode;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use tollgate::server::auth_cache::listener::LISTENER_APPLICATION_NAME;

fn long_cache(notify_url: Option<String>) -> Settings {
    Settings {
        auth_cache_ttl: Duration::from_secs(60),
        notify_database_url: notify_url.map(Into::into),
        ..Settings::default()
    }
}

/// `host:port` of the test PostgreSQL server.
fn pg_host_port() -> String {
    let base = pg_base();
    let after_at = base.rsplit('@').next().unwrap();
    let after_scheme = after_at.rsplit("://").next().unwrap();
    after_scheme.split('/').next().unwrap().to_string()
}

/// Polls `cond` every 20 ms until it holds; fails after `limit`.
async fn wait_until(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn healthy(app: &TestApp) -> bool {
    app.state.auth_cache.listener_healthy()
}

/// Verifies `token` on `app` twice and asserts the second answer came from
/// the cache (no database lookup).
async fn verify_and_cache(app: &TestApp, token: &str) {
    assert_eq!(app.me(token).await.status, StatusCode::OK);
    let lookups = app.state.tokens.lookups();
    assert_eq!(app.me(token).await.status, StatusCode::OK);
    assert_eq!(
        app.state.tokens.lookups(),
        lookups,
        "the token should be served from the cache"
    );
}

/// Once the listener is healthy again, a revoke on A reaches B's cache by
/// notification (within 10 s, typically at once).
async fn notifications_work_again(app_a: &TestApp, app_b: &TestApp) {
    wait_until(
        "B's listener healthy again",
        Duration::from_secs(20),
        || healthy(app_b),
    )
    .await;
    let (id, token) = app_a.create_token(&Auth::admin(), "after").await;
    verify_and_cache(app_b, &token).await;
    let res = app_a.revoke_token(&Auth::admin(), id, None).await;
    assert_eq!(res.status, StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(10);
    while app_b.me(&token).await.status != StatusCode::UNAUTHORIZED {
        assert!(Instant::now() < deadline, "the revoke never reached B");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_killed_listener_bypasses_the_cache_until_it_is_back() {
    if !on_postgres() {
        eprintln!("skipped on SQLite: runs in the PostgreSQL leg");
        return;
    }
    let app_a = TestApp::with_settings(long_cache(None)).await;
    let mut ctl = PgControl::new(&app_a).await;
    // B's listener logs in as a role of its own, so the test can keep it
    // from reconnecting.
    let role = format!(
        "tollgate_l_{}_{}",
        std::process::id(),
        rand::random::<u32>()
    );
    ctl.exec(format!("CREATE ROLE \"{role}\" LOGIN")).await;
    let notify_url = format!("postgres://{role}@{}/{}", pg_host_port(), ctl.db);
    let app_b = app_a
        .second_instance_with(long_cache(Some(notify_url)))
        .await;
    wait_until("B's listener healthy", Duration::from_secs(10), || {
        healthy(&app_b)
    })
    .await;

    let (id, token) = app_a.create_token(&Auth::admin(), "shared").await;
    verify_and_cache(&app_b, &token).await;

    // Kill B's listener and keep it down.
    ctl.exec(format!("ALTER ROLE \"{role}\" NOLOGIN")).await;
    ctl.exec(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{}' AND usename = '{role}' \
         AND application_name = '{LISTENER_APPLICATION_NAME}'",
        ctl.db
    ))
    .await;
    wait_until(
        "B noticing that its listener is gone",
        Duration::from_secs(10),
        || !healthy(&app_b),
    )
    .await;

    // While it is down, B reads the database on every request...
    let lookups = app_b.state.tokens.lookups();
    assert_eq!(app_b.me(&token).await.status, StatusCode::OK);
    assert_eq!(app_b.me(&token).await.status, StatusCode::OK);
    assert_eq!(app_b.state.tokens.lookups(), lookups + 2, "cache bypassed");

    // ...so a revoke on A, whose notification B cannot receive, is refused
    // by B on the very next request.
    let res = app_a.revoke_token(&Auth::admin(), id, None).await;
    assert_eq!(res.status, StatusCode::OK);
    let res = app_b.me(&token).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.text());
    assert!(!healthy(&app_b), "the listener cannot be back yet");

    // Let it back in: it reconnects, and notifications work again.
    ctl.exec(format!("ALTER ROLE \"{role}\" LOGIN")).await;
    notifications_work_again(&app_a, &app_b).await;

    drop(app_b);
    drop(app_a);
    ctl.exec(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"
    ))
    .await;
    let _ = ctl
        .try_exec(format!("DROP ROLE IF EXISTS \"{role}\""))
        .await;
}

/// A TCP relay to PostgreSQL that can be frozen: it then forwards nothing,
/// either way, on old or new connections, and keeps every socket open (a
/// half-open path that TCP keepalive would not notice).
struct Relay {
    addr: std::net::SocketAddr,
    frozen: watch::Sender<bool>,
}

impl Relay {
    async fn start(target: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (frozen, rx) = watch::channel(false);
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (rx, target) = (rx.clone(), target.clone());
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    let (in_r, in_w) = inbound.into_split();
                    let (out_r, out_w) = outbound.into_split();
                    tokio::join!(pipe(in_r, out_w, rx.clone()), pipe(out_r, in_w, rx));
                });
            }
        });
        Relay { addr, frozen }
    }

    fn freeze(&self, frozen: bool) {
        self.frozen.send_replace(frozen);
    }
}

async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, mut frozen: watch::Receiver<bool>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // Frozen: hold the bytes, forward nothing, close nothing.
        if frozen.wait_for(|f| !*f).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

#[tokio::test]
async fn a_silently_dead_listener_is_noticed_and_its_cache_bypassed() {
    if !on_postgres() {
        eprintln!("skipped on SQLite: runs in the PostgreSQL leg");
        return;
    }
    let app_a = TestApp::with_settings(long_cache(None)).await;
    let ctl = PgControl::new(&app_a).await;
    let relay = Relay::start(pg_host_port()).await;
    let notify_url = format!(
        "{}/{}",
        pg_base().replace(&pg_host_port(), &relay.addr.to_string()),
        ctl.db
    );
    let app_b = app_a
        .second_instance_with(long_cache(Some(notify_url)))
        .await;
    wait_until("B's listener healthy", Duration::from_secs(10), || {
        healthy(&app_b)
    })
    .await;

    let (id, token) = app_a.create_token(&Auth::admin(), "shared").await;
    verify_and_cache(&app_b, &token).await;

    // The path to B's listener goes silent; a revoke on A right after.
    relay.freeze(true);
    let frozen_at = Instant::now();
    let res = app_a.revoke_token(&Auth::admin(), id, None).await;
    assert_eq!(res.status, StatusCode::OK);

    // B refuses it within the heartbeat bound (interval 2 s + timeout 3 s
    // after the last confirmed heartbeat); 20 s is only a generous deadline.
    let deadline = frozen_at + Duration::from_secs(20);
    loop {
        let res = app_b.me(&token).await;
        if res.status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert_eq!(res.status, StatusCode::OK);
        assert!(
            Instant::now() < deadline,
            "B still accepted the revoked token 20 s after its listener went silent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("refused by B {:?} after the freeze", frozen_at.elapsed());
    // The dead connection is noticed within 10 s, and B stays in bypass
    // while it cannot reconnect.
    wait_until(
        "B noticing that its listener is silent",
        Duration::from_secs(10).saturating_sub(frozen_at.elapsed()),
        || !healthy(&app_b),
    )
    .await;
    assert_eq!(app_b.me(&token).await.status, StatusCode::UNAUTHORIZED);

    relay.freeze(false);
    notifications_work_again(&app_a, &app_b).await;
}
