//! The manifest: the one file that says what the data directory holds.
//!
//! Writing a new manifest (to a temporary file, fsync, rename) is the commit
//! point of every event import and rebuild: event and rollup files that the
//! manifest does not name do not exist for uptake, and are removed when the
//! store is opened. So an import that fails or is killed half-way leaves the
//! stored data as it was.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{FileContext, IoContext, Result};

pub const FILE_NAME: &str = "manifest.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// Raw event files, relative to the data directory.
    pub event_files: Vec<EventFile>,
    /// Imported event files by the SHA-256 of their bytes: importing the same
    /// file again is skipped, so its events are not counted twice. Files
    /// of the lake registered by a cluster, whose bytes this process never
    /// reads, by their address and version (`s3://… ETAG`).
    pub imports: BTreeMap<String, ImportRecord>,
    /// The rollup files and the settings they were built with.
    pub rollup: Option<RollupInfo>,
    /// Segments of the ingestion write-ahead log up to this number are in
    /// the store; replaying them again would count their events twice.
    #[serde(default)]
    pub wal_flushed: u64,
    /// The index of stored events of each source other than `native`
    /// ([`super::seen`]): by source, the file of each UTC date.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub seen: BTreeMap<String, BTreeMap<String, String>>,
    /// Raw event files read where a data lake holds them, never copied
    /// (`uptake import events --in-place`, [`super::Store::import_in_place`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_place: Vec<InPlaceFile>,
}

/// An events file registered where it lies: its address, and the size and
/// version it had when it was read, which every later read must find.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InPlaceFile {
    #[serde(flatten)]
    pub found: super::lake::Found,
    pub events: u64,
    /// Local dates (time zone of the rollup) of its first and last events.
    pub first_date: String,
    pub last_date: String,
    pub registered_at: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub future_allowed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventFile {
    pub path: String,
    /// Local date of the partition (`YYYY-MM-DD`) in the time zone of the
    /// import; a layout hint only, the rollup recomputes local dates.
    pub date: String,
    pub events: u64,
    /// Written by an import that accepted future times
    /// (`import.allow_future`): its events are not reported as dated in
    /// the future.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub future_allowed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportRecord {
    pub source: String,
    pub events: u64,
    pub imported_at: String,
    /// Values a source's mapping did not know, with their rows (stored as
    /// the mapping's `unmapped` module); listed by `uptake stats`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub unmapped: std::collections::BTreeMap<String, u64>,
}

/// What the rollup depends on besides the events themselves.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RollupSettings {
    pub timezone: String,
    pub exclude_actions: Vec<String>,
    /// Regions' own zones (none in manifests written before there were).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub region_timezones: std::collections::BTreeMap<String, String>,
    /// With regions' own zones: a digest of which licensee is in which
    /// zone (the directory decides it), so that a directory moving a
    /// licensee to another zone's region is seen.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub licensee_zones: String,
}

impl std::fmt::Display for RollupSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "timezone = {:?}, activity.exclude_actions = {:?}",
            self.timezone, self.exclude_actions
        )?;
        if !self.region_timezones.is_empty() {
            write!(f, ", region_timezones = {:?}", self.region_timezones)?;
        }
        if !self.licensee_zones.is_empty() {
            write!(f, ", licensees' zones {}", &self.licensee_zones)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RollupInfo {
    pub settings: RollupSettings,
    /// The commit that wrote the key tables, `rollup/{users,modules}-<generation>.parquet`
    /// (and, before the rollup was stored by week,
    /// `rollup/{user_week,user_module_week}-<generation>.parquet`).
    pub generation: String,
    /// Stored week by week: each week's rows are in
    /// `rollup/{user_week,user_module_week}-<ISO week>-<commit>.parquet`,
    /// the commit as `weeks` says ([`super::rollup`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_week: bool,
    /// By week number, the commit that last wrote the week's files.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub weeks: BTreeMap<i32, String>,
}

impl Manifest {
    pub fn load(root: &Path) -> Result<Manifest> {
        let path = root.join(FILE_NAME);
        if !path.exists() {
            return Ok(Manifest::default());
        }
        let text = std::fs::read_to_string(&path).at(&path)?;
        serde_json::from_str(&text).in_file(&path)
    }

    /// Atomically replaces the manifest.
    pub fn save(&self, root: &Path) -> Result<()> {
        let text = serde_json::to_vec_pretty(self).in_file(root.join(FILE_NAME))?;
        super::files::write_atomically(&root.join(FILE_NAME), &text)
    }

    /// Events stored and read in place.
    pub fn event_count(&self) -> u64 {
        self.event_files.iter().map(|f| f.events).sum::<u64>()
            + self.in_place.iter().map(|f| f.events).sum::<u64>()
    }
}
