//! Token lifetimes (issue 14): the expiry a new or rotated token gets under
//! the administrator's maximum, and where a token was last used from.

use super::AccessToken;
use crate::server::error::ServiceError;
use crate::server::time::{iso, parse_iso, DAY_MILLIS};
use std::net::IpAddr;

/// Distinct client addresses kept per token.
pub const LAST_IPS: usize = 5;
pub use crate::server::identity::{user_agent, USER_AGENT_MAX};

/// The lifetime policy: the longest a token may live, if there is a maximum.
#[derive(Clone, Copy, Debug, Default)]
pub struct Lifetime {
    pub max_days: Option<u32>,
}

impl Lifetime {
    fn max_millis(&self) -> Option<i64> {
        self.max_days.map(|d| i64::from(d) * DAY_MILLIS)
    }

    /// The expiry of a token created `now`: the one asked for (in the future,
    /// and within the maximum), else the maximum, else never.
    pub fn expiry(&self, requested: Option<&str>, now: i64) -> Result<Option<i64>, ServiceError> {
        let Some(raw) = requested.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(self.max_millis().map(|m| now + m));
        };
        let at = parse_iso(raw).ok_or_else(|| {
            ServiceError::invalid(
                "expires_at",
                "must be a time in the format of created_at, like 2027-01-31T00:00:00Z",
            )
        })?;
        if at <= now {
            return Err(ServiceError::invalid("expires_at", "must be in the future"));
        }
        if let (Some(max), Some(days)) = (self.max_millis(), self.max_days) {
            if at > now + max {
                return Err(ServiceError::invalid(
                    "expires_at",
                    format!(
                        "must be at most {days} days from now (the administrator's maximum): {} or earlier",
                        iso(now + max)
                    ),
                ));
            }
        }
        Ok(Some(at))
    }

    /// The expiry of the token that replaces `old` at `now`: a lifetime as
    /// long as the old one's, within the maximum; never, if the old one
    /// never expired and there is no maximum.
    pub fn rotated(&self, old: &AccessToken, now: i64) -> Option<i64> {
        let lifetime = old.expires_at.map(|e| (e - old.created_at).max(1000));
        match (lifetime, self.max_millis()) {
            (Some(l), Some(m)) => Some(now + l.min(m)),
            (Some(l), None) => Some(now + l),
            (None, m) => m.map(|m| now + m),
        }
    }
}

/// Whether a token that expires at `expires_at` has expired at `now`.
pub fn is_expired(expires_at: Option<i64>, now: i64) -> bool {
    expires_at.is_some_and(|e| e <= now)
}

/// The stored addresses (space-separated, newest first) with `newest`
/// (newest first) in front: distinct, at most [`LAST_IPS`].
pub fn merge_ips(stored: &str, newest: &[IpAddr]) -> String {
    let mut out: Vec<String> = Vec::with_capacity(LAST_IPS);
    let fresh = newest.iter().map(IpAddr::to_string);
    for ip in fresh.chain(stored.split_whitespace().map(str::to_string)) {
        if out.len() == LAST_IPS {
            break;
        }
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn expiry_under_a_maximum() {
        let none = Lifetime::default();
        assert_eq!(none.expiry(None, NOW).unwrap(), None);
        let later = iso(NOW + 400 * DAY_MILLIS);
        assert_eq!(
            none.expiry(Some(&later), NOW).unwrap(),
            Some(NOW + 400 * DAY_MILLIS)
        );
        let max = Lifetime { max_days: Some(30) };
        assert_eq!(max.expiry(None, NOW).unwrap(), Some(NOW + 30 * DAY_MILLIS));
        let e = max.expiry(Some(&later), NOW).unwrap_err().to_string();
        assert!(e.contains("at most 30 days"), "{e}");
        let past = iso(NOW - 1000);
        assert!(max
            .expiry(Some(&past), NOW)
            .unwrap_err()
            .to_string()
            .contains("future"));
        assert!(none.expiry(Some("soon"), NOW).is_err());
        assert!(
            none.expiry(Some(&iso(NOW)), NOW).is_err(),
            "now is not the future"
        );
    }

    #[test]
    fn rotation_keeps_the_lifetime_within_the_maximum() {
        let mut old = AccessToken::sample();
        old.created_at = NOW - 50 * DAY_MILLIS;
        old.expires_at = Some(NOW - 10 * DAY_MILLIS);
        let none = Lifetime::default();
        assert_eq!(none.rotated(&old, NOW), Some(NOW + 40 * DAY_MILLIS));
        let max = Lifetime { max_days: Some(30) };
        assert_eq!(max.rotated(&old, NOW), Some(NOW + 30 * DAY_MILLIS));
        old.expires_at = None;
        assert_eq!(none.rotated(&old, NOW), None);
        assert_eq!(max.rotated(&old, NOW), Some(NOW + 30 * DAY_MILLIS));
    }

    #[test]
    fn last_ips_are_distinct_and_newest_first() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(merge_ips("", &[ip("10.0.0.1")]), "10.0.0.1");
        assert_eq!(
            merge_ips(
                "10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5",
                &[ip("10.0.0.4"), ip("::1")]
            ),
            "10.0.0.4 ::1 10.0.0.1 10.0.0.2 10.0.0.3"
        );
        assert_eq!(
            user_agent(&format!("curl\u{1b}/{}", "x".repeat(300)))
                .chars()
                .count(),
            256
        );
    }
}
