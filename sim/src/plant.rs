//! A plant file and the world built from it: topology, process, devices, network.

use crate::base::clock::{Clock, Wakeups};
use crate::base::config_error::ConfigError;
use crate::base::events::EventLog;
use crate::base::rng::MasterSeed;
use crate::base::time::{DurationField, SimDuration};
use crate::devices::host::{ClientInbox, HostIndex, HostRef, ServerInbox};
use crate::devices::kind::{BuildCx, DeviceKind, KindSystems, order_kinds};
use crate::devices::summary::DeviceFigures;
use crate::devices::traffic::FlowServer;
use crate::net::topology::{HostConfig, HostId, LinkConfig, Service, Topology, ZoneConfig};
use crate::net::{FrameCounter, Network, Stage};
use crate::process::state::ProcessState;
use crate::process::{Process, ProcessConfig};
use crate::world::{Sim, tick_schedule};
use bevy_ecs::prelude::*;
use serde::Deserialize;
use std::sync::Arc;
use toml::Spanned;

/// Generates [`PlantConfig`] with one array per registered device kind, and the functions
/// that build and schedule every kind, from the registry's list.
macro_rules! plant_with_devices {
    ($( $section:literal => $field:ident : $kind:ty ),* $(,)?) => {
        /// A plant file: the plant's network, process and devices.
        #[derive(Debug, Clone, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct PlantConfig {
            /// `[plant]`: its name and simulation settings.
            pub plant: PlantInfo,
            /// `[[zone]]`: security zones and their Purdue levels.
            #[serde(default, rename = "zone")]
            pub zones: Vec<ZoneConfig>,
            /// `[[host]]`: every host, network devices included.
            #[serde(default, rename = "host")]
            pub hosts: Vec<HostConfig>,
            /// `[[link]]`: the cables between hosts, from which routes are computed.
            #[serde(default, rename = "link")]
            pub links: Vec<LinkConfig>,
            /// `[process]`: the physics the PLCs are wired to.
            #[serde(default)]
            pub process: ProcessConfig,
            /// `[[tap]]`: frame counters placed at hosts.
            #[serde(default, rename = "tap")]
            pub taps: Vec<TapConfig>,
            /// `[tsn]`: clock synchronisation, TSN switches and streams.
            #[serde(default)]
            pub tsn: crate::net::tsn::config::TsnConfig,
            /// `[[instance]]`: templates instantiated into this plant; already expanded into
            /// the other fields by [`crate::templates::expand`] when the file was read.
            #[serde(default, rename = "instance")]
            pub instances: Vec<crate::templates::InstanceConfig>,
            $(
                #[doc = concat!("`[[", $section, "]]`: this device kind's entries, handed to its builder.")]
                #[serde(default, rename = $section)]
                pub $field: Vec<<$kind as DeviceKind>::Config>,
            )*
        }

        /// Builds every kind's devices, in registration order.
        fn build_devices(cfg: &PlantConfig, cx: &mut BuildCx<'_>) -> Result<(), ConfigError> {
            $( <$kind as DeviceKind>::build(&cfg.$field, cx)?; )*
            Ok(())
        }

        /// Every device's figures at the end of a run: kinds in registration order, each
        /// kind's devices in host order.
        pub(crate) fn device_summaries(world: &mut World) -> Vec<(HostId, DeviceFigures)> {
            let mut out = Vec::new();
            $(
                let mut figures = <$kind as DeviceKind>::summaries(world);
                figures.sort_by_key(|(host, _)| *host);
                out.extend(figures);
            )*
            out
        }

        /// Every Modbus server the devices offer, kinds in registration order, each kind's
        /// devices in host order (live mode binds them in this order).
        #[cfg(feature = "live")]
        pub(crate) fn modbus_servers(world: &mut World) -> Vec<$crate::devices::kind::ModbusServer> {
            let mut out = Vec::new();
            $(
                let mut servers = <$kind as DeviceKind>::modbus_servers(world);
                servers.sort_by_key(|s| s.host);
                out.extend(servers);
            )*
            out
        }

        /// Every host whose device polls Modbus servers, in host order (for live mode).
        #[cfg(feature = "live")]
        pub(crate) fn modbus_clients(world: &mut World) -> Vec<HostId> {
            let mut out = Vec::new();
            $( out.extend(<$kind as DeviceKind>::modbus_clients(world)); )*
            out.sort();
            out.dedup();
            out
        }

        /// Adds every kind's systems to the tick, ordered by registration within a phase.
        pub(crate) fn add_device_systems(schedule: &mut Schedule) {
            order_kinds(schedule, &[$( $section ),*]);
            $(
                <$kind as DeviceKind>::systems(&mut KindSystems { schedule: &mut *schedule, kind: $section });
            )*
        }
    };
}

crate::for_each_device_kind!(plant_with_devices);

/// `[plant]`: name and simulation settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantInfo {
    /// The plant's name, as results.json and the CLI report it.
    pub name: String,
    /// Free text for people; the simulation ignores it.
    #[serde(default)]
    pub description: String,
    /// Physics integration step; the process is integrated in whole steps of this size.
    #[serde(default = "default_step")]
    pub physics_step: Spanned<DurationField>,
}

fn default_step() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("100ms"))
}

/// `[[tap]]`: a frame counter at a host (a switch's SPAN port, say), whose totals results.json
/// lists under `taps`. Detectors name their own hosts in their detector set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TapConfig {
    /// Its name in `sensor_summary` events and results.json's `taps`.
    pub name: String,
    /// The hosts (usually switches) whose frames it counts.
    pub at: Vec<Spanned<String>>,
}

/// Builds a runnable simulation from a plant and a seed; fails with the plant's first
/// error ([`build_checked`] finds them all, and the warnings).
pub fn build(cfg: &PlantConfig, seed: u64) -> Result<Sim, ConfigError> {
    build_checked(cfg, seed)
        .map(|(sim, _)| sim)
        .map_err(|mut errors| errors.swap_remove(0))
}

/// Builds a runnable simulation and returns it with the plant's warnings (what is allowed
/// but probably not meant), or every error found: the network's first (a broken topology
/// stops the check), then each process component's, limit's and band's, then each device
/// entry's and each mis-wiring, in that order.
pub fn build_checked(cfg: &PlantConfig, seed: u64) -> Result<(Sim, Vec<ConfigError>), Vec<ConfigError>> {
    let topo = Arc::new(Topology::build(&cfg.zones, &cfg.hosts, &cfg.links).map_err(|e| vec![e])?);
    let (mut process, mut errors) = Process::build(&cfg.process);
    process.seed(&MasterSeed(seed));
    let dt = cfg.plant.physics_step.get_ref().value;
    if dt < SimDuration::from_millis(1) || dt > SimDuration::from_secs(10) {
        errors.insert(
            0,
            ConfigError::new(
                "plant.physics_step",
                Some(cfg.plant.physics_step.span()),
                "the physics step must be between 1ms and 10s",
            ),
        );
    }
    let seed = MasterSeed(seed);
    let mut world = World::new();
    let mut net = Network::new(Arc::clone(&topo));
    match crate::net::tsn::Tsn::build(&cfg.tsn, &topo, seed) {
        Ok(tsn) => net.install_tsn(tsn),
        Err(e) => {
            errors.push(e);
            return Err(errors);
        }
    }
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
    let mut cx = BuildCx::new(&mut world, &topo, &mut net, &mut wake, &seed, &process, &index);
    if let Err(e) = build_devices(cfg, &mut cx) {
        cx.report(e);
    }
    errors.append(&mut cx.errors);
    let warnings = std::mem::take(&mut cx.warnings);
    let maps = crate::devices::kind::ModbusMaps(std::mem::take(&mut cx.maps));
    for (i, t) in cfg.taps.iter().enumerate() {
        let nodes =
            t.at.iter()
                .enumerate()
                .map(|(k, n)| topo.resolve(n, &format!("tap[{i}].at[{k}]")))
                .collect::<Result<Vec<_>, _>>();
        let nodes = match nodes {
            Ok(nodes) => nodes,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        net.add_middlebox(
            Box::new(FrameCounter::new(t.name.clone())),
            Stage::Observe,
            &nodes,
        );
    }

    world.insert_resource(Clock::default());
    world.insert_resource(crate::base::calendar::Calendar::default());
    world.insert_resource(wake);
    world.insert_resource(seed);
    world.insert_resource(EventLog::default());
    world.insert_resource(net);
    world.insert_resource(ProcessState::new(process, dt));
    world.insert_resource(HostIndex(index));
    world.insert_resource(maps);
    world.insert_resource(crate::devices::host::LabelledReplies::default());
    world.insert_resource(crate::devices::host::MailedThisTick::default());
    world.insert_resource(crate::devices::host::RequestsWaiting::default());
    world.insert_resource(crate::base::clock::AgentsPending::default());
    world.insert_resource(crate::devices::host_log::HostLog::default());
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut schedule = tick_schedule();
    schedule.initialize(&mut world).map_err(|e| {
        vec![ConfigError::new(
            "schedule",
            None,
            format!("internal error building the schedule: {e:?}"),
        )]
    })?;
    Ok((Sim::new(world, schedule), warnings))
}
