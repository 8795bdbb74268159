//! IEC-style on-delay (TON) and off-delay (TOF) timers, e.g. run a mixer for
//! a while after a dosing pump stops, or ignore a level switch bouncing.

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::blocks::condition::Condition;
use crate::plc_logic::config::{TimerConfig, TimerKind};
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::RegRef;

/// Tolerance on accumulated time, so that e.g. ten 0.1 s scans reach 1.0 s
/// despite binary rounding.
pub(crate) const TIME_EPS: f64 = 1e-9;

/// Compiled `timer` block. Elapsed time is the sum of `dt_s` over scans, so
/// a TON with preset `p` turns on at the first scan where the condition has
/// been true on `ceil(p / dt)` consecutive scans (a preset of 0 follows the
/// input immediately).
#[derive(Clone, Debug)]
pub struct Timer {
    when: Condition,
    preset: f64,
    out: RegRef,
    kind: TimerKind,
    elapsed: f64,
    q: bool,
}

impl Timer {
    pub(crate) fn compile(cfg: &TimerConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        Ok(Timer {
            when: Condition::compile(&cfg.when, &ctx.sub("when"))?,
            preset: ctx.seconds("preset_s", &cfg.preset_s)?,
            out: ctx.output("out", &cfg.out)?,
            kind: cfg.kind,
            elapsed: 0.0,
            q: false,
        })
    }

    pub(crate) fn exec(&mut self, mem: &mut dyn PlcMemory, dt: f64) {
        let input = self.when.eval(mem);
        let dt = if dt.is_finite() && dt > 0.0 { dt } else { 0.0 };
        match self.kind {
            TimerKind::OnDelay => {
                if input {
                    self.elapsed += dt;
                    self.q = self.elapsed + TIME_EPS >= self.preset;
                } else {
                    self.elapsed = 0.0;
                    self.q = false;
                }
            }
            TimerKind::OffDelay => {
                if input {
                    self.elapsed = 0.0;
                    self.q = true;
                } else if self.q {
                    self.elapsed += dt;
                    self.q = self.elapsed + TIME_EPS < self.preset;
                }
            }
        }
        self.out.write(mem, if self.q { 1.0 } else { 0.0 });
    }

    pub(crate) fn reset(&mut self) {
        self.elapsed = 0.0;
        self.q = false;
    }
}
