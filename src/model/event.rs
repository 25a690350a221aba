//! Usage events (SPEC.md section 1): parsing of event times.

use chrono::{DateTime, NaiveDateTime};

/// The columns of a usage event, in storage order.
pub const EVENT_COLUMNS: [&str; 5] = ["event_time", "user_id", "module", "action", "client"];

/// Parses an event time to microseconds since the epoch (UTC).
///
/// RFC 3339 with an offset (`2026-02-03T08:15:00+01:00`, `...Z`) is the
/// format to use. A time without an offset (`2026-02-03T08:15:00` or with a
/// space) is taken as UTC, because storage is UTC; it is never read in the
/// organisation's time zone.
pub fn parse_event_time(value: &str) -> Result<i64, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.timestamp_micros());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, format) {
            return Ok(t.and_utc().timestamp_micros());
        }
    }
    if let Ok(t) = DateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Ok(t.timestamp_micros());
    }
    Err(format!(
        "'{value}' is not a time (write RFC 3339, e.g. 2026-02-03T08:15:00Z)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times() {
        let z = parse_event_time("2026-02-03T08:15:00Z").expect("z");
        assert_eq!(parse_event_time("2026-02-03T09:15:00+01:00"), Ok(z));
        assert_eq!(parse_event_time("2026-02-03T08:15:00"), Ok(z));
        assert_eq!(parse_event_time("2026-02-03 08:15:00"), Ok(z));
        assert_eq!(parse_event_time("2026-02-03 09:15:00+01:00"), Ok(z));
        assert_eq!(parse_event_time("2026-02-03T08:15:00.5Z"), Ok(z + 500_000));
        assert!(parse_event_time("yesterday").is_err());
        assert!(parse_event_time("").is_err());
        assert!(parse_event_time("2026-02-30T08:15:00Z").is_err());
    }
}
