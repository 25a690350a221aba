//! Differential test: the SQL path against the reference implementation on
//! many small random data sets, in several time zones and with several
//! parameter values.

use chrono::{Duration, NaiveDate, TimeZone};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::reference::{self, Data, Event, Module, Params, User, Wave};
use crate::support;
use uptake::config::Settings;
use uptake::store::Store;

const ZONES: [&str; 4] = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"];
/// Regions' own zones: east and west of the date line, with and without
/// daylight saving time.
const REGION_ZONES: [&str; 4] = [
    "Asia/Tokyo",
    "America/Los_Angeles",
    "Pacific/Auckland",
    "Europe/Berlin",
];
const SHARES: [(&str, i64, i64); 5] = [
    ("0", 0, 1),
    ("0.2", 2, 10),
    ("0.28", 28, 100),
    ("0.5", 5, 10),
    ("1", 1, 1),
];
const TARGETS: [(&str, i64, i64); 3] = [("0.75", 75, 100), ("0.5", 5, 10), ("0.6", 6, 10)];
const DIMS: [&str; 7] = [
    "",
    "region",
    "department,team",
    "team",
    "wave",
    "region,wave",
    "wave,region,department,team",
];

fn date(base: NaiveDate, rng: &mut ChaCha8Rng, spread: i64) -> NaiveDate {
    base + Duration::days(rng.random_range(-spread..spread))
}

fn random_case(seed: u64) -> (Data, Params, Settings, &'static str) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Around the turn of 2026/2027: 2026 has an ISO week 53.
    let base = NaiveDate::from_ymd_opt(2026, 12, 20).expect("date");
    let waves: Vec<Wave> = (0..rng.random_range(1..4))
        .map(|i| Wave {
            id: format!("W{i}"),
            go_live: date(base, &mut rng, 25),
        })
        .collect();
    let regions = ["DACH", "Nordics", "Benelux, South"];
    let teams = ["", "Team A", "Team B"];
    let users: Vec<User> = (0..rng.random_range(3..30))
        .map(|i| {
            let start = date(base, &mut rng, 40);
            User {
                id: if i % 7 == 3 {
                    format!("U{i}")
                } else {
                    format!("u{i}")
                },
                region: regions[rng.random_range(0..regions.len())].into(),
                department: ["Sales", "Service"][rng.random_range(0..2)].into(),
                team: teams[rng.random_range(0..teams.len())].into(),
                wave: waves[rng.random_range(0..waves.len())].id.clone(),
                start,
                end: rng
                    .random_bool(0.2)
                    .then(|| start + Duration::days(rng.random_range(0..50))),
            }
        })
        .collect();
    let modules: Vec<Module> = (0..rng.random_range(0..5))
        .map(|i| {
            let from = date(base, &mut rng, 30);
            Module {
                id: format!("m{i}"),
                from,
                until: rng
                    .random_bool(0.3)
                    .then(|| from + Duration::days(rng.random_range(0..40))),
                cost_cents: rng.random_bool(0.7).then(|| rng.random_range(0..3000)),
            }
        })
        .collect();
    let zone = ZONES[rng.random_range(0..ZONES.len())];
    let tz: chrono_tz::Tz = zone.parse().expect("tz");
    // Half the cases give some regions zones of their own.
    let mut region_zones: std::collections::BTreeMap<String, String> = Default::default();
    if rng.random_bool(0.5) {
        for region in regions {
            if rng.random_bool(0.6) {
                let zone = REGION_ZONES[rng.random_range(0..REGION_ZONES.len())];
                region_zones.insert(region.to_string(), zone.to_string());
            }
        }
    }
    let region_tz: std::collections::BTreeMap<String, chrono_tz::Tz> = region_zones
        .iter()
        .map(|(r, z)| (r.clone(), z.parse().expect("tz")))
        .collect();
    let actions = ["view", "create", "login", "logout", "update", "Login"];
    let mut events = Vec::new();
    for _ in 0..rng.random_range(0..400) {
        let user = if rng.random_bool(0.05) {
            None
        } else {
            Some(&users[rng.random_range(0..users.len())])
        };
        // Times around the user's own local midnight.
        let user_tz = user
            .and_then(|u| region_tz.get(&u.region).copied())
            .unwrap_or(tz);
        let day = date(base, &mut rng, 45);
        // bias towards local midnight
        let (h, m) = if rng.random_bool(0.4) {
            ([23, 0][rng.random_range(0..2)], rng.random_range(0..60))
        } else {
            (rng.random_range(0..24), rng.random_range(0..60))
        };
        let local = day.and_hms_opt(h, m, 0).expect("time");
        let Some(time) = user_tz.from_local_datetime(&local).earliest() else {
            continue;
        };
        let user = user.map_or_else(|| "stranger".to_string(), |u| u.id.clone());
        let module = if modules.is_empty() || rng.random_bool(0.1) {
            "unknown-module".to_string()
        } else {
            modules[rng.random_range(0..modules.len())].id.clone()
        };
        events.push(Event {
            time: time.with_timezone(&chrono::Utc),
            user,
            module,
            action: actions[rng.random_range(0..actions.len())].into(),
        });
    }
    let window = rng.random_range(1..6);
    let min_active = rng.random_range(0..window + 2);
    let share = SHARES[rng.random_range(0..SHARES.len())];
    let alr = TARGETS[rng.random_range(0..TARGETS.len())];
    let mu = TARGETS[rng.random_range(0..TARGETS.len())];
    let k = rng.random_range(1..6);
    let exclude: Vec<String> = if rng.random_bool(0.8) {
        vec!["login".into(), "logout".into()]
    } else {
        vec!["view".into()]
    };
    let params = Params {
        tz,
        region_tz,
        window,
        min_active,
        theta: (share.1, share.2),
        alr_target: (alr.1, alr.2),
        mu_target: (mu.1, mu.2),
        k,
        exclude: exclude.clone(),
    };
    let mut settings = Settings {
        timezone: zone.into(),
        region_timezones: region_zones,
        ..Settings::default()
    };
    settings.regular.window_weeks = window as u32;
    settings.regular.min_active_weeks = min_active as u32;
    settings.module.min_user_share = share.0.parse().expect("share");
    settings.targets.active_licensee_rate = alr.0.parse().expect("alr");
    settings.targets.module_utilization = mu.0.parse().expect("mu");
    settings.privacy.min_group_size = k as u32;
    settings.activity.exclude_actions = exclude;
    let dims = DIMS[rng.random_range(0..DIMS.len())];
    (
        Data {
            waves,
            users,
            modules,
            events,
        },
        params,
        settings,
        dims,
    )
}

fn csv_text(v: &str) -> String {
    uptake::kpi::table::csv_field(v)
}

fn write_inputs(dir: &std::path::Path, data: &Data) {
    let mut w = String::from("wave_id,name,go_live\n");
    for x in &data.waves {
        w.push_str(&format!("{},Wave {},{}\n", x.id, x.id, x.go_live));
    }
    std::fs::write(dir.join("waves.csv"), w).expect("write");
    let mut d = String::from("user_id,region,department,team,wave,license_start,license_end\n");
    for u in &data.users {
        d.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            u.id,
            csv_text(&u.region),
            u.department,
            u.team,
            u.wave,
            u.start,
            u.end.map(|e| e.to_string()).unwrap_or_default()
        ));
    }
    std::fs::write(dir.join("directory.csv"), d).expect("write");
    let mut m = String::from("module_id,name,licensed_from,licensed_until,monthly_cost_per_user\n");
    for x in &data.modules {
        m.push_str(&format!(
            "{},Module {},{},{},{}\n",
            x.id,
            x.id,
            x.from,
            x.until.map(|e| e.to_string()).unwrap_or_default(),
            x.cost_cents
                .map(|c| format!("{}.{:02}", c / 100, c % 100))
                .unwrap_or_default()
        ));
    }
    std::fs::write(dir.join("modules.csv"), m).expect("write");
    std::fs::create_dir_all(dir.join("events")).expect("dir");
    let mut e = String::from("event_time,user_id,module,action,client\n");
    for x in &data.events {
        e.push_str(&format!(
            "{},{},{},{},web\n",
            x.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            x.user,
            x.module,
            x.action
        ));
    }
    std::fs::write(dir.join("events").join("events.csv"), e).expect("write");
}

#[test]
fn sql_path_matches_reference_on_random_data() {
    let cases = std::env::var("UPTAKE_DIFF_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60u64);
    for seed in 0..cases {
        let (data, params, settings, dims) = random_case(seed);
        let tmp = tempfile::tempdir().expect("tmp");
        write_inputs(tmp.path(), &data);
        let mut store = Store::open(&tmp.path().join("data")).expect("store");
        support::import_dir(&mut store, tmp.path(), &settings);
        let (from, to) = ((2026, 47), (2027, 4));
        let expected = reference::kpi_csv(&data, &params, &dims_list(dims), from, to);
        let actual = support::kpi_csv(&store, &settings, dims, "2026-W47", "2027-W04");
        compare(seed, "kpi", &expected, &actual, &settings, &params, dims);
        let expected = reference::modules_csv(&data, &params, &dims_list(dims), from, to);
        let actual = support::modules_csv(&store, &settings, dims, "2026-W47", "2027-W04");
        compare(
            seed, "modules", &expected, &actual, &settings, &params, dims,
        );
    }
}

fn compare(
    seed: u64,
    table: &str,
    expected: &str,
    actual: &str,
    settings: &Settings,
    params: &Params,
    dims: &str,
) {
    {
        if expected != actual {
            let diff: Vec<String> = expected
                .lines()
                .zip(actual.lines())
                .filter(|(a, b)| a != b)
                .take(5)
                .map(|(a, b)| format!("reference: {a}\nsql:       {b}"))
                .collect();
            panic!(
                "seed {seed} {table} ({} by '{dims}', W={} K={} k={}): tables differ ({} vs {} lines)\n{}",
                settings.timezone,
                params.window,
                params.min_active,
                params.k,
                expected.lines().count(),
                actual.lines().count(),
                diff.join("\n")
            );
        }
    }
}

fn dims_list(dims: &str) -> Vec<&str> {
    dims.split(',').filter(|d| !d.is_empty()).collect()
}

#[test]
fn long_ranges_computed_in_chunks_match_reference() {
    // 82 weeks: more than one 64-bit week mask, so the cube is computed in
    // chunks; rows must not depend on where a chunk starts.
    for seed in 1000..1006 {
        let (data, params, settings, dims) = random_case(seed);
        let tmp = tempfile::tempdir().expect("tmp");
        write_inputs(tmp.path(), &data);
        let mut store = Store::open(&tmp.path().join("data")).expect("store");
        support::import_dir(&mut store, tmp.path(), &settings);
        let (from, to) = ((2026, 1), (2027, 30));
        let expected = reference::kpi_csv(&data, &params, &dims_list(dims), from, to);
        let actual = support::kpi_csv(&store, &settings, dims, "2026-W01", "2027-W30");
        compare(seed, "kpi", &expected, &actual, &settings, &params, dims);
    }
}
