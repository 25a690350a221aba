//! Reading what CRMs already log: each source's files turned into uptake's
//! events (SPEC.md section 1) through a mapping (`connectors/*.toml`).
//! The store checks and stores what a source gives like any other events.
//!
//! Sources: `native` (uptake's own format, the default),
//! `salesforce-elf` and `salesforce-loginevent` ([`salesforce`]),
//! `dataverse-audit` ([`dataverse`]), `o365-management` ([`o365`]),
//! `m365-active-users` ([`m365`]), `hubspot-login` and `hubspot-audit`
//! ([`hubspot`]).

pub mod dataverse;
pub mod directory;
pub mod hubspot;
pub mod m365;
pub mod mapping;
pub mod o365;
pub mod salesforce;

use std::collections::BTreeMap;
use std::io::Read;

/// Why a source file cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{file}: {message}")]
    Read { file: String, message: String },
    #[error("mapping {file}: {message}")]
    Mapping { file: String, message: String },
    #[error(
        "unknown source '{0}': use native, salesforce-elf, salesforce-loginevent, dataverse-audit, o365-management, m365-active-users, hubspot-login or hubspot-audit"
    )]
    UnknownSource(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// uptake's own format: Parquet, CSV or NDJSON with SPEC.md's columns.
    #[default]
    Native,
    /// Salesforce Event Monitoring log files (EventLogFile CSVs).
    SalesforceElf,
    /// Salesforce `LoginEvent` query results (JSON).
    SalesforceLoginEvent,
    /// Dataverse (Dynamics 365) audit records from the Web API (JSON).
    DataverseAudit,
    /// Office 365 Management Activity API content blobs, workload CRM.
    O365Management,
    /// Microsoft 365 active user details (Graph, CSV).
    M365ActiveUsers,
    /// HubSpot login history pages (JSON).
    HubspotLogin,
    /// HubSpot audit log pages (JSON).
    HubspotAudit,
}

impl std::str::FromStr for Source {
    type Err = Error;

    fn from_str(s: &str) -> Result<Source> {
        match s {
            "native" => Ok(Source::Native),
            "salesforce-elf" => Ok(Source::SalesforceElf),
            "salesforce-loginevent" => Ok(Source::SalesforceLoginEvent),
            "dataverse-audit" => Ok(Source::DataverseAudit),
            "o365-management" => Ok(Source::O365Management),
            "m365-active-users" => Ok(Source::M365ActiveUsers),
            "hubspot-login" => Ok(Source::HubspotLogin),
            "hubspot-audit" => Ok(Source::HubspotAudit),
            other => Err(Error::UnknownSource(other.to_string())),
        }
    }
}

impl Source {
    /// The id systems of the source's user ids (see
    /// [`crate::model::identity::normalise`]), the first first: an alias
    /// of a later one joins where the first has none (Microsoft's user
    /// principal names are by convention e-mail addresses). None for
    /// `native`, whose ids are the directory's.
    pub fn id_systems(self) -> &'static [&'static str] {
        match self {
            Source::Native => &[],
            Source::SalesforceElf | Source::SalesforceLoginEvent => &["salesforce"],
            Source::DataverseAudit => &["dataverse"],
            Source::O365Management | Source::M365ActiveUsers => &["upn", "email"],
            Source::HubspotLogin | Source::HubspotAudit => &["hubspot"],
        }
    }
}

impl Source {
    /// Whether the source's files are CSV, which a large file may be read
    /// in parts of.
    pub fn reads_csv(self) -> bool {
        matches!(self, Source::SalesforceElf | Source::M365ActiveUsers)
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Native => "native",
            Source::SalesforceElf => "salesforce-elf",
            Source::SalesforceLoginEvent => "salesforce-loginevent",
            Source::DataverseAudit => "dataverse-audit",
            Source::O365Management => "o365-management",
            Source::M365ActiveUsers => "m365-active-users",
            Source::HubspotLogin => "hubspot-login",
            Source::HubspotAudit => "hubspot-audit",
        })
    }
}

/// A source with its mapping, as an import reads it.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub source: Source,
    /// The mapping of a source other than `native`.
    pub mapping: Option<Mapping>,
}

/// A source's mapping.
#[derive(Debug, Clone)]
pub enum Mapping {
    Salesforce(mapping::Mapping),
    Dataverse(dataverse::Mapping),
    O365(o365::Mapping),
    M365(m365::Mapping),
    Hubspot(hubspot::Mapping),
}

impl Input {
    /// A source with its bundled mapping, or the one in `mapping`.
    pub fn new(source: Source, mapping: Option<&std::path::Path>) -> Result<Input> {
        let read = |bundled: &str, name: &str| -> Result<(String, String)> {
            match mapping {
                Some(path) => std::fs::read_to_string(path)
                    .map(|text| (text, path.display().to_string()))
                    .map_err(|e| Error::Mapping {
                        file: path.display().to_string(),
                        message: e.to_string(),
                    }),
                None => Ok((bundled.to_string(), format!("connectors/{name}.toml"))),
            }
        };
        let mapping = match source {
            Source::Native => None,
            Source::SalesforceElf | Source::SalesforceLoginEvent => {
                let (text, file) = read(mapping::SALESFORCE_ELF, "salesforce-elf")?;
                Some(Mapping::Salesforce(mapping::Mapping::parse(&text, &file)?))
            }
            Source::DataverseAudit => {
                let (text, file) = read(dataverse::BUNDLED, "dataverse-audit")?;
                Some(Mapping::Dataverse(dataverse::Mapping::parse(&text, &file)?))
            }
            Source::O365Management => {
                let (text, file) = read(o365::BUNDLED, "o365-management")?;
                Some(Mapping::O365(o365::Mapping::parse(&text, &file)?))
            }
            Source::M365ActiveUsers => {
                let (text, file) = read(m365::BUNDLED, "m365-active-users")?;
                Some(Mapping::M365(m365::Mapping::parse(&text, &file)?))
            }
            Source::HubspotLogin | Source::HubspotAudit => {
                let (text, file) = read(hubspot::BUNDLED, "hubspot")?;
                Some(Mapping::Hubspot(hubspot::Mapping::parse(&text, &file)?))
            }
        };
        Ok(Input { source, mapping })
    }
}

impl Input {
    /// Reads one file of this source (not `native`), handing each row to
    /// `emit`.
    pub fn read<E: From<Error>>(
        &self,
        input: impl Read,
        file: &str,
        reading: &mut Reading,
        emit: &mut Emit<'_, E>,
    ) -> std::result::Result<(), E> {
        let Some(mapping) = &self.mapping else {
            return Err(E::from(Error::Read {
                file: file.into(),
                message: "uptake's own format is read by the store".into(),
            }));
        };
        match (self.source, mapping) {
            (Source::SalesforceElf, Mapping::Salesforce(m)) => {
                salesforce::read_elf(input, file, m, reading, emit)
            }
            (Source::SalesforceLoginEvent, Mapping::Salesforce(m)) => {
                salesforce::read_login_events(input, file, m, reading, emit)
            }
            (Source::DataverseAudit, Mapping::Dataverse(m)) => {
                dataverse::read_audit(input, file, m, reading, emit)
            }
            (Source::O365Management, Mapping::O365(m)) => {
                o365::read_blob(input, file, m, reading, emit)
            }
            (Source::M365ActiveUsers, Mapping::M365(m)) => {
                m365::read_active_users(input, file, m, reading, emit)
            }
            (Source::HubspotLogin, Mapping::Hubspot(m)) => {
                hubspot::read_logins(input, file, m, reading, emit)
            }
            (Source::HubspotAudit, Mapping::Hubspot(m)) => {
                hubspot::read_audit(input, file, m, reading, emit)
            }
            (source, _) => Err(E::from(Error::Read {
                file: file.into(),
                message: format!("the mapping given is not one of source {source}"),
            })),
        }
    }
}

/// One event as a source gives it, before uptake's checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Raw {
    /// RFC 3339.
    pub event_time: String,
    pub user_id: String,
    pub module: String,
    pub action: String,
    pub client: Option<String>,
    /// The event's identity in its source, when it has one (an audit
    /// record's id): two rows with the same key are one event.
    pub key: Option<String>,
}

/// A row a source cannot turn into an event: the field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub field: String,
    pub reason: String,
}

/// Where a row is in its file: a CSV line or a JSON record (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Line(u64),
    Record(u64),
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Line(n) => write!(f, "line {n}"),
            At::Record(n) => write!(f, "record {n}"),
        }
    }
}

/// Hands each row of a file on, with where it is.
pub type Emit<'a, E> = dyn FnMut(At, Row) -> std::result::Result<(), E> + 'a;

/// A source row: an event, or why not.
pub type Row = std::result::Result<Raw, Refused>;

/// A refusal of `field`.
pub fn refused(field: &str, reason: impl Into<String>) -> Refused {
    Refused {
        field: field.to_string(),
        reason: reason.into(),
    }
}

/// What reading source files found besides events: rows read, rows that
/// are no activity (by reason), values the mapping did not know (each
/// stored as the mapping's `unmapped` module).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    pub rows: u64,
    pub dropped: BTreeMap<String, u64>,
    pub unmapped: BTreeMap<String, u64>,
    /// Events stored before or read before in the same import
    /// (`store::seen`), stored once.
    pub duplicates: u64,
    /// Ids neither in the directory nor an alias of one, with their rows.
    pub unresolved: BTreeMap<String, u64>,
}

/// Distinct values listed per kind; beyond it they are counted only.
const LISTED_VALUES: usize = 1000;

impl Reading {
    pub fn drop(&mut self, reason: &str) {
        add(&mut self.dropped, reason, 1);
    }

    pub fn unmapped(&mut self, value: &str) {
        add(&mut self.unmapped, value, 1);
    }

    pub fn unresolved(&mut self, id: &str) {
        add(&mut self.unresolved, id, 1);
    }

    /// Adds another file's reading.
    pub fn extend(&mut self, other: Reading) {
        self.rows += other.rows;
        self.duplicates += other.duplicates;
        for (mine, theirs) in [
            (&mut self.dropped, other.dropped),
            (&mut self.unresolved, other.unresolved),
            (&mut self.unmapped, other.unmapped),
        ] {
            for (k, n) in theirs {
                add(mine, &k, n);
            }
        }
    }
}

/// Counts `n` rows of `key`; beyond [`LISTED_VALUES`] distinct keys, new
/// ones are counted together.
fn add(map: &mut BTreeMap<String, u64>, key: &str, n: u64) {
    if let Some(count) = map.get_mut(key) {
        *count += n;
    } else if map.len() < LISTED_VALUES {
        map.insert(key.to_string(), n);
    } else {
        *map.entry("(further values)".into()).or_default() += n;
    }
}

/// Reads past a UTF-8 byte order mark, if the input starts with one.
pub fn without_bom(input: impl Read) -> impl Read {
    let mut input = std::io::BufReader::new(input);
    let mut start = [0u8; 3];
    let mut kept = Vec::new();
    let mut filled = 0;
    while filled < 3 {
        match input.read(&mut start[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    if start[..filled] != [0xEF, 0xBB, 0xBF] {
        kept.extend_from_slice(&start[..filled]);
    }
    std::io::Cursor::new(kept).chain(input)
}

/// Line numbers of a CSV's records as a reader sees them: the csv crate
/// counts lines wrongly after CRLF line ends, so the reader's input is
/// wrapped ([`Lines::wrap`]) and the line of a record is found from its
/// byte offset ([`Lines::line_at`]). Holds only the line ends of what is
/// read ahead.
#[derive(Clone, Default)]
pub struct Lines {
    inner: std::rc::Rc<std::cell::RefCell<LineEnds>>,
}

#[derive(Default)]
struct LineEnds {
    /// Bytes read so far.
    read: u64,
    /// Offsets of line ends read but not yet passed.
    ahead: std::collections::VecDeque<u64>,
    /// Line ends passed.
    passed: u64,
}

impl Lines {
    /// `input`, counting its line ends into `self`.
    pub fn wrap<R: Read>(&self, input: R) -> impl Read + use<R> {
        Counted {
            input,
            lines: self.clone(),
        }
    }

    /// The line (from 1) of a record starting at `offset`; offsets must
    /// not decrease from one call to the next. After a CRLF the csv crate
    /// puts the next record's start on the LF, which still ends the line
    /// before.
    pub fn line_at(&self, offset: u64) -> u64 {
        let mut ends = self.inner.borrow_mut();
        while ends.ahead.front().is_some_and(|end| *end <= offset) {
            ends.ahead.pop_front();
            ends.passed += 1;
        }
        ends.passed + 1
    }
}

struct Counted<R> {
    input: R,
    lines: Lines,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        let mut ends = self.lines.inner.borrow_mut();
        let start = ends.read;
        for i in memchr::memchr_iter(b'\n', &buf[..n]) {
            ends.ahead.push_back(start + i as u64);
        }
        ends.read += n as u64;
        Ok(n)
    }
}

/// Reads a CSV file of a source by its header: `columns` finds the
/// columns it needs in the header (or says why the file is not of the
/// source), `rows` turns each record into events, handing each to its
/// `emit` (which knows the record's line). A record the CSV reader cannot
/// read is refused with its line; after one that is not a wrong number
/// of fields reading stops.
pub fn read_csv<E: From<Error>, C>(
    input: impl Read,
    file: &str,
    reading: &mut Reading,
    emit: &mut Emit<'_, E>,
    columns: impl FnOnce(&csv::StringRecord) -> std::result::Result<C, String>,
    mut rows: impl FnMut(
        &C,
        &csv::ByteRecord,
        &mut Reading,
        &mut dyn FnMut(Row) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let unreadable = |message: String| {
        E::from(Error::Read {
            file: file.into(),
            message,
        })
    };
    let lines = Lines::default();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(lines.wrap(without_bom(input)));
    let headers = reader.headers().map_err(|e| unreadable(e.to_string()))?;
    let columns = columns(headers).map_err(|m| unreadable(format!("line 1: {m}")))?;
    let mut record = csv::ByteRecord::new();
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let at = At::Line(record.position().map_or(0, |p| lines.line_at(p.byte())));
                reading.rows += 1;
                rows(&columns, &record, reading, &mut |row| emit(at, row))?;
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                reading.rows += 1;
                emit(At::Line(line), Err(refused("-", e.to_string())))?;
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    return Ok(());
                }
            }
        }
    }
}

/// A field of a CSV record as text, trimmed; empty when missing. Only the
/// fields read are checked for UTF-8: one that is not reads as U+FFFD,
/// which no id, time or mapping accepts.
pub fn csv_field(record: &csv::ByteRecord, index: Option<usize>) -> &str {
    index
        .and_then(|i| record.get(i))
        .map(|b| std::str::from_utf8(b).unwrap_or("\u{fffd}").trim())
        .unwrap_or("")
}

/// Reads a JSON page of records: the array under `key` of an object (an
/// OData `value`, a SOQL `records`), or a bare array. Each record is
/// turned into a row with `row` (`None` for a record that is no activity,
/// counted in `reading` by `row`) and handed to `emit` with its place.
/// Records are read one at a time: a page of any size needs the memory of
/// one record.
pub fn read_records<E: From<Error>>(
    input: impl Read,
    file: &str,
    key: &str,
    reading: &mut Reading,
    emit: &mut Emit<'_, E>,
    mut row: impl FnMut(&serde_json::Value, &mut Reading) -> Option<Row>,
) -> std::result::Result<(), E> {
    use serde::de::DeserializeSeed;
    let mut stopped: Option<E> = None;
    let mut count = 0u64;
    let mut each = |record: serde_json::Value| -> bool {
        count += 1;
        reading.rows += 1;
        let Some(row) = row(&record, reading) else {
            return true;
        };
        match emit(At::Record(count), row) {
            Ok(()) => true,
            Err(e) => {
                stopped = Some(e);
                false
            }
        }
    };
    let unreadable = |message: String| {
        E::from(Error::Read {
            file: file.into(),
            message,
        })
    };
    let mut reader = serde_json::Deserializer::from_reader(without_bom(input));
    let page = Page {
        key,
        each: &mut each,
        inner: false,
    };
    let found = page.deserialize(&mut reader);
    if let Some(e) = stopped {
        return Err(e);
    }
    match found {
        Ok(true) => reader
            .end()
            .map_err(|e| unreadable(format!("not JSON: {e}"))),
        Ok(false) => Err(unreadable(format!("no '{key}' array of records"))),
        Err(e) => Err(unreadable(format!("not JSON: {e}"))),
    }
}

/// A JSON page read record by record: `each` gets every record of the
/// array under `key` (or of a bare array) and returns false to stop.
/// Deserialises to whether the array was there.
struct Page<'a, F> {
    key: &'a str,
    each: &'a mut F,
    /// The value under `key`, which must be an array.
    inner: bool,
}

impl<'de, F: FnMut(serde_json::Value) -> bool> serde::de::DeserializeSeed<'de> for Page<'_, F> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> std::result::Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, F: FnMut(serde_json::Value) -> bool> serde::de::Visitor<'de> for Page<'_, F> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "an object with '{}' or an array of records", self.key)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> std::result::Result<bool, A::Error> {
        while let Some(record) = seq.next_element::<serde_json::Value>()? {
            if !(self.each)(record) {
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(true)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<bool, A::Error> {
        if self.inner {
            let message = format!("'{}' is not an array of records", self.key);
            return Err(serde::de::Error::custom(message));
        }
        let mut found = false;
        while let Some(name) = map.next_key::<std::borrow::Cow<'_, str>>()? {
            if name == self.key && !found {
                found = map.next_value_seed(Page {
                    key: self.key,
                    each: &mut *self.each,
                    inner: true,
                })?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A text field of a JSON record; empty when missing or not text.
pub fn field<'a>(record: &'a serde_json::Value, name: &str) -> &'a str {
    record.get(name).and_then(|v| v.as_str()).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records of a page as `read_records` hands them on: (place, user).
    fn read(page: &str, key: &str) -> Result<Vec<(String, String)>> {
        let mut got = Vec::new();
        let mut emit = |at: At, row: Row| -> Result<()> {
            got.push((at.to_string(), row.map(|r| r.user_id).unwrap_or_default()));
            Ok(())
        };
        let mut reading = Reading::default();
        read_records(
            page.as_bytes(),
            "page.json",
            key,
            &mut reading,
            &mut emit,
            |r, _| {
                Some(Ok(Raw {
                    event_time: String::new(),
                    user_id: field(r, "u").to_string(),
                    module: String::new(),
                    action: String::new(),
                    client: None,
                    key: None,
                }))
            },
        )?;
        Ok(got)
    }

    #[test]
    fn json_pages_are_read_record_by_record() {
        let page = r#"{"@odata.context": "x", "value": [{"u": "a"}, {"u": "b", "n": {"value": 1}}],
                       "@odata.nextLink": "https://x/?$skiptoken=1"}"#;
        assert_eq!(
            read(page, "value").expect("page"),
            [
                ("record 1".into(), "a".into()),
                ("record 2".into(), "b".into())
            ]
        );
        assert_eq!(read(r#"[{"u": "c"}]"#, "value").expect("bare").len(), 1);
        for (page, message) in [
            (r#"{"records": []}"#, "no 'value' array"),
            (r#"{"value": {"value": []}}"#, "'value' is not an array"),
            (r#"{"value": [{"u": "a"}"#, "not JSON"),
            (r#"{"value": []} trailing"#, "not JSON"),
            ("42", "an object with 'value' or an array of records"),
        ] {
            let err = read(page, "value").expect_err(page).to_string();
            assert!(err.contains(message), "{page}: {err}");
        }
    }

    #[test]
    fn an_error_of_the_receiver_stops_the_page() {
        let mut calls = 0;
        let mut emit = |_: At, _: Row| -> Result<()> {
            calls += 1;
            Err(Error::UnknownSource("stop".into()))
        };
        let err = read_records(
            r#"[{"u": 1}, {"u": 2}]"#.as_bytes(),
            "p",
            "value",
            &mut Reading::default(),
            &mut emit,
            |_, _| Some(Err(refused("u", "no"))),
        )
        .expect_err("stopped");
        assert!(matches!(err, Error::UnknownSource(_)), "{err}");
        assert_eq!(calls, 1);
    }

    #[test]
    fn unmapped_values_beyond_the_listed_ones_are_counted_together() {
        let mut reading = Reading::default();
        for i in 0..1500 {
            reading.unmapped(&format!("PAGE_ENTITY_TYPE X{i}__c"));
        }
        reading.unmapped("PAGE_ENTITY_TYPE X1__c");
        assert_eq!(reading.unmapped.len(), LISTED_VALUES + 1);
        assert_eq!(reading.unmapped["(further values)"], 500);
        assert_eq!(reading.unmapped["PAGE_ENTITY_TYPE X1__c"], 2);
        assert_eq!(reading.unmapped.values().sum::<u64>(), 1501);
    }
}
