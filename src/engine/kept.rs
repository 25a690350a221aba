//! The cube kept in the data directory week by week, so that a fresh
//! process (`serve`, `kpi`, `report render`, `schedule run-due`) reads the
//! weeks it needs instead of computing them from the rollup.
//!
//! `derived/cube/<inputs>-<table>-<week>.parquet` holds the rows of one
//! cube table for one week. `inputs` is a 128-bit XXH3 fingerprint of all
//! a week's rows are computed from: the rollup's generation (a new one
//! with every commit of events), the bytes of the waves, directory and
//! modules tables, the text of the cube queries, the per-licensee
//! parameters (`regular.window_weeks`, `regular.min_active_weeks`) and
//! uptake's version. So a file is never stale, only unused; unused files
//! go, least recently used first, beyond [`BUDGET`] bytes
//! ([`crate::store::derived`]). A file is used only when its metadata names
//! its inputs, table and week, its columns are the table's, and its rows
//! pass the checksum written with them; otherwise the week is computed
//! again and the file replaced.

use std::hash::Hasher;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::compute::kernels::cmp::eq;
use datafusion::arrow::datatypes::{DataType, Int64Type, SchemaRef};
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
    /// What every week depends on but the parameters.
    base: Inputs,
}

/// The kept weeks of one set of cube parameters.
#[derive(Debug, Clone)]
pub struct KeptWeeks {
    files: Derived,
    inputs: u128,
}

impl KeptCube {
    /// The kept cube of `store` as committed now, computed by queries of
    /// the given text.
    pub fn of(store: &Store, queries: &[&str]) -> KeptCube {
        let mut base = Inputs::default();
        base.text(&VERSION.to_le_bytes())
            .text(env!("CARGO_PKG_VERSION").as_bytes());
        let generation = store
            .manifest()
            .rollup
            .as_ref()
            .map(|r| r.generation.clone());
        base.text(generation.unwrap_or_default().as_bytes());
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
        }
    }

    /// The kept weeks computed with these parameters.
    pub fn weeks(&self, params: &[(&'static str, ScalarValue)]) -> KeptWeeks {
        let mut inputs = self.base.clone();
        for (name, value) in params {
            inputs.text(format!("{name}={value:?}").as_bytes());
        }
        KeptWeeks {
            files: self.files.clone(),
            inputs: inputs.name(),
        }
    }
}

impl KeptWeeks {
    fn name(&self, table: &str, week: i64) -> String {
        format!("{:032x}-{table}-{week}.parquet", self.inputs)
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
        if u128::from_str_radix(file.field(INPUTS)?, 16)? != self.inputs
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

    /// Keeps the rows of `table` computed for the weeks `from..=to`, one
    /// file per week (a week without rows too). Rows whose weeks cannot
    /// be told apart are not kept.
    pub fn write(&self, table: &str, from: i64, to: i64, schema: &SchemaRef, rows: &[RecordBatch]) {
        let by_week = match split_by_week(rows, from, to) {
            Ok(by_week) => by_week,
            Err(e) => {
                tracing::debug!(table, error = %e, "cannot keep the cube's weeks");
                return;
            }
        };
        for (week, batches) in (from..=to).zip(by_week) {
            let sum = match checksum(&batches) {
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
                &batches,
                vec![
                    (INPUTS, format!("{:032x}", self.inputs)),
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
fn split_by_week(
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
        let kept = KeptCube::of(&store, &["SELECT 1"]);
        let weeks = kept.weeks(&[("window", ScalarValue::Int64(Some(4)))]);
        let schema = whole.schema();
        weeks.write("t", 1, 3, &schema, std::slice::from_ref(&whole));
        for (week, n) in [(1, 1), (2, 0), (3, 2)] {
            let read = weeks.read("t", week, &schema).expect("kept");
            assert_eq!(count(&read), n);
        }
        assert!(weeks.read("t", 4, &schema).is_none());
        assert!(weeks.read("other", 1, &schema).is_none());
        // Other parameters or other queries: other files.
        let other = kept.weeks(&[("window", ScalarValue::Int64(Some(5)))]);
        assert!(other.read("t", 1, &schema).is_none());
        let other =
            KeptCube::of(&store, &["SELECT 2"]).weeks(&[("window", ScalarValue::Int64(Some(4)))]);
        assert!(other.read("t", 1, &schema).is_none());
    }
}
