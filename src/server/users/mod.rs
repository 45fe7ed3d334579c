//! Users: who may sign in, and who is an admin.

pub mod password;
pub mod repo;
pub mod service;
pub mod session;

use crate::model::{control_message, refused_control, Lines, UserView};
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
    /// Surrounding spaces are trimmed; a control character anywhere (a
    /// trailing `\n` or `\t` included) is refused, never trimmed away.
    pub fn parse(raw: &str) -> Result<Self, ServiceError> {
        let name = single_line("login_name", raw)?;
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

/// One line of text (display name, email, a checkin alias): refused if it
/// holds any control character, checked before trimming so that none is
/// silently dropped; then trimmed of spaces.
pub fn single_line<'a>(field: &'static str, raw: &'a str) -> Result<&'a str, ServiceError> {
    if refused_control(raw, Lines::Single).is_some() {
        return Err(ServiceError::invalid(field, control_message(Lines::Single)));
    }
    Ok(raw.trim())
}

/// Parses an optional one-line text field ([`single_line`]) and bounds its
/// length; blank becomes `None`.
pub fn optional_text(
    field: &'static str,
    value: Option<&str>,
) -> Result<Option<String>, ServiceError> {
    match value.map(|v| single_line(field, v)).transpose()? {
        None | Some("") => Ok(None),
        Some(v) if v.chars().count() > TEXT_FIELD_MAX => Err(ServiceError::invalid(
            field,
            format!("must be at most {TEXT_FIELD_MAX} characters"),
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
        for bad in ["alice\n", "\talice", "alice\u{85}", "al\0ice", "alice\r\n"] {
            assert!(LoginName::parse(bad).is_err(), "{bad:?}");
        }
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
        assert!(optional_text("email", Some("a@b\n")).is_err());
        assert!(optional_text("display_name", Some("\u{85}Bob")).is_err());
        assert!(optional_text("display_name", Some("\t")).is_err());
    }
}
