//! Segments and who may see them: the dimensions of SPEC.md (region,
//! department, team, wave), a filter on them, and a viewer's scope.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unknown dimension '{0}': use region, department, team or wave")]
    UnknownDimension(String),
    #[error("dimension '{0}' is given twice")]
    DuplicateDimension(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A dimension of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    Region,
    Department,
    Team,
    Wave,
}

impl Dimension {
    pub const ALL: [Dimension; 4] = [
        Dimension::Region,
        Dimension::Department,
        Dimension::Team,
        Dimension::Wave,
    ];

    /// Its position in [`Dimension::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Region => "region",
            Dimension::Department => "department",
            Dimension::Team => "team",
            Dimension::Wave => "wave",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dimension {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| Error::UnknownDimension(s.to_string()))
    }
}

/// Parses `region,department`; empty means the whole organisation.
pub fn parse_dimensions(s: &str) -> Result<Vec<Dimension>> {
    let mut dims = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let d: Dimension = part.parse()?;
        if dims.contains(&d) {
            return Err(Error::DuplicateDimension(part.to_string()));
        }
        dims.push(d);
    }
    Ok(dims)
}

/// The regions and/or departments a viewer may see: licensees whose
/// region is one of `regions` (when any are given) and whose department is
/// one of `departments` (when any are given). Empty: everything.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub departments: Vec<String>,
}

/// Separates the values of a scope in a query parameter; no directory value
/// may contain it.
pub const SCOPE_SEPARATOR: char = '\u{1f}';

impl Scope {
    pub fn is_all(&self) -> bool {
        self.regions.is_empty() && self.departments.is_empty()
    }

    pub fn allows(&self, d: Dimension, value: &str) -> bool {
        let allowed = match d {
            Dimension::Region => &self.regions,
            Dimension::Department => &self.departments,
            Dimension::Team | Dimension::Wave => return true,
        };
        allowed.is_empty() || allowed.iter().any(|v| v == value)
    }

    /// Whether a licensee of this region and department is in scope.
    pub fn covers(&self, region: &str, department: &str) -> bool {
        self.allows(Dimension::Region, region) && self.allows(Dimension::Department, department)
    }

    /// The first value of a filter this scope does not allow.
    pub fn outside<'f>(&self, filter: &'f Filter) -> Option<(Dimension, &'f str)> {
        [
            (Dimension::Region, &filter.region),
            (Dimension::Department, &filter.department),
        ]
        .into_iter()
        .find_map(|(d, v)| v.as_deref().filter(|v| !self.allows(d, v)).map(|v| (d, v)))
    }

    /// `region DACH, Nordics; department Sales`, or `everything`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.regions.is_empty() {
            parts.push(format!("region {}", self.regions.join(", ")));
        }
        if !self.departments.is_empty() {
            parts.push(format!("department {}", self.departments.join(", ")));
        }
        if parts.is_empty() {
            "everything".into()
        } else {
            parts.join("; ")
        }
    }

    /// The values as one query parameter: each followed by
    /// [`SCOPE_SEPARATOR`] and preceded by one; '' for none.
    pub fn parameter(values: &[String]) -> String {
        if values.is_empty() {
            return String::new();
        }
        let mut s = String::from(SCOPE_SEPARATOR);
        for v in values {
            s.push_str(v);
            s.push(SCOPE_SEPARATOR);
        }
        s
    }
}

/// Restricts a report to the licensees of one region, department and/or
/// wave. The directory requires these values, so none of them is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    pub region: Option<String>,
    pub department: Option<String>,
    pub wave: Option<String>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.region.is_none() && self.department.is_none() && self.wave.is_none()
    }
}
