//! File helpers: atomic replacement and Parquet reading and writing.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;

use super::error::{FileContext, IoContext, Result};

/// Bytes as lower-case hex (hashes in the manifest, token and key files).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Opens (creating it) a lock file and locks it exclusively: waiting for
/// another process to let go (`wait`), or `None` when another holds it.
/// The lock lasts as long as the file stays open.
pub fn lock_file(path: &Path, wait: bool) -> std::io::Result<Option<File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    if wait {
        file.lock()?;
        return Ok(Some(file));
    }
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Writes `bytes` to `path` so that readers see the old or the new file,
/// never a part: temporary file, fsync, rename, fsync of the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = File::create(&tmp).at(&tmp)?;
        f.write_all(bytes).at(&tmp)?;
        f.sync_all().at(&tmp)?;
    }
    std::fs::rename(&tmp, path).at(path)?;
    sync_dir(path)
}

/// Makes a rename or a new file in `path`'s directory durable.
pub fn sync_dir(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) => sync_directory(dir),
        None => Ok(()),
    }
}

/// Makes the entries of a directory durable.
pub fn sync_directory(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).at(dir)
}

pub fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(256 * 1024))
        .build()
}

/// A Parquet file being written; [`ParquetFile::finish`] fsyncs it.
pub struct ParquetFile {
    writer: ArrowWriter<File>,
    pub rows: u64,
}

impl ParquetFile {
    pub fn create(path: &Path, schema: SchemaRef) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).at(dir)?;
        }
        let file = File::create(path).at(path)?;
        let writer = ArrowWriter::try_new(file, schema, Some(writer_properties())).in_file(path)?;
        Ok(ParquetFile { writer, rows: 0 })
    }

    pub fn write(&mut self, batch: &RecordBatch, path: &Path) -> Result<()> {
        self.rows += batch.num_rows() as u64;
        self.writer.write(batch).in_file(path)
    }

    pub fn finish(self, path: &Path) -> Result<u64> {
        let file = self.writer.into_inner().in_file(path)?;
        file.sync_all().at(path)?;
        Ok(self.rows)
    }
}

/// Writes whole batches to a new Parquet file, atomically.
pub fn write_parquet(path: &Path, schema: SchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let tmp = path.with_extension("parquet.tmp");
    let mut file = ParquetFile::create(&tmp, schema)?;
    for b in batches {
        file.write(b, &tmp)?;
    }
    file.finish(&tmp)?;
    std::fs::rename(&tmp, path).at(path)?;
    sync_dir(path)
}

/// The rows of a Parquet file by its footer; fails when the file is
/// missing, cut off or not Parquet.
pub fn parquet_rows(path: &Path) -> Result<u64> {
    let file = File::open(path).at(path)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).in_file(path)?;
    Ok(builder.metadata().file_metadata().num_rows().max(0) as u64)
}

/// Reads a whole Parquet file.
pub fn read_parquet(path: &Path) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let file = File::open(path).at(path)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).in_file(path)?;
    let schema = Arc::clone(builder.schema());
    let reader = builder.with_batch_size(64 * 1024).build().in_file(path)?;
    let batches = reader.collect::<Result<Vec<_>, _>>().in_file(path)?;
    Ok((schema, batches))
}
