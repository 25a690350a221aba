//! The adoption curve: active licensee rates by weeks since go-live
//! (`queries/adoption_curve.sql`).

use crate::config::Settings;
use crate::model::Week;

use super::bind::{Columns, run_over_cube};
use super::rows::{protected, protection};
use super::{Cell, Dimension, Error, Request, Result, Source, Table, header};

/// The columns of the adoption curve table after the segment's.
pub const CURVE_FIGURES: [&str; 5] = [
    "weeks_since_go_live",
    "eligible",
    "regular",
    "active_licensee_rate",
    "suppressed",
];

/// One point of an adoption curve, before suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurvePoint {
    pub week: Week,
    /// Values of the requested dimensions, in the order asked.
    pub segment: Vec<String>,
    pub weeks_since_go_live: i64,
    pub eligible: i64,
    pub regular: i64,
    pub active_licensee_rate: Option<i64>,
    pub suppressed: bool,
}

/// The active licensee rate of each segment by weeks since its wave's
/// go-live (week 0 contains go-live), for the requested weeks. Sorted by
/// segment, then weeks since go-live.
pub async fn adoption_curve(
    source: &Source,
    settings: &Settings,
    request: &Request,
) -> Result<Vec<CurvePoint>> {
    if !request.dims.contains(&Dimension::Wave) {
        return Err(Error::CurveWithoutWave);
    }
    let (computed, view) = protection(settings, request);
    let batches = run_over_cube(&source.engine, "adoption_curve", settings, &computed).await?;
    let k = settings.privacy.min_group_size as i64;
    let mut points = Vec::new();
    for batch in &batches {
        let c = Columns { batch };
        let week = c.int("week")?;
        let mut segments = c.segments(&computed.dims)?.into_iter();
        let since = c.int("weeks_since_go_live")?;
        let eligible = c.int("eligible")?;
        let regular = c.int("regular")?;
        let alr = c.int("active_licensee_rate_micros")?;
        for i in 0..batch.num_rows() {
            let n = eligible[i].unwrap_or(0);
            points.push(CurvePoint {
                week: Week::from_number(week[i].unwrap_or(0) as i32),
                segment: segments.next().unwrap_or_default(),
                weeks_since_go_live: since[i].unwrap_or(0),
                eligible: n,
                regular: regular[i].unwrap_or(0),
                active_licensee_rate: alr[i],
                suppressed: n < k,
            });
        }
    }
    let mut points = protected(source, settings, &computed, view.as_ref(), points, |p| {
        (p.week, &mut p.segment, &mut p.suppressed)
    })
    .await?;
    points.sort_by(|a, b| {
        (&a.segment, a.weeks_since_go_live).cmp(&(&b.segment, b.weeks_since_go_live))
    });
    Ok(points)
}

/// The adoption curve as a table: suppressed points have empty figures.
pub fn curve_table(dims: &[Dimension], points: &[CurvePoint]) -> Table {
    Table {
        columns: header(&["week"], dims, &CURVE_FIGURES),
        rows: points
            .iter()
            .map(|p| {
                let mut cells = vec![Cell::Text(p.week.to_string())];
                cells.extend(p.segment.iter().cloned().map(Cell::Text));
                cells.push(Cell::Int(p.weeks_since_go_live));
                if p.suppressed {
                    cells.extend(std::iter::repeat_n(Cell::Empty, 3));
                } else {
                    cells.extend([
                        Cell::Int(p.eligible),
                        Cell::Int(p.regular),
                        p.active_licensee_rate.map_or(Cell::Empty, Cell::Rate),
                    ]);
                }
                cells.push(Cell::Bool(p.suppressed));
                cells
            })
            .collect(),
    }
}
