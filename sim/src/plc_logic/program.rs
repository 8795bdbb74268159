//! The compiled program and its scan.

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::blocks::alarm::{Alarm, AlarmKind, AlarmTransition};
use crate::plc_logic::blocks::curve::Curve;
use crate::plc_logic::blocks::interlock::Interlock;
use crate::plc_logic::blocks::leadlag::LeadLag;
use crate::plc_logic::blocks::math::Math;
use crate::plc_logic::blocks::onoff::OnOff;
use crate::plc_logic::blocks::pid::Pid;
use crate::plc_logic::blocks::ramp::Ramp;
use crate::plc_logic::blocks::scale::Scale;
use crate::plc_logic::blocks::schedule::Schedule;
use crate::plc_logic::blocks::select::Select;
use crate::plc_logic::blocks::timer::Timer;
use crate::plc_logic::config::{BlockConfig, PlcLogicConfig, SafeStateConfig};
use crate::plc_logic::memory::{Area, PlcMemory};
use crate::plc_logic::mode::OperatingMode;

/// Path of program blocks in error messages, relative to the `[plc]` table.
const PROGRAM_PATH: &str = "program";
/// Path of safe-state entries in error messages, relative to the `[plc]` table.
const SAFE_PATH: &str = "safe_state";

#[derive(Clone, Debug)]
enum Block {
    OnOff(OnOff),
    Pid(Pid),
    Interlock(Interlock),
    Alarm(Alarm),
    Scale(Scale),
    Timer(Timer),
    Math(Math),
    Select(Select),
    Curve(Curve),
    Ramp(Ramp),
    LeadLag(LeadLag),
    Schedule(Schedule),
}

impl Block {
    /// Whether the block, run again on memory its last run did not change, would do exactly
    /// what it did then: true of blocks whose output is a function of the memory (scale,
    /// math, select, curve), of those whose state is a function of the memory once written
    /// (an on/off controller holds the output it wrote, a latched interlock stays latched
    /// until its reset reads true, and then stays reset while its cause reads false), and
    /// of an alarm while no delay is timing. Never of blocks that read the scan period or
    /// the clock at every scan (PID, timer, ramp, lead/lag, schedule).
    fn settled(&self) -> bool {
        match self {
            Block::Alarm(a) => !a.timing(),
            Block::OnOff(_)
            | Block::Interlock(_)
            | Block::Scale(_)
            | Block::Math(_)
            | Block::Select(_)
            | Block::Curve(_) => true,
            Block::Pid(_) | Block::Timer(_) | Block::Ramp(_) | Block::LeadLag(_) | Block::Schedule(_) => {
                false
            }
        }
    }
}

/// A validated PLC program: blocks executed top to bottom once per scan
/// against the PLC's register memory, plus its safe state.
///
/// Compilation checks every operand against the memory map, so a scan never
/// fails: it only reads and writes addresses known to exist. Execution is
/// deterministic (no clock, no randomness, no hash-map iteration): the only
/// inputs are the memory contents and `dt_s`.
#[derive(Clone, Debug)]
#[repr(C)]
pub struct PlcProgram {
    // In declaration order (`repr(C)`): what a settled scan reads first, the blocks after
    // (see `Plc`'s layout).
    /// The memory's change count after a scan that changed nothing, while it still holds:
    /// the next scan on the same memory would change nothing either, and is skipped.
    settled: Option<u64>,
    /// The real-time clock, Unix nanoseconds (UTC), for schedules.
    clock_unix_ns: u64,
    /// Set by [`PlcProgram::apply_safe_state`]: the next scan is a restart.
    restart_pending: bool,
    /// Whether a scan that would change nothing may be skipped (the default): off, every
    /// scan runs, which must change no output ([`Self::allow_skipping`]).
    skipping: bool,
    // One block inline, in the PLC's component, for the sweep of scans done ahead to read
    // with the PLC (0.86x at 10,000 PLCs, see docs/src/performance.md).
    blocks: smallvec::SmallVec<[Block; 1]>,
    safe: Vec<(Area, u16, u16)>,
}

impl PlcProgram {
    /// Compile `[[plc.program]]` blocks and `[[plc.safe_state]]` entries
    /// against `mem`, checking every operand against its memory map.
    ///
    /// Error fields are relative to the `[plc]` table (`program[3].sp`,
    /// `safe_state[0].out`, `program[2].when.any[1].operand`) so the caller
    /// can prefix the table's own path (e.g. `plc[0].`).
    pub fn compile(
        program: &[BlockConfig],
        safe_state: &[SafeStateConfig],
        mem: &impl PlcMemory,
    ) -> Result<PlcProgram, ConfigError> {
        let mem: &dyn PlcMemory = mem;
        let mut blocks = smallvec::SmallVec::with_capacity(program.len());
        let mut alarm_names: Vec<(String, usize)> = Vec::new();
        for (i, b) in program.iter().enumerate() {
            let ctx = Ctx::new(mem, format!("{PROGRAM_PATH}[{i}]"));
            blocks.push(match b {
                BlockConfig::OnOff(c) => Block::OnOff(OnOff::compile(c, &ctx)?),
                BlockConfig::Pid(c) => Block::Pid(Pid::compile(c, &ctx)?),
                BlockConfig::Interlock(c) => Block::Interlock(Interlock::compile(c, &ctx)?),
                BlockConfig::Alarm(c) => {
                    if let Some((_, first)) = alarm_names.iter().find(|(n, _)| *n == c.name) {
                        return Err(ctx.err(
                            "name",
                            None,
                            format!(
                                "alarm name {:?} is already used by {PROGRAM_PATH}[{first}]; \
                                 expected unique names (transitions are reported by name)",
                                c.name
                            ),
                        ));
                    }
                    alarm_names.push((c.name.clone(), i));
                    Block::Alarm(Alarm::compile(c, &ctx)?)
                }
                BlockConfig::Scale(c) => Block::Scale(Scale::compile(c, &ctx)?),
                BlockConfig::Timer(c) => Block::Timer(Timer::compile(c, &ctx)?),
                BlockConfig::Math(c) => Block::Math(Math::compile(c, &ctx)?),
                BlockConfig::Select(c) => Block::Select(Select::compile(c, &ctx)?),
                BlockConfig::Curve(c) => Block::Curve(Curve::compile(c, &ctx)?),
                BlockConfig::Ramp(c) => Block::Ramp(Ramp::compile(c, &ctx)?),
                BlockConfig::LeadLag(c) => Block::LeadLag(LeadLag::compile(c, &ctx)?),
                BlockConfig::Schedule(c) => Block::Schedule(Schedule::compile(c, &ctx)?),
            });
        }

        let mut safe: Vec<(Area, u16, u16)> = Vec::with_capacity(safe_state.len());
        for (i, s) in safe_state.iter().enumerate() {
            let ctx = Ctx::new(mem, format!("{SAFE_PATH}[{i}]"));
            let r = ctx.output("out", &s.out)?;
            if let Some(first) = safe
                .iter()
                .position(|&(a, addr, _)| a == r.area && addr == r.addr)
            {
                return Err(ctx.err(
                    "out",
                    Some(s.out.span()),
                    format!(
                        "{r} already has a safe value in {SAFE_PATH}[{first}]; expected each output once"
                    ),
                ));
            }
            let v = *s.value.get_ref();
            if r.area.is_bit() && v > 1 {
                return Err(ctx.err(
                    "value",
                    Some(s.value.span()),
                    format!("expected 0 or 1 for the bit {r}, found {v}"),
                ));
            }
            safe.push((r.area, r.addr, v));
        }

        Ok(PlcProgram {
            blocks,
            safe,
            restart_pending: false,
            clock_unix_ns: crate::base::calendar::default_start_ns(),
            settled: None,
            skipping: true,
        })
    }

    /// Compile a whole [`PlcLogicConfig`] (program and safe state).
    pub fn from_config(cfg: &PlcLogicConfig, mem: &impl PlcMemory) -> Result<PlcProgram, ConfigError> {
        Self::compile(&cfg.program, &cfg.safe_state, mem)
    }

    /// Appends `task`, compiled against the same memory, as a new task: its blocks run after
    /// this program's every scan (so they have the last word on any output both write), and
    /// its safe-state entries join this program's. The running blocks keep their state (PID
    /// integrators, timers, latches), as in an online change on a real PLC; replacing the
    /// program instead starts every block afresh. Refused, leaving the program as it was, if
    /// an alarm name or a safe output of `task` is already this program's.
    pub fn append(&mut self, task: PlcProgram) -> Result<(), String> {
        let names: Vec<&str> = self.alarm_names().collect();
        if let Some(dup) = task.alarm_names().find(|n| names.contains(n)) {
            return Err(format!(
                "alarm name {dup:?} is already used by the running program"
            ));
        }
        if let Some(&(area, addr, _)) = task
            .safe
            .iter()
            .find(|&&(a, x, _)| self.safe.iter().any(|&(b, y, _)| a == b && x == y))
        {
            return Err(format!(
                "{}:{addr} already has a safe value in the running program",
                area.prefix()
            ));
        }
        self.blocks.extend(task.blocks);
        self.safe.extend(task.safe);
        self.settled = None;
        Ok(())
    }

    fn alarm_names(&self) -> impl Iterator<Item = &str> {
        self.blocks.iter().filter_map(|b| match b {
            Block::Alarm(a) => Some(a.name()),
            _ => None,
        })
    }

    /// Execute one scan: every block in order, each seeing the writes of the
    /// blocks before it. `dt_s` is the scan period in seconds (integrators,
    /// derivatives, alarm delays, timers, ramps and duty rotation use it). Alarm transitions are
    /// appended to `events` in block order. Schedules read the PLC's real-time clock as it
    /// was at the last [`set_clock`](Self::set_clock).
    ///
    /// A scan is skipped, as changing nothing, when every block settles (on/off, interlock,
    /// scale, math, select, curve, and an alarm while no delay is timing), the last scan
    /// changed no value and raised no alarm, and nothing has changed a value since (the
    /// memory's [`PlcMemory::changes`]): by induction over the blocks, each would read what
    /// it read last time and write what is already there. A PLC keeping a level between two
    /// points with a sensor scaled to centimetres reads the same value for dozens of scans
    /// between two steps of its input; at 1,000 such PLCs the program was 8 % of the run's
    /// instructions (docs/src/performance.md).
    pub fn scan(&mut self, mem: &mut impl PlcMemory, dt_s: f64, events: &mut Vec<AlarmTransition>) {
        if self.restart_pending {
            self.restart_pending = false;
            self.reset();
        }
        let before = mem.changes();
        if before.is_some() && self.settled == before {
            return;
        }
        let logged = events.len();
        let mem: &mut dyn PlcMemory = mem;
        for b in &mut self.blocks {
            match b {
                Block::OnOff(x) => x.exec(mem),
                Block::Pid(x) => x.exec(mem, dt_s),
                Block::Interlock(x) => x.exec(mem),
                Block::Alarm(x) => x.exec(mem, dt_s, events),
                Block::Scale(x) => x.exec(mem),
                Block::Timer(x) => x.exec(mem, dt_s),
                Block::Math(x) => x.exec(mem),
                Block::Select(x) => x.exec(mem),
                Block::Curve(x) => x.exec(mem),
                Block::Ramp(x) => x.exec(mem, dt_s),
                Block::LeadLag(x) => x.exec(mem, dt_s),
                Block::Schedule(x) => x.exec(mem, self.clock_unix_ns),
            }
        }
        let after = mem.changes();
        let quiet = self.skipping
            && after == before
            && events.len() == logged
            && self.blocks.iter().all(Block::settled);
        self.settled = if quiet { after } else { None };
    }

    /// Allows or forbids skipping the scans that would change nothing. Forbidden, every
    /// scan runs: the outputs must be the same, only slower (`OTRANGE_FULL_TICKS=1`,
    /// tests/local_ticks.rs).
    pub fn allow_skipping(&mut self, allowed: bool) {
        self.skipping = allowed;
        self.settled = None;
    }

    /// Whether skipping is allowed ([`Self::allow_skipping`]).
    pub fn skipping(&self) -> bool {
        self.skipping
    }

    /// Sets the PLC's real-time clock (Unix nanoseconds, UTC) for the next scans: the
    /// runtime calls it before each scan with the calendar time of the scan.
    pub fn set_clock(&mut self, unix_ns: u64) {
        self.clock_unix_ns = unix_ns;
    }

    /// Number of compiled blocks.
    pub fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// `(area, address, value)` of every `[[plc.safe_state]]` entry, in
    /// configuration order. In Program/Stop mode the runtime writes these
    /// instead of scanning, as a real PLC drives its outputs to their stop
    /// values; outputs without an entry keep their last value.
    pub fn safe_outputs(&self) -> &[(Area, u16, u16)] {
        &self.safe
    }

    /// Write [`safe_outputs`](Self::safe_outputs) to `mem` (call every scan
    /// period while not in Run). Also arms a restart: the next
    /// [`scan`](Self::scan) first calls [`reset`](Self::reset), so PIDs
    /// resume bumplessly from the safe values without the runtime having to
    /// track mode transitions.
    pub fn apply_safe_state(&mut self, mem: &mut impl PlcMemory) {
        for &(area, addr, v) in &self.safe {
            mem.set(area, addr, v);
        }
        self.restart_pending = true;
    }

    /// Re-initialise run-time state for a fresh start (done automatically on
    /// the first scan after [`apply_safe_state`](Self::apply_safe_state)): PIDs redo their bumpless preload from the current output,
    /// on/off controllers re-read their held state from their outputs, timers
    /// and pending alarm delays restart, ramps start again from their initial
    /// value. Latched interlocks, active alarms and the lead pump of a
    /// duty rotation are kept: a stop/start must not clear a trip, hide an
    /// alarm or always hand the duty back to the first pump.
    pub fn reset(&mut self) {
        self.settled = None;
        for b in &mut self.blocks {
            match b {
                Block::OnOff(x) => x.reset(),
                Block::Pid(x) => x.reset(),
                Block::Alarm(x) => x.reset(),
                Block::Timer(x) => x.reset(),
                Block::Ramp(x) => x.reset(),
                Block::Interlock(_)
                | Block::Scale(_)
                | Block::Math(_)
                | Block::Select(_)
                | Block::Curve(_)
                | Block::LeadLag(_)
                | Block::Schedule(_) => {}
            }
        }
    }

    /// Convenience for a runtime: [`scan`](Self::scan) in `Run`, otherwise
    /// [`apply_safe_state`](Self::apply_safe_state).
    pub fn execute(
        &mut self,
        mode: OperatingMode,
        mem: &mut impl PlcMemory,
        dt_s: f64,
        events: &mut Vec<AlarmTransition>,
    ) {
        if mode.scans() {
            self.scan(mem, dt_s, events);
        } else {
            self.apply_safe_state(mem);
        }
    }

    /// Active alarms as `(name, kind)`, in block order.
    pub fn active_alarms(&self) -> Vec<(&str, AlarmKind)> {
        let mut v = Vec::new();
        for b in &self.blocks {
            if let Block::Alarm(a) = b {
                v.extend(a.active().map(|k| (a.name(), k)));
            }
        }
        v
    }
}
