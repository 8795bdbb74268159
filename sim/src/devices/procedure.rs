//! Site procedures: what the operators do when something outside the process happens. The
//! one modelled is the precautionary shutdown after ransomware reaches business IT, which
//! is how Colonial Pipeline lost six days of operation in May 2021 without its pipeline
//! control systems ever being touched. It is the defender's decision, written in the plant
//! file, never the attacker's.
//!
//! ```toml
//! [[procedure]]
//! name = "precautionary shutdown"
//! when_encrypted = ["file-01", "erp-01"]   # any of these hosts encrypted
//! after = "15m"                            # time to decide
//! from = "hmi-2"                           # the operator's HMI sends the commands
//! actions = [{ plc = "plc-dist", write = "co:5", value = 0 }]
//! ```

use crate::base::clock::{Clock, Wakeups};
use crate::base::config_error::ConfigError;
use crate::base::events::{EventKind, EventLog};
use crate::base::time::{DurationField, SimTime};
use crate::net::topology::{HostId, Service, Topology};
use crate::net::{Network, Payload};
use crate::plc_logic::{Area, parse_address};
use crate::wire::modbus::{write_single_coil, write_single_register};
use bevy_ecs::prelude::*;
use serde::Deserialize;
use toml::Spanned;

/// Hosts whose data an attacker has encrypted (or destroyed): other systems and the site's
/// procedures react to it. Attack executors set it; nothing in the simulation clears it.
#[derive(Resource, Debug, Default)]
pub struct HostHealth {
    encrypted: Vec<HostId>,
}

impl HostHealth {
    /// Marks `h` encrypted (once; marking it again changes nothing).
    pub fn encrypt(&mut self, h: HostId) {
        if !self.encrypted.contains(&h) {
            self.encrypted.push(h);
        }
    }
    /// Whether an attack has encrypted `h`.
    pub fn is_encrypted(&self, h: HostId) -> bool {
        self.encrypted.contains(&h)
    }
}

/// One write of a procedure's `actions`: `{ plc, write, value }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    /// The PLC written.
    pub plc: Spanned<String>,
    /// Coil or holding register to write, e.g. "co:5" or "hr:3".
    pub write: Spanned<String>,
    /// The value written; for a coil, non-zero means on.
    pub value: u16,
}

/// An HMI alarm a procedure reacts to: `{ hmi = "hmi-1", alarm = "raw tank high" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmRef {
    /// The HMI's host.
    pub hmi: Spanned<String>,
    /// The name of one of its `[[hmi]]` alarms.
    pub alarm: Spanned<String>,
}

/// `[[procedure]]` in a plant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureConfig {
    /// Logged as `procedure: <name>` in the `operator_action` events it causes.
    pub name: String,
    /// A trigger: the procedure starts when any of these hosts is encrypted.
    #[serde(default)]
    pub when_encrypted: Vec<Spanned<String>>,
    /// A trigger: the procedure starts when any of these HMI alarms shows.
    #[serde(default)]
    pub when_alarm: Vec<AlarmRef>,
    /// A trigger: the procedure starts when any of these process limits fires (its
    /// impact's `limit`: a `[[process.limit]]` name or a built-in one).
    #[serde(default)]
    pub when_impact: Vec<Spanned<String>>,
    /// Time from the trigger to the actions: how long the site takes to decide.
    pub after: Spanned<DurationField>,
    /// The host the writes are sent from (the operator's HMI).
    pub from: Spanned<String>,
    /// The writes, sent together, once.
    pub actions: Vec<ActionConfig>,
}

struct Procedure {
    name: String,
    when: Vec<HostId>,
    when_alarm: Vec<(HostId, String)>,
    when_impact: Vec<String>,
    after: crate::base::time::SimDuration,
    from: HostId,
    actions: Vec<(HostId, Area, u16, u16)>,
    due: Option<SimTime>,
    done: bool,
}

/// The site's procedures.
#[derive(Resource, Default)]
pub struct Procedures(Vec<Procedure>);

impl Procedures {
    /// Checks the `[[procedure]]` entries against the topology, the HMIs' alarms
    /// (`alarms(host)`: the names of the alarms of the HMI at `host`, `None` for a host with
    /// no HMI) and the process's limits; a procedure may write only coils and holding
    /// registers.
    pub fn build(
        cfgs: &[ProcedureConfig],
        topo: &Topology,
        alarms: &dyn Fn(HostId) -> Option<Vec<String>>,
        limits: &[String],
    ) -> Result<Self, ConfigError> {
        let mut out = Vec::new();
        for (i, c) in cfgs.iter().enumerate() {
            let f = |k: &str| format!("procedure[{i}].{k}");
            let when = c
                .when_encrypted
                .iter()
                .enumerate()
                .map(|(k, h)| topo.resolve(h, &f(&format!("when_encrypted[{k}]"))))
                .collect::<Result<Vec<_>, _>>()?;
            let mut when_alarm = Vec::new();
            for (k, a) in c.when_alarm.iter().enumerate() {
                let host = topo.resolve(&a.hmi, &f(&format!("when_alarm[{k}].hmi")))?;
                let Some(names) = alarms(host) else {
                    return Err(ConfigError::new(
                        f(&format!("when_alarm[{k}].hmi")),
                        Some(a.hmi.span()),
                        format!("host {:?} is not configured as an [[hmi]]", a.hmi.get_ref()),
                    ));
                };
                if !names.contains(a.alarm.get_ref()) {
                    return Err(ConfigError::new(
                        f(&format!("when_alarm[{k}].alarm")),
                        Some(a.alarm.span()),
                        format!(
                            "{} has no alarm {:?}; its alarms: {}",
                            a.hmi.get_ref(),
                            a.alarm.get_ref(),
                            names.join(", ")
                        ),
                    ));
                }
                when_alarm.push((host, a.alarm.get_ref().clone()));
            }
            for (k, l) in c.when_impact.iter().enumerate() {
                if !limits.contains(l.get_ref()) {
                    return Err(ConfigError::new(
                        f(&format!("when_impact[{k}]")),
                        Some(l.span()),
                        format!(
                            "unknown limit {:?}; the plant's limits are: {}",
                            l.get_ref(),
                            limits.join(", ")
                        ),
                    ));
                }
            }
            if when.is_empty() && when_alarm.is_empty() && c.when_impact.is_empty() {
                return Err(ConfigError::new(
                    f("name"),
                    Some(c.after.span()),
                    "a procedure needs a trigger: when_encrypted, when_alarm or when_impact",
                ));
            }
            let after = c.after.get_ref().value;
            let from = topo.resolve(&c.from, &f("from"))?;
            let mut actions = Vec::new();
            for (k, a) in c.actions.iter().enumerate() {
                let plc = topo.resolve(&a.plc, &f(&format!("actions[{k}].plc")))?;
                let (area, addr) = parse_address(a.write.get_ref()).map_err(|m| {
                    ConfigError::new(f(&format!("actions[{k}].write")), Some(a.write.span()), m)
                })?;
                if !matches!(area, Area::Coil | Area::HoldingRegister) {
                    return Err(ConfigError::new(
                        f(&format!("actions[{k}].write")),
                        Some(a.write.span()),
                        "a procedure can write only coils (co:) and holding registers (hr:)",
                    ));
                }
                actions.push((plc, area, addr, a.value));
            }
            out.push(Procedure {
                name: c.name.clone(),
                when,
                when_alarm,
                when_impact: c.when_impact.iter().map(|l| l.get_ref().clone()).collect(),
                after,
                from,
                actions,
                due: None,
                done: false,
            });
        }
        Ok(Procedures(out))
    }
}

/// What the procedures read and write besides the clock, the process and the network.
#[derive(bevy_ecs::system::SystemParam)]
pub struct ProcedureParams<'w, 's> {
    health: Res<'w, HostHealth>,
    /// Also the HMIs a poller tick steps (`devices::poller_tick`), which reaches them here.
    pub(crate) hmis: super::poller_tick::Hmis<'w, 's>,
    procs: ResMut<'w, Procedures>,
}

impl ProcedureParams<'_, '_> {
    /// Whether every procedure is carried out: [`Self::run`] then does nothing.
    pub(crate) fn all_done(&self) -> bool {
        self.procs.0.iter().all(|p| p.done)
    }

    /// Starts a procedure's clock when its trigger holds; carries it out when due.
    pub(crate) fn run(
        &mut self,
        now: SimTime,
        process: &crate::process::state::ProcessState,
        net: &mut Network,
        wake: &mut Wakeups,
        log: &mut EventLog,
    ) {
        let (health, hmis) = (&self.health, &mut self.hmis);
        for p in self.procs.0.iter_mut().filter(|p| !p.done) {
            // Triggers are looked at only until one holds; then the procedure waits for `due`.
            let triggered = p.due.is_none()
                && (p.when.iter().any(|h| health.is_encrypted(*h))
                    || p.when_impact.iter().any(|l| process.fired.contains(l))
                    || p.when_alarm.iter().any(|(host, name)| {
                        hmis.iter().any(|(_, h, hmi)| h.0 == *host && hmi.is_shown(name))
                    }));
            if triggered {
                let due = now + p.after;
                p.due = Some(due);
                wake.at(due);
            }
            if p.due.is_some_and(|d| d <= now) {
                p.done = true;
                for (k, &(plc, area, addr, value)) in p.actions.iter().enumerate() {
                    // Sent by the HMI's client, which watches the acknowledgement (T0813).
                    match hmis.iter_mut().find(|(_, h, _)| h.0 == p.from) {
                        Some((_, _, mut hmi)) => {
                            wake.poller_at(hmi.send_command(now, p.from, plc, area, addr, value, net));
                        }
                        None => {
                            let tid = 0x7000 + k as u16;
                            let adu = match area {
                                Area::Coil => write_single_coil(tid, 1, addr, value != 0),
                                _ => write_single_register(tid, 1, addr, value),
                            };
                            net.send(now, p.from, plc, Service::Modbus, Payload::Modbus(adu.into()), 0);
                        }
                    }
                    log.push(
                        now,
                        EventKind::OperatorAction {
                            hmi: net.topology().host(p.from).name.clone(),
                            alarm: format!("procedure: {}", p.name),
                            action: format!(
                                "write {} = {value}",
                                crate::plc_logic::format_address(area, addr)
                            ),
                            device: net.topology().host(plc).name.clone(),
                        },
                    );
                }
            }
        }
    }
}

/// Agents: start a procedure's clock when its trigger holds; carry it out when due
/// (`ProcedureParams::run`). It runs at every tick, scan ticks included, so that a
/// trigger is noticed at the first tick after it comes to hold, whatever kind of tick that
/// is.
pub fn procedures_tick(
    clock: Res<Clock>,
    process: Res<crate::process::state::ProcessState>,
    mut procs: ProcedureParams,
    mut net: ResMut<Network>,
    mut wake: ResMut<Wakeups>,
    mut log: ResMut<EventLog>,
) {
    procs.run(clock.now, &process, &mut net, &mut wake, &mut log);
}

/// Site procedures as a device kind: `[[procedure]]` entries, run by the site's staff.
pub struct ProcedureKind;

impl super::kind::DeviceKind for ProcedureKind {
    type Config = ProcedureConfig;
    fn build(configs: &[ProcedureConfig], cx: &mut super::kind::BuildCx<'_>) -> Result<(), ConfigError> {
        let world = &mut *cx.world;
        let mut q = world.query::<(&super::host::HostRef, &super::hmi::Hmi)>();
        let hmis: Vec<(HostId, Vec<String>)> = q
            .iter(world)
            .map(|(h, hmi)| (h.0, hmi.alarm_names().map(String::from).collect()))
            .collect();
        let alarms = |host: HostId| hmis.iter().find(|(h, _)| *h == host).map(|(_, n)| n.clone());
        let limits: Vec<String> = cx.process.limit_names().into_iter().map(|(n, _)| n).collect();
        let procedures = Procedures::build(configs, cx.topo, &alarms, &limits)?;
        cx.world.insert_resource(procedures);
        cx.world.insert_resource(HostHealth::default());
        Ok(())
    }
    fn systems(s: &mut super::kind::KindSystems<'_>) {
        // Local as well: a trigger is looked at on every tick, so a procedure starts its clock
        // at the first tick after the attack that triggers it, whatever kind of tick it is.
        s.add_local(crate::world::SimSet::Agents, procedures_tick);
    }
}
