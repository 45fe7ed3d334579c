//! The rules for tokens: who may mint, see and revoke which, what a valid
//! description is, and what a presented token proves. Nothing of HTTP here.

use super::format::PlainToken;
use super::last_used::LastUsed;
use super::{repo, AccessToken};
use crate::model::{TokenFilter, TOKEN_TEXT_MAX};
use crate::server::auth::{AuthError, AuthMethod, Caller};
use crate::server::db::Db;
use crate::server::error::ServiceError;
use crate::server::time::{iso, now_millis};
use crate::server::users::User;
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub const BEARER_FORBIDDEN: &str =
    "Unsupported operation: Accessing this API using access token is forbidden.";

/// The token service: the database plus the in-memory last-used batch.
#[derive(Clone)]
pub struct Tokens {
    pub db: Db,
    pub last_used: Arc<LastUsed>,
    lookups: Arc<AtomicU64>,
}

/// A description: required, trimmed, at most 1024 characters.
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, ServiceError> {
        let d = raw.trim();
        if d.is_empty() {
            return Err(ServiceError::invalid("description", "must not be blank"));
        }
        check_text("description", d)?;
        Ok(Description(d.to_string()))
    }
}

fn check_text(field: &'static str, text: &str) -> Result<(), ServiceError> {
    if text.chars().count() > TOKEN_TEXT_MAX {
        return Err(ServiceError::invalid(
            field,
            format!("must be at most {TOKEN_TEXT_MAX} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(ServiceError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// An optional revoke cause: trimmed, blank means none, at most 1024 characters.
pub fn revoke_cause(raw: Option<&str>) -> Result<Option<String>, ServiceError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(c) => {
            check_text("revoke_cause", c)?;
            Ok(Some(c.to_string()))
        }
    }
}

pub fn not_found(id: impl std::fmt::Display) -> ServiceError {
    ServiceError::NotFound(format!("Access token with id '{id}' was not found!"))
}

/// A token can never mint, list or revoke tokens (GoCD rule 2).
fn refuse_bearer(caller: &Caller) -> Result<(), ServiceError> {
    if caller.method == AuthMethod::Bearer {
        Err(ServiceError::Forbidden(BEARER_FORBIDDEN.to_string()))
    } else {
        Ok(())
    }
}

impl Tokens {
    pub fn new(db: Db) -> Self {
        Tokens {
            db,
            last_used: Arc::new(LastUsed::default()),
            lookups: Arc::new(AtomicU64::default()),
        }
    }

    /// Database lookups made to authenticate tokens since start.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// Shows the newest use, even one not yet flushed.
    fn fresh(&self, mut t: AccessToken) -> AccessToken {
        if let Some(at) = self.last_used.pending(t.id) {
            if t.last_used_at.is_none_or(|db| db < at) {
                t.last_used_at = Some(at);
            }
        }
        t
    }

    pub async fn create(
        &self,
        caller: &Caller,
        description: &str,
    ) -> Result<(AccessToken, PlainToken), ServiceError> {
        refuse_bearer(caller)?;
        let description = Description::parse(description)?;
        let plain = PlainToken::generate();
        let token = repo::insert(
            &self.db,
            &plain.hash(),
            &description.0,
            &caller.user,
            now_millis(),
        )
        .await?;
        tracing::info!(token_id = token.id, user = %caller.user.login_name, "access token created");
        Ok((token, plain))
    }

    pub async fn list_own(
        &self,
        caller: &Caller,
        filter: TokenFilter,
    ) -> Result<Vec<AccessToken>, ServiceError> {
        refuse_bearer(caller)?;
        let tokens = repo::list_for_user(&self.db, caller.user.id, filter).await?;
        Ok(tokens.into_iter().map(|t| self.fresh(t)).collect())
    }

    pub async fn get_own(&self, caller: &Caller, id: i64) -> Result<AccessToken, ServiceError> {
        refuse_bearer(caller)?;
        repo::find_for_user(&self.db, caller.user.id, id)
            .await?
            .map(|t| self.fresh(t))
            .ok_or_else(|| not_found(id))
    }

    /// Revokes one of the caller's own tokens. Another user's token is 404,
    /// a revoked one 409; of concurrent revokes exactly one succeeds.
    pub async fn revoke_own(
        &self,
        caller: &Caller,
        id: i64,
        cause: Option<&str>,
    ) -> Result<AccessToken, ServiceError> {
        refuse_bearer(caller)?;
        let cause = revoke_cause(cause)?;
        let user = &caller.user;
        match repo::revoke(
            &self.db,
            id,
            Some(user.id),
            &user.login_name,
            cause.as_deref(),
            now_millis(),
        )
        .await?
        {
            Some(t) => {
                tracing::info!(token_id = t.id, by = %user.login_name, "access token revoked");
                Ok(self.fresh(t))
            }
            None => match repo::find_for_user(&self.db, user.id, id).await? {
                Some(_) => Err(ServiceError::Conflict(
                    "Access token has already been revoked!".into(),
                )),
                None => Err(not_found(id)),
            },
        }
    }

    /// What a presented Bearer token proves. Malformed tokens (wrong prefix,
    /// length or checksum) are refused before any database work; a valid one
    /// is looked up by its hash on every request, so a revocation takes effect
    /// on the very next one.
    pub async fn authenticate(&self, presented: &SecretString) -> Result<User, AuthError> {
        let token =
            PlainToken::parse(presented.expose_secret()).map_err(|_| AuthError::InvalidToken)?;
        let hash = token.hash();
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let row = repo::find_for_auth(&self.db, &hash)
            .await
            .map_err(ServiceError::from)?
            .ok_or(AuthError::InvalidToken)?;
        // The index found it by equality already; compare again in constant time.
        if !bool::from(row.token_hash.as_bytes().ct_eq(hash.0.as_bytes())) {
            return Err(AuthError::InvalidToken);
        }
        if row.user_deleted || row.revoked_because_user_deleted {
            return Err(AuthError::InvalidToken);
        }
        if row.revoked {
            return Err(AuthError::RevokedToken(iso(row.revoked_at.unwrap_or(0))));
        }
        if !row.user.enabled {
            return Err(AuthError::Disabled);
        }
        self.last_used.record(row.token_id, now_millis());
        Ok(row.user)
    }
}
