//! Quarantine: damaged files of the data directory are moved (or copied)
//! to `<data>/quarantine/` and recorded in `quarantine/log.jsonl`, so that
//! they can be inspected and the rest of the data stays usable. Entries stay
//! until someone removes them; `/health` and `uptake check` list them.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{IoContext, Result};

pub const DIR: &str = "quarantine";
const LOG: &str = "log.jsonl";

/// One quarantined file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When it was found (RFC 3339, UTC).
    pub at: String,
    /// Where it was, relative to the data directory.
    pub original: String,
    /// The copy in the quarantine directory, relative to the data directory.
    pub kept_as: String,
    pub reason: String,
}

/// Moves `path` into quarantine (or copies it, when `copy`), records why
/// and logs it. A file that is missing is recorded as such.
pub fn quarantine(root: &Path, path: &Path, reason: &str, copy: bool) -> Result<Entry> {
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir).at(&dir)?;
    let original = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    let now = chrono::Utc::now();
    let name = format!(
        "{}-{}",
        now.format("%Y%m%dT%H%M%S%6f"),
        original.replace(['/', '\\'], "_")
    );
    let target = dir.join(&name);
    let kept_as = if !path.exists() {
        "(missing)".to_string()
    } else {
        if copy {
            std::fs::copy(path, &target).at(path)?;
        } else {
            std::fs::rename(path, &target).at(path)?;
        }
        format!("{DIR}/{name}")
    };
    let entry = Entry {
        at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        original,
        kept_as,
        reason: reason.to_string(),
    };
    let mut line = serde_json::to_string(&entry).unwrap_or_default();
    line.push('\n');
    let log = dir.join(LOG);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .at(&log)?;
    file.write_all(line.as_bytes()).at(&log)?;
    file.sync_all().at(&log)?;
    super::files::sync_directory(&dir)?;
    super::files::sync_dir(path)?;
    tracing::error!(
        file = %entry.original,
        kept_as = %entry.kept_as,
        reason,
        "damaged file quarantined"
    );
    Ok(entry)
}

/// The quarantined files, oldest first. Lines that do not parse are
/// skipped (the log is only a report).
pub fn entries(root: &Path) -> Vec<Entry> {
    let path: PathBuf = root.join(DIR).join(LOG);
    std::fs::read_to_string(path)
        .map(|text| {
            text.lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        })
        .unwrap_or_default()
}
