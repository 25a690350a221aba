//! Files of a data lake: event files named by `s3://bucket/key` patterns
//! or local patterns, found with their size and version, and read as they
//! were when uptake first saw them.
//!
//! A pattern is `s3://bucket/key` with `*`, `?` and `[...]` in the key as
//! in file patterns (`*` stays within a folder), or a local file pattern.
//! A pattern ending in `/` names every `.parquet` file below the folders
//! it matches (`s3://lake/crm/events/date=*/`).
//!
//! The version of an object is its ETag; of a local file, its
//! modification time. Together with the size they tell whether a file
//! changed since it was registered ([`read_as_found`] refuses to read a
//! changed one).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as Key;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use super::error::{Error, IoContext, Result};
use super::remote;

/// Requests to the object store at a time.
const PARALLEL: usize = 8;

/// A file of the lake as uptake saw it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Found {
    /// `s3://bucket/key`, or the absolute path of a local file.
    pub url: String,
    pub size: u64,
    /// The object's ETag, or the local file's modification time.
    pub version: String,
}

impl Found {
    /// How `now` differs from this, for a message; `None` when it does not.
    pub fn change(&self, now: Option<&Found>) -> Option<String> {
        match now {
            None => Some("it is gone".into()),
            Some(now) if now.size != self.size || now.version != self.version => Some(format!(
                "it changed since it was registered ({} bytes, version {}; now {} bytes, version {})",
                self.size, self.version, now.size, now.version
            )),
            Some(_) => None,
        }
    }
}

/// Where a file of the lake is.
enum Place<'a> {
    S3 { bucket: &'a str, key: &'a str },
    Local(&'a str),
}

fn place(url: &str) -> Result<Place<'_>> {
    let Some(rest) = url.strip_prefix("s3://") else {
        return Ok(Place::Local(url));
    };
    let bad = |message: &str| Error::File {
        path: url.into(),
        message: message.into(),
    };
    let (bucket, key) = rest
        .split_once('/')
        .ok_or_else(|| bad("names a bucket but no objects"))?;
    if key.split('/').any(|part| part == "..") {
        return Err(bad("a key part is '..'"));
    }
    Ok(Place::S3 { bucket, key })
}

/// Whether `url` names an object store rather than a local file.
pub fn is_remote(url: &str) -> bool {
    url.starts_with("s3://")
}

/// Runs the future `make` makes to its end from synchronous code, on a
/// thread of its own (the caller may be on an async runtime's thread, or
/// on none).
fn block<F: std::future::Future>(make: impl FnOnce() -> F + Send) -> Result<F::Output>
where
    F::Output: Send,
{
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|rt| rt.block_on(make()))
            })
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the lake's reader panicked")))
    })
    .at("object store")
}

fn store_error(url: &str) -> impl Fn(object_store::Error) -> Error + '_ {
    move |source| {
        Error::Remote(remote::Error::Store {
            url: url.to_string(),
            source,
        })
    }
}

/// The S3 client of a bucket, from the `AWS_*` variables.
fn bucket_store(bucket: &str) -> Result<Arc<dyn ObjectStore>> {
    Ok(remote::object_store(bucket, &format!("s3://{bucket}"))?)
}

/// The objects of `store` whose keys `pattern` (a key pattern, see the
/// module) names, sorted by key; an error when none does.
pub async fn list_objects(
    store: &dyn ObjectStore,
    url: &str,
    pattern: &str,
) -> Result<Vec<ObjectMeta>> {
    let bad = |message: String| Error::File {
        path: url.into(),
        message,
    };
    let folders = pattern.is_empty() || pattern.ends_with('/');
    let matcher = glob::Pattern::new(pattern).map_err(|e| bad(e.to_string()))?;
    let options = glob::MatchOptions {
        require_literal_separator: true,
        ..Default::default()
    };
    let matches = |key: &str| {
        if !folders {
            return matcher.matches_with(key, options);
        }
        key.ends_with(".parquet")
            && (pattern.is_empty()
                || key
                    .match_indices('/')
                    .any(|(i, _)| matcher.matches_with(&key[..=i], options)))
    };
    // List from the folder before the first wildcard.
    let literal = &pattern[..pattern.find(['*', '?', '[']).unwrap_or(pattern.len())];
    let folder = &literal[..literal.rfind('/').map_or(0, |i| i + 1)];
    let mut found = Vec::new();
    let mut listed = store.list(Some(&Key::from(folder)));
    while let Some(meta) = listed.try_next().await.map_err(store_error(url))? {
        if matches(meta.location.as_ref()) {
            found.push(meta);
        }
    }
    found.sort_by(|a, b| a.location.cmp(&b.location));
    if found.is_empty() {
        return Err(bad("no object matches".into()));
    }
    Ok(found)
}

fn found_object(bucket: &str, meta: &ObjectMeta) -> Found {
    Found {
        url: format!("s3://{bucket}/{}", meta.location),
        size: meta.size,
        version: meta.e_tag.clone().unwrap_or_default(),
    }
}

fn found_local(path: &Path) -> Result<Found> {
    let meta = std::fs::metadata(path).at(path)?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default();
    let absolute = std::path::absolute(path).at(path)?;
    Ok(Found {
        url: absolute.display().to_string(),
        size: meta.len(),
        version: format!("{}.{:09}", modified.as_secs(), modified.subsec_nanos()),
    })
}

/// The files `pattern` names, sorted; an error when it names none.
pub fn list(pattern: &str) -> Result<Vec<Found>> {
    match place(pattern)? {
        Place::S3 { bucket, key } => {
            let store = bucket_store(bucket)?;
            let metas = block(|| list_objects(store.as_ref(), pattern, key))??;
            Ok(metas.iter().map(|m| found_object(bucket, m)).collect())
        }
        Place::Local(pattern) => {
            let glob_pattern = match pattern.strip_suffix('/') {
                Some(folder) => format!("{folder}/**/*.parquet"),
                None => pattern.to_string(),
            };
            let paths = super::import::glob_files(&glob_pattern, pattern)?;
            let mut found = paths
                .iter()
                .map(|p| found_local(p))
                .collect::<Result<Vec<_>>>()?;
            found.sort_by(|a, b| a.url.cmp(&b.url));
            Ok(found)
        }
    }
}

/// What each of `urls` is now (`None`: gone), in order; objects are asked
/// several at a time.
pub fn stat(urls: &[String]) -> Result<Vec<Option<Found>>> {
    block(|| async {
        let mut stores: std::collections::HashMap<String, Arc<dyn ObjectStore>> =
            std::collections::HashMap::new();
        let mut asks = Vec::with_capacity(urls.len());
        for url in urls {
            let ask = match place(url)? {
                Place::S3 { bucket, key } => {
                    if !stores.contains_key(bucket) {
                        stores.insert(bucket.to_string(), bucket_store(bucket)?);
                    }
                    Some((url, Arc::clone(&stores[bucket]), bucket, key))
                }
                Place::Local(_) => None,
            };
            asks.push((url, ask));
        }
        futures::stream::iter(asks)
            .map(|(url, ask)| async move {
                let Some((_, store, bucket, key)) = ask else {
                    let path = Path::new(url);
                    return if path.exists() {
                        found_local(path).map(Some)
                    } else {
                        Ok(None)
                    };
                };
                match store.head(&Key::from(key)).await {
                    Ok(meta) => Ok(Some(found_object(bucket, &meta))),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(store_error(url)(e)),
                }
            })
            .buffered(PARALLEL)
            .try_collect()
            .await
    })?
}

/// Runs `read` on a local file holding `file` as it was found: a local
/// file where it lies, an object downloaded into `scratch` (removed
/// afterwards). Refused, naming the change, when the file changed since.
pub fn read_as_found<R>(
    file: &Found,
    scratch: &Path,
    read: impl FnOnce(&Path) -> Result<R>,
) -> Result<R> {
    let changed = |now: Option<&Found>| match file.change(now) {
        Some(change) => Err(Error::File {
            path: file.url.clone().into(),
            message: change,
        }),
        None => Ok(()),
    };
    match place(&file.url)? {
        Place::Local(path) => {
            let path = Path::new(path);
            changed(
                path.exists()
                    .then(|| found_local(path))
                    .transpose()?
                    .as_ref(),
            )?;
            let result = read(path)?;
            // A file rewritten while it was read is refused too.
            changed(Some(&found_local(path)?))?;
            Ok(result)
        }
        Place::S3 { bucket, key } => {
            let name = key.rsplit('/').next().unwrap_or(key);
            std::fs::create_dir_all(scratch).at(scratch)?;
            let local = scratch.join(format!("{:016x}-{name}", rand::random::<u64>()));
            let downloaded = block(|| download(bucket, key, &file.url, &local));
            let result = downloaded
                .and_then(|now| now)
                .and_then(|now| changed(now.as_ref()))
                .and_then(|()| read(&local));
            let _ = std::fs::remove_file(&local);
            result
        }
    }
}

/// Downloads an object into `into`; what it was (size and ETag), `None`
/// when it is gone.
async fn download(bucket: &str, key: &str, url: &str, into: &Path) -> Result<Option<Found>> {
    use tokio::io::AsyncWriteExt;
    let store = bucket_store(bucket)?;
    let got = match store.get(&Key::from(key)).await {
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        got => got.map_err(store_error(url))?,
    };
    let found = found_object(bucket, &got.meta);
    let mut stream = got.into_stream();
    let mut file = tokio::fs::File::create(into).await.at(into)?;
    while let Some(chunk) = stream.try_next().await.map_err(store_error(url))? {
        file.write_all(&chunk).await.at(into)?;
    }
    file.flush().await.at(into)?;
    Ok(Some(found))
}

/// Downloads the objects an `s3://` pattern names into `into` (their keys
/// as paths), for an import that copies them; returns the files, sorted.
pub async fn fetch(pattern: &str, into: &Path) -> Result<Vec<PathBuf>> {
    let Place::S3 { bucket, key } = place(pattern)? else {
        return Err(Error::File {
            path: pattern.into(),
            message: "not an s3:// address".into(),
        });
    };
    let store = bucket_store(bucket)?;
    let metas = list_objects(store.as_ref(), pattern, key).await?;
    let fetched: Vec<PathBuf> = futures::stream::iter(metas)
        .map(|meta| {
            let path = into.join(meta.location.as_ref());
            let url = format!("s3://{bucket}/{}", meta.location);
            async move {
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent).await.at(parent)?;
                }
                match download(bucket, meta.location.as_ref(), &url, &path).await? {
                    Some(_) => Ok(path),
                    None => Err(Error::File {
                        path: url.into(),
                        message: "removed while it was read".into(),
                    }),
                }
            }
        })
        .buffer_unordered(PARALLEL)
        .try_collect()
        .await?;
    let mut files = fetched;
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_patterns_name_files_and_folders() {
        let dir = tempfile::tempdir().expect("test");
        for rel in ["date=1/a.parquet", "date=1/b.csv", "date=2/x/c.parquet"] {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("test")).expect("test");
            std::fs::write(path, b"x").expect("test");
        }
        let base = dir.path().display().to_string();
        let names = |pattern: &str| -> Vec<String> {
            list(pattern)
                .expect("test")
                .into_iter()
                .map(|f| f.url[base.len()..].to_string())
                .collect()
        };
        assert_eq!(
            names(&format!("{base}/")),
            ["/date=1/a.parquet", "/date=2/x/c.parquet"]
        );
        assert_eq!(
            names(&format!("{base}/date=*/*.parquet")),
            ["/date=1/a.parquet"]
        );
        assert!(matches!(
            list(&format!("{base}/date=9/")),
            Err(Error::NoMatch(_))
        ));
    }

    #[test]
    fn a_changed_file_is_not_read() {
        let dir = tempfile::tempdir().expect("test");
        let path = dir.path().join("a.parquet");
        std::fs::write(&path, b"one").expect("test");
        let found = list(&path.display().to_string()).expect("test").remove(0);
        let read =
            |f: &Found| read_as_found(f, dir.path(), |p| Ok(std::fs::read(p).expect("test")));
        assert_eq!(read(&found).expect("test"), b"one");
        std::fs::write(&path, b"other").expect("test");
        let message = read(&found).expect_err("refused").to_string();
        assert!(
            message.contains("changed since it was registered"),
            "{message}"
        );
        std::fs::remove_file(&path).expect("test");
        let message = read(&found).expect_err("refused").to_string();
        assert!(message.contains("it is gone"), "{message}");
        assert_eq!(
            stat(std::slice::from_ref(&found.url)).expect("test"),
            [None]
        );
    }

    #[test]
    fn bad_addresses_are_named() {
        assert!(
            list("s3://lake")
                .expect_err("refused")
                .to_string()
                .contains("no objects")
        );
        assert!(
            list("s3://lake/a/../b/")
                .expect_err("refused")
                .to_string()
                .contains("'..'")
        );
    }
}
