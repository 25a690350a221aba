//! The write-ahead log of acknowledged batches: `<data>/wal/<seq>.wal`
//! segments of framed records, each fsync'd before its batch is
//! acknowledged.
//!
//! A record is `UPW1`, the payload's length and CRC-32 (little-endian
//! `u32`s), then the payload: the `Idempotency-Key` (length-prefixed, empty
//! when none), the SHA-256 of the request body, and the events as an Arrow
//! IPC stream in the stored schema.
//!
//! Reading tolerates what a crash leaves: a record cut off at the end of
//! the newest segment was never acknowledged and is cut away. Anything else
//! that does not check out (a bad checksum followed by good records, a cut
//! in an older segment) is damage: the segment is copied to quarantine, its
//! good records are kept, and the damage is reported.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::arrow::record_batch::RecordBatch;

use crate::store::input::event_schema;
use crate::store::{Error, Result};

const MAGIC: &[u8; 4] = b"UPW1";
const HEADER: usize = 12;
pub const EXTENSION: &str = "wal";

/// One acknowledged batch.
#[derive(Debug, Clone)]
pub struct Record {
    pub key: Option<String>,
    pub digest: [u8; 32],
    pub batch: RecordBatch,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The framed bytes of a record, ready to append.
pub fn encode(key: Option<&str>, digest: &[u8; 32], batch: &RecordBatch) -> Result<Vec<u8>> {
    let key = key.unwrap_or("");
    let key_len = u16::try_from(key.len()).map_err(|_| Error::File {
        path: "wal".into(),
        message: "idempotency key longer than 65535 bytes".into(),
    })?;
    let mut payload = Vec::with_capacity(64 + batch.get_array_memory_size());
    payload.extend_from_slice(&key_len.to_le_bytes());
    payload.extend_from_slice(key.as_bytes());
    payload.extend_from_slice(digest);
    {
        let mut writer = StreamWriter::try_new(&mut payload, &event_schema()).map_err(arrow)?;
        writer.write(batch).map_err(arrow)?;
        writer.finish().map_err(arrow)?;
    }
    let len = u32::try_from(payload.len()).map_err(|_| Error::File {
        path: "wal".into(),
        message: "batch larger than 4 GiB".into(),
    })?;
    let mut framed = Vec::with_capacity(HEADER + payload.len());
    framed.extend_from_slice(MAGIC);
    framed.extend_from_slice(&len.to_le_bytes());
    framed.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    framed.extend_from_slice(&payload);
    Ok(framed)
}

fn arrow(e: datafusion::arrow::error::ArrowError) -> Error {
    Error::File {
        path: "wal".into(),
        message: e.to_string(),
    }
}

fn decode(payload: &[u8]) -> std::result::Result<Record, String> {
    let short = || "record shorter than its fields".to_string();
    let key_len = u16::from_le_bytes(
        payload
            .get(..2)
            .ok_or_else(short)?
            .try_into()
            .map_err(|_| short())?,
    ) as usize;
    let key = payload.get(2..2 + key_len).ok_or_else(short)?;
    let key = std::str::from_utf8(key).map_err(|e| format!("key: {e}"))?;
    let digest: [u8; 32] = payload
        .get(2 + key_len..34 + key_len)
        .ok_or_else(short)?
        .try_into()
        .map_err(|_| short())?;
    let mut reader =
        StreamReader::try_new(&payload[34 + key_len..], None).map_err(|e| e.to_string())?;
    let batch = reader
        .next()
        .ok_or("record without events")?
        .map_err(|e| e.to_string())?;
    if batch.schema().fields() != event_schema().fields() {
        return Err("events not in the stored schema".into());
    }
    Ok(Record {
        key: (!key.is_empty()).then(|| key.to_string()),
        digest,
        batch,
    })
}

/// A well-framed record with a matching checksum at `offset`: its payload
/// and length on disk.
fn frame_at(bytes: &[u8], offset: usize) -> Option<(&[u8], usize)> {
    let header = bytes.get(offset..offset + HEADER)?;
    if &header[..4] != MAGIC {
        return None;
    }
    let len = u32::from_le_bytes(header[4..8].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(header[8..12].try_into().ok()?);
    let payload = bytes.get(offset + HEADER..offset + HEADER + len)?;
    (crc32fast::hash(payload) == crc).then_some((payload, HEADER + len))
}

/// What reading a segment found.
#[derive(Debug, Default)]
pub struct Segment {
    pub records: Vec<Record>,
    /// Bytes of intact records from the start; a cut tail begins here.
    pub intact: u64,
    /// Bytes that did not check out.
    pub damaged_bytes: u64,
    /// Why, when something did not check out.
    pub damage: Option<String>,
    /// The damage is only a record cut off at the end.
    pub cut_tail: bool,
}

/// Reads a segment, keeping every record that checks out.
pub fn read(path: &Path) -> Result<Segment> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io(path))?;
    let mut out = Segment::default();
    let mut offset = 0usize;
    let mut good_run = true;
    while offset < bytes.len() {
        match frame_at(&bytes, offset).map(|(p, len)| (decode(p), len)) {
            Some((Ok(record), len)) => {
                out.records.push(record);
                offset += len;
                if good_run {
                    out.intact = offset as u64;
                }
            }
            other => {
                let reason = match other {
                    Some((Err(e), _)) => format!("record at byte {offset} is unreadable: {e}"),
                    _ => format!("record at byte {offset} is cut off or fails its checksum"),
                };
                good_run = false;
                // Look for the next record that checks out.
                let next = (offset + 1..bytes.len().saturating_sub(HEADER - 1))
                    .find(|&o| bytes[o..].starts_with(MAGIC) && frame_at(&bytes, o).is_some());
                let end = next.unwrap_or(bytes.len());
                out.damaged_bytes += (end - offset) as u64;
                if out.damage.is_none() {
                    out.damage = Some(reason);
                    out.cut_tail = next.is_none();
                } else {
                    out.cut_tail = false;
                }
                offset = end;
            }
        }
    }
    Ok(out)
}

/// The segment files of a log directory, oldest first.
pub fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    for entry in entries {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == EXTENSION)
            && let Some(seq) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .and_then(|s| s.parse::<u64>().ok())
        {
            out.push((seq, path));
        }
    }
    out.sort();
    Ok(out)
}

pub fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.{EXTENSION}"))
}

/// The segment being appended to.
pub struct Writer {
    pub seq: u64,
    path: PathBuf,
    file: File,
    /// Length of the durable records.
    len: u64,
}

impl Writer {
    /// Creates segment `seq`, which must not exist, and makes its name
    /// durable.
    pub fn create(dir: &Path, seq: u64) -> Result<Writer> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = segment_path(dir, seq);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        crate::store::files::sync_directory(dir)?;
        Ok(Writer {
            seq,
            path,
            file,
            len: 0,
        })
    }

    /// Appends framed records and waits until they are on disk.
    pub fn append(&mut self, framed: &[&[u8]]) -> Result<()> {
        let mut bytes = Vec::with_capacity(framed.iter().map(|b| b.len()).sum());
        for b in framed {
            bytes.extend_from_slice(b);
        }
        self.file.write_all(&bytes).map_err(io(&self.path))?;
        self.file.sync_data().map_err(io(&self.path))?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// A writer whose appends fail (its file is open for reading only).
    #[cfg(test)]
    pub fn failing(dir: &Path, seq: u64) -> Result<Writer> {
        drop(Writer::create(dir, seq)?);
        let path = segment_path(dir, seq);
        let file = File::open(&path).map_err(io(&path))?;
        Ok(Writer {
            seq,
            path,
            file,
            len: 0,
        })
    }

    /// Cuts what a failed append may have left.
    pub fn roll_back(&mut self) -> Result<()> {
        self.file.set_len(self.len).map_err(io(&self.path))?;
        self.file.sync_data().map_err(io(&self.path))
    }
}

/// Cuts a segment to its intact prefix (a record cut off by a crash).
pub fn truncate(path: &Path, len: u64) -> Result<()> {
    let file = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io(path))?;
    file.set_len(len).map_err(io(path))?;
    file.sync_all().map_err(io(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use datafusion::arrow::array::{StringArray, TimestampMicrosecondArray};

    fn batch(users: &[&str]) -> RecordBatch {
        let n = users.len();
        RecordBatch::try_new(
            event_schema(),
            vec![
                Arc::new(
                    TimestampMicrosecondArray::from(vec![1_700_000_000_000_000; n])
                        .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from(users.to_vec())),
                Arc::new(StringArray::from(vec!["crm"; n])),
                Arc::new(StringArray::from(vec!["view"; n])),
                Arc::new(StringArray::from(vec![None::<&str>; n])),
            ],
        )
        .expect("batch")
    }

    #[test]
    fn records_survive_a_cut_tail_and_damage_in_between() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut writer = Writer::create(dir.path(), 7).expect("create");
        let a = encode(Some("a"), &[1; 32], &batch(&["u1", "u2"])).expect("a");
        let b = encode(None, &[2; 32], &batch(&["u3"])).expect("b");
        let c = encode(Some("c"), &[3; 32], &batch(&["u4"])).expect("c");
        writer.append(&[&a, &b, &c]).expect("append");
        let path = segment_path(dir.path(), 7);
        assert_eq!(segments(dir.path()).expect("list"), vec![(7, path.clone())]);

        let whole = read(&path).expect("read");
        assert_eq!(whole.records.len(), 3);
        assert!(whole.damage.is_none());
        assert_eq!(whole.records[0].key.as_deref(), Some("a"));
        assert_eq!(whole.records[1].key, None);
        assert_eq!(whole.records[0].batch.num_rows(), 2);

        // A crash in the middle of the last record.
        let mut bytes = std::fs::read(&path).expect("bytes");
        std::fs::write(&path, &bytes[..bytes.len() - 5]).expect("cut");
        let cut = read(&path).expect("read");
        assert_eq!(cut.records.len(), 2);
        assert!(cut.cut_tail);
        assert_eq!(cut.intact as usize, a.len() + b.len());

        // A flipped byte inside the middle record.
        bytes[a.len() + 20] ^= 0xff;
        std::fs::write(&path, &bytes).expect("damage");
        let damaged = read(&path).expect("read");
        assert_eq!(damaged.records.len(), 2);
        assert!(!damaged.cut_tail);
        assert_eq!(damaged.damaged_bytes as usize, b.len());
        assert!(
            damaged
                .damage
                .expect("damage")
                .contains(&format!("byte {}", a.len()))
        );
    }
}
