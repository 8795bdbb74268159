//! Simulated time. Every timestamp in the simulation is a `SimTime`, never a wall-clock
//! reading, so a run is a pure function of its scenario and seed.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in simulated time, in nanoseconds since the start of the run.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimDuration(pub u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);
    /// Used as "never" for schedules that have nothing pending.
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Nanoseconds since the start of the run.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds since the start, for physics and reports.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// Time elapsed since `earlier`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    /// No time at all.
    pub const ZERO: SimDuration = SimDuration(0);

    /// From nanoseconds, the unit it holds.
    pub const fn from_nanos(ns: u64) -> Self {
        SimDuration(ns)
    }
    /// From microseconds.
    pub const fn from_micros(us: u64) -> Self {
        SimDuration(us * 1_000)
    }
    /// From milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        SimDuration(ms * 1_000_000)
    }
    /// From whole seconds.
    pub const fn from_secs(s: u64) -> Self {
        SimDuration(s * 1_000_000_000)
    }
    /// From seconds as a float (config values such as `period_s = 0.5`); rounds to the
    /// nearest nanosecond, negative and NaN become zero.
    pub fn from_secs_f64(s: f64) -> Self {
        if s.is_finite() && s > 0.0 {
            SimDuration((s * 1e9).round() as u64)
        } else {
            SimDuration(0)
        }
    }
    /// Length in nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Length in seconds, for physics and reports.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}
impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}
impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, o: SimTime) -> SimDuration {
        self.saturating_since(o)
    }
}
impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, o: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(o.0))
    }
}

impl fmt::Display for SimTime {
    /// `HH:MM:SS.mmm` since the start of the run: what an operator reads in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0 / 1_000_000;
        let (h, m, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        write!(f, "{h:02}:{m:02}:{s:02}.{ms:03}")
    }
}

/// Why a duration string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {input:?}: expected a number followed by a unit (ns, us, ms, s, m, h, d), e.g. \"1h\", \"90s\", \"250ms\""
)]
pub struct DurationParseError {
    /// The text that was given, quoted in the message.
    pub input: String,
}

/// A duration as a scenario file writes it (`"100ms"`), read into a [`SimDuration`] when the
/// file is deserialised: a bad value is a parse error at its own line and column, and no
/// builder parses durations by hand. The text is kept for messages that quote the value.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct DurationField {
    /// The duration.
    pub value: SimDuration,
    /// What the file said.
    pub text: String,
}

impl DurationField {
    /// A default, as if the file had said `text`; panics on a bad text (defaults are ours).
    pub fn default_of(text: &str) -> Self {
        DurationField::try_from(text.to_string()).expect("a valid default duration")
    }
}

impl TryFrom<String> for DurationField {
    type Error = DurationParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Ok(DurationField {
            value: parse_duration(&text)?,
            text,
        })
    }
}

/// Parses durations as people write them in scenario files and on the command line:
/// `"1h"`, `"30m"`, `"90s"`, `"250ms"`, `"1.5h"`, `"1h30m"`.
pub fn parse_duration(input: &str) -> Result<SimDuration, DurationParseError> {
    let err = || DurationParseError {
        input: input.to_string(),
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(err());
    }
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        if num_end == 0 {
            return Err(err());
        }
        let value: f64 = rest[..num_end].parse().map_err(|_| err())?;
        let after = &rest[num_end..];
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let unit_ns: f64 = match &after[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" | "min" => 60e9,
            "h" => 3600e9,
            "d" => 86400e9,
            _ => return Err(err()),
        };
        let ns = value * unit_ns;
        if !ns.is_finite() || ns > u64::MAX as f64 {
            return Err(err());
        }
        total = total.checked_add(ns.round() as u64).ok_or_else(err)?;
        rest = &after[unit_end..];
    }
    Ok(SimDuration(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_units_people_write() {
        assert_eq!(parse_duration("1h").unwrap(), SimDuration::from_secs(3600));
        assert_eq!(parse_duration("250ms").unwrap(), SimDuration::from_millis(250));
        assert_eq!(parse_duration("1h30m").unwrap(), SimDuration::from_secs(5400));
        assert_eq!(parse_duration("1.5s").unwrap(), SimDuration::from_millis(1500));
        assert_eq!(parse_duration("24h").unwrap(), SimDuration::from_secs(86400));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }

    #[test]
    fn displays_as_clock_time() {
        let t = SimTime::ZERO + SimDuration::from_millis(3_723_045);
        assert_eq!(t.to_string(), "01:02:03.045");
    }
}
