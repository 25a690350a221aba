//! Turns query results into the KPI tables of SPEC.md section 5: segment
//! columns in the order asked, privacy suppression, lagging segments.
//!
//! The figures themselves (counts, exact rates, users to target, success)
//! come from `queries/`; this module binds their parameters and decides
//! what is shown.

pub mod live;
pub mod protect;

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::scalar::ScalarValue;

use crate::config::Settings;
use crate::engine::{self, CubeRequest, Engine};
pub use crate::model::output::{self as table, Cell, Format, Table};
pub use crate::model::segment::{Dimension, Filter, SCOPE_SEPARATOR, Scope, parse_dimensions};
use crate::model::{Decimal, Week, segment};

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
    /// An engine with decisions of its own.
    pub fn new(engine: Engine) -> Source {
        Source {
            engine: Arc::new(engine),
            protections: Default::default(),
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

fn fraction(d: Decimal) -> (ScalarValue, ScalarValue) {
    (
        ScalarValue::Int64(Some(d.numerator())),
        ScalarValue::Int64(Some(d.denominator())),
    )
}

/// A filter's value as a query parameter: '' keeps every licensee.
fn only(v: &Option<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(v.clone().unwrap_or_default()))
}

/// The bound parameters of the KPI queries over the cube.
pub fn parameters(settings: &Settings, request: &Request) -> Vec<(&'static str, ScalarValue)> {
    let int = |v: i64| ScalarValue::Int64(Some(v));
    let by = |d: Dimension| ScalarValue::Boolean(Some(request.dims.contains(&d)));
    let (theta_num, theta_den) = fraction(settings.module.min_user_share);
    let (alr_num, alr_den) = fraction(settings.targets.active_licensee_rate);
    let (mu_num, mu_den) = fraction(settings.targets.module_utilization);
    vec![
        ("from_week", int(request.from.number() as i64)),
        ("to_week", int(request.to.number() as i64)),
        ("by_region", by(Dimension::Region)),
        ("by_department", by(Dimension::Department)),
        ("by_team", by(Dimension::Team)),
        ("by_wave", by(Dimension::Wave)),
        ("only_region", only(&request.filter.region)),
        ("only_department", only(&request.filter.department)),
        ("only_wave", only(&request.filter.wave)),
        (
            "scope_regions",
            ScalarValue::Utf8(Some(Scope::parameter(&request.scope.regions))),
        ),
        (
            "scope_departments",
            ScalarValue::Utf8(Some(Scope::parameter(&request.scope.departments))),
        ),
        ("theta_num", theta_num),
        ("theta_den", theta_den),
        ("alr_num", alr_num),
        ("alr_den", alr_den),
        ("mu_num", mu_num),
        ("mu_den", mu_den),
    ]
}

/// The per-licensee parameters of the cube queries.
pub fn cube_parameters(settings: &Settings) -> Vec<(&'static str, ScalarValue)> {
    let int = |v: i64| ScalarValue::Int64(Some(v));
    vec![
        ("window", int(settings.regular.window_weeks as i64)),
        ("min_active", int(settings.regular.min_active_weeks as i64)),
    ]
}

/// The cube a request's weeks need.
pub fn cube_request(settings: &Settings, request: &Request) -> CubeRequest {
    CubeRequest {
        from: request.from.number() as i64,
        to: request.to.number() as i64,
        max_weeks: MAX_WEEKS as i64,
        // week masks: the weeks of a chunk plus the window before it
        chunk_weeks: 64 - settings.regular.window_weeks as i64,
        params: cube_parameters(settings),
    }
}

/// Runs a KPI query over the cube, computing the cube for its weeks first.
async fn run_over_cube(
    engine: &Engine,
    name: &str,
    settings: &Settings,
    request: &Request,
) -> Result<Vec<RecordBatch>> {
    check_range(request)?;
    let cube = cube_request(settings, request);
    Ok(engine
        .run_over_cube(name, parameters(settings, request), &cube)
        .await?)
}

/// Column access on query results by name.
struct Columns<'a> {
    batch: &'a RecordBatch,
}

impl Columns<'_> {
    fn array(&self, name: &str, to: &DataType) -> Result<std::sync::Arc<dyn Array>> {
        let col = self
            .batch
            .column_by_name(name)
            .ok_or_else(|| Error::MissingColumn(name.to_string()))?;
        cast(col, to).map_err(|e| {
            Error::Engine(engine::Error::Run {
                name: name.into(),
                source: e.into(),
            })
        })
    }

    fn text(&self, name: &str) -> Result<Vec<String>> {
        let a = self.array(name, &DataType::Utf8)?;
        let a = a.as_string::<i32>();
        Ok((0..a.len())
            .map(|i| {
                if a.is_null(i) {
                    String::new()
                } else {
                    a.value(i).to_string()
                }
            })
            .collect())
    }

    fn int(&self, name: &'static str) -> Result<Vec<Option<i64>>> {
        let a = self.array(name, &DataType::Int64)?;
        let a = a.as_primitive::<Int64Type>();
        Ok((0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect())
    }

    /// Each row's values of the requested dimensions, in the order asked.
    fn segments(&self, dims: &[Dimension]) -> Result<Vec<Vec<String>>> {
        let columns = dims
            .iter()
            .map(|d| self.text(d.name()))
            .collect::<Result<Vec<_>>>()?;
        Ok((0..self.batch.num_rows())
            .map(|i| columns.iter().map(|c| c[i].clone()).collect())
            .collect())
    }

    fn boolean(&self, name: &'static str) -> Result<Vec<bool>> {
        let a = self.array(name, &DataType::Boolean)?;
        let a = a.as_boolean();
        Ok((0..a.len()).map(|i| a.is_valid(i) && a.value(i)).collect())
    }
}

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

/// The request to compute, and how its rows map onto the one asked for
/// when it is protected against differencing.
fn protection(settings: &Settings, request: &Request) -> (Request, Option<protect::View>) {
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
    let k = settings.privacy.min_group_size as i64;
    let engine = &*source.engine;
    source
        .protections
        .decide(
            request.from,
            request.to,
            &request.scope,
            k,
            |from, to| async move {
                let finest = Request {
                    dims: Dimension::ALL.to_vec(),
                    from,
                    to,
                    filter: Filter::default(),
                    scope: request.scope.clone(),
                    protected: false,
                };
                finest_cells(engine, settings, &finest).await
            },
        )
        .await
}

/// Every figure of the finest segments with licensees, week by week.
async fn finest_cells(
    engine: &Engine,
    settings: &Settings,
    finest: &Request,
) -> Result<Vec<protect::FinestCell>> {
    let mut cells: Vec<protect::FinestCell> = Vec::new();
    let mut at: HashMap<(i64, Vec<String>), usize> = HashMap::new();
    for batch in &run_over_cube(engine, "protection_cells", settings, finest).await? {
        let c = Columns { batch };
        let week = c.int("week")?;
        let segments = c.segments(&finest.dims)?;
        let (eligible, regular, inactive) =
            (c.int("eligible")?, c.int("regular")?, c.int("inactive")?);
        for (i, values) in segments.into_iter().enumerate() {
            let w = week[i].unwrap_or(0);
            at.insert((w, values.clone()), cells.len());
            cells.push(protect::FinestCell {
                week: Week::from_number(w as i32),
                values,
                eligible: eligible[i].unwrap_or(0),
                regular: regular[i].unwrap_or(0),
                inactive: inactive[i].unwrap_or(0),
                module_users: Vec::new(),
            });
        }
    }
    for batch in &run_over_cube(engine, "protection_module_users", settings, finest).await? {
        let c = Columns { batch };
        let week = c.int("week")?;
        let segments = c.segments(&finest.dims)?;
        let (module, users) = (c.text("module")?, c.int("users")?);
        for (i, values) in segments.into_iter().enumerate() {
            if let Some(&cell) = at.get(&(week[i].unwrap_or(0), values)) {
                cells[cell]
                    .module_users
                    .push((module[i].clone(), users[i].unwrap_or(0)));
            }
        }
    }
    Ok(cells)
}

/// Applies protection to rows of a widened request: each row's
/// suppression as decided for all tables, then the rows of the asked
/// table with the asked segment values.
async fn protected<T>(
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

fn header(first: &[&str], dims: &[Dimension], rest: &[&str]) -> Vec<String> {
    first
        .iter()
        .map(|s| s.to_string())
        .chain(dims.iter().map(|d| d.name().to_string()))
        .chain(rest.iter().map(|s| s.to_string()))
        .collect()
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

/// The columns of the modules table after the segment's.
pub const MODULE_FIGURES: [&str; 10] = [
    "module",
    "module_name",
    "monthly_cost_per_user",
    "eligible",
    "module_users",
    "module_adoption",
    "in_use",
    "inactive_licensees",
    "idle_license_cost",
    "suppressed",
];

/// The columns of the adoption curve table after the segment's.
pub const CURVE_FIGURES: [&str; 5] = [
    "weeks_since_go_live",
    "eligible",
    "regular",
    "active_licensee_rate",
    "suppressed",
];

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

/// Module adoption per segment and module of `L(t)`, with the segment's
/// inactive licensees and idle license cost (a monthly amount).
pub async fn modules_table(
    source: &Source,
    settings: &Settings,
    request: &Request,
) -> Result<Table> {
    let (computed, view) = protection(settings, request);
    let batches = run_over_cube(&source.engine, "modules", settings, &computed).await?;
    let k = settings.privacy.min_group_size as i64;
    let mut rows: Vec<ModuleRow> = Vec::new();
    for batch in &batches {
        let c = Columns { batch };
        let week = c.int("week")?;
        let mut segments = c.segments(&computed.dims)?.into_iter();
        let (module, name, cost) = (
            c.text("module")?,
            c.text("module_name")?,
            c.text("monthly_cost_per_user")?,
        );
        let eligible = c.int("eligible")?;
        let users = c.int("module_users")?;
        let adoption = c.int("module_adoption_micros")?;
        let in_use = c.boolean("in_use")?;
        let inactive = c.int("inactive_licensees")?;
        let idle = c.int("idle_license_cost_micros")?;
        for i in 0..batch.num_rows() {
            let n = eligible[i].unwrap_or(0);
            rows.push(ModuleRow {
                week: Week::from_number(week[i].unwrap_or(0) as i32),
                segment: segments.next().unwrap_or_default(),
                module: module[i].clone(),
                name: name[i].clone(),
                cost: cost[i].clone(),
                figures: [
                    Cell::Int(n),
                    Cell::Int(users[i].unwrap_or(0)),
                    adoption[i].map_or(Cell::Empty, Cell::Rate),
                    Cell::Bool(in_use[i]),
                    Cell::Int(inactive[i].unwrap_or(0)),
                    Cell::Money(idle[i].unwrap_or(0)),
                ],
                suppressed: n < k,
            });
        }
    }
    let mut rows = protected(source, settings, &computed, view.as_ref(), rows, |r| {
        (r.week, &mut r.segment, &mut r.suppressed)
    })
    .await?;
    rows.sort_by(|a, b| (a.week, &a.segment, &a.module).cmp(&(b.week, &b.segment, &b.module)));
    Ok(Table {
        columns: header(&["week"], &request.dims, &MODULE_FIGURES),
        rows: rows.into_iter().map(ModuleRow::cells).collect(),
    })
}

/// One row of the modules table, before suppression is shown.
struct ModuleRow {
    week: Week,
    segment: Vec<String>,
    module: String,
    name: String,
    cost: String,
    figures: [Cell; 6],
    suppressed: bool,
}

impl ModuleRow {
    fn cells(self) -> Vec<Cell> {
        let mut cells = vec![Cell::Text(self.week.to_string())];
        cells.extend(self.segment.into_iter().map(Cell::Text));
        cells.push(Cell::Text(self.module));
        cells.push(Cell::Text(self.name));
        cells.push(if self.cost.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(self.cost)
        });
        if self.suppressed {
            cells.extend(std::iter::repeat_n(Cell::Empty, 6));
        } else {
            cells.extend(self.figures);
        }
        cells.push(Cell::Bool(self.suppressed));
        cells
    }
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

/// The user-level view of one week: every eligible licensee with their
/// active weeks in the window and whether they are a regular user, sorted
/// by segment and id. Only for `privacy.user_level_views` and admins.
pub async fn licensees(
    engine: &Engine,
    settings: &Settings,
    week: Week,
    filter: &Filter,
) -> Result<Table> {
    let mut params = cube_parameters(settings);
    params.extend([
        ("from_week", ScalarValue::Int64(Some(week.number() as i64))),
        ("to_week", ScalarValue::Int64(Some(week.number() as i64))),
        ("only_region", only(&filter.region)),
        ("only_department", only(&filter.department)),
        ("only_wave", only(&filter.wave)),
    ]);
    let batches = engine.run("licensees", params).await?;
    let mut rows = Vec::new();
    for batch in &batches {
        let c = Columns { batch };
        let ids = c.text("user_id")?;
        let segments = c.segments(&Dimension::ALL)?;
        let active = c.int("active_weeks")?;
        let regular = c.boolean("regular")?;
        for i in 0..batch.num_rows() {
            let mut cells = vec![Cell::Text(week.to_string()), Cell::Text(ids[i].clone())];
            cells.extend(segments[i].iter().cloned().map(Cell::Text));
            cells.push(Cell::Int(active[i].unwrap_or(0)));
            cells.push(Cell::Bool(regular[i]));
            rows.push(cells);
        }
    }
    Ok(Table {
        columns: header(
            &["week", "user_id"],
            &Dimension::ALL,
            &["active_weeks", "regular"],
        ),
        rows,
    })
}

/// Data-quality figures over the raw events (SPEC.md section 3).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EventStats {
    pub events: i64,
    pub distinct_users: i64,
    pub events_of_unknown_users: i64,
    pub unknown_user_ids: i64,
    pub events_of_unknown_modules: i64,
    pub unknown_module_ids: i64,
}

pub async fn event_stats(engine: &Engine) -> Result<EventStats> {
    let batches = engine.run("stats", Vec::new()).await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(EventStats::default());
    };
    let c = Columns { batch };
    let get = |name| -> Result<i64> { Ok(c.int(name)?.first().copied().flatten().unwrap_or(0)) };
    Ok(EventStats {
        events: get("events")?,
        distinct_users: get("distinct_users")?,
        events_of_unknown_users: get("events_of_unknown_users")?,
        unknown_user_ids: get("unknown_user_ids")?,
        events_of_unknown_modules: get("events_of_unknown_modules")?,
        unknown_module_ids: get("unknown_module_ids")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
