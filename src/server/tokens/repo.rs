//! SQL for access tokens. The only place that knows the `access_tokens` table.

use super::format::TokenHash;
use super::AccessToken;
use crate::model::TokenFilter;
use crate::server::db::{Db, Dialect};
use crate::server::users::User;
use sqlx::{Any, AssertSqlSafe, Transaction};

macro_rules! columns {
    () => {
        "id, description, user_id, username, created_at, last_used_at, revoked, revoked_at, \
         revoked_by, revoke_cause, revoked_because_user_deleted"
    };
}

pub async fn insert(
    db: &Db,
    hash: &TokenHash,
    description: &str,
    user: &User,
    now: i64,
) -> Result<AccessToken, sqlx::Error> {
    const SQL: &str = concat!(
        "INSERT INTO access_tokens (token_hash, description, user_id, username, search_text, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
        columns!()
    );
    sqlx::query_as::<_, AccessToken>(SQL)
        .bind(&hash.0)
        .bind(description)
        .bind(user.id)
        .bind(&user.login_name)
        .bind(search_text(description, &user.login_name))
        .bind(now)
        .fetch_one(&db.pool)
        .await
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
    sqlx::query_as::<_, AccessToken>(SQL)
        .bind(now)
        .bind(by)
        .bind(cause)
        .bind(id)
        .bind(owner.unwrap_or(-1))
        .fetch_optional(&db.pool)
        .await
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
    /// Already lower-cased; `None` for no search.
    pub search: Option<&'a str>,
    pub after: Option<Cursor>,
    pub limit: i64,
}

enum Arg {
    Int(i64),
    Text(String),
}

/// The FROM and WHERE clauses shared by the list and its count. Only fixed SQL
/// fragments go into the text; every value is a bound parameter.
///
/// On SQLite a search of three characters or more goes through the trigram
/// index; unless the list is ordered by revocation time, the index drives the
/// query in descending rowid order, so a common term stops after one page. Shorter
/// searches are a plain substring test. On PostgreSQL, LIKE with pg_trgm.
fn admin_from_where(
    db: &Db,
    filter: TokenFilter,
    search: Option<&str>,
    by_revocation: bool,
    args: &mut Vec<Arg>,
) -> (&'static str, String) {
    let mut from = "access_tokens";
    let mut sql = String::from(" WHERE 1 = 1");
    match filter {
        TokenFilter::Active => sql.push_str(" AND revoked = 0"),
        TokenFilter::Revoked => sql.push_str(" AND revoked = 1"),
        TokenFilter::All => {}
    }
    if let Some(q) = search {
        let n = args.len() + 1;
        match db.dialect {
            Dialect::Sqlite if q.chars().count() >= 3 => {
                // A quoted phrase, which FTS5 reads literally.
                args.push(Arg::Text(format!("\"{}\"", q.replace('"', "\"\""))));
                if by_revocation {
                    sql.push_str(&format!(
                        " AND id IN (SELECT rowid FROM access_tokens_fts WHERE access_tokens_fts MATCH ${n})"
                    ));
                } else {
                    from = FTS_JOIN;
                    sql.push_str(&format!(" AND access_tokens_fts MATCH ${n}"));
                }
            }
            Dialect::Sqlite => {
                sql.push_str(&format!(" AND instr(search_text, ${n}) > 0"));
                args.push(Arg::Text(q.to_string()));
            }
            // LIKE with %, _ and \ escaped, so they match literally.
            Dialect::Postgres => {
                sql.push_str(&format!(" AND search_text LIKE ${n}"));
                let escaped = q
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                args.push(Arg::Text(format!("%{escaped}%")));
            }
        }
    }
    (from, sql)
}

/// The trigram index joined to its rows, ordered by the index's rowid. CROSS
/// JOIN keeps the index as the outer loop: SQLite's planner would otherwise
/// walk every active row and probe the index once per row (seconds at 1M).
const FTS_JOIN: &str =
    "access_tokens_fts CROSS JOIN access_tokens ON access_tokens.id = access_tokens_fts.rowid";

fn bind_all<'q, O>(
    mut query: sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments>,
    args: Vec<Arg>,
) -> sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments> {
    for arg in args {
        query = match arg {
            Arg::Int(i) => query.bind(i),
            Arg::Text(s) => query.bind(s),
        };
    }
    query
}

/// A page of everyone's tokens, in the list's order, optionally searched.
pub async fn admin_list(db: &Db, q: &AdminQuery<'_>) -> Result<Vec<AccessToken>, sqlx::Error> {
    let mut args = Vec::new();
    let by_revocation = q.filter == TokenFilter::Revoked;
    let (from, where_) = admin_from_where(db, q.filter, q.search, by_revocation, &mut args);
    let id = if from == FTS_JOIN {
        "access_tokens_fts.rowid"
    } else {
        "id"
    };
    let mut sql = format!("SELECT {} FROM {from}{where_}", columns!());
    let n = args.len() + 1;
    match q.after {
        Some(Cursor::Id(after)) => {
            sql.push_str(&format!(" AND {id} < ${n}"));
            args.push(Arg::Int(after));
        }
        Some(Cursor::Revoked { at, id }) => {
            sql.push_str(&format!(
                " AND (revoked_at < ${n} OR (revoked_at = ${n} AND id < ${}))",
                n + 1
            ));
            args.push(Arg::Int(at));
            args.push(Arg::Int(id));
        }
        None => {}
    }
    if by_revocation {
        sql.push_str(" ORDER BY revoked_at DESC, id DESC");
    } else {
        sql.push_str(&format!(" ORDER BY {id} DESC"));
    }
    sql.push_str(&format!(" LIMIT ${}", args.len() + 1));
    args.push(Arg::Int(q.limit));
    bind_all(sqlx::query_as::<_, AccessToken>(AssertSqlSafe(sql)), args)
        .fetch_all(&db.pool)
        .await
}

/// How many tokens match, counting no further than `cap` (so a count never
/// scans a million rows).
pub async fn admin_count(
    db: &Db,
    filter: TokenFilter,
    search: Option<&str>,
    cap: i64,
) -> Result<i64, sqlx::Error> {
    let mut args = Vec::new();
    // A count has no order, so it can always be driven by the index.
    let (from, where_) = admin_from_where(db, filter, search, false, &mut args);
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM {from}{where_} LIMIT ${}) AS capped",
        args.len() + 1
    );
    args.push(Arg::Int(cap));
    let (count,): (i64,) = bind_all(sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql)), args)
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
    let revoked = sqlx::query(
        "UPDATE access_tokens SET revoked = 1, revoked_at = $1, revoked_by = $2, revoke_cause = $3 \
         WHERE user_id = $4 AND revoked = 0",
    )
    .bind(now)
    .bind(by)
    .bind(format!("Revoked because user was deleted by {by}"))
    .bind(user_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    sqlx::query("UPDATE access_tokens SET revoked_because_user_deleted = 1 WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(revoked)
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
    let mut q = sqlx::query(AssertSqlSafe(sql));
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
    q.execute(&mut **tx).await?;
    Ok(())
}
