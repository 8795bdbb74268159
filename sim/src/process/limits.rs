//! Safety limits: a watched signal crossing a threshold records an [`Impact`].
//!
//! One machinery serves both `[[process.limit]]` tables and the limits that
//! components build in (tank overflow, pump dry running, vessel overpressure),
//! so all impacts fire, persist and re-arm the same way.
//!
//! Semantics, chosen so a limit reports an *event* rather than a state:
//! - `above = X` is crossed when the value is `>= X` ("reaching" X: a full
//!   tank's level is clamped to exactly its height), `below = X` when `<= X`.
//! - With `for_s`, the crossing must persist that many seconds of simulated
//!   time; returning inside resets the timer, filtering out transients.
//! - An impact is recorded once, then the limit is disarmed until the value
//!   comes back inside by `hysteresis` (below `X - hysteresis` for `above`),
//!   so a signal hovering at the threshold cannot flood the impact log.

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::impact::{Impact, ImpactTechnique};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};

/// `[[process.limit]]`: a plant-declared safety limit on any signal.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitConfig {
    /// Unique limit name, reported as [`Impact::limit`].
    pub name: String,
    /// Watched signal, `"<component>.<field>"`.
    pub signal: Spanned<String>,
    /// Fire when the signal reaches this value or more (signal units).
    #[serde(default)]
    pub above: Option<f64>,
    /// Fire when the signal falls to this value or less (signal units).
    #[serde(default)]
    pub below: Option<f64>,
    /// ATT&CK for ICS technique ID, e.g. `"T0880"`: one a limit can carry.
    #[serde(deserialize_with = "crate::process::impact::limit_technique")]
    pub technique: ImpactTechnique,
    /// Text reported as [`Impact::description`].
    pub description: String,
    /// Seconds the crossing must persist before firing (default 0: at once).
    #[serde(default)]
    pub for_s: f64,
    /// Re-arm margin in signal units (default 0).
    #[serde(default)]
    pub hysteresis: f64,
}

/// Overrides for a component's built-in limit, e.g. a tank's
/// `overflow = { technique = "T0880" }`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuiltinLimitConfig {
    /// Set `false` to not watch this condition at all (default true).
    #[serde(default = "enabled_default")]
    pub enabled: bool,
    /// Technique ID; each component documents its default.
    #[serde(default, deserialize_with = "crate::process::impact::opt_limit_technique")]
    pub technique: Option<ImpactTechnique>,
    /// Description; each component supplies a default naming the condition.
    #[serde(default)]
    pub description: Option<String>,
    /// Re-arm margin in signal units; each component documents its default.
    #[serde(default)]
    pub hysteresis: Option<f64>,
    /// Seconds the condition must persist (default 0).
    #[serde(default)]
    pub for_s: f64,
}

fn enabled_default() -> bool {
    true
}

impl Default for BuiltinLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            technique: None,
            description: None,
            hysteresis: None,
            for_s: 0.0,
        }
    }
}

/// Which side of the threshold is unsafe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Above,
    Below,
}

/// Everything a limit needs, before overrides are applied.
#[derive(Clone, Debug)]
pub(crate) struct LimitSpec {
    pub name: String,
    pub component: String,
    pub signal: SignalId,
    pub signal_name: String,
    pub direction: Direction,
    pub threshold: f64,
    pub hysteresis: f64,
    pub for_s: f64,
    pub technique: ImpactTechnique,
    pub description: String,
}

/// A limit being watched, with its arming state. What every sub-step reads is held in it;
/// the names and text, read only when it fires, are boxed apart: a plant of 10,000 tanks
/// checks 10,000 limits per sub-step, and they would triple what that reads.
#[derive(Clone, Debug)]
pub(crate) struct Limit {
    signal: SignalId,
    direction: Direction,
    threshold: f64,
    hysteresis: f64,
    for_s: f64,
    armed: bool,
    crossed_s: f64,
    text: Box<LimitText>,
}

/// What an impact reports of its limit.
#[derive(Clone, Debug)]
struct LimitText {
    name: String,
    component: String,
    signal_name: String,
    technique: ImpactTechnique,
    description: String,
}

impl Limit {
    pub(crate) fn new(spec: LimitSpec) -> Self {
        let LimitSpec {
            name,
            component,
            signal,
            signal_name,
            direction,
            threshold,
            hysteresis,
            for_s,
            technique,
            description,
        } = spec;
        Self {
            signal,
            direction,
            threshold,
            hysteresis,
            for_s,
            armed: true,
            crossed_s: 0.0,
            text: Box::new(LimitText {
                name,
                component,
                signal_name,
                technique,
                description,
            }),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.text.name
    }

    fn crossed(&self, v: f64) -> bool {
        match self.direction {
            Direction::Above => v >= self.threshold,
            Direction::Below => v <= self.threshold,
        }
    }

    fn back_inside(&self, v: f64) -> bool {
        match self.direction {
            Direction::Above => v < self.threshold - self.hysteresis,
            Direction::Below => v > self.threshold + self.hysteresis,
        }
    }

    /// Advances the limit by `dt_s` seconds against current signal values.
    pub(crate) fn check(&mut self, signals: &Signals, dt_s: f64) -> Option<Impact> {
        let v = signals.get(self.signal);
        if !self.armed {
            if !self.back_inside(v) {
                return None;
            }
            self.armed = true;
        }
        if !self.crossed(v) {
            self.crossed_s = 0.0;
            return None;
        }
        self.crossed_s += dt_s;
        if self.crossed_s < self.for_s {
            return None;
        }
        self.armed = false;
        self.crossed_s = 0.0;
        let s = &self.text;
        Some(Impact {
            limit: s.name.clone(),
            component: s.component.clone(),
            technique: s.technique,
            signal: s.signal_name.clone(),
            value: v,
            threshold: self.threshold,
            description: s.description.clone(),
        })
    }
}

impl BuiltinLimitConfig {
    /// Applies these overrides to a component's default limit; `None` when
    /// disabled. `at`/`key` locate the override table for errors.
    pub(crate) fn apply(
        &self,
        mut spec: LimitSpec,
        at: &At,
        key: &str,
    ) -> Result<Option<Limit>, ConfigError> {
        if !self.enabled {
            return Ok(None);
        }
        if let Some(t) = self.technique {
            spec.technique = t;
        }
        if let Some(d) = &self.description {
            spec.description.clone_from(d);
        }
        if let Some(h) = self.hysteresis {
            spec.hysteresis = at.non_negative(&format!("{key}.hysteresis"), h)?;
        }
        spec.for_s = at.non_negative(&format!("{key}.for_s"), self.for_s)?;
        Ok(Some(Limit::new(spec)))
    }
}

impl LimitConfig {
    /// Checks and resolves a `[[process.limit]]` table.
    pub(crate) fn build(&self, at: &At, r: &Resolver) -> Result<Limit, ConfigError> {
        let signal = r.resolve(&self.signal, at.field("signal"))?;
        let (direction, threshold) = match (self.above, self.below) {
            (Some(x), None) => (Direction::Above, at.finite("above", x)?),
            (None, Some(x)) => (Direction::Below, at.finite("below", x)?),
            _ => {
                return Err(ConfigError::new(
                    at.path.clone(),
                    at.span.clone(),
                    "expected exactly one of `above` or `below`",
                ));
            }
        };
        let name = self.signal.get_ref();
        Ok(Limit::new(LimitSpec {
            name: self.name.clone(),
            component: name.split('.').next().unwrap_or_default().to_string(),
            signal,
            signal_name: name.clone(),
            direction,
            threshold,
            hysteresis: at.non_negative("hysteresis", self.hysteresis)?,
            for_s: at.non_negative("for_s", self.for_s)?,
            technique: self.technique,
            description: self.description.clone(),
        }))
    }
}

impl crate::process::Process {
    /// Every limit the process watches (built-in ones in component order, then
    /// `[[process.limit]]` in file order), with its impact technique: what an exercise's
    /// `[expect]` may name.
    pub fn limit_names(&self) -> Vec<(String, &'static str)> {
        self.limits
            .iter()
            .map(|l| (l.text.name.clone(), l.text.technique.id()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(direction: Direction, hysteresis: f64, for_s: f64) -> (Signals, SignalId, Limit) {
        let mut s = Signals::default();
        let id = s.register("x.v".into());
        let l = Limit::new(LimitSpec {
            name: "l".into(),
            component: "x".into(),
            signal: id,
            signal_name: "x.v".into(),
            direction,
            threshold: 10.0,
            hysteresis,
            for_s,
            technique: ImpactTechnique::LossOfSafety,
            description: "d".into(),
        });
        (s, id, l)
    }

    /// Feeds `values` one per 1 s step and returns the steps that fired.
    fn fires(values: &[f64], l: &mut Limit, s: &mut Signals, id: SignalId) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, &v) in values.iter().enumerate() {
            s.set(id, v);
            if let Some(imp) = l.check(s, 1.0) {
                assert_eq!(imp.value, v);
                assert_eq!(imp.threshold, 10.0);
                out.push(i);
            }
        }
        out
    }

    #[test]
    fn above_fires_once_and_rearms_after_hysteresis() {
        let (mut s, id, mut l) = limit(Direction::Above, 2.0, 0.0);
        // Reaches 10 at step 1; 9 is not below 10-2 so no re-arm at steps 3-4;
        // 7.5 re-arms at step 5, 10 fires again at step 6.
        let v = [9.0, 10.0, 11.0, 9.0, 10.5, 7.5, 10.0];
        assert_eq!(fires(&v, &mut l, &mut s, id), vec![1, 6]);
    }

    #[test]
    fn below_mirrors_above() {
        let (mut s, id, mut l) = limit(Direction::Below, 1.0, 0.0);
        let v = [12.0, 10.0, 10.5, 9.0, 11.5, 9.9];
        assert_eq!(fires(&v, &mut l, &mut s, id), vec![1, 5]);
    }

    #[test]
    fn for_s_requires_persistence() {
        let (mut s, id, mut l) = limit(Direction::Above, 0.0, 3.0);
        // Two seconds over, one inside (timer resets), then three over: the
        // third consecutive crossed second (step 5) fires.
        let v = [11.0, 11.0, 9.0, 11.0, 11.0, 11.0, 11.0];
        assert_eq!(fires(&v, &mut l, &mut s, id), vec![5]);
    }

    #[test]
    fn nan_never_fires() {
        let (mut s, id, mut l) = limit(Direction::Above, 0.0, 0.0);
        assert!(fires(&[f64::NAN, f64::NAN], &mut l, &mut s, id).is_empty());
    }
}
