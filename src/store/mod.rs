//! The data directory: imports, Parquet files, the rollup and the manifest.
//!
//! Layout of `--data DIR`, everything uptake keeps there (the modules
//! named own their files):
//!
//! ```text
//! manifest.json                        what is stored (the commit point)
//! tables/waves.parquet                 tables uptake owns, replaced whole
//! tables/directory.parquet
//! tables/modules.parquet
//! events/date=YYYY-MM-DD/*.parquet     raw events, by local date
//! rollup/user_module_week-*.parquet    derived, rebuilt by `uptake rebuild`
//! rollup/user_week-*.parquet
//! quarantine/                          files taken out of the store, with
//! quarantine/log.jsonl                   why and when (store::quarantine)
//! writer.lock                          one writer at a time
//! pseudonym.json                       which pseudonym key ids were made with, by fingerprint (store::pseudonym)
//! wal/NNNNNNNNNNNNNNNNNNNN.wal         posted batches not yet committed (ingest::wal)
//! wal/keys.jsonl                       Idempotency-Keys seen (ingest::keys)
//! tokens.json, users.json, auth.lock   API tokens and users (auth)
//! audit.jsonl, audit.jsonl.1 ... .N    the audit log, rotated by size (auth::audit)
//! reports/runs.jsonl, reports/lock     scheduled report runs (schedule)
//! reports/out/*.pdf                    rendered PDFs kept for retries
//! demo/                                `uptake serve --demo`'s own data directory
//! ```
//!
//! Raw events are the source of truth. Every event import writes new files
//! and then commits them together with a new rollup by replacing the
//! manifest; anything not named by the manifest is garbage from an
//! interrupted import and is removed when the store is opened.

pub mod error;
pub mod files;
pub mod input;
pub mod manifest;
pub mod pseudonym;
pub mod quarantine;
pub mod rollup;
pub mod tables;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use datafusion::arrow::array::{RecordBatch, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use sha2::{Digest, Sha256};

pub use error::{Error, InputProblem, Result};
use error::{FileContext, IoContext};
use files::ParquetFile;
use manifest::{EventFile, ImportRecord, Manifest, RollupInfo, RollupSettings};
pub use pseudonym::Pseudonym;
use rollup::{Rollup, RollupFiles};
use tables::{StoredTable, read_csv_table, read_table, write_table};

use crate::config::Settings;
use crate::model::tables::{RowProblem, check_known_waves};
use crate::model::week::date_of_day;
use crate::model::{Licensee, LocalDays, Module, Wave, Week};
use chrono::NaiveDate;

/// What importing one events file produced.
#[derive(Default)]
struct FileOutcome {
    files: Vec<EventFile>,
    events: u64,
    rollup: Rollup,
    problems: input::Problems,
}

/// Applies `f` to every item on one worker thread per core, keeping order.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if workers <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return done;
                        };
                        done.push((i, f(item)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// An open data directory. One process at a time may write it: the first
/// to open it holds `writer.lock`; others open it for reading only (they
/// neither clean up nor change anything, and writes are refused).
#[derive(Clone)]
pub struct Store {
    root: PathBuf,
    manifest: Manifest,
    writer: Option<std::sync::Arc<std::fs::File>>,
}

/// What an event import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    pub files_imported: usize,
    /// Files not imported again: (file, why).
    pub files_skipped: Vec<(String, String)>,
    pub events: u64,
    /// Rows refused and left out (only with partial acceptance).
    pub rejected: Vec<InputProblem>,
    pub rejected_total: usize,
    pub seconds: f64,
}

impl Store {
    /// Opens (creating if needed) a data directory.
    pub fn open(root: &Path) -> Result<Store> {
        for dir in ["tables", "events", "rollup"] {
            std::fs::create_dir_all(root.join(dir)).at(root.join(dir))?;
        }
        let manifest = Manifest::load(root)?;
        let lock_path = root.join("writer.lock");
        let writer = files::lock_file(&lock_path, false)
            .at(&lock_path)?
            .map(std::sync::Arc::new);
        let mut store = Store {
            root: root.to_path_buf(),
            manifest,
            writer,
        };
        if store.writer.is_some() {
            store.quarantine_damaged()?;
            store.remove_unreferenced()?;
        }
        Ok(store)
    }

    /// Whether this process may write the store (it holds `writer.lock`).
    pub fn is_writer(&self) -> bool {
        self.writer.is_some()
    }

    /// Fails unless this process may write the store.
    fn check_writer(&self) -> Result<()> {
        match self.writer {
            Some(_) => Ok(()),
            None => Err(Error::File {
                path: self.root.clone(),
                message: "another uptake process (uptake serve?) is writing this data directory; stop it first, or post events to its /api/v1/events".into(),
            }),
        }
    }

    /// Moves stored files that are missing, cut off or unreadable into
    /// quarantine and drops them from the manifest, so that the rest of
    /// the data stays usable. A damaged rollup is dropped whole; see
    /// [`Store::repair`]. Only the Parquet footers are read.
    fn quarantine_damaged(&mut self) -> Result<()> {
        let mut manifest = self.manifest.clone();
        let root = self.root.clone();
        let damaged = |path: &Path, reason: String| -> Result<()> {
            quarantine::quarantine(&root, path, &reason, false).map(|_| ())
        };
        let mut kept = Vec::with_capacity(manifest.event_files.len());
        for file in std::mem::take(&mut manifest.event_files) {
            let path = self.root.join(&file.path);
            match files::parquet_rows(&path) {
                Ok(rows) if rows == file.events => kept.push(file),
                Ok(rows) => damaged(
                    &path,
                    format!("holds {rows} events, the manifest says {}", file.events),
                )?,
                Err(e) => damaged(&path, e.to_string())?,
            }
        }
        manifest.event_files = kept;
        if let Some(rollup) = self.rollup_files() {
            let all = [
                rollup.user_week,
                rollup.user_module_week,
                rollup.users,
                rollup.modules,
            ];
            if let Some(e) = all.iter().find_map(|p| files::parquet_rows(p).err()) {
                for path in &all {
                    damaged(path, format!("rollup dropped for rebuilding: {e}"))?;
                }
                manifest.rollup = None;
            }
        }
        for name in ["waves", "directory", "modules"] {
            let path = self.table_path(name);
            if path.exists()
                && let Err(e) = files::parquet_rows(&path)
            {
                damaged(&path, format!("{e}; import the {name} again"))?;
            }
        }
        if manifest.event_files.len() != self.manifest.event_files.len()
            || manifest.rollup.is_none() != self.manifest.rollup.is_none()
        {
            manifest.save(&self.root)?;
            self.manifest = manifest;
        }
        Ok(())
    }

    /// Rebuilds the rollup when it was dropped as damaged; true when it did.
    pub fn repair(&mut self, settings: &Settings) -> Result<bool> {
        if self.manifest.rollup.is_some() || self.manifest.event_files.is_empty() {
            return Ok(false);
        }
        tracing::warn!("rebuilding the rollup from the stored events");
        self.rebuild(settings, false)?;
        Ok(true)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn table_path(&self, name: &str) -> PathBuf {
        self.root.join("tables").join(format!("{name}.parquet"))
    }

    /// Absolute paths of the stored raw event files.
    pub fn event_file_paths(&self) -> Vec<PathBuf> {
        self.manifest
            .event_files
            .iter()
            .map(|f| self.root.join(&f.path))
            .collect()
    }

    /// The files of the stored rollup, if any.
    pub fn rollup_files(&self) -> Option<RollupFiles> {
        self.manifest
            .rollup
            .as_ref()
            .map(|r| rollup_files(&self.root, &r.generation))
    }

    /// Fails when the rollup was built with other settings than `settings`,
    /// or is missing although events are stored.
    pub fn check_derived(&self, settings: &Settings) -> Result<()> {
        if self.manifest.rollup.is_none() && !self.manifest.event_files.is_empty() {
            return Err(Error::File {
                path: self.root.join(manifest::FILE_NAME),
                message: "the rollup is missing (see `uptake check`); run `uptake rebuild`".into(),
            });
        }
        if let Some(info) = &self.manifest.rollup {
            let now = rollup_settings(settings);
            if info.settings != now {
                return Err(Error::Stale {
                    built: info.settings.to_string(),
                    now: now.to_string(),
                });
            }
        }
        Ok(())
    }

    fn remove_unreferenced(&self) -> Result<()> {
        let mut keep: HashSet<PathBuf> = self.event_file_paths().into_iter().collect();
        if let Some(f) = self.rollup_files() {
            keep.extend([f.user_week, f.user_module_week, f.users, f.modules]);
        }
        for dir in ["events", "rollup"] {
            remove_unreferenced_in(&self.root.join(dir), &keep)?;
        }
        Ok(())
    }

    /// Replaces the rollout waves. Refused when the stored directory uses a
    /// wave the new file lacks.
    pub fn import_waves(&mut self, path: &Path) -> Result<usize> {
        self.check_writer()?;
        let (waves, _) = read_csv_table::<Wave>(path)?;
        let directory: Vec<Licensee> = read_table(&self.table_path("directory"))?;
        if let Err(RowProblem { row, .. }) = check_known_waves(&directory, &waves) {
            return Err(Error::Input(vec![InputProblem {
                file: path.display().to_string(),
                position: "-".into(),
                column: "wave_id".into(),
                reason: format!(
                    "wave '{}' is missing, but the stored directory assigns user '{}' to it; import a directory without it first",
                    directory[row].wave, directory[row].user_id
                ),
            }]));
        }
        write_table(&self.table_path("waves"), &waves)?;
        Ok(waves.len())
    }

    /// The keyed hash that replaces user ids at import (none without
    /// `privacy.pseudonym_key`), after checking that the stored ids were
    /// made with the same key ([`pseudonym::check`]).
    pub fn check_pseudonym(&self, settings: &Settings) -> Result<Option<Pseudonym>> {
        let pseudonym = Pseudonym::new(&settings.privacy.pseudonym_key);
        let has_data =
            !self.manifest.event_files.is_empty() || self.table_path("directory").exists();
        if self.is_writer() || self.root.join(pseudonym::FILE_NAME).exists() {
            pseudonym::check(&self.root, pseudonym.as_ref(), has_data)?;
        }
        Ok(pseudonym)
    }

    /// Replaces the licensee directory; user ids are pseudonymised first
    /// when a key is configured.
    pub fn import_directory(&mut self, path: &Path, settings: &Settings) -> Result<usize> {
        self.check_writer()?;
        let pseudonym = self.check_pseudonym(settings)?;
        let (mut licensees, lines) = read_csv_table::<Licensee>(path)?;
        if let Some(p) = &pseudonym {
            for l in &mut licensees {
                l.user_id = p.id(&l.user_id);
            }
        }
        let waves: Vec<Wave> = read_table(&self.table_path("waves"))?;
        if let Err(RowProblem { row, error }) = check_known_waves(&licensees, &waves) {
            return Err(Error::Input(vec![tables::problem_at_line(
                path, lines[row], error,
            )]));
        }
        write_table(&self.table_path("directory"), &licensees)?;
        Ok(licensees.len())
    }

    /// Replaces the module catalog.
    pub fn import_modules(&mut self, path: &Path) -> Result<usize> {
        self.check_writer()?;
        let (modules, _) = read_csv_table::<Module>(path)?;
        write_table(&self.table_path("modules"), &modules)?;
        Ok(modules.len())
    }

    /// Reads a stored table.
    pub fn table<T: StoredTable>(&self) -> Result<Vec<T>> {
        read_table(&self.table_path(T::NAME))
    }

    /// Imports event files (paths or glob patterns). All or nothing: with
    /// any refused row and `partial` false nothing is stored.
    pub fn import_events(
        &mut self,
        patterns: &[String],
        settings: &Settings,
        partial: bool,
        progress: bool,
    ) -> Result<ImportSummary> {
        self.check_writer()?;
        let started = Instant::now();
        let files = expand_patterns(patterns)?;
        self.check_derived(settings)?;
        self.check_pseudonym(settings)?;
        let mut rollup = match self.rollup_files() {
            Some(files) => Rollup::load(&files)?,
            None => Rollup::default(),
        };
        let import_id = new_import_id();
        let mut written: Vec<PathBuf> = Vec::new();
        let result = self.import_event_files(
            &files,
            &import_id,
            settings,
            partial,
            progress,
            &mut rollup,
            &mut written,
        );
        let outcome = result.and_then(|(new_files, records, mut summary)| {
            if new_files.is_empty() {
                return Ok(summary);
            }
            self.commit(&import_id, &rollup, settings, &mut written, |m| {
                m.event_files.extend(new_files);
                m.imports.extend(records);
            })?;
            summary.seconds = started.elapsed().as_secs_f64();
            Ok(summary)
        });
        if outcome.is_err() {
            for path in &written {
                let _ = std::fs::remove_file(path);
            }
        }
        outcome
    }

    #[allow(clippy::too_many_arguments)]
    fn import_event_files(
        &self,
        files: &[PathBuf],
        import_id: &str,
        settings: &Settings,
        partial: bool,
        progress: bool,
        rollup: &mut Rollup,
        written: &mut Vec<PathBuf>,
    ) -> Result<(
        Vec<EventFile>,
        BTreeMap<String, ImportRecord>,
        ImportSummary,
    )> {
        settings.tz()?;
        // "After the moment of import": one moment for the whole import.
        let times = settings.event_times(chrono::Utc::now());
        let pseudonym = Pseudonym::new(&settings.privacy.pseudonym_key);
        let pseudonym = pseudonym.as_ref();
        let mut summary = ImportSummary::default();
        // Files whose content was imported before, or comes twice in this
        // call, are skipped.
        let hashes = parallel_map(files, |path| file_sha256(path));
        let mut todo: Vec<(usize, &PathBuf, String)> = Vec::new();
        let mut seen: HashMap<String, String> = HashMap::new();
        for (index, (path, hash)) in files.iter().zip(hashes).enumerate() {
            let (hash, name) = (hash?, path.display().to_string());
            if let Some(previous) = self.manifest.imports.get(&hash) {
                let why = format!(
                    "same content as {} imported {}",
                    previous.source, previous.imported_at
                );
                summary.files_skipped.push((name, why));
            } else if let Some(source) = seen.get(&hash) {
                let why = format!("same content as {source} in this import");
                summary.files_skipped.push((name, why));
            } else {
                seen.insert(hash.clone(), name);
                todo.push((index, path, hash));
            }
        }

        // Each file is read, partitioned and rolled up on its own, one
        // worker per core; the results are merged in file order.
        let bar = progress_bar(progress, todo.len() as u64);
        let shared_written = Mutex::new(Vec::new());
        let outcomes = parallel_map(&todo, |(index, path, _)| {
            bar.set_message(path.display().to_string());
            let outcome = self.import_file(
                path,
                *index,
                import_id,
                settings,
                &times,
                pseudonym,
                &shared_written,
            );
            bar.inc(1);
            outcome
        });
        bar.finish_and_clear();
        written.extend(
            shared_written
                .into_inner()
                .unwrap_or_else(|e| e.into_inner()),
        );

        let mut problems = input::Problems::default();
        let mut new_files = Vec::new();
        let mut records = BTreeMap::new();
        for ((_, path, hash), outcome) in todo.into_iter().zip(outcomes) {
            let outcome = outcome?;
            problems.extend(outcome.problems);
            rollup.merge(outcome.rollup);
            new_files.extend(outcome.files);
            records.insert(
                hash,
                ImportRecord {
                    source: path.display().to_string(),
                    events: outcome.events,
                    imported_at: chrono::Utc::now()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                },
            );
            summary.events += outcome.events;
            summary.files_imported += 1;
        }
        if problems.total > 0 {
            if !partial {
                return Err(Error::Input(problems.kept));
            }
            summary.rejected_total = problems.total;
            summary.rejected = problems.kept;
        }
        Ok((new_files, records, summary))
    }

    /// Reads one events file into new partition files (not yet committed)
    /// and a rollup of its events.
    #[allow(clippy::too_many_arguments)]
    fn import_file(
        &self,
        path: &Path,
        index: usize,
        import_id: &str,
        settings: &Settings,
        times: &crate::model::event::TimeRange,
        pseudonym: Option<&Pseudonym>,
        written: &Mutex<Vec<PathBuf>>,
    ) -> Result<FileOutcome> {
        let tz = settings.tz()?;
        let mut outcome = FileOutcome::default();
        let mut partitions: BTreeMap<i32, (PathBuf, ParquetFile)> = BTreeMap::new();
        let mut local = LocalDays::new(tz);
        let rollup = &mut outcome.rollup;
        let events = &mut outcome.events;
        let mut sink = |batch: RecordBatch| -> Result<()> {
            let batch = match pseudonym {
                Some(p) => p.batch(&batch)?,
                None => batch,
            };
            let days = rollup::local_days(&batch, &mut local);
            rollup.add_events(&batch, &days, &settings.activity.exclude_actions);
            *events += batch.num_rows() as u64;
            for (day, part) in split_by_day(&batch, &days)? {
                let entry = match partitions.entry(day) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(v) => {
                        let full = self.root.join(format!(
                            "events/date={}/{import_id}-{index:05}.parquet",
                            date_of_day(day)
                        ));
                        written
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push(full.clone());
                        let file = ParquetFile::create(&full, input::event_schema())?;
                        v.insert((full, file))
                    }
                };
                entry.1.write(&part, &entry.0)?;
            }
            Ok(())
        };
        input::read_events(path, times, &mut outcome.problems, &mut sink)?;
        for (day, (full, file)) in partitions {
            let rows = file.finish(&full)?;
            let rel = full
                .strip_prefix(&self.root)
                .unwrap_or(&full)
                .to_string_lossy()
                .into_owned();
            outcome.files.push(EventFile {
                path: rel,
                date: date_of_day(day).to_string(),
                events: rows,
                future_allowed: settings.import.allow_future,
            });
        }
        Ok(outcome)
    }

    /// Writes `rollup` as new files and commits a manifest changed by
    /// `change`; old rollup files are removed after the commit.
    fn commit(
        &mut self,
        id: &str,
        rollup: &Rollup,
        settings: &Settings,
        written: &mut Vec<PathBuf>,
        change: impl FnOnce(&mut Manifest),
    ) -> Result<()> {
        let files = rollup_files(&self.root, id);
        written.extend([
            files.user_week.clone(),
            files.user_module_week.clone(),
            files.users.clone(),
            files.modules.clone(),
        ]);
        rollup.write(&files)?;
        for dir in written
            .iter()
            .filter_map(|p| p.parent())
            .collect::<HashSet<_>>()
        {
            files::sync_directory(dir)?;
        }
        let old = self.rollup_files();
        let mut manifest = self.manifest.clone();
        change(&mut manifest);
        manifest.rollup = Some(RollupInfo {
            settings: rollup_settings(settings),
            generation: id.to_string(),
        });
        manifest.save(&self.root)?;
        self.manifest = manifest;
        written.clear();
        if let Some(old) = old {
            for path in [old.user_week, old.user_module_week, old.users, old.modules] {
                let _ = std::fs::remove_file(path);
            }
        }
        Ok(())
    }

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
        let tz = settings.tz()?;
        let id = format!("live-{}", new_import_id());
        let mut written: Vec<PathBuf> = Vec::new();
        let result = (|| -> Result<(Vec<EventFile>, u64)> {
            let mut local = LocalDays::new(tz);
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
    /// `left_out` (paths as in the manifest), and commits it together with
    /// a manifest without them.
    fn rebuild_without(
        &mut self,
        left_out: &HashSet<&str>,
        settings: &Settings,
        progress: bool,
    ) -> Result<u64> {
        self.check_writer()?;
        let tz = settings.tz()?;
        let paths: Vec<PathBuf> = self
            .manifest
            .event_files
            .iter()
            .filter(|f| !left_out.contains(f.path.as_str()))
            .map(|f| self.root.join(&f.path))
            .collect();
        let bar = progress_bar(progress, paths.len() as u64);
        // One rollup per stored file, one worker per core, merged in order.
        let outcomes = parallel_map(&paths, |path| -> Result<(Rollup, u64)> {
            let (_, batches) = files::read_parquet(path)?;
            let mut rollup = Rollup::default();
            let mut local = LocalDays::new(tz);
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
        bar.finish_and_clear();
        let mut written = Vec::new();
        let result = self.commit(&new_import_id(), &rollup, settings, &mut written, |m| {
            m.event_files
                .retain(|f| !left_out.contains(f.path.as_str()));
        });
        if result.is_err() {
            for path in &written {
                let _ = std::fs::remove_file(path);
            }
        }
        result.map(|_| events)
    }
}

/// The files of one rollup generation.
fn rollup_files(root: &Path, generation: &str) -> RollupFiles {
    let file = |name: &str| root.join(format!("rollup/{name}-{generation}.parquet"));
    RollupFiles {
        user_week: file("user_week"),
        user_module_week: file("user_module_week"),
        users: file("users"),
        modules: file("modules"),
    }
}

/// The settings the rollup depends on.
pub fn rollup_settings(settings: &Settings) -> RollupSettings {
    let mut exclude = settings.activity.exclude_actions.clone();
    exclude.sort();
    exclude.dedup();
    RollupSettings {
        timezone: settings.timezone.clone(),
        exclude_actions: exclude,
    }
}

fn remove_unreferenced_in(dir: &Path, keep: &HashSet<PathBuf>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.at(dir)?.path();
        if path.is_dir() {
            remove_unreferenced_in(&path, keep)?;
            let _ = std::fs::remove_dir(&path); // only succeeds when empty
        } else if !keep.contains(&path) {
            tracing::info!(path = %path.display(), "removing file of an interrupted import");
            std::fs::remove_file(&path).at(&path)?;
        }
    }
    Ok(())
}

/// Splits a batch into one batch per local day.
fn split_by_day(batch: &RecordBatch, days: &[i32]) -> Result<Vec<(i32, RecordBatch)>> {
    let Some(&first) = days.first() else {
        return Ok(Vec::new());
    };
    if days.iter().all(|&d| d == first) {
        return Ok(vec![(first, batch.clone())]);
    }
    let mut groups: BTreeMap<i32, Vec<u32>> = BTreeMap::new();
    for (i, &d) in days.iter().enumerate() {
        groups.entry(d).or_default().push(i as u32);
    }
    groups
        .into_iter()
        .map(|(day, idx)| {
            take_record_batch(batch, &UInt32Array::from(idx))
                .map(|b| (day, b))
                .in_file("events")
        })
        .collect()
}

fn expand_patterns(patterns: &[String]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for pattern in patterns {
        if pattern.contains(['*', '?', '[']) {
            let matches: Vec<PathBuf> = glob::glob(pattern)
                .map_err(|e| Error::File {
                    path: pattern.into(),
                    message: format!("bad glob pattern: {e}"),
                })?
                .filter_map(|p| p.ok())
                .filter(|p| p.is_file())
                .collect();
            if matches.is_empty() {
                return Err(Error::NoMatch(pattern.clone()));
            }
            files.extend(matches);
        } else {
            let path = PathBuf::from(pattern);
            if !path.is_file() {
                return Err(Error::Io {
                    path,
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
                });
            }
            files.push(path);
        }
    }
    Ok(files)
}

fn file_sha256(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).at(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).at(path)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(files::hex(&hasher.finalize()))
}

fn new_import_id() -> String {
    format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%6f"),
        std::process::id()
    )
}

fn progress_bar(enabled: bool, len: u64) -> indicatif::ProgressBar {
    if !enabled {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} files {elapsed} {wide_msg}")
    {
        bar.set_style(style);
    }
    bar
}

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
            .filter_map(|f| f.date.parse::<NaiveDate>().ok());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    out.extend(files_under(&p));
                } else {
                    out.push(p);
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_refused_import_leaves_no_file_behind() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut store = Store::open(&dir.path().join("data")).expect("store");
        let settings = Settings::default();
        let good = dir.path().join("good.csv");
        std::fs::write(
            &good,
            "event_time,user_id,module,action\n2026-03-02T10:00:00Z,u1,crm,view\n",
        )
        .expect("write");
        let patterns = [good.display().to_string()];
        store
            .import_events(&patterns, &settings, false, false)
            .expect("import");
        let before = files_under(store.root());
        let manifest_before = std::fs::read(store.root().join("manifest.json")).expect("read");

        let bad = dir.path().join("bad.csv");
        std::fs::write(
            &bad,
            "event_time,user_id,module,action\n2026-04-02T10:00:00Z,u1,crm,view\nnever,u1,crm,view\n",
        )
        .expect("write");
        let err = store
            .import_events(&[bad.display().to_string()], &settings, false, false)
            .expect_err("refused");
        assert!(
            err.to_string()
                .contains("bad.csv: line 3: column event_time"),
            "{err}"
        );
        assert_eq!(files_under(store.root()), before);
        assert_eq!(
            std::fs::read(store.root().join("manifest.json")).expect("read"),
            manifest_before
        );
    }

    #[test]
    fn files_of_an_interrupted_import_are_removed_on_open() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("data");
        Store::open(&root).expect("store");
        let stray = root.join("events/date=2026-03-02/interrupted-00000.parquet");
        std::fs::create_dir_all(stray.parent().expect("dir")).expect("mkdir");
        std::fs::write(&stray, b"half a file").expect("write");
        let store = Store::open(&root).expect("reopen");
        assert!(!stray.exists());
        assert!(store.event_file_paths().is_empty());
    }

    #[test]
    fn the_same_file_is_imported_once() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut store = Store::open(&dir.path().join("data")).expect("store");
        let text = "event_time,user_id,module,action\n2026-03-02T10:00:00Z,u1,crm,view\n";
        let a = dir.path().join("a.csv");
        let b = dir.path().join("b.csv");
        std::fs::write(&a, text).expect("write");
        std::fs::write(&b, text).expect("write");
        let patterns = [a.display().to_string(), b.display().to_string()];
        let s = store
            .import_events(&patterns, &Settings::default(), false, false)
            .expect("import");
        assert_eq!(
            (s.events, s.files_imported, s.files_skipped.len()),
            (1, 1, 1)
        );
        let s = store
            .import_events(&patterns[..1], &Settings::default(), false, false)
            .expect("import");
        assert_eq!((s.events, s.files_skipped.len()), (0, 1));
        assert_eq!(store.manifest().event_count(), 1);
    }
}
