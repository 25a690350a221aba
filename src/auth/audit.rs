//! The audit log, `<data>/audit.jsonl`: one JSON line per sign-in (and
//! failed sign-in), request with a token or session, refused request,
//! export, report delivery, and token or user change. Admins read it at
//! `/api/v1/audit` and `/audit`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::Utc;
use serde::{Deserialize, Serialize};

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
}

pub fn path(data: &Path) -> PathBuf {
    data.join(FILE_NAME)
}

/// Appends entries to the audit log of a data directory.
pub struct Audit {
    path: PathBuf,
    file: Mutex<Option<std::fs::File>>,
}

impl Audit {
    pub fn new(data: &Path) -> Audit {
        Audit {
            path: path(data),
            file: Mutex::new(None),
        }
    }

    /// Appends one entry (a whole line in one write). A failure is logged:
    /// the request it describes has already been answered.
    pub fn record(&self, entry: &Entry) {
        if let Err(e) = self.append(entry) {
            tracing::error!(error = %e, path = %self.path.display(), "cannot write the audit log");
        }
    }

    fn append(&self, entry: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if file.is_none() {
            use std::os::unix::fs::OpenOptionsExt;
            *file = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(&self.path)?,
            );
        }
        let result = file.as_mut().map_or(Ok(()), |f| f.write_all(&line));
        if result.is_err() {
            *file = None;
        }
        result
    }
}

/// Appends one entry from a command (`uptake token ...`, the scheduler).
pub fn record(data: &Path, entry: &Entry) {
    Audit::new(data).record(entry);
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

/// The newest entries first, as asked; unreadable lines are skipped.
pub fn read(data: &Path, q: &Query) -> std::io::Result<Vec<Entry>> {
    let text = match std::fs::read_to_string(path(data)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let since = q
        .since
        .as_deref()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
    Ok(text
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
        .filter(|e| q.who.as_ref().is_none_or(|w| &e.who == w))
        .filter(|e| q.action.as_ref().is_none_or(|a| &e.action == a))
        .filter(|e| {
            since.is_none_or(|s| chrono::DateTime::parse_from_rfc3339(&e.at).is_ok_and(|t| t >= s))
        })
        .take(q.limit)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_appended_and_read_newest_first() {
        let dir = tempfile::tempdir().expect("tmp");
        let audit = Audit::new(dir.path());
        audit.record(&Entry::new("user:anna", "sign_in"));
        let mut e = Entry::new("token:dach", "export");
        e.target = "/dashboards/overview/panels/kpi.csv".into();
        audit.record(&e);
        let all = read(
            dir.path(),
            &Query {
                limit: 10,
                ..Query::default()
            },
        )
        .expect("read");
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
}
