//! The command line: what each `uptake` command does, on top of the
//! library. `main.rs` only parses arguments and starts tracing.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Settings;
use crate::engine::Engine;
use crate::kpi::{self, Format, Request};
use crate::model::Week;
use crate::store::{self, Store};

/// uptake measures CRM adoption: active licensee rate and module
/// utilization per region, department, team and rollout wave.
#[derive(Debug, Parser)]
#[command(name = "uptake", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every command.
#[derive(Debug, Args)]
pub struct Global {
    /// Data directory holding everything uptake stores.
    #[arg(long, global = true, env = "UPTAKE_DATA", default_value = "data")]
    pub data: PathBuf,
    /// Settings file (TOML); default ./uptake.toml when it exists.
    #[arg(long, global = true, env = "UPTAKE_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import waves, directory or module catalog (CSV; replaces the table),
    /// or usage events (Parquet, CSV, NDJSON, optionally .gz).
    #[command(subcommand)]
    Import(ImportCommand),
    /// The KPI table: one row per week and segment.
    Kpi {
        #[command(flatten)]
        segments: SegmentArgs,
        /// First week, e.g. 2026-W07 (default: first week with events).
        #[arg(long)]
        from: Option<Week>,
        /// Last week (default: last week with events).
        #[arg(long)]
        to: Option<Week>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Module adoption per segment and module, with idle license cost.
    Modules(WeekArgs),
    /// Segments below a target, most users to target first.
    Lagging(WeekArgs),
    /// What is stored, and data-quality figures.
    Stats {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Rebuild derived data (the rollup) from the stored raw events.
    Rebuild,
    /// Check the data directory: quarantine damaged files, rebuild a
    /// damaged rollup, store events left in the ingestion log, and list
    /// events dated where none can be and what is in quarantine. Fails
    /// (exit status 2) while anything is.
    Check {
        /// Also move events dated before 2000 or in the future (see
        /// import.max_future_minutes) to quarantine, and rebuild the rollup
        /// without them.
        #[arg(long)]
        repair: bool,
    },
    /// API tokens: `token create --role viewer --region DACH` prints a new
    /// one.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Users of the web pages (and recipients of scheduled reports).
    #[command(subcommand)]
    User(UserCommand),
    /// Import the bundled sample data into a fresh data directory and print
    /// its KPIs: the organisation, by region, and the lagging teams.
    Demo {
        /// Directory with waves.csv, directory.csv, modules.csv, events/.
        #[arg(long, default_value = "sample_data")]
        sample: PathBuf,
    },
    /// Serve the dashboards and the JSON API (/api/v1) over HTTP.
    Serve(ServeArgs),
    /// PDF reports defined in reports/*.toml.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Scheduled reports: run what is due, show the run log.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Generate realistic rollout data in the import formats.
    Sample(crate::sample::SampleArgs),
    /// Measure import and KPI speed on generated data.
    Bench(crate::bench::BenchArgs),
    /// Measure live ingestion: events per second over HTTP, durable, and
    /// the server's memory.
    BenchIngest(crate::bench::ingest::IngestBenchArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "UPTAKE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Serve the bundled sample data (imported afresh into DATA/demo)
    /// instead of the data directory.
    #[arg(long)]
    pub demo: bool,
    /// Sample data of --demo.
    #[arg(long, default_value = "sample_data")]
    pub sample: PathBuf,
    /// Accept posted events dated in the future (import.allow_future):
    /// for tests and migrations.
    #[arg(long)]
    pub allow_future: bool,
    /// Directory of dashboards (*.toml). Default: ./dashboards when it
    /// exists, else the dashboards built into uptake.
    #[arg(long, env = "UPTAKE_DASHBOARDS")]
    pub dashboards: Option<PathBuf>,
    #[command(flatten)]
    pub reports: ReportsArg,
}

/// Where report definitions are read from.
#[derive(Debug, Args)]
pub struct ReportsArg {
    /// Directory of report definitions (*.toml). Default: ./reports when it
    /// exists, else the reports built into uptake.
    #[arg(long, env = "UPTAKE_REPORTS")]
    pub reports: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The names of the defined reports, one per line.
    List(ReportsArg),
    /// Render a report as PDF.
    Render {
        /// The report's name (see `uptake report list`).
        name: String,
        /// The week (default: the last complete week in the organisation's
        /// time zone).
        #[arg(long)]
        week: Option<Week>,
        /// The previous report's week, for the highlights (default: the
        /// week before).
        #[arg(long)]
        since: Option<Week>,
        /// The PDF file (default: NAME-WEEK.pdf).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        reports: ReportsArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Run the scheduled reports that are due, and retries of failed
    /// deliveries; for an external scheduler such as cron or a systemd
    /// timer. Fails (exit status 2) when a delivery failed.
    RunDue {
        #[command(flatten)]
        reports: ReportsArg,
        /// Act as if it were this time (RFC 3339), e.g. to test schedules.
        #[arg(long, value_parser = parse_time)]
        now: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// The run log: every run, its targets and their delivery status.
    Status {
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            format!("'{s}' is not an RFC 3339 time such as 2026-11-23T07:00:00+01:00: {e}")
        })
}

/// A role and, for viewers, a scope.
#[derive(Debug, clap::Args)]
pub struct Access {
    #[arg(long, value_enum)]
    role: crate::auth::Role,
    /// A region a viewer may see; repeat for several.
    #[arg(long = "region")]
    regions: Vec<String>,
    /// A department a viewer may see; repeat for several. With --region:
    /// that department within those regions.
    #[arg(long = "department")]
    departments: Vec<String>,
}

impl Access {
    fn scope(&self) -> kpi::Scope {
        kpi::Scope {
            regions: self.regions.clone(),
            departments: self.departments.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it on stdout (only its hash is stored).
    Create {
        #[command(flatten)]
        access: Access,
        /// A name to recognise it by (default: ROLE-N).
        #[arg(long)]
        name: Option<String>,
        /// How long it is valid: 12h, 30d, 8w, or never.
        #[arg(long, default_value = "90d")]
        expires: String,
    },
    /// The tokens: name, role, scope, creation and expiry.
    List,
    /// Revoke a token by name.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. Their password is read from stdin with
    /// --password-stdin, or generated and printed once.
    Add {
        name: String,
        #[command(flatten)]
        access: Access,
        /// Their e-mail address: reports sent to it cover their scope.
        #[arg(long)]
        email: Option<String>,
        /// Read the password from the first line of stdin.
        #[arg(long, conflicts_with = "no_password")]
        password_stdin: bool,
        /// They cannot sign in (e.g. a mailing list receiving reports).
        #[arg(long)]
        no_password: bool,
    },
    /// Set a user's password (from stdin with --password-stdin, or a
    /// generated one printed once).
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// The users: name, role, scope, e-mail address.
    List,
    /// Remove a user; their sessions end with their next request.
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Rollout waves: wave_id, name, go_live.
    Waves { file: PathBuf },
    /// Licensee directory: user_id, region, department, team, wave,
    /// license_start, license_end.
    Directory { file: PathBuf },
    /// Module catalog: module_id, name, licensed_from, licensed_until,
    /// monthly_cost_per_user.
    Modules { file: PathBuf },
    /// Usage events: files or glob patterns. A file imported before (same
    /// bytes) is skipped.
    Events {
        #[arg(required = true)]
        files: Vec<String>,
        /// Store the valid rows even when some rows are refused.
        #[arg(long)]
        partial: bool,
        /// Accept event times in the future (import.allow_future): for
        /// tests and migrations.
        #[arg(long)]
        allow_future: bool,
    },
}

/// Arguments of the one-week reports.
#[derive(Debug, Args)]
pub struct WeekArgs {
    #[command(flatten)]
    pub segments: SegmentArgs,
    /// The week (default: last week with events).
    #[arg(long)]
    pub week: Option<Week>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// Dimensions of a segment, comma separated: region, department, team,
    /// wave. Empty: the whole organisation.
    #[arg(long, default_value = "")]
    pub by: String,
    /// Only licensees of this region.
    #[arg(long)]
    pub region: Option<String>,
    /// Only licensees of this department.
    #[arg(long)]
    pub department: Option<String>,
    /// Only licensees of this wave (its id).
    #[arg(long)]
    pub wave: Option<String>,
}

impl SegmentArgs {
    fn filter(&self) -> kpi::Filter {
        kpi::Filter {
            region: self.region.clone().filter(|v| !v.is_empty()),
            department: self.department.clone().filter(|v| !v.is_empty()),
            wave: self.wave.clone().filter(|v| !v.is_empty()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Engine(#[from] crate::engine::Error),
    #[error(transparent)]
    Kpi(#[from] kpi::Error),
    #[error(transparent)]
    Segment(#[from] crate::model::segment::Error),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Sample(#[from] crate::sample::Error),
    #[error(transparent)]
    Dashboard(#[from] crate::dashboard::Error),
    #[error(transparent)]
    Start(#[from] crate::app::Error),
    #[error(transparent)]
    Report(#[from] crate::report::Error),
    #[error(transparent)]
    Schedule(#[from] crate::schedule::Error),
    #[error("{0}")]
    Delivery(String),
    #[error(transparent)]
    Bench(#[from] crate::bench::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs a command; what it prints for the user goes to stdout, notes to
/// stderr.
pub async fn run(cli: Cli) -> Result<()> {
    let settings = || Settings::load(cli.global.config.as_deref());
    match cli.command {
        Command::Import(cmd) => {
            let settings = settings()?;
            let mut store = Store::open(&cli.global.data)?;
            match cmd {
                ImportCommand::Waves { file } => {
                    let n = store.import_waves(&file)?;
                    eprintln!("imported {n} waves");
                }
                ImportCommand::Directory { file } => {
                    let n = store.import_directory(&file, &settings)?;
                    eprintln!("imported {n} licensees");
                }
                ImportCommand::Modules { file } => {
                    let n = store.import_modules(&file)?;
                    eprintln!("imported {n} modules");
                }
                ImportCommand::Events {
                    files,
                    partial,
                    allow_future,
                } => {
                    let mut settings = settings;
                    settings.import.allow_future |= allow_future;
                    let progress = std::io::stderr().is_terminal();
                    let s = store.import_events(&files, &settings, partial, progress)?;
                    for (file, why) in &s.files_skipped {
                        eprintln!("skipped {file}: {why}");
                    }
                    if s.rejected_total > 0 {
                        eprintln!(
                            "left out {} refused rows:\n{}",
                            s.rejected_total,
                            store::error::list_problems(&s.rejected)
                        );
                    }
                    eprintln!(
                        "imported {} events from {} files",
                        s.events, s.files_imported
                    );
                }
            }
        }
        Command::Kpi {
            segments,
            from,
            to,
            format,
        } => {
            let (settings, source, request) = report(&cli.global, &segments, from, to).await?;
            let rows = kpi::kpi_rows(&source, &settings, &request).await?;
            print!("{}", kpi::kpi_table(&request.dims, &rows).render(format));
        }
        Command::Modules(args) => {
            let (settings, source, request) = week_report(&cli.global, &args).await?;
            let table = kpi::modules_table(&source, &settings, &request).await?;
            print!("{}", table.render(args.format));
        }
        Command::Lagging(args) => {
            let (settings, source, request) = week_report(&cli.global, &args).await?;
            let rows = kpi::kpi_rows(&source, &settings, &request).await?;
            let table = kpi::lagging_table(&request.dims, &rows, &settings);
            print!("{}", table.render(args.format));
        }
        Command::Stats { format } => {
            let settings = settings()?;
            let (store, source) = open(&cli.global.data, &settings).await?;
            print!(
                "{}",
                stats(&store, &settings, &source.engine, format).await?
            );
        }
        Command::Rebuild => {
            let settings = settings()?;
            let mut store = Store::open(&cli.global.data)?;
            let events = store.rebuild(&settings, std::io::stderr().is_terminal())?;
            eprintln!(
                "rebuilt the rollup from {events} events ({})",
                store::rollup_settings(&settings)
            );
        }
        Command::Check { repair } => {
            let settings = settings()?;
            check(&cli.global.data, &settings, repair)?;
        }
        Command::Token(cmd) => token_command(&cli.global.data, &settings()?, cmd)?,
        Command::User(cmd) => user_command(&cli.global.data, &settings()?, cmd)?,
        Command::Demo { sample } => {
            let settings = settings()?;
            demo(&cli.global.data, &sample, &settings).await?;
        }
        Command::Serve(args) => {
            let mut settings = settings()?;
            settings.import.allow_future |= args.allow_future;
            serve(&cli.global, &args, settings).await?;
        }
        Command::Report(cmd) => {
            let settings = settings()?;
            report_command(&cli.global, cmd, &settings).await?;
        }
        Command::Schedule(cmd) => {
            let settings = settings()?;
            schedule_command(&cli.global, cmd, &settings).await?;
        }
        Command::Sample(args) => {
            let summary = crate::sample::generate(&args)?;
            eprintln!("{summary}");
        }
        Command::Bench(args) => {
            crate::bench::run(&args).await?;
        }
        Command::BenchIngest(args) => {
            crate::bench::ingest::run(&args).await?;
        }
    }
    Ok(())
}

/// Checks that a scope names regions and departments of the directory
/// (when one is imported), so a typo does not make an empty scope.
fn check_scope_values(data: &std::path::Path, scope: &kpi::Scope) -> Result<()> {
    if scope.is_all() || !data.join("manifest.json").exists() {
        return Ok(());
    }
    let store = Store::open(data)?;
    let licensees = store.table::<crate::model::Licensee>()?;
    if licensees.is_empty() {
        return Ok(());
    }
    let segments = crate::server::state::Segments::from_directory(&licensees);
    for (d, values) in [
        (kpi::Dimension::Region, &scope.regions),
        (kpi::Dimension::Department, &scope.departments),
    ] {
        if let Some(v) = values.iter().find(|v| !segments.values(d).contains(v)) {
            return Err(Error::Usage(format!(
                "no licensee of the directory has {d} '{v}'"
            )));
        }
    }
    Ok(())
}

fn audit(data: &std::path::Path, settings: &Settings, action: &str, detail: String) {
    let mut entry = crate::auth::audit::Entry::new("cli", action);
    entry.detail = detail;
    crate::auth::audit::record(data, &settings.audit, &entry);
}

fn token_command(data: &std::path::Path, settings: &Settings, cmd: TokenCommand) -> Result<()> {
    use crate::auth::tokens;
    match cmd {
        TokenCommand::Create {
            access,
            name,
            expires,
        } => {
            let lifetime = crate::auth::parse_lifetime(&expires).map_err(Error::Usage)?;
            let scope = access.scope();
            crate::auth::check_scope(access.role, &scope).map_err(Error::Usage)?;
            check_scope_values(data, &scope)?;
            let (token, record) = tokens::create(
                data,
                tokens::NewToken {
                    role: access.role,
                    scope,
                    name: name.as_deref(),
                    lifetime,
                },
            )?;
            println!("{token}");
            let detail = format!(
                "{} (role {}, scope {}, expires {})",
                record.name,
                record.role.name(),
                record.scope.describe(),
                record.expires.as_deref().unwrap_or("never")
            );
            eprintln!("created token {detail}; it is shown only now");
            audit(data, settings, "token_created", detail);
        }
        TokenCommand::List => {
            for t in tokens::list(data)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    t.name,
                    t.role.name(),
                    t.scope.describe(),
                    t.created,
                    t.expires.as_deref().unwrap_or("never")
                );
            }
        }
        TokenCommand::Revoke { name } => {
            if !tokens::revoke(data, &name)? {
                return Err(Error::Usage(format!("no token named '{name}'")));
            }
            eprintln!("revoked {name}");
            audit(data, settings, "token_revoked", name);
        }
    }
    Ok(())
}

/// A password from the first line of stdin, or a generated one that is
/// printed.
fn new_password(from_stdin: bool) -> Result<String> {
    if !from_stdin {
        let password = crate::auth::users::generated_password();
        println!("{password}");
        eprintln!("generated a password; it is shown only now");
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Error::Usage(format!("cannot read the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.chars().count() < 10 {
        return Err(Error::Usage(
            "a password needs at least 10 characters".into(),
        ));
    }
    Ok(password)
}

fn user_command(data: &std::path::Path, settings: &Settings, cmd: UserCommand) -> Result<()> {
    use crate::auth::users;
    match cmd {
        UserCommand::Add {
            name,
            access,
            email,
            password_stdin,
            no_password,
        } => {
            let scope = access.scope();
            crate::auth::check_scope(access.role, &scope).map_err(Error::Usage)?;
            check_scope_values(data, &scope)?;
            let password = if no_password {
                None
            } else {
                Some(new_password(password_stdin)?)
            };
            let user = users::add(
                data,
                &name,
                email.as_deref(),
                access.role,
                scope,
                password.as_deref(),
            )?;
            let detail = format!(
                "{} (role {}, scope {}{})",
                user.name,
                user.role.name(),
                user.scope.describe(),
                user.email.map(|e| format!(", {e}")).unwrap_or_default()
            );
            eprintln!("added user {detail}");
            audit(data, settings, "user_added", detail);
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            if users::list(data)?.iter().all(|u| u.name != name) {
                return Err(Error::Usage(format!("no user named '{name}'")));
            }
            let password = new_password(password_stdin)?;
            users::set_password(data, &name, &password)?;
            eprintln!("set the password of {name}");
            audit(data, settings, "password_set", name);
        }
        UserCommand::List => {
            for u in users::list(data)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.name,
                    u.role.name(),
                    u.scope.describe(),
                    u.email.as_deref().unwrap_or(""),
                    if u.password.is_some() {
                        "can sign in"
                    } else {
                        "no sign-in"
                    }
                );
            }
        }
        UserCommand::Remove { name } => {
            if !users::remove(data, &name)? {
                return Err(Error::Usage(format!("no user named '{name}'")));
            }
            eprintln!("removed {name}");
            audit(data, settings, "user_removed", name);
        }
    }
    Ok(())
}

/// `uptake check`: see [`Command::Check`].
fn check(data: &std::path::Path, settings: &Settings, repair: bool) -> Result<()> {
    let mut store = Store::open(data)?;
    if store.is_writer() {
        if store.repair(settings)? {
            eprintln!("rebuilt the damaged rollup from the stored events");
        }
        if repair {
            for (file, why) in store.quarantine_implausible(settings)? {
                eprintln!(
                    "moved {} ({} events) to quarantine: {why}",
                    file.path, file.events
                );
            }
        }
        let ingest = crate::ingest::Ingest::open(store.clone(), settings)?;
        let status = ingest.status();
        if let Some(flushed) = ingest.flush()? {
            store = flushed;
            eprintln!(
                "stored {} events left in the ingestion log",
                status.recovered_events
            );
        }
    } else {
        eprintln!("another process (uptake serve?) writes the data directory; only listing");
    }
    let implausible = store.implausible_event_files(settings);
    for (file, why) in &implausible {
        println!("{}\t{} events\t{why}", file.path, file.events);
    }
    let entries = store::quarantine::entries(data);
    for e in &entries {
        println!("{}\t{}\t{}\t{}", e.at, e.original, e.kept_as, e.reason);
    }
    let mut problems = Vec::new();
    if !implausible.is_empty() {
        problems.push(format!(
            "{} event files are dated where no event can be; `uptake check --repair` moves them to quarantine",
            implausible.len()
        ));
    }
    if !entries.is_empty() {
        problems.push(format!(
            "{} damaged files are in {}; remove them from there once dealt with",
            entries.len(),
            data.join(store::quarantine::DIR).display()
        ));
    }
    if problems.is_empty() {
        println!("no damaged files");
        return Ok(());
    }
    Err(Error::Usage(problems.join("; ")))
}

/// Opens the store and the engine, refusing stale derived data.
pub async fn open(data: &std::path::Path, settings: &Settings) -> Result<(Store, kpi::Source)> {
    let store = Store::open(data)?;
    store.check_derived(settings)?;
    let engine = Engine::open(&store).await?;
    Ok((store, kpi::Source::new(engine)))
}

/// Reports from `--reports`, `./reports` or the bundled ones.
pub fn load_reports(arg: &ReportsArg) -> Result<Vec<crate::report::Report>> {
    let dir = crate::config::given_or_local(arg.reports.as_deref(), "reports");
    Ok(crate::report::load(dir.as_deref())?)
}

async fn report_command(global: &Global, cmd: ReportCommand, settings: &Settings) -> Result<()> {
    match cmd {
        ReportCommand::List(arg) => {
            for r in load_reports(&arg)? {
                println!("{}", r.name);
            }
        }
        ReportCommand::Render {
            name,
            week,
            since,
            out,
            reports,
        } => {
            let reports = load_reports(&reports)?;
            let report = crate::report::find(&reports, &name)?;
            let (store, source) = open(&global.data, settings).await?;
            let now = chrono::Utc::now();
            let week = week.unwrap_or_else(|| {
                crate::report::last_complete_week(now, settings.tz().unwrap_or(chrono_tz::UTC))
            });
            let waves = store.table::<crate::model::Wave>()?;
            let inputs = crate::report::Inputs {
                source: &source,
                settings,
                waves: &waves,
                week,
                since: since.unwrap_or(week.offset(-1)),
                generated: now,
                stored: store.event_dates(settings),
                scope: Default::default(),
            };
            let started = std::time::Instant::now();
            let (pdf, _) = crate::report::render(report, &inputs).await?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{name}-{week}.pdf")));
            crate::schedule::deliver::write_atomically(&out, &pdf.bytes)
                .map_err(Error::Delivery)?;
            eprintln!(
                "wrote {} ({} pages, {} bytes, {} ms)",
                out.display(),
                pdf.pages,
                pdf.bytes.len(),
                started.elapsed().as_millis()
            );
        }
    }
    Ok(())
}

async fn schedule_command(
    global: &Global,
    cmd: ScheduleCommand,
    settings: &Settings,
) -> Result<()> {
    match cmd {
        ScheduleCommand::RunDue { reports, now } => {
            let reports = load_reports(&reports)?;
            let (store, source) = open(&global.data, settings).await?;
            let waves = store.table::<crate::model::Wave>()?;
            let ctx = crate::schedule::Context {
                data: &global.data,
                settings,
                source: &source,
                waves: &waves,
                stored: store.event_dates(settings),
                reports: &reports,
            };
            let lock = crate::schedule::Lock::take(&global.data, true)?
                .ok_or_else(|| Error::Usage("the run log is locked".into()))?;
            let s =
                crate::schedule::run_due(&ctx, now.unwrap_or_else(chrono::Utc::now), &lock).await?;
            for name in &s.armed {
                eprintln!("scheduled {name}: runs from now on");
            }
            for run in &s.started {
                eprintln!("ran {run}");
            }
            if s.skipped > 0 {
                eprintln!(
                    "skipped {} missed runs (see `uptake schedule status`)",
                    s.skipped
                );
            }
            eprintln!(
                "{} deliveries, {} failed attempts",
                s.delivered, s.failed_attempts
            );
            if s.failed_attempts > 0 {
                return Err(Error::Delivery(format!(
                    "{} delivery attempts failed; see `uptake schedule status`",
                    s.failed_attempts
                )));
            }
        }
        ScheduleCommand::Status { format } => {
            let log = crate::schedule::Log::read(&global.data, settings)?;
            print!("{}", run_table(&log).render(format));
        }
    }
    Ok(())
}

/// The run log as a table: one row per run and target.
pub fn run_table(log: &crate::schedule::Log) -> kpi::Table {
    use kpi::Cell;
    let mut rows = Vec::new();
    for r in log.newest_first(None) {
        for t in &r.targets {
            let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
                t.map_or(Cell::Empty, |t| Cell::Text(t.to_rfc3339()))
            };
            rows.push(vec![
                Cell::Text(r.run.clone()),
                Cell::Text(r.week.clone()),
                Cell::Bool(r.catch_up),
                Cell::Text(t.target.clone()),
                Cell::Text(t.status.to_string()),
                Cell::Int(t.attempts as i64),
                time(t.last_attempt),
                time(t.next_attempt),
                t.last_error.clone().map_or(Cell::Empty, Cell::Text),
            ]);
        }
    }
    kpi::Table {
        columns: [
            "run",
            "week",
            "catch_up",
            "target",
            "status",
            "attempts",
            "last_attempt",
            "next_attempt",
            "last_error",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect(),
        rows,
    }
}

/// Settings, engine and request of a reporting command.
async fn report(
    global: &Global,
    segments: &SegmentArgs,
    from: Option<Week>,
    to: Option<Week>,
) -> Result<(Settings, kpi::Source, Request)> {
    let settings = Settings::load(global.config.as_deref())?;
    let (store, source) = open(&global.data, &settings).await?;
    let request = request(&store, &settings, segments, from, to)?;
    Ok((settings, source, request))
}

/// Settings, engine and request of a one-week report: `--week`, by default
/// the last week with events.
async fn week_report(global: &Global, args: &WeekArgs) -> Result<(Settings, kpi::Source, Request)> {
    let settings = Settings::load(global.config.as_deref())?;
    let (store, source) = open(&global.data, &settings).await?;
    let week = match args.week {
        Some(w) => Some(w),
        None => store.event_weeks(&settings).map(|w| w.1),
    };
    let request = request(&store, &settings, &args.segments, week, week)?;
    Ok((settings, source, request))
}

/// The request of a reporting command; without `--from` the first week
/// with events (at most [`kpi::MAX_WEEKS`] before `--to`), without `--to`
/// the last.
fn request(
    store: &Store,
    settings: &Settings,
    segments: &SegmentArgs,
    from: Option<Week>,
    to: Option<Week>,
) -> Result<Request> {
    let dims = kpi::parse_dimensions(&segments.by)?;
    let stored = store.event_weeks(settings);
    let missing = || {
        Error::Usage(
            "no events are stored, so there is no default week: give the week(s) explicitly".into(),
        )
    };
    let to = match to {
        Some(w) => w,
        None => stored.ok_or_else(missing)?.1,
    };
    let from = match from {
        Some(w) => w,
        None => stored
            .ok_or_else(missing)?
            .0
            .max(to.offset(-(kpi::MAX_WEEKS - 1)))
            .min(to),
    };
    Ok(Request {
        dims,
        from,
        to,
        filter: segments.filter(),
        scope: Default::default(),
        protected: false,
    })
}

async fn stats(
    store: &Store,
    settings: &Settings,
    engine: &Engine,
    format: Format,
) -> Result<String> {
    let s = kpi::event_stats(engine).await?;
    let m = store.manifest();
    let range = store.event_dates(settings);
    let value = serde_json::json!({
        "events": s.events,
        "files": m.event_files.len(),
        "imported_files": m.imports.len(),
        "first_date": range.map(|r| r.0.to_string()),
        "last_date": range.map(|r| r.1.to_string()),
        "distinct_users": s.distinct_users,
        "licensees": store.table::<crate::model::Licensee>()?.len(),
        "waves": store.table::<crate::model::Wave>()?.len(),
        "modules": store.table::<crate::model::Module>()?.len(),
        "events_of_unknown_users": s.events_of_unknown_users,
        "unknown_user_ids": s.unknown_user_ids,
        "events_of_unknown_modules": s.events_of_unknown_modules,
        "unknown_module_ids": s.unknown_module_ids,
    });
    Ok(match format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ),
        Format::Csv | Format::Table => {
            let mut out = String::new();
            if let serde_json::Value::Object(map) = value {
                let sep = if format == Format::Csv { "," } else { "  " };
                if format == Format::Csv {
                    out.push_str("figure,value\n");
                }
                for (k, v) in map {
                    let v = match v {
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::String(s) => s,
                        v => v.to_string(),
                    };
                    if format == Format::Csv {
                        out.push_str(&format!("{k}{sep}{v}\n"));
                    } else {
                        out.push_str(&format!("{k:<26}{v}\n"));
                    }
                }
            }
            out
        }
    })
}

/// Opens the data (or the demo data), checks the dashboards, computes the
/// figures of the stored weeks, then serves until Ctrl-C or SIGTERM.
async fn serve(global: &Global, args: &ServeArgs, settings: Settings) -> Result<()> {
    let mut options = crate::app::Options {
        data: global.data.clone(),
        listen: args.listen,
        dashboards: args.dashboards.clone(),
        reports: args.reports.reports.clone(),
    };
    let mut sign_in = None;
    if args.demo {
        let (store, events) = import_demo(&global.data, &args.sample, &settings)?;
        tracing::info!(events, sample = %args.sample.display(), "imported the sample data");
        // The demo's own admin; the demo directory is new each time.
        let password = crate::auth::users::generated_password();
        crate::auth::users::add(
            store.root(),
            "demo",
            None,
            crate::auth::Role::Admin,
            kpi::Scope::default(),
            Some(&password),
        )?;
        sign_in = Some(password);
        options.data = store.root().to_path_buf();
    }
    let app = crate::app::App::build(settings, options).await?;
    if !app.anyone_can_sign_in()? {
        eprintln!("nobody can sign in yet: add an admin with `uptake user add NAME --role admin`");
    }
    eprintln!(
        "uptake serves {}://{}/ (Ctrl-C stops)",
        app.scheme(),
        app.address()
    );
    if let Some(password) = sign_in {
        eprintln!("sign in as user demo with password {password}");
    }
    Ok(app.run_until_stopped(crate::app::shutdown_signal()).await?)
}

/// Imports the sample data into `<data>/demo`, replacing it; returns the
/// store and the number of events.
pub fn import_demo(
    data: &std::path::Path,
    sample: &std::path::Path,
    settings: &Settings,
) -> Result<(Store, u64)> {
    let dir = data.join("demo");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|source| store::Error::Io {
            path: dir.clone(),
            source,
        })?;
    }
    let mut store = Store::open(&dir)?;
    store.import_waves(&sample.join("waves.csv"))?;
    store.import_directory(&sample.join("directory.csv"), settings)?;
    store.import_modules(&sample.join("modules.csv"))?;
    let pattern = format!("{}/events/*", sample.display());
    // The bundled sample is a fixed rollout whose last weeks may lie after
    // today.
    let mut sample_settings = settings.clone();
    sample_settings.import.allow_future = true;
    let imported = store.import_events(&[pattern], &sample_settings, false, false)?;
    Ok((store, imported.events))
}

/// Imports sample data into `<data>/demo` (replacing it) and prints KPIs.
async fn demo(data: &std::path::Path, sample: &std::path::Path, settings: &Settings) -> Result<()> {
    let dir = data.join("demo");
    let (store, events) = import_demo(data, sample, settings)?;
    let source = kpi::Source::new(Engine::open(&store).await?);
    let (first, last) = store
        .event_weeks(settings)
        .ok_or_else(|| Error::Usage("no sample events".into()))?;
    println!(
        "Imported {} events from {}, weeks {first} to {last} ({}).\n",
        events,
        sample.display(),
        settings.timezone
    );
    let organisation = Request {
        dims: Vec::new(),
        from: last.offset(-7).max(first),
        to: last,
        filter: Default::default(),
        scope: Default::default(),
        protected: false,
    };
    let rows = kpi::kpi_rows(&source, settings, &organisation).await?;
    println!(
        "Whole organisation, last weeks:\n{}",
        kpi::kpi_table(&[], &rows).to_text()
    );
    let by_region = Request {
        dims: vec![kpi::Dimension::Region],
        from: last,
        to: last,
        filter: Default::default(),
        scope: Default::default(),
        protected: false,
    };
    let rows = kpi::kpi_rows(&source, settings, &by_region).await?;
    println!(
        "By region, {last}:\n{}",
        kpi::kpi_table(&by_region.dims, &rows).to_text()
    );
    let teams = Request {
        dims: vec![
            kpi::Dimension::Region,
            kpi::Dimension::Department,
            kpi::Dimension::Team,
        ],
        from: last,
        to: last,
        filter: Default::default(),
        scope: Default::default(),
        protected: false,
    };
    let rows = kpi::kpi_rows(&source, settings, &teams).await?;
    println!(
        "Lagging teams, {last}:\n{}",
        kpi::lagging_table(&teams.dims, &rows, settings).to_text()
    );
    println!("The data directory of this demo is {}.", dir.display());
    Ok(())
}
