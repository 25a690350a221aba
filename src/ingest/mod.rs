//! Live ingestion: batches of events posted over HTTP are made durable in a
//! write-ahead log before they are acknowledged, then flushed into the
//! Parquet store in the background.
//!
//! ```text
//! handler ──parse, encode──▶ queue ──▶ log writer thread ──fsync──▶ ack
//!                                          │ (batches wait in memory)
//! flusher (every ingest.flush_milliseconds) ◀─ rotate: the sealed batches
//!   └─▶ partition files + rollup + keys ─▶ manifest (commit) ─▶ delete log
//!       then: the server shows the commit; small files are merged
//! ```
//!
//! One thread appends to the log, so that concurrent batches share one
//! fsync (group commit) and an `Idempotency-Key` is checked and taken in
//! one place. The manifest records the last log segment in the store
//! (`wal_flushed`): a crash after the commit but before the log segments
//! are deleted does not replay them again. Keys move from log records to
//! `wal/keys.jsonl` before the commit, so a retried batch counts once also
//! across restarts.
//!
//! Memory stays bounded: at most [`PARSING`] batches are parsed and logged
//! at once (a request waits for its turn at most [`ADMISSION_WAIT`], then
//! gets 503), and no batch is taken while `ingest.max_pending_events`
//! acknowledged events wait for the store (429), so at most that many plus
//! [`PARSING`] batches are held.

pub mod flusher;
pub mod keys;
pub mod wal;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datafusion::arrow::record_batch::RecordBatch;

use crate::config::Settings;
use crate::store::rollup::Rollup;
use crate::store::{Store, quarantine};
use keys::{KeyLog, Seen};

/// Batches waiting for the log writer; beyond it a request gets 503 (only
/// [`PARSING`] requests submit at once, so it is a safety net).
const QUEUE: usize = 2 * PARSING;
/// Batches parsed at the same time; a request waits for its turn at most
/// [`ADMISSION_WAIT`].
pub const PARSING: usize = 8;
pub const ADMISSION_WAIT: Duration = Duration::from_secs(2);

/// A stored batch: newly, or before under the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stored { events: u64 },
    Replayed { events: u64 },
}

/// Why a batch was not stored.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    #[error("this Idempotency-Key was used before for a different body")]
    KeyConflict,
    #[error("{0} acknowledged events are waiting to be written to the store; retry in a moment")]
    Behind(u64),
    #[error("too many batches are waiting to be logged; retry in a moment")]
    Busy,
    #[error("the disk of the data directory has only {0} MB free")]
    DiskFull(u64),
    #[error("the batch could not be made durable: {0}")]
    Failed(String),
}

impl Refusal {
    /// Seconds a client should wait before retrying, if retrying helps.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Refusal::Behind(_) | Refusal::Busy => Some(1),
            Refusal::DiskFull(_) => Some(60),
            Refusal::Failed(_) => Some(5),
            Refusal::KeyConflict => None,
        }
    }
}

struct Append {
    framed: Vec<u8>,
    key: Option<String>,
    digest: [u8; 32],
    batch: RecordBatch,
    reply: tokio::sync::oneshot::Sender<Result<Outcome, Refusal>>,
}

enum Msg {
    Append(Append),
    /// Start a new log segment and hand over the batches of the old ones.
    Rotate(std::sync::mpsc::Sender<crate::store::Result<Sealed>>),
}

/// Acknowledged batches of the log segments up to `seq`.
#[derive(Default)]
struct Sealed {
    seq: u64,
    batches: Vec<RecordBatch>,
    keys: Vec<(String, Seen)>,
    events: u64,
}

impl Sealed {
    fn absorb(&mut self, newer: Sealed) {
        self.seq = self.seq.max(newer.seq);
        self.batches.extend(newer.batches);
        self.keys.extend(newer.keys);
        self.events += newer.events;
    }
}

/// What `/health` and `uptake check` report about ingestion.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Status {
    /// Acknowledged events not yet in the Parquet store.
    pub pending_events: u64,
    pub accepted_events: u64,
    pub last_flush: Option<String>,
    pub last_flush_events: u64,
    pub last_flush_millis: u64,
    pub last_error: Option<String>,
    /// What start-up found in the log: replayed batches, cut records.
    pub recovered_batches: u64,
    pub recovered_events: u64,
}

/// The store side: only the flusher touches it.
struct Writing {
    store: Store,
    rollup: Rollup,
    keys: KeyLog,
    /// Batches of a flush that failed, tried again with the next.
    carry: Option<Sealed>,
}

/// The ingestion service of one data directory.
pub struct Ingest {
    root: PathBuf,
    settings: Settings,
    queue: SyncSender<Msg>,
    pending: Arc<AtomicU64>,
    writing: Mutex<Writing>,
    status: Mutex<Status>,
    free_disk: Mutex<Option<(Instant, u64)>>,
    pub parsing: tokio::sync::Semaphore,
    /// Makes a flush durable beyond this machine (commits the working copy
    /// of a data directory in object storage, [`crate::store::remote`]);
    /// log segments are removed only once it succeeded.
    on_commit: Option<CommitHook>,
    /// Set by [`Ingest::keeping_log`].
    keep_log: bool,
    /// Watched files left out, as they were then ([`Ingest::watch`]).
    ignored: Mutex<std::collections::HashSet<crate::store::lake::Found>>,
}

/// What [`Ingest::with_commit`] runs after each flush.
pub type CommitHook = Box<dyn Fn() -> crate::store::Result<()> + Send + Sync>;

fn now_seconds() -> i64 {
    chrono::Utc::now().timestamp()
}

fn keep_seconds(settings: &Settings) -> i64 {
    i64::from(settings.ingest.idempotency_days) * 86_400
}

impl Ingest {
    /// Takes over the store: replays the log segments not yet in it,
    /// quarantining damaged ones, and starts the log writer thread.
    pub fn open(store: Store, settings: &Settings) -> crate::store::Result<Ingest> {
        let root = store.root().to_path_buf();
        let dir = root.join("wal");
        let flushed = store.manifest().wal_flushed;
        let (key_log, loaded) = KeyLog::open(&dir, now_seconds(), keep_seconds(settings))?;
        if !loaded.damaged_lines.is_empty() {
            quarantine::quarantine(
                &root,
                key_log.path(),
                &format!(
                    "unreadable lines {:?} were skipped; their keys are forgotten",
                    loaded.damaged_lines
                ),
                true,
            )?;
        }
        let mut known = loaded.keys;
        let mut replayed = Sealed::default();
        let segments = wal::segments(&dir)?;
        let last = segments.last().map(|s| s.0);
        let mut next_seq = flushed;
        for (seq, path) in segments {
            next_seq = next_seq.max(seq);
            if seq <= flushed {
                std::fs::remove_file(&path).map_err(|source| crate::store::Error::Io {
                    path: path.clone(),
                    source,
                })?;
                continue;
            }
            let segment = wal::read(&path)?;
            if segment.records.is_empty() && segment.damage.is_none() {
                // Started after the last flush and never written to.
                let _ = std::fs::remove_file(&path);
                continue;
            }
            if let Some(damage) = &segment.damage {
                if segment.cut_tail && Some(seq) == last {
                    tracing::warn!(
                        file = %path.display(),
                        damage,
                        "dropping a log record cut off by a crash (it was never acknowledged)"
                    );
                    wal::truncate(&path, segment.intact)?;
                } else {
                    quarantine::quarantine(
                        &root,
                        &path,
                        &format!(
                            "{damage}; {} bytes skipped, {} intact batches kept",
                            segment.damaged_bytes,
                            segment.records.len()
                        ),
                        true,
                    )?;
                    // Keep only the intact records, so that a second start
                    // does not report the same damage again.
                    let mut intact = Vec::new();
                    for r in &segment.records {
                        intact.extend(wal::encode(r.key.as_deref(), &r.digest, &r.batch)?);
                    }
                    crate::store::files::write_atomically(&path, &intact)?;
                }
            }
            let at = now_seconds();
            for record in segment.records {
                let events = record.batch.num_rows() as u64;
                if let Some(key) = record.key {
                    let seen = Seen {
                        digest: record.digest,
                        events,
                        at,
                    };
                    known.insert(key.clone(), seen);
                    replayed.keys.push((key, seen));
                }
                replayed.batches.push(record.batch);
                replayed.events += events;
            }
        }
        if replayed.events > 0 || !replayed.batches.is_empty() {
            tracing::info!(
                batches = replayed.batches.len(),
                events = replayed.events,
                "replayed acknowledged batches from the write-ahead log"
            );
        }
        let rollup = match store.rollup_files() {
            Some(files) => Rollup::load(&files)?,
            None => Rollup::default(),
        };
        let writer = wal::Writer::create(&dir, next_seq + 1)?;
        let pending = Arc::new(AtomicU64::new(replayed.events));
        let status = Status {
            pending_events: replayed.events,
            recovered_batches: replayed.batches.len() as u64,
            recovered_events: replayed.events,
            ..Status::default()
        };
        let (queue, receiver) = std::sync::mpsc::sync_channel(QUEUE);
        let log = LogWriter {
            dir,
            wal: writer,
            known,
            sealed: replayed,
            pending: Arc::clone(&pending),
            keep_seconds: keep_seconds(settings),
            pruned: Instant::now(),
        };
        std::thread::Builder::new()
            .name("uptake-wal".into())
            .spawn(move || log.run(receiver))
            .map_err(|source| crate::store::Error::Io {
                path: root.join("wal"),
                source,
            })?;
        Ok(Ingest {
            root,
            settings: settings.clone(),
            queue,
            pending,
            writing: Mutex::new(Writing {
                store,
                rollup,
                keys: key_log,
                carry: None,
            }),
            status: Mutex::new(status),
            free_disk: Mutex::new(None),
            parsing: tokio::sync::Semaphore::new(PARSING),
            on_commit: None,
            keep_log: false,
            ignored: Mutex::default(),
        })
    }

    /// Runs `hook` after each flush, before the log segments it stored are
    /// removed: when it fails, they stay, and are replayed by the next
    /// start unless a later flush's hook succeeds.
    pub fn with_commit(mut self, hook: CommitHook) -> Ingest {
        self.on_commit = Some(hook);
        self
    }

    /// Keeps the log segments a flush stored, for a caller that makes the
    /// flush durable afterwards (a command committing its working copy to
    /// an object store at its end); the next open removes those the
    /// stored manifest covers.
    pub fn keeping_log(mut self) -> Ingest {
        self.keep_log = true;
        self
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Refuses new batches while the store is behind or the disk is short.
    pub fn admit(&self) -> Result<(), Refusal> {
        let pending = self.pending.load(Ordering::Relaxed);
        if pending >= self.settings.ingest.max_pending_events {
            return Err(Refusal::Behind(pending));
        }
        let free = {
            let mut cached = self.free_disk.lock().unwrap_or_else(|p| p.into_inner());
            match *cached {
                Some((at, free)) if at.elapsed() < Duration::from_secs(1) => free,
                _ => {
                    let free = free_bytes(&self.root).unwrap_or(u64::MAX);
                    *cached = Some((Instant::now(), free));
                    free
                }
            }
        };
        if free / (1024 * 1024) < self.settings.ingest.min_free_disk_mb {
            return Err(Refusal::DiskFull(free / (1024 * 1024)));
        }
        Ok(())
    }

    /// Logs a parsed batch and waits until it is durable.
    pub async fn submit(
        &self,
        key: Option<String>,
        digest: [u8; 32],
        batch: RecordBatch,
    ) -> Result<Outcome, Refusal> {
        let framed = wal::encode(key.as_deref(), &digest, &batch)
            .map_err(|e| Refusal::Failed(e.to_string()))?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let append = Append {
            framed,
            key,
            digest,
            batch,
            reply,
        };
        match self.queue.try_send(Msg::Append(append)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(Refusal::Busy),
            Err(TrySendError::Disconnected(_)) => {
                return Err(Refusal::Failed("the log writer stopped".into()));
            }
        }
        let outcome = answer
            .await
            .map_err(|_| Refusal::Failed("the log writer stopped".into()))?;
        if let Ok(Outcome::Stored { events }) = outcome {
            let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
            status.accepted_events += events;
        }
        outcome
    }

    /// Writes the acknowledged batches into the Parquet store. Returns the
    /// store as committed when anything was written. Blocking: call it
    /// off the async threads. A failed flush keeps its batches (they are
    /// still in the log) and tries them again next time.
    pub fn flush(&self) -> crate::store::Result<Option<Store>> {
        let started = Instant::now();
        let mut writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        if self.pending.load(Ordering::Acquire) == 0 && writing.carry.is_none() {
            return Ok(None);
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let stopped = || crate::store::Error::File {
            path: self.root.join("wal"),
            message: "the log writer stopped".into(),
        };
        self.queue.send(Msg::Rotate(tx)).map_err(|_| stopped())?;
        let sealed = rx.recv().map_err(|_| stopped())??;
        let mut batch = writing.carry.take().unwrap_or_default();
        batch.absorb(sealed);
        let Writing {
            store,
            rollup,
            keys,
            carry,
        } = &mut *writing;
        let result = store.append_live(&batch.batches, rollup, &self.settings, batch.seq, || {
            keys.append(&batch.keys)
        });
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(events) => {
                self.pending.fetch_sub(batch.events, Ordering::AcqRel);
                let committed = self.on_commit.as_ref().map_or(Ok(()), |commit| commit());
                match &committed {
                    Ok(()) if self.keep_log => {}
                    Ok(()) => {
                        for (seq, path) in wal::segments(&self.root.join("wal"))? {
                            if seq <= batch.seq {
                                let _ = std::fs::remove_file(path);
                            }
                        }
                    }
                    Err(e) => tracing::error!(
                        error = %e,
                        "the flushed events are stored here but not committed; they stay in the log"
                    ),
                }
                status.last_flush =
                    Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                status.last_flush_events = events;
                status.last_flush_millis = started.elapsed().as_millis() as u64;
                let m = crate::metrics::metrics();
                m.flushes.observe(started.elapsed().as_secs_f64());
                m.flushed_events.inc_by(events);
                status.last_error = committed.err().map(|e| e.to_string());
                tracing::debug!(events, millis = status.last_flush_millis, "flushed");
                Ok(Some(store.clone()))
            }
            Err(e) => {
                tracing::error!(error = %e, "writing acknowledged events to the store failed; retrying");
                status.last_error = Some(e.to_string());
                *carry = Some(batch);
                Err(e)
            }
        }
    }

    /// Registers the event files of `ingest.watch` that appeared since
    /// (see [`Store::register_in_place`]); returns the store as committed
    /// when it registered any. Files left out (refused rows) are named in
    /// the log once and passed over until they change. Blocking, like a
    /// flush.
    pub fn watch(&self) -> crate::store::Result<Option<Store>> {
        let patterns = &self.settings.ingest.watch;
        if patterns.is_empty() {
            return Ok(None);
        }
        let mut writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let mut ignored = self.ignored.lock().unwrap_or_else(|p| p.into_inner());
        let Writing { store, rollup, .. } = &mut *writing;
        let registered =
            store.register_in_place(patterns, &self.settings, true, false, &ignored, rollup);
        let summary = match registered {
            Ok(summary) => summary,
            Err(e) => {
                // The rollup in memory may hold events of files not registered.
                if let Some(files) = store.rollup_files() {
                    *rollup = Rollup::load(&files)?;
                }
                self.status
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .last_error = Some(e.to_string());
                return Err(e);
            }
        };
        for (file, why) in &summary.files_skipped {
            tracing::warn!(file = %file, why = %why, "a watched file is not read in place");
        }
        ignored.extend(summary.left_out);
        if summary.files_imported == 0 {
            return Ok(None);
        }
        tracing::info!(
            files = summary.files_imported,
            events = summary.events,
            "registered watched files read in place"
        );
        let committed = self.on_commit.as_ref().map_or(Ok(()), |commit| commit());
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_error = committed.err().map(|e| e.to_string());
        Ok(Some(store.clone()))
    }

    /// Merges small event files (see [`Store::compact`]); returns the
    /// store as committed when it merged any. Blocking, like a flush.
    pub fn compact(&self) -> crate::store::Result<Option<Store>> {
        let mut writing = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        let merged = writing
            .store
            .compact(self.settings.ingest.compact_files as usize)?;
        Ok((merged > 0).then(|| writing.store.clone()))
    }

    pub fn status(&self) -> Status {
        let mut status = self
            .status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        status.pending_events = self.pending.load(Ordering::Relaxed);
        status
    }
}

/// Free bytes on the file system of `path`: that of the longest mount
/// point containing it.
fn free_bytes(path: &Path) -> Option<u64> {
    let path = path.canonicalize().ok()?;
    let disks = sysinfo::Disks::new_with_refreshed_list();
    disks
        .list()
        .iter()
        .filter(|d| path.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| d.available_space())
}

/// The log writer thread's state.
struct LogWriter {
    dir: PathBuf,
    wal: wal::Writer,
    /// Keys in the store or in the log.
    known: HashMap<String, Seen>,
    /// Acknowledged batches since the last rotation.
    sealed: Sealed,
    pending: Arc<AtomicU64>,
    keep_seconds: i64,
    pruned: Instant,
}

impl LogWriter {
    fn run(mut self, queue: Receiver<Msg>) {
        while let Ok(first) = queue.recv() {
            let mut group = Vec::new();
            let mut next = Some(first);
            while let Some(msg) = next {
                match msg {
                    Msg::Append(a) => group.push(a),
                    Msg::Rotate(reply) => {
                        self.commit(std::mem::take(&mut group));
                        let _ = reply.send(self.rotate());
                    }
                }
                next = if group.len() < QUEUE {
                    queue.try_recv().ok()
                } else {
                    None
                };
            }
            self.commit(group);
            if self.pruned.elapsed() > Duration::from_secs(600) {
                let oldest = now_seconds() - self.keep_seconds;
                self.known.retain(|_, seen| seen.at > oldest);
                self.pruned = Instant::now();
            }
        }
    }

    /// Logs a group of batches with one fsync and answers each.
    fn commit(&mut self, group: Vec<Append>) {
        let at = now_seconds();
        let mut accepted = Vec::with_capacity(group.len());
        // Repeats of a key first sent in this group: answered once the
        // group's write succeeded or failed.
        let mut repeats = Vec::new();
        let mut fresh: std::collections::HashSet<String> = std::collections::HashSet::new();
        for a in group {
            let events = a.batch.num_rows() as u64;
            if let Some(key) = &a.key {
                if let Some(seen) = self.known.get(key) {
                    let answer = if seen.digest != a.digest {
                        Err(Refusal::KeyConflict)
                    } else if fresh.contains(key) {
                        repeats.push((a.reply, seen.events));
                        continue;
                    } else {
                        Ok(Outcome::Replayed {
                            events: seen.events,
                        })
                    };
                    let _ = a.reply.send(answer);
                    continue;
                }
                fresh.insert(key.clone());
                self.known.insert(
                    key.clone(),
                    Seen {
                        digest: a.digest,
                        events,
                        at,
                    },
                );
            }
            accepted.push(a);
        }
        if accepted.is_empty() {
            return;
        }
        let framed: Vec<&[u8]> = accepted.iter().map(|a| a.framed.as_slice()).collect();
        let written = self.wal.append(&framed);
        for (reply, events) in repeats {
            let _ = reply.send(match &written {
                Ok(()) => Ok(Outcome::Replayed { events }),
                Err(e) => Err(Refusal::Failed(e.to_string())),
            });
        }
        match written {
            Ok(()) => {
                for a in accepted {
                    let events = a.batch.num_rows() as u64;
                    if let Some(key) = a.key {
                        self.sealed.keys.push((
                            key,
                            Seen {
                                digest: a.digest,
                                events,
                                at,
                            },
                        ));
                    }
                    self.sealed.batches.push(a.batch);
                    self.sealed.events += events;
                    self.pending.fetch_add(events, Ordering::AcqRel);
                    let _ = a.reply.send(Ok(Outcome::Stored { events }));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "appending to the write-ahead log failed");
                let rolled_back = self.wal.roll_back();
                for a in accepted {
                    if let Some(key) = &a.key {
                        self.known.remove(key);
                    }
                    let _ = a.reply.send(Err(Refusal::Failed(e.to_string())));
                }
                if let Err(e) = rolled_back {
                    tracing::error!(error = %e, "cannot cut the failed append; starting a new segment");
                    if let Ok(fresh) = wal::Writer::create(&self.dir, self.wal.seq + 1) {
                        self.wal = fresh;
                    }
                }
            }
        }
    }

    fn rotate(&mut self) -> crate::store::Result<Sealed> {
        let fresh = wal::Writer::create(&self.dir, self.wal.seq + 1)?;
        let old = std::mem::replace(&mut self.wal, fresh);
        let mut sealed = std::mem::take(&mut self.sealed);
        sealed.seq = old.seq;
        Ok(sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(user: &str) -> RecordBatch {
        let line = format!(
            r#"{{"event_time":"2026-03-04T10:00:00Z","user_id":"{user}","module":"crm","action":"view"}}"#
        );
        let (batch, _) = crate::store::input::ndjson_batch(
            line.into_bytes(),
            "test",
            &crate::model::event::TimeRange::future_allowed(),
        )
        .expect("parse");
        batch.expect("one event")
    }

    #[test]
    fn a_key_sent_twice_in_one_group_is_stored_once_and_answered_after_the_write() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut log = LogWriter {
            dir: dir.path().to_path_buf(),
            wal: wal::Writer::create(dir.path(), 1).expect("segment"),
            known: HashMap::new(),
            sealed: Sealed::default(),
            pending: Arc::new(AtomicU64::new(0)),
            keep_seconds: 3600,
            pruned: Instant::now(),
        };
        let append = |key: &str, digest: u8| {
            let batch = batch("u1");
            let (reply, answer) = tokio::sync::oneshot::channel();
            let a = Append {
                framed: wal::encode(Some(key), &[digest; 32], &batch).expect("encode"),
                key: Some(key.to_string()),
                digest: [digest; 32],
                batch,
                reply,
            };
            (a, answer)
        };
        let (first, mut first_answer) = append("k", 1);
        let (again, mut again_answer) = append("k", 1);
        let (other, mut other_answer) = append("k", 2);
        log.commit(vec![first, again, other]);
        assert_eq!(
            first_answer.try_recv().expect("answered").expect("stored"),
            Outcome::Stored { events: 1 }
        );
        assert_eq!(
            again_answer
                .try_recv()
                .expect("answered")
                .expect("replayed"),
            Outcome::Replayed { events: 1 }
        );
        assert!(matches!(
            other_answer.try_recv().expect("answered"),
            Err(Refusal::KeyConflict)
        ));
        assert_eq!(log.sealed.batches.len(), 1);
        assert_eq!(log.pending.load(Ordering::Relaxed), 1);
        let segment = wal::read(&wal::segment_path(dir.path(), 1)).expect("read");
        assert_eq!(segment.records.len(), 1);

        // When the write fails, a repeat in the same group is not told
        // that the batch was stored, and the key can be used again.
        log.wal = wal::Writer::failing(dir.path(), 2).expect("segment");
        let (first, mut first_answer) = append("j", 1);
        let (again, mut again_answer) = append("j", 1);
        log.commit(vec![first, again]);
        for answer in [&mut first_answer, &mut again_answer] {
            assert!(matches!(
                answer.try_recv().expect("answered"),
                Err(Refusal::Failed(_))
            ));
        }
        assert!(!log.known.contains_key("j"));
        assert_eq!(log.pending.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_damaged_segment_is_reported_once_and_its_intact_batches_stored() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path().join("data");
        let settings = Settings::default();
        drop(Store::open(&root).expect("store"));
        let records: Vec<Vec<u8>> = ["a", "b", "c"]
            .iter()
            .map(|u| wal::encode(Some(u), &[1; 32], &batch(u)).expect("encode"))
            .collect();
        let mut bytes = records.concat();
        bytes[records[0].len() + 40] ^= 0xff;
        std::fs::create_dir_all(root.join("wal")).expect("dir");
        std::fs::write(wal::segment_path(&root.join("wal"), 1), &bytes).expect("write");

        // Opened twice without a flush in between: one report.
        for _ in 0..2 {
            let ingest = Ingest::open(Store::open(&root).expect("store"), &settings).expect("open");
            assert_eq!(ingest.status().recovered_batches, 2);
        }
        assert_eq!(quarantine::entries(&root).len(), 1);

        let ingest = Ingest::open(Store::open(&root).expect("store"), &settings).expect("open");
        let store = ingest.flush().expect("flush").expect("written");
        assert_eq!(store.manifest().event_count(), 2);
        assert_eq!(wal::segments(&root.join("wal")).expect("list").len(), 1);
    }
}
