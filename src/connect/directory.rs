//! Directories from real exports: how an HR or identity export's columns
//! become the directory's (`uptake import directory FILE --mapping
//! FILE.toml`, or `--map region=Country,...` for plain renames).
//!
//! ```toml
//! [columns]                 # directory column = the export's column
//! user_id = "Id"
//! region = "Country"
//! department = "Department"
//! team = "UserRole"
//! license_start = "CreatedDate"
//!
//! [constants]               # a directory column with one value for all
//! license_start = "2026-01-01"
//!
//! [values.region]           # the export's value -> the directory's
//! DE = "DACH"
//! AT = "DACH"
//!
//! [wave]                    # the wave: a column of its own ...
//! by = "region"             # ... or by the (mapped) region or department
//! [wave.values]
//! DACH = "W1"
//!
//! [keep]                    # only rows with these values
//! IsActive = "true"
//!
//! [ids]                     # user ids normalised as this id system
//! source = "salesforce"
//! ```
//!
//! `[columns]` may also fill alias columns
//! ([`crate::model::identity::ALIAS_COLUMNS`]: `email = "Email"`), whose
//! values join events of other id systems to the row's user.
//!
//! Dates may be written `YYYY-MM-DD` or as a date-time (the date part is
//! taken, as written: `2024-01-15T10:30:00.000+0000` is 2024-01-15).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Error;
use super::mapping::parse_toml;

/// The directory's columns, which a mapping fills.
pub const COLUMNS: [&str; 7] = [
    "user_id",
    "region",
    "department",
    "team",
    "wave",
    "license_start",
    "license_end",
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wave {
    /// `region`, `department` or `column` (the column `wave` of
    /// `[columns]`).
    by: Option<String>,
    #[serde(default)]
    values: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ids {
    source: String,
}

/// How an export's rows become directory rows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    #[serde(default)]
    columns: BTreeMap<String, String>,
    #[serde(default)]
    constants: BTreeMap<String, String>,
    #[serde(default)]
    values: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    wave: Wave,
    #[serde(default)]
    keep: BTreeMap<String, String>,
    ids: Option<Ids>,
}

/// A directory row from an export row: the directory's columns with their
/// values, or `None` for a row the mapping leaves out (`[keep]`).
pub type Mapped = Option<BTreeMap<&'static str, String>>;

impl Mapping {
    /// A mapping from TOML, checked: only directory columns, and every
    /// required one given by a column, a constant or the wave rule.
    pub fn parse(text: &str, file: &str) -> Result<Mapping, Error> {
        let mapping: Mapping = parse_toml(text, file)?;
        mapping.checked(file)
    }

    /// `region=Country,department=Department`: renames only.
    pub fn from_renames(renames: &str) -> Result<Mapping, Error> {
        let mut mapping = Mapping::default();
        for pair in renames.split(',').filter(|p| !p.trim().is_empty()) {
            let Some((to, from)) = pair.split_once('=') else {
                return Err(Error::Mapping {
                    file: "--map".into(),
                    message: format!("'{pair}' is not COLUMN=EXPORT_COLUMN"),
                });
            };
            mapping
                .columns
                .insert(to.trim().to_string(), from.trim().to_string());
        }
        mapping.checked("--map")
    }

    fn checked(self, file: &str) -> Result<Mapping, Error> {
        let invalid = |message: String| Error::Mapping {
            file: file.into(),
            message,
        };
        for name in self
            .columns
            .keys()
            .chain(self.constants.keys())
            .chain(self.values.keys())
        {
            if !all_columns().any(|c| c == name) {
                return Err(invalid(format!(
                    "'{name}' is not a directory column ({})",
                    all_columns().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        if let Some(by) = &self.wave.by
            && !["region", "department", "column"].contains(&by.as_str())
        {
            return Err(invalid(format!(
                "[wave] by = '{by}': use region, department or column"
            )));
        }
        if let Some(ids) = &self.ids
            && !crate::model::identity::ID_SOURCES.contains(&ids.source.as_str())
        {
            return Err(invalid(format!(
                "[ids] source = '{}': use one of {}",
                ids.source,
                crate::model::identity::ID_SOURCES.join(", ")
            )));
        }
        Ok(self)
    }

    /// The export's columns the mapping reads.
    pub fn source_columns(&self) -> Vec<&str> {
        self.columns
            .values()
            .chain(self.keep.keys())
            .map(String::as_str)
            .collect()
    }

    /// The directory row of an export row (`field` gives the export's
    /// value of a column): the reason, with the directory column, when it
    /// cannot be made.
    pub fn row(&self, field: &dyn Fn(&str) -> Option<String>) -> Result<Mapped, (String, String)> {
        for (column, wanted) in &self.keep {
            if field(column).as_deref().map(str::trim) != Some(wanted.as_str()) {
                return Ok(None);
            }
        }
        let mut row = BTreeMap::new();
        for column in all_columns() {
            let value = match self.columns.get(column) {
                Some(source) => field(source).map(|v| v.trim().to_string()),
                None => self.constants.get(column).cloned(),
            };
            let Some(mut value) = value.filter(|v| !v.is_empty()) else {
                continue;
            };
            if let Some(map) = self.values.get(column) {
                match map.get(&value) {
                    Some(to) => value = to.clone(),
                    None => {
                        return Err((
                            column.to_string(),
                            format!("'{value}' has no value in [values.{column}]"),
                        ));
                    }
                }
            }
            if column.starts_with("license_") {
                value = date_part(&value);
            }
            if column == "user_id"
                && let Some(ids) = &self.ids
            {
                value = crate::model::identity::normalise(&ids.source, &value)
                    .map_err(|reason| (column.to_string(), reason))?;
            }
            row.insert(column, value);
        }
        if let Some(by) = self.wave.by.as_deref().filter(|by| *by != "column") {
            let Some(key) = row.get(by) else {
                return Err((by.to_string(), "required value is missing".into()));
            };
            let Some(wave) = self.wave.values.get(key) else {
                return Err((
                    "wave".into(),
                    format!("{by} '{key}' has no wave in [wave.values]"),
                ));
            };
            row.insert("wave", wave.clone());
        }
        Ok(Some(row))
    }
}

/// The directory's columns and its alias columns.
fn all_columns() -> impl Iterator<Item = &'static str> {
    COLUMNS
        .into_iter()
        .chain(crate::model::identity::ALIAS_COLUMNS.map(|(column, _)| column))
}

/// The date of a date or date-time as written.
fn date_part(value: &str) -> String {
    match value.split_once('T') {
        Some((date, _)) if date.len() == 10 => date.to_string(),
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_row_becomes_a_directory_row() {
        let m = Mapping::parse(
            "[columns]\nuser_id = 'Id'\nregion = 'Country'\ndepartment = 'Department'\n\
             team = 'UserRole'\nlicense_start = 'CreatedDate'\n\
             [values.region]\nDE = 'DACH'\nAT = 'DACH'\n\
             [wave]\nby = 'region'\n[wave.values]\nDACH = 'W1'\n\
             [keep]\nIsActive = 'true'\n[ids]\nsource = 'salesforce'\n",
            "m.toml",
        )
        .expect("mapping");
        let export = |active: &'static str, country: &'static str| {
            move |c: &str| {
                Some(
                    match c {
                        "Id" => "0055j000001AbCd",
                        "Country" => country,
                        "Department" => "Sales",
                        "UserRole" => "Team A",
                        "CreatedDate" => "2024-01-15T10:30:00.000+0000",
                        "IsActive" => active,
                        _ => return None,
                    }
                    .to_string(),
                )
            }
        };
        let row = m.row(&export("true", "AT")).expect("row").expect("kept");
        assert_eq!(row["user_id"], "0055j000001AbCdAAK");
        assert_eq!(row["region"], "DACH");
        assert_eq!(row["wave"], "W1");
        assert_eq!(row["license_start"], "2024-01-15");
        assert_eq!(m.row(&export("false", "AT")), Ok(None));
        let (column, reason) = m.row(&export("true", "FR")).expect_err("no region");
        assert_eq!(column, "region");
        assert!(reason.contains("'FR'"), "{reason}");
        assert!(Mapping::parse("[columns]\ncountry = 'Country'\n", "m").is_err());
        assert!(Mapping::from_renames("region=Country,department=Dept").is_ok());
        assert!(Mapping::from_renames("region").is_err());
    }
}
