//! Week decisions kept in the data directory, so that a fresh process
//! (`uptake serve`, `kpi`, `report render`, `schedule run-due`) reads them
//! instead of deciding again.
//!
//! `derived/protection/<inputs>.parquet` holds the decision of one week,
//! named by what it was decided from ([`fingerprint`]: the week's finest
//! segments with every figure, `k` and the version of the rules). So a
//! file is never stale: new events or another `k` give another name, and
//! a decision is only ever read for exactly the inputs it was made from.
//! One row per segment shown, of every breakdown (any other is hidden):
//! the mask of its dimensions, its values (empty where unused) and a
//! hidden flag (false; rows flagged hidden are skipped); the file's
//! metadata holds the inputs, the counts of [`Hiding`] and a checksum of
//! the rows. A file that cannot be read, names other inputs or fails its
//! checksum is not trusted: the week is decided again and the file
//! replaced.
//!
//! Any process may add files (each is written under a name of its own and
//! renamed into place, so readers see a whole file or none); the oldest
//! files by use are removed beyond [`BUDGET`] bytes.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, BooleanArray, RecordBatch, StringArray, UInt8Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::store::derived::{Derived, Failure, Inputs, Read};

use super::{FinestCell, Hiding, WeekDecision, value_id};

/// The version of the rules deciding a week: part of every file's name,
/// raised whenever a change of the rules may decide a week differently.
const RULES: u32 = 6;

/// Bytes of kept decisions at most; the least recently used go first.
pub const BUDGET: u64 = 256 << 20;

const INPUTS: &str = "uptake.protection.inputs";
const HIDING: &str = "uptake.protection.hiding";
const CHECKSUM: &str = "uptake.protection.checksum";

/// What a week's decision depends on: its finest segments with every
/// figure, `k` and the rules' version (`RULES`). 128 bits of XXH3 (two seeds) over an
/// explicit encoding, so the same inputs give the same name in every
/// process and version.
pub fn fingerprint(cells: &[FinestCell], k: i64) -> u128 {
    let mut inputs = Inputs::default();
    inputs.raw(&RULES.to_le_bytes()).raw(&k.to_le_bytes());
    let mut numbers = Vec::new();
    for cell in cells {
        numbers.clear();
        for v in &cell.values {
            inputs.text(v.as_bytes());
        }
        numbers.extend([
            i64::from(cell.week.number()),
            cell.eligible,
            cell.regular,
            cell.inactive,
            cell.module_users.len() as i64,
        ]);
        for (module, users) in &cell.module_users {
            inputs.text(module.as_bytes());
            numbers.push(*users);
        }
        for n in &numbers {
            inputs.text(n.to_string().as_bytes());
        }
    }
    inputs.name()
}

/// What a week's hiding starts from, without the figures events change:
/// its finest segments with their eligible counts, `k` and the rules'
/// version. Two decisions of the same structure hide segments of the same
/// table sizes; one may be the other's starting point
/// ([`super::Cache::decide`]).
pub fn structure(cells: &[FinestCell], k: i64) -> u128 {
    let mut inputs = Inputs::default();
    inputs.raw(&RULES.to_le_bytes()).raw(&k.to_le_bytes());
    for cell in cells {
        for v in &cell.values {
            inputs.text(v.as_bytes());
        }
        inputs.raw(&i64::from(cell.week.number()).to_le_bytes());
        inputs.raw(&cell.eligible.to_le_bytes());
    }
    inputs.name()
}

/// The kept decisions of a data directory.
#[derive(Debug, Clone)]
pub struct Kept {
    files: Derived,
}

const WHAT: &str = "protection decision";

fn name(inputs: u128) -> String {
    format!("{inputs:032x}.parquet")
}

impl Kept {
    /// The kept decisions of the data directory `root`.
    pub fn of(root: &Path) -> Kept {
        Kept {
            files: Derived::of(root, "protection", BUDGET),
        }
    }

    #[cfg(test)]
    fn path(&self, inputs: u128) -> std::path::PathBuf {
        self.files.path(&name(inputs))
    }

    /// The decision made from `inputs`, when a sound file holds it.
    pub fn read(&self, inputs: u128) -> Option<WeekDecision> {
        self.files
            .read(&name(inputs), WHAT, |file| decision_of(file, inputs))
    }

    /// Keeps decisions (a failure to write is logged: it costs only the
    /// time to decide again later).
    pub fn write(&self, decisions: &[Arc<WeekDecision>]) {
        if decisions.is_empty() {
            return;
        }
        for d in decisions {
            let (batch, checksum) = rows(d);
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::debug!(error = %e, "cannot keep a protection decision");
                    continue;
                }
            };
            let hiding = serde_json::to_string(&d.hiding).unwrap_or_default();
            self.files.write(
                &name(d.inputs),
                WHAT,
                schema(),
                &[batch],
                vec![
                    (INPUTS, format!("{:032x}", d.inputs)),
                    (HIDING, hiding),
                    (CHECKSUM, checksum.to_string()),
                ],
            );
        }
        self.files.prune();
    }
}

fn schema() -> Arc<Schema> {
    let value = |name: &str| Field::new(name, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        Field::new("mask", DataType::UInt8, false),
        value("region"),
        value("department"),
        value("team"),
        value("wave"),
        Field::new("hidden", DataType::Boolean, false),
    ]))
}

/// One row of a decision file.
struct Row<'a> {
    mask: u8,
    values: [&'a str; 4],
    hidden: bool,
}

/// A checksum of the rows in their order (XXH3-64).
fn checksum<'a>(rows: impl Iterator<Item = Row<'a>>) -> u64 {
    let mut h = twox_hash::XxHash3_64::new();
    for row in rows {
        use std::hash::Hasher;
        h.write(&[row.mask, u8::from(row.hidden)]);
        for v in row.values {
            h.write(&(v.len() as u64).to_le_bytes());
            h.write(v.as_bytes());
        }
    }
    std::hash::Hasher::finish(&h)
}

/// A decision's rows, with their checksum.
fn rows(d: &WeekDecision) -> (Result<RecordBatch, Failure>, u64) {
    // The name of each value id, by dimension.
    let mut names: [Vec<&str>; 4] = Default::default();
    for (dim, values) in d.values.iter().enumerate() {
        names[dim] = vec![""; values.len()];
        for (value, &id) in values {
            names[dim][id as usize] = value;
        }
    }
    let mut shown: Vec<&[u32; 4]> = d.shown.iter().collect();
    shown.sort_unstable();
    let rows = || {
        shown.iter().map(|key| Row {
            mask: (0..4)
                .filter(|&dim| key[dim] != u32::MAX)
                .map(|dim| 1u8 << dim)
                .sum(),
            values: std::array::from_fn(|dim| match key[dim] {
                u32::MAX => "",
                id => names[dim][id as usize],
            }),
            hidden: false,
        })
    };
    let column = |dim: usize| -> Arc<dyn Array> {
        Arc::new(StringArray::from_iter_values(rows().map(|r| r.values[dim])))
    };
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(UInt8Array::from_iter_values(rows().map(|r| r.mask))),
            column(0),
            column(1),
            column(2),
            column(3),
            Arc::new(BooleanArray::from_iter(rows().map(|r| Some(r.hidden)))),
        ],
    )
    .map_err(Failure::from);
    (batch, checksum(rows()))
}

/// The decision a file holds, when it names `inputs` and its rows pass
/// the checksum.
fn decision_of(file: Read, inputs: u128) -> Result<WeekDecision, Failure> {
    if u128::from_str_radix(file.field(INPUTS)?, 16)? != inputs {
        return Err("decided from other inputs than its name says".into());
    }
    let hiding: Hiding = serde_json::from_str(file.field(HIDING)?)?;
    let expected: u64 = file.field(CHECKSUM)?.parse()?;
    if file.schema.fields() != schema().fields() {
        return Err("unexpected columns".into());
    }
    let mut decision = WeekDecision {
        hiding,
        inputs,
        ..WeekDecision::default()
    };
    let mut rows = Vec::new();
    for batch in &file.batches {
        let strings = |i: usize| -> Result<&StringArray, Failure> {
            Ok(batch
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or("a value column is not text")?)
        };
        let masks = batch
            .column(0)
            .as_any()
            .downcast_ref::<UInt8Array>()
            .ok_or("the mask column is not a number")?;
        let hidden = batch
            .column(5)
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or("the hidden column is not a flag")?;
        let values = [strings(1)?, strings(2)?, strings(3)?, strings(4)?];
        for i in 0..batch.num_rows() {
            rows.push((masks.value(i), values.map(|v| v.value(i)), hidden.value(i)));
        }
    }
    let found = checksum(rows.iter().map(|(mask, values, hidden)| Row {
        mask: *mask,
        values: *values,
        hidden: *hidden,
    }));
    if found != expected {
        return Err("checksum mismatch".into());
    }
    for (mask, values, hidden) in rows {
        if hidden {
            continue;
        }
        let mut key = [u32::MAX; 4];
        for (dim, value) in values.into_iter().enumerate() {
            if usize::from(mask) & (1 << dim) != 0 {
                key[dim] = value_id(&mut decision.values[dim], value);
            }
        }
        decision.shown.insert(key);
    }
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Week;
    use datafusion::parquet::arrow::ArrowWriter;
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use datafusion::parquet::file::properties::WriterProperties;
    use std::path::PathBuf;

    fn cells(regular: i64) -> Vec<FinestCell> {
        let week: Week = "2027-W01".parse().expect("week");
        [("R1", 9), ("R2", 3), ("R3", 12)]
            .iter()
            .map(|(r, n)| FinestCell {
                week,
                values: vec![r.to_string(), "D".into(), String::new(), "W".into()],
                eligible: *n,
                regular: regular.min(*n),
                inactive: 0,
                module_users: vec![("m".into(), 1)],
            })
            .collect()
    }

    fn decided(cells: &[FinestCell]) -> WeekDecision {
        WeekDecision::compute(cells, 5, fingerprint(cells, 5), None, 1)
    }

    fn same(a: &WeekDecision, b: &WeekDecision) -> bool {
        use crate::model::Dimension::*;
        let all = [Region, Department, Team, Wave];
        let mut segments = Vec::new();
        for mask in 0..16usize {
            let dims: Vec<_> = (0..4)
                .filter(|d| mask & (1 << d) != 0)
                .map(|d| all[d])
                .collect();
            for r in ["R1", "R2", "R3"] {
                let values: Vec<String> = dims
                    .iter()
                    .map(|d| match d {
                        Region => r.to_string(),
                        Department => "D".into(),
                        Team => String::new(),
                        Wave => "W".into(),
                    })
                    .collect();
                segments.push((dims.clone(), values));
            }
        }
        a.hiding == b.hiding
            && a.inputs == b.inputs
            && segments
                .iter()
                .all(|(d, v)| a.hidden(d, v) == b.hidden(d, v))
    }

    #[test]
    fn the_name_follows_every_input() {
        let base = fingerprint(&cells(1), 5);
        assert_eq!(base, fingerprint(&cells(1), 5));
        assert_ne!(base, fingerprint(&cells(2), 5));
        assert_ne!(base, fingerprint(&cells(1), 6));
        let mut renamed = cells(1);
        renamed[0].values[2] = "T".into();
        assert_ne!(base, fingerprint(&renamed, 5));
    }

    #[test]
    fn a_kept_decision_reads_back_the_same() {
        let dir = tempfile::tempdir().expect("dir");
        let kept = Kept::of(dir.path());
        let cells = cells(1);
        let decision = Arc::new(decided(&cells));
        assert!(decision.hidden(&[crate::model::Dimension::Region], &["R2".into()]));
        assert!(kept.read(decision.inputs).is_none());
        kept.write(std::slice::from_ref(&decision));
        let read = kept.read(decision.inputs).expect("kept");
        assert!(same(&read, &decision));
        // Asked for other inputs, the file is not found.
        assert!(kept.read(decision.inputs ^ 1).is_none());
    }

    /// A directory keeping the decision of `cells(1)`, and its file.
    fn one_kept() -> (tempfile::TempDir, Kept, Arc<WeekDecision>, PathBuf) {
        let dir = tempfile::tempdir().expect("dir");
        let kept = Kept::of(dir.path());
        let decision = Arc::new(decided(&cells(1)));
        kept.write(std::slice::from_ref(&decision));
        let path = kept.path(decision.inputs);
        (dir, kept, decision, path)
    }

    #[test]
    fn a_damaged_or_misnamed_file_is_not_trusted() {
        let (_dir, kept, decision, path) = one_kept();
        // A bit flipped a third into the file: not readable, or not its
        // checksum.
        let bytes = std::fs::read(&path).expect("read");
        let mut damaged = bytes.clone();
        let middle = damaged.len() / 3;
        damaged[middle] ^= 0x01;
        std::fs::write(&path, &damaged).expect("write");
        assert!(kept.read(decision.inputs).is_none());
        assert!(!path.exists(), "a damaged file is removed");
        // Cut off.
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");
        assert!(kept.read(decision.inputs).is_none());
        // Whole, but the decision of other inputs under this name.
        let other = Arc::new(decided(&cells(2)));
        kept.write(std::slice::from_ref(&other));
        std::fs::copy(kept.path(other.inputs), &path).expect("copy");
        assert!(kept.read(decision.inputs).is_none());
        assert!(kept.read(other.inputs).is_some());
    }

    #[test]
    fn rows_changed_under_the_same_metadata_fail_the_checksum() {
        let (_dir, kept, decision, path) = one_kept();
        // The same metadata over rows with every hidden flag turned.
        let file = std::fs::File::open(&path).expect("open");
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet");
        let metadata = builder
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .cloned();
        let batches: Vec<RecordBatch> = builder
            .build()
            .expect("reader")
            .collect::<Result<_, _>>()
            .expect("rows");
        let mut writer = ArrowWriter::try_new(
            std::fs::File::create(&path).expect("create"),
            schema(),
            Some(
                WriterProperties::builder()
                    .set_key_value_metadata(metadata)
                    .build(),
            ),
        )
        .expect("writer");
        for batch in batches {
            let hidden = batch
                .column(5)
                .as_any()
                .downcast_ref::<BooleanArray>()
                .expect("flags");
            let turned: BooleanArray = hidden.iter().map(|h| h.map(|h| !h)).collect();
            let mut columns = batch.columns().to_vec();
            columns[5] = Arc::new(turned);
            writer
                .write(&RecordBatch::try_new(schema(), columns).expect("batch"))
                .expect("write");
        }
        writer.close().expect("close");
        let file = crate::store::derived::read_parquet(&path).expect("readable");
        let err = decision_of(file, decision.inputs).expect_err("refused");
        assert!(err.to_string().contains("checksum"), "{err}");
        assert!(kept.read(decision.inputs).is_none());
    }
}
