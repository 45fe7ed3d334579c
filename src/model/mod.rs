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
    /// Too many failed attempts from this client: wait, then try again.
    #[error("{0}")]
    TooManyRequests(String),
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
            AppError::TooManyRequests(_) => 429,
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
    /// When it stops working (ISO-8601 UTC); `None`: never.
    pub expires_at: Option<String>,
    /// Not revoked, but past its expiry.
    pub expired: bool,
    /// Active, and expires within [`EXPIRY_WARNING_DAYS`] (for the pages'
    /// warning; not in the REST API).
    pub expires_soon: bool,
    /// The token this one replaced by rotation.
    pub rotated_from: Option<i64>,
    /// The last distinct client addresses it was used from, newest first.
    pub last_used_ips: Vec<String>,
    pub last_used_user_agent: Option<String>,
    /// Networks it may be used from; empty: anywhere.
    pub allowed_cidrs: Vec<String>,
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
    pub counts: Option<TabCounts>,
}

/// How many tokens each tab of a list holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TabCounts {
    pub active: i64,
    pub expired: i64,
    pub revoked: i64,
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

/// One event of the audit log, as the pages and the API show it. Never
/// carries a secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEventView {
    pub id: i64,
    /// ISO-8601 UTC, as a token's `created_at`.
    pub at: String,
    /// Login name, `system`, or `operator` (the command line).
    pub actor: String,
    /// `session`, `basic`, `bearer`, `cli` or `system`.
    pub actor_method: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    /// One of [`AUDIT_ACTIONS`].
    pub action: String,
    pub target_user: Option<String>,
    pub target_token_id: Option<i64>,
    /// A small object: description, cause, scopes, changed fields.
    pub details: serde_json::Value,
}

/// A page of audit events, newest first, and where the next one starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEventView>,
    pub next: Option<String>,
}

/// Every action the audit log records.
pub const AUDIT_ACTIONS: [&str; 15] = [
    "token.created",
    "token.rotated",
    "token.revoked",
    "auth.signed_in",
    "auth.sign_in_failed",
    "auth.signed_out",
    "auth.throttled",
    "user.created",
    "user.updated",
    "user.enabled",
    "user.disabled",
    "user.password_changed",
    "user.deleted",
    "scope.created",
    "scope.deleted",
];

/// The action families the audit log filters by: what comes before the dot.
pub const AUDIT_FAMILIES: [&str; 4] = ["token", "auth", "user", "scope"];

/// Events per page of the Audit Log and the Activity tab.
pub const AUDIT_PAGE_SIZE: i64 = 50;

/// Which tokens a list shows. GoCD's `filter` query parameter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TokenFilter {
    #[default]
    Active,
    Revoked,
    /// Past their expiry and never revoked (tollgate's addition).
    Expired,
    All,
}

impl TokenFilter {
    /// Parses GoCD's `filter`: blank means active; anything unknown is refused
    /// with GoCD's message.
    pub fn parse(raw: Option<&str>) -> Result<Self, String> {
        match raw.map(str::trim).unwrap_or("") {
            "" | "active" => Ok(TokenFilter::Active),
            "revoked" => Ok(TokenFilter::Revoked),
            "expired" => Ok(TokenFilter::Expired),
            "all" => Ok(TokenFilter::All),
            other => {
                let shown: String = other.chars().filter(|c| !c.is_control()).take(64).collect();
                // GoCD's message, word for word (it predates `expired`).
                Err(format!(
                    "Value `{shown}` is not allowed for query parameter named `filter`. Valid values are active, all, revoked."
                ))
            }
        }
    }
}

/// Most networks one token's allowlist may name.
pub const ALLOWED_CIDRS_MAX: usize = 20;
/// The expiry choices the Generate dialog offers, in days.
pub const EXPIRY_PRESETS_DAYS: [u32; 5] = [7, 30, 60, 90, 365];
/// Tokens expiring this soon are named in the tokens page's banner.
pub const EXPIRY_WARNING_DAYS: i64 = 7;

/// One entry of a token's network allowlist: `10.0.0.0/8`, `2001:db8::/32`,
/// or a bare address (one host). The address and prefix length, or `None`.
/// The one parser of entries: the server's allowlist and the Generate
/// dialog's check as you type both use it.
pub fn parse_network(entry: &str) -> Option<(std::net::IpAddr, u8)> {
    let entry = entry.trim();
    let (addr, prefix) = match entry.split_once('/') {
        Some((a, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            (a, Some(p.parse::<u8>().ok()?))
        }
        Some(_) => return None,
        None => (entry, None),
    };
    let addr: std::net::IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = prefix.unwrap_or(max);
    (prefix <= max).then_some((addr, prefix))
}

/// The entries of an allowlist typed in one field, split at commas,
/// whitespace and line breaks.
pub fn network_entries(field: &str) -> Vec<String> {
    field
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// "Expires in 12 days", "Expired 3 hours ago": how far `delta_ms` (expiry
/// minus now) is, in words.
pub fn expiry_in_words(delta_ms: f64) -> String {
    let abs = delta_ms.abs();
    let (minute, hour, day) = (60_000.0, 3_600_000.0, 86_400_000.0);
    let plural = |n: f64, unit: &str| {
        let n = n.round().max(1.0) as i64;
        format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
    };
    let span = if abs >= day {
        plural(abs / day, "day")
    } else if abs >= hour {
        plural(abs / hour, "hour")
    } else if abs >= minute {
        plural(abs / minute, "minute")
    } else {
        "less than a minute".to_string()
    };
    if delta_ms > 0.0 {
        format!("Expires in {span}")
    } else {
        format!("Expired {span} ago")
    }
}

/// The token lifetime policy in force, for the pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifetimePolicy {
    /// The longest a token may live, in days; `None`: no maximum.
    pub max_days: Option<u32>,
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
    fn networks_and_expiry_words() {
        assert!(parse_network("10.0.0.0/8").is_some());
        assert!(parse_network(" 2001:db8::/32 ").is_some());
        assert_eq!(parse_network("10.1.2.3").map(|n| n.1), Some(32));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0/8",
            "example.com",
            "10.0.0.0/+8",
            "",
        ] {
            assert_eq!(parse_network(bad), None, "{bad}");
        }
        assert_eq!(
            network_entries("10.0.0.0/8, ::1\n192.168.0.1"),
            ["10.0.0.0/8", "::1", "192.168.0.1"]
        );
        let day = 86_400_000.0;
        assert_eq!(expiry_in_words(7.0 * day - 5.0), "Expires in 7 days");
        assert_eq!(expiry_in_words(-3.0 * day), "Expired 3 days ago");
        assert_eq!(expiry_in_words(3_600_000.0), "Expires in 1 hour");
        assert_eq!(expiry_in_words(10_000.0), "Expires in less than a minute");
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
