//! Operating `uptake serve` like the services next to it: `/metrics`
//! scraped by a real OpenMetrics parser (Python's `prometheus_client`,
//! installed by `.ci/install`), liveness and readiness, and JSON logs
//! carrying the caller's request id.

use std::process::{Command, Stdio};
use std::time::Duration;

use uptake::server::Server as Listener;

use crate::support::{Server, request, sample_state, sample_store, token_with};

/// The families of an OpenMetrics text, parsed by `prometheus_client`'s
/// strict parser: name, type and samples (name, labels, value).
fn parse_openmetrics(text: &str) -> serde_json::Value {
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    out.append({"name": family.name, "type": family.type, "samples": [
        {"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples]})
print(json.dumps(out))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (pip install prometheus_client; .ci/install does)");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("parser");
    assert!(
        out.status.success(),
        "the parser refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn header(reply: &crate::support::Reply, name: &str) -> String {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn family<'a>(families: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    families
        .as_array()
        .expect("families")
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no family {name} in {families}"))
}

fn sample_value(family: &serde_json::Value, sample: &str) -> f64 {
    family["samples"]
        .as_array()
        .expect("samples")
        .iter()
        .find(|s| s["name"] == sample)
        .and_then(|s| s["value"].as_f64())
        .unwrap_or_else(|| panic!("no sample {sample} in {family}"))
}

#[test]
fn metrics_are_scraped_by_a_real_parser_and_callers_add_no_series() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let token = token_with(&data, "admin");
    let ingest = token_with(&data, "ingest");
    let server = Server::start(&data, &[]);
    let auth = format!("Bearer {token}");
    for path in ["/api/v1/kpi?by=region", "/api/v1/kpi?by=region", "/health"] {
        let reply = request(
            server.port,
            "GET",
            path,
            &[("Authorization", auth.as_str())],
            b"",
        )
        .expect("get");
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    let events = r#"{"event_time":"2027-01-13T10:00:00Z","user_id":"u001","module":"campaigns","action":"view"}"#;
    let bearer = format!("Bearer {ingest}");
    let reply = request(
        server.port,
        "POST",
        "/api/v1/events",
        &[("Authorization", bearer.as_str())],
        events.as_bytes(),
    )
    .expect("post");
    assert_eq!(reply.status, 200, "{}", reply.body);
    // A caller trying to add series: random addresses and methods.
    for i in 0..50 {
        let _ = request(server.port, "GET", &format!("/nope/{i}"), &[], b"");
        let _ = request(server.port, &format!("M{i}"), "/api/v1/kpi", &[], b"");
    }
    // Scraped until the posted event is flushed and in the figures
    // (within seconds).
    let started = std::time::Instant::now();
    let families = loop {
        let reply = request(server.port, "GET", "/metrics", &[], b"").expect("metrics");
        assert_eq!(reply.status, 200);
        assert!(
            header(&reply, "content-type").starts_with("application/openmetrics-text"),
            "{:?}",
            reply.headers
        );
        let families = parse_openmetrics(&reply.body);
        let reloaded = families.as_array().expect("families").iter().any(|f| {
            f["name"] == "uptake_figures_reload_duration_seconds"
                && f["samples"].as_array().expect("samples").iter().any(|s| {
                    s["name"] == "uptake_figures_reload_duration_seconds_count" && s["value"] == 1.0
                })
        });
        if reloaded || started.elapsed() > Duration::from_secs(20) {
            break families;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let requests = family(&families, "uptake_http_request_duration_seconds");
    assert_eq!(requests["type"], "histogram");
    let samples = requests["samples"].as_array().expect("samples");
    let kpi_count = samples
        .iter()
        .find(|s| {
            s["name"] == "uptake_http_request_duration_seconds_count"
                && s["labels"]["route"] == "/api/v1/kpi"
                && s["labels"]["status"] == "200"
        })
        .expect("kpi requests");
    assert_eq!(kpi_count["value"], 2.0);
    let routes: std::collections::BTreeSet<&str> = samples
        .iter()
        .filter_map(|s| s["labels"]["route"].as_str())
        .collect();
    let known: std::collections::BTreeSet<&str> = uptake::server::routes()
        .iter()
        .map(|(path, _, _)| *path)
        .chain(["unmatched"])
        .collect();
    assert!(routes.is_subset(&known), "{routes:?}");
    let methods: std::collections::BTreeSet<&str> = samples
        .iter()
        .filter_map(|s| s["labels"]["method"].as_str())
        .collect();
    assert!(methods.len() <= 8, "{methods:?}");
    assert!(methods.contains("other"), "{methods:?}");

    let stats = crate::support::uptake(&data, &["stats", "--format", "json"]);
    let stats: serde_json::Value =
        serde_json::from_str(&crate::support::stdout(&stats)).expect("stats");
    assert_eq!(
        sample_value(
            family(&families, "uptake_store_events"),
            "uptake_store_events"
        ),
        stats["events"].as_f64().expect("events")
    );
    assert!(
        sample_value(
            family(&families, "uptake_store_size_bytes"),
            "uptake_store_size_bytes"
        ) > 0.0
    );
    assert!(
        sample_value(
            family(&families, "uptake_ingest_flushed_events"),
            "uptake_ingest_flushed_events_total"
        ) >= 1.0
    );
    assert!(
        sample_value(
            family(&families, "uptake_ingest_flush_duration_seconds"),
            "uptake_ingest_flush_duration_seconds_count"
        ) >= 1.0
    );
    assert!(
        sample_value(
            family(&families, "uptake_cache_hits"),
            "uptake_cache_hits_total"
        ) >= 1.0
    );
    for name in [
        "uptake_ingest_pending_events",
        "uptake_figures_reload_duration_seconds",
        "uptake_cache_misses",
        "uptake_cache_size_bytes",
    ] {
        family(&families, name);
    }
}

#[test]
fn alive_from_the_start_ready_once_the_figures_are_prepared() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let settings = uptake::config::Server::default();
        let listener = Listener::bind(([127, 0, 0, 1], 0).into(), &settings)
            .await
            .expect("bind");
        let port = listener.address().port();
        let get = move |path: &'static str| {
            tokio::task::spawn_blocking(move || request(port, "GET", path, &[], b"").expect("get"))
        };
        // Preparing: alive, not ready, and every other address says so.
        assert_eq!(get("/health/live").await.expect("live").status, 200);
        let ready = get("/health/ready").await.expect("ready");
        assert_eq!(ready.status, 503);
        let kpi = get("/api/v1/kpi").await.expect("kpi");
        assert_eq!(kpi.status, 503);
        assert!(kpi.body.contains("\"starting\""), "{}", kpi.body);
        assert_eq!(header(&kpi, "retry-after"), "5");
        // Prepared.
        let state = sample_state();
        listener.install(state.clone());
        assert_eq!(get("/health/ready").await.expect("ready").status, 200);
        assert_eq!(get("/health/live").await.expect("live").status, 200);
        assert_eq!(get("/health").await.expect("health").status, 200);
        drop(listener);
    });
}

#[test]
fn json_logs_carry_the_request_id_the_caller_sent() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let server = Server::start(&data, &[("UPTAKE_LOG_FORMAT", "json")]);
    let reply = request(
        server.port,
        "GET",
        "/health",
        &[("X-Request-Id", "checkout-7f3a")],
        b"",
    )
    .expect("health");
    assert_eq!(header(&reply, "x-request-id"), "checkout-7f3a");
    // An id that is no plain token is replaced, not logged.
    let hostile = format!("a b{}", "x".repeat(300));
    let reply = request(
        server.port,
        "GET",
        "/health",
        &[("X-Request-Id", hostile.as_str())],
        b"",
    )
    .expect("health");
    let given = header(&reply, "x-request-id");
    assert_eq!(given.len(), 16, "{given}");
    std::thread::sleep(Duration::from_millis(300));
    let output = server.output();
    let lines: Vec<serde_json::Value> = output
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(!lines.is_empty(), "no JSON log lines in:\n{output}");
    let logged = lines.iter().find(|l| {
        l["fields"]["message"] == "request" && l["span"]["request_id"] == "checkout-7f3a"
    });
    let logged = logged.unwrap_or_else(|| panic!("no request line with the id in:\n{output}"));
    assert_eq!(logged["fields"]["path"], "/health");
    assert_eq!(logged["fields"]["status"], 200);
    assert!(!output.contains("a bxxx"), "the hostile id was logged");
}
