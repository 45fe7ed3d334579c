//! Personal access tokens: format, storage, rules, and last-used tracking.

/// The columns of an [`AccessToken`], for `concat!` in the repositories' SQL.
macro_rules! columns {
    () => {
        "id, description, user_id, username, created_at, last_used_at, revoked, revoked_at, \
         revoked_by, revoke_cause, revoked_because_user_deleted, scopes, expires_at, rotated_from, \
         family_id, last_used_ips, last_used_user_agent, allowed_cidrs"
    };
}

/// The columns of an [`AccessToken`].
pub const COLUMNS: &str = columns!();

pub mod format;
pub mod last_used;
pub mod lifecycle;
pub mod repo;
pub mod search;
pub mod service;

use crate::model::{TokenView, EXPIRY_WARNING_DAYS};
use crate::server::allowlist::Allowlist;
use crate::server::scope::Grants;
use crate::server::time::{iso, now_millis, DAY_MILLIS};

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
    pub expires_at: Option<i64>,
    pub rotated_from: Option<i64>,
    /// The first token of its rotation chain, if it was rotated into.
    pub family_id: Option<i64>,
    /// Space-separated, newest first.
    pub last_used_ips: String,
    pub last_used_user_agent: Option<String>,
    pub allowed_cidrs: Allowlist,
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
            expires_at: row.try_get("expires_at")?,
            rotated_from: row.try_get("rotated_from")?,
            family_id: row.try_get("family_id")?,
            last_used_ips: row.try_get("last_used_ips")?,
            last_used_user_agent: row.try_get("last_used_user_agent")?,
            allowed_cidrs: Allowlist::from_stored(&row.try_get::<String, _>("allowed_cidrs")?),
        })
    }
}

impl AccessToken {
    pub fn view(&self) -> TokenView {
        let now = now_millis();
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
            expires_at: self.expires_at.map(iso),
            expired: !self.revoked && lifecycle::is_expired(self.expires_at, now),
            expires_soon: !self.revoked
                && !lifecycle::is_expired(self.expires_at, now)
                && lifecycle::is_expired(self.expires_at, now + EXPIRY_WARNING_DAYS * DAY_MILLIS),
            rotated_from: self.rotated_from,
            last_used_ips: self
                .last_used_ips
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            last_used_user_agent: self.last_used_user_agent.clone(),
            allowed_cidrs: self.allowed_cidrs.names(),
        }
    }

    /// The rotation chain it belongs to: named after its first token.
    pub fn family(&self) -> i64 {
        self.family_id.unwrap_or(self.id)
    }

    #[cfg(test)]
    pub fn sample() -> AccessToken {
        AccessToken {
            id: 1,
            description: "sample".into(),
            user_id: 1,
            username: "admin".into(),
            created_at: 0,
            last_used_at: None,
            revoked: false,
            revoked_at: None,
            revoked_by: None,
            revoke_cause: None,
            revoked_because_user_deleted: false,
            scopes: Grants::default_api(),
            expires_at: None,
            rotated_from: None,
            family_id: None,
            last_used_ips: String::new(),
            last_used_user_agent: None,
            allowed_cidrs: Allowlist::default(),
        }
    }
}
