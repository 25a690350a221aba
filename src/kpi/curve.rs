//! The adoption curve: active licensee rates by weeks since go-live
//! (`queries/adoption_curve.sql`).

use crate::config::Settings;
use crate::model::Week;

use super::bind::{Columns, run_over_cube};
use super::rows::{protected, protection};
use super::{Cell, Dimension, Error, Request, Result, Source, Table, header};

/// The columns of the adoption curve table after the segment's.
pub const CURVE_FIGURES: [&str; 8] = [
    "weeks_since_go_live",
    "eligible",
    "regular",
    "active_licensee_rate",
    "reference_wave",
    "gap_to_reference",
    "behind_reference",
    "suppressed",
];

/// The wave the others are compared with: `targets.reference_wave`, or
/// the pilot (the earliest go-live; of several, the first id).
pub fn reference_wave(settings: &Settings, waves: &[crate::model::Wave]) -> Option<String> {
    if !settings.targets.reference_wave.is_empty() {
        return Some(settings.targets.reference_wave.clone());
    }
    waves
        .iter()
        .min_by(|a, b| (a.go_live, &a.wave_id).cmp(&(b.go_live, &b.wave_id)))
        .map(|w| w.wave_id.clone())
}

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
/// Each point has its gap to the reference wave's point (`reference_wave`
/// of `waves`) of the same other dimensions and week since go-live: its
/// rate less this one's (positive: behind), shown only when both points
/// are (a gap to a hidden point would tell it), and whether it is more
/// than `targets.behind_reference_points` percentage points.
pub fn curve_table(
    dims: &[Dimension],
    points: &[CurvePoint],
    settings: &Settings,
    waves: &[crate::model::Wave],
) -> Table {
    let reference = reference_wave(settings, waves);
    let reference = reference.as_deref();
    let behind_points = settings.targets.behind_reference_points;
    let wave_at = dims.iter().position(|d| *d == Dimension::Wave);
    let key = |p: &CurvePoint| {
        let mut others = p.segment.clone();
        if let Some(i) = wave_at {
            others.remove(i);
        }
        (others, p.weeks_since_go_live)
    };
    let references: std::collections::HashMap<_, Option<i64>> = match (reference, wave_at) {
        (Some(wave), Some(i)) => points
            .iter()
            .filter(|p| p.segment[i] == wave)
            .map(|p| {
                let rate = if p.suppressed {
                    None
                } else {
                    p.active_licensee_rate
                };
                (key(p), rate)
            })
            .collect(),
        _ => Default::default(),
    };
    Table {
        columns: header(&["week"], dims, &CURVE_FIGURES),
        rows: points
            .iter()
            .map(|p| {
                let mut cells = vec![Cell::Text(p.week.to_string())];
                cells.extend(p.segment.iter().cloned().map(Cell::Text));
                cells.push(Cell::Int(p.weeks_since_go_live));
                let gap = match (p.suppressed, p.active_licensee_rate) {
                    (false, Some(rate)) => {
                        references.get(&key(p)).copied().flatten().map(|r| r - rate)
                    }
                    _ => None,
                };
                if p.suppressed {
                    cells.extend(std::iter::repeat_n(Cell::Empty, 3));
                } else {
                    cells.extend([
                        Cell::Int(p.eligible),
                        Cell::Int(p.regular),
                        p.active_licensee_rate.map_or(Cell::Empty, Cell::Rate),
                    ]);
                }
                cells.push(match (reference, wave_at) {
                    (Some(r), Some(_)) => Cell::Text(r.to_string()),
                    _ => Cell::Empty,
                });
                cells.push(gap.map_or(Cell::Empty, Cell::Rate));
                // More than the points: the gap in millionths above
                // points × 10,000.
                cells.push(gap.map_or(Cell::Empty, |g| {
                    Cell::Bool(g > i64::from(behind_points) * 10_000)
                }));
                cells.push(Cell::Bool(p.suppressed));
                cells
            })
            .collect(),
    }
}

/// A wave's gap to the reference wave in its latest shown week since
/// go-live: its segment (the table's dimension cells), the gap in
/// millionths, the weeks since go-live, and whether it is behind (more
/// than the table's limit).
#[derive(Debug, Clone, PartialEq)]
pub struct Behind {
    pub segment: Vec<Cell>,
    pub wave: Cell,
    pub gap: i64,
    pub weeks_since_go_live: i64,
    pub behind: bool,
}

/// The reference wave of a curve table ([`curve_table`]) and each
/// segment's gap in its latest week with a shown gap; `None` without a
/// reference.
pub fn behind_reference(table: &Table) -> Option<(String, Vec<Behind>)> {
    let col = |name: &str| table.columns.iter().position(|c| c == name);
    let (wave, since, reference, gap, behind) = (
        col("wave")?,
        col("weeks_since_go_live")?,
        col("reference_wave")?,
        col("gap_to_reference")?,
        col("behind_reference")?,
    );
    let Some(Cell::Text(name)) = table.rows.first().map(|r| r[reference].clone()) else {
        return None;
    };
    let mut latest: std::collections::BTreeMap<Vec<String>, (i64, &Vec<Cell>)> = Default::default();
    for row in &table.rows {
        let (Cell::Int(weeks), Cell::Bool(_)) = (&row[since], &row[behind]) else {
            continue;
        };
        let key = row[1..since].iter().map(Table::cell_text).collect();
        let entry = latest.entry(key).or_insert((*weeks, row));
        if *weeks >= entry.0 {
            *entry = (*weeks, row);
        }
    }
    let gaps = latest
        .into_iter()
        .map(|(_, (weeks, row))| Behind {
            segment: row[1..since].to_vec(),
            wave: row[wave].clone(),
            gap: match row[gap] {
                Cell::Rate(g) => g,
                _ => 0,
            },
            weeks_since_go_live: weeks,
            behind: row[behind] == Cell::Bool(true),
        })
        .collect();
    Some((name, gaps))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(wave: &str, since: i64, rate: Option<i64>, suppressed: bool) -> CurvePoint {
        CurvePoint {
            week: Week::from_number(3000 + since as i32),
            segment: vec![wave.into()],
            weeks_since_go_live: since,
            eligible: 10,
            regular: 5,
            active_licensee_rate: rate,
            suppressed,
        }
    }

    #[test]
    fn gaps_to_the_reference_are_given_only_between_shown_points() {
        let points = [
            point("P", 1, Some(600_000), false),
            point("P", 2, Some(700_000), true),
            point("W", 1, Some(480_000), false),
            point("W", 2, Some(500_000), false),
            point("W", 3, Some(550_000), false),
        ];
        let mut settings = Settings::default();
        settings.targets.reference_wave = "P".into();
        let table = curve_table(&[Dimension::Wave], &points, &settings, &[]);
        let col = |n: &str| table.columns.iter().position(|c| c == n).expect(n);
        let (gap, behind) = (col("gap_to_reference"), col("behind_reference"));
        // 60% - 48% = 12 points: behind by more than 10.
        assert_eq!(table.rows[2][gap], Cell::Rate(120_000));
        assert_eq!(table.rows[2][behind], Cell::Bool(true));
        // The reference point is suppressed, or missing: no gap.
        for row in [1, 3, 4] {
            assert_eq!(
                (&table.rows[row][gap], &table.rows[row][behind]),
                (&Cell::Empty, &Cell::Empty)
            );
        }
        // Exactly the limit is not more than it.
        settings.targets.behind_reference_points = 12;
        let table = curve_table(&[Dimension::Wave], &points[..3], &settings, &[]);
        assert_eq!(table.rows[2][behind], Cell::Bool(false));
        // Without a wave among the dimensions, nothing is compared.
        let mut whole = point("", 1, Some(600_000), false);
        whole.segment.clear();
        let table = curve_table(&[], &[whole], &settings, &[]);
        let at = table.columns.iter().position(|c| c == "reference_wave");
        assert_eq!(table.rows[0][at.expect("column")], Cell::Empty);
    }
}
