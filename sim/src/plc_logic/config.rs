//! Serde types for the `[plc]` program configuration.
//!
//! Every operand is kept as a [`toml::Spanned`] [`OperandSrc`] so that
//! [`PlcProgram::compile`](crate::plc_logic::PlcProgram::compile) can report the
//! exact byte span of a bad operand. Blocks are tagged by `type`; because
//! serde's internally tagged enums buffer their content and lose TOML spans,
//! a block is first read into a flat private table (which rejects unknown
//! keys) and then converted into the typed [`BlockConfig`], which rejects keys
//! that belong to another block type and reports missing ones.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IntoDeserializer, SeqAccess, Visitor};
use toml::Spanned;

use crate::base::config_error::ConfigError;
use crate::plc_logic::operand::OperandSrc;

/// An operand with its source span.
pub type OperandCfg = Spanned<OperandSrc>;

/// The PLC logic part of a `[plc]` table: the program and the safe state.
///
/// A larger `[plc]` table in the main crate (unit id, scan period, ...) can
/// embed these two fields directly instead of using this struct.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlcLogicConfig {
    /// `[[plc.program]]`: blocks executed top to bottom every scan.
    #[serde(default)]
    pub program: Vec<BlockConfig>,
    /// `[[plc.safe_state]]`: output values applied in Program/Stop mode.
    #[serde(default)]
    pub safe_state: Vec<SafeStateConfig>,
}

impl PlcLogicConfig {
    /// Parse a TOML document whose only table is `[plc]` (handy for tests
    /// and stand-alone PLC definitions).
    pub fn from_toml_str(src: &str) -> Result<Self, ConfigError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Doc {
            plc: PlcLogicConfig,
        }
        toml::from_str::<Doc>(src)
            .map(|d| d.plc)
            .map_err(|e| ConfigError::from_toml("plc", &e))
    }
}

/// One `[[plc.safe_state]]` entry: where a stopped PLC parks an output.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafeStateConfig {
    /// Register to drive, e.g. `"co:0"`.
    pub out: OperandCfg,
    /// Raw value to write (0/1 for coils and discrete inputs).
    pub value: Spanned<u16>,
}

/// A condition (`when = { ... }`) used by `interlock`, `timer` and `select` blocks.
///
/// Exactly one form must be used: a comparison (`operand` plus exactly one of
/// `below`, `above`, `equals`, `not_equals`), `any = [ ... ]` (OR) or
/// `all = [ ... ]` (AND). Comparisons are strict (`below` is `<`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionConfig {
    /// Left-hand side of a comparison.
    pub operand: Option<OperandCfg>,
    /// True while `operand < below`.
    pub below: Option<OperandCfg>,
    /// True while `operand > above`.
    pub above: Option<OperandCfg>,
    /// True while `operand == equals`.
    pub equals: Option<OperandCfg>,
    /// True while `operand != not_equals`.
    pub not_equals: Option<OperandCfg>,
    /// True while any sub-condition is true.
    pub any: Option<Vec<ConditionConfig>>,
    /// True while all sub-conditions are true.
    pub all: Option<Vec<ConditionConfig>>,
}

/// One `[[plc.program]]` block, selected by its `type` key.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(try_from = "RawBlock")]
pub enum BlockConfig {
    /// `type = "onoff"`: two-point (hysteresis) control.
    OnOff(OnOffConfig),
    /// `type = "pid"`: PID controller.
    Pid(PidConfig),
    /// `type = "interlock"`: force an output while a condition holds.
    Interlock(InterlockConfig),
    /// `type = "alarm"`: high/low alarm with deadband and delay.
    Alarm(AlarmConfig),
    /// `type = "scale"` (`out = in * gain + offset`) or `type = "move"`
    /// (plain copy; `gain`/`offset` are then `None`).
    Scale(ScaleConfig),
    /// `type = "timer"`: on-delay or off-delay timer.
    Timer(TimerConfig),
    /// `type = "math"`: arithmetic over two or more operands.
    Math(MathConfig),
    /// `type = "select"`: one of two operands, chosen by a condition.
    Select(SelectConfig),
    /// `type = "curve"`: piecewise-linear characteristic.
    Curve(CurveConfig),
    /// `type = "ramp"`: rate-limited set point.
    Ramp(RampConfig),
    /// `type = "leadlag"`: duty rotation of identical pumps.
    LeadLag(LeadLagConfig),
    /// `type = "schedule"`: a value following the time of day or the day of the week.
    Schedule(ScheduleConfig),
}

/// Which way an on/off controller acts.
#[derive(Clone, Debug, PartialEq)]
pub enum OnOffAction {
    /// Filling: output on when `pv < on_below`, off when `pv > off_above`.
    Fill {
        /// Switch-on threshold.
        on_below: OperandCfg,
        /// Switch-off threshold.
        off_above: OperandCfg,
    },
    /// Draining: output on when `pv > on_above`, off when `pv < off_below`.
    Drain {
        /// Switch-on threshold.
        on_above: OperandCfg,
        /// Switch-off threshold.
        off_below: OperandCfg,
    },
}

/// `type = "onoff"`.
#[derive(Clone, Debug, PartialEq)]
pub struct OnOffConfig {
    /// Optional label.
    pub name: Option<String>,
    /// Process value.
    pub pv: OperandCfg,
    /// Output written 1/0.
    pub out: OperandCfg,
    /// Thresholds and direction.
    pub action: OnOffAction,
}

/// `type = "pid"`.
#[derive(Clone, Debug, PartialEq)]
pub struct PidConfig {
    /// Optional label.
    pub name: Option<String>,
    /// Process value.
    pub pv: OperandCfg,
    /// Setpoint.
    pub sp: OperandCfg,
    /// Output register.
    pub out: OperandCfg,
    /// Proportional gain (output units per pv unit).
    pub kp: OperandCfg,
    /// Integral gain per second (default 0).
    pub ki: Option<OperandCfg>,
    /// Derivative time in seconds (default 0).
    pub kd: Option<OperandCfg>,
    /// Lower output limit (default 0).
    pub out_min: Option<OperandCfg>,
    /// Upper output limit (default 65535).
    pub out_max: Option<OperandCfg>,
    /// Reverse acting: error = pv - sp instead of sp - pv.
    pub reverse: bool,
}

/// `type = "interlock"`.
#[derive(Clone, Debug, PartialEq)]
pub struct InterlockConfig {
    /// Optional label.
    pub name: Option<String>,
    /// Trip condition.
    pub when: ConditionConfig,
    /// Output forced while tripped.
    pub out: OperandCfg,
    /// Value forced (default 0).
    pub value: Option<OperandCfg>,
    /// Reset operand when latching (`latch = true, reset = "co:9"`).
    pub reset: Option<OperandCfg>,
}

/// `type = "alarm"`.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmConfig {
    /// Alarm name reported in transitions.
    pub name: String,
    /// Process value.
    pub pv: OperandCfg,
    /// High limit: raised while `pv > high`.
    pub high: Option<OperandCfg>,
    /// Low limit: raised while `pv < low`.
    pub low: Option<OperandCfg>,
    /// Clear hysteresis (default 0).
    pub deadband: Option<OperandCfg>,
    /// Seconds the condition must persist before raising (default 0).
    pub delay_s: Option<Spanned<f64>>,
    /// Bit set while the alarm is active (coil or discrete input).
    pub out: Option<OperandCfg>,
}

/// `type = "scale"` / `type = "move"`.
#[derive(Clone, Debug, PartialEq)]
pub struct ScaleConfig {
    /// Optional label.
    pub name: Option<String>,
    /// Input (`in` in TOML).
    pub input: OperandCfg,
    /// Output register.
    pub out: OperandCfg,
    /// Multiplier (default 1).
    pub gain: Option<OperandCfg>,
    /// Added after multiplying (default 0).
    pub offset: Option<OperandCfg>,
}

/// Timer function.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    /// TON: output 1 once the condition has held for `preset_s`.
    #[default]
    OnDelay,
    /// TOF: output 1 while the condition holds and for `preset_s` after.
    OffDelay,
}

/// `type = "timer"`.
#[derive(Clone, Debug, PartialEq)]
pub struct TimerConfig {
    /// Optional label.
    pub name: Option<String>,
    /// Timer input.
    pub when: ConditionConfig,
    /// Preset in seconds.
    pub preset_s: Spanned<f64>,
    /// Output written 1/0.
    pub out: OperandCfg,
    /// On- or off-delay.
    pub kind: TimerKind,
}

/// Operation of a `math` block. `sub` and `div` fold left
/// (`in[0] - in[1] - in[2]`), as a PLC's chained SUB/DIV instructions do.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MathOp {
    /// Sum of the inputs.
    Add,
    /// `in[0]` minus every later input.
    Sub,
    /// Product of the inputs.
    Mul,
    /// `in[0]` divided by every later input; a zero divisor holds the output.
    Div,
    /// Smallest input.
    Min,
    /// Largest input.
    Max,
}

impl MathOp {
    /// The name as written in TOML, for messages.
    pub fn name(self) -> &'static str {
        match self {
            MathOp::Add => "add",
            MathOp::Sub => "sub",
            MathOp::Mul => "mul",
            MathOp::Div => "div",
            MathOp::Min => "min",
            MathOp::Max => "max",
        }
    }
}

/// `type = "math"`: combines measurements or set points (a total flow, the
/// highest zone demand) so later blocks control on one value.
#[derive(Clone, Debug, PartialEq)]
pub struct MathConfig {
    /// Optional label.
    pub name: Option<String>,
    /// Operation.
    pub op: MathOp,
    /// Operands (`in` in TOML), kept with the list's span so that a list
    /// that is too short can be pointed at.
    pub inputs: Spanned<Vec<OperandCfg>>,
    /// Output register.
    pub out: OperandCfg,
}

/// `type = "select"`: switches between two values (night set-back,
/// hand/auto) without a latch, so the output always follows the choice.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectConfig {
    /// Optional label.
    pub name: Option<String>,
    /// Chooses `if_true` while it holds, `if_false` otherwise.
    pub when: ConditionConfig,
    /// Written while `when` holds.
    pub if_true: OperandCfg,
    /// Written while `when` does not hold.
    pub if_false: OperandCfg,
    /// Output register.
    pub out: OperandCfg,
}

/// `type = "curve"`: a characteristic such as a weather-compensated heating
/// curve, so a set point can follow a measurement without a controller.
#[derive(Clone, Debug, PartialEq)]
pub struct CurveConfig {
    /// Optional label.
    pub name: Option<String>,
    /// Input (`in` in TOML), in the same raw units as the points' x.
    pub input: OperandCfg,
    /// Output register.
    pub out: OperandCfg,
    /// `[[x, y], ...]` as written; each point keeps its span so a bad one
    /// can be named (`points[2]`).
    pub points: Spanned<Vec<Spanned<Vec<f64>>>>,
}

/// `type = "ramp"`: limits how fast a set point may change, so a step does
/// not shock the plant.
#[derive(Clone, Debug, PartialEq)]
pub struct RampConfig {
    /// Optional label.
    pub name: Option<String>,
    /// Target (`in` in TOML).
    pub input: OperandCfg,
    /// Output register.
    pub out: OperandCfg,
    /// Largest change in units per second.
    pub rate: OperandCfg,
    /// Starting value at the first scan (default: the target).
    pub initial: Option<OperandCfg>,
}

/// `type = "leadlag"`: shares running hours between identical pumps and
/// covers for one that is out of service.
#[derive(Clone, Debug, PartialEq)]
pub struct LeadLagConfig {
    /// Optional label.
    pub name: Option<String>,
    /// How many pumps should run.
    pub demand: OperandCfg,
    /// One bit output per pump, in rotation order.
    pub outs: Spanned<Vec<OperandCfg>>,
    /// Seconds of scan time between lead changes.
    pub rotate_s: Spanned<f64>,
    /// One operand per pump; 0 means the pump cannot run.
    pub available: Option<Spanned<Vec<OperandCfg>>>,
}

/// A schedule's `[time, value]` pairs, each with its span.
pub type SwitchTimes = Spanned<Vec<Spanned<(String, f64)>>>;

/// `type = "schedule"`: a time switch on the PLC's real-time clock (occupied hours, a
/// night set-back, a weekend shutdown), so a program follows the site's routine.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleConfig {
    /// Optional label.
    pub name: Option<String>,
    /// `[time, value]` pairs as written: from each time on the output is its value, until
    /// the next. Times are `"HH:MM"` (daily) or `"mon 06:00"` (weekly).
    pub switch_at: SwitchTimes,
    /// The site's offset from UTC, `"+01:00"` (default UTC).
    pub utc_offset: Option<Spanned<String>>,
    /// Output register.
    pub out: OperandCfg,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum BlockType {
    Onoff,
    Pid,
    Interlock,
    Alarm,
    Scale,
    Move,
    Timer,
    Math,
    Select,
    Curve,
    Ramp,
    Leadlag,
    Schedule,
}

impl BlockType {
    fn name(self) -> &'static str {
        match self {
            BlockType::Onoff => "onoff",
            BlockType::Pid => "pid",
            BlockType::Interlock => "interlock",
            BlockType::Alarm => "alarm",
            BlockType::Scale => "scale",
            BlockType::Move => "move",
            BlockType::Timer => "timer",
            BlockType::Math => "math",
            BlockType::Select => "select",
            BlockType::Curve => "curve",
            BlockType::Ramp => "ramp",
            BlockType::Leadlag => "leadlag",
            BlockType::Schedule => "schedule",
        }
    }

    /// Keys accepted besides `type` and `name`.
    fn allowed(self) -> &'static [&'static str] {
        match self {
            BlockType::Onoff => &["pv", "out", "on_below", "off_above", "on_above", "off_below"],
            BlockType::Pid => &[
                "pv", "sp", "out", "kp", "ki", "kd", "out_min", "out_max", "reverse",
            ],
            BlockType::Interlock => &["when", "out", "value", "latch", "reset"],
            BlockType::Alarm => &["pv", "high", "low", "deadband", "delay_s", "out"],
            BlockType::Scale => &["in", "out", "gain", "offset"],
            BlockType::Move => &["in", "out"],
            BlockType::Timer => &["when", "preset_s", "out", "kind"],
            BlockType::Math => &["op", "in", "out"],
            BlockType::Select => &["when", "if_true", "if_false", "out"],
            BlockType::Curve => &["in", "out", "points"],
            BlockType::Ramp => &["in", "out", "rate", "initial"],
            BlockType::Leadlag => &["demand", "outs", "rotate_s", "available"],
            BlockType::Schedule => &["switch_at", "utc_offset", "out"],
        }
    }
}

impl fmt::Display for BlockType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `in` as written: one operand (`scale`, `move`, `curve`, `ramp`) or a
/// list (`math`). One key with two shapes needs a hand-written visitor:
/// serde's untagged enums buffer the value and would lose the TOML spans of
/// the list's elements.
#[derive(Clone, Debug, PartialEq)]
enum RawIn {
    One(OperandSrc),
    Many(Vec<OperandCfg>),
}

impl<'de> Deserialize<'de> for RawIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"an operand like "hr:7" or a number, or a list of them like ["ir:0", 10]"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawIn, E> {
                OperandSrc::deserialize(v.into_deserializer()).map(RawIn::One)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawIn, E> {
                OperandSrc::deserialize(v.into_deserializer()).map(RawIn::One)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawIn, E> {
                OperandSrc::deserialize(v.into_deserializer()).map(RawIn::One)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawIn, E> {
                OperandSrc::deserialize(v.into_deserializer()).map(RawIn::One)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawIn, E> {
                OperandSrc::deserialize(v.into_deserializer()).map(RawIn::One)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawIn, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element::<OperandCfg>()? {
                    v.push(x);
                }
                Ok(RawIn::Many(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Flat union of every block's keys; see the module docs for why.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[doc(hidden)]
pub struct RawBlock {
    #[serde(rename = "type")]
    block_type: BlockType,
    name: Option<String>,
    pv: Option<OperandCfg>,
    out: Option<OperandCfg>,
    on_below: Option<OperandCfg>,
    off_above: Option<OperandCfg>,
    on_above: Option<OperandCfg>,
    off_below: Option<OperandCfg>,
    sp: Option<OperandCfg>,
    kp: Option<OperandCfg>,
    ki: Option<OperandCfg>,
    kd: Option<OperandCfg>,
    out_min: Option<OperandCfg>,
    out_max: Option<OperandCfg>,
    reverse: Option<bool>,
    when: Option<ConditionConfig>,
    value: Option<OperandCfg>,
    latch: Option<bool>,
    reset: Option<OperandCfg>,
    high: Option<OperandCfg>,
    low: Option<OperandCfg>,
    deadband: Option<OperandCfg>,
    delay_s: Option<Spanned<f64>>,
    #[serde(rename = "in")]
    input: Option<Spanned<RawIn>>,
    gain: Option<OperandCfg>,
    offset: Option<OperandCfg>,
    preset_s: Option<Spanned<f64>>,
    kind: Option<TimerKind>,
    op: Option<MathOp>,
    if_true: Option<OperandCfg>,
    if_false: Option<OperandCfg>,
    points: Option<Spanned<Vec<Spanned<Vec<f64>>>>>,
    rate: Option<OperandCfg>,
    initial: Option<OperandCfg>,
    demand: Option<OperandCfg>,
    outs: Option<Spanned<Vec<OperandCfg>>>,
    rotate_s: Option<Spanned<f64>>,
    available: Option<Spanned<Vec<OperandCfg>>>,
    switch_at: Option<SwitchTimes>,
    utc_offset: Option<Spanned<String>>,
}

impl RawBlock {
    fn present(&self) -> Vec<&'static str> {
        let flags = [
            ("pv", self.pv.is_some()),
            ("out", self.out.is_some()),
            ("on_below", self.on_below.is_some()),
            ("off_above", self.off_above.is_some()),
            ("on_above", self.on_above.is_some()),
            ("off_below", self.off_below.is_some()),
            ("sp", self.sp.is_some()),
            ("kp", self.kp.is_some()),
            ("ki", self.ki.is_some()),
            ("kd", self.kd.is_some()),
            ("out_min", self.out_min.is_some()),
            ("out_max", self.out_max.is_some()),
            ("reverse", self.reverse.is_some()),
            ("when", self.when.is_some()),
            ("value", self.value.is_some()),
            ("latch", self.latch.is_some()),
            ("reset", self.reset.is_some()),
            ("high", self.high.is_some()),
            ("low", self.low.is_some()),
            ("deadband", self.deadband.is_some()),
            ("delay_s", self.delay_s.is_some()),
            ("in", self.input.is_some()),
            ("gain", self.gain.is_some()),
            ("offset", self.offset.is_some()),
            ("preset_s", self.preset_s.is_some()),
            ("kind", self.kind.is_some()),
            ("op", self.op.is_some()),
            ("if_true", self.if_true.is_some()),
            ("if_false", self.if_false.is_some()),
            ("points", self.points.is_some()),
            ("rate", self.rate.is_some()),
            ("initial", self.initial.is_some()),
            ("demand", self.demand.is_some()),
            ("outs", self.outs.is_some()),
            ("rotate_s", self.rotate_s.is_some()),
            ("available", self.available.is_some()),
            ("switch_at", self.switch_at.is_some()),
            ("utc_offset", self.utc_offset.is_some()),
        ];
        flags.iter().filter(|(_, p)| *p).map(|(n, _)| *n).collect()
    }
}

fn need<T>(kind: BlockType, key: &str, v: Option<T>) -> Result<T, String> {
    v.ok_or_else(|| format!("a `{kind}` block needs `{key}`"))
}

/// `in` of a block that reads one operand.
fn single_in(kind: BlockType, v: Option<Spanned<RawIn>>) -> Result<OperandCfg, String> {
    let v = need(kind, "in", v)?;
    let span = v.span();
    match v.into_inner() {
        RawIn::One(src) => Ok(Spanned::new(span, src)),
        RawIn::Many(_) => Err(format!(
            "`in` of a `{kind}` block is one operand like \"hr:3\", found a list \
             (only a `math` block takes a list)"
        )),
    }
}

/// `in` of a `math` block: a list (its length is checked at compile time,
/// where the error can name `program[i].in`).
fn list_in(kind: BlockType, v: Option<Spanned<RawIn>>) -> Result<Spanned<Vec<OperandCfg>>, String> {
    let v = need(kind, "in", v)?;
    let span = v.span();
    match v.into_inner() {
        RawIn::Many(list) => Ok(Spanned::new(span, list)),
        RawIn::One(src) => Err(format!(
            "`in` of a `{kind}` block is a list of 2 or more operands like [\"ir:0\", \"hr:3\", 10], \
             found the single operand {src}"
        )),
    }
}

impl TryFrom<RawBlock> for BlockConfig {
    type Error = String;

    fn try_from(r: RawBlock) -> Result<Self, String> {
        let k = r.block_type;
        let allowed = k.allowed();
        if let Some(bad) = r.present().into_iter().find(|f| !allowed.contains(f)) {
            return Err(format!(
                "`{bad}` is not a setting of a `{k}` block (expected: type, name, {})",
                allowed.join(", ")
            ));
        }
        Ok(match k {
            BlockType::Onoff => {
                let action = match (r.on_below, r.off_above, r.on_above, r.off_below) {
                    (Some(on_below), Some(off_above), None, None) => {
                        OnOffAction::Fill { on_below, off_above }
                    }
                    (None, None, Some(on_above), Some(off_below)) => {
                        OnOffAction::Drain { on_above, off_below }
                    }
                    _ => {
                        return Err(
                            "an `onoff` block needs either `on_below` and `off_above` (filling) \
                             or `on_above` and `off_below` (draining)"
                                .to_owned(),
                        );
                    }
                };
                BlockConfig::OnOff(OnOffConfig {
                    name: r.name,
                    pv: need(k, "pv", r.pv)?,
                    out: need(k, "out", r.out)?,
                    action,
                })
            }
            BlockType::Pid => BlockConfig::Pid(PidConfig {
                name: r.name,
                pv: need(k, "pv", r.pv)?,
                sp: need(k, "sp", r.sp)?,
                out: need(k, "out", r.out)?,
                kp: need(k, "kp", r.kp)?,
                ki: r.ki,
                kd: r.kd,
                out_min: r.out_min,
                out_max: r.out_max,
                reverse: r.reverse.unwrap_or(false),
            }),
            BlockType::Interlock => {
                let latch = r.latch.unwrap_or(false);
                if latch != r.reset.is_some() {
                    return Err(
                        "a latching `interlock` needs both `latch = true` and `reset = \"co:N\"` \
                         (the operand that releases the latch)"
                            .to_owned(),
                    );
                }
                BlockConfig::Interlock(InterlockConfig {
                    name: r.name,
                    when: need(k, "when", r.when)?,
                    out: need(k, "out", r.out)?,
                    value: r.value,
                    reset: r.reset,
                })
            }
            BlockType::Alarm => {
                if r.high.is_none() && r.low.is_none() {
                    return Err("an `alarm` block needs `high`, `low` or both".to_owned());
                }
                BlockConfig::Alarm(AlarmConfig {
                    name: need(k, "name", r.name)?,
                    pv: need(k, "pv", r.pv)?,
                    high: r.high,
                    low: r.low,
                    deadband: r.deadband,
                    delay_s: r.delay_s,
                    out: r.out,
                })
            }
            BlockType::Scale | BlockType::Move => BlockConfig::Scale(ScaleConfig {
                name: r.name,
                input: single_in(k, r.input)?,
                out: need(k, "out", r.out)?,
                gain: r.gain,
                offset: r.offset,
            }),
            BlockType::Timer => BlockConfig::Timer(TimerConfig {
                name: r.name,
                when: need(k, "when", r.when)?,
                preset_s: need(k, "preset_s", r.preset_s)?,
                out: need(k, "out", r.out)?,
                kind: r.kind.unwrap_or_default(),
            }),
            BlockType::Math => BlockConfig::Math(MathConfig {
                name: r.name,
                op: need(k, "op", r.op)?,
                inputs: list_in(k, r.input)?,
                out: need(k, "out", r.out)?,
            }),
            BlockType::Select => BlockConfig::Select(SelectConfig {
                name: r.name,
                when: need(k, "when", r.when)?,
                if_true: need(k, "if_true", r.if_true)?,
                if_false: need(k, "if_false", r.if_false)?,
                out: need(k, "out", r.out)?,
            }),
            BlockType::Curve => BlockConfig::Curve(CurveConfig {
                name: r.name,
                input: single_in(k, r.input)?,
                out: need(k, "out", r.out)?,
                points: need(k, "points", r.points)?,
            }),
            BlockType::Ramp => BlockConfig::Ramp(RampConfig {
                name: r.name,
                input: single_in(k, r.input)?,
                out: need(k, "out", r.out)?,
                rate: need(k, "rate", r.rate)?,
                initial: r.initial,
            }),
            BlockType::Leadlag => BlockConfig::LeadLag(LeadLagConfig {
                name: r.name,
                demand: need(k, "demand", r.demand)?,
                outs: need(k, "outs", r.outs)?,
                rotate_s: need(k, "rotate_s", r.rotate_s)?,
                available: r.available,
            }),
            BlockType::Schedule => BlockConfig::Schedule(ScheduleConfig {
                name: r.name,
                switch_at: need(k, "switch_at", r.switch_at)?,
                utc_offset: r.utc_offset,
                out: need(k, "out", r.out)?,
            }),
        })
    }
}
