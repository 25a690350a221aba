//! Data for the tests: `sample_data/` imported in process or through the
//! CLI, and the KPI tables of a store through the SQL path.

use std::path::Path;

use uptake::config::Settings;
use uptake::engine::Engine;
use uptake::kpi::{self, Request};
use uptake::store::Store;

use super::{repo, stderr, uptake};

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
        .import_events(&[pattern], &Default::default(), settings, false, false)
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
        let engine = kpi::Source::new(Engine::open(store).await.expect("engine"), store);
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
