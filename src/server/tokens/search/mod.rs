//! The admin list of everyone's tokens and its live search: a literal,
//! Unicode case-insensitive substring of description or username.
//!
//! - [`term`]: the search term, parsed once at the edge.
//! - [`grams`]: the `token_grams` side index and its block size.
//! - [`plan`]: the strategies and the thresholds that choose between them.
//! - [`sql`]: their statements, with what differs between SQLite and
//!   PostgreSQL behind one dispatch.

pub mod grams;
mod plan;
mod sql;
pub mod term;

pub use sql::{state_condition, When};
pub use term::{SearchTerm, SEARCH_MAX};

use super::AccessToken;
use crate::model::TokenFilter;
use crate::server::db::Db;
use crate::server::time::{now_millis, DAY_MILLIS};
use futures_util::{Stream, StreamExt};
use plan::Strategy;
use sql::Candidates;
use sql::{DialectSql, Stmt};
use sqlx::AssertSqlSafe;
use tokio::sync::{mpsc, OnceCell};

/// Rows read ahead of a slow reader of [`everything`].
const ROWS_AHEAD: usize = 512;

/// Every token of the filter's state, in the list's order, that contains the
/// term (all of them without one): one statement, read row by row, so memory
/// stays flat however long the list. A reading task hands rows over a small
/// channel: a slow reader holds the statement back rather than rows piling
/// up, and a reader that goes away stops it. `hold` is dropped with the task.
pub fn everything<H: Send + 'static>(
    db: &Db,
    when: When,
    filter: TokenFilter,
    term: Option<&SearchTerm>,
    hold: H,
) -> impl Stream<Item = Result<AccessToken, sqlx::Error>> + Send + 'static {
    let Stmt { sql, args } =
        sql::everything(when, sql::dialect(db), filter, term.map(SearchTerm::as_str));
    let pool = db.pool.clone();
    let (tx, rx) = mpsc::channel(ROWS_AHEAD);
    tokio::spawn(async move {
        let _hold = hold;
        let query = args.bind(sqlx::query_as::<_, AccessToken>(AssertSqlSafe(sql)));
        let mut rows = query.fetch(&pool);
        while let Some(row) = rows.next().await {
            let failed = row.is_err();
            if tx.send(row).await.is_err() || failed {
                break;
            }
        }
    });
    futures_util::stream::unfold(
        rx,
        |mut rx| async move { rx.recv().await.map(|row| (row, rx)) },
    )
}

/// Where a page of the admin list starts: after this token in the list's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// Newest first (active and all): ids below this one.
    Id(i64),
    /// Newest revocation first: after this (revoked_at, id).
    Revoked { at: i64, id: i64 },
}

/// Per state, how many blocks of `token_grams` may hold tokens containing a
/// term, and at most how many such tokens there are (exactly, for a short
/// term; 0 only when there are none).
#[derive(Clone, Copy, Debug)]
pub struct GramStats {
    active: (i64, i64),
    revoked: (i64, i64),
    all: (i64, i64),
}

/// One request's look at the admin list, optionally searched. What the plan
/// needs (the gram statistics, the highest id) is read at most once, however
/// many pages and counts the request asks for.
pub struct Search<'a> {
    db: &'a Db,
    dialect: &'static dyn DialectSql,
    term: Option<&'a SearchTerm>,
    stats: OnceCell<GramStats>,
    max_id: OnceCell<i64>,
    /// The time states are judged at: one for the whole request.
    now: i64,
    /// Only active tokens expiring by then (the expiry warnings).
    horizon: Option<i64>,
    /// Whether any unrevoked token has expired by `now`.
    any_expired: OnceCell<bool>,
}

impl<'a> Search<'a> {
    pub fn new(db: &'a Db, term: Option<&'a SearchTerm>) -> Self {
        Search {
            db,
            dialect: sql::dialect(db),
            term,
            stats: OnceCell::new(),
            max_id: OnceCell::new(),
            now: now_millis(),
            horizon: None,
            any_expired: OnceCell::new(),
        }
    }

    /// Only active tokens that expire within `days` (from now).
    pub fn expiring_within(mut self, days: Option<i64>) -> Self {
        self.horizon = days.map(|d| self.now + d * DAY_MILLIS);
        self
    }

    fn when(&self) -> When {
        When {
            now: self.now,
            horizon: self.horizon,
        }
    }

    /// A page of `limit` tokens of the filter's state, in the list's order
    /// (newest revocation first on the Revoked tab, else newest first), from
    /// the cursor on.
    pub async fn page(
        &self,
        filter: TokenFilter,
        after: Option<Cursor>,
        limit: i64,
    ) -> Result<Vec<AccessToken>, sqlx::Error> {
        let d = self.dialect;
        if filter == TokenFilter::Expired && !self.any_expired().await? {
            return Ok(Vec::new());
        }
        let Some(q) = self.term.map(SearchTerm::as_str) else {
            return self
                .fetch(sql::unsearched(self.when(), filter, after, limit))
                .await;
        };
        let from = match plan::choose(self, q, filter, limit).await? {
            Strategy::Nothing => return Ok(Vec::new()),
            Strategy::InIndexOrder => {
                return self
                    .fetch(sql::index_in_order(self.when(), d, filter, q, after, limit))
                    .await
            }
            Strategy::WindowFirst(from) => {
                let page = self
                    .fetch(sql::window(
                        self.when(),
                        d,
                        filter,
                        q,
                        after,
                        plan::WINDOW,
                        limit,
                    ))
                    .await?;
                if page.len() as i64 >= limit {
                    return Ok(page);
                }
                from
            }
            Strategy::Candidates(from) => from,
        };
        self.fetch(sql::candidates_page(
            self.when(),
            d,
            from,
            filter,
            q,
            after,
            limit,
        ))
        .await
    }

    /// How many tokens of the filter's state match, counting no further
    /// than `cap` (so a count never scans a million rows). A short term is
    /// counted exactly by its gram statistics (which know revoked from not,
    /// but not expiry: exact for active tokens while none has expired); the
    /// blocks' other terms only look when a block may hold them.
    pub async fn count(&self, filter: TokenFilter, cap: i64) -> Result<i64, sqlx::Error> {
        let d = self.dialect;
        let any_expired = match filter {
            TokenFilter::Active | TokenFilter::Expired => self.any_expired().await?,
            _ => false,
        };
        if filter == TokenFilter::Expired && !any_expired {
            return Ok(0);
        }
        let from = match self.term.map(SearchTerm::as_str) {
            None => None,
            Some(q) => match plan::candidates(d, q) {
                Candidates::Blocks => {
                    let (blocks, count) = self.gram_stats(q).await?.of(filter);
                    let exact = grams::is_short(q) && !any_expired && self.horizon.is_none();
                    if exact || blocks == 0 {
                        return Ok(count.min(cap));
                    }
                    Some(Candidates::Blocks)
                }
                Candidates::Index => Some(Candidates::Index),
            },
        };
        let q = self.term.map(SearchTerm::as_str).unwrap_or_default();
        let Stmt { sql, args } = sql::count(self.when(), d, from, filter, q, cap);
        let (count,): (i64,) = args
            .bind(sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql)))
            .fetch_one(&self.db.pool)
            .await?;
        Ok(count)
    }

    async fn gram_stats(&self, q: &str) -> Result<GramStats, sqlx::Error> {
        self.stats
            .get_or_try_init(|| async {
                let Stmt { sql, args } = sql::gram_stats(q);
                let r: (i64, i64, i64, i64, i64, i64) = args
                    .bind(sqlx::query_as(AssertSqlSafe(sql)))
                    .fetch_one(&self.db.pool)
                    .await?;
                Ok(GramStats {
                    active: (r.0, r.1),
                    revoked: (r.2, r.3),
                    all: (r.4, r.5),
                })
            })
            .await
            .copied()
    }

    /// Whether any unrevoked token has expired: read from the expiry index,
    /// once per request.
    async fn any_expired(&self) -> Result<bool, sqlx::Error> {
        self.any_expired
            .get_or_try_init(|| async {
                let Stmt { sql, args } = sql::any_expired(self.now);
                let (n,): (i64,) = args
                    .bind(sqlx::query_as(AssertSqlSafe(sql)))
                    .fetch_one(&self.db.pool)
                    .await?;
                Ok(n > 0)
            })
            .await
            .copied()
    }

    async fn max_id(&self) -> Result<i64, sqlx::Error> {
        self.max_id
            .get_or_try_init(|| async {
                let (max,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM access_tokens")
                    .fetch_one(&self.db.pool)
                    .await?;
                Ok(max.unwrap_or(0))
            })
            .await
            .copied()
    }

    async fn probe(&self, q: &str, upto: i64) -> Result<i64, sqlx::Error> {
        let Stmt { sql, args } = sql::probe(self.dialect, q, upto);
        let (n,): (i64,) = args
            .bind(sqlx::query_as(AssertSqlSafe(sql)))
            .fetch_one(&self.db.pool)
            .await?;
        Ok(n)
    }

    async fn fetch(&self, Stmt { sql, args }: Stmt) -> Result<Vec<AccessToken>, sqlx::Error> {
        args.bind(sqlx::query_as::<_, AccessToken>(AssertSqlSafe(sql)))
            .fetch_all(&self.db.pool)
            .await
    }
}
