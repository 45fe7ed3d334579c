//! The cache of recently verified tokens, in front of the database read.
//!
//! A token that checked out (known, not revoked, owner enabled and not deleted)
//! is remembered by its hash for a short time (`--auth-cache-ttl-ms`, 1 s by
//! default), so a busy token costs one database read per second instead of one
//! per request. Only successes are cached: a refused token is read again each
//! time (and failures are throttled per client).
//!
//! Every change that can refuse a token (a revoke, disabling or deleting a
//! user) calls [`AuthCache::changed`] after its commit, which
//! empties this cache at once and, on PostgreSQL, tells the other instances
//! (`NOTIFY`), which empty theirs. A lookup that raced with such a change never
//! puts its stale answer back: [`AuthCache::insert`] refuses when the epoch
//! moved since the read began. Changes made where no notification reaches
//! (the `tollgate user` command on a SQLite file a server has open) take
//! effect when the entry expires. A TTL of 0 turns the cache off.
//!
//! On PostgreSQL the cache is only as good as the listener that empties it,
//! so it is served only while that listener is known to be healthy: the
//! listener proves its connection with a heartbeat (a `NOTIFY` to itself that
//! must come back) every [`HEARTBEAT_INTERVAL`], and each confirmed round trip
//! lets the cache serve until [`HEARTBEAT_INTERVAL`] + [`HEARTBEAT_TIMEOUT`]
//! after that heartbeat was sent. Before the first one, while reconnecting,
//! or once a heartbeat is overdue, every token is read from the database.
//! Without a listener (SQLite) the TTL alone rules.

pub mod listener;

use crate::server::allowlist::Allowlist;
use crate::server::db::{Db, Dialect};
use crate::server::identity::User;
use crate::server::scope::Grants;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Entries beyond this are not added until expired ones are swept.
const MAX_ENTRIES: usize = 100_000;

/// How often the PostgreSQL listener proves its connection.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);
/// How long a heartbeat's round trip may take before the listener's
/// connection is given up for dead.
pub const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(3);

/// `listener_ok_until` when no listener is expected (SQLite, or no listener
/// started): the TTL alone rules.
const NO_LISTENER: u64 = u64::MAX;

/// What a verified token proves.
#[derive(Clone)]
pub struct Verified {
    pub token_id: i64,
    pub user: User,
    /// What the token opens.
    pub grants: Grants,
    pub created_at: i64,
    /// Checked on every use, cached or not (`Tokens::verify`).
    pub expires_at: Option<i64>,
    /// Checked on every use, cached or not (`Tokens::authenticate`).
    pub allowed: Allowlist,
}

struct Entry {
    verified: Verified,
    expires: Instant,
}

pub struct AuthCache {
    ttl_ms: AtomicU64,
    epoch: AtomicU64,
    entries: RwLock<HashMap<String, Entry>>,
    /// Milliseconds since `started` until which the listener counts as
    /// healthy; [`NO_LISTENER`] when none is expected.
    listener_ok_until: AtomicU64,
    started: Instant,
}

impl std::fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCache")
            .field("ttl_ms", &self.ttl_ms)
            .field("epoch", &self.epoch)
            .field("listener_ok_until", &self.listener_ok_until)
            .finish_non_exhaustive()
    }
}

impl Default for AuthCache {
    fn default() -> Self {
        AuthCache::new(DEFAULT_TTL)
    }
}

pub use crate::server::config::DEFAULT_AUTH_CACHE_TTL as DEFAULT_TTL;

impl AuthCache {
    /// Call after committing anything that can refuse a token: a revoke, or
    /// disabling or deleting a user. Empties this instance's cache of verified
    /// tokens and, on PostgreSQL, every other instance's.
    pub async fn changed(&self, db: &Db) {
        self.invalidate();
        if db.dialect == Dialect::Postgres {
            if let Err(e) = sqlx::query("SELECT pg_notify($1, '')")
                .bind(listener::AUTH_CHANNEL)
                .execute(&db.pool)
                .await
            {
                // The change is committed; other instances see it when their
                // entries expire.
                tracing::warn!(error = %e, "could not notify other instances of an auth change");
            }
        }
    }

    pub fn new(ttl: Duration) -> Self {
        AuthCache {
            ttl_ms: AtomicU64::new(ttl.as_millis() as u64),
            epoch: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
            listener_ok_until: AtomicU64::new(NO_LISTENER),
            started: Instant::now(),
        }
    }

    fn millis_at(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_millis() as u64
    }

    /// Whether entries may be served at `now`: no listener is expected, or
    /// its last confirmed heartbeat is recent. One atomic load.
    fn listener_fresh(&self, now: Instant) -> bool {
        let until = self.listener_ok_until.load(Ordering::SeqCst);
        until == NO_LISTENER || self.millis_at(now) < until
    }

    /// From now on entries are served only while [`Self::listener_alive`]
    /// keeps being called; until the first call, none is.
    pub fn expect_listener(&self) {
        self.listener_ok_until.store(0, Ordering::SeqCst);
    }

    /// A heartbeat sent at `sent` came back: entries may be served until
    /// one interval plus one timeout after it.
    pub fn listener_alive(&self, sent: Instant) {
        let until = self.millis_at(sent + HEARTBEAT_INTERVAL + HEARTBEAT_TIMEOUT);
        self.listener_ok_until.fetch_max(until, Ordering::SeqCst);
    }

    /// The listener's connection is lost: serve nothing from the cache until
    /// a new one is confirmed.
    pub fn listener_down(&self) {
        if self.listener_ok_until.load(Ordering::SeqCst) != NO_LISTENER {
            self.listener_ok_until.store(0, Ordering::SeqCst);
        }
    }

    /// Whether cached entries are being served (the listener, if one is
    /// expected, is known to be healthy).
    pub fn listener_healthy(&self) -> bool {
        self.listener_fresh(Instant::now())
    }

    pub fn set_ttl(&self, ttl: Duration) {
        self.ttl_ms.store(ttl.as_millis() as u64, Ordering::SeqCst);
        self.invalidate();
    }

    /// A live entry for this token hash.
    pub fn get(&self, hash: &str) -> Option<Verified> {
        let now = Instant::now();
        if !self.listener_fresh(now) {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(hash)?;
        (entry.expires > now).then(|| entry.verified.clone())
    }

    /// Take this before the database read whose answer goes to [`Self::insert`].
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// Remembers a verified token, unless something changed since `epoch`.
    pub fn insert(&self, epoch: u64, hash: String, verified: Verified) {
        let ttl = self.ttl_ms.load(Ordering::SeqCst);
        if ttl == 0 {
            return;
        }
        let now = Instant::now();
        if !self.listener_fresh(now) {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if self.epoch.load(Ordering::SeqCst) != epoch {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.expires > now);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        let expires = now + Duration::from_millis(ttl);
        entries.insert(hash, Entry { verified, expires });
    }

    /// Forgets every entry; lookups in flight will not put theirs back.
    pub fn invalidate(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verified(id: i64) -> Verified {
        Verified {
            token_id: id,
            grants: Grants::default_api(),
            created_at: 0,
            expires_at: None,
            allowed: Allowlist::default(),
            user: User {
                id: 1,
                login_name: "bob".into(),
                display_name: "bob".into(),
                email: None,
                email_me: false,
                checkin_aliases: String::new(),
                is_admin: false,
                enabled: true,
                created_at: 0,
            },
        }
    }

    #[test]
    fn a_lookup_that_raced_with_a_change_is_not_kept() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let before = cache.epoch();
        cache.invalidate(); // a revoke committed while the lookup read the database
        cache.insert(before, "h".into(), verified(1));
        assert!(cache.get("h").is_none());

        let now = cache.epoch();
        cache.insert(now, "h".into(), verified(1));
        assert_eq!(cache.get("h").map(|v| v.token_id), Some(1));
        cache.invalidate();
        assert!(cache.get("h").is_none());
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_keeps_nothing() {
        let cache = AuthCache::new(Duration::from_millis(30));
        cache.insert(cache.epoch(), "h".into(), verified(1));
        assert!(cache.get("h").is_some());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("h").is_none());

        cache.set_ttl(Duration::ZERO);
        cache.insert(cache.epoch(), "h".into(), verified(1));
        assert!(cache.is_empty());
    }

    #[test]
    fn with_a_listener_entries_are_served_only_after_a_recent_heartbeat() {
        let cache = AuthCache::new(Duration::from_secs(60));
        cache.expect_listener();
        assert!(!cache.listener_healthy());
        cache.insert(cache.epoch(), "h".into(), verified(1));
        assert!(cache.get("h").is_none(), "not yet up: nothing cached");

        cache.listener_alive(Instant::now());
        cache.insert(cache.epoch(), "h".into(), verified(1));
        assert_eq!(cache.get("h").map(|v| v.token_id), Some(1));

        cache.listener_down();
        assert!(cache.get("h").is_none(), "down: bypassed");

        // A heartbeat sent long ago no longer vouches for the listener.
        let old = Instant::now() - (HEARTBEAT_INTERVAL + HEARTBEAT_TIMEOUT);
        cache.listener_alive(old);
        assert!(cache.get("h").is_none(), "overdue: bypassed");
        cache.listener_alive(Instant::now());
        assert!(cache.get("h").is_some());
    }
}
