//! Real servers on loopback that uptake delivers to: an SMTP server
//! (Python's aiosmtpd) and the Teams and Slack receivers of
//! `tests/chat/receiver.js`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, repo};

/// `aiosmtpd` on a free loopback port, storing mail in a maildir.
pub struct MailServer {
    child: Child,
    pub port: u16,
    maildir: PathBuf,
}

impl MailServer {
    pub fn start(root: &Path) -> MailServer {
        let port = free_port();
        let maildir = root.join("maildir");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m aiosmtpd (pip install aiosmtpd; .ci/install does)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        MailServer {
            child,
            port,
            maildir,
        }
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(dir) = std::fs::read_dir(self.maildir.join(sub)) {
                for e in dir.flatten() {
                    out.push(std::fs::read_to_string(e.path()).unwrap_or_default());
                }
            }
        }
        out
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tests/chat/receiver.js` (Node.js, Microsoft's Adaptive Cards SDK) on a
/// free loopback port: Teams at `/teams/...`, Slack at `/slack/...`, a
/// failing receiver at `/fail/...`.
pub struct ChatReceiver {
    child: Child,
    pub port: u16,
    record: PathBuf,
}

impl ChatReceiver {
    pub fn start(root: &Path) -> ChatReceiver {
        let port = free_port();
        let record = root.join(format!("chat-{port}.jsonl"));
        let child = Command::new("node")
            .arg(repo().join("tests/chat/receiver.js"))
            .arg(port.to_string())
            .arg(&record)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node tests/chat/receiver.js (npm ci --prefix tests/chat; .ci/install does)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the chat receiver did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        ChatReceiver {
            child,
            port,
            record,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request received so far: path, idempotency key, whether it
    /// was accepted, the problems found, and the body.
    pub fn received(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("record line"))
            .collect()
    }
}

impl Drop for ChatReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
