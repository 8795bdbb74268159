//! Electric heater warming a lumped thermal mass (e.g. a sludge digester or
//! a heat-traced chemical tank), losing heat to its surroundings.
//!
//! `dT/dt = (P − UA·(T − T_ambient)) / C` with `P` in W, `UA` the overall
//! loss coefficient in W/K, `C` the heat capacity in J/K (mass × specific
//! heat: 1 m³ of water is about 4.19e6 J/K). One lumped temperature is
//! enough because a stirred body equalises much faster than it heats.
//!
//! Steady state `T = T_ambient + P / UA`, approached with time constant
//! `C / UA`; explicit Euler needs `dt · UA / C < 1` to approach it without
//! overshoot. Overtemperature is plant-specific: declare a
//! `[[process.limit]]` on `<name>.temperature`.
//!
//! Signals: `power` (command 0..1 of `max_power_w`), `temperature` (°C).

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};

/// `[[process.heater]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaterConfig {
    /// Component name.
    pub name: String,
    /// Electrical (= thermal) power at full command, W (>= 0).
    pub max_power_w: f64,
    /// Heat capacity of the heated body, J/K (> 0).
    pub heat_capacity_j_per_k: f64,
    /// Loss coefficient to ambient, W/K (>= 0; 0 = perfectly insulated).
    pub ua_w_per_k: f64,
    /// Ambient temperature, °C.
    pub ambient_c: f64,
    /// Temperature at t = 0, °C (default: ambient).
    #[serde(default)]
    pub initial_temperature_c: Option<f64>,
    /// `power` command at t = 0 (0..1, default 0).
    #[serde(default)]
    pub initial_power: f64,
    /// Enable signal (not the power command): typically the feeding
    /// breaker's `energized`; unwired means always supplied.
    #[serde(default)]
    pub power: Option<Spanned<String>>,
}

/// A heater being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Heater {
    max_power_w: f64,
    capacity_j_per_k: f64,
    ua_w_per_k: f64,
    ambient_c: f64,
    temperature_c: f64,
    supply: Option<SignalId>,
    power: SignalId,
    temperature: SignalId,
}

impl ComponentConfig for HeaterConfig {
    const TABLE: &'static str = "heater";
    const SIGNALS: &'static [&'static str] = &["power", "temperature"];
    const COMMANDS: &'static [&'static str] = &["power"];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let ambient_c = at.finite("ambient_c", self.ambient_c)?;
        let initial = self.initial_temperature_c.unwrap_or(ambient_c);
        let heater = Heater {
            max_power_w: at.non_negative("max_power_w", self.max_power_w)?,
            capacity_j_per_k: at.positive("heat_capacity_j_per_k", self.heat_capacity_j_per_k)?,
            ua_w_per_k: at.non_negative("ua_w_per_k", self.ua_w_per_k)?,
            ambient_c,
            temperature_c: at.finite("initial_temperature_c", initial)?,
            supply: self
                .power
                .as_ref()
                .map(|s| r.resolve(s, at.field("power")))
                .transpose()?,
            power: r.own(&self.name, "power"),
            temperature: r.own(&self.name, "temperature"),
        };
        r.init(heater.power, at.fraction("initial_power", self.initial_power)?);
        r.init(heater.temperature, heater.temperature_c);
        Ok(Built {
            component: Component::Heater(heater),
            limits: Vec::new(),
        })
    }
}

impl Heater {
    /// The time constant C/UA: a longer Euler step overshoots the steady state.
    pub(crate) fn max_step_s(&self) -> f64 {
        if self.ua_w_per_k > 0.0 {
            self.capacity_j_per_k / self.ua_w_per_k
        } else {
            f64::INFINITY
        }
    }

    /// Explicit Euler step of the lumped energy balance.
    pub(crate) fn step(&mut self, s: &mut Signals, dt_s: f64) {
        let p_w = if s.enabled(self.supply) {
            s.unit(self.power) * self.max_power_w
        } else {
            0.0
        };
        let loss_w = self.ua_w_per_k * (self.temperature_c - self.ambient_c);
        self.temperature_c += (p_w - loss_w) / self.capacity_j_per_k * dt_s;
        s.set(self.temperature, self.temperature_c);
    }
}

#[cfg(test)]
mod tests {
    use crate::process::ImpactTechnique;
    use crate::process::testutil::{build, close, get, run, set};

    /// 2 kW heater at half power, UA 50 W/K, C 50 kJ/K, ambient 20 °C,
    /// with an overtemperature limit at 35 °C.
    fn plant() -> crate::process::Process {
        build(
            r#"
            [[process.heater]]
            name = "h"
            max_power_w = 2000
            heat_capacity_j_per_k = 50000
            ua_w_per_k = 50
            ambient_c = 20
            initial_power = 0.5
            [[process.limit]]
            name = "h_hot"
            signal = "h.temperature"
            above = 35
            technique = "T0879"
            description = "overtemperature"
            hysteresis = 1
            "#,
        )
    }

    #[test]
    fn approaches_ambient_plus_p_over_ua() {
        // P = 0.5 × 2000 = 1000 W; steady state 20 + 1000/50 = 40 °C.
        // dt = 10 s, C/UA = 1000 s: T_n = 40 − 20 × 0.99^n.
        // n = 100: 0.99^100 = 0.366032, T = 40 − 7.32064 = 32.6794 °C.
        let mut p = plant();
        assert_eq!(get(&p, "h.temperature"), 20.0);
        run(&mut p, 1, 10.0);
        // First step: 1000 W × 10 s / 50000 J/K = 0.2 K.
        close(get(&p, "h.temperature"), 20.2, 1e-12);
        run(&mut p, 99, 10.0);
        close(get(&p, "h.temperature"), 32.6794, 1e-4);
        run(&mut p, 3000, 10.0);
        close(get(&p, "h.temperature"), 40.0, 1e-6);
    }

    #[test]
    fn overtemperature_fires_once_and_cooling_rearms() {
        // 40 − 20 × 0.99^n >= 35 ⇔ 0.99^n <= 0.25 ⇔ n >= 137.9: step 138
        // (0.99^137 = 0.2524 → 34.95 °C; 0.99^138 = 0.2498 → 35.003 °C).
        let mut p = plant();
        let hits = run(&mut p, 500, 10.0);
        assert_eq!(hits.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![138]);
        assert_eq!(hits[0].1.technique, ImpactTechnique::DamageToProperty);
        // Heater off: cools toward 20 °C, passes 34 °C (re-arm), then full
        // power (steady state 60 °C) crosses 35 °C again: a second impact.
        set(&mut p, "h.power", 0.0);
        assert!(run(&mut p, 300, 10.0).is_empty());
        assert!(get(&p, "h.temperature") < 34.0);
        set(&mut p, "h.power", 1.0);
        assert_eq!(run(&mut p, 300, 10.0).len(), 1);
    }
}
