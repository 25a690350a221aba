//! What is stored, as the user-level view and the data-quality figures
//! (`queries/licensees.sql`, `queries/stats.sql`).

use datafusion::scalar::ScalarValue;

use crate::config::Settings;
use crate::engine::Engine;
use crate::model::Week;

use super::bind::{Columns, cube_parameters, only};
use super::{Cell, Dimension, Filter, Result, Table, header};

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
    /// Time of the latest stored event (microseconds since the epoch).
    pub last_event_micros: Option<i64>,
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
        last_event_micros: c.int("last_event_micros")?.first().copied().flatten(),
    })
}
