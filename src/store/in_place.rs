//! Events read in place: Parquet files that stay where a data lake holds
//! them (`uptake import events --in-place 's3://lake/crm/events/date=*/'`).
//!
//! Registering a file reads it once, as an import does (every row checked,
//! the rollup updated), but stores no copy: the manifest names the file
//! with its size and version ([`lake::Found`]). `uptake rebuild` reads it
//! again from the lake, and so do `uptake stats` (through DataFusion).
//! Files that appear later are registered by running the import again or
//! by `serve`'s watch (`ingest.watch`); a registered file that changed or
//! went is refused wherever it would be read, and `uptake check` names it.
//!
//! What a file read in place must be, because uptake cannot correct it:
//! uptake's own event columns (`native`) in Parquet with `event_time` as a
//! timestamp, and every row valid; a file with refused rows is refused
//! whole (with `--partial`, left out and named). Without a pseudonym key
//! only: the lake's user ids would be read as they are.
//!
//! A registration is [`Store::new_in_place`] (list, refuse changes),
//! reading (here: [`Store::read_in_place`]; or a cluster's, which checks
//! the rows and builds the rollup where the files are) and
//! [`Store::register_read`] (take or leave each file, commit).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::config::Settings;
use crate::connect;
use crate::model::LocalZones;
use crate::model::event::TimeRange;
use crate::model::week::date_of_day;

use super::error::{Error, FileContext, InputProblem, IoContext, Result};
use super::import::{ImportSummary, file_sha256, new_import_id, parallel_map, progress_bar};
use super::lake::{self, Found};
use super::manifest::{ImportRecord, InPlaceFile};
use super::rollup::{self, Rollup};
use super::{Pseudonym, Store, input};

/// What reading one file of the lake gave.
#[derive(Default)]
pub struct LakeRead {
    /// The rollup of its qualifying events (empty when a cluster read it:
    /// see [`Store::register_read`]).
    pub rollup: Rollup,
    pub events: u64,
    /// First and last local day of its events.
    pub days: Option<(i32, i32)>,
    /// The SHA-256 of its content, when it was read here: the same content
    /// under two addresses, or imported before as a copy, counts once.
    pub sha256: Option<String>,
    pub problems: input::Problems,
}

impl Store {
    /// Registers the event files `patterns` name (see [`lake`]) in place:
    /// new files are read and committed with the rollup; files registered
    /// before and unchanged are left as they are. Refused, with nothing
    /// registered, when a registered file the patterns name changed.
    pub fn import_in_place(
        &mut self,
        patterns: &[String],
        settings: &Settings,
        partial: bool,
        progress: bool,
    ) -> Result<ImportSummary> {
        let mut rollup = match self.rollup_files() {
            Some(files) => Rollup::load(&files)?,
            None => Rollup::default(),
        };
        let ignore = HashSet::new();
        self.register_in_place(patterns, settings, partial, progress, &ignore, &mut rollup)
    }

    /// [`Store::import_in_place`] updating `rollup`, the store's rollup as
    /// the caller keeps it in memory (live ingestion), and passing over
    /// the files in `ignore` (left out before and unchanged since). When
    /// this fails, `rollup` may hold events of files not registered: load
    /// it again.
    pub fn register_in_place(
        &mut self,
        patterns: &[String],
        settings: &Settings,
        partial: bool,
        progress: bool,
        ignore: &HashSet<Found>,
        rollup: &mut Rollup,
    ) -> Result<ImportSummary> {
        let started = Instant::now();
        let new = self.new_in_place(patterns, settings, ignore)?;
        if new.is_empty() {
            return Ok(ImportSummary::default());
        }
        let reads = self.read_in_place(&new, settings, progress);
        self.register_read(
            new,
            reads,
            Rollup::default(),
            settings,
            partial,
            rollup,
            started,
        )
    }

    /// The files `patterns` name that are not registered yet (nor in
    /// `ignore`), after the checks of a registration: refused, with
    /// nothing registered, when a registered file they name changed.
    pub fn new_in_place(
        &self,
        patterns: &[String],
        settings: &Settings,
        ignore: &HashSet<Found>,
    ) -> Result<Vec<Found>> {
        self.check_writer()?;
        self.check_derived(settings)?;
        if Pseudonym::new(&settings.privacy.pseudonym_key).is_some() {
            return Err(Error::File {
                path: patterns.first().cloned().unwrap_or_default().into(),
                message: "events read in place keep the lake's user ids, but privacy.pseudonym_key asks for pseudonyms: import a copy (without --in-place), which stores pseudonyms only".into(),
            });
        }
        self.check_pseudonym(settings)?;
        let mut listed: BTreeMap<String, Found> = BTreeMap::new();
        for pattern in patterns {
            for found in lake::list(pattern)? {
                listed.insert(found.url.clone(), found);
            }
        }
        let registered: HashMap<&str, &InPlaceFile> = self
            .manifest
            .in_place
            .iter()
            .map(|f| (f.found.url.as_str(), f))
            .collect();
        let mut changed = Vec::new();
        let mut new = Vec::new();
        for (url, found) in listed {
            match registered.get(url.as_str()) {
                Some(file) => {
                    if let Some(change) = file.found.change(Some(&found)) {
                        changed.push(format!("{url}: {change}"));
                    }
                }
                None if ignore.contains(&found) => {}
                None => new.push(found),
            }
        }
        if !changed.is_empty() {
            return Err(Error::Changed(changed));
        }
        Ok(new)
    }

    /// Reads new files of the lake here, each into a rollup of its own.
    pub fn read_in_place(
        &self,
        new: &[Found],
        settings: &Settings,
        progress: bool,
    ) -> Vec<Result<LakeRead>> {
        let times = settings.event_times(chrono::Utc::now());
        let bar = progress_bar(progress, new.len() as u64);
        let reads = parallel_map(new, |found| {
            bar.set_message(found.url.clone());
            let read = self.read_one(found, settings, &times);
            bar.inc(1);
            read
        });
        bar.finish_and_clear();
        let _ = std::fs::remove_dir(scratch_dir());
        reads
    }

    /// Registers the files `new` as `reads` (in the same order) found
    /// them, with `shared` the rollup of those read together elsewhere (a
    /// cluster's: every file it read without a refused row), and commits;
    /// `rollup` is the store's rollup, updated.
    #[allow(clippy::too_many_arguments)]
    pub fn register_read(
        &mut self,
        new: Vec<Found>,
        reads: Vec<Result<LakeRead>>,
        shared: Rollup,
        settings: &Settings,
        partial: bool,
        rollup: &mut Rollup,
        started: Instant,
    ) -> Result<ImportSummary> {
        let mut summary = ImportSummary::default();
        let registered_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut problems = input::Problems::default();
        let mut files = Vec::new();
        let mut records = BTreeMap::new();
        let mut hashes: HashSet<String> = HashSet::new();
        let mut taken = Vec::new();
        for (found, read) in new.into_iter().zip(reads) {
            let read = read?;
            if read.problems.total > 0 {
                let first = read.problems.kept.first().map(ToString::to_string);
                summary.files_skipped.push((
                    found.url.clone(),
                    format!(
                        "{} refused rows (first: {}); a file read in place is counted whole or not at all",
                        read.problems.total,
                        first.unwrap_or_default()
                    ),
                ));
                problems.extend(read.problems);
                summary.left_out.push(found);
                continue;
            }
            if let Some(sha256) = &read.sha256 {
                if let Some(previous) = self.manifest.imports.get(sha256) {
                    let why = format!(
                        "same content as {} imported {}",
                        previous.source, previous.imported_at
                    );
                    summary.files_skipped.push((found.url.clone(), why));
                    summary.left_out.push(found);
                    continue;
                }
                if !hashes.insert(sha256.clone()) {
                    let why = "same content as another file of this import".to_string();
                    summary.files_skipped.push((found.url.clone(), why));
                    summary.left_out.push(found);
                    continue;
                }
            }
            let Some((first, last)) = read.days else {
                summary
                    .files_skipped
                    .push((found.url.clone(), "holds no events".into()));
                summary.left_out.push(found);
                continue;
            };
            taken.push(read.rollup);
            // A file read elsewhere is known by its address and version.
            let key = read
                .sha256
                .unwrap_or_else(|| format!("{} {}", found.url, found.version));
            records.insert(
                key,
                ImportRecord {
                    source: found.url.clone(),
                    events: read.events,
                    imported_at: registered_at.clone(),
                    unmapped: BTreeMap::new(),
                },
            );
            summary.events += read.events;
            summary.files_imported += 1;
            files.push(InPlaceFile {
                found,
                events: read.events,
                first_date: date_of_day(first).to_string(),
                last_date: date_of_day(last).to_string(),
                registered_at: registered_at.clone(),
                future_allowed: settings.import.allow_future,
            });
        }
        if problems.total > 0 && !partial {
            return Err(Error::Input(problems.kept));
        }
        if files.is_empty() {
            return Ok(summary);
        }
        for read in taken {
            rollup.merge(read);
        }
        rollup.merge(shared);
        let mut written = Vec::new();
        let committed = self.commit(&new_import_id(), rollup, settings, &mut written, |m| {
            m.in_place.extend(files);
            m.imports.extend(records);
        });
        if committed.is_err() {
            for path in &written {
                let _ = std::fs::remove_file(path);
            }
        }
        committed?;
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Reads a file of the lake as it was found into a rollup of its own.
    fn read_one(&self, found: &Found, settings: &Settings, times: &TimeRange) -> Result<LakeRead> {
        let zones = self.zones(settings)?;
        let native = connect::Input::new(connect::Source::Native, None)?;
        let seen = super::seen::Seen::new(&self.root, "native", BTreeMap::new());
        let resolver = input::Resolver::default();
        let source = input::SourceRead {
            input: &native,
            seen: &seen,
            resolver: &resolver,
        };
        lake::read_as_found(found, &scratch_dir(), |path| {
            let mut read = LakeRead {
                sha256: Some(file_sha256(path)?),
                ..LakeRead::default()
            };
            if let Some(problem) = unreadable_in_place(path, &found.url)? {
                read.problems.extend(input::Problems {
                    kept: vec![problem],
                    total: 1,
                });
                return Ok(read);
            }
            let mut local = LocalZones::new(zones.clone());
            let mut sink = |batch: datafusion::arrow::array::RecordBatch| -> Result<()> {
                let days = rollup::local_days(&batch, &mut local);
                read.rollup
                    .add_events(&batch, &days, &settings.activity.exclude_actions);
                read.events += batch.num_rows() as u64;
                for &day in &days {
                    read.days = Some(match read.days {
                        None => (day, day),
                        Some((first, last)) => (first.min(day), last.max(day)),
                    });
                }
                Ok(())
            };
            let mut problems = input::Problems::default();
            let mut reading = connect::Reading::default();
            input::read_events(
                path,
                None,
                &source,
                times,
                &mut problems,
                &mut reading,
                &mut sink,
            )?;
            // Named by the file's address, not the copy read here.
            for problem in &mut problems.kept {
                problem.file.clone_from(&found.url);
            }
            read.problems = problems;
            Ok(read)
        })
    }

    /// The rollup of the registered files except those `left_out` names
    /// (by address), and their events: each read again from the lake, and
    /// refused when it changed or its rows would no longer all be taken.
    pub(super) fn rollup_in_place(
        &self,
        left_out: &HashSet<&str>,
        settings: &Settings,
        bar: &indicatif::ProgressBar,
    ) -> Result<(Rollup, u64)> {
        let files: Vec<&InPlaceFile> = self
            .manifest
            .in_place
            .iter()
            .filter(|f| !left_out.contains(f.found.url.as_str()))
            .collect();
        // The times a file's rows were checked against when it was
        // registered: with or without future times.
        let now = chrono::Utc::now();
        let mut future = settings.clone();
        future.import.allow_future = true;
        let (times, future_times) = (settings.event_times(now), future.event_times(now));
        let reads = parallel_map(&files, |file| {
            let times = if file.future_allowed {
                &future_times
            } else {
                &times
            };
            let read = self.read_one(&file.found, settings, times);
            bar.inc(1);
            read
        });
        let _ = std::fs::remove_dir(scratch_dir());
        let mut rollup = Rollup::default();
        let mut events = 0;
        for (file, read) in files.into_iter().zip(reads) {
            let read = read?;
            if read.problems.total > 0 {
                return Err(Error::Input(read.problems.kept));
            }
            if read.events != file.events {
                return Err(Error::File {
                    path: file.found.url.clone().into(),
                    message: format!(
                        "holds {} events, {} when it was registered",
                        read.events, file.events
                    ),
                });
            }
            rollup.merge(read.rollup);
            events += read.events;
        }
        Ok((rollup, events))
    }

    /// Registered files that changed or went since, with how.
    pub fn changed_in_place(&self) -> Result<Vec<(InPlaceFile, String)>> {
        let urls: Vec<String> = self
            .manifest
            .in_place
            .iter()
            .map(|f| f.found.url.clone())
            .collect();
        let now = lake::stat(&urls)?;
        Ok(self
            .manifest
            .in_place
            .iter()
            .zip(now)
            .filter_map(|(file, now)| file.found.change(now.as_ref()).map(|c| (file.clone(), c)))
            .collect())
    }

    /// Drops the registered files that changed or went (each with its
    /// reason) and rebuilds the rollup without them; register them again
    /// to count what they hold now.
    pub fn drop_changed_in_place(
        &mut self,
        settings: &Settings,
    ) -> Result<Vec<(InPlaceFile, String)>> {
        self.check_writer()?;
        let changed = self.changed_in_place()?;
        if changed.is_empty() {
            return Ok(changed);
        }
        let gone: HashSet<&str> = changed.iter().map(|(f, _)| f.found.url.as_str()).collect();
        self.rebuild_without(&gone, settings, false)?;
        Ok(changed)
    }
}

/// Where objects of the lake are downloaded to be read, one file at a
/// time per worker; removed (when empty) after each registration or
/// rebuild.
fn scratch_dir() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("uptake-lake-{}", std::process::id()))
}

/// Why the Parquet file at `path` (`url` in the lake) cannot be read in
/// place, if it cannot: uptake reads its columns as they are (also through
/// DataFusion), so they must have the types it stores.
fn unreadable_in_place(path: &Path, url: &str) -> Result<Option<InputProblem>> {
    let problem = |column: &str, reason: String| InputProblem {
        file: url.to_string(),
        position: "header".into(),
        column: column.to_string(),
        reason,
    };
    let is_parquet = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if !is_parquet {
        return Ok(Some(problem(
            "-",
            "events read in place must be Parquet files (*.parquet); import a copy instead".into(),
        )));
    }
    let file = std::fs::File::open(path).at(path)?;
    let schema = ParquetRecordBatchReaderBuilder::try_new(file)
        .in_file(url)?
        .schema()
        .clone();
    Ok(schema_problem(&schema, url))
}

/// Why a Parquet file of the lake (at `url`) with `schema` cannot be read
/// in place, if it cannot: uptake reads its columns as they are (also
/// through DataFusion), so they must be there, with the types it stores.
pub fn schema_problem(schema: &Schema, url: &str) -> Option<InputProblem> {
    let problem = |column: &str, reason: String| InputProblem {
        file: url.to_string(),
        position: "header".into(),
        column: column.to_string(),
        reason,
    };
    if let Some(missing) = input::REQUIRED_COLUMNS
        .into_iter()
        .find(|c| schema.field_with_name(c).is_err())
    {
        return Some(problem(
            missing,
            "required column is missing from the file".into(),
        ));
    }
    let is_text = |t: &DataType| match t {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, value) => {
            matches!(
                **value,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        }
        _ => false,
    };
    for field in schema.fields() {
        let fits = match field.name().as_str() {
            "event_time" => matches!(field.data_type(), DataType::Timestamp(_, _)),
            "user_id" | "module" | "action" | "client" => is_text(field.data_type()),
            _ => true,
        };
        if !fits {
            let wanted = if field.name() == "event_time" {
                "a timestamp"
            } else {
                "text"
            };
            return Some(problem(
                field.name(),
                format!(
                    "has type {}; events read in place need {wanted} here (import a copy instead, which converts it)",
                    field.data_type()
                ),
            ));
        }
    }
    None
}
