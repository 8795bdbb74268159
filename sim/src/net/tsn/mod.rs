//! Time-Sensitive Networking: what makes a switch's egress deterministic, and the cyclic
//! streams that rely on it.
//!
//! * [`gate`]: 802.1Qbv gate control lists (which classes may send when).
//! * [`shaper`]: the 802.1Qav credit-based shaper.
//! * [`clock`]: device clocks with drift, corrected at a gPTP-like sync interval.
//! * [`port`]: a TSN egress port: eight class queues, strict priority, gates, shapers,
//!   preemption, bounded queues.
//! * [`stream`]: streams, their frames and their latency figures.
//! * [`config`]: the plant file's `[tsn]` section.
//!
//! [`Tsn`] holds a plant's TSN state; the [`Network`](crate::net::Network) owns it and
//! asks it at every egress whether the port is a TSN port. Ports that are not keep the
//! network's FIFO transmitter, so a plant without `[tsn]` runs exactly as before.

pub mod clock;
pub mod config;
pub mod gate;
pub mod port;
pub mod shaper;
pub mod stream;

use crate::base::config_error::ConfigError;
use crate::base::events::EventKind;
use crate::base::rng::MasterSeed;
use crate::base::units::parse_bandwidth;
use crate::net::frame::{Frame, Payload};
use crate::net::topology::{HostId, Role, Topology};
use clock::{ClockSpec, SyncedClock};
use config::TsnConfig;
use gate::{GateEntry, GateSchedule};
use port::{DEFAULT_CLASS_OF_PCP, PortSetup, PortStats, TsnPort};
use rand::RngExt;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use stream::{LatencyFigures, Stream, StreamSpec};

/// Late frames of one stream logged one by one; later ones are only counted.
pub const MISSES_LOGGED_PER_STREAM: u64 = 100;

/// Defaults for clocks no `[[tsn.clock]]` entry describes.
#[derive(Debug, Clone)]
struct ClockDefaults {
    drift_bound_ppm: f64,
    sync_interval_ns: u64,
    precision_ns: u64,
}

/// A plant's TSN state: clocks, TSN ports, streams.
pub struct Tsn {
    seed: MasterSeed,
    defaults: ClockDefaults,
    explicit: BTreeMap<HostId, ClockSpec>,
    /// Device clocks, created for switches with TSN ports and for talkers.
    pub clocks: Vec<SyncedClock>,
    clock_hosts: Vec<HostId>,
    clock_of: BTreeMap<HostId, usize>,
    /// Every TSN egress port.
    pub ports: Vec<TsnPort>,
    /// Per link, per direction: its TSN port, if any.
    port_at: Vec<[Option<u32>; 2]>,
    /// Every stream, in declaration order (plant file first, then devices').
    pub streams: Vec<Stream>,
    by_name: BTreeMap<String, usize>,
}

impl Default for Tsn {
    /// No TSN ports or streams; any clock made later is perfect.
    fn default() -> Self {
        Tsn {
            seed: MasterSeed(0),
            defaults: ClockDefaults {
                drift_bound_ppm: 0.0,
                sync_interval_ns: 0,
                precision_ns: 0,
            },
            explicit: BTreeMap::new(),
            clocks: Vec::new(),
            clock_hosts: Vec::new(),
            clock_of: BTreeMap::new(),
            ports: Vec::new(),
            port_at: Vec::new(),
            streams: Vec::new(),
            by_name: BTreeMap::new(),
        }
    }
}

/// A stream's account of the run, for results.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamFigures {
    /// The talker's name.
    pub talker: String,
    /// The listeners' names.
    pub listeners: Vec<String>,
    /// VLAN priority of its frames.
    pub pcp: u8,
    /// Period in nanoseconds.
    pub period_ns: u64,
    /// Deadline in nanoseconds.
    pub deadline_ns: u64,
    /// Frames sent.
    pub sent: u64,
    /// Copies delivered (a frame reaches each listener once).
    pub delivered: u64,
    /// Copies dropped on the way.
    pub dropped: u64,
    /// Delivered copies that arrived after the deadline.
    pub deadline_misses: u64,
    /// Latency of delivered copies; absent when none arrived.
    pub latency: Option<LatencyFigures>,
    /// Late copies by their longest wait: "node, queue N: cause".
    pub misses_by_cause: BTreeMap<String, u64>,
    /// Dropped copies by node and reason.
    pub drops_by_cause: BTreeMap<String, u64>,
}

fn span_err(field: String, span: std::ops::Range<usize>, msg: impl Into<String>) -> ConfigError {
    ConfigError::new(field, Some(span), msg)
}

impl Tsn {
    /// Builds the `[tsn]` section over a topology: the switches' ports and the declared
    /// streams. Errors name the field.
    pub fn build(cfg: &TsnConfig, topo: &Topology, seed: MasterSeed) -> Result<Tsn, ConfigError> {
        let drift = *cfg.drift_ppm.get_ref();
        if !(0.0..=1000.0).contains(&drift) {
            return Err(span_err(
                "tsn.drift_ppm".into(),
                cfg.drift_ppm.span(),
                "expected a bound between 0 and 1000 ppm",
            ));
        }
        let mut tsn = Tsn {
            seed,
            defaults: ClockDefaults {
                drift_bound_ppm: drift,
                sync_interval_ns: cfg.sync_interval.get_ref().value.as_nanos(),
                precision_ns: cfg.sync_precision.get_ref().value.as_nanos(),
            },
            port_at: vec![[None; 2]; topo.links.len()],
            ..Tsn::default()
        };
        for (i, c) in cfg.clocks.iter().enumerate() {
            let f = |s: &str| format!("tsn.clock[{i}].{s}");
            let host = topo.resolve(&c.host, &f("host"))?;
            if let Some(d) = &c.drift_ppm
                && !(-1000.0..=1000.0).contains(d.get_ref())
            {
                return Err(span_err(f("drift_ppm"), d.span(), "expected -1000 to 1000 ppm"));
            }
            let spec = ClockSpec {
                drift_ppm: c.drift_ppm.as_ref().map_or(f64::NAN, |d| *d.get_ref()),
                initial_offset_ns: c.offset_ns as f64,
                sync_interval_ns: if c.synced {
                    tsn.defaults.sync_interval_ns
                } else {
                    0
                },
                precision_ns: tsn.defaults.precision_ns,
                sync_lost_at: c.sync_lost_at.as_ref().map(|d| d.get_ref().value.as_nanos()),
            };
            if tsn.explicit.insert(host, spec).is_some() {
                return Err(span_err(
                    f("host"),
                    c.host.span(),
                    format!("host {:?} has two [[tsn.clock]] entries", c.host.get_ref()),
                ));
            }
        }
        let mut seen = BTreeMap::new();
        for (i, s) in cfg.switches.iter().enumerate() {
            tsn.build_switch(i, s, topo, &mut seen)?;
        }
        for (i, s) in cfg.streams.iter().enumerate() {
            let f = |s: &str| format!("tsn.stream[{i}].{s}");
            let name = s.name.get_ref().clone();
            let talker = topo.resolve(&s.talker, &f("talker"))?;
            let mut listeners = Vec::new();
            for (k, l) in s.listeners.iter().enumerate() {
                listeners.push(topo.resolve(l, &f(&format!("listeners[{k}]")))?);
            }
            let period = s.period.get_ref().value.as_nanos();
            let spec = StreamSpec {
                name,
                talker,
                listeners,
                pcp: *s.pcp.get_ref(),
                vid: *s.vlan.get_ref(),
                period_ns: period,
                offset_ns: s.offset.as_ref().map_or(0, |o| o.get_ref().value.as_nanos()),
                payload_bytes: *s.payload.get_ref(),
                deadline_ns: s
                    .deadline
                    .as_ref()
                    .map_or(period, |d| d.get_ref().value.as_nanos()),
            };
            tsn.add_stream(spec, topo).map_err(|(field, msg)| {
                let span = match field {
                    "talker" => s.talker.span(),
                    "listeners" => s.listeners.first().map_or(s.name.span(), |l| l.span()),
                    "pcp" => s.pcp.span(),
                    "vlan" => s.vlan.span(),
                    "period" => s.period.span(),
                    "offset" => s.offset.as_ref().map_or(s.period.span(), |o| o.span()),
                    "payload" => s.payload.span(),
                    "deadline" => s.deadline.as_ref().map_or(s.period.span(), |d| d.span()),
                    _ => s.name.span(),
                };
                span_err(f(field), span, msg)
            })?;
        }
        Ok(tsn)
    }

    fn build_switch(
        &mut self,
        i: usize,
        s: &config::TsnSwitchConfig,
        topo: &Topology,
        seen: &mut BTreeMap<HostId, usize>,
    ) -> Result<(), ConfigError> {
        let f = |x: &str| format!("tsn.switch[{i}].{x}");
        let node = topo.resolve(&s.host, &f("host"))?;
        if topo.host(node).role != Role::Switch {
            return Err(span_err(
                f("host"),
                s.host.span(),
                format!(
                    "host {:?} has role {}, expected switch",
                    s.host.get_ref(),
                    topo.host(node).role.as_str()
                ),
            ));
        }
        if seen.insert(node, i).is_some() {
            return Err(span_err(
                f("host"),
                s.host.span(),
                format!("switch {:?} has two [[tsn.switch]] entries", s.host.get_ref()),
            ));
        }
        let class = |v: &u8, field: String, span: std::ops::Range<usize>| {
            if *v > 7 {
                Err(span_err(
                    field,
                    span,
                    format!("traffic class {v}: expected 0 to 7"),
                ))
            } else {
                Ok(*v)
            }
        };
        let mut entries = Vec::new();
        for (k, g) in s.gates.iter().enumerate() {
            let mut mask = 0u8;
            for c in g.open.get_ref() {
                mask |= 1 << class(c, f(&format!("gates[{k}].open")), g.open.span())?;
            }
            let d = g.duration.get_ref().value.as_nanos();
            if d == 0 {
                return Err(span_err(
                    f(&format!("gates[{k}].duration")),
                    g.duration.span(),
                    "an entry's duration must be above zero",
                ));
            }
            entries.push(GateEntry {
                gates: mask,
                interval_ns: d,
            });
        }
        let gates = if entries.is_empty() {
            if let Some(c) = &s.cycle {
                return Err(span_err(
                    f("cycle"),
                    c.span(),
                    "a cycle needs a gate control list (`gates`)",
                ));
            }
            None
        } else {
            let cycle = s.cycle.as_ref().map(|c| c.get_ref().value.as_nanos());
            let base = s.base_time.as_ref().map_or(0, |b| b.get_ref().value.as_nanos());
            let g = GateSchedule::new(entries, cycle, base).map_err(|m| {
                let span = s.cycle.as_ref().map_or(s.host.span(), |c| c.span());
                span_err(f("cycle"), span, m)
            })?;
            Some(Arc::new(g))
        };
        let queue = *s.queue_frames.get_ref();
        if queue == 0 || queue > 100_000 {
            return Err(span_err(
                f("queue_frames"),
                s.queue_frames.span(),
                "expected 1 to 100000 frames",
            ));
        }
        let express = if s.preemption {
            let mut mask = 0u8;
            match &s.express {
                Some(e) => {
                    for c in e.get_ref() {
                        mask |= 1 << class(c, f("express"), e.span())?;
                    }
                }
                None => mask = 1 << 7,
            }
            Some(mask)
        } else {
            if let Some(e) = &s.express {
                return Err(span_err(
                    f("express"),
                    e.span(),
                    "express classes need `preemption = true`",
                ));
            }
            None
        };
        let class_of_pcp = match &s.class_of_pcp {
            None => DEFAULT_CLASS_OF_PCP,
            Some(v) => {
                let field = f("class_of_pcp");
                if v.get_ref().len() != 8 {
                    return Err(span_err(
                        field,
                        v.span(),
                        "expected eight traffic classes, one per priority 0..7",
                    ));
                }
                let mut out = [0u8; 8];
                for (p, c) in v.get_ref().iter().enumerate() {
                    out[p] = class(c, field.clone(), v.span())?;
                }
                out
            }
        };
        let mut wanted = Vec::new();
        for (k, p) in s.ports.iter().enumerate() {
            let n = topo.resolve(p, &f(&format!("ports[{k}]")))?;
            wanted.push((n, k));
        }
        let clock = self.clock_for(node, topo);
        let mut found = vec![false; wanted.len()];
        for l in &topo.links {
            for reverse in [false, true] {
                let (from, to) = if reverse { (l.b, l.a) } else { (l.a, l.b) };
                if from != node {
                    continue;
                }
                if !wanted.is_empty() {
                    match wanted.iter().find(|(n, _)| *n == to) {
                        Some((_, k)) => found[*k] = true,
                        None => continue,
                    }
                }
                let mut idle_slope_bps = [None; 8];
                for (k, c) in s.cbs.iter().enumerate() {
                    let cl = class(c.class.get_ref(), f(&format!("cbs[{k}].class")), c.class.span())?;
                    let bps = parse_bandwidth(c.idle_slope.get_ref())
                        .map_err(|m| span_err(f(&format!("cbs[{k}].idle_slope")), c.idle_slope.span(), m))?;
                    if bps == 0 || bps >= l.bandwidth_bps {
                        return Err(span_err(
                            f(&format!("cbs[{k}].idle_slope")),
                            c.idle_slope.span(),
                            format!(
                                "the idle slope must be above zero and below the port's rate ({} b/s towards {})",
                                l.bandwidth_bps,
                                topo.host(to).name
                            ),
                        ));
                    }
                    idle_slope_bps[usize::from(cl)] = Some(bps);
                }
                let setup = PortSetup {
                    node,
                    link: l.id,
                    reverse,
                    rate_bps: l.bandwidth_bps,
                    queue_frames: queue as usize,
                    class_of_pcp,
                    gates: gates.clone(),
                    length_aware: s.length_aware,
                    idle_slope_bps,
                    express,
                    clock,
                };
                self.port_at[l.id.0 as usize][usize::from(reverse)] = Some(self.ports.len() as u32);
                self.ports.push(TsnPort::new(setup));
            }
        }
        if let Some(k) = found.iter().position(|f| !f) {
            return Err(span_err(
                f(&format!("ports[{k}]")),
                s.ports[k].span(),
                format!(
                    "{:?} is not linked to switch {:?}",
                    s.ports[k].get_ref(),
                    s.host.get_ref()
                ),
            ));
        }
        Ok(())
    }

    /// The clock of `host`, made on first use: its `[[tsn.clock]]` entry, or the defaults
    /// with a rate error drawn from the run's seed.
    pub fn clock_for(&mut self, host: HostId, topo: &Topology) -> usize {
        if let Some(&c) = self.clock_of.get(&host) {
            return c;
        }
        let name = &topo.host(host).name;
        let mut rng = self.seed.stream(&format!("tsn-clock/{name}"));
        let mut spec = self.explicit.get(&host).cloned().unwrap_or(ClockSpec {
            drift_ppm: f64::NAN,
            initial_offset_ns: 0.0,
            sync_interval_ns: self.defaults.sync_interval_ns,
            precision_ns: self.defaults.precision_ns,
            sync_lost_at: None,
        });
        if spec.drift_ppm.is_nan() {
            let b = self.defaults.drift_bound_ppm;
            spec.drift_ppm = if b > 0.0 { rng.random_range(-b..=b) } else { 0.0 };
        }
        let id = self.clocks.len();
        self.clocks.push(SyncedClock::new(spec, rng));
        self.clock_hosts.push(host);
        self.clock_of.insert(host, id);
        id
    }

    /// The TSN port transmitting on `link` in the given direction, if any.
    pub fn port_at(&self, link: usize, reverse: bool) -> Option<usize> {
        self.port_at.get(link)?[usize::from(reverse)].map(|p| p as usize)
    }

    /// The stream named `name`.
    pub fn stream_by_name(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Adds a stream after checking it against the topology; errors are (field, message).
    pub fn add_stream(&mut self, spec: StreamSpec, topo: &Topology) -> Result<usize, (&'static str, String)> {
        if spec.name.is_empty() || self.by_name.contains_key(&spec.name) {
            return Err((
                "name",
                format!("stream names must be unique and non-empty: {:?}", spec.name),
            ));
        }
        if spec.listeners.is_empty() {
            return Err(("listeners", "a stream needs at least one listener".into()));
        }
        for (k, l) in spec.listeners.iter().enumerate() {
            let lname = &topo.host(*l).name;
            if *l == spec.talker || spec.listeners[..k].contains(l) {
                return Err(("listeners", format!("{lname:?} is the talker or listed twice")));
            }
            let Some(route) = topo.route(spec.talker, *l) else {
                return Err((
                    "listeners",
                    format!("no route from {:?} to {lname:?}", topo.host(spec.talker).name),
                ));
            };
            if let Some(h) = route[..route.len() - 1]
                .iter()
                .find(|h| topo.host(h.to).role != Role::Switch)
            {
                return Err((
                    "listeners",
                    format!(
                        "the way to {lname:?} crosses {} {:?}: stream frames are layer 2 and stay within switches",
                        topo.host(h.to).role.as_str(),
                        topo.host(h.to).name
                    ),
                ));
            }
        }
        if spec.pcp > 7 {
            return Err(("pcp", format!("priority {}: expected 0 to 7", spec.pcp)));
        }
        if !(1..=4094).contains(&spec.vid) {
            return Err(("vlan", format!("VLAN id {}: expected 1 to 4094", spec.vid)));
        }
        if spec.period_ns < 1_000 {
            return Err(("period", "the period must be at least 1us".into()));
        }
        if spec.offset_ns >= spec.period_ns {
            return Err(("offset", "the offset must be shorter than the period".into()));
        }
        if !(1..=1500).contains(&spec.payload_bytes) {
            return Err((
                "payload",
                format!("{} bytes: expected 1 to 1500", spec.payload_bytes),
            ));
        }
        if spec.deadline_ns == 0 {
            return Err(("deadline", "the deadline must be above zero".into()));
        }
        let clock = self.clock_for(spec.talker, topo);
        let id = self.streams.len();
        self.by_name.insert(spec.name.clone(), id);
        self.streams.push(Stream::new(spec, clock));
        Ok(id)
    }

    /// A delivered stream frame: latency, deadline, the listener's image. Returns the event
    /// to log if it was late (the first [`MISSES_LOGGED_PER_STREAM`] of a stream).
    pub fn receive(&mut self, at: u64, frame: Frame, topo: &Topology) -> Option<EventKind> {
        let Payload::Stream(s) = frame.payload else {
            return None;
        };
        let st = &mut self.streams[s.stream as usize];
        let latency = at.saturating_sub(frame.sent_at.as_nanos());
        st.delivered += 1;
        st.latency.add(latency);
        let newer = st
            .spec
            .listeners
            .iter()
            .position(|l| *l == frame.dst)
            .filter(|&k| st.received[k].as_ref().is_none_or(|r| s.seq > r.seq));
        let miss = Self::missed(st, &s, latency, frame.dst, topo);
        // The frame's data moves into what the listener holds: cloned, its `Arc`'s atomic
        // count went up here and down again with the frame, which with the drop of the
        // data it replaces was four fifths of this call's samples (`perf annotate`).
        if let Some(k) = newer {
            let s = *s;
            st.received[k] = Some(stream::Received {
                seq: s.seq,
                at,
                words: s.words,
            });
        }
        miss
    }

    /// A deadline missed by frame `s` of stream `st`, at `listener`: counted by cause, and
    /// the event to log while the stream's logged misses are few.
    fn missed(
        st: &mut Stream,
        s: &stream::StreamFrame,
        latency: u64,
        listener: HostId,
        topo: &Topology,
    ) -> Option<EventKind> {
        if latency <= st.spec.deadline_ns {
            return None;
        }
        st.missed += 1;
        let cause = s.worst().map(|w| {
            (
                topo.host(w.node).name.clone(),
                w.class,
                w.wait_ns,
                w.cause.describe(),
            )
        });
        let key = match &cause {
            Some((node, class, _, why)) => format!("{node}, queue {class}: {why}"),
            None => "no wait on the way: the deadline is shorter than the path".into(),
        };
        *st.miss_causes.entry(key).or_default() += 1;
        if st.missed > MISSES_LOGGED_PER_STREAM {
            return None;
        }
        // Only logged misses need their waits spelt out.
        let waits = s
            .waits
            .iter()
            .map(|w| {
                format!(
                    "{}, queue {}: {} ns, {}",
                    topo.host(w.node).name,
                    w.class,
                    w.wait_ns,
                    w.cause.describe()
                )
            })
            .collect();
        Some(EventKind::StreamDeadlineMissed {
            stream: st.spec.name.clone(),
            seq: s.seq,
            listener: topo.host(listener).name.clone(),
            latency_ns: latency,
            deadline_ns: st.spec.deadline_ns,
            node: cause.as_ref().map(|c| c.0.clone()),
            queue: cause.as_ref().map(|c| c.1),
            wait_ns: cause.as_ref().map(|c| c.2),
            cause: cause.map(|c| c.3),
            waits,
        })
    }

    /// A stream frame lost at `node`: counted per copy it still served.
    pub fn lost(&mut self, frame: &Frame, node: &str, reason: &str) {
        if let Payload::Stream(s) = &frame.payload {
            let st = &mut self.streams[s.stream as usize];
            let n = s.listeners.len().max(1) as u64;
            st.dropped += n;
            *st.drop_causes.entry(format!("{node}: {reason}")).or_default() += n;
        }
    }

    /// Every stream's figures, in declaration order.
    pub fn stream_figures(&self, topo: &Topology) -> Vec<(String, StreamFigures)> {
        self.streams
            .iter()
            .map(|s| {
                (
                    s.spec.name.clone(),
                    StreamFigures {
                        talker: topo.host(s.spec.talker).name.clone(),
                        listeners: s
                            .spec
                            .listeners
                            .iter()
                            .map(|l| topo.host(*l).name.clone())
                            .collect(),
                        pcp: s.spec.pcp,
                        period_ns: s.spec.period_ns,
                        deadline_ns: s.spec.deadline_ns,
                        sent: s.sent,
                        delivered: s.delivered,
                        dropped: s.dropped,
                        deadline_misses: s.missed,
                        latency: s.latency.figures(),
                        misses_by_cause: s.miss_causes.clone(),
                        drops_by_cause: s.drop_causes.clone(),
                    },
                )
            })
            .collect()
    }

    /// Every TSN port's counters, named "switch -> neighbour", in port order.
    pub fn port_figures(&self, topo: &Topology) -> Vec<(String, PortStats)> {
        self.ports
            .iter()
            .map(|p| {
                let l = &topo.links[p.setup.link.0 as usize];
                let to = if p.setup.reverse { l.a } else { l.b };
                (
                    format!("{} -> {}", topo.host(p.setup.node).name, topo.host(to).name),
                    p.stats.clone(),
                )
            })
            .collect()
    }

    /// Whether the plant has anything TSN to report.
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty() && self.streams.is_empty()
    }
}
