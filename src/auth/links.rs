//! Signed links: addresses that work without signing in, for what uptake
//! sends out (a report's PDF in a Teams or Slack message, the unsubscribe
//! link of a mail). A link carries what it grants and until when, signed
//! with HMAC-SHA256 under a key kept in the data directory
//! (`<data>/link.key`, made on first use, readable by its owner only).
//! Changing or deleting the key ends every link given out.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Longest token accepted: what uptake makes is far shorter, and a longer
/// one is not worth the MAC.
pub const MAX_TOKEN_CHARS: usize = 1024;

/// Why a link does not work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the link is malformed")]
    Malformed,
    #[error("the link's signature is wrong")]
    Forged,
    #[error("the link expired at {0}")]
    Expired(chrono::DateTime<chrono::Utc>),
}

/// The key links are signed with.
#[derive(Clone)]
pub struct Links {
    key: Vec<u8>,
}

fn key_path(data: &Path) -> PathBuf {
    data.join("link.key")
}

impl Links {
    /// The data directory's key, made when there is none yet.
    pub fn open(data: &Path) -> std::io::Result<Links> {
        let path = key_path(data);
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() >= 32 => {
                return Ok(Links {
                    key: text.trim().as_bytes().to_vec(),
                });
            }
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{}: a link key has at least 32 characters; delete the file to make a new one (links given out stop working)",
                    path.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let key: String = (0..32)
            .map(|_| format!("{:02x}", rand::random::<u8>()))
            .collect();
        std::fs::create_dir_all(data)?;
        let tmp = data.join(format!(".link.key.{:016x}", rand::random::<u64>()));
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(&tmp)?;
            f.write_all(key.as_bytes())?;
            f.sync_all()?;
        }
        // Two processes making a key at once: the first link wins, and
        // both read it back.
        let linked = std::fs::hard_link(&tmp, &path);
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        let text = std::fs::read_to_string(&path)?;
        Ok(Links {
            key: text.trim().as_bytes().to_vec(),
        })
    }

    fn mac(&self, payload: &str) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(payload.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// A token for `grant` (plain text without `~`) that works until
    /// `expires` (`None`: until the key changes).
    pub fn sign(&self, grant: &str, expires: Option<chrono::DateTime<chrono::Utc>>) -> String {
        let payload = format!("{}~{grant}", expires.map_or(0, |t| t.timestamp()));
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            URL_SAFE_NO_PAD.encode(self.mac(&payload))
        )
    }

    /// What a token grants, when its signature holds and it has not
    /// expired at `now`.
    pub fn check(
        &self,
        token: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<String, Refused> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(Refused::Malformed);
        }
        let (payload, mac) = token.split_once('.').ok_or(Refused::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|p| String::from_utf8(p).ok())
            .ok_or(Refused::Malformed)?;
        let mac = URL_SAFE_NO_PAD
            .decode(mac)
            .map_err(|_| Refused::Malformed)?;
        let mut check = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        check.update(payload.as_bytes());
        check.verify_slice(&mac).map_err(|_| Refused::Forged)?;
        let (expires, grant) = payload.split_once('~').ok_or(Refused::Malformed)?;
        let expires: i64 = expires.parse().map_err(|_| Refused::Malformed)?;
        if expires != 0 {
            let at = chrono::DateTime::from_timestamp(expires, 0).ok_or(Refused::Malformed)?;
            if now >= at {
                return Err(Refused::Expired(at));
            }
        }
        Ok(grant.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_works_until_it_expires_and_not_once_changed() {
        let dir = tempfile::tempdir().expect("dir");
        let links = Links::open(dir.path()).expect("key");
        let now = chrono::Utc::now();
        let token = links.sign(
            "pdf:steering@2026-11-30",
            Some(now + chrono::Duration::days(1)),
        );
        assert_eq!(
            links.check(&token, now).as_deref(),
            Ok("pdf:steering@2026-11-30")
        );
        assert!(matches!(
            links.check(&token, now + chrono::Duration::days(2)),
            Err(Refused::Expired(_))
        ));
        // The same key from the file; another directory's key refuses.
        let again = Links::open(dir.path()).expect("key");
        assert!(again.check(&token, now).is_ok());
        let other = Links::open(tempfile::tempdir().expect("dir").path()).expect("key");
        assert_eq!(other.check(&token, now), Err(Refused::Forged));
        // A grant changed under its signature, garbage, a long token.
        let (_, mac) = token.split_once('.').expect("two parts");
        let forged = format!("{}.{mac}", URL_SAFE_NO_PAD.encode("0~pdf:other"));
        assert_eq!(links.check(&forged, now), Err(Refused::Forged));
        assert_eq!(links.check("nonsense", now), Err(Refused::Malformed));
        assert_eq!(links.check(&"a".repeat(5000), now), Err(Refused::Malformed));
        let forever = links.sign("unsubscribe:x", None);
        assert!(
            links
                .check(&forever, now + chrono::Duration::days(3650))
                .is_ok()
        );
    }
}
