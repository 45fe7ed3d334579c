//! What the benchmarks share: a database, a user, an admin's session.
#![allow(dead_code)] // Each bench uses its part.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use std::time::{Duration, Instant};
use tollgate::server::auth::{session, AuthMethod, Caller};
use tollgate::server::config::{DbArgs, Settings};
use tollgate::server::db::{self, Db};
use tollgate::server::identity::User;
use tollgate::server::startup::Application;
use tollgate::server::users::service::{self, NewUser};
use tollgate::server::users::{repo, Actor};
use tower::ServiceExt;

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `p` percentile of sorted times.
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub async fn connect(url: &str) -> Db {
    db::connect(&DbArgs {
        database_url: url.to_string(),
        db_max_connections: 4,
        db_acquire_timeout: 10,
    })
    .await
    .unwrap()
}

/// The user `name`, created by the operator if it does not exist.
pub async fn user(db: &Db, name: &str, admin: bool) -> User {
    if let Some(u) = repo::find_by_login(db, name).await.unwrap() {
        return u;
    }
    service::create(
        db,
        &Actor::Operator,
        NewUser {
            login_name: name.into(),
            display_name: None,
            email: None,
            email_me: false,
            checkin_aliases: vec![],
            password: admin.then(|| "bench-password".to_string().into()),
            admin,
            enabled: true,
        },
    )
    .await
    .unwrap()
}

/// A caller as `method` proves it (no token grants).
pub fn caller(user: User, method: AuthMethod) -> Caller {
    Caller {
        user,
        method,
        origin: Default::default(),
        grants: None,
        token_expires_at: None,
    }
}

/// The admin `benchadmin` signed in: as the server functions see it, its
/// session cookie, and the real application (state and router).
pub async fn admin_session(db: &Db) -> (Caller, String, Application) {
    let admin = user(db, "benchadmin", true).await;
    let cookie = session::create(db, &admin, Duration::from_secs(3600), &Default::default())
        .await
        .unwrap();
    let cookie = format!(
        "{}={}",
        session::COOKIE_NAME,
        secrecy::ExposeSecret::expose_secret(&cookie)
    );
    let app = Application::build(db.clone(), Settings::default());
    (caller(admin, AuthMethod::Session), cookie, app)
}

/// How long a v1 GET of `uri` takes through the router, as `cookie`, the
/// whole body read; it must answer 200.
pub async fn get_v1(router: &Router, uri: &str, cookie: &str) -> Duration {
    let req = Request::builder()
        .uri(uri)
        .header(header::ACCEPT, "application/vnd.go.cd.v1+json")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap();
    let t = Instant::now();
    let res = router.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let _ = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    t.elapsed()
}
