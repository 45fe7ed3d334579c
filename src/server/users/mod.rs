//! Users: who may sign in, and who is an admin.

pub mod password;
pub mod repo;
pub mod service;

use crate::model::UserView;
use crate::server::error::ServiceError;
pub use crate::server::identity::{Actor, User};

impl User {
    pub fn view(&self) -> UserView {
        UserView {
            login_name: self.login_name.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            is_admin: self.is_admin,
            enabled: self.enabled,
        }
    }

    pub fn aliases(&self) -> Vec<String> {
        split_aliases(&self.checkin_aliases)
    }
}

pub fn split_aliases(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect()
}

pub const LOGIN_NAME_MAX: usize = 64;
pub const TEXT_FIELD_MAX: usize = 255;

/// A login name: 1 to 64 of letters, digits, `.`, `_`, `-` and `@`. Compared
/// case-insensitively; shown as it was entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginName(String);

impl LoginName {
    pub fn parse(raw: &str) -> Result<Self, ServiceError> {
        let name = raw.trim();
        let ok = !name.is_empty()
            && name.chars().count() <= LOGIN_NAME_MAX
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if ok {
            Ok(LoginName(name.to_string()))
        } else {
            Err(ServiceError::invalid(
                "login_name",
                format!(
                    "Login name must be 1 to {LOGIN_NAME_MAX} characters: letters, digits, '.', '_', '-' or '@'."
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn lower(&self) -> String {
        self.0.to_lowercase()
    }
}

/// Trims an optional text field and bounds its length; blank becomes `None`.
pub fn optional_text(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<String>, ServiceError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > TEXT_FIELD_MAX => Err(ServiceError::invalid(
            field,
            format!("{field} must be at most {TEXT_FIELD_MAX} characters."),
        )),
        Some(v) if v.chars().any(char::is_control) => Err(ServiceError::invalid(
            field,
            format!("{field} must not contain control characters."),
        )),
        Some(v) => Ok(Some(v.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_names() {
        assert_eq!(LoginName::parse(" Alice ").unwrap().as_str(), "Alice");
        assert_eq!(LoginName::parse("Alice").unwrap().lower(), "alice");
        assert!(LoginName::parse("bob.smith@example-1_x").is_ok());
        assert!(LoginName::parse("").is_err());
        assert!(LoginName::parse("a b").is_err());
        assert!(LoginName::parse("<script>").is_err());
        assert!(LoginName::parse(&"a".repeat(65)).is_err());
        assert!(LoginName::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn optional_text_bounds() {
        assert_eq!(optional_text("email", Some("  ")).unwrap(), None);
        assert_eq!(
            optional_text("email", Some(" a@b ")).unwrap().as_deref(),
            Some("a@b")
        );
        assert!(optional_text("email", Some(&"x".repeat(256))).is_err());
        assert!(optional_text("email", Some("a\nb")).is_err());
    }
}
