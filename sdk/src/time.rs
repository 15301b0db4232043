//! Timestamps: the contract uses milliseconds since the Unix epoch, UTC.

use crate::{ConnectorError, Timestamp};

/// The current time, from the host's wall clock (for a webhook, it starts at the time the host
/// received the request, so a replay reads the original time). In a native test, the mock
/// host's clock when one is set.
pub fn now_millis() -> Timestamp {
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(now) = crate::native::now() {
        return now;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as Timestamp)
        .unwrap_or(0)
}

/// Parses an RFC 3339 date-time (`2026-11-22T10:15:00+01:00`, `...Z`, fractional seconds).
pub fn parse_rfc3339(value: &str) -> Result<Timestamp, ConnectorError> {
    chrono::DateTime::parse_from_rfc3339(value.trim())
        .map(|dt| dt.timestamp_millis())
        .map_err(|e| ConnectorError::BadRequest(format!("`{value}` is not an RFC 3339 date: {e}")))
}

/// Parses an RFC 2822 date, as in e-mail `Date:` headers.
pub fn parse_rfc2822(value: &str) -> Result<Timestamp, ConnectorError> {
    chrono::DateTime::parse_from_rfc2822(value.trim())
        .map(|dt| dt.timestamp_millis())
        .map_err(|e| ConnectorError::BadRequest(format!("`{value}` is not an RFC 2822 date: {e}")))
}

/// Formats a timestamp as RFC 3339 in UTC with whole seconds (`2026-11-25T10:00:00Z`), as
/// provider APIs take it in query parameters.
pub fn format_rfc3339(timestamp: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(timestamp)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Converts Unix seconds (Telegram's `date`, Mailgun's `timestamp`).
pub fn from_unix_seconds(seconds: i64) -> Timestamp {
    seconds.saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:01Z").unwrap(), 1000);
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00.5+01:00").unwrap(), 500);
        assert_eq!(parse_rfc2822("Thu, 01 Jan 1970 00:00:02 +0000").unwrap(), 2000);
        assert!(
            matches!(parse_rfc3339("yesterday"), Err(ConnectorError::BadRequest(m)) if m.contains("yesterday"))
        );
        assert_eq!(from_unix_seconds(1_700_000_000), 1_700_000_000_000);
        assert_eq!(format_rfc3339(1_795_600_800_500), "2026-11-25T10:00:00Z");
        assert_eq!(parse_rfc3339(&format_rfc3339(1_795_600_800_000)).unwrap(), 1_795_600_800_000);
    }
}
