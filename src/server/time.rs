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

#[cfg(test)]
mod tests {
    #[test]
    fn iso_has_no_fraction() {
        assert_eq!(super::iso(1_550_659_510_123), "2019-02-20T10:45:10Z");
        assert_eq!(super::iso(0), "1970-01-01T00:00:00Z");
        assert!(super::now_millis() > 1_550_659_510_123);
    }
}
