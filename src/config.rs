//! Settings: `uptake.toml`, every key overridable by an `UPTAKE_*`
//! environment variable, with the defaults of SPEC.md.
//!
//! The environment variable of a key is `UPTAKE_` followed by the key in
//! upper case with dots as underscores: `regular.window_weeks` is
//! `UPTAKE_REGULAR_WINDOW_WEEKS`. Lists (`activity.exclude_actions`) are
//! comma separated in the environment.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::model::event::TimeRange;
use crate::model::tables::MAX_NAME_CHARS;
use crate::model::{Decimal, Week};

/// A directory of definitions (dashboards, reports): the one given, else
/// `./<name>` when it exists, else none (the built-in definitions).
pub fn given_or_local(given: Option<&Path>, name: &str) -> Option<PathBuf> {
    match given {
        Some(dir) => Some(dir.to_path_buf()),
        None => {
            let dir = PathBuf::from(name);
            dir.is_dir().then_some(dir)
        }
    }
}

/// Checks the file name of a definition (a report, an alert): at most 64
/// letters, digits, `-` and `_`, as it appears in addresses and logs.
pub fn check_definition_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err("a file name may hold only letters, digits, '-' and '_' (at most 64)".into());
    }
    Ok(())
}

/// The `*.toml` files of a directory of definitions, sorted by name: each
/// file's stem and text. A file that cannot be read is named with its
/// error.
pub fn definition_files(dir: &Path) -> Result<Vec<(String, String)>, (PathBuf, std::io::Error)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| (dir.to_path_buf(), e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|e| (path.clone(), e))?;
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((stem, text))
        })
        .collect()
}

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("setting {key}: {message}")]
    Invalid { key: &'static str, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// All settings of SPEC.md section 2, with their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// IANA time zone of the organisation: events are mapped to local dates
    /// and ISO weeks in it.
    pub timezone: String,
    /// A region's own IANA time zone (region → zone): its licensees'
    /// events are mapped to local dates and weeks in it (SPEC.md section
    /// 1); other regions use `timezone`.
    pub region_timezones: std::collections::BTreeMap<String, String>,
    /// A region's names for readers by language (region → language →
    /// name, e.g. `NORTH = { en = "Northern Europe", de = "Nordeuropa" }`);
    /// ids stay ids in the API, CSV and filters.
    pub region_names: std::collections::BTreeMap<String, crate::model::tables::Names>,
    pub regular: Regular,
    pub module: ModuleSettings,
    pub privacy: Privacy,
    pub activity: Activity,
    pub targets: Targets,
    /// The mail server that scheduled reports are sent through.
    pub smtp: Smtp,
    /// Retries of scheduled report deliveries.
    pub delivery: Delivery,
    /// Which event times imports and live ingestion accept.
    pub import: Import,
    /// Live ingestion over HTTP (`POST /api/v1/events`).
    pub ingest: Ingest,
    /// Sign-in and TLS of `uptake serve`.
    pub server: Server,
    /// The size of the audit log.
    pub audit: AuditSettings,
    /// The time uptake takes as now when it chooses the latest week
    /// ([`Settings::latest_week`]) and dates reports (`UPTAKE_NOW`, RFC
    /// 3339): for replaying a past day and for tests. Default: the system
    /// clock. Event times of imports and ingestion are always checked
    /// against the system clock.
    #[serde(skip)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

/// Bounds of the audit log (`<data>/audit.jsonl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSettings {
    /// Longest field of a line (user name, address asked for, detail);
    /// longer ones are cut and end in `…`.
    pub max_field_chars: usize,
    /// The log is rotated into `audit.jsonl.1` when it reaches this size.
    pub max_file_mib: u64,
    /// Rotated files kept (`audit.jsonl.1` to `.N`); older ones are
    /// removed.
    pub keep_files: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        AuditSettings {
            max_field_chars: 1024,
            max_file_mib: 64,
            keep_files: 4,
        }
    }
}

/// Sign-in sessions and TLS of the web server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Server {
    /// PEM certificate chain; with `tls_key`, the server speaks HTTPS only.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    pub tls_key: Option<PathBuf>,
    /// A web sign-in lasts this long.
    pub session_hours: u32,
    /// Mark the session cookie `Secure` even without `tls_cert` (behind a
    /// proxy that speaks HTTPS). With TLS it is always `Secure`.
    pub secure_cookies: bool,
    /// A client must send a request's head (request line and headers)
    /// within this time, or the connection is closed.
    pub header_timeout_seconds: u64,
    /// A client must send a request's body within this time (ingestion,
    /// forms), or gets 408.
    pub body_timeout_seconds: u64,
    /// A keep-alive connection without a request for this long is closed.
    pub idle_timeout_seconds: u64,
    /// On SIGTERM or Ctrl-C, requests in flight get this long to finish;
    /// then the remaining connections are closed and the ingestion log is
    /// flushed.
    pub shutdown_grace_seconds: u64,
    /// Open connections beyond which new ones wait in the kernel's queue.
    pub max_connections: u32,
    /// Password checks (argon2, about 50 MB and 0.1 s each) that run at
    /// once; further sign-ins wait.
    pub sign_in_concurrency: u32,
    /// Sign-ins that may wait for a password check; beyond them the answer
    /// is 503.
    pub sign_in_queue: u32,
    /// Failed sign-ins from one address within 15 minutes after which its
    /// sign-ins get 429 until the 15 minutes are over. Colleagues behind
    /// one proxy share an address: keep it well above their mistakes.
    pub sign_in_failures_per_address: u32,
    /// PDF reports rendered at once (each takes a core for about a second);
    /// further requests wait, and beyond `render_queue` get 503.
    pub render_concurrency: u32,
    /// PDF requests that may wait for a render.
    pub render_queue: u32,
    /// Memory for cached figures and API answers, in MiB. Answers larger
    /// than a sixteenth of it are computed for each request, not cached.
    pub cache_mib: u64,
    /// The address readers reach uptake at (`https://uptake.example.com`):
    /// links in messages (dashboards, PDF downloads, unsubscribe) start
    /// with it. Empty: messages carry no links, and Teams and Slack
    /// deliveries of reports (whose PDF is a link) fail naming this.
    pub public_url: String,
    /// How long a PDF link in a Teams or Slack message works.
    pub link_days: u32,
}

impl Default for Server {
    fn default() -> Self {
        Server {
            tls_cert: None,
            tls_key: None,
            session_hours: 8,
            secure_cookies: false,
            header_timeout_seconds: 10,
            body_timeout_seconds: 60,
            idle_timeout_seconds: 60,
            shutdown_grace_seconds: 10,
            max_connections: 1024,
            sign_in_concurrency: 2,
            sign_in_queue: 16,
            sign_in_failures_per_address: 100,
            render_concurrency: 2,
            render_queue: 8,
            cache_mib: 256,
            public_url: String::new(),
            link_days: 14,
        }
    }
}

/// How to reach the mail server. The password is best given as
/// `UPTAKE_SMTP_PASSWORD` rather than in the file.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Smtp {
    /// Host name; empty: e-mail delivery is not configured.
    pub host: String,
    pub port: u16,
    /// `none` (plain, for a relay on the same host), `starttls` or `tls`.
    pub security: SmtpSecurity,
    pub username: String,
    pub password: String,
    /// Sender address, e.g. `uptake <uptake@example.com>`.
    pub from: String,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .field("from", &self.from)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    None,
    #[default]
    Starttls,
    Tls,
}

impl std::str::FromStr for SmtpSecurity {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "none" => Ok(SmtpSecurity::None),
            "starttls" => Ok(SmtpSecurity::Starttls),
            "tls" => Ok(SmtpSecurity::Tls),
            _ => Err(format!("'{s}': use none, starttls or tls")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Delivery {
    /// Attempts per target before a delivery counts as failed.
    pub max_attempts: u32,
    /// Wait before the first retry; each further retry waits four times
    /// longer, at most six hours.
    pub retry_seconds: u64,
    /// Time limit of one SMTP or webhook attempt.
    pub timeout_seconds: u64,
}

/// Which event times are plausible (SPEC.md section 1). An event before
/// 2000-01-01, or more than `max_future_minutes` after the moment it is
/// imported or posted, is bad input with its row; so is a year that is not
/// written with four digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Import {
    /// How far after now an event may lie (clocks of log shippers drift).
    pub max_future_minutes: u32,
    /// Accept event times in the future (up to the year 9999): for tests
    /// and migrations of data with planned dates. Also the option
    /// `--allow-future` of `uptake import events` and `uptake serve`.
    pub allow_future: bool,
}

impl Default for Import {
    fn default() -> Self {
        Import {
            max_future_minutes: 60,
            allow_future: false,
        }
    }
}

/// Limits of live ingestion. Beyond them requests are refused with 413,
/// 429 or 503 rather than held in memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Ingest {
    /// Largest request body, before and after gzip decompression.
    pub max_body_bytes: u64,
    /// How often acknowledged events are written into the Parquet store.
    pub flush_milliseconds: u64,
    /// Acknowledged events not yet in the Parquet store beyond which new
    /// batches get 429.
    pub max_pending_events: u64,
    /// Free disk space below which new batches get 503.
    pub min_free_disk_mb: u64,
    /// How long an `Idempotency-Key` is remembered.
    pub idempotency_days: u32,
    /// Event files of one date beyond which they are merged into one.
    pub compact_files: u32,
    /// Patterns of event files that `serve` registers in place as they
    /// appear (see `uptake import events --in-place`); none by default.
    pub watch: Vec<String>,
    /// How often the watched patterns are listed.
    pub watch_seconds: u64,
}

impl Default for Ingest {
    fn default() -> Self {
        Ingest {
            max_body_bytes: 16 * 1024 * 1024,
            flush_milliseconds: 1000,
            max_pending_events: 1_000_000,
            min_free_disk_mb: 512,
            idempotency_days: 7,
            compact_files: 8,
            watch: Vec::new(),
            watch_seconds: 60,
        }
    }
}

impl Default for Smtp {
    fn default() -> Self {
        Smtp {
            host: String::new(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: String::new(),
            password: String::new(),
            from: String::new(),
        }
    }
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery {
            max_attempts: 5,
            retry_seconds: 60,
            timeout_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Regular {
    /// W: number of weeks in the window ending with a week (1 to 52).
    pub window_weeks: u32,
    /// K: active weeks in the window that make a regular user.
    pub min_active_weeks: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModuleSettings {
    /// θ: share of a segment's eligible licensees that must use a module for
    /// it to count as in use.
    pub min_user_share: Decimal,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Privacy {
    /// k: segments with fewer eligible licensees are suppressed.
    pub min_group_size: u32,
    /// Suppress further segments so that no suppressed one can be computed
    /// from shown ones and a shown total (`kpi::protect`), in everything
    /// the server shows and reports send.
    pub complementary_suppression: bool,
    /// Pages and exports that list licensees by id, for admins only.
    pub user_level_views: bool,
    /// Key of the keyed hash (HMAC-SHA-256) that replaces user ids when the
    /// directory and events are imported, so raw ids never reach the data
    /// directory. Empty: ids are stored as given. Best given as
    /// `UPTAKE_PRIVACY_PSEUDONYM_KEY`.
    pub pseudonym_key: String,
}

impl std::fmt::Debug for Privacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Privacy")
            .field("min_group_size", &self.min_group_size)
            .field("complementary_suppression", &self.complementary_suppression)
            .field("user_level_views", &self.user_level_views)
            .field(
                "pseudonym_key",
                &if self.pseudonym_key.is_empty() {
                    ""
                } else {
                    "(set)"
                },
            )
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Activity {
    /// Actions that never make a user active.
    pub exclude_actions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Targets {
    /// Target of the active licensee rate (a segment passes above it).
    pub active_licensee_rate: Decimal,
    /// Target of module utilization (a segment passes above it).
    pub module_utilization: Decimal,
    /// The wave others are compared with on the adoption curve, at the
    /// same week since go-live; empty: the pilot, the wave with the
    /// earliest go-live.
    pub reference_wave: String,
    /// A wave more than this many percentage points below the reference
    /// wave's active licensee rate is flagged as behind it.
    pub behind_reference_points: u32,
}

fn dec(s: &str) -> Decimal {
    s.parse()
        .unwrap_or_else(|_| unreachable!("literal decimal {s}"))
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            timezone: "UTC".into(),
            region_timezones: Default::default(),
            region_names: Default::default(),
            regular: Regular::default(),
            module: ModuleSettings::default(),
            privacy: Privacy::default(),
            activity: Activity::default(),
            targets: Targets::default(),
            smtp: Smtp::default(),
            delivery: Delivery::default(),
            import: Import::default(),
            ingest: Ingest::default(),
            server: Server::default(),
            audit: AuditSettings::default(),
            now: None,
        }
    }
}

impl Default for Regular {
    fn default() -> Self {
        Regular {
            window_weeks: 4,
            min_active_weeks: 3,
        }
    }
}

impl Default for ModuleSettings {
    fn default() -> Self {
        ModuleSettings {
            min_user_share: dec("0.2"),
        }
    }
}

impl Default for Privacy {
    fn default() -> Self {
        Privacy {
            min_group_size: 5,
            complementary_suppression: true,
            user_level_views: false,
            pseudonym_key: String::new(),
        }
    }
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            exclude_actions: vec!["login".into(), "logout".into()],
        }
    }
}

impl Default for Targets {
    fn default() -> Self {
        Targets {
            active_licensee_rate: dec("0.75"),
            module_utilization: dec("0.5"),
            reference_wave: String::new(),
            behind_reference_points: 10,
        }
    }
}

impl Settings {
    /// Loads settings: the file (if any), then the environment on top.
    ///
    /// `path` is the `--config` option; without it `./uptake.toml` is read
    /// when it exists.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let default_path = Path::new("uptake.toml");
        let path = match path {
            Some(p) => Some(p),
            None if default_path.exists() => Some(default_path),
            None => None,
        };
        let mut settings = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| Error::Read {
                    path: p.to_path_buf(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| Error::Parse {
                    path: p.to_path_buf(),
                    message: e.to_string(),
                })?
            }
            None => Settings::default(),
        };
        settings.apply_env(|var| std::env::var(var).ok())?;
        settings.validate()?;
        Ok(settings)
    }

    /// Applies `UPTAKE_*` overrides read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        fn parse<T: std::str::FromStr>(var: &str, v: &str) -> Result<T>
        where
            T::Err: std::fmt::Display,
        {
            v.parse().map_err(|e: T::Err| Error::Env {
                var: var.to_string(),
                message: e.to_string(),
            })
        }
        if let Some(v) = get("UPTAKE_TIMEZONE") {
            self.timezone = v;
        }
        if let Some(v) = get("UPTAKE_REGION_TIMEZONES") {
            // REGION=ZONE;REGION=ZONE (regions may hold commas).
            self.region_timezones = v
                .split(';')
                .filter(|p| !p.trim().is_empty())
                .map(|pair| {
                    pair.split_once('=')
                        .map(|(r, z)| (r.trim().to_string(), z.trim().to_string()))
                        .ok_or_else(|| Error::Env {
                            var: "UPTAKE_REGION_TIMEZONES".into(),
                            message: format!(
                                "'{pair}' is not REGION=ZONE (e.g. APAC=Asia/Tokyo;Americas=America/New_York)"
                            ),
                        })
                })
                .collect::<Result<_>>()?;
        }
        if let Some(v) = get("UPTAKE_NOW") {
            let now = chrono::DateTime::parse_from_rfc3339(&v).map_err(|e| Error::Env {
                var: "UPTAKE_NOW".into(),
                message: format!("'{v}' is not an RFC 3339 time (e.g. 2027-01-20T12:00:00Z): {e}"),
            })?;
            self.now = Some(now.with_timezone(&chrono::Utc));
        }
        if let Some(v) = get("UPTAKE_REGULAR_WINDOW_WEEKS") {
            self.regular.window_weeks = parse("UPTAKE_REGULAR_WINDOW_WEEKS", &v)?;
        }
        if let Some(v) = get("UPTAKE_REGULAR_MIN_ACTIVE_WEEKS") {
            self.regular.min_active_weeks = parse("UPTAKE_REGULAR_MIN_ACTIVE_WEEKS", &v)?;
        }
        if let Some(v) = get("UPTAKE_MODULE_MIN_USER_SHARE") {
            self.module.min_user_share = parse("UPTAKE_MODULE_MIN_USER_SHARE", &v)?;
        }
        if let Some(v) = get("UPTAKE_PRIVACY_MIN_GROUP_SIZE") {
            self.privacy.min_group_size = parse("UPTAKE_PRIVACY_MIN_GROUP_SIZE", &v)?;
        }
        for (var, field) in [
            (
                "UPTAKE_PRIVACY_COMPLEMENTARY_SUPPRESSION",
                &mut self.privacy.complementary_suppression,
            ),
            (
                "UPTAKE_PRIVACY_USER_LEVEL_VIEWS",
                &mut self.privacy.user_level_views,
            ),
            (
                "UPTAKE_SERVER_SECURE_COOKIES",
                &mut self.server.secure_cookies,
            ),
            ("UPTAKE_IMPORT_ALLOW_FUTURE", &mut self.import.allow_future),
        ] {
            if let Some(v) = get(var) {
                *field = parse(var, &v)?;
            }
        }
        if let Some(v) = get("UPTAKE_PRIVACY_PSEUDONYM_KEY") {
            self.privacy.pseudonym_key = v;
        }
        if let Some(v) = get("UPTAKE_SERVER_TLS_CERT") {
            self.server.tls_cert = Some(v.into());
        }
        if let Some(v) = get("UPTAKE_SERVER_TLS_KEY") {
            self.server.tls_key = Some(v.into());
        }
        if let Some(v) = get("UPTAKE_SERVER_SESSION_HOURS") {
            self.server.session_hours = parse("UPTAKE_SERVER_SESSION_HOURS", &v)?;
        }
        for (var, field) in [
            (
                "UPTAKE_SERVER_HEADER_TIMEOUT_SECONDS",
                &mut self.server.header_timeout_seconds,
            ),
            (
                "UPTAKE_SERVER_BODY_TIMEOUT_SECONDS",
                &mut self.server.body_timeout_seconds,
            ),
            (
                "UPTAKE_SERVER_IDLE_TIMEOUT_SECONDS",
                &mut self.server.idle_timeout_seconds,
            ),
            (
                "UPTAKE_SERVER_SHUTDOWN_GRACE_SECONDS",
                &mut self.server.shutdown_grace_seconds,
            ),
            ("UPTAKE_SERVER_CACHE_MIB", &mut self.server.cache_mib),
        ] {
            if let Some(v) = get(var) {
                *field = parse(var, &v)?;
            }
        }
        for (var, field) in [
            (
                "UPTAKE_SERVER_MAX_CONNECTIONS",
                &mut self.server.max_connections,
            ),
            (
                "UPTAKE_SERVER_SIGN_IN_CONCURRENCY",
                &mut self.server.sign_in_concurrency,
            ),
            (
                "UPTAKE_SERVER_SIGN_IN_QUEUE",
                &mut self.server.sign_in_queue,
            ),
            (
                "UPTAKE_SERVER_SIGN_IN_FAILURES_PER_ADDRESS",
                &mut self.server.sign_in_failures_per_address,
            ),
            (
                "UPTAKE_SERVER_RENDER_CONCURRENCY",
                &mut self.server.render_concurrency,
            ),
            ("UPTAKE_SERVER_RENDER_QUEUE", &mut self.server.render_queue),
        ] {
            if let Some(v) = get(var) {
                *field = parse(var, &v)?;
            }
        }
        if let Some(v) = get("UPTAKE_ACTIVITY_EXCLUDE_ACTIONS") {
            self.activity.exclude_actions = v
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect();
        }
        if let Some(v) = get("UPTAKE_TARGETS_ACTIVE_LICENSEE_RATE") {
            self.targets.active_licensee_rate = parse("UPTAKE_TARGETS_ACTIVE_LICENSEE_RATE", &v)?;
        }
        if let Some(v) = get("UPTAKE_TARGETS_MODULE_UTILIZATION") {
            self.targets.module_utilization = parse("UPTAKE_TARGETS_MODULE_UTILIZATION", &v)?;
        }
        if let Some(v) = get("UPTAKE_TARGETS_REFERENCE_WAVE") {
            self.targets.reference_wave = v;
        }
        if let Some(v) = get("UPTAKE_TARGETS_BEHIND_REFERENCE_POINTS") {
            self.targets.behind_reference_points =
                parse("UPTAKE_TARGETS_BEHIND_REFERENCE_POINTS", &v)?;
        }
        for (var, field) in [
            ("UPTAKE_SMTP_HOST", &mut self.smtp.host),
            ("UPTAKE_SMTP_USERNAME", &mut self.smtp.username),
            ("UPTAKE_SMTP_PASSWORD", &mut self.smtp.password),
            ("UPTAKE_SMTP_FROM", &mut self.smtp.from),
        ] {
            if let Some(v) = get(var) {
                *field = v;
            }
        }
        if let Some(v) = get("UPTAKE_SMTP_PORT") {
            self.smtp.port = parse("UPTAKE_SMTP_PORT", &v)?;
        }
        if let Some(v) = get("UPTAKE_SMTP_SECURITY") {
            self.smtp.security = parse("UPTAKE_SMTP_SECURITY", &v)?;
        }
        if let Some(v) = get("UPTAKE_SERVER_PUBLIC_URL") {
            self.server.public_url = v;
        }
        if let Some(v) = get("UPTAKE_SERVER_LINK_DAYS") {
            self.server.link_days = parse("UPTAKE_SERVER_LINK_DAYS", &v)?;
        }
        if let Some(v) = get("UPTAKE_DELIVERY_MAX_ATTEMPTS") {
            self.delivery.max_attempts = parse("UPTAKE_DELIVERY_MAX_ATTEMPTS", &v)?;
        }
        if let Some(v) = get("UPTAKE_DELIVERY_RETRY_SECONDS") {
            self.delivery.retry_seconds = parse("UPTAKE_DELIVERY_RETRY_SECONDS", &v)?;
        }
        if let Some(v) = get("UPTAKE_DELIVERY_TIMEOUT_SECONDS") {
            self.delivery.timeout_seconds = parse("UPTAKE_DELIVERY_TIMEOUT_SECONDS", &v)?;
        }
        for (var, field) in [
            (
                "UPTAKE_INGEST_MAX_BODY_BYTES",
                &mut self.ingest.max_body_bytes,
            ),
            (
                "UPTAKE_INGEST_FLUSH_MILLISECONDS",
                &mut self.ingest.flush_milliseconds,
            ),
            (
                "UPTAKE_INGEST_MAX_PENDING_EVENTS",
                &mut self.ingest.max_pending_events,
            ),
            (
                "UPTAKE_INGEST_MIN_FREE_DISK_MB",
                &mut self.ingest.min_free_disk_mb,
            ),
        ] {
            if let Some(v) = get(var) {
                *field = parse(var, &v)?;
            }
        }
        if let Some(v) = get("UPTAKE_AUDIT_MAX_FIELD_CHARS") {
            self.audit.max_field_chars = parse("UPTAKE_AUDIT_MAX_FIELD_CHARS", &v)?;
        }
        if let Some(v) = get("UPTAKE_AUDIT_MAX_FILE_MIB") {
            self.audit.max_file_mib = parse("UPTAKE_AUDIT_MAX_FILE_MIB", &v)?;
        }
        if let Some(v) = get("UPTAKE_AUDIT_KEEP_FILES") {
            self.audit.keep_files = parse("UPTAKE_AUDIT_KEEP_FILES", &v)?;
        }
        if let Some(v) = get("UPTAKE_IMPORT_MAX_FUTURE_MINUTES") {
            self.import.max_future_minutes = parse("UPTAKE_IMPORT_MAX_FUTURE_MINUTES", &v)?;
        }
        if let Some(v) = get("UPTAKE_INGEST_IDEMPOTENCY_DAYS") {
            self.ingest.idempotency_days = parse("UPTAKE_INGEST_IDEMPOTENCY_DAYS", &v)?;
        }
        if let Some(v) = get("UPTAKE_INGEST_COMPACT_FILES") {
            self.ingest.compact_files = parse("UPTAKE_INGEST_COMPACT_FILES", &v)?;
        }
        if let Some(v) = get("UPTAKE_INGEST_WATCH") {
            self.ingest.watch = v.split_whitespace().map(str::to_string).collect();
        }
        if let Some(v) = get("UPTAKE_INGEST_WATCH_SECONDS") {
            self.ingest.watch_seconds = parse("UPTAKE_INGEST_WATCH_SECONDS", &v)?;
        }
        Ok(())
    }

    /// Checks ranges: a window of at least one week, shares and targets
    /// between 0 and 1, a known time zone.
    pub fn validate(&self) -> Result<()> {
        self.tz()?;
        self.region_tz()?;
        self.check_region_names()?;
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return Err(Error::Invalid {
                key: "server.tls_cert",
                message: "give both server.tls_cert and server.tls_key, or neither".into(),
            });
        }
        for (key, value) in [
            ("server.session_hours", u64::from(self.server.session_hours)),
            (
                "server.header_timeout_seconds",
                self.server.header_timeout_seconds,
            ),
            (
                "server.body_timeout_seconds",
                self.server.body_timeout_seconds,
            ),
            (
                "server.idle_timeout_seconds",
                self.server.idle_timeout_seconds,
            ),
            (
                "server.max_connections",
                u64::from(self.server.max_connections),
            ),
            (
                "server.sign_in_concurrency",
                u64::from(self.server.sign_in_concurrency),
            ),
            (
                "server.sign_in_failures_per_address",
                u64::from(self.server.sign_in_failures_per_address),
            ),
            (
                "server.render_concurrency",
                u64::from(self.server.render_concurrency),
            ),
            ("server.cache_mib", self.server.cache_mib),
            ("server.link_days", u64::from(self.server.link_days)),
            ("audit.max_field_chars", self.audit.max_field_chars as u64),
            ("audit.max_file_mib", self.audit.max_file_mib),
        ] {
            if value == 0 {
                return Err(Error::Invalid {
                    key,
                    message: "must be at least 1".into(),
                });
            }
        }
        let url = &self.server.public_url;
        if !url.is_empty()
            && (!(url.starts_with("http://") || url.starts_with("https://"))
                || url.parse::<axum::http::Uri>().is_err()
                || url.contains(['?', '#']))
        {
            return Err(Error::Invalid {
                key: "server.public_url",
                message: format!(
                    "'{url}' is not an http:// or https:// address without query, such as https://uptake.example.com"
                ),
            });
        }
        if !self.privacy.pseudonym_key.is_empty() && self.privacy.pseudonym_key.len() < 16 {
            return Err(Error::Invalid {
                key: "privacy.pseudonym_key",
                message: "must be at least 16 characters; a random one: openssl rand -hex 32"
                    .into(),
            });
        }
        if self.regular.window_weeks == 0 || self.regular.window_weeks > 52 {
            return Err(Error::Invalid {
                key: "regular.window_weeks",
                message: "must be between 1 and 52".into(),
            });
        }
        for (key, value) in [
            ("ingest.max_body_bytes", self.ingest.max_body_bytes),
            ("ingest.flush_milliseconds", self.ingest.flush_milliseconds),
            ("ingest.max_pending_events", self.ingest.max_pending_events),
            (
                "ingest.idempotency_days",
                u64::from(self.ingest.idempotency_days),
            ),
        ] {
            if value == 0 {
                return Err(Error::Invalid {
                    key,
                    message: "must be at least 1".into(),
                });
            }
        }
        if self.ingest.watch_seconds == 0 {
            return Err(Error::Invalid {
                key: "ingest.watch_seconds",
                message: "must be at least 1".into(),
            });
        }
        if self.ingest.compact_files < 2 {
            return Err(Error::Invalid {
                key: "ingest.compact_files",
                message: "must be at least 2".into(),
            });
        }
        if self.delivery.max_attempts == 0 {
            return Err(Error::Invalid {
                key: "delivery.max_attempts",
                message: "must be at least 1".into(),
            });
        }
        if !self.smtp.from.is_empty() && self.smtp.from.parse::<lettre::message::Mailbox>().is_err()
        {
            return Err(Error::Invalid {
                key: "smtp.from",
                message: format!("'{}' is not an e-mail address", self.smtp.from),
            });
        }
        let one: Decimal = dec("1");
        for (key, value) in [
            ("module.min_user_share", self.module.min_user_share),
            (
                "targets.active_licensee_rate",
                self.targets.active_licensee_rate,
            ),
            (
                "targets.module_utilization",
                self.targets.module_utilization,
            ),
        ] {
            if value.numerator() as i128 * one.denominator() as i128
                > one.numerator() as i128 * value.denominator() as i128
            {
                return Err(Error::Invalid {
                    key,
                    message: format!("{value} is not between 0 and 1"),
                });
            }
        }
        Ok(())
    }

    /// Now: `UPTAKE_NOW` when set, else the system clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.now.unwrap_or_else(chrono::Utc::now)
    }

    /// The week pages, API defaults, reports and the CLI show by default:
    /// the last complete ISO week in the organisation's time zone, within
    /// the weeks of the stored events `stored` (first, last): a store whose
    /// events end earlier shows its last week, one whose events all lie in
    /// the current week shows that week.
    pub fn latest_week(&self, stored: Option<(Week, Week)>) -> Week {
        let tz = self.tz().unwrap_or(chrono_tz::UTC);
        let complete = Week::last_complete(self.now(), tz);
        match stored {
            Some((first, last)) => complete.min(last).max(first),
            None => complete,
        }
    }

    /// The event times accepted at `now` (the moment of an import or a
    /// request).
    pub fn event_times(&self, now: chrono::DateTime<chrono::Utc>) -> TimeRange {
        if self.import.allow_future {
            TimeRange::future_allowed()
        } else {
            TimeRange::until(now, self.import.max_future_minutes)
        }
    }

    /// Each region's zone of `region_timezones`, checked.
    pub fn region_tz(&self) -> Result<std::collections::BTreeMap<String, Tz>> {
        self.region_timezones
            .iter()
            .map(|(region, zone)| {
                let tz: Tz = zone.parse().map_err(|_| Error::Invalid {
                    key: "region_timezones",
                    message: format!(
                        "region '{region}': '{zone}' is not an IANA time zone name (e.g. Asia/Tokyo)"
                    ),
                })?;
                Ok((region.clone(), tz))
            })
            .collect()
    }

    /// Refuses a region name that is empty, longer than
    /// [`MAX_NAME_CHARS`] or holds a control character.
    fn check_region_names(&self) -> Result<()> {
        for (region, names) in &self.region_names {
            for (lang, name) in names {
                let problem = if name.trim().is_empty() {
                    Some("is empty".to_string())
                } else if name.chars().count() > MAX_NAME_CHARS {
                    Some(format!("is longer than {MAX_NAME_CHARS} characters"))
                } else {
                    crate::model::event::check_text(name).err()
                };
                if let Some(problem) = problem {
                    return Err(Error::Invalid {
                        key: "region_names",
                        message: format!("region '{region}', {}: the name {problem}", lang.code()),
                    });
                }
            }
        }
        Ok(())
    }

    /// The organisation's time zone.
    pub fn tz(&self) -> Result<Tz> {
        self.timezone.parse().map_err(|_| Error::Invalid {
            key: "timezone",
            message: format!(
                "'{}' is not an IANA time zone name (e.g. Europe/Berlin)",
                self.timezone
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_spec() {
        let s = Settings::default();
        assert_eq!(s.timezone, "UTC");
        assert_eq!(s.regular.window_weeks, 4);
        assert_eq!(s.regular.min_active_weeks, 3);
        assert_eq!(s.module.min_user_share.to_string(), "0.2");
        assert_eq!(s.privacy.min_group_size, 5);
        assert_eq!(s.activity.exclude_actions, vec!["login", "logout"]);
        assert_eq!(s.targets.active_licensee_rate.to_string(), "0.75");
        assert_eq!(s.targets.module_utilization.to_string(), "0.5");
    }

    #[test]
    fn file_then_env() {
        let mut s: Settings = toml::from_str(
            "timezone = \"Europe/Berlin\"\n[regular]\nwindow_weeks = 6\n[activity]\nexclude_actions = []\n",
        )
        .expect("toml");
        assert_eq!(s.regular.window_weeks, 6);
        assert_eq!(s.regular.min_active_weeks, 3);
        assert!(s.activity.exclude_actions.is_empty());
        s.apply_env(|v| match v {
            "UPTAKE_REGULAR_MIN_ACTIVE_WEEKS" => Some("2".into()),
            "UPTAKE_ACTIVITY_EXCLUDE_ACTIONS" => Some("login,ping".into()),
            "UPTAKE_MODULE_MIN_USER_SHARE" => Some("0.28".into()),
            "UPTAKE_TARGETS_REFERENCE_WAVE" => Some("W1".into()),
            "UPTAKE_TARGETS_BEHIND_REFERENCE_POINTS" => Some("15".into()),
            _ => None,
        })
        .expect("env");
        assert_eq!(
            (
                s.targets.reference_wave.as_str(),
                s.targets.behind_reference_points
            ),
            ("W1", 15)
        );
        assert_eq!(s.regular.min_active_weeks, 2);
        assert_eq!(s.activity.exclude_actions, vec!["login", "ping"]);
        assert_eq!(s.module.min_user_share.ceil_times(25), 7);
        s.validate().expect("valid");
    }

    #[test]
    fn region_names_are_read_by_language_and_bad_ones_named() {
        let s: Settings = toml::from_str(
            "[region_names]\nNORTH = { en = \"Northern Europe\", de = \"Nordeuropa\" }\n",
        )
        .expect("toml");
        s.validate().expect("valid");
        assert_eq!(
            s.region_names["NORTH"]
                .get(&crate::model::Lang::De)
                .map(String::as_str),
            Some("Nordeuropa")
        );
        let err = toml::from_str::<Settings>("[region_names]\nNORTH = { pt = \"Norte\" }\n")
            .expect_err("unknown language");
        assert!(err.to_string().contains("pt"), "{err}");
        for (bad, why) in [
            ("\"  \"".to_string(), "is empty"),
            ("\"a\\u0007b\"".to_string(), "U+0007"),
            (format!("\"{}\"", "x".repeat(201)), "longer than 200"),
        ] {
            let s: Settings =
                toml::from_str(&format!("[region_names]\nNORTH = {{ fr = {bad} }}\n"))
                    .expect("toml");
            let err = s.validate().expect_err("bad name").to_string();
            assert!(
                err.contains("region_names") && err.contains("NORTH") && err.contains(why),
                "{err}"
            );
        }
    }

    #[test]
    fn bad_settings_are_named() {
        let err = toml::from_str::<Settings>("[regular]\nwindow = 3\n").expect_err("unknown");
        assert!(err.to_string().contains("window"));
        let mut s = Settings::default();
        let err = s
            .apply_env(|v| (v == "UPTAKE_REGULAR_WINDOW_WEEKS").then(|| "four".into()))
            .expect_err("env");
        assert!(err.to_string().contains("UPTAKE_REGULAR_WINDOW_WEEKS"));
        // A now that is not a time, or one far out of range, is refused.
        for bad in [
            "yesterday",
            "2027-13-40T00:00:00Z",
            "+99999-01-01T00:00:00Z",
            "",
        ] {
            let err = s
                .apply_env(|v| (v == "UPTAKE_NOW").then(|| bad.into()))
                .expect_err("now");
            assert!(err.to_string().contains("UPTAKE_NOW"), "{bad}: {err}");
        }
        assert_eq!(s.now, None);
        s.timezone = "Mars/Olympus".into();
        assert!(
            s.validate()
                .expect_err("tz")
                .to_string()
                .contains("timezone")
        );
        let mut s = Settings::default();
        s.targets.active_licensee_rate = dec("1.5");
        assert!(s.validate().is_err());
    }
}
