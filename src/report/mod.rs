//! PDF reports as data: `reports/*.toml` name a report's title, audience,
//! language, segment filter and breakdown, sections, and optionally a
//! schedule and where it is delivered. [`content`] computes a report's
//! figures, [`pdf`] typesets them with typst into a PDF.

pub mod content;
pub mod cron;
pub mod pdf;

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::i18n::Lang;
use crate::kpi::{self, Dimension, Filter};

pub use content::{AlertLine, Content, Inputs, behind_sentence, build};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read reports from {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("report {file}: {message}")]
    Invalid { file: String, message: String },
    #[error("no report named '{0}' (see `uptake report list`)")]
    Unknown(String),
    #[error(transparent)]
    Kpi(#[from] kpi::Error),
    #[error(transparent)]
    Chart(#[from] crate::chart::Error),
    #[error("cannot typeset the report: {0}")]
    Typeset(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a report can show, in the order given by its `sections`.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// Both KPIs of the scope against their targets, and the breakdown
    /// table for the week.
    Summary,
    /// Segments that passed a target since the previous report.
    Highlights,
    /// Both KPIs of the scope over the report's weeks.
    Trend,
    /// Active licensee rate per wave by weeks since go-live.
    AdoptionCurve,
    /// Segments below a target, most users to target first.
    Lagging,
    /// Module adoption of the scope, and by the breakdown.
    Modules,
    /// The forecast by the breakdown (by wave without one), labelled as
    /// a forecast; against `target_week` when the report names one.
    Forecast,
    /// The alerts on for the readers' scope within the report's filter.
    Alerts,
}

impl Section {
    pub const ALL: [Section; 8] = [
        Section::Summary,
        Section::Highlights,
        Section::Trend,
        Section::AdoptionCurve,
        Section::Lagging,
        Section::Modules,
        Section::Forecast,
        Section::Alerts,
    ];
}

/// When a report is sent.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDef {
    /// A cron expression in the organisation's time zone: five fields
    /// (minute hour day-of-month month day-of-week), or six with seconds
    /// first. Days of the week are written as names (MON-FRI).
    pub cron: String,
    /// After downtime, send the latest missed run once (true), or skip
    /// missed runs (false).
    #[serde(default = "yes")]
    pub catch_up: bool,
    /// The IANA zone the cron (and the report's last complete week) is
    /// read in; default the organisation's `timezone`.
    #[serde(default)]
    pub timezone: Option<String>,
}

impl ScheduleDef {
    /// The zone of the schedule: its own, else the organisation's.
    pub fn tz(&self, settings: &crate::config::Settings) -> Result<chrono_tz::Tz, String> {
        match &self.timezone {
            Some(zone) => zone
                .parse()
                .map_err(|_| format!("'{zone}' is not an IANA time zone name (e.g. Asia/Tokyo)")),
            None => settings.tz().map_err(|e| e.to_string()),
        }
    }
}

fn yes() -> bool {
    true
}

/// One place a report or alert goes: exactly one of the fields.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// A folder the PDF (an alert's notice as JSON) is written to
    /// (relative to the working directory).
    pub folder: Option<PathBuf>,
    /// E-mail recipients; the PDF is attached.
    pub email: Option<Vec<String>>,
    /// A URL the report is POSTed to as JSON, the PDF base64-encoded.
    pub webhook: Option<String>,
    /// A Microsoft Teams incoming webhook or Workflows URL: an Adaptive
    /// Card, the PDF as a signed link.
    pub teams: Option<String>,
    /// A Slack incoming webhook URL: Block Kit blocks, the PDF as a signed
    /// link.
    pub slack: Option<String>,
}

impl Target {
    /// A stable name of the target, as shown in the run log.
    pub fn name(&self) -> String {
        if let Some(f) = &self.folder {
            return format!("folder:{}", f.display());
        }
        if let Some(to) = &self.email {
            return format!("email:{}", to.join(","));
        }
        for (kind, url) in [
            ("webhook", &self.webhook),
            ("teams", &self.teams),
            ("slack", &self.slack),
        ] {
            if let Some(url) = url {
                return format!("{kind}:{url}");
            }
        }
        String::new()
    }
}

/// Checks `[[deliver]]` targets: exactly one kind each, addresses that
/// parse, http(s) URLs.
pub fn check_targets(targets: &[Target]) -> Result<(), String> {
    for (i, t) in targets.iter().enumerate() {
        let n = i + 1;
        let set = [
            t.folder.is_some(),
            t.email.is_some(),
            t.webhook.is_some(),
            t.teams.is_some(),
            t.slack.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            return Err(format!(
                "deliver #{n}: give exactly one of folder, email, webhook, teams, slack"
            ));
        }
        if let Some(to) = &t.email {
            if to.is_empty() {
                return Err(format!("deliver #{n}: no recipients"));
            }
            for a in to {
                a.parse::<lettre::Address>()
                    .map_err(|e| format!("deliver #{n}: e-mail address '{a}': {e}"))?;
            }
        }
        for (kind, url) in [
            ("webhook", &t.webhook),
            ("teams", &t.teams),
            ("slack", &t.slack),
        ] {
            if let Some(url) = url
                && (!(url.starts_with("http://") || url.starts_with("https://"))
                    || url.parse::<axum::http::Uri>().is_err())
            {
                return Err(format!(
                    "deliver #{n}: {kind} '{url}' is not an http:// or https:// URL"
                ));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    title: crate::dashboard::Text,
    #[serde(default)]
    audience: String,
    language: String,
    #[serde(default)]
    by: String,
    #[serde(default)]
    filter: FilterDef,
    #[serde(default = "default_weeks")]
    weeks: u32,
    sections: Vec<Section>,
    #[serde(default = "default_lagging_by")]
    lagging_by: String,
    #[serde(default = "default_lagging_limit")]
    lagging_limit: usize,
    /// The week the forecast section measures the targets against.
    target_week: Option<String>,
    schedule: Option<ScheduleDef>,
    #[serde(default)]
    deliver: Vec<Target>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterDef {
    region: Option<String>,
    department: Option<String>,
    wave: Option<String>,
}

fn default_weeks() -> u32 {
    12
}
fn default_lagging_by() -> String {
    "region,department,team".into()
}
fn default_lagging_limit() -> usize {
    20
}

/// A checked report definition.
#[derive(Debug, Clone)]
pub struct Report {
    /// The file name without `.toml`.
    pub name: String,
    /// The title in the report's language.
    pub title: String,
    /// The title in each language given (`title = { en = "...", fr = "..." }`).
    pub titles: crate::dashboard::Text,
    pub audience: String,
    pub lang: Lang,
    /// Breakdown of the summary table, the highlights and the module heat
    /// map.
    pub by: Vec<Dimension>,
    pub filter: Filter,
    /// Weeks of the trend and the adoption curve, ending with the week.
    pub weeks: u32,
    pub sections: Vec<Section>,
    pub lagging_by: Vec<Dimension>,
    pub lagging_limit: usize,
    /// The week the forecast section's targets should be passed by.
    pub target_week: Option<crate::model::Week>,
    pub schedule: Option<ScheduleDef>,
    pub deliver: Vec<Target>,
    /// The subscription this report runs for (made on the pages), if any.
    pub subscription: Option<String>,
}

impl Report {
    /// The report as it is rendered for readers of `lang`: its words, its
    /// title in that language (else in English).
    pub fn in_language(&self, lang: Lang) -> Report {
        Report {
            title: self.titles.get(lang).to_string(),
            lang,
            ..self.clone()
        }
    }
}

/// Reports bundled with uptake, used when `./reports` does not exist.
const BUNDLED: [(&str, &str); 2] = [
    (
        "steering-weekly",
        include_str!("../../reports/steering-weekly.toml"),
    ),
    (
        "wave-campaign-de",
        include_str!("../../reports/wave-campaign-de.toml"),
    ),
];

/// Parses and checks one report definition.
pub fn parse(name: &str, text: &str) -> Result<Report> {
    let file = format!("{name}.toml");
    let invalid = |message: String| Error::Invalid {
        file: file.clone(),
        message,
    };
    crate::config::check_definition_name(name).map_err(invalid)?;
    let f: File = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    let lang =
        Lang::read(&f.language).map_err(|e| invalid(format!("language '{}': {e}", f.language)))?;
    let by = kpi::parse_dimensions(&f.by).map_err(|e| invalid(format!("by: {e}")))?;
    let lagging_by =
        kpi::parse_dimensions(&f.lagging_by).map_err(|e| invalid(format!("lagging_by: {e}")))?;
    if f.sections.is_empty() {
        return Err(invalid("sections: name at least one section".into()));
    }
    if f.weeks == 0 || f.weeks > 104 {
        return Err(invalid(format!("weeks = {}: give 1 to 104 weeks", f.weeks)));
    }
    if Lang::ALL.iter().any(|l| f.title.get(*l).trim().is_empty()) {
        return Err(invalid("title is empty".into()));
    }
    check_targets(&f.deliver).map_err(invalid)?;
    if let Some(s) = &f.schedule {
        cron::parse(&s.cron).map_err(|e| invalid(format!("schedule: {e}")))?;
        if s.timezone.is_some() {
            s.tz(&Default::default())
                .map_err(|e| invalid(format!("schedule.timezone: {e}")))?;
        }
        if f.deliver.is_empty() {
            return Err(invalid(
                "schedule: a scheduled report needs at least one [[deliver]] target".into(),
            ));
        }
    }
    let target_week = f
        .target_week
        .as_deref()
        .map(|w| {
            w.parse::<crate::model::Week>()
                .map_err(|e| invalid(format!("target_week: {e}")))
        })
        .transpose()?;
    let clean = |v: Option<String>| v.filter(|v| !v.is_empty());
    Ok(Report {
        name: name.to_string(),
        title: f.title.get(lang).to_string(),
        titles: f.title,
        audience: f.audience,
        lang,
        by,
        filter: Filter {
            region: clean(f.filter.region),
            department: clean(f.filter.department),
            wave: clean(f.filter.wave),
        },
        weeks: f.weeks,
        sections: f.sections,
        lagging_by,
        lagging_limit: f.lagging_limit,
        target_week,
        schedule: f.schedule,
        deliver: f.deliver,
        subscription: None,
    })
}

/// Loads `dir/*.toml` (or the bundled reports without a directory), sorted
/// by name.
pub fn load(dir: Option<&Path>) -> Result<Vec<Report>> {
    let mut reports = Vec::new();
    match dir {
        None => {
            for (name, text) in BUNDLED {
                reports.push(parse(name, text)?);
            }
        }
        Some(dir) => {
            let files = crate::config::definition_files(dir)
                .map_err(|(path, source)| Error::Io { path, source })?;
            for (name, text) in files {
                reports.push(parse(&name, &text)?);
            }
        }
    }
    reports.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(reports)
}

/// Computes and typesets a report: the PDF and the content it shows.
pub async fn render(report: &Report, inputs: &Inputs<'_>) -> Result<(pdf::Pdf, Content)> {
    let content = build(report, inputs).await?;
    let pdf = typeset(&content, inputs.generated).await?;
    Ok((pdf, content))
}

/// Typesets content on a blocking thread: typst is CPU-bound.
pub async fn typeset(
    content: &Content,
    generated: chrono::DateTime<chrono::Utc>,
) -> Result<pdf::Pdf> {
    let shared = content.clone();
    tokio::task::spawn_blocking(move || pdf::render(&shared, generated))
        .await
        .map_err(|e| Error::Typeset(e.to_string()))?
}

pub fn find<'a>(reports: &'a [Report], name: &str) -> Result<&'a Report> {
    reports
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| Error::Unknown(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_reports_parse() {
        let reports = load(None).expect("bundled");
        assert_eq!(reports.len(), BUNDLED.len());
        assert!(reports.iter().all(|r| !r.sections.is_empty()));
    }

    #[test]
    fn bad_definitions_are_named() {
        let base = "title = \"T\"\nlanguage = \"en\"\nsections = [\"summary\"]\n";
        parse("ok", base).expect("minimal");
        let cases = [
            (
                "title = \"T\"\nlanguage = \"pt\"\nsections = [\"summary\"]\n",
                "language 'pt': use en, de, fr, es, da, nl",
            ),
            (
                "title = { en = \"T\", pt = \"T\" }\nlanguage = \"en\"\nsections = [\"summary\"]\n",
                "unknown language 'pt'",
            ),
            (
                "title = { fr = \"T\" }\nlanguage = \"fr\"\nsections = [\"summary\"]\n",
                "needs its English",
            ),
            (
                "title = { en = \"T\", fr = \" \" }\nlanguage = \"en\"\nsections = [\"summary\"]\n",
                "title is empty",
            ),
            (
                "title = \"T\"\nlanguage = \"en\"\nsections = [\"pie\"]\n",
                "pie",
            ),
            (&format!("{base}by = \"country\"\n"), "by"),
            (
                &format!("{base}[schedule]\ncron = \"0 7 * * Mon\"\n"),
                "deliver",
            ),
            (
                &format!("{base}[schedule]\ncron = \"0 7 * * 1\"\n[[deliver]]\nfolder = \"x\"\n"),
                "day",
            ),
            (
                &format!("{base}[[deliver]]\nemail = [\"not an address\"]\n"),
                "e-mail",
            ),
            (
                &format!("{base}[[deliver]]\nfolder = \"x\"\nwebhook = \"http://h\"\n"),
                "exactly one",
            ),
            (
                &format!("{base}[[deliver]]\nwebhook = \"ftp://h\"\n"),
                "webhook",
            ),
            (
                &format!(
                    "{base}[schedule]\ncron = \"0 7 * * MON\"\ntimezone = \"Mars/Olympus\"\n[[deliver]]\nfolder = \"x\"\n"
                ),
                "Mars/Olympus",
            ),
            (&format!("{base}target_week = \"soon\"\n"), "target_week"),
            (
                &format!("{base}target_week = \"2027-W54\"\n"),
                "target_week",
            ),
        ];
        for (text, needle) in cases {
            let e = parse("r", text).expect_err(text).to_string();
            assert!(e.contains(needle) && e.contains("r.toml"), "{e}");
        }
        assert!(parse("../etc", base).is_err());
    }
}
