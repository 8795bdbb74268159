//! Modbus techniques: reconnaissance, collection and commands, each a sequence of real
//! request ADUs from the actor's foothold. An executor keeps its requests by transaction
//! id and judges the step by the answers: exception codes fail a command, silence fails
//! anything that needed an answer, a firewall's denial blocks it.

use super::{Executor, Outcome, ParamError, Progress, StepCx, blocked, param};
use otrange_sim::net::{Delivered, Fate, FateKind};
use otrange_sim::plc::{Area, parse_address};
use otrange_sim::time::{SimDuration, SimTime};
use otrange_sim::topology::{HostId, Role, Topology};
use otrange_sim::wire::modbus::{
    ResponseBody, custom_request, decode_response, diagnostics, parse_device_identification, read_coils,
    read_device_identification, read_holding_registers, read_input_registers, report_server_id,
    write_single_coil, write_single_register,
};
use std::collections::BTreeMap;

/// How long a request waits for its answer.
const ANSWER_TIMEOUT: SimDuration = SimDuration::from_secs(2);

/// Requests in flight and what came back.
#[derive(Default)]
struct Book {
    next_tid: u16,
    /// tid -> (device, what the request was for)
    outstanding: BTreeMap<u16, (HostId, u16)>,
    answers: u64,
    exceptions: Vec<u8>,
    blocked: Option<Outcome>,
    last_sent: SimTime,
    sent_total: u64,
}

impl Book {
    fn tid(&mut self) -> u16 {
        self.next_tid = self.next_tid.wrapping_add(1).max(1);
        self.next_tid
    }
    fn send(&mut self, cx: &mut StepCx, to: HostId, tag: u16, adu: impl FnOnce(u16) -> Vec<u8>) {
        let tid = self.tid();
        self.outstanding.insert(tid, (to, tag));
        self.last_sent = cx.now;
        cx.send_modbus(to, adu(tid));
    }
    /// Matches an answer to its request: (device, tag, body).
    fn take(&mut self, d: &Delivered) -> Option<(HostId, u16, ResponseBody)> {
        let otrange_sim::net::Payload::Modbus(adu) = &d.frame.payload else {
            return None;
        };
        let r = decode_response(adu).ok()?;
        let (dev, tag) = self.outstanding.remove(&r.tid)?;
        self.answers += 1;
        if let ResponseBody::Exception(c) = r.body {
            self.exceptions.push(c);
        }
        Some((dev, tag, r.body))
    }
    fn note_fate(&mut self, cx: &StepCx, f: &Fate) {
        if self.blocked.is_none() && matches!(f.kind, FateKind::Blocked { .. }) {
            self.blocked = Some(blocked(cx.topo, f));
        }
    }
}

fn target(t: Option<HostId>) -> Result<HostId, ParamError> {
    t.ok_or_else(|| ParamError::new("target", "this technique needs a target device"))
}

fn address(p: &toml::Table, key: &str, default: Option<&str>) -> Result<(Area, u16), ParamError> {
    let s = param::string(p, key, default)?;
    parse_address(&s).map_err(|m| ParamError::new(format!("params.{key}"), m))
}

// ── T0846 Remote System Discovery: a sweep for Modbus servers ─────────────────────────

struct Discovery {
    zone: Option<String>,
    book: Book,
    found: Vec<HostId>,
    probed: usize,
    deadline: SimTime,
}

/// T0846: `params.zone` (default: the target's zone, or every zone the actor can route
/// to) is swept with FC 17 Report Server ID, as scanners such as nmap's modbus-discover do.
pub fn build_discovery(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    topo: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &["zone"])?;
    let zone = match (p.get("zone"), t) {
        (Some(_), _) => {
            let z = param::string(p, "zone", None)?;
            if !topo.zones.iter().any(|x| x.name == z) {
                return Err(ParamError::new("params.zone", format!("unknown zone {z:?}")));
            }
            Some(z)
        }
        (None, Some(h)) => Some(topo.zone_of(h).name.clone()),
        (None, None) => None,
    };
    Ok(Box::new(Discovery {
        zone,
        book: Book::default(),
        found: Vec::new(),
        probed: 0,
        deadline: SimTime::ZERO,
    }))
}

impl Executor for Discovery {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        let me = cx.source();
        let hosts: Vec<HostId> = cx
            .topo
            .hosts
            .iter()
            .filter(|h| h.id != me && !matches!(h.role, Role::Switch | Role::Router | Role::Firewall))
            .filter(|h| {
                self.zone
                    .as_ref()
                    .is_none_or(|z| cx.topo.zone_of(h.id).name == *z)
            })
            .map(|h| h.id)
            .collect();
        for h in hosts {
            self.book.send(cx, h, 0, |tid| report_server_id(tid, 1));
            self.probed += 1;
        }
        self.deadline = cx.now + ANSWER_TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        if let Some((dev, _, _)) = self.book.take(d) {
            self.found.push(dev);
            cx.actor.loot.modbus_devices.insert(dev);
        }
        Progress::Wait(Some(self.deadline))
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        if self.found.is_empty() {
            return Progress::Done(self.book.blocked.clone().unwrap_or(Outcome::Failed {
                reason: format!("no Modbus server answered among {} hosts probed", self.probed),
            }));
        }
        self.found.sort();
        let names: Vec<&str> = self.found.iter().map(|h| cx.name(*h)).collect();
        Progress::Done(Outcome::Succeeded {
            detail: format!(
                "{} of {} hosts answer Modbus: {}",
                names.len(),
                self.probed,
                names.join(", ")
            ),
        })
    }
    fn fate(&mut self, cx: &mut StepCx, f: &Fate) -> Progress {
        self.book.note_fate(cx, f);
        Progress::Wait(Some(self.deadline))
    }
}

// ── T0888 Remote System Information Discovery: FC 43/14 and FC 17 ─────────────────────

struct Identify {
    target: HostId,
    book: Book,
    vendor: Option<String>,
    deadline: SimTime,
}

pub fn build_identify(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &[])?;
    Ok(Box::new(Identify {
        target: target(t)?,
        book: Book::default(),
        vendor: None,
        deadline: SimTime::ZERO,
    }))
}

impl Executor for Identify {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        // Basic device identification (read code 1, from object 0), then the server id.
        self.book.send(cx, self.target, 43, |tid| {
            read_device_identification(tid, 1, 1, 0)
        });
        self.book
            .send(cx, self.target, 17, |tid| report_server_id(tid, 1));
        self.deadline = cx.now + ANSWER_TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        if let Some((dev, 43, ResponseBody::Raw(raw))) = self.book.take(d)
            && let Some(id) = parse_device_identification(&raw)
        {
            let text: Vec<String> = id
                .objects
                .iter()
                .map(|o| String::from_utf8_lossy(&o.value).into_owned())
                .collect();
            let v = text.join(" ");
            cx.actor.loot.identities.insert(dev, v.clone());
            self.vendor = Some(v);
        }
        if self.book.outstanding.is_empty() {
            return self.timer(cx);
        }
        Progress::Wait(Some(self.deadline))
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(match (&self.vendor, &self.book.blocked) {
            (Some(v), _) => Outcome::Succeeded {
                detail: format!("{} is {v}", cx.name(self.target)),
            },
            (None, Some(b)) => b.clone(),
            (None, None) => Outcome::Failed {
                reason: format!(
                    "{} did not identify itself (exceptions {:?})",
                    cx.name(self.target),
                    self.book.exceptions
                ),
            },
        })
    }
}

// ── T0861 Point & Tag Identification: walk the holding registers until exception 2 ────

struct PointScan {
    target: HostId,
    block: u16,
    max: u16,
    next: u16,
    highest: Option<u16>,
    book: Book,
    deadline: SimTime,
}

pub fn build_point_scan(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &["block", "max"])?;
    let block = param::u16_(p, "block", Some(8))?.clamp(1, 125);
    Ok(Box::new(PointScan {
        target: target(t)?,
        block,
        max: param::u16_(p, "max", Some(256))?,
        next: 0,
        highest: None,
        book: Book::default(),
        deadline: SimTime::ZERO,
    }))
}

impl PointScan {
    fn probe(&mut self, cx: &mut StepCx) -> Progress {
        if self.next >= self.max {
            return self.done(cx);
        }
        let (start, n) = (self.next, self.block);
        self.book.send(cx, self.target, start, |tid| {
            read_holding_registers(tid, 1, start, n)
        });
        self.next = self.next.saturating_add(self.block);
        self.deadline = cx.now + ANSWER_TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn done(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(match (self.highest, &self.book.blocked) {
            (Some(h), _) => {
                cx.actor.loot.points.insert(self.target, h);
                Outcome::Succeeded {
                    detail: format!("{} has holding registers 0..={h}", cx.name(self.target)),
                }
            }
            (None, Some(b)) => b.clone(),
            (None, None) => Outcome::Failed {
                reason: format!("no holding register of {} answered", cx.name(self.target)),
            },
        })
    }
}

impl Executor for PointScan {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        self.probe(cx)
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        match self.book.take(d) {
            Some((_, start, ResponseBody::Registers(r))) => {
                self.highest = Some(start + r.len() as u16 - 1);
                self.probe(cx)
            }
            // Exception 2: past the end of the map; the walk is over.
            Some((_, _, ResponseBody::Exception(_))) => self.done(cx),
            _ => Progress::Wait(Some(self.deadline)),
        }
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        self.done(cx)
    }
}

// ── Reads: T0801 Monitor Process State, T0802 Automated Collection ───────────────────

struct Read {
    target: HostId,
    area: Area,
    addr: u16,
    count: u16,
    repeat: u32,
    interval: SimDuration,
    sent: u32,
    values: Vec<u16>,
    book: Book,
    next: SimTime,
}

/// `params.register` (default "hr:0"), `count` (default 10), `repeat` (default 1),
/// `interval` (default "1s").
pub fn build_read(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &["register", "count", "repeat", "interval"])?;
    let (area, addr) = address(p, "register", Some("hr:0"))?;
    Ok(Box::new(Read {
        target: target(t)?,
        area,
        addr,
        count: param::u16_(p, "count", Some(10))?.clamp(1, 125),
        repeat: param::int(p, "repeat", Some(1))?.clamp(1, 1_000_000) as u32,
        interval: param::duration(p, "interval", "1s")?,
        sent: 0,
        values: Vec::new(),
        book: Book::default(),
        next: SimTime::ZERO,
    }))
}

impl Read {
    fn send(&mut self, cx: &mut StepCx) {
        let (a, n) = (self.addr, self.count);
        let area = self.area;
        self.book.send(cx, self.target, 0, |tid| match area {
            Area::HoldingRegister => read_holding_registers(tid, 1, a, n),
            Area::InputRegister => read_input_registers(tid, 1, a, n),
            _ => read_coils(tid, 1, a, n),
        });
        self.sent += 1;
        self.next = cx.now + self.interval;
    }
}

impl Executor for Read {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        self.send(cx);
        Progress::Wait(Some(self.next.min(cx.now + ANSWER_TIMEOUT)))
    }
    fn reply(&mut self, _cx: &mut StepCx, d: &Delivered) -> Progress {
        match self.book.take(d) {
            Some((_, _, ResponseBody::Registers(r))) => self.values = r,
            Some((_, _, ResponseBody::Bits(b))) => {
                self.values = b
                    .into_iter()
                    .take(usize::from(self.count))
                    .map(u16::from)
                    .collect()
            }
            _ => {}
        }
        Progress::Wait(Some(self.next))
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        if self.book.blocked.is_some() || !self.book.exceptions.is_empty() {
            return Progress::Done(finish_commands(cx, self.target, &self.book, "read"));
        }
        if self.sent < self.repeat {
            self.send(cx);
            return Progress::Wait(Some(self.next));
        }
        if !self.book.outstanding.is_empty() && cx.now < self.book.last_sent + ANSWER_TIMEOUT {
            return Progress::Wait(Some(self.book.last_sent + ANSWER_TIMEOUT));
        }
        let mut o = finish_commands(cx, self.target, &self.book, "read");
        if let Outcome::Succeeded { detail } = &mut o {
            detail.push_str(&format!("; last values {:?}", self.values));
        }
        Progress::Done(o)
    }
    fn fate(&mut self, cx: &mut StepCx, f: &Fate) -> Progress {
        self.book.note_fate(cx, f);
        Progress::Done(blocked(cx.topo, f))
    }
}

/// The outcome of a run of requests that all needed a normal answer.
fn finish_commands(cx: &StepCx, target: HostId, book: &Book, what: &str) -> Outcome {
    if let Some(b) = &book.blocked {
        return b.clone();
    }
    if let Some(code) = book.exceptions.first() {
        return Outcome::Failed {
            reason: format!("{} answered exception {code} to a {what}", cx.name(target)),
        };
    }
    if !book.outstanding.is_empty() {
        return Outcome::Failed {
            reason: format!(
                "{} left {} requests unanswered",
                cx.name(target),
                book.outstanding.len()
            ),
        };
    }
    Outcome::Succeeded {
        detail: format!("{} answered {} {what}s", cx.name(target), book.answers),
    }
}

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
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &["register", "value", "repeat", "interval"])?;
    let (area, addr) = address(p, "register", None)?;
    if !matches!(area, Area::Coil | Area::HoldingRegister) {
        return Err(ParamError::new(
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
                    otrange_sim::plc::format_address(self.area, self.addr),
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

pub fn build_brute_force(
    id: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    topo: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
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
                    otrange_sim::plc::format_address(self.inner.area, self.first),
                    otrange_sim::plc::format_address(self.inner.area, self.first + self.count - 1),
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

// ── T0814 Denial of Service: a request flood beyond the device's capacity ─────────────

struct Flood {
    target: HostId,
    rate: u32,
    duration: SimDuration,
    end: SimTime,
    book: Book,
    busy: u64,
    next: SimTime,
}

/// `params.rate` requests per second (default 2000), `duration` (default "30s").
pub fn build_flood(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &["rate", "duration"])?;
    let rate = param::int(p, "rate", Some(2000))?;
    if !(1..=1_000_000).contains(&rate) {
        return Err(ParamError::new(
            "params.rate",
            "expected 1..=1000000 requests per second",
        ));
    }
    Ok(Box::new(Flood {
        target: target(t)?,
        rate: rate as u32,
        duration: param::duration(p, "duration", "30s")?,
        end: SimTime::ZERO,
        book: Book::default(),
        busy: 0,
        next: SimTime::ZERO,
    }))
}

/// Requests sent per timer call: a flood is sent in bursts of 10 ms.
const FLOOD_SLICE: SimDuration = SimDuration::from_millis(10);

impl Executor for Flood {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        self.end = cx.now + self.duration;
        self.next = cx.now;
        self.timer(cx)
    }
    fn reply(&mut self, _cx: &mut StepCx, d: &Delivered) -> Progress {
        if let Some((_, _, ResponseBody::Exception(6))) = self.book.take(d) {
            self.busy += 1;
        }
        Progress::Wait(Some(self.next))
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        if let Some(b) = &self.book.blocked {
            return Progress::Done(b.clone());
        }
        if cx.now >= self.end {
            let sent = self.book.sent_total;
            return Progress::Done(Outcome::Succeeded {
                detail: format!(
                    "{sent} requests in {:.0} s: {} answered ({} busy), {} unanswered",
                    self.duration.as_secs_f64(),
                    self.book.answers,
                    self.busy,
                    self.book.outstanding.len()
                ),
            });
        }
        let n = (f64::from(self.rate) * FLOOD_SLICE.as_secs_f64()).ceil() as u32;
        for _ in 0..n {
            self.book
                .send(cx, self.target, 0, |tid| read_holding_registers(tid, 1, 0, 10));
            self.book.sent_total += 1;
        }
        self.next = cx.now + FLOOD_SLICE;
        Progress::Wait(Some(self.next))
    }
    fn fate(&mut self, cx: &mut StepCx, f: &Fate) -> Progress {
        self.book.note_fate(cx, f);
        Progress::Wait(Some(self.next))
    }
}

// ── T0816 Device Restart/Shutdown: FC 8 restart communications or listen-only ────────

struct Restart {
    target: HostId,
    listen_only: bool,
    book: Book,
    deadline: SimTime,
}

/// `params.mode`: "restart" (FC 8/1, default) or "listen-only" (FC 8/4, after which the
/// device answers nothing until restarted).
pub fn build_restart(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    param::only(p, &["mode"])?;
    let mode = param::string(p, "mode", Some("restart"))?;
    let listen_only = match mode.as_str() {
        "restart" => false,
        "listen-only" => true,
        other => {
            return Err(ParamError::new(
                "params.mode",
                format!("{other:?}: expected \"restart\" or \"listen-only\""),
            ));
        }
    };
    Ok(Box::new(Restart {
        target: target(t)?,
        listen_only,
        book: Book::default(),
        deadline: SimTime::ZERO,
    }))
}

impl Executor for Restart {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        let (sub, data): (u16, [u8; 2]) = if self.listen_only {
            (4, [0, 0])
        } else {
            (1, [0, 0])
        };
        self.book
            .send(cx, self.target, 0, |tid| diagnostics(tid, 1, sub, &data));
        self.deadline = cx.now + ANSWER_TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        self.book.take(d);
        Progress::Done(finish_commands(
            cx,
            self.target,
            &self.book,
            "diagnostics request",
        ))
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        if let Some(b) = &self.book.blocked {
            return Progress::Done(b.clone());
        }
        if self.listen_only {
            // Listen-only mode is answered by silence (spec §6.8.1, sub-function 4).
            return Progress::Done(Outcome::Succeeded {
                detail: format!("{} forced into listen-only mode", cx.name(self.target)),
            });
        }
        Progress::Done(finish_commands(
            cx,
            self.target,
            &self.book,
            "diagnostics request",
        ))
    }
    fn fate(&mut self, cx: &mut StepCx, f: &Fate) -> Progress {
        Progress::Done(blocked(cx.topo, f))
    }
}

// ── FC 90, the vendor protocol: T0868 Detect Operating Mode, T0858 Change Operating Mode ──

struct Vendor {
    target: HostId,
    /// Sub-function: 0x04 read PLC info, 0x40 start, 0x41 stop.
    sub: u8,
    book: Book,
    result: Option<Vec<u8>>,
    deadline: SimTime,
}

/// T0868 reads the PLC's state (FC 90 sub-function 0x04); T0858 takes `params.mode`,
/// "stop" (0x41, the default) or "run" (0x40).
pub fn build_vendor(
    id: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    let sub = if id == "T0858" {
        param::only(p, &["mode"])?;
        match param::string(p, "mode", Some("stop"))?.as_str() {
            "stop" => 0x41,
            "run" => 0x40,
            other => {
                return Err(ParamError::new(
                    "params.mode",
                    format!("{other:?}: expected \"stop\" or \"run\""),
                ));
            }
        }
    } else {
        param::only(p, &[])?;
        0x04
    };
    Ok(Box::new(Vendor {
        target: target(t)?,
        sub,
        book: Book::default(),
        result: None,
        deadline: SimTime::ZERO,
    }))
}

impl Executor for Vendor {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        let sub = self.sub;
        self.book
            .send(cx, self.target, 0, |tid| custom_request(tid, 1, 0x5A, &[0, sub]));
        self.deadline = cx.now + ANSWER_TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        if let Some((_, _, ResponseBody::Raw(raw))) = self.book.take(d) {
            self.result = Some(raw);
        }
        self.timer(cx)
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        let name = cx.name(self.target).to_string();
        Progress::Done(match (&self.result, &self.book.blocked) {
            // Response data after the function code: session, status, data.
            (Some(r), _) if r.get(1) == Some(&0xFE) => {
                let detail = match self.sub {
                    0x04 => {
                        let code = u16::from_be_bytes([
                            r.get(2).copied().unwrap_or(0),
                            r.get(3).copied().unwrap_or(0),
                        ]);
                        let mode = otrange_sim::plc::OperatingMode::from_code(code)
                            .map_or("unknown", |m| m.as_str());
                        format!("{name} is in {mode} mode")
                    }
                    0x40 => format!("{name} told to run"),
                    _ => format!("{name} told to stop"),
                };
                Outcome::Succeeded { detail }
            }
            (Some(r), _) => Outcome::Failed {
                reason: format!("{name} refused the FC 90 request: {r:02x?}"),
            },
            (None, Some(b)) => b.clone(),
            (None, None) => finish_commands(cx, self.target, &self.book, "FC 90 request"),
        })
    }
}

// ── FC 90 programs: T0845 Program Upload, T0843 Program Download, T0889 Modify Program ──

struct Program {
    technique: &'static str,
    target: HostId,
    /// FC 90 request data still to send, one after the other.
    queue: std::collections::VecDeque<Vec<u8>>,
    uploaded: Vec<u8>,
    upload_len: Option<usize>,
    book: Book,
    deadline: SimTime,
    sent: u32,
}

/// T0845 reads the running program; T0843 and T0889 take `params.program`, the program as
/// the `[plc]` table of a plant file (`[[plc.program]]` blocks, `[[plc.safe_state]]`), and
/// download it in 200-byte blocks. The PLC installs it at its next scan if it compiles.
pub fn build_program(
    id: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ParamError> {
    let mut queue = std::collections::VecDeque::new();
    if id == "T0845" {
        param::only(p, &[])?;
        queue.push_back(vec![0, 0x30]);
    } else {
        param::only(p, &["program"])?;
        let text = param::string(p, "program", None)?;
        otrange_sim::plc::PlcLogicConfig::from_toml_str(&text)
            .map_err(|e| ParamError::new("params.program", format!("not a [plc] program: {e}")))?;
        queue.push_back(vec![0, 0x33]);
        for (i, chunk) in text
            .as_bytes()
            .chunks(otrange_sim::devices::vendor::BLOCK)
            .enumerate()
        {
            let mut d = vec![0, 0x34];
            d.extend((i as u16).to_be_bytes());
            d.extend_from_slice(chunk);
            queue.push_back(d);
        }
        queue.push_back(vec![0, 0x35]);
    }
    Ok(Box::new(Program {
        technique: id,
        target: target(t)?,
        queue,
        uploaded: Vec::new(),
        upload_len: None,
        book: Book::default(),
        deadline: SimTime::ZERO,
        sent: 0,
    }))
}

impl Program {
    fn next(&mut self, cx: &mut StepCx) -> Progress {
        let Some(data) = self.queue.pop_front() else {
            let name = cx.name(self.target).to_string();
            return Progress::Done(Outcome::Succeeded {
                detail: if self.technique == "T0845" {
                    format!(
                        "uploaded from {name}: {:?}",
                        String::from_utf8_lossy(&self.uploaded)
                    )
                } else {
                    format!("program downloaded to {name} in {} FC 90 requests", self.sent)
                },
            });
        };
        self.book
            .send(cx, self.target, 0, |tid| custom_request(tid, 1, 0x5A, &data));
        self.sent += 1;
        self.deadline = cx.now + ANSWER_TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
}

impl Executor for Program {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        self.next(cx)
    }
    fn reply(&mut self, cx: &mut StepCx, d: &Delivered) -> Progress {
        let raw = match self.book.take(d) {
            Some((_, _, ResponseBody::Raw(raw))) => raw,
            Some(_) => return Progress::Done(finish_commands(cx, self.target, &self.book, "FC 90 request")),
            None => return Progress::Wait(Some(self.deadline)),
        };
        // session, status, data
        if raw.get(1) != Some(&0xFE) {
            return Progress::Done(Outcome::Failed {
                reason: format!("{} refused FC 90: {raw:02x?}", cx.name(self.target)),
            });
        }
        if self.technique == "T0845" {
            match self.upload_len {
                None => {
                    let len = usize::from(u16::from_be_bytes([
                        raw.get(2).copied().unwrap_or(0),
                        raw.get(3).copied().unwrap_or(0),
                    ]));
                    self.upload_len = Some(len);
                    for i in 0..len.div_ceil(otrange_sim::devices::vendor::BLOCK) {
                        let mut d = vec![0, 0x31];
                        d.extend((i as u16).to_be_bytes());
                        self.queue.push_back(d);
                    }
                }
                Some(_) => self.uploaded.extend(raw.iter().skip(5)),
            }
        }
        self.next(cx)
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(
            self.book
                .blocked
                .clone()
                .unwrap_or_else(|| finish_commands(cx, self.target, &self.book, "FC 90 request")),
        )
    }
}
