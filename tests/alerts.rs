//! Alerts: a team below target two weeks in a row fires once per episode
//! and resolves, over restarts and crashes; each recipient hears only of
//! their scope; Teams and Slack receivers on loopback accept the messages
//! of alerts and reports; signed PDF links work until they expire.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::support::mail::{ChatReceiver, MailServer};
use crate::support::serve::Server;
use crate::support::{stderr, stdout, uptake_command, wait_for};

/// Two teams of ten in regions North and South; Team A's share of active
/// users per week from 2026-W45 is in `a_active`, Team B's is always all.
/// "Regular" is "active in the week" (a window of one week), so the
/// active licensee rate of a week is the share active in it.
struct Rollout {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    data: PathBuf,
}

const WEEK_MONDAYS: [&str; 4] = ["2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"];
const A_ACTIVE: [usize; 4] = [9, 5, 5, 9];

impl Rollout {
    fn new() -> Rollout {
        Rollout::with_team_b_in("W0")
    }

    /// The rollout with Team B in wave `b_wave` (W0, the pilot, live from
    /// 2026-11-02, or W1, live from 2026-11-09).
    fn with_team_b_in(b_wave: &str) -> Rollout {
        let tmp = tempfile::tempdir().expect("tmp");
        let root = tmp.path().to_path_buf();
        let input = root.join("input");
        std::fs::create_dir_all(&input).expect("dir");
        std::fs::write(
            input.join("waves.csv"),
            "wave_id,name,go_live\nW0,Pilot,2026-11-02\nW1,Wave 1,2026-11-09\n",
        )
        .expect("waves");
        let mut directory =
            String::from("user_id,region,department,team,wave,license_start,license_end\n");
        for i in 1..=20 {
            let (region, team, wave) = if i <= 10 {
                ("North", "Team A", "W0")
            } else {
                ("South", "Team B", b_wave)
            };
            directory.push_str(&format!(
                "u{i:02},{region},Sales,{team},{wave},2026-01-01,\n"
            ));
        }
        std::fs::write(input.join("directory.csv"), directory).expect("directory");
        std::fs::write(
            input.join("modules.csv"),
            "module_id,name,licensed_from,licensed_until,monthly_cost_per_user\naccounts,Accounts,2026-01-01,,10.00\n",
        )
        .expect("modules");
        let data = root.join("data");
        let rollout = Rollout {
            _tmp: tmp,
            root,
            data,
        };
        for table in ["waves", "directory", "modules"] {
            let file = input.join(format!("{table}.csv"));
            let out = rollout.uptake(&["import", table, &file.display().to_string()]);
            assert!(out.status.success(), "{}", stderr(&out));
        }
        rollout
    }

    fn command(&self) -> std::process::Command {
        let mut c = uptake_command(&self.data);
        c.env("UPTAKE_REGULAR_WINDOW_WEEKS", "1")
            .env("UPTAKE_REGULAR_MIN_ACTIVE_WEEKS", "1")
            .env("UPTAKE_TIMEZONE", "UTC");
        c
    }

    fn uptake(&self, args: &[&str]) -> std::process::Output {
        self.command().args(args).output().expect("uptake")
    }

    /// The events of week `i` (0-based from 2026-W45) as a CSV file.
    fn week_events(&self, i: usize) -> PathBuf {
        let monday: chrono::NaiveDate = WEEK_MONDAYS[i].parse().expect("date");
        let day = monday + chrono::Duration::days(1);
        let mut csv = String::from("event_time,user_id,module,action\n");
        for u in 1..=A_ACTIVE[i] {
            csv.push_str(&format!("{day}T12:00:00Z,u{u:02},accounts,view\n"));
        }
        for u in 11..=20 {
            csv.push_str(&format!("{day}T12:00:00Z,u{u:02},accounts,view\n"));
        }
        let file = self.root.join(format!("events-{i}.csv"));
        std::fs::write(&file, csv).expect("events");
        file
    }

    /// The events of week `i` as NDJSON, for the ingestion API.
    fn week_ndjson(&self, i: usize) -> String {
        let csv = std::fs::read_to_string(self.week_events(i)).expect("events");
        csv.lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                serde_json::json!({"event_time": f[0], "user_id": f[1], "module": f[2], "action": f[3]})
                    .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn import_week(&self, i: usize, alerts: Option<&Path>) -> String {
        let file = self.week_events(i).display().to_string();
        let mut c = self.command();
        if let Some(dir) = alerts {
            c.arg("--alerts").arg(dir);
        }
        let out = c
            .args(["import", "events", &file])
            .output()
            .expect("import");
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    }

    /// `uptake alerts check` as if it were the Monday after week `i`.
    fn check(&self, alerts: &Path, i: usize) -> (bool, String) {
        let monday: chrono::NaiveDate = WEEK_MONDAYS[i].parse().expect("date");
        let now = format!("{}T08:00:00Z", monday + chrono::Duration::days(7));
        let out = self
            .command()
            .arg("--alerts")
            .arg(alerts)
            .args(["alerts", "check", "--now", &now])
            .output()
            .expect("check");
        (out.status.success(), stderr(&out))
    }

    fn log(&self) -> Vec<Value> {
        std::fs::read_to_string(self.data.join("alerts/log.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("log line"))
            .collect()
    }

    fn notices_of(&self, alert: &str) -> Vec<Value> {
        self.notices()
            .into_iter()
            .filter(|n| n["alert"] == alert)
            .collect()
    }

    fn notices(&self) -> Vec<Value> {
        self.log()
            .into_iter()
            .filter(|e| e["entry"] == "notice")
            .collect()
    }
}

fn alerts_dir(root: &Path, files: &[(&str, String)]) -> PathBuf {
    let dir = root.join(format!("alerts-{}", files.len()));
    std::fs::create_dir_all(&dir).expect("dir");
    for (name, text) in files {
        std::fs::write(dir.join(format!("{name}.toml")), text).expect("alert");
    }
    dir
}

fn below_two_weeks(deliver: &str) -> String {
    format!(
        "title = \"Teams below the target two weeks in a row\"\nlanguage = \"en\"\n\
         by = \"region,team\"\ncondition = \"below_target\"\nweeks = 2\n{deliver}"
    )
}

fn json_files(dir: &Path) -> Vec<Value> {
    let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    names
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json"))
        .collect()
}

#[test]
fn a_team_below_target_two_weeks_fires_once_and_resolves() {
    let r = Rollout::new();
    let out = r.root.join("notices");
    let drop =
        "title = \"Drop\"\nlanguage = \"de\"\nby = \"team\"\ncondition = \"drop\"\npoints = 30\n"
            .to_string();
    let alerts = alerts_dir(
        &r.root,
        &[
            (
                "below",
                below_two_weeks(&format!("[[deliver]]\nfolder = \"{}\"\n", out.display())),
            ),
            ("drop", drop),
        ],
    );
    // Each import checks the alerts of --alerts.
    r.import_week(0, Some(&alerts));
    let said = r.import_week(1, Some(&alerts));
    assert!(said.contains("checked 2 alerts"), "{said}");
    // One week below (W46) is not two: nothing fired for "below"; the
    // drop of 40 points (90% to 50%) fired, in German.
    let notices = r.notices();
    assert!(notices.iter().all(|n| n["alert"] != "below"), "{notices:?}");
    let dropped: Vec<&Value> = notices.iter().filter(|n| n["alert"] == "drop").collect();
    assert_eq!(dropped.len(), 1, "{notices:?}");
    assert_eq!(dropped[0]["segment"], serde_json::json!(["Team A"]));
    let message = dropped[0]["message"].as_str().expect("message");
    assert!(message.contains("von 90,0 % auf 50,0 %"), "{message}");

    r.import_week(2, None);
    let (ok, said) = r.check(&alerts, 2);
    assert!(ok, "{said}");
    let fired = r.notices_of("below");
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0]["state"], "fired");
    assert_eq!(fired[0]["episode"], 1);
    assert_eq!(fired[0]["segment"], serde_json::json!(["North", "Team A"]));
    assert_eq!(fired[0]["week"], "2026-W47");
    let message = fired[0]["message"].as_str().expect("message");
    assert!(
        message.contains("50.0%")
            && message.contains("for 2 weeks")
            && message.contains("3 more regular users"),
        "{message}"
    );
    // The drop ended (50% after 50%): resolved, in its episode.
    let drop_states: Vec<&str> = r
        .notices()
        .iter()
        .filter(|n| n["alert"] == "drop")
        .map(|n| n["state"].as_str().unwrap_or_default().to_string())
        .map(|s| if s == "fired" { "fired" } else { "resolved" })
        .collect();
    assert_eq!(drop_states, ["fired", "resolved"]);
    let files = json_files(&out);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        files[0]["notices"][0]["segment"],
        serde_json::json!(["North", "Team A"])
    );

    // Checked again (and again after a restart of nothing): no second
    // notice of the same episode.
    for _ in 0..2 {
        let (ok, said) = r.check(&alerts, 2);
        assert!(ok, "{said}");
    }
    assert_eq!(
        r.notices().iter().filter(|n| n["alert"] == "below").count(),
        1
    );
    assert_eq!(json_files(&out).len(), 1);

    // Back above the target: resolved, with the figure.
    r.import_week(3, None);
    let (ok, said) = r.check(&alerts, 3);
    assert!(ok, "{said}");
    let below = r.notices_of("below");
    assert_eq!(below.len(), 2, "{below:?}");
    assert_eq!(below[1]["state"], "resolved");
    assert_eq!(below[1]["episode"], 1);
    assert!(
        below[1]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("90.0%, above the target")
    );
    assert_eq!(json_files(&out).len(), 2);

    // The CLI lists the alerts and the log.
    let out = r
        .command()
        .arg("--alerts")
        .arg(&alerts)
        .args(["alerts", "list", "--format", "csv"])
        .output()
        .expect("list");
    let text = stdout(&out);
    assert!(
        text.starts_with("alert,title,condition,by,schedule,deliver"),
        "{text}"
    );
    assert!(text.contains("below,") && text.contains("drop,"), "{text}");
    let out = r.uptake(&["alerts", "status", "--format", "csv"]);
    assert_eq!(stdout(&out).lines().count(), 1 + 4, "{}", stdout(&out));
    let out = r.uptake(&["alerts", "status", "--active", "--format", "csv"]);
    assert_eq!(
        stdout(&out).lines().count(),
        1,
        "nothing is on: {}",
        stdout(&out)
    );
}

#[test]
fn a_notice_claimed_before_a_crash_is_delivered_once_after_it() {
    let r = Rollout::new();
    for i in 0..3 {
        r.import_week(i, None);
    }
    let out = r.root.join("notices");
    let alerts = alerts_dir(
        &r.root,
        &[(
            "below",
            below_two_weeks(&format!("[[deliver]]\nfolder = \"{}\"\n", out.display())),
        )],
    );
    // What a crash right after the claim leaves: the notice and its
    // dispatch, and half a line of the attempt being recorded.
    let target = format!("folder:{}", out.display());
    let log = r.data.join("alerts/log.jsonl");
    std::fs::create_dir_all(log.parent().expect("dir")).expect("dir");
    let notice = "below/North/Team A#1:fired";
    std::fs::write(
        &log,
        format!(
            "{}\n{}\n{{\"entry\":\"attempt\",\"run\":\"below#1\",\"tar",
            serde_json::json!({"entry": "notice", "notice": notice, "alert": "below",
                "audience": "everything", "dims": ["region", "team"], "segment": ["North", "Team A"],
                "episode": 1, "state": "fired", "week": "2026-W47", "at": "2026-11-23T08:00:00+00:00",
                "message": "below"}),
            serde_json::json!({"entry": "dispatch", "dispatch": "below#1", "alert": "below",
                "audience": "everything", "week": "2026-W47", "at": "2026-11-23T08:00:00+00:00",
                "notices": [notice], "targets": [target]}),
        ),
    )
    .expect("log");
    let (ok, said) = r.check(&alerts, 2);
    assert!(ok, "{said}");
    // The episode was claimed: not fired again; its dispatch delivered once.
    assert_eq!(r.notices().len(), 1, "{:?}", r.notices());
    assert_eq!(json_files(&out).len(), 1);
    let attempts: Vec<Value> = r
        .log()
        .into_iter()
        .filter(|e| e["entry"] == "attempt")
        .collect();
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0]["ok"], true);
    // A damaged line in the middle is named, not skipped.
    let mut text = std::fs::read_to_string(&log).expect("log");
    text.insert_str(0, "{not json\n");
    std::fs::write(&log, text).expect("log");
    let (ok, said) = r.check(&alerts, 2);
    assert!(!ok);
    assert!(said.contains("log.jsonl line 1"), "{said}");
}

#[test]
fn each_recipient_hears_only_of_their_scope() {
    let r = Rollout::new();
    for i in 0..3 {
        r.import_week(i, None);
    }
    let mail = MailServer::start(&r.root);
    for (name, region, email) in [
        ("north", Some("North"), "north@example.com"),
        ("south", Some("South"), "south@example.com"),
        ("boss", None, "boss@example.com"),
    ] {
        let role = if region.is_some() {
            "viewer"
        } else {
            "analyst"
        };
        let mut args = vec![
            "user",
            "add",
            name,
            "--role",
            role,
            "--email",
            email,
            "--no-password",
        ];
        if let Some(region) = region {
            args.extend(["--region", region]);
        }
        let out = r.uptake(&args);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let alerts = alerts_dir(
        &r.root,
        &[(
            "below",
            below_two_weeks(
                "[[deliver]]\nemail = [\"north@example.com\", \"south@example.com\", \"boss@example.com\", \"stranger@example.com\"]\n",
            ),
        )],
    );
    let smtp = mail.port.to_string();
    let out = r
        .command()
        .arg("--alerts")
        .arg(&alerts)
        .args(["alerts", "check", "--now", "2026-11-23T08:00:00Z"])
        .env("UPTAKE_SMTP_HOST", "127.0.0.1")
        .env("UPTAKE_SMTP_PORT", &smtp)
        .env("UPTAKE_SMTP_SECURITY", "none")
        .env("UPTAKE_SMTP_FROM", "uptake <uptake@example.com>")
        .output()
        .expect("check");
    // The stranger is no user: named, and sent nothing.
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("stranger@example.com is not the e-mail address of an uptake user"),
        "{}",
        stderr(&out)
    );
    // Team A (North) fired for the whole organisation and for North's
    // scope; South's scope has no team below.
    let notices = r.notices();
    let audiences: Vec<&str> = notices
        .iter()
        .filter_map(|n| n["audience"].as_str())
        .collect();
    assert_eq!(audiences.len(), 2, "{notices:?}");
    assert!(
        audiences.contains(&"everything") && audiences.contains(&"region North"),
        "{audiences:?}"
    );
    let messages = mail.messages();
    let to = |m: &String| {
        m.lines()
            .find_map(|l| l.strip_prefix("To: "))
            .unwrap_or_default()
            .to_string()
    };
    let mut recipients: Vec<String> = messages.iter().map(to).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        ["boss@example.com", "north@example.com"],
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .all(|m| m.contains("Team A") && !m.contains("Team B"))
    );
}

/// `uptake serve` on the rollout's data, with alerts and reports.
fn serve(
    r: &Rollout,
    alerts: &Path,
    reports: &Path,
    public_port: u16,
    extra: &[(&str, &str)],
) -> Server {
    let mut c = r.command();
    c.arg("--alerts").arg(alerts).env("UPTAKE_REPORTS", reports);
    let public = format!("http://127.0.0.1:{public_port}");
    let mut env = vec![
        ("UPTAKE_NOW", "2026-11-25T12:00:00Z"),
        ("UPTAKE_SERVER_PUBLIC_URL", public.as_str()),
        ("UPTAKE_INGEST_FLUSH_MILLISECONDS", "200"),
        ("UPTAKE_DELIVERY_RETRY_SECONDS", "1"),
    ];
    env.extend_from_slice(extra);
    Server::start_command(c, public_port, &env)
}

#[test]
fn teams_and_slack_receive_alerts_once_over_kill_9() {
    let r = Rollout::new();
    for i in 0..2 {
        r.import_week(i, None);
    }
    let chat = ChatReceiver::start(&r.root);
    let alerts = alerts_dir(
        &r.root,
        &[(
            "below",
            below_two_weeks(&format!(
                "[[deliver]]\nteams = \"{}\"\n[[deliver]]\nslack = \"{}\"\n",
                chat.url("/teams/hook"),
                chat.url("/slack/hook")
            )),
        )],
    );
    let reports = alerts_dir(
        &r.root.join("reports-watch"),
        &[(
            "watch",
            "title = \"Watch\"\nlanguage = \"en\"\nsections = [\"alerts\"]\n".to_string(),
        )],
    );
    let port = crate::support::free_port();
    let server = serve(&r, &alerts, &reports, port, &[]);
    // Week 47 arrives over the ingestion API: the commit is checked.
    let token = crate::support::token_with(&r.data, "ingest");
    let events = r.week_ndjson(2);
    let reply = crate::support::http::request(
        port,
        "POST",
        "/api/v1/events",
        &[("authorization", &format!("Bearer {token}"))],
        events.as_bytes(),
    )
    .expect("post");
    assert!(reply.status < 300, "{}", reply.text());
    wait_for(
        "both chats to get the alert",
        Duration::from_secs(60),
        || chat.received().iter().filter(|m| m["ok"] == true).count() >= 2,
    );
    // Killed right after delivering, then started again: the episode is
    // not told twice, though every alert is checked at the start.
    server.kill();
    let server = serve(&r, &alerts, &reports, port, &[]);
    std::thread::sleep(Duration::from_secs(3));
    let received = chat.received();
    assert_eq!(received.len(), 2, "{received:?}");
    for m in &received {
        assert_eq!(m["ok"], true, "{m}");
        assert_eq!(m["problems"], serde_json::json!([]));
    }
    let teams = received
        .iter()
        .find(|m| m["path"] == "/teams/hook")
        .expect("teams");
    let card = &teams["body"]["attachments"][0]["content"];
    assert_eq!(card["version"], "1.4");
    let text = card.to_string();
    assert!(
        text.contains("North / Team A") && text.contains("50.0%"),
        "{text}"
    );
    assert_eq!(
        card["actions"][0]["url"],
        format!("http://127.0.0.1:{port}/alerts?alert=below&lang=en")
    );
    let slack = received
        .iter()
        .find(|m| m["path"] == "/slack/hook")
        .expect("slack");
    assert!(slack["body"]["text"].as_str().is_some());
    assert!(slack["body"].to_string().contains("North / Team A"));
    assert_eq!(teams["key"], slack["key"]);

    // The API and the page show the active alert to an admin.
    let admin = crate::support::token_with(&r.data, "admin");
    let api = crate::support::http::get_as(port, &admin, "/api/v1/alerts").json();
    assert_eq!(api["active"].as_array().map(Vec::len), Some(1), "{api}");
    assert_eq!(
        api["active"][0]["segment"],
        serde_json::json!(["North", "Team A"])
    );
    assert_eq!(api["active"][0]["delivery"]["status"], "delivered");
    let page = crate::support::http::get_as(port, &admin, "/dashboards/overview?lang=en").text();
    assert!(
        page.contains("id=\"active-alerts\"") && page.contains("1 active alerts"),
        "the dashboards point to it"
    );
    // And a report's alerts section lists it.
    let pdf = crate::support::http::get_as(port, &admin, "/reports/watch.pdf");
    assert_eq!(pdf.status, 200, "{}", pdf.text());
    let file = r.root.join("watch.pdf");
    std::fs::write(&file, &pdf.bytes).expect("pdf");
    let text = String::from_utf8(
        std::process::Command::new("pdftotext")
            .arg(&file)
            .arg("-")
            .output()
            .expect("pdftotext")
            .stdout,
    )
    .expect("utf-8");
    assert!(
        text.contains("Active alerts") && text.contains("North / Team A"),
        "{text}"
    );
    let page = crate::support::http::get_as(port, &admin, "/alerts?lang=de").text();
    assert!(
        page.contains("Aktive Warnungen") && page.contains("Team A"),
        "{page}"
    );

    // Week 48 brings Team A back: resolved, told once more to each.
    let events = r.week_ndjson(3);
    drop(server);
    let server = serve(
        &r,
        &alerts,
        &reports,
        port,
        &[("UPTAKE_NOW", "2026-12-02T12:00:00Z")],
    );
    let reply = crate::support::http::request(
        port,
        "POST",
        "/api/v1/events",
        &[("authorization", &format!("Bearer {token}"))],
        events.as_bytes(),
    )
    .expect("post");
    assert!(reply.status < 300, "{}", reply.text());
    wait_for("the resolution", Duration::from_secs(60), || {
        chat.received().len() >= 4
    });
    let received = chat.received();
    assert!(received.iter().all(|m| m["ok"] == true), "{received:?}");
    assert!(
        received[2..]
            .iter()
            .all(|m| m["body"].to_string().contains("resolved"))
    );
    let api = crate::support::http::get_as(port, &admin, "/api/v1/alerts").json();
    assert_eq!(api["active"], serde_json::json!([]), "{api}");
    drop(server);
}

/// A report for Team A's region delivered to Teams and Slack: the card
/// carries the KPIs, the dashboard with the report's filter and a signed
/// PDF link that works without signing in, until it expires.
#[test]
fn reports_reach_teams_and_slack_with_a_signed_pdf_link() {
    let r = Rollout::new();
    for i in 0..4 {
        r.import_week(i, None);
    }
    let chat = ChatReceiver::start(&r.root);
    let port = crate::support::free_port();
    let public = format!("http://127.0.0.1:{port}");
    let report = |title: &str| {
        format!(
            "title = \"{title}\"\nlanguage = \"en\"\nby = \"team\"\nsections = [\"summary\", \"highlights\"]\n\
             [filter]\nregion = \"North\"\n[schedule]\ncron = \"0 7 * * MON\"\n\
             [[deliver]]\nteams = \"{}\"\n[[deliver]]\nslack = \"{}\"\n",
            chat.url("/teams/report"),
            chat.url("/slack/report")
        )
    };
    let run_due = |dir: &Path, now: &str| {
        let out = r
            .command()
            .env("UPTAKE_SERVER_PUBLIC_URL", &public)
            .args(["schedule", "run-due", "--reports"])
            .arg(dir)
            .args(["--now", now])
            .output()
            .expect("run-due");
        assert!(out.status.success(), "{}", stderr(&out));
    };
    // A run of a month ago, whose link (one day) has expired, and this
    // week's run.
    let old = alerts_dir(&r.root.join("old"), &[("north-old", report("North, then"))]);
    let out = r
        .command()
        .env("UPTAKE_SERVER_LINK_DAYS", "1")
        .env("UPTAKE_SERVER_PUBLIC_URL", &public)
        .args(["schedule", "run-due", "--reports"])
        .arg(&old)
        .args(["--now", "2026-11-02T06:00:00Z"])
        .output()
        .expect("arm");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = r
        .command()
        .env("UPTAKE_SERVER_LINK_DAYS", "1")
        .env("UPTAKE_SERVER_PUBLIC_URL", &public)
        .args(["schedule", "run-due", "--reports"])
        .arg(&old)
        .args(["--now", "2026-11-02T07:01:00Z"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    let now = alerts_dir(&r.root.join("now"), &[("north", report("North weekly"))]);
    run_due(&now, "2026-11-30T06:00:00Z");
    run_due(&now, "2026-11-30T07:01:00Z");

    let received = chat.received();
    assert_eq!(received.len(), 4, "{received:?}");
    for m in &received {
        assert_eq!(m["ok"], true, "{m}");
    }
    let teams = received
        .iter()
        .rfind(|m| m["path"] == "/teams/report")
        .expect("teams");
    let card = &teams["body"]["attachments"][0]["content"];
    let text = card.to_string();
    assert!(
        text.contains("North weekly") && text.contains("2026-W48"),
        "{text}"
    );
    assert!(text.contains("Active licensee rate"), "{text}");
    let urls: Vec<&str> = card["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["url"].as_str())
        .collect();
    assert_eq!(urls.len(), 2, "{urls:?}");
    assert!(
        urls[1].starts_with(&format!("{public}/dashboards/overview?region=North")),
        "{urls:?}"
    );
    let pdf_link = urls[0];
    assert!(
        pdf_link.starts_with(&format!("{public}/links/")),
        "{pdf_link}"
    );
    let slack = received
        .iter()
        .rfind(|m| m["path"] == "/slack/report")
        .expect("slack");
    assert!(
        slack["body"].to_string().contains(pdf_link),
        "the same link in Slack"
    );
    let old_link = received[0]["body"]["attachments"][0]["content"]["actions"][0]["url"]
        .as_str()
        .expect("old link")
        .to_string();

    // Served without signing in; the old one has expired; a changed one
    // is refused; both refusals are JSON.
    let alerts = alerts_dir(&r.root.join("no-alerts"), &[]);
    let server = serve(&r, &alerts, &now, port, &[]);
    let path = |url: &str| url.trim_start_matches(&public).to_string();
    let reply = crate::support::http::get(port, &path(pdf_link));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.content_type(), "application/pdf");
    let file = r.root.join("linked.pdf");
    std::fs::write(&file, &reply.bytes).expect("pdf");
    let text = String::from_utf8(
        std::process::Command::new("pdftotext")
            .arg(&file)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils)")
            .stdout,
    )
    .expect("utf-8");
    assert!(text.contains("North weekly"), "{text}");
    let reply = crate::support::http::get(port, &path(&old_link));
    assert_eq!(reply.status, 410, "{}", reply.text());
    assert_eq!(reply.json()["error"], "gone");
    let mut forged = path(pdf_link);
    forged.insert(forged.len() - 3, 'x');
    for bad in [
        forged,
        "/links/x".to_string(),
        format!("/links/{}", "a".repeat(5000)),
    ] {
        let reply = crate::support::http::get(port, &bad);
        assert_eq!(reply.status, 404, "{bad}: {}", reply.text());
        assert_eq!(reply.json()["error"], "not_found");
    }
    drop(server);
}

/// A wave behind the reference wave, and a team whose forecast misses
/// its target week, fire; the segments doing well say nothing.
#[test]
fn waves_behind_the_reference_and_missed_forecasts_fire() {
    let r = Rollout::with_team_b_in("W1");
    for i in 0..3 {
        r.import_week(i, None);
    }
    let alerts = alerts_dir(
        &r.root,
        &[
            (
                "behind",
                "title = \"Behind\"\nlanguage = \"en\"\nby = \"wave\"\ncondition = \"behind_reference\"\npoints = 10\n"
                    .to_string(),
            ),
            (
                "forecast",
                "title = \"Forecast\"\nlanguage = \"en\"\nby = \"team\"\ncondition = \"forecast_miss\"\ntarget_week = \"2027-W10\"\n"
                    .to_string(),
            ),
        ],
    );
    // Wave 1 (Team B, all active) is the reference: the pilot (Team A)
    // is 50 points behind it one week after its go-live.
    let out = r
        .command()
        .env("UPTAKE_TARGETS_REFERENCE_WAVE", "W1")
        .arg("--alerts")
        .arg(&alerts)
        .args(["alerts", "check", "--now", "2026-11-23T08:00:00Z"])
        .output()
        .expect("check");
    assert!(out.status.success(), "{}", stderr(&out));
    let notices = r.notices();
    let of =
        |alert: &str| -> Vec<&Value> { notices.iter().filter(|n| n["alert"] == alert).collect() };
    let behind = of("behind");
    assert_eq!(behind.len(), 1, "{notices:?}");
    assert_eq!(behind[0]["segment"], serde_json::json!(["W0"]));
    let message = behind[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("50.0 points behind Wave 1"), "{message}");
    // Team A fell from 90% to 50%: no rising pace, so the target week is
    // missed; Team B is passing.
    let forecast = of("forecast");
    assert_eq!(forecast.len(), 1, "{notices:?}");
    assert_eq!(forecast[0]["segment"], serde_json::json!(["Team A"]));
    assert!(
        forecast[0]["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("forecast:")
    );
}
