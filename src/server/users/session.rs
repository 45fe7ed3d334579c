//! Web sessions, kept in the database so every instance on it honours them.
//! The cookie carries 256 random bits; the database only their SHA-256.

use crate::server::audit::{self, Action, Event, Who};
use crate::server::db::Db;
use crate::server::identity::{AuthMethod, Origin, User};
use crate::server::time::now_millis;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{Any, Transaction};
use std::time::Duration;

pub const COOKIE_NAME: &str = "tollgate_session";
/// A session id is 43 base64url characters; anything far longer is not one.
const COOKIE_VALUE_MAX: usize = 64;

fn hash(id: &str) -> String {
    crate::server::sha256_hex(id.as_bytes())
}

/// Starts a session for `user`, signed in from `origin`, with its
/// `auth.signed_in` event; the returned secret goes into the cookie and
/// nowhere else.
pub async fn create(
    db: &Db,
    user: &User,
    ttl: Duration,
    origin: &Origin,
) -> Result<SecretString, sqlx::Error> {
    let user_id = user.id;
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let id = SecretString::from(URL_SAFE_NO_PAD.encode(raw));
    let now = now_millis();
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
    let mut tx = db.begin_write().await?;
    // Housekeeping while we are writing anyway: expired sessions are useless.
    sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(hash(id.expose_secret()))
    .bind(user_id)
    .bind(now)
    .bind(now.saturating_add(ttl_ms))
    .execute(&mut *tx)
    .await?;
    let who = Who::named(&user.login_name, AuthMethod::Session, origin.clone());
    let event = Event::new(&who, Action::SignedIn).user(&user.login_name, Some(user.id));
    audit::record(&mut tx, &[event]).await?;
    tx.commit().await?;
    Ok(id)
}

/// The enabled, live user of an unexpired session.
pub async fn user(db: &Db, id: &str) -> Result<Option<User>, sqlx::Error> {
    if id.is_empty() || id.len() > COOKIE_VALUE_MAX {
        return Ok(None);
    }
    sqlx::query_as::<_, User>(
        "SELECT u.id, u.login_name, u.display_name, u.email, u.email_me, u.checkin_aliases, \
         u.is_admin, u.enabled, u.created_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.deleted_at IS NULL AND u.enabled = $3",
    )
    .bind(hash(id))
    .bind(now_millis())
    .bind(crate::server::users::repo::flag(true))
    .fetch_optional(&db.pool)
    .await
}

/// Ends a session, with its `auth.signed_out` event when there was one.
pub async fn delete(db: &Db, id: &str, origin: &Origin) -> Result<(), sqlx::Error> {
    if id.is_empty() || id.len() > COOKIE_VALUE_MAX {
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    let ended: Option<(i64, String)> = sqlx::query_as(
        "DELETE FROM sessions WHERE id_hash = $1 RETURNING user_id, \
         (SELECT login_name FROM users WHERE users.id = sessions.user_id)",
    )
    .bind(hash(id))
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((user_id, login)) = ended {
        let who = Who::named(&login, AuthMethod::Session, origin.clone());
        let event = Event::new(&who, Action::SignedOut).user(&login, Some(user_id));
        audit::record(&mut tx, &[event]).await?;
    }
    tx.commit().await
}

/// Ends every session of a user but `keep` (a cookie's session id), in the
/// caller's transaction.
pub async fn delete_others(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
    keep: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
        .bind(user_id)
        .bind(keep.map(hash).unwrap_or_default())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn delete_for_user(
    tx: &mut Transaction<'_, Any>,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
