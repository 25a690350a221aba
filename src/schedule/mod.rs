//! Scheduled reports: cron schedules in the organisation's time zone, a
//! run log in the data directory, and delivery with retries.
//!
//! The run log (`<data>/reports/runs.jsonl`) is append-only; every entry is
//! flushed to disk before the step it records goes on, so a restart knows
//! what happened:
//!
//! - `armed`: a schedule was first seen (or its cron changed); slots before
//!   it are never run.
//! - `run`: a slot was claimed, before anything is rendered or sent. A slot
//!   with a run is never run again.
//! - `skipped`: slots missed while uptake was not running, not caught up.
//! - `attempt`: one delivery attempt to one target, its outcome and, after a
//!   failure, when the next attempt is due.
//!
//! Missed slots: when more than one slot fell due since the last one, or the
//! latest is more than [`ON_TIME`] late, uptake was down. With `catch_up`
//! (the default) the latest missed slot is run once, marked as a catch-up;
//! without, the slots are recorded as skipped. Either way every earlier
//! slot is recorded as skipped, never run.
//!
//! A run interrupted after its claim (a crash) is finished at the next
//! start: targets without an outcome are attempted again. An e-mail keeps
//! its Message-ID and a webhook call its Idempotency-Key across attempts,
//! so receivers can recognise a repeat in the short window between a
//! delivery and its record.
//!
//! One process at a time works on the log: `<data>/reports/lock` is held
//! while due runs are processed.

//!
//! [`log`] reads and writes the run log, [`run`] runs what is due and
//! keeps running it while the server lives, [`deliver`] sends.

pub mod chat;
pub mod deliver;
pub mod log;
pub mod run;
pub mod subscriptions;

use std::path::{Path, PathBuf};

pub use log::{
    DispatchState, Entry, Log, NoticeKind, NoticeState, RunState, SkippedState, TargetState,
    active_alerts, alert_log_path, append_to, log_path,
};
pub use run::{Context, Summary, backoff, run_due};

/// A slot run within this time of its due time is on time; later, it was
/// missed (uptake was down).
pub const ON_TIME: chrono::Duration = chrono::Duration::minutes(5);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("run log {path} line {line}: {message}")]
    Log {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Config(#[from] crate::config::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Times in the run log and the API: RFC 3339 in UTC.
mod time {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

mod time_opt {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::time::serialize(t, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                DateTime::parse_from_rfc3339(&text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}

/// Holds the lock of the run log while alive.
pub struct Lock {
    _file: std::fs::File,
}

impl Lock {
    /// Takes the lock, waiting for another process to let go (`wait`) or
    /// returning `None` when it is held.
    pub fn take(data: &Path, wait: bool) -> Result<Option<Lock>> {
        let dir = log::reports_dir(data);
        let path = dir.join("lock");
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let file = crate::store::files::lock_file(&path, wait).map_err(io)?;
        Ok(file.map(|f| Lock { _file: f }))
    }
}
