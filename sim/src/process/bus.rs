//! Busbar of a substation: live while any of its supplies is.
//!
//! A bus is fed by one or more incoming breakers (or a bus coupler from the
//! next section) and feeds the outgoing breakers, which take its `energized`
//! as their `supply`. It is energized while any of its `supplies` is at or
//! above 0.5, so a bus with two incomers stays live when one of them opens.
//! Its `voltage_kv` is the nominal voltage while energized and 0 when dead:
//! the voltage a bus voltage transformer shows, without load flow (no voltage
//! drop, no regulation), which is enough to band and to alarm on.
//!
//! A bus coupler is a breaker whose `supply` is one section's `energized`,
//! listed among the other section's `supplies`. Power flows one way through
//! it, from the section it is supplied by: a section fed back through the
//! coupler from the other one is not modelled.
//!
//! Signals: `energized` (0/1), `voltage_kv` (kV). Neither is a command.

use serde::Deserialize;
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::process::at::At;
use crate::process::component::{Built, Component, ComponentConfig};
use crate::process::resolve::Resolver;
use crate::process::signals::{SignalId, SignalList, Signals, bit};

/// `[[process.bus]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusConfig {
    /// Component name.
    pub name: String,
    /// Nominal voltage, kV (> 0).
    pub voltage_kv: f64,
    /// Signals that feed it (incomers' or a coupler's `energized`); one or more.
    pub supplies: Vec<Spanned<String>>,
}

/// A bus being simulated.
#[derive(Clone, Debug)]
pub(crate) struct Bus {
    voltage_kv: f64,
    supplies: SignalList,
    energized: SignalId,
    voltage: SignalId,
}

impl ComponentConfig for BusConfig {
    const TABLE: &'static str = "bus";
    const SIGNALS: &'static [&'static str] = &["energized", "voltage_kv"];
    const COMMANDS: &'static [&'static str] = &[];

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self, at: &At, r: &mut Resolver) -> Result<Built, ConfigError> {
        if self.supplies.is_empty() {
            return Err(at.non_physical("supplies", "expected at least one supply"));
        }
        let n = &self.name;
        let bus = Bus {
            voltage_kv: at.positive("voltage_kv", self.voltage_kv)?,
            supplies: r.resolve_all(&self.supplies, at.field("supplies"))?,
            energized: r.own(n, "energized"),
            voltage: r.own(n, "voltage_kv"),
        };
        let live = bus.supplies.iter().any(|&id| r.initial(id) >= 0.5);
        r.init(bus.energized, bit(live));
        r.init(bus.voltage, if live { bus.voltage_kv } else { 0.0 });
        Ok(Built {
            component: Component::Bus(bus),
            limits: Vec::new(),
        })
    }
}

impl Bus {
    /// Publishes whether any supply is live, and the bus voltage.
    pub(crate) fn step(&mut self, s: &mut Signals, _dt_s: f64) {
        let live = self.supplies.iter().any(|&id| s.on(id));
        s.set(self.energized, bit(live));
        s.set(self.voltage, if live { self.voltage_kv } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use crate::process::testutil::{build, get, run, set};
    use crate::process::{Process, ProcessConfig};

    /// Two incomers on section A, a coupler from A to section B, one feeder on B.
    const STATION: &str = r#"
        [[process.breaker]]
        name = "incomer_1"
        load_kw = 0
        [[process.breaker]]
        name = "incomer_2"
        load_kw = 0
        [[process.bus]]
        name = "bus_a"
        voltage_kv = 20
        supplies = ["incomer_1.energized", "incomer_2.energized"]
        [[process.breaker]]
        name = "coupler"
        load_kw = 0
        initial_closed = false
        supply = "bus_a.energized"
        [[process.bus]]
        name = "bus_b"
        voltage_kv = 20
        supplies = ["coupler.energized"]
        [[process.breaker]]
        name = "feeder"
        load_kw = 500
        supply = "bus_b.energized"
    "#;

    #[test]
    fn live_while_any_supply_is() {
        let mut p = build(STATION);
        assert_eq!(get(&p, "bus_a.energized"), 1.0);
        assert_eq!(get(&p, "bus_a.voltage_kv"), 20.0);
        assert_eq!(get(&p, "bus_b.energized"), 0.0);
        assert_eq!(get(&p, "feeder.load_kw"), 0.0);

        // One incomer open: the bus stays live on the other.
        set(&mut p, "incomer_1.close", 0.0);
        assert!(run(&mut p, 1, 1.0).is_empty());
        assert_eq!(get(&p, "bus_a.energized"), 1.0);
        // Both open: dead, voltage 0.
        set(&mut p, "incomer_2.close", 0.0);
        run(&mut p, 1, 1.0);
        assert_eq!(get(&p, "bus_a.energized"), 0.0);
        assert_eq!(get(&p, "bus_a.voltage_kv"), 0.0);

        // Re-closed, then the coupler closed: section B and its feeder come live in the same step.
        set(&mut p, "incomer_2.close", 1.0);
        set(&mut p, "coupler.close", 1.0);
        run(&mut p, 1, 1.0);
        assert_eq!(get(&p, "bus_a.energized"), 1.0);
        assert_eq!(get(&p, "bus_b.voltage_kv"), 20.0);
        assert_eq!(get(&p, "feeder.energized"), 1.0);
        assert_eq!(get(&p, "feeder.load_kw"), 500.0);
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                "[[process.bus]]\nname = \"b\"\nvoltage_kv = 20\nsupplies = []\n",
                "process.bus[0].supplies",
                "at least one supply",
            ),
            (
                "[[process.breaker]]\nname = \"i\"\nload_kw = 0\n\
                 [[process.bus]]\nname = \"b\"\nvoltage_kv = 0\nsupplies = [\"i.energized\"]\n",
                "process.bus[0].voltage_kv",
                "> 0",
            ),
            (
                "[[process.breaker]]\nname = \"i\"\nload_kw = 0\n\
                 [[process.bus]]\nname = \"b\"\nvoltage_kv = 20\nsupplies = [\"i.energised\"]\n",
                "process.bus[0].supplies[0]",
                "known signals of i",
            ),
        ];
        for (src, field, message) in cases {
            let cfg = ProcessConfig::from_plant_toml(src).unwrap_or_else(|e| panic!("{e}"));
            let err = Process::from_config(&cfg).expect_err(src);
            assert_eq!(err.field, field, "{src}");
            assert!(err.message.contains(message), "{err}");
            assert!(err.span.is_some(), "{err}");
        }
    }
}
