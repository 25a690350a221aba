//! A data directory in S3-compatible object storage (`--data
//! s3://bucket/prefix`), against a real S3 server on loopback:
//! `moto_server` from PyPI (`pip install 'moto[server]'`; `.ci/install`
//! installs it). Every command on it, figures equal to a local store's,
//! two writers, a process killed mid-import, and `serve` committing
//! posted events so that another machine sees them.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use object_store::path::Path as Key;
use object_store::{ObjectStoreExt, PutPayload};
use uptake::store::Store;
use uptake::store::remote::{self, Remote};

use crate::support::{
    SAMPLE_NOW, Server, free_port, repo, request, sample_store, stderr, stdout, uptake,
};

/// `moto_server` on a free loopback port; killed when dropped.
struct S3 {
    child: Child,
    port: u16,
}

impl S3 {
    fn start() -> S3 {
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m moto.server (pip install 'moto[server]'; .ci/install does)");
        wait_for_port(port, "moto_server");
        S3 { child, port }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (S3's CreateBucket: `PUT /bucket`).
    fn bucket(&self, name: &str) {
        let reply = self.http("PUT", &format!("/{name}"));
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }

    /// The keys of a bucket (ListObjectsV2, first 1,000).
    fn keys(&self, bucket: &str) -> Vec<String> {
        let reply = self.http("GET", &format!("/{bucket}?list-type=2"));
        reply
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }

    fn http(&self, method: &str, path: &str) -> String {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .expect("send");
        let mut reply = String::new();
        stream.read_to_string(&mut reply).expect("reply");
        reply
    }

    /// The AWS variables that point uptake at this server.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "uptake".into()),
            ("AWS_SECRET_ACCESS_KEY", "uptake".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// The `uptake` binary on `url` with its working copy in `local`, as
    /// [`uptake`] runs it on a local directory.
    fn uptake(&self, url: &str, local: &Path) -> Command {
        let mut command = crate::support::uptake_binary();
        command
            .args(["--data", url])
            .env("UPTAKE_LOCAL_DIR", local)
            .env_remove("UPTAKE_CONFIG")
            .env_remove("UPTAKE_TIMEZONE")
            .env("UPTAKE_IMPORT_ALLOW_FUTURE", "true")
            .env("UPTAKE_NOW", SAMPLE_NOW)
            .current_dir(local.parent().expect("parent"));
        command.envs(self.env());
        command
    }

    fn run(&self, url: &str, local: &Path, args: &[&str]) -> Output {
        self.uptake(url, local).args(args).output().expect("uptake")
    }

    /// The object store as uptake opens it, on a bucket without prefix.
    fn store(&self, bucket: &str) -> std::sync::Arc<dyn remote::ObjectStore> {
        let endpoint = self.endpoint();
        remote::object_store_with(
            bucket,
            &format!("s3://{bucket}"),
            &[
                ("aws_endpoint", endpoint.as_str()),
                ("aws_allow_http", "true"),
                ("aws_access_key_id", "uptake"),
                ("aws_secret_access_key", "uptake"),
                ("aws_region", "us-east-1"),
            ],
        )
        .expect("store")
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ok(out: &Output, what: &str) -> String {
    assert!(out.status.success(), "{what}: {}", stderr(out));
    stdout(out)
}

/// Imports `sample_data/` through the CLI into `url`.
fn import_sample(s3: &S3, url: &str, local: &Path) {
    let sample = repo().join("sample_data");
    import_tables(s3, url, local);
    let pattern = format!("{}/events/*.parquet", sample.display());
    ok(
        &s3.run(url, local, &["import", "events", &pattern]),
        "events",
    );
}

fn stats(s3: &S3, url: &str, local: &Path) -> serde_json::Value {
    let out = s3.run(url, local, &["stats", "--format", "json"]);
    serde_json::from_str(&ok(&out, "stats")).expect("stats")
}

const BY_ALL: &str = "region,department,team,wave";

#[test]
fn every_command_works_on_an_s3_data_directory_with_the_local_figures() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s3 = S3::start();
    s3.bucket("uptake-data");
    let url = "s3://uptake-data/acme/prod";
    let here = tmp.path().join("here");
    import_sample(&s3, url, &here);
    let keys = s3.keys("uptake-data");
    assert!(
        keys.iter().any(|k| k.starts_with("acme/prod/commits/")),
        "{keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.starts_with("acme/prod/events/")),
        "{keys:?}"
    );
    assert!(
        !keys
            .iter()
            .any(|k| k.contains("/wal/") || k.ends_with(".lock")),
        "{keys:?}"
    );

    // The figures on another machine (a new working copy) are those of
    // the same data imported into a local directory.
    let local = sample_store();
    let local_data = local.path().join("data");
    let there = tmp.path().join("there");
    for args in [
        vec!["kpi", "--by", BY_ALL, "--format", "csv"],
        vec!["modules", "--by", "region", "--format", "csv"],
        vec!["lagging", "--by", "team", "--format", "csv"],
    ] {
        let remote = ok(&s3.run(url, &there, &args), "figures on s3");
        let expected = ok(&uptake(&local_data, &args), "figures here");
        assert_eq!(remote, expected, "{args:?}");
    }
    // The figures read the rollup and tables: the raw events stay in the
    // store until a command that reads them pulls the copy.
    assert!(
        walkdir(&there.join("events")).is_empty(),
        "the figures downloaded raw events"
    );
    let remote_stats = stats(&s3, url, &there);
    assert!(
        !walkdir(&there.join("events")).is_empty(),
        "stats reads them"
    );
    let local_stats = ok(
        &uptake(&local_data, &["stats", "--format", "json"]),
        "stats",
    );
    let local_stats: serde_json::Value = serde_json::from_str(&local_stats).expect("json");
    assert_eq!(
        remote_stats["events"], local_stats["events"],
        "{remote_stats}"
    );

    // Writing commands commit; the other copy sees what they did.
    ok(&s3.run(url, &here, &["rebuild"]), "rebuild");
    ok(&s3.run(url, &here, &["check"]), "check");
    let token = ok(
        &s3.run(url, &here, &["token", "create", "--role", "ingest"]),
        "token",
    );
    assert!(!token.trim().is_empty());
    let tokens = ok(&s3.run(url, &there, &["token", "list"]), "token list");
    assert!(tokens.contains("ingest"), "{tokens}");
    let after = ok(
        &s3.run(url, &there, &["kpi", "--by", BY_ALL, "--format", "csv"]),
        "kpi after rebuild",
    );
    let expected = ok(
        &uptake(&local_data, &["kpi", "--by", BY_ALL, "--format", "csv"]),
        "kpi here",
    );
    assert_eq!(after, expected);

    // A PDF report from the object store's data.
    let pdf = tmp.path().join("report.pdf");
    let out = s3.run(
        url,
        &there,
        &[
            "report",
            "render",
            "steering-weekly",
            "--week",
            "2027-W02",
            "--out",
            &pdf.display().to_string(),
        ],
    );
    ok(&out, "report render");
    assert!(std::fs::read(&pdf).expect("pdf").starts_with(b"%PDF-"));
}

#[test]
fn events_are_imported_from_s3_patterns() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s3 = S3::start();
    s3.bucket("lake");
    let lake = s3.store("lake");
    let sample = repo().join("sample_data");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for entry in std::fs::read_dir(sample.join("events")).expect("events") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .to_string();
            let bytes = std::fs::read(&path).expect("read");
            let key = Key::from(format!("crm/events/{name}"));
            lake.put(&key, PutPayload::from(bytes)).await.expect("put");
        }
        let other = Key::from("crm/other/notes.txt");
        lake.put(&other, PutPayload::from_static(b"not events"))
            .await
            .expect("put");
    });
    // Into a local data directory, from the lake.
    let data = tmp.path().join("data");
    import_tables(&s3, &data.display().to_string(), &data);
    let mut command = crate::support::uptake_command(&data);
    command
        .args(["import", "events", "s3://lake/crm/events/*.parquet"])
        .env("UPTAKE_IMPORT_ALLOW_FUTURE", "true")
        .envs(s3.env());
    ok(&command.output().expect("run"), "import from s3");
    let local = sample_store();
    let expected = ok(
        &uptake(
            &local.path().join("data"),
            &["kpi", "--by", BY_ALL, "--format", "csv"],
        ),
        "kpi here",
    );
    assert_eq!(
        ok(
            &uptake(&data, &["kpi", "--by", BY_ALL, "--format", "csv"]),
            "kpi"
        ),
        expected
    );
    // A pattern that names nothing, and one outside any bucket, are named.
    for (pattern, message) in [
        ("s3://lake/crm/nothing/*.parquet", "no object matches"),
        ("s3://lake", "names a bucket but no objects"),
        ("s3://lake/crm/../x/*.parquet", "a key part is '..'"),
    ] {
        let mut command = crate::support::uptake_command(&data);
        command.args(["import", "events", pattern]).envs(s3.env());
        let out = command.output().expect("run");
        assert!(!out.status.success(), "{pattern}");
        assert!(
            stderr(&out).contains(message),
            "{pattern}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_copy_without_the_raw_events_commits_them_as_they_were() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s3 = S3::start();
    s3.bucket("lazy");
    let url = "s3://lazy";
    import_sample(&s3, url, &tmp.path().join("importer"));
    let before = stats(&s3, url, &tmp.path().join("reader0"));
    let store = s3.store("lazy");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let lazy = tmp.path().join("lazy");
    runtime.block_on(async {
        let mut copy = Remote::open_in(store.clone(), url, &lazy, remote::Fetch::WithoutEvents)
            .await
            .expect("copy");
        assert!(walkdir(&lazy.join("events")).is_empty(), "events fetched");
        assert!(lazy.join("manifest.json").exists());
        // A change committed from this copy: the events stay in the commit.
        std::fs::write(lazy.join("tables/extra.txt"), "x").expect("write");
        assert!(copy.push(true, false).await.expect("commit").is_some());
    });
    let after = stats(&s3, url, &tmp.path().join("reader1"));
    assert_eq!(after["events"], before["events"]);
    assert!(!walkdir(&tmp.path().join("reader1").join("events")).is_empty());
    // A command that reads events on the same copy downloads them.
    let again = stats(&s3, url, &lazy);
    assert_eq!(again["events"], before["events"]);
}

#[test]
fn of_two_writers_one_commits_and_the_other_is_told_to_run_again() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s3 = S3::start();
    s3.bucket("writers");
    let store = s3.store("writers");
    let url = "s3://writers";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sample = repo().join("sample_data");
    runtime.block_on(async {
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        let mut first = Remote::open_in(store.clone(), url, &a, remote::Fetch::Whole).await.expect("a");
        let mut second = Remote::open_in(store.clone(), url, &b, remote::Fetch::Whole).await.expect("b");
        assert_eq!((first.version(), second.version()), (0, 0));

        // Both change the directory they read at commit 0, in different
        // files: the second commits on top of the first.
        Store::open(&a)
            .expect("store")
            .import_waves(&sample.join("waves.csv"))
            .expect("waves");
        Store::open(&b)
            .expect("store")
            .import_modules(&sample.join("modules.csv"))
            .expect("modules");
        std::fs::write(a.join("audit.jsonl"), "{\"by\":\"a\"}\n").expect("audit");
        std::fs::write(b.join("audit.jsonl"), "{\"by\":\"b\"}\n").expect("audit");
        assert_eq!(first.push(true, false).await.expect("first"), Some(1));
        assert_eq!(second.push(true, false).await.expect("second"), Some(2));
        assert!(b.join("tables/waves.parquet").exists(), "taken from commit 1");

        // Both change the same file: the second is refused and commits
        // nothing (the same bytes written by both, such as their pseudonym
        // records, are no conflict).
        first.pull().await.expect("pull");
        Store::open(&a)
            .expect("store")
            .import_directory(&sample.join("directory.csv"), &Default::default())
            .expect("directory");
        // The same directory less its last licensee.
        let text = std::fs::read_to_string(sample.join("directory.csv")).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        let shorter = tmp.path().join("directory.csv");
        std::fs::write(&shorter, lines[..lines.len() - 1].join("\n") + "\n").expect("write");
        Store::open(&b)
            .expect("store")
            .import_directory(&shorter, &Default::default())
            .expect("directory");
        assert_eq!(first.push(true, false).await.expect("first"), Some(3));
        let err = second.push(true, false).await.expect_err("conflict");
        let message = err.to_string();
        assert!(
            message.contains(
                "another process committed to this data directory (commit 3) since this one read commit 2, and changed the same files (tables/directory.parquet)"
            ) && message.contains("nothing of this command was committed: run it again"),
            "{message}"
        );
        drop(second);

        // Run again: the copy is brought to commit 3, dropping its own
        // change; made once more, it is committed on top.
        let mut second = Remote::open_in(store.clone(), url, &b, remote::Fetch::Whole).await.expect("b");
        assert_eq!(second.version(), 3);
        std::fs::write(b.join("tables/extra.txt"), "b").expect("write");
        assert_eq!(second.push(true, false).await.expect("second"), Some(4));
        drop(second);

        let c = tmp.path().join("c");
        let third = Remote::open_in(store.clone(), url, &c, remote::Fetch::Whole).await.expect("c");
        assert_eq!(third.version(), 4);
        for file in [
            "tables/waves.parquet",
            "tables/modules.parquet",
            "tables/directory.parquet",
            "tables/extra.txt",
        ] {
            assert!(c.join(file).exists(), "{file}");
        }
        // Lines both appended to the audit log are all there.
        let audit = std::fs::read_to_string(c.join("audit.jsonl")).expect("audit");
        assert_eq!(audit, "{\"by\":\"a\"}\n{\"by\":\"b\"}\n");
    });

    // The same race between two processes: whichever loses says so and
    // succeeds when run again; no import is lost or counted twice.
    let url = "s3://writers/race";
    let copy = |name: &str| tmp.path().join(name);
    import_tables(&s3, url, &copy("setup"));
    let files: Vec<PathBuf> = std::fs::read_dir(sample.join("events"))
        .expect("events")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(files.len() >= 2);
    let halves = [&files[..files.len() / 2], &files[files.len() / 2..]];
    let children: Vec<(usize, Child)> = halves
        .iter()
        .enumerate()
        .map(|(i, half)| {
            let mut command = s3.uptake(url, &copy(&format!("writer{i}")));
            command.args(["import", "events"]).args(*half);
            let child = command
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("import");
            (i, child)
        })
        .collect();
    for (i, child) in children {
        let out = child.wait_with_output().expect("wait");
        if !out.status.success() {
            assert!(
                stderr(&out).contains("run it again"),
                "writer {i}: {}",
                stderr(&out)
            );
            let local = copy(&format!("writer{i}"));
            let again = s3
                .uptake(url, &local)
                .args(["import", "events"])
                .args(halves[i])
                .output()
                .expect("again");
            ok(&again, "import run again");
        }
    }
    let local = sample_store();
    let out = uptake(&local.path().join("data"), &["stats", "--format", "json"]);
    let expected: serde_json::Value = serde_json::from_str(&ok(&out, "stats")).expect("json");
    assert_eq!(
        stats(&s3, url, &copy("reader"))["events"],
        expected["events"]
    );
}

/// Imports the sample's three tables.
fn import_tables(s3: &S3, url: &str, local: &Path) {
    let sample = repo().join("sample_data");
    for (table, file) in [
        ("waves", "waves.csv"),
        ("directory", "directory.csv"),
        ("modules", "modules.csv"),
    ] {
        let path = sample.join(file).display().to_string();
        ok(&s3.run(url, local, &["import", table, &path]), table);
    }
}

#[test]
fn an_import_killed_at_any_point_leaves_the_last_commit_whole() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s3 = S3::start();
    s3.bucket("killed");
    let url = "s3://killed/data";
    import_sample(&s3, url, &tmp.path().join("first"));
    let before = stats(&s3, url, &tmp.path().join("reader0"))["events"]
        .as_u64()
        .expect("events");
    // A bigger file, so that the import is under way when it is killed.
    let generated = tmp.path().join("generated");
    let out = crate::support::uptake_binary()
        .args(["sample", "--out"])
        .arg(&generated)
        .args(["--users", "4000", "--weeks", "12", "--seed", "5"])
        .output()
        .expect("sample");
    ok(&out, "sample");
    let events = format!("{}/events/*", generated.display());
    for (round, delay) in [300u64, 900, 1500, 2500].into_iter().enumerate() {
        let local = tmp.path().join(format!("killed{round}"));
        let mut child = s3
            .uptake(url, &local)
            .args(["import", "events", &events])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("import");
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let reader = tmp.path().join(format!("reader{}", round + 1));
        let now = stats(&s3, url, &reader)["events"].as_u64().expect("events");
        let check = s3.run(url, &reader, &["check"]);
        assert!(check.status.success(), "round {round}: {}", stderr(&check));
        if now != before {
            // Killed after its commit: the import is whole.
            assert!(now > before, "round {round}: {now} < {before}");
            break;
        }
    }
    // What killed imports uploaded and no commit names goes with the next
    // collection (here without waiting for the grace period); what the
    // commit names stays.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = remote::prefixed(s3.store("killed"), "data");
        let orphan = Key::from("events/date=2027-01-01/orphan.parquet");
        store
            .put(&orphan, PutPayload::from_static(b"half a file"))
            .await
            .expect("put");
        let remote = Remote::open_in(
            store.clone(),
            url,
            &tmp.path().join("collector"),
            remote::Fetch::Whole,
        )
        .await
        .expect("open");
        let removed = remote
            .collect_garbage(Duration::ZERO)
            .await
            .expect("collect");
        assert!(removed >= 1, "{removed}");
        assert!(matches!(
            store.head(&orphan).await,
            Err(object_store::Error::NotFound { .. })
        ));
    });
    let check = s3.run(url, &tmp.path().join("after-collection"), &["check"]);
    assert!(check.status.success(), "{}", stderr(&check));

    // A damaged commit file, or one naming a file outside the data
    // directory, is named, and nothing is written (the working copy is
    // left as it was).
    let copy = tmp.path().join("after-collection");
    let manifest = std::fs::read(copy.join("manifest.json")).expect("manifest");
    for (content, message) in [
        (
            r#"{"version": 99, "files": "#,
            "s3://killed/data: commit 99 is damaged",
        ),
        (
            r#"{"version": 99, "written_at": "", "files": {"../escaped.txt": {"key": "manifest.json", "size": 2}}}"#,
            "it names '../escaped.txt', which is not a file of a data directory",
        ),
    ] {
        let store = remote::prefixed(s3.store("killed"), "data");
        let damaged = Key::from("commits/00000000000000000099.json");
        runtime.block_on(async {
            let payload = PutPayload::from(content.as_bytes().to_vec());
            store.put(&damaged, payload).await.expect("put");
        });
        let out = s3.run(url, &copy, &["stats"]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains(message), "{}", stderr(&out));
        assert_eq!(
            std::fs::read(copy.join("manifest.json")).expect("manifest"),
            manifest
        );
        assert!(!tmp.path().join("escaped.txt").exists());
        runtime.block_on(async { store.delete(&damaged).await.expect("delete") });
    }
    // Run again to the end: every event once.
    let out = s3
        .uptake(url, &tmp.path().join("last"))
        .args(["import", "events", &events])
        .output()
        .expect("import");
    ok(&out, "import after the kills");
    let after = stats(&s3, url, &tmp.path().join("reader-last"));
    let generated_events = {
        let local = tempfile::tempdir().expect("tmp");
        let data = local.path().join("data");
        ok(
            &uptake(&data, &["import", "events", &events]),
            "local import",
        );
        let out = uptake(&data, &["stats", "--format", "json"]);
        let stats: serde_json::Value = serde_json::from_str(&ok(&out, "stats")).expect("json");
        stats["events"].as_u64().expect("events")
    };
    assert_eq!(after["events"].as_u64(), Some(before + generated_events));
    assert!(
        s3.run(url, &tmp.path().join("reader-last"), &["check"])
            .status
            .success()
    );
}

/// Posts `n` events of one module for the sample's first users.
fn post_events(port: u16, token: &str, n: usize, module: &str) {
    let body: String = (0..n)
        .map(|i| {
            serde_json::json!({
                "event_time": "2027-01-13T10:00:00Z", "user_id": format!("u{:03}", i + 1),
                "module": module, "action": "view",
            })
            .to_string()
                + "\n"
        })
        .collect();
    let auth = format!("Bearer {token}");
    let reply = request(
        port,
        "POST",
        "/api/v1/events",
        &[("Authorization", auth.as_str())],
        body.as_bytes(),
    )
    .expect("post");
    assert_eq!(reply.status, 200, "{}", reply.body);
}

/// Waits until a new working copy counts `events` events.
fn wait_for_events(s3: &S3, url: &str, tmp: &Path, events: u64) {
    let started = Instant::now();
    for round in 0.. {
        let reader = tmp.join(format!("wait-{events}-{round}"));
        let now = stats(s3, url, &reader)["events"].as_u64().expect("events");
        if now == events {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{now} events committed, not {events}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn serve_commits_posted_events_and_another_machine_sees_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s3 = S3::start();
    s3.bucket("served");
    let url = "s3://served/prod";
    let first = tmp.path().join("first");
    import_sample(&s3, url, &first);
    let token = ok(
        &s3.run(url, &first, &["token", "create", "--role", "ingest"]),
        "token",
    );
    let token = token.trim().to_string();
    let env = s3.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start_command(s3.uptake(url, &first), 0, &env);
    let before = stats(&s3, url, &tmp.path().join("reader0"))["events"]
        .as_u64()
        .expect("events");

    // Each flush is committed: a new working copy has the events.
    post_events(server.port, &token, 25, "campaigns");
    wait_for_events(&s3, url, tmp.path(), before + 25);

    // An operator creates a token from another machine while the server
    // runs: the server's next commit takes it in (and both audit entries).
    let ops = tmp.path().join("ops");
    let created = ok(
        &s3.run(url, &ops, &["token", "create", "--role", "ingest"]),
        "token",
    );
    let created = created.trim().to_string();
    post_events(server.port, &token, 10, "quotes");
    wait_for_events(&s3, url, tmp.path(), before + 35);
    let audit_reader = tmp.path().join("audit-reader");
    ok(&s3.run(url, &audit_reader, &["stats"]), "pull");
    let audit = std::fs::read_to_string(audit_reader.join("audit.jsonl")).expect("audit");
    assert!(audit.contains("token_created"), "{audit}");
    assert!(audit.contains("/api/v1/events"), "{audit}");

    // An import from another machine changes the stored events under the
    // server: its next flush cannot be committed on top, and its events
    // stay in its log.
    let csv = tmp.path().join("late.csv");
    std::fs::write(
        &csv,
        "event_time,user_id,module,action\n2027-01-12T09:00:00Z,u001,campaigns,view\n",
    )
    .expect("write");
    ok(
        &s3.run(url, &ops, &["import", "events", &csv.display().to_string()]),
        "import beside the server",
    );
    post_events(server.port, &token, 5, "forecasting");
    std::thread::sleep(Duration::from_secs(3));
    let reader = tmp.path().join("reader-conflict");
    assert_eq!(
        stats(&s3, url, &reader)["events"].as_u64(),
        Some(before + 36),
        "the import is committed, the server's flush is not"
    );
    // Its commits, the one refused among them, are counted.
    let metrics = request(server.port, "GET", "/metrics", &[], b"").expect("metrics");
    for outcome in ["committed", "conflict"] {
        let line = format!("uptake_object_store_commits_total{{outcome=\"{outcome}\"}}");
        assert!(metrics.body.contains(&line), "{line} in {}", metrics.body);
    }
    let (status, _) = server.terminate();
    assert!(status.success(), "{status}");

    // Restarted on its working copy, the server starts from the newest
    // commit and stores what its log holds: nothing is lost.
    let server = Server::start_command(s3.uptake(url, &first), 0, &env);
    wait_for_events(&s3, url, tmp.path(), before + 41);
    // The token created beside it still signs in.
    post_events(server.port, &created, 1, "campaigns");
    let (status, _) = server.terminate();
    assert!(status.success(), "{status}");

    // Killed before it flushed: `uptake check` on its working copy stores
    // and commits what the log holds, and keeps the log until a later
    // start sees the commit.
    let mut slow = env.clone();
    slow.push(("UPTAKE_INGEST_FLUSH_MILLISECONDS", "600000"));
    let server = Server::start_command(s3.uptake(url, &first), 0, &slow);
    post_events(server.port, &token, 3, "campaigns");
    server.kill();
    // The log segments holding events.
    let wal = |dir: &Path| -> std::collections::BTreeSet<PathBuf> {
        std::fs::read_dir(dir.join("wal"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "wal"))
                    .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
                    .collect()
            })
            .unwrap_or_default()
    };
    let logged = wal(&first);
    assert!(!logged.is_empty());
    let out = s3.run(url, &first, &["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("stored 3 events left in the ingestion log"),
        "{}",
        stderr(&out)
    );
    assert!(
        logged.is_subset(&wal(&first)),
        "the log went before the commit"
    );
    wait_for_events(&s3, url, tmp.path(), before + 45);
    ok(&s3.run(url, &first, &["check"]), "check again");
    assert_eq!(
        stats(&s3, url, &tmp.path().join("after-check"))["events"].as_u64(),
        Some(before + 45),
        "stored once"
    );

    // The service moves: a new machine starts from the object store.
    let moved = tmp.path().join("moved");
    let server = Server::start_command(s3.uptake(url, &moved), 0, &env);
    let health = request(server.port, "GET", "/health", &[], b"").expect("health");
    let health: serde_json::Value = serde_json::from_str(&health.body).expect("json");
    assert_eq!(
        health["events_in_figures"].as_u64(),
        Some(before + 45),
        "{health}"
    );
}

/// The files of `sample_data/events/`, sorted.
fn sample_event_files() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repo().join("sample_data/events"))
        .expect("events")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    paths
}

/// Puts `sample_data/events/*.parquet` (sorted) under `crm/events/` of
/// the bucket `lake`, file `i` in folder `date=<folder(i)>/`; returns the
/// keys.
fn put_sample_events(s3: &S3, folder: impl Fn(usize) -> &'static str) -> Vec<String> {
    let lake = s3.store("lake");
    let paths = sample_event_files();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let mut keys = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            let name = path.file_name().expect("name").to_string_lossy();
            let key = format!("crm/events/date={}/{name}", folder(i));
            let bytes = std::fs::read(path).expect("read");
            lake.put(&Key::from(key.as_str()), PutPayload::from(bytes))
                .await
                .expect("put");
            keys.push(key);
        }
        keys
    })
}

/// Puts `bytes` at `key` of the bucket `lake`.
fn put(s3: &S3, key: &str, bytes: Vec<u8>) {
    let lake = s3.store("lake");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(lake.put(&Key::from(key), PutPayload::from(bytes)))
        .expect("put");
}

/// A Parquet file of two events whose `event_time` is text (uptake's
/// import converts it; read in place it cannot be).
fn text_times_parquet() -> Vec<u8> {
    use datafusion::arrow::array::{RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let schema = std::sync::Arc::new(Schema::new(
        ["event_time", "user_id", "module", "action"]
            .map(|name| Field::new(name, DataType::Utf8, false))
            .to_vec(),
    ));
    let column = |values: [&str; 2]| -> datafusion::arrow::array::ArrayRef {
        std::sync::Arc::new(StringArray::from(values.to_vec()))
    };
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            column(["2027-01-11T09:00:00Z", "2027-01-12T09:00:00Z"]),
            column(["u001", "u002"]),
            column(["campaigns", "campaigns"]),
            column(["view", "view"]),
        ],
    )
    .expect("batch");
    parquet_bytes(&batch)
}

/// `batch` as a Parquet file.
fn parquet_bytes(batch: &datafusion::arrow::array::RecordBatch) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut writer =
        datafusion::parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), None)
            .expect("writer");
    writer.write(batch).expect("write");
    writer.close().expect("close");
    bytes
}

/// Rows of events (time in microseconds, user, module, action): one the
/// import takes, then three it refuses (a control character, a missing
/// module, a time before 2000).
const BAD_ROWS: [(i64, &str, &str, &str); 4] = [
    (1_799_000_000_000_000, "u001", "campaigns", "view"),
    (1_799_000_000_000_000, "u\u{7}002", "campaigns", "view"),
    (1_799_000_000_000_000, "u003", "", "view"),
    (900_000_000_000_000, "u004", "campaigns", "view"),
];

/// A Parquet file of uptake's native columns with timestamp times.
fn timestamped_parquet(rows: &[(i64, &str, &str, &str)]) -> Vec<u8> {
    use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use std::sync::Arc;
    let time = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let mut fields = vec![Field::new("event_time", time, false)];
    fields.extend(["user_id", "module", "action"].map(|n| Field::new(n, DataType::Utf8, false)));
    let schema = Arc::new(Schema::new(fields));
    let text = |i: usize| -> ArrayRef {
        let values: Vec<&str> = rows.iter().map(|r| [r.1, r.2, r.3][i]).collect();
        Arc::new(StringArray::from(values))
    };
    let times = TimestampMicrosecondArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())
        .with_timezone("UTC");
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![Arc::new(times), text(0), text(1), text(2)],
    )
    .expect("batch");
    parquet_bytes(&batch)
}

#[test]
fn events_are_read_in_place_where_the_lake_holds_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s3 = S3::start();
    s3.bucket("lake");
    let keys = put_sample_events(&s3, |i| if i < 2 { "2027-01-01" } else { "2027-01-02" });
    let data = tmp.path().join("data");
    import_tables(&s3, &data.display().to_string(), &data);
    let run = |args: &[&str]| {
        let mut command = crate::support::uptake_command(&data);
        command
            .args(args)
            .env("UPTAKE_IMPORT_ALLOW_FUTURE", "true")
            .env("UPTAKE_NOW", SAMPLE_NOW)
            .envs(s3.env());
        command.output().expect("run")
    };
    let pattern = "s3://lake/crm/events/date=*/";
    let kpi = |what: &str| ok(&run(&["kpi", "--by", BY_ALL, "--format", "csv"]), what);
    let local = sample_store();
    let expected = ok(
        &uptake(
            &local.path().join("data"),
            &["kpi", "--by", BY_ALL, "--format", "csv"],
        ),
        "kpi here",
    );
    let stats_of = |out: &Output| -> serde_json::Value {
        serde_json::from_str(&ok(out, "stats")).expect("stats json")
    };
    let expected_stats = stats_of(&uptake(
        &local.path().join("data"),
        &["stats", "--format", "json"],
    ));

    // Registered, not copied: nothing under events/, the figures and the
    // data-quality figures (read by DataFusion from the lake) as a copy's.
    let out = run(&["import", "events", "--in-place", pattern]);
    assert!(
        stderr(&out).contains("in 3 files read in place"),
        "{}",
        stderr(&out)
    );
    let copied: Vec<_> = walkdir(&data.join("events"));
    assert!(copied.is_empty(), "{copied:?}");
    assert_eq!(kpi("kpi in place"), expected);
    let stats = stats_of(&run(&["stats", "--format", "json"]));
    for figure in [
        "events",
        "distinct_users",
        "events_of_unknown_users",
        "unknown_user_ids",
        "events_of_unknown_modules",
        "first_date",
        "last_date",
        "last_event_time",
    ] {
        assert_eq!(stats[figure], expected_stats[figure], "{figure}");
    }
    assert_eq!(stats["files_read_in_place"], 3);

    // Again: nothing new. A new file is registered, the others left as
    // they are; the rollup rebuilt from the lake gives the same figures.
    let out = run(&["import", "events", "--in-place", pattern]);
    assert!(
        stderr(&out).contains("registered 0 events in 0 files"),
        "{}",
        stderr(&out)
    );
    put(
        &s3,
        "crm/events/date=2027-01-03/late.parquet",
        text_times_parquet(),
    );
    let out = run(&["import", "events", "--in-place", pattern]);
    assert!(!out.status.success(), "a file with text times is refused");
    assert!(
        stderr(&out).contains("late.parquet: header: column event_time: has type Utf8"),
        "{}",
        stderr(&out)
    );
    let out = run(&["import", "events", "--in-place", "--partial", pattern]);
    assert!(
        stderr(&out).contains("skipped s3://lake/crm/events/date=2027-01-03/late.parquet"),
        "{}",
        stderr(&out)
    );
    ok(&run(&["rebuild"]), "rebuild from the lake");
    assert_eq!(kpi("kpi after rebuild"), expected);

    // A registered file that changes is refused wherever it would be read;
    // the figures stay those of the file as registered.
    let changed = std::fs::read(repo().join("sample_data/waves.csv")).expect("bytes");
    put(&s3, &keys[0], changed);
    let out = run(&["import", "events", "--in-place", pattern]);
    assert!(!out.status.success());
    let message = stderr(&out);
    assert!(
        message.contains(&format!(
            "s3://lake/{}: it changed since it was registered",
            keys[0]
        )),
        "{message}"
    );
    let out = run(&["rebuild"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("changed since it was registered"),
        "{}",
        stderr(&out)
    );
    assert_eq!(kpi("kpi with a changed file"), expected);
    let out = run(&["check"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains(&keys[0]), "{}", stdout(&out));
    // Repaired: no longer counted, and the figures say so.
    ok(&run(&["check", "--repair"]), "repair");
    let stats = stats_of(&run(&["stats", "--format", "json"]));
    assert_eq!(stats["files_read_in_place"], 2);
    assert!(stats["events"].as_u64() < expected_stats["events"].as_u64());
    assert_ne!(kpi("kpi without it"), expected);
    ok(&run(&["check"]), "check after the repair");

    // Refused: a pseudonym key (the lake's ids would be read as they are),
    // a '..' key part, a pattern naming nothing, another source.
    for (args, message) in [
        (
            vec!["import", "events", "--in-place", pattern],
            "privacy.pseudonym_key",
        ),
        (
            vec!["import", "events", "--in-place", "s3://lake/crm/../x/"],
            "a key part is '..'",
        ),
        (
            vec!["import", "events", "--in-place", "s3://lake/none/"],
            "no object matches",
        ),
        (
            vec![
                "import",
                "events",
                "--in-place",
                "--source",
                "hubspot-login",
                pattern,
            ],
            "--source native",
        ),
    ] {
        let mut command = crate::support::uptake_command(&data);
        command.args(&args).envs(s3.env());
        if message == "privacy.pseudonym_key" {
            command.env("UPTAKE_PRIVACY_PSEUDONYM_KEY", "secret");
        }
        let out = command.output().expect("run");
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}

/// The files below `dir`.
fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walkdir(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn serve_registers_watched_files_as_they_appear() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s3 = S3::start();
    s3.bucket("lake");
    s3.bucket("acme");
    let url = "s3://acme/prod";
    let first = tmp.path().join("first");
    import_tables(&s3, url, &first);
    // Two files are there before the server starts, one comes later.
    let mut paths = sample_event_files();
    let later = paths.pop().expect("a file");
    for path in &paths {
        let name = path.file_name().expect("name").to_string_lossy();
        put(
            &s3,
            &format!("crm/events/date=2027-01-01/{name}"),
            std::fs::read(path).expect("read"),
        );
    }
    let mut env = s3.env();
    env.push(("UPTAKE_INGEST_WATCH", "s3://lake/crm/events/date=*/".into()));
    env.push(("UPTAKE_INGEST_WATCH_SECONDS", "1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start_command(s3.uptake(url, &first), 0, &env);
    let parquet_rows = |path: &Path| {
        let file = std::fs::File::open(path).expect("open");
        datafusion::parquet::file::reader::SerializedFileReader::new(file)
            .map(|r| {
                use datafusion::parquet::file::reader::FileReader;
                r.metadata().file_metadata().num_rows() as u64
            })
            .expect("parquet")
    };
    let before: u64 = paths.iter().map(|p| parquet_rows(p)).sum();
    wait_for_events(&s3, url, tmp.path(), before);
    let name = later.file_name().expect("name").to_string_lossy();
    put(
        &s3,
        &format!("crm/events/date=2027-01-02/{name}"),
        std::fs::read(&later).expect("read"),
    );
    wait_for_events(&s3, url, tmp.path(), before + parquet_rows(&later));
    // The server's figures show them too (the gauge follows the reload).
    let shown = format!("uptake_store_events {}", before + parquet_rows(&later));
    crate::support::wait_for(&shown, Duration::from_secs(30), || {
        let reply = request(server.port, "GET", "/metrics", &[], b"").expect("metrics");
        reply.body.contains(&shown)
    });
    // Nothing was copied into the data directory.
    let copied = walkdir(&first.join("events"));
    assert!(copied.is_empty(), "{copied:?}");
    let (status, _) = server.terminate();
    assert!(status.success(), "{status}");
}

/// A process of `uptake cluster`, killed when dropped.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until something listens on `port` of loopback.
fn wait_for_port(port: u16, what: &str) {
    crate::support::wait_for(what, Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

#[test]
fn a_ballista_cluster_from_the_binary_computes_the_same_figures() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s3 = S3::start();
    s3.bucket("lake");
    // Two files stored in the data directory, one read in place from the lake.
    let keys = put_sample_events(&s3, |_| "2027-01-01");
    let data = tmp.path().join("data");
    import_tables(&s3, &data.display().to_string(), &data);
    let paths = sample_event_files();
    let run = |args: &[&str], env: &[(&str, String)]| {
        let mut command = crate::support::uptake_command(&data);
        command
            .args(args)
            .env("UPTAKE_IMPORT_ALLOW_FUTURE", "true")
            .env("UPTAKE_NOW", SAMPLE_NOW)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        command.output().expect("run")
    };
    let aws = s3.env();
    let stored: Vec<String> = paths[..2].iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["import", "events"];
    args.extend(stored.iter().map(String::as_str));
    ok(&run(&args, &[]), "import two files");
    let lake_file = format!("s3://lake/{}", keys[2]);
    ok(
        &run(&["import", "events", "--in-place", &lake_file], &aws),
        "register one in place",
    );
    let figures = |what: &str| -> (String, String) {
        (
            ok(&run(&["kpi", "--by", BY_ALL, "--format", "csv"], &[]), what),
            ok(
                &run(&["modules", "--by", "region", "--format", "csv"], &[]),
                what,
            ),
        )
    };
    let local = figures("local figures");
    let local_rollup = rollup_rows(&data);
    // The same as a local import of all three files.
    let sample = sample_store();
    let expected = ok(
        &uptake(
            &sample.path().join("data"),
            &["kpi", "--by", BY_ALL, "--format", "csv"],
        ),
        "kpi here",
    );
    assert_eq!(local.0, expected);

    // A scheduler and two executors on loopback, from the same binary.
    let binary = env!("CARGO_BIN_EXE_uptake");
    let scheduler = free_port();
    let start = |args: &[String]| {
        Node(
            Command::new(binary)
                .args(args)
                .envs(aws.iter().map(|(k, v)| (*k, v.as_str())))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("uptake cluster"),
        )
    };
    let _scheduler = start(&[
        "cluster".into(),
        "scheduler".into(),
        "--listen".into(),
        format!("127.0.0.1:{scheduler}"),
    ]);
    wait_for_port(scheduler, "the scheduler");
    let executors: Vec<Node> = (0..2)
        .map(|i| {
            let (flight, grpc) = (free_port(), free_port());
            let node = start(&[
                "cluster".into(),
                "executor".into(),
                "--scheduler".into(),
                format!("127.0.0.1:{scheduler}"),
                "--listen".into(),
                format!("127.0.0.1:{flight}"),
                "--grpc-port".into(),
                grpc.to_string(),
                "--cores".into(),
                "1".into(),
                "--work-dir".into(),
                tmp.path()
                    .join(format!("executor-{i}"))
                    .display()
                    .to_string(),
            ]);
            wait_for_port(flight, "an executor");
            node
        })
        .collect();

    // The rollup rebuilt on the cluster: the executors read the stored
    // files and the lake's, each writing its part of the reduction into
    // its work folder, and the figures are those of the local engine.
    let engine = format!("ballista://127.0.0.1:{scheduler}");
    let before = std::fs::read_to_string(data.join("manifest.json")).expect("manifest");
    let out = run(&["--engine", &engine, "rebuild"], &aws);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = std::fs::read_to_string(data.join("manifest.json")).expect("manifest");
    assert_ne!(before, after, "a new rollup is committed");
    for i in 0..2 {
        let work = walkdir(&tmp.path().join(format!("executor-{i}")));
        assert!(!work.is_empty(), "executor {i} ran no task");
    }
    assert_eq!(figures("cluster figures"), local);
    let utc_rollup = rollup_rows(&data);
    assert!(utc_rollup == local_rollup, "the cluster's rollup differs");
    // The same with UPTAKE_ENGINE.
    let mut with_engine = aws.clone();
    with_engine.push(("UPTAKE_ENGINE", engine.clone()));
    let out = run(&["rebuild"], &with_engine);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(figures("cluster figures again"), local);

    // In a zone with an offset of 12:45 (13:45 in summer), and with an
    // excluded action holding a quote, local days come out the same.
    let zone = [
        ("UPTAKE_TIMEZONE", "Pacific/Chatham".to_string()),
        (
            "UPTAKE_ACTIVITY_EXCLUDE_ACTIONS",
            "login,logout,it's".to_string(),
        ),
    ];
    let with = |extra: &[(&'static str, String)]| -> Vec<(&'static str, String)> {
        zone.iter().cloned().chain(extra.iter().cloned()).collect()
    };
    ok(&run(&["rebuild"], &with(&aws)), "local rebuild in the zone");
    let zoned = |what: &str| {
        ok(
            &run(&["kpi", "--by", BY_ALL, "--format", "csv"], &with(&[])),
            what,
        )
    };
    let local_zoned = (zoned("local figures in the zone"), rollup_rows(&data));
    assert_ne!(local_zoned.1, utc_rollup, "the zone moves days");
    let mut cluster = with(&aws);
    cluster.push(("UPTAKE_ENGINE", engine.clone()));
    ok(&run(&["rebuild"], &cluster), "cluster rebuild in the zone");
    let cluster_zoned = (zoned("cluster figures in the zone"), rollup_rows(&data));
    assert!(
        cluster_zoned == local_zoned,
        "the cluster's rollup differs in the zone"
    );
    ok(&run(&["rebuild"], &aws), "back in UTC");

    // The cube of the figures commands on the cluster: computed there (the
    // executors' work folders grow) when no week of it is kept, and the
    // same figures.
    let work_files = || {
        (0..2)
            .map(|i| walkdir(&tmp.path().join(format!("executor-{i}"))).len())
            .sum::<usize>()
    };
    let _ = std::fs::remove_dir_all(data.join("derived").join("cube"));
    let before_cube = work_files();
    let on_cluster = |run: &dyn Fn(&[&str]) -> Output, what: &str| -> (String, String) {
        (
            ok(
                &run(&[
                    "--engine", &engine, "kpi", "--by", BY_ALL, "--format", "csv",
                ]),
                what,
            ),
            ok(
                &run(&[
                    "--engine", &engine, "modules", "--by", "region", "--format", "csv",
                ]),
                what,
            ),
        )
    };
    let here = |args: &[&str]| run(args, &aws);
    assert_eq!(on_cluster(&here, "the cube on the cluster"), local);
    assert!(
        work_files() > before_cube,
        "the cube was not computed on the cluster"
    );

    // An s3:// data directory: two files stored in it and the lake's file
    // registered in place by the cluster (the client reads its footer
    // only); the cube read from the bucket's objects, from a new working
    // copy, gives the same figures.
    s3.bucket("acme");
    let url = "s3://acme/prod";
    let writer = tmp.path().join("writer");
    import_tables(&s3, url, &writer);
    let mut args = vec!["import", "events"];
    args.extend(stored.iter().map(String::as_str));
    ok(&s3.run(url, &writer, &args), "import into the bucket");
    let out = s3.run(
        url,
        &writer,
        &[
            "--engine",
            &engine,
            "import",
            "events",
            "--in-place",
            &lake_file,
        ],
    );
    assert!(
        ok(&out, "register on the cluster").is_empty()
            && stderr(&out).contains("in 1 file read in place"),
        "{}",
        stderr(&out)
    );
    let reader = tmp.path().join("reader");
    let in_bucket = |args: &[&str]| s3.run(url, &reader, args);
    assert_eq!(
        on_cluster(&in_bucket, "the bucket's cube on the cluster"),
        local
    );
    assert_eq!(
        stats(&s3, url, &reader)["events"],
        stats(&s3, url, &writer)["events"]
    );
    let local_stats = serde_json::from_str::<serde_json::Value>(&ok(
        &run(&["stats", "--format", "json"], &aws),
        "stats",
    ))
    .expect("json");
    assert_eq!(stats(&s3, url, &reader)["events"], local_stats["events"]);

    // Rows the import refuses are found by the cluster, and the file is
    // read here to name them; a file whose columns cannot be read in place
    // is named from its footer.
    put(&s3, "crm/bad/bad.parquet", timestamped_parquet(&BAD_ROWS));
    put(&s3, "crm/text/text.parquet", text_times_parquet());
    put(&s3, "crm/junk/junk.parquet", b"not a Parquet file".to_vec());
    let register = |pattern: &str, partial: bool| {
        let mut args = vec![
            "--engine",
            &engine,
            "import",
            "events",
            "--in-place",
            pattern,
        ];
        if partial {
            args.push("--partial");
        }
        s3.run(url, &writer, &args)
    };
    // Bytes that are not Parquet: named from the footer, left out with
    // --partial.
    let out = register("s3://lake/crm/junk/", false);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("junk.parquet") && stderr(&out).contains("cannot be read as Parquet"),
        "{}",
        stderr(&out)
    );
    let out = register("s3://lake/crm/junk/", true);
    assert!(
        stderr(&out).contains("skipped s3://lake/crm/junk/junk.parquet"),
        "{}",
        stderr(&out)
    );
    let out = register("s3://lake/crm/bad/", false);
    assert!(!out.status.success());
    for named in [
        "s3://lake/crm/bad/bad.parquet",
        "row 2",
        "U+0007",
        "row 3",
        "module",
        "row 4",
        "before 2000-01-01",
    ] {
        assert!(stderr(&out).contains(named), "{named}: {}", stderr(&out));
    }
    let out = register("s3://lake/crm/bad/", true);
    assert!(
        ok(&out, "left out").is_empty()
            && stderr(&out).contains("skipped s3://lake/crm/bad/bad.parquet: 3 refused rows"),
        "{}",
        stderr(&out)
    );
    let out = register("s3://lake/crm/text/", false);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("event_time") && stderr(&out).contains("need a timestamp"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stats(&s3, url, &writer)["events"], local_stats["events"]);
    // A good file beside the bad ones: taken, with the same rules as here.
    put(
        &s3,
        "crm/good/good.parquet",
        timestamped_parquet(&BAD_ROWS[..1]),
    );
    let out = register("s3://lake/crm/good/", false);
    assert!(
        stderr(&out).contains("registered 1 event in 1 file read in place"),
        "{}",
        stderr(&out)
    );

    // A file of the lake that changed is refused before the cluster reads it.
    put(&s3, &keys[2], b"changed".to_vec());
    let out = run(&["--engine", &engine, "rebuild"], &aws);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("changed since it was registered"),
        "{}",
        stderr(&out)
    );
    assert_eq!(figures("figures kept"), local);
    // Bad engines are named.
    for bad in ["ballista://nohost", "spark://x:1"] {
        let out = run(&["--engine", bad, "rebuild"], &[]);
        assert!(!out.status.success(), "{bad}");
        assert!(stderr(&out).contains(bad), "{bad}: {}", stderr(&out));
    }
    drop(executors);
}

/// The rows of the stored rollup with ids in place of keys, sorted:
/// `user module week mask` and `user * week mask`.
fn rollup_rows(data: &Path) -> Vec<String> {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int32Type;
    let store = Store::open(data).expect("store");
    let files = store.rollup_files().expect("a rollup");
    let read = |path: &Path| uptake::store::files::read_parquet(path).expect("read").1;
    let keys = |path: &Path| -> std::collections::HashMap<i32, String> {
        let mut map = std::collections::HashMap::new();
        for batch in read(path) {
            let (k, v) = (
                batch.column(0).as_primitive::<Int32Type>(),
                batch.column(1).as_string::<i32>(),
            );
            for i in 0..batch.num_rows() {
                map.insert(k.value(i), v.value(i).to_string());
            }
        }
        map
    };
    let (users, modules) = (keys(&files.users), keys(&files.modules));
    let mut rows = Vec::new();
    for path in &files.user_module_week {
        for batch in read(path) {
            let c = |i: usize| batch.column(i).as_primitive::<Int32Type>().clone();
            let (u, m, w, d) = (c(0), c(1), c(2), c(3));
            for i in 0..u.len() {
                rows.push(format!(
                    "{} {} {} {}",
                    users[&u.value(i)],
                    modules[&m.value(i)],
                    w.value(i),
                    d.value(i)
                ));
            }
        }
    }
    for path in &files.user_week {
        for batch in read(path) {
            let c = |i: usize| batch.column(i).as_primitive::<Int32Type>().clone();
            let (u, w, d) = (c(0), c(1), c(2));
            for i in 0..u.len() {
                rows.push(format!(
                    "{} * {} {}",
                    users[&u.value(i)],
                    w.value(i),
                    d.value(i)
                ));
            }
        }
    }
    rows.sort();
    rows
}
