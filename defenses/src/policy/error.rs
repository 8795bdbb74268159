//! The one error shape for bad policy input. A policy is security-critical configuration
//! written by hand, so every mistake is reported where it is (file, line, column, field)
//! with what was expected, and nothing is guessed or silently ignored.

use otrange_sim::base::config_error::line_col;
use std::ops::Range;

/// A policy file that cannot be used, located well enough to fix it in an editor.
///
/// Displayed as `file:line:column: field: message` (or `file: field: message` when the
/// problem has no position, such as an unreadable file), the same shape as the scenario
/// loader's errors so the CLI can print both alike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.file, *.line, *.column, .field, .message))]
pub struct PolicyError {
    /// The file label given to the loader (a path, usually).
    pub file: String,
    /// 1-based line, 0 when the error has no position.
    pub line: usize,
    /// 1-based column in characters, 0 when the error has no position.
    pub column: usize,
    /// Dotted path of the offending field, e.g. `rule[2].from[1]`.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
}

fn render(file: &str, line: usize, column: usize, field: &str, message: &str) -> String {
    if line == 0 {
        format!("{file}: {field}: {message}")
    } else {
        format!("{file}:{line}:{column}: {field}: {message}")
    }
}

impl PolicyError {
    /// Locates an error by the byte span of the offending value in `source`. An empty span
    /// at offset 0 means "no position" (a default value that is not in the file).
    pub(crate) fn at(
        file: &str,
        source: &str,
        span: Option<Range<usize>>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = match span {
            Some(s) if !(s.start == 0 && s.end == 0) => line_col(source, s.start),
            _ => (0, 0),
        };
        PolicyError {
            file: file.to_string(),
            line,
            column,
            field: field.into(),
            message: message.into(),
        }
    }
}
