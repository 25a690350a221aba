//! Turns query results into the KPI tables of SPEC.md section 5: segment
//! columns in the order asked, privacy suppression, lagging segments.
//!
//! The figures themselves (counts, exact rates, users to target, success)
//! come from `queries/`; this module binds their parameters and decides
//! what is shown: `bind` binds and reads query results, `rows` the
//! KPI table and the lagging list, `modules` module adoption, `curve` the
//! adoption curve, `stored` the user-level view and data-quality figures,
//! [`protect`] protection of small groups, [`live`] the figures as last
//! committed.

mod bind;
mod curve;
mod forecast;
pub mod live;
mod modules;
pub mod protect;
mod rows;
mod stored;

use std::sync::Arc;

use crate::engine::{self, Engine};
pub use crate::model::output::{self as table, Cell, Format, Table};
pub use crate::model::segment::{Dimension, Filter, SCOPE_SEPARATOR, Scope, parse_dimensions};
use crate::model::{Week, segment};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Engine(#[from] engine::Error),
    #[error(transparent)]
    Segment(#[from] segment::Error),
    #[error("the week range is empty: {from} is after {to}")]
    EmptyRange { from: Week, to: Week },
    #[error("the week range spans {weeks} weeks; ask for at most {MAX_WEEKS} at a time")]
    LongRange { weeks: i32 },
    #[error("an adoption curve needs wave among the dimensions (by=wave)")]
    CurveWithoutWave,
    #[error("query result lacks column {0}")]
    MissingColumn(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the figures are computed from: an engine over the store and the
/// protection decisions that go with it. Whoever keeps the engine keeps
/// the decisions: an engine opened after new events were stored may share
/// those of the one before ([`protect::Cache::succeed`]).
#[derive(Clone)]
pub struct Source {
    pub engine: Arc<Engine>,
    pub protections: Arc<protect::Cache>,
}

impl Source {
    /// An engine over `store` with decisions of its own, reading and
    /// keeping them in the store's data directory.
    pub fn new(engine: Engine, store: &crate::store::Store) -> Source {
        Source {
            engine: Arc::new(engine),
            protections: Arc::new(protect::Cache::default().kept_in(store.root())),
        }
    }
}

/// What a KPI table is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Request {
    pub dims: Vec<Dimension>,
    pub from: Week,
    pub to: Week,
    /// Only licensees matching these values count.
    pub filter: Filter,
    /// The caller's scope: only its licensees count, and its totals are
    /// the organisation's.
    pub scope: Scope,
    /// Protect suppressed segments against differencing ([`protect`]):
    /// what the server and reports show. The CLI's tables are SPEC.md's
    /// exactly.
    pub protected: bool,
}

impl Request {
    /// An unprotected request over all licensees.
    pub fn new(dims: Vec<Dimension>, from: Week, to: Week, filter: Filter) -> Request {
        Request {
            dims,
            from,
            to,
            filter,
            scope: Scope::default(),
            protected: false,
        }
    }
}

/// Most weeks one request may span (ten years).
pub const MAX_WEEKS: i32 = 522;

fn check_range(request: &Request) -> Result<()> {
    if request.from > request.to {
        return Err(Error::EmptyRange {
            from: request.from,
            to: request.to,
        });
    }
    let weeks = request.to.number() - request.from.number() + 1;
    if weeks > MAX_WEEKS {
        return Err(Error::LongRange { weeks });
    }
    Ok(())
}

fn header(first: &[&str], dims: &[Dimension], rest: &[&str]) -> Vec<String> {
    first
        .iter()
        .map(|s| s.to_string())
        .chain(dims.iter().map(|d| d.name().to_string()))
        .chain(rest.iter().map(|s| s.to_string()))
        .collect()
}

pub use bind::{cube_parameters, cube_request, parameters};
pub use curve::{CURVE_FIGURES, CurvePoint, adoption_curve, behind_reference, curve_table};
pub use forecast::{FORECAST_FIGURES, forecast_history, forecast_table, target_week_problem};
pub use modules::{MODULE_FIGURES, modules_table};
pub use rows::{
    KPI_FIGURES, KpiRow, LAGGING_FIGURES, kpi_rows, kpi_table, lagging_table, learn_protection,
    protection_of, read_kept_protection,
};
pub use stored::{EventStats, event_stats, licensees};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    #[test]
    fn dimensions() {
        assert_eq!(
            parse_dimensions("department,region").expect("dims"),
            vec![Dimension::Department, Dimension::Region]
        );
        assert!(parse_dimensions("").expect("none").is_empty());
        assert!(parse_dimensions("country").is_err());
        assert!(parse_dimensions("team,team").is_err());
        assert!(parse_dimensions("Region").is_err());
        for (i, d) in Dimension::ALL.into_iter().enumerate() {
            assert_eq!(d.index(), i);
        }
    }

    fn row(eligible: i64, regular: i64, licensed: i64, in_use: i64, k: i64) -> KpiRow {
        KpiRow {
            week: "2026-W10".parse().expect("week"),
            segment: vec!["DACH".into()],
            eligible,
            regular,
            active_licensee_rate: crate::model::decimal::rate_micros(regular, eligible),
            modules_licensed: licensed,
            modules_in_use: in_use,
            module_utilization: crate::model::decimal::rate_micros(in_use, licensed),
            users_to_target: (eligible * 3 / 4 + 1 - regular).max(0),
            success: false,
            suppressed: eligible < k,
        }
    }

    #[test]
    fn suppressed_rows_are_empty_but_marked() {
        let t = kpi_table(&[Dimension::Region], &[row(4, 4, 2, 2, 5)]);
        assert_eq!(
            t.to_csv().lines().nth(1),
            Some("2026-W10,DACH,,,,,,,,,true")
        );
        let t = kpi_table(&[Dimension::Region], &[row(8, 6, 0, 0, 5)]);
        assert_eq!(
            t.to_csv().lines().nth(1),
            Some("2026-W10,DACH,8,6,0.750000,0,0,,1,false,false")
        );
    }

    #[test]
    fn lagging_excludes_passing_and_suppressed_segments() {
        let settings = Settings::default();
        let mut passing = row(8, 7, 2, 2, 5);
        passing.segment = vec!["A".into()];
        let mut low = row(20, 10, 2, 2, 5);
        low.segment = vec!["B".into()];
        let mut lower = row(40, 10, 2, 2, 5);
        lower.segment = vec!["C".into()];
        let mut tiny = row(3, 0, 2, 0, 5);
        tiny.segment = vec!["D".into()];
        let mut modules_only = row(8, 8, 2, 1, 5);
        modules_only.segment = vec!["E".into()];
        let t = lagging_table(
            &[Dimension::Region],
            &[passing, low, lower, tiny, modules_only],
            &settings,
        );
        let order: Vec<&Cell> = t.rows.iter().map(|r| &r[1]).collect();
        assert_eq!(
            order,
            vec![
                &Cell::Text("C".into()),
                &Cell::Text("B".into()),
                &Cell::Text("E".into())
            ]
        );
        assert_eq!(
            t.rows[2].last(),
            Some(&Cell::Text("module_utilization".into()))
        );
    }
}
