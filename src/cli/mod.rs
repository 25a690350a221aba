//! The command line: what each `uptake` command does, on top of the
//! library. `main.rs` only parses arguments and starts tracing. One file
//! per group of commands: `data` (import, check), `figures` (kpi, modules,
//! lagging, stats), `access` (token, user), `reports` (report, schedule),
//! `serve` (serve, demo).

mod access;
mod alerts;
mod data;
mod figures;
mod reports;
mod serve;

pub use access::{Access, TokenCommand, UserCommand};
pub use alerts::AlertCommand;
pub use data::ImportCommand;
pub use figures::{SegmentArgs, WeekArgs};
pub use reports::{ReportCommand, ReportsArg, ScheduleCommand};
pub use serve::ServeArgs;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Settings;
use crate::engine::Engine;
use crate::kpi::{self, Format};
use crate::model::Week;
use crate::store::remote::{Fetch, Location, Remote};
use crate::store::{self, Store};

use access::{token_command, user_command};
use data::check;
use figures::{report, stats, week_report};
use reports::{report_command, schedule_command};
use serve::{demo, serve};

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
    /// Data directory holding everything uptake stores: a local directory,
    /// or s3://bucket/prefix in S3-compatible object storage (credentials
    /// and endpoint from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    /// AWS_REGION, AWS_ENDPOINT_URL, AWS_ALLOW_HTTP).
    #[arg(long = "data", global = true, env = "UPTAKE_DATA", default_value = "data", value_parser = Location::parse)]
    pub location: Location,
    /// With an s3:// data directory: the local working copy, which also
    /// holds the ingestion log of `serve` (keep it on a disk that survives
    /// restarts). Default: $XDG_STATE_HOME/uptake/s3/BUCKET/PREFIX.
    #[arg(long, global = true, env = "UPTAKE_LOCAL_DIR")]
    pub local_dir: Option<PathBuf>,
    /// The directory the commands work on: `--data`, or the working copy
    /// of an s3:// data directory.
    #[arg(skip)]
    pub data: PathBuf,
    /// For an s3:// data directory: the address of each committed file of
    /// the working copy (its object), for a cluster to read.
    #[arg(skip)]
    pub objects: Option<std::collections::BTreeMap<PathBuf, String>>,
    /// Whether the working copy was brought in without the raw events
    /// ([`Fetch::WithoutEvents`]): the store is then only read.
    #[arg(skip)]
    pub without_events: bool,
    /// Settings file (TOML); default ./uptake.toml when it exists.
    #[arg(long, global = true, env = "UPTAKE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where the heavy stages run: local (this process), or
    /// ballista://HOST:PORT, a Ballista cluster (`uptake cluster scheduler`
    /// and `uptake cluster executor`) that reads the files where they are:
    /// `rebuild`'s rollup, the reading of files registered with `import
    /// events --in-place`, and the cube of `kpi`, `modules`, `lagging`,
    /// `forecast` and `report render`.
    #[arg(long, global = true, env = "UPTAKE_ENGINE", default_value = "local", value_parser = crate::engine::cluster::Choice::parse)]
    pub engine: crate::engine::cluster::Choice,
    /// Directory of alert definitions (*.toml). Default: ./alerts when it
    /// exists, else the alerts built into uptake (`serve` and `alerts`
    /// only; an import checks alerts only when this or ./alerts names
    /// some).
    #[arg(long, global = true, env = "UPTAKE_ALERTS")]
    pub alerts: Option<PathBuf>,
    /// Language of the messages to people on stderr and of the demo's
    /// headings: en, de, fr, es, da, nl. Default: LC_ALL, LC_MESSAGES or
    /// LANG (de_DE.UTF-8 is German), else English. Error messages,
    /// listings and tables stay English for scripts.
    #[arg(long = "lang", global = true, env = "UPTAKE_LANG", value_parser = crate::i18n::Lang::read)]
    pub lang: Option<crate::i18n::Lang>,
}

/// `uptake cluster`: the processes of a Ballista cluster.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Run Ballista's scheduler (until stopped).
    Scheduler {
        /// Address to listen on (gRPC), HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:50050")]
        listen: std::net::SocketAddr,
    },
    /// Run a Ballista executor (until stopped): it reads s3:// data with
    /// the AWS_* variables, and local files of its own file system.
    Executor {
        /// The scheduler, HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: String,
        /// Address it serves results to the other executors and the client
        /// on (Arrow Flight), HOST:PORT.
        #[arg(long, default_value = "127.0.0.1:50051")]
        listen: std::net::SocketAddr,
        /// Port of its gRPC service (the scheduler's calls).
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Tasks at a time (default: the cores).
        #[arg(long)]
        cores: Option<usize>,
        /// Folder for intermediate results (default: a temporary folder).
        #[arg(long)]
        work_dir: Option<String>,
    },
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
    /// A forecast per segment: whether and when each target is passed at
    /// the pace of the last 4 and 8 weeks, and what must be gained per
    /// week to pass by `--target-week`.
    Forecast(figures::ForecastArgs),
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
    /// Generate the demo rollout (dated up to now) into a fresh data
    /// directory and print its KPIs: the organisation, by region, and the
    /// lagging teams.
    Demo {
        /// Import this directory (waves.csv, directory.csv, modules.csv,
        /// events/) instead, e.g. the fixed `sample_data`.
        #[arg(long)]
        sample: Option<PathBuf>,
    },
    /// Serve the dashboards and the JSON API (/api/v1) over HTTP.
    Serve(ServeArgs),
    /// PDF reports defined in reports/*.toml.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Scheduled reports: run what is due, show the run log.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Alerts defined in alerts/*.toml: check them, list them, show the
    /// alert log.
    #[command(subcommand)]
    Alerts(AlertCommand),
    /// Generate realistic rollout data in the import formats.
    Sample(crate::sample::SampleArgs),
    /// Measure import and KPI speed on generated data.
    Bench(crate::bench::BenchArgs),
    /// Run the processes of a Ballista cluster (see --engine).
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Measure live ingestion: events per second over HTTP, durable, and
    /// the server's memory.
    BenchIngest(crate::bench::ingest::IngestBenchArgs),
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
    Source(#[from] crate::connect::Error),
    #[error(transparent)]
    Report(#[from] crate::report::Error),
    #[error(transparent)]
    Schedule(#[from] crate::schedule::Error),
    #[error(transparent)]
    Alert(#[from] crate::alert::Error),
    #[error("{0}")]
    Delivery(String),
    #[error(transparent)]
    Bench(#[from] crate::bench::Error),
    #[error(transparent)]
    Cluster(#[from] crate::engine::cluster::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Runs a command; what it prints for the user goes to stdout, notes to
/// stderr.
pub async fn run(mut cli: Cli) -> Result<()> {
    let mut remote = open_data(&mut cli.global, &cli.command).await?;
    let commits = cli.command.commits();
    // `check` commits its repairs also when it reports problems.
    let commits_failed = matches!(cli.command, Command::Check { .. });
    let settings = || Settings::load(cli.global.config.as_deref());
    let outcome = run_command(cli.command, &cli.global, &mut remote, settings).await;
    if let Some(remote) = &mut remote
        && (outcome.is_ok() || commits_failed)
    {
        remote
            .push(commits, commits)
            .await
            .map_err(store::Error::from)?;
    }
    outcome
}

/// [`run`] after the data directory is open.
async fn run_command(
    command: Command,
    global: &Global,
    remote: &mut Option<Remote>,
    settings: impl Fn() -> Result<Settings, crate::config::Error>,
) -> Result<()> {
    match command {
        Command::Import(mut cmd) => {
            let _fetched = data::fetch_events(&mut cmd).await?;
            let settings = settings()?;
            data::import(global, cmd, &settings).await?;
            alerts::after_import(global, &settings).await;
        }
        Command::Kpi {
            segments,
            from,
            to,
            format,
        } => {
            let (settings, source, request) = report(global, &segments, from, to).await?;
            let rows = kpi::kpi_rows(&source, &settings, &request).await?;
            print!("{}", kpi::kpi_table(&request.dims, &rows).render(format));
        }
        Command::Modules(args) => {
            let (settings, source, request) = week_report(global, &args).await?;
            let table = kpi::modules_table(&source, &settings, &request).await?;
            print!("{}", table.render(args.format));
        }
        Command::Lagging(args) => {
            let (settings, source, request) = week_report(global, &args).await?;
            let rows = kpi::kpi_rows(&source, &settings, &request).await?;
            let table = kpi::lagging_table(&request.dims, &rows, &settings);
            print!("{}", table.render(args.format));
        }
        Command::Forecast(args) => {
            let (settings, source, request) = week_report(global, &args.week).await?;
            let week = request.to;
            if let Some(problem) = kpi::target_week_problem(week, args.target_week) {
                return Err(Error::Usage(format!("--target-week {problem}")));
            }
            let rows = kpi::kpi_rows(&source, &settings, &kpi::forecast_history(&request)).await?;
            let table =
                kpi::forecast_table(&request.dims, &rows, week, args.target_week, &settings);
            print!("{}", table.render(args.week.format));
        }
        Command::Stats { format } => {
            let settings = settings()?;
            let (store, source) = open(global, &settings).await?;
            print!(
                "{}",
                stats(&store, &settings, &source.engine, format).await?
            );
        }
        Command::Rebuild => {
            let settings = settings()?;
            let mut store = Store::open(&global.data)?;
            let events = match &global.engine {
                crate::engine::cluster::Choice::Local => {
                    store.rebuild(&settings, std::io::stderr().is_terminal())?
                }
                crate::engine::cluster::Choice::Ballista { scheduler } => {
                    // Stored events of an s3:// data directory are read
                    // from their objects (stored at their paths).
                    let at = remote.as_ref().map(|r| r.url().to_string());
                    let addresses = store.event_addresses(at.as_deref());
                    store.check_writer()?;
                    // The cluster reads the lake's files as they are now.
                    let changed = store.changed_in_place()?;
                    if !changed.is_empty() {
                        let named = changed
                            .into_iter()
                            .map(|(f, why)| format!("{}: {why}", f.found.url))
                            .collect();
                        return Err(store::Error::Changed(named).into());
                    }
                    let rollup =
                        crate::engine::cluster::rollup(scheduler, &addresses, &settings).await?;
                    store.commit_rollup(rollup, &settings, &Default::default())?;
                    store.manifest().event_count()
                }
            };
            let rollup = store.rollup_settings(&settings)?.to_string();
            eprintln!(
                "{}",
                global.lang().tr(
                    "rebuilt_rollup",
                    &[("count", events.into()), ("settings", (&rollup).into())]
                )
            );
        }
        Command::Check { repair } => {
            let settings = settings()?;
            check(
                &global.data,
                &settings,
                repair,
                remote.is_some(),
                global.lang(),
            )?;
        }
        Command::Token(cmd) => token_command(&global.data, &settings()?, cmd, global.lang())?,
        Command::User(cmd) => user_command(&global.data, &settings()?, cmd, global.lang())?,
        Command::Demo { sample } => {
            let settings = settings()?;
            demo(&global.data, sample.as_deref(), &settings, global.lang()).await?;
        }
        Command::Serve(args) => {
            let mut settings = settings()?;
            settings.import.allow_future |= args.allow_future;
            serve(global, &args, settings, remote.take()).await?;
        }
        Command::Report(cmd) => {
            let settings = settings()?;
            report_command(global, cmd, &settings).await?;
        }
        Command::Schedule(cmd) => {
            let settings = settings()?;
            schedule_command(global, cmd, &settings).await?;
        }
        Command::Alerts(cmd) => {
            let settings = settings()?;
            alerts::alert_command(global, cmd, &settings).await?;
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
        Command::Cluster(ClusterCommand::Scheduler { listen }) => {
            crate::engine::cluster::run_scheduler(listen).await?;
        }
        Command::Cluster(ClusterCommand::Executor {
            scheduler,
            listen,
            grpc_port,
            cores,
            work_dir,
        }) => {
            crate::engine::cluster::run_executor(crate::engine::cluster::ExecutorOptions {
                scheduler,
                listen,
                grpc_port,
                cores,
                work_dir,
            })
            .await?;
        }
    }
    Ok(())
}

/// Sets `global.data` to the directory the command works on; for an
/// s3:// data directory, that is the working copy, brought to the latest
/// commit ([`Remote::open`]).
async fn open_data(global: &mut Global, command: &Command) -> Result<Option<Remote>> {
    let dir = match &global.location {
        Location::Local(path) => {
            global.data = path.clone();
            return Ok(None);
        }
        Location::S3 { .. } if !command.uses_data() => return Ok(None),
        location => global
            .local_dir
            .clone()
            .or_else(|| location.default_local_dir())
            .unwrap_or_default(),
    };
    let fetch = if command.reads_events() {
        Fetch::Whole
    } else {
        Fetch::WithoutEvents
    };
    let remote = Remote::open(&global.location, &dir, fetch)
        .await
        .map_err(store::Error::from)?;
    global.data = dir;
    global.objects = Some(remote.addresses());
    global.without_events = fetch == Fetch::WithoutEvents;
    Ok(Some(remote))
}

impl Command {
    /// Whether the command reads or writes the data directory.
    fn uses_data(&self) -> bool {
        !matches!(
            self,
            Command::Sample(_) | Command::Bench(_) | Command::BenchIngest(_) | Command::Cluster(_)
        )
    }

    /// Whether the command may read or change the stored raw events; the
    /// figures commands read the rollup and tables only (and the cluster
    /// reads the events from their objects), and commit nothing.
    fn reads_events(&self) -> bool {
        !matches!(
            self,
            Command::Kpi { .. } | Command::Modules(_) | Command::Lagging(_) | Command::Forecast(_)
        )
    }

    /// Whether what the command changes in the data directory is
    /// committed; the figures commands (those above, and `stats`) only
    /// add derived files.
    fn commits(&self) -> bool {
        self.reads_events() && !matches!(self, Command::Stats { .. })
    }
}

/// Opens the store and the engine, refusing stale derived data; with
/// `--engine ballista://…` the engine computes its cube on the cluster.
pub async fn open(global: &Global, settings: &Settings) -> Result<(Store, kpi::Source)> {
    let store = if global.without_events {
        Store::open_to_read(&global.data)?
    } else {
        Store::open(&global.data)?
    };
    store.check_derived(settings)?;
    let mut engine = Engine::open(&store).await?;
    if let crate::engine::cluster::Choice::Ballista { scheduler } = &global.engine {
        let address = |path: &std::path::Path| global.address(path);
        if !engine
            .compute_on_cluster(&store, scheduler, &address)
            .await?
        {
            eprintln!("{}", global.lang().t("no_events_on_cluster"));
        }
    }
    let source = kpi::Source::new(engine, &store);
    Ok((store, source))
}

impl Global {
    /// The language of the messages to people: `--lang`, else the locale.
    pub fn lang(&self) -> crate::i18n::Lang {
        self.lang
            .unwrap_or_else(|| crate::i18n::Lang::from_locale(|v| std::env::var(v).ok()))
    }

    /// The address of a file of the data directory as a cluster reads it:
    /// its object for an s3:// data directory, else its path (on a file
    /// system the executors share).
    pub fn address(&self, path: &std::path::Path) -> Option<String> {
        match &self.objects {
            Some(objects) => objects.get(path).cloned(),
            None => Some(path.display().to_string()),
        }
    }
}
