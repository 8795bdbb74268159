//! The engineering workstation in benign use: now and then an engineer connects to a PLC,
//! reads its identity and diagnostics and uploads its configuration registers. This is the
//! legitimate traffic that makes "program upload" and "device identification" hard to flag.

use crate::base::clock::{Clock, Wakeups};
use crate::base::config_error::{ConfigError, MIN_CLIENT_PERIOD, period_field};
use crate::base::time::{DurationField, SimDuration, SimTime};
use crate::devices::host::{ClientInbox, HostRef};
use crate::devices::host_log::{HostActivity, HostLog, Transfer};
use crate::net::topology::{HostId, Role, Service, Topology};
use crate::net::{Network, Payload};
use crate::wire::modbus::{
    diagnostics, read_device_identification, read_holding_registers, report_server_id,
};
use bevy_ecs::prelude::*;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;
use toml::Spanned;

/// The engineering software an engineer's session starts (the vendor tool of the Modicon
/// PLCs the reference plant models), as the workstation's process log records it.
pub const ENGINEERING_TOOL: &str =
    r"C:\Program Files (x86)\Schneider Electric\Control Expert\ControlExpert.exe";

/// `[[engineering_workstation]]` in a plant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EwsConfig {
    /// The host it runs on: a host of role engineering workstation.
    pub host: Spanned<String>,
    /// Mean time between engineering sessions (exponentially distributed).
    #[serde(default = "default_period")]
    pub session_every: Spanned<DurationField>,
    /// PLCs the engineer maintains.
    pub plcs: Vec<Spanned<String>>,
    /// Holding registers read in a configuration upload.
    #[serde(default = "default_upload")]
    pub upload_registers: u16,
}

fn default_period() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("2h"))
}
fn default_upload() -> u16 {
    32
}

/// An engineering workstation's account of the run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EwsFigures {
    /// Engineering sessions held (four requests to one PLC each).
    pub sessions: u64,
    /// Modbus answers received, exceptions included.
    pub answers: u64,
}

/// The engineering workstation component.
#[derive(Component, Debug)]
pub struct EngineeringWorkstation {
    /// The PLCs it maintains; each session picks one at random.
    pub plcs: Vec<HostId>,
    mean: SimDuration,
    next: SimTime,
    upload: u16,
    tid: u16,
    rng: ChaCha8Rng,
    /// Sessions held so far.
    pub sessions: u64,
    /// Modbus answers received so far, exceptions included.
    pub answers: u64,
}

impl EngineeringWorkstation {
    /// Checks the `idx`th `[[engineering_workstation]]` entry against the topology (its
    /// PLCs must be hosts of role plc) and schedules its first session from `rng`.
    pub fn build(cfg: &EwsConfig, idx: usize, topo: &Topology, rng: ChaCha8Rng) -> Result<Self, ConfigError> {
        let f = |s: &str| format!("engineering_workstation[{idx}].{s}");
        let mean = period_field(&cfg.session_every, f("session_every"), MIN_CLIENT_PERIOD)?;
        let mut plcs = Vec::new();
        for (i, p) in cfg.plcs.iter().enumerate() {
            let id = topo.resolve(p, &f(&format!("plcs[{i}]")))?;
            if topo.host(id).role != Role::Plc {
                return Err(ConfigError::new(
                    f(&format!("plcs[{i}]")),
                    Some(p.span()),
                    format!("host {:?} is not a plc", p.get_ref()),
                ));
            }
            plcs.push(id);
        }
        if cfg.upload_registers == 0 || cfg.upload_registers > 125 {
            return Err(ConfigError::new(
                f("upload_registers"),
                None,
                "upload_registers must be 1..=125",
            ));
        }
        let mut ews = EngineeringWorkstation {
            plcs,
            mean,
            next: SimTime::ZERO,
            upload: cfg.upload_registers,
            tid: 0,
            rng,
            sessions: 0,
            answers: 0,
        };
        ews.next = SimTime::ZERO + ews.gap();
        Ok(ews)
    }

    /// When the first session is due.
    pub fn first_wake(&self) -> SimTime {
        self.next
    }

    /// Exponential inter-session gap (a Poisson process of engineering visits).
    fn gap(&mut self) -> SimDuration {
        crate::base::rng::exponential_gap(&mut self.rng, self.mean)
    }

    fn session(&mut self, me: HostId, now: SimTime, net: &mut Network, log: &mut HostLog) {
        if self.plcs.is_empty() {
            return;
        }
        let plc = self.plcs[self.rng.random_range(0..self.plcs.len())];
        // What the workstation's own logs keep of the session: the engineering tool
        // starting, and its audit trail of the upload.
        let topo = net.topology();
        let user = crate::devices::host_activity::account_of(topo, me);
        let controller = topo.host(plc).name.clone();
        log.record(
            now,
            me,
            0,
            HostActivity::ProcessStart {
                image: ENGINEERING_TOOL.into(),
                command_line: format!("\"{ENGINEERING_TOOL}\" C:\\Projects\\{controller}.stu"),
                parent_image: r"C:\Windows\explorer.exe".into(),
                user: user.clone(),
            },
        );
        log.record(
            now,
            me,
            0,
            HostActivity::ProgramTransfer {
                controller: controller.clone(),
                direction: Transfer::Upload,
                project: format!("C:\\Projects\\{controller}.stu"),
                user,
            },
        );
        let t = self.tid;
        let requests = [
            read_device_identification(t.wrapping_add(1), 1, 1, 0),
            report_server_id(t.wrapping_add(2), 1),
            diagnostics(t.wrapping_add(3), 1, 0, &[0x12, 0x34]),
            read_holding_registers(t.wrapping_add(4), 1, 0, self.upload),
        ];
        self.tid = t.wrapping_add(4);
        for adu in requests {
            net.send(now, me, plc, Service::Modbus, Payload::Modbus(adu.into()), 0);
        }
        self.sessions += 1;
    }
}

/// Agents: the engineer's occasional session.
pub fn ews_tick(
    clock: Res<Clock>,
    mut net: ResMut<Network>,
    mut wake: ResMut<Wakeups>,
    mut log: ResMut<HostLog>,
    mut q: Query<(&HostRef, &mut EngineeringWorkstation, &mut ClientInbox)>,
) {
    let now = clock.now;
    for (host, mut ews, mut inbox) in &mut q {
        ews.answers += inbox.take_modbus().len() as u64;
        if now >= ews.next {
            ews.session(host.0, now, &mut net, &mut log);
            let gap = ews.gap();
            ews.next = now + gap;
            wake.at(ews.next);
        }
    }
}

/// Engineering workstations as a device kind: `[[engineering_workstation]]` entries on
/// hosts of role engineering workstation, each with its own random stream.
pub struct EwsKind;

impl super::kind::DeviceKind for EwsKind {
    type Config = EwsConfig;
    fn build(configs: &[EwsConfig], cx: &mut super::kind::BuildCx<'_>) -> Result<(), ConfigError> {
        for (i, e) in configs.iter().enumerate() {
            let field = format!("engineering_workstation[{i}].host");
            let id = cx.claim_host(
                &e.host,
                field,
                &[Role::EngineeringWorkstation],
                "engineering workstation",
            )?;
            let rng = cx.seed.stream(&format!("ews/{}", cx.topo.host(id).name));
            let ews = EngineeringWorkstation::build(e, i, cx.topo, rng)?;
            cx.wake.at(ews.first_wake());
            let entity = cx.entity(id);
            cx.world.entity_mut(entity).insert((ews, super::ClientAgent));
        }
        Ok(())
    }
    fn systems(s: &mut super::kind::KindSystems<'_>) {
        s.add(crate::world::SimSet::Agents, ews_tick);
    }
    fn summaries(world: &mut World) -> Vec<(HostId, super::summary::DeviceFigures)> {
        let mut q = world.query::<(&super::host::HostRef, &EngineeringWorkstation)>();
        q.iter(world)
            .map(|(h, e)| {
                let figures = EwsFigures {
                    sessions: e.sessions,
                    answers: e.answers,
                };
                (
                    h.0,
                    super::summary::DeviceFigures::EngineeringWorkstation(figures),
                )
            })
            .collect()
    }
}
