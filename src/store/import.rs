//! Importing event files: read in parallel, split by local date, written
//! as Parquet and committed with a new rollup.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use datafusion::arrow::array::{RecordBatch, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::model::LocalZones;
use crate::model::week::date_of_day;

use super::error::{Error, FileContext, InputProblem, IoContext, Result};
use super::files::{self, ParquetFile};
use super::manifest::{EventFile, ImportRecord};
use super::rollup::{self, Rollup};
use super::{Pseudonym, Store, input};

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
    /// What a source other than `native` read besides events.
    pub reading: crate::connect::Reading,
    /// Files read in place that were not registered (refused rows, or the
    /// content of another file), as they were found.
    pub left_out: Vec<super::lake::Found>,
}

/// What reading the files of an import produced, not yet committed.
struct FilesRead {
    new_files: Vec<EventFile>,
    records: BTreeMap<String, ImportRecord>,
    /// The source's events stored before and read now.
    seen: super::seen::Seen,
    summary: ImportSummary,
}

/// What importing one events file produced.
#[derive(Default)]
pub(super) struct FileOutcome {
    files: Vec<EventFile>,
    events: u64,
    rollup: Rollup,
    problems: input::Problems,
    reading: crate::connect::Reading,
}

/// Applies `f` to every item on one worker thread per core, keeping order.
pub(super) fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    crate::parallel::map(items, crate::parallel::cores(), f)
}

impl Store {
    /// Imports event files (paths or glob patterns). All or nothing: with
    /// any refused row and `partial` false nothing is stored.
    pub fn import_events(
        &mut self,
        patterns: &[String],
        input: &crate::connect::Input,
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
            input,
            &import_id,
            settings,
            partial,
            progress,
            &mut rollup,
            &mut written,
        );
        let outcome = result.and_then(|read| {
            let FilesRead {
                new_files,
                records,
                seen,
                mut summary,
            } = read;
            if new_files.is_empty() {
                return Ok(summary);
            }
            let (seen_files, seen_written) = seen.write(&import_id)?;
            written.extend(seen_written);
            let source = input.source.to_string();
            let replaced: Vec<PathBuf> = self
                .manifest
                .seen
                .get(&source)
                .into_iter()
                .flat_map(|old| {
                    seen_files
                        .keys()
                        .filter_map(|date| old.get(date).map(|rel| self.root.join(rel)))
                })
                .collect();
            self.commit(&import_id, &mut rollup, settings, &mut written, |m| {
                m.event_files.extend(new_files);
                m.imports.extend(records);
                if !seen_files.is_empty() {
                    m.seen.entry(source).or_default().extend(seen_files);
                }
            })?;
            for path in replaced {
                let _ = std::fs::remove_file(path);
            }
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
        input: &crate::connect::Input,
        import_id: &str,
        settings: &Settings,
        partial: bool,
        progress: bool,
        rollup: &mut Rollup,
        written: &mut Vec<PathBuf>,
    ) -> Result<FilesRead> {
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
        let bar = progress_bar(progress, 0);
        let shared_written = Mutex::new(Vec::new());
        let zones = self.zones(settings)?;
        let seen = super::seen::Seen::of(&self.root, &self.manifest, &input.source.to_string());
        let resolver = input::Resolver::of(&self.root, input.source, pseudonym.cloned())?;
        let source = input::SourceRead {
            input,
            seen: &seen,
            resolver: &resolver,
        };
        // A large CSV of a source is read in parts, one per core; every
        // other file whole.
        let mut pieces: Vec<(usize, Option<input::Part>)> = Vec::new();
        for (file, (_, path, _)) in todo.iter().enumerate() {
            let parts = match split_parts(path, input.source)? {
                parts if parts.len() > 1 => parts.into_iter().map(Some).collect(),
                _ => vec![None],
            };
            pieces.extend(parts.into_iter().map(|part| (file, part)));
        }
        let numbered: Vec<(usize, &(usize, Option<input::Part>))> =
            pieces.iter().enumerate().collect();
        bar.set_length(pieces.len() as u64);
        let outcomes = parallel_map(&numbered, |(number, (file, part))| {
            let path = todo[*file].1;
            bar.set_message(path.display().to_string());
            let outcome = self.import_file(
                path,
                *part,
                &source,
                *number,
                import_id,
                settings,
                &times,
                pseudonym,
                &shared_written,
                &zones,
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

        let mut merged: Vec<FileOutcome> = todo.iter().map(|_| FileOutcome::default()).collect();
        for ((file, _), outcome) in pieces.iter().zip(outcomes) {
            merged[*file].merge(outcome?);
        }
        let mut problems = input::Problems::default();
        let mut new_files = Vec::new();
        let mut records = BTreeMap::new();
        for ((_, path, hash), outcome) in todo.into_iter().zip(merged) {
            problems.extend(outcome.problems);
            let unmapped = outcome.reading.unmapped.clone();
            summary.reading.extend(outcome.reading);
            rollup.merge(outcome.rollup);
            new_files.extend(outcome.files);
            records.insert(
                hash,
                ImportRecord {
                    source: path.display().to_string(),
                    events: outcome.events,
                    imported_at: chrono::Utc::now()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    unmapped,
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
        Ok(FilesRead {
            new_files,
            records,
            seen,
            summary,
        })
    }

    /// Reads one events file into new partition files (not yet committed)
    /// and a rollup of its events.
    #[allow(clippy::too_many_arguments)]
    fn import_file(
        &self,
        path: &Path,
        part: Option<input::Part>,
        source: &input::SourceRead<'_>,
        index: usize,
        import_id: &str,
        settings: &Settings,
        times: &crate::model::event::TimeRange,
        pseudonym: Option<&Pseudonym>,
        written: &Mutex<Vec<PathBuf>>,
        zones: &std::sync::Arc<crate::model::Zones>,
    ) -> Result<FileOutcome> {
        let mut outcome = FileOutcome::default();
        let mut partitions: BTreeMap<i32, (PathBuf, ParquetFile)> = BTreeMap::new();
        let mut local = LocalZones::new(zones.clone());
        let rollup = &mut outcome.rollup;
        let events = &mut outcome.events;
        // A source's ids are stored as the directory's already.
        let native = source.input.source == crate::connect::Source::Native;
        let mut sink = |batch: RecordBatch| -> Result<()> {
            let batch = match pseudonym {
                Some(p) if native => p.batch(&batch)?,
                _ => batch,
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
        input::read_events(
            path,
            part,
            source,
            times,
            &mut outcome.problems,
            &mut outcome.reading,
            &mut sink,
        )?;
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
}

/// Files of a source smaller than this are read whole.
const SPLIT_ABOVE: u64 = 32 << 20;

/// The parts of `path` to read on their own: one per core for a large
/// CSV file of a source (not compressed), else none.
fn split_parts(path: &Path, source: crate::connect::Source) -> Result<Vec<input::Part>> {
    let cores = crate::parallel::cores();
    let compressed = path.extension().is_some_and(|e| e == "gz");
    let large = std::fs::metadata(path).is_ok_and(|m| m.len() > SPLIT_ABOVE);
    if !source.reads_csv() || compressed || !large || cores < 2 {
        return Ok(Vec::new());
    }
    input::split_csv(path, cores)
}

impl FileOutcome {
    /// Adds the outcome of another part of the same file.
    fn merge(&mut self, other: FileOutcome) {
        self.files.extend(other.files);
        self.events += other.events;
        self.rollup.merge(other.rollup);
        self.problems.extend(other.problems);
        self.reading.extend(other.reading);
    }
}

/// Splits a batch into one batch per local day.
pub(super) fn split_by_day(batch: &RecordBatch, days: &[i32]) -> Result<Vec<(i32, RecordBatch)>> {
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

/// The files a glob pattern matches; an error naming `pattern` (as the
/// user wrote it) when it is bad or matches none.
pub(super) fn glob_files(glob: &str, pattern: &str) -> Result<Vec<PathBuf>> {
    let matches: Vec<PathBuf> = glob::glob(glob)
        .map_err(|e| Error::File {
            path: pattern.into(),
            message: format!("bad glob pattern: {e}"),
        })?
        .filter_map(|p| p.ok())
        .filter(|p| p.is_file())
        .collect();
    if matches.is_empty() {
        return Err(Error::NoMatch(pattern.to_string()));
    }
    Ok(matches)
}

pub(super) fn expand_patterns(patterns: &[String]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for pattern in patterns {
        if pattern.contains(['*', '?', '[']) {
            files.extend(glob_files(pattern, pattern)?);
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

pub(super) fn file_sha256(path: &Path) -> Result<String> {
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

pub(super) fn new_import_id() -> String {
    format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%6f"),
        std::process::id()
    )
}

pub(super) fn progress_bar(enabled: bool, len: u64) -> indicatif::ProgressBar {
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

/// Reads event files of a source as an import into the data directory
/// `data` would (with its directory and identities, read only), stores
/// nothing, and writes the events as CSV to `out`
/// (`user_id,event_time,module,action`, times in UTC to the millisecond,
/// ids resolved as they would be stored); the summary counts what an
/// import would store, refuse and drop.
pub fn preview_events(
    data: &Path,
    patterns: &[String],
    source: &crate::connect::Input,
    settings: &Settings,
    out: &mut dyn std::io::Write,
) -> Result<ImportSummary> {
    let started = Instant::now();
    let times = settings.event_times(chrono::Utc::now());
    let files = expand_patterns(patterns)?;
    let mut summary = ImportSummary::default();
    let mut problems = input::Problems::default();
    let manifest = super::manifest::Manifest::load(data)?;
    let seen = super::seen::Seen::of(data, &manifest, &source.source.to_string());
    let pseudonym = Pseudonym::new(&settings.privacy.pseudonym_key);
    let resolver = input::Resolver::of(data, source.source, pseudonym)?;
    let read = input::SourceRead {
        input: source,
        seen: &seen,
        resolver: &resolver,
    };
    let stdout = |e: std::io::Error| Error::Io {
        path: "(standard output)".into(),
        source: e,
    };
    writeln!(out, "user_id,event_time,module,action").map_err(stdout)?;
    for path in &files {
        let mut events = 0u64;
        let mut sink = |batch: RecordBatch| -> Result<()> {
            use datafusion::arrow::array::{AsArray, TimestampMicrosecondArray};
            let time = batch
                .column(0)
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .ok_or_else(|| Error::File {
                    path: path.clone(),
                    message: "event_time is not a timestamp".into(),
                })?;
            let text = |i: usize| batch.column(i).as_string::<i32>();
            let (user, module, action) = (text(1), text(2), text(3));
            let mut csv = csv::Writer::from_writer(Vec::new());
            for row in 0..batch.num_rows() {
                let at = chrono::DateTime::from_timestamp_micros(time.value(row))
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                    .unwrap_or_default();
                csv.write_record([user.value(row), &at, module.value(row), action.value(row)])
                    .in_file(path)?;
            }
            let bytes = csv.into_inner().map_err(|e| Error::File {
                path: path.clone(),
                message: e.to_string(),
            })?;
            out.write_all(&bytes).map_err(stdout)?;
            events += batch.num_rows() as u64;
            Ok(())
        };
        let mut file_problems = input::Problems::default();
        input::read_events(
            path,
            None,
            &read,
            &times,
            &mut file_problems,
            &mut summary.reading,
            &mut sink,
        )?;
        problems.extend(file_problems);
        summary.events += events;
        summary.files_imported += 1;
    }
    summary.rejected_total = problems.total;
    summary.rejected = problems.kept;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
