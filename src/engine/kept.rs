//! The cube kept in the data directory week by week, so that a fresh
//! process (`serve`, `kpi`, `report render`, `schedule run-due`) reads the
//! weeks it needs instead of computing them from the rollup, and a commit
//! of new events computes only the weeks they changed.
//!
//! `derived/cube/<inputs>-<table>-<week>.parquet` holds the rows of one
//! cube table for one week. `inputs` is a 128-bit XXH3 fingerprint of all
//! that week's rows are computed from: the rollup rows of the weeks in its
//! window ([`RollupWeeks`], by content, so weeks new events did not touch
//! keep their name), the bytes of the waves, directory and modules tables,
//! the text of the cube queries, the per-licensee parameters
//! (`regular.window_weeks`, `regular.min_active_weeks`) and uptake's
//! version. So a file is never stale, only unused; unused files go, least
//! recently used first, beyond [`BUDGET`] bytes
//! ([`crate::store::derived`]). A file is used only when its metadata names
//! its inputs, table and week, its columns are the table's, and its rows
//! pass the checksum written with them; otherwise the week is computed
//! again and the file replaced.
//!
//! The weeks of the cube in use are also remembered in memory by name
//! ([`Remembered`]): an engine opened after a commit takes the weeks whose
//! inputs did not change from the engine before, without reading them.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hasher;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::compute::kernels::cmp::eq;
use datafusion::arrow::datatypes::{DataType, Int32Type, Int64Type, SchemaRef};
use datafusion::scalar::ScalarValue;

use crate::store::Store;
use crate::store::derived::{Derived, Failure, Inputs, Read};

/// Bytes of kept cube weeks at most; the least recently used go first.
pub const BUDGET: u64 = 1 << 30;

/// Raised whenever the cube's rows may change for the same inputs in a
/// way the queries' text does not show (e.g. a function in Rust).
const VERSION: u32 = 1;

const INPUTS: &str = "uptake.cube.inputs";
const TABLE: &str = "uptake.cube.table";
const WEEK: &str = "uptake.cube.week";
const CHECKSUM: &str = "uptake.cube.checksum";

const WHAT: &str = "cube week";

/// The kept cube weeks of one data directory as it is now.
#[derive(Debug, Clone)]
pub struct KeptCube {
    files: Derived,
    /// What every week depends on but the parameters and the rollup.
    base: Inputs,
    rollup: Arc<RollupWeeks>,
}

/// The kept weeks of one set of cube parameters.
#[derive(Debug, Clone)]
pub struct KeptWeeks {
    files: Derived,
    inputs: Inputs,
    /// Weeks of rollup rows a week's figures read (W).
    window: i64,
    rollup: Arc<RollupWeeks>,
}

/// The content of the rollup week by week: an order-free 128-bit hash of
/// each week's rows of `user_module_week` with the user ids and modules
/// their keys stand for (so a rebuild that numbers users anew changes no
/// week). `user_week` is the same rows with modules merged.
#[derive(Debug, Default)]
pub struct RollupWeeks(BTreeMap<i64, u128>);

impl RollupWeeks {
    /// Hashes the rollup's rows (`user_key, module_key, week, day_mask`)
    /// with the key tables (`key, id`).
    pub fn of(
        user_module_week: &[RecordBatch],
        users: &[RecordBatch],
        modules: &[RecordBatch],
    ) -> RollupWeeks {
        // Each id once, under two seeds; a row's hash mixes its ids',
        // week and day mask; a week's is the sum of its rows' (the rows
        // are distinct, so the sum does not depend on their order).
        const SEEDS: [u64; 2] = [0x726f_6c6c_7570, 0x7765_656b];
        let ids = |tables: &[RecordBatch]| -> HashMap<i32, [u64; 2]> {
            let mut out = HashMap::new();
            for b in tables {
                let (Some(keys), Some(ids)) = (
                    b.column(0).as_primitive_opt::<Int32Type>(),
                    b.column(1).as_string_opt::<i32>(),
                ) else {
                    continue;
                };
                for i in 0..b.num_rows() {
                    let id = ids.value(i).as_bytes();
                    out.insert(
                        keys.value(i),
                        SEEDS.map(|seed| twox_hash::XxHash3_64::oneshot_with_seed(seed, id)),
                    );
                }
            }
            out
        };
        let (users, modules) = (ids(users), ids(modules));
        let mut weeks: BTreeMap<i64, [u64; 2]> = BTreeMap::new();
        for b in user_module_week {
            let column = |c: usize| b.column(c).as_primitive_opt::<Int32Type>();
            let (Some(u), Some(m), Some(w), Some(mask)) =
                (column(0), column(1), column(2), column(3))
            else {
                continue;
            };
            let mut last_week = None;
            let mut sums: &mut [u64; 2] = &mut [0; 2];
            for i in 0..b.num_rows() {
                let week = i64::from(w.value(i));
                if last_week != Some(week) {
                    sums = weeks.entry(week).or_default();
                    last_week = Some(week);
                }
                let (uh, mh) = (
                    users.get(&u.value(i)).copied().unwrap_or_default(),
                    modules.get(&m.value(i)).copied().unwrap_or_default(),
                );
                for s in 0..2 {
                    let mut row = [0u8; 24];
                    row[..8].copy_from_slice(&uh[s].to_le_bytes());
                    row[8..16].copy_from_slice(&mh[s].to_le_bytes());
                    row[16..20].copy_from_slice(&w.value(i).to_le_bytes());
                    row[20..].copy_from_slice(&mask.value(i).to_le_bytes());
                    sums[s] = sums[s]
                        .wrapping_add(twox_hash::XxHash3_64::oneshot_with_seed(SEEDS[s], &row));
                }
            }
        }
        RollupWeeks(
            weeks
                .into_iter()
                .map(|(w, [a, b])| (w, (u128::from(a) << 64) | u128::from(b)))
                .collect(),
        )
    }
}

/// The cube weeks an engine's cube is made of, by file name
/// ([`KeptWeeks::name`]), so that the engine opened after a commit takes
/// those whose inputs did not change. Holds the same rows as the cube
/// tables, not a copy.
#[derive(Debug, Default)]
pub struct Remembered(std::sync::Mutex<HashMap<String, Vec<RecordBatch>>>);

impl Remembered {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<RecordBatch>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, name: &str) -> Option<Vec<RecordBatch>> {
        self.lock().get(name).cloned()
    }

    /// Remembers exactly these weeks from now on.
    pub fn replace(&self, weeks: HashMap<String, Vec<RecordBatch>>) {
        *self.lock() = weeks;
    }

    /// A copy for another engine.
    pub fn copy(&self) -> Remembered {
        Remembered(std::sync::Mutex::new(self.lock().clone()))
    }
}

impl KeptCube {
    /// The kept cube of `store` as committed now, whose rollup holds
    /// `rollup`, computed by queries of the given text.
    pub fn of(store: &Store, queries: &[&str], rollup: RollupWeeks) -> KeptCube {
        let mut base = Inputs::default();
        base.text(&VERSION.to_le_bytes())
            .text(env!("CARGO_PKG_VERSION").as_bytes());
        for table in ["waves", "directory", "modules"] {
            let bytes = std::fs::read(store.table_path(table)).unwrap_or_default();
            let file = Inputs::default().text(&bytes).name();
            base.text(&file.to_le_bytes());
        }
        for sql in queries {
            base.text(sql.as_bytes());
        }
        KeptCube {
            files: Derived::of(store.root(), "cube", BUDGET),
            base,
            rollup: Arc::new(rollup),
        }
    }

    /// The kept weeks computed with these parameters.
    pub fn weeks(&self, params: &[(&'static str, ScalarValue)]) -> KeptWeeks {
        let mut inputs = self.base.clone();
        let mut window = 1;
        for (name, value) in params {
            inputs.text(format!("{name}={value:?}").as_bytes());
            if let ("window", ScalarValue::Int64(Some(w))) = (*name, value) {
                window = (*w).max(1);
            }
        }
        KeptWeeks {
            files: self.files.clone(),
            inputs,
            window,
            rollup: self.rollup.clone(),
        }
    }
}

impl KeptWeeks {
    /// What `week`'s rows are computed from: everything but the rollup,
    /// and the rollup's weeks in its window.
    pub fn inputs(&self, week: i64) -> u128 {
        let mut inputs = self.inputs.clone();
        inputs.raw(&week.to_le_bytes());
        for w in week - self.window + 1..=week {
            let content = self.rollup.0.get(&w).copied().unwrap_or_default();
            inputs.raw(&content.to_le_bytes());
        }
        inputs.name()
    }

    /// The file name of `table`'s rows in `week`, which names all they
    /// are computed from.
    pub fn name(&self, table: &str, week: i64) -> String {
        format!("{:032x}-{table}-{week}.parquet", self.inputs(week))
    }

    /// The rows of `table` in `week`, as batches of `schema`, when a sound
    /// file holds them.
    pub fn read(&self, table: &str, week: i64, schema: &SchemaRef) -> Option<Vec<RecordBatch>> {
        self.files.read(&self.name(table, week), WHAT, |file| {
            self.rows(file, table, week, schema)
        })
    }

    fn rows(
        &self,
        file: Read,
        table: &str,
        week: i64,
        schema: &SchemaRef,
    ) -> Result<Vec<RecordBatch>, Failure> {
        if u128::from_str_radix(file.field(INPUTS)?, 16)? != self.inputs(week)
            || file.field(TABLE)? != table
            || file.field(WEEK)?.parse::<i64>()? != week
        {
            return Err("computed from other inputs than its name says".into());
        }
        let expected: u64 = file.field(CHECKSUM)?.parse()?;
        let types = |s: &SchemaRef| -> Vec<(String, DataType)> {
            s.fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().clone()))
                .collect()
        };
        if types(&file.schema) != types(schema) {
            return Err("unexpected columns".into());
        }
        let batches = file
            .batches
            .into_iter()
            .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
            .collect::<Result<Vec<_>, _>>()?;
        if checksum(&batches)? != expected {
            return Err("checksum mismatch".into());
        }
        Ok(batches)
    }

    /// Keeps the rows of `table` of the weeks `from..`, one file per
    /// week (a week without rows too); `by_week` as [`split_by_week`]
    /// gives them.
    pub fn write(&self, table: &str, from: i64, schema: &SchemaRef, by_week: &[Vec<RecordBatch>]) {
        for (week, batches) in (from..).zip(by_week) {
            let sum = match checksum(batches) {
                Ok(sum) => sum,
                Err(e) => {
                    tracing::debug!(table, error = %e, "cannot keep the cube's weeks");
                    return;
                }
            };
            self.files.write(
                &self.name(table, week),
                WHAT,
                schema.clone(),
                batches,
                vec![
                    (INPUTS, format!("{:032x}", self.inputs(week))),
                    (TABLE, table.to_string()),
                    (WEEK, week.to_string()),
                    (CHECKSUM, sum.to_string()),
                ],
            );
        }
    }

    /// Removes the least recently used files beyond the budget.
    pub fn prune(&self) {
        self.files.prune();
    }
}

/// The rows of each week `from..=to`, by their column `week`.
pub fn split_by_week(
    rows: &[RecordBatch],
    from: i64,
    to: i64,
) -> Result<Vec<Vec<RecordBatch>>, Failure> {
    let mut by_week = vec![Vec::new(); (to - from + 1).max(0) as usize];
    for batch in rows {
        let weeks = batch
            .column_by_name("week")
            .and_then(|c| c.as_primitive_opt::<Int64Type>())
            .ok_or("no integer column week")?;
        if weeks.null_count() > 0 {
            return Err("a row without a week".into());
        }
        let mut present: Vec<i64> = weeks.values().to_vec();
        present.sort_unstable();
        present.dedup();
        for week in present {
            let slot = usize::try_from(week - from)
                .ok()
                .filter(|i| *i < by_week.len())
                .ok_or("a row outside the computed weeks")?;
            let mask = eq(
                weeks,
                &datafusion::arrow::array::Int64Array::new_scalar(week),
            )?;
            by_week[slot].push(filter_record_batch(batch, &mask)?);
        }
    }
    Ok(by_week)
}

/// A checksum of the rows in their order (XXH3-64 over every value, with
/// lengths and null marks), column by column.
fn checksum(batches: &[RecordBatch]) -> Result<u64, Failure> {
    let mut h = twox_hash::XxHash3_64::new();
    let columns = batches.first().map_or(0, |b| b.num_columns());
    // Column by column over all batches: the same whatever the batches'
    // sizes (a reader may cut rows into other batches than the writer).
    for c in 0..columns {
        for batch in batches {
            let column: &dyn Array = batch.column(c).as_ref();
            let null = |i: usize| column.is_null(i);
            if let Some(text) = column.as_string_opt::<i32>() {
                for i in 0..text.len() {
                    let v = if null(i) { None } else { Some(text.value(i)) };
                    write_text(&mut h, v);
                }
            } else if let Some(text) = column.as_string_view_opt() {
                for i in 0..text.len() {
                    let v = if null(i) { None } else { Some(text.value(i)) };
                    write_text(&mut h, v);
                }
            } else if let Some(ints) = column.as_primitive_opt::<Int64Type>() {
                for i in 0..ints.len() {
                    if null(i) {
                        h.write_u8(0);
                    } else {
                        h.write_u8(1);
                        h.write(&ints.value(i).to_le_bytes());
                    }
                }
            } else {
                return Err(format!("no checksum for a column of {}", column.data_type()).into());
            }
        }
    }
    Ok(h.finish())
}

fn write_text(h: &mut twox_hash::XxHash3_64, value: Option<&str>) {
    match value {
        None => h.write_u8(0),
        Some(v) => {
            h.write_u8(1);
            h.write(&(v.len() as u64).to_le_bytes());
            h.write(v.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn rows(weeks: &[i64], teams: &[&str]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("team", DataType::Utf8, true),
            Field::new("week", DataType::Int64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(teams)),
                Arc::new(Int64Array::from(weeks.to_vec())),
            ],
        )
        .expect("batch")
    }

    #[test]
    fn the_checksum_is_of_the_rows_not_the_batches() {
        let whole = rows(&[1, 1, 2], &["a", "b", "c"]);
        let split = [rows(&[1], &["a"]), rows(&[1, 2], &["b", "c"])];
        let sum = checksum(std::slice::from_ref(&whole)).expect("sum");
        assert_eq!(sum, checksum(&split).expect("sum"));
        let changed = rows(&[1, 1, 2], &["a", "b", "d"]);
        assert_ne!(sum, checksum(&[changed]).expect("sum"));
        // The values of one column moved to another are other rows.
        let moved = rows(&[1, 1, 2], &["ab", "", "c"]);
        assert_ne!(sum, checksum(&[moved]).expect("sum"));
    }

    /// A rollup as stored: rows `(user, module, week, mask)` and the
    /// key tables, users and modules numbered in the order given.
    type Row<'a> = (&'a str, &'a str, i32, i32);

    fn rollup(rows: &[Row], users: &[&str], modules: &[&str]) -> RollupWeeks {
        use datafusion::arrow::array::Int32Array;
        let keys = |ids: &[&str]| {
            let schema = Arc::new(Schema::new(vec![
                Field::new("key", DataType::Int32, false),
                Field::new("id", DataType::Utf8, false),
            ]));
            RecordBatch::try_new(
                schema,
                vec![
                    Arc::new(Int32Array::from_iter_values(0..ids.len() as i32)),
                    Arc::new(StringArray::from_iter_values(ids)),
                ],
            )
            .expect("keys")
        };
        let key = |ids: &[&str], id: &str| ids.iter().position(|i| *i == id).expect("key") as i32;
        let schema = Arc::new(Schema::new(
            ["user_key", "module_key", "week", "day_mask"]
                .map(|n| Field::new(n, DataType::Int32, false))
                .to_vec(),
        ));
        let column = |f: &dyn Fn(&Row) -> i32| -> Arc<dyn Array> {
            Arc::new(Int32Array::from_iter_values(rows.iter().map(f)))
        };
        let batch = RecordBatch::try_new(
            schema,
            vec![
                column(&|r| key(users, r.0)),
                column(&|r| key(modules, r.1)),
                column(&|r| r.2),
                column(&|r| r.3),
            ],
        )
        .expect("rows");
        RollupWeeks::of(&[batch], &[keys(users)], &[keys(modules)])
    }

    #[test]
    fn a_week_is_named_by_the_rollup_rows_of_its_window() {
        let rows = [("u1", "a", 10, 1), ("u2", "b", 10, 3), ("u1", "b", 12, 4)];
        let before = rollup(&rows, &["u1", "u2"], &["a", "b"]);
        // The same rows, users and modules numbered otherwise and in
        // another order: the same content.
        let mut shuffled = rows;
        shuffled.reverse();
        let renumbered = rollup(&shuffled, &["u2", "u1"], &["b", "a"]);
        assert_eq!(before.0, renumbered.0);
        // A day more in week 12.
        let mut more = rows.to_vec();
        more[2].3 = 5;
        let after = rollup(&more, &["u1", "u2"], &["a", "b"]);
        assert_eq!(before.0[&10], after.0[&10]);
        assert_ne!(before.0[&12], after.0[&12]);

        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("store");
        let params = [("window", ScalarValue::Int64(Some(3)))];
        let names = |rollup: RollupWeeks| -> Vec<String> {
            let weeks = KeptCube::of(&store, &["SELECT 1"], rollup).weeks(&params);
            (9..=16).map(|w| weeks.name("t", w)).collect()
        };
        let (before, after) = (names(before), names(after));
        // Weeks 12 to 14 read week 12 (a window of 3): only they change.
        let changed: Vec<bool> = before.iter().zip(&after).map(|(b, a)| b != a).collect();
        assert_eq!(
            changed,
            [false, false, false, true, true, true, false, false]
        );
    }

    #[test]
    fn rows_are_kept_week_by_week_and_read_back() {
        let whole = rows(&[3, 1, 3], &["a", "b", "c"]);
        let by_week = split_by_week(std::slice::from_ref(&whole), 1, 3).expect("split");
        let count = |w: &Vec<RecordBatch>| w.iter().map(|b| b.num_rows()).sum::<usize>();
        assert_eq!(by_week.iter().map(count).collect::<Vec<_>>(), [1, 0, 2]);
        assert!(
            split_by_week(std::slice::from_ref(&whole), 2, 3).is_err(),
            "a week outside"
        );

        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir_all(dir.path().join("tables")).expect("tables");
        let store = Store::open(dir.path()).expect("store");
        let kept = KeptCube::of(&store, &["SELECT 1"], RollupWeeks::default());
        let weeks = kept.weeks(&[("window", ScalarValue::Int64(Some(4)))]);
        let schema = whole.schema();
        weeks.write("t", 1, &schema, &by_week);
        for (week, n) in [(1, 1), (2, 0), (3, 2)] {
            let read = weeks.read("t", week, &schema).expect("kept");
            assert_eq!(count(&read), n);
        }
        assert!(weeks.read("t", 4, &schema).is_none());
        assert!(weeks.read("other", 1, &schema).is_none());
        // Other parameters or other queries: other files.
        let other = kept.weeks(&[("window", ScalarValue::Int64(Some(5)))]);
        assert!(other.read("t", 1, &schema).is_none());
        let other = KeptCube::of(&store, &["SELECT 2"], RollupWeeks::default())
            .weeks(&[("window", ScalarValue::Int64(Some(4)))]);
        assert!(other.read("t", 1, &schema).is_none());
    }
}
