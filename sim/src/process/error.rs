//! Configuration errors that point at the offending TOML text.

use std::ops::Range;

/// What went wrong, for callers that want to branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessErrorKind {
    /// The TOML did not parse or did not match the schema.
    Syntax,
    /// A reference named a signal that no component provides.
    UnknownSignal,
    /// A reference named a component that does not exist.
    UnknownComponent,
    /// Two components (or two limits) share a name.
    DuplicateName,
    /// A number outside what the physics allows (negative area, ...).
    NonPhysical,
    /// A structurally invalid value (bad name, both `above` and `below`, ...).
    Invalid,
}

/// An invalid process configuration.
///
/// `field` is the dotted path of the offending key (`process.tank[0].inflows[1]`)
/// and `span` its byte range in the TOML source, when the value came from TOML
/// (references carry their own span; numbers report the span of their
/// component's table header, the closest text the parser records).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ProcessError {
    /// Category of the error.
    pub kind: ProcessErrorKind,
    /// Dotted path of the offending key.
    pub field: String,
    /// Byte range in the TOML source, if known.
    pub span: Option<Range<usize>>,
    /// What was expected, in words.
    pub message: String,
}

impl ProcessError {
    pub(crate) fn new(
        kind: ProcessErrorKind,
        field: impl Into<String>,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            field: field.into(),
            span,
            message: message.into(),
        }
    }
}

/// The position of a component table in the config, carried while checking
/// it so every error can name its field and point at its header.
#[derive(Clone, Debug)]
pub(crate) struct At {
    /// Dotted path of the table, e.g. `process.tank[0]`.
    pub path: String,
    /// Span of the table header, if it came from TOML.
    pub span: Option<Range<usize>>,
}

impl At {
    pub(crate) fn new(path: String, span: Range<usize>) -> Self {
        // Configs built in code use `Spanned::new(0..0, ..)`: report no span.
        let span = (span.end > span.start).then_some(span);
        Self { path, span }
    }

    /// Path of a key inside this table.
    pub(crate) fn field(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    /// Error for a non-physical number in `key`.
    pub(crate) fn non_physical(&self, key: &str, message: impl Into<String>) -> ProcessError {
        ProcessError::new(
            ProcessErrorKind::NonPhysical,
            self.field(key),
            self.span.clone(),
            message,
        )
    }

    /// Requires a finite value strictly above zero.
    pub(crate) fn positive(&self, key: &str, v: f64) -> Result<f64, ProcessError> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(self.non_physical(key, format!("expected a finite number > 0, got {v}")))
        }
    }

    /// Requires a finite value at or above zero.
    pub(crate) fn non_negative(&self, key: &str, v: f64) -> Result<f64, ProcessError> {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(self.non_physical(key, format!("expected a finite number >= 0, got {v}")))
        }
    }

    /// Requires a finite value.
    pub(crate) fn finite(&self, key: &str, v: f64) -> Result<f64, ProcessError> {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(self.non_physical(key, format!("expected a finite number, got {v}")))
        }
    }

    /// Requires a value in 0..=1 (a command or opening fraction).
    pub(crate) fn fraction(&self, key: &str, v: f64) -> Result<f64, ProcessError> {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(self.non_physical(key, format!("expected a fraction in 0..1, got {v}")))
        }
    }
}
