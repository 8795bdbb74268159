//! A PLC: the scan cycle (read inputs, run the program, write outputs) over the physical
//! process, and the Modbus server that answers the network from the same register memory.

use crate::base::clock::Clock;
use crate::base::config_error::ConfigError;
use crate::base::events::{EventKind, EventLog};
use crate::base::task_clock::{DEFAULT_SCAN_JITTER, Keeping, TaskClock, TaskTiming};
use crate::base::time::{DurationField, SimDuration, SimTime};
use crate::devices::host::ServerInbox;
use crate::devices::modbus::server::Handled;
use crate::devices::modbus::{DropReason, ModbusDeviceConfig, ModbusServer, RegisterMap, ServerReply, Table};
use crate::net::topology::Role;
use crate::net::{Network, Payload};
use crate::plc_logic::{
    AlarmTransition, Area, BlockConfig, OperatingMode, PlcLogicConfig, PlcMemory, PlcProgram, SafeStateConfig,
};
use crate::process::SignalId;
use crate::process::state::ProcessState;
use crate::wire::modbus::value::{ValueType, WordOrder};
use crate::wire::modbus::{Adu, emit_adu};
use bevy_ecs::prelude::*;
use serde::Deserialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use toml::Spanned;

/// `[[plc]]` in a plant file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlcConfig {
    /// The `[[host]]` this PLC is.
    pub host: Spanned<String>,
    /// Scan cycle period, e.g. "100ms".
    #[serde(default = "default_scan")]
    pub scan_period: Spanned<DurationField>,
    /// Time the CPU spends on a request once the scan ends (communication is served at
    /// the end of each scan, so a response waits for the current scan to finish).
    #[serde(default = "default_comm")]
    pub comm_time: Spanned<DurationField>,
    /// Largest delay of a scan's start past its due time (default 200 us, at most a tenth
    /// of the scan period); "0s" scans on the dot.
    pub jitter: Option<Spanned<DurationField>>,
    /// Bound of the PLC clock's rate error in ppm, drawn ± per run (default 100; 0 for a
    /// perfect clock).
    pub drift_ppm: Option<Spanned<f64>>,
    /// Operating mode at power-up (default `run`).
    #[serde(default)]
    pub mode: OperatingMode,
    /// A protection relay or safety instrumented system: when it stops executing its logic
    /// (leaves run mode), the plant has lost a protective function, recorded as T0837 Loss
    /// of Protection (default false).
    #[serde(default)]
    pub protection: bool,
    /// Answer the vendor function code FC 90 (UMAS-like: identity, PLC state, start and
    /// stop, programs, the input image and its forces, firmware), as Schneider PLCs do; off,
    /// FC 90 is an illegal function (exception 1).
    #[serde(default)]
    pub vendor_function: bool,
    /// `[plc.modbus]`: the Modbus server's register map, protections, capacity and identity.
    pub modbus: ModbusDeviceConfig,
    /// Wiring between the register memory and the process.
    #[serde(default)]
    pub io: Vec<IoConfig>,
    /// The program's blocks, run in order every scan while the PLC is in run mode.
    #[serde(default)]
    pub program: Vec<BlockConfig>,
    /// The values outputs are held at while the PLC is not in run mode.
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
    /// The register or bit, e.g. "hr:3" or "co:0", or a typed register as in programs
    /// ("hr:3:i16", "hr:4:f32:low_first"); must be inside the register map.
    pub address: Spanned<String>,
    /// Its value: raw 0..=65535 for a plain register (non-zero sets a bit), a number the
    /// type holds for a typed one.
    pub value: Spanned<f64>,
}

/// Whether an initial value is one the register holds exactly: an integer in the type's range
/// (0..=65535 for a plain register or a bit, where any non-zero sets it), any finite number
/// for f32.
fn init_value_fits(reg: crate::plc_logic::RegRef, v: f64) -> Result<(), String> {
    use crate::wire::modbus::value::ValueType as T;
    let (lo, hi) = match reg.ty {
        T::U16 => (0.0, 65535.0),
        T::I16 => (-32768.0, 32767.0),
        T::U32 => (0.0, f64::from(u32::MAX)),
        T::I32 => (f64::from(i32::MIN), f64::from(i32::MAX)),
        T::F32 if v.is_finite() && v.abs() <= f64::from(f32::MAX) => return Ok(()),
        T::F32 => return Err(format!("expected a finite number for {reg}, found {v}")),
    };
    if v.fract() == 0.0 && (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(format!("expected an integer in {lo}..={hi} for {reg}, found {v}"))
    }
}

fn default_scan() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("100ms"))
}
fn default_comm() -> Spanned<DurationField> {
    Spanned::new(0..0, DurationField::default_of("1ms"))
}

/// One wire: a sensor into a register (`signal` → `to`), or a register out to an actuator
/// (`from` → `signal`). Raw = value * scale + offset for inputs; value = raw * scale +
/// offset for outputs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IoConfig {
    /// The process signal wired, by its full name.
    pub signal: Spanned<String>,
    /// For a sensor: the register the signal is read into, e.g. "ir:0".
    #[serde(default)]
    pub to: Option<Spanned<String>>,
    /// For an actuator: the register that drives the signal, e.g. "co:0" or "hr:2".
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    /// Multiplier of the conversion (default 1).
    #[serde(default = "one")]
    pub scale: f64,
    /// Added after scaling (default 0).
    #[serde(default)]
    pub offset: f64,
    /// How the register holds the value (default `u16`; `i16`, `u32`, `i32`, `f32`; the
    /// 32-bit types use this register and the next).
    #[serde(default, rename = "type")]
    pub value_type: ValueType,
    /// Which register of a 32-bit value comes first (default `high_first`).
    #[serde(default)]
    pub word_order: WordOrder,
}

fn one() -> f64 {
    1.0
}

/// A PLC's wires, inline up to four.
pub type IoWires = smallvec::SmallVec<[IoWire; 4]>;

/// A compiled wire.
#[derive(Debug, Clone)]
pub struct IoWire {
    /// The process signal.
    pub signal: SignalId,
    /// The register's data area.
    pub area: Area,
    /// The register's address in that area.
    pub addr: u16,
    /// Multiplier of the conversion.
    pub scale: f64,
    /// Added after scaling.
    pub offset: f64,
    /// True for a sensor (signal into the register at each scan's field I/O), false for an
    /// actuator (register out to the signal after each scan).
    pub input: bool,
    /// How the register (or the two) hold the value.
    pub value_type: ValueType,
    /// The word order of a 32-bit value.
    pub word_order: WordOrder,
}

/// The part of a PLC that answers the network: its Modbus server (register memory,
/// identity, capacity) and its counters. Shared in live mode ([`Cpu::share`]), where real
/// sockets reach the same memory from tokio tasks while the scan runs in the simulation
/// thread.
#[derive(Clone)]
#[repr(C)]
pub struct ModbusCpu {
    // In declaration order (`repr(C)`): what a scan reads first (see `Plc`'s layout).
    /// FC 90 support, when the PLC has it (boxed: most PLCs have none, and a scan should
    /// not step over its bytes).
    pub vendor: Option<Box<super::vendor::VendorState>>,
    /// The Modbus server: the register memory the program scans and clients read and write.
    pub server: ModbusServer,
    /// What the server has done so far, counted by [`ModbusCpu::serve`].
    pub stats: PlcStats,
}

impl ModbusCpu {
    /// Serves one request ADU that arrived at `at`, counting it. Batch and live mode both
    /// answer through here, so a device behaves the same on either.
    pub fn serve(&mut self, adu: &[u8], at: SimTime) -> Handled {
        let mut handled = self.server.handle_adu(adu, at.as_nanos());
        // The generic server calls FC 90 illegal after its checks (capacity, listen-only,
        // framing) passed; a PLC with the vendor protocol answers it instead.
        if let Some(v) = self.vendor.as_mut()
            && handled.function == super::vendor::FC_VENDOR
            && handled.exception == Some(1)
            && let Ok(request) = Adu::new_checked(adu)
        {
            let pdu = super::vendor::handle(request.pdu(), v, self.server.map());
            let reply = emit_adu(request.transaction_id(), request.unit_id(), &pdu);
            handled.reply = ServerReply::Respond(reply);
            handled.exception = None;
        }
        // A restart (FC 8 sub-function 1, answered or, from listen-only, not) restarts the
        // PLC at its next scan: out of firmware-update mode, its force table cleared.
        if let Some(v) = self.vendor.as_mut()
            && handled.function == crate::wire::modbus::FC_DIAGNOSTICS
            && handled.exception.is_none()
            && handled.malformed.is_none()
            && matches!(handled.dropped, None | Some(DropReason::RestartedFromListenOnly))
            && let Ok(request) = Adu::new_checked(adu)
            && crate::wire::modbus::be_u16(request.pdu(), 1)
                == Some(crate::devices::modbus::server::DIAG_RESTART_COMMUNICATIONS)
        {
            v.restart = true;
        }
        self.stats.requests += 1;
        self.stats.writes += u64::from(handled.wrote);
        match (&handled.reply, handled.exception) {
            (ServerReply::Respond(_), Some(code)) => {
                self.stats.exceptions += 1;
                self.stats.busy += u64::from(code == 6);
            }
            (ServerReply::Drop, _) => self.stats.dropped += 1,
            _ => {}
        }
        handled
    }
}

/// The event a served request is worth logging, if any: an exception answer, or a request
/// the overloaded CPU dropped. `names` gives the device's and the client's names, asked only
/// when there is an event: nearly every request has none, and the names lie in lines of
/// memory a request otherwise never reads (at 10,000 PLCs, a miss each).
pub fn served_event<'a>(
    handled: &Handled,
    frame: u64,
    names: impl FnOnce() -> (&'a str, &'a str),
) -> Option<EventKind> {
    match (&handled.reply, handled.exception) {
        (ServerReply::Respond(_), Some(code)) => {
            let (device, client) = names();
            Some(EventKind::ModbusException {
                frame,
                device: device.to_string(),
                client: client.to_string(),
                function: handled.function,
                code,
            })
        }
        (ServerReply::Drop, _) if matches!(handled.dropped, Some(DropReason::Overloaded)) => {
            let (device, client) = names();
            Some(EventKind::FrameDropped {
                frame,
                src: client.to_string(),
                dst: device.to_string(),
                at: device.to_string(),
                reason: "device overloaded (request dropped by the CPU)".into(),
            })
        }
        _ => None,
    }
}

/// A handle on a PLC's [`ModbusCpu`] that live mode's socket tasks share.
pub type SharedCpu = Arc<Mutex<ModbusCpu>>;

/// A PLC's CPU. In batch runs only the simulation holds it, in the PLC itself, so a scan
/// reaches its memory without a lock or a pointer to follow (at a thousand PLCs and more,
/// every scan starts with cache misses, one per separate allocation it reads). Once live
/// mode's socket tasks hold a handle ([`Cpu::share`]) it lives behind a lock and every
/// access locks.
pub struct Cpu(CpuSlot);

// The owned CPU is large and the shared handle a pointer: boxing the owned one would put
// back the pointer to follow that this type exists to avoid.
#[allow(clippy::large_enum_variant)]
// Tagged at its start (`repr(u8)`): a scan asks which variant first, and the compiler's
// choice of a spare bit would put the answer in any of the CPU's lines.
#[repr(u8)]
enum CpuSlot {
    Owned(ModbusCpu),
    Shared(SharedCpu),
}

/// Access to a [`Cpu`] for the length of one scan or one batch of answers.
pub enum CpuGuard<'a> {
    /// Batch: a plain borrow.
    Owned(&'a mut ModbusCpu),
    /// Live: the lock, held until the guard is dropped.
    Shared(MutexGuard<'a, ModbusCpu>),
}

impl std::ops::Deref for CpuGuard<'_> {
    type Target = ModbusCpu;
    fn deref(&self) -> &ModbusCpu {
        match self {
            CpuGuard::Owned(c) => c,
            CpuGuard::Shared(g) => g,
        }
    }
}

impl std::ops::DerefMut for CpuGuard<'_> {
    fn deref_mut(&mut self) -> &mut ModbusCpu {
        match self {
            CpuGuard::Owned(c) => c,
            CpuGuard::Shared(g) => g,
        }
    }
}

/// A poisoned lock is still usable: a panic elsewhere while holding it cannot leave the
/// memory half written (every handler call completes).
fn lock(cpu: &SharedCpu) -> MutexGuard<'_, ModbusCpu> {
    cpu.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cpu {
    fn new(cpu: ModbusCpu) -> Self {
        Cpu(CpuSlot::Owned(cpu))
    }
    /// The CPU for one scan or one batch of answers.
    pub fn get(&mut self) -> CpuGuard<'_> {
        match &mut self.0 {
            CpuSlot::Owned(c) => CpuGuard::Owned(c),
            CpuSlot::Shared(s) => CpuGuard::Shared(lock(s)),
        }
    }
    /// The counters, for results.
    pub fn stats(&self) -> PlcStats {
        match &self.0 {
            CpuSlot::Owned(c) => c.stats,
            CpuSlot::Shared(s) => lock(s).stats,
        }
    }
    /// Whether live mode's tasks hold a handle on it.
    pub fn is_shared(&self) -> bool {
        matches!(self.0, CpuSlot::Shared(_))
    }
    /// A handle other threads can serve requests through (live mode); from now on the
    /// simulation locks too.
    pub fn share(&mut self) -> SharedCpu {
        let shared = match &self.0 {
            CpuSlot::Shared(s) => return Arc::clone(s),
            CpuSlot::Owned(c) => Arc::new(Mutex::new(c.clone())),
        };
        self.0 = CpuSlot::Shared(Arc::clone(&shared));
        shared
    }
}

/// The scan timing live mode needs to answer a socket at the modelled time: a request is
/// answered when the scan in progress ends, plus the CPU's communication time.
#[derive(Debug)]
pub struct ScanTiming {
    next_scan_ns: AtomicU64,
    /// When the communication task is free again (live mode answers in turn, as batch does).
    comm_free_ns: AtomicU64,
    /// Time between two scans.
    pub scan_period: SimDuration,
    /// Time the communication task spends on each answer.
    pub comm_time: SimDuration,
}

impl ScanTiming {
    /// When the scan in progress ends.
    pub fn next_scan(&self) -> SimTime {
        SimTime(self.next_scan_ns.load(Ordering::Relaxed))
    }

    /// Books the communication task for a request that arrived at `at`: it is answered
    /// when the scan in progress has ended and every request booked before it is answered,
    /// plus the communication time. Returns that time.
    pub fn book_answer(&self, at: SimTime) -> SimTime {
        let start = self.next_scan().max(at).as_nanos();
        let comm = self.comm_time.as_nanos();
        let mut due = 0;
        // A compare-and-swap loop: socket tasks of one device book concurrently.
        let _ = self
            .comm_free_ns
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |free| {
                due = start.max(free) + comm;
                Some(due)
            });
        SimTime(due)
    }
}

/// The PLC component.
///
/// Laid out for the sweep of scans done ahead, which visits every PLC once per physics step
/// and, at 10,000 PLCs, misses the cache on each line of a PLC it touches
/// (docs/src/performance.md): in declaration order (`repr(C)`, and so are the parts it
/// holds), line-aligned, with what a scan reads gathered in as few lines as the parts allow.
/// Line 0 holds the mode and the scan's times, line 1 the first two wires, lines 3 and 4 the
/// wire count, the alarms' list, the CPU's tag, the server's state and the register tables'
/// first entries, and the task clock starts a line of its own with everything a start reads.
#[derive(Component)]
#[repr(C, align(64))]
pub struct Plc {
    /// The current operating mode; change it with [`Plc::set_mode`] so the change is logged.
    pub mode: OperatingMode,
    /// Whether it is a protection relay or safety system (`protection = true`).
    pub protection: bool,
    /// The mode it powers up in, and returns to after a restart out of firmware-update
    /// mode or a firmware install.
    pub power_up: OperatingMode,
    /// Scans run so far, in any mode.
    pub scans: u64,
    /// Time between two scans, and the time step the program's blocks integrate over.
    pub scan_period: SimDuration,
    /// When the next scan is due.
    pub next_scan: SimTime,
    /// When the last scan ended: the moment the CPU serves its communication queue.
    pub last_scan: Option<SimTime>,
    /// The configured communication time; answers are timed by `timing.comm_time`, which
    /// holds the same value. (Here, with `timing`, to fill line 0, so that the wires start
    /// line 1.)
    pub comm_time: SimDuration,
    /// Scan timing, shared with live mode's sockets so they answer at the modelled time
    /// (kept up to date only once the CPU is shared: batch runs never read it).
    pub timing: Arc<ScanTiming>,
    /// Its wiring to the process: sensors read before each scan, actuators driven after.
    /// Held in the PLC itself up to four wires: read at every scan, a list of its own cost
    /// a cache miss per scan once the PLCs outgrow the caches (12 % of a 10,000-PLC run).
    pub io: IoWires,
    alarms: Vec<AlarmTransition>,
    /// The Modbus server and its counters, shared with live mode's sockets.
    pub cpu: Cpu,
    /// The cyclic task's schedule on the PLC's own clock (drift and scan jitter).
    clock: TaskClock,
    /// The program scanned in run mode; a program download over FC 90 replaces it.
    pub program: PlcProgram,
    /// Its host's name, for the events it logs.
    pub name: String,
}

// The layout described above, checked when the crate builds: a field added in the wrong
// place, or a part that grew, moves the wires off line 1 or the clock off a line's start.
const _: () = {
    assert!(std::mem::offset_of!(Plc, io) == 64);
    assert!(std::mem::offset_of!(Plc, cpu) + 96 <= 5 * 64);
    assert!(std::mem::offset_of!(Plc, clock) % 64 == 0);
};

/// A PLC's account of the run: its mode at the end, scans, and what its Modbus server did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlcFigures {
    /// Operating mode at the end of the run: `run`, `program`, `stop`, `firmware_update` or
    /// `bricked`.
    pub mode: String,
    /// Scans run, in any mode.
    pub scans: u64,
    /// Modbus requests served, answered or not.
    pub requests: u64,
    /// Requests answered with an exception.
    pub exceptions: u64,
    /// Of those, exceptions 6 (server busy): requests over the CPU's capacity, or refused in
    /// firmware-update mode.
    pub busy: u64,
    /// Requests dropped without an answer.
    pub dropped: u64,
}

/// What the PLC's Modbus server did over the run (the spec's own counters are 16-bit and
/// wrap; these do not).
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct PlcStats {
    /// Request ADUs served, answered or not.
    pub requests: u64,
    /// Requests answered with an exception.
    pub exceptions: u64,
    /// Of those, exceptions 6 (server busy).
    pub busy: u64,
    /// Requests that got no answer: malformed, another unit id, listen-only mode, or
    /// dropped by an overloaded CPU.
    pub dropped: u64,
    /// Requests whose write changed the register memory.
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
    fn changes(&self) -> Option<u64> {
        Some(RegisterMap::changes(self))
    }
}

impl Plc {
    /// Builds a PLC from its config against the process it is wired to; `clock` gives its
    /// cyclic task a schedule from the scan period and timing checked here.
    pub fn build(
        cfg: &PlcConfig,
        idx: usize,
        name: &str,
        process: &crate::process::Process,
        clock: impl FnOnce(SimDuration, TaskTiming) -> TaskClock,
    ) -> Result<Plc, ConfigError> {
        let field = |f: &str| format!("plc[{idx}].{f}");
        let scan_period = cfg.scan_period.get_ref().value;
        if scan_period < SimDuration::from_micros(100) {
            return Err(ConfigError::new(
                field("scan_period"),
                Some(cfg.scan_period.span()),
                "a scan period must be at least 100us",
            ));
        }
        let timing = TaskTiming::from_config(
            cfg.jitter.as_ref(),
            cfg.drift_ppm.as_ref(),
            scan_period,
            DEFAULT_SCAN_JITTER,
            &format!("plc[{idx}]"),
        )?;
        let comm_time = cfg.comm_time.get_ref().value;
        let mut server = ModbusServer::from_config(&cfg.modbus)
            .map_err(|e| ConfigError::new(format!("plc[{idx}].{}", e.field), None, e.message.clone()))?;
        for (i, init) in cfg.init.iter().enumerate() {
            let reg = crate::plc_logic::parse_typed_address(init.address.get_ref()).map_err(|m| {
                ConfigError::new(field(&format!("init[{i}].address")), Some(init.address.span()), m)
            })?;
            let v = *init.value.get_ref();
            if let Err(why) = init_value_fits(reg, v) {
                return Err(ConfigError::new(
                    field(&format!("init[{i}].value")),
                    Some(init.value.span()),
                    why,
                ));
            }
            let regs = reg.ty.encode(reg.order, v);
            let in_map = (0..reg.ty.words()).all(|k| {
                reg.addr
                    .checked_add(k)
                    .is_some_and(|a| server.map_mut().set(reg.area, a, regs[usize::from(k)]))
            });
            if !in_map {
                return Err(ConfigError::new(
                    field(&format!("init[{i}].address")),
                    Some(init.address.span()),
                    format!("{} is outside this PLC's register map", init.address.get_ref()),
                ));
            }
        }
        let mut io = IoWires::new();
        for (i, w) in cfg.io.iter().enumerate() {
            let sig = process.signal_id(w.signal.get_ref()).ok_or_else(|| {
                ConfigError::new(
                    field(&format!("io[{i}].signal")),
                    Some(w.signal.span()),
                    process.unknown_signal(w.signal.get_ref()),
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
            let (area, addr) = crate::plc_logic::parse_address(operand.get_ref())
                .map_err(|m| ConfigError::new(field(&format!("io[{i}].{f}")), Some(operand.span()), m))?;

            if server.map().get(area, addr).is_none() {
                return Err(ConfigError::new(
                    field(&format!("io[{i}].{f}")),
                    Some(operand.span()),
                    format!("{} is outside this PLC's register map", operand.get_ref()),
                ));
            }
            if w.value_type != ValueType::U16 && area.is_bit() {
                return Err(ConfigError::new(
                    field(&format!("io[{i}].type")),
                    Some(operand.span()),
                    format!(
                        "{} is a bit: only a register (ir:, hr:) holds a {} value",
                        operand.get_ref(),
                        w.value_type.name()
                    ),
                ));
            }
            if w.value_type.words() == 2 && server.map().get(area, addr.wrapping_add(1)).is_none() {
                return Err(ConfigError::new(
                    field(&format!("io[{i}].{f}")),
                    Some(operand.span()),
                    format!(
                        "a {} value takes two registers, {} and the next, and the next is outside \
                         this PLC's register map",
                        w.value_type.name(),
                        operand.get_ref()
                    ),
                ));
            }
            io.push(IoWire {
                signal: sig,
                area,
                addr,
                scale: w.scale,
                offset: w.offset,
                input,
                value_type: w.value_type,
                word_order: w.word_order,
            });
        }
        let program = PlcProgram::compile(&cfg.program, &cfg.safe_state, server.map()).map_err(|e| {
            ConfigError::new(
                format!("plc[{idx}].{}", e.field),
                e.span.clone(),
                e.message.clone(),
            )
        })?;
        let clock = clock(scan_period, timing);
        Ok(Plc {
            name: name.to_string(),
            cpu: Cpu::new(ModbusCpu {
                vendor: cfg.vendor_function.then(|| {
                    Box::new(super::vendor::VendorState::new(
                        cfg.mode,
                        [
                            &cfg.modbus.identity.vendor,
                            &cfg.modbus.identity.product_code,
                            &cfg.modbus.identity.revision,
                        ]
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    ))
                }),
                server,
                stats: PlcStats::default(),
            }),
            timing: Arc::new(ScanTiming {
                next_scan_ns: AtomicU64::new(clock.first().as_nanos()),
                comm_free_ns: AtomicU64::new(0),
                scan_period,
                comm_time,
            }),
            program,
            mode: cfg.mode,
            protection: cfg.protection,
            power_up: cfg.mode,
            scan_period,
            comm_time,
            next_scan: clock.first(),
            clock,
            last_scan: None,
            io,
            scans: 0,
            alarms: Vec::new(),
        })
    }

    /// Changes mode, logging the change.
    pub fn set_mode(&mut self, mode: OperatingMode, now: SimTime, log: &mut EventLog) {
        change_mode(&self.name, self.protection, &mut self.mode, mode, now, log);
    }
}

/// Sets a PLC's mode, logging a change; a protection PLC leaving run mode stops its
/// protective logic, a T0837 Loss of Protection.
fn change_mode(
    device: &str,
    protection: bool,
    mode: &mut OperatingMode,
    to: OperatingMode,
    now: SimTime,
    log: &mut EventLog,
) {
    if to != *mode {
        log.push(
            now,
            EventKind::ModeChange {
                device: device.to_string(),
                from: mode.as_str().into(),
                to: to.as_str().into(),
            },
        );
        if protection && *mode == OperatingMode::Run {
            super::impacts::record(
                log,
                now,
                crate::process::ImpactTechnique::LossOfProtection,
                device,
                None,
                format!(
                    "protection PLC {device} left run mode for {}: its protective logic no longer runs",
                    to.as_str()
                ),
            );
        }
        *mode = to;
    }
}

/// What the vendor protocol asked for since the last scan, in the order a CPU would take
/// it: a restart, a mode change, a firmware install (which reboots the PLC).
/// Returns the version a firmware install booted, if one did.
fn vendor_requests(
    name: &str,
    protection: bool,
    power_up: OperatingMode,
    mode: &mut OperatingMode,
    v: &mut super::vendor::VendorState,
    now: SimTime,
    log: &mut EventLog,
) -> Option<String> {
    if std::mem::take(&mut v.restart) {
        // A restart clears the force table and leaves firmware-update mode for the
        // power-up mode (an image half transferred is lost).
        v.clear_forces();
        v.image = None;
        if v.requested_mode.unwrap_or(*mode) == OperatingMode::FirmwareUpdate {
            v.requested_mode = Some(power_up);
        }
    }
    if let Some(m) = v.requested_mode.take() {
        change_mode(name, protection, mode, m, now, log);
    }
    let mut booted = None;
    if let Some(image) = v.installed.take() {
        let version = crate::wire::modbus::vendor::firmware_version(&image);
        let (to, detail) = match &version {
            Some(ver) => {
                v.ident = match v.ident.rsplit_once(' ') {
                    Some((head, _)) => format!("{head} {ver}"),
                    None => ver.clone(),
                };
                (
                    power_up,
                    format!("{} bytes installed: booted version {ver}", image.len()),
                )
            }
            None => (
                OperatingMode::Bricked,
                format!("{} bytes installed: the image does not boot", image.len()),
            ),
        };
        log.push(
            now,
            EventKind::FirmwareInstall {
                device: name.to_string(),
                booted: version.is_some(),
                detail,
            },
        );
        // A firmware install reboots the PLC: a clean force table.
        v.clear_forces();
        change_mode(name, protection, mode, to, now, log);
        booted = version;
    }
    v.mode = *mode;
    booted
}

/// Installs a completed program download: replacing the program, or appended to it as a
/// new task; logged either way, with why a program was rejected.
fn install_download(
    name: &str,
    program: &mut PlcProgram,
    d: &super::vendor::Download,
    map: &RegisterMap,
    now: SimTime,
    log: &mut EventLog,
) {
    let accepted = PlcLogicConfig::from_toml_str(&d.text)
        .map_err(|e| e.to_string())
        .and_then(|c| PlcProgram::from_config(&c, map).map_err(|e| e.to_string()));
    let (ok, detail) = match accepted {
        Ok(p) if d.append => {
            let n = p.block_count();
            match program.append(p) {
                Ok(()) => (
                    true,
                    format!(
                        "task of {n} blocks appended ({} blocks run)",
                        program.block_count()
                    ),
                ),
                Err(e) => (false, format!("task rejected: {e}")),
            }
        }
        Ok(mut p) => {
            let n = p.block_count();
            p.allow_skipping(program.skipping());
            *program = p;
            (true, format!("{n} blocks installed"))
        }
        Err(e) => (false, format!("rejected: {e}")),
    };
    log.push(
        now,
        EventKind::ProgramDownload {
            device: name.to_string(),
            accepted: ok,
            detail,
        },
    );
}

/// Which PLCs scan this tick, found through their due times: a tick visits the PLCs whose
/// scan is due, not every PLC of the plant.
#[derive(Resource, Default)]
pub struct PlcSchedule {
    /// PLC entities by rank: the order the PLC query iterates in when the run starts (the
    /// order PLCs scanned in when every tick visited all of them, which keeps the log's
    /// order of events of one instant).
    order: Vec<Entity>,
    due: crate::base::due::DueIndex,
    /// Ranks of the PLCs scanning this tick, in rank order.
    scanning: Vec<u32>,
    started: bool,
    /// Scans done ahead of their instant, one sweep per physics step.
    pub(crate) ahead: super::scan_ahead::ScanAhead,
}

impl PlcSchedule {
    /// Takes the PLCs due by `now` out of the index (to be put back by their scan).
    fn take_due(&mut self, now: SimTime, plcs: &Query<PlcItems>) {
        if !self.started {
            self.started = true;
            let mut wiring = Vec::new();
            for (e, plc) in plcs.iter() {
                self.due
                    .insert(plc.next_scan, self.order.len() as u32, plc.scan_period);
                self.order.push(e);
                let signals = |input: bool| {
                    plc.io
                        .iter()
                        .filter(|w| w.input == input)
                        .map(|w| w.signal)
                        .collect()
                };
                wiring.push(super::scan_ahead::Wiring {
                    entity: e,
                    reads: signals(true),
                    drives: signals(false),
                });
            }
            self.ahead.decide(&wiring);
        }
        self.due.take_due(now, &mut self.scanning);
    }
}

impl Plc {
    /// Field I/O of one scan: copies the sensor values into the input image.
    fn read_inputs(&mut self, process: &ProcessState) {
        if self.mode == OperatingMode::Bricked {
            return;
        }
        let mut cpu = self.cpu.get();
        let cpu = &mut *cpu;
        let map = cpu.server.map_mut();
        for w in self.io.iter().filter(|w| w.input) {
            let v = process.process.get(w.signal) * w.scale + w.offset;
            let regs = w.value_type.encode(w.word_order, v);
            map.set(w.area, w.addr, regs[0]);
            if w.value_type.words() == 2 {
                map.set(w.area, w.addr + 1, regs[1]);
            }
        }
        if let Some(v) = cpu.vendor.as_mut() {
            latch_image(&self.io, v, map);
        }
    }

    /// Control of one scan: runs the program (or holds the safe state when not in run
    /// mode) and drives the actuators. Returns when the next scan is due.
    fn scan(
        &mut self,
        now: SimTime,
        calendar: &crate::base::calendar::Calendar,
        process: &mut ProcessState,
        log: &mut EventLog,
    ) -> SimTime {
        let plc = self;
        let dt = plc.scan_period.as_secs_f64();
        let mut guard = plc.cpu.get();
        let cpu = &mut *guard;
        // A bricked PLC runs nothing: no program, no outputs driven, no scan counted (its
        // server drops every request).
        'scan: {
            if plc.mode == OperatingMode::Bricked {
                break 'scan;
            }
            if let Some(v) = cpu.vendor.as_mut() {
                let booted = vendor_requests(
                    &plc.name,
                    plc.protection,
                    plc.power_up,
                    &mut plc.mode,
                    v,
                    now,
                    log,
                );
                if let Some(version) = booted {
                    cpu.server.identity_mut().major_minor_revision = version;
                }
            }
            if plc.mode == OperatingMode::Bricked {
                // The image did not boot: the output modules, no longer refreshed by the
                // CPU, de-energise (raw 0), and from now on nothing drives them.
                for w in plc.io.iter().filter(|w| !w.input) {
                    process.process.set(w.signal, w.offset);
                }
                cpu.server.set_dead(true);
                break 'scan;
            }
            if let Some(d) = cpu.vendor.as_mut().and_then(|v| v.downloaded.take()) {
                install_download(&plc.name, &mut plc.program, &d, cpu.server.map(), now, log);
            }
            let loader = (plc.mode == OperatingMode::FirmwareUpdate).then_some(super::vendor::FC_VENDOR);
            cpu.server.set_loader(loader);
            if let Some(v) = cpu.vendor.as_mut() {
                v.mode = plc.mode;
                if v.upload.is_empty() {
                    v.upload = format!(
                        "{}: {} blocks, {} safe outputs",
                        plc.name,
                        plc.program.block_count(),
                        plc.program.safe_outputs().len()
                    )
                    .into_bytes();
                }
            }
            if plc.mode == OperatingMode::Run {
                plc.program.set_clock(calendar.unix_ns(now));
                plc.program.scan(cpu.server.map_mut(), dt, &mut plc.alarms);
            } else {
                plc.program.apply_safe_state(cpu.server.map_mut());
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
            let map: &RegisterMap = cpu.server.map();
            for w in plc.io.iter().filter(|w| !w.input) {
                let first = map.get(w.area, w.addr).unwrap_or(0);
                let second = match w.value_type.words() {
                    2 => map.get(w.area, w.addr + 1).unwrap_or(0),
                    _ => 0,
                };
                let raw = w.value_type.decode(w.word_order, [first, second]);
                process.process.set(w.signal, raw * w.scale + w.offset);
            }
            plc.scans += 1;
        }
        plc.last_scan = Some(now);
        drop(guard);
        plc.next_scan = plc.clock.next(now);
        if plc.cpu.is_shared() {
            plc.timing.next_scan_ns.store(plc.next_scan.0, Ordering::Relaxed);
        }
        plc.next_scan
    }

    /// Services at the end of a scan: the communication task answers the requests that
    /// arrived during it, one after the other, each taking the CPU's communication time (a
    /// flood delays everyone queued behind it).
    fn serve(&mut self, inbox: &mut ServerInbox, now: SimTime, net: &mut Network, log: &mut EventLog) {
        if inbox.0.is_empty() || self.last_scan != Some(now) {
            return;
        }
        let mut cpu = self.cpu.get();
        let mut t = now;
        for d in inbox.0.drain(..) {
            let Payload::Modbus(adu) = &d.frame.payload else {
                continue; // a non-Modbus flow to a PLC: nothing listens
            };
            let handled = cpu.serve(adu, d.at);
            // Logged when the communication task decides, which is now: the log is in
            // time order, and a request waits in the inbox until the scan ends.
            let names = || (self.name.as_str(), net.topology().host(d.frame.src).name.as_str());
            if let Some(ev) = served_event(&handled, d.frame.id.0, names) {
                log.push(now, ev);
            }
            if let ServerReply::Respond(bytes) = handled.reply {
                t += self.comm_time;
                net.reply(t, &d.frame, Payload::Modbus(bytes));
            }
        }
    }
}

/// Field I/O: PLCs whose scan is due copy sensor values into their input image.
pub fn plc_read_inputs(clock: Res<Clock>, process: Res<ProcessState>, mut plcs: PlcParams) {
    plcs.read_inputs_due(clock.now, &process);
}

/// After the field inputs are latched: the force table overrides them, and the input image
/// the vendor protocol reads (0x70) records what the program will see, wired or forced.
fn latch_image(io: &[IoWire], v: &mut super::vendor::VendorState, map: &mut RegisterMap) {
    for (&(area, addr), &value) in v.forces() {
        map.set(area, addr, value);
    }
    // The image's points are the wired inputs and the forced ones, which change only with
    // the force table: most scans refresh the values in place. Rebuilt at every scan, the
    // map's nodes were freed and allocated again (the reference hour's sensor reads ran
    // 61.4 million fewer instructions in place, 1.5 % of the hour, under callgrind).
    let wired = io
        .iter()
        .filter(|w| w.input)
        .flat_map(|w| (0..w.value_type.words()).map(move |k| (w.area, w.addr.wrapping_add(k))));
    v.latch_image(wired, map);
}

/// Control: run the program (or hold the safe state when not in run mode), drive the
/// actuators, and schedule the next scan.
pub fn plc_scan(
    clock: Res<Clock>,
    calendar: Res<crate::base::calendar::Calendar>,
    mut process: ResMut<ProcessState>,
    mut log: ResMut<EventLog>,
    mut plcs: PlcParams,
) {
    plcs.scan_due(clock.now, &calendar, &mut process, &mut log);
}

/// Services: at the end of each scan a PLC serves the Modbus requests that arrived during
/// it, as a real CPU's communication task does; each reply leaves after the CPU's
/// communication time. This is why poll latency on a real PLC is bounded by its scan cycle,
/// and why a PLC needs no tick of its own when a request arrives.
pub fn plc_serve(
    clock: Res<Clock>,
    mut net: ResMut<Network>,
    mut log: ResMut<EventLog>,
    mut plcs: PlcParams,
    mut mail: crate::devices::host::Mail,
) {
    plcs.serve_due(clock.now, &mut net, &mut log, &mut mail);
}

/// What a PLC's query holds: its entity and the PLC.
pub(crate) type PlcItems = (Entity, &'static mut Plc);

/// The PLCs and their due index: what the PLCs' systems work on, phase by phase, and what
/// the runner ([`crate::world::Sim`]) calls the same methods on at a scan tick.
#[derive(bevy_ecs::system::SystemParam)]
pub struct PlcParams<'w, 's> {
    schedule: ResMut<'w, PlcSchedule>,
    plcs: Query<'w, 's, PlcItems>,
}

impl PlcParams<'_, '_> {
    /// The PLC of entity `e` (for the remote I/O module that serves it).
    pub(crate) fn plc_mut(&mut self, e: Entity) -> Option<&mut Plc> {
        self.plcs.get_mut(e).ok().map(|(_, p)| p.into_inner())
    }

    /// Field I/O: takes the PLCs due by `now` out of the index; each reads its inputs.
    pub(crate) fn read_inputs_due(&mut self, now: SimTime, process: &ProcessState) {
        let (schedule, plcs) = (&mut *self.schedule, &mut self.plcs);
        schedule.take_due(now, plcs);
        for &r in &schedule.scanning {
            if schedule.ahead.done[r as usize].is_some() {
                continue; // scanned ahead, inputs and all
            }
            if let Ok((_, mut plc)) = plcs.get_mut(schedule.order[r as usize]) {
                plc.read_inputs(process);
            }
        }
    }

    /// Control: each PLC due scans and goes back in the index at its next scan, where the
    /// runner finds it ([`Self::next_scan`]).
    pub(crate) fn scan_due(
        &mut self,
        now: SimTime,
        calendar: &crate::base::calendar::Calendar,
        process: &mut ProcessState,
        log: &mut EventLog,
    ) {
        // The sweep first: the PLCs scanning now are out of the index until they have
        // scanned, and they serve their requests only at the end of this tick.
        if now >= self.schedule.ahead.swept_to {
            self.sweep(calendar, process);
        }
        let (schedule, plcs) = (&mut *self.schedule, &mut self.plcs);
        for &r in &schedule.scanning {
            if schedule.ahead.put_back(now, r, &mut schedule.due, log) {
                continue;
            }
            if let Ok((_, mut plc)) = plcs.get_mut(schedule.order[r as usize]) {
                let next = plc.scan(now, calendar, process, log);
                schedule.due.insert(next, r, plc.scan_period);
            }
        }
    }

    /// If the PLCs due by `now` were all scanned ahead, in this window, and none has a
    /// request waiting (`waiting`, by host entity): logs their events, puts them back in the
    /// index at their next scan and returns true, all their tick has to do. Otherwise
    /// touches nothing and returns false.
    pub(crate) fn put_back_if_ahead(
        &mut self,
        now: SimTime,
        waiting: impl Fn(Entity) -> bool,
        log: &mut EventLog,
    ) -> bool {
        let s = &mut *self.schedule;
        if !s.started || now >= s.ahead.swept_to {
            return false;
        }
        let (ahead, order) = (&mut s.ahead, &s.order);
        let all_ahead = |r: u32| ahead.done[r as usize].is_some() && !waiting(order[r as usize]);
        if !s.due.take_due_if(now, all_ahead, &mut s.scanning) {
            return false;
        }
        for &r in &s.scanning {
            let put = s.ahead.put_back(now, r, &mut s.due, log);
            debug_assert!(put, "take_due_if checked that every PLC due was scanned ahead");
        }
        true
    }

    /// The next instant before `before` at which every PLC due was scanned ahead, in this
    /// window, with no request waiting: does [`Self::put_back_if_ahead`]'s work there and
    /// returns the instant. `None`, having touched nothing, if the next instant is not such
    /// a one, or if the PLCs do not all share one scan period (see
    /// [`crate::base::due::DueIndex::take_instant_if`]; the caller then goes instant by
    /// instant through [`Self::next_scan`] and [`Self::put_back_if_ahead`]).
    pub(crate) fn quiet_instant(
        &mut self,
        before: SimTime,
        waiting: impl Fn(Entity) -> bool,
        log: &mut EventLog,
    ) -> Option<SimTime> {
        let s = &mut *self.schedule;
        if !s.started {
            return None;
        }
        let before = before.min(s.ahead.swept_to);
        let (ahead, order) = (&mut s.ahead, &s.order);
        let all_ahead = |r: u32| ahead.done[r as usize].is_some() && !waiting(order[r as usize]);
        let t = s.due.take_instant_if(before, all_ahead, &mut s.scanning)?;
        for &r in &s.scanning {
            let put = s.ahead.put_back(t, r, &mut s.due, log);
            debug_assert!(
                put,
                "take_instant_if checked that every PLC due was scanned ahead"
            );
        }
        Some(t)
    }

    /// The earliest scan due: the runner reads it at every decision instead of a wake-up
    /// per scan in the calendar (a push and a pop for every one of a large plant's ticks).
    /// Before the first tick, when the index is still empty, each PLC's first scan is in
    /// the calendar ([`crate::base::clock::Wakeups::local_at`], asked when the PLC is built).
    pub(crate) fn next_scan(&self) -> Option<SimTime> {
        self.schedule.due.next_due()
    }

    /// Scans ahead every PLC that may and whose next scan falls before the next physics
    /// step (and before the end of the runner's stretch), in memory order (see
    /// [`super::scan_ahead`]).
    fn sweep(&mut self, calendar: &crate::base::calendar::Calendar, process: &mut ProcessState) {
        let (schedule, plcs) = (&mut *self.schedule, &mut self.plcs);
        let ahead = &mut schedule.ahead;
        let until = process.next_step().min(ahead.horizon);
        ahead.swept_to = until;
        if !ahead.allowed {
            return;
        }
        let mut batch = std::mem::take(&mut ahead.batch);
        schedule.due.due_before(until, &mut batch);
        // In rank order, the order the PLCs were built in, which their memory follows.
        ahead.by_rank(&mut batch);
        let from = ahead.deferred_len();
        let order = &schedule.order;
        let mut scan_ahead = |due: SimTime, r: u32, plc: &mut Plc| {
            if plc.cpu.is_shared() {
                return; // live sockets read its memory in real time
            }
            plc.read_inputs(process);
            let next = plc.scan(due, calendar, process, &mut ahead.scratch);
            ahead.done[r as usize] = Some((next, plc.scan_period));
            ahead.defer_scratch(due, r);
        };
        // The query yields the PLCs in rank order (the ranks were given in its order when
        // the run started), so it is walked alongside the batch instead of looked up by
        // entity for each PLC (1.8 % of a 1,000-PLC run). Should an entity not be where its
        // rank says (the PLCs' storage rearranged), the rest go by lookup.
        let mut done = 0;
        let mut query = plcs.iter_mut();
        let mut at = 0;
        for &(due, r) in &batch {
            let Some(skip) = (r as usize).checked_sub(at) else {
                break;
            };
            match query.nth(skip) {
                Some((e, mut plc)) if e == order[r as usize] => scan_ahead(due, r, &mut plc),
                _ => break,
            }
            at = r as usize + 1;
            done += 1;
        }
        for &(due, r) in &batch[done..] {
            if let Ok((_, mut plc)) = plcs.get_mut(order[r as usize]) {
                scan_ahead(due, r, &mut plc);
            }
        }
        ahead.sort_deferred(from);
        ahead.batch = batch;
    }

    /// Services: each PLC that scanned at `now` serves the requests in its host's inbox.
    pub(crate) fn serve_due(
        &mut self,
        now: SimTime,
        net: &mut Network,
        log: &mut EventLog,
        mail: &mut crate::devices::host::Mail,
    ) {
        let (schedule, plcs) = (&*self.schedule, &mut self.plcs);
        for &r in &schedule.scanning {
            let e = schedule.order[r as usize];
            // Most scans have no request waiting: the PLC itself is not touched then.
            let Some(inbox) = mail.server_inbox(e) else {
                continue;
            };
            if let Ok((_, mut plc)) = plcs.get_mut(e) {
                plc.serve(inbox, now, net, log);
            }
        }
    }
}

/// PLCs as a device kind: `[[plc]]` entries on hosts of role plc.
pub struct PlcKind;

/// The checks of an actuator wire (`from`) that need the whole plant: it comes from a coil
/// or holding register, it drives a command of its component (not its state), and nothing
/// else drives the same signal. A wire whose signal or address does not parse is left to
/// [`Plc::build`], which reports it.
fn check_actuator_wire(
    w: &IoConfig,
    field: &str,
    cx: &mut super::kind::BuildCx<'_>,
) -> Result<(), ConfigError> {
    let Some(from) = &w.from else {
        return Ok(());
    };
    let Ok((area, _)) = crate::plc_logic::parse_address(from.get_ref()) else {
        return Ok(());
    };
    if !area.is_client_writable() {
        return Err(ConfigError::new(
            format!("{field}.from"),
            Some(from.span()),
            format!(
                "an actuator is driven from a coil (co:) or a holding register (hr:); {} is one \
                 of the PLC's {}, which its `to` wires and program fill from the field",
                from.get_ref(),
                area.plural()
            ),
        ));
    }
    if cx.process.signal_id(w.signal.get_ref()).is_none() {
        return Ok(());
    }
    cx.drive_signal(&w.signal, format!("{field}.signal")).map(|_| ())
}

impl super::kind::DeviceKind for PlcKind {
    type Config = PlcConfig;
    fn build(configs: &[PlcConfig], cx: &mut super::kind::BuildCx<'_>) -> Result<(), ConfigError> {
        cx.world.init_resource::<PlcSchedule>();
        for (i, p) in configs.iter().enumerate() {
            let id = match cx.claim_host(&p.host, format!("plc[{i}].host"), &[Role::Plc], "plc") {
                Ok(id) => id,
                Err(e) => {
                    cx.report(e);
                    continue;
                }
            };
            let (topo, process) = (cx.topo, cx.process);
            let built = Plc::build(p, i, &topo.host(id).name, process, |period, timing| {
                cx.task_clock(id, period, Keeping::Anchored, timing)
            });
            // Each actuator wire on its own, whether or not the rest of the entry built.
            for (k, w) in p.io.iter().enumerate() {
                if let Err(e) = check_actuator_wire(w, &format!("plc[{i}].io[{k}]"), cx) {
                    cx.report(e);
                }
            }
            let mut plc = match built {
                Ok(plc) => plc,
                Err(e) => {
                    cx.report(e);
                    continue;
                }
            };
            let sizes = super::kind::MapSizes::of(plc.cpu.get().server.map());
            cx.declare_map(id, sizes);
            cx.wake.local_at(plc.next_scan);
            let e = cx.entity(id);
            cx.world.entity_mut(e).insert(plc);
        }
        Ok(())
    }
    fn systems(s: &mut super::kind::KindSystems<'_>) {
        s.add_local(crate::world::SimSet::FieldIo, plc_read_inputs);
        s.add_local(crate::world::SimSet::Control, plc_scan);
        s.add_local(crate::world::SimSet::Services, plc_serve);
    }
    fn modbus_servers(world: &mut World) -> Vec<super::kind::ModbusServer> {
        let mut q = world.query::<(&super::host::HostRef, &mut Plc)>();
        q.iter_mut(world)
            .map(|(h, mut p)| {
                // Scans keep the shared timing up to date only once it is shared.
                p.timing.next_scan_ns.store(p.next_scan.0, Ordering::Relaxed);
                super::kind::ModbusServer {
                    host: h.0,
                    name: p.name.clone(),
                    cpu: p.cpu.share(),
                    timing: Arc::clone(&p.timing),
                }
            })
            .collect()
    }

    fn summaries(world: &mut World) -> Vec<(crate::net::topology::HostId, super::summary::DeviceFigures)> {
        let mut q = world.query::<(&super::host::HostRef, &Plc)>();
        q.iter(world)
            .map(|(h, p)| {
                let c = p.cpu.stats();
                let figures = PlcFigures {
                    mode: p.mode.as_str().to_string(),
                    scans: p.scans,
                    requests: c.requests,
                    exceptions: c.exceptions,
                    busy: c.busy,
                    dropped: c.dropped,
                };
                (h.0, super::summary::DeviceFigures::Plc(figures))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::SignalId;

    fn wire(area: Area, addr: u16, value_type: ValueType, input: bool) -> IoWire {
        IoWire {
            signal: SignalId(0),
            area,
            addr,
            scale: 1.0,
            offset: 0.0,
            input,
            value_type,
            word_order: WordOrder::HighFirst,
        }
    }

    /// `(area, address, value, forced)` of every point of the image, in its order.
    fn image(v: &super::super::vendor::VendorState) -> Vec<(Area, u16, u16, bool)> {
        v.io_image
            .iter()
            .map(|(&(a, addr), p)| (a, addr, p.value, p.forced))
            .collect()
    }

    fn sorted(mut points: Vec<(Area, u16, u16, bool)>) -> Vec<(Area, u16, u16, bool)> {
        points.sort();
        points
    }

    #[test]
    fn the_input_image_follows_the_field_and_the_force_table_scan_after_scan() {
        const IR: Area = Area::InputRegister;
        const DI: Area = Area::DiscreteInput;
        let io = [
            wire(IR, 0, ValueType::U16, true),
            wire(IR, 2, ValueType::U32, true),          // two words: 2 and 3
            wire(Area::Coil, 0, ValueType::U16, false), // an output: not in the image
        ];
        let mut v = super::super::vendor::VendorState::default();
        let mut map = RegisterMap::new(4, 4, 8, 4);
        map.set(IR, 0, 5);
        latch_image(&io, &mut v, &mut map);
        assert_eq!(
            image(&v),
            sorted(vec![(IR, 0, 5, false), (IR, 2, 0, false), (IR, 3, 0, false)])
        );
        map.set(IR, 0, 6);
        map.set(IR, 3, 9);
        latch_image(&io, &mut v, &mut map);
        assert_eq!(
            image(&v),
            sorted(vec![(IR, 0, 6, false), (IR, 2, 0, false), (IR, 3, 9, false)])
        );
        // A wired input and an unwired one forced: the forced values are what the program sees.
        v.force(IR, 0, 100);
        v.force(DI, 1, 1);
        map.set(IR, 0, 7);
        latch_image(&io, &mut v, &mut map);
        assert_eq!(map.get(IR, 0), Some(100));
        assert_eq!(
            image(&v),
            sorted(vec![
                (DI, 1, 1, true),
                (IR, 0, 100, true),
                (IR, 2, 0, false),
                (IR, 3, 9, false)
            ])
        );
        // Forces lifted: the field's value comes back and the unwired point leaves the image.
        v.clear_forces();
        map.set(IR, 0, 8);
        latch_image(&io, &mut v, &mut map);
        assert_eq!(
            image(&v),
            sorted(vec![(IR, 0, 8, false), (IR, 2, 0, false), (IR, 3, 9, false)])
        );
    }
}
