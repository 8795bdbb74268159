//! Control valve with a travel-limited actuator.
//!
//! The actuator moves the plug at most `1 / stroke_s` of full travel per
//! second, so `position` lags `command`: a PLC that slams a valve shut still
//! sees flow for up to `stroke_s` seconds, and an attacker cannot make a
//! large valve change instantaneously. `stroke_s = 0` means instant.
//!
//! `flow = position × max_flow_m3s` (m³/s), a linear-characteristic valve.
//! With `upstream_level` wired, flow is further scaled by
//! `sqrt(upstream_level / reference_level_m)`: gravity drainage through an
//! orifice follows Torricelli (velocity ∝ √head), so `max_flow_m3s` is the
//! flow at the reference head, flow grows above it and falls to zero as the
//! upstream tank empties (which is what lets a tank drain without going
//! negative).
//!
//! Signals: `command` (0..1), `position` (0..1), `flow` (m³/s).

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};

/// `[[process.valve]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValveConfig {
    /// Component name.
    pub name: String,
    /// Flow when fully open (at the reference head, if one is set), m³/s.
    pub max_flow_m3s: f64,
    /// Seconds to travel from closed to fully open (default 0: instant).
    #[serde(default)]
    pub stroke_s: f64,
    /// Command and position at t = 0 (0..1, default 0: closed).
    #[serde(default)]
    pub initial_opening: f64,
    /// Level upstream of the valve, e.g. `"raw_tank.level"` (m).
    #[serde(default)]
    pub upstream_level: Option<Spanned<String>>,
    /// Head at which the valve passes `max_flow_m3s`, m (> 0; required with
    /// `upstream_level`).
    #[serde(default)]
    pub reference_level_m: Option<f64>,
}

/// A valve being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Valve {
    max_flow_m3s: f64,
    stroke_s: f64,
    position_frac: f64,
    head: Option<(SignalId, f64)>,
    /// How fast the upstream head moves per m³ drained, once the process has found the
    /// component that integrates it; `None` for a head no component of the process owns.
    head_per_m3: Option<f64>,
    command: SignalId,
    position: SignalId,
    flow: SignalId,
}

impl ComponentConfig for ValveConfig {
    const TABLE: &'static str = "valve";
    const SIGNALS: &'static [&'static str] = &["command", "position", "flow"];
    const COMMANDS: &'static [&'static str] = &["command"];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let head = match (&self.upstream_level, self.reference_level_m) {
            (Some(level), Some(reference)) => Some((
                r.resolve(level, at.field("upstream_level"))?,
                at.positive("reference_level_m", reference)?,
            )),
            (None, None) => None,
            _ => {
                return Err(ConfigError::new(
                    at.field("reference_level_m"),
                    at.span.clone(),
                    "expected `upstream_level` and `reference_level_m` together",
                ));
            }
        };
        let opening = at.fraction("initial_opening", self.initial_opening)?;
        let valve = Valve {
            max_flow_m3s: at.non_negative("max_flow_m3s", self.max_flow_m3s)?,
            stroke_s: at.non_negative("stroke_s", self.stroke_s)?,
            position_frac: opening,
            head,
            head_per_m3: None,
            command: r.own(&self.name, "command"),
            position: r.own(&self.name, "position"),
            flow: r.own(&self.name, "flow"),
        };
        r.init(valve.command, opening);
        r.init(valve.position, opening);
        Ok(Built {
            component: Component::Valve(valve),
            limits: Vec::new(),
        })
    }
}

impl Valve {
    /// The signal of the head this valve drains, if any.
    pub(crate) fn head_signal(&self) -> Option<SignalId> {
        self.head.map(|(id, _)| id)
    }

    /// Tells the valve how its upstream head responds to the flow it drains.
    pub(crate) fn set_head_per_m3(&mut self, per_m3: f64) {
        self.head_per_m3 = Some(per_m3);
    }

    /// Whether [`Valve::max_step_s`] can be finite: only for a valve draining a head whose
    /// integrator is known. Without one (a valve of fixed flow, as in a plant of many
    /// buildings) it is always infinite, and asking at every physics step read a component
    /// cold by then for nothing (the simulation loop 0.954x without it at 1,000 PLCs,
    /// docs/src/performance.md).
    pub(crate) fn may_limit_step(&self) -> bool {
        self.head.is_some() && self.head_per_m3.is_some()
    }

    /// Draining through √head is a feedback loop: the flow falls as the head it lowers
    /// falls, with rate constant `head_per_m3 × dQ/dh`. A step longer than its inverse
    /// overshoots the level (or pressure) where inflow and outflow balance and, beyond
    /// twice that, oscillates with growing amplitude. Below 1 % of the reference head the
    /// slope is taken at 1 %: the few litres left there drain in one step and the tank's
    /// floor at 0 holds them.
    pub(crate) fn max_step_s(&self, s: &Signals) -> f64 {
        let (Some((id, reference_m)), Some(per_m3)) = (self.head, self.head_per_m3) else {
            return f64::INFINITY;
        };
        let h = s.non_negative(id).max(0.01 * reference_m);
        let dq_dh = self.position_frac * self.max_flow_m3s / (2.0 * (h * reference_m).sqrt());
        let rate = per_m3 * dq_dh;
        if rate > 0.0 { 1.0 / rate } else { f64::INFINITY }
    }

    /// Moves the plug toward the command at the actuator's rate, then
    /// computes flow from the new position.
    pub(crate) fn step(&mut self, s: &mut Signals, dt_s: f64) {
        let target = s.unit(self.command);
        self.position_frac = if self.stroke_s > 0.0 {
            let max_move = dt_s / self.stroke_s;
            self.position_frac + (target - self.position_frac).clamp(-max_move, max_move)
        } else {
            target
        };
        let head_factor = self
            .head
            .map_or(1.0, |(id, reference)| (s.non_negative(id) / reference).sqrt());
        s.set(self.position, self.position_frac);
        s.set(self.flow, self.position_frac * self.max_flow_m3s * head_factor);
    }
}

#[cfg(test)]
mod tests {
    use crate::process::testutil::{build, close, get, run, set};

    #[test]
    fn position_lags_command_by_stroke_time() {
        // Stroke 10 s, 1 s steps: the plug moves 0.1 per step.
        let mut p = build(
            r#"
            [[process.valve]]
            name = "v"
            max_flow_m3s = 0.5
            stroke_s = 10
            "#,
        );
        set(&mut p, "v.command", 1.0);
        run(&mut p, 3, 1.0);
        // 3 s: position 0.3, flow 0.3 × 0.5 = 0.15 m³/s.
        close(get(&p, "v.position"), 0.3, 1e-9);
        close(get(&p, "v.flow"), 0.15, 1e-9);
        run(&mut p, 7, 1.0);
        close(get(&p, "v.position"), 1.0, 1e-9);
        run(&mut p, 5, 1.0);
        assert_eq!(get(&p, "v.position"), 1.0, "does not overshoot");
        // Back to half: 0.5 of travel takes 5 s; after 2 s it is at 0.8.
        set(&mut p, "v.command", 0.5);
        run(&mut p, 2, 1.0);
        close(get(&p, "v.position"), 0.8, 1e-9);
        run(&mut p, 10, 1.0);
        close(get(&p, "v.position"), 0.5, 1e-9);
    }

    #[test]
    fn instant_valve_without_stroke() {
        let mut p = build("[[process.valve]]\nname = \"v\"\nmax_flow_m3s = 0.5\n");
        set(&mut p, "v.command", 0.4);
        run(&mut p, 1, 0.1);
        close(get(&p, "v.flow"), 0.2, 1e-12);
    }

    #[test]
    fn flow_scales_with_root_of_upstream_head() {
        // Reference head 4 m, tank at 1 m: sqrt(1/4) = 0.5, so a fully open
        // 0.2 m³/s valve passes 0.1 m³/s. Tiny step so the level barely moves.
        let mut p = build(
            r#"
            [[process.valve]]
            name = "v"
            max_flow_m3s = 0.2
            initial_opening = 1
            upstream_level = "t.level"
            reference_level_m = 4
            [[process.tank]]
            name = "t"
            area_m2 = 100
            height_m = 5
            initial_level_m = 1
            outflows = ["v.flow"]
            "#,
        );
        run(&mut p, 1, 1e-3);
        close(get(&p, "v.flow"), 0.1, 1e-12);
        // Gravity drainage never drives the tank negative: it slows to zero.
        run(&mut p, 20_000, 1.0);
        let level = get(&p, "t.level");
        assert!((0.0..0.01).contains(&level), "{level}");
        assert!(get(&p, "v.flow") < 0.01);
    }
}
