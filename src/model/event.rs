//! Usage events (SPEC.md section 1): parsing of event times, the range of
//! plausible times, and the text rule every stored value follows.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// The columns of a usage event, in storage order.
pub const EVENT_COLUMNS: [&str; 5] = ["event_time", "user_id", "module", "action", "client"];

/// The earliest accepted event time, 2000-01-01T00:00:00Z, in microseconds.
pub const EARLIEST_MICROS: i64 = 946_684_800_000_000;

/// The last instant with a four-digit year, 9999-12-31T23:59:59.999999Z:
/// the latest event time any import accepts, even with future times
/// allowed.
pub const LATEST_MICROS: i64 = 253_402_300_799_999_999;

/// The first local date a stored event may carry: an instant on or after
/// [`EARLIEST_MICROS`] is on 1999-12-31 or later in every time zone.
pub fn earliest_local_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1999, 12, 31).unwrap_or_default()
}

/// Parses an event time to microseconds since the epoch (UTC).
///
/// RFC 3339 with an offset (`2026-02-03T08:15:00+01:00`, `...Z`) is the
/// format to use. A time without an offset (`2026-02-03T08:15:00` or with a
/// space) is taken as UTC, because storage is UTC; it is never read in the
/// organisation's time zone. The year has four digits: chrono would also
/// take a sign and more digits (`+10000-01-01`), which no log writes.
pub fn parse_event_time(value: &str) -> Result<i64, String> {
    let bad = || format!("'{value}' is not a time (write RFC 3339, e.g. 2026-02-03T08:15:00Z)");
    let b = value.as_bytes();
    if b.len() < 10 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return Err(bad());
    }
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
    Err(bad())
}

/// The event times an import accepts (SPEC.md section 1): from
/// 2000-01-01 to a little after the moment of import, or to the end of
/// year 9999 when future times are allowed (for tests and migrations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    latest: i64,
    /// The allowance after now, for the message; `None`: future allowed.
    future_minutes: Option<u32>,
}

impl TimeRange {
    /// Times up to `max_future_minutes` after `now`.
    pub fn until(now: DateTime<Utc>, max_future_minutes: u32) -> TimeRange {
        let latest = now.timestamp_micros() + i64::from(max_future_minutes) * 60_000_000;
        TimeRange {
            latest: latest.min(LATEST_MICROS),
            future_minutes: Some(max_future_minutes),
        }
    }

    /// Any time with a four-digit year from 2000 on.
    pub fn future_allowed() -> TimeRange {
        TimeRange {
            latest: LATEST_MICROS,
            future_minutes: None,
        }
    }

    /// Times up to `latest` (microseconds), as [`TimeRange::latest`] gave
    /// it: the range an import had, for checking rows elsewhere (the
    /// cluster's). Its messages say nothing of the future allowance.
    pub fn up_to(latest: i64) -> TimeRange {
        TimeRange {
            latest: latest.min(LATEST_MICROS),
            future_minutes: None,
        }
    }

    /// The latest accepted time, in microseconds.
    pub fn latest(&self) -> i64 {
        self.latest
    }

    /// Refuses a time outside the range, saying why.
    pub fn check(&self, micros: i64) -> Result<i64, String> {
        let shown = || {
            DateTime::<Utc>::from_timestamp_micros(micros)
                .map_or_else(|| micros.to_string(), |t| t.to_rfc3339())
        };
        if micros < EARLIEST_MICROS {
            return Err(format!(
                "{} is before 2000-01-01: no CRM usage log goes back that far",
                shown()
            ));
        }
        if micros > self.latest {
            return Err(match self.future_minutes {
                Some(minutes) => format!(
                    "{} is more than {minutes} minutes after the time of import \
                     (import.max_future_minutes; --allow-future accepts future times)",
                    shown()
                ),
                None => format!("{} is after the year 9999", shown()),
            });
        }
        Ok(micros)
    }
}

/// The first control character of a text value, if any. Stored values
/// never contain one: they end up in CSV, HTML, PDF and query parameters
/// (where U+001F separates a scope's values).
pub fn control_character(value: &str) -> Option<char> {
    value.chars().find(|c| c.is_control())
}

/// Refuses a text value with a control character, naming it.
pub fn check_text(value: &str) -> Result<(), String> {
    match control_character(value) {
        Some(c) => Err(format!(
            "contains the control character U+{:04X}",
            u32::from(c)
        )),
        None => Ok(()),
    }
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

    #[test]
    fn years_have_four_digits() {
        for bad in [
            "+10000-01-01T00:00:00",
            "+10000-01-01T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "-0001-05-01T00:00:00Z",
            "+2026-05-01T00:00:00Z",
            "826-05-01T00:00:00Z",
        ] {
            assert!(parse_event_time(bad).is_err(), "{bad}");
        }
        assert!(parse_event_time("9999-12-31T23:59:59Z").is_ok());
    }

    #[test]
    fn plausible_times() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .expect("now")
            .with_timezone(&Utc);
        let range = TimeRange::until(now, 60);
        let t = |s: &str| parse_event_time(s).expect("time");
        assert!(range.check(t("2000-01-01T00:00:00Z")).is_ok());
        let before = range.check(t("1999-12-31T23:59:59Z")).expect_err("before");
        assert!(before.contains("before 2000-01-01"), "{before}");
        assert!(range.check(t("2026-12-01T13:00:00Z")).is_ok());
        let future = range.check(t("2026-12-01T13:00:01Z")).expect_err("future");
        assert!(future.contains("60 minutes after"), "{future}");
        assert!(range.check(t("2100-01-01T00:00:00Z")).is_err());
        let allowed = TimeRange::future_allowed();
        assert!(allowed.check(t("2100-01-01T00:00:00Z")).is_ok());
        assert!(allowed.check(t("1969-12-31T00:00:00Z")).is_err());
        assert!(allowed.check(LATEST_MICROS + 1).is_err());
    }

    #[test]
    fn control_characters_are_named() {
        assert_eq!(check_text("Sales"), Ok(()));
        assert_eq!(check_text("Käufer & Co"), Ok(()));
        let e = check_text("DACH\u{1f}Nordics").expect_err("separator");
        assert!(e.contains("U+001F"), "{e}");
        assert!(check_text("a\nb").is_err());
        assert!(check_text("\u{7f}").is_err());
    }
}
