//! The statements of the admin list and its search. Only fixed fragments go
//! into their texts; every value is bound ([`Args`]). What differs between
//! SQLite and PostgreSQL is behind one dispatch, [`DialectSql`].

use super::grams::{self, BLOCK_SIZE};
use super::term::{fts_phrase, like_pattern};
use super::Cursor;
use crate::model::TokenFilter;
use crate::server::db::{Binds, Db, Dialect};
use crate::server::tokens::COLUMNS;
use sqlx::Any;

/// Where a rare term's rows come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Candidates {
    /// The blocks of `token_grams` that can hold the term.
    Blocks,
    /// The trigram index (FTS5 or pg_trgm).
    Index,
}

/// When a statement judges states: its time (expiry), and optionally only
/// the active tokens expiring by `horizon`.
#[derive(Clone, Copy, Debug)]
pub struct When {
    pub now: i64,
    pub horizon: Option<i64>,
}

/// Parameters in the order of their `$N` placeholders, and when the
/// statement's states are judged.
pub(super) struct Args(Binds, When);

impl Args {
    pub(super) fn at(when: When) -> Self {
        Args(Binds::default(), when)
    }

    /// Binds a value and returns its placeholder.
    fn int(&mut self, v: i64) -> String {
        self.0.int(v)
    }

    fn text(&mut self, v: impl Into<String>) -> String {
        self.0.text(v)
    }

    pub(super) fn bind<'q, O>(
        self,
        query: sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments>,
    ) -> sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments> {
        self.0.bind(query)
    }
}

/// A statement and its parameters.
pub(super) struct Stmt {
    pub sql: String,
    pub args: Args,
}

/// What SQLite and PostgreSQL do differently for a search.
pub(super) trait DialectSql: Sync {
    /// A literal substring test of a lower-cased column.
    fn contains(&self, column: &str, param: &str) -> String;
    /// How the blocks of `token_grams` join the rows they stand for.
    fn block_join(&self) -> &'static str;
    /// Whether its trigram index can find `q` (else the gram blocks do).
    fn indexes(&self, q: &str) -> bool;
    /// Whether its trigram index yields rows newest first, so that a common
    /// term stops after one page (SQLite's FTS5 by rowid).
    fn index_in_order(&self) -> bool;
    /// `FROM … WHERE …` over the trigram index alone, for `q`.
    fn index_matches(&self, q: &str, args: &mut Args) -> String;
    /// `FROM … WHERE …` giving the `access_tokens` rows that contain `q`.
    fn index_rows(&self, q: &str, args: &mut Args) -> String;
}

struct Sqlite;
struct Postgres;

/// The trigram index joined to its rows, ordered by the index's rowid. CROSS
/// JOIN keeps the index as the outer loop: SQLite's planner would otherwise
/// walk every active row and probe the index once per row (seconds at 1M).
const FTS_JOIN: &str =
    "access_tokens_fts CROSS JOIN access_tokens ON access_tokens.id = access_tokens_fts.rowid";

impl DialectSql for Sqlite {
    fn contains(&self, column: &str, param: &str) -> String {
        format!("instr({column}, {param}) > 0")
    }
    fn block_join(&self) -> &'static str {
        // The few blocks as the outer loop.
        "CROSS JOIN"
    }
    fn indexes(&self, q: &str) -> bool {
        !grams::is_short(q)
    }
    fn index_in_order(&self) -> bool {
        true
    }
    fn index_matches(&self, q: &str, args: &mut Args) -> String {
        format!(
            "FROM access_tokens_fts WHERE access_tokens_fts MATCH {}",
            args.text(fts_phrase(q))
        )
    }
    fn index_rows(&self, q: &str, args: &mut Args) -> String {
        format!(
            "FROM {FTS_JOIN} WHERE access_tokens_fts MATCH {}",
            args.text(fts_phrase(q))
        )
    }
}

impl DialectSql for Postgres {
    fn contains(&self, column: &str, param: &str) -> String {
        format!("strpos({column}, {param}) > 0")
    }
    fn block_join(&self) -> &'static str {
        "JOIN"
    }
    fn indexes(&self, q: &str) -> bool {
        !grams::is_short(q) && grams::has_trigram(q)
    }
    fn index_in_order(&self) -> bool {
        false
    }
    fn index_matches(&self, q: &str, args: &mut Args) -> String {
        self.index_rows(q, args)
    }
    fn index_rows(&self, q: &str, args: &mut Args) -> String {
        format!(
            "FROM access_tokens WHERE access_tokens.search_text LIKE {}",
            args.text(like_pattern(q))
        )
    }
}

pub(super) fn dialect(db: &Db) -> &'static dyn DialectSql {
    match db.dialect {
        Dialect::Sqlite => &Sqlite,
        Dialect::Postgres => &Postgres,
    }
}

/// The filter's condition on `access_tokens` (named `t`): the one place
/// that says what active, expired and revoked mean. A token expires with
/// no write at all, so its state is judged at the statement's time.
pub fn state_condition(filter: TokenFilter, t: &str, now: &str) -> String {
    match filter {
        TokenFilter::Active => {
            format!(" AND {t}.revoked = 0 AND ({t}.expires_at IS NULL OR {t}.expires_at > {now})")
        }
        TokenFilter::Expired => format!(" AND {t}.revoked = 0 AND {t}.expires_at <= {now}"),
        TokenFilter::Revoked => format!(" AND {t}.revoked = 1"),
        TokenFilter::All => String::new(),
    }
}

fn state(filter: TokenFilter, t: &str, args: &mut Args) -> String {
    match filter {
        TokenFilter::Active | TokenFilter::Expired => {
            let When { now, horizon } = args.1;
            let now = args.int(now);
            let mut cond = state_condition(filter, t, &now);
            if let (TokenFilter::Active, Some(h)) = (filter, horizon) {
                cond.push_str(&format!(" AND {t}.expires_at <= {}", args.int(h)));
            }
            cond
        }
        _ => state_condition(filter, t, ""),
    }
}

/// The list's order: newest revocation first on the Revoked tab, else newest first.
fn order(filter: TokenFilter) -> &'static str {
    match filter {
        TokenFilter::Revoked => "revoked_at DESC, id DESC",
        _ => "id DESC",
    }
}

/// The cursor's condition on `access_tokens` (named `t`).
fn cursor(after: Option<Cursor>, t: &str, args: &mut Args) -> String {
    match after {
        None => String::new(),
        Some(Cursor::Id(id)) => format!(" AND {t}.id < {}", args.int(id)),
        Some(Cursor::Revoked { at, id }) => {
            let at = args.int(at);
            format!(
                " AND ({t}.revoked_at < {at} OR ({t}.revoked_at = {at} AND {t}.id < {}))",
                args.int(id)
            )
        }
    }
}

/// The blocks of `token_grams` holding every gram `q` needs, each with the
/// least count of those grams per state (`a`, `r`, `t`): at least as many as
/// the block's tokens containing `q`, exactly as many for a short term.
fn blocks(q: &str, args: &mut Args) -> String {
    let required = grams::required(q);
    let list: Vec<String> = required.iter().map(|g| args.text(*g)).collect();
    format!(
        "(SELECT block, MIN(active_n) AS a, MIN(revoked_n) AS r, \
         MIN(active_n + revoked_n) AS t FROM token_grams WHERE gram IN ({}) \
         GROUP BY block HAVING COUNT(*) = {}) AS g",
        list.join(", "),
        args.int(required.len() as i64)
    )
}

/// Per state (active, revoked, all): how many blocks may hold tokens
/// containing `q`, and at most how many such tokens there are.
pub(super) fn gram_stats(q: &str) -> Stmt {
    let mut args = Args::at(When {
        now: 0,
        horizon: None,
    });
    let per = |n: &str| {
        format!(
            "CAST(COALESCE(SUM(CASE WHEN {n} > 0 THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM({n}), 0) AS BIGINT)"
        )
    };
    let sql = format!(
        "SELECT {}, {}, {} FROM {}",
        per("a"),
        per("r"),
        per("t"),
        blocks(q, &mut args)
    );
    Stmt { sql, args }
}

/// The `id, revoked_at` of the tokens (of the filter's state, after the
/// cursor) containing `q`, read from the blocks of `token_grams` that can
/// hold them.
fn block_rows(
    d: &dyn DialectSql,
    filter: TokenFilter,
    q: &str,
    after: Option<Cursor>,
    args: &mut Args,
) -> String {
    let blocks = blocks(q, args);
    let p = args.text(q);
    format!(
        "SELECT t.id, t.revoked_at FROM {blocks} {join} access_tokens t \
         ON t.id >= g.block * {size} AND t.id < (g.block + 1) * {size} \
         WHERE g.{n} > 0 AND {contains}{state}{cursor}",
        join = d.block_join(),
        size = BLOCK_SIZE,
        n = stats_column(filter),
        contains = d.contains("t.search_text", &p),
        state = state(filter, "t", args),
        cursor = cursor(after, "t", args),
    )
}

/// The column of [`blocks`] that bounds the filter's tokens.
fn stats_column(filter: TokenFilter) -> &'static str {
    match filter {
        TokenFilter::Active | TokenFilter::Expired => "a",
        TokenFilter::Revoked => "r",
        TokenFilter::All => "t",
    }
}

/// 1 if any unrevoked token has expired by `now`, else 0 (the expiry index).
pub(super) fn any_expired(now: i64) -> Stmt {
    let mut args = Args::at(When { now, horizon: None });
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM access_tokens WHERE 1 = 1{} LIMIT 1) AS x",
        state(TokenFilter::Expired, "access_tokens", &mut args)
    );
    Stmt { sql, args }
}

/// A page of the list in its order, without a search.
pub(super) fn unsearched(at: When, filter: TokenFilter, after: Option<Cursor>, limit: i64) -> Stmt {
    let mut args = Args::at(at);
    let sql = format!(
        "SELECT {COLUMNS} FROM access_tokens WHERE 1 = 1{}{} ORDER BY {} LIMIT {}",
        state(filter, "access_tokens", &mut args),
        cursor(after, "access_tokens", &mut args),
        order(filter),
        args.int(limit)
    );
    Stmt { sql, args }
}

/// The whole list in its order, filtered by `q` if there is one: read row by
/// row, never as a whole.
pub(super) fn everything(
    at: When,
    d: &dyn DialectSql,
    filter: TokenFilter,
    q: Option<&str>,
) -> Stmt {
    let mut args = Args::at(at);
    let contains = match q {
        Some(q) => format!(" AND {}", d.contains("search_text", &args.text(q))),
        None => String::new(),
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM access_tokens WHERE 1 = 1{}{contains} ORDER BY {}",
        state(filter, "access_tokens", &mut args),
        order(filter),
    );
    Stmt { sql, args }
}

/// A page straight from an index that yields rows newest first
/// ([`DialectSql::index_in_order`]); only `Cursor::Id` can bound it.
pub(super) fn index_in_order(
    at: When,
    d: &dyn DialectSql,
    filter: TokenFilter,
    q: &str,
    after: Option<Cursor>,
    limit: i64,
) -> Stmt {
    let mut args = Args::at(at);
    let rows = d.index_rows(q, &mut args);
    // The cursor bounds the index's rowid, so the index starts there.
    let cursor = match after {
        Some(Cursor::Id(id)) => format!(" AND access_tokens_fts.rowid < {}", args.int(id)),
        _ => String::new(),
    };
    let sql = format!(
        "SELECT {COLUMNS} {rows}{}{cursor} ORDER BY access_tokens_fts.rowid DESC LIMIT {}",
        state(filter, "access_tokens", &mut args),
        args.int(limit)
    );
    Stmt { sql, args }
}

/// How many rows the trigram index finds for `q`, counting to `upto` at most.
pub(super) fn probe(d: &dyn DialectSql, q: &str, upto: i64) -> Stmt {
    let mut args = Args::at(When {
        now: 0,
        horizon: None,
    });
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 {} LIMIT {}) AS probe",
        d.index_matches(q, &mut args),
        args.int(upto)
    );
    Stmt { sql, args }
}

/// The newest `window` rows of the list (from the cursor on), filtered by `q`.
pub(super) fn window(
    at: When,
    d: &dyn DialectSql,
    filter: TokenFilter,
    q: &str,
    after: Option<Cursor>,
    window: i64,
    limit: i64,
) -> Stmt {
    let mut args = Args::at(at);
    let cursor = cursor(after, "access_tokens", &mut args);
    let contains = d.contains("search_text", &args.text(q));
    let sql = format!(
        "SELECT {COLUMNS} FROM (SELECT * FROM access_tokens WHERE 1 = 1{state}{cursor} \
         ORDER BY {order} LIMIT {window}) AS w WHERE {contains} ORDER BY {order} LIMIT {limit}",
        state = state(filter, "access_tokens", &mut args),
        order = order(filter),
        window = args.int(window),
        limit = args.int(limit),
    );
    Stmt { sql, args }
}

/// The `id, revoked_at` of the candidates that contain `q`.
fn candidate_rows(
    d: &dyn DialectSql,
    from: Candidates,
    filter: TokenFilter,
    q: &str,
    after: Option<Cursor>,
    args: &mut Args,
) -> String {
    match from {
        Candidates::Blocks => block_rows(d, filter, q, after, args),
        Candidates::Index => format!(
            "SELECT access_tokens.id AS id, access_tokens.revoked_at AS revoked_at {}{}{}",
            d.index_rows(q, args),
            state(filter, "access_tokens", args),
            cursor(after, "access_tokens", args),
        ),
    }
}

/// A page of the candidates, sorted. Each step is materialized on its own,
/// so that no planner turns it back into a walk in the list's order.
pub(super) fn candidates_page(
    at: When,
    d: &dyn DialectSql,
    from: Candidates,
    filter: TokenFilter,
    q: &str,
    after: Option<Cursor>,
    limit: i64,
) -> Stmt {
    let mut args = Args::at(at);
    let rows = candidate_rows(d, from, filter, q, after, &mut args);
    let sql = format!(
        "WITH m AS MATERIALIZED ({rows}), \
         page AS MATERIALIZED (SELECT id FROM m ORDER BY {order} LIMIT {limit}) \
         SELECT {COLUMNS} FROM access_tokens WHERE id IN (SELECT id FROM page) ORDER BY {order}",
        order = order(filter),
        limit = args.int(limit),
    );
    Stmt { sql, args }
}

/// How many tokens of the filter's state contain `q` (all of them without
/// a search), counting to `cap` at most.
pub(super) fn count(
    at: When,
    d: &dyn DialectSql,
    from: Option<Candidates>,
    filter: TokenFilter,
    q: &str,
    cap: i64,
) -> Stmt {
    let mut args = Args::at(at);
    let rows = match from {
        None => format!(
            "SELECT 1 FROM access_tokens WHERE 1 = 1{}",
            state(filter, "access_tokens", &mut args)
        ),
        Some(from) => candidate_rows(d, from, filter, q, None, &mut args),
    };
    let sql = format!(
        "SELECT COUNT(*) FROM ({rows} LIMIT {}) AS capped",
        args.int(cap)
    );
    Stmt { sql, args }
}
