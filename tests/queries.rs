//! Every query of `queries/` on `sample_data/`, snapshotted: a change to
//! any query's SQL that changes what it returns shows here, query by
//! query. Rows are sorted, and a long result is shown in part with a
//! digest of all of it.

use sha2::{Digest, Sha256};
use uptake::config::Settings;
use uptake::engine::{Engine, Header, query_files};
use uptake::kpi::{self, Request};
use uptake::store::Store;

use crate::support::{import_dir, repo};

/// Rows of a result shown in full in its snapshot.
const SHOWN_ROWS: usize = 60;

#[test]
fn every_query_on_the_sample_data() {
    let tmp = tempfile::tempdir().expect("tmp");
    let settings = Settings::default();
    let mut store = Store::open(&tmp.path().join("data")).expect("store");
    import_dir(&mut store, &repo().join("sample_data"), &settings);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let engine = runtime.block_on(Engine::open(&store)).expect("engine");
    // One week by region and wave (the adoption curve needs the wave), with
    // the union of every query's parameters.
    let week = "2026-W50".parse().expect("week");
    let request = Request {
        dims: kpi::parse_dimensions("region,wave").expect("dims"),
        from: week,
        to: week,
        filter: Default::default(),
        scope: Default::default(),
        protected: false,
    };
    let mut params = kpi::parameters(&settings, &request);
    params.extend(kpi::cube_parameters(&settings));
    let cube = kpi::cube_request(&settings, &request);
    let mut shown = 0;
    insta::glob!(env!("CARGO_MANIFEST_DIR"), "queries/*.sql", |path| {
        let file = path.file_name().and_then(|f| f.to_str()).expect("name");
        let (_, text) = query_files()
            .iter()
            .find(|(f, _)| *f == file)
            .unwrap_or_else(|| panic!("queries/{file} is not in the build"));
        let header = Header::of(file, text).expect("header");
        if header.prelude {
            return;
        }
        let name = file.trim_end_matches(".sql");
        let batches = runtime
            .block_on(engine.run_over_cube(name, params.clone(), &cube))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        insta::assert_snapshot!(name, rows(&batches));
        shown += 1;
    });
    assert_eq!(
        shown,
        engine.query_names().len(),
        "every planned query has a file"
    );
}

/// The result as CSV lines: the header, then the rows sorted.
fn rows(batches: &[datafusion::arrow::record_batch::RecordBatch]) -> String {
    let mut csv = Vec::new();
    {
        let mut writer = datafusion::arrow::csv::WriterBuilder::new()
            .with_header(true)
            .build(&mut csv);
        for batch in batches {
            writer.write(batch).expect("csv");
        }
    }
    let text = String::from_utf8(csv).expect("utf-8");
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("(no rows)").to_string();
    let mut rows: Vec<&str> = lines.filter(|l| !l.starts_with(&header)).collect();
    rows.sort_unstable();
    let digest = Sha256::digest(rows.join("\n").as_bytes());
    let mut out = format!(
        "{} rows, sha256 {}\n{header}\n",
        rows.len(),
        digest
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    for row in rows.iter().take(SHOWN_ROWS) {
        out.push_str(row);
        out.push('\n');
    }
    if rows.len() > SHOWN_ROWS {
        out.push_str(&format!("... {} more\n", rows.len() - SHOWN_ROWS));
    }
    out
}
