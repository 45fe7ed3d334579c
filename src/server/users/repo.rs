//! SQL for users. The only place that knows the `users` table.

use super::User;
use crate::server::db::Db;
use sqlx::{Any, Transaction};

/// The columns of [`User`], as a literal so that queries stay `&'static str`.
macro_rules! columns {
    () => {
        "id, login_name, display_name, email, email_me, checkin_aliases, is_admin, enabled, created_at"
    };
}

/// Flags are stored as 0/1 on every backend.
pub fn flag(b: bool) -> i64 {
    i64::from(b)
}

pub struct NewUserRow<'a> {
    pub login_name: &'a str,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub email_me: bool,
    pub checkin_aliases: &'a str,
    pub password_hash: &'a str,
    pub is_admin: bool,
    pub enabled: bool,
    pub created_at: i64,
}

/// Inserts a user; `None` when a live user already has that login name.
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    row: NewUserRow<'_>,
) -> Result<Option<User>, sqlx::Error> {
    const SQL: &str = concat!(
        "INSERT INTO users (login_name, login_name_lower, display_name, email, email_me, \
         checkin_aliases, password_hash, is_admin, enabled, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ",
        columns!(),
        ""
    );
    let result = sqlx::query_as::<_, User>(SQL)
        .bind(row.login_name)
        .bind(row.login_name.to_lowercase())
        .bind(row.display_name)
        .bind(row.email)
        .bind(flag(row.email_me))
        .bind(row.checkin_aliases)
        .bind(row.password_hash)
        .bind(flag(row.is_admin))
        .bind(flag(row.enabled))
        .bind(row.created_at)
        .fetch_one(&mut **tx)
        .await;
    match result {
        Ok(user) => Ok(Some(user)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn find_by_login(db: &Db, login_lower: &str) -> Result<Option<User>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE login_name_lower = $1 AND deleted_at IS NULL"
    );
    sqlx::query_as::<_, User>(SQL)
        .bind(login_lower)
        .fetch_optional(&db.pool)
        .await
}

/// The live user's id and password hash, for signing in.
pub async fn find_credentials(
    db: &Db,
    login_lower: &str,
) -> Result<Option<(i64, String)>, sqlx::Error> {
    sqlx::query_as::<_, (i64, String)>(
        "SELECT id, password_hash FROM users WHERE login_name_lower = $1 AND deleted_at IS NULL",
    )
    .bind(login_lower)
    .fetch_optional(&db.pool)
    .await
}

pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<User>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE id = $1 AND deleted_at IS NULL"
    );
    sqlx::query_as::<_, User>(SQL)
        .bind(id)
        .fetch_optional(&db.pool)
        .await
}

pub async fn list(db: &Db) -> Result<Vec<User>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        columns!(),
        " FROM users WHERE deleted_at IS NULL ORDER BY login_name_lower"
    );
    sqlx::query_as::<_, User>(SQL).fetch_all(&db.pool).await
}

pub async fn count_live(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM users WHERE deleted_at IS NULL")
        .fetch_one(&db.pool)
        .await
}

pub struct UserUpdate<'a> {
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub email_me: bool,
    pub checkin_aliases: &'a str,
    pub is_admin: bool,
    pub enabled: bool,
}

pub async fn update(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    u: UserUpdate<'_>,
) -> Result<Option<User>, sqlx::Error> {
    const SQL: &str = concat!(
        "UPDATE users SET display_name = $1, email = $2, email_me = $3, checkin_aliases = $4, \
         is_admin = $5, enabled = $6 WHERE id = $7 AND deleted_at IS NULL RETURNING ",
        columns!(),
        ""
    );
    sqlx::query_as::<_, User>(SQL)
        .bind(u.display_name)
        .bind(u.email)
        .bind(flag(u.email_me))
        .bind(u.checkin_aliases)
        .bind(flag(u.is_admin))
        .bind(flag(u.enabled))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn set_password(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(hash)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks a disabled user deleted. Returns false if they were not live and disabled.
pub async fn mark_deleted(
    tx: &mut Transaction<'_, Any>,
    id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL AND enabled = $3",
    )
    .bind(now)
    .bind(id)
    .bind(flag(false))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
