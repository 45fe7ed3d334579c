//! Who may call a token route, decided before anything else in the request
//! is read, as GoCD's filters do: a token on a token route gets 403
//! `Unsupported operation` and a non-admin on an admin route 403
//! `You are not authorized to access this resource!`, whatever the id, query
//! or body. The rules themselves are `Caller::refuse_bearer` and
//! `Caller::require_admin`; the services check them again.

use super::ApiError;
use crate::server::auth::Caller;
use crate::server::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// A caller on `/go/api/current_user/access_tokens/**`: signed in with a
/// password or a session, never a token.
pub struct TokenRoute(pub Caller);

/// A caller on `/go/api/admin/access_tokens/**`: an admin, never a token.
pub struct AdminRoute(pub Caller);

impl FromRequestParts<AppState> for TokenRoute {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.refuse_bearer()?;
        Ok(TokenRoute(caller))
    }
}

impl FromRequestParts<AppState> for AdminRoute {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        caller.require_admin()?;
        Ok(AdminRoute(caller))
    }
}
