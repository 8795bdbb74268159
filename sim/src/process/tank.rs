//! Open tank: a level integrated from volumetric flows.
//!
//! `d(level)/dt = (Σ inflows − Σ outflows) / area` (m/s, flows in m³/s, area
//! in m²). Vertical walls make level and volume proportional, which is all a
//! water-treatment basin model needs.
//!
//! The tank does not push back on the components that fill or drain it:
//! outflows are computed upstream in the step order (a valve or pump listed
//! *before* the tank). So an empty tank clamps at 0 rather than going
//! negative; wire a pump's `suction` or a valve's `upstream_level` to this
//! level to make the outflow itself stop, which is what conserves mass.
//! Overfilling clamps at the rim and the excess is reported as
//! `overflow_rate` (water spilling onto the floor).
//!
//! Signals: `level` (m), `volume` (m³), `overflow_rate` (m³/s).
//! Built-in limit `<name>.overflow`: `level` reaching `height_m`, default
//! T0879 Damage to Property (flooding a pump gallery or control room),
//! re-arming once the level is 2 % of the height below the rim.

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::impact::ImpactTechnique;
use crate::process::limits::{BuiltinLimitConfig, Direction, LimitSpec};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, SignalList, Signals};

/// `[[process.tank]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TankConfig {
    /// Component name.
    pub name: String,
    /// Horizontal cross-section, m² (> 0).
    pub area_m2: f64,
    /// Height of the rim above the floor, m (> 0).
    pub height_m: f64,
    /// Level at t = 0, m (0..=height, default 0).
    #[serde(default)]
    pub initial_level_m: f64,
    /// Signals adding water, m³/s each.
    #[serde(default)]
    pub inflows: Vec<Spanned<String>>,
    /// Signals removing water, m³/s each.
    #[serde(default)]
    pub outflows: Vec<Spanned<String>>,
    /// Overrides for the built-in overflow limit.
    #[serde(default)]
    pub overflow: BuiltinLimitConfig,
}

/// A tank being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Tank {
    area_m2: f64,
    height_m: f64,
    level_m: f64,
    inflows: SignalList,
    outflows: SignalList,
    level: SignalId,
    volume: SignalId,
    overflow_rate: SignalId,
}

impl ComponentConfig for TankConfig {
    const TABLE: &'static str = "tank";
    const SIGNALS: &'static [&'static str] = &["level", "volume", "overflow_rate"];
    const COMMANDS: &'static [&'static str] = &[];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let area_m2 = at.positive("area_m2", self.area_m2)?;
        let height_m = at.positive("height_m", self.height_m)?;
        let level_m = at.non_negative("initial_level_m", self.initial_level_m)?;
        if level_m > height_m {
            return Err(at.non_physical(
                "initial_level_m",
                format!("expected a level between 0 and height_m ({height_m}), got {level_m}"),
            ));
        }
        let tank = Tank {
            area_m2,
            height_m,
            level_m,
            inflows: r.resolve_all(&self.inflows, at.field("inflows"))?,
            outflows: r.resolve_all(&self.outflows, at.field("outflows"))?,
            level: r.own(&self.name, "level"),
            volume: r.own(&self.name, "volume"),
            overflow_rate: r.own(&self.name, "overflow_rate"),
        };
        r.init(tank.level, level_m);
        r.init(tank.volume, level_m * area_m2);
        let spec = LimitSpec {
            name: format!("{}.overflow", self.name),
            component: self.name.clone(),
            signal: tank.level,
            signal_name: format!("{}.level", self.name),
            direction: Direction::Above,
            threshold: height_m,
            hysteresis: 0.02 * height_m,
            for_s: 0.0,
            technique: ImpactTechnique::DamageToProperty,
            description: format!("{} overflowing: level reached the rim at {height_m} m", self.name),
        };
        let limits = self.overflow.apply(spec, at, "overflow")?.into_iter().collect();
        Ok(Built {
            component: Component::Tank(tank),
            limits,
        })
    }
}

impl Tank {
    /// Explicit Euler step of the level, clamped to the physical range.
    /// Metres of level per m³ of net inflow, for the level signal this tank integrates.
    pub(crate) fn level_per_m3(&self, id: SignalId) -> Option<f64> {
        (id == self.level).then(|| 1.0 / self.area_m2)
    }

    pub(crate) fn step(&mut self, s: &mut Signals, dt_s: f64) {
        let net_m3s = s.sum(&self.inflows) - s.sum(&self.outflows);
        let unclamped = self.level_m + net_m3s * dt_s / self.area_m2;
        // Whatever does not fit below the rim spills, averaged over the step.
        let spill_m3s = (unclamped - self.height_m).max(0.0) * self.area_m2 / dt_s;
        self.level_m = unclamped.clamp(0.0, self.height_m);
        s.set(self.level, self.level_m);
        s.set(self.volume, self.level_m * self.area_m2);
        s.set(self.overflow_rate, spill_m3s);
    }
}

#[cfg(test)]
mod tests {
    use crate::process::ImpactTechnique;
    use crate::process::testutil::{build, close, get, run, set};

    /// A tank between a constant-flow fill valve and drain valve (valves
    /// without stroke time deliver position × max flow exactly).
    fn plant(area: f64, height: f64, level: f64, fill: f64, drain: f64) -> crate::process::Process {
        build(&format!(
            r#"
            [[process.valve]]
            name = "fill"
            max_flow_m3s = {fill}
            initial_opening = 1.0
            [[process.valve]]
            name = "drain"
            max_flow_m3s = {drain}
            initial_opening = 1.0
            [[process.tank]]
            name = "t"
            area_m2 = {area}
            height_m = {height}
            initial_level_m = {level}
            inflows = ["fill.flow"]
            outflows = ["drain.flow"]
            "#
        ))
    }

    #[test]
    fn level_integrates_net_flow() {
        // area 2 m², inflow 0.01 m³/s, outflow 0.004 m³/s, 100 steps of 1 s:
        // net 0.006 m³/s × 100 s = 0.6 m³; 0.6 m³ / 2 m² = 0.3 m rise.
        let mut p = plant(2.0, 5.0, 1.0, 0.01, 0.004);
        close(get(&p, "t.volume"), 2.0, 1e-12);
        assert!(run(&mut p, 100, 1.0).is_empty());
        close(get(&p, "t.level"), 1.3, 1e-9);
        close(get(&p, "t.volume"), 2.6, 1e-9);
        assert_eq!(get(&p, "t.overflow_rate"), 0.0);
    }

    #[test]
    fn empty_tank_clamps_at_zero() {
        // 1 m² at 0.1 m draining 0.05 m³/s: empty after 2 s, then stays at 0.
        let mut p = plant(1.0, 2.0, 0.1, 0.0, 0.05);
        run(&mut p, 5, 1.0);
        assert_eq!(get(&p, "t.level"), 0.0);
        assert_eq!(get(&p, "t.volume"), 0.0);
    }

    #[test]
    fn overflow_fires_once_then_rearms() {
        // 1 m² × 1 m tank at 0.9 m, filling at 0.05 m³/s: +0.05 m/s, so the
        // level reaches the 1 m rim after 2 s and then spills 0.05 m³/s.
        let mut p = plant(1.0, 1.0, 0.9, 0.05, 0.1);
        set(&mut p, "drain.command", 0.0);
        let hits = run(&mut p, 20, 1.0);
        assert_eq!(hits.len(), 1, "{hits:?}");
        let (step, imp) = &hits[0];
        assert_eq!(*step, 2);
        assert_eq!(imp.limit, "t.overflow");
        assert_eq!(imp.component, "t");
        assert_eq!(imp.signal, "t.level");
        assert_eq!(imp.technique, ImpactTechnique::DamageToProperty);
        assert_eq!(imp.threshold, 1.0);
        close(get(&p, "t.overflow_rate"), 0.05, 1e-9);
        assert_eq!(get(&p, "t.level"), 1.0);

        // Drain at 0.1 m/s for 1 s: 0.9 m is below the 0.98 m re-arm point.
        set(&mut p, "fill.command", 0.0);
        set(&mut p, "drain.command", 1.0);
        assert!(run(&mut p, 1, 1.0).is_empty());
        close(get(&p, "t.level"), 0.9, 1e-9);

        // Refill: reaches the rim 2 s later and fires a second time.
        set(&mut p, "fill.command", 1.0);
        set(&mut p, "drain.command", 0.0);
        let hits = run(&mut p, 5, 1.0);
        assert_eq!(hits.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn hovering_at_the_rim_does_not_rearm() {
        // Drain 0.01 m below the rim: within the 0.02 m hysteresis.
        let mut p = plant(1.0, 1.0, 0.99, 0.05, 0.01);
        set(&mut p, "drain.command", 0.0);
        assert_eq!(run(&mut p, 1, 1.0).len(), 1);
        for _ in 0..5 {
            set(&mut p, "fill.command", 0.0);
            set(&mut p, "drain.command", 1.0);
            assert!(run(&mut p, 1, 1.0).is_empty());
            set(&mut p, "fill.command", 1.0);
            set(&mut p, "drain.command", 0.0);
            assert!(run(&mut p, 1, 1.0).is_empty());
        }
    }

    #[test]
    fn overflow_technique_is_configurable() {
        let mut p = build(
            r#"
            [[process.valve]]
            name = "fill"
            max_flow_m3s = 1.0
            initial_opening = 1.0
            [[process.tank]]
            name = "t"
            area_m2 = 1.0
            height_m = 1.0
            inflows = ["fill.flow"]
            overflow = { technique = "T0880", description = "spill" }
            "#,
        );
        let hits = run(&mut p, 3, 1.0);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].1.technique, ImpactTechnique::LossOfSafety);
        assert_eq!(hits[0].1.description, "spill");
    }
}
