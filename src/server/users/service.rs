//! The rules for users: who may manage them, what a valid user is, how deletion works.

use super::repo::{self, NewUserRow, UserUpdate};
use super::{optional_text, password, single_line, Actor, LoginName, User, TEXT_FIELD_MAX};
use crate::server::audit::{self, Action, Event, Who};
use crate::server::auth_cache::AuthCache;
use crate::server::db::Db;
use crate::server::error::ServiceError;
use crate::server::identity::{AuthMethod, Caller, Origin};
use crate::server::time::now_millis;
use crate::server::tokens::repo as tokens_repo;
use crate::server::users::session;
use secrecy::SecretString;
use serde_json::json;

pub struct NewUser {
    pub login_name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub email_me: bool,
    pub checkin_aliases: Vec<String>,
    /// `None` leaves the account without a usable password until one is set.
    pub password: Option<SecretString>,
    pub admin: bool,
    pub enabled: bool,
}

#[derive(Default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    /// `Some("")` clears the email.
    pub email: Option<String>,
    pub email_me: Option<bool>,
    pub checkin_aliases: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub admin: Option<bool>,
    pub password: Option<SecretString>,
}

const ALIASES_MAX: usize = 50;

fn aliases(list: &[String]) -> Result<String, ServiceError> {
    if list.len() > ALIASES_MAX {
        return Err(ServiceError::invalid(
            "checkin_aliases",
            format!("At most {ALIASES_MAX} checkin aliases are allowed."),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for alias in list {
        let a = single_line("checkin_aliases", alias)?;
        if a.is_empty() {
            continue;
        }
        if a.contains(',') || a.chars().count() > TEXT_FIELD_MAX {
            return Err(ServiceError::invalid(
                "checkin_aliases",
                format!(
                    "Checkin aliases must be at most {TEXT_FIELD_MAX} characters, without commas."
                ),
            ));
        }
        out.push(a.to_string());
    }
    Ok(out.join(","))
}

fn not_found(login: &str) -> ServiceError {
    ServiceError::NotFound(format!("User '{login}' was not found!"))
}

async fn find(db: &Db, login: &str) -> Result<User, ServiceError> {
    let name = LoginName::parse(login).map_err(|_| not_found(login))?;
    repo::find_by_login(db, &name.lower())
        .await?
        .ok_or_else(|| not_found(login))
}

pub async fn create(db: &Db, actor: &Actor, new: NewUser) -> Result<User, ServiceError> {
    actor.require_admin()?;
    if new.password.is_some() || new.admin {
        actor.require_password_proof()?;
    }
    let login = LoginName::parse(&new.login_name)?;
    let display_name = optional_text("display_name", new.display_name.as_deref())?
        .unwrap_or_else(|| login.as_str().to_string());
    let email = optional_text("email", new.email.as_deref())?;
    let aliases = aliases(&new.checkin_aliases)?;
    let new_has_password = new.password.is_some();
    let hash = match new.password {
        Some(p) => {
            password::check_policy(&p)?;
            password::hash(p).await?
        }
        None => password::UNUSABLE.to_string(),
    };
    let row = NewUserRow {
        login_name: login.as_str(),
        display_name: &display_name,
        email: email.as_deref(),
        email_me: new.email_me,
        checkin_aliases: &aliases,
        password_hash: &hash,
        is_admin: new.admin,
        enabled: new.enabled,
        created_at: now_millis(),
    };
    let mut tx = db.begin_write().await?;
    let created = repo::insert(&mut tx, row)
        .await?
        .ok_or_else(|| ServiceError::Invalid {
            field: "login_name",
            message: format!(
                "Failed to add user. The user '{}' already exists.",
                login.as_str()
            ),
        })?;
    let who = Who::actor(actor);
    let event = Event::new(&who, Action::UserCreated)
        .user(&created.login_name, Some(created.id))
        .details(json!({
            "admin": created.is_admin,
            "enabled": created.enabled,
            "password": if new_has_password { "set" } else { "none" },
        }));
    audit::record(&mut tx, &[event]).await?;
    tx.commit().await?;
    tracing::info!(user = %created.login_name, admin = created.is_admin, by = actor.name(), "user created");
    Ok(created)
}

pub async fn list(db: &Db, actor: &Actor) -> Result<Vec<User>, ServiceError> {
    actor.require_admin()?;
    Ok(repo::list(db).await?)
}

/// Users with the number of active tokens each holds (for the Users page).
pub async fn list_with_active_tokens(
    db: &Db,
    actor: &Actor,
) -> Result<Vec<(User, i64)>, ServiceError> {
    let users = list(db, actor).await?;
    let counts = tokens_repo::active_counts(db, now_millis()).await?;
    Ok(users
        .into_iter()
        .map(|u| {
            let n = counts.get(&u.id).copied().unwrap_or(0);
            (u, n)
        })
        .collect())
}

pub async fn get(db: &Db, actor: &Actor, login: &str) -> Result<User, ServiceError> {
    actor.require_admin()?;
    find(db, login).await
}

pub async fn update(
    db: &Db,
    cache: &AuthCache,
    actor: &Actor,
    login: &str,
    patch: UserPatch,
) -> Result<User, ServiceError> {
    actor.require_admin()?;
    let user = find(db, login).await?;
    let enabled = patch.enabled.unwrap_or(user.enabled);
    let is_admin = patch.admin.unwrap_or(user.is_admin);
    let raises = (enabled && !user.enabled) || (is_admin && !user.is_admin);
    if patch.password.is_some() || raises {
        actor.require_password_proof()?;
    }
    if actor.user_id() == Some(user.id) {
        if !enabled {
            return Err(ServiceError::BadRequest(
                "You cannot disable your own account.".into(),
            ));
        }
        if !is_admin {
            return Err(ServiceError::BadRequest(
                "You cannot remove your own admin rights.".into(),
            ));
        }
    }
    let display_name = match patch.display_name {
        Some(d) => {
            optional_text("display_name", Some(&d))?.unwrap_or_else(|| user.login_name.clone())
        }
        None => user.display_name.clone(),
    };
    let email = match patch.email {
        Some(e) => optional_text("email", Some(&e))?,
        None => user.email.clone(),
    };
    let checkin_aliases = match patch.checkin_aliases {
        Some(list) => aliases(&list)?,
        None => user.checkin_aliases.clone(),
    };
    let new_hash = match patch.password {
        Some(p) => {
            password::check_policy(&p)?;
            Some(password::hash(p).await?)
        }
        None => None,
    };
    let mut tx = db.begin_write().await?;
    if let Some(hash) = &new_hash {
        repo::set_password(&mut tx, user.id, hash).await?;
    }
    let updated = repo::update(
        &mut tx,
        user.id,
        UserUpdate {
            display_name: &display_name,
            email: email.as_deref(),
            email_me: patch.email_me.unwrap_or(user.email_me),
            checkin_aliases: &checkin_aliases,
            is_admin,
            enabled,
        },
    )
    .await?
    .ok_or_else(|| not_found(login))?;
    // A disabled user is signed out; a new password ends every session, so
    // whoever knew the old one is signed out too.
    if !enabled || new_hash.is_some() {
        session::delete_for_user(&mut tx, user.id).await?;
    }
    let who = Who::actor(actor);
    audit::record(
        &mut tx,
        &update_events(&who, &user, &updated, new_hash.is_some()),
    )
    .await?;
    tx.commit().await?;
    // Disabling refuses the user's tokens; any change shows in what a token proves.
    cache.changed(db).await;
    tracing::info!(user = %updated.login_name, enabled, admin = is_admin, by = actor.name(), "user updated");
    Ok(updated)
}

/// Why a user's own password change was refused, besides the rules'.
pub const WRONG_CURRENT_PASSWORD: &str = "The current password is not correct.";

/// A signed-in user changes their own password: the current one must be
/// right, the new one must meet the policy. Every other session of theirs
/// ends (`keep_session` is the one the change was made from). A token can
/// never do it ([`Actor::require_password_proof`]). `Ok(false)`: the current
/// password was wrong, nothing changed.
pub async fn change_own_password(
    db: &Db,
    hasher: &password::Hasher,
    caller: &Caller,
    current: SecretString,
    new: SecretString,
    keep_session: Option<&str>,
) -> Result<bool, ServiceError> {
    let actor = Actor::from(caller.clone());
    actor.require_password_proof()?;
    password::check_policy(&new)
        .map_err(|_| ServiceError::invalid("new_password", password::policy_message()))?;
    let user = &caller.user;
    let stored = repo::find_credentials(db, &user.login_name.to_lowercase())
        .await?
        .filter(|(id, _)| *id == user.id)
        .map(|(_, hash)| hash);
    match hasher.verify(current, stored).await {
        Ok(true) => {}
        Ok(false) => return Ok(false),
        Err(password::Busy) => {
            return Err(ServiceError::Busy(
                "The server is busy checking other passwords. Please try again shortly.".into(),
            ))
        }
    }
    let hash = password::hash(new).await?;
    let mut tx = db.begin_write().await?;
    repo::set_password(&mut tx, user.id, &hash).await?;
    session::delete_others(&mut tx, user.id, keep_session).await?;
    let who = Who::actor(&actor);
    let event = Event::new(&who, Action::PasswordChanged)
        .user(&user.login_name, Some(user.id))
        .details(json!({ "by": "self", "other_sessions": "ended" }));
    audit::record(&mut tx, &[event]).await?;
    tx.commit().await?;
    tracing::info!(user = %user.login_name, "password changed by its owner");
    Ok(true)
}

/// What an update changed, as events: `user.enabled`, `user.disabled` and
/// `user.password_changed` each on their own, `user.updated` for the other
/// fields (named, never their secret values).
fn update_events<'a>(who: &'a Who, before: &User, after: &User, password: bool) -> Vec<Event<'a>> {
    let about = |action| Event::new(who, action).user(&after.login_name, Some(after.id));
    let mut events = Vec::new();
    if after.enabled != before.enabled {
        events.push(about(if after.enabled {
            Action::UserEnabled
        } else {
            Action::UserDisabled
        }));
    }
    if password {
        events.push(about(Action::PasswordChanged));
    }
    let mut changed = Vec::new();
    if after.display_name != before.display_name {
        changed.push("display_name");
    }
    if after.email != before.email {
        changed.push("email");
    }
    if after.email_me != before.email_me {
        changed.push("email_me");
    }
    if after.checkin_aliases != before.checkin_aliases {
        changed.push("checkin_aliases");
    }
    if after.is_admin != before.is_admin {
        changed.push("admin");
    }
    if !changed.is_empty() {
        events.push(about(Action::UserUpdated).details(json!({
            "changed": changed,
            "admin": after.is_admin,
        })));
    }
    events
}

/// Deletes a disabled user for good: the row stays, marked deleted, so a new user
/// of the same name is a different user. In the same transaction their sessions
/// end and all their tokens are revoked for good. Returns the user and how many
/// active tokens were revoked.
pub async fn delete(
    db: &Db,
    cache: &AuthCache,
    actor: &Actor,
    login: &str,
) -> Result<(User, u64), ServiceError> {
    actor.require_admin()?;
    let user = find(db, login).await?;
    if user.enabled {
        return Err(ServiceError::BadRequest(format!(
            "User '{}' is not disabled. Disable the user before deleting it.",
            user.login_name
        )));
    }
    let mut tx = db.begin_write().await?;
    if !repo::mark_deleted(&mut tx, user.id, now_millis()).await? {
        return Err(ServiceError::Conflict(format!(
            "User '{}' changed while it was being deleted. Please try again.",
            user.login_name
        )));
    }
    session::delete_for_user(&mut tx, user.id).await?;
    let now = now_millis();
    let who = Who::actor(actor);
    let revoked = tokens_repo::revoke_for_deleted_user(&mut tx, user.id, now, &who).await?;
    let event = Event::new(&who, Action::UserDeleted)
        .user(&user.login_name, Some(user.id))
        .details(json!({ "tokens_revoked": revoked }));
    audit::record(&mut tx, &[event]).await?;
    tx.commit().await?;
    cache.changed(db).await;
    tracing::info!(user = %user.login_name, by = actor.name(), revoked_tokens = revoked, "user deleted");
    Ok((user, revoked))
}

/// Why a sign-in failed. `Invalid` never says whether the name or the password was wrong.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("Invalid username or password.")]
    Invalid,
    #[error("Your account has been disabled by the administrator")]
    Disabled,
    /// Too many sign-ins are being checked at once; nothing was checked.
    #[error("The server is busy checking other sign-ins. Please try again shortly.")]
    Busy,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Checks a sign-in. Every path (unknown user, user without a password,
/// disabled user, wrong password, invalid login name) runs exactly one argon2
/// verification through `hasher`, so the time taken does not tell them apart.
/// A refusal is recorded as `auth.sign_in_failed`, by the name as typed,
/// with `method` and `origin`.
pub async fn authenticate(
    db: &Db,
    hasher: &password::Hasher,
    login: &str,
    pass: SecretString,
    method: AuthMethod,
    origin: &Origin,
) -> Result<User, LoginError> {
    let result = check_password(db, hasher, login, pass).await;
    if let Err((e @ (LoginError::Invalid | LoginError::Disabled), user_id)) = &result {
        let who = Who::named(login, method, origin.clone());
        let reason = match e {
            LoginError::Disabled => "account disabled",
            _ => "invalid credentials",
        };
        let event = Event::new(&who, Action::SignInFailed)
            .user(&who.actor, *user_id)
            .details(json!({ "reason": reason }));
        if let Err(e) = audit::record_alone(db, event).await {
            tracing::warn!(error = %e, "could not record a failed sign-in");
        }
    }
    result.map_err(|(e, _)| e)
}

/// [`authenticate`] without the record: a refusal carries the id of the
/// user it names, when there is one.
async fn check_password(
    db: &Db,
    hasher: &password::Hasher,
    login: &str,
    pass: SecretString,
) -> Result<User, (LoginError, Option<i64>)> {
    let service = |e: sqlx::Error| (LoginError::Service(e.into()), None);
    let lower = LoginName::parse(login).ok().map(|n| n.lower());
    let creds = match &lower {
        Some(l) => repo::find_credentials(db, l).await.map_err(service)?,
        None => None,
    };
    let id = creds.as_ref().map(|(id, _)| *id);
    match hasher.verify(pass, creds.map(|(_, h)| h)).await {
        Ok(true) => {}
        Ok(false) => return Err((LoginError::Invalid, id)),
        Err(password::Busy) => return Err((LoginError::Busy, None)),
    }
    let user = match id {
        Some(id) => repo::find_by_id(db, id).await.map_err(service)?,
        None => None,
    }
    .ok_or((LoginError::Invalid, id))?;
    if !user.enabled {
        return Err((LoginError::Disabled, Some(user.id)));
    }
    Ok(user)
}

/// On first start with no users, creates the admin. Returns the generated
/// password when none was given, so the caller can show it once.
pub async fn bootstrap_admin(
    db: &Db,
    login: &str,
    given: Option<SecretString>,
) -> Result<Option<(User, Option<SecretString>)>, ServiceError> {
    if repo::count_live(db).await? > 0 {
        return Ok(None);
    }
    let generated = given.is_none().then(password::generate);
    let pass = given.unwrap_or_else(|| generated.clone().expect("generated when absent"));
    let new = NewUser {
        login_name: login.to_string(),
        display_name: None,
        email: None,
        email_me: false,
        checkin_aliases: vec![],
        password: Some(pass),
        admin: true,
        enabled: true,
    };
    match create(db, &Actor::Operator, new).await {
        Ok(user) => Ok(Some((user, generated))),
        // Another instance on the same database won the race.
        Err(ServiceError::Invalid {
            field: "login_name",
            ..
        }) if repo::count_live(db).await? > 0 => Ok(None),
        Err(e) => Err(e),
    }
}
