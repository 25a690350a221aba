//! `uptake serve` and `uptake demo`: the composition root run as a
//! process, on the data directory or on the bundled sample.

use std::path::PathBuf;

use clap::Args;

use crate::config::Settings;
use crate::engine::Engine;
use crate::kpi::{self, Request};
use crate::store::{self, Store};

use super::reports::ReportsArg;
use super::{Error, Global, Result};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "UPTAKE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Serve the demo rollout (generated up to now into a fresh DATA/demo)
    /// instead of the data directory.
    #[arg(long)]
    pub demo: bool,
    /// With --demo: import this directory (waves.csv, directory.csv,
    /// modules.csv, events/) instead of generating, e.g. `sample_data`.
    #[arg(long)]
    pub sample: Option<PathBuf>,
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

/// Opens the data (or the demo data), checks the dashboards, computes the
/// figures of the stored weeks, then serves until Ctrl-C or SIGTERM.
pub(super) async fn serve(
    global: &Global,
    args: &ServeArgs,
    mut settings: Settings,
    remote: Option<crate::store::remote::Remote>,
) -> Result<()> {
    if let crate::engine::cluster::Choice::Ballista { scheduler } = &global.engine {
        tracing::warn!(
            scheduler,
            "the server computes its figures itself; --engine applies to rebuild, import --in-place and the figures commands"
        );
    }
    let mut options = crate::app::Options {
        data: global.data.clone(),
        listen: args.listen,
        dashboards: args.dashboards.clone(),
        reports: args.reports.reports.clone(),
        alerts: global.alerts.clone(),
        remote: remote.map(|mut r| {
            r.keep_open();
            std::sync::Arc::new(tokio::sync::Mutex::new(r))
        }),
    };
    let mut sign_in = None;
    if args.demo {
        if settings.region_names.is_empty() {
            // The demo's regions by name in the reader's language.
            settings.region_names = crate::sample::region_names();
        }
        let (store, events) = import_demo(&global.data, args.sample.as_deref(), &settings)?;
        tracing::info!(events, "imported the demo data");
        // The demo's own admin; the demo directory is new each time.
        let password = crate::auth::users::generated_password();
        crate::auth::users::add(
            store.root(),
            "demo",
            None,
            crate::auth::Role::Admin,
            kpi::Scope::default(),
            None,
            Some(&password),
        )?;
        sign_in = Some(password);
        options.data = store.root().to_path_buf();
    }
    let app = crate::app::App::build(settings, options).await?;
    let lang = global.lang();
    if !app.anyone_can_sign_in()? {
        eprintln!("{}", lang.t("nobody_can_sign_in"));
    }
    let url = format!("{}://{}/", app.scheme(), app.address());
    eprintln!("{}", lang.tr("serving", &[("url", (&url).into())]));
    if let Some(password) = sign_in {
        let password = [("password", (&password).into())];
        eprintln!("{}", lang.tr("demo_sign_in", &password));
    }
    Ok(app.run_until_stopped(crate::app::shutdown_signal()).await?)
}

/// Imports the demo into `<data>/demo`, replacing it: the rollout
/// [`crate::sample::demo`] generates as it stands now, or the `sample`
/// directory given. Returns the store and the number of events.
pub fn import_demo(
    data: &std::path::Path,
    sample: Option<&std::path::Path>,
    settings: &Settings,
) -> Result<(Store, u64)> {
    let dir = data.join("demo");
    let remove = |dir: &std::path::Path| match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(store::Error::Io {
            path: dir.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    };
    remove(&dir)?;
    let Some(sample) = sample else {
        let generated = data.join("demo-input");
        remove(&generated)?;
        crate::sample::demo(&generated, 1, settings.now())?;
        let imported = import_sample(&dir, &generated, settings, false);
        remove(&generated)?;
        return imported;
    };
    // The bundled sample is a fixed rollout whose last weeks may lie after
    // today.
    import_sample(&dir, sample, settings, true)
}

/// Imports a directory of the import formats into a new store at `dir`.
fn import_sample(
    dir: &std::path::Path,
    sample: &std::path::Path,
    settings: &Settings,
    allow_future: bool,
) -> Result<(Store, u64)> {
    let mut store = Store::open(dir)?;
    store.import_waves(&sample.join("waves.csv"))?;
    store.import_directory(&sample.join("directory.csv"), settings)?;
    store.import_modules(&sample.join("modules.csv"))?;
    let pattern = format!("{}/events/*", sample.display());
    let mut sample_settings = settings.clone();
    sample_settings.import.allow_future |= allow_future;
    let imported = store.import_events(
        &[pattern],
        &Default::default(),
        &sample_settings,
        false,
        false,
    )?;
    Ok((store, imported.events))
}

/// Imports the demo into `<data>/demo` (replacing it, [`import_demo`])
/// and prints KPIs, with headings in `lang` (the tables keep SPEC.md's
/// columns).
pub(super) async fn demo(
    data: &std::path::Path,
    sample: Option<&std::path::Path>,
    settings: &Settings,
    lang: crate::i18n::Lang,
) -> Result<()> {
    let dir = data.join("demo");
    let (store, events) = import_demo(data, sample, settings)?;
    let source = kpi::Source::new(Engine::open(&store).await?, &store);
    let (first, last) = store
        .event_weeks(settings)
        .ok_or_else(|| Error::Usage("no sample events".into()))?;
    let from = sample.map_or_else(
        || lang.t("demo_rollout").into(),
        |s| s.display().to_string(),
    );
    let (first_text, last_text) = (first.to_string(), last.to_string());
    let imported = [
        ("count", events.into()),
        ("from", (&from).into()),
        ("first", (&first_text).into()),
        ("last", (&last_text).into()),
        ("zone", (&settings.timezone).into()),
    ];
    println!("{}\n", lang.tr("demo_imported", &imported));
    let last = settings.latest_week(Some((first, last)));
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
        "{}\n{}",
        lang.t("demo_organisation"),
        kpi::kpi_table(&[], &rows).to_text()
    );
    let week = last.to_string();
    let week = [("week", (&week).into())];
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
        "{}\n{}",
        lang.tr("demo_by_region", &week),
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
        "{}\n{}",
        lang.tr("demo_lagging", &week),
        kpi::lagging_table(&teams.dims, &rows, settings).to_text()
    );
    let dir = dir.display().to_string();
    println!("{}", lang.tr("demo_directory", &[("dir", (&dir).into())]));
    Ok(())
}
