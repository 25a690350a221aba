//! Hostile input against `uptake serve` and the commands, each attack as
//! an attacker would send it: events dated where none can be (through
//! HTTP and the CLI, and a data directory an older version filled with
//! them), a sign-in flood, an audit-log flood, slow and stalled clients
//! with a shutdown deadline, and requests that would fill the caches.
//! Memory and disk are measured on the server process and printed.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{Reply, Server, get, get_as, request, sample_store, stderr, uptake_command};

/// Runs `uptake` with no future times allowed (the default), unlike the
/// helper for the sample data.
fn run(data: &Path, args: &[&str]) -> Output {
    uptake_command(data)
        .args(args)
        .output()
        .expect("run uptake")
}

fn token(data: &Path, role: &str) -> String {
    let out = run(data, &["token", "create", "--role", role]);
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn post(port: u16, token: &str, path: &str, body: &[u8]) -> Reply {
    let auth = format!("Bearer {token}");
    request(port, "POST", path, &[("Authorization", &auth)], body).expect("POST")
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Events no log writes: a year of five digits (or with a sign), before
/// 2000, a century ahead, and a control character; and one good event.
const POISONED: [(&str, &str); 6] = [
    ("+10000-01-01T00:00:00", "view"),
    ("2100-01-01T00:00:00Z", "view"),
    ("1969-07-20T20:17:00Z", "view"),
    ("-0001-05-01T00:00:00Z", "view"),
    ("2026-11-02T10:00:00Z", "vi\u{1f}ew"),
    ("2026-11-02T10:00:00Z", "view"),
];

/// Writes an events file of one event at an instant older versions
/// accepted, straight into the data directory as they stored it, and
/// names it in the manifest.
fn plant(data: &Path, date: &str, micros: i64) {
    use datafusion::arrow::array::{RecordBatch, StringArray, TimestampMicrosecondArray};
    let rel = format!("events/date={date}/old-version.parquet");
    let path = data.join(&rel);
    std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
    let batch = RecordBatch::try_new(
        uptake::store::input::event_schema(),
        vec![
            Arc::new(TimestampMicrosecondArray::from(vec![micros]).with_timezone("UTC")),
            Arc::new(StringArray::from(vec!["u000001"])),
            Arc::new(StringArray::from(vec!["accounts"])),
            Arc::new(StringArray::from(vec!["view"])),
            Arc::new(StringArray::from(vec![None::<&str>])),
        ],
    )
    .expect("batch");
    let file = std::fs::File::create(&path).expect("create");
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None)
        .expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    let manifest_path = data.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&manifest_path).expect("manifest"))
            .expect("json");
    manifest["event_files"]
        .as_array_mut()
        .expect("files")
        .push(serde_json::json!({"path": rel, "date": date, "events": 1}));
    std::fs::write(&manifest_path, manifest.to_string()).expect("write manifest");
}

fn stored_events(data: &Path) -> u64 {
    let out = run(data, &["stats", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stats");
    stats["events"].as_u64().expect("events")
}

/// Waits until the server has stored what was posted.
fn flushed(port: u16) {
    let started = Instant::now();
    loop {
        let health = get(port, "/health").json();
        let ingest = &health["ingest"];
        if ingest["pending_events"] == 0
            && ingest["last_error"].is_null()
            && !ingest["last_flush"].is_null()
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not flushed: {health}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn events_dated_where_none_can_be_are_refused_and_never_stop_the_service() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let before = stored_events(&data);

    // The CLI refuses each with its line, field and reason; nothing is
    // stored.
    let csv: String = std::iter::once("event_time,user_id,module,action".to_string())
        .chain(
            POISONED
                .iter()
                .map(|(t, a)| format!("{t},u000001,accounts,{a}")),
        )
        .collect::<Vec<_>>()
        .join("\n");
    let file = tmp.path().join("poisoned.csv");
    std::fs::write(&file, csv).expect("write");
    let manifest = std::fs::read(data.join("manifest.json")).expect("manifest");
    let out = run(&data, &["import", "events", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for (line, reason) in [
        (2, "is not a time"),
        (3, "after the time of import"),
        (4, "before 2000-01-01"),
        (5, "is not a time"),
        (6, "control character U+001F"),
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!("line {line}: column")) && l.contains(reason)),
            "line {line} ({reason}) in\n{err}"
        );
    }
    assert_eq!(
        std::fs::read(data.join("manifest.json")).expect("manifest"),
        manifest
    );
    // With --partial only the good row is stored.
    let out = run(
        &data,
        &["import", "events", "--partial", &file.display().to_string()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("left out 5 refused rows"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stored_events(&data), before + 1);

    // Live ingestion refuses them per line as well.
    let ingest = token(&data, "ingest");
    let reader = token(&data, "analyst");
    let server = Server::start(&data, &[("UPTAKE_IMPORT_ALLOW_FUTURE", "false")]);
    let port = server.port;
    let ndjson: String = POISONED
        .iter()
        .map(|(t, a)| {
            format!(
                "{}\n",
                serde_json::json!({"event_time": t, "user_id": "u000002", "module": "accounts", "action": a})
            )
        })
        .collect();
    let r = post(port, &ingest, "/api/v1/events", ndjson.as_bytes());
    assert_eq!(r.status, 422, "{}", r.body);
    let errors = r.json()["errors"].clone();
    assert_eq!(errors.as_array().map(Vec::len), Some(5), "{errors}");
    assert!(
        errors
            .as_array()
            .expect("errors")
            .iter()
            .all(|e| { e["field"] == "event_time" || e["field"] == "action" })
    );
    let r = post(
        port,
        &ingest,
        "/api/v1/events?partial=true",
        ndjson.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.json()["accepted"].clone(), r.json()["rejected"].clone()),
        (1.into(), 5.into())
    );
    flushed(port);
    let (status, took) = server.terminate();
    assert!(status.success(), "{status} after {took:?}");
    assert_eq!(stored_events(&data), before + 2);

    // A data directory an older version filled with such events: it
    // opens and serves, says so on /health, keeps storing new events, and
    // `uptake check --repair` moves them to quarantine.
    plant(&data, "+10000-01-01", 253_402_300_800_000_000);
    plant(&data, "1969-07-20", -14_182_940_000_000);
    plant(&data, "2100-01-01", 4_102_444_800_000_000);
    let out = run(&data, &["rebuild"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let server = Server::start(&data, &[("UPTAKE_IMPORT_ALLOW_FUTURE", "false")]);
    let port = server.port;
    let health = get(port, "/health").json();
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(
        health["implausible_events"].as_array().map(Vec::len),
        Some(3),
        "{health}"
    );
    assert_eq!(health["first_week"], "2026-W36", "{health}");
    assert_eq!(health["last_week"], "2027-W02", "{health}");
    // The default views cover the stored weeks, not centuries.
    let kpi = get_as(port, &reader, "/api/v1/kpi");
    assert_eq!(kpi.status, 200, "{}", kpi.body);
    assert_eq!(kpi.json().as_array().map(Vec::len), Some(20));
    let segments = get_as(port, &reader, "/api/v1/segments").json();
    assert_eq!(segments["weeks"]["last"], "2027-W02");
    // New events still reach the store.
    let good = serde_json::json!({"event_time": "2026-11-03T10:00:00Z", "user_id": "u000003", "module": "accounts", "action": "view"});
    let r = post(
        port,
        &ingest,
        "/api/v1/events",
        format!("{good}\n").as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    flushed(port);
    drop(server);
    assert_eq!(stored_events(&data), before + 6);

    let out = run(&data, &["check"]);
    assert_eq!(out.status.code(), Some(2));
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    for date in ["+10000-01-01", "1969-07-20", "2100-01-01"] {
        assert!(listed.contains(&format!("date={date}")), "{listed}");
    }
    let out = run(&data, &["check", "--repair"]);
    assert!(stderr(&out).contains("moved"), "{}", stderr(&out));
    assert_eq!(stored_events(&data), before + 3);
    let quarantined = std::fs::read_to_string(data.join("quarantine/log.jsonl")).expect("log");
    assert_eq!(quarantined.lines().count(), 3, "{quarantined}");
    let server = Server::start(&data, &[("UPTAKE_IMPORT_ALLOW_FUTURE", "false")]);
    let port = server.port;
    let health = get(port, "/health").json();
    assert_eq!(
        health["implausible_events"],
        serde_json::json!([]),
        "{health}"
    );
    drop(server);
}

/// The sign-in form's cookie and form token, as a browser gets them.
fn login_form(port: u16) -> (String, String) {
    let r = get(port, "/login");
    assert_eq!(r.status, 200);
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_string();
    let pattern = "name=\"form_token\" value=\"";
    let at = r.body.find(pattern).expect("form token") + pattern.len();
    let token = r.body[at..].split('"').next().expect("token").to_string();
    (cookie, token)
}

fn sign_in(
    port: u16,
    form: &(String, String),
    user: &str,
    password: &str,
) -> std::io::Result<Reply> {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("user", user)
        .append_pair("password", password)
        .append_pair("form_token", &form.1)
        .finish();
    request(
        port,
        "POST",
        "/login",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Cookie", &form.0),
        ],
        body.as_bytes(),
    )
}

#[test]
fn a_sign_in_flood_costs_bounded_memory_and_disk() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let server = Server::start(
        &data,
        &[("UPTAKE_SERVER_SIGN_IN_FAILURES_PER_ADDRESS", "30")],
    );
    let port = server.port;
    let audit = data.join("audit.jsonl");
    let (rss_before, _) = server.memory_kib();
    let audit_before = file_size(&audit);
    let form = login_form(port);

    // 100 sign-ins with user names of 1.9 MB each: refused after 16 KiB
    // of the form, nothing of them kept.
    let huge = "x".repeat(1_900_000);
    let started = Instant::now();
    let mut refused = 0;
    for _ in 0..100 {
        match sign_in(port, &form, &huge, "guess") {
            Ok(r) => {
                assert_eq!(r.status, 413, "{}", r.body);
                refused += 1;
            }
            // The server closes after its answer; a client still sending
            // may see the connection end instead.
            Err(_) => refused += 1,
        }
    }
    assert_eq!(refused, 100);
    let long_names = started.elapsed();

    // 128 failed sign-ins at once: at most a few password checks run,
    // the rest wait in a short line or are refused.
    let started = Instant::now();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..128)
            .map(|i| {
                let form = form.clone();
                s.spawn(move || {
                    sign_in(port, &form, &format!("nobody{i}"), "wrong password")
                        .map(|r| r.status)
                        .unwrap_or(0)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("join"))
            .collect()
    });
    let parallel = started.elapsed();
    let count = |code: u16| statuses.iter().filter(|s| **s == code).count();
    assert_eq!(count(401) + count(503) + count(429), 128, "{statuses:?}");
    assert!(
        count(503) > 0,
        "the line of password checks was never full: {statuses:?}"
    );
    // Failures from one address are throttled, whatever the name: at the
    // latest after 30 (server.sign_in_failures_per_address).
    let mut throttled = None;
    for i in 0..40 {
        let r = sign_in(port, &form, &format!("again{i}"), "wrong").expect("sign in");
        if r.status == 429 {
            throttled = Some(r);
            break;
        }
        assert_eq!(r.status, 401);
    }
    let r = throttled.expect("throttled");
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        sign_in(port, &form, "admin", "wrong")
            .expect("sign in")
            .status,
        429
    );

    let (rss_after, peak) = server.memory_kib();
    let audit_growth = file_size(&audit) - audit_before;
    eprintln!(
        "sign-in flood: memory {:.0} MiB before, {:.0} MiB after, peak {:.0} MiB; audit log +{} KiB; 100 names of 1.9 MB in {long_names:?}; 128 at once in {parallel:?} ({} checked, {} busy, {} throttled)",
        mib(rss_before),
        mib(rss_after),
        mib(peak),
        audit_growth / 1024,
        count(401),
        count(503),
        count(429)
    );
    assert!(
        rss_after < rss_before + 200 * 1024,
        "{rss_before} KiB -> {rss_after} KiB"
    );
    assert!(peak < rss_before + 300 * 1024, "peak {peak} KiB");
    assert!(
        audit_growth < 512 * 1024,
        "audit log grew {audit_growth} bytes"
    );
}

#[test]
fn an_audit_log_flood_costs_bounded_disk_and_the_log_reads_from_its_end() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let admin = token(&data, "admin");
    // A long history: 120 MB of lines, as a busy year leaves.
    let audit = data.join("audit.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&audit).expect("audit"));
        let line = serde_json::json!({"at": "2026-01-01T00:00:00Z", "who": "token:reader", "action": "request", "method": "GET", "target": format!("/api/v1/kpi?by=region&x={}", "y".repeat(400))}).to_string();
        while f.get_ref().metadata().map(|m| m.len()).unwrap_or(0) < 120 << 20 {
            for _ in 0..1000 {
                writeln!(f, "{line}").expect("write");
            }
            f.flush().expect("flush");
        }
    }
    let server = Server::start(&data, &[]);
    let port = server.port;
    let (rss_before, _) = server.memory_kib();
    let started = Instant::now();
    let r = get_as(port, &admin, "/api/v1/audit?limit=1");
    let newest = started.elapsed();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["entries"].as_array().map(Vec::len), Some(1));
    let (rss_after, _) = server.memory_kib();

    // 500 refused requests with a 60 KB address each, from one address.
    let sizes = || -> u64 {
        std::fs::read_dir(&data)
            .expect("data")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("audit.jsonl"))
            .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
            .sum()
    };
    let disk_before = sizes();
    let long = format!("/api/v1/kpi?by={}", "r".repeat(60_000));
    let started = Instant::now();
    for _ in 0..500 {
        assert_eq!(get(port, &long).status, 401);
    }
    let flood = started.elapsed();
    let growth = sizes().saturating_sub(disk_before);
    eprintln!(
        "audit flood: 500 refusals with 60 KB addresses in {flood:?} added {growth} bytes; /api/v1/audit?limit=1 on a 120 MB log: {newest:?}, memory {:.0} -> {:.0} MiB",
        mib(rss_before),
        mib(rss_after)
    );
    assert!(growth < 16 * 1024, "the audit log grew {growth} bytes");
    assert!(newest < Duration::from_secs(1), "{newest:?}");
    assert!(
        rss_after < rss_before + 32 * 1024,
        "{rss_before} -> {rss_after} KiB"
    );
    // Rotation: the next line finds the file over its limit and moves it.
    assert_eq!(get_as(port, &admin, "/api/v1/segments").status, 200);
    assert!(data.join("audit.jsonl.1").exists());
    assert!(file_size(&audit) < 1 << 20);
    // Reading goes on into the rotated file.
    let r = get_as(port, &admin, "/api/v1/audit?limit=5&who=token:reader");
    assert_eq!(
        r.json()["entries"].as_array().map(Vec::len),
        Some(5),
        "{}",
        r.body
    );
    drop(server);
}

/// A raw connection that sends `head` and then nothing; true when the
/// server ends it within `within`.
fn closed_within(port: u16, head: &[u8], within: Duration) -> bool {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(head).expect("write");
    stream.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

#[test]
fn slow_and_stalled_clients_are_dropped_and_shutdown_keeps_its_deadline() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let ingest = token(&data, "ingest");
    let limits = [
        ("UPTAKE_SERVER_HEADER_TIMEOUT_SECONDS", "2"),
        ("UPTAKE_SERVER_BODY_TIMEOUT_SECONDS", "2"),
        ("UPTAKE_SERVER_IDLE_TIMEOUT_SECONDS", "2"),
        ("UPTAKE_SERVER_SHUTDOWN_GRACE_SECONDS", "3"),
    ];
    let server = Server::start(&data, &limits);
    let port = server.port;

    // Slowloris: half a request head, then silence.
    let heads: Vec<_> = (0..20)
        .map(|_| {
            std::thread::spawn(move || {
                closed_within(
                    port,
                    b"GET /health HTTP/1.1\r\nHost: x\r\n",
                    Duration::from_secs(6),
                )
            })
        })
        .collect();
    for h in heads {
        assert!(h.join().expect("join"), "a slow head was not dropped");
    }
    // An idle keep-alive connection after its answer.
    assert!(closed_within(
        port,
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(6)
    ));

    // Stalled uploads take every parse permit, then give them back after
    // the body timeout: a batch sent meanwhile is stored.
    let auth = format!("Authorization: Bearer {ingest}\r\n");
    let stalled: Vec<_> = (0..10)
        .map(|_| {
            let head = format!(
                "POST /api/v1/events HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 100000\r\n\r\n{{\"event_time\""
            );
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
                stream.write_all(head.as_bytes()).expect("write");
                stream.set_read_timeout(Some(Duration::from_secs(8))).expect("timeout");
                let mut answer = String::new();
                let _ = stream.read_to_string(&mut answer);
                answer
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let good = serde_json::json!({"event_time": "2026-11-03T10:00:00Z", "user_id": "u000003", "module": "accounts", "action": "view"});
    let body = format!("{good}\n");
    let mut stored = false;
    while started.elapsed() < Duration::from_secs(8) {
        let r = post(port, &ingest, "/api/v1/events", body.as_bytes());
        if r.status == 200 {
            stored = true;
            break;
        }
        assert_eq!(r.status, 503, "{}", r.body);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(stored, "no permit came back after the body timeout");
    for s in stalled {
        let answer = s.join().expect("join");
        assert!(
            answer.is_empty()
                || answer.starts_with("HTTP/1.1 408")
                || answer.starts_with("HTTP/1.1 503"),
            "{answer}"
        );
    }

    // SIGTERM with stalled clients connected: the server is gone within
    // the grace time (3 s here) and exits cleanly, its log flushed.
    let _hold: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
            let head = format!(
                "POST /api/v1/events HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 100000\r\n\r\n{{"
            );
            s.write_all(head.as_bytes()).expect("write");
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (status, took) = server.terminate();
    eprintln!("shutdown with 5 stalled uploads: {took:?}");
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(6), "{took:?}");
}

#[test]
fn requests_for_many_and_far_apart_ranges_keep_memory_bounded() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let reader = token(&data, "analyst");
    let server = Server::start(&data, &[("UPTAKE_SERVER_CACHE_MIB", "32")]);
    let port = server.port;
    let (rss_before, _) = server.memory_kib();
    // 16 distinct ten-year ranges at the finest breakdown (answers of 10
    // MB each, which were kept whole), and ranges far apart in turn (each
    // outside what one cube covers with the other).
    let started = Instant::now();
    let mut largest = 0;
    for i in 0..16 {
        let from = uptake::model::Week::from_number(1566 - 522 - i * 9);
        let to = from.offset(521);
        let uri = format!("/api/v1/kpi?by=region,department,team,wave&from={from}&to={to}");
        let r = get_as(port, &reader, &uri);
        assert_eq!(r.status, 200, "{uri}: {}", r.body);
        largest = largest.max(r.body.len());
        let far = if i % 2 == 0 { "2026-W40" } else { "2001-W40" };
        let r = get_as(
            port,
            &reader,
            &format!("/api/v1/kpi?by=region&from={far}&to={far}"),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let took = started.elapsed();
    let (rss_after, peak) = server.memory_kib();
    eprintln!(
        "cache growth: 16 ten-year finest requests (largest answer {} MB) and 16 far-apart ones in {took:?}: memory {:.0} -> {:.0} MiB, peak {:.0} MiB",
        largest >> 20,
        mib(rss_before),
        mib(rss_after),
        mib(peak)
    );
    assert!(
        rss_after < rss_before + 256 * 1024,
        "{rss_before} -> {rss_after} KiB"
    );
    drop(server);
}

#[test]
fn a_too_large_body_is_answered_not_reset() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let ingest = token(&data, "ingest");
    let server = Server::start(&data, &[("UPTAKE_INGEST_MAX_BODY_BYTES", "1000000")]);
    let port = server.port;
    // Content-Length above the limit, the whole body sent without waiting
    // for 100-continue, as curl does for small bodies and most clients do.
    let body = vec![b'x'; 1_500_000];
    let r = post(port, &ingest, "/api/v1/events", &body);
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.header("connection"), Some("close"));
}

#[test]
fn bad_rows_of_parquet_and_directory_files_are_named() {
    use datafusion::arrow::array::{RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let tmp = sample_store();
    let data = tmp.path().join("data");
    // A Parquet file whose user_id column allows nulls and has one.
    let schema = Arc::new(Schema::new(vec![
        Field::new("event_time", DataType::Utf8, true),
        Field::new("user_id", DataType::Utf8, true),
        Field::new("module", DataType::Utf8, true),
        Field::new("action", DataType::Utf8, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["2026-11-02T10:00:00Z"; 3])),
            Arc::new(StringArray::from(vec![
                Some("u000001"),
                None,
                Some("u000002"),
            ])),
            Arc::new(StringArray::from(vec!["accounts"; 3])),
            Arc::new(StringArray::from(vec!["view"; 3])),
        ],
    )
    .expect("batch");
    let file = tmp.path().join("nulls.parquet");
    let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&file).expect("create"),
        schema,
        None,
    )
    .expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
    let out = run(&data, &["import", "events", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("row 2: column user_id: required value is missing"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &data,
        &["import", "events", "--partial", &file.display().to_string()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("imported 2 events"),
        "{}",
        stderr(&out)
    );

    // A directory value with the scope separator (or any control
    // character) is refused with its line; the stored directory stays.
    let directory = tmp.path().join("directory.csv");
    std::fs::write(
        &directory,
        "user_id,region,department,team,wave,license_start,license_end\nu1,DACH,Sales,A,W1,2026-01-05,\nu2,DACH\u{1f}Nordics,Sales,A,W1,2026-01-05,\n",
    )
    .expect("write");
    let stored = std::fs::read(data.join("tables/directory.parquet")).expect("stored");
    let out = run(
        &data,
        &["import", "directory", &directory.display().to_string()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("line 3: column region: contains the control character U+001F"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(data.join("tables/directory.parquet")).expect("stored"),
        stored
    );

    // Names in other languages get the same checks, and a length limit:
    // a bell in a French module name, a Danish wave name of 201
    // characters. Each is named with its line; the stored tables stay.
    let header = "module_id,name,licensed_from,licensed_until,monthly_cost_per_user,name_fr";
    for (table, text, problem) in [
        (
            "modules",
            format!(
                "{header}\nm1,Leads,2026-01-05,,,Pistes\nm2,Cases,2026-01-05,,,Dossiers\u{7}\n"
            ),
            "line 3: column name_fr: contains the control character U+0007",
        ),
        (
            "waves",
            format!(
                "wave_id,name,go_live,name_da\nW1,Wave 1,2026-01-05,{}\n",
                "ø".repeat(201)
            ),
            "line 2: column name_da: the name is longer than 200 characters",
        ),
    ] {
        let file = tmp.path().join(format!("{table}.csv"));
        std::fs::write(&file, text).expect("write");
        let stored = std::fs::read(data.join(format!("tables/{table}.parquet"))).expect("stored");
        let out = run(&data, &["import", table, &file.display().to_string()]);
        assert_eq!(out.status.code(), Some(2), "{table}");
        assert!(stderr(&out).contains(problem), "{}", stderr(&out));
        assert_eq!(
            std::fs::read(data.join(format!("tables/{table}.parquet"))).expect("stored"),
            stored,
            "{table}"
        );
    }
}

#[test]
fn viewers_see_only_the_reports_of_their_scope() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let reports = tmp.path().join("reports");
    std::fs::create_dir_all(&reports).expect("mkdir");
    for (name, filter) in [("dach", "DACH"), ("nordics", "Nordics")] {
        std::fs::write(
            reports.join(format!("{name}.toml")),
            format!(
                "title = \"Report for {filter}\"\nlanguage = \"en\"\nsections = [\"summary\"]\n[filter]\nregion = \"{filter}\"\n"
            ),
        )
        .expect("write");
    }
    let viewer = {
        let out = run(
            &data,
            &["token", "create", "--role", "viewer", "--region", "DACH"],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let server = Server::start(&data, &[("UPTAKE_REPORTS", &reports.display().to_string())]);
    let port = server.port;
    let listed = get_as(port, &viewer, "/api/v1/reports");
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert!(listed.body.contains("Report for DACH"), "{}", listed.body);
    assert!(!listed.body.contains("Nordics"), "{}", listed.body);
    let page = get_as(port, &viewer, "/reports");
    assert!(!page.body.contains("Nordics"));
    let dashboard = get_as(port, &viewer, "/dashboards/overview");
    assert!(
        dashboard.body.contains("/reports/dach.pdf") && !dashboard.body.contains("nordics.pdf")
    );
    assert_eq!(get_as(port, &viewer, "/reports/nordics.pdf").status, 404);
    assert_eq!(
        get_as(port, &viewer, "/reports/nordics.pdf?region=DACH").status,
        404
    );
}

#[test]
fn long_queries_are_not_echoed_and_pdf_renders_wait_their_turn() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let admin = token(&data, "admin");
    let server = Server::start(
        &data,
        &[
            ("UPTAKE_SERVER_RENDER_CONCURRENCY", "1"),
            ("UPTAKE_SERVER_RENDER_QUEUE", "1"),
        ],
    );
    let port = server.port;
    // A 60 KB parameter: refused by name, not repeated in the page.
    let long = format!("/dashboards/overview?region={}", "R".repeat(60_000));
    let r = get_as(port, &admin, &long);
    assert_eq!(r.status, 400);
    assert!(r.body.len() < 16 * 1024, "{} bytes", r.body.len());
    assert!(r.body.contains("region"));
    // Eight PDFs at once: one renders, one waits, the others are told to
    // come back.
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let admin = admin.clone();
                s.spawn(move || {
                    get_as(port, &admin, "/reports/steering-weekly.pdf?week=2026-W53").status
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("join"))
            .collect()
    });
    let busy = statuses.iter().filter(|s| **s == 503).count();
    assert!(
        busy > 0 && statuses.iter().all(|s| *s == 200 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200), "{statuses:?}");
}
