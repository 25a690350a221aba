//! Who may see what: roles and scopes, API tokens, web users, and the
//! audit log.
//!
//! - `admin`: everything, including the audit log, tokens and users.
//! - `analyst`: every figure of every segment.
//! - `viewer`: the figures of their scope only (regions and/or
//!   departments); totals are totals over the scope.
//! - `ingest`: may post events, nothing else.
//!
//! Tokens (`tokens.json`) and users (`users.json`) live in the data
//! directory; tokens are stored as SHA-256 hashes, passwords as argon2id
//! hashes. Both files are read again when they change, so a revocation
//! takes effect with the next request.

pub mod audit;
pub mod links;
pub mod tokens;
pub mod users;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::Scope;
use crate::store::{Error, Result};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything: figures, the audit log, tokens and users.
    Admin,
    /// Every figure of every segment.
    Analyst,
    /// The figures of the regions and/or departments of their scope.
    Viewer,
    /// May post events to `/api/v1/events`, nothing else.
    Ingest,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Viewer => "viewer",
            Role::Ingest => "ingest",
        }
    }

    /// Whether the role reads figures.
    pub fn reads(self) -> bool {
        matches!(self, Role::Admin | Role::Analyst | Role::Viewer)
    }
}

/// The one a request acts for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// `token:NAME` or `user:NAME`.
    pub who: String,
    pub role: Role,
    pub scope: Scope,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Checks that a role and scope go together: viewers need a scope, the
/// other roles see everything (or, ingest, nothing) and take none.
pub fn check_scope(role: Role, scope: &Scope) -> std::result::Result<(), String> {
    let bad = |v: &String| v.is_empty() || v.contains(crate::model::segment::SCOPE_SEPARATOR);
    if scope.regions.iter().chain(&scope.departments).any(bad) {
        return Err("a region or department of a scope may not be empty".into());
    }
    match (role, scope.is_all()) {
        (Role::Viewer, true) => {
            Err("a viewer needs a scope: give --region and/or --department".into())
        }
        (Role::Viewer, false) => Ok(()),
        (_, false) => Err(format!(
            "only viewers are scoped; the role {} sees {}",
            role.name(),
            if role == Role::Ingest {
                "no figures"
            } else {
                "every segment"
            }
        )),
        (_, true) => Ok(()),
    }
}

/// Parses a lifetime: `30d`, `12h`, `8w`, or `never`.
pub fn parse_lifetime(s: &str) -> std::result::Result<Option<chrono::Duration>, String> {
    if s == "never" {
        return Ok(None);
    }
    let bad = || format!("'{s}' is not a lifetime: write e.g. 12h, 30d, 8w or never");
    let (number, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    if n <= 0 || n > 100_000 {
        return Err(bad());
    }
    Ok(Some(match unit {
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        "w" => chrono::Duration::weeks(n),
        _ => return Err(bad()),
    }))
}

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A kind of named record kept in one JSON file of the data directory,
/// `{"KEY": [record, ...]}`: tokens and users.
pub trait Record: Serialize + for<'de> Deserialize<'de> + Clone {
    /// The file name, e.g. `tokens.json`.
    const FILE: &'static str;
    /// The key of the list in the file, e.g. `tokens`.
    const KEY: &'static str;
    fn name(&self) -> &str;
}

/// The records of a data directory; none when the file does not exist.
pub fn records<T: Record>(data: &Path) -> Result<Vec<T>> {
    read_records(&data.join(T::FILE))
}

fn read_records<T: Record>(path: &Path) -> Result<Vec<T>> {
    let invalid = |e: serde_json::Error| Error::File {
        path: path.to_path_buf(),
        message: format!("not a {} file: {e}", T::KEY),
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mut file: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&text).map_err(invalid)?;
            match file.remove(T::KEY) {
                Some(list) => serde_json::from_value(list).map_err(invalid),
                None => Ok(Vec::new()),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(Error::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Changes the records under `<data>/auth.lock`, so concurrent commands do
/// not lose each other's changes, and writes the file when they changed.
pub fn change<T: Record, R>(
    data: &Path,
    change: impl FnOnce(&mut Vec<T>) -> Result<R>,
) -> Result<R> {
    let _lock = lock(data)?;
    let path = data.join(T::FILE);
    let mut list: Vec<T> = read_records(&path)?;
    let before = serde_json::to_value(&list).ok();
    let result = change(&mut list)?;
    if serde_json::to_value(&list).ok() != before {
        write_json(&path, &serde_json::json!({ T::KEY: list }))?;
    }
    Ok(result)
}

/// Removes the record of this name; false when there is none.
pub fn remove<T: Record>(data: &Path, name: &str) -> Result<bool> {
    change(data, |list: &mut Vec<T>| {
        let before = list.len();
        list.retain(|r| r.name() != name);
        Ok(list.len() != before)
    })
}

/// The records as the server checks them: the file is read again when it
/// changes (its modification time, size or inode).
pub struct Watched<T> {
    path: PathBuf,
    cached: Mutex<(Option<Stamp>, Option<Vec<T>>)>,
}

/// A file's modification time, size and inode.
type Stamp = (std::time::SystemTime, u64, u64);

impl<T: Record> Watched<T> {
    pub fn new(data: &Path) -> Watched<T> {
        Watched {
            path: data.join(T::FILE),
            cached: Mutex::new((None, None)),
        }
    }

    /// The current records; none when the file cannot be read (the cause
    /// is logged), so nobody is known.
    pub fn get(&self) -> Vec<T> {
        use std::os::unix::fs::MetadataExt;
        let stamp = std::fs::metadata(&self.path).ok().map(|m| {
            (
                m.modified().unwrap_or(std::time::UNIX_EPOCH),
                m.len(),
                m.ino(),
            )
        });
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if cached.0 != stamp || stamp.is_none() || cached.1.is_none() {
            match read_records(&self.path) {
                Ok(v) => *cached = (stamp, Some(v)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read; refusing everyone it names");
                    *cached = (None, None);
                }
            }
        }
        cached.1.clone().unwrap_or_default()
    }
}

/// Holds `<data>/auth.lock` exclusively while tokens or users change.
fn lock(data: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(data).map_err(|source| Error::Io {
        path: data.to_path_buf(),
        source,
    })?;
    let path = data.join("auth.lock");
    match crate::store::files::lock_file(&path, true) {
        Ok(Some(file)) => Ok(file),
        Ok(None) => unreachable!("waiting for a lock returns it"),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// Writes a JSON file atomically, readable by its owner only.
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| Error::File {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push(b'\n');
    crate::store::files::write_atomically(path, &text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// 32 random bytes, base64url: a token or session secret.
pub fn secret() -> String {
    use base64::Engine as _;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether a secret sent by a client equals the expected one, compared in
/// time that does not depend on where they differ.
pub fn same_secret(expected: &str, sent: &str) -> bool {
    use sha2::{Digest, Sha256};
    // Equal-length digests, compared without an early exit.
    let (a, b) = (
        Sha256::digest(expected.as_bytes()),
        Sha256::digest(sent.as_bytes()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// SHA-256 of a secret, hex: what is stored or kept in memory.
pub fn digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    crate::store::files::hex(&Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_and_scopes_are_checked() {
        assert_eq!(parse_lifetime("30d"), Ok(Some(chrono::Duration::days(30))));
        assert_eq!(parse_lifetime("12h"), Ok(Some(chrono::Duration::hours(12))));
        assert_eq!(parse_lifetime("never"), Ok(None));
        for bad in ["", "d", "0d", "-1d", "30", "3m", "1.5d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
        let dach = Scope {
            regions: vec!["DACH".into()],
            departments: vec![],
        };
        assert!(check_scope(Role::Viewer, &dach).is_ok());
        assert!(check_scope(Role::Viewer, &Scope::default()).is_err());
        assert!(check_scope(Role::Analyst, &dach).is_err());
        assert!(check_scope(Role::Ingest, &Scope::default()).is_ok());
        let odd = Scope {
            regions: vec!["A\u{1f}B".into()],
            departments: vec![],
        };
        assert!(check_scope(Role::Viewer, &odd).is_err());
    }
}
