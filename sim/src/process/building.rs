//! A building heated by the water flowing through its radiators (a block of flats on a
//! district-heating network, directly connected, as many are): the consumer load whose
//! demand follows the outdoor temperature.
//!
//! One lumped indoor temperature `T_in` (°C) with heat capacity `C` (J/K: air, walls and
//! furniture; a few hours' to a few days' worth of `UA`), losing heat through its envelope
//! to the outdoor temperature `T_out` (a signal, typically a `profile` or a `series`):
//!
//! `C·dT_in/dt = Φ_rad + gains − UA·(T_in − T_out)`
//!
//! The radiators are an exchanger between the water (supply `T_s`, flow `Q`) and the room,
//! whose own capacity rate is unlimited, so with `C_w = ρ·cp·Q` their effectiveness is
//! `ε = 1 − e^(−UA_rad / C_w)`:
//!
//! `Φ_rad = ε·C_w·(T_s − T_in)`, return `T_r = T_s − Φ_rad / C_w`
//!
//! (the water leaves between the supply and the room temperature, closer to the room the
//! smaller the flow). Without flow there is no heat and the return shows the room
//! temperature. So the heat the building takes depends on supply temperature, flow and
//! indoor temperature; at steady state it equals the envelope's loss, `UA·(T_in − T_out)`,
//! and a colder day needs a hotter supply or more flow to hold the same indoor temperature.
//! Cut the heat and the building cools toward outdoors with the time constant `C / UA`.
//!
//! Sizing from a design day: `ua_w_per_k = design heat load / (T_in − T_out,design)`, e.g.
//! 200 kW at −20 °C for 20 °C indoors is 5000 W/K; `radiator_ua_w_per_k` from the
//! radiators' design flow and temperatures (e.g. 90/70 °C at 20 °C indoors: the log-mean
//! difference is 59.4 K, so 200 kW needs 3.4 kW/K).
//!
//! Integration: over a step the inputs are held, and the balance is linear in `T_in`, so it
//! is solved exactly: `T_in` relaxes toward `T_∞ = (ε·C_w·T_s + gains + UA·T_out) /
//! (UA + ε·C_w)` with the rate `k = (UA + ε·C_w) / C`, `T_in ← T_∞ + (T_in − T_∞)·e^(−k·dt)`.
//! That cannot overshoot at any step, even in the step where the flow has jumped; the
//! building still asks for steps no longer than its time constant `1/k` at the current flow,
//! so that what it exchanges with the rest of the plant (its return temperature, which a
//! boiler or a controller downstream reads) is resolved on its own time scale. Real
//! buildings have time constants of hours and never cut a step.
//!
//! Signals: `indoor` (°C), `return` (°C), `heat_kw` (kW from the water to the building).
//! No commands: throttle it with a `branch`, `valve` or `mixing_valve` upstream.

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};
use crate::process::water;

/// `[[process.building]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildingConfig {
    /// Component name.
    pub name: String,
    /// Supply water temperature at the building, a signal in °C.
    pub supply: Spanned<String>,
    /// Water flow through the building, a signal in m³/s.
    pub flow: Spanned<String>,
    /// Outdoor temperature, a signal in °C.
    pub outdoor: Spanned<String>,
    /// Heat capacity of the building, J/K (> 0).
    pub heat_capacity_j_per_k: f64,
    /// Envelope loss coefficient to outdoors, W/K (> 0).
    pub ua_w_per_k: f64,
    /// Radiators' conductance between the water and the rooms, W/K (> 0).
    pub radiator_ua_w_per_k: f64,
    /// Indoor temperature at t = 0, °C (default 20).
    #[serde(default = "twenty")]
    pub initial_temperature_c: f64,
    /// Heat from occupants, appliances and sun, W (>= 0, default 0).
    #[serde(default)]
    pub internal_gains_w: f64,
}

fn twenty() -> f64 {
    20.0
}

/// A building being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Building {
    capacity_j_per_k: f64,
    ua_w_per_k: f64,
    radiator_ua_w_per_k: f64,
    gains_w: f64,
    indoor_c: f64,
    last_supply_c: f64,
    last_outdoor_c: f64,
    supply: SignalId,
    flow: SignalId,
    outdoor: SignalId,
    indoor: SignalId,
    return_c: SignalId,
    heat_kw: SignalId,
}

impl ComponentConfig for BuildingConfig {
    const TABLE: &'static str = "building";
    const SIGNALS: &'static [&'static str] = &["indoor", "return", "heat_kw"];
    const COMMANDS: &'static [&'static str] = &[];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let t0 = at.finite("initial_temperature_c", self.initial_temperature_c)?;
        let n = &self.name;
        let b = Building {
            capacity_j_per_k: at.positive("heat_capacity_j_per_k", self.heat_capacity_j_per_k)?,
            ua_w_per_k: at.positive("ua_w_per_k", self.ua_w_per_k)?,
            radiator_ua_w_per_k: at.positive("radiator_ua_w_per_k", self.radiator_ua_w_per_k)?,
            gains_w: at.non_negative("internal_gains_w", self.internal_gains_w)?,
            indoor_c: t0,
            last_supply_c: t0,
            last_outdoor_c: t0,
            supply: r.resolve(&self.supply, at.field("supply"))?,
            flow: r.resolve(&self.flow, at.field("flow"))?,
            outdoor: r.resolve(&self.outdoor, at.field("outdoor"))?,
            indoor: r.own(n, "indoor"),
            return_c: r.own(n, "return"),
            heat_kw: r.own(n, "heat_kw"),
        };
        r.init(b.indoor, t0);
        r.init(b.return_c, t0);
        Ok(Built {
            component: Component::Building(b),
            limits: Vec::new(),
        })
    }
}

impl Building {
    /// The radiators' effectiveness at a water capacity rate `c_w` (W/K).
    fn effectiveness(&self, c_w: f64) -> f64 {
        if c_w > 0.0 {
            1.0 - (-self.radiator_ua_w_per_k / c_w).exp()
        } else {
            0.0
        }
    }

    /// The inverse of the indoor temperature's rate constant at the current flow.
    pub(crate) fn max_step_s(&self, s: &Signals) -> f64 {
        let c_w = water::capacity_rate(s.non_negative(self.flow));
        self.capacity_j_per_k / (self.ua_w_per_k + self.effectiveness(c_w) * c_w)
    }

    /// Heat from the radiators (at the indoor temperature the step starts from), then the
    /// energy balance solved over the step.
    pub(crate) fn step(&mut self, s: &mut Signals, dt_s: f64) {
        let t_s = water::temperature(s, self.supply, self.last_supply_c);
        let t_out = water::temperature(s, self.outdoor, self.last_outdoor_c);
        self.last_supply_c = t_s;
        self.last_outdoor_c = t_out;
        let c_w = water::capacity_rate(s.non_negative(self.flow));
        let (heat_w, t_r) = if c_w > 0.0 {
            let heat_w = self.effectiveness(c_w) * c_w * (t_s - self.indoor_c);
            (heat_w, Some(t_s - heat_w / c_w))
        } else {
            (0.0, None)
        };
        // Exact solution of C·dT/dt = εC_w·(T_s − T) + gains − UA·(T − T_out) over dt.
        let ec = self.effectiveness(c_w) * c_w;
        let conductance = self.ua_w_per_k + ec;
        let settled = (ec * t_s + self.gains_w + self.ua_w_per_k * t_out) / conductance;
        let keep = (-dt_s * conductance / self.capacity_j_per_k).exp();
        self.indoor_c = settled + (self.indoor_c - settled) * keep;
        s.set(self.indoor, self.indoor_c);
        // Standing water in the radiators is at the room's temperature.
        s.set(self.return_c, t_r.unwrap_or(self.indoor_c));
        s.set(self.heat_kw, heat_w / 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use crate::process::testutil::{build, close, get, run, set};
    use crate::process::{Process, ProcessConfig};

    /// 70 °C supply, −10 °C outdoors; the flow is a valve's (command × 0.01 m³/s).
    /// UA 2093 W/K, C = 2093 × 36 000 J/K (τ = 10 h), radiators 2901.5 W/K.
    fn plant(capacity: &str) -> Process {
        build(&plant_src(capacity))
    }

    fn plant_src(capacity: &str) -> String {
        format!(
            r#"
            [[process.profile]]
            name = "supply"
            points = [["00:00", 70], ["12:00", 70]]
            [[process.profile]]
            name = "outdoor"
            points = [["00:00", -10], ["12:00", -10]]
            [[process.valve]]
            name = "q"
            max_flow_m3s = 0.01
            initial_opening = 0.1
            [[process.building]]
            name = "block"
            supply = "supply.value"
            flow = "q.flow"
            outdoor = "outdoor.value"
            heat_capacity_j_per_k = {capacity}
            ua_w_per_k = 2093
            radiator_ua_w_per_k = 2901.5
            initial_temperature_c = 20
            "#
        )
    }

    #[test]
    fn steady_state_balances_radiators_and_envelope() {
        // Q = 0.001 m³/s: C_w = 4186 W/K, ε = 1 − e^(−2901.5/4186) = 1 − e^−0.69314 ≈ 1/2,
        // εC_w ≈ 2093 W/K = UA, so the room settles halfway between supply and outdoors:
        // T = (εC_w·70 + UA·(−10)) / (εC_w + UA) ≈ 30 °C.
        let mut p = plant("7.5348e7");
        run(&mut p, 60_000, 10.0);
        let e = 1.0 - (-2901.5f64 / 4186.0).exp();
        let ec = e * 4186.0;
        let t = (ec * 70.0 - 2093.0 * 10.0) / (ec + 2093.0);
        close(t, 30.0, 0.01);
        close(get(&p, "block.indoor"), t, 1e-6);
        // The heat in is the envelope's loss, and the return carries the rest.
        close(get(&p, "block.heat_kw"), 2.093 * (t + 10.0), 1e-6);
        close(get(&p, "block.return"), 70.0 - ec * (70.0 - t) / 4186.0, 1e-9);
    }

    #[test]
    fn demand_follows_the_outdoor_temperature() {
        // Same supply and flow, outdoors −10 °C and then +10 °C: the warmer day settles
        // warmer indoors and takes less heat. At +10: T = (εC_w·70 + UA·10)/(εC_w + UA).
        let mut p = plant("7.5348e7");
        run(&mut p, 60_000, 10.0);
        let cold_day_kw = get(&p, "block.heat_kw");
        let mut p = build(&plant_src("7.5348e7").replace("-10]", "10]"));
        run(&mut p, 60_000, 10.0);
        let ec = (1.0 - (-2901.5f64 / 4186.0).exp()) * 4186.0;
        let t = (ec * 70.0 + 2093.0 * 10.0) / (ec + 2093.0);
        close(get(&p, "block.indoor"), t, 1e-6);
        close(get(&p, "block.heat_kw"), 2.093 * (t - 10.0), 1e-6);
        // About 62.8 kW against 83.7 kW: three quarters of the heat, and 40 °C indoors
        // rather than 30 °C (a controller would cut the supply or the flow).
        close(get(&p, "block.heat_kw") / cold_day_kw, 0.75, 0.001);
    }

    #[test]
    fn cools_toward_outdoors_with_time_constant_c_over_ua() {
        // No flow: T = −10 + 30 e^(−t/τ), τ = C/UA = 36 000 s; after τ: 1.0364 °C.
        let mut p = plant("7.5348e7");
        set(&mut p, "q.command", 0.0);
        run(&mut p, 3600, 10.0);
        close(get(&p, "block.indoor"), -10.0 + 30.0 / std::f64::consts::E, 1e-9);
        assert_eq!(get(&p, "block.heat_kw"), 0.0);
        assert_eq!(get(&p, "block.return"), get(&p, "block.indoor"));
    }

    #[test]
    fn a_light_building_is_stable_at_a_10_s_step() {
        // C = 20 930 J/K: τ = 10 s alone, and the radiators at 0.01 m³/s make the rate
        // (2093 + 41860·(1 − e^−0.0693)) / 20930 = 0.235/s: a 10 s step would oscillate.
        let mut p = plant("20930");
        set(&mut p, "q.command", 1.0);
        let mut last = get(&p, "block.indoor");
        for _ in 0..100 {
            run(&mut p, 1, 10.0);
            let t = get(&p, "block.indoor");
            assert!(t >= last - 1e-9, "monotonic approach, no overshoot: {last} → {t}");
            last = t;
        }
        let ec = (1.0 - (-2901.5f64 / 41860.0).exp()) * 41860.0;
        close(last, (ec * 70.0 - 20930.0) / (ec + 2093.0), 1e-6);
        assert!(p.integration().substepped());
    }

    #[test]
    fn bad_capacity_is_reported() {
        let src = "[[process.valve]]\nname = \"q\"\nmax_flow_m3s = 1\n[[process.building]]\nname = \"b\"\n\
                   supply = \"q.flow\"\nflow = \"q.flow\"\noutdoor = \"q.flow\"\nheat_capacity_j_per_k = 0\n\
                   ua_w_per_k = 1\nradiator_ua_w_per_k = 1\n";
        let cfg = ProcessConfig::from_plant_toml(src).unwrap();
        let err = Process::from_config(&cfg).unwrap_err();
        assert_eq!(err.field, "process.building[0].heat_capacity_j_per_k");
        assert_eq!(&src[err.span.unwrap()], "[[process.building]]");
    }
}
