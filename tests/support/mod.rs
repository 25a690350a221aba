//! Helpers shared by the integration tests: the `uptake` binary
//! ([`uptake`]), data fixtures ([`fixtures`]), one HTTP client
//! ([`http`]), the sample app built as `uptake serve` builds it
//! ([`sample`]), and `uptake serve` as a process ([`serve`]).

pub mod fixtures;
pub mod http;
pub mod mail;
pub mod sample;
pub mod serve;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use fixtures::{import_dir, kpi_csv, modules_csv, sample_store};
pub use http::{Reply, get, get_as, request};
pub use sample::{ADMIN_PASSWORD, admin_token, sample_port, sample_state, sample_token};
pub use serve::Server;

/// Root of the repository (for `sample_data/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The time the tests on the sample take as now: the Wednesday after its
/// last week (2027-W02), so that its latest week is its last.
pub const SAMPLE_NOW: &str = "2027-01-20T12:00:00Z";

/// The settings of the sample's tests: the defaults, at [`SAMPLE_NOW`].
pub fn sample_settings() -> uptake::config::Settings {
    uptake::config::Settings {
        now: Some(SAMPLE_NOW.parse().expect("time")),
        region_names: uptake::sample::region_names(),
        ..Default::default()
    }
}

/// The `uptake` binary, its messages in English whatever the machine's
/// locale: the tests read them.
pub fn uptake_binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_uptake"));
    command.env("UPTAKE_LANG", "en");
    command
}

/// The `uptake` binary with a data directory, no config file and the
/// settings' defaults (no future event times).
pub fn uptake_command(data: &Path) -> Command {
    let mut command = uptake_binary();
    command
        .arg("--data")
        .arg(data)
        .env_remove("UPTAKE_CONFIG")
        .env_remove("UPTAKE_TIMEZONE")
        .env_remove("UPTAKE_IMPORT_ALLOW_FUTURE")
        .env_remove("UPTAKE_NOW")
        .current_dir(data.parent().unwrap_or(data));
    command
}

/// Runs the `uptake` binary on a data directory of the sample, whose
/// weeks (and the events the tests post) run into 2027: future event
/// times are allowed, and now is [`SAMPLE_NOW`].
pub fn uptake(data: &Path, args: &[&str]) -> Output {
    uptake_command(data)
        .args(args)
        .env("UPTAKE_IMPORT_ALLOW_FUTURE", "true")
        .env("UPTAKE_NOW", SAMPLE_NOW)
        .output()
        .expect("run uptake")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Binds a free loopback port and lets it go.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A new token of a data directory with this role.
pub fn token_with(data: &Path, role: &str) -> String {
    let out = uptake(data, &["token", "create", "--role", role]);
    assert!(out.status.success(), "{out:?}");
    stdout(&out).trim().to_string()
}

/// Polls `done` every 200 ms until it holds; fails naming `what` after
/// `limit`.
pub fn wait_for(what: &str, limit: std::time::Duration, mut done: impl FnMut() -> bool) {
    let started = std::time::Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
