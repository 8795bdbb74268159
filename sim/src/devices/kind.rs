//! Device kinds as plugins: each kind of device (PLC, HMI, historian, ...) is one module that
//! declares its plant-file section, builds its entities and adds its systems to the tick.
//! The plant builder and the schedule iterate over the registered kinds
//! ([`crate::for_each_device_kind`]), so adding a kind is its module and one registration line.

use crate::base::clock::Wakeups;
use crate::base::config_error::ConfigError;
use crate::base::rng::MasterSeed;
use crate::base::task_clock::{Keeping, TaskClock, TaskTiming};
use crate::base::time::{SimDuration, SimTime};
use crate::devices::summary::DeviceFigures;
use crate::net::Network;
use crate::net::topology::{HostId, Role, Topology};
use crate::process::{Process, SignalId};
use crate::world::SimSet;
use bevy_ecs::prelude::*;
use bevy_ecs::system::ScheduleSystem;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::sync::Arc;
use toml::Spanned;

/// A kind of device. See the module documentation.
pub trait DeviceKind {
    /// One entry of the kind's array in the plant file (`[[hmi]]`, say).
    type Config: Clone + std::fmt::Debug + serde::de::DeserializeOwned;
    /// Builds the devices of every entry into the world; errors name the entry's field.
    fn build(configs: &[Self::Config], cx: &mut BuildCx<'_>) -> Result<(), ConfigError>;
    /// Adds the kind's systems to the tick, each in its phase ([`KindSystems::add`]).
    fn systems(systems: &mut KindSystems<'_>);
    /// Each of the kind's devices' figures at the end of a run, for the event log (and,
    /// from it, results.json). A kind without figures of its own keeps this default.
    fn summaries(_world: &mut World) -> Vec<(HostId, DeviceFigures)> {
        Vec::new()
    }
    /// The Modbus servers the kind's devices offer, which live mode puts on real sockets
    /// (answering from the same CPU the simulation scans). Kinds that serve nothing keep
    /// this default.
    fn modbus_servers(_world: &mut World) -> Vec<ModbusServer> {
        Vec::new()
    }
    /// The hosts of the kind's devices that poll Modbus servers, whose requests live mode
    /// carries to real sockets when the server is real. Kinds that poll nothing keep this
    /// default.
    fn modbus_clients(_world: &mut World) -> Vec<HostId> {
        Vec::new()
    }
}

/// A Modbus server a device offers: what live mode needs to answer for it on a socket.
pub struct ModbusServer {
    /// The device's host.
    pub host: HostId,
    /// The device's name, for errors and events.
    pub name: String,
    /// The register memory and counters, shared with the device in the simulation.
    pub cpu: crate::devices::plc::SharedCpu,
    /// When answers leave (the scan cycle and communication time), shared likewise.
    pub timing: Arc<crate::devices::plc::ScanTiming>,
}

/// What a kind's builder works with: the world being built and what the plant gives it.
pub struct BuildCx<'a> {
    /// The world; each host is already an entity ([`BuildCx::entity`]).
    pub world: &'a mut World,
    /// The plant's topology.
    pub topo: &'a Arc<Topology>,
    /// The network, for kinds that place middleboxes or need wake-ups on delivery.
    pub net: &'a mut Network,
    /// First wake-ups of periodic devices.
    pub wake: &'a mut Wakeups,
    /// The run's seed, for a kind's own named streams.
    pub seed: &'a MasterSeed,
    /// The process, whose signals a PLC's I/O wires name.
    pub process: &'a Process,
    index: &'a [Entity],
    start: ChaCha8Rng,
    claimed: BTreeMap<HostId, &'static str>,
    /// Which device output drives each process signal (its field path), so a second
    /// driver is an error naming the first.
    drivers: BTreeMap<SignalId, String>,
    /// The register map each Modbus server declares, so clients' polls are checked
    /// against it.
    pub(crate) maps: BTreeMap<HostId, MapSizes>,
    /// Errors found while building that did not stop the build, so a check reports them
    /// all.
    pub(crate) errors: Vec<ConfigError>,
    /// What is allowed but probably not meant.
    pub(crate) warnings: Vec<ConfigError>,
}

/// Every Modbus server's declared map, kept after building so files checked against the
/// plant later (playbooks) can check their addresses too.
#[derive(Resource, Debug, Default, Clone)]
pub struct ModbusMaps(pub BTreeMap<HostId, MapSizes>);

/// The sizes of a Modbus server's four tables, for checking the addresses its clients use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapSizes {
    /// Coils (`co:`).
    pub coils: u32,
    /// Discrete inputs (`di:`).
    pub discrete_inputs: u32,
    /// Input registers (`ir:`).
    pub input_registers: u32,
    /// Holding registers (`hr:`).
    pub holding_registers: u32,
}

impl MapSizes {
    /// The sizes of a register memory's four tables.
    pub fn of<M: crate::plc_logic::PlcMemory + ?Sized>(m: &M) -> MapSizes {
        use crate::plc_logic::Area;
        let len = |a| u32::from(m.len(a));
        MapSizes {
            coils: len(Area::Coil),
            discrete_inputs: len(Area::DiscreteInput),
            input_registers: len(Area::InputRegister),
            holding_registers: len(Area::HoldingRegister),
        }
    }

    /// How many entries the table of `area` has.
    pub fn len(&self, area: crate::plc_logic::Area) -> u32 {
        use crate::plc_logic::Area;
        match area {
            Area::Coil => self.coils,
            Area::DiscreteInput => self.discrete_inputs,
            Area::InputRegister => self.input_registers,
            Area::HoldingRegister => self.holding_registers,
        }
    }

    /// Why `count` entries from `start` in `area` of the server `server` do not fit, if
    /// they do not.
    pub fn out_of_range(
        &self,
        server: &str,
        area: crate::plc_logic::Area,
        start: u16,
        count: u32,
    ) -> Option<String> {
        let len = self.len(area);
        let end = u32::from(start) + count.max(1);
        let p = area.prefix();
        let what = if count > 1 {
            format!("{p}:{start} count {count} (to {p}:{})", end - 1)
        } else {
            format!("{p}:{start}")
        };
        let has = match len {
            0 => format!("has no {}", area.plural()),
            _ => format!("has {len} {} ({p}:0 to {p}:{})", area.plural(), len - 1),
        };
        (end > len).then(|| {
            format!(
                "{what} is outside {server}'s map, which {has}: every such request is answered \
                 with exception 2 (illegal data address)"
            )
        })
    }
}

impl<'a> BuildCx<'a> {
    /// A build context over a world whose hosts are the entities of `index`, in host order.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        world: &'a mut World,
        topo: &'a Arc<Topology>,
        net: &'a mut Network,
        wake: &'a mut Wakeups,
        seed: &'a MasterSeed,
        process: &'a Process,
        index: &'a [Entity],
    ) -> Self {
        BuildCx {
            world,
            topo,
            net,
            wake,
            seed,
            process,
            index,
            // Start offsets spread periodic devices over their period, as unsynchronised
            // real devices are; one stream for all kinds, drawn in registration order.
            start: seed.stream("device-start"),
            claimed: BTreeMap::new(),
            drivers: BTreeMap::new(),
            maps: BTreeMap::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Records an error in one entry and lets the build go on with the others, so
    /// `otrange check` lists every error rather than the first. The entry is left out of
    /// the world; the plant does not run while any error stands.
    pub fn report(&mut self, error: ConfigError) {
        self.errors.push(error);
    }

    /// Records something that is allowed but probably not what the author meant.
    pub fn warn(&mut self, warning: ConfigError) {
        self.warnings.push(warning);
    }

    /// Claims process signal `signal` (named `name`) for the device output at `field`
    /// (located by `span`): the output must drive one of a component's commands, and no
    /// other output may drive the same signal (the last writer would silently win).
    pub fn drive_signal(
        &mut self,
        name: &Spanned<String>,
        field: String,
    ) -> Result<crate::process::SignalId, ConfigError> {
        let span = Some(name.span());
        let id = self
            .process
            .check_drivable(name.get_ref())
            .map_err(|m| ConfigError::new(field.clone(), span.clone(), m))?;
        if let Some(first) = self.drivers.get(&id) {
            return Err(ConfigError::new(
                field,
                span,
                format!(
                    "{} is already driven by {first}; two outputs driving one actuator fight \
                     each other every scan",
                    name.get_ref()
                ),
            ));
        }
        self.drivers.insert(id, field);
        Ok(id)
    }

    /// Declares the register map a Modbus server at `host` offers.
    pub fn declare_map(&mut self, host: HostId, map: MapSizes) {
        self.maps.insert(host, map);
    }

    /// The register map of the Modbus server at `host`, if a device declared one.
    pub fn map_of(&self, host: HostId) -> Option<&MapSizes> {
        self.maps.get(&host)
    }

    /// Checks that a client's read or write of `count` entries from `address` at the server
    /// `server` (both as written, with their spans) stays inside the server's declared
    /// map; an access outside it would be answered with exception 2 (illegal data address)
    /// every time. Reports an error (unresolvable names are reported by the entry's own
    /// build and ignored here).
    pub fn check_access(
        &mut self,
        server: &Spanned<String>,
        address: &Spanned<String>,
        count: u32,
        field: String,
    ) {
        let Ok(host) = self.topo.resolve(server, "") else {
            return;
        };
        let Ok((area, start)) = crate::plc_logic::parse_address(address.get_ref()) else {
            return;
        };
        let map = self.maps.get(&host);
        if let Some(why) = map.and_then(|m| m.out_of_range(server.get_ref(), area, start, count)) {
            self.report(ConfigError::new(field, Some(address.span()), why));
        }
    }

    /// The entity of a host.
    pub fn entity(&self, host: HostId) -> Entity {
        self.index[host.0 as usize]
    }

    /// Resolves an entry's `host` field to a host of one of `roles` that no other device
    /// entry has claimed, and claims it as a `what`.
    pub fn claim_host(
        &mut self,
        host: &Spanned<String>,
        field: String,
        roles: &[Role],
        what: &'static str,
    ) -> Result<HostId, ConfigError> {
        let id = self.topo.resolve(host, &field)?;
        let role = self.topo.host(id).role;
        if !roles.contains(&role) {
            return Err(ConfigError::new(
                field,
                Some(host.span()),
                format!(
                    "host {:?} has role {}, expected {}",
                    self.topo.host(id).name,
                    role.as_str(),
                    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or ")
                ),
            ));
        }
        if let Some(prev) = self.claimed.insert(id, what) {
            return Err(ConfigError::new(
                field,
                Some(host.span()),
                format!(
                    "host {:?} is already configured as a {prev}",
                    self.topo.host(id).name
                ),
            ));
        }
        Ok(id)
    }

    /// A first start time within `period`, drawn from the seed.
    pub fn start_offset(&mut self, period: SimDuration) -> SimTime {
        SimTime(self.start.random_range(0..period.as_nanos().max(1)))
    }

    /// The schedule of `host`'s periodic task: a start offset within its period, and the
    /// device's own clock (drift and jitter from the stream `timing/<host>`).
    pub fn task_clock(
        &mut self,
        host: HostId,
        period: SimDuration,
        keeping: Keeping,
        timing: TaskTiming,
    ) -> TaskClock {
        let first = self.start_offset(period);
        let rng = self.seed.stream(&format!("timing/{}", self.topo.host(host).name));
        TaskClock::new(period, keeping, timing, first, rng)
    }
}

/// One kind's systems in one phase of the tick. Kinds run in registration order within a
/// phase, so two kinds that send frames in the same phase do so in a fixed order.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KindSet {
    /// The kind's registration name.
    pub kind: &'static str,
    /// The phase.
    pub phase: SimSet,
}

/// Where a kind adds its systems: [`KindSystems::add`] puts them in its [`KindSet`] of a
/// phase.
pub struct KindSystems<'a> {
    pub(crate) schedule: &'a mut Schedule,
    pub(crate) kind: &'static str,
}

impl KindSystems<'_> {
    /// Adds `systems` in `phase`, after the kinds registered before this one.
    pub fn add<M>(&mut self, phase: SimSet, systems: impl IntoScheduleConfigs<ScheduleSystem, M>) {
        let set = KindSet {
            kind: self.kind,
            phase,
        };
        self.schedule.add_systems(systems.in_set(set));
    }
    /// Adds `systems` in `phase`, as [`KindSystems::add`] does, for work that must also be
    /// done at scan ticks ([`crate::base::clock::Wakeups::local_at`]): the local work (a
    /// PLC's scan), or work on whatever tick comes (remote I/O mirroring its streams,
    /// unclaimed mail discarded). A scan tick runs no schedule: the runner
    /// ([`crate::world::Sim`]) calls the same logic itself, so a kind adding a local system
    /// adds its call there too (`tests/local_ticks.rs` catches one forgotten).
    pub fn add_local<M>(&mut self, phase: SimSet, systems: impl IntoScheduleConfigs<ScheduleSystem, M>) {
        self.add(phase, systems);
    }
}

/// The phases a kind's systems may run in, each ordered by registration.
pub(crate) const PHASES: [SimSet; 6] = [
    SimSet::FieldIo,
    SimSet::Control,
    SimSet::Agents,
    SimSet::Services,
    SimSet::Observe,
    SimSet::Process,
];

/// Orders the kinds' sets: in every phase, in registration order; in `Services`, after the
/// deliveries are dispatched to the hosts' inboxes.
pub(crate) fn order_kinds(schedule: &mut Schedule, kinds: &[&'static str]) {
    for phase in PHASES {
        let sets: Vec<KindSet> = kinds.iter().map(|&kind| KindSet { kind, phase }).collect();
        for s in &sets {
            schedule.configure_sets(s.in_set(phase));
            if phase == SimSet::Services {
                schedule.configure_sets(s.after(super::host::dispatch_deliveries));
            }
        }
        for w in sets.windows(2) {
            schedule.configure_sets(w[1].after(w[0]));
        }
    }
}
