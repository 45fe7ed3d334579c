//! Server functions: thin. They find the caller, call a service, map errors.
//! Each has a fixed endpoint under `/go/fn/`.

use crate::model::{AppError, CreatedToken, TokenFilter, TokenView, UserView};
use leptos::prelude::*;

/// The signed-in user, or `None` for a visitor without a session.
#[server(prefix = "/go/fn", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    use crate::server::auth::page_user;
    Ok(page_user().await?.map(|u| u.view()))
}

/// The caller's own tokens.
#[server(prefix = "/go/fn", endpoint = "list_tokens")]
pub async fn list_tokens(filter: TokenFilter) -> Result<Vec<TokenView>, AppError> {
    let (state, caller) = crate::server::auth::require_page_caller().await?;
    let tokens = state.tokens.list_own(&caller, filter).await?;
    Ok(tokens.iter().map(|t| t.view()).collect())
}

/// Mints a token; the secret is in the answer, this one time.
#[server(prefix = "/go/fn", endpoint = "create_token")]
pub async fn create_token(description: String) -> Result<CreatedToken, AppError> {
    let (state, caller) = crate::server::auth::require_page_caller().await?;
    let (token, plain) = state.tokens.create(&caller, &description).await?;
    Ok(CreatedToken {
        token: token.view(),
        secret: plain.expose().to_string(),
    })
}

/// Revokes one of the caller's own tokens, with an optional cause.
#[server(prefix = "/go/fn", endpoint = "revoke_token")]
pub async fn revoke_token(id: i64, cause: Option<String>) -> Result<TokenView, AppError> {
    let (state, caller) = crate::server::auth::require_page_caller().await?;
    let token = state
        .tokens
        .revoke_own(&caller, id, cause.as_deref())
        .await?;
    Ok(token.view())
}
