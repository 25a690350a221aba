//! The KPI table and the lagging list: rows from the `kpi` query, protected
//! against small groups and differencing.

use std::collections::HashMap;

use crate::config::Settings;
use crate::engine::Engine;
use crate::model::Week;

use super::bind::{Columns, TextColumn, run_over_cube};
use super::{Cell, Dimension, Filter, Request, Result, Source, Table, header, protect};

/// One row of the KPI table, before suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KpiRow {
    pub week: Week,
    /// Values of the requested dimensions, in the order asked.
    pub segment: Vec<String>,
    pub eligible: i64,
    pub regular: i64,
    pub active_licensee_rate: Option<i64>,
    pub modules_licensed: i64,
    pub modules_in_use: i64,
    pub module_utilization: Option<i64>,
    pub users_to_target: i64,
    pub success: bool,
    pub suppressed: bool,
}

/// The columns of the KPI table after the segment's (SPEC.md section 5).
pub const KPI_FIGURES: [&str; 9] = [
    "eligible",
    "regular",
    "active_licensee_rate",
    "modules_licensed",
    "modules_in_use",
    "module_utilization",
    "users_to_target",
    "success",
    "suppressed",
];

/// The columns of the lagging table after the segment's.
pub const LAGGING_FIGURES: [&str; 10] = [
    KPI_FIGURES[0],
    KPI_FIGURES[1],
    KPI_FIGURES[2],
    KPI_FIGURES[3],
    KPI_FIGURES[4],
    KPI_FIGURES[5],
    KPI_FIGURES[6],
    KPI_FIGURES[7],
    KPI_FIGURES[8],
    "below_target",
];

/// The request to compute, and how its rows map onto the one asked for
/// when it is protected against differencing.
pub(super) fn protection(
    settings: &Settings,
    request: &Request,
) -> (Request, Option<protect::View>) {
    if settings.privacy.complementary_suppression {
        protect::widen(request)
    } else {
        (request.clone(), None)
    }
}

/// The protection decision for a request's weeks and scope, from the
/// finest segments' figures (decided once per week, scope and k per
/// engine).
pub async fn protection_of(
    source: &Source,
    settings: &Settings,
    request: &Request,
) -> Result<protect::Protection> {
    protection_over(
        source,
        settings,
        (request.from, request.to),
        &request.scope,
        protect::Missing::Decide,
    )
    .await
}

/// Reads the kept protection decisions of the organisation's weeks
/// `from..=to` into memory, deciding none.
pub async fn read_kept_protection(
    source: &Source,
    settings: &Settings,
    from: Week,
    to: Week,
) -> Result<()> {
    let scope = Default::default();
    protection_over(
        source,
        settings,
        (from, to),
        &scope,
        protect::Missing::OnlyKept,
    )
    .await
    .map(|_| ())
}

async fn protection_over(
    source: &Source,
    settings: &Settings,
    (from, to): (Week, Week),
    scope: &super::Scope,
    missing: protect::Missing,
) -> Result<protect::Protection> {
    let k = settings.privacy.min_group_size as i64;
    let engine = &*source.engine;
    let params = super::bind::cube_parameters(settings);
    let cube = |week: Week| engine.cube_week(&params, i64::from(week.number()));
    source
        .protections
        .decide((from, to), scope, k, missing, cube, |from, to| {
            finest_of(engine, settings, scope, (from, to))
        })
        .await
}

/// Audits the organisation's decided `week` once more from its own
/// decision, so that its next decision after new events starts from the
/// moves the audit finds ([`protect::Cache::learn`]).
pub async fn learn_protection(source: &Source, settings: &Settings, week: Week) -> Result<()> {
    let k = settings.privacy.min_group_size as i64;
    let scope = Default::default();
    let engine = &*source.engine;
    source
        .protections
        .learn(week, &scope, k, |from, to| {
            finest_of(engine, settings, &scope, (from, to))
        })
        .await
}

/// The finest segments of the weeks `from..=to` within `scope`.
async fn finest_of(
    engine: &Engine,
    settings: &Settings,
    scope: &super::Scope,
    (from, to): (Week, Week),
) -> Result<Vec<protect::FinestCell>> {
    let finest = Request {
        dims: Dimension::ALL.to_vec(),
        from,
        to,
        filter: Filter::default(),
        scope: scope.clone(),
        protected: false,
    };
    finest_cells(engine, settings, &finest).await
}

/// Every figure of the finest segments with licensees, week by week.
/// Hundreds of thousands of rows over a few months of a large org chart:
/// values are read in place and matched without a string per row.
async fn finest_cells(
    engine: &Engine,
    settings: &Settings,
    finest: &Request,
) -> Result<Vec<protect::FinestCell>> {
    let segments = run_over_cube(engine, "protection_cells", settings, finest).await?;
    let modules = run_over_cube(engine, "protection_module_users", settings, finest).await?;
    let values = |c: &Columns| -> Result<[TextColumn; 4]> {
        let [a, b, c_, d] = Dimension::ALL.map(|d| c.text_column(d.name()));
        Ok([a?, b?, c_?, d?])
    };
    let segment_columns = segments
        .iter()
        .map(|batch| {
            let c = Columns { batch };
            Ok((
                c.int("week")?,
                values(&c)?,
                [c.int("eligible")?, c.int("regular")?, c.int("inactive")?],
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut cells: Vec<protect::FinestCell> = Vec::new();
    let mut at: HashMap<(i64, [&str; 4]), usize> = HashMap::new();
    for (week, values, [eligible, regular, inactive]) in &segment_columns {
        for i in 0..week.len() {
            let w = week[i].unwrap_or(0);
            let key: [&str; 4] = std::array::from_fn(|d| values[d].get(i));
            at.insert((w, key), cells.len());
            cells.push(protect::FinestCell {
                week: Week::from_number(w as i32),
                values: key.iter().map(|v| v.to_string()).collect(),
                eligible: eligible[i].unwrap_or(0),
                regular: regular[i].unwrap_or(0),
                inactive: inactive[i].unwrap_or(0),
                module_users: Vec::new(),
            });
        }
    }
    for batch in &modules {
        let c = Columns { batch };
        let (week, values) = (c.int("week")?, values(&c)?);
        let (module, users) = (c.text_column("module")?, c.int("users")?);
        for i in 0..module.len() {
            let key: [&str; 4] = std::array::from_fn(|d| values[d].get(i));
            if let Some(&cell) = at.get(&(week[i].unwrap_or(0), key)) {
                cells[cell]
                    .module_users
                    .push((module.get(i).to_string(), users[i].unwrap_or(0)));
            }
        }
    }
    Ok(cells)
}

/// Applies protection to rows of a widened request: each row's
/// suppression as decided for all tables, then the rows of the asked
/// table with the asked segment values.
pub(super) async fn protected<T>(
    source: &Source,
    settings: &Settings,
    computed: &Request,
    view: Option<&protect::View>,
    rows: Vec<T>,
    cell: impl Fn(&mut T) -> (Week, &mut Vec<String>, &mut bool),
) -> Result<Vec<T>> {
    let Some(view) = view else {
        return Ok(rows);
    };
    let protection = protection_of(source, settings, computed).await?;
    Ok(rows
        .into_iter()
        .filter_map(|mut r| {
            let (week, segment, suppressed) = cell(&mut r);
            if !view.keeps(segment) {
                return None;
            }
            *suppressed = protection.hidden(week, &computed.dims, segment);
            *segment = view.project(segment);
            Some(r)
        })
        .collect())
}

/// Computes the KPI rows: sorted by week, then segment values in byte order.
/// A protected request's rows are also protected against differencing.
pub async fn kpi_rows(
    source: &Source,
    settings: &Settings,
    request: &Request,
) -> Result<Vec<KpiRow>> {
    let (computed, view) = protection(settings, request);
    let rows = computed_kpi_rows(&source.engine, settings, &computed).await?;
    protected(source, settings, &computed, view.as_ref(), rows, |r| {
        (r.week, &mut r.segment, &mut r.suppressed)
    })
    .await
}

async fn computed_kpi_rows(
    engine: &Engine,
    settings: &Settings,
    request: &Request,
) -> Result<Vec<KpiRow>> {
    let batches = run_over_cube(engine, "kpi", settings, request).await?;
    let k = settings.privacy.min_group_size as i64;
    let mut rows = Vec::new();
    for batch in &batches {
        let c = Columns { batch };
        let week = c.int("week")?;
        let mut segments = c.segments(&request.dims)?.into_iter();
        let eligible = c.int("eligible")?;
        let regular = c.int("regular")?;
        let alr = c.int("active_licensee_rate_micros")?;
        let licensed = c.int("modules_licensed")?;
        let in_use = c.int("modules_in_use")?;
        let mu = c.int("module_utilization_micros")?;
        let to_target = c.int("users_to_target")?;
        let success = c.boolean("success")?;
        for i in 0..batch.num_rows() {
            let n = eligible[i].unwrap_or(0);
            rows.push(KpiRow {
                week: Week::from_number(week[i].unwrap_or(0) as i32),
                segment: segments.next().unwrap_or_default(),
                eligible: n,
                regular: regular[i].unwrap_or(0),
                active_licensee_rate: alr[i],
                modules_licensed: licensed[i].unwrap_or(0),
                modules_in_use: in_use[i].unwrap_or(0),
                module_utilization: mu[i],
                users_to_target: to_target[i].unwrap_or(0),
                success: success[i],
                suppressed: n < k,
            });
        }
    }
    rows.sort_by(|a, b| (a.week, &a.segment).cmp(&(b.week, &b.segment)));
    Ok(rows)
}

fn kpi_cells(r: &KpiRow) -> Vec<Cell> {
    let mut cells = vec![Cell::Text(r.week.to_string())];
    cells.extend(r.segment.iter().cloned().map(Cell::Text));
    if r.suppressed {
        cells.extend(std::iter::repeat_n(Cell::Empty, 8));
    } else {
        let rate = |v: Option<i64>| v.map_or(Cell::Empty, Cell::Rate);
        cells.extend([
            Cell::Int(r.eligible),
            Cell::Int(r.regular),
            rate(r.active_licensee_rate),
            Cell::Int(r.modules_licensed),
            Cell::Int(r.modules_in_use),
            rate(r.module_utilization),
            Cell::Int(r.users_to_target),
            Cell::Bool(r.success),
        ]);
    }
    cells.push(Cell::Bool(r.suppressed));
    cells
}

/// The KPI table of SPEC.md section 5.
pub fn kpi_table(dims: &[Dimension], rows: &[KpiRow]) -> Table {
    Table {
        columns: header(&["week"], dims, &KPI_FIGURES),
        rows: rows.iter().map(kpi_cells).collect(),
    }
}

/// Segments below a target in one week, most users to target first.
///
/// A segment lags when its active licensee rate or its module utilization
/// does not pass the target. Suppressed segments are left out: their
/// figures may not be shown. Ties keep the byte order of the segment.
pub fn lagging_table(dims: &[Dimension], rows: &[KpiRow], settings: &Settings) -> Table {
    let alr_target = settings.targets.active_licensee_rate;
    let mu_target = settings.targets.module_utilization;
    let mut lagging: Vec<(&KpiRow, String)> = rows
        .iter()
        .filter(|r| !r.suppressed)
        .filter_map(|r| {
            let mut missed = Vec::new();
            if !alr_target.is_exceeded_by(r.regular, r.eligible) {
                missed.push("active_licensee_rate");
            }
            if !mu_target.is_exceeded_by(r.modules_in_use, r.modules_licensed) {
                missed.push("module_utilization");
            }
            (!missed.is_empty()).then(|| (r, missed.join(";")))
        })
        .collect();
    lagging.sort_by(|a, b| {
        b.0.users_to_target
            .cmp(&a.0.users_to_target)
            .then_with(|| a.0.segment.cmp(&b.0.segment))
    });
    Table {
        columns: header(&["week"], dims, &LAGGING_FIGURES),
        rows: lagging
            .into_iter()
            .map(|(r, missed)| {
                let mut cells = kpi_cells(r);
                cells.push(Cell::Text(missed));
                cells
            })
            .collect(),
    }
}
