//! Declarative PLC program: a TOML-defined list of function blocks that a
//! simulated PLC executes once per scan against its Modbus register memory.
//!
//! Scenario authors describe plant control (fill a tank, dose chlorine,
//! protect a pump, follow a heating curve, rotate duty pumps) without
//! writing Rust, and attacks act on the same
//! registers a real PLC program would read: change a setpoint in a holding
//! register, spoof a sensor input register, force a coil, stop the CPU.
//!
//! # Life cycle
//! 1. Deserialize [`PlcLogicConfig`] (or embed [`BlockConfig`] /
//!    [`SafeStateConfig`] lists in a larger config).
//! 2. [`PlcProgram::compile`] / [`PlcProgram::from_config`] validates every
//!    operand against the memory map and reports [`crate::ConfigError`]s with a
//!    field path relative to the `[plc]` table (`program[3].sp`) and the
//!    TOML byte span.
//! 3. Each scan in [`OperatingMode::Run`]: [`PlcProgram::scan`] with the scan
//!    period; in `Program`/`Stop`: [`PlcProgram::apply_safe_state`].
//!
//! # Operands
//! `"co:N"` coil, `"di:N"` discrete input, `"ir:N"` input register, `"hr:N"`
//! holding register, or a number (`100`, `12.5`, `"12.5"`, `true`). Values
//! are raw `u16` (bits 0/1) read as `f64`; written values are clamped to
//! `0..=65535` and rounded to nearest (bits: `>= 0.5` is 1). Outputs may be
//! any area: the program owns its image, and writing `ir`/`di` is how it
//! publishes computed status to Modbus clients (which cannot write them).
//!
//! # TOML schema
//! ```toml
//! [[plc.program]]
//! type = "onoff"            # hysteresis; strict comparisons, holds in between
//! name = "fill"             # optional label (all block types)
//! pv = "ir:0"
//! out = "co:0"
//! on_below = "hr:0"         # filling: on when pv < on_below ...
//! off_above = "hr:1"        #          off when pv > off_above
//! # on_above = 800          # draining: on when pv > on_above ...
//! # off_below = 200         #           off when pv < off_below
//!
//! [[plc.program]]
//! type = "pid"
//! pv = "ir:1"
//! sp = "hr:2"
//! out = "hr:10"
//! kp = 2.0                  # required; output units per pv unit
//! ki = 0.5                  # per second, default 0
//! kd = 0.0                  # seconds, default 0 (derivative on measurement)
//! out_min = 0               # default 0
//! out_max = 1000            # default 65535
//! reverse = false           # default false: e = sp - pv; true: e = pv - sp
//!
//! [[plc.program]]
//! type = "interlock"        # forces out = value while `when` holds
//! when = { any = [ { operand = "ir:0", above = 950 }, { operand = "di:0", equals = 1 } ] }
//! out = "co:0"
//! value = 0                 # default 0
//! latch = true              # optional; needs `reset`
//! reset = "co:9"            # releases the latch when non-zero and cause gone
//!
//! [[plc.program]]
//! type = "alarm"
//! name = "LT101"            # required, unique
//! pv = "ir:0"
//! high = 900                # raised while pv > high (high and/or low)
//! low = 100                 # raised while pv < low
//! deadband = 20             # clear at pv <= high - 20 / pv >= low + 20; default 0
//! delay_s = 2.0             # condition must persist; default 0
//! out = "co:5"              # optional bit (coil or discrete input), 1 while active
//!
//! [[plc.program]]
//! type = "scale"            # out = in * gain + offset ("move": in/out only)
//! in = "hr:3"
//! out = "hr:11"
//! gain = 40                 # default 1
//! offset = 0                # default 0
//!
//! [[plc.program]]
//! type = "timer"
//! when = { operand = "co:0", equals = 1 }
//! preset_s = 30
//! kind = "off_delay"        # "on_delay" (default) or "off_delay"
//! out = "co:3"
//!
//! [[plc.program]]
//! type = "math"             # add, sub, mul, div, min, max; sub/div fold left
//! op = "max"
//! in = ["ir:4", "ir:5", 40] # 2 or more operands
//! out = "hr:12"             # div by zero: output held that scan (math fault)
//!
//! [[plc.program]]
//! type = "select"           # out = if_true while `when` holds, else if_false
//! when = { operand = "co:4", equals = 1 }
//! if_true = "hr:13"
//! if_false = "hr:12"
//! out = "hr:14"
//!
//! [[plc.program]]
//! type = "curve"            # piecewise linear, clamped to the end values
//! in = "ir:6"
//! out = "hr:15"
//! points = [[30, 80], [50, 60], [70, 30]]   # x strictly increasing
//!
//! [[plc.program]]
//! type = "ramp"             # out moves towards `in` by at most rate * dt
//! in = "hr:15"
//! out = "hr:16"
//! rate = 0.5                # units per second, > 0
//! initial = "hr:16"         # optional; default: the target at the first scan
//!
//! [[plc.program]]
//! type = "leadlag"          # duty rotation of identical pumps
//! demand = "hr:17"          # pumps to run, rounded, clamped to 0..=N
//! outs = ["co:6", "co:7", "co:8"]
//! rotate_s = 86400          # lead moves to the next pump this often
//! available = ["di:6", "di:7", "di:8"]   # optional; 0 skips the pump
//!
//! [[plc.program]]
//! type = "schedule"         # time switch on the PLC's clock (the run's calendar)
//! switch_at = [["06:00", 1], ["22:00", 0]]   # or weekly: "mon 06:00"
//! utc_offset = "+01:00"     # optional; default UTC
//! out = "co:9"
//!
//! [[plc.safe_state]]        # written in Program/Stop mode
//! out = "co:0"
//! value = 0
//! ```
//! Conditions: `{ operand = X, below|above|equals|not_equals = Y }` (exactly
//! one comparator), `{ any = [..] }`, `{ all = [..] }`, nestable.
//!
//! Operands may carry a type (`"ir:0:i16"`, `"hr:4:f32:low_first"`; see [`operand`]).

pub mod blocks;
pub mod config;

pub mod memory;
pub mod mode;
pub mod operand;
pub mod program;

#[cfg(test)]
mod settle_tests;
#[cfg(test)]
mod tests;

pub use blocks::alarm::{AlarmKind, AlarmTransition};
pub use config::{
    AlarmConfig, BlockConfig, ConditionConfig, CurveConfig, InterlockConfig, LeadLagConfig, MathConfig,
    MathOp, OnOffAction, OnOffConfig, OperandCfg, PidConfig, PlcLogicConfig, RampConfig, SafeStateConfig,
    ScaleConfig, ScheduleConfig, SelectConfig, TimerConfig, TimerKind,
};

pub use memory::{Area, PlcMemory, VecMemory};
pub use mode::OperatingMode;
pub use operand::{Operand, OperandSrc, RegRef, format_address, parse_address, parse_typed_address};
pub use program::PlcProgram;
