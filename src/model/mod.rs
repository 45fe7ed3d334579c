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
    /// A request the server could not even read (malformed arguments).
    #[error("Bad request: {0}")]
    BadRequest(String),
    #[error("The service is temporarily unavailable. Please try again.")]
    Unavailable,
    /// Anything else, including transport errors between browser and server.
    #[error("Something went wrong: {0}")]
    Internal(String),
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        let error = match value {
            E::Args(m) | E::Deserialization(m) | E::MissingArg(m) => AppError::BadRequest(m),
            other => AppError::Internal(other.to_string()),
        };
        // On the server this is how arguments that cannot be read become an
        // error before the function runs: give it its status too.
        #[cfg(feature = "ssr")]
        error.set_response_status();
        error
    }
}

impl AppError {
    /// The HTTP status a server function answers with this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Invalid(_) => 422,
            AppError::Conflict(_) => 409,
            AppError::BadRequest(_) => 400,
            AppError::Unavailable => 503,
            AppError::Internal(_) => 500,
        }
    }

    /// Server side, inside a server function: its response carries this
    /// error's status (server functions answer every error with 500
    /// otherwise). The browser decodes any 4xx or 5xx the same way.
    #[cfg(feature = "ssr")]
    pub fn set_response_status(&self) {
        use leptos::prelude::use_context;
        if let (Some(response), Ok(status)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            axum::http::StatusCode::from_u16(self.status()),
        ) {
            response.set_status(status);
        }
    }
}

/// Server side: runs a server function's body; an error answers with its status.
#[cfg(feature = "ssr")]
pub async fn answer<T>(
    body: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    let result = body.await;
    if let Err(e) = &result {
        e.set_response_status();
    }
    result
}

/// An access token: its one shape, for the pages (server functions) and the
/// REST API alike (GoCD's field names; `rest::tokens::token_json` adds the
/// links). Never carries the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub description: String,
    pub username: String,
    /// ISO-8601 UTC, `2019-02-20T10:45:10Z`.
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
    pub revoke_cause: Option<String>,
    pub revoked_because_user_deleted: bool,
    /// What the token opens: `api`, `read_api`, `introspect`, `NAME` or
    /// `NAME:read` (tollgate's addition; GoCD's tokens are all `api`).
    pub scopes: Vec<String>,
}

/// A token just created: the only time the secret leaves the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: TokenView,
    pub secret: String,
}

/// A page of the admin token list, with per-tab counts on the first page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTokenPage {
    pub tokens: Vec<TokenView>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<String>,
    /// Matches per tab, capped at [`COUNT_CAP`]; only on the first page.
    pub counts: Option<(i64, i64)>,
}

/// Counts at this or above are shown as "100+": enough to say "refine the
/// search", and cheap to find out (counting to 1000 of a common term cost
/// 25-50 ms at a million tokens; see BENCHMARKS.md).
pub const COUNT_CAP: i64 = 100;
/// Rows per page of the admin list.
pub const ADMIN_PAGE_SIZE: i64 = 50;

/// A service scope an admin defined (tokens may be granted `NAME` or `NAME:read`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeView {
    pub name: String,
    pub description: String,
}

/// A user on the Users page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub login_name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub is_admin: bool,
    pub enabled: bool,
    pub active_tokens: i64,
}

/// Which tokens a list shows. GoCD's `filter` query parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenFilter {
    #[default]
    Active,
    Revoked,
    All,
}

impl TokenFilter {
    /// Parses GoCD's `filter`: blank means active; anything unknown is refused
    /// with GoCD's message.
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        match raw.map(str::trim).unwrap_or("") {
            "" | "active" => Ok(TokenFilter::Active),
            "revoked" => Ok(TokenFilter::Revoked),
            "all" => Ok(TokenFilter::All),
            other => {
                let shown: String = other.chars().filter(|c| !c.is_control()).take(64).collect();
                Err(format!(
                    "Value `{shown}` is not allowed for query parameter named `filter`. Valid values are active, all, revoked."
                ))
            }
        }
    }
}

/// Longest description and revoke cause, in characters.
pub const TOKEN_TEXT_MAX: usize = 1024;

/// What a text field may hold besides printable text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lines {
    /// Names, emails, aliases: no control character at all.
    Single,
    /// The textareas (description, revoke cause): line breaks and tabs too.
    Multi,
}

/// The one rule for control characters in text input: every character of
/// Unicode's `Cc` category (C0 including NUL, DEL, C1 including NEL) is
/// refused, except line feed, carriage return and tab in a [`Lines::Multi`]
/// field. Checked before any trimming, so that a trailing `\n` or `\u{85}`
/// is refused rather than silently dropped. Returns the first refused character.
pub fn refused_control(text: &str, lines: Lines) -> Option<char> {
    text.chars().find(|&c| !lines.allows(c))
}

impl Lines {
    /// Whether `c` may appear in such a field (see [`refused_control`]).
    pub fn allows(self, c: char) -> bool {
        !c.is_control() || (self == Lines::Multi && matches!(c, '\n' | '\r' | '\t'))
    }
}

/// The message for a refused control character, after the field's name.
pub fn control_message(lines: Lines) -> &'static str {
    match lines {
        Lines::Single => "must not contain control characters",
        Lines::Multi => "must not contain control characters other than line breaks and tabs",
    }
}

/// The URL the login page sends a visitor to after signing in.
pub const HOME_PATH: &str = "/go/access_tokens";
pub const LOGIN_PATH: &str = "/go/auth/login";
pub const LOGIN_SUBMIT_PATH: &str = "/go/auth/security_check";
/// Forward-auth for reverse proxies (`server::gate`).
pub const VERIFY_PATH: &str = "/go/auth/verify";
/// RFC 7662 token introspection (`server::gate`).
pub const INTROSPECT_PATH: &str = "/go/auth/introspect";
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
    fn token_filters() {
        assert_eq!(TokenFilter::parse(None), Ok(TokenFilter::Active));
        assert_eq!(TokenFilter::parse(Some("")), Ok(TokenFilter::Active));
        assert_eq!(
            TokenFilter::parse(Some("revoked")),
            Ok(TokenFilter::Revoked)
        );
        assert_eq!(TokenFilter::parse(Some("all")), Ok(TokenFilter::All));
        assert_eq!(
            TokenFilter::parse(Some("bad")),
            Err("Value `bad` is not allowed for query parameter named `filter`. Valid values are active, all, revoked.".into())
        );
    }

    #[test]
    fn control_characters() {
        for c in ['\0', '\u{1}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}'] {
            let text = format!("a{c}b");
            assert_eq!(refused_control(&text, Lines::Single), Some(c));
            assert_eq!(refused_control(&text, Lines::Multi), Some(c));
        }
        for c in ['\n', '\r', '\t'] {
            let text = format!("a{c}b");
            assert_eq!(refused_control(&text, Lines::Single), Some(c));
            assert_eq!(refused_control(&text, Lines::Multi), None);
        }
        // Printable text of any script, and format characters, are not controls.
        assert_eq!(
            refused_control("café 日本 \u{a0}\u{200d}", Lines::Single),
            None
        );
        assert_eq!(
            TokenFilter::parse(Some("x\u{1b}[31m")),
            Err("Value `x[31m` is not allowed for query parameter named `filter`. Valid values are active, all, revoked.".into())
        );
    }

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
