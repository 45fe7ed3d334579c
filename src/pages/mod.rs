//! One module per page.

mod account;
mod admin_tokens;
mod audit;
mod login;
mod scopes;
mod tokens;
mod users;

pub use account::{ChangePasswordPage, CHANGE_PASSWORD_PATH};
pub use admin_tokens::AdminTokensPage;
pub use audit::AuditLogPage;
pub use login::LoginPage;
pub use scopes::ScopesPage;
pub use tokens::TokensPage;
pub use users::UsersPage;

/// Percent-encodes a query parameter's value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
