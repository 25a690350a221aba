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
//! queries hash and join integers, not strings.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{
    DataType, Field, Int32Type, Schema, SchemaRef, TimestampMicrosecondType,
};
use rustc_hash::FxHashMap;

use super::error::{FileContext, Result};
use super::files;
use crate::model::LocalDays;
use crate::model::week::{week_of_day, weekday_of_day};

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

/// The rollup being built or updated in memory.
#[derive(Default)]
pub struct Rollup {
    users: Interner,
    modules: Interner,
    masks: FxHashMap<(u32, u32, i32), u8>,
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

/// The four files of a stored rollup.
#[derive(Debug, Clone)]
pub struct RollupFiles {
    pub user_week: PathBuf,
    pub user_module_week: PathBuf,
    pub users: PathBuf,
    pub modules: PathBuf,
}

impl Rollup {
    /// Adds the qualifying events of a batch of stored events; `days` holds
    /// each event's local day number.
    pub fn add_events(&mut self, batch: &RecordBatch, days: &[i32], exclude_actions: &[String]) {
        let users = batch.column(1).as_string::<i32>();
        let modules = batch.column(2).as_string::<i32>();
        let actions = batch.column(3).as_string::<i32>();
        let mut last_user: Option<(&str, u32)> = None;
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
            *self
                .masks
                .entry((user, module, week_of_day(day)))
                .or_default() |= 1 << weekday_of_day(day);
        }
    }

    /// Adds a batch of stored events, mapping their times to local days;
    /// returns the number of events read.
    pub fn add_stored(
        &mut self,
        batch: &RecordBatch,
        local: &mut LocalDays,
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
        self.masks.reserve(other.masks.len());
        for ((u, m, w), mask) in other.masks {
            *self
                .masks
                .entry((users[u as usize], modules[m as usize], w))
                .or_default() |= mask;
        }
    }

    /// Loads a stored rollup; keys stay as they were.
    pub fn load(files: &RollupFiles) -> Result<Rollup> {
        let mut rollup = Rollup::default();
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
        let (_, batches) = files::read_parquet(&files.user_module_week)?;
        for b in &batches {
            let int = |c: usize| b.column(c).as_primitive::<Int32Type>();
            let (users, modules, weeks, masks) = (int(0), int(1), int(2), int(3));
            for i in 0..b.num_rows() {
                let key = (
                    users.value(i) as u32,
                    modules.value(i) as u32,
                    weeks.value(i),
                );
                *rollup.masks.entry(key).or_default() |= masks.value(i) as u8;
            }
        }
        Ok(rollup)
    }

    /// Writes the rollup tables; returns the rows of `user_module_week`.
    pub fn write(&self, files: &RollupFiles) -> Result<usize> {
        let mut keys: Vec<(u32, u32, i32, u8)> = self
            .masks
            .iter()
            .map(|(&(u, m, w), &mask)| (u, m, w, mask))
            .collect();
        keys.sort_unstable_by_key(|k| (k.0, k.2, k.1));
        let int = |v: Vec<i32>| -> ArrayRef { Arc::new(Int32Array::from(v)) };
        let batch = RecordBatch::try_new(
            user_module_week_schema(),
            vec![
                int(keys.iter().map(|k| k.0 as i32).collect()),
                int(keys.iter().map(|k| k.1 as i32).collect()),
                int(keys.iter().map(|k| k.2).collect()),
                int(keys.iter().map(|k| k.3 as i32).collect()),
            ],
        )
        .in_file(&files.user_module_week)?;
        files::write_parquet(&files.user_module_week, user_module_week_schema(), &[batch])?;

        // Keys are sorted by user then week, so merging modules is one pass.
        let mut merged: Vec<(u32, i32, u8)> = Vec::new();
        for &(user, _, week, mask) in &keys {
            match merged.last_mut() {
                Some(last) if last.0 == user && last.1 == week => last.2 |= mask,
                _ => merged.push((user, week, mask)),
            }
        }
        let batch = RecordBatch::try_new(
            user_week_schema(),
            vec![
                int(merged.iter().map(|k| k.0 as i32).collect()),
                int(merged.iter().map(|k| k.1).collect()),
                int(merged.iter().map(|k| k.2 as i32).collect()),
            ],
        )
        .in_file(&files.user_week)?;
        files::write_parquet(&files.user_week, user_week_schema(), &[batch])?;

        for (path, interner, key, id) in [
            (&files.users, &self.users, "user_key", "user_id"),
            (&files.modules, &self.modules, "module_key", "module"),
        ] {
            let schema = keys_schema(key, id);
            let batch = RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    int((0..interner.names.len() as i32).collect()),
                    Arc::new(StringArray::from_iter_values(
                        interner.names.iter().map(|n| &**n),
                    )),
                ],
            )
            .in_file(path)?;
            files::write_parquet(path, schema, &[batch])?;
        }
        Ok(keys.len())
    }
}

/// Local day numbers of a batch of stored events.
pub fn local_days(batch: &RecordBatch, days: &mut LocalDays) -> Vec<i32> {
    let times = batch.column(0).as_primitive::<TimestampMicrosecondType>();
    (0..times.len())
        .map(|i| days.day_of_micros(times.value(i)))
        .collect()
}
