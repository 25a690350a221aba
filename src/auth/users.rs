//! Web users: `<data>/users.json` holds names, e-mail addresses, roles,
//! scopes and argon2id password hashes. A user's e-mail address also
//! decides what scheduled reports sent to it contain.

use std::path::{Path, PathBuf};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{Caller, Record, Role, Watched, timestamp};
use crate::model::Scope;
use crate::store::{Error, Result};

pub const FILE_NAME: &str = "users.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub role: Role,
    #[serde(default, flatten)]
    pub scope: Scope,
    /// The language of their pages and of the reports mailed to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<crate::model::Lang>,
    /// argon2id PHC string; none: the user cannot sign in (e.g. a mailing
    /// list that receives reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub created: String,
}

impl UserRecord {
    pub fn caller(&self) -> Caller {
        Caller {
            who: format!("user:{}", self.name),
            role: self.role,
            scope: self.scope.clone(),
        }
    }
}

impl Record for UserRecord {
    const FILE: &'static str = FILE_NAME;
    const KEY: &'static str = "users";
    fn name(&self) -> &str {
        &self.name
    }
}

fn path(data: &Path) -> PathBuf {
    data.join(FILE_NAME)
}

fn invalid(data: &Path, message: String) -> Error {
    Error::File {
        path: path(data),
        message,
    }
}

/// A new random password of 20 characters, to be shown once.
pub fn generated_password() -> String {
    super::secret()[..20].to_string()
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    use rand::RngCore;
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::File {
        path: PathBuf::new(),
        message: format!("salt: {e}"),
    })?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::File {
            path: PathBuf::new(),
            message: format!("password hash: {e}"),
        })
}

/// Memory for argon2's blocks (19 MiB with the default parameters),
/// reused from one password check to the next: with a fixed number of
/// them, checking passwords allocates nothing however many sign in.
#[derive(Default)]
pub struct CheckMemory(Vec<argon2::Block>);

/// Checks a password against its PHC hash string in `memory`.
fn verify(password: &str, hash: &str, memory: &mut CheckMemory) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        argon2::Params::try_from(&parsed),
        argon2::Algorithm::try_from(parsed.algorithm),
    ) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from) {
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
        None => argon2::Version::default(),
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.0.len() < blocks {
        memory.0.resize(blocks, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory.0[..blocks])
        .is_ok()
        // Output compares in constant time.
        && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// A password hash to check unknown names against, so that a wrong name
/// takes as long as a wrong password.
fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&super::secret()).unwrap_or_default())
}

/// The longest user name.
pub const MAX_NAME_CHARS: usize = 64;

/// Checks a new user's fields.
fn check(data: &Path, user: &UserRecord) -> Result<()> {
    let name_ok = !user.name.is_empty()
        && user.name.len() <= MAX_NAME_CHARS
        && user
            .name
            .chars()
            .all(|c| c.is_alphanumeric() || "._-@".contains(c));
    if !name_ok {
        return Err(invalid(
            data,
            format!(
                "'{}' is not a user name: up to 64 letters, digits, '.', '_', '-' or '@'",
                user.name
            ),
        ));
    }
    if user.role == Role::Ingest {
        return Err(invalid(
            data,
            "ingest is a role for tokens; a user is admin, analyst or viewer".into(),
        ));
    }
    if let Some(email) = &user.email
        && !(email.contains('@') && !email.contains(char::is_whitespace) && email.len() <= 254)
    {
        return Err(invalid(data, format!("'{email}' is not an e-mail address")));
    }
    super::check_scope(user.role, &user.scope).map_err(|m| invalid(data, m))
}

/// Adds a user; `password` none: they cannot sign in.
pub fn add(
    data: &Path,
    name: &str,
    email: Option<&str>,
    role: Role,
    scope: Scope,
    language: Option<crate::model::Lang>,
    password: Option<&str>,
) -> Result<UserRecord> {
    let user = UserRecord {
        name: name.to_string(),
        email: email.map(str::to_string),
        role,
        scope,
        language,
        password: password.map(hash_password).transpose()?,
        created: timestamp(Utc::now()),
    };
    check(data, &user)?;
    super::change(data, |users: &mut Vec<UserRecord>| {
        if users.iter().any(|u| u.name == name) {
            return Err(invalid(data, format!("a user named '{name}' exists")));
        }
        if let Some(email) = &user.email
            && users.iter().any(|u| {
                u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(email))
            })
        {
            return Err(invalid(
                data,
                format!("another user has the e-mail address {email}"),
            ));
        }
        users.push(user.clone());
        Ok(user)
    })
}

/// Sets a user's password; false when there is no such user.
pub fn set_password(data: &Path, name: &str, password: &str) -> Result<bool> {
    let hash = hash_password(password)?;
    super::change(data, |users: &mut Vec<UserRecord>| {
        Ok(match users.iter_mut().find(|u| u.name == name) {
            Some(user) => {
                user.password = Some(hash);
                true
            }
            None => false,
        })
    })
}

/// Removes a user; false when there is none of that name.
pub fn remove(data: &Path, name: &str) -> Result<bool> {
    super::remove::<UserRecord>(data, name)
}

pub fn list(data: &Path) -> Result<Vec<UserRecord>> {
    super::records(data)
}

/// The users of a data directory as the server and the scheduler check
/// them.
pub struct Users {
    file: Watched<UserRecord>,
}

impl Users {
    pub fn new(data: &Path) -> Users {
        Users {
            file: Watched::new(data),
        }
    }

    fn all(&self) -> Vec<UserRecord> {
        self.file.get()
    }

    /// The user of this name and password. Slow on purpose (argon2), also
    /// for unknown names; the check's memory is `memory`.
    pub fn sign_in(
        &self,
        name: &str,
        password: &str,
        memory: &mut CheckMemory,
    ) -> Option<UserRecord> {
        let user = self.all().into_iter().find(|u| u.name == name);
        let hash = user
            .as_ref()
            .and_then(|u| u.password.clone())
            .unwrap_or_else(|| decoy().to_string());
        let ok = verify(password, &hash, memory);
        user.filter(|u| ok && u.password.is_some())
    }

    /// The current record of a signed-in user (none once removed).
    pub fn get(&self, name: &str) -> Option<UserRecord> {
        self.all().into_iter().find(|u| u.name == name)
    }

    /// The user with this e-mail address (compared without case).
    pub fn by_email(&self, email: &str) -> Option<UserRecord> {
        self.all().into_iter().find(|u| {
            u.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(email.trim()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_with_argon2_and_checked() {
        let dir = tempfile::tempdir().expect("tmp");
        let scope = Scope {
            regions: vec!["DACH".into()],
            departments: vec![],
        };
        add(
            dir.path(),
            "anna",
            Some("anna@example.com"),
            Role::Viewer,
            scope.clone(),
            Some(crate::model::Lang::Fr),
            Some("correct horse"),
        )
        .expect("add");
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).expect("read");
        assert!(text.contains("$argon2id$") && !text.contains("correct horse"));
        let users = Users::new(dir.path());
        let anna = users
            .sign_in("anna", "correct horse", &mut CheckMemory::default())
            .expect("signed in");
        assert_eq!(anna.caller().scope, scope);
        assert_eq!(anna.language, Some(crate::model::Lang::Fr));
        assert!(
            users
                .sign_in("anna", "wrong", &mut CheckMemory::default())
                .is_none()
        );
        assert!(
            users
                .sign_in("bob", "correct horse", &mut CheckMemory::default())
                .is_none()
        );
        assert_eq!(
            users.by_email("ANNA@example.com").map(|u| u.name),
            Some("anna".into())
        );
        // no password: cannot sign in
        add(
            dir.path(),
            "list",
            Some("all@example.com"),
            Role::Analyst,
            Scope::default(),
            None,
            None,
        )
        .expect("add");
        assert!(
            users
                .sign_in("list", "", &mut CheckMemory::default())
                .is_none()
        );
        assert!(
            add(
                dir.path(),
                "x y",
                None,
                Role::Analyst,
                Scope::default(),
                None,
                None
            )
            .is_err()
        );
        assert!(
            add(
                dir.path(),
                "i",
                None,
                Role::Ingest,
                Scope::default(),
                None,
                None
            )
            .is_err()
        );
        assert!(set_password(dir.path(), "anna", "new one").expect("set"));
        assert!(
            users
                .sign_in("anna", "correct horse", &mut CheckMemory::default())
                .is_none()
        );
        assert!(remove(dir.path(), "anna").expect("remove"));
        assert!(users.get("anna").is_none());
    }
}
