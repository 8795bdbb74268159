//! Interlocks: force an output while a condition holds, overriding whatever
//! earlier blocks wrote in the same scan (place interlocks after the
//! controllers they guard). This is how a PLC protects equipment, e.g. stop
//! the feed pump on high-high level, independently of the control loop.

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::blocks::condition::Condition;
use crate::plc_logic::config::InterlockConfig;
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::{Operand, RegRef};

/// Compiled `interlock` block.
///
/// Non-latching: active exactly while `when` is true. Latching
/// (`latch = true, reset = ...`): trips when `when` becomes true and stays
/// tripped until `when` is false *and* the reset operand is non-zero on the
/// same scan; a reset while the cause persists is ignored. The reset is
/// level-sensitive and the block never writes it, so an HMI should pulse it.
/// While inactive the block writes nothing.
#[derive(Clone, Debug)]
pub struct Interlock {
    when: Condition,
    out: RegRef,
    value: Operand,
    reset: Option<Operand>,
    latched: bool,
}

impl Interlock {
    pub(crate) fn compile(cfg: &InterlockConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        Ok(Interlock {
            when: Condition::compile(&cfg.when, &ctx.sub("when"))?,
            out: ctx.output("out", &cfg.out)?,
            value: ctx.input_or("value", cfg.value.as_ref(), 0.0)?,
            reset: cfg.reset.as_ref().map(|r| ctx.input("reset", r)).transpose()?,
            latched: false,
        })
    }

    pub(crate) fn exec(&mut self, mem: &mut dyn PlcMemory) {
        let cause = self.when.eval(mem);
        let active = match self.reset {
            None => cause,
            Some(reset) => {
                if cause {
                    self.latched = true;
                } else if self.latched && reset.read(mem) != 0.0 {
                    self.latched = false;
                }
                self.latched
            }
        };
        if active {
            let v = self.value.read(mem);
            self.out.write(mem, v);
        }
    }
}
