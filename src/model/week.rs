//! ISO weeks and local dates: the only place that converts instants to
//! calendar dates of the organisation's time zone.
//!
//! Inside uptake a calendar date is a *day number* (days since 1970-01-01, as
//! Arrow's `Date32`) and a week is a *week number*: the number of ISO weeks
//! since the week of 1970-01-01 (which started on Monday 1969-12-29). With
//! that, the Monday of week `t` is day `7t - 3` and its Sunday is day
//! `7t + 3`, which is how the SQL in `queries/` compares dates with weeks.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, Offset, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// Day number of 1970-01-01.
const EPOCH_DAY_OFFSET_CE: i32 = 719_163;

/// A calendar date as days since 1970-01-01.
pub fn day_number(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - EPOCH_DAY_OFFSET_CE
}

/// The calendar date of a day number.
pub fn date_of_day(day: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(day + EPOCH_DAY_OFFSET_CE).unwrap_or(NaiveDate::MAX)
}

/// The week number containing a day number.
pub fn week_of_day(day: i32) -> i32 {
    (day + 3).div_euclid(7)
}

/// Day of week of a day number, 0 = Monday ... 6 = Sunday.
pub fn weekday_of_day(day: i32) -> u32 {
    (day + 3).rem_euclid(7) as u32
}

/// An ISO week (Monday to Sunday), written `2026-W07`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Week(i32);

impl Week {
    /// The week with this week number.
    pub fn from_number(number: i32) -> Self {
        Week(number)
    }

    /// The week containing a calendar date.
    pub fn containing(date: NaiveDate) -> Self {
        Week(week_of_day(day_number(date)))
    }

    /// Week number (ISO weeks since the week of 1970-01-01).
    pub fn number(self) -> i32 {
        self.0
    }

    pub fn monday(self) -> NaiveDate {
        date_of_day(self.0 * 7 - 3)
    }

    /// `sunday(t)` of SPEC.md: the last day of the week.
    pub fn sunday(self) -> NaiveDate {
        date_of_day(self.0 * 7 + 3)
    }

    pub fn offset(self, weeks: i32) -> Self {
        Week(self.0 + weeks)
    }

    /// The last complete ISO week before `now` in the time zone.
    pub fn last_complete(now: chrono::DateTime<chrono::Utc>, tz: chrono_tz::Tz) -> Week {
        Week::containing(now.with_timezone(&tz).date_naive()).offset(-1)
    }
}

impl fmt::Display for Week {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let iso = self.monday().iso_week();
        // Four digits, as FromStr reads them back (weeks of years below
        // 1000 do not occur in stored data, but a label must never be
        // ambiguous).
        write!(f, "{:04}-W{:02}", iso.year(), iso.week())
    }
}

/// Why a week label was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not an ISO week: write it like 2026-W07 (the week must exist in that year)")]
pub struct WeekParseError(pub String);

impl FromStr for Week {
    type Err = WeekParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || WeekParseError(s.to_string());
        let (year, week) = s.split_once("-W").ok_or_else(err)?;
        if year.len() != 4 || week.len() != 2 {
            return Err(err());
        }
        let year: i32 = year.parse().map_err(|_| err())?;
        let week: u32 = week.parse().map_err(|_| err())?;
        let monday = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(err)?;
        Ok(Week::containing(monday))
    }
}

/// Maps instants to local day numbers in one time zone.
///
/// Event imports call this for every event, so the UTC offset of the last
/// UTC hour seen is remembered; an hour in which the offset changes is
/// converted event by event, so the result is always the one chrono-tz gives.
pub struct LocalDays {
    tz: Tz,
    cached_hour: i64,
    cached_offset_secs: i64,
}

impl LocalDays {
    pub fn new(tz: Tz) -> Self {
        LocalDays {
            tz,
            cached_hour: i64::MIN,
            cached_offset_secs: 0,
        }
    }

    /// Local day number of an instant given in microseconds since the epoch.
    pub fn day_of_micros(&mut self, micros: i64) -> i32 {
        let secs = micros.div_euclid(1_000_000);
        let hour = secs.div_euclid(3600);
        if hour != self.cached_hour {
            self.cached_hour = hour;
            self.cached_offset_secs = stable_offset_seconds(self.tz, hour * 3600);
        }
        if self.cached_offset_secs == UNSTABLE {
            return Self::day_of_micros_exact(self.tz, micros);
        }
        (secs + self.cached_offset_secs).div_euclid(86_400) as i32
    }
}

/// Marks a UTC hour in which the zone's offset changes.
const UNSTABLE: i64 = i64::MIN;

/// UTC offset of the zone during the UTC hour starting at `secs`, or
/// [`UNSTABLE`] when it changes inside that hour (some historical transitions
/// fall on odd minutes); such hours are converted event by event.
fn stable_offset_seconds(tz: Tz, secs: i64) -> i64 {
    let utc = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
    let start = tz
        .offset_from_utc_datetime(&utc.naive_utc())
        .fix()
        .local_minus_utc() as i64;
    let end_utc = DateTime::<Utc>::from_timestamp(secs + 3599, 0).unwrap_or_default();
    let end = tz
        .offset_from_utc_datetime(&end_utc.naive_utc())
        .fix()
        .local_minus_utc() as i64;
    if start == end { start } else { UNSTABLE }
}

impl LocalDays {
    /// Exact local day of an instant, without the cache.
    pub fn day_of_micros_exact(tz: Tz, micros: i64) -> i32 {
        let secs = micros.div_euclid(1_000_000);
        let utc = DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
        day_number(utc.with_timezone(&tz).date_naive())
    }
}

/// Each licensee's time zone: the zone of their region where the settings'
/// `region_timezones` names one, else the organisation's (SPEC.md
/// section 1). Ids not in the directory take the organisation's.
#[derive(Debug, Clone)]
pub struct Zones {
    pub default: Tz,
    /// Users whose zone is not the default.
    pub by_user: std::collections::HashMap<String, Tz>,
}

impl Zones {
    /// One zone for everyone.
    pub fn single(tz: Tz) -> Zones {
        Zones {
            default: tz,
            by_user: Default::default(),
        }
    }

    /// The zone of a user.
    pub fn of(&self, user: &str) -> Tz {
        self.by_user.get(user).copied().unwrap_or(self.default)
    }
}

/// Maps instants to local day numbers in each user's zone ([`Zones`]), one
/// [`LocalDays`] per zone met.
pub struct LocalZones {
    zones: std::sync::Arc<Zones>,
    days: Vec<(Tz, LocalDays)>,
}

impl LocalZones {
    pub fn new(zones: std::sync::Arc<Zones>) -> LocalZones {
        let default = zones.default;
        LocalZones {
            zones,
            days: vec![(default, LocalDays::new(default))],
        }
    }

    /// The one zone's days when every user has the default zone.
    pub fn single(&mut self) -> Option<&mut LocalDays> {
        if self.zones.by_user.is_empty() {
            Some(&mut self.days[0].1)
        } else {
            None
        }
    }

    /// Local day number of an instant (microseconds since the epoch) for
    /// `user`.
    pub fn day_of_micros(&mut self, user: &str, micros: i64) -> i32 {
        let tz = if self.zones.by_user.is_empty() {
            self.zones.default
        } else {
            self.zones.of(user)
        };
        let at = match self.days.iter().position(|(z, _)| *z == tz) {
            Some(i) => i,
            None => {
                self.days.push((tz, LocalDays::new(tz)));
                self.days.len() - 1
            }
        };
        self.days[at].1.day_of_micros(micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn week_labels_use_the_iso_year() {
        assert_eq!(Week::containing(d("2027-01-03")).to_string(), "2026-W53");
        assert_eq!(Week::containing(d("2026-12-28")).to_string(), "2026-W53");
        assert_eq!(Week::containing(d("2027-01-04")).to_string(), "2027-W01");
        assert_eq!(Week::containing(d("2024-12-30")).to_string(), "2025-W01");
        assert_eq!(Week::containing(d("2021-01-03")).to_string(), "2020-W53");
    }

    #[test]
    fn week_parse_round_trips_and_rejects_missing_weeks() {
        for label in ["2026-W01", "2026-W07", "2026-W53", "2020-W53", "2025-W01"] {
            let w: Week = label.parse().expect("week");
            assert_eq!(w.to_string(), label);
        }
        assert!("2025-W53".parse::<Week>().is_err());
        assert!("2026-W00".parse::<Week>().is_err());
        assert!("2026-7".parse::<Week>().is_err());
        assert!("2026-W7".parse::<Week>().is_err());
        let early = Week::containing(d("0999-06-01"));
        assert_eq!(early.to_string(), "0999-W22");
        assert_eq!(early.to_string().parse::<Week>(), Ok(early));
    }

    #[test]
    fn monday_and_sunday() {
        let w: Week = "2026-W53".parse().expect("week");
        assert_eq!(w.monday(), d("2026-12-28"));
        assert_eq!(w.sunday(), d("2027-01-03"));
        assert_eq!(w.offset(1).to_string(), "2027-W01");
        assert_eq!(weekday_of_day(day_number(d("2026-12-28"))), 0);
        assert_eq!(weekday_of_day(day_number(d("2027-01-03"))), 6);
        assert_eq!(day_number(d("1970-01-01")), 0);
        assert_eq!(date_of_day(0), d("1970-01-01"));
    }

    #[test]
    fn local_midnight_in_berlin_and_new_york() {
        let micros = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .expect("time")
                .timestamp_micros()
        };
        let mut berlin = LocalDays::new(chrono_tz::Europe::Berlin);
        // 23:30 UTC on Sunday is 00:30 Monday in Berlin (winter time).
        let day = berlin.day_of_micros(micros("2026-01-04T23:30:00Z"));
        assert_eq!(date_of_day(day), d("2026-01-05"));
        // Summer time: 22:00 UTC is midnight.
        let day = berlin.day_of_micros(micros("2026-07-05T21:59:59Z"));
        assert_eq!(date_of_day(day), d("2026-07-05"));
        let day = berlin.day_of_micros(micros("2026-07-05T22:00:00Z"));
        assert_eq!(date_of_day(day), d("2026-07-06"));
        let mut ny = LocalDays::new(chrono_tz::America::New_York);
        let day = ny.day_of_micros(micros("2026-01-05T04:59:59Z"));
        assert_eq!(date_of_day(day), d("2026-01-04"));
        let day = ny.day_of_micros(micros("2026-01-05T05:00:00Z"));
        assert_eq!(date_of_day(day), d("2026-01-05"));
    }

    #[test]
    fn each_licensee_counts_in_their_own_zone_at_the_date_line_and_across_dst() {
        let micros = |t: &str| t.parse::<DateTime<Utc>>().expect("time").timestamp_micros();
        let day = |d: &str| day_number(d.parse().expect("date"));
        let mut zones = Zones::single(chrono_tz::UTC);
        zones.by_user.insert("tokyo".into(), chrono_tz::Asia::Tokyo);
        zones
            .by_user
            .insert("la".into(), chrono_tz::America::Los_Angeles);
        let mut local = LocalZones::new(std::sync::Arc::new(zones));
        // Sunday 23:00 UTC is Monday 08:00 in Tokyo: a new ISO week there.
        let t = micros("2026-11-08T23:00:00Z");
        assert_eq!(local.day_of_micros("tokyo", t), day("2026-11-09"));
        assert_eq!(local.day_of_micros("someone", t), day("2026-11-08"));
        // Monday 06:00 UTC is still Sunday 22:00 in Los Angeles.
        let t = micros("2026-11-09T06:00:00Z");
        assert_eq!(local.day_of_micros("la", t), day("2026-11-08"));
        assert_eq!(local.day_of_micros("tokyo", t), day("2026-11-09"));
        assert_ne!(
            week_of_day(local.day_of_micros("la", t)),
            week_of_day(local.day_of_micros("someone", t))
        );
        // Los Angeles leaves daylight saving time on 2026-11-01 at 02:00:
        // 23:30 that Sunday (PST, UTC-8) is 07:30 UTC on Monday.
        let t = micros("2026-11-02T07:30:00Z");
        assert_eq!(local.day_of_micros("la", t), day("2026-11-01"));
        // The evening before the change (PDT, UTC-7): 23:30 on Saturday.
        let t = micros("2026-11-01T06:30:00Z");
        assert_eq!(local.day_of_micros("la", t), day("2026-10-31"));
        // Spring: 2026-03-08 at 02:00 PST becomes 03:00 PDT.
        let t = micros("2026-03-09T06:59:00Z");
        assert_eq!(local.day_of_micros("la", t), day("2026-03-08"));
        let t = micros("2026-03-09T07:00:00Z");
        assert_eq!(local.day_of_micros("la", t), day("2026-03-09"));
    }
}
