//! A Modbus polling client, the part HMIs and historians share: a list of register blocks
//! read every period, transaction ids, timeouts, and the latency of every answer.

use crate::base::config_error::ConfigError;
use crate::base::events::{EventKind, EventLog};
use crate::base::stats::LatencyStats;
use crate::base::task_clock::TaskClock;
use crate::base::time::{SimDuration, SimTime};
use crate::devices::host::ClientInbox;
use crate::net::topology::{HostId, Role, Service, Topology};
use crate::net::{Network, Payload};
use crate::plc_logic::Area;
use crate::wire::modbus::{ResponseBody as Body, decode_response, encode_request_inline};
use modbus_core::Request;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use toml::Spanned;

/// `[[hmi.poll]]` / `[[historian.poll]]`: one block of registers read from one PLC.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PollConfig {
    /// The host polled: a host of role plc.
    pub plc: Spanned<String>,
    /// First address, as "hr:0", "ir:10", "co:0" or "di:0".
    pub read: Spanned<String>,
    /// Registers or bits read from `read` on (default 1): 1..=125 registers, 1..=2000 bits.
    #[serde(default = "one")]
    pub count: u16,
    /// Modbus unit id of the requests (default 1).
    #[serde(default = "unit")]
    pub unit: u8,
}

fn one() -> u16 {
    1
}
fn unit() -> u8 {
    1
}

/// A compiled poll item. Its fields are read through methods because the
/// request's bytes are built once from them at compile time.
#[derive(Debug, Clone)]
pub struct PollItem {
    /// The PLC read.
    plc: HostId,
    /// The data area read (coils, discrete inputs, input or holding registers).
    area: Area,
    /// First address in the area, zero-based as on the wire.
    start: u16,
    /// Registers or bits read, within one Modbus read's limit.
    count: u16,
    /// Modbus unit id of the requests.
    unit: u8,
    /// The request's bytes with transaction id 0: every poll sends these with its own id.
    adu: crate::wire::modbus::AduBytes,
}

impl PollItem {
    /// The PLC read.
    pub fn plc(&self) -> HostId {
        self.plc
    }

    /// The data area read.
    pub fn area(&self) -> Area {
        self.area
    }

    /// First address in the area, zero-based as on the wire.
    pub fn start(&self) -> u16 {
        self.start
    }

    /// Registers or bits read.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// Modbus unit id of the requests.
    pub fn unit(&self) -> u8 {
        self.unit
    }

    /// Compiles a poll entry, checking that it names a PLC.
    pub fn build(cfg: &PollConfig, field: &str, topo: &Topology) -> Result<PollItem, ConfigError> {
        let plc = topo.resolve(&cfg.plc, &format!("{field}.plc"))?;
        if topo.host(plc).role != Role::Plc {
            return Err(ConfigError::new(
                format!("{field}.plc"),
                Some(cfg.plc.span()),
                format!("host {:?} is not a plc", cfg.plc.get_ref()),
            ));
        }
        let (area, start) = crate::plc_logic::parse_address(cfg.read.get_ref())
            .map_err(|m| ConfigError::new(format!("{field}.read"), Some(cfg.read.span()), m))?;
        let max = if matches!(area, Area::Coil | Area::DiscreteInput) {
            2000
        } else {
            125
        };
        if cfg.count == 0 || cfg.count > max {
            return Err(ConfigError::new(
                format!("{field}.count"),
                Some(cfg.read.span()),
                format!("count must be 1..={max} for this area (one Modbus read)"),
            ));
        }
        Ok(PollItem::new(plc, area, start, cfg.count, cfg.unit))
    }

    /// An item checked by [`Self::build`], with its request's bytes laid out once.
    fn new(plc: HostId, area: Area, start: u16, count: u16, unit: u8) -> PollItem {
        let mut item = PollItem {
            plc,
            area,
            start,
            count,
            unit,
            adu: Default::default(),
        };
        item.adu = item.encode(0);
        item
    }

    fn request(&self, tid: u16) -> crate::wire::modbus::AduBytes {
        let mut adu = self.adu.clone();
        crate::wire::modbus::set_transaction_id(&mut adu, tid);
        debug_assert_eq!(adu, self.encode(tid));
        adu
    }

    fn encode(&self, tid: u16) -> crate::wire::modbus::AduBytes {
        let req = match self.area {
            Area::Coil => Request::ReadCoils(self.start, self.count),
            Area::DiscreteInput => Request::ReadDiscreteInputs(self.start, self.count),
            Area::InputRegister => Request::ReadInputRegisters(self.start, self.count),
            Area::HoldingRegister => Request::ReadHoldingRegisters(self.start, self.count),
        };
        encode_request_inline(tid, self.unit, req)
    }
}

/// What one answered poll brought back.
#[derive(Debug, Clone)]
pub struct PollResult {
    /// Index of the poll item answered, in the poller's `items`.
    pub item: usize,
    /// When the answer arrived.
    pub at: SimTime,
    /// The registers read, or the bits read as 0 and 1, `count` of them.
    pub values: Vec<u16>,
}

/// Takes the id in `counter` and advances it, wrapping past 65535 to 1 (0 is never used).
fn next_tid(counter: &mut u16) -> u16 {
    let tid = *counter;
    *counter = counter.wrapping_add(1).max(1);
    tid
}

/// The polling state machine.
#[derive(Debug)]
pub struct Poller {
    /// What is read every round, each item one request.
    pub items: Vec<PollItem>,
    /// Time between two rounds.
    pub period: SimDuration,
    /// How long a request may wait for its answer: the period, at least 1 s.
    pub timeout: SimDuration,
    /// When the next round is due.
    pub next_poll: SimTime,
    /// The poll loop's schedule on the client's own clock (drift and wake-up jitter).
    clock: TaskClock,
    next_tid: u16,
    outstanding: RequestBook<usize>,
    /// Last answer per poll item, with its arrival time: what this client believes.
    last: Vec<Option<(SimTime, Vec<u16>)>>,
    /// The items reading each PLC's data area, in item order: where [`Poller::value`]
    /// looks, so a lookup costs the items of one PLC, not every item of the client.
    items_of: FxHashMap<(HostId, Area), Vec<usize>>,
    /// Request-to-answer latency of every answered poll.
    pub latency: LatencyStats,
    /// Read requests sent.
    pub polls: u64,
    /// Answers matched to an outstanding request, exceptions included.
    pub answers: u64,
    /// Answers that were Modbus exceptions.
    pub exceptions: u64,
    /// Requests expired unanswered after `timeout` (each logged as `poll_timeout`).
    pub timeouts: u64,
    /// Answers of the last [`Poller::receive`] that matched no poll (an operator command's
    /// acknowledgement, or a poll's late answer): transaction id, arrival, and whether it
    /// was a Modbus exception.
    pub unmatched: Vec<(u16, SimTime, bool)>,
}

impl Poller {
    /// A poller that reads `items` on `clock`'s schedule, from its first start.
    pub fn new(items: Vec<PollItem>, clock: TaskClock) -> Self {
        let period = clock.period();
        let mut items_of: FxHashMap<(HostId, Area), Vec<usize>> = FxHashMap::default();
        for (i, it) in items.iter().enumerate() {
            items_of.entry((it.plc, it.area)).or_default().push(i);
        }
        Poller {
            last: vec![None; items.len()],
            items_of,
            items,
            period,
            timeout: period.max(SimDuration::from_secs(1)),
            next_poll: clock.first(),
            clock,
            next_tid: 1,
            outstanding: RequestBook::default(),
            latency: LatencyStats::default(),
            polls: 0,
            answers: 0,
            exceptions: 0,
            timeouts: 0,
            unmatched: Vec::new(),
        }
    }

    /// Sends every poll if one is due. Returns the next poll time when it polled now.
    pub fn tick(&mut self, me: HostId, now: SimTime, net: &mut Network) -> Option<SimTime> {
        if now >= self.next_poll {
            for (i, item) in self.items.iter().enumerate() {
                let tid = next_tid(&mut self.next_tid);
                net.send(
                    now,
                    me,
                    item.plc,
                    Service::Modbus,
                    Payload::Modbus(item.request(tid)),
                    0,
                );
                self.outstanding.insert(tid, i, now);
                self.polls += 1;
            }
            self.next_poll = self.clock.next(now);
            return Some(self.next_poll);
        }
        None
    }

    /// The next transaction id of this client: polls and any other request it sends (an
    /// operator's write) share one space, so an answer is never taken for another's.
    /// Ids run 1..=65535 and wrap, skipping 0.
    pub fn take_tid(&mut self) -> u16 {
        next_tid(&mut self.next_tid)
    }

    /// Reads answers from the inbox and expires requests that waited too long.
    pub fn receive(
        &mut self,
        me: &str,
        inbox: &mut ClientInbox,
        now: SimTime,
        topo: &Topology,
        log: &mut EventLog,
        out: &mut Vec<PollResult>,
    ) {
        self.unmatched.clear();
        let mut answers = inbox.take_modbus();
        for d in answers.drain(..) {
            let Payload::Modbus(adu) = &d.frame.payload else {
                continue;
            };
            let Ok(resp) = decode_response(adu) else { continue };
            let Some((item, sent)) = self.outstanding.remove(resp.tid) else {
                // Not a poll's: a command's acknowledgement, or a poll's late answer.
                let exception = matches!(resp.body, Body::Exception(_));
                self.unmatched.push((resp.tid, d.at, exception));
                continue;
            };
            self.latency.record(d.at - sent);
            self.answers += 1;
            let it = &self.items[item];
            let values: Vec<u16> = match resp.body {
                Body::Registers(r) => r,
                Body::Bits(b) => b.into_iter().take(usize::from(it.count)).map(u16::from).collect(),
                Body::Exception(_) => {
                    self.exceptions += 1;
                    continue;
                }
                _ => continue,
            };
            // Copied into the item's own vector: a clone allocated and freed one per answer.
            match &mut self.last[item] {
                Some((at, last)) => {
                    *at = d.at;
                    last.clear();
                    last.extend_from_slice(&values);
                }
                slot @ None => *slot = Some((d.at, values.clone())),
            }
            out.push(PollResult {
                item,
                at: d.at,
                values,
            });
        }
        inbox.give_back(answers);
        for item in self.outstanding.take_expired(now, self.timeout) {
            self.timeouts += 1;
            log.push(
                now,
                EventKind::PollTimeout {
                    client: me.to_string(),
                    device: topo.host(self.items[item].plc).name.clone(),
                },
            );
        }
    }

    /// A value as this client last saw it.
    /// Where several items cover the address, the freshest answer wins.
    pub fn value(&self, plc: HostId, area: Area, addr: u16) -> Option<u16> {
        let mut best: Option<(SimTime, u16)> = None;
        for &i in self.items_of.get(&(plc, area)).map_or(&[][..], Vec::as_slice) {
            let it = &self.items[i];
            if addr < it.start {
                continue;
            }
            let Some((at, vals)) = &self.last[i] else { continue };
            if let Some(&v) = vals.get(usize::from(addr - it.start))
                && best.is_none_or(|(t, _)| *at > t)
            {
                best = Some((*at, v));
            }
        }
        best.map(|(_, v)| v)
    }
}

/// Requests sent and not yet answered, by transaction id, with what was asked and when:
/// a poller's reads, an HMI's commands. Every request of one book has the same timeout, so
/// the oldest send is the first to expire, and finding the expired ones costs what they
/// are, not a visit of every request still out.
#[derive(Debug)]
pub(crate) struct RequestBook<T> {
    /// Looked up once per answer (a hash map: a thousand requests out at a time is usual
    /// for a SCADA server; nothing iterates it, so its order cannot reach an output).
    by_tid: FxHashMap<u16, (T, SimTime)>,
    /// Sends in the order they happened; an entry whose id was answered (or reused since)
    /// is skipped when it comes up.
    sent: std::collections::VecDeque<(SimTime, u16)>,
}

impl<T> Default for RequestBook<T> {
    fn default() -> Self {
        RequestBook {
            by_tid: FxHashMap::default(),
            sent: std::collections::VecDeque::new(),
        }
    }
}

impl<T> RequestBook<T> {
    /// Books request `tid`, asking `what`, sent at `at` (never earlier than the last one).
    pub(crate) fn insert(&mut self, tid: u16, what: T, at: SimTime) {
        self.by_tid.insert(tid, (what, at));
        self.sent.push_back((at, tid));
    }

    /// The request an answer with `tid` is for, taken out of the book.
    pub(crate) fn remove(&mut self, tid: u16) -> Option<(T, SimTime)> {
        self.by_tid.remove(&tid)
    }

    /// Takes out every request sent `timeout` or more before `now`, in transaction-id
    /// order: the requests that will get no answer now.
    pub(crate) fn take_expired(&mut self, now: SimTime, timeout: SimDuration) -> Vec<T> {
        let mut expired: Vec<u16> = Vec::new();
        while let Some(&(at, tid)) = self.sent.front() {
            if now - at < timeout {
                break;
            }
            self.sent.pop_front();
            if self.by_tid.get(&tid).is_some_and(|(_, booked)| *booked == at) {
                expired.push(tid);
            }
        }
        expired.sort_unstable();
        expired.dedup();
        expired
            .into_iter()
            .map(|tid| self.by_tid.remove(&tid).expect("listed").0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::task_clock::{Keeping, TaskTiming};

    /// The bytes a poll sends: its request laid out once, with each poll's transaction id.
    #[test]
    fn a_poll_sends_its_read_with_its_own_transaction_id() {
        let read = PollItem::new(HostId(3), Area::HoldingRegister, 100, 10, 1);
        let want = [0x12, 0x34, 0, 0, 0, 6, 1, 3, 0, 100, 0, 10];
        assert_eq!(&read.request(0x1234)[..], &want[..]);
        let coils = PollItem::new(HostId(3), Area::Coil, 0x0102, 16, 7);
        let want = [0xff, 0xfe, 0, 0, 0, 6, 7, 1, 1, 2, 0, 16];
        assert_eq!(&coils.request(0xfffe)[..], &want[..]);
        assert_eq!(
            &coils.request(1)[..2],
            &[0, 1],
            "the next poll's id, the rest kept"
        );
        assert_eq!(&coils.request(1)[2..], &want[2..]);
    }

    /// Regression: operator writes used ids 0x8000|n while polls counted up from 1, so after
    /// 32,767 polls a write's acknowledgement could be taken for a poll's answer.
    #[test]
    fn a_client_has_one_id_space() {
        let clock = TaskClock::new(
            SimDuration::from_secs(1),
            Keeping::FreeRunning,
            TaskTiming::IDEAL,
            SimTime::ZERO,
            crate::base::rng::MasterSeed(1).stream("t"),
        );
        let mut p = Poller::new(Vec::new(), clock);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..u16::MAX {
            assert!(
                seen.insert(p.take_tid()),
                "an id came back before the space was used up"
            );
        }
        assert!(!seen.contains(&0));
        assert_eq!(p.take_tid(), 1, "ids wrap to 1, skipping 0");
    }
}
