//! `move` / `scale`: copy a value with linear scaling, e.g. a pump speed in
//! percent from an HMI register to a raw 0..=4000 drive reference.

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::config::ScaleConfig;
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::{Operand, RegRef};

/// Compiled `scale`/`move` block: `out = in * gain + offset`, clamped to
/// `0..=65535` and rounded.
#[derive(Clone, Debug)]
pub struct Scale {
    input: Operand,
    out: RegRef,
    gain: Operand,
    offset: Operand,
}

impl Scale {
    pub(crate) fn compile(cfg: &ScaleConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        Ok(Scale {
            input: ctx.input("in", &cfg.input)?,
            out: ctx.output("out", &cfg.out)?,
            gain: ctx.input_or("gain", cfg.gain.as_ref(), 1.0)?,
            offset: ctx.input_or("offset", cfg.offset.as_ref(), 0.0)?,
        })
    }

    pub(crate) fn exec(&mut self, mem: &mut dyn PlcMemory) {
        let v = self.input.read(mem) * self.gain.read(mem) + self.offset.read(mem);
        self.out.write(mem, v);
    }
}
