//! Binding requests to the queries' parameters, and reading their results
//! by column name.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::scalar::ScalarValue;

use crate::config::Settings;
use crate::engine::{self, CubeRequest, Engine};
use crate::model::Decimal;

use super::{Dimension, Error, MAX_WEEKS, Request, Result, Scope, check_range};

fn fraction(d: Decimal) -> (ScalarValue, ScalarValue) {
    (
        ScalarValue::Int64(Some(d.numerator())),
        ScalarValue::Int64(Some(d.denominator())),
    )
}

/// A filter's value as a query parameter: '' keeps every licensee.
pub(super) fn only(v: &Option<String>) -> ScalarValue {
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
pub(super) async fn run_over_cube(
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

/// A text column of a query's result (cast to `Utf8`).
pub(super) struct TextColumn(std::sync::Arc<dyn Array>);

impl TextColumn {
    /// The value of row `i`; a null is the empty text.
    pub(super) fn get(&self, i: usize) -> &str {
        let a = self.0.as_string::<i32>();
        if a.is_null(i) { "" } else { a.value(i) }
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

/// Column access on query results by name.
pub(super) struct Columns<'a> {
    pub(super) batch: &'a RecordBatch,
}

impl Columns<'_> {
    pub(super) fn array(&self, name: &str, to: &DataType) -> Result<std::sync::Arc<dyn Array>> {
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

    pub(super) fn text(&self, name: &str) -> Result<Vec<String>> {
        let column = self.text_column(name)?;
        Ok((0..column.len())
            .map(|i| column.get(i).to_string())
            .collect())
    }

    /// A text column read in place, without a string per row.
    pub(super) fn text_column(&self, name: &str) -> Result<TextColumn> {
        Ok(TextColumn(self.array(name, &DataType::Utf8)?))
    }

    pub(super) fn int(&self, name: &'static str) -> Result<Vec<Option<i64>>> {
        let a = self.array(name, &DataType::Int64)?;
        let a = a.as_primitive::<Int64Type>();
        Ok((0..a.len())
            .map(|i| a.is_valid(i).then(|| a.value(i)))
            .collect())
    }

    /// Each row's values of the requested dimensions, in the order asked.
    pub(super) fn segments(&self, dims: &[Dimension]) -> Result<Vec<Vec<String>>> {
        let columns = dims
            .iter()
            .map(|d| self.text(d.name()))
            .collect::<Result<Vec<_>>>()?;
        Ok((0..self.batch.num_rows())
            .map(|i| columns.iter().map(|c| c[i].clone()).collect())
            .collect())
    }

    pub(super) fn boolean(&self, name: &'static str) -> Result<Vec<bool>> {
        let a = self.array(name, &DataType::Boolean)?;
        let a = a.as_boolean();
        Ok((0..a.len()).map(|i| a.is_valid(i) && a.value(i)).collect())
    }
}
