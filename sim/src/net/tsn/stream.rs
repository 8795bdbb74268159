//! TSN streams: cyclic frames from a talker to its listeners, with a deadline, and what
//! became of each (latency, jitter, misses and why, drops).

use crate::net::frame::{Frame, Payload};
use crate::net::topology::HostId;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Why a frame waited at a hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum WaitCause {
    /// Frames of its own class were queued ahead of it.
    Backlog {
        /// How many.
        ahead: u32,
    },
    /// The port was sending a frame of this class when it arrived.
    PortBusy {
        /// The class of the frame on the wire.
        class: u8,
    },
    /// Its class's gate was closed.
    GateClosed,
    /// Its class's credit-based shaper had no credit.
    Shaper,
    /// An inline inspection at the node held it.
    Inspection,
    /// A link without TSN (first in, first out) was still sending earlier frames.
    LinkBusy,
}

impl WaitCause {
    /// A short phrase for reports.
    pub fn describe(&self) -> String {
        match self {
            WaitCause::Backlog { ahead } => format!("queued behind {ahead} frame(s) of its class"),
            WaitCause::PortBusy { class } => format!("port busy sending a class {class} frame"),
            WaitCause::GateClosed => "gate closed".into(),
            WaitCause::Shaper => "credit-based shaper out of credit".into(),
            WaitCause::Inspection => "inline inspection delay".into(),
            WaitCause::LinkBusy => "first-in first-out link busy with earlier frames".into(),
        }
    }
}

/// The longest wait a stream frame had on its way: where, in which queue, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HopWait {
    /// The node.
    pub node: HostId,
    /// The traffic class (queue) it waited in.
    pub class: u8,
    /// How long, in nanoseconds.
    pub wait_ns: u64,
    /// Why.
    pub cause: WaitCause,
}

/// What a stream frame carries: which stream, which cycle, the process data words, and its
/// longest wait so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFrame {
    /// Index of the stream.
    pub stream: u32,
    /// Cycle number, from 0.
    pub seq: u64,
    /// Process data (16-bit words, as an I/O module's image), shared with the talker's
    /// image until it changes.
    pub words: Arc<[u16]>,
    /// Payload bytes on the wire (the words, padded to the stream's frame size).
    pub bytes: u32,
    /// With several listeners, those this copy still serves (a switch replicates a frame per
    /// output port); empty for a stream with one listener (the frame's destination).
    pub listeners: Vec<HostId>,
    /// Where it waited so far, in order.
    pub waits: Vec<HopWait>,
}

impl StreamFrame {
    /// Its longest wait (the first of equals).
    pub fn worst(&self) -> Option<HopWait> {
        self.waits
            .iter()
            .copied()
            .reduce(|a, b| if b.wait_ns > a.wait_ns { b } else { a })
    }
}

/// Records a wait of a stream frame at a hop.
pub fn note_wait(frame: &mut Frame, node: HostId, class: u8, wait_ns: u64, cause: WaitCause) {
    if let Payload::Stream(s) = &mut frame.payload
        && wait_ns > 0
    {
        s.waits.push(HopWait {
            node,
            class,
            wait_ns,
            cause,
        });
    }
}

/// A stream as declared.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    /// Unique name.
    pub name: String,
    /// The sender.
    pub talker: HostId,
    /// The receivers.
    pub listeners: Vec<HostId>,
    /// VLAN priority of its frames.
    pub pcp: u8,
    /// VLAN id of its frames.
    pub vid: u16,
    /// Time between two frames, on the talker's clock.
    pub period_ns: u64,
    /// First frame's time within the period, on the talker's clock.
    pub offset_ns: u64,
    /// Payload bytes per frame.
    pub payload_bytes: u32,
    /// Latency beyond which a frame is late.
    pub deadline_ns: u64,
}

/// Latencies kept exactly below 65.5 us and to 1/4096 above, so a day of 1 ms frames
/// fits in a few thousand counters and the 99th percentile is off by at most 0.025 %.
#[derive(Debug, Clone, Default)]
pub struct LatencyHistogram {
    /// Count per key; only ever read sorted (see [`LatencyHistogram::quantile`]).
    counts: HashMap<u64, u64>,
    /// The last key added and how many times since it was last flushed: a stream's
    /// latency repeats, so most additions touch no map.
    run: Option<(u64, u64)>,
    n: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl LatencyHistogram {
    fn key(v: u64) -> u64 {
        if v < 1 << 16 {
            return v;
        }
        let shift = 63 - v.leading_zeros() - 12;
        (v >> shift) << shift
    }
    /// Adds one latency.
    pub fn add(&mut self, ns: u64) {
        let key = Self::key(ns);
        match &mut self.run {
            Some((k, n)) if *k == key => *n += 1,
            run => {
                if let Some((k, n)) = run.replace((key, 1)) {
                    *self.counts.entry(k).or_default() += n;
                }
            }
        }
        if self.n == 0 || ns < self.min {
            self.min = ns;
        }
        self.max = self.max.max(ns);
        self.n += 1;
        self.sum += u128::from(ns);
    }
    /// The smallest latency with at least `q` of the samples at or below it.
    pub fn quantile(&self, q: f64) -> u64 {
        let rank = ((self.n as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        let mut counts = self.counts.clone();
        if let Some((k, n)) = self.run {
            *counts.entry(k).or_default() += n;
        }
        let mut counts: Vec<(u64, u64)> = counts.into_iter().collect();
        counts.sort_unstable();
        for &(k, c) in &counts {
            seen += c;
            if seen >= rank {
                return k.clamp(self.min, self.max);
            }
        }
        self.max
    }
    /// Samples so far.
    pub fn count(&self) -> u64 {
        self.n
    }
    /// Summary figures, in nanoseconds.
    pub fn figures(&self) -> Option<LatencyFigures> {
        (self.n > 0).then(|| LatencyFigures {
            min_ns: self.min,
            mean_ns: (self.sum / u128::from(self.n)) as u64,
            p99_ns: self.quantile(0.99),
            max_ns: self.max,
            jitter_ns: self.max - self.min,
        })
    }
}

/// A stream's latency figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatencyFigures {
    /// Shortest.
    pub min_ns: u64,
    /// Mean (rounded down).
    pub mean_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// Longest.
    pub max_ns: u64,
    /// Peak-to-peak variation (max - min).
    pub jitter_ns: u64,
}

/// The last frame of a stream a listener received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its cycle.
    pub seq: u64,
    /// When it arrived (simulated ns).
    pub at: u64,
    /// Its process data.
    pub words: Arc<[u16]>,
}

/// A stream during a run.
#[derive(Debug, Clone)]
pub struct Stream {
    /// As declared.
    pub spec: StreamSpec,
    /// The talker's clock.
    pub clock: usize,
    /// Next cycle number.
    pub next_seq: u64,
    /// The process data the talker sends now (kept current by its device).
    pub data: Arc<[u16]>,
    /// Per listener (in declared order): the last frame received, its cycle, words and time.
    pub received: Vec<Option<Received>>,
    /// Frames sent (one per cycle).
    pub sent: u64,
    /// Copies delivered, over all listeners.
    pub delivered: u64,
    /// Copies dropped on the way.
    pub dropped: u64,
    /// Copies that arrived after the deadline.
    pub missed: u64,
    /// Latencies of delivered copies.
    pub latency: LatencyHistogram,
    /// Late copies by where and why (node name, class, cause), for results.
    pub miss_causes: BTreeMap<String, u64>,
    /// Dropped copies by node and reason.
    pub drop_causes: BTreeMap<String, u64>,
    /// The route from the talker to the first listener, once a frame has taken it (looked
    /// up once, not at every release).
    pub(crate) route: Option<crate::net::paths::PathId>,
}

impl Stream {
    /// A stream about to send its first frame.
    pub fn new(spec: StreamSpec, clock: usize) -> Self {
        let n = spec.listeners.len();
        Stream {
            spec,
            clock,
            next_seq: 0,
            data: Arc::from([]),
            received: vec![None; n],
            sent: 0,
            delivered: 0,
            dropped: 0,
            missed: 0,
            latency: LatencyHistogram::default(),
            miss_causes: BTreeMap::new(),
            drop_causes: BTreeMap::new(),
            route: None,
        }
    }
    /// The local time (talker's clock) of cycle `seq`'s frame.
    pub fn release_local(&self, seq: u64) -> i64 {
        (self.spec.offset_ns + seq * self.spec.period_ns) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_exact_for_short_latencies_and_close_for_long_ones() {
        let mut h = LatencyHistogram::default();
        for v in 1..=1000u64 {
            h.add(v * 10);
        }
        assert_eq!(h.quantile(0.99), 9_900);
        let f = h.figures().unwrap();
        assert_eq!(
            (f.min_ns, f.max_ns, f.mean_ns, f.jitter_ns),
            (10, 10_000, 5_005, 9_990)
        );
        let mut h = LatencyHistogram::default();
        for v in 1..=1000u64 {
            h.add(v * 1_000_000);
        }
        let p = h.quantile(0.99) as f64;
        assert!((p - 990e6).abs() / 990e6 < 0.00025, "{p}");
    }
}
