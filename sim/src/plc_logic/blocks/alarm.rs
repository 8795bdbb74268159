//! Process alarms: high/low limits with deadband and on-delay, reported as
//! transitions so the caller can log them and an operator model can react.

use serde::Serialize;

use crate::base::config_error::ConfigError;
use crate::plc_logic::blocks::Ctx;
use crate::plc_logic::blocks::timer::TIME_EPS;
use crate::plc_logic::config::AlarmConfig;
use crate::plc_logic::memory::PlcMemory;
use crate::plc_logic::operand::{Operand, RegRef};

/// Which limit an alarm transition concerns.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlarmKind {
    /// `pv > high`.
    High,
    /// `pv < low`.
    Low,
}

/// An alarm being raised or cleared on a scan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlarmTransition {
    /// The alarm block's `name`.
    pub name: String,
    /// Which limit.
    pub kind: AlarmKind,
    /// `true` = raised, `false` = cleared.
    pub raised: bool,
    /// Process value on the scan of the transition.
    pub value: f64,
    /// The configured limit (`high` or `low`, without deadband) at that
    /// scan, so a log line reads "LT101 high cleared at 77 (limit 80)".
    pub threshold: f64,
}

#[derive(Clone, Debug, Default)]
struct LimitState {
    active: bool,
    pending_s: f64,
}

/// Compiled `alarm` block.
///
/// High: raised once `pv > high` has held for `delay_s` (consecutive scans,
/// time summed from `dt_s`), cleared as soon as `pv <= high - deadband`.
/// Low: raised once `pv < low` has held for `delay_s`, cleared when
/// `pv >= low + deadband`. Between the limit and the clear point an active
/// alarm stays active, which prevents a noisy value from flooding the log.
/// Each transition is reported exactly once. `out` (if given) is 1 while
/// either limit is active.
#[derive(Clone, Debug)]
pub struct Alarm {
    name: String,
    pv: Operand,
    high: Option<Operand>,
    low: Option<Operand>,
    deadband: Operand,
    delay_s: f64,
    out: Option<RegRef>,
    high_state: LimitState,
    low_state: LimitState,
}

impl Alarm {
    pub(crate) fn compile(cfg: &AlarmConfig, ctx: &Ctx<'_>) -> Result<Self, ConfigError> {
        let deadband = ctx.input_or("deadband", cfg.deadband.as_ref(), 0.0)?;
        if let (Some(db), Some(src)) = (deadband.as_const(), cfg.deadband.as_ref())
            && db < 0.0
        {
            return Err(ctx.err(
                "deadband",
                Some(src.span()),
                format!("expected a deadband >= 0, found {db}"),
            ));
        }
        if cfg.name.trim().is_empty() {
            return Err(ctx.err("name", None, "expected a non-empty alarm name"));
        }
        Ok(Alarm {
            name: cfg.name.clone(),
            pv: ctx.input("pv", &cfg.pv)?,
            high: cfg.high.as_ref().map(|h| ctx.input("high", h)).transpose()?,
            low: cfg.low.as_ref().map(|l| ctx.input("low", l)).transpose()?,
            deadband,
            delay_s: cfg
                .delay_s
                .as_ref()
                .map(|d| ctx.seconds("delay_s", d))
                .transpose()?
                .unwrap_or(0.0),
            out: cfg.out.as_ref().map(|o| ctx.bit_output("out", o)).transpose()?,
            high_state: LimitState::default(),
            low_state: LimitState::default(),
        })
    }

    pub(crate) fn exec(&mut self, mem: &mut dyn PlcMemory, dt: f64, events: &mut Vec<AlarmTransition>) {
        let pv = self.pv.read(mem);
        let db = self.deadband.read(mem).max(0.0);
        let dt = if dt.is_finite() && dt > 0.0 { dt } else { 0.0 };
        if let Some(high) = self.high {
            let t = high.read(mem);
            let tr = step(&mut self.high_state, pv > t, pv <= t - db, dt, self.delay_s);
            push(events, &self.name, AlarmKind::High, tr, pv, t);
        }
        if let Some(low) = self.low {
            let t = low.read(mem);
            let tr = step(&mut self.low_state, pv < t, pv >= t + db, dt, self.delay_s);
            push(events, &self.name, AlarmKind::Low, tr, pv, t);
        }
        if let Some(out) = self.out {
            let on = self.high_state.active || self.low_state.active;
            out.write(mem, if on { 1.0 } else { 0.0 });
        }
    }

    /// Forget pending delays (active alarms stay active: a stop/start must
    /// not silently clear an alarm without reporting it).
    pub(crate) fn reset(&mut self) {
        self.high_state.pending_s = 0.0;
        self.low_state.pending_s = 0.0;
    }

    /// Whether a limit is exceeded and its delay still running: the next scan moves the
    /// alarm on even if nothing else changes.
    pub(crate) fn timing(&self) -> bool {
        self.high_state.pending_s != 0.0 || self.low_state.pending_s != 0.0
    }

    /// The alarm's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Currently active limits.
    pub fn active(&self) -> impl Iterator<Item = AlarmKind> + '_ {
        [
            (AlarmKind::High, self.high_state.active),
            (AlarmKind::Low, self.low_state.active),
        ]
        .into_iter()
        .filter(|(_, a)| *a)
        .map(|(k, _)| k)
    }
}

/// Advance one limit; returns `Some(raised)` on a transition.
fn step(s: &mut LimitState, raise: bool, clear: bool, dt: f64, delay: f64) -> Option<bool> {
    if s.active {
        if clear {
            s.active = false;
            return Some(false);
        }
        return None;
    }
    if raise {
        s.pending_s += dt;
        if s.pending_s + TIME_EPS >= delay {
            s.active = true;
            s.pending_s = 0.0;
            return Some(true);
        }
    } else {
        s.pending_s = 0.0;
    }
    None
}

fn push(
    events: &mut Vec<AlarmTransition>,
    name: &str,
    kind: AlarmKind,
    tr: Option<bool>,
    value: f64,
    threshold: f64,
) {
    if let Some(raised) = tr {
        events.push(AlarmTransition {
            name: name.to_owned(),
            kind,
            raised,
            value,
            threshold,
        });
    }
}
