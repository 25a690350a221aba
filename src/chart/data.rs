//! Chart data taken from a KPI table (`model::output::Table`) by column name.

use crate::model::Week;
use crate::model::output::{Cell, Table};

/// One line: (x, y) points, `None` where the figure is suppressed.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, Option<f64>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HeatCell {
    Value(f64),
    Suppressed,
    Empty,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    pub cells: Vec<Vec<HeatCell>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    /// `None`: suppressed.
    pub value: Option<f64>,
}

fn index(table: &Table, column: &str) -> Option<usize> {
    table.columns.iter().position(|c| c == column)
}

/// A figure as a number: rates as fractions, money in currency units.
pub fn number(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Int(i) => Some(*i as f64),
        Cell::Rate(m) | Cell::Money(m) => Some(*m as f64 / 1e6),
        Cell::Bool(b) => Some(f64::from(u8::from(*b))),
        Cell::Text(s) => s.parse().ok(),
        Cell::Empty => None,
    }
}

/// An x value: a week label as its week number, else a number.
fn x_value(cell: &Cell) -> Option<f64> {
    match cell {
        Cell::Text(s) => s
            .parse::<Week>()
            .ok()
            .map(|w| w.number() as f64)
            .or_else(|| s.parse().ok()),
        c => number(c),
    }
}

fn key(row: &[Cell], columns: &[usize]) -> String {
    columns
        .iter()
        .map(|&i| match &row[i] {
            Cell::Text(s) if s.is_empty() => "(none)".to_string(),
            Cell::Text(s) => s.clone(),
            c => number(c).map(|v| v.to_string()).unwrap_or_default(),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Lines over `x`: one per segment (the values of `segment_columns`) and
/// figure, named by the segment, then by `figure_name` when there are
/// several figures. Series keep the order of first appearance.
pub fn series(
    table: &Table,
    x: &str,
    segment_columns: &[String],
    figures: &[(String, String)],
) -> Vec<Series> {
    let Some(xi) = index(table, x) else {
        return Vec::new();
    };
    let seg: Vec<usize> = segment_columns
        .iter()
        .filter_map(|c| index(table, c))
        .collect();
    let mut out: Vec<Series> = Vec::new();
    for row in &table.rows {
        let Some(xv) = x_value(&row[xi]) else {
            continue;
        };
        let segment = key(row, &seg);
        for (figure, label) in figures {
            let Some(fi) = index(table, figure) else {
                continue;
            };
            let name = match (segment.is_empty(), figures.len() > 1) {
                (true, _) => label.clone(),
                (false, false) => segment.clone(),
                (false, true) => format!("{segment}: {label}"),
            };
            let y = number(&row[fi]);
            match out.iter_mut().find(|s| s.name == name) {
                Some(s) => s.points.push((xv, y)),
                None => out.push(Series {
                    name,
                    points: vec![(xv, y)],
                }),
            }
        }
    }
    out
}

fn suppressed(table: &Table, row: &[Cell]) -> bool {
    index(table, "suppressed").is_some_and(|i| row[i] == Cell::Bool(true))
}

/// Rows by the values of `row_columns`, columns by `column`, cells by
/// `figure`.
pub fn heat_map(table: &Table, row_columns: &[String], column: &str, figure: &str) -> HeatMap {
    let rows_i: Vec<usize> = row_columns.iter().filter_map(|c| index(table, c)).collect();
    let (Some(ci), Some(fi)) = (index(table, column), index(table, figure)) else {
        return HeatMap {
            rows: Vec::new(),
            columns: Vec::new(),
            cells: Vec::new(),
        };
    };
    let mut rows: Vec<String> = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    let mut entries = Vec::new();
    for row in &table.rows {
        let r = key(row, &rows_i);
        let c = key(row, &[ci]);
        if !rows.contains(&r) {
            rows.push(r.clone());
        }
        if !columns.contains(&c) {
            columns.push(c.clone());
        }
        let cell = if suppressed(table, row) {
            HeatCell::Suppressed
        } else {
            number(&row[fi]).map_or(HeatCell::Empty, HeatCell::Value)
        };
        entries.push((r, c, cell));
    }
    columns.sort();
    let mut cells = vec![vec![HeatCell::Empty; columns.len()]; rows.len()];
    for (r, c, cell) in entries {
        if let (Some(i), Some(j)) = (
            rows.iter().position(|x| *x == r),
            columns.iter().position(|x| *x == c),
        ) {
            cells[i][j] = cell;
        }
    }
    HeatMap {
        rows,
        columns,
        cells,
    }
}

/// One bar per segment (the first row of each), by `figure`.
pub fn bars(table: &Table, label_columns: &[String], figure: &str) -> Vec<Bar> {
    let labels: Vec<usize> = label_columns
        .iter()
        .filter_map(|c| index(table, c))
        .collect();
    let Some(fi) = index(table, figure) else {
        return Vec::new();
    };
    let mut out: Vec<Bar> = Vec::new();
    for row in &table.rows {
        let label = key(row, &labels);
        if out.iter().any(|b| b.label == label) {
            continue;
        }
        let value = if suppressed(table, row) {
            None
        } else {
            number(&row[fi])
        };
        out.push(Bar { label, value });
    }
    out
}
