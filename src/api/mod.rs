//! Server functions: thin. They find the caller, call a service, map errors.
//! Each has a fixed endpoint under `/go/fn/`.

#[cfg(feature = "ssr")]
use crate::model::answer;
use crate::model::{
    AdminTokenPage, AppError, AuditPage, CreatedToken, LifetimePolicy, ScopeView, TokenFilter,
    TokenView, UserRow, UserView,
};
use leptos::prelude::*;

/// The signed-in user, or `None` for a visitor without a session.
#[server(prefix = "/go/fn", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    answer(async move {
        use crate::server::auth::page_user;
        Ok(page_user().await?.map(|u| u.view()))
    })
    .await
}

/// The caller's own tokens.
#[server(prefix = "/go/fn", endpoint = "list_tokens")]
pub async fn list_tokens(filter: TokenFilter) -> Result<Vec<TokenView>, AppError> {
    answer(async move {
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let tokens = state.tokens.list_own(&caller, filter).await?;
        Ok(tokens.iter().map(|t| t.view()).collect())
    })
    .await
}

/// Mints a token with the scopes chosen (`None`: `api`), the networks
/// (`None`: anywhere) and an expiry: `expires_at` (as the REST API takes
/// it), or `expires_in_days` from now, or `expires_on` (`YYYY-MM-DD`, through
/// the end of that day, UTC); none of them: the policy's. The secret is in
/// the answer, this one time.
#[server(prefix = "/go/fn", endpoint = "create_token")]
pub async fn create_token(
    description: String,
    scopes: Option<Vec<String>>,
    expires_at: Option<String>,
    expires_in_days: Option<u32>,
    expires_on: Option<String>,
    allowed_cidrs: Option<Vec<String>>,
) -> Result<CreatedToken, AppError> {
    answer(async move {
        use crate::server::time::{iso, now_millis, DAY_MILLIS};
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let expires_at = expires_at
            .or_else(|| expires_in_days.map(|d| iso(now_millis() + i64::from(d) * DAY_MILLIS)))
            .or_else(|| expires_on.map(|day| format!("{}T23:59:59Z", day.trim())));
        let ask = crate::server::tokens::service::TokenRequest {
            description,
            scopes,
            expires_at,
            allowed_cidrs,
        };
        let (token, plain) = state.tokens.create_with(&caller, &ask).await?;
        Ok(CreatedToken {
            token: token.view(),
            secret: plain.expose().to_string(),
        })
    })
    .await
}

/// Replaces one of the caller's tokens with a new one like it (Regenerate);
/// the new secret is in the answer, this one time.
#[server(prefix = "/go/fn", endpoint = "rotate_token")]
pub async fn rotate_token(id: i64) -> Result<CreatedToken, AppError> {
    answer(async move {
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let (token, plain) = state.tokens.rotate_own(&caller, id).await?;
        Ok(CreatedToken {
            token: token.view(),
            secret: plain.expose().to_string(),
        })
    })
    .await
}

/// The token lifetime policy in force (for the Generate dialog and the
/// admin tokens page).
#[server(prefix = "/go/fn", endpoint = "token_policy")]
pub async fn token_policy() -> Result<LifetimePolicy, AppError> {
    answer(async move {
        let (state, _caller) = crate::server::auth::require_page_caller().await?;
        Ok(LifetimePolicy {
            max_days: state.tokens.lifetime().max_days,
        })
    })
    .await
}

/// The service scopes a token may be granted (for the Generate dialog).
#[server(prefix = "/go/fn", endpoint = "list_scopes")]
pub async fn list_scopes() -> Result<Vec<ScopeView>, AppError> {
    answer(async move {
        let (state, _caller) = crate::server::auth::require_page_caller().await?;
        let scopes = crate::server::scopes::available(&state.db).await?;
        Ok(scopes.iter().map(|s| s.view()).collect())
    })
    .await
}

/// Admin: defines a service scope.
#[server(prefix = "/go/fn", endpoint = "admin_add_scope")]
pub async fn admin_add_scope(name: String, description: String) -> Result<ScopeView, AppError> {
    answer(async move {
        use crate::server::users::Actor;
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let actor = Actor::from(caller);
        let scope = crate::server::scopes::add(&state.db, &actor, &name, &description);
        Ok(scope.await?.view())
    })
    .await
}

/// Admin: deletes a service scope; answers (tokens it was removed from,
/// tokens revoked because it was their last scope).
#[server(prefix = "/go/fn", endpoint = "admin_delete_scope")]
pub async fn admin_delete_scope(name: String) -> Result<(u64, u64), AppError> {
    answer(async move {
        use crate::server::users::Actor;
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let actor = Actor::from(caller);
        let done = crate::server::scopes::delete(&state.db, &state.auth_cache, &actor, &name);
        let done = done.await?;
        Ok((done.tokens, done.revoked))
    })
    .await
}

/// Revokes one of the caller's own tokens, with an optional cause.
#[server(prefix = "/go/fn", endpoint = "revoke_token")]
pub async fn revoke_token(id: i64, cause: Option<String>) -> Result<TokenView, AppError> {
    answer(async move {
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let revoked = state.tokens.revoke_own(&caller, id, cause.as_deref());
        Ok(revoked.await?.view())
    })
    .await
}

/// Admin: everyone's tokens, a page at a time, searched on the server.
#[server(prefix = "/go/fn", endpoint = "admin_list_tokens")]
pub async fn admin_list_tokens(
    filter: TokenFilter,
    q: String,
    after: Option<String>,
) -> Result<AdminTokenPage, AppError> {
    answer(async move {
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let (page, counts) = state.tokens.admin_page(&caller, filter, &q, after).await?;
        Ok(AdminTokenPage {
            tokens: page.tokens.iter().map(|t| t.view()).collect(),
            next: page.next,
            counts,
        })
    })
    .await
}

/// Admin: revokes anyone's token.
#[server(prefix = "/go/fn", endpoint = "admin_revoke_token")]
pub async fn admin_revoke_token(id: i64, cause: Option<String>) -> Result<TokenView, AppError> {
    answer(async move {
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let revoked = state.tokens.admin_revoke(&caller, id, cause.as_deref());
        Ok(revoked.await?.view())
    })
    .await
}

/// Admin: users, with their active token counts.
#[server(prefix = "/go/fn", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    answer(async move {
        use crate::server::users::{service, Actor};
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let rows = service::list_with_active_tokens(&state.db, &Actor::from(caller)).await?;
        Ok(rows
            .into_iter()
            .map(|(u, active_tokens)| UserRow {
                login_name: u.login_name,
                display_name: u.display_name,
                email: u.email,
                is_admin: u.is_admin,
                enabled: u.enabled,
                active_tokens,
            })
            .collect())
    })
    .await
}

/// Admin: adds a user who can sign in with the password given.
#[server(prefix = "/go/fn", endpoint = "add_user")]
pub async fn add_user(
    login_name: String,
    display_name: String,
    email: String,
    password: String,
    admin: bool,
) -> Result<UserView, AppError> {
    answer(async move {
        use crate::server::users::{service, Actor};
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let new = service::NewUser {
            login_name,
            display_name: Some(display_name),
            email: Some(email),
            email_me: false,
            checkin_aliases: vec![],
            password: Some(password.into()),
            admin,
            enabled: true,
        };
        Ok(service::create(&state.db, &Actor::from(caller), new)
            .await?
            .view())
    })
    .await
}

/// Admin: enables or disables a user.
#[server(prefix = "/go/fn", endpoint = "set_user_enabled")]
pub async fn set_user_enabled(login_name: String, enabled: bool) -> Result<UserView, AppError> {
    answer(async move {
        use crate::server::users::{service, Actor};
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let patch = service::UserPatch {
            enabled: Some(enabled),
            ..Default::default()
        };
        Ok(service::update(
            &state.db,
            &state.auth_cache,
            &Actor::from(caller),
            &login_name,
            patch,
        )
        .await?
        .view())
    })
    .await
}

/// Admin: deletes a disabled user for good, revoking their tokens. Returns how
/// many active tokens were revoked.
#[server(prefix = "/go/fn", endpoint = "delete_user")]
pub async fn delete_user(login_name: String) -> Result<u64, AppError> {
    answer(async move {
        use crate::server::users::{service, Actor};
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let (_, revoked) = service::delete(
            &state.db,
            &state.auth_cache,
            &Actor::from(caller),
            &login_name,
        )
        .await?;
        Ok(revoked)
    })
    .await
}

/// A page of the Audit Log, newest first (admins): a search of actor, target
/// user, token id, action, address and details; an action or family
/// (`token`, `auth`, `user`, `scope`); a time range (dates or times); one
/// token's story.
#[server(prefix = "/go/fn", endpoint = "admin_audit_events")]
pub async fn admin_audit_events(
    q: String,
    action: String,
    since: String,
    until: String,
    token_id: Option<i64>,
    after: Option<String>,
) -> Result<AuditPage, AppError> {
    answer(async move {
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let query = crate::server::audit::AuditQuery {
            q: Some(q),
            action: Some(action),
            since: Some(since),
            until: Some(until),
            token_id: token_id.map(|id| id.to_string()),
            after,
            ..Default::default()
        };
        Ok(crate::server::audit::admin_page(&state.db, &caller, &query).await?)
    })
    .await
}

/// A page of the caller's own events (the Activity tab), newest first.
#[server(prefix = "/go/fn", endpoint = "my_audit_events")]
pub async fn my_audit_events(after: Option<String>) -> Result<AuditPage, AppError> {
    answer(async move {
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let query = crate::server::audit::AuditQuery {
            after,
            ..Default::default()
        };
        Ok(crate::server::audit::own_page(&state.db, &caller, &query).await?)
    })
    .await
}

/// The signed-in user changes their own password (Change password page):
/// the current one must be right, and their other sessions end. A wrong
/// current password counts as a failed sign-in for the client's throttle.
#[server(prefix = "/go/fn", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
) -> Result<(), AppError> {
    answer(async move {
        use crate::server::error::ServiceError;
        use crate::server::users::service;
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let parts: axum::http::request::Parts =
            use_context().ok_or_else(|| AppError::Internal("no request in context".into()))?;
        let session = crate::server::auth::session_id(&parts.headers);
        let client = caller
            .origin
            .ip
            .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
        let attempt = state.throttle.reserve(client).map_err(|wait| {
            AppError::TooManyRequests(format!(
                "Too many failed attempts. Try again in {} seconds.",
                crate::server::throttle::retry_after_secs(wait)
            ))
        })?;
        let changed = service::change_own_password(
            &state.db,
            &state.hasher,
            &caller,
            current_password.into(),
            new_password.into(),
            session.as_deref(),
        )
        .await;
        match changed {
            Ok(true) => {
                attempt.refund();
                Ok(())
            }
            // The unit stays taken: a wrong password is a failed attempt.
            Ok(false) => Err(ServiceError::invalid(
                "current_password",
                service::WRONG_CURRENT_PASSWORD,
            )
            .into()),
            Err(e) => {
                attempt.refund();
                Err(e.into())
            }
        }
    })
    .await
}

/// Admin: sets another user's password (Reset password); their sessions end.
#[server(prefix = "/go/fn", endpoint = "reset_user_password")]
pub async fn reset_user_password(login_name: String, password: String) -> Result<(), AppError> {
    answer(async move {
        use crate::server::users::{service, Actor};
        let (state, caller) = crate::server::auth::require_page_caller().await?;
        let patch = service::UserPatch {
            password: Some(password.into()),
            ..Default::default()
        };
        service::update(
            &state.db,
            &state.auth_cache,
            &Actor::from(caller),
            &login_name,
            patch,
        )
        .await?;
        Ok(())
    })
    .await
}
