//! The module adoption table (`queries/modules.sql`).

use crate::config::Settings;
use crate::model::Week;

use super::bind::{Columns, run_over_cube};
use super::rows::{protected, protection};
use super::{Cell, Request, Result, Source, Table, header};

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
