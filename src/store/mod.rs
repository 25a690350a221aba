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
//! tables/identities.parquet            aliases of directory users (`uptake import identities`)
//! tables/directory_aliases.parquet     aliases from the directory's alias columns
//! events/date=YYYY-MM-DD/*.parquet     raw events, by local date
//! rollup/user_module_week-<week>-*.parquet
//!                                      derived week by week, rebuilt by `uptake rebuild`
//! rollup/user_week-<week>-*.parquet    (store::rollup)
//! rollup/users-*.parquet, modules-*.parquet
//!                                      the rollup's keys of user ids and modules
//! seen/<source>/<date>-*.bin           events of each source stored, by UTC date (store::seen)
//! derived/protection/<inputs>.parquet  protection decisions by week, named by what they were
//!                                        decided from (kpi::protect::kept)
//! derived/cube/<inputs>-<table>-<week>.parquet
//!                                      the cube week by week, named by what it was
//!                                        computed from (engine::kept)
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
//! sync.lock, .remote.json              the working copy of a data directory in object storage (store::remote)
//! ```
//!
//! Raw events are the source of truth. Every event import writes new files
//! and then commits them together with a new rollup by replacing the
//! manifest; anything not named by the manifest is garbage from an
//! interrupted import and is removed when the store is opened.

mod compact;
mod dates;
pub mod derived;
pub mod error;
pub mod files;
mod import;
mod in_place;
pub mod input;
pub mod lake;
mod live;
pub mod manifest;
pub mod pseudonym;
pub mod quarantine;
pub mod remote;
pub mod rollup;
pub mod seen;
pub mod tables;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use error::IoContext;
pub use error::{Error, InputProblem, Result};
use manifest::{Manifest, RollupInfo, RollupSettings};
pub use pseudonym::Pseudonym;
use rollup::{Rollup, RollupFiles};
use tables::{StoredTable, read_csv_table, read_table, write_table};

use crate::config::Settings;
use crate::model::identity::DirectoryRow;
use crate::model::tables::Table;
use crate::model::tables::{RowProblem, check_known_waves};
use crate::model::{Identity, Licensee, Module, Wave};

pub use dates::implausible_date;
pub use import::{ImportSummary, preview_events};
pub use in_place::{LakeRead, schema_problem};

/// An open data directory. One process at a time may write it: the first
/// to open it holds `writer.lock`; others open it for reading only (they
/// neither clean up nor change anything, and writes are refused; any
/// process may add derived files, see [`derived`]).
#[derive(Clone)]
pub struct Store {
    root: PathBuf,
    manifest: Manifest,
    writer: Option<std::sync::Arc<std::fs::File>>,
    /// Rollup files that commits of this process replaced, with when: a
    /// reader that read the manifest before (an engine opening after the
    /// previous live flush) may still be reading them, so they are removed
    /// by a later commit once [`RETIRED_FOR`] has passed, or as files of no
    /// commit when a writer next opens the store.
    retired: Vec<(std::time::Instant, PathBuf)>,
}

/// How long replaced rollup files stay for readers of the manifest before.
const RETIRED_FOR: std::time::Duration = std::time::Duration::from_secs(60);

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
            retired: Vec::new(),
        };
        if store.writer.is_some() {
            store.quarantine_damaged()?;
            store.remove_unreferenced()?;
        }
        Ok(store)
    }

    /// Opens a data directory to read its figures only, never as its
    /// writer: nothing is checked or moved, so a working copy holding the
    /// manifest, tables and rollup without the raw events
    /// ([`remote::Fetch::WithoutEvents`]) is read as it is.
    pub fn open_to_read(root: &Path) -> Result<Store> {
        Ok(Store {
            root: root.to_path_buf(),
            manifest: Manifest::load(root)?,
            writer: None,
            retired: Vec::new(),
        })
    }

    /// Whether this process may write the store (it holds `writer.lock`).
    pub fn is_writer(&self) -> bool {
        self.writer.is_some()
    }

    /// Fails unless this process may write the store.
    pub fn check_writer(&self) -> Result<()> {
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
            let all = rollup.all();
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
        table_path(&self.root, name)
    }

    /// Absolute paths of the stored raw event files.
    pub fn event_file_paths(&self) -> Vec<PathBuf> {
        self.manifest
            .event_files
            .iter()
            .map(|f| self.root.join(&f.path))
            .collect()
    }

    /// The stored index files of events ([`seen`]), relative to the root.
    fn seen_files(&self) -> Vec<&String> {
        self.manifest
            .seen
            .values()
            .flat_map(|f| f.values())
            .collect()
    }

    /// The files of the stored rollup, if any.
    pub fn rollup_files(&self) -> Option<RollupFiles> {
        self.manifest
            .rollup
            .as_ref()
            .map(|r| RollupFiles::of(&self.root, r))
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
            let now = self.rollup_settings(settings)?;
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
            keep.extend(f.all());
        }
        keep.extend(self.seen_files().into_iter().map(|rel| self.root.join(rel)));
        for dir in ["events", "rollup", "seen"] {
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
        let has_data = self.manifest.event_count() > 0 || self.table_path("directory").exists();
        if self.is_writer() || self.root.join(pseudonym::FILE_NAME).exists() {
            pseudonym::check(&self.root, pseudonym.as_ref(), has_data)?;
        }
        Ok(pseudonym)
    }

    /// Replaces the licensee directory; user ids are pseudonymised first
    /// when a key is configured.
    pub fn import_directory(&mut self, path: &Path, settings: &Settings) -> Result<usize> {
        self.import_directory_mapped(path, None, settings)
    }

    /// Imports the directory from an HR or identity export through a
    /// mapping ([`crate::connect::directory`]), or from uptake's own
    /// columns without one.
    pub fn import_directory_mapped(
        &mut self,
        path: &Path,
        mapping: Option<&crate::connect::directory::Mapping>,
        settings: &Settings,
    ) -> Result<usize> {
        self.check_writer()?;
        let pseudonym = self.check_pseudonym(settings)?;
        let before = self.rollup_settings(settings)?;
        let (rows, lines) = read_directory(path, mapping)?;
        if let Err(RowProblem { row, error }) = crate::model::identity::check_unique_aliases(&rows)
        {
            return Err(Error::Input(vec![tables::problem_at_line(
                path, lines[row], error,
            )]));
        }
        let (mut licensees, mut aliases): (Vec<Licensee>, Vec<Identity>) =
            (Vec::with_capacity(rows.len()), Vec::new());
        for row in rows {
            licensees.push(row.licensee);
            aliases.extend(row.aliases);
        }
        if let Some(p) = &pseudonym {
            for l in &mut licensees {
                l.user_id = p.id(&l.user_id);
            }
            for a in &mut aliases {
                *a = p.identity(a);
            }
        }
        let waves: Vec<Wave> = read_table(&self.table_path("waves"))?;
        if let Err(RowProblem { row, error }) = check_known_waves(&licensees, &waves) {
            return Err(Error::Input(vec![tables::problem_at_line(
                path, lines[row], error,
            )]));
        }
        write_table(&self.table_path(DIRECTORY_ALIASES), &aliases)?;
        write_table(&self.table_path("directory"), &licensees)?;
        // A licensee moved to a region of another zone: their events fall
        // on other local days, so a current rollup is built again (until
        // it is, `check_derived` calls it stale).
        if self
            .manifest
            .rollup
            .as_ref()
            .is_some_and(|r| r.settings == before)
            && self.rollup_settings(settings)? != before
        {
            self.rebuild(settings, false)?;
        }
        Ok(licensees.len())
    }

    /// Imports the aliases of directory users (`user_id,source,alias`),
    /// replacing those stored. Every `user_id` must be in the directory;
    /// with `privacy.pseudonym_key` set, user ids and aliases are stored
    /// pseudonymised, as events are.
    pub fn import_identities(&mut self, path: &Path, settings: &Settings) -> Result<usize> {
        self.check_writer()?;
        let pseudonym = self.check_pseudonym(settings)?;
        let (mut identities, lines) = read_csv_table::<Identity>(path)?;
        let known: HashSet<String> = self
            .table::<Licensee>()?
            .into_iter()
            .map(|l| l.user_id)
            .collect();
        let mut problems = Vec::new();
        for (row, identity) in identities.iter_mut().enumerate() {
            if let Some(p) = &pseudonym {
                *identity = p.identity(identity);
            }
            if !known.contains(&identity.user_id) {
                problems.push(tables::problem_at_line(
                    path,
                    lines[row],
                    crate::model::FieldError::new(
                        "user_id",
                        "not in the directory: import the directory first",
                    ),
                ));
            }
        }
        if !problems.is_empty() {
            return Err(Error::Input(problems));
        }
        write_table(&self.table_path("identities"), &identities)?;
        Ok(identities.len())
    }

    /// Replaces the module catalog.
    pub fn import_modules(&mut self, path: &Path) -> Result<usize> {
        self.check_writer()?;
        let (modules, _) = read_csv_table::<Module>(path)?;
        write_table(&self.table_path("modules"), &modules)?;
        Ok(modules.len())
    }

    /// The names readers see for the stored waves and modules and the
    /// settings' regions.
    pub fn labels(&self, settings: &Settings) -> Result<crate::model::Labels> {
        Ok(crate::model::Labels {
            waves: self.table()?,
            modules: self.table()?,
            regions: settings.region_names.clone(),
        })
    }

    /// Reads a stored table.
    pub fn table<T: StoredTable>(&self) -> Result<Vec<T>> {
        read_table(&self.table_path(T::NAME))
    }

    /// Writes the weeks of `rollup` that changed and its key tables as
    /// new files, and commits a manifest changed by `change`; replaced
    /// rollup files are retired ([`Store::retired`]).
    fn commit(
        &mut self,
        id: &str,
        rollup: &mut Rollup,
        settings: &Settings,
        written: &mut Vec<PathBuf>,
        change: impl FnOnce(&mut Manifest),
    ) -> Result<()> {
        let weeks = rollup.write(&self.root, id, self.manifest.rollup.as_ref(), written)?;
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
            settings: self.rollup_settings(settings)?,
            generation: id.to_string(),
            by_week: true,
            weeks,
        });
        manifest.save(&self.root)?;
        self.manifest = manifest;
        written.clear();
        rollup.committed();
        let at = std::time::Instant::now();
        self.retired.retain(|(when, path)| {
            let keep = at.duration_since(*when) < RETIRED_FOR;
            if !keep {
                let _ = std::fs::remove_file(path);
            }
            keep
        });
        if let Some(old) = old {
            let now: HashSet<PathBuf> = self
                .rollup_files()
                .map(|f| f.all().into_iter().collect())
                .unwrap_or_default();
            self.retired.extend(
                old.all()
                    .into_iter()
                    .filter(|path| !now.contains(path))
                    .map(|path| (at, path)),
            );
        }
        Ok(())
    }
}

/// Where the data directory `root` keeps the table `name`.
pub fn table_path(root: &Path, name: &str) -> PathBuf {
    root.join("tables").join(format!("{name}.parquet"))
}

/// The directory rows of a file, with their aliases, through a mapping
/// when one is given.
pub fn read_directory(
    path: &Path,
    mapping: Option<&crate::connect::directory::Mapping>,
) -> Result<(Vec<DirectoryRow>, Vec<u64>)> {
    match mapping {
        Some(mapping) => tables::read_mapped_directory(path, mapping),
        None => read_csv_table::<DirectoryRow>(path),
    }
}

/// The table of aliases the directory's alias columns give.
const DIRECTORY_ALIASES: &str = "directory_aliases";

/// The aliases of directory users in the data directory `root`: those of
/// the directory's alias columns and those imported on their own (which
/// win where both name an alias).
pub fn read_aliases(root: &Path) -> Result<Vec<Identity>> {
    let mut aliases: Vec<Identity> = read_table(&table_path(root, DIRECTORY_ALIASES))?;
    aliases.extend(read_table::<Identity>(&table_path(root, Identity::NAME))?);
    Ok(aliases)
}

/// The settings the rollup depends on.
impl Store {
    /// What the rollup depends on besides the events: the settings of
    /// SPEC.md that map events to days and the licensees' zones.
    pub fn rollup_settings(&self, settings: &Settings) -> Result<RollupSettings> {
        let mut exclude = settings.activity.exclude_actions.clone();
        exclude.sort();
        exclude.dedup();
        let zones = self.zones(settings)?;
        let licensee_zones = if zones.by_user.is_empty() {
            String::new()
        } else {
            let mut pairs: Vec<(&String, &str)> =
                zones.by_user.iter().map(|(u, tz)| (u, tz.name())).collect();
            pairs.sort();
            let text: String = pairs
                .iter()
                .map(|(u, z)| format!("{u}\u{1f}{z}\n"))
                .collect();
            use sha2::Digest;
            files::hex(&sha2::Sha256::digest(text.as_bytes()))[..16].to_string()
        };
        Ok(RollupSettings {
            timezone: settings.timezone.clone(),
            exclude_actions: exclude,
            region_timezones: settings.region_timezones.clone(),
            licensee_zones,
        })
    }

    /// Each licensee's time zone ([`crate::model::Zones`]): the
    /// directory is read only when `region_timezones` names a zone.
    pub fn zones(&self, settings: &Settings) -> Result<std::sync::Arc<crate::model::Zones>> {
        let default = settings.tz()?;
        let regions = settings.region_tz()?;
        let mut zones = crate::model::Zones::single(default);
        if regions.values().any(|tz| *tz != default) {
            for l in self.table::<crate::model::Licensee>()? {
                if let Some(tz) = regions.get(&l.region).filter(|tz| **tz != default) {
                    zones.by_user.insert(l.user_id, *tz);
                }
            }
        }
        Ok(std::sync::Arc::new(zones))
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
            .import_events(&patterns, &Default::default(), &settings, false, false)
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
            .import_events(
                &[bad.display().to_string()],
                &Default::default(),
                &settings,
                false,
                false,
            )
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
    fn replaced_rollup_files_stay_for_readers_of_the_manifest_before() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("data");
        let settings = Settings {
            import: crate::config::Import {
                allow_future: true,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut store = Store::open(&root).expect("open");
        let import = |store: &mut Store, name: &str, row: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("event_time,user_id,module,action\n{row}\n"))
                .expect("write");
            store
                .import_events(
                    &[path.display().to_string()],
                    &Default::default(),
                    &settings,
                    false,
                    false,
                )
                .expect("import");
        };
        import(&mut store, "a.csv", "2026-03-02T10:00:00Z,u1,crm,view");
        // What an engine opening now reads.
        let read = store.rollup_files().expect("rollup").all();
        import(&mut store, "b.csv", "2026-03-03T10:00:00Z,u2,crm,view");
        let now = store.rollup_files().expect("rollup").all();
        assert!(
            read.iter().any(|p| !now.contains(p)),
            "the week was replaced"
        );
        for path in &read {
            assert!(
                path.exists(),
                "{} was removed under a reader",
                path.display()
            );
        }
        // The next writer removes what no commit names.
        drop(store);
        let _store = Store::open(&root).expect("open");
        for path in read.iter().filter(|p| !now.contains(p)) {
            assert!(!path.exists(), "{} stays", path.display());
        }
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
            .import_events(
                &patterns,
                &Default::default(),
                &Settings::default(),
                false,
                false,
            )
            .expect("import");
        assert_eq!(
            (s.events, s.files_imported, s.files_skipped.len()),
            (1, 1, 1)
        );
        let s = store
            .import_events(
                &patterns[..1],
                &Default::default(),
                &Settings::default(),
                false,
                false,
            )
            .expect("import");
        assert_eq!((s.events, s.files_skipped.len()), (0, 1));
        assert_eq!(store.manifest().event_count(), 1);
    }
}
