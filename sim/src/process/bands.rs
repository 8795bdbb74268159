//! Operating bands: where a process variable *should* stay in normal operation.
//!
//! Unlike limits, bands record no events: they accumulate statistics so a
//! scenario test can assert afterwards that the plant stayed in its band (or
//! measure how far an attack pushed it out).

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, SignalList, Signals};

/// `[[process.band]]`: the normal operating band of one signal.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandConfig {
    /// Watched signal, `"<component>.<field>"`.
    pub signal: Spanned<String>,
    /// Lower edge of the band (signal units).
    pub min: f64,
    /// Upper edge of the band (signal units).
    pub max: f64,
}

/// Observed behaviour of a banded signal since the process was built.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BandStats {
    /// Full signal name.
    pub signal: String,
    /// Lower edge of the band.
    pub min: f64,
    /// Upper edge of the band.
    pub max: f64,
    /// Lowest value seen, including the initial value.
    pub observed_min: f64,
    /// Highest value seen, including the initial value.
    pub observed_max: f64,
    /// Simulated seconds spent outside `min..=max` (counted per step, from
    /// the value at the end of the step).
    pub seconds_outside: f64,
}

impl BandStats {
    /// True if the signal never left the band.
    pub fn stayed_within(&self) -> bool {
        self.seconds_outside == 0.0 && self.observed_min >= self.min && self.observed_max <= self.max
    }
}

/// The bands being tracked, stats kept contiguous so
/// [`crate::process::Process::bands`] can lend them as a slice.
#[derive(Clone, Debug, Default)]
pub(crate) struct Bands {
    ids: SignalList,
    stats: Vec<BandStats>,
}

impl Bands {
    pub(crate) fn push(&mut self, (id, stats): (SignalId, BandStats)) {
        self.ids.push(id);
        self.stats.push(stats);
    }

    pub(crate) fn stats(&self) -> &[BandStats] {
        &self.stats
    }

    /// Folds the values at the end of a `dt_s` step into the statistics.
    pub(crate) fn observe(&mut self, signals: &Signals, dt_s: f64) {
        for (&id, s) in self.ids.iter().zip(&mut self.stats) {
            let v = signals.get(id);
            s.observed_min = s.observed_min.min(v);
            s.observed_max = s.observed_max.max(v);
            // NaN counts as outside: a variable reading garbage is not in band.
            if !(s.min..=s.max).contains(&v) {
                s.seconds_outside += dt_s;
            }
        }
    }
}

impl BandConfig {
    /// Checks the band and starts tracking from the signal's initial value.
    pub(crate) fn build(&self, at: &At, r: &Resolver) -> Result<(SignalId, BandStats), ConfigError> {
        let id = r.resolve(&self.signal, at.field("signal"))?;
        let min = at.finite("min", self.min)?;
        let max = at.finite("max", self.max)?;
        if min > max {
            return Err(at.non_physical("max", format!("expected max >= min ({min}), got {max}")));
        }
        let v = r.initial(id);
        let stats = BandStats {
            signal: self.signal.get_ref().clone(),
            min,
            max,
            observed_min: v,
            observed_max: v,
            seconds_outside: 0.0,
        };
        Ok((id, stats))
    }
}
