//! Helpers shared by the integration tests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use uptake::config::Settings;
use uptake::engine::Engine;
use uptake::kpi::{self, Request};
use uptake::store::Store;

/// Root of the repository (for `sample_data/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `uptake` binary with a data directory, no config file and the
/// settings' defaults (no future event times).
pub fn uptake_command(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_uptake"));
    command
        .arg("--data")
        .arg(data)
        .env_remove("UPTAKE_CONFIG")
        .env_remove("UPTAKE_TIMEZONE")
        .env_remove("UPTAKE_IMPORT_ALLOW_FUTURE")
        .current_dir(data.parent().unwrap_or(data));
    command
}

/// Runs the `uptake` binary on a data directory of the sample, whose
/// weeks (and the events the tests post) run into 2027: future event
/// times are allowed.
pub fn uptake(data: &Path, args: &[&str]) -> Output {
    uptake_command(data)
        .args(args)
        .env("UPTAKE_IMPORT_ALLOW_FUTURE", "true")
        .output()
        .expect("run uptake")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Imports the three tables and the events of a directory laid out like
/// `sample_data/` (whose weeks run into 2027: future times are allowed).
pub fn import_dir(store: &mut Store, dir: &Path, settings: &Settings) {
    let mut settings = settings.clone();
    settings.import.allow_future = true;
    let settings = &settings;
    store.import_waves(&dir.join("waves.csv")).expect("waves");
    store
        .import_directory(&dir.join("directory.csv"), settings)
        .expect("directory");
    store
        .import_modules(&dir.join("modules.csv"))
        .expect("modules");
    let pattern = format!("{}/events/*", dir.display());
    store
        .import_events(&[pattern], settings, false, false)
        .expect("events");
}

/// The KPI table as CSV through the SQL path, in process.
pub fn kpi_csv(store: &Store, settings: &Settings, dims: &str, from: &str, to: &str) -> String {
    table_csv(store, settings, dims, from, to, false)
}

/// The modules table as CSV through the SQL path, in process.
pub fn modules_csv(store: &Store, settings: &Settings, dims: &str, from: &str, to: &str) -> String {
    table_csv(store, settings, dims, from, to, true)
}

fn table_csv(
    store: &Store,
    settings: &Settings,
    dims: &str,
    from: &str,
    to: &str,
    modules: bool,
) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let engine = kpi::Source::new(Engine::open(store).await.expect("engine"));
        let request = Request {
            dims: kpi::parse_dimensions(dims).expect("dims"),
            from: from.parse().expect("from"),
            to: to.parse().expect("to"),
            filter: Default::default(),
            scope: Default::default(),
            protected: false,
        };
        if modules {
            let table = kpi::modules_table(&engine, settings, &request).await;
            return table.expect("modules").to_csv();
        }
        let rows = kpi::kpi_rows(&engine, settings, &request).await;
        kpi::kpi_table(&request.dims, &rows.expect("kpi")).to_csv()
    })
}

/// The password of the user `admin` of [`sample_state`].
pub const ADMIN_PASSWORD: &str = "sample admin password";

/// An admin token of [`sample_state`]'s data directory.
pub fn admin_token() -> String {
    sample();
    ADMIN_TOKEN.get().cloned().unwrap_or_default()
}

static ADMIN_TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A token of [`sample_state`]'s data directory with this role and scope.
pub fn sample_token(role: uptake::auth::Role, regions: &[&str], departments: &[&str]) -> String {
    let state = sample_state();
    let scope = kpi::Scope {
        regions: regions.iter().map(|s| s.to_string()).collect(),
        departments: departments.iter().map(|s| s.to_string()).collect(),
    };
    uptake::auth::tokens::create(
        &state.data_dir,
        uptake::auth::tokens::NewToken {
            role,
            scope,
            name: None,
            lifetime: Some(chrono::Duration::hours(1)),
        },
    )
    .expect("token")
    .0
}

/// The server's state over `sample_data/`, imported once per test run into
/// a temporary directory that lives as long as the tests, with an admin
/// token ([`admin_token`]) and a user `admin` ([`ADMIN_PASSWORD`]).
pub fn sample_state() -> std::sync::Arc<uptake::server::AppState> {
    sample().clone()
}

fn sample() -> &'static std::sync::Arc<uptake::server::AppState> {
    use std::sync::{Arc, OnceLock};
    static STATE: OnceLock<(tempfile::TempDir, Arc<uptake::server::AppState>)> = OnceLock::new();
    let (_, state) = STATE.get_or_init(|| {
        // Built on a thread of its own: tests call this from inside their
        // own runtimes.
        std::thread::spawn(|| {
            let tmp = tempfile::tempdir().expect("tmp");
            let settings = Settings::default();
            let mut store = Store::open(&tmp.path().join("data")).expect("store");
            import_dir(&mut store, &repo().join("sample_data"), &settings);
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            let state = runtime.block_on(async {
                let engine = Engine::open(&store).await.expect("engine");
                let dashboards = uptake::dashboard::load(
                    Some(&repo().join("dashboards")),
                    &engine.query_names(),
                )
                .expect("dashboards");
                let mut state = uptake::server::AppState::new(settings, &store, engine, dashboards)
                    .expect("state");
                state.reports =
                    uptake::report::load(Some(&repo().join("reports"))).expect("reports");
                state
            });
            let (token, _) = uptake::auth::tokens::create(
                store.root(),
                uptake::auth::tokens::NewToken {
                    role: uptake::auth::Role::Admin,
                    scope: Default::default(),
                    name: Some("tests-admin"),
                    lifetime: None,
                },
            )
            .expect("admin token");
            let _ = ADMIN_TOKEN.set(token);
            uptake::auth::users::add(
                store.root(),
                "admin",
                None,
                uptake::auth::Role::Admin,
                Default::default(),
                Some(ADMIN_PASSWORD),
            )
            .expect("admin user");
            (tmp, Arc::new(state))
        })
        .join()
        .expect("sample state")
    });
    state
}

/// A data directory with `sample_data/` imported through the CLI.
pub fn sample_store() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let sample = repo().join("sample_data");
    for (table, file) in [
        ("waves", "waves.csv"),
        ("directory", "directory.csv"),
        ("modules", "modules.csv"),
    ] {
        let out = uptake(
            &data,
            &["import", table, &sample.join(file).display().to_string()],
        );
        assert!(out.status.success(), "import {table}: {}", stderr(&out));
    }
    let pattern = format!("{}/events/*.parquet", sample.display());
    let out = uptake(&data, &["import", "events", &pattern]);
    assert!(out.status.success(), "import events: {}", stderr(&out));
    tmp
}

// Talking to `uptake serve` on loopback as a plain client does.

/// A reply as the client saw it.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection, as a plain client would
/// send it.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Reply> {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no complete answer"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_string(),
    })
}

pub fn get(port: u16, path: &str) -> Reply {
    request(port, "GET", path, &[], b"").expect("GET")
}

pub fn get_as(port: u16, token: &str, path: &str) -> Reply {
    let auth = format!("Bearer {token}");
    request(port, "GET", path, &[("Authorization", &auth)], b"").expect("GET")
}

/// `uptake serve` on a fixed loopback port; killed with SIGKILL when
/// dropped.
pub struct Server {
    pub child: Child,
}

impl Server {
    /// Starts it and waits until `/health` answers (with TLS, until it
    /// accepts connections). Future event times are allowed unless `env`
    /// says otherwise.
    pub fn start(data: &Path, port: u16, env: &[(&str, &str)]) -> Server {
        let mut command = uptake_command(data);
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("UPTAKE_IMPORT_ALLOW_FUTURE", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            command.env(k, v);
        }
        let tls = env.iter().any(|(k, _)| *k == "UPTAKE_SERVER_TLS_CERT");
        let mut child = command.spawn().expect("uptake serve");
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
        Server { child }
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
