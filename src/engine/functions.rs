//! The arithmetic of SPEC.md that several queries share, as SQL functions
//! registered in every session, so that each rule is written once:
//!
//! - `rate_micros(part, whole)`: part / whole in millionths, rounded half
//!   up, exactly (integers only); NULL when whole is 0.
//! - `users_needed(eligible, theta_num, theta_den)`: the users a module
//!   needs to count as in use in a segment, max(1, ⌈θ · eligible⌉) with
//!   θ = theta_num / theta_den (`module.min_user_share`).
//! - `sunday(week)`: the day number of the Sunday of a week number; a
//!   license or a module counts in a week when it holds on that day.
//! - `event_accepted(time, latest, user_id, module, action, client)`:
//!   whether an import takes an event row (time in microseconds, `latest`
//!   the latest time it accepts), by the import's own rules
//!   ([`crate::store::input::field_problem`]); the cluster checks the
//!   rows of files read in place with it.
//!
//! A Ballista cluster's scheduler and executors know them too
//! ([`udfs`]).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int64Array};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

/// Registers the functions in a session.
pub fn register(ctx: &SessionContext) {
    for f in udfs() {
        ctx.register_udf(f);
    }
}

/// The functions, for sessions built otherwise (the cluster's).
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        function("rate_micros", 2, |a| rate_micros(a[0], a[1])),
        function("users_needed", 3, |a| users_needed(a[0], a[1], a[2])),
        function("sunday", 1, |a| Some(sunday(a[0]))),
        event_accepted(),
    ]
}

/// part / whole in millionths, rounded half up; `None` when whole is not
/// positive.
pub fn rate_micros(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| (2 * part * 1_000_000 + whole) / (2 * whole))
}

/// max(1, ⌈θ · eligible⌉) for θ = num / den.
pub fn users_needed(eligible: i64, num: i64, den: i64) -> Option<i64> {
    (den > 0).then(|| ((num * eligible + den - 1) / den).max(1))
}

/// The day number (days since 1970-01-01) of the Sunday of the week
/// number `week` (ISO weeks since the week of 1970-01-01, which began on
/// Monday 1969-12-29, day -3).
pub fn sunday(week: i64) -> i64 {
    week * 7 + 3
}

/// A function of `arity` BIGINT arguments returning BIGINT, NULL when an
/// argument is NULL or `f` gives none.
fn function(name: &str, arity: usize, f: fn(&[i64]) -> Option<i64>) -> ScalarUDF {
    let implementation = move |args: &[ColumnarValue]| -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let columns: Vec<&Int64Array> = arrays
            .iter()
            .map(|a| {
                a.as_any().downcast_ref::<Int64Array>().ok_or_else(|| {
                    DataFusionError::Internal("a BIGINT argument is not Int64".into())
                })
            })
            .collect::<Result<_>>()?;
        let rows = arrays.first().map_or(0, |a| a.len());
        let mut values = vec![0i64; arity];
        let result: Int64Array = (0..rows)
            .map(|row| {
                for (value, column) in values.iter_mut().zip(&columns) {
                    if column.is_null(row) {
                        return None;
                    }
                    *value = column.value(row);
                }
                f(&values)
            })
            .collect();
        answer(args, Arc::new(result))
    };
    create_udf(
        name,
        vec![DataType::Int64; arity],
        DataType::Int64,
        Volatility::Immutable,
        Arc::new(implementation),
    )
}

/// A function's answer: a scalar when every argument is one.
fn answer(args: &[ColumnarValue], result: ArrayRef) -> Result<ColumnarValue> {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        return Ok(ColumnarValue::Scalar(
            datafusion::scalar::ScalarValue::try_from_array(&result, 0)?,
        ));
    }
    Ok(ColumnarValue::Array(result))
}

/// `event_accepted(time BIGINT, latest BIGINT, user_id, module, action,
/// client)`: whether every field of an event row is taken by an import
/// whose latest accepted time is `latest` (microseconds).
fn event_accepted() -> ScalarUDF {
    let implementation = |args: &[ColumnarValue]| -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let int = |i: usize| {
            arrays[i]
                .as_any()
                .downcast_ref::<Int64Array>()
                .ok_or_else(|| DataFusionError::Internal("a BIGINT argument is not Int64".into()))
        };
        let (times, latest) = (int(0)?, int(1)?);
        let texts = arrays[2..]
            .iter()
            .map(|a| datafusion::arrow::compute::cast(a, &DataType::Utf8))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let texts: Vec<_> = texts.iter().map(|a| a.as_string::<i32>()).collect();
        let columns = ["user_id", "module", "action", "client"];
        let rows = times.len();
        let accepted: BooleanArray = (0..rows)
            .map(|row| {
                let time = (!times.is_null(row)).then(|| times.value(row));
                let range = crate::model::event::TimeRange::up_to(latest.value(row));
                let time_ok = time.is_some_and(|t| range.check(t).is_ok());
                Some(
                    time_ok
                        && columns.iter().zip(&texts).all(|(name, column)| {
                            let value = (!column.is_null(row)).then(|| column.value(row));
                            crate::store::input::field_problem(name, value).is_none()
                        }),
                )
            })
            .collect();
        answer(args, Arc::new(accepted))
    };
    create_udf(
        "event_accepted",
        vec![
            DataType::Int64,
            DataType::Int64,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Utf8,
            DataType::Utf8,
        ],
        DataType::Boolean,
        Volatility::Immutable,
        Arc::new(implementation),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_half_up_to_millionths() {
        assert_eq!(rate_micros(1, 3), Some(333_333));
        assert_eq!(rate_micros(2, 3), Some(666_667));
        // 1/8 000 000 = 0.125 millionths rounds down; 1/2 000 000 = 0.5 up.
        assert_eq!(rate_micros(1, 8_000_000), Some(0));
        assert_eq!(rate_micros(1, 2_000_000), Some(1));
        assert_eq!(rate_micros(5, 5), Some(1_000_000));
        assert_eq!(rate_micros(0, 0), None);
    }

    #[test]
    fn a_module_needs_a_share_of_the_eligible_and_at_least_one_user() {
        // θ = 0.1
        assert_eq!(users_needed(0, 1, 10), Some(1));
        assert_eq!(users_needed(9, 1, 10), Some(1));
        assert_eq!(users_needed(10, 1, 10), Some(1));
        assert_eq!(users_needed(11, 1, 10), Some(2));
        assert_eq!(users_needed(100, 1, 10), Some(10));
        assert_eq!(users_needed(5, 1, 0), None);
    }

    #[tokio::test]
    async fn the_sql_functions_compute_the_same() {
        let ctx = SessionContext::new();
        register(&ctx);
        let batches = ctx
            .sql(
                "SELECT rate_micros(CAST(column1 AS BIGINT), CAST(column2 AS BIGINT)) AS r, \
                        users_needed(CAST(column2 AS BIGINT), 1, 10) AS n \
                 FROM (VALUES (1, 3), (2, 3), (0, 0), (NULL, 11))",
            )
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .expect("format")
            .to_string();
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
        assert_eq!(
            rows,
            [
                "| r      | n |",
                "| 333333 | 1 |",
                "| 666667 | 1 |",
                "|        | 1 |",
                "|        | 2 |",
            ]
        );
    }

    #[tokio::test]
    async fn events_are_accepted_by_the_imports_rules() {
        let ctx = SessionContext::new();
        register(&ctx);
        // 2027-01-01T00:00Z; the latest accepted time is a minute later.
        let (t, latest) = (1_798_761_600_000_000_i64, 1_798_761_660_000_000_i64);
        let bell = '\u{7}';
        let sql = format!(
            "SELECT event_accepted(column1, {latest}, column2, column3, column4, column5) AS ok \
             FROM (VALUES ({t}, 'u1', 'm', 'view', NULL), \
                          ({t}, 'u1', 'm', 'view', 'web'), \
                          ({t}, 'u{bell}1', 'm', 'view', NULL), \
                          ({t}, 'u1', '', 'view', NULL), \
                          ({t}, 'u1', 'm', NULL, NULL), \
                          ({t}, 'u1', 'm', 'view', 'a{bell}b'), \
                          (946684799999999, 'u1', 'm', 'view', NULL), \
                          ({latest} + 1, 'u1', 'm', 'view', NULL), \
                          (NULL, 'u1', 'm', 'view', NULL))"
        );
        let batches = ctx
            .sql(&sql)
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        let accepted: Vec<Option<bool>> = batches
            .iter()
            .flat_map(|b| b.column(0).as_boolean().iter().collect::<Vec<_>>())
            .collect();
        assert_eq!(
            accepted,
            [true, true, false, false, false, false, false, false, false].map(Some)
        );
    }
}
