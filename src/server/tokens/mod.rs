//! Personal access tokens: format, storage, rules, and last-used tracking.

/// The columns of an [`AccessToken`], for `concat!` in the repositories' SQL.
macro_rules! columns {
    () => {
        "id, description, user_id, username, created_at, last_used_at, revoked, revoked_at, \
         revoked_by, revoke_cause, revoked_because_user_deleted, scopes"
    };
}

/// The columns of an [`AccessToken`].
pub const COLUMNS: &str = columns!();

pub mod format;
pub mod last_used;
pub mod repo;
pub mod search;
pub mod service;

use crate::model::TokenView;
use crate::server::scope::Grants;
use crate::server::time::iso;

pub use service::Tokens;

/// A stored token (never its secret: only the hash is in the database).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessToken {
    pub id: i64,
    pub description: String,
    pub user_id: i64,
    pub username: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked: bool,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
    pub revoke_cause: Option<String>,
    pub revoked_because_user_deleted: bool,
    /// What it opens.
    pub scopes: Grants,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for AccessToken {
    fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(AccessToken {
            id: row.try_get("id")?,
            description: row.try_get("description")?,
            user_id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            created_at: row.try_get("created_at")?,
            last_used_at: row.try_get("last_used_at")?,
            revoked: row.try_get::<i64, _>("revoked")? != 0,
            revoked_at: row.try_get("revoked_at")?,
            revoked_by: row.try_get("revoked_by")?,
            revoke_cause: row.try_get("revoke_cause")?,
            revoked_because_user_deleted: row.try_get::<i64, _>("revoked_because_user_deleted")?
                != 0,
            scopes: Grants::from_stored(&row.try_get::<String, _>("scopes")?),
        })
    }
}

impl AccessToken {
    pub fn view(&self) -> TokenView {
        TokenView {
            id: self.id,
            description: self.description.clone(),
            username: self.username.clone(),
            created_at: iso(self.created_at),
            last_used_at: self.last_used_at.map(iso),
            revoked: self.revoked,
            revoked_at: self.revoked_at.map(iso),
            revoked_by: self.revoked_by.clone(),
            revoke_cause: self.revoke_cause.clone(),
            revoked_because_user_deleted: self.revoked_because_user_deleted,
            scopes: self.scopes.names().to_vec(),
        }
    }
}
