//! Chemical dosing into a water stream (e.g. sodium hydroxide for pH, sodium
//! hypochlorite for disinfection), modelled as one well-mixed contact volume.
//!
//! Units are chosen so the mass balance needs no conversion factors:
//! concentration in mg/L is the same number as g/m³ (1 mg/L = 1 g / 1000 L
//! = 1 g/m³), and for dilute solutions in water (1 kg/L) 1 mg/L is 1 ppm by
//! mass. With `m` the dose rate (g/s), `Q` the water flow through the
//! volume (m³/s) and `V` the contact volume (m³):
//!
//! `dC/dt = (m − C·Q) / V`   [g/m³/s = mg/L/s]
//!
//! The dosed mass leaves with the water at the mixed concentration, so the
//! steady state is `C = m / Q` (ppm), approached with time constant `V / Q`.
//! With no flow the chemical accumulates at `m / V` per second: stopping the
//! water while the dosing pump keeps stroking is the classic overdose.
//! Explicit Euler needs `dt · Q / V < 1` to approach steady state without
//! overshoot; keep steps well below the residence time.
//!
//! Signals: `stroke` (command 0..1), `dose_rate` (g/s), `concentration`
//! (mg/L = ppm). An overdose limit is plant-specific: declare it with
//! `[[process.limit]]` on `<name>.concentration` (e.g. above 200 -> T0880).

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};

/// `[[process.dosing]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DosingConfig {
    /// Component name.
    pub name: String,
    /// Mixing / contact volume, m³ (> 0).
    pub volume_m3: f64,
    /// Dose rate at full stroke, g/s of active chemical (>= 0).
    pub max_dose_g_s: f64,
    /// Water flow through the volume, e.g. `"intake_pump_1.flow"` (m³/s).
    pub water_flow: Spanned<String>,
    /// `stroke` at t = 0 (0..1, default 0).
    #[serde(default)]
    pub initial_stroke: f64,
    /// Concentration at t = 0, mg/L (default 0).
    #[serde(default)]
    pub initial_concentration_mg_l: f64,
    /// Enable signal for the dosing pump motor; unwired means always powered.
    #[serde(default)]
    pub power: Option<Spanned<String>>,
}

/// A dosing point being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Dosing {
    volume_m3: f64,
    max_dose_g_s: f64,
    concentration_mg_l: f64,
    water_flow: SignalId,
    power: Option<SignalId>,
    stroke: SignalId,
    dose_rate: SignalId,
    concentration: SignalId,
}

impl ComponentConfig for DosingConfig {
    const TABLE: &'static str = "dosing";
    const SIGNALS: &'static [&'static str] = &["stroke", "dose_rate", "concentration"];
    const COMMANDS: &'static [&'static str] = &["stroke"];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let n = &self.name;
        let dosing = Dosing {
            volume_m3: at.positive("volume_m3", self.volume_m3)?,
            max_dose_g_s: at.non_negative("max_dose_g_s", self.max_dose_g_s)?,
            concentration_mg_l: at
                .non_negative("initial_concentration_mg_l", self.initial_concentration_mg_l)?,
            water_flow: r.resolve(&self.water_flow, at.field("water_flow"))?,
            power: self
                .power
                .as_ref()
                .map(|s| r.resolve(s, at.field("power")))
                .transpose()?,
            stroke: r.own(n, "stroke"),
            dose_rate: r.own(n, "dose_rate"),
            concentration: r.own(n, "concentration"),
        };
        r.init(dosing.stroke, at.fraction("initial_stroke", self.initial_stroke)?);
        r.init(dosing.concentration, dosing.concentration_mg_l);
        Ok(Built {
            component: Component::Dosing(dosing),
            limits: Vec::new(),
        })
    }
}

impl Dosing {
    /// The residence time V/Q at the current flow: a longer Euler step washes out more
    /// chemical than the volume holds.
    pub(crate) fn max_step_s(&self, s: &Signals) -> f64 {
        let q_m3s = s.non_negative(self.water_flow);
        if q_m3s > 0.0 {
            self.volume_m3 / q_m3s
        } else {
            f64::INFINITY
        }
    }

    /// Explicit Euler step of the well-mixed mass balance.
    pub(crate) fn step(&mut self, s: &mut Signals, dt_s: f64) {
        let dose_g_s = if s.enabled(self.power) {
            s.unit(self.stroke) * self.max_dose_g_s
        } else {
            0.0
        };
        let q_m3s = s.non_negative(self.water_flow);
        let c = self.concentration_mg_l;
        let dc = (dose_g_s - c * q_m3s) / self.volume_m3 * dt_s;
        // A too-large step could wash out more than is there; no negatives.
        self.concentration_mg_l = (c + dc).max(0.0);
        s.set(self.dose_rate, dose_g_s);
        s.set(self.concentration, self.concentration_mg_l);
    }
}

#[cfg(test)]
mod tests {
    use crate::process::ImpactTechnique;
    use crate::process::testutil::{build, close, get, run, set};

    /// 10 m³ contact tank, water from a constant 0.05 m³/s valve, dosing
    /// pump of 5 g/s at full stroke, and a 200 ppm overdose limit.
    fn plant() -> crate::process::Process {
        build(
            r#"
            [[process.valve]]
            name = "water"
            max_flow_m3s = 0.05
            initial_opening = 1
            [[process.dosing]]
            name = "naoh"
            volume_m3 = 10
            max_dose_g_s = 5
            water_flow = "water.flow"
            initial_stroke = 0.5
            [[process.limit]]
            name = "naoh_overdose"
            signal = "naoh.concentration"
            above = 200
            technique = "T0880"
            description = "caustic overdose"
            "#,
        )
    }

    #[test]
    fn approaches_steady_state_m_over_q() {
        // m = 0.5 × 5 g/s = 2.5 g/s; Q = 0.05 m³/s.
        // Steady state C = 2.5 / 0.05 = 50 g/m³ = 50 mg/L = 50 ppm.
        // Euler with dt = 1 s, V/Q = 200 s: C_n = 50 (1 − (1 − 1/200)^n);
        // after 200 s: 0.995^200 = e^(200 ln 0.995) = 0.366958,
        // so C = 50 × 0.633042 = 31.652 ppm (continuous: 50(1 − e⁻¹) = 31.606).
        let mut p = plant();
        run(&mut p, 1, 1.0);
        // First step from 0: dC = 2.5 / 10 = 0.25 mg/L.
        close(get(&p, "naoh.concentration"), 0.25, 1e-12);
        close(get(&p, "naoh.dose_rate"), 2.5, 1e-12);
        run(&mut p, 199, 1.0);
        close(get(&p, "naoh.concentration"), 31.652, 1e-3);
        assert!(run(&mut p, 5000, 1.0).is_empty());
        close(get(&p, "naoh.concentration"), 50.0, 1e-6);
    }

    #[test]
    fn dosing_into_stopped_water_overdoses() {
        // No flow: C rises m / V = 2.5 / 10 = 0.25 ppm/s, so reaching the
        // 200 ppm limit takes 200 / 0.25 = 800 s (exact in binary).
        let mut p = plant();
        set(&mut p, "water.command", 0.0);
        let hits = run(&mut p, 1000, 1.0);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].0, 800);
        assert_eq!(hits[0].1.technique, ImpactTechnique::LossOfSafety);
        assert_eq!(hits[0].1.component, "naoh");
        assert_eq!(hits[0].1.limit, "naoh_overdose");
        close(get(&p, "naoh.concentration"), 250.0, 1e-9);
    }
}
