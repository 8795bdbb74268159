//! `select`: write one of two operands depending on a condition, e.g. a
//! night set-back of a heating set point, or a manual value from the HMI
//! instead of the computed one while a hand/auto switch is in hand.

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::blocks::condition::Condition;
use crate::plc_logic::config::SelectConfig;
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::{Operand, RegRef};

/// Compiled `select` block. Unlike an interlock it writes every scan, so
/// the output always follows the chosen operand and no earlier value lingers
/// when the condition flips.
#[derive(Clone, Debug)]
pub struct Select {
    when: Condition,
    if_true: Operand,
    if_false: Operand,
    out: RegRef,
}

impl Select {
    pub(crate) fn compile(cfg: &SelectConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        Ok(Select {
            when: Condition::compile(&cfg.when, &ctx.sub("when"))?,
            if_true: ctx.input("if_true", &cfg.if_true)?,
            if_false: ctx.input("if_false", &cfg.if_false)?,
            out: ctx.output("out", &cfg.out)?,
        })
    }

    pub(crate) fn exec(&mut self, mem: &mut dyn PlcMemory) {
        let v = if self.when.eval(mem) {
            self.if_true.read(mem)
        } else {
            self.if_false.read(mem)
        };
        self.out.write(mem, v);
    }
}
