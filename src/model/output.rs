//! Output tables: one shape printed as CSV (SPEC.md section 5), JSON or an
//! aligned text table.

use serde_json::{Map, Value};

use crate::model::decimal::format_money_micros;

/// One figure of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A rate in millionths, already rounded.
    Rate(i64),
    /// Money in millionths of the currency unit.
    Money(i64),
    Bool(bool),
    /// An empty figure (suppressed, or undefined like MU with empty `L(t)`).
    Empty,
}

impl Cell {
    fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Int(i) => i.to_string(),
            Cell::Rate(m) => {
                // A change of a rate (a forecast's pace) may be negative.
                let sign = if *m < 0 { "-" } else { "" };
                let m = m.unsigned_abs();
                format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000)
            }
            Cell::Money(m) => format_money_micros(*m),
            Cell::Bool(b) => b.to_string(),
            Cell::Empty => String::new(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Int(i) => Value::from(*i),
            // The nearest double to a 6-decimal value prints as that value.
            Cell::Rate(m) => Value::from(*m as f64 / 1e6),
            Cell::Money(_) => Value::String(self.text()),
            Cell::Bool(b) => Value::Bool(*b),
            Cell::Empty => Value::Null,
        }
    }
}

/// Output formats of the reporting commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// A result table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// With a `wave_name` column after `wave`, the name of each row's wave
    /// (the JSON API's rows: ids stay ids, the name is beside them; a wave
    /// without a row in waves.csv by its id). A table without `wave` is
    /// returned as it is.
    pub fn with_wave_names(&self, labels: &crate::model::Labels) -> std::borrow::Cow<'_, Table> {
        let Some(at) = self.columns.iter().position(|c| c == "wave") else {
            return std::borrow::Cow::Borrowed(self);
        };
        let mut columns = self.columns.clone();
        columns.insert(at + 1, "wave_name".into());
        let rows = self
            .rows
            .iter()
            .map(|row| {
                let mut row = row.clone();
                let name = match &row[at] {
                    Cell::Text(id) => labels.wave(id, crate::model::Lang::En),
                    _ => String::new(),
                };
                row.insert(at + 1, Cell::Text(name));
                row
            })
            .collect();
        std::borrow::Cow::Owned(Table { columns, rows })
    }

    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Csv => self.to_csv(),
            Format::Json => self.to_json(),
            Format::Table => self.to_text(),
        }
    }

    /// CSV: UTF-8, header, minimal RFC 4180 quoting, `\n` line ends.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let line = |cells: Vec<String>| {
            cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(",")
        };
        out.push_str(&line(self.columns.clone()));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(row.iter().map(Cell::text).collect()));
            out.push('\n');
        }
        out
    }

    /// JSON: an array of objects with the CSV's fields, empty figures as null.
    pub fn to_json(&self) -> String {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let mut map = Map::new();
                for (c, cell) in self.columns.iter().zip(row) {
                    map.insert(c.clone(), cell.json());
                }
                Value::Object(map)
            })
            .collect();
        let mut s = serde_json::to_string_pretty(&Value::Array(rows)).unwrap_or_default();
        s.push('\n');
        s
    }

    /// An Excel workbook with one sheet: the CSV's header and rows, figures
    /// as numbers (rates formatted as percentages), empty figures empty.
    pub fn to_xlsx(&self, sheet: &str) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        use rust_xlsxwriter::{Format as CellFormat, Workbook};
        let mut book = Workbook::new();
        let ws = book.add_worksheet();
        ws.set_name(sheet)?;
        let bold = CellFormat::new().set_bold();
        let percent = CellFormat::new().set_num_format("0.0%");
        let money = CellFormat::new().set_num_format("#,##0.00");
        for (c, name) in self.columns.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, name, &bold)?;
        }
        for (r, row) in self.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(s) => {
                        ws.write_string(r, c, s)?;
                    }
                    Cell::Int(i) => {
                        ws.write_number(r, c, *i as f64)?;
                    }
                    Cell::Rate(m) => {
                        ws.write_number_with_format(r, c, *m as f64 / 1e6, &percent)?;
                    }
                    Cell::Money(m) => {
                        ws.write_number_with_format(r, c, *m as f64 / 1e6, &money)?;
                    }
                    Cell::Bool(b) => {
                        ws.write_boolean(r, c, *b)?;
                    }
                    Cell::Empty => {}
                }
            }
        }
        ws.autofit();
        book.save_to_buffer()
    }

    /// A cell's text as in the CSV.
    pub fn cell_text(cell: &Cell) -> String {
        cell.text()
    }

    /// Aligned columns for a terminal; numbers right-aligned.
    pub fn to_text(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Cell::Empty => "-".to_string(),
                        c => c.text(),
                    })
                    .collect()
            })
            .collect();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                cells
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([self.columns[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let numeric: Vec<bool> = (0..self.columns.len())
            .map(|i| {
                self.rows
                    .iter()
                    .any(|r| matches!(r[i], Cell::Int(_) | Cell::Rate(_) | Cell::Money(_)))
            })
            .collect();
        let mut out = String::new();
        let mut push_line = |values: &[String]| {
            let parts: Vec<String> = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if numeric[i] {
                        format!("{v:>w$}", w = widths[i])
                    } else {
                        format!("{v:<w$}", w = widths[i])
                    }
                })
                .collect();
            out.push_str(parts.join("  ").trim_end());
            out.push('\n');
        };
        push_line(&self.columns);
        for r in &cells {
            push_line(r);
        }
        out
    }
}

/// Quotes a CSV field only when it holds a comma, quote or line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_minimally() {
        assert_eq!(csv_field("Sales"), "Sales");
        assert_eq!(csv_field("Sales, Inside"), "\"Sales, Inside\"");
        assert_eq!(csv_field("the \"A\" team"), "\"the \"\"A\"\" team\"");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field(" lead "), " lead ");
    }

    #[test]
    fn negative_rates_keep_their_sign() {
        assert_eq!(Cell::Rate(-81_502).text(), "-0.081502");
        assert_eq!(Cell::Rate(-1_500_000).text(), "-1.500000");
        assert_eq!(Cell::Rate(22_856).text(), "0.022856");
    }

    #[test]
    fn formats() {
        let t = Table {
            columns: vec!["week".into(), "rate".into(), "ok".into(), "n".into()],
            rows: vec![
                vec![
                    Cell::Text("2026-W53".into()),
                    Cell::Rate(7813),
                    Cell::Bool(false),
                    Cell::Int(128),
                ],
                vec![
                    Cell::Text("2027-W01".into()),
                    Cell::Empty,
                    Cell::Bool(true),
                    Cell::Empty,
                ],
            ],
        };
        assert_eq!(
            t.to_csv(),
            "week,rate,ok,n\n2026-W53,0.007813,false,128\n2027-W01,,true,\n"
        );
        let json: Value = serde_json::from_str(&t.to_json()).expect("json");
        assert_eq!(json[0]["rate"], Value::from(0.007813));
        assert_eq!(json[1]["rate"], Value::Null);
        assert_eq!(t.to_json().matches("0.007813").count(), 1);
    }
}
