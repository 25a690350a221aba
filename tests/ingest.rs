//! Live ingestion against `uptake serve` on loopback: authentication,
//! per-row errors, limits, idempotent retries across restarts, figures
//! updated within seconds, back-pressure, a crash harness that kills the
//! server with SIGKILL while clients send batches, and damaged files.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{Array, AsArray};
use rand::{Rng, SeedableRng};

use crate::support::{
    Reply, Server, free_port, get, get_as, repo, request, sample_store, stdout, token_with, uptake,
};

fn token(data: &Path) -> String {
    token_with(data, "ingest")
}

fn event(time: &str, user: &str, module: &str, client: &str) -> String {
    serde_json::json!({
        "event_time": time, "user_id": user, "module": module,
        "action": "view", "client": client,
    })
    .to_string()
}

fn post(port: u16, token: &str, path: &str, extra: &[(&str, &str)], body: &[u8]) -> Reply {
    let auth = format!("Bearer {token}");
    let mut headers = vec![("Authorization", auth.as_str())];
    headers.extend_from_slice(extra);
    request(port, "POST", path, &headers, body).expect("POST")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

fn stored_events(data: &Path) -> u64 {
    let out = uptake(data, &["stats", "--format", "json"]);
    assert!(out.status.success(), "{out:?}");
    let stats: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("stats");
    stats["events"].as_u64().expect("events")
}

fn campaigns_in_week(port: u16, reader: &str, week: &str) -> serde_json::Value {
    let reply = get_as(port, reader, &format!("/api/v1/modules?week={week}"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
        .json()
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["module"] == "campaigns")
        .cloned()
        .expect("campaigns row")
}

#[test]
fn events_posted_over_http_are_checked_stored_once_and_counted() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let token = token(&data);
    let reader = token_with(&data, "analyst");
    let before = stored_events(&data);
    let limits = [("UPTAKE_INGEST_MAX_BODY_BYTES", "65536")];
    let server = Server::start(&data, &limits);
    let port = server.port;
    let path = "/api/v1/events";
    let one = event("2027-01-13T12:00:00Z", "u000001", "campaigns", "web");

    // Authentication.
    let r = request(port, "POST", path, &[], one.as_bytes()).expect("post");
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(
        r.header("www-authenticate"),
        Some("Bearer realm=\"uptake\"")
    );
    assert_eq!(r.json()["error"], "unauthorized");
    let r = post(port, "upt_not-a-token", path, &[], one.as_bytes());
    assert_eq!(r.status, 401);
    let basic = [("Authorization", "Basic dXB0YWtlOnVwdGFrZQ==")];
    let r = request(port, "POST", path, &basic, one.as_bytes()).expect("post");
    assert_eq!(r.status, 401);
    // The scheme is case-insensitive (RFC 9110).
    // An ingest token reads nothing; a reading token posts nothing.
    let r = get_as(port, &token, "/api/v1/kpi");
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error"], "forbidden");
    let r = post(port, &reader, path, &[], one.as_bytes());
    assert_eq!(r.status, 403, "{}", r.body);
    let lower = format!("bearer {token}");
    let r = request(port, "POST", path, &[("Authorization", &lower)], b"\n").expect("post");
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, "no_events".into())
    );

    // Bad requests name what is wrong.
    let r = post(port, &token, "/api/v1/events?parcel=1", &[], one.as_bytes());
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, "invalid_parameter".into())
    );
    let long = "k".repeat(201);
    let r = post(
        port,
        &token,
        path,
        &[("Idempotency-Key", &long)],
        one.as_bytes(),
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Idempotency-Key"), "{}", r.body);
    let r = post(
        port,
        &token,
        path,
        &[("Content-Encoding", "br")],
        one.as_bytes(),
    );
    assert_eq!(r.status, 415);
    let r = post(port, &token, path, &[], b"\n\n");
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, "no_events".into())
    );

    // Invalid rows: the whole batch is refused, each row named.
    let mixed = [
        one.clone(),
        r#"{"event_time":"2027-01-13T12:00:00Z","user_id":"u000002","action":"view"}"#.into(),
        r#"{"event_time":"13.01.2027","user_id":"u000003","module":"campaigns","action":"view"}"#
            .into(),
        "not json".into(),
    ]
    .join("\n");
    let r = post(port, &token, path, &[], mixed.as_bytes());
    assert_eq!(r.status, 422, "{}", r.body);
    let body = r.json();
    assert_eq!(
        (body["accepted"].clone(), body["rejected"].clone()),
        (0.into(), 3.into())
    );
    let errors: Vec<(String, String)> = body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["position"].as_str().unwrap_or("").to_string(),
                e["field"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        [
            ("line 2".to_string(), "module".to_string()),
            ("line 3".into(), "event_time".into()),
            ("line 4".into(), "-".into())
        ]
    );
    // ...and with ?partial=true the valid row is stored.
    let r = post(
        port,
        &token,
        "/api/v1/events?partial=true",
        &[],
        mixed.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.json()["accepted"].clone(), r.json()["rejected"].clone()),
        (1.into(), 3.into())
    );

    // A JSON array, gzip-compressed.
    let array = format!(
        "[{},{}]",
        event("2027-01-13T12:00:00Z", "u000002", "campaigns", "mobile"),
        event("2027-01-13T12:00:00Z", "u000003", "campaigns", "outlook")
    );
    let r = post(
        port,
        &token,
        path,
        &[("Content-Encoding", "gzip")],
        &gzip(array.as_bytes()),
    );
    assert_eq!(
        (r.status, r.json()["accepted"].clone()),
        (200, 2.into()),
        "{}",
        r.body
    );
    let r = post(
        port,
        &token,
        path,
        &[("Content-Encoding", "gzip")],
        b"not gzip",
    );
    assert_eq!(r.status, 400);

    // Bodies beyond ingest.max_body_bytes, as sent or once unpacked.
    let big: String = (0..1000).map(|_| format!("{one}\n")).collect();
    assert!(big.len() > 65536);
    let r = post(port, &token, path, &[], big.as_bytes());
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (413, "body_too_large".into())
    );
    let bomb = gzip(&vec![b'\n'; 4 << 20]);
    assert!(bomb.len() < 65536);
    let r = post(port, &token, path, &[("Content-Encoding", "gzip")], &bomb);
    assert_eq!(r.status, 413, "{}", r.body);

    // Every directory user uses campaigns on the Sunday of 2027-W02 (after
    // everyone's eligible-from date): once the batch is
    // acknowledged the figures follow within seconds.
    let directory = std::fs::read_to_string(repo().join("sample_data/directory.csv")).expect("dir");
    let everyone: String = directory
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .map(|u| format!("{}\n", event("2027-01-17T12:00:00Z", u, "campaigns", "web")))
        .collect();
    let shown = campaigns_in_week(port, &reader, "2027-W02");
    assert!(
        shown["module_users"].as_u64() < shown["eligible"].as_u64(),
        "{shown}"
    );
    let key = [("Idempotency-Key", "campaign-push-1")];
    let r = post(port, &token, path, &key, everyone.as_bytes());
    assert_eq!(
        (r.status, r.json()["replayed"].clone()),
        (200, false.into()),
        "{}",
        r.body
    );
    let acknowledged = Instant::now();
    let users = loop {
        let row = campaigns_in_week(port, &reader, "2027-W02");
        if row["module_users"] == row["eligible"] {
            break row["module_users"].clone();
        }
        assert!(
            acknowledged.elapsed() < Duration::from_secs(5),
            "not visible within 5 s: {row}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(users, 192);
    assert_eq!(
        campaigns_in_week(port, &reader, "2027-W02")["inactive_licensees"],
        0
    );

    // The same batch again counts once; another body under the key is refused.
    let r = post(port, &token, path, &key, everyone.as_bytes());
    assert_eq!(r.status, 200);
    assert_eq!(r.header("idempotent-replayed"), Some("true"));
    assert_eq!(r.json()["replayed"], true);
    let r = post(port, &token, path, &key, one.as_bytes());
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (422, "idempotency_key_reused".into())
    );

    // A batch acknowledged just before a SIGKILL is replayed from the log,
    // and its key is still known after the restart.
    let late = event("2027-01-14T12:00:00Z", "u000004", "campaigns", "late");
    let r = post(
        port,
        &token,
        path,
        &[("Idempotency-Key", "late-1")],
        late.as_bytes(),
    );
    assert_eq!(r.status, 200);
    server.kill();
    let server = Server::start(&data, &limits);
    let port = server.port;
    for k in ["late-1", "campaign-push-1"] {
        let body = if k == "late-1" { &late } else { &everyone };
        let r = post(
            port,
            &token,
            path,
            &[("Idempotency-Key", k)],
            body.as_bytes(),
        );
        assert_eq!(
            (r.status, r.json()["replayed"].clone()),
            (200, true.into()),
            "{k}"
        );
    }
    let health = get(port, "/health").json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["ingest"]["pending_events"], 0);
    let directory_users = directory.lines().skip(1).count() as u64;
    let posted = 1 + 2 + directory_users + 1;
    // The figures show every stored event, and /health says how many.
    let shown = Instant::now();
    while get(port, "/health").json()["events_in_figures"] != before + posted {
        assert!(
            shown.elapsed() < Duration::from_secs(10),
            "{}",
            get(port, "/health").body
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    assert_eq!(stored_events(&data), before + posted);
}

#[test]
fn overload_and_a_full_disk_get_retry_after() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let token = token(&data);
    let batch: String = (0..10)
        .map(|i| {
            format!(
                "{}\n",
                event("2026-03-04T10:00:00Z", &format!("u{i}"), "crm", "web")
            )
        })
        .collect();
    // The store never catches up: beyond 5 waiting events, 429.
    let server = Server::start(
        &data,
        &[
            ("UPTAKE_INGEST_MAX_PENDING_EVENTS", "5"),
            ("UPTAKE_INGEST_FLUSH_MILLISECONDS", "3600000"),
        ],
    );
    let port = server.port;
    let r = post(port, &token, "/api/v1/events", &[], batch.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(port, &token, "/api/v1/events", &[], batch.as_bytes());
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (429, "store_behind".into())
    );
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(get(port, "/health").json()["ingest"]["pending_events"], 10);
    server.kill();

    // Less free disk than required: 503. The 10 events acknowledged before
    // the kill were replayed at start.
    let server = Server::start(&data, &[("UPTAKE_INGEST_MIN_FREE_DISK_MB", "999999999999")]);
    let port = server.port;
    let r = post(port, &token, "/api/v1/events", &[], batch.as_bytes());
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (503, "disk_full".into())
    );
    assert_eq!(r.header("retry-after"), Some("60"));
    assert_eq!(
        get(port, "/health").json()["ingest"]["recovered_events"],
        10
    );
    drop(server);
    assert_eq!(stored_events(&data), 10);
}

/// Every stored event's (user, module, client), which the crash harness
/// makes unique per event.
fn stored_identities(data: &Path) -> HashMap<(String, String, String), u32> {
    let store = uptake::store::Store::open(data).expect("store");
    let mut seen = HashMap::new();
    for path in store.event_file_paths() {
        let (_, batches) = uptake::store::files::read_parquet(&path).expect("read");
        for b in batches {
            let text = |i: usize| b.column(i).as_string::<i32>().clone();
            let (users, modules, clients) = (text(1), text(2), text(4));
            for row in 0..b.num_rows() {
                let client = if clients.is_null(row) {
                    String::new()
                } else {
                    clients.value(row).to_string()
                };
                *seen
                    .entry((
                        users.value(row).to_string(),
                        modules.value(row).to_string(),
                        client,
                    ))
                    .or_insert(0) += 1;
            }
        }
    }
    seen
}

/// The rollup as (user, module, week, day mask), by ids.
fn rollup_rows(data: &Path) -> BTreeSet<(String, String, i32, i32)> {
    let store = uptake::store::Store::open(data).expect("store");
    let Some(files) = store.rollup_files() else {
        return BTreeSet::new();
    };
    let names = |path: &PathBuf| -> HashMap<i32, String> {
        let (_, batches) = uptake::store::files::read_parquet(path).expect("keys");
        let mut out = HashMap::new();
        for b in batches {
            let keys = b
                .column(0)
                .as_primitive::<datafusion::arrow::datatypes::Int32Type>();
            let ids = b.column(1).as_string::<i32>();
            for i in 0..b.num_rows() {
                out.insert(keys.value(i), ids.value(i).to_string());
            }
        }
        out
    };
    let (users, modules) = (names(&files.users), names(&files.modules));
    let mut rows = BTreeSet::new();
    let batches = files
        .user_module_week
        .iter()
        .flat_map(|path| uptake::store::files::read_parquet(path).expect("umw").1);
    for b in batches {
        let int = |c: usize| {
            b.column(c)
                .as_primitive::<datafusion::arrow::datatypes::Int32Type>()
                .clone()
        };
        let (u, m, w, d) = (int(0), int(1), int(2), int(3));
        for i in 0..b.num_rows() {
            rows.insert((
                users[&u.value(i)].clone(),
                modules[&m.value(i)].clone(),
                w.value(i),
                d.value(i),
            ));
        }
    }
    rows
}

/// Clients send batches with keys and retry each until it is acknowledged,
/// while the server is killed with SIGKILL at random moments and
/// restarted. Afterwards every batch is stored exactly once, and the
/// rollup equals one rebuilt from the stored events.
///
/// `UPTAKE_CRASH_ROUNDS` sets the number of kills (default 6); run it many
/// times with e.g. `UPTAKE_CRASH_ROUNDS=100 cargo test crash_harness`.
#[test]
fn crash_harness_every_acknowledged_event_is_stored_exactly_once() {
    const CLIENTS: usize = 3;
    const EVENTS: usize = 40;
    let rounds: usize = std::env::var("UPTAKE_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let seed: u64 = std::env::var("UPTAKE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("crash harness: {rounds} rounds, UPTAKE_CRASH_SEED={seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);

    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let token = token(&data);
    let port = free_port();
    // Frequent flushes and compactions, so that kills land in them too.
    let env = [
        ("UPTAKE_INGEST_FLUSH_MILLISECONDS", "50"),
        ("UPTAKE_INGEST_COMPACT_FILES", "3"),
    ];
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (stop, acknowledged, token) = (stop.clone(), acknowledged.clone(), token.clone());
            std::thread::spawn(move || {
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let key = format!("c{c}-b{n}");
                    let day = 2 + n % 9;
                    let body: String = (0..EVENTS)
                        .map(|i| {
                            let time = format!("2026-03-{day:02}T{:02}:30:00Z", i % 24);
                            format!(
                                "{}\n",
                                event(&time, &format!("c{c}"), &format!("b{n}"), &format!("e{i}"))
                            )
                        })
                        .collect();
                    // Retry with the same key until acknowledged.
                    loop {
                        match request(
                            port,
                            "POST",
                            "/api/v1/events",
                            &[
                                ("Authorization", &format!("Bearer {token}")),
                                ("Idempotency-Key", &key),
                            ],
                            body.as_bytes(),
                        ) {
                            Ok(r) if r.status == 200 => {
                                let accepted = r.json()["accepted"].as_u64().expect("accepted");
                                acknowledged.lock().expect("lock").insert(key, accepted);
                                break;
                            }
                            Ok(r) if r.status == 429 || r.status == 503 => {}
                            Ok(r) => panic!("unexpected answer {}: {}", r.status, r.body),
                            Err(_) => {} // the server is down
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    n += 1;
                }
            })
        })
        .collect();

    for _ in 0..rounds {
        let server = Server::start_on(&data, port, &env);
        std::thread::sleep(Duration::from_millis(rng.random_range(100..1200)));
        server.kill();
        std::thread::sleep(Duration::from_millis(rng.random_range(0..200)));
    }
    // A last run lets the clients' retries in flight through.
    let server = Server::start_on(&data, port, &env);
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client");
    }
    server.kill();
    // Start-up after the last kill stores what the log still holds.
    let out = uptake(&data, &["check"]);
    assert!(out.status.success(), "{out:?}");

    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() >= CLIENTS * rounds,
        "too few batches: {}",
        acknowledged.len()
    );
    let stored = stored_identities(&data);
    let mut expected = 0usize;
    for (key, accepted) in &acknowledged {
        assert_eq!(*accepted, EVENTS as u64, "{key}");
        let (c, n) = key.split_once('-').expect("key");
        for i in 0..EVENTS {
            let id = (c.to_string(), n.to_string(), format!("e{i}"));
            assert_eq!(stored.get(&id), Some(&1), "{key} event {i} (seed {seed})");
            expected += 1;
        }
    }
    assert_eq!(
        stored.len(),
        expected,
        "events of unacknowledged batches (seed {seed})"
    );
    assert!(
        uptake::store::quarantine::entries(&data).is_empty(),
        "seed {seed}"
    );

    // The rollup kept in step with the events.
    let live = rollup_rows(&data);
    let out = uptake(&data, &["rebuild"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(live, rollup_rows(&data), "seed {seed}");
    eprintln!(
        "crash harness: {} batches, {expected} events, each once",
        acknowledged.len()
    );
}

#[test]
fn damaged_files_are_quarantined_reported_and_the_rest_kept() {
    use uptake::ingest::wal;

    let tmp = sample_store();
    let data = tmp.path().join("data");
    let total = stored_events(&data);
    let store = uptake::store::Store::open(&data).expect("store");
    let files = store.manifest().event_files.clone();
    let rollup = store.rollup_files().expect("rollup");
    drop(store);

    // An event file cut in half, a rollup file overwritten.
    let victim = data.join(&files[0].path);
    let bytes = std::fs::read(&victim).expect("read");
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).expect("cut");
    std::fs::write(&rollup.user_week[0], b"garbage").expect("overwrite");

    // A log segment with a damaged record between two good ones.
    let batch = |user: &str| {
        let line = event("2027-01-13T09:00:00Z", user, "campaigns", "wal");
        let (batch, _) = uptake::store::input::ndjson_batch(
            line.into_bytes(),
            "test",
            &uptake::model::event::TimeRange::future_allowed(),
        )
        .expect("parse");
        batch.expect("one event")
    };
    let records: Vec<Vec<u8>> = ["u000001", "u000002", "u000003"]
        .iter()
        .map(|u| wal::encode(None, &[0; 32], &batch(u)).expect("encode"))
        .collect();
    let mut segment = records.concat();
    segment[records[0].len() + 30] ^= 0xff;
    std::fs::create_dir_all(data.join("wal")).expect("wal dir");
    std::fs::write(wal::segment_path(&data.join("wal"), 1), &segment).expect("segment");

    // `uptake check` repairs what it can and lists the rest.
    let out = uptake(&data, &["check"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let listed = stdout(&out);
    assert!(listed.contains(&files[0].path), "{listed}");
    assert!(listed.contains("rollup/user_week-"), "{listed}");
    assert!(listed.contains("wal/00000000000000000001.wal"), "{listed}");
    assert!(listed.contains("fails its checksum"), "{listed}");
    // Everything else is kept: the other files and the two good records.
    assert_eq!(stored_events(&data), total - files[0].events + 2);

    // The server starts, answers, and reports the damage.
    let server = Server::start(&data, &[]);
    let port = server.port;
    let health = get(port, "/health").json();
    assert_eq!(health["status"], "degraded");
    let quarantined = health["quarantined"].as_array().expect("list");
    assert_eq!(quarantined.len(), listed.lines().count());
    assert!(
        quarantined
            .iter()
            .any(|q| q["original"] == files[0].path.as_str())
    );
    let reader = token_with(&data, "analyst");
    assert_eq!(get_as(port, &reader, "/api/v1/kpi?by=region").status, 200);
    drop(server);
}

/// Rollup files of the store, relative to the data directory, sorted.
fn rollup_listing(data: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(data.join("rollup"))
        .expect("rollup dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    files
}

#[test]
fn a_commit_rewrites_only_the_rollup_weeks_its_events_touch() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let import = |name: &str, rows: &[&str]| {
        let path = dir.path().join(name);
        let mut text = String::from("event_time,user_id,module,action\n");
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        std::fs::write(&path, text).expect("write");
        let out = uptake(&data, &["import", "events", &path.display().to_string()]);
        assert!(out.status.success(), "{out:?}");
    };
    // Weeks 2026-W10 and W11.
    import(
        "a.csv",
        &[
            "2026-03-03T10:00:00Z,u1,accounts,view",
            "2026-03-10T10:00:00Z,u2,quotes,view",
        ],
    );
    let first = rollup_listing(&data);
    let week = |files: &[String], w: &str| -> Vec<String> {
        files.iter().filter(|f| f.contains(w)).cloned().collect()
    };
    assert_eq!(
        first.len(),
        6,
        "two tables for two weeks and two key tables: {first:?}"
    );
    let w10 = week(&first, "-2026-W10-");
    assert_eq!(w10.len(), 2, "{first:?}");
    let written = |name: &str| {
        std::fs::metadata(data.join("rollup").join(name))
            .expect("file")
            .modified()
            .expect("mtime")
    };
    let w10_times: Vec<_> = w10.iter().map(|f| written(f)).collect();

    // New events of W11 only: W10's files stay as they are.
    import("b.csv", &["2026-03-11T10:00:00Z,u1,accounts,edit"]);
    let replaced = rollup_listing(&data);
    assert_eq!(
        replaced.len(),
        10,
        "the replaced files (W11's and the key tables) stay for readers of the manifest before: {replaced:?}"
    );
    // The next process to open the store removes them.
    let out = uptake(&data, &["stats"]);
    assert!(out.status.success(), "{out:?}");
    let second = rollup_listing(&data);
    assert_eq!(
        second.len(),
        6,
        "the replaced files are removed: {second:?}"
    );
    assert_eq!(week(&second, "-2026-W10-"), w10);
    assert_eq!(
        w10.iter().map(|f| written(f)).collect::<Vec<_>>(),
        w10_times
    );
    assert_ne!(week(&second, "-2026-W11-"), week(&first, "-2026-W11-"));
    let incremental = rollup_rows(&data);
    let out = uptake(&data, &["rebuild"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(incremental, rollup_rows(&data));

    // A store written before the rollup was kept by week (one file per
    // table) is read as it is and stored by week at its next commit.
    let manifest_path = data.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("manifest")).expect("json");
    let generation = manifest["rollup"]["generation"]
        .as_str()
        .expect("generation")
        .to_string();
    for table in ["user_week", "user_module_week"] {
        let mut batches = Vec::new();
        let mut schema = None;
        for file in rollup_listing(&data)
            .iter()
            .filter(|f| f.starts_with(&format!("{table}-")))
        {
            let path = data.join("rollup").join(file);
            let (s, b) = uptake::store::files::read_parquet(&path).expect("read");
            schema = Some(s);
            batches.extend(b);
            std::fs::remove_file(path).expect("remove");
        }
        let path = data.join(format!("rollup/{table}-{generation}.parquet"));
        uptake::store::files::write_parquet(&path, schema.expect("schema"), &batches)
            .expect("write");
    }
    let rollup = manifest["rollup"].as_object_mut().expect("rollup");
    rollup.remove("by_week");
    rollup.remove("weeks");
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).expect("json")).expect("write");
    assert_eq!(rollup_listing(&data).len(), 4);
    assert_eq!(
        rollup_rows(&data),
        incremental,
        "the old layout reads the same"
    );
    let out = uptake(&data, &["kpi", "--by", "", "--format", "csv"]);
    assert!(out.status.success(), "{out:?}");

    import("c.csv", &["2026-03-17T10:00:00Z,u2,accounts,view"]);
    // The files of the old layout stay until the next process opens it.
    let out = uptake(&data, &["stats"]);
    assert!(out.status.success(), "{out:?}");
    let converted = rollup_listing(&data);
    assert_eq!(
        converted.len(),
        8,
        "three weeks and the keys: {converted:?}"
    );
    let updated = rollup_rows(&data);
    let out = uptake(&data, &["rebuild"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(updated, rollup_rows(&data));
}
