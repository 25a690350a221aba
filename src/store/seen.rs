//! Which events of each source the store holds, so that overlapping
//! exports of a source (a daily and an hourly Salesforce file of the same
//! day, a Management API blob fetched twice) count once across imports.
//!
//! An event is known by a 64-bit hash of its identity ([`event_hash`]).
//! `seen/<source>/<date>-<import>.bin` holds the sorted hashes of one
//! source's events whose time falls on one UTC date, after an 8-byte
//! magic. The manifest names the current file of each source and date;
//! an import writes a new file for each date it adds to and commits it
//! together with its events, so a failed import leaves the index as it
//! was. Only the dates an import touches are read, when first touched.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustc_hash::FxHashSet;

use super::error::{Error, IoContext, Result};
use crate::model::week::date_of_day;

const MAGIC: &[u8; 8] = b"UPSEEN01";
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The identity of an event of a source: its record id when the source
/// has one (`key`), else its time to the microsecond, the user id as the
/// source gives it (normalised; pseudonymised when a key is set) and its
/// module, action and client. XXH3, stable across versions and machines.
pub fn event_hash(
    key: Option<&str>,
    micros: i64,
    fields: [&str; 4], // user, module, action, client
) -> u64 {
    let mut bytes = Vec::with_capacity(96);
    match key {
        Some(key) => {
            bytes.push(b'k');
            bytes.extend_from_slice(key.as_bytes());
        }
        None => {
            bytes.push(b'f');
            bytes.extend_from_slice(&micros.to_le_bytes());
            for field in fields {
                bytes.extend_from_slice(field.as_bytes());
                bytes.push(0x1f);
            }
        }
    }
    twox_hash::XxHash3_64::oneshot(&bytes)
}

/// The events of one source known to the store and to the running import.
pub struct Seen {
    root: PathBuf,
    source: String,
    /// Stored files by UTC date (`YYYY-MM-DD`), relative to `root`.
    files: BTreeMap<String, String>,
    days: Mutex<HashMap<i32, Day>>,
}

#[derive(Default)]
struct Day {
    /// Sorted hashes of the stored events.
    stored: Vec<u64>,
    /// Hashes of this import's events.
    new: FxHashSet<u64>,
}

impl Seen {
    /// The index of `source` in the data directory `root`, whose manifest
    /// names `files`.
    pub fn new(root: &Path, source: &str, files: BTreeMap<String, String>) -> Seen {
        Seen {
            root: root.to_path_buf(),
            source: source.to_string(),
            files,
            days: Mutex::default(),
        }
    }

    /// The index of `source` in the data directory `root` as `manifest`
    /// names it.
    pub fn of(root: &Path, manifest: &super::manifest::Manifest, source: &str) -> Seen {
        let files = manifest.seen.get(source).cloned().unwrap_or_default();
        Seen::new(root, source, files)
    }

    /// Records the event with `hash` at `micros`: false when the store or
    /// this import has it already.
    pub fn insert(&self, micros: i64, hash: u64) -> Result<bool> {
        let day = micros.div_euclid(MICROS_PER_DAY) as i32;
        let mut days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        let entry = match days.entry(day) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => v.insert(Day {
                stored: self.load(day)?,
                new: FxHashSet::default(),
            }),
        };
        Ok(entry.stored.binary_search(&hash).is_err() && entry.new.insert(hash))
    }

    /// Writes a file of import `id` for each date with new events: their
    /// paths relative to the data directory by date, and the files written.
    pub fn write(&self, id: &str) -> Result<(BTreeMap<String, String>, Vec<PathBuf>)> {
        let days = self.days.lock().unwrap_or_else(|p| p.into_inner());
        let mut files = BTreeMap::new();
        let mut written = Vec::new();
        for (day, entry) in days.iter().filter(|(_, d)| !d.new.is_empty()) {
            let mut all = Vec::with_capacity(entry.stored.len() + entry.new.len());
            all.extend_from_slice(&entry.stored);
            all.extend(entry.new.iter().copied());
            all.sort_unstable();
            let date = date_of_day(*day).to_string();
            let rel = format!("seen/{}/{date}-{id}.bin", self.source);
            let path = self.root.join(&rel);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).at(dir)?;
            }
            let mut bytes = Vec::with_capacity(8 + all.len() * 8);
            bytes.extend_from_slice(MAGIC);
            for hash in all {
                bytes.extend_from_slice(&hash.to_le_bytes());
            }
            written.push(path.clone());
            std::fs::write(&path, &bytes).at(&path)?;
            files.insert(date, rel);
        }
        Ok((files, written))
    }

    /// The stored hashes of `day`, sorted.
    fn load(&self, day: i32) -> Result<Vec<u64>> {
        let Some(rel) = self.files.get(&date_of_day(day).to_string()) else {
            return Ok(Vec::new());
        };
        let path = self.root.join(rel);
        let bytes = std::fs::read(&path).at(&path)?;
        if bytes.len() % 8 != 0 || !bytes.starts_with(MAGIC) {
            return Err(Error::File {
                path,
                message: "not an index of stored events (damaged?): move it away and import again; events of this source and date may then be stored twice".into(),
            });
        }
        let mut hashes: Vec<u64> = bytes[8..]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
            .collect();
        if !hashes.is_sorted() {
            hashes.sort_unstable();
        }
        Ok(hashes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_known_across_imports_by_date() {
        let dir = tempfile::tempdir().expect("tmp");
        let at = |day: i64| day * MICROS_PER_DAY + 3_600_000_000;
        let first = Seen::new(dir.path(), "hubspot-login", BTreeMap::new());
        assert!(first.insert(at(20_000), 1).expect("insert"));
        assert!(!first.insert(at(20_000), 1).expect("insert"));
        let (files, written) = first.write("i1").expect("write");
        assert_eq!(written.len(), 1, "{files:?}");
        assert_eq!(files.keys().collect::<Vec<_>>(), ["2024-10-04"]);

        let second = Seen::new(dir.path(), "hubspot-login", files);
        assert!(!second.insert(at(20_000), 1).expect("stored before"));
        assert!(second.insert(at(20_000), 2).expect("new"));
        assert!(second.insert(at(20_001), 1).expect("other date"));
        let (files, _) = second.write("i2").expect("write");
        assert_eq!(files.len(), 2);
        let third = Seen::new(dir.path(), "hubspot-login", files);
        assert!(!third.insert(at(20_000), 2).expect("stored"));
        assert!(!third.insert(at(20_000), 1).expect("stored"));
    }

    #[test]
    fn a_damaged_index_is_named() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("x.bin"), b"garbage").expect("write");
        let files = BTreeMap::from([("1970-01-01".to_string(), "x.bin".to_string())]);
        let seen = Seen::new(dir.path(), "s", files);
        let err = seen.insert(5, 1).expect_err("damaged");
        assert!(err.to_string().contains("x.bin"), "{err}");
    }

    #[test]
    fn the_hash_tells_keys_and_fields_apart() {
        let fields = ["u", "m", "a", ""];
        assert_eq!(
            event_hash(None, 1, fields),
            event_hash(None, 1, ["u", "m", "a", ""])
        );
        assert_ne!(event_hash(None, 1, fields), event_hash(None, 2, fields));
        assert_ne!(
            event_hash(None, 1, ["um", "", "a", ""]),
            event_hash(None, 1, ["u", "m", "a", ""])
        );
        assert_eq!(
            event_hash(Some("id"), 1, fields),
            event_hash(Some("id"), 9, ["x"; 4])
        );
    }
}
