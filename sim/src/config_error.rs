//! The one error shape for bad scenario input: which field, where in the text, what was
//! expected. The CLI turns the byte span into file, line and column.

use std::ops::Range;

/// A scenario value that cannot be used, with enough context to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ConfigError {
    /// Dotted path of the offending field, e.g. `host[3].zone`.
    pub field: String,
    /// Byte range in the TOML source, where known.
    pub span: Option<Range<usize>>,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ConfigError {
    pub fn new(field: impl Into<String>, span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            span,
            message: message.into(),
        }
    }
}

/// Converts a byte offset in `source` to a 1-based (line, column) pair, counting columns in
/// characters so the caret lands under the right letter in an editor.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..source.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let src = "a = 1\nbb = \"x\"\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, 11), (2, 6));
    }
}
