//! `ramp`: move an output towards a target at a limited rate, so that a set
//! point step (an operator typing a new supply temperature, a weather curve
//! jumping after a sensor fault, an attacker writing a register) reaches the
//! plant gradually: a district heating network stressed by a fast
//! temperature change suffers pipe fatigue and pressure transients.

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::config::RampConfig;
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::{Operand, RegRef};

/// Compiled `ramp` block.
///
/// Each scan the output moves towards the target by at most `rate × dt_s`
/// and never past it. The ramped value is kept in `f64`, so a rate too slow
/// to change the rounded register in one scan still accumulates. On the
/// first scan (and after a restart) it starts from `initial`, or from the
/// target when `initial` is absent; `initial = <the out register>` resumes
/// from whatever the output holds, e.g. the safe state after a stop. A rate
/// read as zero, negative or non-finite at run time (a register cleared over
/// Modbus) freezes the output instead of letting it jump.
#[derive(Clone, Debug)]
pub struct Ramp {
    target: Operand,
    out: RegRef,
    rate: Operand,
    initial: Option<Operand>,
    current: Option<f64>,
}

impl Ramp {
    pub(crate) fn compile(cfg: &RampConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        let rate = ctx.input("rate", &cfg.rate)?;
        if let Some(r) = rate.as_const()
            && r <= 0.0
        {
            return Err(ctx.err(
                "rate",
                Some(cfg.rate.span()),
                format!("expected a rate > 0 (units per second), found {r}"),
            ));
        }
        Ok(Ramp {
            target: ctx.input("in", &cfg.input)?,
            out: ctx.output("out", &cfg.out)?,
            rate,
            initial: cfg
                .initial
                .as_ref()
                .map(|i| ctx.input("initial", i))
                .transpose()?,
            current: None,
        })
    }

    pub(crate) fn exec(&mut self, mem: &mut dyn PlcMemory, dt: f64) {
        let target = self.target.read(mem);
        let current = match (self.current, self.initial) {
            (Some(c), _) => c,
            (None, Some(i)) => i.read(mem),
            (None, None) => target,
        };
        let rate = self.rate.read(mem);
        let max_step = if dt.is_finite() && dt > 0.0 && rate.is_finite() && rate > 0.0 {
            rate * dt
        } else {
            0.0
        };
        let next = current + (target - current).clamp(-max_step, max_step);
        self.current = Some(next);
        self.out.write(mem, next);
    }

    /// Start again from `initial` (or the target) on the next scan.
    pub(crate) fn reset(&mut self) {
        self.current = None;
    }
}
