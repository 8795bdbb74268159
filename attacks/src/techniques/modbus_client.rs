//! What every Modbus executor shares, whatever its tactic: a book of the requests in flight
//! (transaction ids, what each was for, what came back) and the judgement of a step by its
//! answers: exception codes fail a command, silence fails anything that needed an answer, a
//! firewall's denial blocks it. Each request is a real ADU sent from the actor's foothold.

use super::{ConfigError, Outcome, StepCx, blocked, param};
use otrange_sim::base::time::{SimDuration, SimTime};
use otrange_sim::net::topology::HostId;
use otrange_sim::net::{Delivered, Fate, FateKind};
use otrange_sim::plc_logic::{Area, parse_address};
use otrange_sim::wire::modbus::{ResponseBody, decode_response};
use std::collections::BTreeMap;

/// How long a request waits for its answer.
pub(super) const ANSWER_TIMEOUT: SimDuration = SimDuration::from_secs(2);

/// Requests in flight and what came back.
#[derive(Default)]
pub(super) struct Book {
    next_tid: u16,
    /// tid -> (device, what the request was for)
    pub(super) outstanding: BTreeMap<u16, (HostId, u16)>,
    pub(super) answers: u64,
    pub(super) exceptions: Vec<u8>,
    pub(super) blocked: Option<Outcome>,
    pub(super) last_sent: SimTime,
    pub(super) sent_total: u64,
}

impl Book {
    fn tid(&mut self) -> u16 {
        self.next_tid = self.next_tid.wrapping_add(1).max(1);
        self.next_tid
    }
    pub(super) fn send(&mut self, cx: &mut StepCx, to: HostId, tag: u16, adu: impl FnOnce(u16) -> Vec<u8>) {
        let tid = self.tid();
        self.outstanding.insert(tid, (to, tag));
        self.last_sent = cx.now;
        cx.send_modbus(to, adu(tid));
    }
    /// Matches an answer to its request: (device, tag, body).
    pub(super) fn take(&mut self, d: &Delivered) -> Option<(HostId, u16, ResponseBody)> {
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
    pub(super) fn note_fate(&mut self, cx: &StepCx, f: &Fate) {
        if self.blocked.is_none() && matches!(f.kind, FateKind::Blocked { .. }) {
            self.blocked = Some(blocked(cx.topo, f));
        }
    }
}

/// The step's target device, which every Modbus technique but a sweep needs.
pub(super) fn target(t: Option<HostId>) -> Result<HostId, ConfigError> {
    t.ok_or_else(|| ConfigError::unlocated("target", "this technique needs a target device"))
}

/// A register address parameter such as "hr:0" or "co:12".
pub(super) fn address(p: &toml::Table, key: &str, default: Option<&str>) -> Result<(Area, u16), ConfigError> {
    let s = param::string(p, key, default)?;
    parse_address(&s).map_err(|m| ConfigError::unlocated(format!("params.{key}"), m))
}

/// The outcome of a run of requests that all needed a normal answer.
pub(super) fn finish_commands(cx: &StepCx, target: HostId, book: &Book, what: &str) -> Outcome {
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
