//! Where in the plant file a component's table is, so every check of its values can name
//! the field and point at the table (numbers carry no span of their own in the TOML reader;
//! the table header is the closest text it records). Errors are the plant's one
//! [`ConfigError`].

use crate::base::config_error::ConfigError;
use std::ops::Range;

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
    pub(crate) fn non_physical(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::new(self.field(key), self.span.clone(), message)
    }

    /// Requires a finite value strictly above zero.
    pub(crate) fn positive(&self, key: &str, v: f64) -> Result<f64, ConfigError> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(self.non_physical(key, format!("expected a finite number > 0, got {v}")))
        }
    }

    /// Requires a finite value at or above zero.
    pub(crate) fn non_negative(&self, key: &str, v: f64) -> Result<f64, ConfigError> {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(self.non_physical(key, format!("expected a finite number >= 0, got {v}")))
        }
    }

    /// Requires a finite value.
    pub(crate) fn finite(&self, key: &str, v: f64) -> Result<f64, ConfigError> {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(self.non_physical(key, format!("expected a finite number, got {v}")))
        }
    }

    /// Requires a value in 0..=1 (a command or opening fraction).
    pub(crate) fn fraction(&self, key: &str, v: f64) -> Result<f64, ConfigError> {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(self.non_physical(key, format!("expected a fraction in 0..1, got {v}")))
        }
    }
}
