//! Configuration errors.

use std::ops::Range;

/// A PLC program configuration error, located precisely enough for a
/// scenario author to fix it without guessing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PlcConfigError {
    /// Dotted path of the offending field relative to the `[plc]` table,
    /// e.g. `program[3].sp`; the caller prefixes the table's own path.
    pub field: String,
    /// Byte range of the offending text in the TOML source, when known
    /// (operands and numeric settings parsed with [`toml::Spanned`]).
    pub span: Option<Range<usize>>,
    /// What was wrong and what was expected.
    pub message: String,
}

impl PlcConfigError {
    /// Build an error.
    pub fn new(field: impl Into<String>, span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        PlcConfigError {
            field: field.into(),
            span,
            message: message.into(),
        }
    }

    /// Wrap a TOML deserialisation error (unknown field, missing field,
    /// unknown block type...). TOML does not report the key path, so `field`
    /// is the given prefix and the span carries the location.
    pub fn from_toml(prefix: &str, err: &toml::de::Error) -> Self {
        PlcConfigError::new(prefix, err.span(), err.message().to_owned())
    }

    /// 1-based line and column of the start of [`span`](Self::span) in
    /// `src`, for messages like `scenario.toml:12:9`.
    pub fn line_col(&self, src: &str) -> Option<(usize, usize)> {
        let start = self.span.as_ref()?.start;
        let before = src.get(..start)?;
        let line = before.matches('\n').count() + 1;
        let col = before
            .rfind('\n')
            .map_or(before.len(), |nl| before.len() - nl - 1)
            + 1;
        Some((line, col))
    }
}
