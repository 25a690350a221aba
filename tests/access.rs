//! Trying to get around access control and privacy: missing, wrong,
//! expired and revoked tokens; a scoped viewer asking for other regions
//! through every address and parameter; differencing suppressed segments;
//! SQL-like and path-traversal strings; sign-in, sessions and the audit
//! log. Over HTTP, against the sample app.

use std::collections::BTreeMap;

use axum::http::{StatusCode, header};
use serde_json::Value;
use uptake::auth::Role;

use crate::support::Reply;
use crate::support::sample::{call, get_as};
use crate::support::{ADMIN_PASSWORD, admin_token, kpi_csv, sample_state, sample_token};

/// Every address that shows figures or files, with a query that works.
const READ_ADDRESSES: [&str; 18] = [
    "/",
    "/dashboards/overview",
    "/dashboards/overview/panels/1.csv",
    "/dashboards/lagging/panels/1.xlsx",
    "/reports",
    "/reports/steering-weekly.pdf",
    "/api/v1/kpi?by=region",
    "/api/v1/modules",
    "/api/v1/lagging",
    "/api/v1/forecast?by=wave&target_week=2030-W01",
    "/api/v1/adoption-curve",
    "/api/v1/segments",
    "/api/v1/openapi.json",
    "/api/v1/reports",
    "/api/v1/report-runs",
    "/api/v1/audit",
    "/alerts",
    "/api/v1/alerts",
];

#[tokio::test]
async fn no_wrong_expired_or_revoked_token_gets_anything() {
    let state = sample_state();
    let expired = sample_token(Role::Analyst, &[], &[]);
    let revoked = sample_token(Role::Analyst, &[], &[]);
    // Expire one by rewriting its expiry, revoke the other.
    let tokens = uptake::auth::tokens::list(&state.data_dir).expect("tokens");
    let names: Vec<String> = tokens
        .iter()
        .rev()
        .take(2)
        .map(|t| t.name.clone())
        .collect();
    let file = state.data_dir.join("tokens.json");
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    for t in doc["tokens"].as_array_mut().expect("tokens") {
        if t["name"] == names[1].as_str() {
            t["expires"] = "2020-01-01T00:00:00Z".into();
        }
    }
    std::fs::write(&file, doc.to_string()).expect("write");
    assert!(uptake::auth::tokens::revoke(&state.data_dir, &names[0]).expect("revoke"));

    for uri in READ_ADDRESSES
        .iter()
        .chain(&["/api/v1/events", "/api/v1/nowhere"])
    {
        let api = uri.starts_with("/api/");
        // No credentials: 401 with a JSON body, or the sign-in page.
        let r = call("GET", uri, &[], "").await;
        if api {
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
            assert_eq!(r.json()["error"], "unauthorized", "{uri}");
            assert!(r.headers.contains_key(header::WWW_AUTHENTICATE), "{uri}");
        } else {
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{uri}");
            let to = r.headers[header::LOCATION].to_str().expect("location");
            assert!(to.starts_with("/login?next="), "{uri}: {to}");
        }
        for (token, why) in [
            ("upt_not-a-token".to_string(), "unknown or revoked"),
            (revoked.clone(), "unknown or revoked"),
            (expired.clone(), "has expired"),
        ] {
            let r = get_as(&token, uri).await;
            if api {
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
                assert!(
                    r.json()["message"]
                        .as_str()
                        .is_some_and(|m| m.contains(why))
                );
            } else {
                assert_eq!(r.status, StatusCode::SEE_OTHER, "{uri}");
            }
        }
        // Other schemes and a forged session cookie count as nothing.
        for header in [
            ("Authorization", "Basic YWRtaW46YWRtaW4="),
            ("Cookie", "uptake_session=forged"),
        ] {
            let r = call("GET", uri, &[(header.0, header.1.into())], "").await;
            assert!(matches!(r.status, 401 | 303), "{uri} {header:?}");
        }
    }
    // /health stays open, and says nothing about figures.
    let r = call("GET", "/health", &[], "").await;
    assert_eq!(r.status, StatusCode::OK);

    // The refusals are in the audit log, the expired token by name.
    let audit = get_as(&admin_token(), "/api/v1/audit?action=refused&limit=10000").await;
    assert_eq!(audit.status, StatusCode::OK);
    let entries = audit.json()["entries"]
        .as_array()
        .cloned()
        .expect("entries");
    assert!(
        entries
            .iter()
            .any(|e| e["who"] == format!("token:{}", names[1]) && e["status"] == 401)
    );
}

#[tokio::test]
async fn an_ingest_token_reads_nothing_and_readers_write_nothing() {
    let ingest = sample_token(Role::Ingest, &[], &[]);
    for uri in READ_ADDRESSES {
        let r = get_as(&ingest, uri).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}: {}", r.text());
        assert_eq!(r.json()["error"], "forbidden");
    }
    for role in [Role::Analyst, Role::Viewer] {
        let regions: &[&str] = if role == Role::Viewer { &["DACH"] } else { &[] };
        let token = sample_token(role, regions, &[]);
        let r = call(
            "POST",
            "/api/v1/events",
            &[("Authorization", format!("Bearer {token}"))],
            "{}",
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role:?}");
    }
    // Only admins see the audit log, tokens and users.
    let analyst = sample_token(Role::Analyst, &[], &[]);
    for uri in ["/api/v1/audit", "/api/v1/tokens", "/api/v1/users", "/audit"] {
        assert_eq!(
            get_as(&analyst, uri).await.status,
            StatusCode::FORBIDDEN,
            "{uri}"
        );
        assert_eq!(
            get_as(&admin_token(), uri).await.status,
            StatusCode::OK,
            "{uri}"
        );
    }
    // The token list shows no hashes.
    let tokens = get_as(&admin_token(), "/api/v1/tokens").await.text();
    assert!(!tokens.contains("sha256"), "{tokens}");
    // User-level data is off by default, even for admins.
    let r = get_as(&admin_token(), "/api/v1/licensees").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("user_level_views"));
}

fn rows(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

/// Region names a text mentions, of the sample's four.
fn regions_in(text: &str) -> Vec<&'static str> {
    ["DACH", "Nordics", "Iberia", "Benelux"]
        .into_iter()
        .filter(|r| text.contains(r))
        .collect()
}

#[tokio::test]
async fn a_scoped_viewer_sees_their_scope_through_every_address() {
    let viewer = sample_token(Role::Viewer, &["DACH"], &[]);
    // Totals are the scope's: the viewer's organisation is DACH.
    let mine = get_as(&viewer, "/api/v1/kpi").await.json();
    let mine = rows(&mine);
    assert!(!mine.is_empty());
    let (first, last) = (
        mine[0]["week"].as_str().expect("week").to_string(),
        mine[mine.len() - 1]["week"]
            .as_str()
            .expect("week")
            .to_string(),
    );
    let dach = true_eligible("region", &first, &last);
    let mut compared = 0;
    for m in &mine {
        // Protection decides within the scope what to hide.
        if m["suppressed"] == false {
            let week = m["week"].as_str().expect("week").to_string();
            assert_eq!(
                m["eligible"],
                dach[&(week, vec!["DACH".to_string()])],
                "{m}"
            );
            compared += 1;
        }
    }
    assert!(compared > 5, "{compared} weeks shown");

    // Every breakdown stays inside DACH.
    for by in [
        "region",
        "department",
        "team",
        "wave",
        "region,department",
        "department,team",
        "wave,region,department,team",
    ] {
        for endpoint in ["kpi", "lagging", "modules"] {
            let r = get_as(&viewer, &format!("/api/v1/{endpoint}?by={by}")).await;
            assert_eq!(r.status, StatusCode::OK, "{endpoint} {by}: {}", r.text());
            for row in rows(&r.json()) {
                if let Some(region) = row.get("region") {
                    assert_eq!(region, "DACH", "{endpoint} by={by}: {row}");
                }
            }
            assert!(regions_in(&r.text()).len() <= 1, "{endpoint} {by}");
        }
        // A breakdown's total over the scope: its shown rows never exceed
        // the scope's eligible licensees.
        let r = get_as(&viewer, &format!("/api/v1/kpi?by={by}"))
            .await
            .json();
        let mut per_week: BTreeMap<String, i64> = BTreeMap::new();
        for row in rows(&r) {
            *per_week
                .entry(row["week"].as_str().unwrap_or("").into())
                .or_default() += row["eligible"].as_i64().unwrap_or(0);
        }
        for m in &mine {
            let week = m["week"].as_str().unwrap_or("");
            let total = m["eligible"].as_i64().unwrap_or(0);
            assert!(
                per_week.get(week).copied().unwrap_or(0) <= total,
                "{by} {week}"
            );
        }
    }
    let curve = get_as(&viewer, "/api/v1/adoption-curve?by=wave,region").await;
    assert_eq!(curve.status, StatusCode::OK);
    assert_eq!(regions_in(&curve.text()), ["DACH"]);

    // Other regions are refused in every filter, existing or not.
    for uri in [
        "/api/v1/kpi?region=Nordics",
        "/api/v1/kpi?region=Atlantis",
        "/api/v1/kpi?by=department&region=Iberia",
        "/api/v1/modules?region=Benelux",
        "/api/v1/lagging?region=Nordics",
        "/api/v1/forecast?region=Nordics",
        "/api/v1/adoption-curve?region=Nordics",
        "/dashboards/overview?region=Nordics",
        "/dashboards/overview/panels/1.csv?region=Nordics",
        "/reports/steering-weekly.pdf?region=Nordics",
    ] {
        let r = get_as(&viewer, uri).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}: {}", r.text());
        assert!(r.text().contains("outside your scope"), "{uri}");
    }
    // Filters inside the scope work.
    let r = get_as(&viewer, "/api/v1/kpi?by=team&department=Sales&wave=W1").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // The segment list, the pages and the downloads show DACH only.
    let segments = get_as(&viewer, "/api/v1/segments").await.json();
    assert_eq!(segments["region"], serde_json::json!(["DACH"]));
    // Only the waves of the scope, whose names may name other regions.
    let waves: Vec<&str> = segments["waves"]
        .as_array()
        .expect("waves")
        .iter()
        .filter_map(|w| w["wave_id"].as_str())
        .collect();
    assert_eq!(waves, ["W0", "W1"]);
    for uri in [
        "/dashboards/overview",
        "/dashboards/lagging",
        "/dashboards/modules",
        "/dashboards/overview/panels/1.csv",
        "/dashboards/lagging/panels/1.csv",
        "/dashboards/modules/panels/1.csv",
        "/reports",
        "/api/v1/reports",
    ] {
        let r = get_as(&viewer, uri).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        let found = regions_in(&r.text());
        assert!(found.iter().all(|r| *r == "DACH"), "{uri}: {found:?}");
    }
    // No recipients and no run log for viewers.
    let reports = get_as(&viewer, "/api/v1/reports").await.json();
    assert!(reports["reports"][0]["deliver"].is_null());
    assert_eq!(
        get_as(&viewer, "/api/v1/report-runs").await.status,
        StatusCode::FORBIDDEN
    );
    // The XLSX download holds DACH only (read with Python's zipfile).
    let xlsx = get_as(&viewer, "/dashboards/lagging/panels/1.xlsx").await;
    assert_eq!(xlsx.status, StatusCode::OK);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("lagging.xlsx");
    std::fs::write(&path, &xlsx.bytes).expect("write");
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
             print(''.join(z.read(n).decode() for n in z.namelist() if n.endswith('.xml')))",
        ])
        .arg(&path)
        .output()
        .expect("python3");
    let xml = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && xml.contains("<worksheet"));
    let found = regions_in(&xml);
    assert!(found.iter().all(|r| *r == "DACH"), "{found:?}");
    // The PDF report is the scope's.
    let pdf = get_as(&viewer, "/reports/steering-weekly.pdf").await;
    assert_eq!(pdf.status, StatusCode::OK);
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, &pdf.bytes).expect("write");
    let out = std::process::Command::new("pdftotext")
        .args(["-layout"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("DACH"), "{text}");
    assert_eq!(regions_in(&text), ["DACH"], "{text}");
}

#[tokio::test]
async fn a_viewer_scoped_to_a_department_sees_it_in_every_region() {
    let viewer = sample_token(Role::Viewer, &["DACH", "Nordics"], &["Sales"]);
    let r = get_as(&viewer, "/api/v1/kpi?by=region,department")
        .await
        .json();
    for row in rows(&r) {
        assert!(
            row["region"] == "DACH" || row["region"] == "Nordics",
            "{row}"
        );
        assert_eq!(row["department"], "Sales");
    }
    let r = get_as(&viewer, "/api/v1/kpi?department=Service").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let segments = get_as(&viewer, "/api/v1/segments").await.json();
    assert_eq!(segments["department"], serde_json::json!(["Sales"]));
}

/// True eligible licensees per (week, segment), unsuppressed, from the
/// CLI's SPEC.md table.
fn true_eligible(by: &str, from: &str, to: &str) -> BTreeMap<(String, Vec<String>), i64> {
    let (by, from, to) = (by.to_string(), from.to_string(), to.to_string());
    // kpi_csv runs a runtime of its own: not inside the test's.
    std::thread::spawn(move || eligible_of(&by, &from, &to))
        .join()
        .expect("thread")
}

fn eligible_of(by: &str, from: &str, to: &str) -> BTreeMap<(String, Vec<String>), i64> {
    let state = sample_state();
    let store = uptake::store::Store::open(&state.data_dir).expect("store");
    let mut settings = uptake::config::Settings::default();
    settings.privacy.min_group_size = 0;
    let text = kpi_csv(&store, &settings, by, from, to);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("header").clone();
    let n = by.split(',').filter(|s| !s.is_empty()).count();
    let eligible = header
        .iter()
        .position(|c| c == "eligible")
        .expect("eligible");
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            (
                (
                    r[0].to_string(),
                    (1..1 + n).map(|i| r[i].to_string()).collect(),
                ),
                r[eligible].parse().unwrap_or(0),
            )
        })
        .collect()
}

/// A cell of some table: week and (dimension, value) pairs in name order.
type CellKey = (String, Vec<(String, String)>);

fn cell_key(week: &str, dims: &[&str], values: &[String]) -> CellKey {
    let mut pairs: Vec<(String, String)> = dims
        .iter()
        .zip(values)
        .map(|(d, v)| (d.to_string(), v.clone()))
        .collect();
    pairs.sort();
    (week.to_string(), pairs)
}

/// Every subset of the dimensions, the empty one included.
fn subsets<'a>(dims: &[&'a str]) -> Vec<Vec<&'a str>> {
    (0..1u32 << dims.len())
        .map(|mask| {
            dims.iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, d)| *d)
                .collect()
        })
        .collect()
}

/// Plays the attacker: takes every figure the API shows for a breakdown
/// and all coarser ones, then solves "a segment is the sum of its parts"
/// wherever a single part is unknown, until nothing more follows. No
/// segment with 1 to k-1 eligible licensees may become known.
#[tokio::test]
async fn suppressed_segments_cannot_be_recovered_by_subtraction() {
    let k = sample_state().settings.privacy.min_group_size as i64;
    let analyst = sample_token(Role::Analyst, &[], &[]);
    let weeks = get_as(&analyst, "/api/v1/segments").await.json()["weeks"].clone();
    let (from, to) = (
        weeks["first"].as_str().expect("first").to_string(),
        weeks["last"].as_str().expect("last").to_string(),
    );
    let mut solved_any = 0;
    for by in [
        "region",
        "team",
        "region,department",
        "department,team",
        "region,wave",
        "region,department,team",
    ] {
        let dims: Vec<&str> = by.split(',').collect();
        // The truth, from the CLI's unsuppressed table, summed up to every
        // coarser table.
        let finest = true_eligible(by, &from, &to);
        let mut truth: BTreeMap<CellKey, i64> = BTreeMap::new();
        for ((week, values), n) in &finest {
            for sub in subsets(&dims) {
                let picked: Vec<String> = sub
                    .iter()
                    .map(|d| values[dims.iter().position(|x| x == d).expect("dim")].clone())
                    .collect();
                *truth.entry(cell_key(week, &sub, &picked)).or_default() += n;
            }
        }
        // What the API shows of every one of those tables.
        let mut known: BTreeMap<CellKey, i64> = BTreeMap::new();
        let mut cells_of: Vec<(Vec<&str>, Vec<CellKey>)> = Vec::new();
        for sub in subsets(&dims) {
            let uri = format!("/api/v1/kpi?by={}&from={from}&to={to}", sub.join(","));
            let table = get_as(&analyst, &uri).await.json();
            let mut cells = Vec::new();
            for row in rows(&table) {
                let values: Vec<String> = sub
                    .iter()
                    .map(|d| row[*d].as_str().unwrap_or("").to_string())
                    .collect();
                let key = cell_key(row["week"].as_str().unwrap_or(""), &sub, &values);
                if row["suppressed"] != true {
                    known.insert(key.clone(), row["eligible"].as_i64().expect("eligible"));
                }
                cells.push(key);
            }
            cells_of.push((sub, cells));
        }
        // Every segment below k is suppressed (SPEC.md section 4).
        for (key, n) in &truth {
            if *n < k {
                assert!(!known.contains_key(key), "{by}: {key:?} has {n}");
            }
        }
        let shown = known.len();
        loop {
            let before = known.len();
            for (sub, cells) in &cells_of {
                for d in sub {
                    let mut groups: BTreeMap<CellKey, Vec<&CellKey>> = BTreeMap::new();
                    for cell in cells {
                        let mut parent = cell.clone();
                        parent.1.retain(|(dim, _)| dim != d);
                        groups.entry(parent).or_default().push(cell);
                    }
                    for (parent, parts) in groups {
                        let unknown: Vec<&&CellKey> =
                            parts.iter().filter(|c| !known.contains_key(**c)).collect();
                        let sum: i64 = parts.iter().filter_map(|c| known.get(*c)).sum();
                        match (known.get(&parent), unknown.as_slice()) {
                            (Some(total), [one]) => {
                                known.insert((**one).clone(), total - sum);
                            }
                            (None, []) => {
                                known.insert(parent, sum);
                            }
                            _ => {}
                        }
                    }
                }
            }
            if known.len() == before {
                break;
            }
        }
        solved_any += known.len() - shown;
        for (key, value) in &known {
            let n = truth[key];
            assert_eq!(*value, n, "{by}: {key:?} solved wrongly");
            assert!(
                n == 0 || n >= k,
                "by={by}: {key:?} with {n} eligible licensees can be computed from shown figures"
            );
        }
    }
    // The attack did find something (segments of at least k, or empty).
    assert!(solved_any > 0);

    // A filter is a dimension too: a department's total minus its shown
    // per-region cells (each filtered by one region) reveals no small cell.
    let week = &to;
    let all = get_as(
        &analyst,
        &format!("/api/v1/kpi?by=department&from={week}&to={week}"),
    )
    .await
    .json();
    let truth = true_eligible("department,region", week, week);
    for dept in rows(&all).into_iter().filter(|d| d["suppressed"] != true) {
        let name = dept["department"].as_str().expect("department").to_string();
        let mut hidden = Vec::new();
        for region in ["Benelux", "DACH", "Iberia", "Nordics"] {
            let r = get_as(
                &analyst,
                &format!("/api/v1/kpi?by=department&region={region}&from={week}&to={week}"),
            )
            .await
            .json();
            let row = rows(&r)
                .into_iter()
                .find(|row| row["department"] == name.as_str())
                .expect("row");
            if row["suppressed"] == true {
                hidden.push(truth[&(week.clone(), vec![name.clone(), region.to_string()])]);
            }
        }
        if let [one] = hidden.as_slice() {
            assert!(*one == 0 || *one >= k, "{name}: {hidden:?}");
        }
    }
}

/// The figures of one finest segment (region, department, team, wave):
/// eligible licensees, regular users, inactive licensees and the users of
/// each module.
#[derive(Debug, Default, Clone)]
struct Figures {
    eligible: i64,
    regular: i64,
    inactive: i64,
    module_users: BTreeMap<String, i64>,
}

/// The truth of one week within a scope: every finest segment's figures,
/// unprotected, from the library.
fn finest_truth(week: &str, scope: &uptake::kpi::Scope) -> BTreeMap<Vec<String>, Figures> {
    let (week, scope) = (week.parse().expect("week"), scope.clone());
    std::thread::spawn(move || {
        let state = sample_state();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let source = state.source();
            let request = uptake::kpi::Request {
                dims: uptake::kpi::Dimension::ALL.to_vec(),
                from: week,
                to: week,
                filter: Default::default(),
                scope,
                protected: false,
            };
            let mut truth: BTreeMap<Vec<String>, Figures> = BTreeMap::new();
            for r in uptake::kpi::kpi_rows(&source, &state.settings, &request)
                .await
                .expect("kpi")
            {
                let f = truth.entry(r.segment).or_default();
                f.eligible = r.eligible;
                f.regular = r.regular;
            }
            let modules = uptake::kpi::modules_table(&source, &state.settings, &request)
                .await
                .expect("modules");
            let column = |name: &str| {
                modules
                    .columns
                    .iter()
                    .position(|c| c == name)
                    .expect("column")
            };
            let int = |cell: &uptake::kpi::Cell| match cell {
                uptake::kpi::Cell::Int(v) => *v,
                _ => 0,
            };
            for row in &modules.rows {
                let segment: Vec<String> = (1..5)
                    .map(|i| uptake::kpi::Table::cell_text(&row[i]))
                    .collect();
                let f = truth.entry(segment).or_default();
                f.inactive = int(&row[column("inactive_licensees")]);
                let users = int(&row[column("module_users")]);
                if users > 0 {
                    f.module_users
                        .insert(uptake::kpi::Table::cell_text(&row[column("module")]), users);
                }
            }
            truth
        })
    })
    .join()
    .expect("truth")
}

/// The figures of a shown segment: its eligible count, and its other
/// figures by name (`regular`, `inactive`, `module:ID`).
type Shown = (i64, BTreeMap<String, i64>);

/// What a caller sees of every breakdown in one week: each shown segment
/// by its dimension and value pairs.
async fn shown_figures(token: &str, week: &str) -> BTreeMap<Vec<(String, String)>, Shown> {
    let mut shown: BTreeMap<Vec<(String, String)>, Shown> = BTreeMap::new();
    for sub in subsets(&["region", "department", "team", "wave"]) {
        let by = sub.join(",");
        let key = |row: &Value| -> Vec<(String, String)> {
            sub.iter()
                .map(|d| (d.to_string(), row[*d].as_str().unwrap_or("").to_string()))
                .collect()
        };
        let kpi = get_as(token, &format!("/api/v1/kpi?by={by}&from={week}&to={week}")).await;
        assert_eq!(kpi.status, StatusCode::OK, "{}", kpi.text());
        for row in rows(&kpi.json()).iter().filter(|r| r["suppressed"] != true) {
            let entry = shown.entry(key(row)).or_default();
            entry.0 = row["eligible"].as_i64().expect("eligible");
            entry
                .1
                .insert("regular".into(), row["regular"].as_i64().expect("regular"));
        }
        let modules = get_as(token, &format!("/api/v1/modules?by={by}&week={week}")).await;
        assert_eq!(modules.status, StatusCode::OK, "{}", modules.text());
        for row in rows(&modules.json())
            .iter()
            .filter(|r| r["suppressed"] != true)
        {
            let entry = shown.entry(key(row)).or_default();
            entry.0 = row["eligible"].as_i64().expect("eligible");
            entry.1.insert(
                "inactive".into(),
                row["inactive_licensees"].as_i64().expect("inactive"),
            );
            entry.1.insert(
                format!("module:{}", row["module"].as_str().unwrap_or("")),
                row["module_users"].as_i64().expect("users"),
            );
        }
    }
    shown
}

/// The least and greatest value of the sum of `objective`'s variables
/// over the attacker's polytope; none when unbounded or infeasible.
fn range_of(
    build: &dyn Fn(&mut microlp::Problem) -> Vec<microlp::Variable>,
    objective: &[usize],
) -> Option<(f64, f64)> {
    use microlp::{OptimizationDirection, Problem, SolveOutcome};
    let mut ends = Vec::new();
    for direction in [
        OptimizationDirection::Minimize,
        OptimizationDirection::Maximize,
    ] {
        let mut problem = Problem::new(direction);
        let vars = build(&mut problem);
        let goal = problem.add_var(1.0, (f64::NEG_INFINITY, f64::INFINITY));
        let mut terms: Vec<(microlp::Variable, f64)> =
            objective.iter().map(|&i| (vars[i], 1.0)).collect();
        terms.push((goal, -1.0));
        problem.add_constraint(terms, microlp::ComparisonOp::Eq, 0.0);
        match problem.solve() {
            Ok(SolveOutcome::Solution(s)) => ends.push(s[goal]),
            _ => return None,
        }
    }
    Some((ends[0], ends[1]))
}

/// Plays an attacker with a linear-programming solver: unknowns are every
/// finest segment's eligible count `n` (at least 0) and figure `x`
/// (between 0 and `n`); every shown segment of the 16 breakdowns fixes
/// the sums of its finest segments. For each hidden segment of 1 to k-1
/// licensees, the least and greatest possible eligible count and figure
/// must differ, unless a shown segment containing each of its members
/// shows the figure as 0 or as everyone.
async fn attack_by_linear_programming(
    token: &str,
    scope: &uptake::kpi::Scope,
    week: &str,
) -> usize {
    let k = sample_state().settings.privacy.min_group_size as i64;
    let truth = finest_truth(week, scope);
    let cells: Vec<(&Vec<String>, &Figures)> = truth.iter().collect();
    let dims = ["region", "department", "team", "wave"];
    let members = |pairs: &[(String, String)]| -> Vec<usize> {
        (0..cells.len())
            .filter(|&c| {
                pairs
                    .iter()
                    .all(|(d, v)| cells[c].0[dims.iter().position(|x| x == d).expect("dim")] == *v)
            })
            .collect()
    };
    let shown = shown_figures(token, week).await;
    let shown: Vec<(Vec<usize>, i64, BTreeMap<String, i64>)> = shown
        .into_iter()
        .map(|(pairs, (n, f))| (members(&pairs), n, f))
        .collect();
    let mut names: Vec<String> = vec!["regular".into(), "inactive".into()];
    for (_, _, f) in &shown {
        for name in f.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    let value = |f: &Figures, name: &str| match name {
        "regular" => f.regular,
        "inactive" => f.inactive,
        m => f
            .module_users
            .get(&m["module:".len()..])
            .copied()
            .unwrap_or(0),
    };
    // The hidden segments of every breakdown with 1 to k-1 licensees, once
    // per set of finest segments.
    let mut targets: BTreeMap<Vec<usize>, Vec<(String, String)>> = BTreeMap::new();
    for sub in subsets(&dims) {
        let mut groups: BTreeMap<Vec<String>, Vec<usize>> = BTreeMap::new();
        for (c, (values, _)) in cells.iter().enumerate() {
            let key: Vec<String> = sub
                .iter()
                .map(|d| values[dims.iter().position(|x| x == d).expect("dim")].clone())
                .collect();
            groups.entry(key).or_default().push(c);
        }
        for (values, members) in groups {
            let n: i64 = members.iter().map(|&c| cells[c].1.eligible).sum();
            let pairs: Vec<(String, String)> =
                sub.iter().map(|d| d.to_string()).zip(values).collect();
            let is_shown = shown.iter().any(|(m, _, _)| *m == members);
            if (1..k).contains(&n) && !is_shown {
                targets.entry(members).or_insert(pairs);
            }
        }
    }
    let mut checked = 0;
    for (members, pairs) in &targets {
        for figure in std::iter::once(None).chain(names.iter().map(Some)) {
            let build = |p: &mut microlp::Problem| -> Vec<microlp::Variable> {
                let n: Vec<microlp::Variable> = (0..cells.len())
                    .map(|_| p.add_var(0.0, (0.0, f64::INFINITY)))
                    .collect();
                let x: Vec<microlp::Variable> = (0..cells.len())
                    .map(|_| p.add_var(0.0, (0.0, f64::INFINITY)))
                    .collect();
                for c in 0..cells.len() {
                    p.add_constraint([(x[c], 1.0), (n[c], -1.0)], microlp::ComparisonOp::Le, 0.0);
                }
                for (m, eligible, figures) in &shown {
                    p.add_constraint(
                        m.iter().map(|&c| (n[c], 1.0)).collect::<Vec<_>>(),
                        microlp::ComparisonOp::Eq,
                        *eligible as f64,
                    );
                    if let Some(name) = figure {
                        // A figure a table shows for this segment; the
                        // modules table lists modules of L(t) only.
                        if let Some(v) = figures.get(name.as_str()) {
                            p.add_constraint(
                                m.iter().map(|&c| (x[c], 1.0)).collect::<Vec<_>>(),
                                microlp::ComparisonOp::Eq,
                                *v as f64,
                            );
                        }
                    }
                }
                if figure.is_none() { n } else { x }
            };
            let Some((low, high)) = range_of(&build, members) else {
                continue;
            };
            checked += 1;
            if high - low > 0.5 {
                continue;
            }
            // Determined: allowed only when each member's value is told by
            // a shown segment containing it (0 or everyone).
            let name = figure.expect("an eligible count of a small segment is never determined");
            let told = members
                .iter()
                .filter(|&&c| cells[c].1.eligible > 0)
                .all(|&c| {
                    shown.iter().any(|(m, n, f)| {
                        m.contains(&c) && f.get(name.as_str()).is_some_and(|&v| v == 0 || v == *n)
                    })
                });
            let true_value: i64 = members.iter().map(|&c| value(cells[c].1, name)).sum();
            assert!(
                told,
                "week {week}, scope {scope:?}: {name} of hidden segment {pairs:?} is pinned to {low} (truly {true_value})"
            );
        }
    }
    checked
}

/// Attribute disclosure: no figure of a small hidden segment (eligible,
/// regular, inactive, users of a module) follows from what one caller
/// sees, for an analyst and for scoped viewers, by any combination of sums
/// and the bounds 0 <= figure <= eligible.
#[tokio::test]
async fn no_figure_of_a_small_hidden_segment_follows_by_linear_programming() {
    use uptake::kpi::Scope;
    let callers = [
        (sample_token(Role::Analyst, &[], &[]), Scope::default()),
        (
            sample_token(Role::Viewer, &["DACH"], &[]),
            Scope {
                regions: vec!["DACH".into()],
                departments: vec![],
            },
        ),
        (
            sample_token(Role::Viewer, &["DACH", "Nordics"], &["Sales"]),
            Scope {
                regions: vec!["DACH".into(), "Nordics".into()],
                departments: vec!["Sales".into()],
            },
        ),
    ];
    let mut checked = 0;
    for (token, scope) in &callers {
        for week in ["2026-W46", "2027-W01"] {
            checked += attack_by_linear_programming(token, scope, week).await;
        }
    }
    assert!(checked > 100, "only {checked} ranges were computed");
}

#[tokio::test]
async fn sql_and_path_traversal_strings_are_refused_everywhere() {
    let viewer = sample_token(Role::Viewer, &["DACH"], &[]);
    let admin = admin_token();
    let nasty = [
        "' OR '1'='1",
        "DACH' OR region <> '",
        "DACH\u{1f}Nordics",
        "1; DROP TABLE directory; --",
        "../../etc/passwd",
        "..%2F..%2Ftokens.json",
        "%00",
        "$only_region",
        "region,department) UNION SELECT user_id",
    ];
    let addresses: [(&str, &[&str]); 8] = [
        (
            "/api/v1/kpi",
            &["by", "from", "to", "region", "department", "wave"],
        ),
        (
            "/api/v1/forecast",
            &["by", "week", "target_week", "region", "department", "wave"],
        ),
        (
            "/api/v1/modules",
            &["by", "week", "region", "department", "wave"],
        ),
        (
            "/api/v1/lagging",
            &["by", "week", "region", "department", "wave"],
        ),
        (
            "/api/v1/adoption-curve",
            &["by", "from", "to", "region", "wave"],
        ),
        ("/api/v1/audit", &["since", "limit"]),
        (
            "/dashboards/overview",
            &["from", "to", "region", "department", "wave", "lang"],
        ),
        (
            "/reports/steering-weekly.pdf",
            &["week", "since", "region", "department", "wave"],
        ),
    ];
    for (path, params) in addresses {
        for param in params {
            for value in nasty {
                let q: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair(param, value)
                    .finish();
                let uri = format!("{path}?{q}");
                for token in [&admin, &viewer] {
                    let r = get_as(token, &uri).await;
                    assert!(
                        matches!(r.status, 400 | 403 | 404),
                        "{uri}: {} {}",
                        r.status,
                        r.text()
                    );
                    if path.starts_with("/api/") {
                        assert!(r.json()["error"].is_string(), "{uri}");
                    }
                }
            }
        }
    }
    // `report` names a report; an unknown one lists nothing.
    let r = get_as(&admin, "/api/v1/report-runs?report=..%2F..%2Fetc%2Fpasswd").await;
    assert!(matches!(r.status, 200 | 404 | 400));
    assert!(!r.text().contains("root:"));
    // Path segments that climb out are not found.
    for uri in [
        "/dashboards/..%2F..%2Fetc%2Fpasswd",
        "/dashboards/overview/panels/..%2F..%2Ftokens.json",
        "/dashboards/overview/panels/1.csv%2F..%2F..%2Fusers.json",
        "/reports/..%2Ftokens.json",
        "/reports/..%2F..%2Fusers.pdf",
        "/api/v1/..%2F..%2Faudit.jsonl",
        "/tokens.json",
        "/users.json",
        "/audit.jsonl",
    ] {
        let r = get_as(&viewer, uri).await;
        assert!(
            matches!(r.status, 404 | 400),
            "{uri}: {} {}",
            r.status,
            r.text()
        );
        assert!(
            !r.text().contains("sha256") && !r.text().contains("argon2"),
            "{uri}"
        );
    }
}

fn session_cookie(r: &Reply) -> Option<String> {
    r.headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The value of `name="form_token"` in a page.
fn form_token(page: &str) -> String {
    let pattern = "name=\"form_token\" value=\"";
    let at = page.find(pattern).expect("form token") + pattern.len();
    page[at..].split('"').next().expect("value").to_string()
}

/// Loads the sign-in form: its cookie and form token.
async fn login_form() -> (String, String) {
    let r = call("GET", "/login", &[], "").await;
    assert_eq!(r.status, StatusCode::OK);
    let cookie = session_cookie(&r).expect("sign-in cookie");
    assert!(cookie.starts_with("uptake_login=") && cookie.contains("SameSite=Strict"));
    let pair = cookie.split(';').next().expect("pair").to_string();
    (pair, form_token(&r.text()))
}

async fn sign_in_to(user: &str, password: &str, next: &str) -> Reply {
    let (cookie, token) = login_form().await;
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("user", user)
        .append_pair("password", password)
        .append_pair("next", next)
        .append_pair("form_token", &token)
        .finish();
    call(
        "POST",
        "/login",
        &[
            (
                "Content-Type",
                "application/x-www-form-urlencoded".to_string(),
            ),
            ("Cookie", cookie),
        ],
        &form,
    )
    .await
}

async fn sign_in(user: &str, password: &str) -> Reply {
    sign_in_to(user, password, "/dashboards/overview").await
}

/// The session cookie a successful sign-in sets.
fn session_of(r: &Reply) -> String {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("uptake_session="))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string()
}

#[tokio::test]
async fn signing_in_gives_a_session_that_ends() {
    // A wrong password: the form again, no cookie.
    let r = sign_in("admin", "wrong").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert!(session_cookie(&r).is_none());
    // A sign-in form without the form token of its cookie, or sent from
    // another site, is refused (cross-site request forgery).
    let form = |token: &str| {
        format!(
            "user=admin&password={}&form_token={token}",
            ADMIN_PASSWORD.replace(' ', "+")
        )
    };
    let url_encoded = (
        "Content-Type",
        "application/x-www-form-urlencoded".to_string(),
    );
    let r = call(
        "POST",
        "/login",
        std::slice::from_ref(&url_encoded),
        &form("guessed"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.text().contains("uptake_session"));
    let (cookie, token) = login_form().await;
    let r = call(
        "POST",
        "/login",
        &[
            url_encoded.clone(),
            ("Cookie", cookie.clone()),
            ("Origin", "https://evil.example".into()),
            ("Host", "uptake.example".into()),
        ],
        &form(&token),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = call(
        "POST",
        "/login",
        &[
            url_encoded,
            ("Cookie", cookie),
            ("Origin", "https://uptake.example".into()),
            ("Host", "uptake.example".into()),
        ],
        &form(&token),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "same origin");
    // The right one: a cookie scripts cannot read, only for this site.
    let r = sign_in("admin", ADMIN_PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/dashboards/overview");
    let cookie = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("uptake_session="))
        .expect("cookie")
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let session = session_of(&r);
    let r = call(
        "GET",
        "/dashboards/overview",
        &[("Cookie", session.clone())],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("Sign out"));
    let sign_out_token = form_token(&r.text());
    // An admin's browser session cannot post events: that takes a token.
    let r = call(
        "POST",
        "/api/v1/events",
        &[("Cookie", session.clone())],
        "{\"event_time\":\"2026-11-02T10:00:00Z\",\"user_id\":\"u000001\",\"module\":\"accounts\",\"action\":\"view\"}\n",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // Only this site's own paths are followed after signing in.
    let r = sign_in_to("admin", ADMIN_PASSWORD, "https://evil.example").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/");
    // Signing out needs the session's form token and a form of this site.
    let form = [(
        "Content-Type",
        "application/x-www-form-urlencoded".to_string(),
    )];
    let with = |extra: &[(&'static str, String)]| {
        let mut headers = form.to_vec();
        headers.push(("Cookie", session.clone()));
        headers.extend(extra.iter().cloned());
        headers
    };
    let r = call("POST", "/logout", &with(&[]), "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "without the form token");
    let body = format!("form_token={sign_out_token}");
    let r = call(
        "POST",
        "/logout",
        &with(&[
            ("Origin", "https://evil.example".into()),
            ("Host", "localhost".into()),
        ]),
        &body,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "from another site");
    let r = call("POST", "/logout", &with(&[]), &body).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = call("GET", "/dashboards/overview", &[("Cookie", session)], "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // A removed user's session ends with the next request.
    let state = sample_state();
    uptake::auth::users::add(
        &state.data_dir,
        "temp",
        None,
        Role::Viewer,
        uptake::kpi::Scope {
            regions: vec!["DACH".into()],
            departments: vec![],
        },
        Some(uptake::i18n::Lang::Fr),
        Some("temporary password"),
    )
    .expect("add");
    let r = sign_in("temp", "temporary password").await;
    let session = session_of(&r);
    // Their pages come in their language, whatever the browser asks for;
    // the switch on the page still wins.
    for (uri, lang) in [
        ("/dashboards/overview", "fr"),
        ("/reports", "fr"),
        ("/dashboards/overview?lang=de", "de"),
    ] {
        let r = call(
            "GET",
            uri,
            &[
                ("Cookie", session.clone()),
                ("Accept-Language", "de".into()),
            ],
            "",
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert!(
            r.text().contains(&format!("<html lang=\"{lang}\">")),
            "{uri}"
        );
    }
    let r = call(
        "GET",
        "/api/v1/segments",
        &[("Cookie", session.clone())],
        "",
    )
    .await;
    assert_eq!(r.json()["region"], serde_json::json!(["DACH"]));
    assert!(uptake::auth::users::remove(&state.data_dir, "temp").expect("remove"));
    let r = call("GET", "/api/v1/segments", &[("Cookie", session)], "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Five failures lock the name for a while, even with the right
    // password.
    uptake::auth::users::add(
        &state.data_dir,
        "locked",
        None,
        Role::Analyst,
        Default::default(),
        None,
        Some("the right password"),
    )
    .expect("add");
    for _ in 0..5 {
        assert_eq!(
            sign_in("locked", "guess").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let r = sign_in("locked", "the right password").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.text().contains("Too many failed attempts"));

    // Sign-ins, failures and exports are in the audit log.
    let entries = get_as(&admin_token(), "/api/v1/audit?limit=10000")
        .await
        .json();
    let entries = rows(&entries["entries"]);
    for (who, action) in [
        ("user:admin", "sign_in"),
        ("user:admin", "sign_in_failed"),
        ("user:admin", "sign_out"),
        ("user:locked", "sign_in_failed"),
    ] {
        assert!(
            entries
                .iter()
                .any(|e| e["who"] == who && e["action"] == action),
            "{who} {action}"
        );
    }
}

#[tokio::test]
async fn exports_are_audited_with_who_and_what() {
    let viewer = sample_token(Role::Viewer, &["DACH"], &[]);
    let r = get_as(&viewer, "/dashboards/overview/panels/1.csv?wave=W1").await;
    assert_eq!(r.status, StatusCode::OK);
    let entries = get_as(&admin_token(), "/api/v1/audit?action=export&limit=10000")
        .await
        .json();
    let entry = rows(&entries["entries"])
        .into_iter()
        .find(|e| e["target"] == "/dashboards/overview/panels/1.csv?wave=W1")
        .expect("the export is logged");
    assert!(
        entry["who"]
            .as_str()
            .is_some_and(|w| w.starts_with("token:viewer"))
    );
    assert_eq!(entry["role"], "viewer");
    assert_eq!(entry["scope"], "region DACH");
    assert_eq!(entry["status"], 200);
    // The admin page shows the log.
    let page = get_as(&admin_token(), "/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text()
            .contains("/dashboards/overview/panels/1.csv?wave=W1")
    );
}

/// Tests that run `uptake` itself: the commands, TLS, pseudonymous ids.
mod commands {
    use std::path::Path;
    use std::process::{Command, Stdio};

    use super::form_token;
    use crate::support::{Server, repo, sample_store, stderr, stdout, uptake, uptake_command};

    /// curl: status code and body.
    fn curl(args: &[&str]) -> (u16, String) {
        let out = Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}"])
            .args(args)
            .output()
            .expect("curl (installed by .ci/install)");
        let text = stdout(&out);
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    fn token(data: &Path, args: &[&str]) -> String {
        let mut all = vec!["token", "create"];
        all.extend_from_slice(args);
        let out = uptake(data, &all);
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).trim().to_string()
    }

    #[test]
    fn token_and_user_commands_check_roles_scopes_and_lifetimes() {
        let tmp = sample_store();
        let data = tmp.path().join("data");
        for (args, why) in [
            (&["--role", "viewer"][..], "a viewer needs a scope"),
            (
                &["--role", "analyst", "--region", "DACH"][..],
                "only viewers are scoped",
            ),
            (
                &["--role", "viewer", "--region", "Atlantis"][..],
                "no licensee of the directory has region 'Atlantis'",
            ),
            (
                &["--role", "viewer", "--region", "DACH", "--expires", "30x"][..],
                "not a lifetime",
            ),
            (&["--role", "root"][..], "invalid value 'root'"),
        ] {
            let mut all = vec!["token", "create"];
            all.extend_from_slice(args);
            let out = uptake(&data, &all);
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
        }
        let t = token(
            &data,
            &[
                "--role",
                "viewer",
                "--region",
                "DACH",
                "--department",
                "Sales",
                "--expires",
                "30d",
                "--name",
                "dach-sales",
            ],
        );
        assert!(t.starts_with("upt_"));
        let list = stdout(&uptake(&data, &["token", "list"]));
        let line = list
            .lines()
            .find(|l| l.starts_with("dach-sales"))
            .expect("listed");
        assert!(
            line.contains("viewer") && line.contains("region DACH; department Sales"),
            "{line}"
        );
        let stored = std::fs::read_to_string(data.join("tokens.json")).expect("tokens");
        assert!(!stored.contains(&t[4..]));
        // A password from stdin is hashed; too short ones are refused.
        let add = |name: &str, password: &str| {
            let mut child = crate::support::uptake_binary()
                .arg("--data")
                .arg(&data)
                .args([
                    "user",
                    "add",
                    name,
                    "--role",
                    "viewer",
                    "--region",
                    "Nordics",
                    "--password-stdin",
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("uptake user add");
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(format!("{password}\n").as_bytes())
                .expect("write");
            child.wait_with_output().expect("wait")
        };
        assert_eq!(add("short", "abc").status.code(), Some(2));
        let out = add("nina", "a long enough password");
        assert!(out.status.success(), "{}", stderr(&out));
        let users = std::fs::read_to_string(data.join("users.json")).expect("users");
        assert!(users.contains("$argon2id$") && !users.contains("a long enough password"));
        // Changes are in the audit log.
        let audit = std::fs::read_to_string(data.join("audit.jsonl")).expect("audit");
        assert!(audit.contains("token_created") && audit.contains("user_added"));
        let out = uptake(&data, &["token", "revoke", "dach-sales"]);
        assert!(out.status.success());
        assert!(
            std::fs::read_to_string(data.join("audit.jsonl"))
                .expect("audit")
                .contains("token_revoked")
        );
    }

    #[test]
    fn https_with_a_certificate_from_config() {
        let tmp = sample_store();
        let data = tmp.path().join("data");
        let (cert, key) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
        let out = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl (installed by .ci/install)");
        assert!(out.status.success(), "{}", stderr(&out));
        let reader = token(&data, &["--role", "analyst"]);
        let (cert_path, key_path) = (cert.display().to_string(), key.display().to_string());
        let env = [
            ("UPTAKE_SERVER_TLS_CERT", cert_path.as_str()),
            ("UPTAKE_SERVER_TLS_KEY", key_path.as_str()),
        ];
        let server = Server::start(&data, &env);
        let port = server.port;
        let base = format!("https://127.0.0.1:{port}");
        let cacert = cert.display().to_string();
        let auth = format!("Authorization: Bearer {reader}");
        // Verified against the certificate, the API answers over HTTPS.
        let (code, body) = curl(&[
            "--cacert",
            &cacert,
            "-H",
            &auth,
            &format!("{base}/api/v1/kpi?by=region"),
        ]);
        assert_eq!(code, 200, "{body}");
        assert!(body.contains("DACH"));
        let (code, _) = curl(&["--cacert", &cacert, &format!("{base}/api/v1/kpi")]);
        assert_eq!(code, 401);
        // The session cookie is Secure under TLS.
        let users = crate::support::uptake_binary()
            .arg("--data")
            .arg(&data)
            .args(["user", "add", "tess", "--role", "analyst"])
            .output()
            .expect("user add");
        let password = stdout(&users).trim().to_string();
        // As a browser does: the form first (its cookie in a jar), then
        // the form sent back with its form token.
        let jar = tmp.path().join("cookies.txt").display().to_string();
        let (code, page) = curl(&["--cacert", &cacert, "-c", &jar, &format!("{base}/login")]);
        assert_eq!(code, 200);
        let out = Command::new("curl")
            .args(["-s", "-D", "-", "-o", "/dev/null", "--cacert", &cacert])
            .args([
                "-b",
                &jar,
                "--data-urlencode",
                "user=tess",
                "--data-urlencode",
            ])
            .arg(format!("password={password}"))
            .arg("--data-urlencode")
            .arg(format!("form_token={}", form_token(&page)))
            .arg(format!("{base}/login"))
            .output()
            .expect("curl");
        let headers = stdout(&out).to_lowercase();
        assert!(headers.starts_with("http/1.1 303"), "{headers}");
        let cookie = headers
            .lines()
            .find(|l| l.starts_with("set-cookie: uptake_session="))
            .expect("cookie");
        assert!(
            cookie.contains("secure") && cookie.contains("httponly"),
            "{cookie}"
        );
        // Plain HTTP gets no answer.
        let (code, _) = curl(&[&format!("http://127.0.0.1:{port}/health")]);
        assert_ne!(code, 200);
    }

    #[test]
    fn pseudonymised_ids_never_reach_the_data_directory() {
        let tmp = tempfile::tempdir().expect("tmp");
        let data = tmp.path().join("data");
        let sample = repo().join("sample_data");
        let key = ("UPTAKE_PRIVACY_PSEUDONYM_KEY", "a secret key for the tests");
        let run = |args: &[&str], with: Option<&str>| {
            let mut c = uptake_command(&data);
            // The sample's weeks run into 2027.
            c.args(args).env("UPTAKE_IMPORT_ALLOW_FUTURE", "true");
            match with {
                Some(k) => c.env(key.0, k),
                None => c.env_remove(key.0),
            };
            c.output().expect("uptake")
        };
        for (table, file) in [
            ("waves", "waves.csv"),
            ("directory", "directory.csv"),
            ("modules", "modules.csv"),
        ] {
            let out = run(
                &["import", table, &sample.join(file).display().to_string()],
                Some(key.1),
            );
            assert!(out.status.success(), "{}", stderr(&out));
        }
        let events = format!("{}/events/*.parquet", sample.display());
        let out = run(&["import", "events", &events], Some(key.1));
        assert!(out.status.success(), "{}", stderr(&out));

        // The figures are those of the raw ids: directory and events join.
        let plain = sample_store();
        let figures = |d: &Path| stdout(&uptake(d, &["kpi", "--by", "region", "--format", "csv"]));
        assert_eq!(figures(&data), figures(&plain.path().join("data")));

        // No raw id is stored anywhere under the data directory.
        let raw: Vec<String> = std::fs::read_to_string(sample.join("directory.csv"))
            .expect("directory")
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next().map(str::to_string))
            .collect();
        let mut stack = vec![data.clone()];
        let mut files = 0;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                files += 1;
                let bytes = std::fs::read(&path).expect("read");
                let text = String::from_utf8_lossy(&bytes);
                for id in &raw {
                    assert!(!text.contains(id.as_str()), "{id} in {}", path.display());
                }
            }
        }
        assert!(files > 5);
        // The same search finds raw ids in a store imported without a key:
        // the files do not hide them by compression.
        let control = std::fs::read(
            plain
                .path()
                .join("data")
                .join("tables")
                .join("directory.parquet"),
        )
        .expect("control");
        assert!(String::from_utf8_lossy(&control).contains(raw[0].as_str()));

        // Another key, or none, is refused: its ids would not join.
        let other = run(
            &[
                "import",
                "directory",
                &sample.join("directory.csv").display().to_string(),
            ],
            Some("another key entirely"),
        );
        assert_eq!(other.status.code(), Some(2));
        assert!(stderr(&other).contains("same key"), "{}", stderr(&other));
        let none = run(&["import", "events", &events], None);
        assert_eq!(none.status.code(), Some(2));
        assert!(stderr(&none).contains("pseudonym"), "{}", stderr(&none));

        // Live ingestion pseudonymises too: the log and the store hold no
        // raw id of a posted event.
        let ingest = token(&data, &["--role", "ingest"]);
        let server = Server::start(&data, &[key]);
        let port = server.port;
        let event = r#"{"event_time":"2027-01-13T12:00:00Z","user_id":"u000001","module":"campaigns","action":"view"}"#;
        let (code, body) = curl(&[
            "-H",
            &format!("Authorization: Bearer {ingest}"),
            "--data-binary",
            event,
            &format!("http://127.0.0.1:{port}/api/v1/events"),
        ]);
        assert_eq!(code, 200, "{body}");
        drop(server);
        let mut stack = vec![data.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let bytes = std::fs::read(&path).expect("read");
                    assert!(
                        !String::from_utf8_lossy(&bytes).contains("u000001"),
                        "{}",
                        path.display()
                    );
                }
            }
        }
    }

    #[test]
    fn user_level_views_need_the_setting_and_an_admin() {
        let tmp = sample_store();
        let data = tmp.path().join("data");
        let admin = token(&data, &["--role", "admin"]);
        let analyst = token(&data, &["--role", "analyst"]);
        let server = Server::start(&data, &[("UPTAKE_PRIVACY_USER_LEVEL_VIEWS", "true")]);
        let port = server.port;
        let url = format!(
            "http://127.0.0.1:{port}/api/v1/licensees?week=2027-W02&region=DACH&format=csv"
        );
        let (code, body) = curl(&["-H", &format!("Authorization: Bearer {admin}"), &url]);
        assert_eq!(code, 200, "{body}");
        let mut lines = body.lines();
        assert_eq!(
            lines.next(),
            Some("week,user_id,region,department,team,wave,active_weeks,regular")
        );
        let rows: Vec<&str> = lines.collect();
        assert!(!rows.is_empty() && rows.iter().all(|r| r.contains(",DACH,")));
        let (code, _) = curl(&["-H", &format!("Authorization: Bearer {analyst}"), &url]);
        assert_eq!(code, 403);
        // The export is audited.
        let audit = std::fs::read_to_string(data.join("audit.jsonl")).expect("audit");
        assert!(
            audit
                .lines()
                .any(|l| l.contains("\"export\"") && l.contains("/api/v1/licensees"))
        );
    }
}

/// Every route of the router, with no caller and with each role and scope,
/// answers as this one table says; the table names every route of
/// `uptake::server::routes()` and every path of `openapi.json`.
#[tokio::test]
async fn every_route_answers_each_caller_as_the_permission_table_says() {
    use std::collections::BTreeSet;
    // Callers: nobody, a viewer of DACH, a viewer of Nordics and Sales,
    // an analyst, an admin, an ingest token.
    let callers: [Option<String>; 6] = [
        None,
        Some(sample_token(Role::Viewer, &["DACH"], &[])),
        Some(sample_token(Role::Viewer, &["Nordics"], &["Sales"])),
        Some(sample_token(Role::Analyst, &[], &[])),
        Some(admin_token()),
        Some(sample_token(Role::Ingest, &[], &[])),
    ];
    // A page or API address for readers, and for admins only.
    const PAGE: [u16; 6] = [303, 200, 200, 200, 200, 403];
    const API: [u16; 6] = [401, 200, 200, 200, 200, 403];
    const ADMIN_PAGE: [u16; 6] = [303, 403, 403, 403, 200, 403];
    const ADMIN_API: [u16; 6] = [401, 403, 403, 403, 200, 403];
    // (route, method, address asked, statuses for the callers above).
    let table: [(&str, &str, &str, [u16; 6]); 37] = [
        ("/health", "GET", "/health", [200; 6]),
        ("/health/live", "GET", "/health/live", [200; 6]),
        ("/health/ready", "GET", "/health/ready", [200; 6]),
        ("/metrics", "GET", "/metrics", [200; 6]),
        ("/favicon.svg", "GET", "/favicon.svg", [200; 6]),
        ("/favicon.ico", "GET", "/favicon.ico", [200; 6]),
        ("/login", "GET", "/login", [200; 6]),
        // open; a made-up link is none
        ("/links/{token}", "GET", "/links/x.y", [404; 6]),
        ("/unsubscribe/{token}", "GET", "/unsubscribe/x.y", [404; 6]),
        ("/unsubscribe/{token}", "POST", "/unsubscribe/x.y", [404; 6]),
        // a session's form, never a token's
        (
            "/subscriptions",
            "POST",
            "/subscriptions",
            [303, 403, 403, 403, 403, 403],
        ),
        (
            "/subscriptions/{id}/delete",
            "POST",
            "/subscriptions/0123456789abcdef/delete",
            [303, 403, 403, 403, 403, 403],
        ),
        // no form token: refused by the form check
        ("/login", "POST", "/login", [403, 403, 403, 403, 403, 403]),
        ("/logout", "POST", "/logout", [303, 303, 303, 303, 303, 403]),
        // to the first dashboard, or to /login
        ("/", "GET", "/", [303, 303, 303, 303, 303, 403]),
        ("/dashboards/{id}", "GET", "/dashboards/overview", PAGE),
        (
            "/dashboards/{id}/panels/{file}",
            "GET",
            "/dashboards/overview/panels/1.csv",
            PAGE,
        ),
        ("/reports", "GET", "/reports", PAGE),
        (
            "/reports/{file}",
            "GET",
            "/reports/steering-weekly.pdf",
            PAGE,
        ),
        ("/alerts", "GET", "/alerts", PAGE),
        ("/audit", "GET", "/audit", ADMIN_PAGE),
        ("/api/v1/kpi", "GET", "/api/v1/kpi?by=region", API),
        ("/api/v1/modules", "GET", "/api/v1/modules", API),
        ("/api/v1/lagging", "GET", "/api/v1/lagging", API),
        ("/api/v1/forecast", "GET", "/api/v1/forecast", API),
        (
            "/api/v1/adoption-curve",
            "GET",
            "/api/v1/adoption-curve",
            API,
        ),
        ("/api/v1/segments", "GET", "/api/v1/segments", API),
        // privacy.user_level_views is off
        (
            "/api/v1/licensees",
            "GET",
            "/api/v1/licensees",
            [401, 403, 403, 403, 403, 403],
        ),
        ("/api/v1/openapi.json", "GET", "/api/v1/openapi.json", API),
        ("/api/v1/reports", "GET", "/api/v1/reports", API),
        (
            "/api/v1/report-runs",
            "GET",
            "/api/v1/report-runs",
            [401, 403, 403, 200, 200, 403],
        ),
        // admitted; an empty body holds no events
        (
            "/api/v1/events",
            "POST",
            "/api/v1/events",
            [401, 403, 403, 403, 400, 400],
        ),
        ("/api/v1/alerts", "GET", "/api/v1/alerts", API),
        ("/api/v1/audit", "GET", "/api/v1/audit", ADMIN_API),
        ("/api/v1/tokens", "GET", "/api/v1/tokens", ADMIN_API),
        ("/api/v1/users", "GET", "/api/v1/users", ADMIN_API),
        // read-only
        (
            "/api/v1/kpi",
            "POST",
            "/api/v1/kpi",
            [401, 403, 403, 403, 403, 403],
        ),
    ];
    let routes: BTreeSet<&str> = uptake::server::routes()
        .into_iter()
        .map(|(path, _, _)| path)
        .collect();
    let tabled: BTreeSet<&str> = table.iter().map(|(route, ..)| *route).collect();
    assert_eq!(routes, tabled, "routes of the router and of the table");
    let openapi = get_as(&admin_token(), "/api/v1/openapi.json").await.json();
    // A segment with a parameter matches any segment with one.
    let shape = |path: &str| -> String {
        path.split('/')
            .map(|s| if s.contains('{') { "{}" } else { s })
            .collect::<Vec<_>>()
            .join("/")
    };
    let shapes: BTreeSet<String> = tabled.iter().map(|r| shape(r)).collect();
    for path in openapi["paths"].as_object().expect("paths").keys() {
        assert!(
            shapes.contains(&shape(path)),
            "{path} of openapi.json is not in the table"
        );
    }
    let mut wrong = Vec::new();
    for (route, method, uri, expected) in &table {
        for (n, (caller, want)) in callers.iter().zip(expected).enumerate() {
            let headers: Vec<(&str, String)> = caller
                .iter()
                .map(|t| ("Authorization", format!("Bearer {t}")))
                .collect();
            let got = call(method, uri, &headers, "").await.status;
            if got != *want {
                wrong.push(format!(
                    "{method} {uri} ({route}) as caller #{n}: {got}, table says {want}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
