//! Junction where flows of water meet (the return main collecting the buildings' returns, a
//! header joining two boilers' outlets): the outlet carries their sum, fully mixed.
//!
//! `Q = Σ Qᵢ` (m³/s) and `T_out = Σ Qᵢ·Tᵢ / Q` (°C), the flow-weighted mean, so the heat
//! that arrives leaves. With no flow in, the outlet holds its last temperature (standing
//! water); a negative or non-finite flow reads as none, a non-finite temperature as the
//! outlet's last one. Algebraic: it never cuts a step.
//!
//! Signals: `outlet` (°C), `flow` (m³/s). No commands.

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};

/// `[[process.junction]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JunctionConfig {
    /// Component name.
    pub name: String,
    /// The flows that meet here, one or more.
    pub inlets: Vec<JunctionInletConfig>,
    /// Outlet temperature until water first flows, °C (default 0).
    #[serde(default)]
    pub initial_temperature_c: f64,
}

/// One inflow of a junction.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JunctionInletConfig {
    /// Its temperature, a signal in °C.
    pub temperature: Spanned<String>,
    /// Its flow, a signal in m³/s.
    pub flow: Spanned<String>,
}

/// A junction being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Junction {
    inlets: Vec<(SignalId, SignalId)>,
    outlet_c: f64,
    outlet: SignalId,
    flow: SignalId,
}

impl ComponentConfig for JunctionConfig {
    const TABLE: &'static str = "junction";
    const SIGNALS: &'static [&'static str] = &["outlet", "flow"];
    const COMMANDS: &'static [&'static str] = &[];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        if self.inlets.is_empty() {
            return Err(at.non_physical("inlets", "expected one or more inlets"));
        }
        let t0 = at.finite("initial_temperature_c", self.initial_temperature_c)?;
        let mut inlets = Vec::with_capacity(self.inlets.len());
        for (i, inlet) in self.inlets.iter().enumerate() {
            let t = r.resolve(&inlet.temperature, at.field(&format!("inlets[{i}].temperature")))?;
            let q = r.resolve(&inlet.flow, at.field(&format!("inlets[{i}].flow")))?;
            inlets.push((t, q));
        }
        let j = Junction {
            inlets,
            outlet_c: t0,
            outlet: r.own(&self.name, "outlet"),
            flow: r.own(&self.name, "flow"),
        };
        r.init(j.outlet, t0);
        Ok(Built {
            component: Component::Junction(j),
            limits: Vec::new(),
        })
    }
}

impl Junction {
    /// Mixes this step's inflows.
    pub(crate) fn step(&mut self, s: &mut Signals, _dt_s: f64) {
        let (mut q_sum, mut heat) = (0.0, 0.0);
        for &(t, q) in &self.inlets {
            let q = s.non_negative(q);
            let t = s.get(t);
            q_sum += q;
            heat += q * if t.is_finite() { t } else { self.outlet_c };
        }
        if q_sum > 0.0 {
            self.outlet_c = heat / q_sum;
        }
        s.set(self.outlet, self.outlet_c);
        s.set(self.flow, q_sum);
    }
}

#[cfg(test)]
mod tests {
    use crate::process::testutil::{build, close, get, run, set};
    use crate::process::{Process, ProcessConfig};

    #[test]
    fn flow_weighted_mean_and_hold_without_flow() {
        // 1 l/s at 40 °C (a valve's flow ×100 read as °C) and 3 l/s at 60 °C: 55 °C, 4 l/s.
        let mut p = build(
            r#"
            [[process.profile]]
            name = "t1"
            points = [["00:00", 40], ["12:00", 40]]
            [[process.profile]]
            name = "t2"
            points = [["00:00", 60], ["12:00", 60]]
            [[process.valve]]
            name = "q1"
            max_flow_m3s = 0.001
            initial_opening = 1
            [[process.valve]]
            name = "q2"
            max_flow_m3s = 0.003
            initial_opening = 1
            [[process.junction]]
            name = "ret"
            inlets = [{ temperature = "t1.value", flow = "q1.flow" },
                      { temperature = "t2.value", flow = "q2.flow" }]
            "#,
        );
        run(&mut p, 1, 10.0);
        close(get(&p, "ret.outlet"), 55.0, 1e-12);
        close(get(&p, "ret.flow"), 0.004, 1e-15);
        set(&mut p, "q1.command", 0.0);
        set(&mut p, "q2.command", 0.0);
        run(&mut p, 1, 10.0);
        assert_eq!(get(&p, "ret.flow"), 0.0);
        close(get(&p, "ret.outlet"), 55.0, 1e-12);
    }

    #[test]
    fn needs_an_inlet() {
        let src = "[[process.junction]]\nname = \"j\"\ninlets = []\n";
        let cfg = ProcessConfig::from_plant_toml(src).unwrap();
        let err = Process::from_config(&cfg).unwrap_err();
        assert_eq!(err.field, "process.junction[0].inlets");
        assert_eq!(&src[err.span.unwrap()], "[[process.junction]]");
    }
}
