//! Derived files in `derived/`: results kept so that a fresh process reads
//! them instead of computing them again (protection decisions, the cube).
//!
//! Each file is named by what it was computed from, so a file is never
//! stale, only unused. Any process may add files: each is written under a
//! name of its own and renamed into place, so readers see a whole file or
//! none, and writers of the same name agree on its content. A file is used
//! only when its metadata names the inputs it stands for and its rows pass
//! the checksum the writer stored; otherwise it is removed and computed
//! again. The least recently used files go beyond a budget of bytes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::file::metadata::KeyValue;
use datafusion::parquet::file::properties::WriterProperties;

/// What a derived file is computed from, encoded explicitly (lengths
/// before texts), so that its [`Inputs::name`] is the same in every process
/// and version of uptake.
#[derive(Debug, Clone, Default)]
pub struct Inputs(Vec<u8>);

impl Inputs {
    /// Bytes as they are (fixed-size values).
    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.extend_from_slice(bytes);
        self
    }

    /// Bytes of any length, their length first.
    pub fn text(&mut self, bytes: &[u8]) -> &mut Self {
        self.0
            .extend_from_slice(&(bytes.len() as u64).to_le_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    /// The 128-bit name of these inputs: XXH3-64 under two seeds.
    pub fn name(&self) -> u128 {
        use std::hash::Hasher;
        let half = |seed: u64| {
            let mut h = twox_hash::XxHash3_64::with_seed(seed);
            h.write(&self.0);
            u128::from(h.finish())
        };
        (half(0x7570_7461_6b65) << 64) | half(0x6b65_7074)
    }
}

/// Why a derived file could not be written or is not trusted.
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// A folder of derived files with its budget.
#[derive(Debug, Clone)]
pub struct Derived {
    dir: PathBuf,
    budget: u64,
}

/// A derived file as read: its key-value metadata and its rows.
pub struct Read {
    pub meta: HashMap<String, String>,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Read {
    /// A metadata value the writer stored.
    pub fn field(&self, key: &str) -> Result<&str, Failure> {
        self.meta
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| format!("no {key} in the metadata").into())
    }
}

impl Derived {
    /// `derived/<kind>` of the data directory `root`, keeping at most
    /// `budget` bytes.
    pub fn of(root: &Path, kind: &str, budget: u64) -> Derived {
        Derived {
            dir: root.join("derived").join(kind),
            budget,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Reads the file `name` when it exists. A file that cannot be read,
    /// or that `check` refuses, is logged as damaged and removed (`None`
    /// either way); a file used is marked as recently used.
    pub fn read<T>(
        &self,
        name: &str,
        what: &str,
        check: impl FnOnce(Read) -> Result<T, Failure>,
    ) -> Option<T> {
        let path = self.path(name);
        if !path.exists() {
            return None;
        }
        match read_parquet(&path).and_then(check) {
            Ok(value) => {
                // Used now: the last to go when the budget is exceeded.
                let _ = std::fs::File::options()
                    .append(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(SystemTime::now()));
                Some(value)
            }
            Err(reason) => {
                tracing::warn!(
                    path = %path.display(),
                    %reason,
                    "a kept {what} is damaged; computing it again"
                );
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Writes the file `name` unless it exists. A failure to write costs
    /// only the time to compute again later, so it is logged, not returned.
    pub fn write(
        &self,
        name: &str,
        what: &str,
        schema: SchemaRef,
        batches: &[RecordBatch],
        meta: Vec<(&str, String)>,
    ) {
        let path = self.path(name);
        if path.exists() {
            return;
        }
        if let Err(e) = std::fs::create_dir_all(&self.dir)
            .map_err(Failure::from)
            .and_then(|()| write_parquet(&path, schema, batches, meta))
        {
            tracing::debug!(path = %path.display(), error = %e, "cannot keep a {what}");
        }
    }

    /// Removes the least recently used files beyond the budget, and files
    /// left half-written by a process that stopped an hour ago.
    pub fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            let used = meta.modified().unwrap_or(now);
            if path.extension().is_some_and(|e| e == "tmp") {
                if now.duration_since(used).unwrap_or_default() > Duration::from_secs(3600) {
                    let _ = std::fs::remove_file(&path);
                }
                continue;
            }
            files.push((used, meta.len(), path));
        }
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        files.sort();
        for (_, len, path) in files {
            if total <= self.budget {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}

fn write_parquet(
    path: &Path,
    schema: SchemaRef,
    batches: &[RecordBatch],
    meta: Vec<(&str, String)>,
) -> Result<(), Failure> {
    let properties = WriterProperties::builder()
        .set_key_value_metadata(Some(
            meta.into_iter()
                .map(|(k, v)| KeyValue::new(k.to_string(), v))
                .collect(),
        ))
        .build();
    let tmp = path.with_extension(format!(
        "{}.{}.tmp",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    ));
    let written = (|| -> Result<(), Failure> {
        let file = std::fs::File::create(&tmp)?;
        let mut writer = ArrowWriter::try_new(file, schema, Some(properties))?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.close()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

pub(crate) fn read_parquet(path: &Path) -> Result<Read, Failure> {
    let file = std::fs::File::open(path)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let meta = builder
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .into_iter()
        .flatten()
        .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?)))
        .collect();
    let schema = builder.schema().clone();
    // Few, large batches: a table of them is read faster by queries.
    let batches = builder
        .with_batch_size(1 << 16)
        .build()?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Read {
        meta,
        schema,
        batches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(n: i64) -> (SchemaRef, RecordBatch) {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int64Array::from_iter_values(0..n))],
        )
        .expect("batch");
        (schema, batch)
    }

    #[test]
    fn the_least_recently_used_go_beyond_the_budget() {
        let dir = tempfile::tempdir().expect("dir");
        let probe = Derived::of(dir.path(), "t", u64::MAX);
        let (schema, rows) = batch(1000);
        probe.write(
            "size",
            "table",
            schema.clone(),
            std::slice::from_ref(&rows),
            Vec::new(),
        );
        let size = std::fs::metadata(probe.path("size")).expect("meta").len();
        let derived = Derived::of(dir.path(), "t", size * 2 + size / 2);
        let old = SystemTime::now() - Duration::from_secs(600);
        for (name, age) in [("a", 3u64), ("b", 1), ("c", 2)] {
            derived.write(
                name,
                "table",
                schema.clone(),
                std::slice::from_ref(&rows),
                Vec::new(),
            );
            std::fs::File::options()
                .append(true)
                .open(derived.path(name))
                .and_then(|f| f.set_modified(old - Duration::from_secs(age)))
                .expect("touch");
        }
        std::fs::remove_file(derived.path("size")).expect("rm");
        std::fs::write(derived.path("stray.1.2.tmp"), b"half").expect("tmp");
        std::fs::File::options()
            .append(true)
            .open(derived.path("stray.1.2.tmp"))
            .and_then(|f| f.set_modified(old - Duration::from_secs(7200)))
            .expect("touch");
        // Read now: used most recently.
        let rows = derived.read("a", "table", |r| Ok(r.batches[0].num_rows()));
        assert_eq!(rows, Some(1000));
        derived.prune();
        assert!(derived.path("a").exists(), "read last, so kept");
        assert!(derived.path("b").exists());
        assert!(!derived.path("c").exists(), "the least recently used goes");
        assert!(
            !derived.path("stray.1.2.tmp").exists(),
            "an old temp file goes"
        );
    }

    #[test]
    fn a_refused_or_unreadable_file_is_removed() {
        let dir = tempfile::tempdir().expect("dir");
        let derived = Derived::of(dir.path(), "t", u64::MAX);
        let (schema, rows) = batch(3);
        derived.write("x", "table", schema, &[rows], vec![("k", "v".into())]);
        assert_eq!(
            derived.read("x", "table", |r| Ok(r.field("k")?.to_string())),
            Some("v".to_string())
        );
        let refused: Option<()> = derived.read("x", "table", |_| Err("no".into()));
        assert!(refused.is_none());
        assert!(!derived.path("x").exists());
        std::fs::write(derived.path("y"), b"not parquet").expect("write");
        assert!(derived.read("y", "table", |_| Ok(())).is_none());
        assert!(!derived.path("y").exists());
    }
}
