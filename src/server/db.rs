//! The database pool and migrations, one migration set per dialect.
//!
//! Queries go through sqlx's `Any` driver with `$N` placeholders, which both SQLite
//! and PostgreSQL accept, so the repositories hold one SQL text for both.

use crate::server::config::DbArgs;
use secrecy::SecretString;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// Parameters of a statement built at run time, in the order of their `$N`
/// placeholders.
#[derive(Default)]
pub struct Binds(Vec<Bind>);

enum Bind {
    Int(i64),
    Text(String),
}

impl Binds {
    /// Binds an integer and returns its placeholder.
    pub fn int(&mut self, v: i64) -> String {
        self.0.push(Bind::Int(v));
        format!("${}", self.0.len())
    }

    /// Binds a text and returns its placeholder.
    pub fn text(&mut self, v: impl Into<String>) -> String {
        self.0.push(Bind::Text(v.into()));
        format!("${}", self.0.len())
    }

    pub fn bind<'q, O>(
        self,
        mut query: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
        for arg in self.0 {
            query = match arg {
                Bind::Int(i) => query.bind(i),
                Bind::Text(s) => query.bind(s),
            };
        }
        query
    }

    /// As [`Binds::bind`], for a statement that returns no rows.
    pub fn bind_plain(
        self,
        mut query: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments> {
        for arg in self.0 {
            query = match arg {
                Bind::Int(i) => query.bind(i),
                Bind::Text(s) => query.bind(s),
            };
        }
        query
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub dialect: Dialect,
    url: Arc<SecretString>,
}

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
        .after_release(move |conn, _meta| {
            Box::pin(async move {
                if dialect != Dialect::Sqlite {
                    return Ok(true);
                }
                // SQLite may end a transaction itself (a full disk), after
                // which sqlx's rollback fails and it still counts the
                // transaction open: such a connection is closed, not pooled.
                conn.ping().await?;
                Ok(!conn.is_in_transaction())
            })
        })
        .connect_with(options)
        .await
        .map_err(DbSetupError::Connect)?;
    let db = Db {
        pool,
        dialect,
        url: Arc::new(SecretString::from(url)),
    };
    db.migrate().await?;
    Ok(db)
}

impl Db {
    /// The URL the pool connects to (the auth listener's default).
    pub fn url(&self) -> &SecretString {
        &self.url
    }

    /// A transaction that writes. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so concurrent writers wait their turn (busy
    /// timeout) instead of failing when a deferred transaction upgrades.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Dialect::Postgres => self.pool.begin().await,
        }
    }

    /// Whether the database answers and has every migration of this build
    /// applied; the reason when not (for `/readyz`).
    pub async fn ready(&self) -> Result<(), String> {
        let latest = match self.dialect {
            Dialect::Sqlite => sqlx::migrate!("migrations/sqlite"),
            Dialect::Postgres => sqlx::migrate!("migrations/postgres"),
        }
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0);
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| format!("the database does not answer: {e}"))?;
        match applied {
            Some(v) if v >= latest => Ok(()),
            v => Err(format!(
                "the database schema is at migration {}, this build needs {latest}",
                v.unwrap_or(0)
            )),
        }
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
