//! Hand-made edge cases of SPEC.md, each with its expected KPI row.

use crate::support;
use uptake::config::Settings;
use uptake::store::Store;

const HEADER_LINE: &str = "week,eligible,regular,active_licensee_rate,modules_licensed,modules_in_use,module_utilization,users_to_target,success,suppressed";

/// A small organisation written as CSV text.
struct Case {
    waves: String,
    directory: Vec<String>,
    modules: Vec<String>,
    events: Vec<String>,
    settings: Settings,
}

impl Case {
    fn new(go_live: &str) -> Self {
        let mut settings = Settings::default();
        settings.privacy.min_group_size = 1;
        Case {
            waves: format!("wave_id,name,go_live\nW1,Wave 1,{go_live}\n"),
            directory: Vec::new(),
            modules: vec!["crm,CRM,2020-01-01,,10.00".into()],
            events: Vec::new(),
            settings,
        }
    }

    /// `n` users `prefix1..n` of region R licensed from `start`.
    fn users(&mut self, prefix: &str, n: usize, start: &str, end: &str) -> &mut Self {
        for i in 1..=n {
            self.directory
                .push(format!("{prefix}{i},R,D,T,W1,{start},{end}"));
        }
        self
    }

    fn event(&mut self, time: &str, user: &str, module: &str, action: &str) -> &mut Self {
        self.events
            .push(format!("{time},{user},{module},{action},web"));
        self
    }

    fn kpi(&self, dims: &str, from: &str, to: &str) -> Vec<String> {
        let lines = self.table(dims, from, to, false);
        if dims.is_empty() {
            assert_eq!(lines[0], HEADER_LINE);
        }
        lines[1..].to_vec()
    }

    fn modules_table(&self, dims: &str, week: &str) -> Vec<String> {
        self.table(dims, week, week, true)[1..].to_vec()
    }

    fn table(&self, dims: &str, from: &str, to: &str, modules: bool) -> Vec<String> {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path();
        std::fs::write(dir.join("waves.csv"), &self.waves).expect("w");
        std::fs::write(
            dir.join("directory.csv"),
            format!(
                "user_id,region,department,team,wave,license_start,license_end\n{}\n",
                self.directory.join("\n")
            ),
        )
        .expect("w");
        std::fs::write(
            dir.join("modules.csv"),
            format!(
                "module_id,name,licensed_from,licensed_until,monthly_cost_per_user\n{}\n",
                self.modules.join("\n")
            ),
        )
        .expect("w");
        std::fs::create_dir_all(dir.join("events")).expect("dir");
        std::fs::write(
            dir.join("events/e.csv"),
            format!(
                "event_time,user_id,module,action,client\n{}\n",
                self.events.join("\n")
            ),
        )
        .expect("w");
        let mut store = Store::open(&dir.join("data")).expect("store");
        support::import_dir(&mut store, dir, &self.settings);
        let csv = if modules {
            support::modules_csv(&store, &self.settings, dims, from, to)
        } else {
            support::kpi_csv(&store, &self.settings, dims, from, to)
        };
        csv.lines().map(str::to_string).collect()
    }
}

#[test]
fn training_before_go_live_never_counts_even_in_the_go_live_week() {
    // Go-live on Wednesday 2026-03-04 (2026-W10); W = 1, K = 1.
    let mut c = Case::new("2026-03-04");
    c.settings.regular.window_weeks = 1;
    c.settings.regular.min_active_weeks = 1;
    c.users("u", 2, "2026-01-01", "");
    c.event("2026-03-02T10:00:00Z", "u1", "crm", "view"); // Monday: before go-live
    c.event("2026-03-04T10:00:00Z", "u2", "crm", "view"); // go-live day counts
    assert_eq!(
        c.kpi("", "2026-W10", "2026-W10"),
        vec!["2026-W10,2,1,0.500000,1,1,1.000000,1,false,false"]
    );
}

#[test]
fn local_midnight_decides_the_week() {
    // Sunday 2026-03-08 23:30 UTC is Monday 00:30 in Berlin: week 11, not 10.
    let mut c = Case::new("2026-01-05");
    c.settings.timezone = "Europe/Berlin".into();
    c.settings.regular.window_weeks = 1;
    c.settings.regular.min_active_weeks = 1;
    c.users("u", 1, "2026-01-01", "");
    c.event("2026-03-08T23:30:00Z", "u1", "crm", "view");
    assert_eq!(
        c.kpi("", "2026-W10", "2026-W11"),
        vec![
            "2026-W10,1,0,0.000000,1,0,0.000000,1,false,false",
            "2026-W11,1,1,1.000000,1,1,1.000000,0,true,false",
        ]
    );
    // In New York the same instant is still Sunday 2026-03-08 (week 10).
    c.settings.timezone = "America/New_York".into();
    assert_eq!(
        c.kpi("", "2026-W10", "2026-W11"),
        vec![
            "2026-W10,1,1,1.000000,1,1,1.000000,0,true,false",
            "2026-W11,1,0,0.000000,1,0,0.000000,1,false,false",
        ]
    );
}

#[test]
fn iso_week_53_and_the_year_boundary() {
    // 2027-01-03 is in 2026-W53. W = 2, K = 2.
    let mut c = Case::new("2026-01-05");
    c.settings.regular.window_weeks = 2;
    c.settings.regular.min_active_weeks = 2;
    c.users("u", 1, "2026-01-01", "");
    c.event("2027-01-03T12:00:00Z", "u1", "crm", "view");
    c.event("2027-01-04T12:00:00Z", "u1", "crm", "view");
    assert_eq!(
        c.kpi("", "2026-W53", "2027-W01"),
        vec![
            "2026-W53,1,0,0.000000,1,1,1.000000,1,false,false",
            "2027-W01,1,1,1.000000,1,1,1.000000,0,true,false",
        ]
    );
}

#[test]
fn license_starting_inside_the_window_needs_only_its_eligible_weeks() {
    // W = 4, K = 3; u1's license starts in the last week of the window, so
    // E = 1 and one active week makes a regular user. u2 started two weeks
    // before (E = 3) and is active in 2 of them: not regular.
    let mut c = Case::new("2026-01-05");
    c.directory.push("u1,R,D,T,W1,2026-03-05,".into());
    c.directory.push("u2,R,D,T,W1,2026-02-19,".into());
    c.event("2026-03-06T09:00:00Z", "u1", "crm", "view");
    c.event("2026-02-20T09:00:00Z", "u2", "crm", "view");
    c.event("2026-03-06T09:00:00Z", "u2", "crm", "view");
    assert_eq!(
        c.kpi("", "2026-W10", "2026-W10"),
        vec!["2026-W10,2,1,0.500000,1,1,1.000000,1,false,false"]
    );
}

#[test]
fn leavers_are_eligible_until_their_last_sunday() {
    let mut c = Case::new("2026-01-05");
    c.settings.regular.window_weeks = 1;
    c.settings.regular.min_active_weeks = 1;
    c.directory.push("u1,R,D,T,W1,2026-01-01,2026-03-08".into()); // Sunday of W10
    c.directory.push("u2,R,D,T,W1,2026-01-01,2026-03-07".into()); // Saturday
    assert_eq!(
        c.kpi("", "2026-W10", "2026-W10"),
        vec!["2026-W10,1,0,0.000000,1,0,0.000000,1,false,false"]
    );
}

#[test]
fn exactly_on_target_is_not_a_success_and_thresholds_are_exact() {
    // 25 users, θ = 0.28: ceil(0.28 * 25) = 7 users put a module in use.
    let mut c = Case::new("2026-01-05");
    c.settings.module.min_user_share = "0.28".parse().expect("share");
    c.settings.regular.window_weeks = 1;
    c.settings.regular.min_active_weeks = 1;
    c.modules.push("quotes,Quotes,2020-01-01,,".into());
    c.users("u", 25, "2026-01-01", "");
    for i in 1..=7 {
        c.event("2026-03-03T09:00:00Z", &format!("u{i}"), "crm", "view");
    }
    for i in 8..=13 {
        c.event("2026-03-03T09:00:00Z", &format!("u{i}"), "quotes", "view");
    }
    // 13 regular of 25; crm in use (7), quotes not (6).
    // users to target: floor(0.75 * 25) + 1 - 13 = 6.
    assert_eq!(
        c.kpi("", "2026-W10", "2026-W10"),
        vec!["2026-W10,25,13,0.520000,2,1,0.500000,6,false,false"]
    );
}

#[test]
fn alr_of_exactly_three_quarters_is_not_a_success() {
    let mut c = Case::new("2026-01-05");
    c.settings.regular.window_weeks = 1;
    c.settings.regular.min_active_weeks = 1;
    c.users("u", 4, "2026-01-01", "");
    for i in 1..=3 {
        c.event("2026-03-03T09:00:00Z", &format!("u{i}"), "crm", "view");
    }
    assert_eq!(
        c.kpi("", "2026-W10", "2026-W10"),
        vec!["2026-W10,4,3,0.750000,1,1,1.000000,1,false,false"]
    );
}

#[test]
fn excluded_actions_unknown_modules_and_unknown_users() {
    let mut c = Case::new("2026-01-05");
    c.settings.regular.window_weeks = 1;
    c.settings.regular.min_active_weeks = 1;
    c.users("u", 3, "2026-01-01", "");
    c.event("2026-03-03T09:00:00Z", "u1", "crm", "login"); // not qualifying
    c.event("2026-03-03T09:00:00Z", "u2", "legacy", "view"); // active, no module
    c.event("2026-03-03T09:00:00Z", "U3", "crm", "view"); // another id: case matters
    assert_eq!(
        c.kpi("", "2026-W10", "2026-W10"),
        // users to target: floor(0.75 * 3) + 1 - 1 = 2
        vec!["2026-W10,3,1,0.333333,1,0,0.000000,2,false,false"]
    );
}

#[test]
fn tiny_and_empty_segments_are_suppressed_but_listed() {
    let mut c = Case::new("2026-01-05");
    c.settings.privacy.min_group_size = 3;
    c.settings.regular.window_weeks = 1;
    c.settings.regular.min_active_weeks = 1;
    c.directory.push("a1,A,D,,W1,2026-01-01,".into());
    c.directory.push("a2,A,D,,W1,2026-01-01,".into());
    c.directory.push("a3,A,D,,W1,2026-01-01,".into());
    c.directory.push("b1,B,D,,W1,2026-01-01,".into());
    c.directory.push("c1,C,D,,W1,2026-06-01,".into()); // not yet eligible
    for u in ["a1", "a2", "a3"] {
        c.event("2026-03-03T09:00:00Z", u, "crm", "view");
    }
    assert_eq!(
        c.kpi("region,team", "2026-W10", "2026-W10"),
        vec![
            "2026-W10,A,,3,3,1.000000,1,1,1.000000,0,true,false",
            "2026-W10,B,,,,,,,,,,true",
            "2026-W10,C,,,,,,,,,,true",
        ]
    );
}

#[test]
fn module_use_counts_in_the_window_and_only_while_licensed() {
    // W = 2: a module event in week 9 counts for weeks 9 and 10. "quotes" is
    // licensed from Monday of week 10 (so on its Sunday) but not in week 9.
    let mut c = Case::new("2026-01-05");
    c.settings.regular.window_weeks = 2;
    c.settings.regular.min_active_weeks = 1;
    c.modules.push("quotes,Quotes,2026-03-02,,".into());
    c.users("u", 1, "2026-01-01", "");
    c.event("2026-02-24T09:00:00Z", "u1", "quotes", "view");
    assert_eq!(
        c.kpi("", "2026-W09", "2026-W11"),
        vec![
            "2026-W09,1,1,1.000000,1,0,0.000000,0,false,false",
            "2026-W10,1,1,1.000000,2,1,0.500000,0,false,false",
            "2026-W11,1,0,0.000000,2,0,0.000000,1,false,false",
        ]
    );
}

#[test]
fn idle_license_cost_counts_licensed_modules_of_inactive_licensees() {
    // Three licensees; only u1 is active in the window. Licensed on Sunday
    // of 2026-W10: crm (10.00) and quotes (empty cost, counts as 0); "old"
    // ended before that Sunday and is not in L(t).
    let mut c = Case::new("2026-01-05");
    c.settings.regular.window_weeks = 2;
    c.settings.regular.min_active_weeks = 1;
    c.modules.push("quotes,Quotes,2026-03-08,,".into());
    c.modules.push("old,Old,2020-01-01,2026-03-07,99.99".into());
    c.users("u", 3, "2026-01-01", "");
    c.event("2026-02-24T09:00:00Z", "u1", "old", "view"); // week 9: in the window
    c.event("2026-03-03T09:00:00Z", "u1", "crm", "view");
    let csv = c.modules_table("", "2026-W10");
    assert_eq!(
        csv,
        vec![
            "2026-W10,crm,CRM,10.00,3,1,0.333333,true,2,20.00,false",
            "2026-W10,quotes,Quotes,,3,0,0.000000,false,2,20.00,false",
        ]
    );
}

#[test]
fn each_region_counts_in_its_own_zone_on_both_sides_of_the_date_line() {
    let mut c = Case::new("2026-01-05");
    c.settings.regular.window_weeks = 1;
    c.settings.regular.min_active_weeks = 1;
    c.directory.push("t1,APAC,D,T,W1,2026-01-01,".into());
    c.directory.push("l1,US,D,T,W1,2026-01-01,".into());
    // Sunday 23:00 UTC: Monday 08:00 in Tokyo (W46), Sunday 15:00 in Los
    // Angeles.
    c.event("2026-11-08T23:00:00Z", "t1", "crm", "view");
    // Monday 06:00 UTC: Sunday 22:00 in Los Angeles (W45).
    c.event("2026-11-09T06:00:00Z", "l1", "crm", "view");
    let utc = c.kpi("region", "2026-W45", "2026-W46");
    assert_eq!(
        utc,
        vec![
            "2026-W45,APAC,1,1,1.000000,1,1,1.000000,0,true,false",
            "2026-W45,US,1,0,0.000000,1,0,0.000000,1,false,false",
            "2026-W46,APAC,1,0,0.000000,1,0,0.000000,1,false,false",
            "2026-W46,US,1,1,1.000000,1,1,1.000000,0,true,false",
        ]
    );
    c.settings.region_timezones = [("APAC", "Asia/Tokyo"), ("US", "America/Los_Angeles")]
        .into_iter()
        .map(|(r, z)| (r.to_string(), z.to_string()))
        .collect();
    assert_eq!(
        c.kpi("region", "2026-W45", "2026-W46"),
        vec![
            "2026-W45,APAC,1,0,0.000000,1,0,0.000000,1,false,false",
            "2026-W45,US,1,1,1.000000,1,1,1.000000,0,true,false",
            "2026-W46,APAC,1,1,1.000000,1,1,1.000000,0,true,false",
            "2026-W46,US,1,0,0.000000,1,0,0.000000,1,false,false",
        ]
    );
}

/// Changing a region's zone makes the derived data stale as changing
/// `timezone` does; a directory that moves a licensee into a region of
/// another zone rebuilds the rollup itself.
#[test]
fn region_zones_keep_the_rollup_honest() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let write = |name: &str, text: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    };
    let zones = "APAC=Asia/Tokyo;US=America/Los_Angeles";
    let run = |args: &[&str], zones: Option<&str>| {
        let mut c = support::uptake_command(&data);
        c.env("UPTAKE_REGULAR_WINDOW_WEEKS", "1")
            .env("UPTAKE_REGULAR_MIN_ACTIVE_WEEKS", "1")
            .env("UPTAKE_PRIVACY_MIN_GROUP_SIZE", "1");
        if let Some(z) = zones {
            c.env("UPTAKE_REGION_TIMEZONES", z);
        }
        c.args(args).output().expect("uptake")
    };
    let waves = write("waves.csv", "wave_id,name,go_live\nW1,Wave 1,2026-01-05\n");
    let directory = "user_id,region,department,team,wave,license_start,license_end\n";
    let in_apac = write(
        "d1.csv",
        &format!("{directory}t1,APAC,D,T,W1,2026-01-01,\nl1,US,D,T,W1,2026-01-01,\n"),
    );
    let modules = write(
        "modules.csv",
        "module_id,name,licensed_from,licensed_until,monthly_cost_per_user\ncrm,CRM,2020-01-01,,10.00\n",
    );
    let events = write(
        "events.csv",
        "event_time,user_id,module,action\n2026-11-08T23:00:00Z,t1,crm,view\n",
    );
    for (table, file) in [
        ("waves", &waves),
        ("directory", &in_apac),
        ("modules", &modules),
        ("events", &events),
    ] {
        let out = run(&["import", table, file], Some(zones));
        assert!(out.status.success(), "{}", support::stderr(&out));
    }
    let week_of_t1 = |zones: Option<&str>| {
        let out = run(
            &[
                "kpi", "--by", "region", "--from", "2026-W45", "--to", "2026-W46", "--format",
                "csv",
            ],
            zones,
        );
        assert!(out.status.success(), "{}", support::stderr(&out));
        support::stdout(&out)
            .lines()
            .filter(|l| l.split(',').nth(3) == Some("1"))
            .map(|l| l.split(',').take(2).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
    };
    // Monday 08:00 in Tokyo.
    assert_eq!(week_of_t1(Some(zones)), ["2026-W46 APAC"]);
    // Without the zones the rollup is stale, named so.
    let out = run(&["kpi", "--by", "region"], None);
    assert!(!out.status.success());
    let said = support::stderr(&out);
    assert!(
        said.contains("region_timezones") && said.contains("rebuild"),
        "{said}"
    );
    // t1 moves to the US: Sunday 15:00 in Los Angeles, rebuilt at import.
    let in_us = write(
        "d2.csv",
        &format!("{directory}t1,US,D,T,W1,2026-01-01,\nl1,US,D,T,W1,2026-01-01,\n"),
    );
    let out = run(&["import", "directory", &in_us], Some(zones));
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert_eq!(week_of_t1(Some(zones)), ["2026-W45 US"]);
    // A zone that is none is named.
    let out = run(&["kpi"], Some("APAC=Asia/Atlantis"));
    assert!(!out.status.success());
    assert!(support::stderr(&out).contains("Asia/Atlantis"));
}
