//! Pseudonymous user ids: with `privacy.pseudonym_key` set, every user id
//! of the directory and of the events is replaced by `p_` and the first 16
//! bytes (32 hex digits) of HMAC-SHA-256(key, id) before anything is
//! written, so raw ids never reach the data directory (nor the ingestion
//! log). The same id gives the same pseudonym under the same key, so the
//! directory and the events still join.
//!
//! `<data>/pseudonym.json` records which key (by a fingerprint, never the
//! key) the stored ids were made with, or that they are raw. An import with
//! another key, or with none into pseudonymised data, is refused: its ids
//! would not join the stored ones.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::{Error, Result};

pub const FILE_NAME: &str = "pseudonym.json";

/// Replaces user ids by their keyed hash.
#[derive(Clone)]
pub struct Pseudonym {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonym(key hidden)")
    }
}

impl Pseudonym {
    /// None for an empty key: ids are kept as given.
    pub fn new(key: &str) -> Option<Pseudonym> {
        if key.is_empty() {
            return None;
        }
        Hmac::<Sha256>::new_from_slice(key.as_bytes())
            .ok()
            .map(|mac| Pseudonym { mac })
    }

    fn digest(&self, input: &[u8]) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(input);
        mac.finalize().into_bytes().to_vec()
    }

    /// The pseudonym of one id.
    pub fn id(&self, raw: &str) -> String {
        format!(
            "p_{}",
            super::files::hex(&self.digest(raw.as_bytes())[..16])
        )
    }

    /// An alias with its user id and the alias itself pseudonymised, as
    /// aliases are stored.
    pub fn identity(&self, identity: &crate::model::Identity) -> crate::model::Identity {
        crate::model::Identity::new(
            self.id(&identity.user_id),
            identity.source.clone(),
            self.id(&identity.alias),
        )
    }

    /// Names the key without revealing it.
    pub fn fingerprint(&self) -> String {
        super::files::hex(&self.digest(b"uptake pseudonym key fingerprint")[..8])
    }

    /// The batch with its `user_id` column replaced.
    pub fn batch(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let Some(index) = batch.schema().index_of("user_id").ok() else {
            return Ok(batch.clone());
        };
        let column = batch.column(index);
        let ids =
            datafusion::arrow::compute::cast(column, &DataType::Utf8).map_err(|e| Error::File {
                path: PathBuf::new(),
                message: format!("user_id: {e}"),
            })?;
        let ids = ids.as_string::<i32>();
        let replaced: StringArray = (0..ids.len())
            .map(|i| ids.is_valid(i).then(|| self.id(ids.value(i))))
            .collect();
        let replaced: ArrayRef = datafusion::arrow::compute::cast(&replaced, column.data_type())
            .map_err(|e| Error::File {
                path: PathBuf::new(),
                message: format!("user_id: {e}"),
            })?;
        let mut columns = batch.columns().to_vec();
        columns[index] = Arc::clone(&replaced);
        RecordBatch::try_new(batch.schema(), columns).map_err(|e| Error::File {
            path: PathBuf::new(),
            message: format!("user_id: {e}"),
        })
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Record {
    /// The key's fingerprint; none: ids are stored as given.
    key: Option<String>,
}

/// Checks that ids about to be imported match the stored ones: the same
/// key, or none for both. `has_data`: something was imported before.
/// Records the key on first use.
pub fn check(root: &Path, pseudonym: Option<&Pseudonym>, has_data: bool) -> Result<()> {
    let path = root.join(FILE_NAME);
    let now = Record {
        key: pseudonym.map(Pseudonym::fingerprint),
    };
    let stored = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str::<Record>(&text).map_err(|e| Error::File {
            path: path.clone(),
            message: format!("unreadable: {e}"),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Data imported before ids were recorded holds raw ids.
            let first = if has_data { Record { key: None } } else { now };
            let mut text = serde_json::to_vec(&first).unwrap_or_default();
            text.push(b'\n');
            super::files::write_atomically(&path, &text)?;
            first
        }
        Err(source) => return Err(Error::Io { path, source }),
    };
    let now_key = pseudonym.map(Pseudonym::fingerprint);
    if stored.key == now_key {
        return Ok(());
    }
    let message = match (&stored.key, &now_key) {
        (None, Some(_)) => "this data directory holds raw user ids; pseudonymised ids would not \
             join them. Import everything into a new data directory with privacy.pseudonym_key set"
            .to_string(),
        (Some(k), None) => format!(
            "this data directory holds ids pseudonymised with the key of fingerprint {k}; \
             set that key as privacy.pseudonym_key (or UPTAKE_PRIVACY_PSEUDONYM_KEY)"
        ),
        (Some(k), Some(n)) => format!(
            "this data directory holds ids pseudonymised with the key of fingerprint {k}, \
             but the configured key has fingerprint {n}; the directory and the events must use \
             the same key"
        ),
        (None, None) => unreachable!("equal keys return early"),
    };
    Err(Error::File { path, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_replaced_by_a_keyed_hash_and_keys_are_not_mixed() {
        let p = Pseudonym::new("a key of sixteen+ chars").expect("key");
        let id = p.id("anna.schmidt");
        assert!(id.starts_with("p_") && id.len() == 34 && !id.contains("anna"));
        assert_eq!(id, p.id("anna.schmidt"));
        let other = Pseudonym::new("another key, also long").expect("key");
        assert_ne!(id, other.id("anna.schmidt"));
        assert!(Pseudonym::new("").is_none());

        let dir = tempfile::tempdir().expect("tmp");
        check(dir.path(), Some(&p), false).expect("first import records the key");
        check(dir.path(), Some(&p), true).expect("same key");
        let e = check(dir.path(), Some(&other), true).expect_err("other key");
        assert!(e.to_string().contains("same key"), "{e}");
        assert!(check(dir.path(), None, true).is_err());

        let raw = tempfile::tempdir().expect("tmp");
        check(raw.path(), None, true).expect("raw ids");
        assert!(check(raw.path(), Some(&p), true).is_err());
    }
}
