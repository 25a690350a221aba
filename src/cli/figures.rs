//! The figures on the command line: `uptake kpi`, `modules`, `lagging`,
//! `stats`.

use clap::Args;

use crate::config::Settings;
use crate::engine::Engine;
use crate::kpi::{self, Format, Request};
use crate::model::Week;
use crate::store::Store;

use super::{Error, Global, Result, open};

/// Arguments of the one-week reports.
#[derive(Debug, Args)]
pub struct WeekArgs {
    #[command(flatten)]
    pub segments: SegmentArgs,
    /// The week (default: last week with events).
    #[arg(long)]
    pub week: Option<Week>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// `uptake forecast`: a week's report and the week to pass the targets by.
#[derive(Debug, Args)]
pub struct ForecastArgs {
    #[command(flatten)]
    pub week: WeekArgs,
    /// The week the targets should be passed by (e.g. 2027-W10): each
    /// segment is then on track, at risk or behind, with what it must
    /// gain per week.
    #[arg(long)]
    pub target_week: Option<Week>,
}

#[derive(Debug, Args)]
pub struct SegmentArgs {
    /// Dimensions of a segment, comma separated: region, department, team,
    /// wave. Empty: the whole organisation.
    #[arg(long, default_value = "")]
    pub by: String,
    /// Only licensees of this region.
    #[arg(long)]
    pub region: Option<String>,
    /// Only licensees of this department.
    #[arg(long)]
    pub department: Option<String>,
    /// Only licensees of this wave (its id).
    #[arg(long)]
    pub wave: Option<String>,
}

impl SegmentArgs {
    fn filter(&self) -> kpi::Filter {
        kpi::Filter {
            region: self.region.clone().filter(|v| !v.is_empty()),
            department: self.department.clone().filter(|v| !v.is_empty()),
            wave: self.wave.clone().filter(|v| !v.is_empty()),
        }
    }
}

/// Settings, engine and request of a reporting command.
pub(super) async fn report(
    global: &Global,
    segments: &SegmentArgs,
    from: Option<Week>,
    to: Option<Week>,
) -> Result<(Settings, kpi::Source, Request)> {
    let settings = Settings::load(global.config.as_deref())?;
    let (store, source) = open(global, &settings).await?;
    let request = request(&store, &settings, segments, from, to)?;
    Ok((settings, source, request))
}

/// Settings, engine and request of a one-week report: `--week`, by default
/// the latest week ([`Settings::latest_week`]).
pub(super) async fn week_report(
    global: &Global,
    args: &WeekArgs,
) -> Result<(Settings, kpi::Source, Request)> {
    let settings = Settings::load(global.config.as_deref())?;
    let (store, source) = open(global, &settings).await?;
    let week = match args.week {
        Some(w) => Some(w),
        None => store
            .event_weeks(&settings)
            .map(|w| settings.latest_week(Some(w))),
    };
    let request = request(&store, &settings, &args.segments, week, week)?;
    Ok((settings, source, request))
}

/// The request of a reporting command; without `--from` the first week
/// with events (at most [`kpi::MAX_WEEKS`] before `--to`), without `--to`
/// the latest week ([`Settings::latest_week`]).
pub(super) fn request(
    store: &Store,
    settings: &Settings,
    segments: &SegmentArgs,
    from: Option<Week>,
    to: Option<Week>,
) -> Result<Request> {
    let dims = kpi::parse_dimensions(&segments.by)?;
    let stored = store.event_weeks(settings);
    let missing = || {
        Error::Usage(
            "no events are stored, so there is no default week: give the week(s) explicitly".into(),
        )
    };
    let to = match to {
        Some(w) => w,
        None => settings.latest_week(Some(stored.ok_or_else(missing)?)),
    };
    let from = match from {
        Some(w) => w,
        None => stored
            .ok_or_else(missing)?
            .0
            .max(to.offset(-(kpi::MAX_WEEKS - 1)))
            .min(to),
    };
    Ok(Request {
        dims,
        from,
        to,
        filter: segments.filter(),
        scope: Default::default(),
        protected: false,
    })
}

pub(super) async fn stats(
    store: &Store,
    settings: &Settings,
    engine: &Engine,
    format: Format,
) -> Result<String> {
    let s = kpi::event_stats(engine).await?;
    let m = store.manifest();
    let range = store.event_dates(settings);
    let mut unmapped = std::collections::BTreeMap::<&str, u64>::new();
    for record in m.imports.values() {
        for (value, rows) in &record.unmapped {
            *unmapped.entry(value).or_default() += rows;
        }
    }
    let mut value = serde_json::json!({
        "events": s.events,
        "files": m.event_files.len(),
        "imported_files": m.imports.len(),
        "first_date": range.map(|r| r.0.to_string()),
        "last_date": range.map(|r| r.1.to_string()),
        // When an export or a feed last delivered: an event dated in the
        // future (allowed with --allow-future) shows here too.
        "last_event_time": s
            .last_event_micros
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        "distinct_users": s.distinct_users,
        "licensees": store.table::<crate::model::Licensee>()?.len(),
        "waves": store.table::<crate::model::Wave>()?.len(),
        "modules": store.table::<crate::model::Module>()?.len(),
        "events_of_unknown_users": s.events_of_unknown_users,
        "unknown_user_ids": s.unknown_user_ids,
        "events_of_unknown_modules": s.events_of_unknown_modules,
        "unknown_module_ids": s.unknown_module_ids,
    });
    if !m.in_place.is_empty() {
        value["files_read_in_place"] = serde_json::json!(m.in_place.len());
    }
    // Values vendors' logs gave that their mappings did not know.
    if !unmapped.is_empty() {
        value["unmapped_values"] = serde_json::json!(unmapped);
    }
    Ok(match format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ),
        Format::Csv | Format::Table => {
            let mut out = String::new();
            if let serde_json::Value::Object(map) = value {
                let sep = if format == Format::Csv { "," } else { "  " };
                if format == Format::Csv {
                    out.push_str("figure,value\n");
                }
                for (k, v) in map {
                    let v = match v {
                        serde_json::Value::Null => String::new(),
                        serde_json::Value::String(s) => s,
                        v => v.to_string(),
                    };
                    if format == Format::Csv {
                        out.push_str(&format!("{k}{sep}{v}\n"));
                    } else {
                        out.push_str(&format!("{k:<26}{v}\n"));
                    }
                }
            }
            out
        }
    })
}
