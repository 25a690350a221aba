//! Appending live batches (from ingestion's write-ahead log) to the store.

use std::collections::BTreeMap;
use std::path::PathBuf;

use datafusion::arrow::array::RecordBatch;

use crate::config::Settings;
use crate::model::LocalZones;
use crate::model::week::date_of_day;

use super::error::Result;
use super::files::ParquetFile;
use super::import::{new_import_id, split_by_day};
use super::manifest::EventFile;
use super::rollup::{self, Rollup};
use super::{Store, input};

impl Store {
    /// Stores events acknowledged by live ingestion: new partition files,
    /// `rollup` (the store's rollup, kept in memory by the caller) updated
    /// with them, and a manifest that records the write-ahead log as
    /// flushed up to segment `wal_upto`. `before_commit` runs when every
    /// file is durable, just before the commit point.
    pub fn append_live(
        &mut self,
        batches: &[RecordBatch],
        rollup: &mut Rollup,
        settings: &Settings,
        wal_upto: u64,
        before_commit: impl FnOnce() -> Result<()>,
    ) -> Result<u64> {
        self.check_writer()?;
        let zones = self.zones(settings)?;
        let id = format!("live-{}", new_import_id());
        let mut written: Vec<PathBuf> = Vec::new();
        let result = (|| -> Result<(Vec<EventFile>, u64)> {
            let mut local = LocalZones::new(zones.clone());
            let mut parts: BTreeMap<i32, Vec<RecordBatch>> = BTreeMap::new();
            let mut events = 0u64;
            for batch in batches {
                let days = rollup::local_days(batch, &mut local);
                rollup.add_events(batch, &days, &settings.activity.exclude_actions);
                events += batch.num_rows() as u64;
                for (day, part) in split_by_day(batch, &days)? {
                    parts.entry(day).or_default().push(part);
                }
            }
            let mut new_files = Vec::new();
            for (day, parts) in parts {
                let date = date_of_day(day).to_string();
                let rel = format!("events/date={date}/{id}.parquet");
                let full = self.root.join(&rel);
                written.push(full.clone());
                let mut file = ParquetFile::create(&full, input::event_schema())?;
                for part in &parts {
                    file.write(part, &full)?;
                }
                let rows = file.finish(&full)?;
                new_files.push(EventFile {
                    path: rel,
                    date,
                    events: rows,
                    future_allowed: settings.import.allow_future,
                });
            }
            before_commit()?;
            Ok((new_files, events))
        })();
        let outcome = result.and_then(|(new_files, events)| {
            self.commit(&id, rollup, settings, &mut written, |m| {
                m.event_files.extend(new_files);
                m.wal_flushed = m.wal_flushed.max(wal_upto);
            })?;
            Ok(events)
        });
        if outcome.is_err() {
            for path in &written {
                let _ = std::fs::remove_file(path);
            }
        }
        outcome
    }
}
