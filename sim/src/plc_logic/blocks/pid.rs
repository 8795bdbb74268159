//! PID controller (positional form, integral kept in output units).
//!
//! ```text
//! e  = sp - pv            (direct acting; reverse: e = pv - sp)
//! P  = kp * e
//! I += ki * e * dt        (ki per second; see anti-windup below)
//! D  = -kd * d(pv)/dt     (reverse: +kd * d(pv)/dt) — derivative on measurement
//! out = clamp(P + I + D, out_min, out_max)
//! ```
//!
//! * Derivative on measurement: a setpoint change from the HMI does not
//!   produce a derivative kick.
//! * Anti-windup (integral clamping): an integral step that would drive the
//!   output past a limit only integrates up to the value that just reaches
//!   the limit, and never grows at all while the output is already
//!   saturated in that direction. A saturated loop therefore does not
//!   accumulate integral and leaves saturation as soon as the error changes
//!   sign. The integral is also bounded to `[out_min - span, out_max + span]`
//!   (`span = out_max - out_min`) as a backstop.
//! * Bumpless start: on the first scan (and after a restart, e.g. on a
//!   Stop→Run transition) the integral is preloaded so that the output equals
//!   the value already in the output register. With `ki = 0` there is no
//!   integral to absorb the difference, so a P/PD controller starts directly
//!   at `kp * e`.
//! * Gains and limits are operands, so they can be tuned (or attacked) via
//!   holding registers. Because the integral is stored in output units,
//!   changing `ki` does not bump the output.
//! * `dt_s <= 0` or non-finite: the integral and derivative are frozen.
//! * If `out_min > out_max` at run time, `out_max` is raised to `out_min`.

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::config::PidConfig;
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::{Operand, RegRef};

/// Compiled `pid` block.
#[derive(Clone, Debug)]
pub struct Pid {
    pv: Operand,
    sp: Operand,
    out: RegRef,
    kp: Operand,
    ki: Operand,
    kd: Operand,
    out_min: Operand,
    out_max: Operand,
    reverse: bool,
    integral: f64,
    last_pv: Option<f64>,
    initialised: bool,
}

impl Pid {
    pub(crate) fn compile(cfg: &PidConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        let out_min = ctx.input_or("out_min", cfg.out_min.as_ref(), 0.0)?;
        let out_max = ctx.input_or("out_max", cfg.out_max.as_ref(), 65535.0)?;
        if let (Some(lo), Some(hi), Some(src)) =
            (out_min.as_const(), out_max.as_const(), cfg.out_max.as_ref())
            && lo > hi
        {
            return Err(ctx.err(
                "out_max",
                Some(src.span()),
                format!("expected out_max >= out_min, found {hi} < {lo}"),
            ));
        }
        Ok(Pid {
            pv: ctx.input("pv", &cfg.pv)?,
            sp: ctx.input("sp", &cfg.sp)?,
            out: ctx.output("out", &cfg.out)?,
            kp: ctx.input("kp", &cfg.kp)?,
            ki: ctx.input_or("ki", cfg.ki.as_ref(), 0.0)?,
            kd: ctx.input_or("kd", cfg.kd.as_ref(), 0.0)?,
            out_min,
            out_max,
            reverse: cfg.reverse,
            integral: 0.0,
            last_pv: None,
            initialised: false,
        })
    }

    pub(crate) fn exec(&mut self, mem: &mut dyn PlcMemory, dt: f64) {
        let pv = self.pv.read(mem);
        let sp = self.sp.read(mem);
        let (kp, ki, kd) = (self.kp.read(mem), self.ki.read(mem), self.kd.read(mem));
        let lo = self.out_min.read(mem);
        let hi = self.out_max.read(mem).max(lo);
        let span = hi - lo;
        let dt_ok = dt.is_finite() && dt > 0.0;

        let e = if self.reverse { pv - sp } else { sp - pv };
        let p = kp * e;
        let d = match self.last_pv {
            Some(last) if dt_ok => {
                let dpv = (pv - last) / dt;
                kd * if self.reverse { dpv } else { -dpv }
            }
            _ => 0.0,
        };

        if !self.initialised {
            self.initialised = true;
            self.integral = if ki != 0.0 {
                self.out.read(mem) - p - d
            } else {
                0.0
            };
        } else if dt_ok {
            let step = ki * e * dt;
            let next = self.integral + step;
            if step > 0.0 {
                // Integrate at most up to the value that just saturates the
                // output; never grow further while already saturated.
                let room = hi - p - d;
                self.integral = if next <= room {
                    next
                } else {
                    self.integral.max(room)
                };
            } else if step < 0.0 {
                let room = lo - p - d;
                self.integral = if next >= room {
                    next
                } else {
                    self.integral.min(room)
                };
            }
        }
        self.integral = self.integral.clamp(lo - span, hi + span);
        self.last_pv = Some(pv);

        let u = (p + self.integral + d).clamp(lo, hi);
        self.out.write(mem, u);
    }

    /// Re-arm bumpless start: the next scan preloads from the output.
    pub(crate) fn reset(&mut self) {
        self.initialised = false;
        self.last_pv = None;
    }

    /// Current integral term (output units), for diagnostics and tests.
    pub fn integral(&self) -> f64 {
        self.integral
    }
}
