//! How a search of the admin list finds its page: the strategies and the
//! thresholds that choose between them.
//!
//! - **No search:** the list's order index, from the cursor on.
//! - **In index order:** where the trigram index yields rows newest first
//!   (SQLite's FTS5, three characters or more, not the Revoked tab), a common
//!   term stops after one page.
//! - **Window first:** the newest [`WINDOW`] rows of the list are filtered,
//!   where a common term fills the page. If it does not, the candidates
//!   follow.
//! - **Candidates:** an index gives a rare term's few rows, which are sorted:
//!   the blocks of `token_grams` for one or two characters and for terms
//!   pg_trgm takes no trigram from, else the trigram index.
//!
//! For terms the blocks serve, their statistics (exact for a short term, an
//! upper bound otherwise) choose the cheaper step up front, and say when
//! there is nothing to find at all. For the others a bounded probe of the
//! index tells a rare term from a common one.

use super::grams::BLOCK_SIZE;
use super::sql::{Candidates, DialectSql};
use super::{GramStats, Search};
use crate::model::TokenFilter;

/// Rows a search first looks through, newest first, before asking an index.
pub const WINDOW: i64 = 20_000;

/// A term with at most this many matches in all is rare: its matches are
/// read from the index and sorted, rather than looked for in the list's order.
pub const RARE: i64 = 500;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// No token can contain the term.
    Nothing,
    InIndexOrder,
    WindowFirst(Candidates),
    Candidates(Candidates),
}

/// Where a term's candidates come from, on this database.
pub fn candidates(d: &dyn DialectSql, q: &str) -> Candidates {
    if d.indexes(q) {
        Candidates::Index
    } else {
        Candidates::Blocks
    }
}

/// Chooses how to find a page of `limit` tokens containing the term.
pub async fn choose(
    s: &Search<'_>,
    q: &str,
    filter: TokenFilter,
    limit: i64,
) -> Result<Strategy, sqlx::Error> {
    let from = candidates(s.dialect, q);
    let in_id_order = matches!(filter, TokenFilter::Active | TokenFilter::All);
    if from == Candidates::Index && s.dialect.index_in_order() && in_id_order {
        return Ok(Strategy::InIndexOrder);
    }
    let window_first = match from {
        Candidates::Blocks => {
            let (blocks, count) = s.gram_stats(q).await?.of(filter);
            if count == 0 {
                return Ok(Strategy::Nothing);
            }
            // Rows each step would look at: the window until it holds a page
            // of matches (at this density), against every row of the blocks.
            let window_cost = (limit * s.max_id().await? / count).min(WINDOW);
            window_cost < blocks * BLOCK_SIZE
        }
        // Only a few matches anywhere: the index at once. The probe stops as
        // soon as the term proves common.
        Candidates::Index => s.probe(q, RARE + 1).await? > RARE,
    };
    Ok(if window_first {
        Strategy::WindowFirst(from)
    } else {
        Strategy::Candidates(from)
    })
}

impl GramStats {
    /// (blocks, tokens) for a filter.
    pub fn of(&self, filter: TokenFilter) -> (i64, i64) {
        match filter {
            // An upper bound: the statistics know revoked from not, not expiry.
            TokenFilter::Active | TokenFilter::Expired => self.active,
            TokenFilter::Revoked => self.revoked,
            TokenFilter::All => self.all,
        }
    }
}
