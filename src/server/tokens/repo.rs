//! SQL for access tokens. The only place that knows the `access_tokens` table.

use super::format::TokenHash;
use super::search::SearchTerm;
use super::AccessToken;
use crate::model::TokenFilter;
use crate::server::db::{Db, Dialect};
use crate::server::identity::User;
use sqlx::{Any, AssertSqlSafe, Transaction};
use std::collections::{BTreeMap, BTreeSet};

macro_rules! columns {
    () => {
        "id, description, user_id, username, created_at, last_used_at, revoked, revoked_at, \
         revoked_by, revoke_cause, revoked_because_user_deleted"
    };
}

/// What [`insert`] did.
pub enum Inserted {
    Token(AccessToken),
    /// The user already holds `max_active` active tokens: nothing written.
    AtCap,
    /// The user was disabled or deleted meanwhile: nothing written.
    UserGone,
}

/// Inserts a token unless its owner already holds `max_active` active ones.
/// The count and the insert share one write transaction, so concurrent
/// creates cannot overshoot: SQLite's `BEGIN IMMEDIATE` serializes writers,
/// and on PostgreSQL the owner's row is locked (`FOR UPDATE`) before counting.
pub async fn insert(
    db: &Db,
    hash: &TokenHash,
    description: &str,
    user: &User,
    max_active: i64,
    now: i64,
) -> Result<Inserted, sqlx::Error> {
    const SQL: &str = concat!(
        "INSERT INTO access_tokens (token_hash, description, user_id, username, search_text, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        columns!()
    );
    let text = search_text(description, &user.login_name);
    let mut tx = db.begin_write().await?;
    let lock = match db.dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE",
    };
    let live: Option<(i64,)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT enabled FROM users WHERE id = $1 AND deleted_at IS NULL{lock}"
    )))
    .bind(user.id)
    .fetch_optional(&mut *tx)
    .await?;
    if live.is_none_or(|(enabled,)| enabled == 0) {
        return Ok(Inserted::UserGone);
    }
    // At most `max_active` index entries of (user_id, revoked) are read.
    let (active,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM (SELECT 1 FROM access_tokens \
         WHERE user_id = $1 AND revoked = 0 LIMIT $2) AS capped",
    )
    .bind(user.id)
    .bind(max_active)
    .fetch_one(&mut *tx)
    .await?;
    if active >= max_active {
        return Ok(Inserted::AtCap);
    }
    let token = sqlx::query_as::<_, AccessToken>(SQL)
        .bind(&hash.0)
        .bind(description)
        .bind(user.id)
        .bind(&user.login_name)
        .bind(&text)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
    add_grams(&mut tx, &[GramChange::new(token.id, &text, 1, 0)]).await?;
    tx.commit().await?;
    Ok(Inserted::Token(token))
}

/// What substring search looks in: lower-cased here, in Rust, so that case
/// folding is Unicode-aware and identical on every backend.
pub fn search_text(description: &str, username: &str) -> String {
    format!(
        "{}\n{}",
        description.to_lowercase(),
        username.to_lowercase()
    )
}

/// Token ids per block of `token_grams`: 1024, as in its migration and the
/// block ranges of `admin_list`.
const GRAM_BLOCK_SHIFT: u32 = 10;

/// Searches this short are served by `token_grams`, not the trigram index.
pub fn is_short(q: &str) -> bool {
    q.chars().count() <= 2 && !q.contains('\n')
}

/// The distinct one- and two-character substrings of a search text, never
/// spanning the newline between description and username.
pub fn grams(text: &str) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    for w in bounds.windows(2) {
        out.insert(&text[w[0]..w[1]]);
    }
    for w in bounds.windows(3) {
        out.insert(&text[w[0]..w[2]]);
    }
    out.retain(|g| !g.contains('\n'));
    out
}

/// Whether pg_trgm can take a trigram from `LIKE '%q%'`, following its
/// `generate_wildcard_trgm`: words are runs of letters and digits, padded
/// with two spaces in front unless they begin the pattern and one behind
/// unless they end it, and a padded word shorter than three characters gives
/// no trigram. Without one (`----`, `%%%`, `h ☃`) the trigram index narrows
/// nothing and PostgreSQL reads every row.
pub fn has_trigram(q: &str) -> bool {
    let words: Vec<&str> = q.split(|c: char| !c.is_alphanumeric()).collect();
    let last = words.len() - 1;
    words.iter().enumerate().any(|(i, w)| {
        let pad = 2 * usize::from(i > 0) + usize::from(i < last);
        !w.is_empty() && w.chars().count() + pad >= 3
    })
}

/// A token entering or changing state, for `token_grams`.
pub struct GramChange<'a> {
    id: i64,
    text: &'a str,
    active: i64,
    revoked: i64,
}

impl<'a> GramChange<'a> {
    pub fn new(id: i64, text: &'a str, active: i64, revoked: i64) -> Self {
        GramChange {
            id,
            text,
            active,
            revoked,
        }
    }
}

/// Applies token inserts and revokes to `token_grams`, in the caller's
/// transaction. Rows are written in (gram, block) order, so concurrent
/// writers on PostgreSQL always lock them in the same order.
async fn add_grams(
    tx: &mut Transaction<'_, Any>,
    changes: &[GramChange<'_>],
) -> Result<(), sqlx::Error> {
    let mut deltas: BTreeMap<(&str, i64), (i64, i64)> = BTreeMap::new();
    for c in changes {
        for g in grams(c.text) {
            let d = deltas.entry((g, c.id >> GRAM_BLOCK_SHIFT)).or_default();
            d.0 += c.active;
            d.1 += c.revoked;
        }
    }
    let deltas: Vec<_> = deltas.into_iter().collect();
    for chunk in deltas.chunks(500) {
        let mut sql =
            String::from("INSERT INTO token_grams (gram, block, active_n, revoked_n) VALUES ");
        for i in 0..chunk.len() {
            let b = i * 4;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
        }
        sql.push_str(
            " ON CONFLICT (gram, block) DO UPDATE SET \
             active_n = token_grams.active_n + excluded.active_n, \
             revoked_n = token_grams.revoked_n + excluded.revoked_n",
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for ((gram, block), (a, r)) in chunk {
            q = q.bind(*gram).bind(*block).bind(*a).bind(*r);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// -1 for all, else the `revoked` flag to match.
fn filter_flag(filter: TokenFilter) -> i64 {
    match filter {
        TokenFilter::All => -1,
        TokenFilter::Active => 0,
        TokenFilter::Revoked => 1,
    }
}

/// A user's own tokens, oldest first. Tokens revoked because their owner was
/// deleted belong to that (deleted) user id and never show up here.
pub async fn list_for_user(
    db: &Db,
    user_id: i64,
    filter: TokenFilter,
) -> Result<Vec<AccessToken>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM access_tokens WHERE user_id = $1 AND revoked_because_user_deleted = 0 \
         AND ($2 < 0 OR revoked = $2) ORDER BY id"
    );
    sqlx::query_as::<_, AccessToken>(SQL)
        .bind(user_id)
        .bind(filter_flag(filter))
        .fetch_all(&db.pool)
        .await
}

pub async fn find_for_user(
    db: &Db,
    user_id: i64,
    id: i64,
) -> Result<Option<AccessToken>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM access_tokens WHERE id = $1 AND user_id = $2 AND revoked_because_user_deleted = 0"
    );
    sqlx::query_as::<_, AccessToken>(SQL)
        .bind(id)
        .bind(user_id)
        .fetch_optional(&db.pool)
        .await
}

/// Revokes a token that is not yet revoked, atomically: of many concurrent
/// calls exactly one gets `Some`.
pub async fn revoke(
    db: &Db,
    id: i64,
    owner: Option<i64>,
    by: &str,
    cause: Option<&str>,
    now: i64,
) -> Result<Option<AccessToken>, sqlx::Error> {
    const SQL: &str = concat!(
        "UPDATE access_tokens SET revoked = 1, revoked_at = $1, revoked_by = $2, revoke_cause = $3 \
         WHERE id = $4 AND revoked = 0 AND ($5 < 0 OR user_id = $5) RETURNING ",
        columns!()
    );
    let mut tx = db.begin_write().await?;
    let token = sqlx::query_as::<_, AccessToken>(SQL)
        .bind(now)
        .bind(by)
        .bind(cause)
        .bind(id)
        .bind(owner.unwrap_or(-1))
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(t) = &token {
        // The text the grams were counted from, as stored.
        let text: String =
            sqlx::query_scalar("SELECT search_text FROM access_tokens WHERE id = $1")
                .bind(t.id)
                .fetch_one(&mut *tx)
                .await?;
        add_grams(&mut tx, &[GramChange::new(t.id, &text, -1, 1)]).await?;
    }
    tx.commit().await?;
    Ok(token)
}

/// What authentication needs to know about a presented token.
pub struct AuthRow {
    pub token_id: i64,
    pub token_hash: String,
    pub revoked: bool,
    pub revoked_at: Option<i64>,
    pub revoked_because_user_deleted: bool,
    pub user_deleted: bool,
    pub user: User,
}

pub async fn find_for_auth(db: &Db, hash: &TokenHash) -> Result<Option<AuthRow>, sqlx::Error> {
    use sqlx::{FromRow, Row};
    let row = sqlx::query(
        "SELECT t.id AS token_id, t.token_hash, t.revoked, t.revoked_at, \
         t.revoked_because_user_deleted, u.deleted_at, \
         u.id, u.login_name, u.display_name, u.email, u.email_me, u.checkin_aliases, \
         u.is_admin, u.enabled, u.created_at \
         FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
    )
    .bind(&hash.0)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(AuthRow {
        token_id: row.try_get("token_id")?,
        token_hash: row.try_get("token_hash")?,
        revoked: row.try_get::<i64, _>("revoked")? != 0,
        revoked_at: row.try_get("revoked_at")?,
        revoked_because_user_deleted: row.try_get::<i64, _>("revoked_because_user_deleted")? != 0,
        user_deleted: row.try_get::<Option<i64>, _>("deleted_at")?.is_some(),
        user: User::from_row(&row)?,
    }))
}

/// Moves `last_used_at` forward only: instances flushing the same token in any
/// order keep the newest time.
pub async fn touch_last_used(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE access_tokens SET last_used_at = $1 \
         WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
    )
    .bind(at)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Where a page of the admin list starts: after this token in the list's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cursor {
    /// Newest first (active and all): ids below this one.
    Id(i64),
    /// Newest revocation first: after this (revoked_at, id).
    Revoked { at: i64, id: i64 },
}

/// One query of the admin list.
pub struct AdminQuery<'a> {
    pub filter: TokenFilter,
    /// `None` for no search.
    pub search: Option<&'a SearchTerm>,
    pub after: Option<Cursor>,
    pub limit: i64,
}

enum Arg {
    Int(i64),
    Text(String),
}

/// Parameters in the order of their `$N` placeholders. Only fixed SQL
/// fragments go into query texts; every value is bound.
#[derive(Default)]
struct Args(Vec<Arg>);

impl Args {
    /// Binds a value and returns its placeholder.
    fn int(&mut self, v: i64) -> String {
        self.0.push(Arg::Int(v));
        format!("${}", self.0.len())
    }

    fn text(&mut self, v: impl Into<String>) -> String {
        self.0.push(Arg::Text(v.into()));
        format!("${}", self.0.len())
    }

    fn bind<'q, O>(
        self,
        mut query: sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments>,
    ) -> sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments> {
        for arg in self.0 {
            query = match arg {
                Arg::Int(i) => query.bind(i),
                Arg::Text(s) => query.bind(s),
            };
        }
        query
    }
}

/// The filter's condition; `t` qualifies the column (`""` or `"t."`).
fn state_sql(filter: TokenFilter, t: &str) -> String {
    match filter {
        TokenFilter::Active => format!(" AND {t}revoked = 0"),
        TokenFilter::Revoked => format!(" AND {t}revoked = 1"),
        TokenFilter::All => String::new(),
    }
}

/// The list's order: newest revocation first on the Revoked tab, else newest first.
fn order_sql(filter: TokenFilter) -> &'static str {
    match filter {
        TokenFilter::Revoked => "revoked_at DESC, id DESC",
        _ => "id DESC",
    }
}

/// The cursor's condition; `t` qualifies the columns (`""` or `"t."`).
fn cursor_sql(after: Option<Cursor>, t: &str, args: &mut Args) -> String {
    match after {
        None => String::new(),
        Some(Cursor::Id(id)) => format!(" AND {t}id < {}", args.int(id)),
        Some(Cursor::Revoked { at, id }) => {
            let at = args.int(at);
            format!(
                " AND ({t}revoked_at < {at} OR ({t}revoked_at = {at} AND {t}id < {}))",
                args.int(id)
            )
        }
    }
}

/// A literal substring test of the lower-cased search text.
fn contains_sql(db: &Db, column: &str, param: &str) -> String {
    match db.dialect {
        Dialect::Sqlite => format!("instr({column}, {param}) > 0"),
        Dialect::Postgres => format!("strpos({column}, {param}) > 0"),
    }
}

/// LIKE pattern for a substring, with %, _ and \ matching literally.
fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Which `token_grams` count a filter looks at.
fn gram_count_sql(filter: TokenFilter) -> &'static str {
    match filter {
        TokenFilter::Active => "active_n",
        TokenFilter::Revoked => "revoked_n",
        TokenFilter::All => "(active_n + revoked_n)",
    }
}

/// Whether a search is served by the blocks of `token_grams` rather than a
/// trigram index: one or two characters, or (PostgreSQL) nothing pg_trgm
/// can index.
fn by_grams(db: &Db, q: &str) -> bool {
    is_short(q) || (db.dialect == Dialect::Postgres && !has_trigram(q))
}

/// The blocks of `token_grams` that can hold tokens (of the filter's state)
/// containing `q`, as `g(block, n)` for a FROM clause, with `n` at least the
/// number of such tokens in the block: for a short search its own gram (`n`
/// exact); for a longer one, the blocks holding every one of its grams, with
/// the least of their counts.
fn blocks_sql(filter: TokenFilter, q: &str, args: &mut Args) -> String {
    let n = gram_count_sql(filter);
    if is_short(q) {
        return format!(
            "(SELECT block, {n} AS n FROM token_grams WHERE gram = {} AND {n} > 0) AS g",
            args.text(q)
        );
    }
    // Its two-character grams, and only the single characters none of them
    // holds (one beside a newline): a block with a pair has its characters,
    // and pairs are the rarer, so there are fewer rows of `token_grams` to read.
    let all = grams(q);
    let pairs: Vec<&str> = all
        .iter()
        .copied()
        .filter(|g| g.chars().count() == 2)
        .collect();
    let gs: Vec<&str> = all
        .into_iter()
        .filter(|g| g.chars().count() == 2 || !pairs.iter().any(|p| p.contains(g)))
        .collect();
    let list: Vec<String> = gs.iter().map(|g| args.text(*g)).collect();
    format!(
        "(SELECT block, MIN({n}) AS n FROM token_grams WHERE gram IN ({}) AND {n} > 0 \
         GROUP BY block HAVING COUNT(*) = {}) AS g",
        list.join(", "),
        args.int(gs.len() as i64)
    )
}

/// How many blocks of 1024 ids may hold tokens (of the filter's state)
/// containing a search served by the gram blocks, and at most how many such
/// tokens there are: exact for a short search, and 0 only when there are none.
async fn gram_stats(db: &Db, filter: TokenFilter, q: &str) -> Result<(i64, i64), sqlx::Error> {
    let mut args = Args::default();
    let sql = format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM {}",
        blocks_sql(filter, q, &mut args)
    );
    args.bind(sqlx::query_as::<_, (i64, i64)>(AssertSqlSafe(sql)))
        .fetch_one(&db.pool)
        .await
}

/// Rows a search first looks through, newest first, before asking an index.
const SEARCH_WINDOW: i64 = 20_000;

/// A page of everyone's tokens, in the list's order, optionally searched by
/// a lower-cased substring.
///
/// - No search: the order's index, from the cursor on.
/// - SQLite, three characters or more, newest first: the FTS5 trigram index
///   drives the query in descending rowid order, so a common term stops
///   after one page.
/// - Otherwise (short searches, newest revocations first, and PostgreSQL) in
///   two steps. First the newest
///   [`SEARCH_WINDOW`] rows of the list are filtered: a common term fills the
///   page there. If it does not, the term is rare and an index gives its few
///   candidates, which are sorted: the blocks of `token_grams` for one or two
///   characters, FTS5 or pg_trgm for longer ones; on PostgreSQL also the
///   blocks for terms pg_trgm takes no trigram from ([`has_trigram`]), which
///   would otherwise read every row. For these the counts of `token_grams`
///   (exact for a short search, an upper bound otherwise) choose the cheaper
///   step up front, and say when there is nothing to find at all.
pub async fn admin_list(db: &Db, q: &AdminQuery<'_>) -> Result<Vec<AccessToken>, sqlx::Error> {
    let Some(search) = q.search.map(SearchTerm::as_str) else {
        let mut args = Args::default();
        let cursor = cursor_sql(q.after, "", &mut args);
        let sql = format!(
            "SELECT {} FROM access_tokens WHERE 1 = 1{}{cursor} ORDER BY {} LIMIT {}",
            columns!(),
            state_sql(q.filter, ""),
            order_sql(q.filter),
            args.int(q.limit)
        );
        return fetch_tokens(db, sql, args).await;
    };
    if db.dialect == Dialect::Sqlite && !is_short(search) && q.filter != TokenFilter::Revoked {
        return fts_list(db, q, search).await;
    }
    let window_first = if by_grams(db, search) {
        let (blocks, count) = gram_stats(db, q.filter, search).await?;
        if count == 0 {
            return Ok(Vec::new());
        }
        // Rows each step would look at: the window until it holds a page of
        // matches (at this density), against every row of the matching blocks.
        let (max_id,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM access_tokens")
            .fetch_one(&db.pool)
            .await?;
        let window_cost = (q.limit * max_id.unwrap_or(0) / count).min(SEARCH_WINDOW);
        window_cost < blocks << GRAM_BLOCK_SHIFT
    } else {
        // A longer term with only a few matches anywhere goes to the index
        // at once; the probe stops as soon as the term proves common.
        let mut args = Args::default();
        let matches = match db.dialect {
            Dialect::Sqlite => format!(
                "access_tokens_fts WHERE access_tokens_fts MATCH {}",
                args.text(fts_phrase(search))
            ),
            Dialect::Postgres => format!(
                "access_tokens WHERE search_text LIKE {}",
                args.text(like_pattern(search))
            ),
        };
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM {matches} LIMIT {}) AS probe",
            args.int(RARE + 1)
        );
        let (n,): (i64,) = args
            .bind(sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql)))
            .fetch_one(&db.pool)
            .await?;
        n > RARE
    };
    if window_first {
        let mut args = Args::default();
        let cursor = cursor_sql(q.after, "", &mut args);
        let contains = contains_sql(db, "search_text", &args.text(search));
        let sql = format!(
            "SELECT {cols} FROM (SELECT * FROM access_tokens WHERE 1 = 1{state}{cursor} \
             ORDER BY {order} LIMIT {window}) AS w WHERE {contains} ORDER BY {order} LIMIT {limit}",
            cols = columns!(),
            state = state_sql(q.filter, ""),
            order = order_sql(q.filter),
            window = args.int(SEARCH_WINDOW),
            limit = args.int(q.limit),
        );
        let page = fetch_tokens(db, sql, args).await?;
        if page.len() as i64 >= q.limit {
            return Ok(page);
        }
    }
    // The index's candidates, then the page of them; each materialized on its
    // own, so that no planner turns this back into a walk in the list's order.
    let mut args = Args::default();
    let candidates = if by_grams(db, search) {
        block_rows_sql(db, q.filter, search, q.after, &mut args)
    } else {
        match db.dialect {
            Dialect::Sqlite => format!(
                "SELECT access_tokens.id AS id, revoked_at FROM {FTS_JOIN} \
                 WHERE access_tokens_fts MATCH {}{}{}",
                args.text(fts_phrase(search)),
                state_sql(q.filter, ""),
                cursor_sql(q.after, "access_tokens.", &mut args),
            ),
            Dialect::Postgres => format!(
                "SELECT id, revoked_at FROM access_tokens WHERE search_text LIKE {}{}{}",
                args.text(like_pattern(search)),
                state_sql(q.filter, ""),
                cursor_sql(q.after, "", &mut args),
            ),
        }
    };
    let sql = format!(
        "WITH m AS MATERIALIZED ({candidates}), \
         page AS MATERIALIZED (SELECT id FROM m ORDER BY {order} LIMIT {limit}) \
         SELECT {cols} FROM access_tokens WHERE id IN (SELECT id FROM page) ORDER BY {order}",
        cols = columns!(),
        order = order_sql(q.filter),
        limit = args.int(q.limit),
    );
    fetch_tokens(db, sql, args).await
}

/// The `id, revoked_at` of the tokens (of the filter's state, after the
/// cursor) containing `q`, read from the blocks of `token_grams` that can
/// hold them.
fn block_rows_sql(
    db: &Db,
    filter: TokenFilter,
    q: &str,
    after: Option<Cursor>,
    args: &mut Args,
) -> String {
    let blocks = blocks_sql(filter, q, args);
    // SQLite: CROSS JOIN makes the few blocks the outer loop.
    let join = match db.dialect {
        Dialect::Sqlite => "CROSS JOIN",
        Dialect::Postgres => "JOIN",
    };
    let p = args.text(q);
    format!(
        "SELECT t.id, t.revoked_at FROM {blocks} {join} access_tokens t \
         ON t.id >= g.block * 1024 AND t.id < (g.block + 1) * 1024 \
         WHERE {contains}{state}{cursor}",
        contains = contains_sql(db, "t.search_text", &p),
        state = state_sql(filter, "t."),
        cursor = cursor_sql(after, "t.", args),
    )
}

/// A term with at most this many matches in all is rare: its matches are
/// read from the index and sorted, rather than looked for in the list's order.
const RARE: i64 = 500;

/// SQLite's trigram path (three characters or more) in newest-first order.
async fn fts_list(
    db: &Db,
    q: &AdminQuery<'_>,
    search: &str,
) -> Result<Vec<AccessToken>, sqlx::Error> {
    let mut args = Args::default();
    let phrase = args.text(fts_phrase(search));
    // The cursor bounds the index's rowid, so the index starts there.
    let cursor = match q.after {
        Some(Cursor::Id(id)) => format!(" AND access_tokens_fts.rowid < {}", args.int(id)),
        _ => String::new(),
    };
    let sql = format!(
        "SELECT {} FROM {FTS_JOIN} WHERE access_tokens_fts MATCH {phrase}{}{cursor} \
         ORDER BY access_tokens_fts.rowid DESC LIMIT {}",
        columns!(),
        state_sql(q.filter, ""),
        args.int(q.limit)
    );
    fetch_tokens(db, sql, args).await
}

/// A quoted FTS5 phrase, which FTS5 reads literally.
fn fts_phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

/// The trigram index joined to its rows, ordered by the index's rowid. CROSS
/// JOIN keeps the index as the outer loop: SQLite's planner would otherwise
/// walk every active row and probe the index once per row (seconds at 1M).
const FTS_JOIN: &str =
    "access_tokens_fts CROSS JOIN access_tokens ON access_tokens.id = access_tokens_fts.rowid";

async fn fetch_tokens(db: &Db, sql: String, args: Args) -> Result<Vec<AccessToken>, sqlx::Error> {
    args.bind(sqlx::query_as::<_, AccessToken>(AssertSqlSafe(sql)))
        .fetch_all(&db.pool)
        .await
}

/// How many tokens match, counting no further than `cap` (so a count never
/// scans a million rows). Short searches are counted exactly by `token_grams`;
/// on PostgreSQL, terms without a trigram look only in its candidate blocks.
pub async fn admin_count(
    db: &Db,
    filter: TokenFilter,
    search: Option<&SearchTerm>,
    cap: i64,
) -> Result<i64, sqlx::Error> {
    let mut args = Args::default();
    let inner = match search.map(SearchTerm::as_str) {
        Some(q) if is_short(q) => return Ok(gram_stats(db, filter, q).await?.1.min(cap)),
        // No trigram: the blocks that can hold it, unless there are none.
        Some(q) if by_grams(db, q) => {
            if gram_stats(db, filter, q).await?.0 == 0 {
                return Ok(0);
            }
            block_rows_sql(db, filter, q, None, &mut args)
        }
        None => format!(
            "SELECT 1 FROM access_tokens WHERE 1 = 1{}",
            state_sql(filter, "")
        ),
        Some(q) => match db.dialect {
            Dialect::Sqlite => format!(
                "SELECT 1 FROM {FTS_JOIN} WHERE access_tokens_fts MATCH {}{}",
                args.text(fts_phrase(q)),
                state_sql(filter, "")
            ),
            Dialect::Postgres => format!(
                "SELECT 1 FROM access_tokens WHERE search_text LIKE {}{}",
                args.text(like_pattern(q)),
                state_sql(filter, "")
            ),
        },
    };
    let sql = format!(
        "SELECT COUNT(*) FROM ({inner} LIMIT {}) AS capped",
        args.int(cap)
    );
    let (count,): (i64,) = args
        .bind(sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql)))
        .fetch_one(&db.pool)
        .await?;
    Ok(count)
}

/// Any token, for admins: including those of deleted users.
pub async fn find(db: &Db, id: i64) -> Result<Option<AccessToken>, sqlx::Error> {
    const SQL: &str = concat!("SELECT ", columns!(), " FROM access_tokens WHERE id = $1");
    sqlx::query_as::<_, AccessToken>(SQL)
        .bind(id)
        .fetch_optional(&db.pool)
        .await
}

/// Deleting a user revokes all their tokens for good, in the caller's
/// transaction: active ones get the admin and GoCD's cause; every one of them
/// is marked as revoked because the user was deleted. Returns how many were
/// active.
pub async fn revoke_for_deleted_user(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
    by: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let revoked: Vec<(i64, String)> = sqlx::query_as(
        "UPDATE access_tokens SET revoked = 1, revoked_at = $1, revoked_by = $2, revoke_cause = $3 \
         WHERE user_id = $4 AND revoked = 0 RETURNING id, search_text",
    )
    .bind(now)
    .bind(by)
    .bind(format!("Revoked because user was deleted by {by}"))
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    let changes: Vec<_> = revoked
        .iter()
        .map(|(id, text)| GramChange::new(*id, text, -1, 1))
        .collect();
    add_grams(tx, &changes).await?;
    sqlx::query("UPDATE access_tokens SET revoked_because_user_deleted = 1 WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(revoked.len() as u64)
}

/// Active tokens per user id.
pub async fn active_counts(db: &Db) -> Result<std::collections::HashMap<i64, i64>, sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT user_id, COUNT(*) FROM access_tokens WHERE revoked = 0 GROUP BY user_id",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// A generated token row, for the development seeder.
pub struct SeedToken {
    pub hash: String,
    pub description: String,
    pub user_id: i64,
    pub username: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
}

/// Inserts many tokens with one statement (the seeder's bulk path).
pub async fn bulk_insert(
    tx: &mut Transaction<'_, Any>,
    rows: &[SeedToken],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    const COLS: usize = 9;
    let mut sql = String::from(
        "INSERT INTO access_tokens (token_hash, description, user_id, username, search_text, \
         created_at, revoked, revoked_at, revoked_by) VALUES ",
    );
    for i in 0..rows.len() {
        if i > 0 {
            sql.push(',');
        }
        let b = i * COLS;
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7,
            b + 8,
            b + 9
        ));
    }
    sql.push_str(" RETURNING id, revoked, search_text");
    let mut q = sqlx::query_as::<_, (i64, i64, String)>(AssertSqlSafe(sql));
    for r in rows {
        q = q
            .bind(&r.hash)
            .bind(&r.description)
            .bind(r.user_id)
            .bind(&r.username)
            .bind(search_text(&r.description, &r.username))
            .bind(r.created_at)
            .bind(i64::from(r.revoked_at.is_some()))
            .bind(r.revoked_at)
            .bind(&r.revoked_by);
    }
    let inserted = q.fetch_all(&mut **tx).await?;
    let changes: Vec<_> = inserted
        .iter()
        .map(|(id, revoked, text)| GramChange::new(*id, text, 1 - revoked, *revoked))
        .collect();
    add_grams(tx, &changes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grams_are_the_distinct_one_and_two_character_substrings_of_each_line() {
        let text = search_text("Café ab", "Bo");
        let g: Vec<&str> = grams(&text).into_iter().collect();
        assert_eq!(
            g,
            [" ", " a", "a", "ab", "af", "b", "bo", "c", "ca", "f", "fé", "o", "é", "é "]
        );
        let g: Vec<&str> = grams("日本\n日").into_iter().collect();
        assert_eq!(g, ["日", "日本", "本"]);
        assert!(grams("").is_empty());
        assert!(is_short("日本") && is_short("a") && !is_short("abc") && !is_short("a\n"));
    }

    #[test]
    fn terms_have_a_trigram_as_pg_trgm_pads_their_words() {
        for q in [
            "abc",
            "ab-",
            "-a",
            "a-b",
            "-a-",
            "zürich",
            "日本語",
            "h ☃ 1",
            "x y",
        ] {
            assert!(has_trigram(q), "{q:?}");
        }
        for q in ["----", "%%%", "-_-", "...", "h ☃", "1 -", "é -", "☃☃☃"] {
            assert!(!has_trigram(q), "{q:?}");
        }
    }
}
