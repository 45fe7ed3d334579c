//! The cost of one token check, beside GoCD's scheme on the same machine.
//!
//! `cargo bench --features ssr --bench verify`

use criterion::{criterion_group, criterion_main, Criterion};
use pbkdf2::pbkdf2_hmac;
use sha2::Sha256;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use tollgate::server::auth::{AuthMethod, Caller};
use tollgate::server::auth_cache::AuthCache;
use tollgate::server::config::DbArgs;
use tollgate::server::db;
use tollgate::server::tokens::format::PlainToken;
use tollgate::server::tokens::Tokens;
use tollgate::server::users::{repo, service};

/// The client address the benchmark's tokens are used from.
const LOOPBACK: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = DbArgs {
        database_url: format!("sqlite://{}/bench.db", dir.path().display()),
        db_max_connections: 4,
        db_acquire_timeout: 5,
    };
    let (tokens, uncached, secret) = rt.block_on(async {
        let db = db::connect(&args).await.unwrap();
        service::bootstrap_admin(&db, "admin", Some("bench-password".to_string().into()))
            .await
            .unwrap();
        let user = repo::find_by_login(&db, "admin").await.unwrap().unwrap();
        let tokens = Tokens::new(db, Arc::new(AuthCache::default()));
        let caller = Caller {
            user,
            method: AuthMethod::Basic,
            origin: Default::default(),
            grants: None,
            token_expires_at: None,
        };
        let (_, plain) = tokens.create(&caller, "bench").await.unwrap();
        // A second instance on the same file that reads the database every time.
        let strict = db::connect(&args).await.unwrap();
        let uncached = Tokens::new(strict, Arc::new(AuthCache::new(Duration::ZERO)));
        (tokens, uncached, plain.expose().to_string())
    });
    let mut forged = secret.clone().into_bytes();
    forged[10] = if forged[10] == b'a' { b'b' } else { b'a' };
    let forged = String::from_utf8(forged).unwrap();
    let unknown = PlainToken::generate();
    // What a request does: parse the header's token, then check it.
    let check = |tokens: &Tokens, presented: &str| {
        let parsed = PlainToken::parse(presented);
        let tokens = tokens.clone();
        async move {
            match parsed {
                Ok(token) => tokens.authenticate(&token, LOOPBACK, None).await.is_ok(),
                Err(_) => false,
            }
        }
    };

    let mut g = c.benchmark_group("verify");
    g.bench_function(
        "tollgate full check, verified within the TTL (checksum, SHA-256, cache)",
        |b| {
            b.to_async(&rt)
                .iter(|| async { assert!(black_box(check(&tokens, &secret).await)) })
        },
    );
    g.bench_function(
        "tollgate full check, database read (checksum, SHA-256, SQLite lookup)",
        |b| {
            b.to_async(&rt)
                .iter(|| async { assert!(black_box(check(&uncached, &secret).await)) })
        },
    );
    g.bench_function("tollgate unknown well-formed token (SQLite lookup)", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(tokens.authenticate(&unknown, LOOPBACK, None).await.is_err())
        })
    });
    g.bench_function("tollgate CPU part (checksum, SHA-256)", |b| {
        b.iter(|| black_box(PlainToken::parse(black_box(&secret)).unwrap().hash()))
    });
    g.bench_function("tollgate forged token (refused by checksum)", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(!check(&tokens, &forged).await) })
    });
    // GoCD: 16 random bytes, per-token salt, PBKDF2-HMAC-SHA256 with 4096 rounds.
    let gocd_secret = [7u8; 16];
    let salt = [9u8; 32];
    g.bench_function("GoCD PBKDF2-HMAC-SHA256 4096 iterations", |b| {
        b.iter(|| {
            let mut out = [0u8; 32];
            pbkdf2_hmac::<Sha256>(black_box(&gocd_secret), &salt, 4096, &mut out);
            black_box(out)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
