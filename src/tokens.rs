//! API tokens: `<data>/tokens.json` holds their names, roles and SHA-256
//! hashes, never the tokens themselves. A token is printed once, when it is
//! created.
//!
//! For now the only role is `ingest`: such a token may post events and
//! nothing else.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::files::write_atomically;
use crate::store::{Error, Result};

pub const FILE_NAME: &str = "tokens.json";
/// Every token starts with this, so a leaked one is easy to recognise.
const PREFIX: &str = "upt_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// May post events to `/api/v1/events`, nothing else.
    Ingest,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub name: String,
    pub role: Role,
    /// SHA-256 of the token, hex.
    pub sha256: String,
    pub created: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    tokens: Vec<TokenRecord>,
}

fn path(data: &Path) -> PathBuf {
    data.join(FILE_NAME)
}

fn hash(token: &str) -> String {
    crate::store::files::hex(&Sha256::digest(token.as_bytes()))
}

fn load(data: &Path) -> Result<TokenFile> {
    let file = path(data);
    match std::fs::read_to_string(&file) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| Error::File {
            path: file,
            message: format!("not a token file: {e}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile::default()),
        Err(source) => Err(Error::Io { path: file, source }),
    }
}

/// Creates a token and returns it; only its hash is stored.
pub fn create(data: &Path, role: Role, name: Option<&str>) -> Result<String> {
    std::fs::create_dir_all(data).map_err(|source| Error::Io {
        path: data.to_path_buf(),
        source,
    })?;
    let mut file = load(data)?;
    let name = match name {
        Some(n) => n.to_string(),
        None => format!("{}-{}", role_name(role), file.tokens.len() + 1),
    };
    if file.tokens.iter().any(|t| t.name == name) {
        return Err(Error::File {
            path: path(data),
            message: format!("a token named '{name}' exists; choose another --name"),
        });
    }
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let token = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    file.tokens.push(TokenRecord {
        name,
        role,
        sha256: hash(&token),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    });
    save(data, &file)?;
    Ok(token)
}

/// Removes a token by name; false when there is none of that name.
pub fn revoke(data: &Path, name: &str) -> Result<bool> {
    let mut file = load(data)?;
    let before = file.tokens.len();
    file.tokens.retain(|t| t.name != name);
    if file.tokens.len() == before {
        return Ok(false);
    }
    save(data, &file)?;
    Ok(true)
}

pub fn list(data: &Path) -> Result<Vec<TokenRecord>> {
    Ok(load(data)?.tokens)
}

fn save(data: &Path, file: &TokenFile) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(file).map_err(|e| Error::File {
        path: path(data),
        message: e.to_string(),
    })?;
    text.push(b'\n');
    write_atomically(&path(data), &text)
}

pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Ingest => "ingest",
    }
}

/// The tokens of a data directory as the server checks them: read again
/// when the file changes, so tokens created or revoked while the server
/// runs take effect at once.
pub struct Tokens {
    data: PathBuf,
    cached: Mutex<Known>,
}

/// The tokens as read, by hash: name and role; and the file's time then.
type Known = (Option<SystemTime>, HashMap<String, (String, Role)>);

impl Tokens {
    pub fn new(data: &Path) -> Tokens {
        Tokens {
            data: data.to_path_buf(),
            cached: Mutex::new((None, HashMap::new())),
        }
    }

    /// The name and role of a presented token, if it is known.
    pub fn check(&self, token: &str) -> Option<(String, Role)> {
        let modified = std::fs::metadata(path(&self.data))
            .and_then(|m| m.modified())
            .ok();
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if cached.0 != modified || modified.is_none() {
            match load(&self.data) {
                Ok(file) => {
                    cached.1 = file
                        .tokens
                        .into_iter()
                        .map(|t| (t.sha256, (t.name, t.role)))
                        .collect();
                    cached.0 = modified;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the tokens; refusing all");
                    cached.1.clear();
                    cached.0 = None;
                }
            }
        }
        cached.1.get(&hash(token)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stored_as_hashes_and_checked() {
        let dir = tempfile::tempdir().expect("tmp");
        let token = create(dir.path(), Role::Ingest, Some("crm")).expect("create");
        assert!(token.starts_with("upt_") && token.len() > 40);
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).expect("read");
        assert!(
            !text.contains(&token[4..]),
            "the token itself is not stored"
        );
        let tokens = Tokens::new(dir.path());
        assert_eq!(tokens.check(&token), Some(("crm".into(), Role::Ingest)));
        assert_eq!(tokens.check("upt_wrong"), None);
        assert!(create(dir.path(), Role::Ingest, Some("crm")).is_err());
        assert!(revoke(dir.path(), "crm").expect("revoke"));
        // The file changed, but maybe within the same mtime tick: a new
        // checker sees the revocation either way.
        assert_eq!(Tokens::new(dir.path()).check(&token), None);
    }
}
