//! The cache of recently verified tokens, in front of the database read.
//!
//! A token that checked out (known, not revoked, owner enabled and not deleted)
//! is remembered by its hash for a short time (`--auth-cache-ttl-ms`, 1 s by
//! default), so a busy token costs one database read per second instead of one
//! per request. Only successes are cached: a refused token is read again each
//! time (and failures are throttled per client).
//!
//! Every change that can refuse a token (a revoke, disabling or deleting a
//! user) calls [`crate::server::db::Db::auth_changed`] after its commit, which
//! empties this cache at once and, on PostgreSQL, tells the other instances
//! (`NOTIFY`), which empty theirs. A lookup that raced with such a change never
//! puts its stale answer back: [`AuthCache::insert`] refuses when the epoch
//! moved since the read began. Changes made where no notification reaches
//! (the `tollgate user` command on a SQLite file a server has open) take
//! effect when the entry expires. A TTL of 0 turns the cache off.

use crate::server::identity::User;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Entries beyond this are not added until expired ones are swept.
const MAX_ENTRIES: usize = 100_000;

/// What a verified token proves.
#[derive(Clone)]
pub struct Verified {
    pub token_id: i64,
    pub user: User,
}

struct Entry {
    verified: Verified,
    expires: Instant,
}

pub struct AuthCache {
    ttl_ms: AtomicU64,
    epoch: AtomicU64,
    entries: RwLock<HashMap<String, Entry>>,
}

impl std::fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCache")
            .field("ttl_ms", &self.ttl_ms)
            .field("epoch", &self.epoch)
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
    pub fn new(ttl: Duration) -> Self {
        AuthCache {
            ttl_ms: AtomicU64::new(ttl.as_millis() as u64),
            epoch: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
        }
    }

    pub fn set_ttl(&self, ttl: Duration) {
        self.ttl_ms.store(ttl.as_millis() as u64, Ordering::SeqCst);
        self.invalidate();
    }

    /// A live entry for this token hash.
    pub fn get(&self, hash: &str) -> Option<Verified> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(hash)?;
        (entry.expires > Instant::now()).then(|| entry.verified.clone())
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
}
