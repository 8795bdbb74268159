//! Boiler heating the water that flows through it (a district-heating boiler house, a
//! building's gas boiler), with its high-limit thermostat.
//!
//! The water comes in at `inlet` (°C, typically the network's return) with flow `Q` (m³/s)
//! and leaves at
//!
//! `T_out = T_in + P / (ρ·cp·Q)`, with `P = power × max_power_kw`,
//!
//! clamped at `max_outlet_c`: the high-limit thermostat cuts the firing to what keeps the
//! outlet there (and `limited` shows it). The heat delivered is `ρ·cp·Q·(T_out − T_in)`.
//! Without flow (or with a negative one) the flow switch keeps the burner off: no heat, and
//! the outlet shows the inlet. The boiler's water content is not modelled: its outlet
//! follows firing and flow within the step (a boiler answers in a minute or two, much faster
//! than the network and the buildings it feeds), so it never cuts a step.
//!
//! Signals: `power` (command 0..1 of `max_power_kw`), `outlet` (°C), `heat_kw` (kW delivered
//! to the water), `limited` (0/1: the high limit is cutting the firing). A stopped boiler
//! (`power` 0, or its enable lost) passes its inlet through unheated.

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals, bit};
use crate::process::water;

/// `[[process.boiler]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoilerConfig {
    /// Component name.
    pub name: String,
    /// Inlet (return) water temperature, a signal in °C.
    pub inlet: Spanned<String>,
    /// Flow through the boiler, a signal in m³/s.
    pub flow: Spanned<String>,
    /// Heat into the water at full firing, kW (>= 0).
    pub max_power_kw: f64,
    /// High-limit thermostat: the outlet never exceeds this, °C (default 110).
    #[serde(default = "max_outlet_default")]
    pub max_outlet_c: f64,
    /// `power` command at t = 0 (0..1, default 0).
    #[serde(default)]
    pub initial_power: f64,
    /// Enable signal (not the power command), e.g. the burner's breaker
    /// `"boiler_mcc.energized"`; unwired means always available.
    #[serde(default)]
    pub power: Option<Spanned<String>>,
}

fn max_outlet_default() -> f64 {
    110.0
}

/// A boiler being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Boiler {
    max_power_w: f64,
    max_outlet_c: f64,
    last_inlet_c: f64,
    inlet: SignalId,
    flow: SignalId,
    supply: Option<SignalId>,
    power: SignalId,
    outlet: SignalId,
    heat_kw: SignalId,
    limited: SignalId,
}

impl ComponentConfig for BoilerConfig {
    const TABLE: &'static str = "boiler";
    const SIGNALS: &'static [&'static str] = &["power", "outlet", "heat_kw", "limited"];
    const COMMANDS: &'static [&'static str] = &["power"];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let n = &self.name;
        let boiler = Boiler {
            max_power_w: at.non_negative("max_power_kw", self.max_power_kw)? * 1000.0,
            max_outlet_c: at.finite("max_outlet_c", self.max_outlet_c)?,
            last_inlet_c: 0.0,
            inlet: r.resolve(&self.inlet, at.field("inlet"))?,
            flow: r.resolve(&self.flow, at.field("flow"))?,
            supply: self
                .power
                .as_ref()
                .map(|s| r.resolve(s, at.field("power")))
                .transpose()?,
            power: r.own(n, "power"),
            outlet: r.own(n, "outlet"),
            heat_kw: r.own(n, "heat_kw"),
            limited: r.own(n, "limited"),
        };
        r.init(boiler.power, at.fraction("initial_power", self.initial_power)?);
        let inlet = r.initial(boiler.inlet);
        r.init(boiler.outlet, if inlet.is_finite() { inlet } else { 0.0 });
        Ok(Built {
            component: Component::Boiler(boiler),
            limits: Vec::new(),
        })
    }
}

impl Boiler {
    /// Heats this step's flow.
    pub(crate) fn step(&mut self, s: &mut Signals, _dt_s: f64) {
        let t_in = water::temperature(s, self.inlet, self.last_inlet_c);
        self.last_inlet_c = t_in;
        let c = water::capacity_rate(s.non_negative(self.flow));
        let firing_w = if s.enabled(self.supply) {
            s.unit(self.power) * self.max_power_w
        } else {
            0.0
        };
        let (t_out, heat_w) = if c > 0.0 {
            let t_out = (t_in + firing_w / c).min(self.max_outlet_c.max(t_in));
            (t_out, c * (t_out - t_in))
        } else {
            (t_in, 0.0)
        };
        s.set(self.outlet, t_out);
        s.set(self.heat_kw, heat_w / 1000.0);
        s.set(self.limited, bit(heat_w < firing_w * (1.0 - 1e-9)));
    }
}

#[cfg(test)]
mod tests {
    use crate::process::testutil::{build, close, get, run, set};
    use crate::process::{Process, ProcessConfig};

    /// 50 °C return, a valve whose command is the flow in m³/s, a 2 MW boiler.
    fn plant() -> Process {
        build(
            r#"
            [[process.profile]]
            name = "ret"
            points = [["00:00", 50], ["12:00", 50]]
            [[process.valve]]
            name = "q"
            max_flow_m3s = 1
            initial_opening = 0.01
            [[process.boiler]]
            name = "b"
            inlet = "ret.value"
            flow = "q.flow"
            max_power_kw = 2000
            max_outlet_c = 95
            initial_power = 0.5
            "#,
        )
    }

    #[test]
    fn outlet_is_inlet_plus_power_over_capacity_rate() {
        // 1 MW into 0.01 m³/s (41 860 W/K): 50 + 23.889 = 73.889 °C.
        let mut p = plant();
        run(&mut p, 1, 1.0);
        close(get(&p, "b.outlet"), 50.0 + 1e6 / 41_860.0, 1e-9);
        close(get(&p, "b.heat_kw"), 1000.0, 1e-9);
        assert_eq!(get(&p, "b.limited"), 0.0);
        // Full firing would give 50 + 47.8 = 97.8 °C: the high limit holds 95 °C and
        // delivers 41 860 × 45 = 1883.7 kW.
        set(&mut p, "b.power", 1.0);
        run(&mut p, 1, 1.0);
        close(get(&p, "b.outlet"), 95.0, 1e-12);
        close(get(&p, "b.heat_kw"), 1883.7, 1e-9);
        assert_eq!(get(&p, "b.limited"), 1.0);
        // Stopped: the return passes through.
        set(&mut p, "b.power", 0.0);
        run(&mut p, 1, 10.0);
        assert_eq!(get(&p, "b.outlet"), 50.0);
        assert_eq!(get(&p, "b.heat_kw"), 0.0);
    }

    #[test]
    fn no_flow_no_heat() {
        let mut p = plant();
        set(&mut p, "q.command", 0.0);
        set(&mut p, "b.power", 1.0);
        run(&mut p, 1, 10.0);
        assert_eq!(get(&p, "b.outlet"), 50.0);
        assert_eq!(get(&p, "b.heat_kw"), 0.0);
    }

    #[test]
    fn bad_power_is_reported() {
        let src = "[[process.valve]]\nname = \"q\"\nmax_flow_m3s = 1\n[[process.boiler]]\nname = \"b\"\n\
                   inlet = \"q.flow\"\nflow = \"q.flow\"\nmax_power_kw = -1\n";
        let cfg = ProcessConfig::from_plant_toml(src).unwrap();
        let err = Process::from_config(&cfg).unwrap_err();
        assert_eq!(err.field, "process.boiler[0].max_power_kw");
        assert_eq!(&src[err.span.unwrap()], "[[process.boiler]]");
    }
}
