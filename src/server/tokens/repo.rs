//! SQL for access tokens. The only place that knows the `access_tokens` table.

use super::format::TokenHash;
use super::search::grams::{self, GramChange};
use super::AccessToken;
use crate::model::TokenFilter;
use crate::server::db::{Db, Dialect};
use crate::server::identity::User;
use crate::server::scope::Grants;
use sqlx::{Any, AssertSqlSafe, Transaction};

/// What [`insert`] did.
pub enum Inserted {
    Token(AccessToken),
    /// The user already holds `max_active` active tokens: nothing written.
    AtCap,
    /// The user was disabled or deleted meanwhile: nothing written.
    UserGone,
    /// A service scope it names was deleted meanwhile: nothing written.
    ScopeGone,
}

/// Inserts a token unless its owner already holds `max_active` active ones.
/// The count and the insert share one write transaction, so concurrent
/// creates cannot overshoot: SQLite's `BEGIN IMMEDIATE` serializes writers,
/// and on PostgreSQL the owner's row is locked (`FOR UPDATE`) before counting.
/// The service scopes it names are read (on PostgreSQL `FOR SHARE`, so that
/// a scope's deletion waits for this insert and then sees its token).
pub async fn insert(
    db: &Db,
    hash: &TokenHash,
    description: &str,
    user: &User,
    grants: &Grants,
    max_active: i64,
    now: i64,
) -> Result<Inserted, sqlx::Error> {
    const SQL: &str = concat!(
        "INSERT INTO access_tokens (token_hash, description, user_id, username, search_text, created_at, scopes) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
        columns!()
    );
    let stored = grants.to_stored();
    let text = grams::search_text(description, &user.login_name, &stored);
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
    let services = grants.service_names();
    if !services.is_empty() {
        let share = match db.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR SHARE",
        };
        let list: Vec<String> = (1..=services.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT name FROM scopes WHERE name IN ({}){share}",
            list.join(", ")
        );
        let mut query = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
        for name in &services {
            query = query.bind(*name);
        }
        if query.fetch_all(&mut *tx).await?.len() < services.len() {
            return Ok(Inserted::ScopeGone);
        }
    }
    let token = sqlx::query_as::<_, AccessToken>(SQL)
        .bind(&hash.0)
        .bind(description)
        .bind(user.id)
        .bind(&user.login_name)
        .bind(&text)
        .bind(now)
        .bind(&stored)
        .fetch_one(&mut *tx)
        .await?;
    grams::apply(&mut tx, &[GramChange::inserted(token.id, &text, false)]).await?;
    tx.commit().await?;
    Ok(Inserted::Token(token))
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
        grams::apply(&mut tx, &[GramChange::revoked(t.id, &text)]).await?;
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
    /// The token's grants, as stored.
    pub scopes: String,
    pub created_at: i64,
    pub user: User,
}

pub async fn find_for_auth(db: &Db, hash: &TokenHash) -> Result<Option<AuthRow>, sqlx::Error> {
    use sqlx::{FromRow, Row};
    let row = sqlx::query(
        "SELECT t.id AS token_id, t.token_hash, t.revoked, t.revoked_at, \
         t.revoked_because_user_deleted, t.scopes, t.created_at AS token_created_at, u.deleted_at, \
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
        scopes: row.try_get("scopes")?,
        created_at: row.try_get("token_created_at")?,
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
        .map(|(id, text)| GramChange::revoked(*id, text))
        .collect();
    grams::apply(tx, &changes).await?;
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

/// Removes service scope `name` (`NAME` and `NAME:read`) from every token
/// that carries it, in `tx`; an active token left with no scope is revoked
/// (`by`, `cause`). Returns how many tokens changed and how many of them were
/// revoked. A scope's tokens are found by a scan of the scopes column: a
/// rare admin action.
pub async fn drop_scope(
    tx: &mut Transaction<'_, Any>,
    db: &Db,
    name: &str,
    by: &str,
    cause: &str,
    now: i64,
) -> Result<(u64, u64), sqlx::Error> {
    let lock = match db.dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE",
    };
    // LIKE may match more (`_` is a wildcard); the grants decide.
    let rows: Vec<(i64, String, i64, String, String, String)> =
        sqlx::query_as(AssertSqlSafe(format!(
            "SELECT id, scopes, revoked, search_text, description, username FROM access_tokens \
             WHERE scopes LIKE $1 ORDER BY id{lock}"
        )))
        .bind(format!("%{name}%"))
        .fetch_all(&mut **tx)
        .await?;
    let (mut changed, mut revoked) = (0, 0);
    let mut texts = Vec::new();
    for (id, stored, was_revoked, old_text, description, username) in &rows {
        let grants = Grants::from_stored(stored);
        let left = grants.without(name);
        if left == grants {
            continue;
        }
        changed += 1;
        let left = left.to_stored();
        let text = grams::search_text(description, username, &left);
        let revoke = left.is_empty() && *was_revoked == 0;
        if revoke {
            sqlx::query(
                "UPDATE access_tokens SET scopes = '', search_text = $1, revoked = 1, \
                 revoked_at = $2, revoked_by = $3, revoke_cause = $4 WHERE id = $5",
            )
            .bind(&text)
            .bind(now)
            .bind(by)
            .bind(cause)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            revoked += 1;
        } else {
            sqlx::query("UPDATE access_tokens SET scopes = $1, search_text = $2 WHERE id = $3")
                .bind(&left)
                .bind(&text)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        texts.push((*id, old_text, *was_revoked != 0, text, revoke || *was_revoked != 0));
    }
    let gram_changes: Vec<GramChange> = texts
        .iter()
        .flat_map(|(id, old, was, new, now_revoked)| {
            [
                GramChange::removed(*id, old, *was),
                GramChange::inserted(*id, new, *now_revoked),
            ]
        })
        .collect();
    grams::apply(tx, &gram_changes).await?;
    Ok((changed, revoked))
}
