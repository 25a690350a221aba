//! Importing and checking the data directory: `uptake import`, `uptake
//! check`.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Subcommand;

use crate::config::Settings;
use crate::i18n::Lang;
use crate::store::{self, Store};

use super::{Error, Global, Result};
use crate::engine::cluster::Choice;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Rollout waves: wave_id, name, go_live; optionally name_de,
    /// name_fr, name_es, name_da, name_nl.
    Waves { file: PathBuf },
    /// Licensee directory: user_id, region, department, team, wave,
    /// license_start, license_end.
    Directory {
        file: PathBuf,
        /// How an HR or identity export's columns become the directory's
        /// (TOML with the tables columns, constants, values.COLUMN, wave,
        /// keep and ids); see the README.
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Plain renames instead of a mapping file:
        /// region=Country,department=Department,...
        #[arg(long, conflicts_with = "mapping")]
        map: Option<String>,
        /// Store nothing: print the directory rows as CSV on stdout.
        #[arg(long)]
        preview: bool,
    },
    /// Module catalog: module_id, name, licensed_from, licensed_until,
    /// monthly_cost_per_user; optionally name_de, name_fr, name_es,
    /// name_da, name_nl.
    Modules { file: PathBuf },
    /// Aliases of directory users in other id systems: user_id, source
    /// (salesforce, email, upn, entra, hubspot, employee), alias. Replaces
    /// the aliases stored.
    Identities { file: PathBuf },
    /// Usage events: files or glob patterns, also in S3
    /// (s3://bucket/crm/events/*.parquet, fetched for the import). A file
    /// imported before (same bytes) is skipped.
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
        /// What the files are: native (uptake's own format),
        /// salesforce-elf, salesforce-loginevent, dataverse-audit,
        /// o365-management, m365-active-users, hubspot-login or
        /// hubspot-audit (see the README).
        #[arg(long, default_value = "native")]
        source: crate::connect::Source,
        /// How the source's fields become module and action (TOML, the
        /// shape of connectors/NAME.toml); default: the bundled mapping.
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// Store nothing: print the events as CSV on stdout, the summary
        /// on stderr.
        #[arg(long)]
        preview: bool,
        /// Leave the files where they are (a data lake: s3://bucket/key
        /// patterns or local ones; a pattern ending in / names every
        /// .parquet file below) and register them instead of copying:
        /// files registered before are skipped, changed ones refused.
        #[arg(long, conflicts_with_all = ["preview", "mapping"])]
        in_place: bool,
    },
}

/// `uptake check`: see [`Command::Check`].
///
/// With `keep_log` (the working copy of an object store, committed when
/// the command ends) the log segments it stores stay until then.
pub(super) fn check(
    data: &std::path::Path,
    settings: &Settings,
    repair: bool,
    keep_log: bool,
    lang: Lang,
) -> Result<()> {
    let mut store = Store::open(data)?;
    if store.is_writer() {
        if store.repair(settings)? {
            eprintln!("{}", lang.t("rebuilt_damaged_rollup"));
        }
        if repair {
            let file_message = |key: &str, file: &str, events: u64, why: &str| {
                lang.tr(
                    key,
                    &[
                        ("file", file.into()),
                        ("count", events.into()),
                        ("why", why.into()),
                    ],
                )
            };
            for (file, why) in store.quarantine_implausible(settings)? {
                let message = file_message("moved_to_quarantine", &file.path, file.events, &why);
                eprintln!("{message}");
            }
            for (file, why) in store.drop_changed_in_place(settings)? {
                let message = file_message("no_longer_counted", &file.found.url, file.events, &why);
                eprintln!("{message}");
            }
        }
        let mut ingest = crate::ingest::Ingest::open(store.clone(), settings)?;
        if keep_log {
            ingest = ingest.keeping_log();
        }
        let status = ingest.status();
        if let Some(flushed) = ingest.flush()? {
            store = flushed;
            let events = status.recovered_events.into();
            eprintln!("{}", lang.tr("stored_from_log", &[("count", events)]));
        }
    } else {
        eprintln!("{}", lang.t("only_listing"));
    }
    let implausible = store.implausible_event_files(settings);
    for (file, why) in &implausible {
        println!("{}\t{} events\t{why}", file.path, file.events);
    }
    let entries = store::quarantine::entries(data);
    for e in &entries {
        println!("{}\t{}\t{}\t{}", e.at, e.original, e.kept_as, e.reason);
    }
    let changed = store.changed_in_place()?;
    for (file, why) in &changed {
        println!("{}\t{} events\t{why}", file.found.url, file.events);
    }
    let mut problems = Vec::new();
    if !changed.is_empty() {
        problems.push(format!(
            "{} event files read in place changed or went since they were registered (the figures count them as they were; `uptake rebuild` refuses them); restore them, or `uptake check --repair` stops counting them",
            changed.len()
        ));
    }
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
        println!("{}", lang.t("no_damaged_files"));
        return Ok(());
    }
    Err(Error::Usage(problems.join("; ")))
}

/// `uptake import TABLE FILE...`.
pub(super) async fn import(global: &Global, cmd: ImportCommand, settings: &Settings) -> Result<()> {
    let lang = global.lang();
    // A preview stores nothing: the data directory is not even opened.
    if let ImportCommand::Directory {
        file,
        mapping,
        map,
        preview: true,
    } = &cmd
    {
        let mapping = directory_mapping(mapping.as_deref(), map.as_deref())?;
        let (rows, _) = store::read_directory(file, mapping.as_ref())?;
        let licensees: Vec<_> = rows.iter().map(|r| &r.licensee).collect();
        let aliases: usize = rows.iter().map(|r| r.aliases.len()).sum();
        let mut out = csv::Writer::from_writer(std::io::stdout().lock());
        let stdout = |e: csv::Error| Error::Usage(format!("cannot write the preview: {e}"));
        out.write_record(crate::connect::directory::COLUMNS)
            .map_err(stdout)?;
        for l in licensees.iter().copied() {
            out.write_record([
                l.user_id.as_str(),
                &l.region,
                &l.department,
                &l.team,
                &l.wave,
                &l.license_start.to_string(),
                &l.license_end.map(|d| d.to_string()).unwrap_or_default(),
            ])
            .map_err(stdout)?;
        }
        out.flush()
            .map_err(|e| Error::Usage(format!("cannot write the preview: {e}")))?;
        let counts = [
            ("count", licensees.len().into()),
            ("aliases", aliases.into()),
        ];
        eprintln!("{}", lang.tr("would_import_licensees", &counts));
        return Ok(());
    }
    if let ImportCommand::Events {
        files,
        source,
        mapping,
        preview: true,
        allow_future,
        ..
    } = &cmd
    {
        let mut settings = settings.clone();
        settings.import.allow_future |= *allow_future;
        let input = crate::connect::Input::new(*source, mapping.as_deref())?;
        return preview_events(&global.data, files, &input, &settings, lang);
    }
    let mut store = Store::open(&global.data)?;
    match cmd {
        ImportCommand::Waves { file } => {
            let n = store.import_waves(&file)?;
            eprintln!("{}", lang.tr("imported_waves", &[("count", n.into())]));
        }
        ImportCommand::Directory {
            file, mapping, map, ..
        } => {
            let mapping = directory_mapping(mapping.as_deref(), map.as_deref())?;
            let n = store.import_directory_mapped(&file, mapping.as_ref(), settings)?;
            eprintln!("{}", lang.tr("imported_licensees", &[("count", n.into())]));
        }
        ImportCommand::Modules { file } => {
            let n = store.import_modules(&file)?;
            eprintln!("{}", lang.tr("imported_modules", &[("count", n.into())]));
        }
        ImportCommand::Identities { file } => {
            let n = store.import_identities(&file, settings)?;
            eprintln!("{}", lang.tr("imported_aliases", &[("count", n.into())]));
        }
        ImportCommand::Events {
            files,
            partial,
            allow_future,
            source,
            mapping,
            in_place,
            ..
        } => {
            let mut settings = settings.clone();
            settings.import.allow_future |= allow_future;
            let input = crate::connect::Input::new(source, mapping.as_deref())?;
            let progress = std::io::stderr().is_terminal();
            let s = if in_place {
                if input.source != crate::connect::Source::Native {
                    return Err(Error::Usage(
                        "--in-place reads uptake's own event files (--source native) only; import a vendor's files with a copy".into(),
                    ));
                }
                match &global.engine {
                    Choice::Local => store.import_in_place(&files, &settings, partial, progress)?,
                    Choice::Ballista { scheduler } => {
                        register_on_cluster(&mut store, scheduler, &files, &settings, partial)
                            .await?
                    }
                }
            } else {
                if let Choice::Ballista { scheduler } = &global.engine {
                    let note = lang.tr("copying_import_note", &[("scheduler", scheduler.into())]);
                    eprintln!("{note}");
                }
                store.import_events(&files, &input, &settings, partial, progress)?
            };
            if input.source != crate::connect::Source::Native {
                eprintln!("{}", reading_summary(&s.reading, lang));
            }
            for (file, why) in &s.files_skipped {
                let skipped = [("file", file.into()), ("why", why.into())];
                eprintln!("{}", lang.tr("skipped_file", &skipped));
            }
            if s.rejected_total > 0 {
                let count = [("count", s.rejected_total.into())];
                eprintln!(
                    "{}\n{}",
                    lang.tr("left_out_rows", &count),
                    store::error::list_problems(&s.rejected)
                );
            }
            let key = if in_place {
                "registered_in_place"
            } else {
                "imported_events"
            };
            let counts = [
                ("count", s.events.into()),
                ("files", s.files_imported.into()),
            ];
            eprintln!("{}", lang.tr(key, &counts));
        }
    }
    Ok(())
}

/// Registers the new files `patterns` name in place, read on the cluster
/// at `scheduler` (rows checked, local days and rollup); a file the
/// cluster finds refused rows in is read here, for the reasons of each.
async fn register_on_cluster(
    store: &mut Store,
    scheduler: &str,
    patterns: &[String],
    settings: &Settings,
    partial: bool,
) -> Result<store::ImportSummary> {
    let started = std::time::Instant::now();
    let new = store.new_in_place(patterns, settings, &Default::default())?;
    if new.is_empty() {
        return Ok(Default::default());
    }
    let (cluster, shared) = crate::engine::cluster::read_lake(scheduler, &new, settings).await?;
    let refused: Vec<store::lake::Found> = new
        .iter()
        .zip(&cluster)
        .filter(|(_, read)| read.is_none())
        .map(|(found, _)| found.clone())
        .collect();
    let mut here = store.read_in_place(&refused, settings, false).into_iter();
    let reads = cluster
        .into_iter()
        .map(|read| match read {
            Some(read) => Ok(read),
            None => here.next().unwrap_or_else(|| Ok(Default::default())),
        })
        .collect();
    // The cluster read the files after they were listed: refuse what
    // changed meanwhile.
    let urls: Vec<String> = new.iter().map(|f| f.url.clone()).collect();
    let changed: Vec<String> = new
        .iter()
        .zip(store::lake::stat(&urls)?)
        .filter_map(|(found, now)| match now {
            None => Some(format!("{}: it went while the cluster read it", found.url)),
            Some(now) => found.change(Some(&now)).map(|_| {
                format!(
                    "{}: it changed while the cluster read it (listed with {} bytes, version {}; now {} bytes, version {})",
                    found.url, found.size, found.version, now.size, now.version
                )
            }),
        })
        .collect();
    if !changed.is_empty() {
        return Err(store::Error::Changed(changed).into());
    }
    let mut rollup = match store.rollup_files() {
        Some(files) => store::rollup::Rollup::load(&files)?,
        None => Default::default(),
    };
    Ok(store.register_read(new, reads, shared, settings, partial, &mut rollup, started)?)
}

/// Downloads the objects the `s3://` patterns among an events import's
/// files name into a temporary folder and puts their paths in place of the
/// patterns; the folder goes when the returned guard is dropped.
pub(super) async fn fetch_events(cmd: &mut ImportCommand) -> Result<Option<Fetched>> {
    let ImportCommand::Events {
        files,
        in_place: false,
        ..
    } = cmd
    else {
        return Ok(None);
    };
    if !files.iter().any(|f| f.starts_with("s3://")) {
        return Ok(None);
    }
    let dir = std::env::temp_dir().join(format!(
        "uptake-import-{}-{:x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let fetched = Fetched(dir.clone());
    let mut local = Vec::with_capacity(files.len());
    for (n, pattern) in files.iter().enumerate() {
        if pattern.starts_with("s3://") {
            let into = dir.join(n.to_string());
            let paths = store::lake::fetch(pattern, &into).await?;
            local.extend(paths.into_iter().map(|p| p.display().to_string()));
        } else {
            local.push(pattern.clone());
        }
    }
    *files = local;
    Ok(Some(fetched))
}

/// A folder removed when dropped.
pub(super) struct Fetched(std::path::PathBuf);

impl Drop for Fetched {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What reading a vendor's files found, one line, a part per kind.
fn reading_summary(r: &crate::connect::Reading, lang: Lang) -> String {
    let list = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = vec![lang.tr("read_rows", &[("count", r.rows.into())])];
    if r.duplicates > 0 {
        parts.push(lang.tr("read_duplicates", &[("count", r.duplicates.into())]));
    }
    for (key, kinds) in [
        ("read_dropped", &r.dropped),
        ("read_unmapped", &r.unmapped),
        ("read_unresolved", &r.unresolved),
    ] {
        if !kinds.is_empty() {
            parts.push(lang.tr(key, &[("list", (&list(kinds)).into())]));
        }
    }
    parts.join("; ")
}

/// `uptake import events --preview`: the events on stdout, the summary
/// on stderr; nothing is stored.
fn preview_events(
    data: &std::path::Path,
    files: &[String],
    input: &crate::connect::Input,
    settings: &Settings,
    lang: Lang,
) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let s = store::preview_events(data, files, input, settings, &mut out)?;
    std::io::Write::flush(&mut out).map_err(|source| store::Error::Io {
        path: "(standard output)".into(),
        source,
    })?;
    eprintln!("{}", reading_summary(&s.reading, lang));
    if s.rejected_total > 0 {
        let count = [("count", s.rejected_total.into())];
        eprintln!(
            "{}\n{}",
            lang.tr("would_refuse_rows", &count),
            store::error::list_problems(&s.rejected)
        );
    }
    let counts = [
        ("count", s.events.into()),
        ("files", s.files_imported.into()),
    ];
    eprintln!("{}", lang.tr("would_import_events", &counts));
    Ok(())
}

/// The directory mapping of `--mapping FILE` or `--map RENAMES`, if any.
fn directory_mapping(
    file: Option<&std::path::Path>,
    renames: Option<&str>,
) -> Result<Option<crate::connect::directory::Mapping>> {
    use crate::connect::directory::Mapping;
    Ok(match (file, renames) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path).map_err(|source| store::Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
            Some(Mapping::parse(&text, &path.display().to_string())?)
        }
        (None, Some(renames)) => Some(Mapping::from_renames(renames)?),
        (None, None) => None,
    })
}
