//! `leadlag`: duty rotation of identical pumps (or fans, boilers). Running
//! the same pump first every time wears it out while its stand-bys seize, so
//! a PLC rotates which pump leads and starts the others after it as demand
//! rises, skipping pumps that are failed or in maintenance.

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::blocks::timer::TIME_EPS;
use crate::plc_logic::config::LeadLagConfig;
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::{Operand, RegRef};

/// Compiled `leadlag` block.
///
/// Every `rotate_s` of accumulated scan time the lead moves to the next pump
/// in `outs` order (wrapping). Each scan `demand` (rounded, clamped to
/// `0..=N`) pumps run: the lead first, then the following ones in order,
/// passing over any pump whose `available` operand reads 0; with fewer
/// pumps available than demanded, all available ones run. Every output is
/// written every scan (1 running, 0 not), so a pump taken out of service
/// stops on the same scan. The lead and the time towards the next rotation
/// survive a stop/start, like a real PLC's retentive duty counters:
/// otherwise frequent restarts would always hand the duty to the first pump.
#[derive(Clone, Debug)]
pub struct LeadLag {
    demand: Operand,
    outs: Vec<RegRef>,
    available: Option<Vec<Operand>>,
    rotate_s: f64,
    lead: usize,
    elapsed: f64,
}

impl LeadLag {
    pub(crate) fn compile(cfg: &LeadLagConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        let list = cfg.outs.get_ref();
        if list.len() < 2 {
            return Err(ctx.err(
                "outs",
                Some(cfg.outs.span()),
                format!(
                    "expected 2 or more pump outputs like [\"co:0\", \"co:1\"], found {}",
                    list.len()
                ),
            ));
        }
        let mut outs: Vec<RegRef> = Vec::with_capacity(list.len());
        for (j, src) in list.iter().enumerate() {
            let field = format!("outs[{j}]");
            let r = ctx.bit_output(&field, src)?;
            if let Some(first) = outs.iter().position(|&o| o == r) {
                return Err(ctx.err(
                    &field,
                    Some(src.span()),
                    format!(
                        "{r} is already pump {first}'s output (outs[{first}]); expected one output per pump"
                    ),
                ));
            }
            outs.push(r);
        }
        let available = match &cfg.available {
            None => None,
            Some(a) => {
                if a.get_ref().len() != outs.len() {
                    return Err(ctx.err(
                        "available",
                        Some(a.span()),
                        format!(
                            "expected one operand per pump in `outs` ({}), found {}",
                            outs.len(),
                            a.get_ref().len()
                        ),
                    ));
                }
                let ops = a
                    .get_ref()
                    .iter()
                    .enumerate()
                    .map(|(j, src)| ctx.input(&format!("available[{j}]"), src))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(ops)
            }
        };
        let rotate_s = ctx.seconds("rotate_s", &cfg.rotate_s)?;
        if rotate_s <= 0.0 {
            return Err(ctx.err(
                "rotate_s",
                Some(cfg.rotate_s.span()),
                format!("expected a rotation period in seconds > 0, found {rotate_s}"),
            ));
        }
        Ok(LeadLag {
            demand: ctx.input("demand", &cfg.demand)?,
            outs,
            available,
            rotate_s,
            lead: 0,
            elapsed: 0.0,
        })
    }

    pub(crate) fn exec(&mut self, mem: &mut dyn PlcMemory, dt: f64) {
        let n = self.outs.len();
        if dt.is_finite() && dt > 0.0 {
            self.elapsed += dt;
            if self.elapsed + TIME_EPS >= self.rotate_s {
                let turns = ((self.elapsed + TIME_EPS) / self.rotate_s).floor();
                self.elapsed = (self.elapsed - turns * self.rotate_s).max(0.0);
                // `as` saturates; only the turns modulo N matter.
                self.lead = (self.lead + (turns as usize) % n) % n;
            }
        }
        let demand = self.demand.read(mem);
        let want = if demand.is_nan() {
            0
        } else {
            // Clamped to 0..=N first, so the cast is exact.
            demand.round().clamp(0.0, n as f64) as usize
        };
        let mut running = 0;
        for k in 0..n {
            let i = (self.lead + k) % n;
            let available = self.available.as_ref().is_none_or(|a| a[i].read(mem) != 0.0);
            let run = available && running < want;
            if run {
                running += 1;
            }
            self.outs[i].write(mem, if run { 1.0 } else { 0.0 });
        }
    }
}
