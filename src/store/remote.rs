//! A data directory in object storage: `--data s3://bucket/prefix`.
//!
//! uptake works on a local copy of the data directory (the working copy,
//! in `--local-dir`) and keeps the object store as the place where the
//! data lives. A command first brings the copy to the store's latest
//! commit ([`Remote::open`]), works on it as on any data directory, and
//! then commits what it changed ([`Remote::push`]). So every command,
//! `serve` included, runs on object storage unchanged, and a service can
//! move to another machine: the new one pulls the latest commit.
//!
//! In the object store, under the prefix:
//!
//! ```text
//! commits/00000000000000000007.json  commit 7: every file of the directory and its object
//! events/..., rollup/..., seen/...   files named once (by their import): stored at their path
//! at/7-<random>/manifest.json, ...    files whose name is reused (the manifest, tables,
//!                                      tokens, users, logs): the version a writer uploaded
//!                                      for its commit 7 (each writer in a folder of its own)
//! derived/...                        results kept for fresh processes (a cache, outside
//!                                      the commits; any process adds them)
//! ```
//!
//! Object stores have no atomic rename, so a commit is the conditional
//! creation (`If-None-Match: *`) of the next commit file. Of two writers
//! that started from the same commit, one creates it and the other is
//! refused ([`Error::Conflict`]) and commits nothing; it runs again from
//! the new commit. Objects are uploaded before the commit that names them,
//! so a process killed at any point leaves the previous commit whole; the
//! objects it left that no commit names are removed by a later writer once
//! they are older than [`GRACE`].
//!
//! What stays on the local disk only: the ingestion log (`wal/`): a POST
//! is acknowledged once its batch is in the log and fsynced, which an
//! object store cannot do per batch (no append, a round trip per write);
//! `serve` commits after each flush and removes log segments only once a
//! commit holding their events is in the store, so the log needs a local
//! disk that survives a restart (a volume, not a container's scratch
//! space) until then. Also local: lock files, temporary files, the demo
//! (`demo/`) and `.remote.json`, which records the commit the working copy
//! holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::{StreamExt, TryStreamExt};
pub use object_store::ObjectStore;
use object_store::path::Path as Key;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use serde::{Deserialize, Serialize};

use super::manifest;

/// Objects of an interrupted upload are removed once this old: a writer
/// uploading for its next commit is never slower than this between an
/// upload and its commit.
pub const GRACE: Duration = Duration::from_secs(15 * 60);

/// Commit files kept besides the latest (for readers part-way through a
/// pull of an older one).
const COMMITS_KEPT: usize = 20;

/// Logs that processes only append to: when two writers appended to the
/// same one, both parts are kept.
const APPENDED: [&str; 3] = ["audit.jsonl", "reports/runs.jsonl", "quarantine/log.jsonl"];

/// Files both writers changed are compared byte for byte up to this size.
const SMALL: u64 = 1 << 20;

/// Commits another writer may win in a row before this one gives up.
const REBASES: usize = 5;

/// Uploads and downloads at a time: a working copy is mostly small files
/// (a rollup file per week, a kept cube file per week and table), each a
/// request whose latency is the cost.
const PARALLEL: usize = 32;

/// The state file of the working copy.
const STATE: &str = ".remote.json";

/// Files and folders of a data directory that never leave this machine.
const LOCAL_ONLY: [&str; 7] = [
    "wal",
    "demo",
    "demo-input",
    "writer.lock",
    "auth.lock",
    "sync.lock",
    STATE,
];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{url}: {source}")]
    Store {
        url: String,
        source: object_store::Error,
    },
    #[error(
        "{url}: another process committed to this data directory (commit {theirs}) since this one read commit {ours}{}; nothing of this command was committed: run it again",
        changed(files)
    )]
    Conflict {
        url: String,
        ours: u64,
        theirs: u64,
        /// Files both changed.
        files: Vec<String>,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{url}: commit {version} is damaged: {message}")]
    Damaged {
        url: String,
        version: u64,
        message: String,
    },
    #[error("{0}")]
    Location(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn changed(files: &[String]) -> String {
    match files {
        [] => String::new(),
        files => format!(", and changed the same files ({})", files.join(", ")),
    }
}

/// Where the data directory lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Local(PathBuf),
    /// `s3://bucket/prefix`, with credentials and endpoint from the usual
    /// AWS variables.
    S3 {
        url: String,
        bucket: String,
        prefix: String,
    },
}

impl Default for Location {
    fn default() -> Self {
        Location::Local(PathBuf::from("data"))
    }
}

impl Location {
    /// A local path, or `s3://bucket[/prefix]`. Other schemes are refused
    /// rather than taken as a local folder named `gs:`.
    pub fn parse(value: &str) -> Result<Location, String> {
        let Some((scheme, rest)) = value.split_once("://") else {
            return Ok(Location::Local(PathBuf::from(value)));
        };
        let is_scheme = !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !is_scheme {
            return Ok(Location::Local(PathBuf::from(value)));
        }
        if !scheme.eq_ignore_ascii_case("s3") {
            return Err(format!(
                "{scheme}:// is not supported: uptake keeps its data in a local directory or in \
                 S3-compatible object storage (s3://bucket/prefix; AWS, MinIO, Ceph, ...)"
            ));
        }
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid_bucket {
            return Err(format!(
                "{value}: '{bucket}' is not an S3 bucket name (3 to 63 lower-case letters, digits, '-' or '.')"
            ));
        }
        if prefix
            .split('/')
            .any(|p| p.is_empty() && !prefix.is_empty())
            || prefix.contains("..")
        {
            return Err(format!(
                "{value}: the prefix '{prefix}' has an empty or '..' part"
            ));
        }
        Ok(Location::S3 {
            url: format!("s3://{bucket}/{prefix}"),
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// The default working copy of an object-store location:
    /// `$XDG_STATE_HOME/uptake/<bucket>/<prefix>` (or
    /// `~/.local/state/...`); `None` for a local directory.
    pub fn default_local_dir(&self) -> Option<PathBuf> {
        let Location::S3 { bucket, prefix, .. } = self else {
            return None;
        };
        let base = std::env::var_os("XDG_STATE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
            .unwrap_or_else(std::env::temp_dir);
        let mut dir = base.join("uptake").join("s3").join(bucket);
        for part in prefix.split('/').filter(|p| !p.is_empty()) {
            dir.push(part);
        }
        Some(dir)
    }
}

/// One commit: the directory's files and their objects.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Commit {
    version: u64,
    written_at: String,
    files: BTreeMap<String, Object>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Object {
    key: String,
    size: u64,
}

/// What the working copy holds, as of its last pull or push.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    url: String,
    version: u64,
    files: BTreeMap<String, Synced>,
    /// Derived files known to be in the store.
    #[serde(default)]
    derived: BTreeMap<String, Synced>,
}

/// A local file as it was when synced: changed when its size or time is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Synced {
    key: String,
    size: u64,
    modified: i128,
}

impl Synced {
    /// Whether the local file is as synced.
    fn is(&self, stat: Stat) -> bool {
        self.size == stat.size && self.modified == stat.modified
    }
}

/// Size and modification time of a local file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    size: u64,
    modified: i128,
}

/// A data directory in object storage and its working copy here.
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    url: String,
    dir: PathBuf,
    state: State,
    /// `sync.lock` of the working copy; `None` when another process on
    /// this machine holds it and keeps the copy in sync.
    lock: Option<std::fs::File>,
    /// Objects uploaded for a commit another writer beat, by file: used
    /// again when the file is unchanged.
    uploaded: BTreeMap<String, Synced>,
    /// Set by [`Remote::keep_open`].
    keeps_open: bool,
    /// What [`Remote::pull`] downloads.
    fetch: Fetch,
}

/// What a working copy brings in from a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// Every file.
    Whole,
    /// All but the stored raw events (`events/`), for the figures
    /// commands, which read the rollup and tables only: the bulk of a data
    /// directory stays in the store until a command that reads or writes
    /// events asks for the copy (its pull downloads them then).
    WithoutEvents,
}

/// The `modified` of a committed file that this working copy did not
/// download ([`Fetch::WithoutEvents`]): a commit from this copy keeps it
/// as committed.
const NOT_HERE: i128 = i128::MIN;

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("url", &self.url)
            .field("dir", &self.dir)
            .field("version", &self.state.version)
            .finish()
    }
}

/// The S3 client for a location, configured from the `AWS_*` variables
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
/// `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, ...).
pub fn object_store(bucket: &str, url: &str) -> Result<Arc<dyn ObjectStore>> {
    object_store_with(bucket, url, &[])
}

/// [`object_store()`] with settings (`object_store`'s names, such as
/// `aws_endpoint`) that win over the variables.
pub fn object_store_with(
    bucket: &str,
    url: &str,
    config: &[(&str, &str)],
) -> Result<Arc<dyn ObjectStore>> {
    let fail = |source| Error::Store {
        url: url.to_string(),
        source,
    };
    // A store that does not answer is named within seconds, not minutes.
    let retry = object_store::RetryConfig {
        max_retries: 4,
        retry_timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let mut builder = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(retry);
    // `from_env` reads AWS_DEFAULT_REGION; the AWS tools also read AWS_REGION.
    if let Ok(region) = std::env::var("AWS_REGION") {
        builder = builder.with_region(region);
    }
    for (key, value) in config {
        builder = builder.with_config(key.parse().map_err(fail)?, *value);
    }
    Ok(Arc::new(builder.build().map_err(fail)?))
}

/// `store` under `prefix` (none when empty): keys are relative to it.
pub fn prefixed(store: Arc<dyn ObjectStore>, prefix: &str) -> Arc<dyn ObjectStore> {
    if prefix.is_empty() {
        return store;
    }
    Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
}

impl Remote {
    /// Opens the data directory at `location` (an object store) with its
    /// working copy in `dir`, bringing the copy to the latest commit.
    /// When another process on this machine holds the copy (`uptake
    /// serve`), the copy is used as that process keeps it, and this one
    /// commits nothing ([`Remote::syncs`]).
    /// `fetch` says what it brings into the copy.
    pub async fn open(location: &Location, dir: &Path, fetch: Fetch) -> Result<Remote> {
        let Location::S3 {
            url,
            bucket,
            prefix,
        } = location
        else {
            return Err(Error::Location(
                "a local data directory has no object store".into(),
            ));
        };
        let store = prefixed(object_store(bucket, url)?, prefix);
        Remote::open_in(store, url, dir, fetch).await
    }

    /// [`Remote::open`] on a given object store.
    pub async fn open_in(
        store: Arc<dyn ObjectStore>,
        url: &str,
        dir: &Path,
        fetch: Fetch,
    ) -> Result<Remote> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let lock_path = dir.join("sync.lock");
        let lock =
            crate::store::files::lock_file(&lock_path, false).map_err(|source| Error::Io {
                path: lock_path,
                source,
            })?;
        let state = read_state(dir)
            .filter(|s| s.url == url)
            .unwrap_or_else(|| State {
                url: url.to_string(),
                ..State::default()
            });
        let mut remote = Remote {
            store,
            url: url.to_string(),
            dir: dir.to_path_buf(),
            state,
            lock,
            uploaded: BTreeMap::new(),
            keeps_open: false,
            fetch,
        };
        if remote.syncs() {
            remote.pull().await?;
        } else {
            tracing::info!(dir = %dir.display(), "another process keeps this working copy in sync");
        }
        Ok(remote)
    }

    /// The working copy: the data directory the commands work on.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The object of each file of the working copy as synced (by its path
    /// here): `s3://bucket/prefix/key`, for a cluster to read.
    pub fn addresses(&self) -> BTreeMap<PathBuf, String> {
        let base = self.url.trim_end_matches('/');
        self.state
            .files
            .iter()
            .map(|(rel, synced)| (self.dir.join(rel), format!("{base}/{}", synced.key)))
            .collect()
    }

    /// The commit the working copy holds.
    pub fn version(&self) -> u64 {
        self.state.version
    }

    /// Whether this process pulls and pushes the working copy.
    pub fn syncs(&self) -> bool {
        self.lock.is_some()
    }

    fn fail(&self) -> impl Fn(object_store::Error) -> Error + '_ {
        |source| Error::Store {
            url: self.url.clone(),
            source,
        }
    }

    /// The latest commit in the store, if any.
    async fn latest(&self) -> Result<Option<Commit>> {
        let prefix = Key::from("commits");
        let mut newest: Option<Key> = None;
        let mut listed = self.store.list(Some(&prefix));
        while let Some(meta) = listed.try_next().await.map_err(self.fail())? {
            if version_of(&meta.location).is_some()
                && newest.as_ref().is_none_or(|n| meta.location > *n)
            {
                newest = Some(meta.location);
            }
        }
        let Some(key) = newest else {
            return Ok(None);
        };
        let version = version_of(&key).unwrap_or_default();
        let bytes = self.bytes(key.as_ref()).await?;
        let damaged = |message: String| Error::Damaged {
            url: self.url.clone(),
            version,
            message,
        };
        let commit: Commit = serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
        if let Some(rel) = commit.files.keys().find(|rel| !committable(rel)) {
            return Err(damaged(format!(
                "it names '{rel}', which is not a file of a data directory"
            )));
        }
        Ok(Some(commit))
    }

    /// Brings the working copy to the latest commit: downloads what
    /// differs, removes what the commit lacks (changes of a command that
    /// did not commit). A commit whose objects a writer removed meanwhile
    /// (a newer commit replaced them) is retried from the newest.
    pub async fn pull(&mut self) -> Result<()> {
        let mut attempt = 0;
        loop {
            let commit = self.latest().await?.unwrap_or_default();
            match self.checkout(&commit).await {
                Err(Error::Store {
                    source: object_store::Error::NotFound { .. },
                    ..
                }) if attempt < 3 => attempt += 1,
                result => return result,
            }
        }
    }

    async fn checkout(&mut self, commit: &Commit) -> Result<()> {
        let dir = self.dir.clone();
        let local = walk(&dir)?;
        let mut files = BTreeMap::new();
        let mut fetch = Vec::new();
        for (rel, object) in &commit.files {
            let current = self.state.files.get(rel);
            let unchanged = local
                .get(rel)
                .zip(current)
                .is_some_and(|(stat, synced)| synced.key == object.key && synced.is(*stat));
            if unchanged {
                files.insert(rel.clone(), current.cloned().expect("known"));
            } else if self.fetch == Fetch::WithoutEvents
                && rel.starts_with("events/")
                && !local.contains_key(rel)
            {
                let left = Synced {
                    key: object.key.clone(),
                    size: object.size,
                    modified: NOT_HERE,
                };
                files.insert(rel.clone(), left);
            } else {
                fetch.push((rel.clone(), object.key.clone(), object.size));
            }
        }
        let fetched: Vec<(String, Synced)> = futures::stream::iter(fetch)
            .map(|(rel, key, size)| self.download(rel, key, Some(size)))
            .buffer_unordered(PARALLEL)
            .try_collect()
            .await?;
        files.extend(fetched);
        for rel in local.keys().filter(|rel| !commit.files.contains_key(*rel)) {
            let path = dir.join(rel);
            tracing::info!(path = %path.display(), "removing what no commit holds");
            std::fs::remove_file(&path).map_err(|source| Error::Io { path, source })?;
        }
        // Derived files: whatever the store has that this copy lacks.
        let local_derived = walk_derived(&dir)?;
        let mut derived = BTreeMap::new();
        let mut fetch = Vec::new();
        let mut listed = self.store.list(Some(&Key::from("derived")));
        while let Some(meta) = listed.try_next().await.map_err(self.fail())? {
            let rel = meta.location.to_string();
            if is_temporary(&rel) {
                continue;
            }
            match local_derived.get(&rel) {
                Some(stat) if stat.size == meta.size => {
                    derived.insert(rel.clone(), synced(&rel, *stat));
                }
                _ => fetch.push((rel.clone(), rel, None)),
            }
        }
        let fetched: Vec<(String, Synced)> = futures::stream::iter(fetch)
            .map(|(rel, key, size)| self.download(rel, key, size))
            .buffer_unordered(PARALLEL)
            .filter_map(|r| async move {
                match r {
                    // Pruned by another process meanwhile: a cache.
                    Err(Error::Store {
                        source: object_store::Error::NotFound { .. },
                        ..
                    }) => None,
                    r => Some(r),
                }
            })
            .try_collect()
            .await?;
        derived.extend(fetched);
        self.state.version = commit.version;
        self.state.files = files;
        self.state.derived = derived;
        self.save_state()
    }

    /// Downloads `key` into the working copy at `rel`, through a
    /// temporary file; checks the size the commit recorded.
    async fn download(
        &self,
        rel: String,
        key: String,
        size: Option<u64>,
    ) -> Result<(String, Synced)> {
        use tokio::io::AsyncWriteExt;
        let path = self.dir.join(&rel);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(io(parent))?;
        }
        let tmp = temporary(&path);
        let result = self.store.get(&Key::from(key.as_str())).await;
        let mut stream = result.map_err(self.fail())?.into_stream();
        let mut file = tokio::fs::File::create(&tmp).await.map_err(io(&tmp))?;
        let mut written = 0u64;
        while let Some(chunk) = stream.try_next().await.map_err(self.fail())? {
            written += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(io(&tmp))?;
        }
        file.sync_all().await.map_err(io(&tmp))?;
        drop(file);
        if let Some(size) = size
            && size != written
        {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(Error::Damaged {
                url: self.url.clone(),
                version: self.state.version,
                message: format!("{key} holds {written} bytes, the commit says {size}"),
            });
        }
        tokio::fs::rename(&tmp, &path).await.map_err(io(&path))?;
        let stat = stat(&path)?;
        Ok((
            rel,
            Synced {
                key,
                size: stat.size,
                modified: stat.modified,
            },
        ))
    }

    /// Whether the store has an object at `key`.
    async fn exists(&self, key: &str) -> Result<bool> {
        match self.store.head(&Key::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(source) => Err(Error::Store {
                url: self.url.clone(),
                source,
            }),
        }
    }

    /// Uploads a local file to `key`, in parts when large.
    async fn upload(&self, rel: String, key: String) -> Result<()> {
        use tokio::io::AsyncWriteExt;
        let path = self.dir.join(&rel);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let mut file = tokio::fs::File::open(&path).await.map_err(io)?;
        let mut writer =
            object_store::buffered::BufWriter::new(self.store.clone(), Key::from(key.as_str()));
        let copied = tokio::io::copy(&mut file, &mut writer).await;
        if let Err(e) = copied {
            let _ = writer.abort().await;
            return Err(io(e));
        }
        writer.shutdown().await.map_err(|e| Error::Io {
            path: PathBuf::from(format!("{}/{key}", self.url)),
            source: e,
        })
    }

    /// With `commit`, commits the working copy when it differs from the
    /// commit it holds; adds and removes derived files in any case.
    /// Returns the new commit's number when it made one.
    ///
    /// When another writer committed first, the files only it changed are
    /// taken into the working copy and the commit is tried again on top
    /// (lines appended to the same log by both are kept from both, see
    /// `APPENDED`). When both changed the same file, or the manifest
    /// under a process that keeps the store open ([`Remote::keep_open`]),
    /// it fails with [`Error::Conflict`] and nothing is committed.
    ///
    /// With `collect`, removes objects no commit needs (see [`GRACE`]).
    pub async fn push(&mut self, commit: bool, collect: bool) -> Result<Option<u64>> {
        if !self.syncs() {
            return Ok(None);
        }
        let mut committed = None;
        if commit {
            let started = std::time::Instant::now();
            let result = self.commit().await;
            let m = crate::metrics::metrics();
            let outcome = match &result {
                Ok(Some(_)) => "committed",
                Ok(None) => "unchanged",
                Err(Error::Conflict { .. }) => "conflict",
                Err(_) => "failed",
            };
            crate::metrics::Metrics::count(&m.commits, outcome);
            m.commit_seconds.observe(started.elapsed().as_secs_f64());
            committed = result?;
        }
        self.push_derived().await?;
        self.save_state()?;
        if collect {
            self.collect_garbage(GRACE).await?;
        }
        Ok(committed)
    }

    /// Commits, on top of other writers' commits where they changed other
    /// files.
    async fn commit(&mut self) -> Result<Option<u64>> {
        let mut refused = 0;
        loop {
            match self.try_commit().await? {
                Some(version) => return Ok(version),
                None => {
                    refused += 1;
                    self.rebase(refused).await?;
                }
            }
        }
    }

    /// Marks the store as held open by this process (`serve`): a manifest
    /// committed by another writer cannot be taken in under it.
    pub fn keep_open(&mut self) {
        self.keeps_open = true;
    }

    /// One try: `Some(None)` when nothing changed, `Some(Some(n))` when it
    /// committed `n`, `None` when another writer committed first.
    async fn try_commit(&mut self) -> Result<Option<Option<u64>>> {
        let local = walk(&self.dir)?;
        let next = self.state.version + 1;
        // Objects of this push that another writer may also write for its
        // commit `next` go under a folder of their own.
        let folder = format!("at/{next}-{:016x}", rand::random::<u64>());
        // New files named once go at their own path unless an object is
        // there already (asked all at once).
        let new_names: Vec<String> = local
            .keys()
            .filter(|rel| !self.state.files.contains_key(*rel) && named_once(rel))
            .cloned()
            .collect();
        let this = &*self;
        let taken: std::collections::HashSet<String> = futures::stream::iter(new_names)
            .map(|rel| async move { Ok::<_, Error>((this.exists(&rel).await?, rel)) })
            .buffer_unordered(PARALLEL)
            .try_filter_map(|(exists, rel)| async move { Ok(exists.then_some(rel)) })
            .try_collect()
            .await?;
        let mut files = BTreeMap::new();
        let mut uploads = Vec::new();
        for (rel, stat) in &local {
            let current = self.state.files.get(rel);
            let synced = match (current, self.uploaded.get(rel)) {
                (Some(s), _) if s.is(*stat) => s.clone(),
                // Uploaded by a try that another writer beat.
                (_, Some(u)) if u.is(*stat) => u.clone(),
                _ => {
                    let key = if current.is_none() && named_once(rel) && !taken.contains(rel) {
                        rel.clone()
                    } else {
                        format!("{folder}/{rel}")
                    };
                    uploads.push((rel.clone(), key.clone()));
                    synced_as(key, *stat)
                }
            };
            files.insert(rel.clone(), synced);
        }
        // Files this copy did not download stay as committed.
        for (rel, synced) in &self.state.files {
            if synced.modified == NOT_HERE && !local.contains_key(rel) {
                files.insert(rel.clone(), synced.clone());
            }
        }
        let same = files.len() == self.state.files.len()
            && files
                .iter()
                .all(|(rel, s)| self.state.files.get(rel) == Some(s));
        if same {
            return Ok(Some(None));
        }
        futures::stream::iter(uploads.clone())
            .map(|(rel, key)| self.upload(rel, key))
            .buffer_unordered(PARALLEL)
            .try_collect::<Vec<()>>()
            .await?;
        for (rel, _) in &uploads {
            self.uploaded.insert(rel.clone(), files[rel].clone());
        }
        let commit = Commit {
            version: next,
            written_at: chrono::Utc::now().to_rfc3339(),
            files: files
                .iter()
                .map(|(rel, s)| {
                    let object = Object {
                        key: s.key.clone(),
                        size: s.size,
                    };
                    (rel.clone(), object)
                })
                .collect(),
        };
        let bytes = serde_json::to_vec(&commit).map_err(|e| Error::Damaged {
            url: self.url.clone(),
            version: next,
            message: e.to_string(),
        })?;
        let put = self
            .store
            .put_opts(
                &commit_key(next),
                PutPayload::from(bytes),
                PutOptions::from(PutMode::Create),
            )
            .await;
        match put {
            Ok(_) => {}
            Err(object_store::Error::AlreadyExists { .. }) => return Ok(None),
            Err(source) => {
                return Err(Error::Store {
                    url: self.url.clone(),
                    source,
                });
            }
        }
        tracing::info!(url = %self.url, version = next, files = uploads.len(), "committed");
        self.state.version = next;
        self.state.files = files;
        self.uploaded.clear();
        Ok(Some(Some(next)))
    }

    /// After a refused commit: takes into the working copy what the newest
    /// commit changed and this copy did not; fails with
    /// [`Error::Conflict`] when both changed a file (appended logs
    /// excepted), or after [`REBASES`] refusals in a row.
    async fn rebase(&mut self, refused: usize) -> Result<()> {
        let local = walk(&self.dir)?;
        let theirs = self.latest().await?.unwrap_or_default();
        let base = &self.state.files;
        let mut both = Vec::new();
        let mut take = Vec::new();
        let mut drop = Vec::new();
        let mut append = Vec::new();
        let mut take_same = Vec::new();
        let rels: std::collections::BTreeSet<&String> = base
            .keys()
            .chain(theirs.files.keys())
            .chain(local.keys())
            .collect();
        for rel in rels {
            let synced = base.get(rel);
            let ours = match (synced, local.get(rel)) {
                (Some(s), Some(stat)) => !s.is(*stat),
                (None, None) => false,
                // Not downloaded: as committed.
                (Some(s), None) if s.modified == NOT_HERE => false,
                _ => true,
            };
            let their = match (synced, theirs.files.get(rel)) {
                (Some(s), Some(object)) => s.key != object.key,
                (None, None) => false,
                _ => true,
            };
            match (ours, their, theirs.files.get(rel)) {
                (_, false, _) => {}
                (false, true, Some(object)) => take.push((rel.clone(), object.clone())),
                (false, true, None) => drop.push(rel.clone()),
                (true, true, Some(object))
                    if APPENDED.contains(&rel.as_str())
                        && local.get(rel).is_some_and(|stat| {
                            let since = synced.map_or(0, |s| s.size);
                            since <= stat.size && since <= object.size
                        }) =>
                {
                    append.push((rel.clone(), object.clone()));
                }
                (true, true, Some(object))
                    if local.get(rel).is_some_and(|stat| stat.size == object.size)
                        && object.size <= SMALL
                        && self.same_content(rel, object).await? =>
                {
                    // Both wrote the same bytes: theirs.
                    let stat = local[rel];
                    let entry = synced_as(object.key.clone(), stat);
                    take_same.push((rel.clone(), entry));
                }
                (true, true, _) => both.push(rel.clone()),
            }
        }
        self.state.files.extend(take_same);
        if self.keeps_open && take.iter().any(|(rel, _)| rel == manifest::FILE_NAME) {
            both.push(manifest::FILE_NAME.to_string());
        }
        if !both.is_empty() || refused > REBASES {
            return Err(Error::Conflict {
                url: self.url.clone(),
                ours: self.state.version,
                theirs: theirs.version,
                files: both,
            });
        }
        tracing::info!(
            url = %self.url,
            theirs = theirs.version,
            taken = take.len() + drop.len(),
            "another writer committed first; committing on top of its commit"
        );
        let taken: Vec<(String, Synced)> = futures::stream::iter(take)
            .map(|(rel, object)| self.download(rel, object.key, Some(object.size)))
            .buffer_unordered(PARALLEL)
            .try_collect()
            .await?;
        self.state.files.extend(taken);
        for rel in drop {
            let path = self.dir.join(&rel);
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::Io { path, source: e });
                }
                _ => {}
            }
            self.state.files.remove(&rel);
        }
        for (rel, object) in append {
            self.merge_appended(&rel, &object).await?;
        }
        self.state.version = theirs.version;
        self.save_state()
    }

    /// The content of the object at `key`.
    async fn bytes(&self, key: &str) -> Result<bytes::Bytes> {
        let got = self.store.get(&Key::from(key)).await.map_err(self.fail())?;
        got.bytes().await.map_err(self.fail())
    }

    /// Whether the local file `rel` holds the bytes of `object`.
    async fn same_content(&self, rel: &str, object: &Object) -> Result<bool> {
        let path = self.dir.join(rel);
        let ours = std::fs::read(&path).map_err(|source| Error::Io { path, source })?;
        let theirs = self.bytes(&object.key).await?;
        Ok(ours == theirs.as_ref())
    }

    /// The log `rel` as the other writer committed it, followed by the
    /// lines this copy appended since the commit it read.
    async fn merge_appended(&mut self, rel: &str, object: &Object) -> Result<()> {
        let path = self.dir.join(rel);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let since = self.state.files.get(rel).map_or(0, |s| s.size) as usize;
        let ours = std::fs::read(&path).map_err(io)?;
        let theirs = self.bytes(&object.key).await?;
        let mut merged = theirs.to_vec();
        merged.extend_from_slice(ours.get(since..).unwrap_or_default());
        crate::store::files::write_atomically(&path, &merged).map_err(|e| Error::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        // Based on theirs now; the merged file differs and is uploaded.
        let entry = Synced {
            key: object.key.clone(),
            size: object.size,
            modified: 0,
        };
        self.state.files.insert(rel.to_string(), entry);
        Ok(())
    }

    /// Adds this copy's new derived files to the store (a name is written
    /// once: its content is fixed by its name) and removes those this copy
    /// removed since it synced.
    async fn push_derived(&mut self) -> Result<()> {
        let local = walk_derived(&self.dir)?;
        let new: Vec<(String, Stat)> = local
            .iter()
            .filter(|(rel, _)| !self.state.derived.contains_key(*rel))
            .map(|(rel, stat)| (rel.clone(), *stat))
            .collect();
        let this = &*self;
        let added: Vec<(String, Synced)> = futures::stream::iter(new)
            .map(|(rel, stat)| async move {
                this.upload(rel.clone(), rel.clone()).await?;
                Ok::<_, Error>((rel.clone(), synced(&rel, stat)))
            })
            .buffer_unordered(PARALLEL)
            .try_collect()
            .await?;
        let gone: Vec<String> = self
            .state
            .derived
            .keys()
            .filter(|rel| !local.contains_key(*rel))
            .cloned()
            .collect();
        for rel in gone {
            match self.store.delete(&Key::from(rel.as_str())).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => {
                    return Err(Error::Store {
                        url: self.url.clone(),
                        source,
                    });
                }
            }
            self.state.derived.remove(&rel);
        }
        self.state.derived.extend(added);
        Ok(())
    }

    /// Removes objects the latest commit does not name (those older than
    /// `grace`; [`GRACE`] unless a test says otherwise) and commit files
    /// beyond the newest `COMMITS_KEPT`. Returns how many it removed.
    pub async fn collect_garbage(&self, grace: Duration) -> Result<usize> {
        let named: std::collections::HashSet<&str> =
            self.state.files.values().map(|s| s.key.as_str()).collect();
        let now = chrono::Utc::now();
        let mut remove = Vec::new();
        let mut commits = Vec::new();
        let mut listed = self.store.list(None);
        while let Some(meta) = listed.try_next().await.map_err(self.fail())? {
            let key = meta.location.to_string();
            if version_of(&meta.location).is_some() {
                commits.push(meta.location);
                continue;
            }
            let old = now
                .signed_duration_since(meta.last_modified)
                .to_std()
                .is_ok_and(|age| age >= grace);
            if key.starts_with("derived/") || named.contains(key.as_str()) || !old {
                continue;
            }
            remove.push(meta.location);
        }
        commits.sort();
        let keep_from = commits.len().saturating_sub(COMMITS_KEPT + 1);
        remove.extend(
            commits
                .drain(..keep_from)
                .filter(|k| version_of(k).is_some_and(|v| v < self.state.version)),
        );
        let removed = remove.len();
        for key in remove {
            tracing::info!(object = %key, "removing an object no commit names");
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(source) => {
                    return Err(Error::Store {
                        url: self.url.clone(),
                        source,
                    });
                }
            }
        }
        Ok(removed)
    }

    fn save_state(&self) -> Result<()> {
        let path = self.dir.join(STATE);
        let bytes = serde_json::to_vec(&self.state).map_err(|e| Error::Io {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        crate::store::files::write_atomically(&path, &bytes).map_err(|e| Error::Io {
            path,
            source: std::io::Error::other(e.to_string()),
        })
    }
}

fn read_state(dir: &Path) -> Option<State> {
    let bytes = std::fs::read(dir.join(STATE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn commit_key(version: u64) -> Key {
    Key::from(format!("commits/{version:020}.json"))
}

/// The number of a commit file's key.
fn version_of(key: &Key) -> Option<u64> {
    let name = key.as_ref().strip_prefix("commits/")?;
    name.strip_suffix(".json")?.parse().ok()
}

/// Files whose name is never given to other content: stored at their own
/// path. The others get a key per commit that writes them.
fn named_once(rel: &str) -> bool {
    ["events/", "rollup/", "seen/"]
        .iter()
        .any(|dir| rel.starts_with(dir))
}

/// Whether a commit may name `rel`: a relative path inside the data
/// directory, of a file that is committed (not local only, not derived,
/// not temporary). A commit naming anything else is damaged, whoever
/// wrote it: nothing outside the working copy is ever written.
fn committable(rel: &str) -> bool {
    let parts_ok = !rel.is_empty()
        && !rel.contains('\\')
        && rel
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..");
    parts_ok && !outside_commits(rel) && !is_temporary(rel)
}

/// Whether `rel` is kept out of commits: derived files (synced on their
/// own) and what stays on this machine.
fn outside_commits(rel: &str) -> bool {
    let top = rel.split('/').next().unwrap_or(rel);
    top == "derived" || LOCAL_ONLY.contains(&top) || rel == "reports/lock"
}

fn is_temporary(rel: &str) -> bool {
    rel.ends_with(".tmp")
        || rel
            .rsplit('/')
            .next()
            .is_some_and(|name| name.starts_with('.'))
}

fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.pull.tmp", std::process::id()));
    path.with_file_name(name)
}

fn stat(path: &Path) -> Result<Stat> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    Ok(Stat {
        size: meta.len(),
        modified,
    })
}

fn synced(rel: &str, stat: Stat) -> Synced {
    synced_as(rel.to_string(), stat)
}

fn synced_as(key: String, stat: Stat) -> Synced {
    Synced {
        key,
        size: stat.size,
        modified: stat.modified,
    }
}

/// The files of the working copy that commits hold: all but `derived/`,
/// what stays local and temporary files; by path relative to `dir`, with
/// `/` between parts.
fn walk(dir: &Path) -> Result<BTreeMap<String, Stat>> {
    let mut out = BTreeMap::new();
    walk_into(dir, "", &mut out, &outside_commits)?;
    Ok(out)
}

/// The derived files of the working copy.
fn walk_derived(dir: &Path) -> Result<BTreeMap<String, Stat>> {
    let mut out = BTreeMap::new();
    walk_into(&dir.join("derived"), "derived/", &mut out, &|_| false)?;
    Ok(out)
}

fn walk_into(
    dir: &Path,
    prefix: &str,
    out: &mut BTreeMap<String, Stat>,
    skip: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let rel = format!("{prefix}{name}");
        if skip(&rel) || is_temporary(&rel) {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        if kind.is_dir() {
            walk_into(&path, &format!("{rel}/"), out, skip)?;
        } else if kind.is_file() {
            match stat(&path) {
                Ok(s) => {
                    out.insert(rel, s);
                }
                // Removed meanwhile (a temporary file renamed into place).
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_local_paths_or_s3_addresses() {
        assert_eq!(
            Location::parse("data").expect("local"),
            Location::Local(PathBuf::from("data"))
        );
        assert_eq!(
            Location::parse("s3://uptake-data/acme/prod/").expect("s3"),
            Location::S3 {
                url: "s3://uptake-data/acme/prod".into(),
                bucket: "uptake-data".into(),
                prefix: "acme/prod".into(),
            }
        );
        let err = Location::parse("gs://bucket/x").expect_err("gs");
        assert!(err.contains("gs:// is not supported"), "{err}");
        let err = Location::parse("s3://Bad_Bucket/x").expect_err("bucket");
        assert!(err.contains("not an S3 bucket name"), "{err}");
        let err = Location::parse("s3://bucket/a//b").expect_err("empty part");
        assert!(err.contains("empty or '..' part"), "{err}");
        let err = Location::parse("s3://bucket/a/../b").expect_err("dots");
        assert!(err.contains("empty or '..' part"), "{err}");
    }

    #[test]
    fn files_whose_name_is_reused_get_a_key_per_commit() {
        assert!(named_once("events/date=2026-03-02/a.parquet"));
        assert!(named_once("rollup/user_week-2026-W10-abc.parquet"));
        assert!(!named_once("manifest.json"));
        assert!(!named_once("tables/directory.parquet"));
        assert_eq!(
            version_of(&commit_key(7)),
            Some(7),
            "{}",
            commit_key(7).as_ref()
        );
        assert_eq!(version_of(&Key::from("commits/x.json")), None);
    }

    #[test]
    fn a_commit_names_only_files_inside_the_data_directory() {
        for rel in [
            "manifest.json",
            "events/date=2026-03-02/a.parquet",
            "reports/runs.jsonl",
        ] {
            assert!(committable(rel), "{rel}");
        }
        for rel in [
            "",
            "../outside",
            "events/../../outside",
            "/etc/passwd",
            "events//a.parquet",
            "./manifest.json",
            "wal/00000000000000000001.wal",
            ".remote.json",
            "sync.lock",
            "derived/cube/x.parquet",
            "tables/x.parquet.tmp",
            "a\\b",
        ] {
            assert!(!committable(rel), "{rel}");
        }
    }

    #[test]
    fn what_stays_local_is_never_committed() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        for rel in [
            "manifest.json",
            "tables/directory.parquet",
            "wal/00000000000000000001.wal",
            "demo/manifest.json",
            "writer.lock",
            "sync.lock",
            ".remote.json",
            "reports/lock",
            "reports/runs.jsonl",
            "tables/directory.parquet.tmp",
            "reports/out/.a.pdf.tmp",
            "derived/cube/x.parquet",
        ] {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
            std::fs::write(&path, b"x").expect("write");
        }
        let files: Vec<String> = walk(root).expect("walk").into_keys().collect();
        assert_eq!(
            files,
            [
                "manifest.json",
                "reports/runs.jsonl",
                "tables/directory.parquet"
            ]
        );
        let derived: Vec<String> = walk_derived(root).expect("walk").into_keys().collect();
        assert_eq!(derived, ["derived/cube/x.parquet"]);
    }
}
