//! SQL for the service scopes admins define.

use super::Scope;
use crate::server::db::Db;
use sqlx::{Any, Transaction};
use std::collections::HashSet;

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for Scope {
    fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(Scope {
            name: row.try_get("name")?,
            description: row.try_get("description")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// Every service scope, by name.
pub async fn list(db: &Db) -> Result<Vec<Scope>, sqlx::Error> {
    sqlx::query_as("SELECT name, description, created_at FROM scopes ORDER BY name")
        .fetch_all(&db.pool)
        .await
}

/// The names of every service scope.
pub async fn names(db: &Db) -> Result<HashSet<String>, sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM scopes")
        .fetch_all(&db.pool)
        .await?;
    Ok(names.into_iter().collect())
}

/// Adds a scope; `None` when one of that name exists (nothing written).
pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    name: &str,
    description: &str,
    now: i64,
) -> Result<Option<Scope>, sqlx::Error> {
    sqlx::query_as(
        "INSERT INTO scopes (name, description, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING RETURNING name, description, created_at",
    )
    .bind(name)
    .bind(description)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await
}

/// Deletes a scope in `tx`; `None` when there was none of that name.
pub async fn delete(
    tx: &mut Transaction<'_, Any>,
    name: &str,
) -> Result<Option<Scope>, sqlx::Error> {
    sqlx::query_as("DELETE FROM scopes WHERE name = $1 RETURNING name, description, created_at")
        .bind(name)
        .fetch_optional(&mut **tx)
        .await
}
