//! `uptake bench`: generates rollout data (an org chart, see
//! [`crate::sample`]), imports it and times the KPI query as a fresh
//! process (cold) and repeated in one process (warm), protection, a PDF
//! report, and the views people click through against `uptake serve`
//! ([`views`]). It prints figures; it asserts nothing.

pub mod ingest;
mod latency;
pub mod views;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::config::Settings;
use crate::engine::Engine;
use crate::kpi::{self, Dimension, Request};
use crate::sample::{self, SampleArgs};
use crate::store::Store;

/// What stops a benchmark.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    Engine(#[from] crate::engine::Error),
    #[error(transparent)]
    Kpi(#[from] kpi::Error),
    #[error(transparent)]
    Sample(#[from] crate::sample::Error),
    #[error(transparent)]
    Report(#[from] crate::report::Error),
    #[error("{0}")]
    Usage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Number of events to generate (about).
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,
    /// Weeks of events.
    #[arg(long, default_value_t = 52)]
    pub weeks: u32,
    /// Working directory (generated files and data directory).
    #[arg(long, default_value = "target/bench")]
    pub dir: PathBuf,
    /// Reuse generated files and the data directory from an earlier run.
    #[arg(long)]
    pub reuse: bool,
    /// Warm repetitions of the KPI query.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Uncached requests per kind of view against `uptake serve` (0: none).
    #[arg(long, default_value_t = 30)]
    pub requests: usize,
}

/// A report with every section and the finest breakdown, in German, as a
/// steering committee would get it: six pages on the generated data.
const REPORT: &str = r#"
title = "Benchmark: Wochenbericht Lenkungskreis"
audience = "Lenkungskreis"
language = "de"
by = "region,department,team,wave"
weeks = 52
sections = ["summary", "highlights", "trend", "adoption_curve", "lagging", "modules"]
lagging_by = "region,department,team,wave"
lagging_limit = 200
"#;

/// Times rendering the report for the last week: in this process, where
/// the cube is computed already (as in `uptake serve`), and as a fresh
/// `uptake report render` process.
async fn report(
    args: &BenchArgs,
    source: &kpi::Source,
    settings: &Settings,
    store: &Store,
    week: crate::model::Week,
) -> Result<()> {
    let definition = crate::report::parse("bench", REPORT)?;
    let labels = store.labels(settings)?;
    let inputs = crate::report::Inputs {
        source,
        settings,
        labels: &labels,
        week,
        since: week.offset(-1),
        generated: chrono::Utc::now(),
        stored: store.event_dates(settings),
        scope: Default::default(),
        alerts: Vec::new(),
    };
    let mut times = Vec::new();
    let mut pages = 0;
    for _ in 0..=args.repeat {
        let started = Instant::now();
        let (pdf, _) = crate::report::render(&definition, &inputs).await?;
        times.push(started.elapsed().as_secs_f64());
        pages = pdf.pages;
    }
    let first_run = times.remove(0);
    times.sort_by(f64::total_cmp);
    println!(
        "report ({pages} pages, every section) in one process: first {:.3} s, repeated median {:.3} s",
        first_run,
        times[times.len() / 2]
    );

    let dir = args.dir.join("reports");
    std::fs::create_dir_all(&dir).map_err(|e| Error::Usage(e.to_string()))?;
    std::fs::write(dir.join("bench.toml"), REPORT).map_err(|e| Error::Usage(e.to_string()))?;
    let exe = std::env::current_exe().map_err(|e| Error::Usage(e.to_string()))?;
    let started = Instant::now();
    let output = Command::new(exe)
        .args(["--data", &args.dir.join("data").display().to_string()])
        .args(["report", "render", "bench", "--week", &week.to_string()])
        .args(["--reports", &dir.display().to_string()])
        .args(["--out", &args.dir.join("bench.pdf").display().to_string()])
        .output()
        .map_err(|e| Error::Usage(format!("cannot start uptake: {e}")))?;
    if !output.status.success() {
        return Err(Error::Usage(format!(
            "report render failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    println!(
        "report render, fresh process: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Peak resident memory of this process in KiB (Linux), 0 when unknown.
pub fn peak_memory_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Decides the protection of the weeks `from..=to` (what a server does at
/// start-up for the last 26 weeks, unless the decisions are kept already)
/// and prints what each rule hides and how long deciding took; then how
/// long a fresh engine takes to read the decisions kept meanwhile.
async fn protection(
    source: &kpi::Source,
    store: &Store,
    settings: &Settings,
    from: crate::model::Week,
    to: crate::model::Week,
) -> Result<()> {
    // Decided anew: earlier runs' kept decisions are removed.
    let kept = store.root().join("derived").join("protection");
    let _ = std::fs::remove_dir_all(&kept);
    let started = Instant::now();
    let request = Request::new(Vec::new(), from, to, Default::default());
    let hiding = kpi::protection_of(source, settings, &request)
        .await?
        .hiding();
    let weeks = to.number() - from.number() + 1;
    let share = |n: usize| 100.0 * n as f64 / hiding.segments.max(1) as f64;
    println!(
        "protection of {weeks} weeks: {:.2} s; of {} segments (16 breakdowns, summed over the weeks) hidden: {} below k ({:.1}%), {} against differencing ({:.1}%), {} more for regular, inactive and module figures ({:.1}%)",
        started.elapsed().as_secs_f64(),
        hiding.segments,
        hiding.below_k,
        share(hiding.below_k),
        hiding.differencing,
        share(hiding.differencing),
        hiding.figures,
        share(hiding.figures)
    );
    println!(
        "teams with k or more licensees hidden by complementary protection: {} of {} team-weeks ({:.1}%)",
        hiding.teams_hidden_at_k,
        hiding.teams,
        100.0 * hiding.teams_hidden_at_k as f64 / hiding.teams.max(1) as f64
    );
    let started = Instant::now();
    let fresh = kpi::Source::new(Engine::open(store).await?, store);
    kpi::protection_of(&fresh, settings, &request).await?;
    println!(
        "protection of {weeks} weeks kept in the data directory, read by a fresh engine: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn run(args: &BenchArgs) -> Result<()> {
    let input = args.dir.join("input");
    let data = args.dir.join("data");
    // Generated events run to the end of the current week, after now.
    let mut settings = Settings::default();
    settings.import.allow_future = true;
    if !args.reuse {
        let _ = std::fs::remove_dir_all(&args.dir);
        // About 45 events per licensee and week in the generated data.
        let users = (args.events / (args.weeks as u64 * 45)).max(50) as usize;
        let started = Instant::now();
        let summary = sample::generate(&SampleArgs {
            users,
            weeks: args.weeks,
            seed: 1,
            // Ending with the current week, as a live store does: posted
            // events change the last week's figures, not weeks after it.
            start: crate::model::Week::containing(chrono::Utc::now().date_naive())
                .offset(-(args.weeks as i32 - 1)),
            out: input.clone(),
            events_per_file: 2_000_000,
        })?;
        println!(
            "generate: {} events, {} licensees, {} files in {:.1} s",
            summary.events,
            summary.users,
            summary.files.len(),
            started.elapsed().as_secs_f64()
        );
        let mut store = Store::open(&data)?;
        store.import_waves(&input.join("waves.csv"))?;
        store.import_directory(&input.join("directory.csv"), &settings)?;
        store.import_modules(&input.join("modules.csv"))?;
        let bytes: u64 = summary
            .files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        let files: Vec<String> = summary
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect();
        let s = store.import_events(&files, &Default::default(), &settings, false, false)?;
        println!(
            "import: {} events ({:.0} MB of Parquet) in {:.2} s = {:.0} events/s",
            s.events,
            bytes as f64 / 1e6,
            s.seconds,
            s.events as f64 / s.seconds
        );
    }

    let exe = std::env::current_exe().map_err(|e| Error::Usage(e.to_string()))?;
    let started = Instant::now();
    let output = Command::new(exe)
        .args(["--data", &data.display().to_string()])
        .args(["kpi", "--by", "region,department", "--format", "csv"])
        .env("UPTAKE_REPORT_PEAK_MEMORY", "1")
        .output()
        .map_err(|e| Error::Usage(format!("cannot start uptake: {e}")))?;
    let cold = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(Error::Usage(format!("kpi failed: {stderr}")));
    }
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_memory_kib="))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let rows = String::from_utf8_lossy(&output.stdout).lines().count() - 1;
    println!(
        "kpi --by region,department, fresh process: {cold:.2} s, {rows} rows, peak memory {:.0} MiB",
        peak as f64 / 1024.0
    );

    let store = Store::open(&data)?;
    let source = kpi::Source::new(Engine::open(&store).await?, &store);
    let (first, last) = store
        .event_weeks(&settings)
        .ok_or_else(|| Error::Usage("no events stored".into()))?;
    let request = Request {
        dims: vec![Dimension::Region, Dimension::Department],
        from: first,
        to: last,
        filter: Default::default(),
        scope: Default::default(),
        protected: false,
    };
    let mut times = Vec::new();
    for _ in 0..=args.repeat {
        let started = Instant::now();
        kpi::kpi_rows(&source, &settings, &request).await?;
        times.push(started.elapsed().as_secs_f64());
    }
    let first_run = times.remove(0);
    times.sort_by(f64::total_cmp);
    println!(
        "kpi --by region,department in one process: first {:.3} s, repeated median {:.3} s, best {:.3} s",
        first_run,
        times[times.len() / 2],
        times[0]
    );
    protection(
        &source,
        &store,
        &settings,
        first.max(last.offset(-25)),
        last,
    )
    .await?;
    report(args, &source, &settings, &store, last).await?;
    println!(
        "bench process peak memory: {:.0} MiB",
        peak_memory_kib() as f64 / 1024.0
    );
    if args.requests > 0 {
        let mut segments: Vec<(String, String)> = store
            .table::<crate::model::Licensee>()?
            .into_iter()
            .map(|l| (l.region, l.department))
            .collect();
        segments.sort();
        segments.dedup();
        let shape = views::Shape {
            segments,
            first,
            last,
        };
        // The server is the data directory's writer.
        drop((source, store));
        views::run(&data, &shape, args.requests).await?;
    }
    Ok(())
}
