//! The one error shape for bad scenario input: which field, where in the text, what was
//! expected. The CLI turns the byte span into file, line and column.

use std::ops::Range;

/// A scenario value that cannot be used, with enough context to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// An error at `field` (a dotted path such as `plc[1].scan_period`), located by `span`
    /// in the TOML source where known.
    pub fn new(field: impl Into<String>, span: Option<Range<usize>>, message: impl Into<String>) -> Self {
        ConfigError {
            field: field.into(),
            span,
            message: message.into(),
        }
    }

    /// An error whose text position only the caller knows (a check of a value read from an
    /// untyped table, such as a playbook step's `params`): the caller that holds the span
    /// fills it in with [`ConfigError::located`].
    pub fn unlocated(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::new(field, None, message)
    }

    /// Gives an error without a span the span of the closest text the caller knows.
    pub fn located(mut self, span: Range<usize>) -> Self {
        self.span.get_or_insert(span);
        self
    }

    /// Wraps a TOML deserialisation error of a table read on its own (a PLC's program):
    /// TOML does not report the key path, so `field` is the given prefix and the span
    /// carries the location.
    pub fn from_toml(prefix: &str, err: &toml::de::Error) -> Self {
        ConfigError::new(prefix, err.span(), err.message().to_owned())
    }

    /// Prefixes the path with the enclosing section, e.g. `plc[2]` gives
    /// `plc[2].modbus.coils`, so that plant-level loaders can point at the entry.
    pub fn under(mut self, parent: &str) -> Self {
        if !parent.is_empty() {
            self.field = format!("{parent}.{}", self.field);
        }
        self
    }

    /// 1-based line and column of the start of the span in `src`, for messages like
    /// `plant.toml:12:9`.
    pub fn line_col(&self, src: &str) -> Option<(usize, usize)> {
        Some(line_col(src, self.span.as_ref()?.start))
    }
}

/// A [`ConfigError`] placed in its file, as the CLI prints it:
/// `file:line:column: field: message`, or `file: field: message` when the problem has no
/// position (an unreadable file, a value that is not in the file). Every loader of a
/// scenario file (plant, exercise, playbook, policy, detector set) reports in this shape,
/// so users learn one form and editors can jump to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct FileError {
    /// The file, as the user named it (relative paths stay relative).
    pub file: std::path::PathBuf,
    /// 1-based line, 0 when the error has no position.
    pub line: usize,
    /// 1-based column in characters, 0 when the error has no position.
    pub column: usize,
    /// Dotted path of the offending field, e.g. `rule[2].from[1]`.
    pub field: String,
    /// What is wrong and what was expected.
    pub message: String,
    /// Further errors the same check found, in the order found; shown after this one, each
    /// on its own `error:` line, so one `otrange check` lists every mistake it can.
    pub also: Vec<FileError>,
}

impl FileError {
    /// Several errors as one: the first, with the others in [`FileError::also`]. `None` for
    /// none.
    pub fn all(errors: impl IntoIterator<Item = FileError>) -> Option<FileError> {
        let mut errors = errors.into_iter();
        let mut first = errors.next()?;
        first.also.extend(errors);
        Some(first)
    }

    /// How many errors this is, itself included.
    pub fn count(&self) -> usize {
        1 + self.also.len()
    }

    /// Locates an error by the byte span of the offending text in `source`. An empty span at
    /// offset 0 means "no position" (configs built in code, defaults not in the file).
    pub fn at(
        file: impl AsRef<std::path::Path>,
        source: &str,
        span: Option<Range<usize>>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = match span {
            Some(s) if !(s.start == 0 && s.end == 0) => line_col(source, s.start),
            _ => (0, 0),
        };
        FileError {
            file: file.as_ref().to_path_buf(),
            line,
            column,
            field: field.into(),
            message: message.into(),
            also: Vec::new(),
        }
    }

    /// Places a [`ConfigError`] read from `source`, the text of `file`.
    pub fn locate(file: impl AsRef<std::path::Path>, source: &str, e: ConfigError) -> Self {
        FileError::at(file, source, e.span, e.field, e.message)
    }

    /// A problem with the file as a whole (it cannot be read, it is not there): no position.
    pub fn whole_file(file: impl AsRef<std::path::Path>, message: impl Into<String>) -> Self {
        FileError::at(file, "", None, "(file)", message)
    }

    fn render(&self) -> String {
        let mut out = self.render_one();
        for e in &self.also {
            out.push_str("\nerror: ");
            out.push_str(&e.render_one());
        }
        out
    }

    /// This error alone, as `file:line:column: field: message`.
    pub fn render_one(&self) -> String {
        let file = self.file.display();
        if self.line == 0 {
            format!("{file}: {}: {}", self.field, self.message)
        } else {
            format!(
                "{file}:{}:{}: {}: {}",
                self.line, self.column, self.field, self.message
            )
        }
    }
}

/// The shortest period a client may repeat at (polls, IT traffic, engineering sessions).
/// Without a floor, "1ns" makes a simulated day 10^14 ticks and "0s" stops the client;
/// 1 ms is ten times the shortest PLC scan (100 us) and below any real SCADA poll.
pub const MIN_CLIENT_PERIOD: crate::base::time::SimDuration = crate::base::time::SimDuration::from_millis(1);

/// A spanned duration field that sets how often something repeats, refusing one shorter
/// than `floor` with the field, its span and the floor in the message.
pub fn period_field(
    value: &toml::Spanned<crate::base::time::DurationField>,
    field: impl Into<String>,
    floor: crate::base::time::SimDuration,
) -> Result<crate::base::time::SimDuration, ConfigError> {
    let period = value.get_ref().value;
    if period < floor {
        return Err(ConfigError::new(
            field,
            Some(value.span()),
            format!(
                "{:?} is too short: a period must be at least {}ms",
                value.get_ref().text,
                floor.as_nanos() as f64 / 1e6
            ),
        ));
    }
    Ok(period)
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
    fn periods_have_a_floor() {
        let v = |s: &str| toml::Spanned::new(3..9, crate::base::time::DurationField::default_of(s));
        let err = period_field(&v("0s"), "hmi[0].poll_period", MIN_CLIENT_PERIOD).unwrap_err();
        assert_eq!(err.field, "hmi[0].poll_period");
        assert_eq!(err.span, Some(3..9));
        assert!(err.message.contains("at least 1ms"), "{}", err.message);
        assert_eq!(
            period_field(&v("1ms"), "x", MIN_CLIENT_PERIOD),
            Ok(crate::base::time::SimDuration::from_millis(1))
        );
    }

    #[test]
    fn line_and_column_are_one_based() {
        let src = "a = 1\nbb = \"x\"\n";
        assert_eq!(line_col(src, 0), (1, 1));
        assert_eq!(line_col(src, 6), (2, 1));
        assert_eq!(line_col(src, 11), (2, 6));
    }
}
