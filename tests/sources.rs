//! Vendors' log files through `uptake import events --source`: fixtures
//! shaped as Salesforce documents its EventLogFile CSVs (every value
//! quoted, the columns of each event type in their documented order),
//! read through the CLI as a user runs it.

use std::io::Write;
use std::path::Path;

use crate::support::{stderr, stdout, uptake};

/// Three licensees, their 18-character ids as the directory holds them;
/// the first two are case twins as 15-character ids.
const ANNA: &str = "0055j000001AbCdAAK";
const BEN: &str = "0055j000001abcdAAA";
const CARL: &str = "0055j000002XyZwAAK";

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
}

/// The tables of a small organisation whose licensees have Salesforce ids.
fn organisation(dir: &Path) {
    write(
        &dir.join("waves.csv"),
        "wave_id,name,go_live\nW1,Wave 1,2026-09-07\n",
    );
    write(
        &dir.join("directory.csv"),
        &format!(
            "user_id,region,department,team,wave,license_start,license_end\n\
             {ANNA},DACH,Sales,Team A,W1,2026-08-01,\n\
             {BEN},DACH,Sales,Team A,W1,2026-08-01,\n\
             {CARL},DACH,Service,Team B,W1,2026-08-01,\n"
        ),
    );
    write(
        &dir.join("modules.csv"),
        "module_id,name,licensed_from,licensed_until,monthly_cost_per_user\n\
         accounts,Accounts,2026-08-01,,10.00\n\
         opportunities,Opportunities,2026-08-01,,10.00\n\
         platform,Platform,2026-08-01,,0.00\n\
         home,Home,2026-08-01,,0.00\n\
         exchange,Exchange,2026-08-01,,0.00\n\
         teams,Teams,2026-08-01,,0.00\n",
    );
}

/// A data directory of [`organisation`], in a temporary directory that
/// also holds the tables' files.
fn organisation_store() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    organisation(tmp.path());
    let data = tmp.path().join("data");
    import_tables(&data, tmp.path());
    (tmp, data)
}

/// `uptake import events --source SOURCE --preview FILE`, which must
/// succeed: the rows printed and the summary.
fn preview(data: &Path, source: &str, file: &Path) -> (String, String) {
    let file = file.display().to_string();
    let out = uptake(
        data,
        &["import", "events", "--source", source, "--preview", &file],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    (stdout(&out), stderr(&out))
}

/// Imports aliases (`user_id,source,alias` rows) into `data`.
fn import_identities(data: &Path, dir: &Path, rows: &str) {
    let file = dir.join("identities.csv");
    write(&file, rows);
    let out = uptake(data, &["import", "identities", &file.display().to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn import_tables(data: &Path, dir: &Path) {
    import_tables_with(dir, &|args| {
        let out = uptake(data, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        out
    });
}

const PAGE_VIEW_HEADER: &str = "\"EVENT_TYPE\",\"TIMESTAMP\",\"REQUEST_ID\",\"ORGANIZATION_ID\",\"USER_ID\",\"CLIENT_IP\",\"SESSION_KEY\",\"LOGIN_KEY\",\"USER_TYPE\",\"APP_NAME\",\"DEVICE_PLATFORM\",\"PAGE_START_TIME\",\"DURATION\",\"PAGE_ENTITY_ID\",\"PAGE_ENTITY_TYPE\",\"PAGE_URL\",\"PAGE_APP_NAME\",\"TIMESTAMP_DERIVED\",\"USER_ID_DERIVED\",\"CLIENT_GEO\"";

fn page_view(timestamp: &str, user15: &str, entity: &str, url: &str, derived: bool) -> String {
    let (iso, user18) = if derived {
        (
            uptake::connect::salesforce::elf_timestamp(timestamp).expect("time"),
            uptake::connect::salesforce::id18(user15).expect("id"),
        )
    } else {
        (String::new(), String::new())
    };
    format!(
        "\"LightningPageView\",\"{timestamp}\",\"4exLFFQZ1234\",\"00D5j000000ABCD\",\"{user15}\",\"10.0.0.1\",\"sk\",\"lk\",\"Standard\",\"one:one\",\"Desktop\",\"1700000000000\",\"1200\",\"0065j00000AbCdE\",\"{entity}\",\"{url}\",\"\"\"Sales\"\", Europe, \"\"North\"\"\",\"{iso}\",\"{user18}\",\"Germany/Hesse\"\r\n"
    )
}

const LOGIN_HEADER: &str = "\"EVENT_TYPE\",\"TIMESTAMP\",\"REQUEST_ID\",\"ORGANIZATION_ID\",\"USER_ID\",\"RUN_TIME\",\"CPU_TIME\",\"URI\",\"SESSION_KEY\",\"LOGIN_KEY\",\"USER_TYPE\",\"REQUEST_STATUS\",\"DB_TOTAL_TIME\",\"LOGIN_TYPE\",\"BROWSER_TYPE\",\"API_TYPE\",\"API_VERSION\",\"USER_NAME\",\"TLS_PROTOCOL\",\"CIPHER_SUITE\",\"AUTHENTICATION_METHOD_REFERENCE\",\"LOGIN_STATUS\",\"TIMESTAMP_DERIVED\",\"USER_ID_DERIVED\",\"CLIENT_IP\",\"URI_ID_DERIVED\",\"LOGIN_SUB_TYPE\"";

fn login(timestamp: &str, user15: &str, status: &str) -> String {
    format!(
        "\"Login\",\"{timestamp}\",\"4exL\",\"00D5j000000ABCD\",\"{user15}\",\"85\",\"40\",\"/index.jsp\",\"sk\",\"lk\",\"Standard\",\"S\",\"1234\",\"Application\",\"Chrome 120\",\"\",\"\",\"anna@example.com\",\"TLSv1.3\",\"TLS_AES_256_GCM_SHA384\",\"\",\"{status}\",\"\",\"\",\"10.0.0.1\",\"\",\"\"\n"
    )
}

const URI_HEADER: &str = "\"EVENT_TYPE\",\"TIMESTAMP\",\"REQUEST_ID\",\"ORGANIZATION_ID\",\"USER_ID\",\"RUN_TIME\",\"CPU_TIME\",\"URI\",\"SESSION_KEY\",\"LOGIN_KEY\",\"USER_TYPE\",\"REQUEST_STATUS\",\"DB_TOTAL_TIME\",\"REFERRER_URI\",\"TIMESTAMP_DERIVED\",\"USER_ID_DERIVED\",\"CLIENT_IP\",\"URI_ID_DERIVED\"";

fn uri(timestamp: &str, user15: &str, path: &str) -> String {
    format!(
        "\"URI\",\"{timestamp}\",\"4exL\",\"00D5j000000ABCD\",\"{user15}\",\"85\",\"40\",\"{path}\",\"sk\",\"lk\",\"Standard\",\"S\",\"1234\",\"https://example.my.salesforce.com/home/home.jsp\",\"\",\"\",\"10.0.0.1\",\"\"\n"
    )
}

/// Files as a Salesforce org delivers them: an hourly and a daily page
/// view file whose rows overlap, a login file with a failed login, a URI
/// file, one gzipped; a BOM and CRLF line ends in one.
fn elf_files(dir: &Path) -> Vec<String> {
    let anna = &ANNA[..15];
    let ben = &BEN[..15];
    let carl = &CARL[..15];
    // The hourly file's rows come again in the day's file, with one more:
    // a custom object the mapping does not know, on local midnight in
    // Berlin.
    let overlap = format!(
        "{}{}",
        page_view(
            "20261102071500.123",
            anna,
            "Opportunity",
            "/lightning/r/Opportunity/0065j00000AbCdE/view",
            true
        ),
        page_view(
            "20261102081500.5",
            ben,
            "Account",
            "/lightning/r/Account/0015j00000AbCdE/view",
            false
        ),
    );
    let hourly = format!("\u{feff}{PAGE_VIEW_HEADER}\r\n{overlap}");
    let daily = format!(
        "{PAGE_VIEW_HEADER}\r\n{overlap}{}",
        page_view(
            "20261108230000",
            carl,
            "Invoice__c",
            "/lightning/r/Invoice__c/a015j00000AbCdE/view",
            false
        ),
    );
    let logins = format!(
        "{LOGIN_HEADER}\n{}{}",
        login("20261103063000.000", carl, "LOGIN_NO_ERROR"),
        login("20261103063500.000", carl, "LOGIN_ERROR_INVALID_PASSWORD"),
    );
    let uris = format!(
        "{URI_HEADER}\n{}{}",
        uri("20261104120000.000", ben, "/0015j00000AbCdEAAV"),
        uri("20261104120500.000", anna, "/home/home.jsp"),
    );
    let mut paths = Vec::new();
    for (name, text) in [
        ("2026-11-02-LightningPageView-hourly.csv", hourly),
        ("2026-11-02-LightningPageView.csv", daily),
        ("2026-11-03-Login.csv", logins),
    ] {
        let path = dir.join(name);
        write(&path, &text);
        paths.push(path.display().to_string());
    }
    let gz = dir.join("2026-11-04-URI.csv.gz");
    let mut encoder =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).expect("gz"), Default::default());
    encoder.write_all(uris.as_bytes()).expect("gz");
    encoder.finish().expect("gz");
    paths.push(gz.display().to_string());
    paths
}

/// The events those files hold, in uptake's own format.
const NATIVE: &str = "event_time,user_id,module,action\n\
    2026-11-02T07:15:00.123Z,0055j000001AbCdAAK,opportunities,view\n\
    2026-11-02T08:15:00.500Z,0055j000001abcdAAA,accounts,view\n\
    2026-11-08T23:00:00.000Z,0055j000002XyZwAAK,other,view\n\
    2026-11-03T06:30:00.000Z,0055j000002XyZwAAK,platform,login\n\
    2026-11-04T12:00:00.000Z,0055j000001abcdAAA,accounts,view\n\
    2026-11-04T12:05:00.000Z,0055j000001AbCdAAK,home,view\n";

#[test]
fn salesforce_event_log_files_import_as_the_same_events_in_native_form() {
    let tmp = tempfile::tempdir().expect("tmp");
    organisation(tmp.path());
    let paths = elf_files(tmp.path());
    let mut args = vec!["import", "events", "--source", "salesforce-elf"];
    args.extend(paths.iter().map(String::as_str));

    // The preview prints what would be stored, and stores nothing.
    let preview_data = tmp.path().join("preview");
    let mut preview_args = args.clone();
    preview_args.push("--preview");
    let out = uptake(&preview_data, &preview_args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!preview_data.exists(), "a preview stores nothing");
    let mut printed: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
    assert_eq!(printed.remove(0), "user_id,event_time,module,action");
    printed.sort();
    let mut expected: Vec<String> = NATIVE
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{},{}", f[1], f[0], f[2], f[3])
        })
        .collect();
    expected.sort();
    assert_eq!(printed, expected);
    let summary = stderr(&out);
    assert!(summary.contains("read 9 rows"), "{summary}");
    assert!(
        summary.contains("2 events already stored or repeated, stored once"),
        "{summary}"
    );
    assert!(summary.contains("failed login: 1"), "{summary}");
    assert!(
        summary.contains("unmapped values: PAGE_ENTITY_TYPE Invoice__c: 1"),
        "{summary}"
    );
    assert!(summary.contains("would import 6 events"), "{summary}");

    // Imported, and the same events imported in uptake's own format: the
    // same figures, in a time zone where one event lies past midnight.
    let elf = tmp.path().join("elf");
    let native = tmp.path().join("native");
    write(&tmp.path().join("native.csv"), NATIVE);
    let config = tmp.path().join("uptake.toml");
    // Groups of one shown, so that the figures compared are not hidden.
    write(
        &config,
        "timezone = \"Europe/Berlin\"\n[privacy]\nmin_group_size = 1\n",
    );
    let config = config.display().to_string();
    for data in [&elf, &native] {
        import_tables(data, tmp.path());
    }
    let out = uptake(&elf, &[&["--config", &config][..], &args[..]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("imported 6 events"),
        "{}",
        stderr(&out)
    );
    let native_file = tmp.path().join("native.csv").display().to_string();
    let out = uptake(
        &native,
        &["--config", &config, "import", "events", &native_file],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for figures in [
        &[
            "kpi", "--by", "team", "--from", "2026-W44", "--to", "2026-W46", "--format", "csv",
        ][..],
        &["modules", "--week", "2026-W45", "--format", "csv"],
        &["stats", "--format", "json"],
    ] {
        let with = |data: &Path| {
            let out = uptake(data, &[&["--config", &config][..], figures].concat());
            assert!(out.status.success(), "{figures:?}: {}", stderr(&out));
            let text = stdout(&out);
            if figures[0] != "stats" {
                return text;
            }
            // The numbers of files imported and stored differ, of course
            // (which of two overlapping files stores a repeated row depends
            // on which is read first), and only the vendor's files have
            // unmapped values.
            let stats: std::collections::BTreeMap<String, serde_json::Value> =
                serde_json::from_str(&text).expect("json");
            stats
                .into_iter()
                .filter(|(k, _)| {
                    !["imported_files", "files", "unmapped_values"].contains(&k.as_str())
                })
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect()
        };
        assert_eq!(with(&elf), with(&native), "{figures:?}");
    }
    // Beside the same figures, stats lists what the mapping did not know.
    let out = uptake(&elf, &["stats", "--format", "json"]);
    let stats: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(
        stats["unmapped_values"],
        serde_json::json!({"PAGE_ENTITY_TYPE Invoice__c": 1})
    );
}

#[test]
fn overlapping_salesforce_files_count_once_across_imports() {
    let (tmp, data) = organisation_store();
    let paths = elf_files(tmp.path());
    let (hourly, daily) = (&paths[0], &paths[1]);
    let import = |file: &str| {
        uptake(
            &data,
            &["import", "events", "--source", "salesforce-elf", file],
        )
    };
    let events = || {
        let out = uptake(&data, &["stats", "--format", "json"]);
        let stats: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
        stats["events"].clone()
    };
    let out = import(hourly);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(events(), 2);

    // A refused import that repeats the stored rows and adds a new one
    // remembers none of them ...
    let daily_text = std::fs::read_to_string(daily).expect("read");
    let broken = tmp.path().join("broken.csv");
    write(
        &broken,
        &format!(
            "{daily_text}{}",
            page_view("yesterday", &CARL[..15], "Account", "/x", false)
        ),
    );
    let out = import(&broken.display().to_string());
    assert!(!out.status.success(), "a bad row refuses the import");
    assert_eq!(events(), 2);

    // ... so the day's file then stores exactly its new row.
    let out = import(daily);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stderr(&out);
    assert!(summary.contains("imported 1 event"), "{summary}");
    assert!(
        summary.contains("2 events already stored or repeated"),
        "{summary}"
    );
    assert_eq!(events(), 3);
    // The preview of a file already stored shows nothing new.
    let out = uptake(
        &data,
        &[
            "import",
            "events",
            "--source",
            "salesforce-elf",
            "--preview",
            &broken.display().to_string(),
        ],
    );
    assert!(
        stderr(&out).contains("3 events already stored or repeated"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn salesforce_rows_that_cannot_be_read_are_named_and_nothing_is_stored() {
    let (tmp, data) = organisation_store();
    let bad = tmp.path().join("bad.csv");
    write(
        &bad,
        &format!(
            "{PAGE_VIEW_HEADER}\n{}{}",
            page_view("20261102071500.123", &ANNA[..15], "Account", "/x", false),
            page_view("2026-11-02 07:15", &BEN[..15], "Account", "/x", false)
        ),
    );
    let file = bad.display().to_string();
    let out = uptake(
        &data,
        &["import", "events", "--source", "salesforce-elf", &file],
    );
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("bad.csv") && e.contains("line 3") && e.contains("TIMESTAMP"),
        "{e}"
    );
    let stats = uptake(&data, &["stats", "--format", "json"]);
    assert!(
        stdout(&stats).contains("\"events\": 0"),
        "{}",
        stdout(&stats)
    );
    // --partial keeps the good row and lists the bad one.
    let out = uptake(
        &data,
        &[
            "import",
            "events",
            "--source",
            "salesforce-elf",
            "--partial",
            &file,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("line 3"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("imported 1 event"),
        "{}",
        stderr(&out)
    );
    // Not an EventLogFile at all.
    let native = tmp.path().join("events.csv");
    write(&native, "event_time,user_id,module,action\n");
    let out = uptake(
        &data,
        &[
            "import",
            "events",
            "--source",
            "salesforce-elf",
            &native.display().to_string(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no EVENT_TYPE column"),
        "{}",
        stderr(&out)
    );
    // An unknown source is named.
    let out = uptake(&data, &["import", "events", "--source", "sap", &file]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown source 'sap'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn windows_line_ends_do_not_shift_the_lines_errors_name() {
    let (tmp, data) = organisation_store();
    // An HR export and an events file saved on Windows, each with a bad
    // value on line 3.
    let directory = tmp.path().join("hr.csv");
    write(
        &directory,
        &format!(
            "user_id,region,department,team,wave,license_start,license_end\r\n\
             {ANNA},DACH,Sales,Team A,W1,2026-08-01,\r\n\
             {BEN},DACH,Sales,Team A,W1,first of August,\r\n"
        ),
    );
    let out = uptake(
        &data,
        &["import", "directory", &directory.display().to_string()],
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("line 3"), "{}", stderr(&out));
    let events = tmp.path().join("events.csv");
    write(
        &events,
        &format!(
            "event_time,user_id,module,action\r\n\
             2026-11-02T07:15:00Z,{ANNA},accounts,view\r\n\
             yesterday,{BEN},accounts,view\r\n"
        ),
    );
    let out = uptake(&data, &["import", "events", &events.display().to_string()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("line 3"), "{}", stderr(&out));
}

#[test]
fn salesforce_login_events_are_logins_of_the_platform() {
    let (tmp, data) = organisation_store();
    let record = |date: &str, user: &str, status: &str| {
        format!(
            r#"{{"attributes": {{"type": "LoginEvent", "url": "/services/data/v62.0/sobjects/LoginEvent/000000000000000AAA"}},
               "EventDate": "{date}", "UserId": "{user}", "Status": "{status}",
               "LoginType": "Application", "Application": "Browser", "Browser": "Chrome 120",
               "SourceIp": "10.0.0.1", "Username": "anna@example.com, Sales"}}"#
        )
    };
    // A query result in two pages, as the REST API returns it.
    let first = tmp.path().join("loginevent-1.json");
    write(
        &first,
        &format!(
            "\u{feff}{{\"totalSize\": 3, \"done\": false, \"nextRecordsUrl\": \"/services/data/v62.0/query/01g-2000\", \"records\": [{}, {}]}}",
            record("2026-11-02T07:15:00.000+0000", &ANNA[..15], "Success"),
            record(
                "2026-11-02T07:16:00.000+0000",
                BEN,
                "Failed: Invalid Password"
            ),
        ),
    );
    let second = tmp.path().join("loginevent-2.json");
    write(
        &second,
        &format!(
            "{{\"totalSize\": 3, \"done\": true, \"records\": [{}]}}",
            record("2026-11-03T23:30:00.000+0000", CARL, "Success")
        ),
    );
    let (first, second) = (first.display().to_string(), second.display().to_string());
    let args = [
        "import",
        "events",
        "--source",
        "salesforce-loginevent",
        &first,
        &second,
    ];
    let out = uptake(&data, &[&args[..], &["--preview"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "user_id,event_time,module,action\n\
             {ANNA},2026-11-02T07:15:00.000Z,platform,login\n\
             {CARL},2026-11-03T23:30:00.000Z,platform,login\n"
        )
    );
    assert!(stderr(&out).contains("failed login: 1"), "{}", stderr(&out));
    let out = uptake(&data, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("imported 2 events"),
        "{}",
        stderr(&out)
    );
    // A record without a user is named by its place in the file.
    let bad = tmp.path().join("bad.json");
    write(
        &bad,
        &format!(
            "[{}]",
            record("2026-11-04T07:15:00.000+0000", "", "Success")
        ),
    );
    let out = uptake(
        &data,
        &[
            "import",
            "events",
            "--source",
            "salesforce-loginevent",
            &bad.display().to_string(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("record 1") && stderr(&out).contains("UserId"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn salesforce_ids_resolve_to_the_hr_directory_through_aliases() {
    let tmp = tempfile::tempdir().expect("tmp");
    organisation(tmp.path());
    // The HR export knows employee numbers; the aliases say which
    // Salesforce user each is (15- or 18-character ids both work).
    write(
        &tmp.path().join("directory.csv"),
        "user_id,region,department,team,wave,license_start,license_end\n\
         E10442,DACH,Sales,Team A,W1,2026-08-01,\n\
         E10443,DACH,Sales,Team A,W1,2026-08-01,\n",
    );
    let identities = tmp.path().join("identities.csv");
    write(
        &identities,
        &format!(
            "user_id,source,alias\nE10442,salesforce,{}\nE10443,salesforce,{BEN}\nE10442,email,Anna.Berg@Example.com\n",
            &ANNA[..15]
        ),
    );
    let elf = tmp.path().join("elf.csv");
    write(
        &elf,
        &format!(
            "{PAGE_VIEW_HEADER}\n{}{}{}",
            page_view("20261102071500.123", &ANNA[..15], "Account", "/x", false),
            page_view("20261102081500.123", &BEN[..15], "Account", "/x", true),
            page_view("20261102091500.123", &CARL[..15], "Account", "/x", false),
        ),
    );
    let (identities, elf) = (identities.display().to_string(), elf.display().to_string());
    for key in [None, Some("a secret of at least sixteen bytes")] {
        let data = tmp.path().join(format!("data-{}", key.is_some()));
        let env_key = key.unwrap_or("");
        let run = |args: &[&str]| {
            let out = crate::support::uptake_command(&data)
                .args(args)
                .env("UPTAKE_PRIVACY_PSEUDONYM_KEY", env_key)
                .output()
                .expect("uptake");
            assert!(out.status.success(), "{args:?}: {}", stderr(&out));
            out
        };
        import_tables_with(tmp.path(), &run);
        run(&["import", "identities", &identities]);
        let preview = run(&[
            "import",
            "events",
            "--source",
            "salesforce-elf",
            "--preview",
            &elf,
        ]);
        let summary = stderr(&preview);
        assert!(
            summary.contains(&format!(
                "ids of nobody in the directory (stored as they are): {CARL}: 1"
            )),
            "{summary}"
        );
        if key.is_none() {
            assert_eq!(
                stdout(&preview),
                format!(
                    "user_id,event_time,module,action\n\
                     E10442,2026-11-02T07:15:00.123Z,accounts,view\n\
                     E10443,2026-11-02T08:15:00.123Z,accounts,view\n\
                     {CARL},2026-11-02T09:15:00.123Z,accounts,view\n"
                )
            );
        } else {
            // Pseudonymised: no id of the file appears, the known users
            // still join the directory.
            let printed = stdout(&preview);
            assert!(
                !printed.contains("E1044") && !printed.contains("0055j"),
                "{printed}"
            );
        }
        run(&["import", "events", "--source", "salesforce-elf", &elf]);
        let stats = stdout(&run(&["stats", "--format", "json"]));
        assert!(stats.contains("\"events\": 3"), "{stats}");
        // Two of the three events are of directory users.
        assert!(stats.contains("\"events_of_unknown_users\": 1"), "{stats}");
    }
    // An alias of someone not in the directory is refused with its line.
    let data = tmp.path().join("data-false");
    let bad = tmp.path().join("bad-identities.csv");
    write(
        &bad,
        "user_id,source,alias\nE10442,salesforce,0055j000001AbCd\nE99999,email,x@example.com\n",
    );
    let out = uptake(&data, &["import", "identities", &bad.display().to_string()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("line 3") && stderr(&out).contains("not in the directory"),
        "{}",
        stderr(&out)
    );
}

fn import_tables_with(dir: &Path, run: &dyn Fn(&[&str]) -> std::process::Output) {
    for (table, file) in [
        ("waves", "waves.csv"),
        ("directory", "directory.csv"),
        ("modules", "modules.csv"),
    ] {
        run(&["import", table, &dir.join(file).display().to_string()]);
    }
}

#[test]
fn dataverse_audit_records_use_the_raw_time_and_resolve_systemusers() {
    let (tmp, data) = organisation_store();
    let anna = "5E4F2A3B-1C2D-4E5F-8A9B-0C1D2E3F4A5B";
    import_identities(
        &data,
        tmp.path(),
        &format!("user_id,source,alias\n{ANNA},dataverse,{anna}\n"),
    );
    // A page as the Web API returns it with formatted values requested:
    // the formatted createdon is the exporter's local time, a day later
    // here; only the raw value counts.
    let record = |created: &str, formatted: &str, action: i64, operation: i64, table: &str| {
        format!(
            r#"{{"@odata.etag": "W/\"1\"", "auditid": "a-{created}", "createdon": "{created}",
               "createdon@OData.Community.Display.V1.FormattedValue": "{formatted}",
               "action": {action}, "action@OData.Community.Display.V1.FormattedValue": "Update",
               "operation": {operation}, "objecttypecode": "{table}",
               "_userid_value": "{anna}",
               "_userid_value@OData.Community.Display.V1.FormattedValue": "Berg, Anna"}}"#
        )
    };
    let page = tmp.path().join("audits-1.json");
    write(
        &page,
        &format!(
            r#"{{"@odata.context": "https://org.crm4.dynamics.com/api/data/v9.2/$metadata#audits",
                "value": [{}, {}, {}, {}],
                "@odata.nextLink": "https://org.crm4.dynamics.com/api/data/v9.2/audits?$skiptoken=2"}}"#,
            record(
                "2026-11-08T23:30:00Z",
                "11/9/2026 12:30 AM",
                2,
                2,
                "opportunity"
            ),
            record(
                "2026-11-09T07:00:00Z",
                "11/9/2026 8:00 AM",
                64,
                4,
                "systemuser"
            ),
            record(
                "2026-11-09T07:05:00Z",
                "11/9/2026 8:05 AM",
                1,
                1,
                "new_invoice"
            ),
            record(
                "2026-11-09T07:06:00Z",
                "11/9/2026 8:06 AM",
                3,
                99,
                "account"
            ),
        ),
    );
    let page = page.display().to_string();
    let out = uptake(
        &data,
        &[
            "import",
            "events",
            "--source",
            "dataverse-audit",
            "--preview",
            &page,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "user_id,event_time,module,action\n\
             {ANNA},2026-11-08T23:30:00.000Z,opportunities,update\n\
             {ANNA},2026-11-09T07:00:00.000Z,platform,login\n\
             {ANNA},2026-11-09T07:05:00.000Z,other,create\n"
        )
    );
    let summary = stderr(&out);
    assert!(summary.contains("operation 99 not mapped: 1"), "{summary}");
    assert!(
        summary.contains("objecttypecode new_invoice: 1"),
        "{summary}"
    );
}

#[test]
fn office_365_records_count_once_per_id_whatever_the_case_of_the_upn() {
    let (tmp, data) = organisation_store();
    import_identities(
        &data,
        tmp.path(),
        &format!("user_id,source,alias\n{ANNA},upn,anna.berg@example.com\n"),
    );
    let record = |id: &str, time: &str, upn: &str, workload: &str, message: &str, entity: &str| {
        format!(
            r#"{{"CreationTime": "{time}", "Id": "{id}", "Operation": "{message}",
               "OrganizationId": "d2f3a4b5-0000-4000-8000-000000000000", "RecordType": 21,
               "UserKey": "10037FFE8A1B2C3D", "UserType": 0, "Version": 1, "Workload": "{workload}",
               "ClientIP": "10.0.0.1", "ObjectId": "https://org.crm4.dynamics.com/main.aspx",
               "UserId": "{upn}", "CrmOrganizationUniqueName": "org", "InstanceUrl": "https://org.crm4.dynamics.com",
               "ItemType": "{entity}", "ItemUrl": "https://org.crm4.dynamics.com/main.aspx?etn={entity}",
               "EntityName": "{entity}", "EntityId": "0f1e2d3c-0000-4000-8000-000000000000",
               "Message": "{message}", "UserAgent": "Mozilla/5.0, like Gecko", "Fields": "[]"}}"#
        )
    };
    // Two blobs that overlap, out of order, the UPN in two cases.
    let first = tmp.path().join("blob-1.json");
    write(
        &first,
        &format!(
            "[{}, {}, {}]",
            record(
                "6C8E8D4A-1111-4000-8000-000000000001",
                "2026-11-02T09:00:00",
                "Anna.Berg@Example.com",
                "CRM",
                "Retrieve",
                "account"
            ),
            record(
                "6C8E8D4A-1111-4000-8000-000000000000",
                "2026-11-02T08:00:00",
                "anna.berg@example.com",
                "CRM",
                "Update",
                "opportunity"
            ),
            record(
                "6C8E8D4A-1111-4000-8000-000000000009",
                "2026-11-02T08:30:00",
                "anna.berg@example.com",
                "Exchange",
                "MailItemsAccessed",
                ""
            ),
        ),
    );
    let second = tmp.path().join("blob-2.json");
    write(
        &second,
        &format!(
            "[{}, {}]",
            record(
                "6c8e8d4a-1111-4000-8000-000000000001",
                "2026-11-02T09:00:00",
                "ANNA.BERG@EXAMPLE.COM",
                "CRM",
                "Retrieve",
                "account"
            ),
            record(
                "6C8E8D4A-1111-4000-8000-000000000002",
                "2026-11-02T09:00:00",
                "anna.berg@example.com",
                "CRM",
                "Retrieve",
                "account"
            ),
        ),
    );
    let (first, second) = (first.display().to_string(), second.display().to_string());
    let out = uptake(
        &data,
        &[
            "import",
            "events",
            "--source",
            "o365-management",
            "--preview",
            &first,
            &second,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut rows: Vec<String> = stdout(&out).lines().skip(1).map(str::to_string).collect();
    rows.sort();
    // Two records of the same second and kind with different ids are two
    // events; the repeated id is one.
    assert_eq!(
        rows,
        [
            format!("{ANNA},2026-11-02T08:00:00.000Z,opportunities,update"),
            format!("{ANNA},2026-11-02T09:00:00.000Z,accounts,view"),
            format!("{ANNA},2026-11-02T09:00:00.000Z,accounts,view"),
        ]
    );
    let summary = stderr(&out);
    assert!(
        summary.contains("1 event already stored or repeated, stored once"),
        "{summary}"
    );
    assert!(
        summary.contains("workload Exchange is not Dynamics 365: 1"),
        "{summary}"
    );

    // The same blobs imported one by one, as a daily fetch would: the
    // record of the first that the second repeats is stored once.
    let import = |file: &str| {
        let out = uptake(
            &data,
            &["import", "events", "--source", "o365-management", file],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    assert!(import(&first).contains("imported 2 events"));
    let summary = import(&second);
    assert!(summary.contains("imported 1 event"), "{summary}");
    assert!(
        summary.contains("1 event already stored or repeated"),
        "{summary}"
    );
    let out = uptake(&data, &["stats", "--format", "json"]);
    let stats: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(stats["events"], 3, "{stats}");
}

const ACTIVE_USERS_HEADER: &str = "Report Refresh Date,User Principal Name,Display Name,Is Deleted,Deleted Date,Has Exchange License,Has OneDrive License,Has SharePoint License,Has Skype For Business License,Has Yammer License,Has Teams License,Exchange Last Activity Date,OneDrive Last Activity Date,SharePoint Last Activity Date,Skype For Business Last Activity Date,Yammer Last Activity Date,Teams Last Activity Date,Exchange License Assign Date,OneDrive License Assign Date,SharePoint License Assign Date,Skype For Business License Assign Date,Yammer License Assign Date,Teams License Assign Date,Assigned Products";

/// A row of getOffice365ActiveUserDetail: last activity dates of
/// Exchange, SharePoint and Teams.
fn active_user(upn: &str, name: &str, exchange: &str, sharepoint: &str, teams: &str) -> String {
    format!(
        "2026-11-08,{upn},{name},False,,True,True,True,False,False,True,{exchange},,{sharepoint},,,{teams},2026-08-01,2026-08-01,2026-08-01,,,2026-08-01,\"OFFICE 365 E3, MICROSOFT TEAMS\"\r\n"
    )
}

#[test]
fn microsoft_365_active_days_are_one_event_per_product_and_date() {
    let (tmp, data) = organisation_store();
    import_identities(
        &data,
        tmp.path(),
        &format!(
            "user_id,source,alias\n{ANNA},upn,anna.berg@example.com\n{BEN},upn,ben.ohm@example.com\n"
        ),
    );
    // period=D7: a byte order mark, CRLF, names with commas and tripled
    // quotes, a concealed user name.
    let week = tmp.path().join("ActiveUserDetail-D7.csv");
    write(
        &week,
        &format!(
            "\u{feff}{ACTIVE_USERS_HEADER}\r\n{}{}{}",
            active_user(
                "Anna.Berg@Example.com",
                "\"Berg, Anna\"",
                "2026-11-06",
                "",
                "2026-11-02"
            ),
            active_user(
                "ben.ohm@example.com",
                "\"Ohm, Ben \"\"Benny\"\"\"",
                "",
                "2026-11-04",
                ""
            ),
            active_user(
                "5F2A9C0D1E3B4A6F8C7D9E0A1B2C3D4E",
                "5F2A9C0D1E3B4A6F8C7D9E0A1B2C3D4E",
                "2026-11-05",
                "",
                ""
            ),
        ),
    );
    // date=2026-11-02, gzipped: Anna's Teams day again, and her mail.
    let day = tmp.path().join("ActiveUserDetail-2026-11-02.csv.gz");
    let mut gz =
        flate2::write::GzEncoder::new(std::fs::File::create(&day).expect("gz"), Default::default());
    gz.write_all(
        format!(
            "{ACTIVE_USERS_HEADER}\r\n{}",
            active_user(
                "anna.berg@example.com",
                "\"Berg, Anna\"",
                "2026-11-02",
                "",
                "2026-11-02"
            )
        )
        .as_bytes(),
    )
    .expect("gz");
    gz.finish().expect("gz");
    let (week, day) = (week.display().to_string(), day.display().to_string());
    let import = |file: &str, preview: bool| {
        let mut args = vec!["import", "events", "--source", "m365-active-users", file];
        if preview {
            args.push("--preview");
        }
        let out = uptake(&data, &args);
        assert!(out.status.success(), "{}", stderr(&out));
        (stdout(&out), stderr(&out))
    };
    let (rows, summary) = import(&week, true);
    assert_eq!(
        rows,
        format!(
            "user_id,event_time,module,action\n\
             {ANNA},2026-11-06T12:00:00.000Z,exchange,active_day\n\
             {ANNA},2026-11-02T12:00:00.000Z,teams,active_day\n\
             {BEN},2026-11-04T12:00:00.000Z,sharepoint,active_day\n"
        )
    );
    assert!(summary.contains("read 3 rows"), "{summary}");
    assert!(summary.contains("concealed user name"), "{summary}");
    import(&week, false);
    let (_, summary) = import(&day, false);
    assert!(summary.contains("imported 1 event"), "{summary}");
    assert!(
        summary.contains("1 event already stored or repeated"),
        "{summary}"
    );

    // The same figures as the same days in uptake's own format.
    let native = tmp.path().join("native");
    import_tables(&native, tmp.path());
    let native_file = tmp.path().join("m365-native.csv");
    write(
        &native_file,
        &format!(
            "event_time,user_id,module,action\n\
             2026-11-06T12:00:00Z,{ANNA},exchange,active_day\n\
             2026-11-02T12:00:00Z,{ANNA},teams,active_day\n\
             2026-11-04T12:00:00Z,{BEN},sharepoint,active_day\n\
             2026-11-02T12:00:00Z,{ANNA},exchange,active_day\n"
        ),
    );
    let out = uptake(
        &native,
        &["import", "events", &native_file.display().to_string()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Groups of one shown, so that the figures compared are not hidden.
    let config = tmp.path().join("groups-of-one.toml");
    write(&config, "[privacy]\nmin_group_size = 1\n");
    let config = config.display().to_string();
    for figures in [
        &[
            "kpi", "--by", "team", "--from", "2026-W44", "--to", "2026-W45",
        ][..],
        &["modules", "--week", "2026-W45"],
    ] {
        let figures = [&["--config", &config][..], figures, &["--format", "csv"]].concat();
        let out = uptake(&data, &figures);
        assert!(out.status.success(), "{}", stderr(&out));
        let stored = stdout(&out);
        assert_eq!(stored, stdout(&uptake(&native, &figures)));
        if figures[2] == "modules" {
            assert!(
                stored.contains("2026-W45,teams,Teams,0.00,3,1,"),
                "{stored}"
            );
        }
    }

    // A date the report would never write is refused with its place.
    let bad = tmp.path().join("bad.csv");
    write(
        &bad,
        &format!(
            "{ACTIVE_USERS_HEADER}\r\n{}",
            active_user("anna.berg@example.com", "Anna", "11/02/2026", "", "")
        ),
    );
    let out = uptake(
        &data,
        &[
            "import",
            "events",
            "--source",
            "m365-active-users",
            &bad.display().to_string(),
        ],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(
            "bad.csv: line 2: column Exchange Last Activity Date: '11/02/2026' is not a date"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hubspot_logins_and_audit_records_resolve_numeric_user_ids() {
    let (tmp, data) = organisation_store();
    import_identities(
        &data,
        tmp.path(),
        &format!("user_id,source,alias\n{ANNA},hubspot,876\n{BEN},hubspot,0089274502\n"),
    );
    let logins = tmp.path().join("login-1.json");
    write(
        &logins,
        r#"{"results": [
             {"countryCode": "de", "email": "anna.berg@example.com", "id": "5432653",
              "ipAddress": "45.56.67.89", "loginAt": "2026-11-02T07:36:24.303Z",
              "loginSucceeded": true, "regionCode": "he", "userAgent": "Mozilla/5.0 (X11, Linux)", "userId": 876},
             {"countryCode": "de", "email": "anna.berg@example.com", "id": "5432654",
              "ipAddress": "45.56.67.89", "loginAt": "2026-11-02T07:35:00.000Z",
              "loginSucceeded": false, "regionCode": "he", "userAgent": "Mozilla/5.0", "userId": 876}],
           "paging": {"next": {"after": "NTQzMjY1NA==", "link": "https://api.hubapi.com/account-info/v3/activity/login?after=NTQzMjY1NA=="}}}"#,
    );
    let audit = tmp.path().join("audit-1.json");
    write(
        &audit,
        r#"{"results": [
             {"id": "jAzNiQgaEZUTlJISRtESldLGFNM", "category": "CRM_OBJECT", "subCategory": "DEAL",
              "action": "UPDATE", "targetObjectId": "1234", "occurredAt": "2026-11-03T20:58:49.529Z",
              "actingUser": {"userId": "089274502", "userEmail": "ben@example.com"}},
             {"id": "FQVHSQEHchIJDy0EB14CAhcEFC9P", "category": "REPORT", "subCategory": "",
              "action": "VIEW", "targetObjectId": "Weekly pipeline", "occurredAt": "2026-11-03T21:00:00Z",
              "actingUser": {"userId": 876, "userEmail": "anna.berg@example.com"}},
             {"id": "QQQ", "category": "SECURITY", "subCategory": "USER",
              "action": "LOGIN_AS", "targetObjectId": "x", "occurredAt": "2026-11-03T21:00:00Z",
              "actingUser": {"userId": 876, "userEmail": "anna.berg@example.com"}}],
           "paging": {}}"#,
    );
    let (rows, summary) = preview(&data, "hubspot-login", &logins);
    assert_eq!(
        rows,
        format!(
            "user_id,event_time,module,action\n{ANNA},2026-11-02T07:36:24.303Z,platform,login\n"
        )
    );
    assert!(summary.contains("failed login: 1"), "{summary}");
    let (rows, summary) = preview(&data, "hubspot-audit", &audit);
    assert_eq!(
        rows,
        format!(
            "user_id,event_time,module,action\n\
             {BEN},2026-11-03T20:58:49.529Z,opportunities,update\n\
             {ANNA},2026-11-03T21:00:00.000Z,analytics,view\n"
        )
    );
    assert!(
        summary.contains("action LOGIN_AS not mapped: 1"),
        "{summary}"
    );
}

#[test]
fn alias_columns_of_the_directory_join_every_source_to_its_users() {
    let tmp = tempfile::tempdir().expect("tmp");
    organisation(tmp.path());
    // The HR directory keys people by employee number and carries their
    // Salesforce ids (15 or 18 characters) and e-mail addresses.
    let directory = |rows: &str| {
        format!(
            "user_id,region,department,team,wave,license_start,license_end,salesforce_id,email\n{rows}"
        )
    };
    write(
        &tmp.path().join("directory.csv"),
        &directory(&format!(
            "E1,DACH,Sales,Team A,W1,2026-08-01,,{},Anna.Berg@Example.com\n\
             E2,DACH,Sales,Team A,W1,2026-08-01,,{BEN},\n\
             E3,DACH,Service,Team B,W1,2026-08-01,, ,carl@example.com\n",
            &ANNA[..15]
        )),
    );
    let data = tmp.path().join("data");
    import_tables(&data, tmp.path());
    let paths = elf_files(tmp.path());
    let out = uptake(
        &data,
        &[
            "import",
            "events",
            "--source",
            "salesforce-elf",
            "--preview",
            &paths[0],
        ],
    );
    assert_eq!(
        stdout(&out),
        "user_id,event_time,module,action\n\
         E1,2026-11-02T07:15:00.123Z,opportunities,view\n\
         E2,2026-11-02T08:15:00.500Z,accounts,view\n",
        "{}",
        stderr(&out)
    );
    let active = tmp.path().join("active.csv");
    write(
        &active,
        &format!(
            "{ACTIVE_USERS_HEADER}\r\n{}{}",
            active_user("anna.berg@example.com", "Anna", "2026-11-03", "", ""),
            active_user("Carl@Example.com", "Carl", "2026-11-04", "", "")
        ),
    );
    let (rows, summary) = preview(&data, "m365-active-users", &active);
    assert_eq!(
        rows,
        "user_id,event_time,module,action\n\
         E1,2026-11-03T12:00:00.000Z,exchange,active_day\n\
         E3,2026-11-04T12:00:00.000Z,exchange,active_day\n",
        "{summary}"
    );

    // An alias that is no id of its system, or one given to two people,
    // is refused with its line, and the stored directory stays.
    for (rows, expected) in [
        (
            "E1,DACH,Sales,Team A,W1,2026-08-01,,0055j000001,\n",
            "line 2: column salesforce_id: '0055j000001' is not a 15- or 18-character Salesforce id",
        ),
        (
            "E1,DACH,Sales,Team A,W1,2026-08-01,,,anna@example.com\n\
             E2,DACH,Sales,Team A,W1,2026-08-01,,,Anna@example.com\n",
            "line 3: column email: 'anna@example.com' is already the email id of user 'E1'",
        ),
    ] {
        let bad = tmp.path().join("bad-directory.csv");
        write(&bad, &directory(rows));
        let out = uptake(&data, &["import", "directory", &bad.display().to_string()]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
    let out = uptake(
        &data,
        &[
            "import",
            "events",
            "--source",
            "m365-active-users",
            "--preview",
            &active.display().to_string(),
        ],
    );
    assert!(stdout(&out).contains("E3,"), "{}", stdout(&out));
}

#[test]
fn directories_come_from_salesforce_and_entra_exports_through_the_example_mappings() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(
        &tmp.path().join("waves.csv"),
        "wave_id,name,go_live\nW1,DACH,2026-09-07\nW2,Nordics,2026-10-05\nW3,Iberia,2026-11-02\n",
    );
    let data = tmp.path().join("data");
    let waves = tmp.path().join("waves.csv").display().to_string();
    assert!(uptake(&data, &["import", "waves", &waves]).status.success());
    let example = |name: &str| {
        crate::support::repo()
            .join("connectors/directory")
            .join(name)
            .display()
            .to_string()
    };
    // A Salesforce User export: every value quoted, 15-character ids, an
    // inactive user, a comma inside a role.
    let users = tmp.path().join("users.csv");
    write(
        &users,
        &format!(
            "\"Id\",\"Username\",\"Email\",\"Department\",\"Division\",\"UserRole\",\"IsActive\",\"CreatedDate\"\r\n\
             \"{}\",\"anna@example.com\",\"anna@example.com\",\"Sales\",\"Central Europe\",\"Sales, North\",\"true\",\"2026-08-01T09:00:00.000+0000\"\r\n\
             \"{}\",\"ben@example.com\",\"ben@example.com\",\"Service\",\"Northern Europe\",\"Service\",\"true\",\"2026-08-02T09:00:00.000+0000\"\r\n\
             \"{}\",\"carl@example.com\",\"carl@example.com\",\"Sales\",\"Central Europe\",\"Sales, North\",\"false\",\"2020-01-01T09:00:00.000+0000\"\r\n",
            &ANNA[..15],
            &BEN[..15],
            &CARL[..15]
        ),
    );
    let users = users.display().to_string();
    let mapping = example("salesforce-user.toml");
    let out = uptake(
        &data,
        &[
            "import",
            "directory",
            &users,
            "--mapping",
            &mapping,
            "--preview",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "user_id,region,department,team,wave,license_start,license_end\n\
             {ANNA},DACH,Sales,\"Sales, North\",W1,2026-08-01,\n\
             {BEN},Nordics,Service,Service,W2,2026-08-02,\n"
        )
    );
    let out = uptake(
        &data,
        &["import", "directory", &users, "--mapping", &mapping],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("imported 2 licensees"),
        "{}",
        stderr(&out)
    );
    // The export's Email is an alias column: Microsoft 365's user names
    // find the Salesforce users.
    let active = tmp.path().join("active.csv");
    write(
        &active,
        &format!(
            "{ACTIVE_USERS_HEADER}\r\n{}",
            active_user("Anna@Example.com", "Anna", "", "", "2026-11-02")
        ),
    );
    let (rows, summary) = preview(&data, "m365-active-users", &active);
    assert_eq!(
        rows,
        format!(
            "user_id,event_time,module,action\n{ANNA},2026-11-02T12:00:00.000Z,teams,active_day\n"
        ),
        "{summary}"
    );

    // An Entra ID export: a byte order mark, an unknown country on line 3.
    let entra = tmp.path().join("exportUsers.csv");
    write(
        &entra,
        "\u{feff}userPrincipalName,displayName,objectId,jobTitle,department,accountEnabled,country,officeLocation,createdDateTime\n\
         Anna.Berg@Example.com,\"Berg, Anna\",5e4f2a3b-0000-4000-8000-000000000001,Rep,Sales,True,Germany,Frankfurt,2026-08-01T09:00:00Z\n\
         eve@example.com,Eve,5e4f2a3b-0000-4000-8000-000000000002,Rep,Sales,True,France,Paris,2026-08-01T09:00:00Z\n",
    );
    let entra = entra.display().to_string();
    let out = uptake(
        &data,
        &[
            "import",
            "directory",
            &entra,
            "--mapping",
            &example("entra-users.toml"),
        ],
    );
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("line 3") && e.contains("region") && e.contains("'France'"),
        "{e}"
    );
    // Plain renames: the export's columns under other names.
    let renamed = tmp.path().join("hr.csv");
    write(
        &renamed,
        "Personnel No,Area,Dept,Group,Rollout,From\nE10442,DACH,Sales,Team A,W1,2026-08-01\n",
    );
    let out = uptake(
        &data,
        &[
            "import",
            "directory",
            &renamed.display().to_string(),
            "--map",
            "user_id=Personnel No,region=Area,department=Dept,team=Group,wave=Rollout,license_start=From",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}
