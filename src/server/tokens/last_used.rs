//! Uses of tokens (`last_used_at`, the last client addresses and user
//! agent), recorded in memory on each use and written in batches, so a hot
//! token costs about one database write per flush interval, not one per
//! request. A crash loses at most one interval of them.

use super::lifecycle::{user_agent, LAST_IPS};
use super::repo;
use crate::server::db::Db;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// A token's uses since the last flush.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Uses {
    /// The newest.
    pub at: i64,
    /// Distinct client addresses, newest first, at most [`LAST_IPS`].
    pub ips: Vec<IpAddr>,
    pub user_agent: Option<String>,
}

impl Uses {
    fn add(&mut self, at: i64, ip: IpAddr, agent: Option<&str>) {
        self.at = self.at.max(at);
        if self.ips.first() != Some(&ip) {
            self.ips.retain(|i| *i != ip);
            self.ips.insert(0, ip);
            self.ips.truncate(LAST_IPS);
        }
        if let Some(agent) = agent {
            if self.user_agent.as_deref() != Some(agent) {
                self.user_agent = Some(user_agent(agent));
            }
        }
    }

    /// `newer` was recorded after `self`: merged, newest first.
    fn merge(mut self, newer: Uses) -> Uses {
        let mut ips = newer.ips;
        for ip in self.ips.drain(..) {
            if ips.len() < LAST_IPS && !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        Uses {
            at: self.at.max(newer.at),
            ips,
            user_agent: newer.user_agent.or(self.user_agent),
        }
    }
}

#[derive(Default)]
pub struct LastUsed {
    pending: Mutex<HashMap<i64, Uses>>,
    /// Rows written by flushes since start (for tests and benchmarks).
    writes: AtomicU64,
    /// Flushes that wrote something, since start.
    flushes: AtomicU64,
}

impl LastUsed {
    pub fn record(&self, token_id: i64, at: i64, ip: IpAddr, agent: Option<&str>) {
        if let Ok(mut m) = self.pending.lock() {
            m.entry(token_id)
                .or_default()
                .add(at, ip.to_canonical(), agent);
        }
    }

    /// The uses not yet written, to show fresh values before a flush.
    pub fn pending(&self, token_id: i64) -> Option<Uses> {
        self.pending.lock().ok()?.get(&token_id).cloned()
    }

    /// Tokens with uses not yet written.
    pub fn len(&self) -> usize {
        self.pending.lock().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    pub fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// Writes what has been recorded, in one transaction. On failure the batch
    /// goes back into memory (merged with newer uses) for the next flush.
    pub async fn flush(&self, db: &Db) -> Result<usize, sqlx::Error> {
        let batch = match self.pending.lock() {
            Ok(mut m) => std::mem::take(&mut *m),
            Err(_) => return Ok(0),
        };
        if batch.is_empty() {
            return Ok(0);
        }
        let started = std::time::Instant::now();
        let result = async {
            let mut tx = db.begin_write().await?;
            // In id order, so concurrent flushes lock rows in the same order.
            let mut touches: Vec<repo::Touch> = batch
                .iter()
                .map(|(&id, u)| (id, u.at, u.ips.as_slice(), u.user_agent.as_deref()))
                .collect();
            touches.sort_by_key(|t| t.0);
            repo::touch_last_used(&mut tx, &touches).await?;
            tx.commit().await
        }
        .await;
        crate::server::metrics::last_used_flushed(started.elapsed());
        match result {
            Ok(()) => {
                self.writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
                self.flushes.fetch_add(1, Ordering::Relaxed);
                Ok(batch.len())
            }
            Err(e) => {
                if let Ok(mut m) = self.pending.lock() {
                    for (id, older) in batch {
                        let newer = m.remove(&id).unwrap_or_default();
                        m.insert(id, older.merge(newer));
                    }
                }
                Err(e)
            }
        }
    }
}

/// Flushes every `every` until the returned handle is aborted.
pub fn spawn_flusher(
    last_used: std::sync::Arc<LastUsed>,
    db: Db,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            match last_used.flush(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(tokens = n, "flushed last-used times"),
                Err(e) => tracing::warn!(error = %e, "could not flush last-used times; will retry"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_keep_distinct_addresses_newest_first() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let mut u = Uses::default();
        for (at, a) in [(1, "10.0.0.1"), (2, "10.0.0.2"), (3, "10.0.0.1")] {
            u.add(at, ip(a), Some("curl/8"));
        }
        assert_eq!(u.ips, [ip("10.0.0.1"), ip("10.0.0.2")]);
        assert_eq!((u.at, u.user_agent.as_deref()), (3, Some("curl/8")));
        let mut newer = Uses::default();
        newer.add(9, ip("::1"), None);
        let merged = u.merge(newer);
        assert_eq!(merged.ips, [ip("::1"), ip("10.0.0.1"), ip("10.0.0.2")]);
        assert_eq!(
            (merged.at, merged.user_agent.as_deref()),
            (9, Some("curl/8"))
        );
    }
}
