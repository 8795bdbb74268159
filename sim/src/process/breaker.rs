//! Circuit breaker feeding an electrical load (a motor control centre, a
//! heater, a dosing skid).
//!
//! The breaker closes on a *rising edge* of its `close` command and opens
//! when the command drops to 0 or when tripped. After a trip it stays open
//! even though `close` is still 1 until an operator (or PLC) cycles the
//! command 0 → 1: protection lockout, so a tripped feeder is never re-closed
//! by a stale command onto a fault.
//!
//! Trips come from the breaker's own `trip` signal (the output of a
//! protection relay or safety system, written like a command) and from an
//! optional `trip_input`, any signal hard-wired to the trip coil.
//!
//! The load drawn while energized is `load_kw`, or with `load` wired (a
//! profile of the day's demand, say) `load_kw` times that signal's value,
//! taken as a fraction of it and clamped to 0..1: a distribution feeder
//! whose customers draw more in the evening than at night.
//!
//! `energized` (0/1) is what loads consume: pumps, dosing pumps and heaters
//! take it as their `power` enable. With `supply` wired (an upstream
//! breaker's `energized`) breakers can be chained.
//!
//! Opening records no impact by itself: whether losing a feeder matters is
//! plant-specific, so declare e.g. a `[[process.limit]]` with
//! `signal = "<name>.energized"`, `below = 0.5`, technique T0826.
//!
//! Signals: `close` (command 0/1), `trip` (command 0/1), `closed` (0/1),
//! `energized` (0/1), `load_kw` (kW drawn, 0 when de-energized).

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, Signals, bit};

/// `[[process.breaker]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// Component name.
    pub name: String,
    /// Power drawn by the load while energized, kW (>= 0); with `load`, the
    /// load at a `load` of 1.
    pub load_kw: f64,
    /// Signal giving the fraction of `load_kw` drawn (clamped to 0..1);
    /// unwired means all of it.
    #[serde(default)]
    pub load: Option<Spanned<String>>,
    /// Breaker state (and `close` command) at t = 0 (default true).
    #[serde(default = "closed_default")]
    pub initial_closed: bool,
    /// Extra signal that trips the breaker while >= 0.5.
    #[serde(default)]
    pub trip_input: Option<Spanned<String>>,
    /// Upstream `energized` signal; unwired means an always-live bus.
    #[serde(default)]
    pub supply: Option<Spanned<String>>,
    /// Names of the components fed (documentation; checked to exist).
    #[serde(default)]
    pub feeds: Vec<Spanned<String>>,
}

fn closed_default() -> bool {
    true
}

/// A breaker being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Breaker {
    load_kw: f64,
    is_closed: bool,
    last_close_cmd: bool,
    trip_input: Option<SignalId>,
    supply: Option<SignalId>,
    demand: Option<SignalId>,
    close: SignalId,
    trip: SignalId,
    closed: SignalId,
    energized: SignalId,
    load: SignalId,
}

impl ComponentConfig for BreakerConfig {
    const TABLE: &'static str = "breaker";
    const SIGNALS: &'static [&'static str] = &["close", "trip", "closed", "energized", "load_kw"];
    const COMMANDS: &'static [&'static str] = &["close", "trip"];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        for (i, fed) in self.feeds.iter().enumerate() {
            if !r.has_component(fed.get_ref()) {
                return Err(ConfigError::new(
                    format!("{}[{i}]", at.field("feeds")),
                    Some(fed.span()).filter(|s| s.end > s.start),
                    format!("expected the name of a component, got {:?}", fed.get_ref()),
                ));
            }
        }
        let n = &self.name;
        let resolve_opt = |s: &Option<Spanned<String>>, key: &str| {
            s.as_ref().map(|s| r.resolve(s, at.field(key))).transpose()
        };
        let breaker = Breaker {
            load_kw: at.non_negative("load_kw", self.load_kw)?,
            is_closed: self.initial_closed,
            last_close_cmd: self.initial_closed,
            trip_input: resolve_opt(&self.trip_input, "trip_input")?,
            supply: resolve_opt(&self.supply, "supply")?,
            demand: resolve_opt(&self.load, "load")?,
            close: r.own(n, "close"),
            trip: r.own(n, "trip"),
            closed: r.own(n, "closed"),
            energized: r.own(n, "energized"),
            load: r.own(n, "load_kw"),
        };
        let live = self.initial_closed && breaker.supply.is_none_or(|id| r.initial(id) >= 0.5);
        r.init(breaker.close, bit(self.initial_closed));
        r.init(breaker.closed, bit(self.initial_closed));
        r.init(breaker.energized, bit(live));
        let fraction = breaker.demand.map_or(1.0, |id| r.initial(id).clamp(0.0, 1.0));
        r.init(breaker.load, if live { breaker.load_kw * fraction } else { 0.0 });
        Ok(Built {
            component: Component::Breaker(breaker),
            limits: Vec::new(),
        })
    }
}

impl Breaker {
    /// Applies trips and close/open commands, then publishes the state.
    pub(crate) fn step(&mut self, s: &mut Signals, _dt_s: f64) {
        let tripped = s.on(self.trip) || self.trip_input.is_some_and(|id| s.on(id));
        let close_cmd = s.on(self.close);
        let rising = close_cmd && !self.last_close_cmd;
        self.last_close_cmd = close_cmd;
        if tripped || !close_cmd {
            self.is_closed = false;
        } else if rising {
            self.is_closed = true;
        }
        let energized = self.is_closed && s.enabled(self.supply);
        s.set(self.closed, bit(self.is_closed));
        s.set(self.energized, bit(energized));
        let fraction = self.demand.map_or(1.0, |id| s.get(id).clamp(0.0, 1.0));
        s.set(self.load, if energized { self.load_kw * fraction } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use crate::process::ImpactTechnique;
    use crate::process::testutil::{build, close, get, run, set};

    fn plant() -> crate::process::Process {
        build(
            r#"
            [[process.breaker]]
            name = "mcc"
            load_kw = 55
            feeds = ["p"]
            [[process.pump]]
            name = "p"
            max_flow_m3s = 0.1
            initial_run = 1
            power = "mcc.energized"
            [[process.limit]]
            name = "mcc_lost"
            signal = "mcc.energized"
            below = 0.5
            technique = "T0826"
            description = "pump feeder de-energized"
            "#,
        )
    }

    #[test]
    fn trip_de_energizes_pump_and_locks_out() {
        let mut p = plant();
        assert!(run(&mut p, 2, 1.0).is_empty());
        close(get(&p, "p.flow"), 0.1, 1e-12);
        assert_eq!(get(&p, "mcc.load_kw"), 55.0);

        // Protection trip: breaker opens in the same step, the pump (listed
        // after it) stops at once although `run` is still commanded.
        set(&mut p, "mcc.trip", 1.0);
        let hits = run(&mut p, 1, 1.0);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].1.technique, ImpactTechnique::LossOfAvailability);
        assert_eq!(hits[0].1.component, "mcc");
        assert_eq!(get(&p, "mcc.closed"), 0.0);
        assert_eq!(get(&p, "mcc.energized"), 0.0);
        assert_eq!(get(&p, "mcc.load_kw"), 0.0);
        assert_eq!(get(&p, "p.running"), 0.0);
        assert_eq!(get(&p, "p.flow"), 0.0);
        assert_eq!(get(&p, "p.run"), 1.0);

        // Trip reset: still open (lockout), and no repeated impact.
        set(&mut p, "mcc.trip", 0.0);
        assert!(run(&mut p, 3, 1.0).is_empty());
        assert_eq!(get(&p, "mcc.closed"), 0.0);

        // Cycle the close command: recloses, the pump restarts.
        set(&mut p, "mcc.close", 0.0);
        run(&mut p, 1, 1.0);
        set(&mut p, "mcc.close", 1.0);
        run(&mut p, 1, 1.0);
        assert_eq!(get(&p, "mcc.energized"), 1.0);
        close(get(&p, "p.flow"), 0.1, 1e-12);

        // Opening by command also de-energizes and (re-armed) fires again.
        set(&mut p, "mcc.close", 0.0);
        assert_eq!(run(&mut p, 1, 1.0).len(), 1);
        assert_eq!(get(&p, "p.flow"), 0.0);
    }

    #[test]
    fn chained_supply_and_trip_input() {
        let mut p = build(
            r#"
            [[process.breaker]]
            name = "incomer"
            load_kw = 0
            [[process.breaker]]
            name = "feeder"
            load_kw = 10
            supply = "incomer.energized"
            trip_input = "incomer.trip"
            "#,
        );
        run(&mut p, 1, 1.0);
        assert_eq!(get(&p, "feeder.energized"), 1.0);
        // Opening the incomer de-energizes the feeder, which stays closed.
        set(&mut p, "incomer.close", 0.0);
        run(&mut p, 1, 1.0);
        assert_eq!(get(&p, "feeder.closed"), 1.0);
        assert_eq!(get(&p, "feeder.energized"), 0.0);
        assert_eq!(get(&p, "feeder.load_kw"), 0.0);
        // A hard-wired trip opens the feeder too.
        set(&mut p, "incomer.trip", 1.0);
        run(&mut p, 1, 1.0);
        assert_eq!(get(&p, "feeder.closed"), 0.0);
    }

    #[test]
    fn load_follows_a_demand_signal() {
        let mut p = build(
            r#"
            [[process.profile]]
            name = "demand"
            points = [["00:00", 0.5], ["12:00", 1.5]]
            [[process.breaker]]
            name = "feeder"
            load_kw = 2000
            load = "demand.value"
            "#,
        );
        // At t = 0 half the rated load, before any step.
        assert_eq!(get(&p, "feeder.load_kw"), 1000.0);
        run(&mut p, 3, 1.0);
        let frac = get(&p, "demand.value");
        assert!(frac > 0.5 && frac < 0.51, "{frac}");
        close(get(&p, "feeder.load_kw"), 2000.0 * frac, 1e-9);
        // Open: nothing drawn whatever the demand.
        set(&mut p, "feeder.close", 0.0);
        run(&mut p, 1, 1.0);
        assert_eq!(get(&p, "feeder.load_kw"), 0.0);
        // A demand above 1 is clamped to the rated load.
        let mut p = build(
            r#"
            [[process.profile]]
            name = "demand"
            points = [["00:00", 1.5], ["12:00", 1.5]]
            [[process.breaker]]
            name = "feeder"
            load_kw = 2000
            load = "demand.value"
            "#,
        );
        run(&mut p, 1, 1.0);
        assert_eq!(get(&p, "feeder.load_kw"), 2000.0);
    }
}
