//! The tables an organisation imports: rollout waves, the licensee directory
//! and the module catalog (SPEC.md section 1), with their row and table
//! validation. Reading files is the store's job; this module sees fields.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::decimal::Decimal;

/// Why one field of one row was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub column: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(column: &str, reason: impl Into<String>) -> Self {
        FieldError {
            column: column.to_string(),
            reason: reason.into(),
        }
    }
}

/// Field access by column name for one input row.
pub trait Fields {
    /// The raw field, `None` when the column is absent from the file.
    fn field(&self, column: &str) -> Option<&str>;

    /// A required text field: present, not empty and without control
    /// characters. Not trimmed: ids match byte for byte.
    fn required(&self, column: &str) -> Result<String, FieldError> {
        match self.optional(column)? {
            Some(v) => Ok(v),
            None => Err(FieldError::new(column, "required value is missing")),
        }
    }

    /// An optional text field: empty is none; control characters are
    /// refused.
    fn optional(&self, column: &str) -> Result<Option<String>, FieldError> {
        let Some(v) = self.field(column).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        super::event::check_text(v).map_err(|reason| FieldError::new(column, reason))?;
        Ok(Some(v.to_string()))
    }

    fn required_date(&self, column: &str) -> Result<NaiveDate, FieldError> {
        parse_date(column, &self.required(column)?)
    }

    fn optional_date(&self, column: &str) -> Result<Option<NaiveDate>, FieldError> {
        self.optional(column)?
            .map(|v| parse_date(column, &v))
            .transpose()
    }
}

/// A calendar date written `YYYY-MM-DD`, from 1970 on.
pub fn parse_date(column: &str, value: &str) -> Result<NaiveDate, FieldError> {
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .filter(|_| value.len() == 10)
        .ok_or_else(|| {
            FieldError::new(
                column,
                format!("'{value}' is not a date (write YYYY-MM-DD)"),
            )
        })?;
    if date < NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default() {
        return Err(FieldError::new(
            column,
            format!("'{value}' is before 1970-01-01"),
        ));
    }
    Ok(date)
}

/// Names in other languages than the `name` column's: the optional
/// `name_de`, `name_fr`, ... columns of the waves and the module catalog.
pub type Names = std::collections::BTreeMap<crate::model::Lang, String>;

/// The columns of the names in other languages.
pub const NAME_COLUMNS: [&str; 5] = ["name_de", "name_fr", "name_es", "name_da", "name_nl"];

/// The longest name of a wave, module or region readers are shown.
pub const MAX_NAME_CHARS: usize = 200;

/// A name readers are shown, refused when longer than [`MAX_NAME_CHARS`].
fn shown_name(column: &str, name: String) -> Result<String, FieldError> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(FieldError::new(
            column,
            format!("the name is longer than {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(name)
}

fn names(f: &dyn Fields) -> Result<Names, FieldError> {
    let mut names = Names::new();
    for column in NAME_COLUMNS {
        if let Some(name) = f.optional(column)? {
            let name = shown_name(column, name)?;
            let lang = column
                .strip_prefix("name_")
                .and_then(crate::model::Lang::parse)
                .expect("NAME_COLUMNS name languages");
            names.insert(lang, name);
        }
    }
    Ok(names)
}

/// A name in a reader's language, else the `name` column's.
pub fn name_in<'a>(name: &'a str, names: &'a Names, lang: crate::model::Lang) -> &'a str {
    names.get(&lang).map_or(name, String::as_str)
}

/// A rollout wave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wave {
    pub wave_id: String,
    pub name: String,
    pub go_live: NaiveDate,
    pub names: Names,
}

/// A licensed user of the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licensee {
    pub user_id: String,
    pub region: String,
    pub department: String,
    /// Empty when the directory gives no team; an empty team is a segment of
    /// its own.
    pub team: String,
    pub wave: String,
    pub license_start: NaiveDate,
    pub license_end: Option<NaiveDate>,
}

/// A module the organisation pays for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub module_id: String,
    pub name: String,
    pub licensed_from: NaiveDate,
    pub licensed_until: Option<NaiveDate>,
    pub monthly_cost_per_user: Option<Decimal>,
    pub names: Names,
}

/// The columns of an imported table, required ones first.
pub trait Table: Sized {
    const NAME: &'static str;
    const REQUIRED: &'static [&'static str];
    const OPTIONAL: &'static [&'static str];

    fn from_fields(f: &dyn Fields) -> Result<Self, FieldError>;

    /// The row's id, which must be unique in the table.
    fn id(&self) -> &str;
    const ID_COLUMN: &'static str;
}

impl Table for Wave {
    const NAME: &'static str = "waves";
    const REQUIRED: &'static [&'static str] = &["wave_id", "name", "go_live"];
    const OPTIONAL: &'static [&'static str] = &NAME_COLUMNS;
    const ID_COLUMN: &'static str = "wave_id";

    fn from_fields(f: &dyn Fields) -> Result<Self, FieldError> {
        Ok(Wave {
            wave_id: f.required("wave_id")?,
            name: shown_name("name", f.required("name")?)?,
            go_live: f.required_date("go_live")?,
            names: names(f)?,
        })
    }

    fn id(&self) -> &str {
        &self.wave_id
    }
}

impl Table for Licensee {
    const NAME: &'static str = "directory";
    const REQUIRED: &'static [&'static str] =
        &["user_id", "region", "department", "wave", "license_start"];
    const OPTIONAL: &'static [&'static str] = &["team", "license_end"];
    const ID_COLUMN: &'static str = "user_id";

    fn from_fields(f: &dyn Fields) -> Result<Self, FieldError> {
        let licensee = Licensee {
            user_id: f.required("user_id")?,
            region: f.required("region")?,
            department: f.required("department")?,
            team: f.optional("team")?.unwrap_or_default(),
            wave: f.required("wave")?,
            license_start: f.required_date("license_start")?,
            license_end: f.optional_date("license_end")?,
        };
        if let Some(end) = licensee.license_end
            && end < licensee.license_start
        {
            return Err(FieldError::new(
                "license_end",
                format!(
                    "license_end {end} is before license_start {}",
                    licensee.license_start
                ),
            ));
        }
        Ok(licensee)
    }

    fn id(&self) -> &str {
        &self.user_id
    }
}

impl Table for Module {
    const NAME: &'static str = "modules";
    const REQUIRED: &'static [&'static str] = &["module_id", "name", "licensed_from"];
    const OPTIONAL: &'static [&'static str] = &[
        "licensed_until",
        "monthly_cost_per_user",
        "name_de",
        "name_fr",
        "name_es",
        "name_da",
        "name_nl",
    ];
    const ID_COLUMN: &'static str = "module_id";

    fn from_fields(f: &dyn Fields) -> Result<Self, FieldError> {
        let module = Module {
            module_id: f.required("module_id")?,
            name: shown_name("name", f.required("name")?)?,
            licensed_from: f.required_date("licensed_from")?,
            licensed_until: f.optional_date("licensed_until")?,
            monthly_cost_per_user: f
                .optional("monthly_cost_per_user")?
                .map(|v| {
                    v.parse::<Decimal>()
                        .map_err(|e| FieldError::new("monthly_cost_per_user", e.to_string()))
                })
                .transpose()?,
            names: names(f)?,
        };
        if let Some(until) = module.licensed_until
            && until < module.licensed_from
        {
            return Err(FieldError::new(
                "licensed_until",
                format!(
                    "licensed_until {until} is before licensed_from {}",
                    module.licensed_from
                ),
            ));
        }
        Ok(module)
    }

    fn id(&self) -> &str {
        &self.module_id
    }
}

/// A table-level problem: which row (by its index in the input) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub row: usize,
    pub error: FieldError,
}

/// Refuses a second row with the same id.
pub fn check_unique_ids<T: Table>(rows: &[T]) -> Result<(), RowProblem> {
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        if let Some(prev) = first.insert(row.id(), i) {
            return Err(RowProblem {
                row: i,
                error: FieldError::new(
                    T::ID_COLUMN,
                    format!(
                        "duplicate {} '{}' (first in row {})",
                        T::ID_COLUMN,
                        row.id(),
                        prev + 1
                    ),
                ),
            });
        }
    }
    Ok(())
}

/// Refuses licensees whose wave is not among `waves`.
pub fn check_known_waves(licensees: &[Licensee], waves: &[Wave]) -> Result<(), RowProblem> {
    let known: HashSet<&str> = waves.iter().map(|w| w.wave_id.as_str()).collect();
    match licensees
        .iter()
        .position(|l| !known.contains(l.wave.as_str()))
    {
        None => Ok(()),
        Some(i) => {
            let hint = if waves.is_empty() {
                " (no waves are stored: run `uptake import waves FILE` first)"
            } else {
                ""
            };
            Err(RowProblem {
                row: i,
                error: FieldError::new(
                    "wave",
                    format!("unknown wave '{}'{hint}", licensees[i].wave),
                ),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Row(Vec<(&'static str, &'static str)>);
    impl Fields for Row {
        fn field(&self, column: &str) -> Option<&str> {
            self.0.iter().find(|(c, _)| *c == column).map(|(_, v)| *v)
        }
    }

    fn licensee(fields: Vec<(&'static str, &'static str)>) -> Result<Licensee, FieldError> {
        Licensee::from_fields(&Row(fields))
    }

    #[test]
    fn licensee_rows() {
        let ok = licensee(vec![
            ("user_id", "u1"),
            ("region", "DACH"),
            ("department", "Sales"),
            ("wave", "W1"),
            ("license_start", "2026-01-05"),
            ("license_end", ""),
        ])
        .expect("valid");
        assert_eq!(ok.team, "");
        assert_eq!(ok.license_end, None);

        let err = licensee(vec![
            ("user_id", "u1"),
            ("region", ""),
            ("department", "Sales"),
            ("wave", "W1"),
            ("license_start", "2026-01-05"),
        ])
        .expect_err("missing region");
        assert_eq!(err.column, "region");

        let err = licensee(vec![
            ("user_id", "u1"),
            ("region", "DACH"),
            ("department", "Sales"),
            ("wave", "W1"),
            ("license_start", "2026-01-05"),
            ("license_end", "2026-01-04"),
        ])
        .expect_err("end before start");
        assert_eq!(err.column, "license_end");

        let err = licensee(vec![
            ("user_id", "u1"),
            ("region", "DACH"),
            ("department", "Sales"),
            ("wave", "W1"),
            ("license_start", "2026-1-5"),
        ])
        .expect_err("bad date");
        assert_eq!(err.column, "license_start");

        // The scope separator of the queries, a line break, a tab: refused
        // in every text column, with the column named.
        for (column, value) in [
            ("region", "DACH\u{1f}Nordics"),
            ("team", "Team\nA"),
            ("user_id", "u\t1"),
        ] {
            let mut fields = vec![
                ("user_id", "u1"),
                ("region", "DACH"),
                ("department", "Sales"),
                ("team", "A"),
                ("wave", "W1"),
                ("license_start", "2026-01-05"),
            ];
            for f in &mut fields {
                if f.0 == column {
                    f.1 = value;
                }
            }
            let err = licensee(fields).expect_err("control character");
            assert_eq!(err.column, column);
            assert!(err.reason.contains("control character"), "{}", err.reason);
        }
    }

    #[test]
    fn duplicates_and_unknown_waves() {
        let w = |id: &str| Wave {
            wave_id: id.into(),
            name: id.into(),
            go_live: NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"),
            names: Names::new(),
        };
        let problem = check_unique_ids(&[w("A"), w("B"), w("A")]).expect_err("dup");
        assert_eq!(problem.row, 2);
        // Case matters: "a" and "A" are different ids.
        assert!(check_unique_ids(&[w("A"), w("a")]).is_ok());

        let l = Licensee {
            user_id: "u".into(),
            region: "r".into(),
            department: "d".into(),
            team: String::new(),
            wave: "C".into(),
            license_start: NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"),
            license_end: None,
        };
        let problem = check_known_waves(&[l], &[w("A")]).expect_err("unknown");
        assert_eq!(problem.error.column, "wave");
    }
}
