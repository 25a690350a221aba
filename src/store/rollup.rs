//! The rollup: for every user, ISO week and module, the days of the week
//! with at least one qualifying event (a 7-bit mask, bit 0 = Monday).
//!
//! It is derived from the raw events and depends only on the time zone and
//! the excluded actions, never on the directory, so a new directory import
//! needs no rebuild; eligibility (`e_u`, license ends) is applied by the
//! queries. The day mask is what lets them drop events before `e_u` inside
//! the week that contains it. `user_week` is the same with all modules
//! merged: it makes a user active even in modules missing from the catalog.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{AsArray, Int32Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimestampMicrosecondType};
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
        Field::new("user_id", DataType::Utf8, false),
        Field::new("module", DataType::Utf8, false),
        Field::new("week", DataType::Int32, false),
        Field::new("day_mask", DataType::Int32, false),
    ]))
}

pub fn user_week_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("user_id", DataType::Utf8, false),
        Field::new("week", DataType::Int32, false),
        Field::new("day_mask", DataType::Int32, false),
    ]))
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

    /// Loads a stored `user_module_week` file.
    pub fn load(path: &Path) -> Result<Rollup> {
        let mut rollup = Rollup::default();
        let (_, batches) = files::read_parquet(path)?;
        for b in &batches {
            let users = b.column(0).as_string::<i32>();
            let modules = b.column(1).as_string::<i32>();
            let weeks = b
                .column(2)
                .as_primitive::<datafusion::arrow::datatypes::Int32Type>();
            let masks = b
                .column(3)
                .as_primitive::<datafusion::arrow::datatypes::Int32Type>();
            for i in 0..b.num_rows() {
                let key = (
                    rollup.users.intern(users.value(i)),
                    rollup.modules.intern(modules.value(i)),
                    weeks.value(i),
                );
                *rollup.masks.entry(key).or_default() |= masks.value(i) as u8;
            }
        }
        Ok(rollup)
    }

    /// Writes both rollup tables; returns their row counts.
    pub fn write(&self, user_module_week: &Path, user_week: &Path) -> Result<(usize, usize)> {
        let mut keys: Vec<(&str, &str, i32, u8)> = self
            .masks
            .iter()
            .map(|(&(u, m, w), &mask)| {
                (
                    &*self.users.names[u as usize],
                    &*self.modules.names[m as usize],
                    w,
                    mask,
                )
            })
            .collect();
        keys.sort_unstable_by(|a, b| (a.0, a.2, a.1).cmp(&(b.0, b.2, b.1)));
        let batch = RecordBatch::try_new(
            user_module_week_schema(),
            vec![
                Arc::new(StringArray::from_iter_values(keys.iter().map(|k| k.0))),
                Arc::new(StringArray::from_iter_values(keys.iter().map(|k| k.1))),
                Arc::new(Int32Array::from_iter_values(keys.iter().map(|k| k.2))),
                Arc::new(Int32Array::from_iter_values(
                    keys.iter().map(|k| k.3 as i32),
                )),
            ],
        )
        .in_file(user_module_week)?;
        files::write_parquet(user_module_week, user_module_week_schema(), &[batch])?;

        // Keys are sorted by user then week, so merging modules is one pass.
        let mut merged: Vec<(&str, i32, u8)> = Vec::new();
        for &(user, _, week, mask) in &keys {
            match merged.last_mut() {
                Some(last) if last.0 == user && last.1 == week => last.2 |= mask,
                _ => merged.push((user, week, mask)),
            }
        }
        let batch = RecordBatch::try_new(
            user_week_schema(),
            vec![
                Arc::new(StringArray::from_iter_values(merged.iter().map(|k| k.0))),
                Arc::new(Int32Array::from_iter_values(merged.iter().map(|k| k.1))),
                Arc::new(Int32Array::from_iter_values(
                    merged.iter().map(|k| k.2 as i32),
                )),
            ],
        )
        .in_file(user_week)?;
        files::write_parquet(user_week, user_week_schema(), &[batch])?;
        Ok((keys.len(), merged.len()))
    }
}

/// Local day numbers of a batch of stored events.
pub fn local_days(batch: &RecordBatch, days: &mut LocalDays) -> Vec<i32> {
    let times = batch.column(0).as_primitive::<TimestampMicrosecondType>();
    (0..times.len())
        .map(|i| days.day_of_micros(times.value(i)))
        .collect()
}
