//! The audit log: who did what, to which user or token, from where. Each
//! change writes its events in its own transaction ([`record`]), so no change
//! happens without its event and no event exists without its change. Never
//! a secret: no token, password or hash is ever put in an event.
//!
//! - [`repo`]: the tables (events are written into an inbox and moved in
//!   batches into the indexed log, [`spawn_mover`]), search and pruning.

pub mod repo;

use crate::model::{AuditEventView, AuditPage, AUDIT_FAMILIES, AUDIT_PAGE_SIZE};
use crate::server::db::Db;
use crate::server::error::ServiceError;
use crate::server::identity::{Actor, AuthMethod, Caller, Origin};
use crate::server::throttle::Episode;
use crate::server::time::{parse_iso, DAY_MILLIS};
use crate::server::tokens::search::term::SearchTerm;
use serde_json::{json, Value};
use sqlx::{Any, Transaction};
use std::net::IpAddr;

/// What happened. [`Action::as_str`] is the name the log shows and filters by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    TokenCreated,
    TokenRotated,
    TokenRevoked,
    SignedIn,
    SignInFailed,
    SignedOut,
    Throttled,
    UserCreated,
    UserUpdated,
    UserEnabled,
    UserDisabled,
    PasswordChanged,
    UserDeleted,
    ScopeCreated,
    ScopeDeleted,
}

impl Action {
    pub const ALL: [Action; 15] = [
        Action::TokenCreated,
        Action::TokenRotated,
        Action::TokenRevoked,
        Action::SignedIn,
        Action::SignInFailed,
        Action::SignedOut,
        Action::Throttled,
        Action::UserCreated,
        Action::UserUpdated,
        Action::UserEnabled,
        Action::UserDisabled,
        Action::PasswordChanged,
        Action::UserDeleted,
        Action::ScopeCreated,
        Action::ScopeDeleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::TokenCreated => "token.created",
            Action::TokenRotated => "token.rotated",
            Action::TokenRevoked => "token.revoked",
            Action::SignedIn => "auth.signed_in",
            Action::SignInFailed => "auth.sign_in_failed",
            Action::SignedOut => "auth.signed_out",
            Action::Throttled => "auth.throttled",
            Action::UserCreated => "user.created",
            Action::UserUpdated => "user.updated",
            Action::UserEnabled => "user.enabled",
            Action::UserDisabled => "user.disabled",
            Action::PasswordChanged => "user.password_changed",
            Action::UserDeleted => "user.deleted",
            Action::ScopeCreated => "scope.created",
            Action::ScopeDeleted => "scope.deleted",
        }
    }

    /// What comes before the dot: the filter of the Audit Log page.
    pub fn family(self) -> &'static str {
        self.as_str().split('.').next().unwrap_or_default()
    }
}

/// Who acted, how they proved it, and from where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Who {
    /// Login name, `system`, or `operator`.
    pub actor: String,
    /// `session`, `basic`, `bearer`, `cli` or `system`.
    pub method: &'static str,
    pub origin: Origin,
}

/// The actor of what no user did (leak reports, throttling, retention).
pub const SYSTEM: &str = "system";

/// Longest login name kept for a failed sign-in (it is whatever was typed).
const TYPED_NAME_MAX: usize = 64;

fn method_name(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::Session => "session",
        AuthMethod::Basic => "basic",
        AuthMethod::Bearer => "bearer",
    }
}

impl Who {
    pub fn caller(caller: &Caller) -> Who {
        Who {
            actor: caller.user.login_name.clone(),
            method: method_name(caller.method),
            origin: caller.origin.clone(),
        }
    }

    pub fn actor(actor: &Actor) -> Who {
        match actor {
            Actor::Caller(c) => Who::caller(c),
            Actor::Operator => Who {
                actor: actor.name().to_string(),
                method: "cli",
                origin: Origin::default(),
            },
        }
    }

    /// The server itself, on behalf of a client at `ip` if there is one.
    pub fn system(ip: Option<IpAddr>) -> Who {
        Who {
            actor: SYSTEM.to_string(),
            method: "system",
            origin: Origin {
                ip,
                user_agent: None,
            },
        }
    }

    /// A user by name: one signing in or out, or someone who tried to sign
    /// in as `typed` and has not proved it.
    pub fn named(typed: &str, method: AuthMethod, origin: Origin) -> Who {
        Who {
            actor: typed_name(typed),
            method: method_name(method),
            origin,
        }
    }
}

/// A typed login name as the log keeps it: trimmed, bounded, no controls.
pub fn typed_name(typed: &str) -> String {
    typed
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(TYPED_NAME_MAX)
        .collect()
}

/// One event to write.
#[derive(Clone, Debug)]
pub struct Event<'a> {
    pub who: &'a Who,
    pub action: Action,
    pub target_user: Option<String>,
    /// The target user's id, when that user exists: a user's own Activity
    /// shows the events of this id, never of a former user of the same name.
    pub target_user_id: Option<i64>,
    pub target_token_id: Option<i64>,
    pub details: Value,
}

impl<'a> Event<'a> {
    pub fn new(who: &'a Who, action: Action) -> Self {
        Event {
            who,
            action,
            target_user: None,
            target_user_id: None,
            target_token_id: None,
            details: json!({}),
        }
    }

    /// About this user (`id` when the user exists).
    pub fn user(mut self, name: &str, id: Option<i64>) -> Self {
        self.target_user = Some(name.to_string());
        self.target_user_id = id;
        self
    }

    pub fn token(mut self, id: i64) -> Self {
        self.target_token_id = Some(id);
        self
    }

    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// What the live search looks in: actor, action, target user, token id,
    /// client address and the details' values, one a line, lower-cased here
    /// (Unicode-aware, the same on both databases).
    pub fn search_text(&self) -> String {
        let mut parts = vec![self.who.actor.clone(), self.action.as_str().to_string()];
        parts.extend(self.target_user.clone());
        parts.extend(self.target_token_id.map(|id| id.to_string()));
        parts.extend(self.who.origin.ip.map(|ip| ip.to_string()));
        leaves(&self.details, &mut parts);
        parts.join("\n").to_lowercase()
    }
}

/// The strings and numbers of a JSON value, depth first.
fn leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|v| leaves(v, out)),
        Value::Object(o) => o.values().for_each(|v| leaves(v, out)),
        Value::Bool(_) | Value::Null => {}
    }
}

/// Writes events in the caller's transaction: they commit or roll back with
/// the change they record.
pub async fn record(
    tx: &mut Transaction<'_, Any>,
    events: &[Event<'_>],
) -> Result<(), sqlx::Error> {
    let now = crate::server::time::now_millis();
    let stamped: Vec<_> = events.iter().map(|e| (now, e)).collect();
    repo::insert(tx, &stamped).await
}

/// Writes an event that records no change of its own (a failed sign-in, a
/// throttling episode), in a transaction of its own.
pub async fn record_alone(db: &Db, event: Event<'_>) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    record(&mut tx, &[event]).await?;
    tx.commit().await
}

/// What the Audit Log is asked for: the API's `q`, `action`, `user`,
/// `token_id`, `since`, `until`, `page_size` and `after`, as sent.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub q: Option<String>,
    pub action: Option<String>,
    pub user: Option<String>,
    pub token_id: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub page_size: Option<i64>,
    pub after: Option<String>,
}

/// Largest page of events (and its size when none is asked for).
pub const AUDIT_PAGE_MAX: i64 = 1000;

/// Which events a query asks for, parsed: one shape for both databases.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub term: Option<SearchTerm>,
    /// An action's name, or a family.
    pub action: Option<ActionFilter>,
    /// Events by or about this login name.
    pub user: Option<String>,
    pub token_id: Option<i64>,
    /// Milliseconds, inclusive.
    pub since: Option<i64>,
    /// Milliseconds, exclusive.
    pub until: Option<i64>,
    /// Only the events about this user id (a user's own Activity).
    pub own: Option<i64>,
    /// Ids below this one.
    pub before_id: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionFilter {
    Action(&'static str),
    Family(&'static str),
}

fn bad(message: impl Into<String>) -> ServiceError {
    ServiceError::BadRequest(message.into())
}

/// A time in `created_at`'s format, or a date (`2026-12-01`), as
/// milliseconds: a date means its start, or with `end_of_day` the start of
/// the next day (so `until=2026-12-01` takes in that whole day).
pub fn parse_time(name: &str, raw: &str, end_of_day: bool) -> Result<i64, ServiceError> {
    let raw = raw.trim();
    if let Some(at) = parse_iso(raw) {
        return Ok(at);
    }
    let date = time::Date::parse(raw, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| {
            bad(format!(
                "Value of query parameter `{name}` must be a date (2026-12-01) or a time (2026-12-01T10:00:00Z)."
            ))
        })?;
    let start = date.midnight().assume_utc().unix_timestamp() * 1000;
    Ok(if end_of_day {
        start + DAY_MILLIS
    } else {
        start
    })
}

impl AuditQuery {
    /// Parses every parameter once, with a clear 400 for each bad one.
    pub fn parse(&self) -> Result<(Filter, i64), ServiceError> {
        let action = match self.action.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => Some(
                Action::ALL
                    .iter()
                    .find(|x| x.as_str() == a)
                    .map(|x| ActionFilter::Action(x.as_str()))
                    .or_else(|| {
                        AUDIT_FAMILIES
                            .iter()
                            .find(|f| **f == a)
                            .map(|f| ActionFilter::Family(f))
                    })
                    .ok_or_else(|| {
                        bad(format!(
                            "Value of query parameter `action` must be an action (token.revoked, ...) or a family ({}).",
                            AUDIT_FAMILIES.join(", ")
                        ))
                    })?,
            ),
        };
        let token_id = match self.token_id.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            None => None,
            Some(t) => Some(t.parse::<i64>().ok().filter(|&id| id > 0).ok_or_else(|| {
                bad("Value of query parameter `token_id` must be a token id (a positive whole number).")
            })?),
        };
        let since = self
            .since
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_time("since", s, false))
            .transpose()?;
        let until = self
            .until
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_time("until", s, true))
            .transpose()?;
        let user = self
            .user
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| {
                if u.chars().count() > 255 || u.chars().any(char::is_control) {
                    Err(bad("Value of query parameter `user` is not a login name."))
                } else {
                    Ok(u.to_string())
                }
            })
            .transpose()?;
        let before_id = match self.after.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            None => None,
            Some(a) => Some(a.parse::<i64>().ok().filter(|&id| id > 0).ok_or_else(|| {
                bad("Invalid value for query parameter `after`: use the `next` link of the previous page.")
            })?),
        };
        let limit = match self.page_size {
            None => AUDIT_PAGE_SIZE,
            Some(n) if (1..=AUDIT_PAGE_MAX).contains(&n) => n,
            Some(_) => {
                return Err(bad(format!(
                    "Value of query parameter `page_size` must be between 1 and {AUDIT_PAGE_MAX}."
                )))
            }
        };
        Ok((
            Filter {
                term: SearchTerm::parse(self.q.as_deref())?,
                action,
                user,
                token_id,
                since,
                until,
                own: None,
                before_id,
            },
            limit,
        ))
    }
}

/// Everyone's events, for admins (not by token: a token never reads the log).
pub async fn admin_page(
    db: &Db,
    caller: &Caller,
    query: &AuditQuery,
) -> Result<AuditPage, ServiceError> {
    caller.require_admin()?;
    let (filter, limit) = query.parse()?;
    page(db, &filter, limit).await
}

/// The events about the caller: their tokens, their sign-ins, their account.
pub async fn own_page(
    db: &Db,
    caller: &Caller,
    query: &AuditQuery,
) -> Result<AuditPage, ServiceError> {
    caller.refuse_bearer()?;
    let (mut filter, limit) = query.parse()?;
    // Theirs whoever acted: no filter by someone else's name.
    filter.user = None;
    filter.own = Some(caller.user.id);
    page(db, &filter, limit).await
}

async fn page(db: &Db, filter: &Filter, limit: i64) -> Result<AuditPage, ServiceError> {
    let found = repo::page(db, filter, limit).await?;
    Ok(AuditPage {
        events: found.events.iter().map(repo::Row::view).collect(),
        next: found.next.map(|id| id.to_string()),
    })
}

/// Every event since `since`, oldest first, for `tollgate audit export`.
pub use repo::export;

/// Deletes events older than `days`, a batch at a time; returns how many.
pub async fn prune(db: &Db, days: u32, now: i64) -> Result<u64, sqlx::Error> {
    let before = now - i64::from(days) * DAY_MILLIS;
    let mut total = 0;
    loop {
        let n = repo::prune_batch(db, before, PRUNE_BATCH).await?;
        total += n;
        if n < PRUNE_BATCH as u64 {
            return Ok(total);
        }
        // Let other writers in between batches.
        tokio::task::yield_now().await;
    }
}

/// Events moved out of the inbox per transaction.
pub const MOVE_BATCH: i64 = 1000;

/// Moves every event of the inbox into the indexed log, a batch at a time;
/// how many.
pub async fn move_all(db: &Db, batch: i64) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let n = repo::move_batch(db, batch).await?;
        total += n;
        if n < batch as u64 {
            return Ok(total);
        }
        // Let other writers in between batches.
        tokio::task::yield_now().await;
    }
}

/// Moves the inbox's events into the indexed log every second (and at
/// once, for what a command or an earlier run left there).
pub fn spawn_mover(db: Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = move_all(&db, MOVE_BATCH).await {
                tracing::warn!(error = %e, "could not move audit events into the log");
            }
        }
    })
}

/// Events deleted per statement by [`prune`].
pub const PRUNE_BATCH: i64 = 1000;

/// Prunes the log once an hour, from a minute after start.
pub fn spawn_pruner(db: Db, days: u32) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval_at(
            tokio::time::Instant::now() + std::time::Duration::from_secs(60),
            std::time::Duration::from_secs(3600),
        );
        loop {
            every.tick().await;
            match prune(&db, days, crate::server::time::now_millis()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, days, "audit events past retention deleted"),
                Err(e) => tracing::warn!(error = %e, "could not prune the audit log"),
            }
        }
    })
}

/// Records each throttling episode of `throttle` once, as `auth.throttled`
/// by `system` with the client's address. Reports wait in a small queue; when
/// it is full, they are dropped rather than held.
pub fn spawn_episode_recorder(
    throttle: &crate::server::throttle::AuthThrottle,
    db: Db,
) -> tokio::task::JoinHandle<()> {
    let (to, mut from) = tokio::sync::mpsc::channel::<Episode>(EPISODE_QUEUE);
    throttle.report_episodes(to);
    tokio::spawn(async move {
        while let Some(episode) = from.recv().await {
            let who = Who::system(Some(episode.client));
            let event = Event::new(&who, Action::Throttled).details(json!({
                "retry_after_secs": crate::server::throttle::retry_after_secs(episode.wait),
            }));
            if let Err(e) = record_alone(&db, event).await {
                tracing::warn!(error = %e, "could not record a throttling episode");
            }
        }
    })
}

/// Throttling episodes waiting to be recorded, at most.
const EPISODE_QUEUE: usize = 256;

impl repo::Row {
    pub fn view(&self) -> AuditEventView {
        AuditEventView {
            id: self.id,
            at: crate::server::time::iso(self.at),
            actor: self.actor.clone(),
            actor_method: self.actor_method.clone(),
            client_ip: self.client_ip.clone(),
            user_agent: self.user_agent.clone(),
            action: self.action.clone(),
            target_user: self.target_user.clone(),
            target_token_id: self.target_token_id,
            details: serde_json::from_str(&self.details).unwrap_or_else(|_| json!({})),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_the_models() {
        let names: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names, crate::model::AUDIT_ACTIONS);
        for a in Action::ALL {
            assert!(AUDIT_FAMILIES.contains(&a.family()), "{a:?}");
        }
    }

    #[test]
    fn search_text_holds_every_searchable_field_lower_cased() {
        let who = Who {
            actor: "Alice".into(),
            method: "session",
            origin: Origin::new("10.1.2.3".parse().unwrap(), Some("curl/8")),
        };
        let e = Event::new(&who, Action::TokenRevoked)
            .user("Bob", Some(2))
            .token(42)
            .details(json!({"cause": "Leaked In CI", "scopes": ["api", "grafana:read"]}));
        let text = e.search_text();
        for part in [
            "alice",
            "token.revoked",
            "bob",
            "42",
            "10.1.2.3",
            "leaked in ci",
            "grafana:read",
        ] {
            assert!(text.contains(part), "{part} in {text}");
        }
        assert!(!text.contains("curl"));
    }

    #[test]
    fn queries_parse_with_clear_errors() {
        let q = |f: fn(&mut AuditQuery)| {
            let mut q = AuditQuery::default();
            f(&mut q);
            q.parse()
        };
        let (f, limit) = q(|q| {
            q.action = Some("token".into());
            q.since = Some("2026-12-01".into());
            q.until = Some("2026-12-01".into());
            q.q = Some(" Deploy ".into());
        })
        .unwrap();
        assert_eq!(limit, AUDIT_PAGE_SIZE);
        assert_eq!(f.action, Some(ActionFilter::Family("token")));
        assert_eq!(f.until.unwrap() - f.since.unwrap(), DAY_MILLIS);
        assert_eq!(f.term.unwrap().as_str(), "deploy");
        let (f, _) = q(|q| q.action = Some("token.revoked".into())).unwrap();
        assert_eq!(f.action, Some(ActionFilter::Action("token.revoked")));
        assert!(q(|q| q.action = Some("token.stolen".into())).is_err());
        assert!(q(|q| q.since = Some("yesterday".into())).is_err());
        assert!(q(|q| q.token_id = Some("-1".into())).is_err());
        assert!(q(|q| q.after = Some("x".into())).is_err());
        assert!(q(|q| q.page_size = Some(0)).is_err());
        assert!(q(|q| q.page_size = Some(AUDIT_PAGE_MAX + 1)).is_err());
        let (f, _) = q(|q| q.since = Some("2026-12-01T10:00:00Z".into())).unwrap();
        assert_eq!(f.since, parse_iso("2026-12-01T10:00:00Z"));
    }
}
