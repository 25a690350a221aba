//! `uptake serve` as a process, as an operator runs it: on port 0, its
//! address read from what it prints.

use std::io::BufRead;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::http::request;
use super::uptake_command;

/// `uptake serve` on a loopback port it picked; killed with SIGKILL when
/// dropped.
pub struct Server {
    pub child: Child,
    /// The port it listens on.
    pub port: u16,
    said: Said,
}

impl Server {
    /// Starts it and waits until `/health` answers (with TLS, until it
    /// accepts connections). Future event times are allowed and now is
    /// [`super::SAMPLE_NOW`] unless `env` says otherwise.
    pub fn start(data: &Path, env: &[(&str, &str)]) -> Server {
        Server::start_on(data, 0, env)
    }

    /// Starts it on a port chosen before (to restart it where clients
    /// expect it); 0 lets it pick one.
    pub fn start_on(data: &Path, port: u16, env: &[(&str, &str)]) -> Server {
        Server::start_command(uptake_command(data), port, env)
    }

    /// Starts `uptake serve` from a command that names the data directory.
    pub fn start_command(mut command: Command, port: u16, env: &[(&str, &str)]) -> Server {
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("UPTAKE_IMPORT_ALLOW_FUTURE", "true")
            .env("UPTAKE_NOW", super::SAMPLE_NOW)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let tls = env.iter().any(|(k, _)| *k == "UPTAKE_SERVER_TLS_CERT");
        let mut child = command.spawn().expect("uptake serve");
        let said = Said::default();
        let port = listening_port(&mut child, &said);
        let started = Instant::now();
        loop {
            let up = if tls {
                TcpStream::connect(("127.0.0.1", port)).is_ok()
            } else {
                request(port, "GET", "/health", &[], b"").is_ok_and(|r| r.status == 200)
            };
            if up {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("uptake serve stopped: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "serve did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server { child, port, said }
    }

    /// What it printed on stderr so far (its log), up to 4 MiB.
    pub fn output(&self) -> String {
        self.said.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The server's memory now and at its peak, in KiB (VmRSS and VmHWM
    /// of /proc).
    pub fn memory_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("/proc status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// SIGTERM, as systemd stops a service; the exit status and how long
    /// the server took to exit.
    pub fn terminate(mut self) -> (std::process::ExitStatus, Duration) {
        let started = Instant::now();
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let status = self.child.wait().expect("wait");
        (status, started.elapsed())
    }

    /// SIGKILL: no flush, no clean-up.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the server printed, up to [`SAID_AT_MOST`] bytes.
type Said = std::sync::Arc<std::sync::Mutex<String>>;

const SAID_AT_MOST: usize = 4 << 20;

/// The port of the address the server prints once it listens; what it
/// prints is kept in `said` (the rest is read and dropped, so that it
/// never blocks on a full pipe).
fn listening_port(child: &mut Child, said: &Said) -> u16 {
    let stderr = child.stderr.take().expect("stderr");
    let (found, port) = std::sync::mpsc::channel();
    let saying = said.clone();
    std::thread::spawn(move || {
        let mut found = Some(found);
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut said) = saying.lock()
                && said.len() < SAID_AT_MOST
            {
                said.push_str(&line);
                said.push('\n');
            }
            let address = line
                .strip_prefix("uptake serves ")
                .and_then(|rest| rest.split("://").nth(1))
                .and_then(|rest| rest.split('/').next())
                .and_then(|a| a.parse::<std::net::SocketAddr>().ok());
            if let Some(address) = address
                && let Some(found) = found.take()
            {
                let _ = found.send(address.port());
            }
        }
    });
    match port.recv_timeout(Duration::from_secs(180)) {
        Ok(port) => port,
        Err(_) => panic!(
            "uptake serve did not say where it listens ({:?}): {}",
            child.try_wait(),
            said.lock().map(|s| s.clone()).unwrap_or_default()
        ),
    }
}
