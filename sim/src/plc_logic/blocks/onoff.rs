//! Two-point (hysteresis) control, e.g. a fill pump keeping a tank between
//! two levels. Hysteresis avoids the pump chattering around one threshold.

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::config::{OnOffAction, OnOffConfig};
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::{Operand, RegRef};

/// Compiled `onoff` block.
///
/// Filling: on when `pv < on_below`, off when `pv > off_above`, otherwise
/// hold. Draining: on when `pv > on_above`, off when `pv < off_below`,
/// otherwise hold. If runtime thresholds overlap so that both apply, *off*
/// wins (stop moving product rather than overflow/run dry). The held state
/// starts from the current output value, so a restart does not toggle it.
#[derive(Clone, Debug)]
pub struct OnOff {
    pv: Operand,
    out: RegRef,
    on: Operand,
    off: Operand,
    fill: bool,
    state: Option<bool>,
}

impl OnOff {
    pub(crate) fn compile(cfg: &OnOffConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        let pv = ctx.input("pv", &cfg.pv)?;
        let out = ctx.output("out", &cfg.out)?;
        let (fill, on_key, on_src, off_key, off_src) = match &cfg.action {
            OnOffAction::Fill { on_below, off_above } => (true, "on_below", on_below, "off_above", off_above),
            OnOffAction::Drain { on_above, off_below } => {
                (false, "on_above", on_above, "off_below", off_below)
            }
        };
        let on = ctx.input(on_key, on_src)?;
        let off = ctx.input(off_key, off_src)?;
        if let (Some(a), Some(b)) = (on.as_const(), off.as_const()) {
            let bad = if fill { a > b } else { b > a };
            if bad {
                let msg = if fill {
                    format!("expected on_below <= off_above for a filling controller, found {a} > {b}")
                } else {
                    format!("expected off_below <= on_above for a draining controller, found {b} > {a}")
                };
                return Err(ctx.err(on_key, Some(on_src.span()), msg));
            }
        }
        Ok(OnOff {
            pv,
            out,
            on,
            off,
            fill,
            state: None,
        })
    }

    pub(crate) fn exec(&mut self, mem: &mut dyn PlcMemory) {
        let pv = self.pv.read(mem);
        let on = self.on.read(mem);
        let off = self.off.read(mem);
        let current = match self.state {
            Some(s) => s,
            None => self.out.read(mem) != 0.0,
        };
        let next = if self.fill {
            if pv > off {
                false
            } else if pv < on {
                true
            } else {
                current
            }
        } else if pv < off {
            false
        } else if pv > on {
            true
        } else {
            current
        };
        // The output first: `out` is read as two 4-byte words, the second of which holds
        // `state`'s byte, and such a read right after a store to `state` waits for the
        // store to complete (a store-forwarding stall: `OnOff::exec` went from 5.7 % to
        // 2.0 % of a 1,000-PLC run's samples, docs/src/performance.md).
        self.out.write(mem, if next { 1.0 } else { 0.0 });
        self.state = Some(next);
    }

    /// Forget the held state; the next scan re-reads it from the output.
    pub(crate) fn reset(&mut self) {
        self.state = None;
    }
}
