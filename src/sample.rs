//! A deterministic generator of realistic rollout data in the import
//! formats: waves.csv, directory.csv, modules.csv and events/*.parquet.
//!
//! It models what a rollout looks like: an org chart of six regions, eight
//! departments and teams of 3 to 40 licensees (median about 9, about 5% of
//! teams below the minimum group size), a pilot wave of about 20% of users
//! from every region, later waves region by region with staggered go-lives,
//! adoption rising over the weeks after go-live, lagging teams, new
//! hires and leavers, a module licensed later, weekday rhythm with little
//! weekend use, training use before go-live, login/logout noise, 10-40
//! events per active user-day, and a few events of unknown users and
//! modules.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use datafusion::arrow::array::{RecordBatch, StringBuilder, TimestampMicrosecondArray};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::model::Week;
use crate::store::files::ParquetFile;
use crate::store::input::event_schema;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// What to generate.
#[derive(Debug, Clone, clap::Args)]
pub struct SampleArgs {
    /// Number of licensees.
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    /// Number of weeks of events.
    #[arg(long, default_value_t = 20)]
    pub weeks: u32,
    /// Seed: the same seed gives the same files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First week of events.
    #[arg(long, default_value = "2026-W36")]
    pub start: Week,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Events per Parquet file.
    #[arg(long, default_value_t = 1_000_000)]
    pub events_per_file: usize,
}

/// What was generated.
#[derive(Debug, Default)]
pub struct Summary {
    pub users: usize,
    pub events: u64,
    pub files: Vec<PathBuf>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "generated {} licensees and {} events in {} event files",
            self.users,
            self.events,
            self.files.len()
        )
    }
}

/// Regions with their code and share of the organisation.
const REGIONS: [(&str, &str, u32); 6] = [
    ("DACH", "DE", 30),
    ("Nordics", "NO", 15),
    ("Benelux", "BX", 15),
    ("France", "FR", 15),
    ("UK & Ireland", "UK", 15),
    ("Iberia", "IB", 10),
];
/// The regions' names in German, French, Spanish, Danish and Dutch
/// (`[region_names]`), for the demo; English readers see the id.
const REGION_NAMES: [(&str, [&str; 5]); 6] = [
    ("DACH", ["DACH", "DACH", "DACH", "DACH", "DACH"]),
    (
        "Nordics",
        [
            "Nordische Länder",
            "Pays nordiques",
            "Países nórdicos",
            "Norden",
            "Noordse landen",
        ],
    ),
    (
        "Benelux",
        ["Benelux", "Benelux", "Benelux", "Benelux", "Benelux"],
    ),
    (
        "France",
        ["Frankreich", "France", "Francia", "Frankrig", "Frankrijk"],
    ),
    (
        "UK & Ireland",
        [
            "Vereinigtes Königreich & Irland",
            "Royaume-Uni et Irlande",
            "Reino Unido e Irlanda",
            "Storbritannien & Irland",
            "VK & Ierland",
        ],
    ),
    (
        "Iberia",
        [
            "Iberien",
            "Ibérie",
            "Península Ibérica",
            "Iberien",
            "Iberië",
        ],
    ),
];

/// The languages of the names of [`REGION_NAMES`] and [`MODULE_NAMES`],
/// in the order of the `name_<lang>` columns.
const NAME_LANGS: [crate::model::Lang; 5] = [
    crate::model::Lang::De,
    crate::model::Lang::Fr,
    crate::model::Lang::Es,
    crate::model::Lang::Da,
    crate::model::Lang::Nl,
];

/// The demo regions' names in other languages, as `[region_names]` gives
/// them.
pub fn region_names() -> std::collections::BTreeMap<String, crate::model::tables::Names> {
    REGION_NAMES
        .iter()
        .map(|(id, names)| {
            let names = NAME_LANGS
                .iter()
                .zip(names)
                .map(|(lang, name)| (*lang, name.to_string()))
                .collect();
            (id.to_string(), names)
        })
        .collect()
}

/// Departments with their code and share of the organisation.
const DEPARTMENTS: [(&str, &str, u32); 8] = [
    ("Sales", "SAL", 25),
    ("Service", "SRV", 20),
    ("Marketing", "MKT", 10),
    ("Inside Sales", "INS", 12),
    ("Key Accounts", "KAM", 10),
    ("Field Service", "FSV", 10),
    ("Partner Management", "PRT", 5),
    ("Customer Success", "CSM", 8),
];
/// Share of teams that lag behind whatever their wave.
const LAGGING_TEAMS: f64 = 0.08;

/// A team of the generated org chart.
struct Team {
    region: usize,
    department: usize,
    name: String,
    size: usize,
    lagging: bool,
    /// The whole team is in the pilot (shapes whose pilot is by team).
    pilot: bool,
}

/// What kind of rollout to generate.
struct Shape {
    /// Share of teams below the minimum group size (3 or 4 licensees).
    small_teams: f64,
    /// Median size of the other teams, and the smallest and largest.
    team_median: f64,
    team_sizes: (usize, usize),
    /// Waves (id, name, go-live), the pilot first: about 20% of each
    /// region's licensees are in the pilot, the others in their region's
    /// wave.
    waves: Vec<(&'static str, &'static str, NaiveDate)>,
    /// The pilot is whole teams (about one in five), not about one in
    /// five of each team.
    pilot_teams: bool,
    /// The wave of each region of [`REGIONS`].
    region_wave: [usize; 6],
    /// How much each wave's licensees use the CRM, relative to usual (a
    /// wave that lags has less than 1).
    wave_use: Vec<f64>,
    /// No event after this time (microseconds since the epoch).
    until: Option<i64>,
}

impl Shape {
    /// An organisation as large companies have one (what `uptake sample`
    /// and `uptake bench` generate): teams of 3 to 40, median about 9,
    /// about 5% below the minimum group size; the pilot a week after
    /// `start`, then four waves region by region.
    fn organisation(start: NaiveDate) -> Shape {
        let week = |w: i64| start + Duration::weeks(w);
        Shape {
            small_teams: 0.053,
            team_median: 9.5,
            team_sizes: (5, 40),
            waves: vec![
                ("W0", "Pilot", week(1)),
                ("W1", "Wave 1 DACH", week(4)),
                (
                    "W2",
                    "Wave 2 Nordics & Benelux",
                    week(7) + Duration::days(2),
                ),
                ("W3", "Wave 3 France, UK & Ireland", week(10)),
                ("W4", "Wave 4 Iberia", week(13)),
            ],
            region_wave: [1, 2, 2, 3, 3, 4],
            pilot_teams: false,
            wave_use: vec![1.0; 5],
            until: None,
        }
    }

    /// The demo's rollout as it stands at `now`: the pilot (whole teams,
    /// as pilots usually are) went live 14 weeks ago and three waves
    /// followed it or will (7 and 4 weeks ago, in 3 weeks); the first
    /// passes its targets in the last complete week (so that the week's
    /// reports have a highlight), the second lags, and teams of 6 to 25
    /// are large enough to be shown.
    fn demo(now: chrono::DateTime<chrono::Utc>) -> Shape {
        let this_week = Week::containing(now.date_naive());
        let monday = |w: i32| this_week.offset(w).monday();
        Shape {
            small_teams: 0.0,
            team_median: 12.0,
            team_sizes: (6, 25),
            waves: vec![
                ("W0", "Pilot", monday(-14)),
                ("W1", "Wave 1 DACH & Nordics", monday(-7)),
                (
                    "W2",
                    "Wave 2 Benelux & France",
                    monday(-4) + Duration::days(2),
                ),
                ("W3", "Wave 3 UK & Ireland, Iberia", monday(3)),
            ],
            region_wave: [1, 1, 2, 2, 3, 3],
            pilot_teams: true,
            wave_use: vec![1.1, 1.12, 0.55, 1.0],
            until: Some(now.timestamp_micros()),
        }
    }
}

/// An org chart of `users` licensees: teams of the shape's sizes nested
/// in departments and regions, drawn by the regions' and departments'
/// shares.
fn org_chart(users: usize, shape: &Shape, rng: &mut ChaCha8Rng) -> Vec<Team> {
    let pick = |rng: &mut ChaCha8Rng, weights: &[u32]| {
        let mut n = rng.random_range(0..weights.iter().sum::<u32>());
        weights
            .iter()
            .position(|w| {
                if n < *w {
                    true
                } else {
                    n -= w;
                    false
                }
            })
            .unwrap_or(0)
    };
    let region_weights: Vec<u32> = REGIONS.iter().map(|r| r.2).collect();
    let department_weights: Vec<u32> = DEPARTMENTS.iter().map(|d| d.2).collect();
    let mut numbers = std::collections::HashMap::new();
    let mut teams = Vec::new();
    let mut seats = 0;
    while seats < users {
        let region = pick(rng, &region_weights);
        let department = pick(rng, &department_weights);
        let size = if rng.random_bool(shape.small_teams) {
            rng.random_range(3..=4)
        } else {
            // Log-normal around the median: with 9.5, most teams 6 to 15,
            // a few up to 40.
            let z: f64 = (0..12).map(|_| rng.random::<f64>()).sum::<f64>() - 6.0;
            let (least, most) = shape.team_sizes;
            ((shape.team_median.ln() + 0.45 * z).exp().round() as usize).clamp(least, most)
        };
        let size = size.min(users - seats).max(1);
        let number = numbers.entry((region, department)).or_insert(0);
        *number += 1;
        let (code, dept) = (REGIONS[region].1, DEPARTMENTS[department].1);
        let name = if DEPARTMENTS[department].0 == "Key Accounts" {
            // A name with a comma, as real team names have.
            format!("Key Accounts, {code} {number:02}")
        } else if DEPARTMENTS[department].0 == "Marketing" && *number == 1 {
            // People of a department in no team.
            String::new()
        } else {
            format!("{code}-{dept}-{number:02}")
        };
        teams.push(Team {
            region,
            department,
            name,
            size,
            lagging: rng.random_bool(LAGGING_TEAMS),
            pilot: shape.pilot_teams && rng.random_bool(0.2),
        });
        seats += size;
    }
    teams
}

/// (id, name, licensed from (weeks after start), monthly cost, popularity)
const MODULES: [(&str, &str, i64, &str, u32); 8] = [
    ("accounts", "Accounts", -20, "12.50", 10),
    ("contacts", "Contacts", -20, "8.00", 9),
    ("opportunities", "Opportunities", -20, "15.00", 6),
    ("activities", "Activities", -20, "5.25", 7),
    ("cases", "Service Cases", -20, "11.00", 4),
    ("campaigns", "Campaigns", -20, "", 2),
    ("quotes", "Quotes & Pricing", 8, "9.90", 3),
    ("forecasting", "Forecasting", -20, "19.99", 1),
];
/// The modules' names in German, French, Spanish, Danish and Dutch, in
/// the order of [`MODULES`].
const MODULE_NAMES: [[&str; 5]; 8] = [
    ["Kunden", "Comptes", "Cuentas", "Firmaer", "Bedrijven"],
    [
        "Kontakte",
        "Contacts",
        "Contactos",
        "Kontakter",
        "Contactpersonen",
    ],
    [
        "Verkaufschancen",
        "Opportunités",
        "Oportunidades",
        "Salgsmuligheder",
        "Verkoopkansen",
    ],
    [
        "Aktivitäten",
        "Activités",
        "Actividades",
        "Aktiviteter",
        "Activiteiten",
    ],
    [
        "Servicefälle",
        "Demandes de service",
        "Casos de servicio",
        "Servicesager",
        "Servicezaken",
    ],
    [
        "Kampagnen",
        "Campagnes",
        "Campañas",
        "Kampagner",
        "Campagnes",
    ],
    [
        "Angebote & Preise",
        "Devis et tarifs",
        "Ofertas y precios",
        "Tilbud & priser",
        "Offertes & prijzen",
    ],
    [
        "Prognosen",
        "Prévisions",
        "Previsiones",
        "Prognoser",
        "Prognoses",
    ],
];
const ACTIONS: [&str; 4] = ["view", "view", "update", "create"];
const CLIENTS: [&str; 3] = ["web", "mobile", "outlook"];

struct User {
    id: String,
    /// Index into the org chart.
    team: usize,
    wave: usize,
    license_start: NaiveDate,
    license_end: Option<NaiveDate>,
    /// Share of workdays the user uses the CRM once fully adopted.
    propensity: f64,
    /// Weeks after go-live until full adoption.
    ramp_weeks: f64,
    modules: Vec<usize>,
}

fn io<T>(path: &Path, r: std::io::Result<T>) -> Result<T, Error> {
    r.map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Generates a data set; the same arguments give the same bytes.
pub fn generate(args: &SampleArgs) -> Result<Summary, Error> {
    if args.users < 10 || args.weeks == 0 {
        return Err(Error::Invalid(
            "--users must be at least 10 and --weeks at least 1".into(),
        ));
    }
    let start = args.start.monday();
    let shape = Shape::organisation(start);
    write(args, &shape)
}

/// Licensees of the demo.
pub const DEMO_USERS: usize = 3_000;

/// Generates the demo's rollout into `out` as it stands at `now`: about
/// 3,000 licensees in teams of 6 to 25, events from the pilot's go-live
/// 14 weeks ago up to `now` and none after it, four waves (the last still
/// ahead), one of them lagging; Quotes & Pricing licensed 6 weeks ago,
/// Forecasting hardly used. The same `seed` and week of `now` give the
/// same licensees and waves.
pub fn demo(out: &Path, seed: u64, now: chrono::DateTime<chrono::Utc>) -> Result<Summary, Error> {
    let weeks = 15;
    let args = SampleArgs {
        users: DEMO_USERS,
        weeks,
        seed,
        start: Week::containing(now.date_naive()).offset(-(weeks as i32 - 1)),
        out: out.to_path_buf(),
        events_per_file: 1_000_000,
    };
    write(&args, &Shape::demo(now))
}

/// Writes a rollout of `shape`.
fn write(args: &SampleArgs, shape: &Shape) -> Result<Summary, Error> {
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let start = args.start.monday();
    let week = |w: i64| start + Duration::weeks(w);
    let waves = &shape.waves;
    let span_days = args.weeks as i64 * 7;
    let teams = org_chart(args.users, shape, &mut rng);
    let mut users = Vec::with_capacity(args.users);
    for (t, team) in teams.iter().enumerate() {
        for _ in 0..team.size {
            let i = users.len();
            let region = team.region;
            let wave = if team.pilot || (!shape.pilot_teams && rng.random_bool(0.2)) {
                0
            } else {
                shape.region_wave[region]
            };
            let new_hire = rng.random_bool(0.08);
            let license_start = if new_hire {
                start + Duration::days(rng.random_range(0..span_days))
            } else {
                start - Duration::days(rng.random_range(7..120))
            };
            let license_end = rng
                .random_bool(0.05)
                .then(|| start + Duration::days(rng.random_range(14..span_days.max(15))))
                .filter(|end| *end >= license_start);
            let lagging = team.lagging
                || (DEPARTMENTS[team.department].0 == "Marketing" && REGIONS[region].0 == "Iberia");
            // Chance of using the CRM on a workday once adopted: most users
            // settle between occasional and daily use, some never take to it,
            // and lagging teams mostly do not.
            let propensity = if lagging {
                rng.random_range(0.03..0.3)
            } else if rng.random_bool(0.15) {
                rng.random_range(0.0..0.08)
            } else {
                rng.random_range(0.2..0.9)
            } * shape.wave_use[wave];
            let mut modules: Vec<usize> = Vec::new();
            for (m, module) in MODULES.iter().enumerate() {
                if rng.random_range(0..12) < module.4 {
                    modules.push(m);
                }
            }
            if modules.is_empty() {
                modules.push(0);
            }
            users.push(User {
                id: format!("u{:06}", i + 1),
                team: t,
                wave,
                license_start,
                license_end,
                propensity,
                ramp_weeks: rng.random_range(1.0..8.0),
                modules,
            });
        }
    }

    let out = &args.out;
    io(out, std::fs::create_dir_all(out.join("events")))?;
    let mut text = String::from("wave_id,name,go_live\n");
    for (id, name, go) in waves {
        text.push_str(&format!(
            "{id},{},{go}\n",
            crate::model::output::csv_field(name)
        ));
    }
    io(out, std::fs::write(out.join("waves.csv"), text))?;
    let mut text = String::from("user_id,region,department,team,wave,license_start,license_end\n");
    for u in &users {
        let team = &teams[u.team];
        text.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            u.id,
            crate::model::output::csv_field(REGIONS[team.region].0),
            DEPARTMENTS[team.department].0,
            crate::model::output::csv_field(&team.name),
            waves[u.wave].0,
            u.license_start,
            u.license_end.map(|d| d.to_string()).unwrap_or_default()
        ));
    }
    io(out, std::fs::write(out.join("directory.csv"), text))?;
    let mut text = String::from(
        "module_id,name,licensed_from,licensed_until,monthly_cost_per_user,name_de,name_fr,name_es,name_da,name_nl\n",
    );
    for ((id, name, from, cost, _), names) in MODULES.iter().zip(MODULE_NAMES) {
        let names: Vec<String> = names
            .iter()
            .map(|n| crate::model::output::csv_field(n))
            .collect();
        text.push_str(&format!(
            "{id},{},{},,{cost},{}\n",
            crate::model::output::csv_field(name),
            week(*from),
            names.join(",")
        ));
    }
    io(out, std::fs::write(out.join("modules.csv"), text))?;

    let mut writer = EventWriter::new(out.join("events"), args.events_per_file, shape.until);
    for day in 0..span_days {
        let date = start + Duration::days(day);
        let weekend = day % 7 >= 5;
        let day_start_micros = date
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_micros())
            .unwrap_or_default();
        if shape.until.is_some_and(|until| day_start_micros > until) {
            break;
        }
        for u in &users {
            if date < u.license_start || u.license_end.is_some_and(|e| date > e) {
                continue;
            }
            let go_live = waves[u.wave].2;
            let weeks_live = (date - go_live).num_days() as f64 / 7.0;
            let mut p = if weeks_live < 0.0 {
                // training before go-live: rare, and never counted
                0.03
            } else {
                u.propensity * ((weeks_live + 1.0) / u.ramp_weeks).min(1.0)
            };
            if weekend {
                p *= 0.04;
            }
            if !rng.random_bool(p.clamp(0.0, 1.0)) {
                continue;
            }
            let n = rng.random_range(10..=40);
            // working hours in UTC, with a tail into the late evening
            let mut t = day_start_micros + rng.random_range(6 * 3600..10 * 3600) * 1_000_000;
            writer.push(t, &u.id, MODULES[u.modules[0]].0, "login", "web");
            for _ in 0..n - 2 {
                t += rng.random_range(10..1200) * 1_000_000;
                let module = MODULES[u.modules[rng.random_range(0..u.modules.len())]];
                if day < module.2 * 7 {
                    continue;
                }
                let action = ACTIONS[rng.random_range(0..ACTIONS.len())];
                let client = CLIENTS[rng.random_range(0..CLIENTS.len())];
                writer.push(t, &u.id, module.0, action, client);
            }
            writer.push(
                t + 60_000_000,
                &u.id,
                MODULES[u.modules[0]].0,
                "logout",
                "web",
            );
        }
        // a contractor not in the directory and a retired module
        if day % 3 == 0 {
            let t = day_start_micros + 9 * 3600 * 1_000_000;
            writer.push(t, "x-contractor-7", "accounts", "view", "web");
            writer.push(t + 5_000_000, &users[0].id, "legacy-reports", "view", "web");
        }
        writer.flush_if_full()?;
    }
    let files = writer.finish()?;
    Ok(Summary {
        users: users.len(),
        events: files.1,
        files: files.0,
    })
}

/// Writes generated events to numbered Parquet files.
struct EventWriter {
    dir: PathBuf,
    per_file: usize,
    time: Vec<i64>,
    user: StringBuilder,
    module: StringBuilder,
    action: StringBuilder,
    client: StringBuilder,
    files: Vec<PathBuf>,
    events: u64,
    /// Events after this time are left out.
    until: i64,
}

impl EventWriter {
    fn new(dir: PathBuf, per_file: usize, until: Option<i64>) -> Self {
        EventWriter {
            dir,
            per_file,
            until: until.unwrap_or(i64::MAX),
            time: Vec::new(),
            user: StringBuilder::new(),
            module: StringBuilder::new(),
            action: StringBuilder::new(),
            client: StringBuilder::new(),
            files: Vec::new(),
            events: 0,
        }
    }

    fn push(&mut self, t: i64, user: &str, module: &str, action: &str, client: &str) {
        if t > self.until {
            return;
        }
        self.time.push(t);
        self.user.append_value(user);
        self.module.append_value(module);
        self.action.append_value(action);
        self.client.append_value(client);
    }

    fn flush_if_full(&mut self) -> Result<(), Error> {
        if self.time.len() >= self.per_file {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        if self.time.is_empty() {
            return Ok(());
        }
        let path = self
            .dir
            .join(format!("events-{:05}.parquet", self.files.len() + 1));
        let batch = RecordBatch::try_new(
            event_schema(),
            vec![
                Arc::new(
                    TimestampMicrosecondArray::from(std::mem::take(&mut self.time))
                        .with_timezone("UTC"),
                ),
                Arc::new(self.user.finish()),
                Arc::new(self.module.finish()),
                Arc::new(self.action.finish()),
                Arc::new(self.client.finish()),
            ],
        )
        .map_err(|e| Error::Invalid(e.to_string()))?;
        self.events += batch.num_rows() as u64;
        let mut file = ParquetFile::create(&path, event_schema())?;
        file.write(&batch, &path)?;
        file.finish(&path)?;
        self.files.push(path);
        Ok(())
    }

    fn finish(mut self) -> Result<(Vec<PathBuf>, u64), Error> {
        self.flush()?;
        Ok((self.files, self.events))
    }
}
