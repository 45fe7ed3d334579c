//! SQL for access tokens. The only place that knows the `access_tokens` table.

use super::format::TokenHash;
use super::AccessToken;
use crate::model::TokenFilter;
use crate::server::db::Db;
use crate::server::users::User;
use sqlx::{Any, Transaction};

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
        "INSERT INTO access_tokens (token_hash, description, user_id, username, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING ",
        columns!()
    );
    sqlx::query_as::<_, AccessToken>(SQL)
        .bind(&hash.0)
        .bind(description)
        .bind(user.id)
        .bind(&user.login_name)
        .bind(now)
        .fetch_one(&db.pool)
        .await
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
