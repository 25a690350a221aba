//! The command line on `sample_data/` (insta snapshots) and on bad input.

use std::path::Path;

use crate::support::{SAMPLE_NOW, repo, sample_store, stderr, stdout, uptake, uptake_command};

fn ok(data: &Path, args: &[&str]) -> String {
    let out = uptake(data, args);
    assert!(out.status.success(), "uptake {args:?}: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn sample_data_reports() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    insta::assert_snapshot!(
        "kpi_by_region_csv",
        ok(&data, &["kpi", "--by", "region", "--format", "csv"])
    );
    insta::assert_snapshot!(
        "kpi_organisation_table",
        ok(&data, &["kpi", "--from", "2026-W50", "--to", "2027-W02"])
    );
    insta::assert_snapshot!(
        "kpi_by_wave_json",
        ok(
            &data,
            &[
                "kpi", "--by", "wave", "--from", "2026-W52", "--to", "2027-W01", "--format", "json"
            ]
        )
    );
    insta::assert_snapshot!(
        "kpi_by_department_team_csv",
        ok(
            &data,
            &[
                "kpi",
                "--by",
                "department,team",
                "--from",
                "2026-W53",
                "--to",
                "2026-W53",
                "--format",
                "csv"
            ]
        )
    );
    insta::assert_snapshot!(
        "modules_by_region_csv",
        ok(
            &data,
            &[
                "modules", "--by", "region", "--week", "2026-W53", "--format", "csv"
            ]
        )
    );
    insta::assert_snapshot!(
        "lagging_by_region_department_csv",
        ok(
            &data,
            &[
                "lagging",
                "--by",
                "region,department",
                "--week",
                "2027-W02",
                "--format",
                "csv"
            ]
        )
    );
    insta::assert_snapshot!("stats_json", ok(&data, &["stats", "--format", "json"]));
}

#[test]
fn importing_the_same_events_file_twice_counts_once() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let before = ok(&data, &["stats", "--format", "json"]);
    let pattern = format!("{}/sample_data/events/*.parquet", repo().display());
    let out = uptake(&data, &["import", "events", &pattern]);
    assert!(out.status.success());
    assert!(stderr(&out).contains("skipped"), "{}", stderr(&out));
    assert_eq!(ok(&data, &["stats", "--format", "json"]), before);
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn bad_tables_are_refused_with_line_column_and_reason() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let before = ok(&data, &["kpi", "--by", "region", "--format", "csv"]);
    let cases = [
        (
            "directory",
            "dup.csv",
            "user_id,region,department,team,wave,license_start,license_end\nu1,DACH,Sales,,W1,2026-01-01,\nu1,DACH,Sales,,W1,2026-01-01,\n",
            "dup.csv: line 3: column user_id: duplicate user_id 'u1'",
        ),
        (
            "directory",
            "wave.csv",
            "user_id,region,department,team,wave,license_start,license_end\nu1,DACH,Sales,,W9,2026-01-01,\n",
            "wave.csv: line 2: column wave: unknown wave 'W9'",
        ),
        (
            "directory",
            "end.csv",
            "user_id,region,department,team,wave,license_start,license_end\nu1,DACH,Sales,,W1,2026-01-05,2026-01-04\n",
            "end.csv: line 2: column license_end: license_end 2026-01-04 is before license_start 2026-01-05",
        ),
        (
            "directory",
            "missing.csv",
            "user_id,region,department,team,wave,license_start,license_end\nu1,,Sales,,W1,2026-01-05,\n",
            "missing.csv: line 2: column region: required value is missing",
        ),
        (
            "waves",
            "waves.csv",
            "wave_id,name,go_live\nW1,One,2026-01-05\nW1,Again,2026-02-05\n",
            "waves.csv: line 3: column wave_id: duplicate wave_id 'W1'",
        ),
        (
            "waves",
            "fewer.csv",
            "wave_id,name,go_live\nW1,One,2026-01-05\n",
            "is missing, but the stored directory assigns user",
        ),
        (
            "modules",
            "modules.csv",
            "module_id,name,licensed_from,licensed_until,monthly_cost_per_user\nm,M,2026-01-05,,12,50\n",
            "modules.csv: line 2",
        ),
        (
            "modules",
            "cost.csv",
            "module_id,name,licensed_from,licensed_until,monthly_cost_per_user\nm,M,2026-01-05,,twelve\n",
            "cost.csv: line 2: column monthly_cost_per_user: 'twelve' is not a decimal",
        ),
    ];
    for (table, name, text, message) in cases {
        let file = write(tmp.path(), name, text);
        let out = uptake(&data, &["import", table, &file]);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(stderr(&out).contains(message), "{name}: {}", stderr(&out));
    }
    assert_eq!(
        ok(&data, &["kpi", "--by", "region", "--format", "csv"]),
        before
    );
}

#[test]
fn bad_events_refuse_the_batch_unless_partial() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let stats = || ok(&data, &["stats", "--format", "json"]);
    let before = stats();
    let file = write(
        tmp.path(),
        "late.csv",
        "event_time,user_id,module,action,client\n2026-09-08T10:00:00Z,u000001,accounts,view,web\nnot a time,u000002,accounts,view,web\n2026-09-08T10:00:00Z,,accounts,view,web\n",
    );
    let out = uptake(&data, &["import", "events", &file]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("late.csv: line 3: column event_time: 'not a time' is not a time"),
        "{err}"
    );
    assert!(
        err.contains("late.csv: line 4: column user_id: required value is missing"),
        "{err}"
    );
    assert_eq!(stats(), before);

    let out = uptake(&data, &["import", "events", "--partial", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("left out 2 refused rows"),
        "{}",
        stderr(&out)
    );
    let after: serde_json::Value = serde_json::from_str(&stats()).expect("json");
    let before: serde_json::Value = serde_json::from_str(&before).expect("json");
    assert_eq!(after["events"], before["events"].as_i64().expect("n") + 1);

    let ndjson = write(
        tmp.path(),
        "bad.ndjson",
        "{\"event_time\":\"2026-09-08T10:00:00Z\",\"user_id\":\"u1\",\"module\":\"accounts\",\"action\":\"view\"}\n{\"event_time\":\"2026-09-08T10:00:00Z\",\"user_id\":\"u1\",\"action\":\"view\"}\n",
    );
    let out = uptake(&data, &["import", "events", &ndjson]);
    assert!(
        stderr(&out).contains("bad.ndjson: line 2: column module: required value is missing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn late_events_change_the_figures_of_their_week() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let args = [
        "kpi", "--from", "2026-W40", "--to", "2026-W40", "--format", "csv",
    ];
    let before = ok(&data, &args);
    // Every licensee active at once in 2026-W40, sent as gzip NDJSON.
    let directory = std::fs::read_to_string(repo().join("sample_data/directory.csv")).expect("dir");
    let mut lines = String::new();
    for line in directory.lines().skip(1) {
        let user = line.split(',').next().expect("user");
        lines.push_str(&format!(
            "{{\"event_time\":\"2026-10-01T10:00:00Z\",\"user_id\":\"{user}\",\"module\":\"accounts\",\"action\":\"create\"}}\n"
        ));
    }
    let path = tmp.path().join("late.ndjson.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, lines.as_bytes()).expect("gz");
    std::fs::write(&path, gz.finish().expect("gz")).expect("write");
    let out = uptake(&data, &["import", "events", &path.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = ok(&data, &args);
    assert_ne!(before, after);
    assert!(
        after.lines().nth(1).expect("row").contains(",true,false"),
        "{after}"
    );
}

#[test]
fn the_cube_is_kept_for_the_next_process_and_never_trusted_damaged() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let args = ["kpi", "--by", "region,wave", "--format", "csv"];
    let first = ok(&data, &args);
    let cube = data.join("derived").join("cube");
    let files: Vec<std::path::PathBuf> = std::fs::read_dir(&cube)
        .expect("kept cube")
        .map(|e| e.expect("entry").path())
        .collect();
    assert!(files.len() > 10, "{files:?}");
    let traced = |args: &[&str]| {
        let out = uptake_command(&data)
            .args(args)
            .env("UPTAKE_LOG", "warn,uptake::engine=debug")
            .env("UPTAKE_NOW", SAMPLE_NOW)
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", stderr(&out));
        (stdout(&out), stderr(&out))
    };
    // A fresh process reads every week and computes none.
    let (again, log) = traced(&args);
    assert_eq!(again, first);
    let weeks: Vec<&str> = log.lines().filter(|l| l.contains("cube weeks")).collect();
    assert_eq!(weeks.len(), 2, "{log}");
    assert!(weeks.iter().all(|l| l.contains("computed=0")), "{log}");
    // Damaged in three ways: cut off, a byte changed, another week's file
    // under this name. Each is computed again, to the same figures, and
    // written whole again.
    let mut bytes = std::fs::read(&files[0]).expect("read");
    std::fs::write(&files[0], &bytes[..bytes.len() / 2]).expect("cut");
    let middle = bytes.len() / 3;
    bytes[middle] ^= 0x20;
    std::fs::write(&files[1], &bytes).expect("flip");
    std::fs::copy(&files[3], &files[2]).expect("copy");
    let (again, log) = traced(&args);
    assert_eq!(again, first);
    assert!(log.contains("damaged"), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("cube weeks") && !l.contains("computed=0")),
        "{log}"
    );
    let (_, log) = traced(&args);
    assert!(
        log.lines()
            .filter(|l| l.contains("cube weeks"))
            .all(|l| l.contains("computed=0")),
        "written again: {log}"
    );
}

#[test]
fn changed_settings_ask_for_a_rebuild() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let out = crate::support::uptake_binary()
        .args(["--data", &data.display().to_string(), "kpi"])
        .env("UPTAKE_TIMEZONE", "Europe/Berlin")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("run `uptake rebuild`"),
        "{}",
        stderr(&out)
    );
    let rebuilt = crate::support::uptake_binary()
        .args(["--data", &data.display().to_string(), "rebuild"])
        .env("UPTAKE_TIMEZONE", "Europe/Berlin")
        .output()
        .expect("run");
    assert!(rebuilt.status.success(), "{}", stderr(&rebuilt));
    let out = crate::support::uptake_binary()
        .args([
            "--data",
            &data.display().to_string(),
            "kpi",
            "--format",
            "csv",
        ])
        .env("UPTAKE_TIMEZONE", "Europe/Berlin")
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn bad_arguments_are_named() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    for (args, message) in [
        (
            vec!["kpi", "--from", "2025-W53"],
            "'2025-W53' is not an ISO week",
        ),
        (
            vec!["kpi", "--by", "country"],
            "unknown dimension 'country'",
        ),
        (
            vec!["kpi", "--from", "2027-W02", "--to", "2027-W01"],
            "the week range is empty",
        ),
        (
            vec!["import", "events", "/nonexistent/*.parquet"],
            "no file matches",
        ),
    ] {
        let out = uptake(&data, &args);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    // An object store's address is not a local folder named "s3:"; what
    // uptake cannot use is named.
    for (data, message) in [
        ("gs://bucket/uptake", "gs:// is not supported"),
        ("s3://Not_A_Bucket/uptake", "is not an S3 bucket name"),
    ] {
        let out = crate::support::uptake_binary()
            .args(["--data", data, "kpi"])
            .env_remove("UPTAKE_DATA")
            .current_dir(tmp.path())
            .output()
            .expect("run");
        assert!(!out.status.success(), "{data}");
        assert!(stderr(&out).contains(message), "{data}: {}", stderr(&out));
    }
    // An object store that does not answer: named, and nothing local is
    // taken for it.
    let out = crate::support::uptake_binary()
        .args(["stats"])
        .env("UPTAKE_DATA", "s3://bucket/uptake")
        .env("UPTAKE_LOCAL_DIR", tmp.path().join("copy"))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_ACCESS_KEY_ID", "uptake")
        .env("AWS_SECRET_ACCESS_KEY", "uptake")
        .env("AWS_REGION", "us-east-1")
        .current_dir(tmp.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("s3://bucket/uptake: "),
        "{}",
        stderr(&out)
    );
    assert!(!tmp.path().join("s3:").exists());
}

/// `uptake demo` without `--sample`: the rollout as it stands on a
/// Wednesday, generated and imported; what a new user should see in it.
/// The messages to people follow `--lang`, else `UPTAKE_LANG`, else the
/// locale variables; tables and error messages stay as scripts read them.
#[test]
fn messages_to_people_come_in_the_chosen_language() {
    let tmp = sample_store();
    let data = tmp.path().join("data");
    let sample = |file: &str| format!("{}/sample_data/{file}", repo().display());
    let (waves, modules) = (sample("waves.csv"), sample("modules.csv"));
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = uptake_command(&data);
        for var in ["UPTAKE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"] {
            command.env_remove(var);
        }
        command.args(args).envs(env.iter().copied());
        command.output().expect("run")
    };
    for (args, env, message) in [
        (
            &["--lang", "de", "import", "waves", &waves][..],
            &[][..],
            "4 Wellen importiert",
        ),
        (
            &["import", "waves", &waves],
            &[("UPTAKE_LANG", "fr")],
            "4 vagues importées",
        ),
        (
            &["import", "modules", &modules],
            &[("LANG", "nl_NL.UTF-8")],
            "8 modules geïmporteerd",
        ),
        (
            &["import", "modules", &modules],
            &[("LC_ALL", "da_DK.UTF-8"), ("LANG", "de_DE.UTF-8")],
            "importerede 8 moduler",
        ),
        (
            &["--lang", "es", "import", "waves", &waves],
            &[("LANG", "de_DE.UTF-8")],
            "4 olas importadas",
        ),
        (
            &["import", "waves", &waves],
            &[("LANG", "C.UTF-8")],
            "imported 4 waves",
        ),
    ] {
        let out = run(args, env);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stderr(&out).trim(), message, "{args:?} {env:?}");
    }
    // Tables keep SPEC.md's columns in every language.
    let german = run(&["kpi", "--format", "csv"], &[("LANG", "de_DE.UTF-8")]);
    let english = run(&["kpi", "--format", "csv"], &[]);
    assert_eq!(stdout(&german), stdout(&english));
    // An error names file, line and column as it always did.
    let bad = write(
        tmp.path(),
        "bad.csv",
        "wave_id,name,go_live\nW9,Nine,someday\n",
    );
    let out = run(&["--lang", "de", "import", "waves", &bad], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
    // A language uptake does not have is refused, naming the six.
    for (args, env) in [
        (&["--lang", "pt", "stats"][..], &[][..]),
        (&["stats"], &[("UPTAKE_LANG", "pt")]),
    ] {
        let out = run(args, env);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("use en, de, fr, es, da, nl"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn the_demo_is_a_rollout_as_it_stands_today() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let now = "2026-12-02T10:30:00Z";
    let out = uptake_command(&data)
        .arg("demo")
        .env("UPTAKE_NOW", now)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    // From the pilot's go-live 14 weeks ago to this week; shown up to the
    // last complete week.
    assert!(printed.contains("weeks 2026-W35 to 2026-W49"), "{printed}");
    assert!(printed.contains("By region, 2026-W48"), "{printed}");
    let demo = data.join("demo");
    assert!(!data.join("demo-input").exists(), "generated files removed");
    let out = uptake_command(&demo)
        .args(["stats", "--format", "json"])
        .output()
        .expect("stats");
    assert!(out.status.success(), "{}", stderr(&out));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    let last = stats["last_event_time"].as_str().expect("last event time");
    assert!(last.starts_with("2026-12-02T") && last <= now, "{last}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        use uptake::kpi::{self, Dimension, Request};
        let store = uptake::store::Store::open(&demo).expect("store");
        let settings = uptake::config::Settings::default();
        let (_, last) = store.event_dates(&settings).expect("events");
        assert_eq!(last.to_string(), "2026-12-02", "no event after now");
        let waves = store.table::<uptake::model::Wave>().expect("waves");
        assert_eq!(waves.len(), 4);
        assert!(
            waves
                .iter()
                .any(|w| w.go_live.to_string().as_str() > "2026-12-02")
        );
        let source = kpi::Source::new(
            uptake::engine::Engine::open(&store).await.expect("engine"),
            &store,
        );
        let week = |w: &str| w.parse().expect("week");
        let by_wave = Request::new(
            vec![Dimension::Wave],
            week("2026-W35"),
            week("2026-W48"),
            Default::default(),
        );
        let rows = kpi::kpi_rows(&source, &settings, &by_wave)
            .await
            .expect("rows");
        let success = |wave: &str, w: &str| {
            rows.iter()
                .find(|r| r.segment[0] == wave && r.week.to_string() == w)
                .is_some_and(|r| r.success)
        };
        // A wave passes its targets in the latest week, one lags.
        assert!(!success("W1", "2026-W47") && success("W1", "2026-W48"));
        assert!(!success("W2", "2026-W48"));
        // Most teams are shown by protection.
        let latest = Request {
            protected: true,
            ..Request::new(
                Vec::new(),
                week("2026-W48"),
                week("2026-W48"),
                Default::default(),
            )
        };
        let hiding = kpi::protection_of(&source, &settings, &latest)
            .await
            .expect("protection")
            .hiding();
        assert!(hiding.teams_hidden_at_k * 5 < hiding.teams, "{hiding:?}");
    });
}
