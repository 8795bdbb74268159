//! An HMI: polls its PLCs, keeps what it displayed (which an attack can make differ from
//! the truth), shows alarms, and an operator who reacts to them after a delay.

use super::impacts::{self, ViewThresholds, ViewWatches};
use super::poller::{PollConfig, PollItem, PollResult, Poller};
use crate::base::clock::{Clock, Wakeups};
use crate::base::config_error::{ConfigError, MIN_CLIENT_PERIOD, period_field};
use crate::base::events::{EventKind, EventLog};
use crate::base::task_clock::{DEFAULT_CLIENT_JITTER, Keeping, TaskClock, TaskTiming};
use crate::base::time::{DurationField, SimDuration, SimTime};
use crate::devices::host::{ClientInbox, HostRef};
use crate::net::topology::Role;
use crate::net::topology::{HostId, Service, Topology};
use crate::net::{Network, Payload};
use crate::plc_logic::Area;
use crate::process::ImpactTechnique;
use crate::wire::modbus::encode_request_inline;
use bevy_ecs::prelude::*;
use modbus_core::Request;
use serde::Deserialize;
use toml::Spanned;

/// `[[hmi]]` in a plant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HmiConfig {
    /// The host it runs on: a host of role hmi.
    pub host: Spanned<String>,
    /// Time between two rounds of polls (default 1 s, at least 1 ms).
    #[serde(default = "default_period")]
    pub poll_period: Spanned<DurationField>,
    /// The register blocks read every round: what the screen shows.
    #[serde(default)]
    pub poll: Vec<PollConfig>,
    /// Alarm bits the HMI shows (polled like any other value).
    #[serde(default)]
    pub alarm: Vec<HmiAlarmConfig>,
    /// The operator who acts on alarms; without one, alarms are shown and nobody reacts.
    #[serde(default)]
    pub operator: Option<OperatorConfig>,
    /// Largest delay of a poll round past its due time (default 15.625 ms, Windows' timer
    /// resolution, at most a tenth of the period); "0s" polls on the dot.
    pub jitter: Option<Spanned<DurationField>>,
    /// Bound of the HMI clock's rate error in ppm, drawn ± per run (default 100; 0 for a
    /// perfect clock).
    pub drift_ppm: Option<Spanned<f64>>,
    /// Silence from a polled PLC (no valid answer) after which the operators' view of it is
    /// denied, recorded as T0815 Denial of View (default: 3 poll periods, at least 10 s, so
    /// one lost frame or a slow answer is not an impact, as a SCADA screen flags a
    /// point stale only after several missed scans).
    pub view_lost_after: Option<Spanned<DurationField>>,
    /// Silence after which the view counts as lost, recorded as T0829 Loss of View
    /// (default 15 min: longer than any interference that clears on its own, so someone
    /// must go and recover the device); longer than `view_lost_after`.
    pub view_loss_sustained: Option<Spanned<DurationField>>,
}

fn default_period() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("1s"))
}

/// An alarm as the HMI displays it: a bit in a PLC (`bit`), or the HMI's own limit on a
/// polled value (`register` with `high` and/or `low`), which SCADA systems raise without
/// the PLC's help.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HmiAlarmConfig {
    /// The alarm's name: what responses refer to and `operator_action` events log.
    pub name: String,
    /// The PLC holding the bit or value; one of the HMI's poll blocks must read it.
    pub plc: Spanned<String>,
    /// The alarm bit or register, e.g. "co:10"; non-zero means active.
    #[serde(default)]
    pub bit: Option<Spanned<String>>,
    /// A polled register the HMI compares with `high` and `low` itself, e.g. "ir:0".
    #[serde(default)]
    pub register: Option<Spanned<String>>,
    /// Active while the register's raw value is above this.
    #[serde(default)]
    pub high: Option<f64>,
    /// Active while the register's raw value is below this.
    #[serde(default)]
    pub low: Option<f64>,
    /// Clears only once the value is this far back inside the limit (default 0).
    #[serde(default)]
    pub deadband: f64,
    /// How long the condition must hold before the alarm shows (default 0).
    #[serde(default)]
    pub delay: Option<Spanned<DurationField>>,
    /// How `register` holds the value (default `u16`; `i16`, `u32`, `i32`, `f32`).
    #[serde(default, rename = "type")]
    pub value_type: crate::wire::modbus::value::ValueType,
    /// Which register of a 32-bit value comes first (default `high_first`).
    #[serde(default)]
    pub word_order: crate::wire::modbus::value::WordOrder,
}

/// The operator at this HMI.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    /// How long after an alarm appears on screen the operator acts.
    #[serde(default = "default_delay")]
    pub reaction_delay: Spanned<DurationField>,
    /// The writes the operator sends, each tied to one alarm by name.
    #[serde(default)]
    pub response: Vec<ResponseConfig>,
}

fn default_delay() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("30s"))
}

/// What the operator does about one alarm: write a value (stop a pump, lower a setpoint).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseConfig {
    /// The alarm it answers: the name of one of this HMI's `[[hmi.alarm]]`.
    pub alarm: Spanned<String>,
    /// The PLC written.
    pub plc: Spanned<String>,
    /// Coil or holding register to write, e.g. "co:0" or "hr:3".
    pub write: Spanned<String>,
    /// The value written; for a coil, non-zero means on.
    pub value: u16,
    /// What the action is, logged as `operator_action`'s `action` (empty: `write <address> = <value>`).
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone)]
struct Alarm {
    name: String,
    plc: HostId,
    area: Area,
    addr: u16,
    /// `None` for a bit alarm; the HMI's own limits on the value otherwise.
    limits: Option<ValueLimits>,
    delay: SimDuration,
    /// Since when the condition has held, while it waits out `delay`.
    pending_since: Option<SimTime>,
    shown: bool,
    since: SimTime,
    handled: bool,
    /// Its entry in `Hmi::alarm_due`, if it has one.
    due: Option<SimTime>,
}

/// An HMI's limits on a polled value.
#[derive(Debug, Clone, Copy)]
struct ValueLimits {
    high: Option<f64>,
    low: Option<f64>,
    deadband: f64,
    value_type: crate::wire::modbus::value::ValueType,
    word_order: crate::wire::modbus::value::WordOrder,
}

impl ValueLimits {
    /// Whether the value `v` is in alarm, given whether the alarm is shown now (a shown
    /// alarm clears only past the deadband).
    fn active(&self, v: f64, shown: bool) -> bool {
        let back = if shown { self.deadband } else { 0.0 };
        self.high.is_some_and(|h| v > h - back) || self.low.is_some_and(|l| v < l + back)
    }
}

#[derive(Debug, Clone)]
struct Response {
    alarm: usize,
    plc: HostId,
    area: Area,
    addr: u16,
    value: u16,
    description: String,
}

/// An HMI's account of the run: its polls and their latency, and what its operator saw
/// and did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HmiFigures {
    /// Read requests sent.
    pub polls: u64,
    /// Answers received, exceptions included.
    pub answers: u64,
    /// Requests that got no answer within the poll timeout.
    pub timeouts: u64,
    /// Answers that were Modbus exceptions.
    pub exceptions: u64,
    /// Request-to-answer latency of the answered polls, in milliseconds.
    pub latency: crate::base::stats::LatencySummary,
    /// Writes the operator sent in response to alarms.
    pub operator_actions: u64,
    /// Names of the alarms on screen when the run ended.
    pub alarms_shown_at_end: Vec<String>,
}

/// The HMI component.
#[derive(Component, Debug)]
pub struct Hmi {
    /// Its host's name, for the events it logs.
    pub name: String,
    /// Its polling client: items, period, counters and the values last seen.
    pub poller: Poller,
    alarms: Vec<Alarm>,
    /// Each polled PLC's alarms, by index: the ones a new answer from it can change.
    alarms_of: std::collections::HashMap<HostId, Vec<usize>>,
    /// When an alarm must be looked at again with no new answer (its delay waited out, the
    /// operator's reaction due), by time then alarm index; each alarm at most once, at
    /// `Alarm::due`.
    alarm_due: std::collections::BTreeSet<(SimTime, usize)>,
    responses: Vec<Response>,
    reaction_delay: SimDuration,
    /// Writes the operator has sent so far.
    pub operator_actions: u64,
    results: Vec<PollResult>,
    /// The view of every polled PLC, for T0815 and T0829.
    views: ViewWatches,
    thresholds: ViewThresholds,
    /// Commands sent and not yet acknowledged: transaction id, PLC, time sent.
    commands: super::poller::RequestBook<HostId>,
    /// PLCs whose last command failed: a Denial of Control episode is open.
    control_denied: Vec<HostId>,
}

impl Hmi {
    /// Checks the `idx`th `[[hmi]]` entry against the topology (every alarm bit must be
    /// polled, every response must name an alarm and write a coil or holding register);
    /// `clock` gives the poll loop its schedule from the period and timing checked here.
    pub fn build(
        cfg: &HmiConfig,
        idx: usize,
        name: &str,
        topo: &Topology,
        clock: impl FnOnce(SimDuration, TaskTiming) -> TaskClock,
    ) -> Result<Hmi, ConfigError> {
        let f = |s: &str| format!("hmi[{idx}].{s}");
        let period = period_field(&cfg.poll_period, f("poll_period"), MIN_CLIENT_PERIOD)?;
        let timing = TaskTiming::from_config(
            cfg.jitter.as_ref(),
            cfg.drift_ppm.as_ref(),
            period,
            DEFAULT_CLIENT_JITTER,
            &format!("hmi[{idx}]"),
        )?;
        let items = cfg
            .poll
            .iter()
            .enumerate()
            .map(|(i, p)| PollItem::build(p, &f(&format!("poll[{i}]")), topo))
            .collect::<Result<Vec<_>, _>>()?;
        let mut alarms = Vec::new();
        for (i, a) in cfg.alarm.iter().enumerate() {
            let plc = topo.resolve(&a.plc, &f(&format!("alarm[{i}].plc")))?;
            let af = |k: &str| f(&format!("alarm[{i}].{k}"));
            let (key, operand, limits) = match (&a.bit, &a.register) {
                (Some(bit), None) if a.high.is_none() && a.low.is_none() => ("bit", bit, None),
                (None, Some(reg)) if a.high.is_some() || a.low.is_some() => {
                    let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
                    if !(finite(a.high) && finite(a.low) && a.deadband.is_finite() && a.deadband >= 0.0) {
                        return Err(ConfigError::new(
                            af("high"),
                            Some(reg.span()),
                            "expected finite limits and a deadband >= 0",
                        ));
                    }
                    let limits = ValueLimits {
                        high: a.high,
                        low: a.low,
                        deadband: a.deadband,
                        value_type: a.value_type,
                        word_order: a.word_order,
                    };
                    ("register", reg, Some(limits))
                }
                _ => {
                    return Err(ConfigError::new(
                        af("name"),
                        Some(a.plc.span()),
                        "an alarm is either a PLC's bit (`bit = \"co:10\"`) or the HMI's own limit \
                         on a polled value (`register = \"ir:0\"` with `high`, `low` or both)",
                    ));
                }
            };
            let (area, addr) = crate::plc_logic::parse_address(operand.get_ref())
                .map_err(|m| ConfigError::new(af(key), Some(operand.span()), m))?;
            let words = limits.map_or(1, |l| l.value_type.words());
            let polled = (0..words).all(|k| {
                let addr = addr.saturating_add(k);
                items.iter().any(|it| {
                    it.plc() == plc
                        && it.area() == area
                        && (it.start()..it.start().saturating_add(it.count())).contains(&addr)
                })
            });
            if !polled {
                return Err(ConfigError::new(
                    af(key),
                    Some(operand.span()),
                    format!(
                        "the HMI never reads {} of {}: add it to a [[hmi.poll]] block",
                        operand.get_ref(),
                        a.plc.get_ref()
                    ),
                ));
            }
            alarms.push(Alarm {
                name: a.name.clone(),
                plc,
                area,
                addr,
                limits,
                delay: a.delay.as_ref().map_or(SimDuration::ZERO, |d| d.get_ref().value),
                pending_since: None,
                shown: false,
                since: SimTime::ZERO,
                handled: false,
                due: None,
            });
        }
        let mut responses = Vec::new();
        let mut reaction_delay = SimDuration::from_secs(30);
        if let Some(op) = &cfg.operator {
            reaction_delay = op.reaction_delay.get_ref().value;
            for (i, r) in op.response.iter().enumerate() {
                let rf = |s: &str| f(&format!("operator.response[{i}].{s}"));
                let alarm = alarms
                    .iter()
                    .position(|a| a.name == *r.alarm.get_ref())
                    .ok_or_else(|| {
                        ConfigError::new(
                            rf("alarm"),
                            Some(r.alarm.span()),
                            format!(
                                "unknown alarm {:?}: expected the name of one of this HMI's [[hmi.alarm]]",
                                r.alarm.get_ref()
                            ),
                        )
                    })?;
                let plc = topo.resolve(&r.plc, &rf("plc"))?;
                let (area, addr) = crate::plc_logic::parse_address(r.write.get_ref())
                    .map_err(|m| ConfigError::new(rf("write"), Some(r.write.span()), m))?;
                if !matches!(area, Area::Coil | Area::HoldingRegister) {
                    return Err(ConfigError::new(
                        rf("write"),
                        Some(r.write.span()),
                        "an operator can write only coils (co:) and holding registers (hr:)",
                    ));
                }
                responses.push(Response {
                    alarm,
                    plc,
                    area,
                    addr,
                    value: r.value,
                    description: r.description.clone(),
                });
            }
        }
        let thresholds = view_thresholds(cfg, idx, period)?;
        let poller = Poller::new(items, clock(period, timing));
        let views = ViewWatches::new(poller.items.iter().map(|it| it.plc()), poller.next_poll);
        let mut alarms_of: std::collections::HashMap<HostId, Vec<usize>> = std::collections::HashMap::new();
        for (i, a) in alarms.iter().enumerate() {
            alarms_of.entry(a.plc).or_default().push(i);
        }
        Ok(Hmi {
            name: name.to_string(),
            poller,
            alarms,
            alarms_of,
            alarm_due: std::collections::BTreeSet::new(),
            responses,
            reaction_delay,
            operator_actions: 0,
            results: Vec::new(),
            views,
            thresholds,
            commands: super::poller::RequestBook::default(),
            control_denied: Vec::new(),
        })
    }

    /// Sends an operator's write to `plc` and waits for its acknowledgement: none within
    /// the poll timeout, or an exception, is a Denial of Control. Returns when the command
    /// times out, for the caller to wake then.
    #[allow(clippy::too_many_arguments)]
    pub fn send_command(
        &mut self,
        now: SimTime,
        me: HostId,
        plc: HostId,
        area: Area,
        addr: u16,
        value: u16,
        net: &mut Network,
    ) -> SimTime {
        let req = match area {
            Area::Coil => Request::WriteSingleCoil(addr, value != 0),
            _ => Request::WriteSingleRegister(addr, value),
        };
        let tid = self.poller.take_tid();
        let adu = encode_request_inline(tid, 1, req);
        net.send(now, me, plc, Service::Modbus, Payload::Modbus(adu), 0);
        self.commands.insert(tid, plc, now);
        now + self.poller.timeout
    }

    /// Settles commands (acknowledged, refused, or timed out) and records T0813 for a PLC
    /// whose command failed, once until one of its commands succeeds again.
    fn check_control(&mut self, now: SimTime, topo: &Topology, log: &mut EventLog) {
        let mut failed: Vec<(HostId, &'static str)> = Vec::new();
        for &(tid, _, exception) in &self.poller.unmatched {
            let Some((plc, _)) = self.commands.remove(tid) else {
                continue;
            };
            if exception {
                failed.push((plc, "answered with an exception"));
            } else {
                self.control_denied.retain(|p| *p != plc);
            }
        }
        for plc in self.commands.take_expired(now, self.poller.timeout) {
            failed.push((plc, "got no answer"));
        }
        for (plc, why) in failed {
            if self.control_denied.contains(&plc) {
                continue;
            }
            self.control_denied.push(plc);
            let device = &topo.host(plc).name;
            impacts::record(
                log,
                now,
                ImpactTechnique::DenialOfControl,
                device,
                Some(&self.name),
                format!("an operator command from {} to {device} {why}", self.name),
            );
        }
    }

    /// Updates each PLC's view with the answers just read and records T0815 and T0829 for
    /// a silence past the thresholds; returns when a silence next needs looking at.
    fn check_view(&mut self, now: SimTime, topo: &Topology, log: &mut EventLog) -> Option<SimTime> {
        for r in &self.results {
            self.views.answered(self.poller.items[r.item].plc(), r.at);
        }
        let (due, next) = self.views.check(now, self.thresholds);
        for (plc, found) in due {
            let device = &topo.host(plc).name;
            for (_, t) in found {
                let silence = match t {
                    ImpactTechnique::DenialOfView => self.thresholds.lost_after,
                    _ => self.thresholds.sustained,
                };
                impacts::record(
                    log,
                    now,
                    t,
                    device,
                    Some(&self.name),
                    format!(
                        "{} has had no valid answer from {device} for {}",
                        self.name,
                        format_args!("{} s", silence.as_secs_f64())
                    ),
                );
            }
        }
        next
    }

    /// Every alarm the HMI has, shown or not, by name.
    pub fn alarm_names(&self) -> impl Iterator<Item = &str> {
        self.alarms.iter().map(|a| a.name.as_str())
    }

    /// Whether the alarm `name` is on screen now.
    pub fn is_shown(&self, name: &str) -> bool {
        self.alarms.iter().any(|a| a.shown && a.name == name)
    }

    /// Names of the alarms on screen now.
    pub fn shown_alarms(&self) -> Vec<&str> {
        self.alarms
            .iter()
            .filter(|a| a.shown)
            .map(|a| a.name.as_str())
            .collect()
    }

    /// Files alarm `i` under the next time it must be looked at with no new answer: when
    /// its delay is waited out (pending, not shown), or when the operator's reaction is due
    /// (shown, not handled).
    fn reschedule(&mut self, i: usize) {
        let a = &mut self.alarms[i];
        let due = if a.shown {
            (!a.handled).then(|| a.since + self.reaction_delay)
        } else {
            a.pending_since.map(|s| s + a.delay)
        };
        if due != a.due {
            if let Some(old) = a.due {
                self.alarm_due.remove(&(old, i));
            }
            if let Some(new) = due {
                self.alarm_due.insert((new, i));
            }
            a.due = due;
        }
    }

    /// Whether an alarm's delay or the operator's reaction is due by `now`.
    fn alarm_time_due(&self, now: SimTime) -> bool {
        self.alarm_due.first().is_some_and(|(t, _)| *t <= now)
    }

    fn update_alarms(
        &mut self,
        now: SimTime,
        log: &mut EventLog,
        net: &mut Network,
        me: HostId,
    ) -> Option<SimTime> {
        let mut next_wake = None;
        // Only an alarm of a PLC that just answered, or one whose time has come, can change;
        // the others keep their state and the wake-ups they already asked for.
        let mut candidates: Vec<usize> = self
            .results
            .iter()
            .flat_map(|r| {
                let plc = self.poller.items[r.item].plc();
                self.alarms_of.get(&plc).map_or(&[][..], Vec::as_slice)
            })
            .copied()
            .collect();
        candidates.extend(self.alarm_due.range(..=(now, usize::MAX)).map(|(_, i)| *i));
        candidates.sort_unstable();
        candidates.dedup();
        for i in candidates {
            let a = &self.alarms[i];
            let raw = self.poller.value(a.plc, a.area, a.addr);
            let condition = match (a.limits, raw) {
                (None, raw) => raw.unwrap_or(0) != 0,
                (Some(l), Some(first)) => {
                    let second = match l.value_type.words() {
                        2 => self
                            .poller
                            .value(a.plc, a.area, a.addr.wrapping_add(1))
                            .unwrap_or(0),
                        _ => 0,
                    };
                    let v = l.value_type.decode(l.word_order, [first, second]);
                    l.active(v, a.shown)
                }
                (Some(_), None) => false,
            };
            let a = &mut self.alarms[i];
            // The condition must hold for the alarm's delay before it shows.
            let active = if condition {
                let since = *a.pending_since.get_or_insert(now);
                if now < since + a.delay && !a.shown {
                    let due = since + a.delay;
                    next_wake = Some(next_wake.map_or(due, |w: SimTime| w.min(due)));
                }
                a.shown || now >= since + a.delay
            } else {
                a.pending_since = None;
                false
            };
            if active && !a.shown {
                a.shown = true;
                a.since = now;
                a.handled = false;
                let due = now + self.reaction_delay;
                next_wake = Some(next_wake.map_or(due, |w: SimTime| w.min(due)));
            } else if !active {
                a.shown = false;
            }
            if !a.shown || a.handled {
                self.reschedule(i);
                continue;
            }
            let due = a.since + self.reaction_delay;
            if now < due {
                self.reschedule(i);
                continue;
            }
            self.alarms[i].handled = true;
            self.reschedule(i);
            let responses: Vec<Response> = self.responses.iter().filter(|r| r.alarm == i).cloned().collect();
            for r in &responses {
                let t = self.send_command(now, me, r.plc, r.area, r.addr, r.value, net);
                next_wake = Some(next_wake.map_or(t, |w: SimTime| w.min(t)));
                self.operator_actions += 1;
                log.push(
                    now,
                    EventKind::OperatorAction {
                        hmi: self.name.clone(),
                        alarm: self.alarms[i].name.clone(),
                        action: if r.description.is_empty() {
                            format!(
                                "write {} = {}",
                                crate::plc_logic::format_address(r.area, r.addr),
                                r.value
                            )
                        } else {
                            r.description.clone()
                        },
                        device: net.topology().host(r.plc).name.clone(),
                    },
                );
            }
        }
        next_wake
    }
}

/// Agents: HMIs read answers, update the screen and alarms, let the operator act, and poll.
pub fn hmi_tick(
    clock: Res<Clock>,
    mut net: ResMut<Network>,
    mut wake: ResMut<Wakeups>,
    mut log: ResMut<EventLog>,
    mut hmis: Query<(&HostRef, &mut Hmi, &mut ClientInbox)>,
) {
    for (host, mut hmi, mut inbox) in &mut hmis {
        hmi.step(host.0, &mut inbox, clock.now, &mut net, &mut wake, &mut log);
    }
}

impl Hmi {
    /// One tick of this HMI at `now`: what [`hmi_tick`] does for each, and what a poller
    /// tick (`devices::poller_tick`) does without the schedule.
    pub(crate) fn step(
        &mut self,
        host: HostId,
        inbox: &mut ClientInbox,
        now: SimTime,
        net: &mut Network,
        wake: &mut Wakeups,
        log: &mut EventLog,
    ) {
        // The topology borrowed at each use, not held through a clone of its `Arc`: the
        // clone's atomic count up and down was over a third of this call's samples.
        self.results.clear();
        self.poller
            .receive(&self.name, inbox, now, net.topology(), log, &mut self.results);
        // Alarms change only with new answers, and operators act only when a reaction is due.
        let reaction_due = self.alarm_time_due(now);
        if (!self.results.is_empty() || reaction_due)
            && let Some(t) = self.update_alarms(now, log, net, host)
        {
            wake.poller_at(t);
        }
        self.check_control(now, net.topology(), log);
        if let Some(t) = self.check_view(now, net.topology(), log) {
            wake.poller_at(t);
        }
        if let Some(next) = self.poller.tick(host, now, net) {
            wake.poller_at(next);
            // The round's requests time out together: a tick then records any that do.
            wake.poller_at(now + self.poller.timeout);
        }
    }
}

/// The view watch's thresholds from `view_lost_after` and `view_loss_sustained`, or their
/// defaults (3 poll periods but at least 10 s; 15 min).
fn view_thresholds(cfg: &HmiConfig, idx: usize, period: SimDuration) -> Result<ViewThresholds, ConfigError> {
    let lost_after = match &cfg.view_lost_after {
        Some(d) => d.get_ref().value,
        None => (period + period + period).max(SimDuration::from_secs(10)),
    };
    let sustained = match &cfg.view_loss_sustained {
        Some(d) => d.get_ref().value,
        None => SimDuration::from_secs(15 * 60).max(lost_after + lost_after),
    };
    if lost_after == SimDuration::ZERO {
        let span = cfg.view_lost_after.as_ref().map(|d| d.span());
        return Err(ConfigError::new(
            format!("hmi[{idx}].view_lost_after"),
            span,
            "expected a duration above 0",
        ));
    }
    if sustained <= lost_after {
        let span = cfg
            .view_loss_sustained
            .as_ref()
            .or(cfg.view_lost_after.as_ref())
            .map(|d| d.span());
        return Err(ConfigError::new(
            format!("hmi[{idx}].view_loss_sustained"),
            span,
            format!(
                "a view is lost (T0829) only after it was denied (T0815): expected more than view_lost_after ({})",
                format_args!("{} s", lost_after.as_secs_f64())
            ),
        ));
    }
    Ok(ViewThresholds {
        lost_after,
        sustained,
    })
}

/// HMIs as a device kind: `[[hmi]]` entries on hosts of role hmi, each polling from a start
/// offset within its period.
pub struct HmiKind;

impl super::kind::DeviceKind for HmiKind {
    type Config = HmiConfig;
    fn build(configs: &[HmiConfig], cx: &mut super::kind::BuildCx<'_>) -> Result<(), ConfigError> {
        for (i, h) in configs.iter().enumerate() {
            let id = match cx.claim_host(&h.host, format!("hmi[{i}].host"), &[Role::Hmi], "hmi") {
                Ok(id) => id,
                Err(e) => {
                    cx.report(e);
                    continue;
                }
            };
            let topo = cx.topo;
            let built = Hmi::build(h, i, &topo.host(id).name, topo, |period, timing| {
                cx.task_clock(id, period, Keeping::FreeRunning, timing)
            });
            let hmi = match built {
                Ok(hmi) => hmi,
                Err(e) => {
                    cx.report(e);
                    continue;
                }
            };
            for (k, p) in h.poll.iter().enumerate() {
                cx.check_access(
                    &p.plc,
                    &p.read,
                    u32::from(p.count),
                    format!("hmi[{i}].poll[{k}].read"),
                );
            }
            for (k, r) in h.operator.iter().flat_map(|o| &o.response).enumerate() {
                let field = format!("hmi[{i}].operator.response[{k}].write");
                cx.check_access(&r.plc, &r.write, 1, field);
            }
            cx.wake.poller_at(hmi.poller.next_poll);
            let e = cx.entity(id);
            cx.world
                .entity_mut(e)
                .insert((hmi, super::ClientAgent, super::ModbusPoller));
        }
        Ok(())
    }
    fn systems(s: &mut super::kind::KindSystems<'_>) {
        s.add(crate::world::SimSet::Agents, hmi_tick);
    }
    fn modbus_clients(world: &mut World) -> Vec<HostId> {
        let mut q = world.query_filtered::<&super::host::HostRef, With<Hmi>>();
        q.iter(world).map(|h| h.0).collect()
    }

    fn summaries(world: &mut World) -> Vec<(HostId, super::summary::DeviceFigures)> {
        let mut q = world.query::<(&super::host::HostRef, &Hmi)>();
        q.iter(world)
            .map(|(h, hmi)| {
                let p = &hmi.poller;
                let figures = HmiFigures {
                    polls: p.polls,
                    answers: p.answers,
                    timeouts: p.timeouts,
                    exceptions: p.exceptions,
                    latency: p.latency.summary(),
                    operator_actions: hmi.operator_actions,
                    alarms_shown_at_end: hmi.shown_alarms().into_iter().map(String::from).collect(),
                };
                (h.0, super::summary::DeviceFigures::Hmi(figures))
            })
            .collect()
    }
}
