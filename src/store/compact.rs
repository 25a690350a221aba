//! Maintenance: merging small event files, and rebuilding the rollup from
//! the raw events (also without some files, to quarantine them).

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use crate::config::Settings;
use crate::model::LocalZones;

use super::error::Result;
use super::files::{self, ParquetFile};
use super::import::{new_import_id, parallel_map, progress_bar};
use super::manifest::EventFile;
use super::rollup::Rollup;
use super::{Store, input, quarantine};

impl Store {
    /// Merges the small event files of each date once a date has more than
    /// `max_files` of them (live ingestion writes one per flush). Returns
    /// the number of files merged. The rollup does not change.
    pub fn compact(&mut self, max_files: usize) -> Result<usize> {
        self.check_writer()?;
        const SMALL: u64 = 1 << 20;
        let mut by_date: BTreeMap<String, Vec<EventFile>> = BTreeMap::new();
        for f in &self.manifest.event_files {
            if f.events < SMALL {
                by_date.entry(f.date.clone()).or_default().push(f.clone());
            }
        }
        let mut merged = 0;
        for (date, small) in by_date {
            if small.len() <= max_files.max(1) {
                continue;
            }
            let rel = format!("events/date={date}/compact-{}.parquet", new_import_id());
            let full = self.root.join(&rel);
            let mut batches = Vec::new();
            let mut unreadable = Vec::new();
            for f in &small {
                match files::read_parquet(&self.root.join(&f.path)) {
                    Ok((_, b)) => batches.extend(b),
                    Err(e) => unreadable.push((f.clone(), e.to_string())),
                }
            }
            let result = (|| -> Result<u64> {
                let mut file = ParquetFile::create(&full, input::event_schema())?;
                for b in &batches {
                    file.write(b, &full)?;
                }
                let rows = file.finish(&full)?;
                files::sync_dir(&full)?;
                Ok(rows)
            })();
            let rows = match result {
                Ok(rows) => rows,
                Err(e) => {
                    let _ = std::fs::remove_file(&full);
                    return Err(e);
                }
            };
            for (f, reason) in &unreadable {
                quarantine::quarantine(&self.root, &self.root.join(&f.path), reason, false)?;
            }
            let gone: HashSet<&str> = small.iter().map(|f| f.path.as_str()).collect();
            let mut manifest = self.manifest.clone();
            manifest
                .event_files
                .retain(|f| !gone.contains(f.path.as_str()));
            manifest.event_files.push(EventFile {
                path: rel,
                date,
                events: rows,
                future_allowed: small.iter().any(|f| f.future_allowed),
            });
            manifest.save(&self.root)?;
            self.manifest = manifest;
            for f in &small {
                let _ = std::fs::remove_file(self.root.join(&f.path));
            }
            merged += small.len();
        }
        Ok(merged)
    }

    /// Rebuilds the rollup from the stored raw events with `settings`.
    pub fn rebuild(&mut self, settings: &Settings, progress: bool) -> Result<u64> {
        self.rebuild_without(&HashSet::new(), settings, progress)
    }

    /// Rebuilds the rollup from the stored raw events except the files of
    /// `left_out` (paths as in the manifest, addresses of files read in
    /// place), and commits it together with a manifest without them.
    /// Files read in place are read again from the lake.
    pub(super) fn rebuild_without(
        &mut self,
        left_out: &HashSet<&str>,
        settings: &Settings,
        progress: bool,
    ) -> Result<u64> {
        self.check_writer()?;
        let zones = self.zones(settings)?;
        let paths: Vec<PathBuf> = self
            .manifest
            .event_files
            .iter()
            .filter(|f| !left_out.contains(f.path.as_str()))
            .map(|f| self.root.join(&f.path))
            .collect();
        let bar = progress_bar(
            progress,
            (paths.len() + self.manifest.in_place.len()) as u64,
        );
        // One rollup per stored file, one worker per core, merged in order.
        let outcomes = parallel_map(&paths, |path| -> Result<(Rollup, u64)> {
            let (_, batches) = files::read_parquet(path)?;
            let mut rollup = Rollup::default();
            let mut local = LocalZones::new(zones.clone());
            let events = batches
                .iter()
                .map(|b| rollup.add_stored(b, &mut local, &settings.activity.exclude_actions))
                .sum();
            bar.inc(1);
            Ok((rollup, events))
        });
        let mut rollup = Rollup::default();
        let mut events = 0u64;
        for outcome in outcomes {
            let (part, n) = outcome?;
            rollup.merge(part);
            events += n;
        }
        let (in_place, n) = self.rollup_in_place(left_out, settings, &bar)?;
        rollup.merge(in_place);
        events += n;
        bar.finish_and_clear();
        self.commit_rollup(rollup, settings, left_out)?;
        Ok(events)
    }

    /// Commits `rollup`, built from every stored event (here, or on a
    /// cluster) except the files `left_out` names, in place of the stored
    /// one, with a manifest without those files.
    pub fn commit_rollup(
        &mut self,
        mut rollup: Rollup,
        settings: &Settings,
        left_out: &HashSet<&str>,
    ) -> Result<()> {
        self.check_writer()?;
        let mut written = Vec::new();
        let result = self.commit(&new_import_id(), &mut rollup, settings, &mut written, |m| {
            m.event_files
                .retain(|f| !left_out.contains(f.path.as_str()));
            // A file read in place that is dropped may be registered again.
            let dropped: HashSet<&str> = m
                .in_place
                .iter()
                .map(|f| f.found.url.as_str())
                .filter(|url| left_out.contains(url))
                .collect();
            m.imports
                .retain(|_, r| !dropped.contains(r.source.as_str()));
            m.in_place
                .retain(|f| !left_out.contains(f.found.url.as_str()));
        });
        if result.is_err() {
            for path in &written {
                let _ = std::fs::remove_file(path);
            }
        }
        result
    }

    /// Where the stored events are, for a cluster: each stored file's
    /// path, as `events_at` names it (its path here by default, or its
    /// object in the store a working copy belongs to), and the address of
    /// each file read in place.
    pub fn event_addresses(&self, events_at: Option<&str>) -> Vec<String> {
        let stored = self.manifest.event_files.iter().map(|f| match events_at {
            Some(base) => format!("{}/{}", base.trim_end_matches('/'), f.path),
            None => self.root.join(&f.path).display().to_string(),
        });
        stored
            .chain(self.manifest.in_place.iter().map(|f| f.found.url.clone()))
            .collect()
    }
}
