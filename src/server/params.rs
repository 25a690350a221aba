//! Query parameters of the API and the pages: parsed from the raw query
//! string so that an unknown, repeated or malformed parameter gets a JSON
//! error naming it.

use crate::kpi::{self, Dimension, Filter, Scope};
use crate::model::Week;

use super::error::ApiError;
use super::state::AppState;

/// The parameters of one request, checked against the names allowed.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

/// The longest parameter value taken (a path to return to is the longest
/// legitimate one); a longer one is refused without being echoed.
pub const MAX_VALUE: usize = 4096;

impl Params {
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Params, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (k, v) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if k.len() > 64 {
                let mut shown = k.into_owned();
                crate::auth::audit::cap(&mut shown, 64);
                return Err(ApiError::parameter(&shown, "unknown parameter"));
            }
            if v.len() > MAX_VALUE {
                return Err(ApiError::parameter(
                    &k,
                    format!("longer than {MAX_VALUE} bytes"),
                ));
            }
            if !allowed.contains(&k.as_ref()) {
                let known = if allowed.is_empty() {
                    "this address takes no parameters".to_string()
                } else {
                    format!("unknown parameter; known: {}", allowed.join(", "))
                };
                return Err(ApiError::parameter(&k, known));
            }
            if pairs.iter().any(|(p, _)| *p == k) {
                return Err(ApiError::parameter(&k, "given more than once"));
            }
            pairs.push((k.into_owned(), v.into_owned()));
        }
        Ok(Params { pairs })
    }

    /// A parameter's value; an empty value counts as not given (a form's
    /// "all" choice).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// `by`: dimensions of a segment, e.g. `region,department`.
    pub fn dims(&self, default: &str) -> Result<Vec<Dimension>, ApiError> {
        kpi::parse_dimensions(self.get("by").unwrap_or(default))
            .map_err(|e| ApiError::parameter("by", e.to_string()))
    }

    pub fn week(&self, name: &str) -> Result<Option<Week>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<Week>()
                    .map_err(|e| ApiError::parameter(name, e.to_string()))
            })
            .transpose()
    }

    /// `region`, `department`, `wave`: each must be a value of the
    /// directory within the caller's scope. A value outside the scope is
    /// refused (403) whether or not it exists, so a viewer cannot probe
    /// for other segments.
    pub fn filter(&self, state: &AppState, scope: &Scope) -> Result<Filter, ApiError> {
        let check = |d: Dimension| -> Result<Option<String>, ApiError> {
            let Some(v) = self.get(d.name()) else {
                return Ok(None);
            };
            if !scope.allows(d, v) {
                return Err(ApiError::Forbidden(format!(
                    "{}: '{v}' is outside your scope ({})",
                    d.name(),
                    scope.describe()
                )));
            }
            if state
                .segments
                .values_in(d, scope)
                .iter()
                .any(|known| known == v)
            {
                Ok(Some(v.to_string()))
            } else {
                Err(ApiError::parameter(
                    d.name(),
                    format!("no licensee has {} '{v}'; see /api/v1/segments", d.name()),
                ))
            }
        };
        Ok(Filter {
            region: check(Dimension::Region)?,
            department: check(Dimension::Department)?,
            wave: check(Dimension::Wave)?,
        })
    }

    /// The week range `from`..`to`, by default the stored weeks (the last
    /// `default_weeks` of them when given, never more than
    /// [`kpi::MAX_WEEKS`]).
    pub fn range(
        &self,
        state: &AppState,
        default_weeks: Option<i32>,
    ) -> Result<(Week, Week), ApiError> {
        let from = self.week("from")?;
        let to = self.week("to")?;
        let stored = state.stored_weeks();
        let to = match (to, stored) {
            (Some(w), _) => w,
            (None, Some((_, last))) => last,
            (None, None) => return Err(no_default_week("to")),
        };
        let from = match (from, stored) {
            (Some(w), _) => w,
            (None, Some((first, _))) => {
                let n = default_weeks.unwrap_or(kpi::MAX_WEEKS).min(kpi::MAX_WEEKS);
                to.offset(-(n - 1)).max(first).min(to)
            }
            (None, None) => return Err(no_default_week("from")),
        };
        if from > to {
            return Err(ApiError::parameter(
                "from",
                format!("{from} is after to={to}"),
            ));
        }
        let weeks = to.number() - from.number() + 1;
        if weeks > kpi::MAX_WEEKS {
            return Err(ApiError::parameter(
                "from",
                format!(
                    "the range spans {weeks} weeks; ask for at most {} at a time",
                    kpi::MAX_WEEKS
                ),
            ));
        }
        Ok((from, to))
    }

    /// `week`, by default the last stored week.
    pub fn one_week(&self, state: &AppState) -> Result<Week, ApiError> {
        match (self.week("week")?, state.stored_weeks()) {
            (Some(w), _) => Ok(w),
            (None, Some((_, last))) => Ok(last),
            (None, None) => Err(no_default_week("week")),
        }
    }
}

fn no_default_week(parameter: &str) -> ApiError {
    ApiError::NoData(format!(
        "no events are stored, so {parameter} has no default: give it explicitly"
    ))
}
