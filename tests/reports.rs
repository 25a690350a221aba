//! PDF reports and their scheduled delivery, checked with real tools:
//! poppler's `pdftotext`, `pdfinfo` and `pdffonts` read the PDFs, Python's
//! `aiosmtpd` receives the mail, and an HTTP server on loopback the
//! webhook calls.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::Value;

use crate::api::{get, json as api};
use crate::support::mail::MailServer;
use crate::support::{free_port, repo, sample_store, stderr, stdout, uptake, wait_for};

fn poppler(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils, installed by .ci/install): {e}"));
    assert!(out.status.success(), "{tool} {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// Whether a file ends in Parquet's closing magic.
fn parquet_is_whole(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.len() > 8 && b.ends_with(b"PAR1"))
}

fn pdf_text(pdf: &Path) -> String {
    poppler("pdftotext", &["-layout", &pdf.display().to_string(), "-"])
}

fn pdf_pages(pdf: &Path) -> usize {
    let info = poppler("pdfinfo", &[&pdf.display().to_string()]);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("pdfinfo Pages")
}

fn percent_en(v: &Value) -> String {
    format!("{:.1}%", v.as_f64().expect("rate") * 100.0)
}

fn percent_de(v: &Value) -> String {
    format!("{:.1} %", v.as_f64().expect("rate") * 100.0).replace('.', ",")
}

async fn download(uri: &str, dir: &Path) -> PathBuf {
    let (status, content_type, body) = get(uri, &[]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{uri}: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(content_type, "application/pdf");
    assert!(body.starts_with(b"%PDF-"));
    let path = dir.join("report.pdf");
    std::fs::write(&path, body).expect("write pdf");
    path
}

/// The line of `text` that starts with `label` (after spaces).
fn line<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in:\n{text}"))
}

#[tokio::test]
async fn pdf_figures_equal_the_api() {
    let tmp = tempfile::tempdir().expect("tmp");
    for (query, filter) in [("", ""), ("&region=DACH", "&region=DACH")] {
        let week = "2026-W53";
        let pdf = download(
            &format!("/reports/steering-weekly.pdf?week={week}{query}"),
            tmp.path(),
        )
        .await;
        let text = pdf_text(&pdf);
        let pages = pdf_pages(&pdf);
        assert!(pages >= 2, "{pages} pages");
        assert!(text.contains(&format!("Page 1 of {pages}")), "{text}");
        assert!(text.contains(&format!("Page {pages} of {pages}")));
        assert!(text.contains("Time zone") && text.contains("UTC"));
        assert!(text.contains("Generated"));
        assert!(text.contains(&format!("{week} (2026-12-28 – 2027-01-03)")));
        if filter.is_empty() {
            assert!(text.contains("whole organisation"));
        } else {
            assert!(text.contains("Region = DACH"), "{text}");
        }

        // The scope's two KPIs, as the API gives them (or suppressed in
        // both, as the small sample's regions are in some weeks).
        let scope = api(&format!("/api/v1/kpi?from={week}&to={week}{filter}")).await;
        let row = &scope[0];
        for figure in ["active_licensee_rate", "module_utilization"] {
            if row["suppressed"] == true {
                assert!(text.contains("suppressed"), "{text}");
                continue;
            }
            assert!(
                text.contains(&percent_en(&row[figure])),
                "{figure} {} missing",
                percent_en(&row[figure])
            );
        }

        // Under the adoption curve: the waves behind the pilot, or none.
        assert!(
            text.contains("percentage points behind the reference wave"),
            "{text}"
        );

        // The forecast section, labelled as one, with the API's weeks.
        assert!(
            text.contains(&format!(
                "Forecast (not measured): the targets at the current pace, from {week}"
            )),
            "{text}"
        );
        assert!(text.contains("A forecast, not a measured figure"), "{text}");
        let forecast = api(&format!("/api/v1/forecast?by=region&week={week}{filter}")).await;
        for f in forecast.as_array().expect("rows") {
            if let Some(earliest) = f["forecast_pass_earliest"].as_str() {
                assert!(text.contains(earliest), "{earliest} of {f}");
            }
        }

        // The breakdown by region: each region's row.
        let by_region = api(&format!(
            "/api/v1/kpi?by=region&from={week}&to={week}{filter}"
        ))
        .await;
        for r in by_region.as_array().expect("rows") {
            let l = line(&text, r["region"].as_str().expect("region"));
            if r["suppressed"] == true {
                assert!(l.contains("suppressed"), "{l}");
                continue;
            }
            for figure in ["active_licensee_rate", "module_utilization"] {
                assert!(l.contains(&percent_en(&r[figure])), "{figure} in {l}");
            }
            let numbers: Vec<&str> = l.split_whitespace().collect();
            for count in ["eligible", "regular", "users_to_target"] {
                assert!(
                    numbers.contains(&r[count].to_string().as_str()),
                    "{count} in {l}"
                );
            }
        }

        // The most lagging team, with its users to target.
        let lagging = api(&format!(
            "/api/v1/lagging?by=region,department,team&week={week}{filter}"
        ))
        .await;
        if let Some(first) = lagging.as_array().and_then(|a| a.first()) {
            let dept = first["department"].as_str().expect("department");
            let team = first["team"].as_str().expect("team");
            let to_target = first["users_to_target"].to_string();
            assert!(
                text.lines().any(|l| l.contains(dept)
                    && l.contains(team)
                    && l.split_whitespace().any(|w| w == to_target)),
                "lagging {dept} {team} {to_target} not in\n{text}"
            );
        }

        // Module adoption of the scope.
        let modules = api(&format!("/api/v1/modules?week={week}{filter}")).await;
        for m in modules.as_array().expect("modules") {
            let l = line(&text, m["module_name"].as_str().expect("name"));
            if m["suppressed"] != true {
                assert!(l.contains(&percent_en(&m["module_adoption"])), "{l}");
            }
        }
    }
}

/// A report by region in another language names the regions as
/// `[region_names]` gives them and the modules by the catalog's names in
/// that language; English readers keep the ids and English names.
#[tokio::test]
async fn regions_and_modules_are_named_in_the_readers_language() {
    let tmp = tempfile::tempdir().expect("tmp");
    let uri = "/reports/steering-weekly.pdf?week=2027-W01";
    let french = pdf_text(&download(&format!("{uri}&lang=fr"), tmp.path()).await);
    for name in [
        "Pays nordiques",
        "Ibérie",
        "Opportunités",
        "Demandes de service",
    ] {
        assert!(french.contains(name), "{name} missing in\n{french}");
    }
    for english in ["Nordics", "Iberia", "Opportunities", "Service Cases"] {
        assert!(!french.contains(english), "{english} in\n{french}");
    }
    let english = pdf_text(&download(uri, tmp.path()).await);
    for name in ["Nordics", "Iberia", "Opportunities", "Service Cases"] {
        assert!(english.contains(name), "{name} missing in\n{english}");
    }
}

#[tokio::test]
async fn german_reports_embed_their_fonts_and_show_umlauts_and_euros() {
    let tmp = tempfile::tempdir().expect("tmp");
    let week = "2027-W01";
    let pdf = download(
        &format!("/reports/wave-campaign-de.pdf?week={week}&since=2026-W50"),
        tmp.path(),
    )
    .await;
    let text = pdf_text(&pdf);
    let pages = pdf_pages(&pdf);
    assert!(text.contains(&format!("Seite 1 von {pages}")), "{text}");
    for word in [
        "Quote aktiver Lizenznehmer",
        "Aufschlüsselung",
        "Zeitzone",
        "Kosten ungenutzter Lizenzen pro Monat",
        "Ziele erreicht seit 2026-W50",
    ] {
        assert!(text.contains(word), "{word} missing in\n{text}");
    }
    assert!(text.contains(" €"), "no euro amounts in\n{text}");
    let scope = api(&format!("/api/v1/kpi?from={week}&to={week}")).await;
    assert!(text.contains(&percent_de(&scope[0]["active_licensee_rate"])));

    // Each wave's row of the breakdown, by the wave's German name (the
    // sample waves' `name_de`).
    let by_wave = api(&format!("/api/v1/kpi?by=wave&from={week}&to={week}")).await;
    let waves = german_names("waves.csv");
    for r in by_wave.as_array().expect("rows") {
        let name = &waves[r["wave"].as_str().expect("wave id")];
        let l = line(&text, name);
        if r["suppressed"] == true {
            assert!(l.contains("unterdrückt"), "{l}");
        } else {
            assert!(l.contains(&percent_de(&r["active_licensee_rate"])), "{l}");
        }
    }

    // Each module's row by the catalog's German name (`name_de`), never
    // by its English one.
    let modules = german_names("modules.csv");
    let served = api(&format!("/api/v1/modules?week={week}")).await;
    for m in served.as_array().expect("modules") {
        let l = line(&text, &modules[m["module"].as_str().expect("module id")]);
        if m["suppressed"] != true {
            assert!(l.contains(&percent_de(&m["module_adoption"])), "{l}");
        }
    }
    for english in ["Opportunities", "Service Cases"] {
        assert!(!text.contains(english), "{english} in\n{text}");
    }

    // Fonts: embedded subsets, no system font needed.
    let fonts = poppler("pdffonts", &[&pdf.display().to_string()]);
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        assert!(row.contains("DejaVuSans"), "{row}");
        // name, type, encoding, then emb, sub, uni: embedded as a subset.
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert!(
            cols.windows(3).any(|w| w == ["yes", "yes", "yes"]),
            "not an embedded subset: {row}"
        );
    }
    // Charts are vector drawings with text, not pictures.
    let images = poppler("pdfimages", &["-list", &pdf.display().to_string()]);
    assert_eq!(
        images.lines().count(),
        2,
        "raster images in the PDF:\n{images}"
    );
}

/// The `name_de` of each row of a sample file, by its id (the first
/// column); the files quote no field.
fn german_names(file: &str) -> std::collections::HashMap<String, String> {
    let text = std::fs::read_to_string(repo().join("sample_data").join(file)).expect(file);
    let mut lines = text.lines().map(|l| l.split(',').collect::<Vec<_>>());
    let header = lines.next().expect("header");
    let at = header
        .iter()
        .position(|c| *c == "name_de")
        .expect("name_de");
    lines
        .map(|f| (f[0].to_string(), f[at].to_string()))
        .collect()
}

#[tokio::test]
async fn report_endpoints_refuse_bad_requests() {
    for (uri, status, parameter) in [
        ("/reports/nope.pdf", StatusCode::NOT_FOUND, None),
        (
            "/reports/steering-weekly.pdf?week=2026-W99",
            StatusCode::BAD_REQUEST,
            Some("week"),
        ),
        (
            "/reports/steering-weekly.pdf?region=Mars",
            StatusCode::BAD_REQUEST,
            Some("region"),
        ),
        (
            "/reports/steering-weekly.pdf?colour=red",
            StatusCode::BAD_REQUEST,
            Some("colour"),
        ),
        (
            "/api/v1/report-runs?report=nope",
            StatusCode::BAD_REQUEST,
            Some("report"),
        ),
    ] {
        let (got, content_type, body) = get(uri, &[]).await;
        assert_eq!(got, status, "{uri}");
        assert!(content_type.starts_with("application/json"), "{uri}");
        let body: Value = serde_json::from_slice(&body).expect("json");
        if let Some(p) = parameter {
            assert_eq!(body["parameter"], p, "{uri}: {body}");
        }
    }
    let list = api("/api/v1/reports").await;
    let names: Vec<&str> = list["reports"]
        .as_array()
        .expect("reports")
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["steering-weekly", "wave-campaign-de"]);
    assert_eq!(list["reports"][0]["schedule"]["cron"], "0 7 * * MON");
    let (status, _, page) = get("/dashboards/overview?region=DACH", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8_lossy(&page);
    assert!(
        page.contains("/reports/steering-weekly.pdf?week="),
        "no report link"
    );
    assert!(
        page.contains("region=DACH\" download"),
        "the link keeps the filter"
    );
}

#[test]
fn report_list_and_render_on_the_command_line() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let reports = repo().join("reports");
    let reports = reports.display().to_string();
    let out = uptake(&data, &["report", "list", "--reports", &reports]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "steering-weekly\nwave-campaign-de\n");

    let pdf = tmp.path().join("steering.pdf");
    let render = || {
        uptake(
            &data,
            &[
                "report",
                "render",
                "steering-weekly",
                "--week",
                "2027-W01",
                "--reports",
                &reports,
                "--out",
                &pdf.display().to_string(),
            ],
        )
    };
    let out = render();
    assert!(out.status.success(), "{}", stderr(&out));
    // The text but the time it was generated (header and footers).
    let figures = |text: String| -> String {
        text.lines()
            .filter(|l| !l.starts_with("Generated") && !l.starts_with("uptake ·"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let text = pdf_text(&pdf);
    assert!(text.contains("CRM adoption: weekly steering report"));
    let text = figures(text);

    // The protection decisions are kept for the next process; a damaged
    // one is decided again, to the same figures.
    let kept_dir = data.join("derived").join("protection");
    let kept: Vec<std::path::PathBuf> = std::fs::read_dir(&kept_dir)
        .expect("kept decisions")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(!kept.is_empty());
    for path in &kept {
        let bytes = std::fs::read(path).expect("read");
        std::fs::write(path, &bytes[..bytes.len() / 2]).expect("damage");
    }
    let out = render();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert_eq!(figures(pdf_text(&pdf)), text);
    for path in &kept {
        assert!(
            parquet_is_whole(path),
            "{} is written again",
            path.display()
        );
    }

    let out = uptake(&data, &["report", "render", "nope", "--reports", &reports]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no report named 'nope'"),
        "{}",
        stderr(&out)
    );

    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(&bad).expect("dir");
    std::fs::write(
        bad.join("weekly.toml"),
        "title = \"T\"\nlanguage = \"en\"\nsections = [\"summary\"]\n[schedule]\ncron = \"0 7 * * 1\"\n[[deliver]]\nfolder = \"x\"\n",
    )
    .expect("write");
    let out = uptake(
        &data,
        &["report", "list", "--reports", &bad.display().to_string()],
    );
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("weekly.toml") && e.contains("day of week"),
        "{e}"
    );
}

/// A reports directory with the given definitions.
fn reports_dir(root: &Path, files: &[(&str, String)]) -> PathBuf {
    let dir = root.join("reports");
    std::fs::create_dir_all(&dir).expect("reports dir");
    for (name, text) in files {
        std::fs::write(dir.join(format!("{name}.toml")), text).expect("write report");
    }
    dir
}

fn scheduled(cron: &str, catch_up: bool, deliver: &str) -> String {
    format!(
        "title = \"Weekly\"\nlanguage = \"en\"\nby = \"region\"\nsections = [\"summary\", \"highlights\"]\n\
         [schedule]\ncron = \"{cron}\"\ncatch_up = {catch_up}\n[[deliver]]\n{deliver}\n"
    )
}

fn run_due(data: &Path, reports: &Path, now: &str, env: &[(&str, String)]) -> (bool, String) {
    let out = crate::support::uptake_binary()
        .arg("--data")
        .arg(data)
        .args(["schedule", "run-due", "--reports"])
        .arg(reports)
        .args(["--now", now])
        .env_remove("UPTAKE_CONFIG")
        .env_remove("UPTAKE_TIMEZONE")
        // The sample data and the posted events run into 2027.
        .env("UPTAKE_IMPORT_ALLOW_FUTURE", "true")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .current_dir(data.parent().unwrap_or(data))
        .output()
        .expect("run uptake");
    (out.status.success(), stderr(&out))
}

fn status(data: &Path) -> Vec<Value> {
    let out = uptake(data, &["schedule", "status", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str::<Value>(&stdout(&out))
        .expect("status json")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn restarts_neither_double_nor_miss_scheduled_runs() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    let quiet = tmp.path().join("quiet");
    let reports = reports_dir(
        tmp.path(),
        &[
            (
                "weekly",
                scheduled(
                    "0 7 * * MON",
                    true,
                    &format!("folder = \"{}\"", out.display()),
                ),
            ),
            (
                "no-catch-up",
                scheduled(
                    "0 7 * * MON",
                    false,
                    &format!("folder = \"{}\"", quiet.display()),
                ),
            ),
        ],
    );

    // First seen on a Monday before 07:00: armed, nothing sent.
    let (ok, e) = run_due(&data, &reports, "2026-11-16T06:00:00Z", &[]);
    assert!(ok, "{e}");
    assert!(files(&out).is_empty());

    // On time: each report runs once, for the week that just ended.
    let (ok, e) = run_due(&data, &reports, "2026-11-16T07:00:20Z", &[]);
    assert!(ok, "{e}");
    assert_eq!(files(&out), ["weekly-2026-W46.pdf"]);
    assert_eq!(files(&quiet), ["no-catch-up-2026-W46.pdf"]);
    assert!(pdf_text(&out.join("weekly-2026-W46.pdf")).contains("Weekly"));

    // A restart at the same moment sends nothing again.
    let (ok, e) = run_due(&data, &reports, "2026-11-16T07:01:00Z", &[]);
    assert!(ok, "{e}");
    assert_eq!(status(&data).len(), 2);

    // Down over two Mondays: the latest missed run is caught up once where
    // asked for, the others are recorded as skipped.
    std::fs::remove_file(out.join("weekly-2026-W46.pdf")).expect("rm");
    let (ok, e) = run_due(&data, &reports, "2026-11-30T09:00:00Z", &[]);
    assert!(ok, "{e}");
    assert!(e.contains("skipped 3 missed runs"), "{e}");
    assert_eq!(files(&out), ["weekly-2026-W48.pdf"]);
    assert_eq!(files(&quiet), ["no-catch-up-2026-W46.pdf"]);
    let (ok, _) = run_due(&data, &reports, "2026-11-30T09:30:00Z", &[]);
    assert!(ok);
    let runs = status(&data);
    assert_eq!(runs.len(), 3, "{runs:?}");
    let newest = &runs[0];
    assert_eq!(newest["run"], "weekly@2026-11-30T07:00:00Z");
    assert_eq!(newest["catch_up"], true);
    assert_eq!(newest["status"], "delivered");
    assert!(runs.iter().all(|r| r["status"] == "delivered"));
}

#[tokio::test]
async fn failed_deliveries_are_retried_recorded_and_shown() {
    let tmp = tokio::task::spawn_blocking(sample_store)
        .await
        .expect("store");
    let data = tmp.path().join("data");
    // Nothing listens on this port: every attempt fails.
    let dead = format!("webhook = \"http://127.0.0.1:{}/hook\"", free_port());
    let reports = reports_dir(
        tmp.path(),
        &[("weekly", scheduled("0 7 * * MON", true, &dead))],
    );
    let env = [
        ("UPTAKE_DELIVERY_MAX_ATTEMPTS", "2".to_string()),
        ("UPTAKE_DELIVERY_RETRY_SECONDS", "60".to_string()),
    ];
    let (d, r) = (data.clone(), reports.clone());
    let steps = tokio::task::spawn_blocking(move || {
        let first = run_due(&d, &r, "2026-11-16T06:00:00Z", &env);
        let failed = run_due(&d, &r, "2026-11-16T07:00:05Z", &env);
        let early = run_due(&d, &r, "2026-11-16T07:00:30Z", &env);
        let runs_after_one = status(&d);
        let retry = run_due(&d, &r, "2026-11-16T07:01:10Z", &env);
        (first, failed, early, runs_after_one, retry, status(&d))
    })
    .await
    .expect("steps");
    let (first, failed, early, after_one, retry, after_two) = steps;
    assert!(first.0, "{}", first.1);
    assert!(!failed.0, "a failed delivery exits non-zero");
    assert!(
        failed.1.contains("1 delivery attempts failed"),
        "{}",
        failed.1
    );
    assert!(early.0, "no retry before its time: {}", early.1);
    assert_eq!(after_one[0]["status"], "retrying");
    assert_eq!(after_one[0]["attempts"], 1);
    assert!(
        after_one[0]["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("webhook http://127.0.0.1")
    );
    assert_eq!(after_one[0]["next_attempt"], "2026-11-16T07:01:05+00:00");
    assert!(!retry.0);
    assert_eq!(after_two[0]["status"], "failed");
    assert_eq!(after_two[0]["attempts"], 2);

    // The API and the page show the failure: the app as `uptake serve`
    // builds it, asked through its router (its scheduler, which would
    // catch up on the missed slots, is not started).
    let options = uptake::app::Options {
        data: data.clone(),
        listen: ([127, 0, 0, 1], 0).into(),
        dashboards: None,
        reports: Some(reports.clone()),
        alerts: None,
        remote: None,
    };
    let app = uptake::app::App::build(uptake::config::Settings::default(), options)
        .await
        .expect("app");
    let router = uptake::server::router(app.state());
    let (token, _) = uptake::auth::tokens::create(
        &data,
        uptake::auth::tokens::NewToken {
            role: uptake::auth::Role::Analyst,
            scope: Default::default(),
            name: None,
            lifetime: None,
        },
    )
    .expect("token");
    let body = |uri: &'static str| {
        let router = router.clone();
        let auth = format!("Bearer {token}");
        async move {
            use tower::ServiceExt;
            let response = router
                .oneshot(
                    axum::http::Request::get(uri)
                        .header("Authorization", auth)
                        .body(axum::body::Body::empty())
                        .expect("request"),
                )
                .await
                .expect("response");
            assert_eq!(response.status(), StatusCode::OK, "{uri}");
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("body");
            String::from_utf8_lossy(&bytes).into_owned()
        }
    };
    let runs: Value =
        serde_json::from_str(&body("/api/v1/report-runs?report=weekly").await).expect("json");
    let run = &runs["runs"][0];
    assert_eq!(run["status"], "failed");
    assert_eq!(run["targets"][0]["status"], "failed");
    assert!(
        run["targets"][0]["last_error"]
            .as_str()
            .unwrap_or("")
            .contains("/hook")
    );
    let page = body("/reports").await;
    assert!(
        page.contains("status-failed") && page.contains("/hook"),
        "{page}"
    );
}

#[tokio::test]
async fn webhooks_receive_the_pdf_with_an_idempotency_key() {
    use axum::extract::State;
    use axum::routing::post;
    use std::sync::{Arc, Mutex};
    type Seen = Arc<Mutex<Vec<(String, Value)>>>;
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            post(
                |State(seen): State<Seen>, headers: axum::http::HeaderMap, body: String| async move {
                    let key = headers
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
                    seen.lock().expect("lock").push((key, json));
                    StatusCode::ACCEPTED
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let tmp = tokio::task::spawn_blocking(sample_store)
        .await
        .expect("store");
    let data = tmp.path().join("data");
    let hook = format!("webhook = \"http://127.0.0.1:{port}/hook\"");
    let reports = reports_dir(
        tmp.path(),
        &[("weekly", scheduled("0 7 * * MON", true, &hook))],
    );
    let (d, r) = (data.clone(), reports.clone());
    let (a, b) = tokio::task::spawn_blocking(move || {
        (
            run_due(&d, &r, "2026-11-16T06:00:00Z", &[]),
            run_due(&d, &r, "2026-11-16T07:00:05Z", &[]),
        )
    })
    .await
    .expect("run");
    assert!(a.0 && b.0, "{} {}", a.1, b.1);
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    let (key, body) = &seen[0];
    assert_eq!(key, "weekly@2026-11-16T07:00:00Z");
    assert_eq!(body["week"], "2026-W46");
    assert_eq!(body["file_name"], "weekly-2026-W46.pdf");
    let pdf = base64::engine::general_purpose::STANDARD
        .decode(body["pdf_base64"].as_str().expect("pdf"))
        .expect("base64");
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(body["figures"][0]["figure"], "active_licensee_rate");
}

/// `uptake serve` with the given reports and SMTP server.
fn serve(data: &Path, reports: &Path, smtp_port: u16) -> Child {
    crate::support::uptake_binary()
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0", "--reports"])
        .arg(reports)
        .env_remove("UPTAKE_CONFIG")
        .env_remove("UPTAKE_TIMEZONE")
        // The sample data and the posted events run into 2027.
        .env("UPTAKE_IMPORT_ALLOW_FUTURE", "true")
        .env("UPTAKE_SMTP_HOST", "127.0.0.1")
        .env("UPTAKE_SMTP_PORT", smtp_port.to_string())
        .env("UPTAKE_SMTP_SECURITY", "none")
        .env("UPTAKE_SMTP_FROM", "uptake <uptake@example.com>")
        .current_dir(data.parent().unwrap_or(data))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("uptake serve")
}

/// The attachment of a mail, decoded.
fn attachment(mail: &str) -> Vec<u8> {
    let start = mail
        .find("Content-Type: application/pdf")
        .expect("a PDF attachment");
    let part = &mail[start..];
    let body = &part[part
        .find("\n\n")
        .or_else(|| part.find("\r\n\r\n"))
        .expect("part body")..];
    let b64: String = body
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty() && !l.starts_with("--"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64 attachment")
}

#[test]
fn serve_mails_scheduled_reports_and_restarts_without_doubles() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let mail = MailServer::start(tmp.path());
    // Every five seconds, so that a restart misses some slots. The server
    // is killed right after a run is recorded as delivered, seconds before
    // the next slot, so no run is in flight.
    let reports = reports_dir(
        tmp.path(),
        &[(
            "often",
            scheduled("*/5 * * * * *", true, "email = [\"steering@example.com\"]"),
        )],
    );

    // Reports go to users only: their scope decides what they get.
    let out = uptake(
        &data,
        &[
            "user",
            "add",
            "steering",
            "--role",
            "analyst",
            "--email",
            "steering@example.com",
            "--no-password",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut server = serve(&data, &reports, mail.port);
    wait_for("a first delivered run", Duration::from_secs(120), || {
        let runs = status(&data);
        !runs.is_empty() && runs.iter().all(|r| r["status"] == "delivered")
    });
    server.kill().expect("kill");
    server.wait().expect("wait");
    let before = status(&data);
    std::thread::sleep(Duration::from_secs(12));

    let mut server = serve(&data, &reports, mail.port);
    wait_for("a run after the restart", Duration::from_secs(120), || {
        status(&data).len() > before.len() && status(&data).iter().all(|r| r["status"] != "pending")
    });
    server.kill().expect("kill");
    server.wait().expect("wait");

    let runs = status(&data);
    let mut slots: Vec<&str> = runs.iter().filter_map(|r| r["run"].as_str()).collect();
    let n = slots.len();
    slots.sort();
    slots.dedup();
    assert_eq!(slots.len(), n, "a slot ran twice: {runs:?}");
    // The first run after the restart caught up the missed slots once.
    let after: Vec<&Value> = runs
        .iter()
        .filter(|r| !before.iter().any(|b| b["run"] == r["run"]))
        .collect();
    let first_after = after.last().expect("a run after the restart");
    assert_eq!(first_after["catch_up"], true, "{runs:?}");

    // One mail per delivered run, each with the PDF attached.
    let delivered = runs.iter().filter(|r| r["status"] == "delivered").count();
    let messages = mail.messages();
    assert_eq!(messages.len(), delivered, "{runs:?}");
    let mut ids: Vec<String> = messages
        .iter()
        .filter_map(|m| {
            m.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                .map(str::to_string)
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), messages.len(), "a mail was sent twice");
    for m in &messages {
        assert!(m.contains("To: steering@example.com"), "{m}");
        assert!(m.contains("Subject: Weekly"), "{m}");
        let pdf = attachment(m);
        assert!(pdf.starts_with(b"%PDF-"));
        let file = tmp.path().join("mailed.pdf");
        std::fs::write(&file, &pdf).expect("write");
        assert!(pdf_text(&file).contains("Weekly"));
    }
}

#[test]
fn a_run_claimed_before_a_crash_is_delivered_once_after_it() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    let target = format!("folder = \"{}\"", out.display());
    let reports = reports_dir(
        tmp.path(),
        &[("weekly", scheduled("0 7 * * MON", true, &target))],
    );
    let (ok, e) = run_due(&data, &reports, "2026-11-16T06:00:00Z", &[]);
    assert!(ok, "{e}");
    // What a crash right after claiming the 07:00 slot leaves behind: the
    // claim, and half of a line that was being written.
    let log = data.join("reports/runs.jsonl");
    let mut text = std::fs::read_to_string(&log).expect("log");
    text.push_str(&format!(
        "{}\n{{\"entry\":\"attempt\",\"run\":\"weekly@2026-11-16T07:0",
        serde_json::json!({
            "entry": "run",
            "run": "weekly@2026-11-16T07:00:00Z",
            "report": "weekly",
            "slot": "2026-11-16T07:00:00+00:00",
            "week": "2026-W46",
            "since_week": "2026-W45",
            "started": "2026-11-16T07:00:01+00:00",
            "catch_up": false,
            "targets": [format!("folder:{}", out.display())],
        })
    ));
    std::fs::write(&log, text).expect("write log");

    let (ok, e) = run_due(&data, &reports, "2026-11-16T07:03:00Z", &[]);
    assert!(ok, "{e}");
    assert_eq!(files(&out), ["weekly-2026-W46.pdf"]);
    let runs = status(&data);
    assert_eq!(runs.len(), 1, "the slot is not run a second time: {runs:?}");
    assert_eq!(runs[0]["status"], "delivered");
    assert_eq!(runs[0]["attempts"], 1);

    // A damaged line in the middle is an error naming the line, not a
    // silent loss of the log.
    let mut text = std::fs::read_to_string(&log).expect("log");
    text.insert_str(0, "{not json\n");
    std::fs::write(&log, text).expect("write log");
    let (ok, e) = run_due(&data, &reports, "2026-11-16T07:04:00Z", &[]);
    assert!(!ok);
    assert!(e.contains("runs.jsonl line 1"), "{e}");
}

/// The `To:` header of a mail.
fn mail_to(mail: &str) -> String {
    mail.lines()
        .find_map(|l| l.strip_prefix("To: "))
        .unwrap_or_default()
        .to_string()
}

/// The settings of mail through the loopback server.
fn smtp_env(mail: &MailServer) -> [(&'static str, String); 4] {
    [
        ("UPTAKE_SMTP_HOST", "127.0.0.1".to_string()),
        ("UPTAKE_SMTP_PORT", mail.port.to_string()),
        ("UPTAKE_SMTP_SECURITY", "none".to_string()),
        (
            "UPTAKE_SMTP_FROM",
            "uptake <uptake@example.com>".to_string(),
        ),
    ]
}

/// Runs the due reports before and just after Monday 2027-01-18 07:00 UTC.
fn run_on_a_monday(data: &Path, reports: &Path, env: &[(&str, String)]) {
    for now in ["2027-01-18T06:00:00Z", "2027-01-18T07:00:20Z"] {
        let (ok, e) = run_due(data, reports, now, env);
        assert!(ok, "{e}");
    }
}

#[test]
fn each_recipient_gets_the_report_over_their_own_scope() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let mail = MailServer::start(tmp.path());
    for args in [
        &[
            "user",
            "add",
            "anna",
            "--role",
            "viewer",
            "--region",
            "DACH",
            "--email",
            "anna@example.com",
            "--no-password",
        ][..],
        &[
            "user",
            "add",
            "board",
            "--role",
            "analyst",
            "--email",
            "board@example.com",
            "--no-password",
        ][..],
    ] {
        let out = uptake(&data, args);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // A weekly report e-mailed to these addresses.
    let weekly_to = |to: &str| {
        reports_dir(
            tmp.path(),
            &[(
                "weekly",
                scheduled("0 7 * * MON", true, &format!("email = [{to}]")),
            )],
        )
    };
    let reports = weekly_to("\"anna@example.com\", \"board@example.com\"");
    let env = smtp_env(&mail);
    run_on_a_monday(&data, &reports, &env);
    let messages = mail.messages();
    assert_eq!(messages.len(), 2, "one mail per scope");
    let text_for = |to: &str| {
        let m = messages
            .iter()
            .find(|m| mail_to(m).contains(to))
            .unwrap_or_else(|| panic!("a mail to {to}"));
        assert!(!mail_to(m).contains(if to == "anna" { "board" } else { "anna" }));
        let pdf = tmp.path().join(format!("{to}.pdf"));
        std::fs::write(&pdf, attachment(m)).expect("write pdf");
        pdf_text(&pdf)
    };
    // The viewer's report covers DACH only, its totals are DACH's.
    let anna = text_for("anna");
    assert!(anna.contains("DACH"), "{anna}");
    for other in ["Nordics", "Iberia", "Benelux"] {
        assert!(!anna.contains(other), "{other} in a DACH report:\n{anna}");
    }
    let board = text_for("board");
    for region in ["DACH", "Nordics", "Iberia", "Benelux"] {
        assert!(board.contains(region), "{region}:\n{board}");
    }
    // The audit log names who got which scope.
    let audit = std::fs::read_to_string(data.join("audit.jsonl")).expect("audit log");
    assert!(
        audit.lines().any(|l| l.contains("report_sent")
            && l.contains("anna@example.com")
            && l.contains("region DACH")),
        "{audit}"
    );

    // An address that is no user's gets nothing: its scope is unknown.
    let reports = weekly_to("\"board@example.com\", \"stranger@example.com\"");
    let (ok, _) = run_due(&data, &reports, "2027-01-25T07:00:20Z", &env);
    assert!(!ok, "a delivery to an unknown address fails");
    let runs = status(&data);
    assert!(
        runs[0]["last_error"].as_str().is_some_and(
            |e| e.contains("stranger@example.com is not the e-mail address of an uptake user")
        ),
        "{runs:?}"
    );
    assert_eq!(mail.messages().len(), 2, "nothing was sent");
}

/// A report may name its own zone: its cron and its last complete week are
/// read there (Monday 08:00 in Tokyo is Sunday evening in UTC).
#[test]
fn a_schedule_in_its_own_time_zone() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    let report = scheduled(
        "0 8 * * MON",
        true,
        &format!("folder = \"{}\"", out.display()),
    )
    .replace("[schedule]\n", "[schedule]\ntimezone = \"Asia/Tokyo\"\n");
    let reports = reports_dir(tmp.path(), &[("tokyo", report)]);
    let (ok, e) = run_due(&data, &reports, "2026-11-22T22:00:00Z", &[]);
    assert!(ok, "{e}");
    assert!(status(&data).is_empty());
    let (ok, e) = run_due(&data, &reports, "2026-11-22T23:01:00Z", &[]);
    assert!(ok, "{e}");
    let runs = status(&data);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0]["run"], "tokyo@2026-11-22T23:00:00Z");
    // The week that ended in Tokyo, though UTC is still in it.
    assert_eq!(runs[0]["week"], "2026-W47");
    assert_eq!(files(&out), ["tokyo-2026-W47.pdf"]);
}

/// A scheduled report reaches each recipient in their language: a user
/// with a language gets it in theirs (its title, words, numbers and wave
/// names), the others in the report's.
#[test]
fn each_recipient_reads_the_report_in_their_language() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let mail = MailServer::start(tmp.path());
    for (name, language) in [("claire", Some("fr")), ("board", None)] {
        let email = format!("{name}@example.com");
        let mut args = vec![
            "user",
            "add",
            name,
            "--role",
            "analyst",
            "--email",
            &email,
            "--no-password",
        ];
        if let Some(l) = language {
            args.extend(["--language", l]);
        }
        let out = uptake(&data, &args);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let out = uptake(
        &data,
        &["user", "add", "x", "--role", "viewer", "--language", "pt"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("use en, de, fr, es, da, nl"),
        "{}",
        stderr(&out)
    );
    let listed = stdout(&uptake(&data, &["user", "list"]));
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("claire\t") && l.contains("\tfr\t")),
        "{listed}"
    );

    let reports = reports_dir(
        tmp.path(),
        &[(
            "weekly",
            "title = { en = \"Weekly adoption\", fr = \"Adoption hebdomadaire\" }\n\
             language = \"en\"\nby = \"wave\"\nsections = [\"summary\"]\n\
             [schedule]\ncron = \"0 7 * * MON\"\ncatch_up = true\n[[deliver]]\n\
             email = [\"claire@example.com\", \"board@example.com\"]\n"
                .to_string(),
        )],
    );
    let env = smtp_env(&mail);
    run_on_a_monday(&data, &reports, &env);
    let messages = mail.messages();
    assert_eq!(messages.len(), 2, "one mail per language");
    let read = |to: &str| {
        let m = messages
            .iter()
            .find(|m| mail_to(m).contains(to))
            .unwrap_or_else(|| panic!("a mail to {to}"));
        let pdf = tmp.path().join(format!("{to}.pdf"));
        std::fs::write(&pdf, attachment(m)).expect("write pdf");
        (m.clone(), pdf_text(&pdf))
    };
    let (mail_fr, pdf_fr) = read("claire");
    assert!(mail_fr.contains("Adoption hebdomadaire"), "{mail_fr}");
    assert!(!mail_to(&mail_fr).contains("board"));
    for word in [
        "Objectifs",
        "Taux de titulaires actifs",
        "Vague 1 DACH",
        "Fuseau horaire",
    ] {
        assert!(pdf_fr.contains(word), "{word} in French:\n{pdf_fr}");
    }
    assert!(!pdf_fr.contains("Targets"), "{pdf_fr}");
    let (mail_en, pdf_en) = read("board");
    assert!(mail_en.contains("Weekly adoption"), "{mail_en}");
    for word in [
        "Targets",
        "Active licensee rate",
        "Wave 1 DACH",
        "Time zone",
    ] {
        assert!(pdf_en.contains(word), "{word} in English:\n{pdf_en}");
    }
    assert!(!pdf_en.contains("Objectifs"), "{pdf_en}");
    // Each language's figures are the same figures, written its way.
    let rate = |text: &str, label: &str| {
        line(text, label)
            .split_whitespace()
            .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .map(|w| w.trim_end_matches('%').replace(',', "."))
    };
    assert_eq!(
        rate(&pdf_fr, "Taux de titulaires actifs"),
        rate(&pdf_en, "Active licensee rate")
    );
}
