//! The database pool and migrations, one migration set per dialect.
//!
//! Queries go through sqlx's `Any` driver with `$N` placeholders, which both SQLite
//! and PostgreSQL accept, so the repositories hold one SQL text for both.

use crate::server::auth_cache::{AuthCache, HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT};
use crate::server::config::DbArgs;
use secrecy::{ExposeSecret, SecretString};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub dialect: Dialect,
    /// Verified tokens, in front of the database read (see `auth_cache`).
    pub auth_cache: Arc<AuthCache>,
    url: Arc<SecretString>,
}

/// The PostgreSQL channel on which instances tell each other that a token
/// may have stopped being valid.
const AUTH_CHANNEL: &str = "tollgate_auth";

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("unsupported database URL (expected sqlite://PATH or postgres://...)")]
    UnsupportedUrl,
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Turns `sqlite://data/x.db` into a URL that creates the file, and its directory.
fn prepare_sqlite_url(url: &str) -> Result<String, DbSetupError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or(DbSetupError::UnsupportedUrl)?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Err(DbSetupError::UnsupportedUrl);
    }
    if let Some(dir) = std::path::Path::new(path).parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).map_err(|source| DbSetupError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
    }
    let query = if query.contains("mode=") {
        query.to_string()
    } else if query.is_empty() {
        "mode=rwc".to_string()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

pub async fn connect(args: &DbArgs) -> Result<Db, DbSetupError> {
    sqlx::any::install_default_drivers();
    let (dialect, url) = if args.database_url.starts_with("sqlite:") {
        (Dialect::Sqlite, prepare_sqlite_url(&args.database_url)?)
    } else if args.database_url.starts_with("postgres://")
        || args.database_url.starts_with("postgresql://")
    {
        (Dialect::Postgres, args.database_url.clone())
    } else {
        return Err(DbSetupError::UnsupportedUrl);
    };
    let options = AnyConnectOptions::from_str(&url).map_err(DbSetupError::Connect)?;
    let pool = AnyPoolOptions::new()
        .max_connections(args.db_max_connections.max(1))
        .acquire_timeout(Duration::from_secs(args.db_acquire_timeout.max(1)))
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if dialect == Dialect::Sqlite {
                    // WAL lets readers run beside the writer; FULL sync means an
                    // answered write survives a crash; busy_timeout queues writers.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA busy_timeout = 5000").await?;
                } else {
                    // Short indexed queries only: JIT compilation, which the
                    // planner's rough estimates for the search can trigger,
                    // costs 100+ ms and saves nothing.
                    conn.execute("SET jit = off").await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(DbSetupError::Connect)?;
    let db = Db {
        pool,
        dialect,
        auth_cache: Arc::new(AuthCache::default()),
        url: Arc::new(SecretString::from(url)),
    };
    db.migrate().await?;
    Ok(db)
}

impl Db {
    /// A transaction that writes. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so concurrent writers wait their turn (busy
    /// timeout) instead of failing when a deferred transaction upgrades.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.pool.begin().await,
        }
    }

    /// Call after committing anything that can refuse a token: a revoke, or
    /// disabling or deleting a user. Empties this instance's cache of verified
    /// tokens and, on PostgreSQL, every other instance's.
    pub async fn auth_changed(&self) {
        self.auth_cache.invalidate();
        if self.dialect == Dialect::Postgres {
            if let Err(e) = sqlx::query("SELECT pg_notify($1, '')")
                .bind(AUTH_CHANNEL)
                .execute(&self.pool)
                .await
            {
                // The change is committed; other instances see it when their
                // entries expire.
                tracing::warn!(error = %e, "could not notify other instances of an auth change");
            }
        }
    }

    /// On PostgreSQL, listens for other instances' auth changes and empties
    /// this instance's cache on each (and whenever the listening connection
    /// was lost, since notifications may have been missed meanwhile).
    ///
    /// The connection (to `notify_url`, by default the main database URL) is
    /// proven every [`HEARTBEAT_INTERVAL`]: the listener `NOTIFY`s a channel of
    /// its own and waits for it to come back within [`HEARTBEAT_TIMEOUT`]. A
    /// half-open connection (a pooler or relay that keeps TCP alive while the
    /// database side is gone) fails that and is replaced. PostgreSQL delivers
    /// notifications in commit order, so a heartbeat that came back proves
    /// that every change notified before it was seen; the cache is served
    /// only while the last such proof is recent (see `auth_cache`).
    pub fn spawn_auth_listener(
        &self,
        notify_url: Option<&SecretString>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        if self.dialect != Dialect::Postgres {
            return None;
        }
        self.auth_cache.expect_listener();
        // Weak: the task ends soon after the last user of this database is gone.
        let cache = Arc::downgrade(&self.auth_cache);
        let url = notify_url.cloned().unwrap_or_else(|| (*self.url).clone());
        Some(tokio::spawn(async move {
            // A channel only this instance listens to, for its heartbeats.
            let heartbeats = format!("tollgate_hb_{:016x}", rand::random::<u64>());
            let mut seq: u64 = 0;
            loop {
                let Some(c) = cache.upgrade() else { return };
                let outcome = listen(&url, &heartbeats, &c, &mut seq).await;
                c.listener_down();
                c.invalidate();
                drop(c);
                match outcome {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "auth change listener lost or unavailable; reading every token from the database until it is back (retrying in 1 s)");
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }))
    }
    /// Applies pending migrations, saying so first: the first start after an
    /// upgrade may rebuild an index over every token (about two minutes per
    /// million tokens on SQLite).
    pub async fn migrate(&self) -> Result<(), DbSetupError> {
        let migrator = match self.dialect {
            Dialect::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Dialect::Postgres => sqlx::migrate!("migrations/postgres"),
        };
        // No table yet (a new database) reads as nothing applied.
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
            .fetch_all(&self.pool)
            .await
            .unwrap_or_default();
        let pending: Vec<String> = migrator
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| format!("{} {}", m.version, m.description))
            .collect();
        if !applied.is_empty() && !pending.is_empty() {
            tracing::info!(pending = ?pending, "upgrading the database schema; this can take a few minutes on large databases");
        }
        let started = std::time::Instant::now();
        migrator.run(&self.pool).await?;
        if !applied.is_empty() && !pending.is_empty() {
            tracing::info!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "database schema upgraded"
            );
        }
        Ok(())
    }
}

/// Why the listener's connection was given up.
#[derive(Debug, thiserror::Error)]
enum ListenError {
    #[error("{0}")]
    Db(#[from] sqlx::Error),
    #[error("could not connect and listen within {0:?}")]
    ConnectTimeout(Duration),
    #[error("no heartbeat back within {0:?}")]
    HeartbeatTimeout(Duration),
    #[error("the connection was closed")]
    Closed,
}

/// The `application_name` of the listener's connection (in `pg_stat_activity`).
pub const LISTENER_APPLICATION_NAME: &str = "tollgate-auth-listener";

/// One listening connection, for as long as it stays healthy. Answers `Ok`
/// when the cache is gone (the instance stopped), an error when the
/// connection must be replaced.
async fn listen(
    url: &SecretString,
    heartbeats: &str,
    cache: &Arc<AuthCache>,
    seq: &mut u64,
) -> Result<(), ListenError> {
    use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
    let connect_timeout = HEARTBEAT_INTERVAL + HEARTBEAT_TIMEOUT;
    let connect = async {
        let options = PgConnectOptions::from_str(url.expose_secret())?
            .application_name(LISTENER_APPLICATION_NAME);
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(connect_timeout)
            .connect_lazy_with(options);
        let mut l = PgListener::connect_with(&pool).await?;
        // A lost connection is ours to notice and replace, with our timeouts.
        l.eager_reconnect(false);
        l.listen_all([AUTH_CHANNEL, heartbeats]).await?;
        Ok::<_, sqlx::Error>(l)
    };
    let mut listener = tokio::time::timeout(connect_timeout, connect)
        .await
        .map_err(|_| ListenError::ConnectTimeout(connect_timeout))??;
    // Anything may have changed before the listener was up.
    cache.invalidate();
    let weak = Arc::downgrade(cache);
    loop {
        // The heartbeat: NOTIFY ourselves, on this connection, and wait for
        // it to come back, handling the changes notified before it.
        *seq += 1;
        let payload = seq.to_string();
        let sent = tokio::time::Instant::now();
        let round_trip = async {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(heartbeats)
                .bind(&payload)
                .execute(&mut listener)
                .await?;
            loop {
                let n = listener.try_recv().await?.ok_or(ListenError::Closed)?;
                if n.channel() == heartbeats {
                    if n.payload() == payload {
                        return Ok::<_, ListenError>(());
                    }
                } else {
                    cache.invalidate();
                }
            }
        };
        tokio::time::timeout(HEARTBEAT_TIMEOUT, round_trip)
            .await
            .map_err(|_| ListenError::HeartbeatTimeout(HEARTBEAT_TIMEOUT))??;
        cache.listener_alive(sent.into_std());
        // Until the next heartbeat: changes notified by other instances.
        let next = sent + HEARTBEAT_INTERVAL;
        loop {
            match tokio::time::timeout_at(next, listener.try_recv()).await {
                Err(_elapsed) => break,
                Ok(n) => {
                    let n = n?.ok_or(ListenError::Closed)?;
                    if n.channel() != heartbeats {
                        cache.invalidate();
                    }
                }
            }
        }
        if weak.strong_count() <= 1 {
            // Only this task holds the cache: the instance is gone.
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/t.db");
        let url = prepare_sqlite_url(&format!("sqlite://{}", path.display())).unwrap();
        assert!(url.ends_with("t.db?mode=rwc"), "{url}");
        assert!(path.parent().unwrap().is_dir());
        assert!(matches!(
            prepare_sqlite_url("sqlite::memory:"),
            Err(DbSetupError::UnsupportedUrl)
        ));
    }
}
