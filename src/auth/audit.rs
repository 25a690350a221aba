//! The audit log, `<data>/audit.jsonl`: one JSON line per sign-in (and
//! failed sign-in), request with a token or session, refused request,
//! export, report delivery, and token or user change. Admins read it at
//! `/api/v1/audit` and `/audit`.
//!
//! Its cost is bounded whatever callers send: every field is cut to
//! `audit.max_field_chars`; refusals of callers without credentials are
//! counted per address and minute (the first one of a minute is written
//! whole, the rest as one line with their number); the file is rotated at
//! `audit.max_file_mib` into `audit.jsonl.1` ... `.N`, keeping
//! `audit.keep_files`; and reading goes backwards from the newest line,
//! so `limit=1` reads one block, not the whole log.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use serde::{Deserialize, Serialize};

use crate::config::AuditSettings;

pub const FILE_NAME: &str = "audit.jsonl";

/// One line of the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at: String,
    /// `token:NAME`, `user:NAME`, `cli`, `scheduler`, or `anonymous`.
    pub who: String,
    /// `sign_in`, `sign_in_failed`, `sign_out`, `request`, `export`,
    /// `refused`, `report_sent`, `token_created`, `token_revoked`,
    /// `user_added`, `user_removed`, `password_set`.
    pub action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub method: String,
    /// Path and query of a request.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client: String,
    /// Refusals this line stands for, when more than one (the count of a
    /// minute's further refusals of one address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl Entry {
    pub fn new(who: impl Into<String>, action: &str) -> Entry {
        Entry {
            at: super::timestamp(Utc::now()),
            who: who.into(),
            action: action.to_string(),
            ..Entry::default()
        }
    }

    /// Cuts every field to `max` characters (an ellipsis marks the cut).
    fn capped(mut self, max: usize) -> Entry {
        for field in [
            &mut self.who,
            &mut self.action,
            &mut self.role,
            &mut self.scope,
            &mut self.method,
            &mut self.target,
            &mut self.detail,
            &mut self.client,
        ] {
            cap(field, max);
        }
        self
    }
}

/// Cuts `text` to at most `max` characters, the last being `…` when cut.
pub fn cap(text: &mut String, max: usize) {
    let max = max.max(1);
    if text.char_indices().nth(max).is_some() {
        let keep = text
            .char_indices()
            .nth(max - 1)
            .map_or(text.len(), |(i, _)| i);
        text.truncate(keep);
        text.push('…');
    }
}

pub fn path(data: &Path) -> PathBuf {
    data.join(FILE_NAME)
}

/// The rotated file `n` (1 is the newest after the current one).
fn rotated(data: &Path, n: u32) -> PathBuf {
    data.join(format!("{FILE_NAME}.{n}"))
}

/// Appends entries to the audit log of a data directory.
pub struct Audit {
    data: PathBuf,
    limits: AuditSettings,
    file: Mutex<Option<std::fs::File>>,
    refusals: Mutex<Refusals>,
}

/// Refusals of callers without valid credentials in the current minute,
/// by client address and, for an expired token, its name.
#[derive(Default)]
struct Refusals {
    minute: i64,
    by_client: HashMap<(String, String), (Entry, u64)>,
}

/// Addresses whose refusals are counted in one minute; beyond them the
/// rest are counted together.
const COUNTED_CLIENTS: usize = 4096;
const OTHER_CLIENTS: &str = "(other addresses)";

impl Audit {
    pub fn new(data: &Path, limits: &AuditSettings) -> Audit {
        Audit {
            data: data.to_path_buf(),
            limits: limits.clone(),
            file: Mutex::new(None),
            refusals: Mutex::new(Refusals::default()),
        }
    }

    /// Appends one entry (a whole line in one write), its fields capped. A
    /// failure is logged: the request it describes has already been
    /// answered.
    pub fn record(&self, entry: &Entry) {
        let entry = entry.clone().capped(self.limits.max_field_chars);
        if let Err(e) = self.append(&entry) {
            tracing::error!(error = %e, path = %path(&self.data).display(), "cannot write the audit log");
        }
    }

    /// Records a refusal of a caller without valid credentials: the first
    /// of a minute from its address (and claimed name) is written as it
    /// is, later ones are counted and written as one line when the minute
    /// is over (see [`Audit::flush_refusals`]).
    pub fn record_refusal(&self, entry: &Entry) {
        let minute = Utc::now().timestamp().div_euclid(60);
        let first = {
            let mut r = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
            if r.minute != minute {
                let done = std::mem::take(&mut r.by_client);
                r.minute = minute;
                drop(r);
                self.write_counts(done);
                r = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
            }
            // An expired token is named (there are only so many); any
            // other caller counts by its address alone.
            let who = if entry.who.starts_with("token:") {
                entry.who.clone()
            } else {
                "anonymous".to_string()
            };
            let mut key = (entry.client.clone(), who);
            if r.by_client.len() >= COUNTED_CLIENTS && !r.by_client.contains_key(&key) {
                key = (OTHER_CLIENTS.to_string(), "anonymous".to_string());
            }
            match r.by_client.get_mut(&key) {
                Some((_, more)) => {
                    *more += 1;
                    false
                }
                None => {
                    let mut summary = entry.clone().capped(self.limits.max_field_chars);
                    (summary.client, summary.who) = key.clone();
                    r.by_client.insert(key, (summary, 0));
                    true
                }
            }
        };
        if first {
            self.record(entry);
        }
    }

    /// Writes the counts of refusals of a minute that is over (of the
    /// current one too when `now`, at shutdown).
    /// [`Audit::flush_refusals_forever`] calls this regularly, so a count
    /// appears even when its address sends nothing more.
    pub fn flush_refusals(&self, now: bool) {
        let minute = Utc::now().timestamp().div_euclid(60);
        let done = {
            let mut r = self.refusals.lock().unwrap_or_else(|p| p.into_inner());
            if r.minute == minute && !now {
                return;
            }
            r.minute = minute;
            std::mem::take(&mut r.by_client)
        };
        self.write_counts(done);
    }

    /// Writes the counts of refused requests once their minute is over,
    /// while the server runs; never returns.
    pub async fn flush_refusals_forever(self: Arc<Self>) {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(15)).await;
            self.flush_refusals(false);
        }
    }

    fn write_counts(&self, counted: HashMap<(String, String), (Entry, u64)>) {
        let mut counted: Vec<(Entry, u64)> =
            counted.into_values().filter(|(_, n)| *n > 0).collect();
        counted.sort_by(|a, b| a.0.client.cmp(&b.0.client));
        for (first, more) in counted {
            let mut e = Entry::new(first.who.clone(), "refused");
            e.client = first.client;
            e.status = first.status;
            e.detail = format!(
                "{more} further refused requests in the minute after {}",
                first.at
            );
            e.count = Some(more);
            self.record(&e);
        }
    }

    fn append(&self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let path = path(&self.data);
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // Another process (a command, or this one) may have rotated the
        // file: then the open one is no longer at the path.
        let current = std::fs::metadata(&path).ok().map(|m| m.ino());
        let open = file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map(|m| m.ino());
        if current.is_none() || current != open {
            *file = None;
        }
        if file.is_none() {
            use std::os::unix::fs::OpenOptionsExt;
            *file = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(&path)?,
            );
        }
        let Some(f) = file.as_mut() else {
            return Ok(());
        };
        let result = f.write_all(&line);
        if result.is_err() {
            *file = None;
            return result;
        }
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        if size >= self.limits.max_file_mib.saturating_mul(1 << 20) {
            *file = None;
            self.rotate()?;
        }
        result
    }

    /// `audit.jsonl` becomes `audit.jsonl.1`, `.1` becomes `.2` and so on;
    /// the oldest beyond `keep_files` is removed.
    fn rotate(&self) -> std::io::Result<()> {
        let keep = self.limits.keep_files;
        let _ = std::fs::remove_file(rotated(&self.data, keep.max(1)));
        for n in (1..keep.max(1)).rev() {
            let from = rotated(&self.data, n);
            if from.exists() {
                std::fs::rename(&from, rotated(&self.data, n + 1))?;
            }
        }
        if keep == 0 {
            std::fs::remove_file(path(&self.data))
        } else {
            std::fs::rename(path(&self.data), rotated(&self.data, 1))
        }
    }
}

/// Appends one entry from a command (`uptake token ...`, the scheduler).
pub fn record(data: &Path, limits: &AuditSettings, entry: &Entry) {
    Audit::new(data, limits).record(entry);
}

/// What `/api/v1/audit` asks for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub who: Option<String>,
    pub action: Option<String>,
    /// Entries at or after this RFC 3339 time.
    pub since: Option<String>,
    pub limit: usize,
}

/// The newest entries first, as asked; unreadable lines are skipped. The
/// files are read backwards block by block and reading stops once `limit`
/// entries are found, or at the first entry before `since`.
pub fn read(data: &Path, q: &Query) -> std::io::Result<Vec<Entry>> {
    let since = q
        .since
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
    let mut found = Vec::new();
    let files = std::iter::once(path(data)).chain((1..).map(|n| rotated(data, n)));
    for file in files {
        let mut lines = match BackwardLines::open(&file) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(e),
        };
        while let Some(line) = lines.next_line()? {
            let Ok(e) = serde_json::from_slice::<Entry>(&line) else {
                continue;
            };
            if let Some(s) = since
                && chrono::DateTime::parse_from_rfc3339(&e.at).is_ok_and(|t| t < s)
            {
                return Ok(found);
            }
            if q.who.as_ref().is_some_and(|w| &e.who != w)
                || q.action.as_ref().is_some_and(|a| &e.action != a)
            {
                continue;
            }
            found.push(e);
            if found.len() >= q.limit {
                return Ok(found);
            }
        }
    }
    Ok(found)
}

/// The lines of a file from the last to the first, read in blocks.
struct BackwardLines {
    file: std::fs::File,
    /// Bytes of the file not read yet: `0..unread`.
    unread: u64,
    /// Read but not yet returned: the end of a line whose start is in an
    /// earlier block, or whole lines after it.
    pending: Vec<u8>,
}

const BLOCK: u64 = 64 * 1024;

impl BackwardLines {
    fn open(path: &Path) -> std::io::Result<BackwardLines> {
        let file = std::fs::File::open(path)?;
        let unread = file.metadata()?.len();
        Ok(BackwardLines {
            file,
            unread,
            pending: Vec::new(),
        })
    }

    fn next_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            // A line is complete once a newline before it is read, or the
            // file's start is reached.
            let end = self.pending.len();
            let body_end = if self.pending.last() == Some(&b'\n') {
                end - 1
            } else {
                end
            };
            if let Some(nl) = self.pending[..body_end].iter().rposition(|&b| b == b'\n') {
                let line = self.pending[nl + 1..body_end].to_vec();
                self.pending.truncate(nl + 1);
                if line.is_empty() {
                    continue;
                }
                return Ok(Some(line));
            }
            if self.unread == 0 {
                if body_end == 0 {
                    return Ok(None);
                }
                let line = self.pending[..body_end].to_vec();
                self.pending.clear();
                return Ok(Some(line));
            }
            let size = BLOCK.min(self.unread);
            self.unread -= size;
            let mut block = vec![0u8; size as usize];
            self.file.seek(SeekFrom::Start(self.unread))?;
            self.file.read_exact(&mut block)?;
            block.extend_from_slice(&self.pending);
            self.pending = block;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> AuditSettings {
        AuditSettings::default()
    }

    fn all(dir: &Path) -> Vec<Entry> {
        read(
            dir,
            &Query {
                limit: 1_000_000,
                ..Query::default()
            },
        )
        .expect("read")
    }

    #[test]
    fn entries_are_appended_and_read_newest_first() {
        let dir = tempfile::tempdir().expect("tmp");
        let audit = Audit::new(dir.path(), &limits());
        audit.record(&Entry::new("user:anna", "sign_in"));
        let mut e = Entry::new("token:dach", "export");
        e.target = "/dashboards/overview/panels/kpi.csv".into();
        audit.record(&e);
        let all = all(dir.path());
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].action, "export");
        let anna = read(
            dir.path(),
            &Query {
                who: Some("user:anna".into()),
                limit: 10,
                ..Query::default()
            },
        )
        .expect("read");
        assert_eq!(anna.len(), 1);
    }

    #[test]
    fn fields_are_capped() {
        let dir = tempfile::tempdir().expect("tmp");
        let audit = Audit::new(dir.path(), &limits());
        let mut e = Entry::new(format!("user:{}", "ü".repeat(100_000)), "sign_in_failed");
        e.target = "/x?".to_string() + &"a".repeat(100_000);
        audit.record(&e);
        let size = std::fs::metadata(path(dir.path())).expect("file").len();
        assert!(size < 3 * 1024 * 4, "{size} bytes");
        let back = &all(dir.path())[0];
        assert_eq!(back.who.chars().count(), limits().max_field_chars);
        assert!(back.target.ends_with('…'));
    }

    #[test]
    fn the_log_is_rotated_and_read_across_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let small = AuditSettings {
            max_file_mib: 1,
            keep_files: 2,
            ..limits()
        };
        let audit = Audit::new(dir.path(), &small);
        let mut e = Entry::new("anonymous", "refused");
        e.target = "x".repeat(900);
        for i in 0..5000 {
            e.detail = format!("{i}");
            audit.record(&e);
        }
        // About 4.9 MB written: the current file and two rotated ones stay.
        let sizes: Vec<u64> = [
            path(dir.path()),
            rotated(dir.path(), 1),
            rotated(dir.path(), 2),
        ]
        .iter()
        .map(|p| std::fs::metadata(p).expect("kept").len())
        .collect();
        assert!(sizes.iter().all(|s| *s <= (1 << 20) + 2048), "{sizes:?}");
        assert!(!rotated(dir.path(), 3).exists());
        let back = all(dir.path());
        assert_eq!(back[0].detail, "4999");
        // Newest first, without gaps, across the files.
        for pair in back.windows(2) {
            let a: u32 = pair[0].detail.parse().expect("n");
            let b: u32 = pair[1].detail.parse().expect("n");
            assert_eq!(a, b + 1);
        }
        let one = read(
            dir.path(),
            &Query {
                limit: 1,
                ..Query::default()
            },
        )
        .expect("read");
        assert_eq!(one[0].detail, "4999");
    }

    #[test]
    fn refusals_are_counted_per_address_and_minute() {
        let dir = tempfile::tempdir().expect("tmp");
        let audit = Audit::new(dir.path(), &limits());
        let mut e = Entry::new("anonymous", "refused");
        e.client = "192.0.2.7".into();
        e.status = Some(401);
        for _ in 0..500 {
            audit.record_refusal(&e);
        }
        assert_eq!(all(dir.path()).len(), 1);
        // The minute is over: one more line with the count.
        audit.flush_refusals(false);
        assert_eq!(all(dir.path()).len(), 1, "the minute is not over");
        audit.refusals.lock().expect("lock").minute -= 1;
        audit.flush_refusals(false);
        let lines = all(dir.path());
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].count, Some(499));
        assert_eq!(lines[0].client, "192.0.2.7");
    }

    #[test]
    fn backward_lines_handle_blocks_and_a_missing_last_newline() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("lines");
        let lines: Vec<String> = (0..20_000)
            .map(|i| format!("line {i} {}", "x".repeat(i % 97)))
            .collect();
        std::fs::write(&file, lines.join("\n")).expect("write");
        let mut back = BackwardLines::open(&file).expect("open");
        let mut got = Vec::new();
        while let Some(l) = back.next_line().expect("read") {
            got.push(String::from_utf8(l).expect("utf8"));
        }
        got.reverse();
        assert_eq!(got, lines);
    }
}
