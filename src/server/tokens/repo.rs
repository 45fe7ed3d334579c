//! SQL for access tokens. The only place that knows the `access_tokens` table.

use super::format::TokenHash;
use super::lifecycle::merge_ips;
use super::search::grams::{self, GramChange};
use super::search::state_condition;
use super::AccessToken;
use crate::model::TokenFilter;
use crate::server::allowlist::Allowlist;
use crate::server::audit::{self, Action, Event, Who};
use crate::server::db::{Db, Dialect};
use crate::server::identity::User;
use crate::server::scope::Grants;
use sqlx::{Any, AssertSqlSafe, FromRow, Row, Transaction};
use std::net::IpAddr;

/// What a new token is, besides its secret and owner.
pub struct NewToken<'a> {
    pub description: &'a str,
    pub grants: &'a Grants,
    pub expires_at: Option<i64>,
    pub allowed_cidrs: &'a Allowlist,
    /// The token it replaces, and that token's family (rotation).
    pub rotated_from: Option<(i64, i64)>,
}

/// A token's event, with what identifies it to a reader of the log.
fn token_event<'a>(who: &'a Who, action: Action, t: &AccessToken) -> Event<'a> {
    Event::new(who, action)
        .user(&t.username, Some(t.user_id))
        .token(t.id)
        .details(serde_json::json!({
            "description": t.description,
            "scopes": t.scopes.to_stored(),
        }))
}

/// The event of a token revoked with `cause`.
fn revoked_event<'a>(who: &'a Who, r: &Revoked) -> Event<'a> {
    Event::new(who, Action::TokenRevoked)
        .user(&r.username, Some(r.user_id))
        .token(r.id)
        .details(serde_json::json!({ "description": r.description, "cause": r.cause }))
}

/// A token just revoked by a statement that revoked many: what its event
/// and the search index need.
#[derive(sqlx::FromRow)]
struct Revoked {
    id: i64,
    search_text: String,
    username: String,
    user_id: i64,
    description: String,
    #[sqlx(rename = "revoke_cause")]
    cause: Option<String>,
}

/// What [`Revoked`] reads back.
const REVOKED: &str = "id, search_text, username, user_id, description, revoke_cause";

/// What [`insert`] did.
pub enum Inserted {
    Token(Box<AccessToken>),
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
    new: &NewToken<'_>,
    user: &User,
    max_active: i64,
    now: i64,
    who: &Who,
) -> Result<Inserted, sqlx::Error> {
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
    // At most `max_active` active tokens are read (expired ones do not count).
    let (active,): (i64,) = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM access_tokens \
         WHERE user_id = $1{} LIMIT $2) AS capped",
        state_condition(TokenFilter::Active, "access_tokens", "$3")
    )))
    .bind(user.id)
    .bind(max_active)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    if active >= max_active {
        return Ok(Inserted::AtCap);
    }
    let services = new.grants.service_names();
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
    let token = insert_row(&mut tx, hash, new, user, now).await?;
    let mut event = token_event(who, Action::TokenCreated, &token);
    event.details["expires_at"] = token.expires_at.map(crate::server::time::iso).into();
    event.details["allowed_cidrs"] = token.allowed_cidrs.to_stored().into();
    audit::record(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(Inserted::Token(Box::new(token)))
}

/// The row and its grams, in the caller's transaction.
async fn insert_row(
    tx: &mut Transaction<'_, Any>,
    hash: &TokenHash,
    new: &NewToken<'_>,
    user: &User,
    now: i64,
) -> Result<AccessToken, sqlx::Error> {
    const SQL: &str = concat!(
        "INSERT INTO access_tokens (token_hash, description, user_id, username, search_text, \
         created_at, scopes, expires_at, allowed_cidrs, rotated_from, family_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ",
        columns!()
    );
    let stored = new.grants.to_stored();
    let text = grams::search_text(new.description, &user.login_name, &stored, "");
    let token = sqlx::query_as::<_, AccessToken>(SQL)
        .bind(&hash.0)
        .bind(new.description)
        .bind(user.id)
        .bind(&user.login_name)
        .bind(&text)
        .bind(now)
        .bind(&stored)
        .bind(new.expires_at)
        .bind(new.allowed_cidrs.to_stored())
        .bind(new.rotated_from.map(|(id, _)| id))
        .bind(new.rotated_from.map(|(_, family)| family))
        .fetch_one(&mut **tx)
        .await?;
    grams::apply(tx, &[GramChange::inserted(token.id, &text, false)]).await?;
    Ok(token)
}

/// What [`rotate`] did.
pub enum Rotated {
    /// The new token, and the old one, now revoked.
    Token {
        new: Box<AccessToken>,
        old: Box<AccessToken>,
    },
    /// The token was rotated away before: its family's active tokens were
    /// revoked (how many).
    Reused(u64),
    /// Revoked, and not by a rotation.
    AlreadyRevoked,
    NotFound,
}

/// Rotates `old_id`, a token of `user`: in one transaction, a new token like
/// it (expiring at `expiry(old)`) and the old one revoked with cause
/// `Rotated to token <new id>`. Rotating a token already rotated away revokes
/// every active token of its family instead (`reuse_cause`).
#[allow(clippy::too_many_arguments)]
pub async fn rotate(
    db: &Db,
    old_id: i64,
    user: &User,
    hash: &TokenHash,
    expiry: impl FnOnce(&AccessToken) -> Option<i64>,
    reuse_cause: &str,
    now: i64,
    who: &Who,
) -> Result<Rotated, sqlx::Error> {
    let lock = match db.dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE",
    };
    let mut tx = db.begin_write().await?;
    let old: Option<AccessToken> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {} FROM access_tokens WHERE id = $1 AND user_id = $2 \
         AND revoked_because_user_deleted = 0{lock}",
        columns!()
    )))
    .bind(old_id)
    .bind(user.id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(old) = old else {
        return Ok(Rotated::NotFound);
    };
    if old.revoked {
        let successor: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM access_tokens WHERE rotated_from = $1 LIMIT 1")
                .bind(old.id)
                .fetch_optional(&mut *tx)
                .await?;
        if successor.is_none() {
            return Ok(Rotated::AlreadyRevoked);
        }
        let family = old.family();
        let revoked: Vec<Revoked> = sqlx::query_as(AssertSqlSafe(format!(
            "UPDATE access_tokens SET revoked = 1, revoked_at = $1, revoked_by = $2, \
             revoke_cause = $3 WHERE (id = $4 OR family_id = $4) AND revoked = 0 \
             RETURNING {REVOKED}"
        )))
        .bind(now)
        .bind(&user.login_name)
        .bind(reuse_cause)
        .bind(family)
        .fetch_all(&mut *tx)
        .await?;
        count_revoked(&mut tx, &revoked, who).await?;
        tx.commit().await?;
        return Ok(Rotated::Reused(revoked.len() as u64));
    }
    let new = NewToken {
        description: &old.description,
        grants: &old.scopes,
        expires_at: expiry(&old),
        allowed_cidrs: &old.allowed_cidrs,
        rotated_from: Some((old.id, old.family())),
    };
    let token = insert_row(&mut tx, hash, &new, user, now).await?;
    let cause = format!("Rotated to token {}", token.id);
    let old: AccessToken = sqlx::query_as(concat!(
        "UPDATE access_tokens SET revoked = 1, revoked_at = $1, revoked_by = $2, revoke_cause = $3 \
         WHERE id = $4 RETURNING ",
        columns!()
    ))
    .bind(now)
    .bind(&user.login_name)
    .bind(&cause)
    .bind(old.id)
    .fetch_one(&mut *tx)
    .await?;
    let text: String = sqlx::query_scalar("SELECT search_text FROM access_tokens WHERE id = $1")
        .bind(old.id)
        .fetch_one(&mut *tx)
        .await?;
    grams::apply(&mut tx, &[GramChange::revoked(old.id, &text)]).await?;
    let mut rotated = token_event(who, Action::TokenRotated, &token);
    rotated.details["rotated_from"] = old.id.into();
    let mut retired = token_event(who, Action::TokenRevoked, &old);
    retired.details["cause"] = cause.into();
    audit::record(&mut tx, &[rotated, retired]).await?;
    tx.commit().await?;
    Ok(Rotated::Token {
        new: Box::new(token),
        old: Box::new(old),
    })
}

/// A user's own tokens, oldest first. Tokens revoked because their owner was
/// deleted belong to that (deleted) user id and never show up here.
pub async fn list_for_user(
    db: &Db,
    user_id: i64,
    filter: TokenFilter,
    now: i64,
) -> Result<Vec<AccessToken>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM access_tokens WHERE user_id = $1 AND revoked_because_user_deleted = 0 \
         AND $2 = $2{} ORDER BY id",
        columns!(),
        state_condition(filter, "access_tokens", "$2")
    );
    sqlx::query_as::<_, AccessToken>(AssertSqlSafe(sql))
        .bind(user_id)
        .bind(now)
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
    cause: Option<&str>,
    now: i64,
    who: &Who,
) -> Result<Option<AccessToken>, sqlx::Error> {
    // With the text the grams were counted from, as stored.
    const SQL: &str = concat!(
        "UPDATE access_tokens SET revoked = 1, revoked_at = $1, revoked_by = $2, revoke_cause = $3 \
         WHERE id = $4 AND revoked = 0 AND ($5 < 0 OR user_id = $5) RETURNING ",
        columns!(),
        ", search_text"
    );
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(SQL)
        .bind(now)
        .bind(&who.actor)
        .bind(cause)
        .bind(id)
        .bind(owner.unwrap_or(-1))
        .fetch_optional(&mut *tx)
        .await?;
    let token = row.as_ref().map(AccessToken::from_row).transpose()?;
    if let (Some(t), Some(row)) = (&token, &row) {
        let text: String = row.try_get("search_text")?;
        grams::apply(&mut tx, &[GramChange::revoked(t.id, &text)]).await?;
        let mut event = token_event(who, Action::TokenRevoked, t);
        event.details["cause"] = t.revoke_cause.clone().into();
        audit::record(&mut tx, &[event]).await?;
    }
    tx.commit().await?;
    Ok(token)
}

/// Revokes the active tokens of these hashes (a leak report) for `by`, with
/// `cause`, in one transaction. Returns them.
pub async fn revoke_by_hashes(
    db: &Db,
    hashes: &[String],
    cause: &str,
    now: i64,
    who: &Who,
) -> Result<Vec<AccessToken>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let mut revoked = Vec::new();
    let mut texts = Vec::new();
    for chunk in hashes.chunks(500) {
        let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 4)).collect();
        let sql = format!(
            "UPDATE access_tokens SET revoked = 1, revoked_at = $1, revoked_by = $2, \
             revoke_cause = $3 WHERE revoked = 0 AND token_hash IN ({}) RETURNING {}, search_text",
            list.join(", "),
            columns!()
        );
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(now)
            .bind(&who.actor)
            .bind(cause);
        for hash in chunk {
            query = query.bind(hash);
        }
        for row in query.fetch_all(&mut *tx).await? {
            texts.push(Revoked::from_row(&row)?);
            revoked.push(AccessToken::from_row(&row)?);
        }
    }
    count_revoked(&mut tx, &texts, who).await?;
    tx.commit().await?;
    Ok(revoked)
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
    pub expires_at: Option<i64>,
    /// The networks it may be used from, as stored.
    pub allowed_cidrs: String,
    pub user: User,
}

pub async fn find_for_auth(db: &Db, hash: &TokenHash) -> Result<Option<AuthRow>, sqlx::Error> {
    use sqlx::{FromRow, Row};
    let row = sqlx::query(
        "SELECT t.id AS token_id, t.token_hash, t.revoked, t.revoked_at, \
         t.revoked_because_user_deleted, t.scopes, t.created_at AS token_created_at, \
         t.expires_at, t.allowed_cidrs, u.deleted_at, \
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
        expires_at: row.try_get("expires_at")?,
        allowed_cidrs: row.try_get("allowed_cidrs")?,
        user: User::from_row(&row)?,
    }))
}

/// One token's uses, for [`touch_last_used`]: its id, the newest use, the
/// client addresses (newest first) and the last user agent.
pub type Touch<'a> = (i64, i64, &'a [IpAddr], Option<&'a str>);

/// Records uses of tokens, in the caller's transaction: `last_used_at` moves
/// forward only (instances flushing the same token in any order keep the
/// newest time); the addresses go in front of those kept; the user agent is
/// the last seen. Addresses are searchable, so a token whose addresses
/// change gets its search text and grams updated with them.
pub async fn touch_last_used(
    tx: &mut Transaction<'_, Any>,
    touches: &[Touch<'_>],
) -> Result<(), sqlx::Error> {
    let mut texts = Vec::new();
    for &(id, at, ips, user_agent) in touches {
        let row: Option<(String, String, String, String, String, i64)> = sqlx::query_as(
            "SELECT last_used_ips, search_text, description, username, scopes, revoked \
             FROM access_tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((stored, old_text, description, username, scopes, revoked)) = row else {
            continue;
        };
        let merged = merge_ips(&stored, ips);
        // The search text (and so the trigram index) is written only when
        // the addresses change, not on every flush of a busy token.
        let text = (merged != stored)
            .then(|| grams::search_text(&description, &username, &scopes, &merged));
        sqlx::query(
            "UPDATE access_tokens SET \
             last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $1 THEN $1 ELSE last_used_at END, \
             last_used_ips = $2, last_used_user_agent = COALESCE($3, last_used_user_agent) \
             WHERE id = $4",
        )
        .bind(at)
        .bind(&merged)
        .bind(user_agent)
        .bind(id)
        .execute(&mut **tx)
        .await?;
        if let Some(text) = text {
            sqlx::query("UPDATE access_tokens SET search_text = $1 WHERE id = $2")
                .bind(&text)
                .bind(id)
                .execute(&mut **tx)
                .await?;
            texts.push((id, old_text, text, revoked != 0));
        }
    }
    let changes: Vec<GramChange> = texts
        .iter()
        .flat_map(|(id, old, new, revoked)| {
            [
                GramChange::removed(*id, old, *revoked),
                GramChange::inserted(*id, new, *revoked),
            ]
        })
        .collect();
    grams::apply(tx, &changes).await
}

/// Moves just-revoked tokens from the active to the revoked counts of
/// `token_grams`, and records their revocation by `who`, in the caller's
/// transaction.
async fn count_revoked(
    tx: &mut Transaction<'_, Any>,
    revoked: &[Revoked],
    who: &Who,
) -> Result<(), sqlx::Error> {
    let changes: Vec<_> = revoked
        .iter()
        .map(|r| GramChange::revoked(r.id, &r.search_text))
        .collect();
    grams::apply(tx, &changes).await?;
    let events: Vec<_> = revoked.iter().map(|r| revoked_event(who, r)).collect();
    audit::record(tx, &events).await
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
    now: i64,
    who: &Who,
) -> Result<u64, sqlx::Error> {
    let by = &who.actor;
    let revoked: Vec<Revoked> = sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE access_tokens SET revoked = 1, revoked_at = $1, revoked_by = $2, revoke_cause = $3 \
         WHERE user_id = $4 AND revoked = 0 RETURNING {REVOKED}"
    )))
    .bind(now)
    .bind(by)
    .bind(format!("Revoked because user was deleted by {by}"))
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    count_revoked(tx, &revoked, who).await?;
    sqlx::query("UPDATE access_tokens SET revoked_because_user_deleted = 1 WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(revoked.len() as u64)
}

/// How many tokens are active, expired and revoked at `now`.
pub async fn state_counts(db: &Db, now: i64) -> Result<[i64; 3], sqlx::Error> {
    let mut out = [0; 3];
    for (slot, filter) in out.iter_mut().zip([
        TokenFilter::Active,
        TokenFilter::Expired,
        TokenFilter::Revoked,
    ]) {
        let sql = format!(
            "SELECT COUNT(*) FROM access_tokens WHERE $1 = $1{}",
            state_condition(filter, "access_tokens", "$1")
        );
        *slot = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(now)
            .fetch_one(&db.pool)
            .await?;
    }
    Ok(out)
}

/// Active tokens per user id.
pub async fn active_counts(
    db: &Db,
    now: i64,
) -> Result<std::collections::HashMap<i64, i64>, sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT user_id, COUNT(*) FROM access_tokens WHERE 1 = 1{} GROUP BY user_id",
        state_condition(TokenFilter::Active, "access_tokens", "$1")
    )))
    .bind(now)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.into_iter().collect())
}

/// A token carrying a scope being deleted: id, scopes, revoked, search
/// text, description, username, last-used addresses, owner id.
type ScopedRow = (i64, String, i64, String, String, String, String, i64);

/// Removes service scope `name` (`NAME` and `NAME:read`) from every token
/// that carries it, in `tx`; an active token left with no scope is revoked
/// (`by`, `cause`). Returns how many tokens changed and how many of them were
/// revoked. A scope's tokens are found by a scan of the scopes column: a
/// rare admin action.
pub async fn drop_scope(
    tx: &mut Transaction<'_, Any>,
    db: &Db,
    name: &str,
    cause: &str,
    now: i64,
    who: &Who,
) -> Result<(u64, u64), sqlx::Error> {
    let lock = match db.dialect {
        Dialect::Sqlite => "",
        Dialect::Postgres => " FOR UPDATE",
    };
    // LIKE may match more (`_` is a wildcard); the grants decide.
    let rows: Vec<ScopedRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT id, scopes, revoked, search_text, description, username, last_used_ips, \
             user_id FROM access_tokens WHERE scopes LIKE $1 ORDER BY id{lock}"
    )))
    .bind(format!("%{name}%"))
    .fetch_all(&mut **tx)
    .await?;
    let (mut changed, mut revoked) = (0, 0);
    let mut texts = Vec::new();
    let mut retired = Vec::new();
    for (id, stored, was_revoked, old_text, description, username, ips, user_id) in &rows {
        let grants = Grants::from_stored(stored);
        let left = grants.without(name);
        if left == grants {
            continue;
        }
        changed += 1;
        let left = left.to_stored();
        let text = grams::search_text(description, username, &left, ips);
        let revoke = left.is_empty() && *was_revoked == 0;
        if revoke {
            sqlx::query(
                "UPDATE access_tokens SET scopes = '', search_text = $1, revoked = 1, \
                 revoked_at = $2, revoked_by = $3, revoke_cause = $4 WHERE id = $5",
            )
            .bind(&text)
            .bind(now)
            .bind(&who.actor)
            .bind(cause)
            .bind(id)
            .execute(&mut **tx)
            .await?;
            revoked += 1;
            retired.push(Revoked {
                id: *id,
                search_text: String::new(),
                username: username.clone(),
                user_id: *user_id,
                description: description.clone(),
                cause: Some(cause.to_string()),
            });
        } else {
            sqlx::query("UPDATE access_tokens SET scopes = $1, search_text = $2 WHERE id = $3")
                .bind(&left)
                .bind(&text)
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        texts.push((
            *id,
            old_text,
            *was_revoked != 0,
            text,
            revoke || *was_revoked != 0,
        ));
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
    let events: Vec<_> = retired.iter().map(|r| revoked_event(who, r)).collect();
    audit::record(tx, &events).await?;
    Ok((changed, revoked))
}
