//! Remembered `Idempotency-Key`s of batches already in the Parquet store:
//! `<data>/wal/keys.jsonl`, one fsync'd line per key. Keys of batches still
//! in the write-ahead log are in their log records; a flush appends them
//! here before its commit point, so a key is always in one of the two.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::store::files::hex;
use crate::store::{Error, Result};

pub const FILE_NAME: &str = "keys.jsonl";

/// What was stored under a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// SHA-256 of the request body.
    pub digest: [u8; 32],
    /// Events stored.
    pub events: u64,
    /// When (seconds since 1970).
    pub at: i64,
}

#[derive(Serialize, Deserialize)]
struct Line {
    key: String,
    digest: String,
    events: u64,
    at: i64,
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The key file.
pub struct KeyLog {
    path: PathBuf,
}

/// What loading the key file found.
pub struct Loaded {
    pub keys: HashMap<String, Seen>,
    /// Lines that did not parse (other than a cut last line).
    pub damaged_lines: Vec<usize>,
}

impl KeyLog {
    /// Loads the unexpired keys (younger than `keep_seconds` at `now`). A
    /// last line cut off by a crash is removed; the file is rewritten
    /// without expired keys when they are most of it.
    pub fn open(dir: &Path, now: i64, keep_seconds: i64) -> Result<(KeyLog, Loaded)> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(FILE_NAME);
        let text = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&path)(e)),
        };
        let complete = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut keys = HashMap::new();
        let mut damaged_lines = Vec::new();
        let mut lines = 0usize;
        for (i, line) in text[..complete].split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            lines += 1;
            let parsed = serde_json::from_slice::<Line>(line)
                .ok()
                .and_then(|l| Some((l.key, unhex(&l.digest)?, l.events, l.at)));
            match parsed {
                Some((key, digest, events, at)) => {
                    if now - at < keep_seconds {
                        keys.insert(key, Seen { digest, events, at });
                    }
                }
                None => damaged_lines.push(i + 1),
            }
        }
        let log = KeyLog { path };
        if complete < text.len() || lines > 2 * keys.len() + 1024 {
            log.rewrite(&keys)?;
        }
        Ok((
            log,
            Loaded {
                keys,
                damaged_lines,
            },
        ))
    }

    fn rewrite(&self, keys: &HashMap<String, Seen>) -> Result<()> {
        let mut text = Vec::new();
        for (key, seen) in keys {
            line(&mut text, key, seen);
        }
        crate::store::files::write_atomically(&self.path, &text)
    }

    /// Appends keys and waits until they are on disk.
    pub fn append(&self, keys: &[(String, Seen)]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut text = Vec::new();
        for (key, seen) in keys {
            line(&mut text, key, seen);
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(io(&self.path))?;
        file.write_all(&text).map_err(io(&self.path))?;
        file.sync_data().map_err(io(&self.path))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn line(out: &mut Vec<u8>, key: &str, seen: &Seen) {
    let l = Line {
        key: key.to_string(),
        digest: hex(&seen.digest),
        events: seen.events,
        at: seen.at,
    };
    if let Ok(bytes) = serde_json::to_vec(&l) {
        out.extend_from_slice(&bytes);
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_kept_expired_dropped_and_a_cut_line_ignored() {
        let dir = tempfile::tempdir().expect("tmp");
        let (log, loaded) = KeyLog::open(dir.path(), 1000, 100).expect("open");
        assert!(loaded.keys.is_empty());
        let seen = |at| Seen {
            digest: [7; 32],
            events: 3,
            at,
        };
        log.append(&[("old".into(), seen(800)), ("new".into(), seen(990))])
            .expect("append");
        let mut bytes = std::fs::read(log.path()).expect("read");
        bytes.extend_from_slice(b"{\"key\":\"cut");
        std::fs::write(log.path(), &bytes).expect("write");
        let (log, loaded) = KeyLog::open(dir.path(), 1000, 100).expect("open");
        assert_eq!(loaded.keys.len(), 1);
        assert_eq!(loaded.keys["new"], seen(990));
        assert!(loaded.damaged_lines.is_empty());
        assert!(std::fs::read(log.path()).expect("read").ends_with(b"\n"));
    }
}
