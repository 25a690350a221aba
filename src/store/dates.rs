//! The dates stored events can have: plausibility of stored files, and the
//! dates and weeks the events cover.

use std::collections::HashSet;

use chrono::NaiveDate;

use crate::config::Settings;
use crate::model::Week;

use super::error::Result;
use super::manifest::EventFile;
use super::{Store, quarantine};

/// Why a stored events file lies outside the dates events can have, if it
/// does: before 1999-12-31 (2000-01-01 in any time zone), not a date with
/// a four-digit year (older versions took `+10000-01-01`), or after
/// `latest` unless its import allowed future times.
pub fn implausible_date(file: &EventFile, latest: NaiveDate) -> Option<String> {
    let date = match file.date.parse::<NaiveDate>() {
        Ok(d) if file.date.len() == 10 => d,
        _ => {
            return Some(format!(
                "its events are dated {}, a year without four digits",
                file.date
            ));
        }
    };
    if date < crate::model::event::earliest_local_date() {
        return Some(format!("its events are dated {date}, before 2000-01-01"));
    }
    if date > latest && !file.future_allowed {
        return Some(format!(
            "its events are dated {date}, in the future (after {latest})"
        ));
    }
    None
}

impl Store {
    /// The latest local date a stored event may have now: a day after
    /// today plus `import.max_future_minutes` (any time zone), or the end
    /// of year 9999 with future times allowed.
    fn latest_plausible_date(settings: &Settings) -> NaiveDate {
        let latest = settings.event_times(chrono::Utc::now()).latest();
        chrono::DateTime::<chrono::Utc>::from_timestamp_micros(latest)
            .map_or(NaiveDate::MAX, |t| t.date_naive())
            .succ_opt()
            .unwrap_or(NaiveDate::MAX)
    }

    /// Stored event files dated where no event can be, with the reason:
    /// `uptake check` and `/health` report them, `uptake check --repair`
    /// moves them to quarantine. The figures of other weeks are unaffected.
    pub fn implausible_event_files(&self, settings: &Settings) -> Vec<(EventFile, String)> {
        let latest = Self::latest_plausible_date(settings);
        self.manifest
            .event_files
            .iter()
            .filter_map(|f| implausible_date(f, latest).map(|why| (f.clone(), why)))
            .collect()
    }

    /// The first and last local dates of stored events, compared as dates;
    /// implausibly dated files ([`Store::implausible_event_files`]) are
    /// left out, so that one bad event does not move the default weeks.
    pub fn event_dates(&self, settings: &Settings) -> Option<(NaiveDate, NaiveDate)> {
        let latest = Self::latest_plausible_date(settings);
        let dates = self
            .manifest
            .event_files
            .iter()
            .filter(|f| implausible_date(f, latest).is_none())
            .filter_map(|f| f.date.parse::<NaiveDate>().ok())
            .chain(self.manifest.in_place.iter().flat_map(|f| {
                [&f.first_date, &f.last_date]
                    .into_iter()
                    .filter_map(|d| d.parse::<NaiveDate>().ok())
                    .filter(|d| f.future_allowed || *d <= latest)
            }));
        let (mut first, mut last) = (NaiveDate::MAX, NaiveDate::MIN);
        for d in dates {
            first = first.min(d);
            last = last.max(d);
        }
        (first <= last).then_some((first, last))
    }

    /// The weeks of the first and last stored events
    /// ([`Store::event_dates`]).
    pub fn event_weeks(&self, settings: &Settings) -> Option<(Week, Week)> {
        let (first, last) = self.event_dates(settings)?;
        Some((Week::containing(first), Week::containing(last)))
    }

    /// Moves the implausibly dated event files to quarantine, each with its
    /// reason, and rebuilds the rollup without them. Returns the files
    /// moved. They are copied into quarantine before the commit and removed
    /// after it, so an interruption leaves them either stored or in
    /// quarantine.
    pub fn quarantine_implausible(
        &mut self,
        settings: &Settings,
    ) -> Result<Vec<(EventFile, String)>> {
        self.check_writer()?;
        let bad = self.implausible_event_files(settings);
        if bad.is_empty() {
            return Ok(bad);
        }
        for (file, why) in &bad {
            quarantine::quarantine(&self.root, &self.root.join(&file.path), why, true)?;
        }
        let gone: HashSet<&str> = bad.iter().map(|(f, _)| f.path.as_str()).collect();
        self.rebuild_without(&gone, settings, false)?;
        for (file, _) in &bad {
            let _ = std::fs::remove_file(self.root.join(&file.path));
        }
        Ok(bad)
    }
}
