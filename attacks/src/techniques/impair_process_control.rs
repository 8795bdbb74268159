//! Impair Process Control (TA0106): commands that change what the process does.
//!
//! * T0855 Unauthorized Command Message, T0836 Modify Parameter: a write to a coil or a
//!   holding register (FC 5 or 6), once or sustained.
//! * T0806 Brute Force I/O: a range of coils toggled over and over, through the same writer.
//!
//! The write executor also serves T0831 Manipulation of Control (Impact), T0838 Modify Alarm
//! Settings and T0878 Alarm Suppression (Inhibit Response Function) and T0848 Rogue Master
//! (Initial Access): the same write, named for what the written point is for. It is here with
//! its primary tactic, since every one of those steps is an unauthorized command message
//! (T0855). The physical consequences are never scripted: they happen, or not, in the physics.

use super::modbus_client::{ANSWER_TIMEOUT, Book, address, finish_commands, target};
use super::{ConfigError, Executor, Outcome, Progress, StepCx, param};
use otrange_sim::base::time::{SimDuration, SimTime};
use otrange_sim::net::Delivered;
use otrange_sim::net::topology::{HostId, Topology};
use otrange_sim::plc_logic::{Area, RegRef, parse_typed_address};
use otrange_sim::wire::modbus::value::{ValueType, WordOrder};
use otrange_sim::wire::modbus::{write_multiple_registers, write_single_coil, write_single_register};

// ── Writes: T0855, T0836, T0831, T0838, T0878, T0848 ───────────────────────────────────

struct Write {
    target: HostId,
    area: Area,
    addr: u16,
    value: u16,
    /// A value of a type (`register = "hr:10:f32"`): the register with its type, the value
    /// and the registers that hold it, written with FC 6 (one register) or FC 16 (two).
    typed: Option<(RegRef, f64, Vec<u16>)>,
    repeat: u32,
    interval: SimDuration,
    sent: u32,
    book: Book,
    next: SimTime,
}

/// `params.register` ("hr:N" or "co:N", or a typed register "hr:N:i16", "hr:N:f32",
/// "hr:N:f32:low_first" as in PLC programs), `value` (for a typed register, a number in its
/// type's range: a float for f32), `repeat` (default 1: a sustained manipulation repeats the
/// write), `interval` (default "1s").
pub fn build_write(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    param::only(p, &["register", "value", "repeat", "interval"])?;
    let reg = parse_typed_address(&param::string(p, "register", None)?)
        .map_err(|m| ConfigError::unlocated("params.register", m))?;
    let (area, addr) = (reg.area, reg.addr);
    if !matches!(area, Area::Coil | Area::HoldingRegister) {
        return Err(ConfigError::unlocated(
            "params.register",
            "only coils (co:) and holding registers (hr:) can be written",
        ));
    }
    let plain = reg.ty == ValueType::U16 && reg.order == WordOrder::HighFirst;
    let typed = if plain {
        None
    } else {
        let v = typed_value(p, reg)?;
        let words = reg.ty.encode(reg.order, v)[..usize::from(reg.ty.words())].to_vec();
        Some((reg, v, words))
    };
    Ok(Box::new(Write {
        target: target(t)?,
        area,
        addr,
        value: if plain { param::u16_(p, "value", None)? } else { 0 },
        typed,
        repeat: param::int(p, "repeat", Some(1))?.clamp(1, 1_000_000) as u32,
        interval: param::duration(p, "interval", "1s")?,
        sent: 0,
        book: Book::default(),
        next: SimTime::ZERO,
    }))
}

/// `params.value` for a typed register: a number the type holds exactly (an integer in
/// range; any finite number for f32), so a write never silently saturates or rounds.
pub(super) fn typed_value(p: &toml::Table, reg: RegRef) -> Result<f64, ConfigError> {
    let err = |m: String| ConfigError::unlocated("params.value", m);
    let v = match p.get("value") {
        Some(toml::Value::Integer(i)) => *i as f64,
        Some(toml::Value::Float(f)) => *f,
        Some(_) => return Err(err("expected a number".into())),
        None => return Err(err("missing".into())),
    };
    let range = match reg.ty {
        ValueType::U16 => Some((0.0, 65535.0)),
        ValueType::I16 => Some((-32768.0, 32767.0)),
        ValueType::U32 => Some((0.0, f64::from(u32::MAX))),
        ValueType::I32 => Some((f64::from(i32::MIN), f64::from(i32::MAX))),
        ValueType::F32 => None,
    };
    match range {
        Some((lo, hi)) if v.fract() != 0.0 || v < lo || v > hi => Err(err(format!(
            "{v} is not an integer in {lo}..={hi}, what {reg} holds"
        ))),
        None if !v.is_finite() || v.abs() > f64::from(f32::MAX) => {
            Err(err(format!("{v} is not a finite number an f32 holds")))
        }
        _ => Ok(v),
    }
}

impl Write {
    fn send(&mut self, cx: &mut StepCx) {
        let (a, v, area) = (self.addr, self.value, self.area);
        let typed = self.typed.as_ref().map(|(_, _, w)| w.clone());
        self.book.send(cx, self.target, 0, |tid| match (area, &typed) {
            (_, Some(w)) if w.len() == 1 => write_single_register(tid, 1, a, w[0]),
            (_, Some(w)) => write_multiple_registers(tid, 1, a, w),
            (Area::Coil, None) => write_single_coil(tid, 1, a, v != 0),
            _ => write_single_register(tid, 1, a, v),
        });
        self.sent += 1;
        self.next = cx.now + self.interval;
    }
}

impl Executor for Write {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        self.send(cx);
        Progress::Wait(Some(if self.repeat > 1 {
            self.next
        } else {
            cx.now + ANSWER_TIMEOUT
        }))
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        self.book.take(d);
        if !self.book.exceptions.is_empty() {
            return Progress::Done(finish_commands(cx, self.target, &self.book, "write"));
        }
        if self.sent >= self.repeat && self.book.outstanding.is_empty() {
            return Progress::Done(self.success(cx));
        }
        Progress::Wait(Some(self.next))
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        if self.sent < self.repeat {
            self.send(cx);
            return Progress::Wait(Some(self.next));
        }
        if !self.book.outstanding.is_empty() && cx.now < self.book.last_sent + ANSWER_TIMEOUT {
            return Progress::Wait(Some(self.book.last_sent + ANSWER_TIMEOUT));
        }
        Progress::Done(self.success(cx))
    }
}

impl Write {
    fn success(&self, cx: &StepCx) -> Outcome {
        match finish_commands(cx, self.target, &self.book, "write") {
            Outcome::Succeeded { .. } => Outcome::Succeeded {
                detail: match &self.typed {
                    Some((reg, v, _)) => {
                        format!(
                            "{} {reg} = {v} written {} time(s)",
                            cx.name(self.target),
                            self.sent
                        )
                    }
                    None => format!(
                        "{} {} = {} written {} time(s)",
                        cx.name(self.target),
                        otrange_sim::plc_logic::format_address(self.area, self.addr),
                        self.value,
                        self.sent
                    ),
                },
            },
            other => other,
        }
    }
}

// ── T0806 Brute Force I/O: toggle a range of coils over and over ─────────────────────

struct BruteForce {
    inner: Write,
    first: u16,
    count: u16,
}

/// T0806: writes to `params.count` points (default 8) from `params.register` on, one after
/// the other, 1 on the first pass over the range, 0 on the next, and so on: `repeat` writes
/// in all (default four passes), `interval` apart (default "250ms").
pub fn build_brute_force(
    id: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    topo: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    param::only(p, &["register", "count", "repeat", "interval"])?;
    let mut q = p.clone();
    let count = param::u16_(p, "count", Some(8))?.max(1);
    q.remove("count");
    q.insert("value".into(), toml::Value::Integer(1));
    if !q.contains_key("repeat") {
        q.insert("repeat".into(), toml::Value::Integer(i64::from(count) * 4));
    }
    if !q.contains_key("interval") {
        q.insert("interval".into(), toml::Value::String("250ms".into()));
    }
    build_write(id, t, &q, topo)?; // validates register, repeat and interval
    let (area, first) = address(p, "register", None)?;
    Ok(Box::new(BruteForce {
        inner: Write {
            target: target(t)?,
            area,
            addr: first,
            value: 1,
            typed: None,
            repeat: param::int(&q, "repeat", None)?.clamp(1, 1_000_000) as u32,
            interval: param::duration(&q, "interval", "250ms")?,
            sent: 0,
            book: Book::default(),
            next: SimTime::ZERO,
        },
        first,
        count,
    }))
}

impl BruteForce {
    /// The k-th write goes to the next point of the range, alternating on and off.
    fn aim(&mut self) {
        let k = self.inner.sent;
        self.inner.addr = self.first + (k % u32::from(self.count)) as u16;
        self.inner.value = u16::from((k / u32::from(self.count)).is_multiple_of(2));
    }
}

impl BruteForce {
    /// The inner writer reports its last write; the step is the whole range.
    fn describe(&self, cx: &StepCx, p: Progress) -> Progress {
        match p {
            Progress::Done(Outcome::Succeeded { .. }) => Progress::Done(Outcome::Succeeded {
                detail: format!(
                    "{} {}..={} toggled: {} writes",
                    cx.name(self.inner.target),
                    otrange_sim::plc_logic::format_address(self.inner.area, self.first),
                    otrange_sim::plc_logic::format_address(self.inner.area, self.first + self.count - 1),
                    self.inner.sent
                ),
            }),
            other => other,
        }
    }
}

impl Executor for BruteForce {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        self.aim();
        let p = self.inner.start(cx);
        self.describe(cx, p)
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        let p = self.inner.reply(cx, d);
        self.describe(cx, p)
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        if self.inner.sent < self.inner.repeat {
            self.aim();
        }
        let p = self.inner.timer(cx);
        self.describe(cx, p)
    }
}
