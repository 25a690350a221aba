//! Errors of the data directory and of imports.

use std::fmt;
use std::path::PathBuf;

/// One refused input row or field: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputProblem {
    pub file: String,
    /// `line 7` (CSV, NDJSON), `row 7` (Parquet) or `header`.
    pub position: String,
    pub column: String,
    pub reason: String,
}

impl fmt::Display for InputProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: column {}: {}",
            self.file, self.position, self.column, self.reason
        )
    }
}

/// How many problems an error message lists before summarising the rest.
const LISTED_PROBLEMS: usize = 20;

/// Formats problems one per line, at most twenty.
pub fn list_problems(problems: &[InputProblem]) -> String {
    let mut out: Vec<String> = problems
        .iter()
        .take(LISTED_PROBLEMS)
        .map(ToString::to_string)
        .collect();
    if problems.len() > LISTED_PROBLEMS {
        out.push(format!(
            "... and {} more problems",
            problems.len() - LISTED_PROBLEMS
        ));
    }
    out.join("\n")
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("bad input, nothing was stored:\n{}", list_problems(.0))]
    Input(Vec<InputProblem>),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("no file matches '{0}'")]
    NoMatch(String),
    #[error(
        "the derived data was built with {built}, but the settings now say {now}; run `uptake rebuild` to rebuild it from the stored events"
    )]
    Stale { built: String, now: String },
    #[error(transparent)]
    Settings(#[from] crate::config::Error),
    #[error(transparent)]
    Source(#[from] crate::connect::Error),
    #[error(transparent)]
    Remote(#[from] super::remote::Error),
    #[error(
        "files read in place changed since they were registered; nothing was stored:\n{}\nuptake counts a registered file as it was: restore it, or drop it with `uptake check --repair` and register it again",
        .0.join("\n")
    )]
    Changed(Vec<String>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a path to I/O errors.
pub trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    }
}

/// Attaches a path to any other error (Parquet, Arrow, JSON).
pub trait FileContext<T> {
    fn in_file(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T, E: fmt::Display> FileContext<T> for std::result::Result<T, E> {
    fn in_file(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::File {
            path: path.into(),
            message: e.to_string(),
        })
    }
}
