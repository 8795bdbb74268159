//! Three-way mixing valve: the flow leaving its common port is drawn from two inlets in the
//! proportion the plug's position sets (a weather-compensated heating circuit mixing the
//! network's supply with the building's return to make its flow temperature).
//!
//! With `position` x (0..1) and the common port's flow `Q` (m³/s, from the pump or loop
//! that drives it), port A passes `x·Q` and port B `(1 − x)·Q`, and the outlet is their
//! mix, `T_out = x·T_a + (1 − x)·T_b` (°C): a linear valve whose total flow does not depend
//! on its position, as a well-sized three-way valve's nearly does. x = 1 is all A (all
//! supply), x = 0 all B (all recirculated return).
//!
//! The actuator moves at most `1 / stroke_s` of full travel per second, as a `valve`'s
//! does. Position is rate-limited exactly for any step and the mix is algebraic, so the
//! valve never cuts a step. A non-finite inlet temperature reads as its last good value, a
//! negative or non-finite flow as none.
//!
//! Signals: `command` (0..1), `position` (0..1), `outlet` (°C), `flow_a`, `flow_b` (m³/s
//! drawn from each inlet: wire the boiler side's flow to `flow_a`).

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};
use crate::process::water;

/// `[[process.mixing_valve]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixingValveConfig {
    /// Component name.
    pub name: String,
    /// Temperature at port A (the hot supply), a signal in °C.
    pub inlet_a: Spanned<String>,
    /// Temperature at port B (the return, bypass), a signal in °C.
    pub inlet_b: Spanned<String>,
    /// Flow leaving the common port, a signal in m³/s.
    pub flow: Spanned<String>,
    /// Seconds to travel from all-B to all-A (default 0: instant).
    #[serde(default)]
    pub stroke_s: f64,
    /// Command and position at t = 0 (0..1, default 0: all B).
    #[serde(default)]
    pub initial_position: f64,
}

/// A mixing valve being simulated.
#[derive(Clone, Debug)]
pub(crate) struct MixingValve {
    stroke_s: f64,
    position_frac: f64,
    last_a_c: f64,
    last_b_c: f64,
    inlet_a: SignalId,
    inlet_b: SignalId,
    flow: SignalId,
    command: SignalId,
    position: SignalId,
    outlet: SignalId,
    flow_a: SignalId,
    flow_b: SignalId,
}

impl ComponentConfig for MixingValveConfig {
    const TABLE: &'static str = "mixing_valve";
    const SIGNALS: &'static [&'static str] = &["command", "position", "outlet", "flow_a", "flow_b"];
    const COMMANDS: &'static [&'static str] = &["command"];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let x = at.fraction("initial_position", self.initial_position)?;
        let n = &self.name;
        let v = MixingValve {
            stroke_s: at.non_negative("stroke_s", self.stroke_s)?,
            position_frac: x,
            last_a_c: 0.0,
            last_b_c: 0.0,
            inlet_a: r.resolve(&self.inlet_a, at.field("inlet_a"))?,
            inlet_b: r.resolve(&self.inlet_b, at.field("inlet_b"))?,
            flow: r.resolve(&self.flow, at.field("flow"))?,
            command: r.own(n, "command"),
            position: r.own(n, "position"),
            outlet: r.own(n, "outlet"),
            flow_a: r.own(n, "flow_a"),
            flow_b: r.own(n, "flow_b"),
        };
        r.init(v.command, x);
        r.init(v.position, x);
        let mix = x * r.initial(v.inlet_a) + (1.0 - x) * r.initial(v.inlet_b);
        r.init(v.outlet, if mix.is_finite() { mix } else { 0.0 });
        Ok(Built {
            component: Component::MixingValve(v),
            limits: Vec::new(),
        })
    }
}

impl MixingValve {
    /// Moves the plug toward the command, then mixes this step's inlets.
    pub(crate) fn step(&mut self, s: &mut Signals, dt_s: f64) {
        let target = s.unit(self.command);
        self.position_frac = if self.stroke_s > 0.0 {
            let max_move = dt_s / self.stroke_s;
            self.position_frac + (target - self.position_frac).clamp(-max_move, max_move)
        } else {
            target
        };
        let x = self.position_frac;
        let t_a = water::temperature(s, self.inlet_a, self.last_a_c);
        let t_b = water::temperature(s, self.inlet_b, self.last_b_c);
        self.last_a_c = t_a;
        self.last_b_c = t_b;
        let q = s.non_negative(self.flow);
        s.set(self.position, x);
        s.set(self.outlet, x * t_a + (1.0 - x) * t_b);
        s.set(self.flow_a, x * q);
        s.set(self.flow_b, (1.0 - x) * q);
    }
}

#[cfg(test)]
mod tests {
    use crate::process::testutil::{build, close, get, run, set};
    use crate::process::{Process, ProcessConfig};

    fn plant() -> Process {
        build(
            r#"
            [[process.profile]]
            name = "supply"
            points = [["00:00", 90], ["12:00", 90]]
            [[process.profile]]
            name = "ret"
            points = [["00:00", 40], ["12:00", 40]]
            [[process.valve]]
            name = "q"
            max_flow_m3s = 0.02
            initial_opening = 1
            [[process.mixing_valve]]
            name = "mix"
            inlet_a = "supply.value"
            inlet_b = "ret.value"
            flow = "q.flow"
            stroke_s = 100
            initial_position = 0.2
            "#,
        )
    }

    #[test]
    fn mixes_in_proportion_to_position() {
        // x = 0.2: 0.2 × 90 + 0.8 × 40 = 50 °C; 4 l/s from A, 16 l/s from B.
        let mut p = plant();
        run(&mut p, 1, 1.0);
        close(get(&p, "mix.outlet"), 50.0, 1e-12);
        close(get(&p, "mix.flow_a"), 0.004, 1e-15);
        close(get(&p, "mix.flow_b"), 0.016, 1e-15);
        // Energy balance: the outlet carries what the two inlets bring.
        let q = get(&p, "q.flow");
        close(
            q * get(&p, "mix.outlet"),
            get(&p, "mix.flow_a") * 90.0 + get(&p, "mix.flow_b") * 40.0,
            1e-12,
        );
        // Commanded to 0.7 with a 100 s stroke: 0.5 of travel in 50 s, at 10 s steps.
        set(&mut p, "mix.command", 0.7);
        run(&mut p, 2, 10.0);
        close(get(&p, "mix.position"), 0.4, 1e-12);
        close(get(&p, "mix.outlet"), 60.0, 1e-9);
        run(&mut p, 5, 10.0);
        close(get(&p, "mix.position"), 0.7, 1e-12);
        close(get(&p, "mix.outlet"), 75.0, 1e-9);
    }

    #[test]
    fn bad_stroke_is_reported() {
        let src = "[[process.valve]]\nname = \"q\"\nmax_flow_m3s = 1\n[[process.mixing_valve]]\nname = \"m\"\n\
                   inlet_a = \"q.flow\"\ninlet_b = \"q.flow\"\nflow = \"q.flow\"\nstroke_s = -5\n";
        let cfg = ProcessConfig::from_plant_toml(src).unwrap();
        let err = Process::from_config(&cfg).unwrap_err();
        assert_eq!(err.field, "process.mixing_valve[0].stroke_s");
        assert_eq!(&src[err.span.unwrap()], "[[process.mixing_valve]]");
    }
}
