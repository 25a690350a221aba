//! A plain in-Rust implementation of SPEC.md, written from the definitions
//! and sharing no code with the SQL path: it loops over weeks, segments and
//! users. The differential test compares it with `queries/`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Weekday};
use chrono_tz::Tz;

#[derive(Clone, Debug)]
pub struct Wave {
    pub id: String,
    pub go_live: NaiveDate,
}

#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub region: String,
    pub department: String,
    pub team: String,
    pub wave: String,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
}

#[derive(Clone, Debug)]
pub struct Module {
    pub id: String,
    pub from: NaiveDate,
    pub until: Option<NaiveDate>,
    /// In cents.
    pub cost_cents: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub time: DateTime<chrono::Utc>,
    pub user: String,
    pub module: String,
    pub action: String,
}

#[derive(Clone, Debug)]
pub struct Params {
    pub tz: Tz,
    /// Regions' own zones (`region_timezones`); others use `tz`.
    pub region_tz: BTreeMap<String, Tz>,
    pub window: i64,
    pub min_active: i64,
    /// θ, targets: as (numerator, denominator).
    pub theta: (i64, i64),
    pub alr_target: (i64, i64),
    pub mu_target: (i64, i64),
    pub k: i64,
    pub exclude: Vec<String>,
}

pub struct Data {
    pub waves: Vec<Wave>,
    pub users: Vec<User>,
    pub modules: Vec<Module>,
    pub events: Vec<Event>,
}

fn monday(year: i32, week: u32) -> NaiveDate {
    NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).expect("week")
}

fn label(monday: NaiveDate) -> String {
    let w = monday.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

fn week_monday(d: NaiveDate) -> NaiveDate {
    d - Duration::days(d.weekday().num_days_from_monday() as i64)
}

fn rate(part: i64, whole: i64) -> String {
    // exact fraction, half up, 6 decimals
    let scaled = (part as i128 * 1_000_000 * 2 + whole as i128) / (2 * whole as i128);
    format!("{}.{:06}", scaled / 1_000_000, scaled % 1_000_000)
}

fn segment_of(u: &User, dims: &[&str]) -> Vec<String> {
    dims.iter()
        .map(|d| match *d {
            "region" => u.region.clone(),
            "department" => u.department.clone(),
            "team" => u.team.clone(),
            "wave" => u.wave.clone(),
            _ => panic!("dimension {d}"),
        })
        .collect()
}

/// Counted events per user (SPEC.md section 2): qualifying, of a directory
/// user, on a local date on or after `e_u`; as (local date, module).
fn counted_events<'a>(data: &'a Data, p: &Params) -> BTreeMap<&'a str, Vec<(NaiveDate, &'a str)>> {
    let users: BTreeMap<&str, &User> = data.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut counted: BTreeMap<&str, Vec<(NaiveDate, &str)>> = BTreeMap::new();
    for e in &data.events {
        let Some(u) = users.get(e.user.as_str()) else {
            continue;
        };
        // The licensee's zone: their region's, else the organisation's.
        let tz = p.region_tz.get(&u.region).copied().unwrap_or(p.tz);
        let local = e.time.with_timezone(&tz).date_naive();
        if !p.exclude.contains(&e.action) && local >= eligible_from(data, u) {
            counted.entry(&u.id).or_default().push((local, &e.module));
        }
    }
    counted
}

/// `e_u`: the later of license start and the wave's go-live.
fn eligible_from(data: &Data, u: &User) -> NaiveDate {
    let go_live = data
        .waves
        .iter()
        .find(|w| w.id == u.wave)
        .map(|w| w.go_live)
        .expect("wave");
    u.start.max(go_live)
}

/// `L(t)`: catalog modules licensed on `sunday`.
fn licensed_on(data: &Data, sunday: NaiveDate) -> Vec<&Module> {
    data.modules
        .iter()
        .filter(|m| m.from <= sunday && m.until.is_none_or(|u| u >= sunday))
        .collect()
}

/// Eligible licensees of a segment in the week ending `sunday`.
fn eligible_members<'a>(
    data: &'a Data,
    dims: &[&str],
    segment: &[String],
    sunday: NaiveDate,
) -> Vec<&'a User> {
    data.users
        .iter()
        .filter(|u| segment_of(u, dims) == segment)
        .filter(|u| eligible_from(data, u) <= sunday && u.end.is_none_or(|e| e >= sunday))
        .collect()
}

/// The KPI table as CSV, as SPEC.md section 5 prints it.
pub fn kpi_csv(data: &Data, p: &Params, dims: &[&str], from: (i32, u32), to: (i32, u32)) -> String {
    let eligible_from = |u: &User| eligible_from(data, u);
    let counted = counted_events(data, p);
    let segments: BTreeSet<Vec<String>> = data.users.iter().map(|u| segment_of(u, dims)).collect();

    let mut out = String::from("week");
    for d in dims {
        out.push(',');
        out.push_str(d);
    }
    out.push_str(",eligible,regular,active_licensee_rate,modules_licensed,modules_in_use,module_utilization,users_to_target,success,suppressed\n");

    let mut t = monday(from.0, from.1);
    let last = monday(to.0, to.1);
    while t <= last {
        let sunday = t + Duration::days(6);
        let licensed: Vec<&Module> = licensed_on(data, sunday);
        let window_start = t - Duration::weeks(p.window - 1);
        for seg in &segments {
            let members: Vec<&User> = eligible_members(data, dims, seg, sunday);
            let n = members.len() as i64;
            let mut regular = 0i64;
            let mut module_users: BTreeMap<&str, i64> = BTreeMap::new();
            for u in &members {
                let e = eligible_from(u);
                let mut eligible_weeks = 0;
                let mut active_weeks = 0;
                for i in 0..p.window {
                    let wm = window_start + Duration::weeks(i);
                    let ws = wm + Duration::days(6);
                    if ws < e {
                        continue;
                    }
                    eligible_weeks += 1;
                    let active = counted
                        .get(u.id.as_str())
                        .is_some_and(|ev| ev.iter().any(|(d, _)| *d >= wm && *d <= ws));
                    if active {
                        active_weeks += 1;
                    }
                }
                if active_weeks >= p.min_active.min(eligible_weeks) {
                    regular += 1;
                }
                for m in &licensed {
                    let used = counted.get(u.id.as_str()).is_some_and(|ev| {
                        ev.iter().any(|(d, module)| {
                            *module == m.id && week_monday(*d) >= window_start && *d <= sunday
                        })
                    });
                    if used {
                        *module_users.entry(&m.id).or_default() += 1;
                    }
                }
            }
            let needed = ((p.theta.0 as i128 * n as i128 + p.theta.1 as i128 - 1)
                / p.theta.1 as i128)
                .max(1) as i64;
            let in_use = licensed
                .iter()
                .filter(|m| module_users.get(m.id.as_str()).copied().unwrap_or(0) >= needed)
                .count() as i64;
            let l = licensed.len() as i64;
            out.push_str(&label(t));
            for v in seg {
                out.push(',');
                if v.contains([',', '"', '\n', '\r']) {
                    out.push_str(&format!("\"{}\"", v.replace('"', "\"\"")));
                } else {
                    out.push_str(v);
                }
            }
            if n < p.k {
                out.push_str(",,,,,,,,,true\n");
            } else {
                let alr = if n > 0 {
                    rate(regular, n)
                } else {
                    String::new()
                };
                let mu = if l > 0 {
                    rate(in_use, l)
                } else {
                    String::new()
                };
                let to_target = (p.alr_target.0 * n / p.alr_target.1 + 1 - regular).max(0);
                let success = n > 0
                    && regular * p.alr_target.1 > p.alr_target.0 * n
                    && l > 0
                    && in_use * p.mu_target.1 > p.mu_target.0 * l;
                out.push_str(&format!(
                    ",{n},{regular},{alr},{l},{in_use},{mu},{to_target},{success},false\n"
                ));
            }
        }
        t += Duration::weeks(1);
    }
    out
}

/// The `modules` table as CSV: one row per week, segment and licensed module.
pub fn modules_csv(
    data: &Data,
    p: &Params,
    dims: &[&str],
    from: (i32, u32),
    to: (i32, u32),
) -> String {
    let counted = counted_events(data, p);
    let segments: BTreeSet<Vec<String>> = data.users.iter().map(|u| segment_of(u, dims)).collect();
    let mut out = String::from("week");
    for d in dims {
        out.push_str(&format!(",{d}"));
    }
    out.push_str(",module,module_name,monthly_cost_per_user,eligible,module_users,module_adoption,in_use,inactive_licensees,idle_license_cost,suppressed\n");
    let cents = |c: i64| format!("{}.{:02}", c / 100, c % 100);
    let mut t = monday(from.0, from.1);
    while t <= monday(to.0, to.1) {
        let sunday = t + Duration::days(6);
        let window_start = t - Duration::weeks(p.window - 1);
        let mut licensed: Vec<&Module> = licensed_on(data, sunday);
        licensed.sort_by(|a, b| a.id.cmp(&b.id));
        let seat_cost: i64 = licensed.iter().map(|m| m.cost_cents.unwrap_or(0)).sum();
        for seg in &segments {
            let members: Vec<&User> = eligible_members(data, dims, seg, sunday);
            let n = members.len() as i64;
            let in_window = |u: &User, module: Option<&str>| {
                counted.get(u.id.as_str()).is_some_and(|ev| {
                    ev.iter().any(|(d, m)| {
                        module.is_none_or(|x| x == *m) && *d >= window_start && *d <= sunday
                    })
                })
            };
            let inactive = members.iter().filter(|u| !in_window(u, None)).count() as i64;
            for m in &licensed {
                let users = members.iter().filter(|u| in_window(u, Some(&m.id))).count() as i64;
                let needed = ((p.theta.0 * n + p.theta.1 - 1) / p.theta.1).max(1);
                out.push_str(&label(t));
                for v in seg {
                    out.push(',');
                    out.push_str(&uptake::kpi::table::csv_field(v));
                }
                let cost = m.cost_cents.map(cents).unwrap_or_default();
                out.push_str(&format!(",{},Module {},{cost}", m.id, m.id));
                if n < p.k {
                    out.push_str(",,,,,,,true\n");
                } else {
                    let adoption = if n > 0 { rate(users, n) } else { String::new() };
                    out.push_str(&format!(
                        ",{n},{users},{adoption},{},{inactive},{},false\n",
                        users >= needed,
                        cents(inactive * seat_cost)
                    ));
                }
            }
        }
        t += Duration::weeks(1);
    }
    out
}
