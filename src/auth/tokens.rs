//! API tokens: `<data>/tokens.json` holds their names, roles, scopes,
//! expiry and SHA-256 hashes, never the tokens themselves. A token is
//! printed once, when it is created.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Caller, Record, Role, Watched, digest, secret, timestamp};
use crate::model::Scope;
use crate::store::{Error, Result};

pub const FILE_NAME: &str = "tokens.json";
/// Every token starts with this, so a leaked one is easy to recognise.
const PREFIX: &str = "upt_";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub name: String,
    pub role: Role,
    #[serde(default, flatten)]
    pub scope: Scope,
    /// SHA-256 of the token, hex.
    pub sha256: String,
    pub created: String,
    /// RFC 3339; none: the token does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl TokenRecord {
    fn expiry(&self) -> Option<DateTime<Utc>> {
        // An unreadable expiry counts as expired.
        self.expires.as_ref().map(|e| {
            DateTime::parse_from_rfc3339(e)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        })
    }
}

impl Record for TokenRecord {
    const FILE: &'static str = FILE_NAME;
    const KEY: &'static str = "tokens";
    fn name(&self) -> &str {
        &self.name
    }
}

fn path(data: &Path) -> PathBuf {
    data.join(FILE_NAME)
}

/// What a new token may do.
#[derive(Debug, Clone)]
pub struct NewToken<'a> {
    pub role: Role,
    pub scope: Scope,
    pub name: Option<&'a str>,
    /// None: it never expires.
    pub lifetime: Option<chrono::Duration>,
}

/// Creates a token and returns it with its record; only its hash is
/// stored.
pub fn create(data: &Path, new: NewToken<'_>) -> Result<(String, TokenRecord)> {
    let invalid = |message: String| Error::File {
        path: path(data),
        message,
    };
    super::check_scope(new.role, &new.scope).map_err(invalid)?;
    super::change(data, |tokens: &mut Vec<TokenRecord>| {
        let name = match new.name {
            Some(n) => n.to_string(),
            None => format!("{}-{}", new.role.name(), tokens.len() + 1),
        };
        if tokens.iter().any(|t| t.name == name) {
            return Err(invalid(format!(
                "a token named '{name}' exists; choose another --name"
            )));
        }
        let token = format!("{PREFIX}{}", secret());
        let now = Utc::now();
        let record = TokenRecord {
            name,
            role: new.role,
            scope: new.scope,
            sha256: digest(&token),
            created: timestamp(now),
            expires: new.lifetime.map(|l| timestamp(now + l)),
        };
        tokens.push(record.clone());
        Ok((token, record))
    })
}

/// Removes a token by name; false when there is none of that name.
pub fn revoke(data: &Path, name: &str) -> Result<bool> {
    super::remove::<TokenRecord>(data, name)
}

pub fn list(data: &Path) -> Result<Vec<TokenRecord>> {
    super::records(data)
}

/// Why a presented token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Never issued, or revoked.
    Unknown,
    /// Expired; the token's name.
    Expired(String),
}

/// The tokens of a data directory as the server checks them.
pub struct Tokens {
    file: Watched<TokenRecord>,
}

impl Tokens {
    pub fn new(data: &Path) -> Tokens {
        Tokens {
            file: Watched::new(data),
        }
    }

    /// The caller a presented token acts for.
    pub fn check(&self, token: &str) -> std::result::Result<Caller, Refused> {
        let tokens = self.file.get();
        let hash = digest(token);
        let t = tokens
            .iter()
            .find(|t| t.sha256 == hash)
            .ok_or(Refused::Unknown)?;
        if t.expiry().is_some_and(|e| e <= Utc::now()) {
            return Err(Refused::Expired(t.name.clone()));
        }
        Ok(Caller {
            who: format!("token:{}", t.name),
            role: t.role,
            scope: t.scope.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ingest(name: &str) -> NewToken<'_> {
        NewToken {
            role: Role::Ingest,
            scope: Scope::default(),
            name: Some(name),
            lifetime: None,
        }
    }

    #[test]
    fn tokens_are_stored_as_hashes_checked_and_revoked() {
        let dir = tempfile::tempdir().expect("tmp");
        let (token, _) = create(dir.path(), ingest("crm")).expect("create");
        assert!(token.starts_with("upt_") && token.len() > 40);
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).expect("read");
        assert!(
            !text.contains(&token[4..]),
            "the token itself is not stored"
        );
        let tokens = Tokens::new(dir.path());
        let caller = tokens.check(&token).expect("known");
        assert_eq!(
            (caller.who.as_str(), caller.role),
            ("token:crm", Role::Ingest)
        );
        assert_eq!(tokens.check("upt_wrong"), Err(Refused::Unknown));
        assert!(create(dir.path(), ingest("crm")).is_err());
        assert!(revoke(dir.path(), "crm").expect("revoke"));
        // The same checker sees the revocation: the file was replaced.
        assert_eq!(tokens.check(&token), Err(Refused::Unknown));
    }

    #[test]
    fn expired_tokens_are_refused_and_scopes_kept() {
        let dir = tempfile::tempdir().expect("tmp");
        let scope = Scope {
            regions: vec!["DACH".into()],
            departments: vec!["Sales".into()],
        };
        let (token, record) = create(
            dir.path(),
            NewToken {
                role: Role::Viewer,
                scope: scope.clone(),
                name: Some("dach"),
                lifetime: Some(chrono::Duration::days(30)),
            },
        )
        .expect("create");
        assert!(record.expires.is_some());
        let tokens = Tokens::new(dir.path());
        assert_eq!(tokens.check(&token).expect("valid").scope, scope);
        // Expire it by editing the file, as time passing would.
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).expect("read");
        let text = text.replace(
            record.expires.as_deref().unwrap_or(""),
            "2020-01-01T00:00:00Z",
        );
        std::fs::write(dir.path().join(FILE_NAME), text).expect("write");
        assert_eq!(
            Tokens::new(dir.path()).check(&token),
            Err(Refused::Expired("dach".into()))
        );
        // A viewer without a scope, an analyst with one: refused.
        let mut bad = ingest("x");
        bad.role = Role::Viewer;
        assert!(create(dir.path(), bad).is_err());
        let mut bad = ingest("y");
        bad.role = Role::Analyst;
        bad.scope = scope;
        assert!(create(dir.path(), bad).is_err());
    }
}
