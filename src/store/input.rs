//! Reading usage events from Parquet, CSV and NDJSON files (optionally
//! gzip-compressed) into batches of the stored event schema, with every
//! refused row named by its position and reason.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringBuilder, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::{cast, concat_batches, filter};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::error::{Error, FileContext, InputProblem, IoContext, Result};
use super::tables::open_input;
use crate::connect;
use crate::model::event::{TimeRange, check_text, parse_event_time};

/// Rows per batch handed on.
const BATCH_ROWS: usize = 64 * 1024;
/// Problems kept per import; the count goes on beyond it.
const KEPT_PROBLEMS: usize = 10_000;

static EVENT_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new(
            "event_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("user_id", DataType::Utf8, false),
        Field::new("module", DataType::Utf8, false),
        Field::new("action", DataType::Utf8, false),
        Field::new("client", DataType::Utf8, true),
    ]))
});

/// The schema of stored events.
pub fn event_schema() -> SchemaRef {
    Arc::clone(&EVENT_SCHEMA)
}

/// Refused rows of one import.
#[derive(Debug, Default)]
pub struct Problems {
    pub kept: Vec<InputProblem>,
    pub total: usize,
}

impl Problems {
    /// Appends the problems of another file.
    pub fn extend(&mut self, other: Problems) {
        self.total += other.total;
        let room = KEPT_PROBLEMS.saturating_sub(self.kept.len());
        self.kept.extend(other.kept.into_iter().take(room));
    }

    fn push(&mut self, p: InputProblem) {
        self.total += 1;
        if self.kept.len() < KEPT_PROBLEMS {
            self.kept.push(p);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Parquet,
    Csv,
    Ndjson,
}

fn format_of(path: &Path) -> Result<Format> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let ext = name.rsplit('.').next().unwrap_or("");
    match ext {
        "parquet" => Ok(Format::Parquet),
        "csv" => Ok(Format::Csv),
        "ndjson" | "jsonl" | "json" => Ok(Format::Ndjson),
        _ => Err(Error::File {
            path: path.to_path_buf(),
            message:
                "unknown format: name event files *.parquet, *.csv or *.ndjson (optionally .gz)"
                    .into(),
        }),
    }
}

/// Turns a source's user ids into the directory's, as stored: an alias of
/// the source's id system ([`crate::model::Identity`]) becomes its
/// directory user; any other id stays as it is. With a pseudonym key both
/// are compared and stored pseudonymised, as the directory is.
#[derive(Default)]
pub struct Resolver {
    /// Stored form of an alias -> stored user id.
    aliases: std::collections::HashMap<String, String>,
    /// Stored user ids of the directory.
    directory: std::collections::HashSet<String>,
    pseudonym: Option<super::Pseudonym>,
}

impl Resolver {
    /// The resolver of `source`'s ids in the data directory `data`: its
    /// directory and aliases ([`super::read_aliases`]); nothing for
    /// `native`.
    pub fn of(
        data: &Path,
        source: connect::Source,
        pseudonym: Option<super::Pseudonym>,
    ) -> Result<Resolver> {
        let systems = source.id_systems();
        if systems.is_empty() {
            return Ok(Resolver::default());
        }
        let directory: Vec<crate::model::Licensee> =
            super::tables::read_table(&super::table_path(data, "directory"))?;
        Ok(Resolver::new(
            systems,
            super::read_aliases(data)?,
            directory.into_iter().map(|l| l.user_id),
            pseudonym,
        ))
    }

    /// A resolver of ids of `systems` (the first wins where two have the
    /// same alias).
    fn new(
        systems: &[&str],
        identities: Vec<crate::model::Identity>,
        directory: impl IntoIterator<Item = String>,
        pseudonym: Option<super::Pseudonym>,
    ) -> Resolver {
        let mut aliases = std::collections::HashMap::new();
        for system in systems.iter().rev() {
            for i in identities.iter().filter(|i| i.source == *system) {
                aliases.insert(i.alias.clone(), i.user_id.clone());
            }
        }
        Resolver {
            aliases,
            directory: directory.into_iter().collect(),
            pseudonym,
        }
    }

    /// What a (normalised) id of the source is stored as.
    pub fn resolve(&self, id: &str) -> Resolved<'_> {
        let source_id = match &self.pseudonym {
            Some(p) => p.id(id),
            None => id.to_string(),
        };
        let alias_of = self.aliases.get(&source_id).map(String::as_str);
        let known = alias_of.is_some() || self.directory.contains(&source_id);
        Resolved {
            source_id,
            alias_of,
            known,
        }
    }
}

/// A source's id as [`Resolver::resolve`] found it.
pub struct Resolved<'a> {
    /// The source's id as stored (pseudonymised with a key).
    pub source_id: String,
    /// The directory user it is an alias of.
    pub alias_of: Option<&'a str>,
    /// Whether it is someone of the directory.
    pub known: bool,
}

impl Resolved<'_> {
    /// The user id to store.
    pub fn user_id(&self) -> &str {
        self.alias_of.unwrap_or(&self.source_id)
    }
}

/// How a source's files are read in one import.
pub struct SourceRead<'a> {
    pub input: &'a connect::Input,
    /// The source's events stored and read so far.
    pub seen: &'a super::seen::Seen,
    pub resolver: &'a Resolver,
}

/// Reads one events file of a source, handing batches of its valid rows
/// to `sink` and recording refused rows in `problems`; times outside
/// `times` are refused. A source other than `native` also counts in
/// `reading` the rows that are no activity and the values its mapping did
/// not know, and stores a row identical to one in `seen` once.
pub fn read_events(
    path: &Path,
    part: Option<Part>,
    source: &SourceRead<'_>,
    times: &TimeRange,
    problems: &mut Problems,
    reading: &mut connect::Reading,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let name = path.display().to_string();
    if source.input.source != connect::Source::Native {
        let read = Readable {
            path,
            name: &name,
            part,
        };
        return read_source(&read, source, times, problems, reading, sink);
    }
    match format_of(path)? {
        Format::Parquet => read_parquet(path, &name, times, problems, sink),
        Format::Csv => read_csv(path, &name, times, problems, sink),
        Format::Ndjson => read_ndjson(open_input(path)?, &name, times, problems, sink),
    }
}

/// A part of a CSV file read on its own, so that one large file is read
/// on every core: the records from byte `start` to `end`, read after the
/// file's header line (its bytes up to `header_end`); the first of them
/// is on line `first_line`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub header_end: u64,
    pub start: u64,
    pub end: u64,
    pub first_line: u64,
}

/// Splits a CSV file (not compressed) into `parts` parts of about equal
/// size at record ends: a line end outside quotes (an even number of
/// quote characters before it; RFC 4180 doubles quotes inside quoted
/// fields). One pass over the file, counting quotes and line ends.
pub fn split_csv(path: &Path, parts: usize) -> Result<Vec<Part>> {
    use std::io::Read as _;
    let size = std::fs::metadata(path).at(path)?.len();
    let mut file = std::fs::File::open(path).at(path)?;
    let mut targets: std::collections::VecDeque<u64> =
        (1..parts as u64).map(|k| size * k / parts as u64).collect();
    // Record ends found: (offset after the line end, lines before it).
    let mut ends: Vec<(u64, u64)> = Vec::new();
    let mut header_end = None;
    let (mut offset, mut quotes, mut lines) = (0u64, 0u64, 0u64);
    let mut block = vec![0u8; 4 << 20];
    loop {
        let n = file.read(&mut block).at(path)?;
        if n == 0 {
            break;
        }
        let bytes = &block[..n];
        let wanted =
            header_end.is_none() || targets.front().is_some_and(|t| *t < offset + n as u64);
        if wanted {
            for i in memchr::memchr2_iter(b'"', b'\n', bytes) {
                if bytes[i] == b'"' {
                    quotes += 1;
                    continue;
                }
                lines += 1;
                let at = offset + i as u64 + 1;
                if quotes % 2 != 0 {
                    continue;
                }
                if header_end.is_none() {
                    header_end = Some((at, lines));
                } else if targets.front().is_some_and(|t| *t <= at) {
                    targets.pop_front();
                    ends.push((at, lines));
                }
            }
        } else {
            quotes += memchr::memchr_iter(b'"', bytes).count() as u64;
            lines += memchr::memchr_iter(b'\n', bytes).count() as u64;
        }
        offset += n as u64;
    }
    let (header_end, header_lines) = header_end.unwrap_or((size, 1));
    let mut out = Vec::new();
    let (mut start, mut first_line) = (header_end, header_lines + 1);
    for (end, lines_before) in ends.into_iter().chain([(size, 0)]) {
        if end > start {
            out.push(Part {
                header_end,
                start,
                end,
                first_line,
            });
        }
        (start, first_line) = (end, lines_before + 1);
    }
    Ok(out)
}

/// A file, or a part of one, with its name for messages.
struct Readable<'a> {
    path: &'a Path,
    name: &'a str,
    part: Option<Part>,
}

impl Readable<'_> {
    /// The bytes to read: the file, or the header and the part's records.
    fn open(&self) -> Result<Box<dyn Read>> {
        use std::io::{Seek, SeekFrom};
        let Some(part) = self.part else {
            return open_input(self.path);
        };
        let open = || std::fs::File::open(self.path).at(self.path);
        let header = open()?.take(part.header_end);
        let mut records = open()?;
        records.seek(SeekFrom::Start(part.start)).at(self.path)?;
        let records = records.take(part.end - part.start);
        Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            header.chain(records),
        )))
    }

    /// Where a row of what [`Readable::open`] gives is in the file.
    fn place(&self, at: connect::At) -> connect::At {
        match (self.part, at) {
            (Some(part), connect::At::Line(n)) if n >= 2 => {
                connect::At::Line(n - 2 + part.first_line)
            }
            (_, at) => at,
        }
    }
}

/// Reads a file of a source other than `native` as [`read_events`] does:
/// ids resolved and stored as the directory's, so the sink does not
/// pseudonymise them again.
fn read_source(
    file: &Readable<'_>,
    source: &SourceRead<'_>,
    times: &TimeRange,
    problems: &mut Problems,
    reading: &mut connect::Reading,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let SourceRead {
        input,
        seen,
        resolver,
    } = *source;
    let mut unresolved = connect::Reading::default();
    let mut rows = RowBuilder::new(times);
    let mut duplicates = 0u64;
    let mut emit = |at: connect::At, event: connect::Row| -> Result<()> {
        let at = file.place(at);
        let problem = |column: String, reason: String| InputProblem {
            file: file.name.to_string(),
            position: at.to_string(),
            column,
            reason,
        };
        let raw = match event {
            Ok(raw) => raw,
            Err(r) => {
                problems.push(problem(r.field, r.reason));
                return Ok(());
            }
        };
        let resolved = resolver.resolve(&raw.user_id);
        let client = raw.client.as_deref().unwrap_or("");
        let fields = [
            raw.event_time.as_str(),
            resolved.user_id(),
            &raw.module,
            &raw.action,
        ];
        let micros = match rows.check(fields, client) {
            Ok(micros) => micros,
            Err((column, reason)) => {
                problems.push(problem(column, reason));
                return Ok(());
            }
        };
        let identity = [
            resolved.source_id.as_str(),
            &raw.module,
            &raw.action,
            client,
        ];
        let hash = super::seen::event_hash(raw.key.as_deref(), micros, identity);
        if !seen.insert(micros, hash)? {
            duplicates += 1;
            return Ok(());
        }
        if !resolved.known {
            unresolved.unresolved(&raw.user_id);
        }
        rows.append(micros, fields, client);
        if rows.len() >= BATCH_ROWS {
            sink(rows.finish()?)?;
        }
        Ok(())
    };
    let mut counted = connect::Reading::default();
    input.read(file.open()?, file.name, &mut counted, &mut emit)?;
    if rows.len() > 0 {
        sink(rows.finish()?)?;
    }
    counted.duplicates = duplicates;
    reading.extend(counted);
    reading.extend(unresolved);
    Ok(())
}

fn read_parquet(
    path: &Path,
    name: &str,
    times: &TimeRange,
    problems: &mut Problems,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let reader: Box<dyn Iterator<Item = _>> = if path.extension().is_some_and(|e| e == "gz") {
        let mut bytes = Vec::new();
        open_input(path)?.read_to_end(&mut bytes).at(path)?;
        Box::new(
            ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
                .in_file(path)?
                .with_batch_size(BATCH_ROWS)
                .build()
                .in_file(path)?,
        )
    } else {
        let file = std::fs::File::open(path).at(path)?;
        Box::new(
            ParquetRecordBatchReaderBuilder::try_new(file)
                .in_file(path)?
                .with_batch_size(BATCH_ROWS)
                .build()
                .in_file(path)?,
        )
    };
    let mut first_row = 1u64;
    for batch in reader {
        let batch = batch.in_file(path)?;
        let rows = batch.num_rows() as u64;
        if let Some(valid) = canonicalize(&batch, first_row, name, times, problems)? {
            sink(valid)?;
        }
        first_row += rows;
    }
    Ok(())
}

/// The columns every events file has, whatever its format.
pub const REQUIRED_COLUMNS: [&str; 4] = ["event_time", "user_id", "module", "action"];

/// A required column missing from the header of `file` (at `position`).
fn missing_column(file: &str, position: &str, column: &str) -> Error {
    Error::Input(vec![InputProblem {
        file: file.to_string(),
        position: position.to_string(),
        column: column.to_string(),
        reason: "required column is missing from the header".into(),
    }])
}

/// Refuses a file whose header lacks a required column (`has` tells).
fn require_columns(file: &str, position: &str, has: impl Fn(&str) -> bool) -> Result<()> {
    match REQUIRED_COLUMNS.into_iter().find(|c| !has(c)) {
        Some(c) => Err(missing_column(file, position, c)),
        None => Ok(()),
    }
}

/// Converts an Arrow batch of events in any reasonable types to the stored
/// schema, dropping (and recording) invalid rows: a missing required
/// value, a time outside `times`, a control character. Row numbers are
/// 1-based, `first_row` being the number of the batch's first row.
pub fn canonicalize(
    batch: &RecordBatch,
    first_row: u64,
    file: &str,
    times: &TimeRange,
    problems: &mut Problems,
) -> Result<Option<RecordBatch>> {
    let n = batch.num_rows();
    let problem = |row: usize, column: &str, reason: String| InputProblem {
        file: file.to_string(),
        position: format!("row {}", first_row + row as u64),
        column: column.to_string(),
        reason,
    };
    let column = |name: &str| {
        batch
            .schema()
            .index_of(name)
            .ok()
            .map(|i| batch.column(i).clone())
    };
    require_columns(file, "header", |c| column(c).is_some())?;
    let mut texts: Vec<ArrayRef> = Vec::with_capacity(4);
    for name in ["user_id", "module", "action", "client"] {
        let Some(array) = column(name) else {
            texts.push(datafusion::arrow::array::new_null_array(&DataType::Utf8, n));
            continue;
        };
        let array = cast(&array, &DataType::Utf8).map_err(|e| Error::File {
            path: file.into(),
            message: format!("column {name}: cannot be read as text: {e}"),
        })?;
        texts.push(array);
    }
    let Some(time_column) = column("event_time") else {
        return Err(missing_column(file, "header", "event_time"));
    };
    // One problem per row: the first refused field, as for CSV and NDJSON.
    let mut valid = vec![true; n];
    let mut micros = vec![0i64; n];
    let mut refuse = |i: usize, column: &str, reason: String, valid: &mut [bool]| {
        if valid[i] {
            valid[i] = false;
            problems.push(problem(i, column, reason));
        }
    };
    for (i, t) in event_times(&time_column, file)?.into_iter().enumerate() {
        match t.and_then(|m| times.check(m)) {
            Ok(m) => micros[i] = m,
            Err(reason) => refuse(i, "event_time", reason, &mut valid),
        }
    }
    for (name, array) in ["user_id", "module", "action", "client"].iter().zip(&texts) {
        let s = array.as_string::<i32>();
        for i in 0..n {
            let value = (!s.is_null(i)).then(|| s.value(i));
            if let Some(reason) = field_problem(name, value) {
                refuse(i, name, reason, &mut valid);
            }
        }
    }
    let time: ArrayRef = Arc::new(TimestampMicrosecondArray::from(micros).with_timezone("UTC"));
    let mut columns = vec![time];
    columns.extend(texts);
    // Rows are dropped before the batch takes the stored schema, whose
    // required columns hold no nulls.
    if !valid.iter().all(|v| *v) {
        let keep = BooleanArray::from(valid);
        columns = columns
            .iter()
            .map(|c| filter(c, &keep))
            .collect::<std::result::Result<_, _>>()
            .in_file(file)?;
    }
    if columns[0].is_empty() {
        return Ok(None);
    }
    Ok(Some(
        RecordBatch::try_new(event_schema(), columns).in_file(file)?,
    ))
}

/// Why a text field of an event (`user_id`, `module`, `action`, `client`)
/// is refused, if it is: a required value missing (only `client` may be
/// empty), or a control character.
pub fn field_problem(column: &str, value: Option<&str>) -> Option<String> {
    match value {
        None | Some("") if column == "client" => None,
        None | Some("") => Some("required value is missing".into()),
        Some(value) => check_text(value).err(),
    }
}

/// Event times of a column as microseconds, or the reason per row.
fn event_times(array: &ArrayRef, file: &str) -> Result<Vec<Result<i64, String>>> {
    match array.data_type() {
        DataType::Timestamp(_, _) => {
            let a = cast(
                array,
                &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            )
            .in_file(file)?;
            let a = a.as_primitive::<datafusion::arrow::datatypes::TimestampMicrosecondType>();
            Ok((0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        Err("required value is missing".to_string())
                    } else {
                        Ok(a.value(i))
                    }
                })
                .collect())
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) => {
            let a = cast(array, &DataType::Utf8).in_file(file)?;
            let a = a.as_string::<i32>();
            Ok((0..a.len())
                .map(|i| {
                    if a.is_null(i) || a.value(i).is_empty() {
                        Err("required value is missing".to_string())
                    } else {
                        parse_event_time(a.value(i))
                    }
                })
                .collect())
        }
        other => Err(Error::File {
            path: file.into(),
            message: format!("column event_time has type {other}; expected a timestamp or text"),
        }),
    }
}

/// Collects text rows into batches of the stored schema.
struct RowBuilder {
    times: TimeRange,
    time: Vec<i64>,
    user: StringBuilder,
    module: StringBuilder,
    action: StringBuilder,
    client: StringBuilder,
}

impl RowBuilder {
    fn new(times: &TimeRange) -> Self {
        RowBuilder {
            times: *times,
            time: Vec::with_capacity(BATCH_ROWS),
            user: StringBuilder::new(),
            module: StringBuilder::new(),
            action: StringBuilder::new(),
            client: StringBuilder::new(),
        }
    }

    /// Validates one row; on success it is appended.
    fn push(
        &mut self,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> std::result::Result<(), (String, String)> {
        let [time, user, module, action, client] =
            crate::model::event::EVENT_COLUMNS.map(|c| get(c).unwrap_or_default());
        self.push_fields([&time, &user, &module, &action], &client)
    }

    /// Validates one row given as its fields (time, user, module, action;
    /// client may be empty); on success it is appended.
    fn push_fields(
        &mut self,
        required: [&str; 4],
        client: &str,
    ) -> std::result::Result<(), (String, String)> {
        let micros = self.check(required, client)?;
        self.append(micros, required, client);
        Ok(())
    }

    /// Validates one row given as its fields: its time in microseconds.
    fn check(
        &self,
        required: [&str; 4],
        client: &str,
    ) -> std::result::Result<i64, (String, String)> {
        const NAMES: [&str; 4] = ["event_time", "user_id", "module", "action"];
        for (name, value) in NAMES.iter().zip(required) {
            if value.is_empty() {
                return Err((name.to_string(), "required value is missing".to_string()));
            }
            check_text(value).map_err(|reason| (name.to_string(), reason))?;
        }
        check_text(client).map_err(|reason| ("client".to_string(), reason))?;
        parse_event_time(required[0])
            .and_then(|m| self.times.check(m))
            .map_err(|r| ("event_time".to_string(), r))
    }

    /// Appends a row checked by [`RowBuilder::check`].
    fn append(&mut self, micros: i64, required: [&str; 4], client: &str) {
        let [_, user, module, action] = required;
        self.time.push(micros);
        self.user.append_value(user);
        self.module.append_value(module);
        self.action.append_value(action);
        if client.is_empty() {
            self.client.append_null();
        } else {
            self.client.append_value(client);
        }
    }

    fn len(&self) -> usize {
        self.time.len()
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let time =
            TimestampMicrosecondArray::from(std::mem::take(&mut self.time)).with_timezone("UTC");
        RecordBatch::try_new(
            event_schema(),
            vec![
                Arc::new(time),
                Arc::new(self.user.finish()),
                Arc::new(self.module.finish()),
                Arc::new(self.action.finish()),
                Arc::new(self.client.finish()),
            ],
        )
        .in_file("events")
    }
}

fn read_csv(
    path: &Path,
    name: &str,
    times: &TimeRange,
    problems: &mut Problems,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let lines = connect::Lines::default();
    let mut reader = csv::ReaderBuilder::new().from_reader(lines.wrap(open_input(path)?));
    let headers = reader.headers().in_file(path)?.clone();
    let index = |c: &str| headers.iter().position(|h| h == c);
    require_columns(name, "line 1", |c| index(c).is_some())?;
    let cols: Vec<(&str, Option<usize>)> = crate::model::event::EVENT_COLUMNS
        .iter()
        .map(|c| (*c, index(c)))
        .collect();
    let mut rows = RowBuilder::new(times);
    let mut record = csv::StringRecord::new();
    loop {
        let line = lines.line_at(reader.position().byte());
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, |p| lines.line_at(p.byte()));
                let get = |c: &str| {
                    cols.iter()
                        .find(|(n, _)| *n == c)
                        .and_then(|(_, i)| i.and_then(|i| record.get(i)))
                        .map(str::to_string)
                };
                if let Err((column, reason)) = rows.push(&get) {
                    problems.push(InputProblem {
                        file: name.into(),
                        position: format!("line {line}"),
                        column,
                        reason,
                    });
                }
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| lines.line_at(p.byte()));
                problems.push(InputProblem {
                    file: name.into(),
                    position: format!("line {line}"),
                    column: "-".into(),
                    reason: e.to_string(),
                });
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
            }
        }
        if rows.len() >= BATCH_ROWS {
            sink(rows.finish()?)?;
        }
    }
    if rows.len() > 0 {
        sink(rows.finish()?)?;
    }
    Ok(())
}

/// Reads NDJSON or a JSON array held in memory (a request body) like
/// [`read_ndjson`]: one batch of the valid rows, if any, and the refused
/// rows.
pub fn ndjson_batch(
    bytes: Vec<u8>,
    name: &str,
    times: &TimeRange,
) -> Result<(Option<RecordBatch>, Problems)> {
    let mut problems = Problems::default();
    let mut batches = Vec::new();
    read_ndjson(
        Box::new(std::io::Cursor::new(bytes)),
        name,
        times,
        &mut problems,
        &mut |b| {
            batches.push(b);
            Ok(())
        },
    )?;
    let batch = match batches.len() {
        0 => None,
        1 => batches.pop(),
        _ => Some(concat_batches(&event_schema(), &batches).in_file(name)?),
    };
    Ok((batch, problems))
}

/// Reads NDJSON (one JSON object per line) or, when the input starts with
/// `[`, one JSON array of objects. Positions are lines, or array elements.
pub fn read_ndjson(
    input: Box<dyn Read>,
    name: &str,
    times: &TimeRange,
    problems: &mut Problems,
    sink: &mut dyn FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let mut reader = BufReader::new(input);
    let starts_with_bracket = {
        let buf = reader.fill_buf().in_file(name)?;
        buf.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
    };
    let mut rows = RowBuilder::new(times);
    let mut handle = |value: serde_json::Result<serde_json::Value>,
                      position: String,
                      rows: &mut RowBuilder| {
        let result = match value {
            Ok(serde_json::Value::Object(map)) => {
                let get = |c: &str| match map.get(c) {
                    Some(serde_json::Value::String(s)) => Some(s.clone()),
                    Some(serde_json::Value::Number(n)) if c != "event_time" => Some(n.to_string()),
                    _ => None,
                };
                rows.push(&get)
            }
            Ok(_) => Err(("-".into(), "not a JSON object".into())),
            Err(e) => Err(("-".into(), format!("invalid JSON: {e}"))),
        };
        if let Err((column, reason)) = result {
            problems.push(InputProblem {
                file: name.into(),
                position,
                column,
                reason,
            });
        }
    };
    if starts_with_bracket {
        let values: Vec<serde_json::Value> = serde_json::from_reader(reader).map_err(|e| {
            Error::Input(vec![InputProblem {
                file: name.into(),
                position: format!("line {}", e.line()),
                column: "-".into(),
                reason: format!("invalid JSON: {e}"),
            }])
        })?;
        for (i, v) in values.into_iter().enumerate() {
            handle(Ok(v), format!("element {}", i + 1), &mut rows);
            if rows.len() >= BATCH_ROWS {
                sink(rows.finish()?)?;
            }
        }
    } else {
        let mut line = String::new();
        let mut number = 0u64;
        loop {
            line.clear();
            if reader.read_line(&mut line).in_file(name)? == 0 {
                break;
            }
            number += 1;
            if line.trim().is_empty() {
                continue;
            }
            handle(
                serde_json::from_str(&line),
                format!("line {number}"),
                &mut rows,
            );
            if rows.len() >= BATCH_ROWS {
                sink(rows.finish()?)?;
            }
        }
    }
    if rows.len() > 0 {
        sink(rows.finish()?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of a file read in parts, with its line, equals the
    /// records of the whole file, whatever quoted line ends and doubled
    /// quotes it holds.
    #[test]
    fn a_csv_read_in_parts_gives_every_record_once_on_its_line() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("big.csv");
        let mut text = String::from("\u{feff}\"A\",\"B\"\r\n");
        for i in 0..500 {
            match i % 3 {
                0 => text.push_str(&format!("\"{i}\",\"plain\"\r\n")),
                1 => text.push_str(&format!("\"{i}\",\"two\r\nlines, \"\"quoted\"\"\"\r\n")),
                _ => text.push_str(&format!("\"{i}\",\"\"\"\"\n")),
            }
        }
        std::fs::write(&path, &text).expect("write");
        let records = |read: &Readable<'_>| -> Vec<(u64, Vec<String>)> {
            let lines = connect::Lines::default();
            let mut reader = csv::Reader::from_reader(
                lines.wrap(connect::without_bom(read.open().expect("open"))),
            );
            assert_eq!(
                reader.headers().expect("header").iter().collect::<Vec<_>>(),
                ["A", "B"]
            );
            reader
                .records()
                .map(|r| {
                    let r = r.expect("record");
                    let line = lines.line_at(r.position().expect("position").byte());
                    let connect::At::Line(line) = read.place(connect::At::Line(line)) else {
                        unreachable!()
                    };
                    (line, r.iter().map(str::to_string).collect())
                })
                .collect()
        };
        let name = path.display().to_string();
        let whole = records(&Readable {
            path: &path,
            name: &name,
            part: None,
        });
        assert_eq!(whole.len(), 500);
        let parts = split_csv(&path, 3).expect("split");
        assert_eq!(parts.len(), 3, "{parts:?}");
        let in_parts: Vec<_> = parts
            .iter()
            .flat_map(|part| {
                records(&Readable {
                    path: &path,
                    name: &name,
                    part: Some(*part),
                })
            })
            .collect();
        assert_eq!(in_parts, whole);
    }
}
