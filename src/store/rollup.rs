//! The rollup: for every user, ISO week and module, the days of the week
//! with at least one qualifying event (a 7-bit mask, bit 0 = Monday).
//!
//! It is derived from the raw events and depends only on the time zone and
//! the excluded actions, never on the directory, so a new directory import
//! needs no rebuild; eligibility (`e_u`, license ends) is applied by the
//! queries. The day mask is what lets them drop events before `e_u` inside
//! the week that contains it. `user_week` is the same with all modules
//! merged: it makes a user active even in modules missing from the catalog.
//!
//! Users and modules are stored as integer keys (`user_key`, `module_key`)
//! with two small tables mapping them to the ids of the events, so the
//! queries hash and join integers, not strings. Keys are never renumbered
//! by an update, only by a rebuild.
//!
//! The rows are stored week by week (`rollup/user_module_week-<week>-<id>`
//! and `rollup/user_week-<week>-<id>`), so that a commit rewrites only the
//! weeks its events touched; the key tables are rewritten with every
//! commit (they are small). Stores written before this layout hold one
//! file per table; they are read as they are and rewritten week by week at
//! their next commit.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{
    DataType, Field, Int32Type, Schema, SchemaRef, TimestampMicrosecondType,
};
use rustc_hash::FxHashMap;

use super::error::{FileContext, Result};
use super::files;
use super::manifest::RollupInfo;
use crate::model::week::{week_of_day, weekday_of_day};
use crate::model::{LocalZones, Week};

#[derive(Default)]
struct Interner {
    ids: FxHashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }
}

/// Which weeks differ from the stored rollup.
#[derive(Debug, Clone, PartialEq)]
enum Changed {
    /// Every week (a new rollup, or one stored in one file per table).
    All,
    Weeks(BTreeSet<i32>),
}

/// The rollup being built or updated in memory.
pub struct Rollup {
    users: Interner,
    modules: Interner,
    /// Day masks by week, then user and module.
    weeks: BTreeMap<i32, FxHashMap<(u32, u32), u8>>,
    changed: Changed,
}

/// A new rollup: every week of it is written at its first commit.
impl Default for Rollup {
    fn default() -> Self {
        Rollup {
            users: Interner::default(),
            modules: Interner::default(),
            weeks: BTreeMap::new(),
            changed: Changed::All,
        }
    }
}

pub fn user_module_week_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("user_key", DataType::Int32, false),
        Field::new("module_key", DataType::Int32, false),
        Field::new("week", DataType::Int32, false),
        Field::new("day_mask", DataType::Int32, false),
    ]))
}

pub fn user_week_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("user_key", DataType::Int32, false),
        Field::new("week", DataType::Int32, false),
        Field::new("day_mask", DataType::Int32, false),
    ]))
}

/// Schema of the key tables: `user_key, user_id` or `module_key, module`.
pub fn keys_schema(key: &str, id: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(key, DataType::Int32, false),
        Field::new(id, DataType::Utf8, false),
    ]))
}

/// The files of a stored rollup.
#[derive(Debug, Clone)]
pub struct RollupFiles {
    /// One file per week (or one in all, in the layout before weeks).
    pub user_week: Vec<PathBuf>,
    pub user_module_week: Vec<PathBuf>,
    pub users: PathBuf,
    pub modules: PathBuf,
    /// Stored week by week.
    pub by_week: bool,
}

impl RollupFiles {
    /// The files of the rollup the manifest records, in the data directory
    /// `root`.
    pub fn of(root: &Path, info: &RollupInfo) -> RollupFiles {
        let file = |name: &str, id: &str| file_path(root, name, id);
        let (user_week, user_module_week) = if info.by_week {
            info.weeks
                .iter()
                .map(|(&week, id)| {
                    let id = week_file_id(week, id);
                    (file("user_week", &id), file("user_module_week", &id))
                })
                .unzip()
        } else {
            (
                vec![file("user_week", &info.generation)],
                vec![file("user_module_week", &info.generation)],
            )
        };
        RollupFiles {
            user_week,
            user_module_week,
            users: file("users", &info.generation),
            modules: file("modules", &info.generation),
            by_week: info.by_week,
        }
    }

    /// Every file.
    pub fn all(&self) -> Vec<PathBuf> {
        let mut all = self.user_week.clone();
        all.extend(self.user_module_week.iter().cloned());
        all.extend([self.users.clone(), self.modules.clone()]);
        all
    }
}

/// The rollup file `name` of the commit (or week and commit) `id`.
fn file_path(root: &Path, name: &str, id: &str) -> PathBuf {
    root.join(format!("rollup/{name}-{id}.parquet"))
}

/// Writes one table of the rollup as `path`, adding it to `written` first
/// (so that a failed commit removes what it began).
fn put(
    written: &mut Vec<PathBuf>,
    path: PathBuf,
    schema: SchemaRef,
    columns: Vec<ArrayRef>,
) -> Result<()> {
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns).in_file(&path)?;
    written.push(path.clone());
    files::write_parquet(&path, schema, &[batch])
}

/// How a week's files are named: its ISO week and the commit that wrote it.
fn week_file_id(week: i32, id: &str) -> String {
    format!("{}-{id}", Week::from_number(week))
}

impl Rollup {
    /// Adds the qualifying events of a batch of stored events; `days` holds
    /// each event's local day number.
    pub fn add_events(&mut self, batch: &RecordBatch, days: &[i32], exclude_actions: &[String]) {
        let users = batch.column(1).as_string::<i32>();
        let modules = batch.column(2).as_string::<i32>();
        let actions = batch.column(3).as_string::<i32>();
        let mut last_user: Option<(&str, u32)> = None;
        let mut last_week = None;
        for (i, &day) in days.iter().enumerate() {
            let action = actions.value(i);
            if exclude_actions.iter().any(|a| a == action) {
                continue;
            }
            let user_name = users.value(i);
            let user = match last_user {
                Some((name, id)) if name == user_name => id,
                _ => {
                    let id = self.users.intern(user_name);
                    last_user = Some((user_name, id));
                    id
                }
            };
            let module = self.modules.intern(modules.value(i));
            let week = week_of_day(day);
            let changed = last_week != Some(week);
            last_week = Some(week);
            self.set_days(week, (user, module), 1 << weekday_of_day(day), changed);
        }
    }

    /// Adds the days of `mask` to a user's days in a module and week,
    /// recording the week as changed when `changed` says it may be new.
    fn set_days(&mut self, week: i32, key: (u32, u32), mask: u8, changed: bool) {
        if changed && let Changed::Weeks(weeks) = &mut self.changed {
            weeks.insert(week);
        }
        *self.weeks.entry(week).or_default().entry(key).or_default() |= mask;
    }

    /// Adds the day mask `mask` (bit 0 = Monday) of `user` in `module` in
    /// the week numbered `monday_week` since 1970 (weeks from Monday: the
    /// day `7 * monday_week - 3` is its Monday), as a cluster computes it.
    pub fn add_mask(&mut self, user: &str, module: &str, monday_week: i32, mask: u8) {
        let week = week_of_day(7 * monday_week - 3);
        let key = (self.users.intern(user), self.modules.intern(module));
        self.set_days(week, key, mask & 0x7f, true);
    }

    /// Adds a batch of stored events, mapping their times to local days;
    /// returns the number of events read.
    pub fn add_stored(
        &mut self,
        batch: &RecordBatch,
        local: &mut LocalZones,
        exclude_actions: &[String],
    ) -> u64 {
        let days = local_days(batch, local);
        self.add_events(batch, &days, exclude_actions);
        batch.num_rows() as u64
    }

    /// Adds another rollup's days into this one.
    pub fn merge(&mut self, other: Rollup) {
        let users: Vec<u32> = other
            .users
            .names
            .iter()
            .map(|n| self.users.intern(n))
            .collect();
        let modules: Vec<u32> = other
            .modules
            .names
            .iter()
            .map(|n| self.modules.intern(n))
            .collect();
        for (week, masks) in other.weeks {
            if let Changed::Weeks(changed) = &mut self.changed {
                changed.insert(week);
            }
            let ours = self.weeks.entry(week).or_default();
            ours.reserve(masks.len());
            for ((u, m), mask) in masks {
                *ours
                    .entry((users[u as usize], modules[m as usize]))
                    .or_default() |= mask;
            }
        }
    }

    /// Loads a stored rollup; keys stay as they were.
    pub fn load(files: &RollupFiles) -> Result<Rollup> {
        let mut rollup = Rollup {
            changed: if files.by_week {
                Changed::Weeks(BTreeSet::new())
            } else {
                Changed::All
            },
            ..Rollup::default()
        };
        for (path, interner) in [
            (&files.users, &mut rollup.users),
            (&files.modules, &mut rollup.modules),
        ] {
            let (_, batches) = files::read_parquet(path)?;
            for b in &batches {
                let ids = b.column(1).as_string::<i32>();
                for i in 0..b.num_rows() {
                    interner.intern(ids.value(i));
                }
            }
        }
        for path in &files.user_module_week {
            let (_, batches) = files::read_parquet(path)?;
            for b in &batches {
                let int = |c: usize| b.column(c).as_primitive::<Int32Type>();
                let (users, modules, weeks, masks) = (int(0), int(1), int(2), int(3));
                for i in 0..b.num_rows() {
                    let key = (users.value(i) as u32, modules.value(i) as u32);
                    *rollup
                        .weeks
                        .entry(weeks.value(i))
                        .or_default()
                        .entry(key)
                        .or_default() |= masks.value(i) as u8;
                }
            }
        }
        Ok(rollup)
    }

    /// Writes the weeks that differ from the stored rollup (`stored`, as the
    /// manifest records it) and the key tables, as files of the commit
    /// `id`, adding each file to `written` before writing it; returns, by
    /// week, the commit whose files hold it, for the manifest. The rollup
    /// still counts the weeks as changed until [`Rollup::committed`].
    pub fn write(
        &self,
        root: &Path,
        id: &str,
        stored: Option<&RollupInfo>,
        written: &mut Vec<PathBuf>,
    ) -> Result<BTreeMap<i32, String>> {
        let mut weeks: BTreeMap<i32, String> = match (&self.changed, stored) {
            (Changed::Weeks(_), Some(info)) if info.by_week => info.weeks.clone(),
            _ => BTreeMap::new(),
        };
        let to_write: Vec<i32> = match &self.changed {
            Changed::All => self.weeks.keys().copied().collect(),
            Changed::Weeks(changed) => changed
                .iter()
                .copied()
                .filter(|w| self.weeks.contains_key(w))
                .collect(),
        };
        let file = |name: &str, id: &str| file_path(root, name, id);
        let int = |v: Vec<i32>| -> ArrayRef { Arc::new(Int32Array::from(v)) };
        for week in to_write {
            let week_id = week_file_id(week, id);
            let mut keys: Vec<(u32, u32, u8)> = self.weeks[&week]
                .iter()
                .map(|(&(u, m), &mask)| (u, m, mask))
                .collect();
            keys.sort_unstable_by_key(|k| (k.0, k.1));
            put(
                written,
                file("user_module_week", &week_id),
                user_module_week_schema(),
                vec![
                    int(keys.iter().map(|k| k.0 as i32).collect()),
                    int(keys.iter().map(|k| k.1 as i32).collect()),
                    int(vec![week; keys.len()]),
                    int(keys.iter().map(|k| i32::from(k.2)).collect()),
                ],
            )?;

            // Sorted by user, so merging modules is one pass.
            let mut merged: Vec<(u32, u8)> = Vec::new();
            for &(user, _, mask) in &keys {
                match merged.last_mut() {
                    Some(last) if last.0 == user => last.1 |= mask,
                    _ => merged.push((user, mask)),
                }
            }
            put(
                written,
                file("user_week", &week_id),
                user_week_schema(),
                vec![
                    int(merged.iter().map(|k| k.0 as i32).collect()),
                    int(vec![week; merged.len()]),
                    int(merged.iter().map(|k| i32::from(k.1)).collect()),
                ],
            )?;
            weeks.insert(week, id.to_string());
        }

        for (name, interner, key, column) in [
            ("users", &self.users, "user_key", "user_id"),
            ("modules", &self.modules, "module_key", "module"),
        ] {
            put(
                written,
                file(name, id),
                keys_schema(key, column),
                vec![
                    int((0..interner.names.len() as i32).collect()),
                    Arc::new(StringArray::from_iter_values(
                        interner.names.iter().map(|n| &**n),
                    )),
                ],
            )?;
        }
        Ok(weeks)
    }

    /// The weeks written are committed: from now on only weeks that new
    /// events touch differ from the stored rollup.
    pub fn committed(&mut self) {
        self.changed = Changed::Weeks(BTreeSet::new());
    }
}

/// Local day numbers of a batch of stored events, each in its user's
/// zone.
pub fn local_days(batch: &RecordBatch, days: &mut LocalZones) -> Vec<i32> {
    let times = batch.column(0).as_primitive::<TimestampMicrosecondType>();
    if let Some(one) = days.single() {
        return times
            .values()
            .iter()
            .map(|t| one.day_of_micros(*t))
            .collect();
    }
    let users = batch.column(1).as_string::<i32>();
    (0..times.len())
        .map(|i| days.day_of_micros(users.value(i), times.value(i)))
        .collect()
}
