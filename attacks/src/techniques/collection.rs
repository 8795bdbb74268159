//! Collection (TA0100): gathering the plant's data, from its controllers or from its IT.
//!
//! * T0861 Point & Tag Identification: a walk over the holding registers (FC 3) until the
//!   device answers exception 2, past the end of its map.
//! * T0801 Monitor Process State, T0802 Automated Collection: reads of registers or coils
//!   (FC 1, 3 or 4), once or over and over.
//! * T0811 Data from Information Repositories: one large pull from a historian or a file
//!   share. The same executor serves T0882 Theft of Operational Information, whose tactic is
//!   Impact (the theft is the harm); it is here with the executor's primary tactic.
//!
//! They belong together because each one reads and writes nothing: a step succeeds when the
//! data came back, and fails on an exception, silence or a policy's denial.

use super::modbus_client::{ANSWER_TIMEOUT, Book, address, finish_commands, target};
use super::{ConfigError, Executor, Outcome, Progress, StepCx, TRANSFER_TIMEOUT, blocked, param};
use otrange_sim::base::time::{SimDuration, SimTime};
use otrange_sim::net::topology::{HostId, Service, Topology};
use otrange_sim::net::{Delivered, Fate};
use otrange_sim::plc_logic::Area;
use otrange_sim::wire::modbus::{ResponseBody, read_coils, read_holding_registers, read_input_registers};

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

/// T0861: reads the target's holding registers from 0 in blocks of `params.block`
/// (default 8, held to 1..=125) until the first exception, silence, or `params.max`
/// (default 256); the highest register read goes into the actor's loot.
pub fn build_point_scan(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    _: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
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
) -> Result<Box<dyn Executor>, ConfigError> {
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
                    .collect();
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

// ── T0811 Data from Information Repositories, T0882 Theft of Operational Information ──

struct Pull {
    target: HostId,
    service: Service,
    bytes: u32,
    deadline: SimTime,
}

/// `params.service` (default "historian"), `bytes` pulled (default 5 MB).
pub fn build_pull(
    _: &'static str,
    t: Option<HostId>,
    p: &toml::Table,
    topo: &Topology,
) -> Result<Box<dyn Executor>, ConfigError> {
    param::only(p, &["service", "bytes"])?;
    let target = t.ok_or_else(|| ConfigError::unlocated("target", "this technique needs a target host"))?;
    let name = param::string(p, "service", Some("historian"))?;
    let service: Service = toml::Value::String(name.clone())
        .try_into()
        .map_err(|_| ConfigError::unlocated("params.service", format!("unknown service {name:?}")))?;
    if !topo.host(target).services.contains(&service) {
        return Err(ConfigError::unlocated(
            "params.service",
            format!("{} offers no {name} service", topo.host(target).name),
        ));
    }
    let bytes = param::int(p, "bytes", Some(5_000_000))?;
    Ok(Box::new(Pull {
        target,
        service,
        bytes: u32::try_from(bytes).map_err(|_| ConfigError::unlocated("params.bytes", "too large"))?,
        deadline: SimTime::ZERO,
    }))
}

impl Executor for Pull {
    fn start(&mut self, cx: &mut StepCx) -> Progress {
        cx.send_flow(self.target, self.service, 600, self.bytes);
        self.deadline = cx.now + TRANSFER_TIMEOUT;
        Progress::Wait(Some(self.deadline))
    }
    fn reply(&mut self, cx: &mut StepCx, _d: &Delivered) -> Progress {
        Progress::Done(Outcome::Succeeded {
            detail: format!(
                "{} bytes of {} data from {}",
                self.bytes,
                self.service.as_str(),
                cx.name(self.target)
            ),
        })
    }
    fn timer(&mut self, cx: &mut StepCx) -> Progress {
        Progress::Done(Outcome::Failed {
            reason: format!("no answer from {}", cx.name(self.target)),
        })
    }
}
