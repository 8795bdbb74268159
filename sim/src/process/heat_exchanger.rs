//! Heat exchanger between two flows of water (a district-heating substation's plate
//! exchanger, a boiler's shunt exchanger), without storage: its outlets follow its inlets
//! within the step.
//!
//! Each side has an inlet temperature `T_in` (°C) and a flow `Q` (m³/s), both signals. With
//! capacity rates `C = ρ·cp·Q` (W/K, with the water properties of `process/water.rs`), `C_min` and `C_max` the
//! smaller and larger of the two and `C_r = C_min / C_max`, the duty is
//!
//! `Φ = ε · C_min · (T_hot,in − T_cold,in)` (W)
//!
//! and the outlets `T_hot,out = T_hot,in − Φ / C_hot`, `T_cold,out = T_cold,in + Φ / C_cold`,
//! so the heat the hot side gives is exactly the heat the cold side takes. The effectiveness
//! `ε` (0..1) is either given (`effectiveness`) or follows from the exchanger's conductance
//! `UA` (W/K, `ua_w_per_k`) by the counterflow ε-NTU relation, with `NTU = UA / C_min`:
//!
//! `ε = (1 − e^(−NTU·(1 − C_r))) / (1 − C_r·e^(−NTU·(1 − C_r)))`, and `ε = NTU / (1 + NTU)`
//! for balanced flows (`C_r = 1`),
//!
//! so the duty falls when either flow falls, as a real exchanger's does. With no flow on
//! either side (or a negative or non-finite flow) nothing is transferred and each outlet
//! shows its inlet. A non-finite inlet temperature reads as the last good one.
//!
//! Signals: `hot_outlet` (°C), `cold_outlet` (°C), `duty_kw` (kW from the hot side to the
//! cold side; negative if the "hot" side is the colder). No commands: an exchanger has no
//! actuator; throttle its flows with a valve or a `branch`. No state, so it never cuts a
//! step.

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals};
use crate::process::water;

/// `[[process.heat_exchanger]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeatExchangerConfig {
    /// Component name.
    pub name: String,
    /// Hot side inlet temperature, a signal in °C (e.g. `"supply_main.outlet"`).
    pub hot_inlet: Spanned<String>,
    /// Hot side flow, a signal in m³/s.
    pub hot_flow: Spanned<String>,
    /// Cold side inlet temperature, a signal in °C.
    pub cold_inlet: Spanned<String>,
    /// Cold side flow, a signal in m³/s.
    pub cold_flow: Spanned<String>,
    /// Fixed effectiveness ε, 0..1 (exactly one of this and `ua_w_per_k`).
    #[serde(default)]
    pub effectiveness: Option<f64>,
    /// Overall conductance UA, W/K (> 0), for the counterflow ε-NTU relation (exactly one
    /// of this and `effectiveness`).
    #[serde(default)]
    pub ua_w_per_k: Option<f64>,
}

/// How the exchanger's effectiveness is found.
#[derive(Clone, Copy, Debug)]
enum Rating {
    Effectiveness(f64),
    Ua(f64),
}

/// A heat exchanger being simulated.
#[derive(Clone, Debug)]
pub(crate) struct HeatExchanger {
    rating: Rating,
    hot_inlet: SignalId,
    hot_flow: SignalId,
    cold_inlet: SignalId,
    cold_flow: SignalId,
    last_hot_c: f64,
    last_cold_c: f64,
    hot_outlet: SignalId,
    cold_outlet: SignalId,
    duty_kw: SignalId,
}

impl ComponentConfig for HeatExchangerConfig {
    const TABLE: &'static str = "heat_exchanger";
    const SIGNALS: &'static [&'static str] = &["hot_outlet", "cold_outlet", "duty_kw"];
    const COMMANDS: &'static [&'static str] = &[];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let rating = match (self.effectiveness, self.ua_w_per_k) {
            (Some(e), None) => Rating::Effectiveness(at.fraction("effectiveness", e)?),
            (None, Some(ua)) => Rating::Ua(at.positive("ua_w_per_k", ua)?),
            _ => {
                return Err(ConfigError::new(
                    at.field("effectiveness"),
                    at.span.clone(),
                    "expected exactly one of `effectiveness` and `ua_w_per_k`",
                ));
            }
        };
        let n = &self.name;
        let hx = HeatExchanger {
            rating,
            hot_inlet: r.resolve(&self.hot_inlet, at.field("hot_inlet"))?,
            hot_flow: r.resolve(&self.hot_flow, at.field("hot_flow"))?,
            cold_inlet: r.resolve(&self.cold_inlet, at.field("cold_inlet"))?,
            cold_flow: r.resolve(&self.cold_flow, at.field("cold_flow"))?,
            last_hot_c: 0.0,
            last_cold_c: 0.0,
            hot_outlet: r.own(n, "hot_outlet"),
            cold_outlet: r.own(n, "cold_outlet"),
            duty_kw: r.own(n, "duty_kw"),
        };
        let (hot, cold) = (r.initial(hx.hot_inlet), r.initial(hx.cold_inlet));
        r.init(hx.hot_outlet, if hot.is_finite() { hot } else { 0.0 });
        r.init(hx.cold_outlet, if cold.is_finite() { cold } else { 0.0 });
        Ok(Built {
            component: Component::HeatExchanger(hx),
            limits: Vec::new(),
        })
    }
}

/// Counterflow effectiveness for `ntu` transfer units and capacity ratio `cr` (0..1).
pub(crate) fn counterflow_effectiveness(ntu: f64, cr: f64) -> f64 {
    if ntu <= 0.0 {
        return 0.0;
    }
    if (1.0 - cr).abs() < 1e-9 {
        return ntu / (1.0 + ntu);
    }
    let e = (-ntu * (1.0 - cr)).exp();
    (1.0 - e) / (1.0 - cr * e)
}

impl HeatExchanger {
    /// Computes the duty and both outlets from this step's inlets.
    pub(crate) fn step(&mut self, s: &mut Signals, _dt_s: f64) {
        let t_hot = water::temperature(s, self.hot_inlet, self.last_hot_c);
        let t_cold = water::temperature(s, self.cold_inlet, self.last_cold_c);
        self.last_hot_c = t_hot;
        self.last_cold_c = t_cold;
        let c_hot = water::capacity_rate(s.non_negative(self.hot_flow));
        let c_cold = water::capacity_rate(s.non_negative(self.cold_flow));
        let (c_min, c_max) = (c_hot.min(c_cold), c_hot.max(c_cold));
        let (hot_out, cold_out, duty_w) = if c_min > 0.0 {
            let eff = match self.rating {
                Rating::Effectiveness(e) => e,
                Rating::Ua(ua) => counterflow_effectiveness(ua / c_min, c_min / c_max),
            };
            let duty_w = eff * c_min * (t_hot - t_cold);
            (t_hot - duty_w / c_hot, t_cold + duty_w / c_cold, duty_w)
        } else {
            (t_hot, t_cold, 0.0)
        };
        s.set(self.hot_outlet, hot_out);
        s.set(self.cold_outlet, cold_out);
        s.set(self.duty_kw, duty_w / 1000.0);
    }
}

#[cfg(test)]
mod tests {
    use super::counterflow_effectiveness;
    use crate::process::testutil::{build, close, get, run, set};
    use crate::process::{Process, ProcessConfig};

    /// Constant 80 °C hot and 40 °C cold inlets (profiles with one value) and two valves
    /// whose `command` is the flow in m³/s (max 1 m³/s, instant), then the exchanger.
    fn plant(rating: &str) -> Process {
        build(&format!(
            r#"
            [[process.profile]]
            name = "hot_in"
            points = [["00:00", 80], ["12:00", 80]]
            [[process.profile]]
            name = "cold_in"
            points = [["00:00", 40], ["12:00", 40]]
            [[process.valve]]
            name = "qh"
            max_flow_m3s = 1
            [[process.valve]]
            name = "qc"
            max_flow_m3s = 1
            [[process.heat_exchanger]]
            name = "hx"
            hot_inlet = "hot_in.value"
            hot_flow = "qh.flow"
            cold_inlet = "cold_in.value"
            cold_flow = "qc.flow"
            {rating}
            "#
        ))
    }

    fn flows(p: &mut Process, hot: f64, cold: f64) {
        set(p, "qh.command", hot);
        set(p, "qc.command", cold);
        run(p, 1, 1.0);
    }

    #[test]
    fn fixed_effectiveness_balances_energy() {
        // ε = 0.6, Q_hot = 0.01 m³/s (C = 41 860 W/K), Q_cold = 0.02 (83 720 W/K):
        // Φ = 0.6 × 41 860 × (80 − 40) = 1 004 640 W; hot out 80 − 24 = 56 °C,
        // cold out 40 + 12 = 52 °C.
        let mut p = plant("effectiveness = 0.6");
        flows(&mut p, 0.01, 0.02);
        close(get(&p, "hx.duty_kw"), 1004.64, 1e-9);
        close(get(&p, "hx.hot_outlet"), 56.0, 1e-12);
        close(get(&p, "hx.cold_outlet"), 52.0, 1e-12);
        // Energy balance: what the hot side gives, the cold side takes.
        let given = 41_860.0 * (80.0 - get(&p, "hx.hot_outlet"));
        let taken = 83_720.0 * (get(&p, "hx.cold_outlet") - 40.0);
        close(given, taken, 1e-6);
    }

    #[test]
    fn ua_follows_counterflow_ntu() {
        // Balanced flows 0.01 m³/s: C = 41 860 W/K, UA = 41 860 W/K, NTU = 1, ε = 1/2:
        // Φ = 0.5 × 41 860 × 40 = 837 200 W; outlets 60 °C and 60 °C.
        let mut p = plant("ua_w_per_k = 41860");
        flows(&mut p, 0.01, 0.01);
        close(get(&p, "hx.duty_kw"), 837.2, 1e-9);
        close(get(&p, "hx.hot_outlet"), 60.0, 1e-9);
        close(get(&p, "hx.cold_outlet"), 60.0, 1e-9);
        // Cold flow doubled: C_r = 1/2, NTU = 1, ε = (1 − e^−0.5)/(1 − 0.5 e^−0.5)
        // = 0.393469 / 0.696735 = 0.564733. Φ = 0.564740 × 41 860 × 40 = 945.6 kW.
        flows(&mut p, 0.01, 0.02);
        let eff = (1.0 - (-0.5f64).exp()) / (1.0 - 0.5 * (-0.5f64).exp());
        close(eff, 0.564733, 1e-6);
        close(get(&p, "hx.duty_kw"), eff * 41.86 * 40.0, 1e-9);
        // The cold side can never leave hotter than the hot side came in.
        flows(&mut p, 1.0, 0.001);
        assert!(get(&p, "hx.cold_outlet") <= 80.0 + 1e-9);
        assert!(get(&p, "hx.hot_outlet") >= 40.0 - 1e-9);
    }

    #[test]
    fn effectiveness_limits() {
        close(counterflow_effectiveness(0.0, 0.5), 0.0, 0.0);
        close(counterflow_effectiveness(50.0, 0.5), 1.0, 1e-10);
        close(counterflow_effectiveness(50.0, 1.0), 50.0 / 51.0, 1e-12);
        // C_r = 0 (one side condensing or of infinite flow): 1 − e^−NTU.
        close(counterflow_effectiveness(2.0, 0.0), 1.0 - (-2.0f64).exp(), 1e-12);
    }

    #[test]
    fn no_flow_no_transfer_and_no_nan() {
        let mut p = plant("ua_w_per_k = 50000");
        for (hot, cold) in [(0.0, 0.0), (0.0, 0.02), (0.02, 0.0)] {
            flows(&mut p, hot, cold);
            assert_eq!(get(&p, "hx.duty_kw"), 0.0);
            assert_eq!(get(&p, "hx.hot_outlet"), 80.0);
            assert_eq!(get(&p, "hx.cold_outlet"), 40.0);
        }
        // A garbage flow reads as none; outlets stay finite.
        flows(&mut p, f64::NAN, 0.02);
        assert_eq!(get(&p, "hx.duty_kw"), 0.0);
        assert!(get(&p, "hx.cold_outlet").is_finite());
    }

    #[test]
    fn needs_exactly_one_rating() {
        for (rating, field) in [
            ("", "process.heat_exchanger[0].effectiveness"),
            (
                "effectiveness = 0.5\nua_w_per_k = 10",
                "process.heat_exchanger[0].effectiveness",
            ),
            ("effectiveness = 1.5", "process.heat_exchanger[0].effectiveness"),
            ("ua_w_per_k = -3", "process.heat_exchanger[0].ua_w_per_k"),
        ] {
            let src = format!(
                "[[process.valve]]\nname = \"q\"\nmax_flow_m3s = 1\n\
                 [[process.heat_exchanger]]\nname = \"hx\"\nhot_inlet = \"q.flow\"\n\
                 hot_flow = \"q.flow\"\ncold_inlet = \"q.flow\"\ncold_flow = \"q.flow\"\n{rating}\n"
            );
            let cfg = ProcessConfig::from_plant_toml(&src).unwrap();
            let err = Process::from_config(&cfg).unwrap_err();
            assert_eq!(err.field, field, "{rating}");
            assert_eq!(&src[err.span.unwrap()], "[[process.heat_exchanger]]");
        }
    }
}
