//! A PLC: the scan cycle (read inputs, run the program, write outputs) over the physical
//! process, and the Modbus server that answers the network from the same register memory.

use crate::clock::{Clock, Wakeups};
use crate::config_error::ConfigError;
use crate::events::{EventKind, EventLog};
use crate::host::ServerInbox;
use crate::modbus::{DropReason, ModbusDeviceConfig, ModbusServer, RegisterMap, ServerReply, Table};
use crate::net::{Network, Payload};
use crate::plc::{AlarmTransition, Area, BlockConfig, OperatingMode, PlcMemory, PlcProgram, SafeStateConfig};
use crate::process::SignalId;
use crate::process_state::ProcessState;
use crate::time::{SimDuration, SimTime, parse_duration};
use bevy_ecs::prelude::*;
use serde::Deserialize;
use toml::Spanned;

/// `[[plc]]` in a plant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlcConfig {
    /// The `[[host]]` this PLC is.
    pub host: Spanned<String>,
    /// Scan cycle period, e.g. "100ms".
    #[serde(default = "default_scan")]
    pub scan_period: Spanned<String>,
    /// Time the CPU spends on a request once the scan ends (communication is served at
    /// the end of each scan, so a response waits for the current scan to finish).
    #[serde(default = "default_comm")]
    pub comm_time: Spanned<String>,
    #[serde(default)]
    pub mode: OperatingMode,
    pub modbus: ModbusDeviceConfig,
    /// Wiring between the register memory and the process.
    #[serde(default)]
    pub io: Vec<IoConfig>,
    #[serde(default)]
    pub program: Vec<BlockConfig>,
    #[serde(default)]
    pub safe_state: Vec<SafeStateConfig>,
    /// Register values at power-up (setpoints, enable bits): the PLC's retained memory.
    #[serde(default)]
    pub init: Vec<InitConfig>,
}

/// `[[plc.init]]`: one register's value at power-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitConfig {
    pub address: Spanned<String>,
    pub value: u16,
}

fn default_scan() -> Spanned<String> {
    Spanned::new(0..0, "100ms".into())
}
fn default_comm() -> Spanned<String> {
    Spanned::new(0..0, "1ms".into())
}

/// One wire: a sensor into a register (`signal` → `to`), or a register out to an actuator
/// (`from` → `signal`). Raw = value * scale + offset for inputs; value = raw * scale +
/// offset for outputs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IoConfig {
    pub signal: Spanned<String>,
    #[serde(default)]
    pub to: Option<Spanned<String>>,
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    #[serde(default = "one")]
    pub scale: f64,
    #[serde(default)]
    pub offset: f64,
}

fn one() -> f64 {
    1.0
}

/// A compiled wire.
#[derive(Debug, Clone)]
pub struct IoWire {
    pub signal: SignalId,
    pub area: Area,
    pub addr: u16,
    pub scale: f64,
    pub offset: f64,
    pub input: bool,
}

/// The PLC component.
#[derive(Component)]
pub struct Plc {
    pub name: String,
    pub server: ModbusServer,
    pub program: PlcProgram,
    pub mode: OperatingMode,
    pub scan_period: SimDuration,
    pub comm_time: SimDuration,
    pub next_scan: SimTime,
    /// When the last scan ended: the moment the CPU serves its communication queue.
    pub last_scan: Option<SimTime>,
    pub io: Vec<IoWire>,
    pub scans: u64,
    pub stats: PlcStats,
    alarms: Vec<AlarmTransition>,
}

/// What the PLC's Modbus server did over the run (the spec's own counters are 16-bit and
/// wrap; these do not).
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct PlcStats {
    pub requests: u64,
    pub exceptions: u64,
    pub busy: u64,
    pub dropped: u64,
    pub writes: u64,
}

/// The program sees the Modbus register map as its process image. Writes from the program
/// (and from field inputs) bypass the read-only ranges, which only guard against clients.
impl PlcMemory for RegisterMap {
    fn get(&self, area: Area, addr: u16) -> Option<u16> {
        match area {
            Area::Coil => self.coil(addr).map(u16::from),
            Area::DiscreteInput => self.discrete_input(addr).map(u16::from),
            Area::InputRegister => self.input_register(addr),
            Area::HoldingRegister => self.holding_register(addr),
        }
    }
    fn set(&mut self, area: Area, addr: u16, v: u16) -> bool {
        match area {
            Area::Coil => self.set_coil(addr, v != 0).is_ok(),
            Area::DiscreteInput => self.set_discrete_input(addr, v != 0).is_ok(),
            Area::InputRegister => self.set_input_register(addr, v).is_ok(),
            Area::HoldingRegister => self.set_holding_register(addr, v).is_ok(),
        }
    }
    fn len(&self, area: Area) -> u16 {
        let table = match area {
            Area::Coil => Table::Coils,
            Area::DiscreteInput => Table::DiscreteInputs,
            Area::InputRegister => Table::InputRegisters,
            Area::HoldingRegister => Table::HoldingRegisters,
        };
        RegisterMap::len(self, table).min(usize::from(u16::MAX)) as u16
    }
}

impl Plc {
    /// Builds a PLC from its config against the process it is wired to.
    pub fn build(
        cfg: &PlcConfig,
        idx: usize,
        name: &str,
        process: &crate::process::Process,
    ) -> Result<Plc, ConfigError> {
        let field = |f: &str| format!("plc[{idx}].{f}");
        let scan_period = parse_duration(cfg.scan_period.get_ref()).map_err(|e| {
            ConfigError::new(field("scan_period"), Some(cfg.scan_period.span()), e.to_string())
        })?;
        if scan_period < SimDuration::from_micros(100) {
            return Err(ConfigError::new(
                field("scan_period"),
                Some(cfg.scan_period.span()),
                "a scan period must be at least 100us",
            ));
        }
        let comm_time = parse_duration(cfg.comm_time.get_ref())
            .map_err(|e| ConfigError::new(field("comm_time"), Some(cfg.comm_time.span()), e.to_string()))?;
        let mut server = ModbusServer::from_config(&cfg.modbus)
            .map_err(|e| ConfigError::new(format!("plc[{idx}].{}", e.field), None, e.message.clone()))?;
        for (i, init) in cfg.init.iter().enumerate() {
            let (area, addr) = crate::plc::parse_address(init.address.get_ref()).map_err(|m| {
                ConfigError::new(field(&format!("init[{i}].address")), Some(init.address.span()), m)
            })?;
            if !server.map_mut().set(area, addr, init.value) {
                return Err(ConfigError::new(
                    field(&format!("init[{i}].address")),
                    Some(init.address.span()),
                    format!("{} is outside this PLC's register map", init.address.get_ref()),
                ));
            }
        }
        let mut io = Vec::new();
        for (i, w) in cfg.io.iter().enumerate() {
            let sig = process.signal_id(w.signal.get_ref()).ok_or_else(|| {
                ConfigError::new(
                    field(&format!("io[{i}].signal")),
                    Some(w.signal.span()),
                    format!("unknown process signal {:?}", w.signal.get_ref()),
                )
            })?;
            let (operand, input, f) = match (&w.to, &w.from) {
                (Some(to), None) => (to, true, "to"),
                (None, Some(from)) => (from, false, "from"),
                _ => {
                    return Err(ConfigError::new(
                        field(&format!("io[{i}]")),
                        Some(w.signal.span()),
                        "an io wire needs exactly one of `to` (sensor into a register) or `from` (register out to an actuator)",
                    ));
                }
            };
            let (area, addr) = crate::plc::parse_address(operand.get_ref())
                .map_err(|m| ConfigError::new(field(&format!("io[{i}].{f}")), Some(operand.span()), m))?;
            if server.map().get(area, addr).is_none() {
                return Err(ConfigError::new(
                    field(&format!("io[{i}].{f}")),
                    Some(operand.span()),
                    format!("{} is outside this PLC's register map", operand.get_ref()),
                ));
            }
            io.push(IoWire {
                signal: sig,
                area,
                addr,
                scale: w.scale,
                offset: w.offset,
                input,
            });
        }
        let program = PlcProgram::compile(&cfg.program, &cfg.safe_state, server.map()).map_err(|e| {
            ConfigError::new(
                format!("plc[{idx}].{}", e.field),
                e.span.clone(),
                e.message.clone(),
            )
        })?;
        Ok(Plc {
            name: name.to_string(),
            server,
            program,
            mode: cfg.mode,
            scan_period,
            comm_time,
            next_scan: SimTime::ZERO,
            last_scan: None,
            io,
            scans: 0,
            stats: PlcStats::default(),
            alarms: Vec::new(),
        })
    }

    fn due(&self, now: SimTime) -> bool {
        self.next_scan <= now
    }

    /// Changes mode, logging the change.
    pub fn set_mode(&mut self, mode: OperatingMode, now: SimTime, log: &mut EventLog) {
        if mode != self.mode {
            log.push(
                now,
                EventKind::ModeChange {
                    device: self.name.clone(),
                    from: self.mode.as_str().into(),
                    to: mode.as_str().into(),
                },
            );
            self.mode = mode;
        }
    }
}

/// Field I/O: PLCs whose scan is due copy sensor values into their input image.
pub fn plc_read_inputs(clock: Res<Clock>, process: Res<ProcessState>, mut plcs: Query<&mut Plc>) {
    let now = clock.now;
    for mut plc in &mut plcs {
        if !plc.due(now) {
            continue;
        }
        let plc = &mut *plc;
        let map = plc.server.map_mut();
        for w in plc.io.iter().filter(|w| w.input) {
            let raw = (process.process.get(w.signal) * w.scale + w.offset)
                .round()
                .clamp(0.0, 65535.0) as u16;
            map.set(w.area, w.addr, raw);
        }
    }
}

/// Control: run the program (or hold the safe state when not in run mode), drive the
/// actuators, and schedule the next scan.
pub fn plc_scan(
    clock: Res<Clock>,
    mut process: ResMut<ProcessState>,
    mut wake: ResMut<Wakeups>,
    mut log: ResMut<EventLog>,
    mut plcs: Query<&mut Plc>,
) {
    let now = clock.now;
    for mut plc in &mut plcs {
        if !plc.due(now) {
            continue;
        }
        let plc = &mut *plc;
        let dt = plc.scan_period.as_secs_f64();
        if plc.mode == OperatingMode::Run {
            plc.program.scan(plc.server.map_mut(), dt, &mut plc.alarms);
        } else {
            plc.program.apply_safe_state(plc.server.map_mut());
        }
        for a in plc.alarms.drain(..) {
            log.push(
                now,
                EventKind::Alarm {
                    device: plc.name.clone(),
                    name: a.name,
                    raised: a.raised,
                    value: a.value,
                    threshold: a.threshold,
                },
            );
        }
        let map: &RegisterMap = plc.server.map();
        for w in plc.io.iter().filter(|w| !w.input) {
            let raw = map.get(w.area, w.addr).unwrap_or(0);
            process.process.set(w.signal, f64::from(raw) * w.scale + w.offset);
        }
        plc.scans += 1;
        plc.last_scan = Some(now);
        plc.next_scan = now + plc.scan_period;
        wake.at(plc.next_scan);
    }
}

/// Services: at the end of each scan a PLC serves the Modbus requests that arrived during
/// it, as a real CPU's communication task does; each reply leaves after the CPU's
/// communication time. This is why poll latency on a real PLC is bounded by its scan cycle,
/// and why a PLC needs no tick of its own when a request arrives.
pub fn plc_serve(
    clock: Res<Clock>,
    mut net: ResMut<Network>,
    mut log: ResMut<EventLog>,
    mut plcs: Query<(&mut Plc, &mut ServerInbox)>,
) {
    let now = clock.now;
    for (mut plc, mut inbox) in &mut plcs {
        if inbox.0.is_empty() || plc.last_scan != Some(now) {
            continue;
        }
        for d in inbox.0.drain(..) {
            let Payload::Modbus(adu) = &d.frame.payload else {
                continue; // a non-Modbus flow to a PLC: nothing listens
            };
            let handled = plc.server.handle_adu(adu, d.at.as_nanos());
            plc.stats.requests += 1;
            plc.stats.writes += u64::from(handled.wrote);
            match handled.reply {
                ServerReply::Respond(bytes) => {
                    if let Some(code) = handled.exception {
                        plc.stats.exceptions += 1;
                        if code == 6 {
                            plc.stats.busy += 1;
                        }
                        log.push(
                            d.at,
                            EventKind::ModbusException {
                                frame: d.frame.id.0,
                                device: plc.name.clone(),
                                client: net.topology().host(d.frame.src).name.clone(),
                                function: handled.function,
                                code,
                            },
                        );
                    }
                    net.reply(now + plc.comm_time, &d.frame, Payload::Modbus(bytes));
                }
                ServerReply::Drop => {
                    plc.stats.dropped += 1;
                    if matches!(handled.dropped, Some(DropReason::Overloaded)) {
                        log.push(
                            d.at,
                            EventKind::FrameDropped {
                                frame: d.frame.id.0,
                                src: net.topology().host(d.frame.src).name.clone(),
                                dst: plc.name.clone(),
                                at: plc.name.clone(),
                                reason: "device overloaded (request dropped by the CPU)".into(),
                            },
                        );
                    }
                }
            }
        }
    }
}
