//! A historian: polls process values on a slower period and stores every sample, which is
//! what an attacker later reads (T0811 Data from Information Repositories).
//!
//! Tags (`tag = [{ name = "outdoor temperature", plc = "plc-1", register = "ir:0", type =
//! "i16", scale = 0.1 }]`) are what a historian's users read: a value decoded from the
//! polled registers in the type the device holds it in, scaled to engineering units. The run
//! reports each tag's samples, minimum, maximum and last value: the record an operator or an
//! investigator would look at after an incident.

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
use crate::wire::modbus::value::{ValueType, WordOrder};
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
    /// Named values decoded from the polled registers.
    #[serde(default)]
    pub tag: Vec<TagConfig>,
}

/// One historian tag: a value held in registers a poll block reads.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagConfig {
    /// The tag's name (unique within the historian).
    pub name: Spanned<String>,
    /// The PLC the value comes from.
    pub plc: Spanned<String>,
    /// Its first register, e.g. "ir:0"; a poll block of this historian must read it (both
    /// registers of a 32-bit type).
    pub register: Spanned<String>,
    /// How the registers hold the value (default `u16`; `i16`, `u32`, `i32`, `f32`).
    #[serde(default, rename = "type")]
    pub value_type: ValueType,
    /// Which register of a 32-bit value comes first (default `high_first`).
    #[serde(default)]
    pub word_order: WordOrder,
    /// Engineering units per count (default 1).
    #[serde(default = "one")]
    pub scale: f64,
    /// Added after scaling (default 0).
    #[serde(default)]
    pub offset: f64,
}

fn one() -> f64 {
    1.0
}

/// What a historian recorded of one tag.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TagFigures {
    /// The tag's name.
    pub name: String,
    /// Samples stored.
    pub samples: u64,
    /// Smallest value stored (absent without samples).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Largest value stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The last value stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<f64>,
}

/// A compiled tag: where its words are in which poll item's answers.
#[derive(Debug, Clone)]
struct Tag {
    item: usize,
    /// Offset of the first word in the item's values.
    at: usize,
    value_type: ValueType,
    word_order: WordOrder,
    scale: f64,
    offset: f64,
    figures: TagFigures,
}

impl Tag {
    fn store(&mut self, values: &[u16]) {
        let word = |k: usize| values.get(self.at + k).copied();
        let regs = match self.value_type.words() {
            1 => word(0).map(|a| [a, 0]),
            _ => word(0).zip(word(1)).map(|(a, b)| [a, b]),
        };
        let Some(regs) = regs else { return };
        let v = self.value_type.decode(self.word_order, regs) * self.scale + self.offset;
        let f = &mut self.figures;
        f.samples += 1;
        f.min = Some(f.min.map_or(v, |m| m.min(v)));
        f.max = Some(f.max.map_or(v, |m| m.max(v)));
        f.last = Some(v);
    }
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
    /// Its tags, in the order of the plant file (absent when it has none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<TagFigures>,
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
    tags: Vec<Tag>,
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
        let mut tags: Vec<Tag> = Vec::with_capacity(cfg.tag.len());
        for (i, t) in cfg.tag.iter().enumerate() {
            let tf = |k: &str| f(&format!("tag[{i}].{k}"));
            if let Some(first) = cfg.tag[..i]
                .iter()
                .position(|o| o.name.get_ref() == t.name.get_ref())
            {
                return Err(ConfigError::new(
                    tf("name"),
                    Some(t.name.span()),
                    format!("tag name {:?} is already used by tag[{first}]", t.name.get_ref()),
                ));
            }
            let plc = topo.resolve(&t.plc, &tf("plc"))?;
            let (area, addr) = crate::plc_logic::parse_address(t.register.get_ref())
                .map_err(|m| ConfigError::new(tf("register"), Some(t.register.span()), m))?;
            if area.is_bit() && t.value_type != ValueType::U16 {
                return Err(ConfigError::new(
                    tf("type"),
                    Some(t.register.span()),
                    format!(
                        "{} is a bit; a type applies to registers (ir, hr)",
                        t.register.get_ref()
                    ),
                ));
            }
            if !(t.scale.is_finite() && t.offset.is_finite()) {
                return Err(ConfigError::new(
                    tf("scale"),
                    Some(t.register.span()),
                    "expected a finite scale and offset",
                ));
            }
            let last = u32::from(addr) + u32::from(t.value_type.words()) - 1;
            let item = items.iter().position(|it| {
                it.plc() == plc
                    && it.area() == area
                    && addr >= it.start()
                    && last < u32::from(it.start()) + u32::from(it.count())
            });
            let Some(item) = item else {
                return Err(ConfigError::new(
                    tf("register"),
                    Some(t.register.span()),
                    format!(
                        "no poll block of this historian reads {} of {}{}: add it to a poll block",
                        t.register.get_ref(),
                        t.plc.get_ref(),
                        if t.value_type.words() == 2 {
                            " and the register after it"
                        } else {
                            ""
                        }
                    ),
                ));
            };
            tags.push(Tag {
                item,
                at: usize::from(addr - items[item].start()),
                value_type: t.value_type,
                word_order: t.word_order,
                scale: t.scale,
                offset: t.offset,
                figures: TagFigures {
                    name: t.name.get_ref().clone(),
                    samples: 0,
                    min: None,
                    max: None,
                    last: None,
                },
            });
        }
        Ok(Historian {
            name: name.to_string(),
            tags,
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
    for (host, mut h, mut inbox) in &mut hist {
        h.step(host.0, &mut inbox, clock.now, &mut net, &mut wake, &mut log);
    }
}

impl Historian {
    /// One tick of this historian at `now`: what [`historian_tick`] does for each, and what
    /// a poller tick (`devices::poller_tick`) does without the schedule.
    pub(crate) fn step(
        &mut self,
        host: crate::net::topology::HostId,
        inbox: &mut ClientInbox,
        now: crate::base::time::SimTime,
        net: &mut Network,
        wake: &mut Wakeups,
        log: &mut EventLog,
    ) {
        self.poller
            .receive(&self.name, inbox, now, net.topology(), log, &mut self.arrived);
        for sample in self.arrived.drain(..) {
            self.stored += 1;
            let item = sample.item;
            for t in self.tags.iter_mut().filter(|t| t.item == item) {
                t.store(&sample.values);
            }
            self.latest[item] = Some(sample);
        }
        if let Some(next) = self.poller.tick(host, now, net) {
            wake.poller_at(next);
            // The round's requests time out together: a tick then records any that do.
            wake.poller_at(now + self.poller.timeout);
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
            cx.wake.poller_at(hist.poller.next_poll);
            let e = cx.entity(id);
            cx.world
                .entity_mut(e)
                .insert((hist, super::ClientAgent, super::ModbusPoller));
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
                    tags: hist.tags.iter().map(|t| t.figures.clone()).collect(),
                };
                (h.0, super::summary::DeviceFigures::Historian(figures))
            })
            .collect()
    }
}
