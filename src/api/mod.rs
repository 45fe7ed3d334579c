//! Server functions: thin. They find the caller, call a service, map errors.

use crate::model::{AppError, UserView};
use leptos::prelude::*;

/// The signed-in user, or `None` for a visitor without a session.
#[server(prefix = "/go/fn", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    use crate::server::auth::page_user;
    Ok(page_user().await?.map(|u| u.view()))
}
