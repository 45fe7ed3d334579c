//! `last_used_at`, recorded in memory on each use and written in batches, so a
//! hot token costs about one database write per flush interval, not one per
//! request. A crash loses at most one interval of last-used times.

use super::repo;
use crate::server::db::Db;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
pub struct LastUsed {
    pending: Mutex<HashMap<i64, i64>>,
    /// Rows written by flushes since start (for tests and benchmarks).
    writes: AtomicU64,
    /// Flushes that wrote something, since start.
    flushes: AtomicU64,
}

fn keep_newest(map: &mut HashMap<i64, i64>, id: i64, at: i64) {
    let e = map.entry(id).or_insert(at);
    if *e < at {
        *e = at;
    }
}

impl LastUsed {
    pub fn record(&self, token_id: i64, at: i64) {
        if let Ok(mut m) = self.pending.lock() {
            keep_newest(&mut m, token_id, at);
        }
    }

    /// The newest use not yet written, to show fresh times before a flush.
    pub fn pending(&self, token_id: i64) -> Option<i64> {
        self.pending.lock().ok()?.get(&token_id).copied()
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
        let result = async {
            let mut tx = db.begin_write().await?;
            for (&id, &at) in &batch {
                repo::touch_last_used(&mut tx, id, at).await?;
            }
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => {
                self.writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
                self.flushes.fetch_add(1, Ordering::Relaxed);
                Ok(batch.len())
            }
            Err(e) => {
                if let Ok(mut m) = self.pending.lock() {
                    for (id, at) in batch {
                        keep_newest(&mut m, id, at);
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
