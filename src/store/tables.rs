//! The tables uptake owns: waves, directory and module catalog, each one
//! Parquet file under `tables/`, replaced as a whole by a new import.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Schema, SchemaRef};

use super::error::{Error, FileContext, InputProblem, Result};
use super::files;
use crate::model::identity::DirectoryRow;
use crate::model::tables::{FieldError, Fields, Names, RowProblem, Table};
use crate::model::week::{date_of_day, day_number};
use crate::model::{Identity, Licensee, Module, Wave};

/// Arrow schema and conversion of a stored table.
pub trait StoredTable: Table {
    fn schema() -> SchemaRef;
    fn to_batch(rows: &[Self]) -> Result<RecordBatch, datafusion::arrow::error::ArrowError>;
    fn from_batch(batch: &RecordBatch) -> Vec<Self>;
}

fn text(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Utf8, nullable)
}

fn date(name: &str, nullable: bool) -> Field {
    Field::new(name, DataType::Date32, nullable)
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

fn dates(values: impl Iterator<Item = Option<chrono::NaiveDate>>) -> ArrayRef {
    Arc::new(Date32Array::from_iter(values.map(|d| d.map(day_number))))
}

fn col_str(batch: &RecordBatch, i: usize) -> Vec<Option<String>> {
    let a = batch.column(i).as_string::<i32>();
    (0..a.len())
        .map(|r| a.is_valid(r).then(|| a.value(r).to_string()))
        .collect()
}

fn col_date(batch: &RecordBatch, i: usize) -> Vec<Option<chrono::NaiveDate>> {
    let a = batch.column(i).as_primitive::<Date32Type>();
    (0..a.len())
        .map(|r| a.is_valid(r).then(|| date_of_day(a.value(r))))
        .collect()
}

impl StoredTable for Wave {
    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            text("wave_id", false),
            text("name", false),
            date("go_live", false),
            text("names", true),
        ]))
    }

    fn to_batch(rows: &[Self]) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
        RecordBatch::try_new(
            Self::schema(),
            vec![
                strings(rows.iter().map(|r| r.wave_id.as_str())),
                strings(rows.iter().map(|r| r.name.as_str())),
                dates(rows.iter().map(|r| Some(r.go_live))),
                names_column(rows.iter().map(|r| &r.names)),
            ],
        )
    }

    fn from_batch(batch: &RecordBatch) -> Vec<Self> {
        let (id, name, go) = (col_str(batch, 0), col_str(batch, 1), col_date(batch, 2));
        let names = names_of(batch);
        (0..batch.num_rows())
            .map(|r| Wave {
                wave_id: id[r].clone().unwrap_or_default(),
                name: name[r].clone().unwrap_or_default(),
                go_live: go[r].unwrap_or_default(),
                names: names[r].clone(),
            })
            .collect()
    }
}

impl StoredTable for Licensee {
    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            text("user_id", false),
            text("region", false),
            text("department", false),
            text("team", false),
            text("wave", false),
            date("license_start", false),
            date("license_end", true),
        ]))
    }

    fn to_batch(rows: &[Self]) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
        RecordBatch::try_new(
            Self::schema(),
            vec![
                strings(rows.iter().map(|r| r.user_id.as_str())),
                strings(rows.iter().map(|r| r.region.as_str())),
                strings(rows.iter().map(|r| r.department.as_str())),
                strings(rows.iter().map(|r| r.team.as_str())),
                strings(rows.iter().map(|r| r.wave.as_str())),
                dates(rows.iter().map(|r| Some(r.license_start))),
                dates(rows.iter().map(|r| r.license_end)),
            ],
        )
    }

    fn from_batch(batch: &RecordBatch) -> Vec<Self> {
        let c: Vec<Vec<Option<String>>> = (0..5).map(|i| col_str(batch, i)).collect();
        let (start, end) = (col_date(batch, 5), col_date(batch, 6));
        (0..batch.num_rows())
            .map(|r| Licensee {
                user_id: c[0][r].clone().unwrap_or_default(),
                region: c[1][r].clone().unwrap_or_default(),
                department: c[2][r].clone().unwrap_or_default(),
                team: c[3][r].clone().unwrap_or_default(),
                wave: c[4][r].clone().unwrap_or_default(),
                license_start: start[r].unwrap_or_default(),
                license_end: end[r],
            })
            .collect()
    }
}

impl StoredTable for Identity {
    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            text("user_id", false),
            text("source", false),
            text("alias", false),
        ]))
    }

    fn to_batch(rows: &[Self]) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
        RecordBatch::try_new(
            Self::schema(),
            vec![
                strings(rows.iter().map(|r| r.user_id.as_str())),
                strings(rows.iter().map(|r| r.source.as_str())),
                strings(rows.iter().map(|r| r.alias.as_str())),
            ],
        )
    }

    fn from_batch(batch: &RecordBatch) -> Vec<Self> {
        let c: Vec<Vec<Option<String>>> = (0..3).map(|i| col_str(batch, i)).collect();
        (0..batch.num_rows())
            .map(|r| {
                let get = |i: usize| c[i][r].clone().unwrap_or_default();
                Identity::new(get(0), get(1), get(2))
            })
            .collect()
    }
}

impl StoredTable for Module {
    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            text("module_id", false),
            text("name", false),
            date("licensed_from", false),
            date("licensed_until", true),
            text("monthly_cost_per_user", true),
            // The cost in millionths of the currency unit, for exact sums.
            Field::new("cost_micros", DataType::Int64, true),
            text("names", true),
        ]))
    }

    fn to_batch(rows: &[Self]) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
        RecordBatch::try_new(
            Self::schema(),
            vec![
                strings(rows.iter().map(|r| r.module_id.as_str())),
                strings(rows.iter().map(|r| r.name.as_str())),
                dates(rows.iter().map(|r| Some(r.licensed_from))),
                dates(rows.iter().map(|r| r.licensed_until)),
                Arc::new(StringArray::from_iter(
                    rows.iter()
                        .map(|r| r.monthly_cost_per_user.map(|c| c.to_string())),
                )),
                Arc::new(Int64Array::from_iter(
                    rows.iter()
                        .map(|r| r.monthly_cost_per_user.map(|c| c.to_micros())),
                )),
                names_column(rows.iter().map(|r| &r.names)),
            ],
        )
    }

    fn from_batch(batch: &RecordBatch) -> Vec<Self> {
        let (id, name) = (col_str(batch, 0), col_str(batch, 1));
        let (from, until) = (col_date(batch, 2), col_date(batch, 3));
        let cost = col_str(batch, 4);
        let names = names_of(batch);
        (0..batch.num_rows())
            .map(|r| Module {
                module_id: id[r].clone().unwrap_or_default(),
                name: name[r].clone().unwrap_or_default(),
                licensed_from: from[r].unwrap_or_default(),
                licensed_until: until[r],
                monthly_cost_per_user: cost[r].as_deref().and_then(|c| c.parse().ok()),
                names: names[r].clone(),
            })
            .collect()
    }
}

/// The names in other languages as one JSON text per row (`{"fr": ...}`),
/// empty when there are none.
fn names_column<'a>(names: impl Iterator<Item = &'a Names>) -> Arc<StringArray> {
    Arc::new(StringArray::from_iter(names.map(|n| {
        (!n.is_empty()).then(|| serde_json::to_string(n).unwrap_or_default())
    })))
}

/// The names of each row; none for tables stored before they had them.
fn names_of(batch: &RecordBatch) -> Vec<Names> {
    let Ok(at) = batch.schema().index_of("names") else {
        return vec![Names::new(); batch.num_rows()];
    };
    col_str(batch, at)
        .into_iter()
        .map(|n| {
            n.and_then(|n| serde_json::from_str(&n).ok())
                .unwrap_or_default()
        })
        .collect()
}

/// One CSV record with its header, as [`Fields`].
struct CsvRow<'a> {
    index: &'a HashMap<String, usize>,
    record: &'a csv::StringRecord,
}

impl Fields for CsvRow<'_> {
    fn field(&self, column: &str) -> Option<&str> {
        self.index.get(column).and_then(|&i| self.record.get(i))
    }
}

/// Opens a file, decompressing it when its name ends in `.gz`.
pub fn open_input(path: &Path) -> Result<Box<dyn Read>> {
    let file = std::fs::File::open(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file = std::io::BufReader::with_capacity(1 << 20, file);
    if path.extension().is_some_and(|e| e == "gz") {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(file)))
    } else {
        Ok(Box::new(file))
    }
}

/// Reads and validates a table from CSV: the rows and the line of each.
/// Every problem found is returned, with the file's line numbers (the header
/// is line 1).
pub fn read_csv_table<T: Table>(path: &Path) -> Result<(Vec<T>, Vec<u64>)> {
    read_csv_rows(path, T::REQUIRED, &|row| T::from_fields(row).map(Some))
}

/// Reads the directory from an export through a mapping
/// ([`crate::connect::directory`]): rows it leaves out are skipped, rows
/// it cannot place are refused with their line.
pub fn read_mapped_directory(
    path: &Path,
    mapping: &crate::connect::directory::Mapping,
) -> Result<(Vec<DirectoryRow>, Vec<u64>)> {
    read_csv_rows(path, &mapping.source_columns(), &|row| {
        let mapped = mapping
            .row(&|c| row.field(c).map(str::to_string))
            .map_err(|(column, reason)| FieldError::new(&column, reason))?;
        match mapped {
            Some(values) => DirectoryRow::from_fields(&Mapped(values)).map(Some),
            None => Ok(None),
        }
    })
}

/// Directory columns and their values, as a mapping made them.
struct Mapped(std::collections::BTreeMap<&'static str, String>);

impl Fields for Mapped {
    fn field(&self, column: &str) -> Option<&str> {
        self.0.get(column).map(String::as_str)
    }
}

/// Reads the rows of a CSV file: `required` columns must be in the
/// header, `make` turns each row into a table row (`None`: skipped).
fn read_csv_rows<T: Table>(
    path: &Path,
    required: &[&str],
    make: &dyn Fn(&CsvRow<'_>) -> std::result::Result<Option<T>, FieldError>,
) -> Result<(Vec<T>, Vec<u64>)> {
    let name = path.display().to_string();
    let problem = |position: String, e: FieldError| InputProblem {
        file: name.clone(),
        position,
        column: e.column,
        reason: e.reason,
    };
    let counted = crate::connect::Lines::default();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(counted.wrap(crate::connect::without_bom(open_input(path)?)));
    let headers = reader.headers().in_file(path)?.clone();
    let index: HashMap<String, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.to_string(), i))
        .collect();
    let missing: Vec<InputProblem> = required
        .iter()
        .filter(|c| !index.contains_key(**c))
        .map(|c| {
            problem(
                "line 1".into(),
                FieldError::new(c, "required column is missing from the header"),
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(Error::Input(missing));
    }
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| counted.line_at(p.byte()));
                match make(&CsvRow {
                    index: &index,
                    record: &record,
                }) {
                    Ok(Some(row)) => {
                        rows.push(row);
                        lines.push(line);
                    }
                    Ok(None) => {}
                    Err(e) => problems.push(problem(format!("line {line}"), e)),
                }
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| counted.line_at(p.byte()));
                problems.push(InputProblem {
                    file: name.clone(),
                    position: format!("line {line}"),
                    column: "-".into(),
                    reason: e.to_string(),
                });
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
            }
        }
    }
    if let Err(RowProblem { row, error }) = crate::model::tables::check_unique_ids(&rows) {
        problems.push(problem(format!("line {}", lines[row]), error));
    }
    if problems.is_empty() {
        Ok((rows, lines))
    } else {
        Err(Error::Input(problems))
    }
}

/// Maps a table-level problem (found on parsed rows) to the file's line.
pub fn problem_at_line(path: &Path, line: u64, e: FieldError) -> InputProblem {
    InputProblem {
        file: path.display().to_string(),
        position: format!("line {line}"),
        column: e.column,
        reason: e.reason,
    }
}

/// Writes a table atomically.
pub fn write_table<T: StoredTable>(path: &Path, rows: &[T]) -> Result<()> {
    let batch = T::to_batch(rows).in_file(path)?;
    files::write_parquet(path, T::schema(), &[batch])
}

/// Reads a stored table; an absent file is an empty table.
pub fn read_table<T: StoredTable>(path: &Path) -> Result<Vec<T>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let (_, batches) = files::read_parquet(path)?;
    Ok(batches.iter().flat_map(|b| T::from_batch(b)).collect())
}
