//! `math`: arithmetic over two or more operands, e.g. the total flow of
//! three feed lines (`add`), the heat demand of several zones reduced to the
//! one that sets the boiler (`max`), or a flow per pump (`div`). Plants other
//! than water treatment compute such values in the PLC before controlling on
//! them, and an attacker who changes one input moves the result.

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::config::{MathConfig, MathOp};
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::{Operand, RegRef};

/// Compiled `math` block.
///
/// The result is computed in `f64` over the raw input values and only the
/// final value is rounded and clamped to `0..=65535` when written, so
/// `sub` of `[10, 20, -15]` writes 5 rather than clamping the intermediate
/// -10. A zero divisor in `div` writes nothing that scan, keeping the
/// previous output: a real PLC raises a math fault and its output holds
/// rather than jumping to 0 or full scale, which a downstream loop would act
/// on.
#[derive(Clone, Debug)]
pub struct Math {
    op: MathOp,
    first: Operand,
    rest: Vec<Operand>,
    out: RegRef,
}

impl Math {
    pub(crate) fn compile(cfg: &MathConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        let list = cfg.inputs.get_ref();
        if list.len() < 2 {
            return Err(ctx.err(
                "in",
                Some(cfg.inputs.span()),
                format!(
                    "expected 2 or more operands in `in` for `op = \"{}\"`, found {}",
                    cfg.op.name(),
                    list.len()
                ),
            ));
        }
        let mut ins = Vec::with_capacity(list.len());
        for (j, src) in list.iter().enumerate() {
            let field = format!("in[{j}]");
            let o = ctx.input(&field, src)?;
            if cfg.op == MathOp::Div && j > 0 && o.as_const() == Some(0.0) {
                return Err(ctx.err(
                    &field,
                    Some(src.span()),
                    "expected a non-zero divisor: a constant 0 would fault every scan and the \
                     output would never be written",
                ));
            }
            ins.push(o);
        }
        let first = ins.remove(0);
        Ok(Math {
            op: cfg.op,
            first,
            rest: ins,
            out: ctx.output("out", &cfg.out)?,
        })
    }

    pub(crate) fn exec(&mut self, mem: &mut dyn PlcMemory) {
        let mut acc = self.first.read(mem);
        for o in &self.rest {
            let x = o.read(mem);
            acc = match self.op {
                MathOp::Add => acc + x,
                MathOp::Sub => acc - x,
                MathOp::Mul => acc * x,
                MathOp::Div => {
                    if x == 0.0 {
                        return;
                    }
                    acc / x
                }
                MathOp::Min => acc.min(x),
                MathOp::Max => acc.max(x),
            };
        }
        self.out.write(mem, acc);
    }
}
