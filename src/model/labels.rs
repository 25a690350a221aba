//! What readers see for ids: waves, modules and regions by their names in
//! the reader's language where the data gives one. Ids stay ids in the
//! API, CSV and links; only what is shown to people is named.

use std::collections::BTreeMap;

use crate::model::output::{Cell, Table};
use crate::model::tables::{Names, name_in};
use crate::model::{Lang, Module, Wave};

/// The names of a data directory's waves and modules and of the settings'
/// regions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels {
    pub waves: Vec<Wave>,
    pub modules: Vec<Module>,
    /// A region's names by language (`[region_names]`); a region without
    /// is shown by its id.
    pub regions: BTreeMap<String, Names>,
}

impl Labels {
    /// A wave's name in `lang` where the waves give one, else its name,
    /// else the id.
    pub fn wave(&self, id: &str, lang: Lang) -> String {
        self.waves.iter().find(|w| w.wave_id == id).map_or_else(
            || id.to_string(),
            |w| name_in(&w.name, &w.names, lang).to_string(),
        )
    }

    /// A module's name in `lang`, else its name; `None` for a module the
    /// catalog does not know.
    pub fn module(&self, id: &str, lang: Lang) -> Option<&str> {
        self.modules
            .iter()
            .find(|m| m.module_id == id)
            .map(|m| name_in(&m.name, &m.names, lang))
    }

    /// A region's name in `lang`, else its English name, else the id.
    pub fn region<'a>(&'a self, id: &'a str, lang: Lang) -> &'a str {
        match self.regions.get(id) {
            Some(names) => names
                .get(&lang)
                .or_else(|| names.get(&Lang::En))
                .map_or(id, String::as_str),
            None => id,
        }
    }

    /// A segment's value of dimension `dim` as readers of `lang` see it.
    pub fn value(&self, dim: &str, value: &str, lang: Lang) -> String {
        match dim {
            "wave" => self.wave(value, lang),
            "region" => self.region(value, lang).to_string(),
            _ => value.to_string(),
        }
    }

    /// What readers of `lang` see in cell `i` of `row` when the column
    /// names something by id: a wave or region by its name, `module_name`
    /// by the name of the row's `module` in that language. `None` for
    /// other columns and for cells that are not text.
    pub fn cell(&self, columns: &[String], row: &[Cell], i: usize, lang: Lang) -> Option<String> {
        let Cell::Text(value) = &row[i] else {
            return None;
        };
        match columns[i].as_str() {
            dim @ ("wave" | "region") => Some(self.value(dim, value, lang)),
            "module_name" => {
                let at = columns.iter().position(|c| c == "module")?;
                let Cell::Text(id) = &row[at] else {
                    return None;
                };
                self.module(id, lang).map(str::to_string)
            }
            _ => None,
        }
    }

    /// The table with every cell [`Labels::cell`] names replaced by its
    /// name: what charts and PDF tables show people.
    pub fn naming<'t>(&self, table: &'t Table, lang: Lang) -> std::borrow::Cow<'t, Table> {
        let named: Vec<usize> = (0..table.columns.len())
            .filter(|&i| matches!(table.columns[i].as_str(), "wave" | "region" | "module_name"))
            .collect();
        if named.is_empty() {
            return std::borrow::Cow::Borrowed(table);
        }
        let mut out = table.clone();
        for (row, shown) in table.rows.iter().zip(&mut out.rows) {
            for &i in &named {
                if let Some(name) = self.cell(&table.columns, row, i, lang) {
                    shown[i] = Cell::Text(name);
                }
            }
        }
        std::borrow::Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).expect("date");
        Labels {
            waves: vec![Wave {
                wave_id: "W1".into(),
                name: "Wave 1 DACH".into(),
                go_live: date,
                names: Names::from([(Lang::Fr, "Vague 1 DACH".into())]),
            }],
            modules: vec![Module {
                module_id: "M1".into(),
                name: "Leads".into(),
                licensed_from: date,
                licensed_until: None,
                monthly_cost_per_user: None,
                names: Names::from([(Lang::De, "Interessenten".into())]),
            }],
            regions: BTreeMap::from([(
                "NORTH".to_string(),
                Names::from([
                    (Lang::En, "Northern Europe".into()),
                    (Lang::De, "Nordeuropa".into()),
                ]),
            )]),
        }
    }

    #[test]
    fn names_follow_the_language_and_fall_back_to_the_name_then_the_id() {
        let l = labels();
        assert_eq!(l.wave("W1", Lang::Fr), "Vague 1 DACH");
        assert_eq!(l.wave("W1", Lang::De), "Wave 1 DACH");
        assert_eq!(l.wave("W9", Lang::De), "W9");
        assert_eq!(l.module("M1", Lang::De), Some("Interessenten"));
        assert_eq!(l.module("M1", Lang::Nl), Some("Leads"));
        assert_eq!(l.module("M9", Lang::De), None);
        assert_eq!(l.region("NORTH", Lang::De), "Nordeuropa");
        assert_eq!(l.region("NORTH", Lang::Fr), "Northern Europe");
        assert_eq!(l.region("SOUTH", Lang::De), "SOUTH");
    }

    #[test]
    fn a_table_is_named_column_by_column_and_ids_elsewhere_stay() {
        let table = Table {
            columns: ["region", "wave", "module", "module_name", "team"]
                .map(String::from)
                .to_vec(),
            rows: vec![
                ["NORTH", "W1", "M1", "Leads", "W1"]
                    .map(|v| Cell::Text(v.into()))
                    .to_vec(),
                vec![
                    Cell::Text("SOUTH".into()),
                    Cell::Empty,
                    Cell::Text("M9".into()),
                    Cell::Text("Old".into()),
                    Cell::Text("NORTH".into()),
                ],
            ],
        };
        let named = labels().naming(&table, Lang::De).into_owned();
        let text = |r: usize, c: usize| match &named.rows[r][c] {
            Cell::Text(t) => t.clone(),
            other => format!("{other:?}"),
        };
        assert_eq!(text(0, 0), "Nordeuropa");
        assert_eq!(text(0, 1), "Wave 1 DACH");
        assert_eq!(text(0, 2), "M1");
        assert_eq!(text(0, 3), "Interessenten");
        assert_eq!(text(0, 4), "W1");
        assert_eq!(text(1, 0), "SOUTH");
        assert_eq!(text(1, 1), "Empty");
        assert_eq!(text(1, 3), "Old");
        assert_eq!(text(1, 4), "NORTH");
    }
}
