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
use otrange_sim::plc_logic::Area;
use otrange_sim::wire::modbus::{write_single_coil, write_single_register};

// ── Writes: T0855, T0836, T0831, T0838, T0878, T0848 ───────────────────────────────────

struct Write {
    target: HostId,
    area: Area,
    addr: u16,
    value: u16,
    repeat: u32,
    interval: SimDuration,
    sent: u32,
    book: Book,
    next: SimTime,
}

/// `params.register` ("hr:N" or "co:N"), `value`, `repeat` (default 1: a sustained
/// manipulation repeats the write), `interval` (default "1s").
pub fn build_write(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    param::only(p, &["register", "value", "repeat", "interval"])?;
    let (area, addr) = address(p, "register", None)?;
    if !matches!(area, Area::Coil | Area::HoldingRegister) {
        return Err(ConfigError::unlocated(
            "params.register",
            "only coils (co:) and holding registers (hr:) can be written",
        ));
    }
    Ok(Box::new(Write {
        target: target(t)?,
        area,
        addr,
        value: param::u16_(p, "value", None)?,
        repeat: param::int(p, "repeat", Some(1))?.clamp(1, 1_000_000) as u32,
        interval: param::duration(p, "interval", "1s")?,
        sent: 0,
        book: Book::default(),
        next: SimTime::ZERO,
    }))
}

impl Write {
    fn send(&mut self, cx: &mut StepCx) {
        let (a, v, area) = (self.addr, self.value, self.area);
        self.book.send(cx, self.target, 0, |tid| match area {
            Area::Coil => write_single_coil(tid, 1, a, v != 0),
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
                detail: format!(
                    "{} {} = {} written {} time(s)",
                    cx.name(self.target),
                    otrange_sim::plc_logic::format_address(self.area, self.addr),
                    self.value,
                    self.sent
                ),
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
