//! Times are stored as milliseconds since the Unix epoch (BIGINT on every backend)
//! and shown as ISO-8601 UTC without fractions, as GoCD does.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

/// `2019-02-20T10:45:10Z`
pub fn iso(millis: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn iso_has_no_fraction() {
        assert_eq!(super::iso(1_550_659_510_123), "2019-02-20T10:45:10Z");
    }
}
