//! Centrifugal pump as a commanded flow source.
//!
//! `flow = run × speed × max_flow_m3s` (m³/s). A pump in a plant this size
//! runs at a duty point set by its speed; the head it works against changes
//! little, so flow proportional to speed (the first affinity law) is the
//! useful simplification.
//!
//! The pump delivers nothing when:
//! - its `power` signal (typically a breaker's `energized`) is below 0.5: the
//!   motor stops, and `running` (the motor's actual state, the feedback a PLC
//!   sees) drops even though `run` is still commanded;
//! - its `suction` level is below `min_suction_level_m`: the pump has lost
//!   prime. If it is still running it is **running dry**: with no water to
//!   cool and lubricate the mechanical seal it overheats, so `dry_seconds`
//!   accumulates and never resets, because seal damage is cumulative.
//!
//! Signals: `run` (command 0/1), `speed` (command 0..1, starts at
//! `initial_speed`, 1 by default, so a fixed-speed pump needs no wiring),
//! `flow` (m³/s), `running` (0/1), `dry_seconds` (s).
//! Built-in limit `<name>.dry_run`: `dry_seconds` reaching `dry_run_s`,
//! default T0879 Damage to Property. Since `dry_seconds` never decreases it
//! fires once per pump.

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::impact::ImpactTechnique;
use crate::process::limits::{BuiltinLimitConfig, Direction, LimitSpec};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals, bit};

/// `[[process.pump]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PumpConfig {
    /// Component name.
    pub name: String,
    /// Flow at full speed, m³/s (>= 0).
    pub max_flow_m3s: f64,
    /// `run` at t = 0 (0 or 1, default 0).
    #[serde(default)]
    pub initial_run: f64,
    /// `speed` at t = 0 (0..1, default 1).
    #[serde(default = "one")]
    pub initial_speed: f64,
    /// Enable signal, e.g. `"mcc_1.energized"`; unwired means always powered.
    #[serde(default)]
    pub power: Option<Spanned<String>>,
    /// Level the pump draws from, e.g. `"raw_tank.level"` (m).
    #[serde(default)]
    pub suction: Option<Spanned<String>>,
    /// Lowest suction level that keeps the pump primed, m (default 0).
    #[serde(default)]
    pub min_suction_level_m: f64,
    /// Dry-running seconds the seal survives (default 30 s).
    #[serde(default = "dry_run_default")]
    pub dry_run_s: f64,
    /// Overrides for the built-in dry-run limit.
    #[serde(default)]
    pub dry_run: BuiltinLimitConfig,
}

fn one() -> f64 {
    1.0
}

fn dry_run_default() -> f64 {
    30.0
}

/// A pump being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Pump {
    max_flow_m3s: f64,
    min_suction_m: f64,
    dry_s: f64,
    power: Option<SignalId>,
    suction: Option<SignalId>,
    run: SignalId,
    speed: SignalId,
    flow: SignalId,
    running: SignalId,
    dry_seconds: SignalId,
}

impl ComponentConfig for PumpConfig {
    const TABLE: &'static str = "pump";
    const SIGNALS: &'static [&'static str] = &["run", "speed", "flow", "running", "dry_seconds"];
    const COMMANDS: &'static [&'static str] = &["run", "speed"];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        let n = &self.name;
        let pump = Pump {
            max_flow_m3s: at.non_negative("max_flow_m3s", self.max_flow_m3s)?,
            min_suction_m: at.non_negative("min_suction_level_m", self.min_suction_level_m)?,
            dry_s: 0.0,
            power: self
                .power
                .as_ref()
                .map(|s| r.resolve(s, at.field("power")))
                .transpose()?,
            suction: self
                .suction
                .as_ref()
                .map(|s| r.resolve(s, at.field("suction")))
                .transpose()?,
            run: r.own(n, "run"),
            speed: r.own(n, "speed"),
            flow: r.own(n, "flow"),
            running: r.own(n, "running"),
            dry_seconds: r.own(n, "dry_seconds"),
        };
        let dry_run_s = at.positive("dry_run_s", self.dry_run_s)?;
        r.init(pump.run, at.fraction("initial_run", self.initial_run)?);
        r.init(pump.speed, at.fraction("initial_speed", self.initial_speed)?);
        let spec = LimitSpec {
            name: format!("{n}.dry_run"),
            component: n.clone(),
            signal: pump.dry_seconds,
            signal_name: format!("{n}.dry_seconds"),
            direction: Direction::Above,
            threshold: dry_run_s,
            hysteresis: 0.0,
            for_s: 0.0,
            technique: ImpactTechnique::DamageToProperty,
            description: format!("{n} ran dry for {dry_run_s} s: mechanical seal destroyed"),
        };
        let limits = self.dry_run.apply(spec, at, "dry_run")?.into_iter().collect();
        Ok(Built {
            component: Component::Pump(pump),
            limits,
        })
    }
}

impl Pump {
    /// Computes motor state and flow; accumulates dry-running time.
    pub(crate) fn step(&mut self, s: &mut Signals, dt_s: f64) {
        let running = s.on(self.run) && s.enabled(self.power);
        let primed = self.suction.is_none_or(|id| s.get(id) >= self.min_suction_m);
        let flow = if running && primed {
            s.unit(self.speed) * self.max_flow_m3s
        } else {
            0.0
        };
        if running && !primed {
            self.dry_s += dt_s;
        }
        s.set(self.running, bit(running));
        s.set(self.flow, flow);
        s.set(self.dry_seconds, self.dry_s);
    }
}

#[cfg(test)]
mod tests {
    use crate::process::ImpactTechnique;
    use crate::process::testutil::{build, close, get, run, set};

    #[test]
    fn flow_is_run_times_speed_times_max() {
        let mut p = build(
            r#"
            [[process.pump]]
            name = "p"
            max_flow_m3s = 0.2
            "#,
        );
        run(&mut p, 1, 1.0);
        assert_eq!(get(&p, "p.flow"), 0.0);
        assert_eq!(get(&p, "p.speed"), 1.0, "speed defaults to 1");
        set(&mut p, "p.run", 1.0);
        run(&mut p, 1, 1.0);
        close(get(&p, "p.flow"), 0.2, 1e-12);
        assert_eq!(get(&p, "p.running"), 1.0);
        // 0.2 m³/s × 0.25 speed = 0.05 m³/s; an out-of-range speed saturates.
        set(&mut p, "p.speed", 0.25);
        run(&mut p, 1, 1.0);
        close(get(&p, "p.flow"), 0.05, 1e-12);
        set(&mut p, "p.speed", 7.0);
        run(&mut p, 1, 1.0);
        close(get(&p, "p.flow"), 0.2, 1e-12);
    }

    fn dry_plant() -> crate::process::Process {
        build(
            r#"
            [[process.pump]]
            name = "p"
            max_flow_m3s = 0.1
            initial_run = 1
            suction = "t.level"
            min_suction_level_m = 0.25
            dry_run_s = 10
            [[process.tank]]
            name = "t"
            area_m2 = 1.0
            height_m = 2.0
            initial_level_m = 0.5
            outflows = ["p.flow"]
            "#,
        )
    }

    #[test]
    fn dry_running_fires_after_dry_run_s() {
        // The pump reads the level left by the previous step (it runs first):
        // steps 1-3 see 0.5, 0.4, 0.3 m (>= 0.25) and pump 0.1 m³/s out of a
        // 1 m² tank, leaving 0.2 m. From step 4 on it sees 0.2 m < 0.25 m:
        // no flow, 1 dry second per step, so dry_seconds reaches 10 at step 13.
        let mut p = dry_plant();
        let hits = run(&mut p, 3, 1.0);
        assert!(hits.is_empty());
        close(get(&p, "t.level"), 0.2, 1e-9);
        let hits = run(&mut p, 9, 1.0);
        assert!(hits.is_empty(), "{hits:?}");
        assert_eq!(get(&p, "p.dry_seconds"), 9.0);
        assert_eq!(get(&p, "p.flow"), 0.0);
        assert_eq!(get(&p, "p.running"), 1.0);
        close(get(&p, "t.level"), 0.2, 1e-9);
        let hits = run(&mut p, 1, 1.0);
        assert_eq!(hits.len(), 1);
        let imp = &hits[0].1;
        assert_eq!(imp.limit, "p.dry_run");
        assert_eq!(imp.technique, ImpactTechnique::DamageToProperty);
        assert_eq!(imp.value, 10.0);
        // Cumulative damage: further dry running reports nothing new.
        assert!(run(&mut p, 50, 1.0).is_empty());
    }

    #[test]
    fn dry_seconds_accumulate_across_stops() {
        let mut p = dry_plant();
        run(&mut p, 3, 1.0); // level now 0.2 m: lost prime
        run(&mut p, 6, 1.0); // 6 dry seconds
        set(&mut p, "p.run", 0.0);
        assert!(run(&mut p, 20, 1.0).is_empty());
        assert_eq!(get(&p, "p.dry_seconds"), 6.0, "a stopped pump is not dry running");
        assert_eq!(get(&p, "p.running"), 0.0);
        set(&mut p, "p.run", 1.0);
        // 6 + 4 = 10 dry seconds on the 4th step after restarting.
        let hits = run(&mut p, 10, 1.0);
        assert_eq!(hits.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![4]);
    }
}
