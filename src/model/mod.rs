//! Types shared by the server and the browser.

use serde::{Deserialize, Serialize};

/// The signed-in user, as the pages see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub login_name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub is_admin: bool,
    pub enabled: bool,
}

/// The one error type that crosses from server functions to the pages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// No valid session: the page should send the visitor to the login page.
    #[error("Your session has expired. Please log in again.")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// Input the server refused, with a message fit to show next to the form.
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("The service is temporarily unavailable. Please try again.")]
    Unavailable,
    /// Anything else, including transport errors between browser and server.
    #[error("Something went wrong: {0}")]
    Internal(String),
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Internal(value.to_string())
    }
}

/// The URL the login page sends a visitor to after signing in.
pub const HOME_PATH: &str = "/go/access_tokens";
pub const LOGIN_PATH: &str = "/go/auth/login";
pub const LOGIN_SUBMIT_PATH: &str = "/go/auth/security_check";
pub const LOGOUT_PATH: &str = "/go/auth/logout";

/// Only local absolute paths are followed after login, never another origin.
pub fn safe_redirect_target(target: Option<&str>) -> &str {
    match target {
        Some(t)
            if t.starts_with('/')
                && !t.starts_with("//")
                && !t.starts_with("/\\")
                && t.len() <= 2048
                && !t.chars().any(|c| c.is_control()) =>
        {
            t
        }
        _ => HOME_PATH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets_stay_local() {
        assert_eq!(
            safe_redirect_target(Some("/go/admin/users")),
            "/go/admin/users"
        );
        assert_eq!(safe_redirect_target(Some("//evil.example/")), HOME_PATH);
        assert_eq!(safe_redirect_target(Some("/\\evil.example")), HOME_PATH);
        assert_eq!(
            safe_redirect_target(Some("https://evil.example/")),
            HOME_PATH
        );
        assert_eq!(safe_redirect_target(Some("/a\nb")), HOME_PATH);
        assert_eq!(safe_redirect_target(None), HOME_PATH);
    }
}
