//! Closed pressure vessel (e.g. a filter housing or hydropneumatic tank)
//! protected by a spring-loaded relief valve.
//!
//! Pressure (bar gauge) rises in proportion to the net volume pushed in:
//! `dP/dt = stiffness × (Σ inflows − Σ outflows − relief_flow)` with the
//! stiffness in bar per m³ (the inverse of the vessel's compliance). This is
//! the linearisation of an air cushion or of an elastic shell around its
//! working point: good enough to show a blocked outlet pressurising a vessel
//! within seconds, without a gas law's extra parameters. Pressure floors at
//! 0 bar(g): the vessel does not model vacuum.
//!
//! The relief valve pops fully open when pressure reaches `relief_set_bar`
//! and vents `relief_capacity_m3s`; it reseats only once pressure has fallen
//! to `relief_reseat_bar` (the blowdown), as real pop-action valves do, so
//! pressure saw-tooths between reseat and set. The valve acts on the
//! pressure at the start of the step, so one step's rise of overshoot above
//! set is expected. If the relief is undersized (capacity below the net
//! inflow) pressure keeps climbing while it vents.
//!
//! Signals: `pressure` (bar g), `relief_open` (0/1), `relief_flow` (m³/s).
//! Built-in limit `<name>.overpressure`: pressure reaching
//! `design_pressure_bar`, default T0879 Damage to Property (set T0880 for a
//! vessel whose rupture endangers people), re-arming 2 % below it.

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::impact::ImpactTechnique;
use crate::process::limits::{BuiltinLimitConfig, Direction, LimitSpec};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, SignalList, Signals, bit};

/// `[[process.pressure_vessel]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PressureVesselConfig {
    /// Component name.
    pub name: String,
    /// Pressure rise per m³ of net inflow, bar/m³ (> 0).
    pub stiffness_bar_per_m3: f64,
    /// Pressure at t = 0, bar g (default 0).
    #[serde(default)]
    pub initial_pressure_bar: f64,
    /// Signals pushing water in, m³/s each.
    #[serde(default)]
    pub inflows: Vec<Spanned<String>>,
    /// Signals drawing water out, m³/s each.
    #[serde(default)]
    pub outflows: Vec<Spanned<String>>,
    /// Relief valve opening pressure, bar g (> 0).
    pub relief_set_bar: f64,
    /// Relief valve reseat pressure, bar g (0 <= reseat < set).
    pub relief_reseat_bar: f64,
    /// Relief flow when open, m³/s (>= 0; 0 models a missing or seized valve).
    pub relief_capacity_m3s: f64,
    /// Pressure the vessel is rated for, bar g (> 0).
    pub design_pressure_bar: f64,
    /// Overrides for the built-in overpressure limit.
    #[serde(default)]
    pub overpressure: BuiltinLimitConfig,
}

/// A pressure vessel being simulated.
#[derive(Clone, Debug)]
pub(crate) struct PressureVessel {
    stiffness_bar_per_m3: f64,
    pressure_bar: f64,
    set_bar: f64,
    reseat_bar: f64,
    capacity_m3s: f64,
    design_bar: f64,
    relief_is_open: bool,
    inflows: SignalList,
    outflows: SignalList,
    pressure: SignalId,
    relief_open: SignalId,
    relief_flow: SignalId,
}

impl ComponentConfig for PressureVesselConfig {
    const TABLE: &'static str = "pressure_vessel";
    const SIGNALS: &'static [&'static str] = &["pressure", "relief_open", "relief_flow"];
    const COMMANDS: &'static [&'static str] = &[];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let n = &self.name;
        let set_bar = at.positive("relief_set_bar", self.relief_set_bar)?;
        let reseat_bar = at.non_negative("relief_reseat_bar", self.relief_reseat_bar)?;
        if reseat_bar >= set_bar {
            return Err(at.non_physical(
                "relief_reseat_bar",
                format!("expected a reseat pressure below relief_set_bar ({set_bar}), got {reseat_bar}"),
            ));
        }
        let design_bar = at.positive("design_pressure_bar", self.design_pressure_bar)?;
        let vessel = PressureVessel {
            stiffness_bar_per_m3: at.positive("stiffness_bar_per_m3", self.stiffness_bar_per_m3)?,
            pressure_bar: at.non_negative("initial_pressure_bar", self.initial_pressure_bar)?,
            set_bar,
            reseat_bar,
            capacity_m3s: at.non_negative("relief_capacity_m3s", self.relief_capacity_m3s)?,
            design_bar,
            relief_is_open: false,
            inflows: r.resolve_all(&self.inflows, at.field("inflows"))?,
            outflows: r.resolve_all(&self.outflows, at.field("outflows"))?,
            pressure: r.own(n, "pressure"),
            relief_open: r.own(n, "relief_open"),
            relief_flow: r.own(n, "relief_flow"),
        };
        r.init(vessel.pressure, vessel.pressure_bar);
        let spec = LimitSpec {
            name: format!("{n}.overpressure"),
            component: n.clone(),
            signal: vessel.pressure,
            signal_name: format!("{n}.pressure"),
            direction: Direction::Above,
            threshold: design_bar,
            hysteresis: 0.02 * design_bar,
            for_s: 0.0,
            technique: ImpactTechnique::DamageToProperty,
            description: format!("{n} above its design pressure of {design_bar} bar"),
        };
        let limits = self
            .overpressure
            .apply(spec, at, "overpressure")?
            .into_iter()
            .collect();
        Ok(Built {
            component: Component::PressureVessel(vessel),
            limits,
        })
    }
}

impl PressureVessel {
    /// Bar per m³ of net inflow, for the pressure signal this vessel integrates.
    pub(crate) fn pressure_per_m3(&self, id: SignalId) -> Option<f64> {
        (id == self.pressure).then_some(self.stiffness_bar_per_m3)
    }

    /// The step over which pressure moves by at most the relief valve's blowdown (and by at
    /// most the margin between set and design pressure): longer steps jump across the
    /// valve's band, so it vents a whole step's flow at once, pressure falls to 0 and then
    /// rises past the design pressure in one step, a limit cycle the real vessel never has.
    pub(crate) fn max_step_s(&self, s: &Signals) -> f64 {
        let relief_m3s = if self.relief_is_open {
            self.capacity_m3s
        } else {
            0.0
        };
        let net_m3s = s.sum(&self.inflows) - s.sum(&self.outflows) - relief_m3s;
        let rate_bar_s = (self.stiffness_bar_per_m3 * net_m3s).abs();
        let margin_bar = (self.set_bar - self.reseat_bar).min(self.design_bar - self.set_bar);
        if rate_bar_s > 0.0 && margin_bar > 0.0 {
            margin_bar / rate_bar_s
        } else {
            f64::INFINITY
        }
    }

    /// Updates the relief valve from the current pressure, then integrates.
    pub(crate) fn step(&mut self, s: &mut Signals, dt_s: f64) {
        if self.pressure_bar >= self.set_bar {
            self.relief_is_open = true;
        } else if self.pressure_bar <= self.reseat_bar {
            self.relief_is_open = false;
        }
        let relief_m3s = if self.relief_is_open {
            self.capacity_m3s
        } else {
            0.0
        };
        let net_m3s = s.sum(&self.inflows) - s.sum(&self.outflows) - relief_m3s;
        self.pressure_bar = (self.pressure_bar + self.stiffness_bar_per_m3 * net_m3s * dt_s).max(0.0);
        s.set(self.pressure, self.pressure_bar);
        s.set(self.relief_open, bit(self.relief_is_open));
        s.set(self.relief_flow, relief_m3s);
    }
}

#[cfg(test)]
mod tests {
    use crate::process::ImpactTechnique;
    use crate::process::testutil::{build, get, run};

    /// Constant 0.01 m³/s into a vessel of 10 bar/m³ (0.1 bar/s while the
    /// relief is shut), relief 6 bar set / 5.5 bar reseat, rated 10 bar.
    fn plant(capacity: f64, extra: &str) -> crate::process::Process {
        build(&format!(
            r#"
            [[process.valve]]
            name = "feed"
            max_flow_m3s = 0.01
            initial_opening = 1
            [[process.pressure_vessel]]
            name = "pv"
            stiffness_bar_per_m3 = 10
            inflows = ["feed.flow"]
            relief_set_bar = 6
            relief_reseat_bar = 5.5
            relief_capacity_m3s = {capacity}
            design_pressure_bar = 10
            {extra}
            "#
        ))
    }

    #[test]
    fn relief_holds_pressure_between_reseat_and_set() {
        // Capacity 0.03 m³/s: while open, net −0.02 m³/s = −0.2 bar/s.
        // Shut: +0.1 bar/s. The valve acts on the start-of-step pressure, so
        // the saw-tooth spans at most [5.5 − 0.2, 6 + 0.1] bar.
        let mut p = plant(0.03, "");
        let (mut lo, mut hi, mut pops) = (f64::MAX, 0.0_f64, 0);
        let mut was_open = false;
        for n in 1..=1000 {
            assert!(run(&mut p, 1, 1.0).is_empty());
            let bar = get(&p, "pv.pressure");
            let open = get(&p, "pv.relief_open") == 1.0;
            if open {
                assert_eq!(get(&p, "pv.relief_flow"), 0.03);
            }
            pops += usize::from(open && !was_open);
            was_open = open;
            hi = hi.max(bar);
            if n > 100 {
                lo = lo.min(bar);
            }
        }
        assert!(hi <= 6.1 + 1e-9, "peak {hi}");
        assert!(lo >= 5.3 - 1e-9, "trough {lo}");
        // ... and it really blows down to the reseat pressure before closing.
        assert!(lo <= 5.5 + 1e-9, "trough {lo}");
        assert!(pops > 10, "relief should cycle, popped {pops} times");
    }

    #[test]
    fn undersized_relief_lets_pressure_reach_design() {
        // Capacity 0.005 m³/s < 0.01 inflow: after popping at 6 bar the
        // pressure still climbs 0.05 bar/s. 0 → 6 bar takes ~60 s at 0.1 bar/s
        // (+1 step before the valve reacts), then 4 bar at 0.05 bar/s = 80 s:
        // design pressure reached around t = 140 s, reported once.
        let mut p = plant(0.005, "overpressure = { technique = \"T0880\" }");
        let hits = run(&mut p, 400, 1.0);
        assert_eq!(hits.len(), 1, "{hits:?}");
        let (n, imp) = &hits[0];
        assert!((139..=143).contains(n), "step {n}");
        assert_eq!(imp.limit, "pv.overpressure");
        assert_eq!(imp.technique, ImpactTechnique::LossOfSafety);
        assert_eq!(imp.threshold, 10.0);
        assert!(imp.value >= 10.0);
        assert_eq!(get(&p, "pv.relief_open"), 1.0);
    }
}
