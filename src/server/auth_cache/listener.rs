//! On PostgreSQL, the listener that empties this instance's cache when another
//! instance changes something that can refuse a token (`NOTIFY` on
//! [`AUTH_CHANNEL`], sent by [`AuthCache::changed`]).

use super::{AuthCache, HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT};
use crate::server::db::{Db, Dialect};
use secrecy::{ExposeSecret, SecretString};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// The PostgreSQL channel on which instances tell each other that a token
/// may have stopped being valid.
pub const AUTH_CHANNEL: &str = "tollgate_auth";

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
pub fn spawn(
    cache: &Arc<AuthCache>,
    db: &Db,
    notify_url: Option<&SecretString>,
) -> Option<tokio::task::JoinHandle<()>> {
    if db.dialect != Dialect::Postgres {
        return None;
    }
    cache.expect_listener();
    // Weak: the task ends soon after the last user of the cache is gone.
    let cache = Arc::downgrade(cache);
    let url = notify_url.cloned().unwrap_or_else(|| db.url().clone());
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
