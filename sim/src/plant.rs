//! A plant file and the world built from it: topology, process, devices, network.

use crate::base::clock::{Clock, Wakeups};
use crate::base::config_error::ConfigError;
use crate::base::events::EventLog;
use crate::base::rng::MasterSeed;
use crate::base::time::{SimDuration, SimTime, parse_duration};
use crate::devices::ClientAgent;
use crate::devices::ews::{EngineeringWorkstation, EwsConfig};
use crate::devices::historian::{Historian, HistorianConfig};
use crate::devices::hmi::{Hmi, HmiConfig};
use crate::devices::host::{ClientInbox, HostIndex, HostRef, ServerInbox};
use crate::devices::plc::{Plc, PlcConfig};
use crate::devices::traffic::{FlowServer, TrafficConfig, TrafficSource};
use crate::net::topology::{HostConfig, HostId, LinkConfig, Role, Service, Topology, ZoneConfig};
use crate::net::{FrameCounter, Network, Stage};
use crate::process::state::ProcessState;
use crate::process::{Process, ProcessConfig};
use crate::world::{Sim, tick_schedule};
use bevy_ecs::prelude::*;
use rand::RngExt;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use toml::Spanned;

/// A plant file: the plant's network, process and devices.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantConfig {
    pub plant: PlantInfo,
    #[serde(default, rename = "zone")]
    pub zones: Vec<ZoneConfig>,
    #[serde(default, rename = "host")]
    pub hosts: Vec<HostConfig>,
    #[serde(default, rename = "link")]
    pub links: Vec<LinkConfig>,
    #[serde(default)]
    pub process: ProcessConfig,
    #[serde(default, rename = "plc")]
    pub plcs: Vec<PlcConfig>,
    #[serde(default, rename = "hmi")]
    pub hmis: Vec<HmiConfig>,
    #[serde(default, rename = "historian")]
    pub historians: Vec<HistorianConfig>,
    #[serde(default, rename = "engineering_workstation")]
    pub engineering_workstations: Vec<EwsConfig>,
    #[serde(default, rename = "traffic")]
    pub traffic: Vec<TrafficConfig>,
    #[serde(default, rename = "tap")]
    pub taps: Vec<TapConfig>,
    #[serde(default, rename = "procedure")]
    pub procedures: Vec<crate::devices::procedure::ProcedureConfig>,
}

/// `[plant]`: name and simulation settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantInfo {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Physics integration step; the process is integrated in whole steps of this size.
    #[serde(default = "default_step")]
    pub physics_step: Spanned<String>,
}

fn default_step() -> Spanned<String> {
    Spanned::new(0..0, "100ms".into())
}

/// `[[tap]]`: a sensor placement (e.g. a switch's SPAN port) where detectors see frames.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TapConfig {
    pub name: String,
    pub at: Vec<Spanned<String>>,
}

/// Builds a runnable simulation from a plant and a seed.
pub fn build(cfg: &PlantConfig, seed: u64) -> Result<Sim, ConfigError> {
    let topo = Arc::new(Topology::build(&cfg.zones, &cfg.hosts, &cfg.links)?);
    let process = Process::from_config(&cfg.process)
        .map_err(|e| ConfigError::new(e.field.clone(), e.span.clone(), e.message.clone()))?;
    let dt = parse_duration(cfg.plant.physics_step.get_ref()).map_err(|e| {
        ConfigError::new(
            "plant.physics_step",
            Some(cfg.plant.physics_step.span()),
            e.to_string(),
        )
    })?;
    if dt < SimDuration::from_millis(1) || dt > SimDuration::from_secs(10) {
        return Err(ConfigError::new(
            "plant.physics_step",
            Some(cfg.plant.physics_step.span()),
            "the physics step must be between 1ms and 10s",
        ));
    }
    let seed = MasterSeed(seed);
    let mut world = World::new();
    let mut net = Network::new(Arc::clone(&topo));
    let mut wake = Wakeups::default();

    let mut index = Vec::new();
    for h in &topo.hosts {
        let e = world
            .spawn((HostRef(h.id), ServerInbox::default(), ClientInbox::default()))
            .id();
        index.push(e);
        if h.services.iter().any(|s| *s != Service::Modbus) {
            world.entity_mut(e).insert(FlowServer::default());
            net.set_wake_on_delivery(h.id);
        }
    }
    // Start offsets spread periodic devices over their period, as unsynchronised real
    // devices are; drawn from the seed so runs repeat.
    let mut start_rng = seed.stream("device-start");
    let mut offset = |period: SimDuration| SimTime(start_rng.random_range(0..period.as_nanos().max(1)));

    let mut claimed: BTreeMap<HostId, &'static str> = BTreeMap::new();
    let mut claim = |id: HostId, what: &'static str, field: String, span: std::ops::Range<usize>| {
        if let Some(prev) = claimed.insert(id, what) {
            return Err(ConfigError::new(
                field,
                Some(span),
                format!("host {:?} is already configured as a {prev}", topo.host(id).name),
            ));
        }
        Ok(())
    };
    let check_role = |id: HostId, roles: &[Role], field: &str, span: std::ops::Range<usize>| {
        let role = topo.host(id).role;
        if roles.contains(&role) {
            Ok(())
        } else {
            Err(ConfigError::new(
                field,
                Some(span),
                format!(
                    "host {:?} has role {}, expected {}",
                    topo.host(id).name,
                    role.as_str(),
                    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or ")
                ),
            ))
        }
    };

    for (i, p) in cfg.plcs.iter().enumerate() {
        let field = format!("plc[{i}].host");
        let id = topo.resolve(&p.host, &field)?;
        check_role(id, &[Role::Plc], &field, p.host.span())?;
        claim(id, "plc", field, p.host.span())?;
        let plc = Plc::build(p, i, &topo.host(id).name, &process)?;
        world.entity_mut(index[id.0 as usize]).insert(plc);
    }
    for (i, h) in cfg.hmis.iter().enumerate() {
        let field = format!("hmi[{i}].host");
        let id = topo.resolve(&h.host, &field)?;
        check_role(id, &[Role::Hmi], &field, h.host.span())?;
        claim(id, "hmi", field, h.host.span())?;
        let mut hmi = Hmi::build(h, i, &topo.host(id).name, &topo, SimTime::ZERO)?;
        hmi.poller.next_poll = offset(hmi.poller.period);
        wake.at(hmi.poller.next_poll);
        world.entity_mut(index[id.0 as usize]).insert((hmi, ClientAgent));
    }
    for (i, h) in cfg.historians.iter().enumerate() {
        let field = format!("historian[{i}].host");
        let id = topo.resolve(&h.host, &field)?;
        check_role(id, &[Role::Historian], &field, h.host.span())?;
        claim(id, "historian", field, h.host.span())?;
        let mut hist = Historian::build(h, i, &topo.host(id).name, &topo, SimTime::ZERO)?;
        hist.poller.next_poll = offset(hist.poller.period);
        wake.at(hist.poller.next_poll);
        world.entity_mut(index[id.0 as usize]).insert((hist, ClientAgent));
    }
    for (i, e) in cfg.engineering_workstations.iter().enumerate() {
        let field = format!("engineering_workstation[{i}].host");
        let id = topo.resolve(&e.host, &field)?;
        check_role(id, &[Role::EngineeringWorkstation], &field, e.host.span())?;
        claim(id, "engineering workstation", field, e.host.span())?;
        let ews =
            EngineeringWorkstation::build(e, i, &topo, seed.stream(&format!("ews/{}", topo.host(id).name)))?;
        wake.at(ews.first_wake());
        world.entity_mut(index[id.0 as usize]).insert((ews, ClientAgent));
    }
    let mut sources: BTreeMap<HostId, TrafficSource> = BTreeMap::new();
    for (i, t) in cfg.traffic.iter().enumerate() {
        for (k, from) in t.from.iter().enumerate() {
            let id = topo.resolve(from, &format!("traffic[{i}].from[{k}]"))?;
            let src = sources.entry(id).or_insert_with(|| {
                TrafficSource::new(seed.stream(&format!("traffic/{}", topo.host(id).name)))
            });
            src.add(t, i, &topo)?;
        }
    }
    for (id, src) in sources {
        if let Some(t) = src.first_wake() {
            wake.at(t);
        }
        let mut e = world.entity_mut(index[id.0 as usize]);
        e.insert((src, ClientAgent));
    }
    for (i, t) in cfg.taps.iter().enumerate() {
        let nodes =
            t.at.iter()
                .enumerate()
                .map(|(k, n)| topo.resolve(n, &format!("tap[{i}].at[{k}]")))
                .collect::<Result<Vec<_>, _>>()?;
        net.add_middlebox(
            Box::new(FrameCounter::new(t.name.clone())),
            Stage::Observe,
            &nodes,
        );
    }

    world.insert_resource(Clock::default());
    world.insert_resource(wake);
    world.insert_resource(seed);
    world.insert_resource(EventLog::default());
    world.insert_resource(net);
    world.insert_resource(ProcessState::new(process, dt));
    world.insert_resource(HostIndex(index));
    world.insert_resource(crate::devices::procedure::Procedures::build(
        &cfg.procedures,
        &topo,
    )?);
    world.insert_resource(crate::devices::procedure::HostHealth::default());
    world.insert_resource(crate::devices::host::LabelledReplies::default());
    let mut schedule = tick_schedule();
    schedule.initialize(&mut world).map_err(|e| {
        ConfigError::new(
            "schedule",
            None,
            format!("internal error building the schedule: {e:?}"),
        )
    })?;
    Ok(Sim::new(world, schedule))
}
