//! The JSON API and the pages of the sample app over HTTP: snapshots, parity with the CLI, filters,
//! and a JSON error naming the parameter for every kind of bad request.

use axum::http::StatusCode;
use serde_json::Value;

use crate::support::sample::call;
use crate::support::{admin_token, repo, sample_state, stderr, stdout, uptake};

/// GET `uri` as an admin; status, content type and body.
pub async fn get(uri: &str, headers: &[(&str, &str)]) -> (StatusCode, String, Vec<u8>) {
    let auth = format!("Bearer {}", admin_token());
    let mut with_auth = vec![("Authorization", auth.as_str())];
    with_auth.extend_from_slice(headers);
    get_with(uri, &with_auth).await
}

/// GET `uri` with exactly these headers; status, content type and body.
pub async fn get_with(uri: &str, headers: &[(&str, &str)]) -> (StatusCode, String, Vec<u8>) {
    let headers: Vec<(&str, String)> = headers.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let reply = call("GET", uri, &headers, "").await;
    let status = StatusCode::from_u16(reply.status).expect("status");
    (status, reply.content_type().to_string(), reply.bytes)
}

/// GET `uri`, which must answer 200 with JSON; the parsed body.
pub async fn json(uri: &str) -> Value {
    let (status, content_type, body) = get(uri, &[]).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{uri}: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(content_type, "application/json", "{uri}");
    serde_json::from_slice(&body).expect("JSON")
}

#[tokio::test]
async fn api_snapshots_on_sample_data() {
    for (name, uri) in [
        (
            "kpi_by_region",
            "/api/v1/kpi?by=region&from=2026-W50&to=2027-W02",
        ),
        (
            "kpi_by_wave_w53",
            "/api/v1/kpi?by=wave&from=2026-W52&to=2027-W01",
        ),
        (
            "kpi_filtered",
            "/api/v1/kpi?by=department&region=DACH&from=2026-W53&to=2026-W53",
        ),
        (
            "modules_by_region",
            "/api/v1/modules?by=region&week=2026-W53",
        ),
        (
            "lagging_teams",
            "/api/v1/lagging?by=region,department,team&week=2027-W02",
        ),
        (
            "adoption_curve",
            "/api/v1/adoption-curve?by=wave&from=2026-W36&to=2026-W45",
        ),
        ("segments", "/api/v1/segments"),
        ("health", "/health"),
    ] {
        insta::assert_json_snapshot!(format!("api_{name}"), json(uri).await);
    }
}

#[tokio::test]
async fn api_answers_what_the_cli_prints() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let sample = repo().join("sample_data");
    let out = uptake(&data, &["demo", "--sample", &sample.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let demo = data.join("demo");
    for (cli, uri) in [
        (
            vec!["kpi", "--by", "region,wave"],
            "/api/v1/kpi?by=region,wave",
        ),
        (
            vec!["modules", "--by", "department", "--week", "2026-W50"],
            "/api/v1/modules?by=department&week=2026-W50",
        ),
        (
            vec!["lagging", "--by", "team", "--region", "Nordics"],
            "/api/v1/lagging?by=team&region=Nordics",
        ),
    ] {
        let mut args = cli.clone();
        args.extend(["--format", "json"]);
        let out = uptake(&demo, &args);
        assert!(out.status.success(), "{}", stderr(&out));
        let printed: Value = serde_json::from_str(&stdout(&out)).expect("CLI JSON");
        // The API hides more (protection against differencing); what it
        // shows equals what the CLI prints.
        let mut served = json(uri).await;
        // The API names each row's wave beside its id; the CLI prints
        // SPEC.md's columns.
        for row in served.as_array_mut().expect("rows") {
            let row = row.as_object_mut().expect("row");
            if let Some(id) = row.get("wave").cloned() {
                let name = row.remove("wave_name").expect("wave_name beside wave");
                let wave = sample_state()
                    .labels
                    .waves
                    .iter()
                    .find(|w| Value::String(w.wave_id.clone()) == id)
                    .map(|w| w.name.clone());
                assert_eq!(Some(name), wave.map(Value::String), "{uri}");
            }
        }
        let (served, printed) = (
            served.as_array().expect("rows"),
            printed.as_array().expect("rows"),
        );
        if uri.contains("lagging") {
            // Hidden segments are left out of the lagging list.
            assert!(served.iter().all(|a| printed.contains(a)), "{uri}");
            continue;
        }
        assert_eq!(served.len(), printed.len(), "{uri}");
        let mut shown = 0;
        for (a, c) in served.iter().zip(printed) {
            if a["suppressed"] == false {
                assert_eq!(a, c, "{uri}");
                shown += 1;
            } else {
                assert_eq!(a["suppressed"], true, "{uri}: {a}");
                assert!(a["eligible"].is_null(), "{uri}: {a}");
            }
        }
        assert!(shown > 0, "{uri}");
    }
}

/// A filter keeps exactly the licensees of its value: the organisation
/// filtered to one region equals that region's row of `by=region`.
#[tokio::test]
async fn filters_equal_the_segment_they_select() {
    let by_region = json("/api/v1/kpi?by=region").await;
    let state = sample_state();
    for region in state.segments.values(uptake::kpi::Dimension::Region) {
        let filtered = json(&format!("/api/v1/kpi?region={region}")).await;
        let expected: Vec<Value> = by_region
            .as_array()
            .expect("rows")
            .iter()
            .filter(|r| r["region"] == region.as_str())
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().expect("row").shift_remove("region");
                r
            })
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(filtered, Value::Array(expected), "region {region}");
    }
}

#[tokio::test]
async fn bad_requests_name_the_parameter() {
    let cases = [
        ("/api/v1/kpi?by=country", "by"),
        ("/api/v1/kpi?by=team,team", "by"),
        ("/api/v1/kpi?from=2026-W54", "from"),
        ("/api/v1/kpi?to=yesterday", "to"),
        ("/api/v1/kpi?from=2027-W02&to=2026-W50", "from"),
        ("/api/v1/kpi?from=2000-W01&to=2026-W50", "from"),
        ("/api/v1/kpi?by=region&by=wave", "by"),
        ("/api/v1/kpi?week=2026-W50", "week"),
        ("/api/v1/kpi?region=Atlantis", "region"),
        ("/api/v1/modules?week=2026-W7", "week"),
        ("/api/v1/lagging?wave=W9", "wave"),
        ("/api/v1/adoption-curve?by=region", "by"),
        ("/api/v1/segments?by=region", "by"),
    ];
    let mut bodies = Vec::new();
    for (uri, parameter) in cases {
        let (status, content_type, body) = get(uri, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(content_type, "application/json", "{uri}");
        let body: Value = serde_json::from_slice(&body).expect("JSON error");
        assert_eq!(body["error"], "invalid_parameter", "{uri}");
        assert_eq!(body["parameter"], parameter, "{uri}: {body}");
        bodies.push(serde_json::json!({"uri": uri, "body": body}));
    }
    insta::assert_json_snapshot!("api_bad_requests", bodies);
    let (status, _, body) = get("/api/v1/nothing-here", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_slice(&body).expect("JSON error");
    assert_eq!(body["error"], "not_found");
}

#[tokio::test]
async fn openapi_describes_every_route() {
    let doc = json("/api/v1/openapi.json").await;
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/kpi",
        "/api/v1/modules",
        "/api/v1/lagging",
        "/api/v1/adoption-curve",
        "/api/v1/segments",
        "/api/v1/reports",
        "/api/v1/report-runs",
        "/api/v1/openapi.json",
        "/api/v1/audit",
        "/api/v1/tokens",
        "/api/v1/users",
        "/health",
    ] {
        assert!(paths.contains_key(path), "{path}");
        let (status, _, _) = get(path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    // The user-level view is described, and off by default.
    assert!(paths.contains_key("/api/v1/licensees"));
    assert_eq!(get("/api/v1/licensees", &[]).await.0, StatusCode::FORBIDDEN);
    // Live ingestion is a POST (tested against `uptake serve` in ingest.rs).
    assert!(paths["/api/v1/events"]["post"].is_object());
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

#[tokio::test]
async fn dashboards_render_in_english_and_german() {
    for (id, en, de) in [
        ("overview", "Go-live overview", "Go-Live-Übersicht"),
        ("lagging", "Lagging teams", "Teams mit Rückstand"),
        ("modules", "Modules", "Module"),
    ] {
        let uri = format!("/dashboards/{id}");
        let (status, content_type, body) = get(&uri, &[]).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {}", text(&body));
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let page = text(&body);
        assert!(page.contains(&format!("<h1>{en}</h1>")), "{uri}");
        assert!(page.contains("<svg class=\"chart\""), "{uri} draws charts");
        assert!(!page.contains("<script"), "{uri} needs no JavaScript");
        let (_, _, body) = get(&uri, &[("accept-language", "de-DE,de;q=0.9,en;q=0.5")]).await;
        let page = text(&body);
        assert!(page.contains(&format!("<h1>{de}</h1>")), "{uri} in German");
        assert!(page.contains("<html lang=\"de\">"));
        let (_, _, body) = get(&format!("{uri}?lang=en"), &[("accept-language", "de")]).await;
        assert!(
            text(&body).contains(&format!("<h1>{en}</h1>")),
            "the switch wins"
        );
    }
    let (status, _, body) = get("/dashboards/overview?region=Atlantis", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text(&body).contains("Atlantis"));
    let (status, _, _) = get("/dashboards/nothing", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = get("/", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

/// Every page in each of the six languages: its words are the language's
/// own (a missing one would show the English fallback), its dashboards'
/// titles and wave names too.
#[tokio::test]
async fn every_page_renders_in_each_language() {
    use uptake::i18n::Lang;
    let state = sample_state();
    for lang in Lang::ALL {
        let code = lang.code();
        let mut uris: Vec<String> = state
            .dashboards
            .iter()
            .map(|d| format!("/dashboards/{}", d.id))
            .collect();
        uris.extend(["/reports".into(), "/alerts".into(), "/audit".into()]);
        for uri in uris {
            let (status, _, body) = get(&format!("{uri}?lang={code}"), &[]).await;
            let page = text(&body);
            assert_eq!(status, StatusCode::OK, "{uri} in {code}: {page}");
            assert!(
                page.contains(&format!("<html lang=\"{code}\">")),
                "{uri} {code}"
            );
            for key in ["reports", "alerts", "audit_log", "sign_out"] {
                assert!(page.contains(lang.t(key)), "{uri} in {code} lacks {key}");
            }
            if let Some(d) = uri
                .strip_prefix("/dashboards/")
                .and_then(|id| state.dashboards.iter().find(|d| d.id == id))
            {
                assert!(
                    page.contains(&format!("<h1>{}</h1>", d.title.get(lang))),
                    "{uri} title in {code}"
                );
                for key in ["apply", "reset", "from", "to", "pdf_reports"] {
                    assert!(page.contains(lang.t(key)), "{uri} in {code} lacks {key}");
                }
            }
        }
        let (_, _, body) = get(&format!("/dashboards/overview?lang={code}"), &[]).await;
        let page = text(&body);
        for key in [
            "active_licensee_rate",
            "module_utilization",
            "forecast_status",
        ] {
            assert!(
                page.contains(lang.label(key)),
                "overview in {code} lacks {key}"
            );
        }
        // The waves by their name in the reader's language, where the
        // waves give one.
        let wave_1 = state.labels.wave("W1", lang);
        assert!(page.contains(&wave_1), "overview in {code} lacks {wave_1}");
        if lang != Lang::En {
            assert!(!page.contains(">Apply<"), "English on the {code} overview");
        }
        // Modules (the catalog's name_<lang>) and regions
        // ([region_names]) by their names in the reader's language, in
        // the table and the heat map; filters and data-value keep ids.
        let (_, _, body) = get(&format!("/dashboards/modules?lang={code}"), &[]).await;
        let page = text(&body);
        let module = state.labels.module("opportunities", lang).expect("catalog");
        let region = state.labels.region("Nordics", lang);
        for name in [module, region] {
            assert!(
                page.contains(&format!(">{name}</td>")),
                "the modules table in {code} lacks {name}"
            );
            // An SVG text holds its words on a line of their own.
            assert!(
                page.contains(&format!(">\n{name}\n</text>")),
                "the heat map in {code} lacks {name}"
            );
        }
        assert!(page.contains("data-value=\"Nordics\""), "{code}");
        if lang != Lang::En {
            for english in ["Opportunities", "Nordics"] {
                assert!(
                    !page.contains(&format!(">{english}<"))
                        && !page.contains(&format!(">\n{english}\n<")),
                    "{english} on the {code} modules page"
                );
            }
        }
    }
    let (status, _, body) = get("/dashboards/overview?lang=pt", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text(&body).contains("en, de, fr, es, da, nl"));
    // A hostile Accept-Language: 63 KB of entries, weights out of range.
    let hostile = "xx;q=NaN,".repeat(7_000) + "de;q=inf";
    let (status, _, body) = get("/dashboards/overview", &[("Accept-Language", &hostile)]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text(&body).contains("<html lang=\"en\">"));
}

#[tokio::test]
async fn every_panel_offers_csv_and_tables_xlsx() {
    let state = sample_state();
    for d in &state.dashboards {
        for (i, panel) in d.panels.iter().enumerate() {
            let n = i + 1;
            let query = "?region=DACH&from=2026-W48&to=2026-W53";
            let (status, content_type, body) =
                get(&format!("/dashboards/{}/panels/{n}.csv{query}", d.id), &[]).await;
            assert_eq!(status, StatusCode::OK, "{} {n}", d.id);
            assert!(content_type.starts_with("text/csv"));
            let csv = text(&body);
            let header = csv.lines().next().unwrap_or("");
            assert!(
                header.ends_with("suppressed") || header.contains("suppressed"),
                "{header}"
            );
            let (status, content_type, body) =
                get(&format!("/dashboards/{}/panels/{n}.xlsx{query}", d.id), &[]).await;
            if panel.chart == uptake::dashboard::Chart::Table {
                assert_eq!(status, StatusCode::OK, "{} {n} xlsx", d.id);
                assert!(content_type.contains("spreadsheetml"));
                assert_eq!(&body[..2], b"PK", "an XLSX is a zip file");
            } else {
                assert_eq!(status, StatusCode::NOT_FOUND, "{} {n} is a chart", d.id);
            }
        }
    }
}

/// Where a response departs from its schema in `openapi.json`: a missing
/// required field, a wrong type, a value outside an enum, or a field the
/// schema does not describe.
fn departures(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.trim_start_matches("#/components/schemas/");
        return departures(doc, &doc["components"]["schemas"][name], value, at, out);
    }
    if let Some(parts) = schema["allOf"].as_array() {
        // Each part is checked for its types; fields are described by all
        // parts together.
        let mut merged = serde_json::Map::new();
        for part in parts {
            let part = match part["$ref"].as_str() {
                Some(r) => {
                    &doc["components"]["schemas"][r.trim_start_matches("#/components/schemas/")]
                }
                None => part,
            };
            if let Some(p) = part["properties"].as_object() {
                merged.extend(p.clone());
            }
        }
        let whole = serde_json::json!({"type": "object", "properties": merged});
        return departures(doc, &whole, value, at, out);
    }
    if value.is_null() && schema["nullable"] == true {
        return;
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let is = |t: &str| match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    };
    if !types.is_empty() && !types.iter().any(|t| is(t)) {
        out.push(format!("{at}: {value} is not {}", types.join(" or ")));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let (Some(object), Some(properties)) = (value.as_object(), schema["properties"].as_object())
    {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap_or("");
            if !object.contains_key(name) {
                out.push(format!("{at}: lacks required field {name}"));
            }
        }
        for (name, v) in object {
            match properties.get(name) {
                Some(s) => departures(doc, s, v, &format!("{at}.{name}"), out),
                None => match &schema["additionalProperties"] {
                    Value::Object(_) => departures(
                        doc,
                        &schema["additionalProperties"],
                        v,
                        &format!("{at}.{name}"),
                        out,
                    ),
                    Value::Bool(true) => {}
                    _ => out.push(format!("{at}: field {name} is not described")),
                },
            }
        }
    } else if let (Some(object), Value::Object(_)) =
        (value.as_object(), &schema["additionalProperties"])
    {
        for (name, v) in object {
            departures(
                doc,
                &schema["additionalProperties"],
                v,
                &format!("{at}.{name}"),
                out,
            );
        }
    }
    if let Some(items) = value.as_array() {
        for (i, item) in items.iter().enumerate() {
            departures(doc, &schema["items"], item, &format!("{at}[{i}]"), out);
        }
    }
}

#[tokio::test]
async fn every_json_answer_matches_its_schema_in_openapi_json() {
    let doc = json("/api/v1/openapi.json").await;
    let mut checked = 0;
    let mut out = Vec::new();
    for (path, operations) in doc["paths"].as_object().expect("paths") {
        let Some(operation) = operations.get("get") else {
            continue;
        };
        if path.contains('{') {
            continue;
        }
        // The answer as an admin of the sample app, and one with a bad
        // parameter: each must be a documented status with its schema.
        for uri in [path.clone(), format!("{path}?nonsense=1")] {
            let (status, content_type, body) = get(&uri, &[]).await;
            let documented = &operation["responses"][status.as_str()];
            if !documented.is_object() {
                out.push(format!("{uri}: {status} is not documented"));
                continue;
            }
            let Some(schema) = documented["content"]["application/json"].get("schema") else {
                continue;
            };
            assert_eq!(content_type, "application/json", "{uri}");
            let value: Value = serde_json::from_slice(&body).expect("JSON");
            departures(&doc, schema, &value, &uri, &mut out);
            checked += 1;
        }
    }
    assert!(out.is_empty(), "{}", out.join("\n"));
    assert!(checked >= 20, "only {checked} answers checked");
}

/// The least-squares slope of (x, y) points.
fn least_squares(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    Some(sxy / sxx)
}

#[tokio::test]
async fn forecasts_extend_the_measured_pace_and_hide_what_the_kpi_table_hides() {
    use crate::support::sample::get_as;
    use uptake::auth::Role;
    // A viewer of DACH, by department: the forecast from 2027-W02 and the KPI
    // rows of the eight weeks it reads (2026 has a week 53).
    let viewer = crate::support::sample_token(Role::Viewer, &["DACH"], &[]);
    let weeks = [
        "2026-W48", "2026-W49", "2026-W50", "2026-W51", "2026-W52", "2026-W53", "2027-W01",
        "2027-W02",
    ];
    let forecast = get_as(
        &viewer,
        "/api/v1/forecast?by=region,department&week=2027-W02&target_week=2027-W10",
    )
    .await
    .json();
    let kpi = get_as(
        &viewer,
        "/api/v1/kpi?by=region,department&from=2026-W48&to=2027-W02",
    )
    .await
    .json();
    let kpi = kpi.as_array().expect("rows");
    let forecast = forecast.as_array().expect("rows");
    assert!(!forecast.is_empty());
    let mut seen = std::collections::BTreeSet::new();
    for f in forecast {
        let team = f["department"].as_str().expect("department");
        assert_eq!(f["region"], "DACH", "{f}");
        let target = f["target"].as_str().expect("target");
        let status = f["forecast_status"].as_str().expect("status");
        seen.insert(status.to_string());
        let of = |week: &str| {
            kpi.iter()
                .find(|r| r["week"] == week && r["department"] == team)
                .unwrap_or_else(|| panic!("{team} {week}: no KPI row"))
        };
        let now = of("2027-W02");
        if now["suppressed"] == true {
            assert_eq!(status, "suppressed", "{f}");
            for figure in [
                "measured_rate",
                "forecast_pace_4_weeks",
                "forecast_pass_earliest",
            ] {
                assert!(f[figure].is_null(), "{f}");
            }
            continue;
        }
        assert_eq!(f["measured_rate"], now[target], "{f}");
        let goal = f["target_rate"].as_f64().expect("target rate");
        let rate = now[target].as_f64().unwrap_or(0.0);
        if rate > goal {
            assert_eq!(status, "passing", "{f}");
            continue;
        }
        // The paces: slopes over the weeks the KPI table shows.
        for (window, column) in [(4, "forecast_pace_4_weeks"), (8, "forecast_pace_8_weeks")] {
            let points: Vec<(f64, f64)> = weeks[8 - window..]
                .iter()
                .enumerate()
                .filter_map(|(i, w)| {
                    let r = of(w);
                    (r["suppressed"] != true)
                        .then(|| r[target].as_f64())
                        .flatten()
                        .map(|y| (i as f64, y))
                })
                .collect();
            match (least_squares(&points), f[column].as_f64()) {
                (Some(expected), Some(got)) => {
                    assert!((expected - got).abs() < 2e-6, "{column} {f}: {expected}")
                }
                (None, None) => {}
                other => panic!("{column} {f}: {other:?}"),
            }
        }
        if target == "active_licensee_rate" {
            // What a team lacks now, over the eight weeks to 2027-W10.
            let lacking = now["users_to_target"].as_i64().expect("users to target");
            assert_eq!(
                f["forecast_needed_per_week"].as_i64(),
                Some((lacking + 7) / 8),
                "{f}"
            );
        }
        if let Some(earliest) = f["forecast_pass_earliest"].as_str() {
            assert!(earliest > "2027-W02", "{f}");
            assert!(
                f["forecast_pass_latest"]
                    .as_str()
                    .is_none_or(|latest| latest >= earliest),
                "{f}"
            );
        }
    }
    assert!(seen.contains("passing") && seen.len() > 1, "{seen:?}");
    // No team outside the scope or the KPI table's week.
    let teams: std::collections::BTreeSet<&str> = kpi
        .iter()
        .filter(|r| r["week"] == "2027-W02")
        .filter_map(|r| r["department"].as_str())
        .collect();
    let forecast_teams: std::collections::BTreeSet<&str> = forecast
        .iter()
        .filter_map(|f| f["department"].as_str())
        .collect();
    assert_eq!(forecast_teams, teams);

    // The farthest week there is: every segment still gets its answer.
    let far = get_as(
        &viewer,
        "/api/v1/forecast?by=region,department&week=2027-W02&target_week=9999-W52",
    )
    .await;
    assert_eq!(far.status, 200, "{}", far.text());
    assert_eq!(far.json().as_array().map(Vec::len), Some(forecast.len()));

    // A target week not after the week, or not a week, is named.
    for (uri, parameter) in [
        (
            "/api/v1/forecast?week=2027-W02&target_week=2027-W02",
            "target_week",
        ),
        ("/api/v1/forecast?target_week=soon", "target_week"),
        ("/api/v1/forecast?region=Nordics", "region"),
    ] {
        let r = get_as(&viewer, uri).await;
        assert!(r.status == 400 || r.status == 403, "{uri}: {}", r.status);
        assert!(r.text().contains(parameter), "{uri}: {}", r.text());
    }
}

#[test]
fn the_forecast_command_labels_its_figures() {
    let sample = crate::support::sample_store();
    let data = sample.path().join("data");
    let out = uptake(
        &data,
        &[
            "forecast",
            "--by",
            "wave",
            "--week",
            "2027-W02",
            "--target-week",
            "2027-W10",
            "--format",
            "csv",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let header = text.lines().next().expect("header");
    assert_eq!(
        header,
        "week,wave,target,measured_rate,target_rate,forecast_status,forecast_pace_4_weeks,\
         forecast_pace_8_weeks,forecast_pass_earliest,forecast_pass_latest,target_week,\
         forecast_needed_per_week,suppressed"
    );
    // Two targets for each wave of the KPI table.
    let kpi = stdout(&uptake(
        &data,
        &[
            "kpi", "--by", "wave", "--from", "2027-W02", "--to", "2027-W02", "--format", "csv",
        ],
    ));
    assert_eq!(text.lines().count() - 1, 2 * (kpi.lines().count() - 1));
    let out = uptake(
        &data,
        &[
            "forecast",
            "--week",
            "2027-W02",
            "--target-week",
            "2027-W01",
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--target-week 2027-W01 is not after"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn each_wave_is_measured_against_the_pilot_without_telling_hidden_points() {
    use crate::support::sample::get_as;
    use uptake::auth::Role;
    // The pilot is the wave with the earliest go-live; by wave and region
    // each point is compared with the pilot's point of the same region and
    // week since go-live.
    let segments = json("/api/v1/segments").await;
    let pilot = segments["waves"]
        .as_array()
        .expect("waves")
        .iter()
        .min_by_key(|w| {
            (
                w["go_live"].as_str().map(String::from),
                w["wave_id"].as_str().map(String::from),
            )
        })
        .and_then(|w| w["wave_id"].as_str())
        .expect("a pilot")
        .to_string();
    for token in [
        crate::support::admin_token(),
        crate::support::sample_token(Role::Viewer, &["DACH"], &[]),
    ] {
        let curve = get_as(
            &token,
            "/api/v1/adoption-curve?by=wave,region&from=2026-W36&to=2027-W02",
        )
        .await
        .json();
        let points = curve.as_array().expect("points");
        let mut compared = 0;
        for p in points {
            assert_eq!(p["reference_wave"], pilot.as_str(), "{p}");
            let reference = points.iter().find(|r| {
                r["wave"] == pilot.as_str()
                    && r["region"] == p["region"]
                    && r["weeks_since_go_live"] == p["weeks_since_go_live"]
            });
            let shown =
                |r: &Value| r["suppressed"] == false && r["active_licensee_rate"].is_number();
            match reference {
                Some(r) if shown(r) && shown(p) => {
                    let gap = r["active_licensee_rate"].as_f64().expect("rate")
                        - p["active_licensee_rate"].as_f64().expect("rate");
                    let got = p["gap_to_reference"].as_f64().expect("gap");
                    assert!((gap - got).abs() < 2e-6, "{p}: {gap}");
                    assert_eq!(p["behind_reference"], got > 0.10, "{p}");
                    compared += 1;
                }
                // A gap to or from a hidden point would tell it.
                _ => {
                    assert!(p["gap_to_reference"].is_null(), "{p}");
                    assert!(p["behind_reference"].is_null(), "{p}");
                }
            }
        }
        assert!(compared > 0, "nothing compared");
    }
    // The overview's adoption curve says which waves are behind the
    // pilot, or that none is.
    let (_, _, body) = get("/dashboards/overview?from=2026-W36&to=2027-W02", &[]).await;
    let page = String::from_utf8_lossy(&body);
    assert!(page.contains("reference wave"), "{page}");
}
