//! Scopes: what a token opens, and the one rule that says whether a grant
//! lets a request through. A scope can only narrow a token, never widen it:
//! a token is still its owner's, with at most its owner's power.
//!
//! Grants are written `api` (tollgate's own API, every method the owner's
//! role allows), `read_api` (the same, GET and HEAD only), `introspect` (the
//! introspection endpoint), a service scope `NAME` defined by an admin (every
//! method) or `NAME:read` (safe methods only: GET, HEAD, OPTIONS).

use crate::server::error::ServiceError;

pub const API: &str = "api";
pub const READ_API: &str = "read_api";
pub const INTROSPECT: &str = "introspect";
/// The built-in scopes, which no admin can define.
pub const BUILT_IN: [&str; 3] = [API, READ_API, INTROSPECT];
/// A service scope's read-only grant: `NAME:read`.
const READ_SUFFIX: &str = ":read";
/// Longest service scope name.
pub const NAME_MAX: usize = 63;

/// Whether `name` is a valid service scope name: `[a-z0-9][a-z0-9_.-]{0,62}`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= NAME_MAX
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c))
}

/// Safe methods: the ones a read-only grant allows. `None` (the proxy did not
/// say which method) is not safe: fail closed.
fn is_safe(method: Option<&str>, with_options: bool) -> bool {
    match method.map(str::to_ascii_uppercase).as_deref() {
        Some("GET" | "HEAD") => true,
        Some("OPTIONS") => with_options,
        _ => false,
    }
}

/// A token's grants, in canonical (sorted, unique) order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grants(Vec<String>);

/// Why a grant does not let a request through: the message, and the scope
/// the request needs.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused {
    pub message: String,
    pub scope: String,
}

impl Grants {
    /// What a token gets when its creator names no scopes: GoCD's token.
    pub fn default_api() -> Grants {
        Grants(vec![API.to_string()])
    }

    /// Checks each grant against the built-in scopes and `defined` (the
    /// service scopes); an unknown or malformed one is a 422 naming it.
    pub fn parse<'a>(
        raw: impl IntoIterator<Item = &'a str>,
        defined: impl Fn(&str) -> bool,
    ) -> Result<Grants, ServiceError> {
        let mut grants = Vec::new();
        for grant in raw {
            let g = grant.trim();
            let name = g.strip_suffix(READ_SUFFIX).unwrap_or(g);
            let known = if BUILT_IN.contains(&g) {
                true
            } else if BUILT_IN.contains(&name) {
                return Err(ServiceError::invalid(
                    "scopes",
                    format!("`{g}` is not a scope: `{name}` has no read-only grant (use `read_api` for a read-only `api`)"),
                ));
            } else {
                valid_name(name) && defined(name)
            };
            if !known {
                let shown: String = g.chars().take(80).collect();
                return Err(ServiceError::invalid(
                    "scopes",
                    format!("unknown scope `{shown}`"),
                ));
            }
            grants.push(g.to_string());
        }
        if grants.is_empty() {
            return Err(ServiceError::invalid(
                "scopes",
                "must name at least one scope",
            ));
        }
        grants.sort();
        grants.dedup();
        Ok(Grants(grants))
    }

    /// As stored: space-separated. Stored grants were checked when stored.
    pub fn from_stored(stored: &str) -> Grants {
        Grants(stored.split_whitespace().map(str::to_string).collect())
    }

    pub fn to_stored(&self) -> String {
        self.0.join(" ")
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    pub fn has(&self, grant: &str) -> bool {
        self.0.iter().any(|g| g == grant)
    }

    /// Without any grant of service scope `name` (`NAME` or `NAME:read`).
    pub fn without(&self, name: &str) -> Grants {
        let read = format!("{name}{READ_SUFFIX}");
        Grants(
            self.0
                .iter()
                .filter(|g| *g != name && **g != read)
                .cloned()
                .collect(),
        )
    }

    /// The service scopes it names (`NAME` for `NAME` and `NAME:read`).
    pub fn service_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .0
            .iter()
            .filter(|g| !BUILT_IN.contains(&g.as_str()))
            .map(|g| g.strip_suffix(READ_SUFFIX).unwrap_or(g))
            .collect();
        names.dedup();
        names
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// tollgate's own API (`/go/api/**`, `cctray.xml`) with `method`.
    pub fn allow_api(&self, method: &str) -> Result<(), Refused> {
        if self.has(API) || (self.has(READ_API) && is_safe(Some(method), false)) {
            return Ok(());
        }
        let message = if self.has(READ_API) {
            format!("This token has the `{READ_API}` scope, which allows only GET and HEAD requests to the API; {method} needs the `{API}` scope.")
        } else {
            format!(
                "This token does not have the `{API}` or `{READ_API}` scope, which the API needs."
            )
        };
        Err(Refused {
            message,
            scope: API.to_string(),
        })
    }

    /// A service behind a proxy that needs scope `name`, for the original
    /// `method` (`None` when the proxy did not pass it).
    pub fn allow_service(&self, name: &str, method: Option<&str>) -> Result<(), Refused> {
        if self.has(name) {
            return Ok(());
        }
        let read = format!("{name}{READ_SUFFIX}");
        if !self.has(&read) {
            return Err(Refused {
                message: format!("This token does not have the `{name}` scope."),
                scope: name.to_string(),
            });
        }
        if is_safe(method, true) {
            return Ok(());
        }
        let message = match method {
            Some(m) => format!("This token has `{read}`, which allows only GET, HEAD and OPTIONS; {m} needs `{name}`."),
            None => format!("This token has `{read}`, and the proxy did not pass the request's method (X-Forwarded-Method or X-Original-Method), so only a full `{name}` grant is accepted."),
        };
        Err(Refused {
            message,
            scope: name.to_string(),
        })
    }

    /// Whether it may call the introspection endpoint.
    pub fn allow_introspect(&self) -> bool {
        self.has(INTROSPECT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(raw: &[&str]) -> Result<Grants, ServiceError> {
        Grants::parse(raw.iter().copied(), |n| n == "grafana" || n == "pkg.mirror")
    }

    #[test]
    fn names_follow_the_pattern() {
        for ok in [
            "a",
            "0",
            "grafana",
            "pkg.mirror",
            "a_b-c.d",
            &"x".repeat(63),
        ] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "A", "_a", "-a", "a b", "a:read", "é", &"x".repeat(64)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn grants_are_checked_and_canonical() {
        let g = grants(&["grafana:read", "api", "api", " pkg.mirror "]).unwrap();
        assert_eq!(g.to_stored(), "api grafana:read pkg.mirror");
        assert_eq!(Grants::from_stored(&g.to_stored()), g);
        for bad in [
            &["nope"][..],
            &["grafana:write"],
            &["api:read"],
            &["GRAFANA"],
            &[],
        ] {
            assert!(grants(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn read_grants_allow_safe_methods_only_and_fail_closed() {
        let g = grants(&["grafana:read", "read_api"]).unwrap();
        assert!(g.allow_service("grafana", Some("GET")).is_ok());
        assert!(g.allow_service("grafana", Some("options")).is_ok());
        assert!(g.allow_service("grafana", Some("POST")).is_err());
        assert!(g.allow_service("grafana", None).is_err());
        assert!(g.allow_service("pkg.mirror", Some("GET")).is_err());
        assert!(g.allow_api("GET").is_ok());
        assert!(g.allow_api("HEAD").is_ok());
        assert!(g.allow_api("DELETE").is_err());
        let full = grants(&["grafana", "api"]).unwrap();
        assert!(full.allow_service("grafana", None).is_ok());
        assert!(full.allow_api("PATCH").is_ok());
        assert!(!full.allow_introspect());
        let svc = grants(&["grafana"]).unwrap();
        assert_eq!(svc.allow_api("GET").unwrap_err().scope, "api");
        assert!(svc.without("grafana").is_empty());
    }
}
