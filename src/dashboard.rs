//! Dashboards as data: `dashboards/*.toml` name the views (queries) each
//! panel shows, its chart type, its figures and the filters of the page.
//! They are loaded and checked against the query catalog at start-up, so a
//! dashboard naming an unknown query, figure or dimension stops the server
//! with the file and panel at fault.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::i18n::Lang;
use crate::kpi::{self, Dimension};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read dashboards from {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("dashboard {file}: {message}")]
    Invalid { file: String, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A text in the languages of the pages: `{ en = "...", de = "...", ... }`
/// with English required (it stands in for a language not given), or one
/// string for every language.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(BTreeMap<Lang, String>);

impl Text {
    /// The same text in every language.
    pub fn plain(s: &str) -> Text {
        Text(BTreeMap::from([(Lang::En, s.to_string())]))
    }

    /// The text in `lang`, else in English.
    pub fn get(&self, lang: Lang) -> &str {
        self.0
            .get(&lang)
            .or_else(|| self.0.get(&Lang::En))
            .map_or("", String::as_str)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a text, or a table of texts per language")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> std::result::Result<Text, E> {
                Ok(Text::plain(s))
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> std::result::Result<Text, M::Error> {
                use serde::de::Error;
                let mut text = BTreeMap::new();
                while let Some((code, s)) = map.next_entry::<String, String>()? {
                    let lang = Lang::read(&code)
                        .map_err(|e| M::Error::custom(format!("unknown language '{code}': {e}")))?;
                    text.insert(lang, s);
                }
                if !text.contains_key(&Lang::En) {
                    return Err(M::Error::custom(
                        "a text needs its English (en), shown where a language is missing",
                    ));
                }
                Ok(Text(text))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The views a panel can show: each reads one query of `queries/`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// The KPI table over the week range (`queries/kpi.sql`).
    Kpi,
    /// Segments below a target in the last week of the range.
    Lagging,
    /// Module adoption in the last week of the range (`queries/modules.sql`).
    Modules,
    /// Active licensee rate by weeks since go-live.
    AdoptionCurve,
    /// The forecast of each segment from the 8 weeks up to the last week
    /// of the range (no target week: when each target is passed at the
    /// current pace).
    Forecast,
}

impl View {
    /// The query of `queries/` the view reads.
    pub fn query(self) -> &'static str {
        match self {
            View::Kpi | View::Lagging | View::Forecast => "kpi",
            View::Modules => "modules",
            View::AdoptionCurve => "adoption_curve",
        }
    }

    /// The figures (non-segment columns) of the view's table; the
    /// `suppressed` flag is not a figure.
    pub fn figures(self) -> Vec<&'static str> {
        let columns: &'static [&'static str] = match self {
            View::Kpi => &kpi::KPI_FIGURES,
            View::Lagging => &kpi::LAGGING_FIGURES,
            View::Modules => &kpi::MODULE_FIGURES,
            View::AdoptionCurve => &kpi::CURVE_FIGURES,
            View::Forecast => &kpi::FORECAST_FIGURES,
        };
        columns
            .iter()
            .copied()
            .filter(|c| *c != "suppressed")
            .collect()
    }

    /// Whether the view covers the week range or only its last week.
    pub fn is_weekly_range(self) -> bool {
        matches!(self, View::Kpi | View::AdoptionCurve)
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Chart {
    /// One tile per figure: its value in the last week against its target,
    /// with a trend line.
    Tiles,
    /// One line per segment and figure over `x`.
    Line,
    /// Segments (rows) by the last dimension or module (columns), coloured
    /// by one rate.
    HeatMap,
    /// A table, optionally with a trend sparkline per row.
    Table,
    /// One bar per segment.
    Bar,
}

/// A page filter, kept in the URL.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FilterName {
    Region,
    Department,
    Wave,
    /// The week range (`from`, `to`).
    Weeks,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    pub title: Text,
    pub chart: Chart,
    pub query: View,
    /// Dimensions of the panel's segments, e.g. `region,department`.
    #[serde(default)]
    pub by: String,
    /// Figures drawn (line, heat map, bar, tiles) or shown (table; empty:
    /// all).
    #[serde(default)]
    pub figures: Vec<String>,
    /// Line charts: the x axis, `week` or `weeks_since_go_live`.
    pub x: Option<String>,
    /// Tables: a figure of the KPI table drawn as a trend per row.
    pub sparkline: Option<String>,
    /// Line charts of counts: draw the module utilization target as a
    /// share of this figure.
    pub target_share_of: Option<String>,
    /// Rows shown at most (tables, bars); the CSV has all.
    pub limit: Option<usize>,
    #[serde(skip)]
    pub dims: Vec<Dimension>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    #[serde(skip)]
    pub id: String,
    /// Position in the navigation.
    pub order: i32,
    pub title: Text,
    pub description: Text,
    pub filters: Vec<FilterName>,
    /// Weeks shown when the URL gives no range: the last this many stored.
    pub default_weeks: i32,
    #[serde(rename = "panel")]
    pub panels: Vec<Panel>,
}

/// The dashboards shipped with uptake, used when no directory is given and
/// `./dashboards` does not exist.
pub const BUNDLED: [(&str, &str); 3] = [
    ("overview", include_str!("../dashboards/overview.toml")),
    ("lagging", include_str!("../dashboards/lagging.toml")),
    ("modules", include_str!("../dashboards/modules.toml")),
];

/// Loads every `*.toml` of `dir`, or the bundled dashboards when `dir` is
/// `None`, checked against the query names of `queries` (the engine's
/// catalog). Sorted by `order`, then id.
pub fn load(dir: Option<&Path>, queries: &[&str]) -> Result<Vec<Dashboard>> {
    let mut sources: Vec<(String, String)> = Vec::new();
    match dir {
        None => {
            for (id, text) in BUNDLED {
                sources.push((id.to_string(), text.to_string()));
            }
        }
        Some(dir) => {
            sources = crate::config::definition_files(dir)
                .map_err(|(path, source)| Error::Io { path, source })?;
        }
    }
    let mut dashboards = Vec::new();
    for (id, text) in sources {
        dashboards.push(parse(&id, &text, queries)?);
    }
    if dashboards.is_empty() {
        return Err(Error::Invalid {
            file: dir.map(|d| d.display().to_string()).unwrap_or_default(),
            message: "no dashboards (*.toml) found".into(),
        });
    }
    dashboards.sort_by(|a, b| (a.order, &a.id).cmp(&(b.order, &b.id)));
    Ok(dashboards)
}

/// Parses and checks one dashboard.
pub fn parse(id: &str, text: &str, queries: &[&str]) -> Result<Dashboard> {
    let file = format!("{id}.toml");
    let invalid = |message: String| Error::Invalid {
        file: file.clone(),
        message,
    };
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            "the file name must be letters, digits, '-' or '_' (it is the page's address)".into(),
        ));
    }
    let mut d: Dashboard = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    d.id = id.to_string();
    if !(1..=kpi::MAX_WEEKS).contains(&d.default_weeks) {
        return Err(invalid(format!(
            "default_weeks must be 1 to {}",
            kpi::MAX_WEEKS
        )));
    }
    if d.panels.is_empty() {
        return Err(invalid("has no [[panel]]".into()));
    }
    for (i, panel) in d.panels.iter_mut().enumerate() {
        let name = panel.title.get(Lang::En).to_string();
        check_panel(panel, queries)
            .map_err(|m| invalid(format!("panel {} ('{name}'): {m}", i + 1)))?;
    }
    Ok(d)
}

fn check_panel(panel: &mut Panel, queries: &[&str]) -> std::result::Result<(), String> {
    let view = panel.query;
    if !queries.contains(&view.query()) {
        return Err(format!(
            "query {} is not in the query catalog (queries/{}.sql)",
            view.query(),
            view.query()
        ));
    }
    panel.dims = kpi::parse_dimensions(&panel.by).map_err(|e| format!("by: {e}"))?;
    let known = view.figures();
    for f in panel
        .figures
        .iter()
        .chain(&panel.target_share_of)
        .chain(&panel.sparkline)
    {
        let allowed = if Some(f) == panel.sparkline.as_ref() {
            View::Kpi.figures()
        } else {
            known.clone()
        };
        if !allowed.contains(&f.as_str()) {
            return Err(format!(
                "figure '{f}' is not a column of {}; known: {}",
                view.query(),
                allowed.join(", ")
            ));
        }
    }
    let n = panel.dims.len();
    let ok = match panel.chart {
        Chart::Tiles => view == View::Kpi && n == 0 && !panel.figures.is_empty(),
        Chart::Line => {
            let x = panel.x.as_deref().unwrap_or("week");
            let x_ok = match view {
                View::Kpi => x == "week",
                View::AdoptionCurve => x == "week" || x == "weeks_since_go_live",
                _ => false,
            };
            x_ok && !panel.figures.is_empty()
        }
        Chart::HeatMap => {
            panel.figures.len() == 1
                && match view {
                    View::Kpi => n == 2,
                    View::Modules => n >= 1,
                    _ => false,
                }
        }
        Chart::Table => matches!(view, View::Lagging | View::Modules | View::Forecast),
        Chart::Bar => panel.figures.len() == 1 && n >= 1 && !view.is_weekly_range(),
    };
    if !ok {
        return Err(format!(
            "chart {:?} cannot show query {} with {} dimension(s) and figures {:?}{}",
            panel.chart,
            view.query(),
            n,
            panel.figures,
            match panel.chart {
                Chart::Tiles => ": tiles need the kpi query, no dimensions and figures",
                Chart::Line =>
                    ": lines need x = week (kpi) or weeks_since_go_live (adoption_curve) and figures",
                Chart::HeatMap =>
                    ": heat maps need one figure and two dimensions (kpi) or at least one (modules)",
                Chart::Table => ": tables show lagging or modules",
                Chart::Bar => ": bars need one figure, a dimension, and lagging or modules",
            }
        ));
    }
    if panel.chart == Chart::Line
        && view == View::AdoptionCurve
        && !panel.dims.contains(&Dimension::Wave)
    {
        return Err("an adoption curve needs wave among the dimensions".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUERIES: [&str; 3] = ["kpi", "modules", "adoption_curve"];

    #[test]
    fn bundled_dashboards_pass_their_checks() {
        let d = load(None, &QUERIES).expect("bundled dashboards");
        let ids: Vec<&str> = d.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["overview", "lagging", "modules"]);
    }

    #[test]
    fn a_view_whose_query_file_is_gone_stops_the_start() {
        let catalog: Vec<&str> = crate::engine::catalog()
            .expect("catalog")
            .iter()
            .map(|q| q.name)
            .collect();
        assert!(load(None, &catalog).is_ok());
        let without_modules: Vec<&str> = catalog.into_iter().filter(|q| *q != "modules").collect();
        let err = load(None, &without_modules)
            .expect_err("refused")
            .to_string();
        assert!(err.contains("queries/modules.sql"), "{err}");
    }

    #[test]
    fn unknown_query_figure_or_dimension_is_named() {
        let base = "order = 1\ntitle = { en = 'A', de = 'A' }\ndescription = { en = '', de = '' }\nfilters = []\ndefault_weeks = 8\n";
        let with =
            |panel: &str| format!("{base}[[panel]]\ntitle = {{ en = 'P', de = 'P' }}\n{panel}");
        let err = |panel: &str| {
            parse("x", &with(panel), &QUERIES)
                .expect_err("refused")
                .to_string()
        };
        assert!(
            err("chart = 'heat_map'\nquery = 'kpi'\nby = 'region,department'\nfigures = ['adoption']")
                .contains("figure 'adoption'")
        );
        assert!(
            err("chart = 'tiles'\nquery = 'kpi'\nby = 'country'\nfigures = ['regular']")
                .contains("by: unknown dimension")
        );
        assert!(err("chart = 'pie'\nquery = 'kpi'").contains("pie"));
        let missing = parse(
            "x",
            &with("chart = 'line'\nquery = 'adoption_curve'\nby = 'wave'\nx = 'weeks_since_go_live'\nfigures = ['active_licensee_rate']"),
            &["kpi"],
        )
        .expect_err("refused")
        .to_string();
        assert!(missing.contains("queries/adoption_curve.sql"), "{missing}");
        assert!(
            parse(
                "x",
                &with("chart = 'line'\nquery = 'kpi'\nfigures = ['regular']"),
                &QUERIES
            )
            .is_ok()
        );
    }
}
