//! The admin search term, parsed once at the edge.

use crate::model::Lines;
use crate::server::error::ServiceError;

/// Longest search query, in characters.
pub const SEARCH_MAX: usize = 256;

/// What an admin searches for: trimmed, lower-cased, without the control
/// characters a description cannot hold (NUL and the like, which FTS5 and
/// PostgreSQL refuse; line breaks and tabs stay, as in descriptions), at most
/// [`SEARCH_MAX`] characters, never blank. The queries may rely on all of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchTerm(String);

impl SearchTerm {
    /// `Ok(None)` for no search (absent, blank, or only control characters).
    pub fn parse(raw: Option<&str>) -> Result<Option<SearchTerm>, ServiceError> {
        let Some(raw) = raw else {
            return Ok(None);
        };
        let cleaned: String = raw.chars().filter(|&c| Lines::Multi.allows(c)).collect();
        let term = cleaned.trim();
        if term.chars().count() > SEARCH_MAX {
            return Err(ServiceError::BadRequest(format!(
                "The search query must be at most {SEARCH_MAX} characters."
            )));
        }
        Ok((!term.is_empty()).then(|| SearchTerm(term.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A quoted FTS5 phrase, which FTS5 reads literally.
pub fn fts_phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

/// LIKE pattern for a substring, with %, _ and \\ matching literally.
pub fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_trimmed_lowered_and_free_of_control_characters() {
        let t = |raw: &str| SearchTerm::parse(Some(raw)).unwrap().map(|t| t.0);
        assert_eq!(t("  DeP\0LoY\u{85} "), Some("deploy".into()));
        assert_eq!(t("\t\n\0"), None);
        assert_eq!(t("0\nb"), Some("0\nb".into()));
        assert_eq!(t(""), None);
        assert_eq!(SearchTerm::parse(None).unwrap(), None);
        assert_eq!(t("----"), Some("----".into()));
        assert!(SearchTerm::parse(Some(&"x".repeat(257))).is_err());
        assert!(SearchTerm::parse(Some(&format!("{}\0", "x".repeat(256)))).is_ok());
    }
}
