//! A historian: polls process values on a slower period and stores every sample, which is
//! what an attacker later reads (T0811 Data from Information Repositories).

use super::poller::{PollConfig, PollItem, PollResult, Poller};
use crate::base::clock::{Clock, Wakeups};
use crate::base::config_error::{ConfigError, MIN_CLIENT_PERIOD, period_field};
use crate::base::events::EventLog;
use crate::base::task_clock::{DEFAULT_CLIENT_JITTER, Keeping, TaskClock, TaskTiming};
use crate::base::time::{DurationField, SimDuration};
use crate::devices::host::{ClientInbox, HostRef};
use crate::net::Network;
use crate::net::topology::Role;
use crate::net::topology::Topology;
use bevy_ecs::prelude::*;
use serde::Deserialize;
use toml::Spanned;

/// `[[historian]]` in a plant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorianConfig {
    /// The host it runs on: a host of role historian.
    pub host: Spanned<String>,
    /// Time between two rounds of polls (default 5 s, at least 1 ms).
    #[serde(default = "default_period")]
    pub poll_period: Spanned<DurationField>,
    /// The register blocks read every round.
    #[serde(default)]
    pub poll: Vec<PollConfig>,
    /// Largest delay of a poll round past its due time (default 15.625 ms, Windows' timer
    /// resolution, at most a tenth of the period); "0s" polls on the dot.
    pub jitter: Option<Spanned<DurationField>>,
    /// Bound of the historian clock's rate error in ppm, drawn ± per run (default 100).
    pub drift_ppm: Option<Spanned<f64>>,
}

fn default_period() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("5s"))
}

/// A historian's account of the run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HistorianFigures {
    /// Read requests sent (one per poll item per round).
    pub polls: u64,
    /// Answers stored (exceptions are not samples).
    pub samples: u64,
    /// Requests that got no answer within the poll timeout.
    pub timeouts: u64,
}

/// The historian component.
#[derive(Component, Debug)]
pub struct Historian {
    /// Its host's name, for the events it logs.
    pub name: String,
    /// Its polling client: items, period, counters.
    pub poller: Poller,
    /// Samples stored so far. A real historian compresses its archive; the simulation keeps
    /// the count and each item's latest sample, so a week-long run does not grow with it.
    pub stored: u64,
    /// The latest sample of each poll item (by item index), once it has one.
    pub latest: Vec<Option<PollResult>>,
    /// Answers of this tick, before they are stored.
    arrived: Vec<PollResult>,
}

impl Historian {
    /// Checks the `idx`th `[[historian]]` entry against the topology; `clock` gives the
    /// poll loop its schedule from the period and timing checked here.
    pub fn build(
        cfg: &HistorianConfig,
        idx: usize,
        name: &str,
        topo: &Topology,
        clock: impl FnOnce(SimDuration, TaskTiming) -> TaskClock,
    ) -> Result<Self, ConfigError> {
        let f = |s: &str| format!("historian[{idx}].{s}");
        let period = period_field(&cfg.poll_period, f("poll_period"), MIN_CLIENT_PERIOD)?;
        let timing = TaskTiming::from_config(
            cfg.jitter.as_ref(),
            cfg.drift_ppm.as_ref(),
            period,
            DEFAULT_CLIENT_JITTER,
            &format!("historian[{idx}]"),
        )?;
        let items = cfg
            .poll
            .iter()
            .enumerate()
            .map(|(i, p)| PollItem::build(p, &f(&format!("poll[{i}]")), topo))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Historian {
            name: name.to_string(),
            latest: vec![None; items.len()],
            poller: Poller::new(items, clock(period, timing)),
            stored: 0,
            arrived: Vec::new(),
        })
    }
}

/// Agents: historians store answers and poll.
pub fn historian_tick(
    clock: Res<Clock>,
    mut net: ResMut<Network>,
    mut wake: ResMut<Wakeups>,
    mut log: ResMut<EventLog>,
    mut hist: Query<(&HostRef, &mut Historian, &mut ClientInbox)>,
) {
    let now = clock.now;
    for (host, mut h, mut inbox) in &mut hist {
        let h = &mut *h;
        let topo = std::sync::Arc::clone(net.topology());
        h.poller
            .receive(&h.name, &mut inbox, now, &topo, &mut log, &mut h.arrived);
        for sample in h.arrived.drain(..) {
            h.stored += 1;
            let item = sample.item;
            h.latest[item] = Some(sample);
        }
        if let Some(next) = h.poller.tick(host.0, now, &mut net) {
            wake.at(next);
        }
    }
}

/// Historians as a device kind: `[[historian]]` entries on hosts of role historian.
pub struct HistorianKind;

impl super::kind::DeviceKind for HistorianKind {
    type Config = HistorianConfig;
    fn build(configs: &[HistorianConfig], cx: &mut super::kind::BuildCx<'_>) -> Result<(), ConfigError> {
        for (i, h) in configs.iter().enumerate() {
            let field = format!("historian[{i}].host");
            let id = match cx.claim_host(&h.host, field, &[Role::Historian], "historian") {
                Ok(id) => id,
                Err(e) => {
                    cx.report(e);
                    continue;
                }
            };
            let topo = cx.topo;
            let built = Historian::build(h, i, &topo.host(id).name, topo, |period, timing| {
                cx.task_clock(id, period, Keeping::FreeRunning, timing)
            });
            let hist = match built {
                Ok(hist) => hist,
                Err(e) => {
                    cx.report(e);
                    continue;
                }
            };
            for (k, p) in h.poll.iter().enumerate() {
                let field = format!("historian[{i}].poll[{k}].read");
                cx.check_access(&p.plc, &p.read, u32::from(p.count), field);
            }
            cx.wake.at(hist.poller.next_poll);
            let e = cx.entity(id);
            cx.world.entity_mut(e).insert((hist, super::ClientAgent));
        }
        Ok(())
    }
    fn systems(s: &mut super::kind::KindSystems<'_>) {
        s.add(crate::world::SimSet::Agents, historian_tick);
    }
    fn modbus_clients(world: &mut World) -> Vec<crate::net::topology::HostId> {
        let mut q = world.query_filtered::<&super::host::HostRef, With<Historian>>();
        q.iter(world).map(|h| h.0).collect()
    }

    fn summaries(world: &mut World) -> Vec<(crate::net::topology::HostId, super::summary::DeviceFigures)> {
        let mut q = world.query::<(&super::host::HostRef, &Historian)>();
        q.iter(world)
            .map(|(h, hist)| {
                let figures = HistorianFigures {
                    polls: hist.poller.polls,
                    samples: hist.stored,
                    timeouts: hist.poller.timeouts,
                };
                (h.0, super::summary::DeviceFigures::Historian(figures))
            })
            .collect()
    }
}
