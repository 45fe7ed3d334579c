//! Service scopes: the names admins define so that a token can open one of
//! their services behind a proxy (`/go/auth/verify?scope=NAME`). The admin
//! API, the page and `tollgate scope` all come here; a token can never
//! define or delete one.

pub mod repo;

use crate::server::audit::{self, Action, Event, Who};
use crate::server::auth_cache::AuthCache;
use crate::server::db::Db;
use crate::server::error::ServiceError;
use crate::server::identity::Actor;
use crate::server::scope::{valid_name, BUILT_IN, NAME_MAX};
use crate::server::time::now_millis;
use crate::server::tokens::repo as tokens_repo;
use crate::server::tokens::service::Description;

/// A service scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub name: String,
    pub description: String,
    pub created_at: i64,
}

impl Scope {
    pub fn view(&self) -> crate::model::ScopeView {
        crate::model::ScopeView {
            name: self.name.clone(),
            description: self.description.clone(),
        }
    }
}

/// What deleting a scope did to the tokens that carried it.
#[derive(Debug, PartialEq, Eq)]
pub struct Deleted {
    pub scope: Scope,
    /// Tokens it was removed from.
    pub tokens: u64,
    /// Active tokens it was the last scope of, now revoked.
    pub revoked: u64,
}

/// Scope admin: admins (never with a token) and the operator.
fn require_admin(actor: &Actor) -> Result<(), ServiceError> {
    match actor {
        Actor::Caller(c) => c.require_admin(),
        Actor::Operator => Ok(()),
    }
}

fn not_found(name: &str) -> ServiceError {
    let shown: String = name.chars().take(64).collect();
    ServiceError::NotFound(format!("Scope '{shown}' was not found!"))
}

/// The scopes a signed-in user may grant their own tokens: every service
/// scope (the pages ask with the session only, never a token).
pub async fn available(db: &Db) -> Result<Vec<Scope>, ServiceError> {
    Ok(repo::list(db).await?)
}

pub async fn list(db: &Db, actor: &Actor) -> Result<Vec<Scope>, ServiceError> {
    require_admin(actor)?;
    Ok(repo::list(db).await?)
}

/// Defines a service scope. Built-in names, malformed names and a name
/// already taken are 422 on `name`; the description is required.
pub async fn add(
    db: &Db,
    actor: &Actor,
    name: &str,
    description: &str,
) -> Result<Scope, ServiceError> {
    require_admin(actor)?;
    let name = name.trim();
    if BUILT_IN.contains(&name) {
        return Err(ServiceError::invalid(
            "name",
            format!("`{name}` is a built-in scope and cannot be redefined"),
        ));
    }
    if !valid_name(name) {
        return Err(ServiceError::invalid(
            "name",
            format!("must be 1 to {NAME_MAX} characters: lower-case letters, digits, `_`, `.` and `-`, starting with a letter or digit"),
        ));
    }
    let description = Description::parse(description)?;
    let mut tx = db.begin_write().await?;
    let scope = repo::insert(&mut tx, name, description.as_str(), now_millis())
        .await?
        .ok_or_else(|| {
            ServiceError::invalid("name", format!("a scope named `{name}` already exists"))
        })?;
    let who = Who::actor(actor);
    let event = Event::new(&who, Action::ScopeCreated).details(serde_json::json!({
        "scope": scope.name, "description": scope.description,
    }));
    audit::record(&mut tx, &[event]).await?;
    tx.commit().await?;
    tracing::info!(scope = %scope.name, by = actor.name(), "scope created");
    Ok(scope)
}

/// Deletes a scope and removes it from every token that carries it, in one
/// transaction; an active token left with no scope is revoked, with cause
/// `Scope <name> was deleted`.
pub async fn delete(
    db: &Db,
    cache: &AuthCache,
    actor: &Actor,
    name: &str,
) -> Result<Deleted, ServiceError> {
    require_admin(actor)?;
    let mut tx = db.begin_write().await?;
    let Some(scope) = repo::delete(&mut tx, name).await? else {
        return Err(not_found(name));
    };
    let cause = format!("Scope {name} was deleted");
    let who = Who::actor(actor);
    let (tokens, revoked) =
        tokens_repo::drop_scope(&mut tx, db, name, &cause, now_millis(), &who).await?;
    let event = Event::new(&who, Action::ScopeDeleted).details(serde_json::json!({
        "scope": scope.name, "tokens_changed": tokens, "tokens_revoked": revoked,
    }));
    audit::record(&mut tx, &[event]).await?;
    tx.commit().await?;
    // Tokens that carried it open less now.
    cache.changed(db).await;
    tracing::info!(scope = %scope.name, by = actor.name(), tokens, revoked, "scope deleted");
    Ok(Deleted {
        scope,
        tokens,
        revoked,
    })
}
