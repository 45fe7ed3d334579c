//! Times are stored as milliseconds since the Unix epoch (BIGINT on every backend)
//! and shown as ISO-8601 UTC without fractions, as GoCD does.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub fn now_millis() -> i64 {
    i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// `2019-02-20T10:45:10Z`
pub fn iso(millis: i64) -> String {
    OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

/// Reads a time in `created_at`'s format (`2027-01-31T00:00:00Z`; any
/// RFC 3339 offset is accepted), to whole seconds, as milliseconds.
pub fn parse_iso(raw: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(raw.trim(), &Rfc3339).ok()?;
    t.unix_timestamp().checked_mul(1000)
}

/// GitHub's `GitHub-Authentication-Token-Expiration` format:
/// `2027-01-31 00:00:00 UTC`.
pub fn github_format(millis: i64) -> String {
    let fmt =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    OffsetDateTime::from_unix_timestamp(millis.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&fmt).ok())
        .unwrap_or_default()
}

pub const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;

#[cfg(test)]
mod tests {
    #[test]
    fn iso_has_no_fraction() {
        assert_eq!(super::iso(1_550_659_510_123), "2019-02-20T10:45:10Z");
        assert_eq!(super::iso(0), "1970-01-01T00:00:00Z");
        assert!(super::now_millis() > 1_550_659_510_123);
    }

    #[test]
    fn expiry_formats() {
        assert_eq!(
            super::parse_iso("2019-02-20T10:45:10Z"),
            Some(1_550_659_510_000)
        );
        assert_eq!(
            super::parse_iso("2019-02-20T11:45:10+01:00"),
            Some(1_550_659_510_000)
        );
        assert_eq!(super::parse_iso("2019-02-20"), None);
        assert_eq!(super::parse_iso("tomorrow"), None);
        assert_eq!(
            super::github_format(1_550_659_510_123),
            "2019-02-20 10:45:10 UTC"
        );
    }
}
