//! The anomaly detector (the statistical, "AI" sensor of OT monitoring products): during a
//! learning window it builds a model of normal operation, afterwards it scores every
//! observation by how far it lies from that model and alerts above a threshold.
//!
//! What it models, and why:
//!
//! * **Process values.** Each holding or input register read by FC 3 / FC 4 gets a running
//!   mean and variance (Welford's algorithm: one pass, numerically stable, O(1) memory)
//!   and its learned minimum and maximum. A read value far from them is a plant doing
//!   something it never did while learning (or being made to report it). Values *written*
//!   by FC 6 / FC 16 are scored against the same register's model: a set point written far
//!   outside anything the plant ran with is the Oldsmar and FrostyGoop move.
//! * **Traffic timing.** Each (client, server, function) gets the distribution of the
//!   logarithm of its request inter-arrival time (logarithms, because intervals are
//!   positive and skewed, and a burst is a *ratio* off the usual period). Requests coming
//!   much faster than learned are a burst: an extra read slipped between an HMI's polls,
//!   a flood, brute-forced I/O. Slower is not scored: a late poll is an outage, not an act.
//! * **New pairs.** A (client, server, function) never seen while learning scores
//!   infinity: a new talker or a new function on a control network is the strongest
//!   single sign of an intruder.
//!
//! The score is the deviation in standard deviations, with the deviation floored so that
//! registers that never moved while learning (set points, configuration) do not give
//! infinite scores on a one-unit change: σ' = max(σ, 1 % of the learned range, 1 raw unit).
//! A value inside the learned [min, max] was normal once, so its score is capped at 1.
//!
//! Alerts are rate-limited per key (register, or client-server-function) by a cooldown of
//! 60 s of simulated time, so a register held at a bad value raises one alert a minute,
//! not one per poll. The threshold is the knob that trades detection against false alarms,
//! so besides the configured threshold the detector counts, for a fixed list of
//! thresholds, the alerts it would have raised at each (same cooldown, tracked per
//! threshold): one run gives the whole detection / false-alarm curve.
//!
//! Per frame the work is a few BTreeMap lookups and arithmetic; a request or response on
//! a known connection and known keys allocates nothing.

use super::{Alert, BuildContext, ConfigFault, Detector, DetectorConfig};
use otrange_sim::base::time::{SimDuration, SimTime};
use otrange_sim::net::topology::{HostId, Service, Topology};
use otrange_sim::net::{Frame, Payload};
use otrange_sim::wire::modbus::Adu;
use std::collections::BTreeMap;

/// A read register value far from its learned distribution.
pub const VALUE: u64 = 9_200_001;
/// Requests much faster than the learned inter-arrival time.
pub const TIMING: u64 = 9_200_002;
/// A written value far from the register's learned distribution.
pub const WRITTEN: u64 = 9_200_003;
/// A (client, server, function code) never seen while learning.
pub const NEW_PAIR: u64 = 9_200_004;

/// Thresholds the sweep counts alerts at.
pub const SWEEP: [f64; 9] = [2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0];
/// Default alert threshold, in (floored) standard deviations.
pub const DEFAULT_THRESHOLD: f64 = 4.0;
/// One alert per key per this much simulated time.
pub const COOLDOWN: SimDuration = SimDuration::from_secs(60);

/// Samples a register needs before its model is trusted (fewer: not scored).
const MIN_VALUES: u64 = 5;
/// Intervals a pair needs before its timing is scored: a handful of engineering requests
/// is no period to measure bursts against.
const MIN_INTERVALS: u64 = 10;
/// Floor on the standard deviation of ln(interval): a 10 % change of period.
const LN_FLOOR: f64 = 0.1;
/// Shortest interval considered (two requests in the same nanosecond stay finite).
const MIN_INTERVAL_S: f64 = 1e-6;
/// Score of a value inside the learned envelope at most.
const INSIDE_CAP: f64 = 1.0;
/// Outstanding requests remembered per connection (Modbus TCP allows pipelining).
const SLOTS: usize = 4;
/// Connections remembered for pairing; beyond, the table is cleared (a scan or a capture
/// full of garbage must not grow memory without bound).
const MAX_CONNECTIONS: usize = 16_384;
/// Index of the sweep's cooldown slots after the configured threshold's.
const COOLS: usize = 1 + SWEEP.len();

/// Welford's running mean and variance, with the extremes.
#[derive(Debug, Clone, Copy)]
struct Stats {
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Stats {
    const EMPTY: Stats = Stats {
        n: 0,
        mean: 0.0,
        m2: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
    };

    fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    fn std(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            (self.m2 / (self.n - 1) as f64).sqrt()
        }
    }

    /// Deviation of a register value in floored standard deviations; capped inside the
    /// learned envelope.
    fn value_score(&self, x: f64) -> f64 {
        let s = self.std().max(0.01 * (self.max - self.min)).max(1.0);
        let z = (x - self.mean).abs() / s;
        if (self.min..=self.max).contains(&x) {
            z.min(INSIDE_CAP)
        } else {
            z
        }
    }
}

/// When each threshold (configured first, then the sweep's) last alerted on one key.
#[derive(Debug, Clone, Copy)]
struct Cooldown([Option<SimTime>; COOLS]);

impl Cooldown {
    const NEW: Cooldown = Cooldown([None; COOLS]);

    /// Whether slot `i` may alert at `now`, marking it if so.
    fn fire(&mut self, i: usize, now: SimTime) -> bool {
        match self.0[i] {
            Some(t) if now.saturating_since(t) < COOLDOWN => false,
            _ => {
                self.0[i] = Some(now);
                true
            }
        }
    }
}

/// The register tables FC 3 / 4 / 6 / 16 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Table {
    Input,
    Holding,
}

impl Table {
    fn prefix(self) -> &'static str {
        match self {
            Table::Input => "ir",
            Table::Holding => "hr",
        }
    }
}

/// A register: server, unit, table, address.
type RegKey = (HostId, u8, Table, u16);
/// Client, server, function code.
type PairKey = (HostId, HostId, u8);
/// Client, server, client port: one TCP connection.
type ConnKey = (HostId, HostId, u16);

#[derive(Debug)]
struct Register {
    stats: Stats,
    read_cool: Cooldown,
    write_cool: Cooldown,
}

#[derive(Debug)]
struct Pair {
    /// Seen while learning (a pair first seen afterwards is never timed).
    learned: bool,
    last: Option<SimTime>,
    /// Of ln(interval in seconds).
    intervals: Stats,
    cool: Cooldown,
}

/// A read request waiting for its response.
#[derive(Debug, Clone, Copy)]
struct Outstanding {
    tid: u16,
    unit: u8,
    fc: u8,
    addr: u16,
    qty: u16,
}

#[derive(Debug, Clone, Copy)]
struct Conn {
    slots: [Option<Outstanding>; SLOTS],
    next: usize,
}

/// The signatures in the order of the per-signature counters.
const SIDS: [u64; 4] = [VALUE, TIMING, WRITTEN, NEW_PAIR];

fn sid_index(sid: u64) -> usize {
    SIDS.iter().position(|s| *s == sid).unwrap_or(0)
}

/// Where findings go: the alerts at the configured threshold and the sweep's counts. Kept
/// apart from the models so a model entry can be borrowed while an alert is raised.
struct Sink {
    name: String,
    threshold: f64,
    alerts: Vec<Alert>,
    /// Alerts per sweep threshold, per signature (rows in [`SIDS`] order).
    sweep: [[u64; SWEEP.len()]; SIDS.len()],
}

impl Sink {
    /// Counts `score` against every threshold under `cool`; true when the configured
    /// threshold alerts.
    fn judge(&mut self, cool: &mut Cooldown, sid: u64, score: f64, now: SimTime) -> bool {
        let row = &mut self.sweep[sid_index(sid)];
        for (i, t) in SWEEP.iter().enumerate() {
            if score >= *t && cool.fire(i + 1, now) {
                row[i] += 1;
            }
        }
        score >= self.threshold && cool.fire(0, now)
    }

    fn raise(
        &mut self,
        frame: &Frame,
        now: SimTime,
        sid: u64,
        score: f64,
        text: String,
        technique: Option<&str>,
    ) {
        let mut a = Alert::on(frame, now, &self.name, sid, text);
        // Relative to the knob: just over it is a low-severity hint, far over it is loud.
        a.severity = if score >= 4.0 * self.threshold {
            1
        } else if score >= 2.0 * self.threshold {
            2
        } else {
            3
        };
        if let Some(t) = technique {
            a.technique = Some(t.to_string());
            a.tactic = Some(
                match t {
                    "T0888" => "Discovery",
                    _ => "Impair Process Control",
                }
                .to_string(),
            );
        }
        self.alerts.push(a);
    }
}

/// The anomaly detector. See the module documentation.
pub struct Anomaly {
    learn_until: SimTime,
    registers: BTreeMap<RegKey, Register>,
    pairs: BTreeMap<PairKey, Pair>,
    conns: BTreeMap<ConnKey, Conn>,
    out: Sink,
    frames_learned: u64,
    frames_scored: u64,
    /// Register values read or written after learning that had no model to score against.
    values_unscored: u64,
    malformed: u64,
    last_seen: SimTime,
}

impl Anomaly {
    /// A detector learning until `learn_until` and alerting at `threshold`, counting every
    /// frame it is given (placed at taps, [`super::DetectorTap`] shows it each frame once).
    pub fn new(name: impl Into<String>, learn_until: SimTime, threshold: f64) -> Self {
        Anomaly {
            learn_until,
            registers: BTreeMap::new(),
            pairs: BTreeMap::new(),
            conns: BTreeMap::new(),
            out: Sink {
                name: name.into(),
                threshold,
                alerts: Vec::new(),
                sweep: [[0; SWEEP.len()]; SIDS.len()],
            },
            frames_learned: 0,
            frames_scored: 0,
            values_unscored: 0,
            malformed: 0,
            last_seen: SimTime::ZERO,
        }
    }

    /// From a `[[detector]]` entry: `learn` (default "1h") and `threshold` (default 4).
    pub fn from_config(cfg: &DetectorConfig, _cx: &BuildContext) -> Result<Self, ConfigFault> {
        cfg.only(&["learn", "threshold"])?;
        let threshold = cfg.threshold.unwrap_or(DEFAULT_THRESHOLD);
        if !threshold.is_finite() || threshold <= 0.0 {
            return Err((
                "threshold".into(),
                format!("the threshold must be a positive number of standard deviations, not {threshold}"),
            ));
        }
        Ok(Anomaly::new(
            cfg.name.clone(),
            cfg.learn_until(SimDuration::from_secs(3600)),
            threshold,
        ))
    }

    /// The configured threshold.
    pub fn threshold(&self) -> f64 {
        self.out.threshold
    }

    /// Alerts each sweep threshold would have raised so far, all signatures together.
    pub fn sweep_counts(&self) -> [u64; SWEEP.len()] {
        let mut out = [0; SWEEP.len()];
        for row in &self.out.sweep {
            for (o, n) in out.iter_mut().zip(row) {
                *o += n;
            }
        }
        out
    }

    fn request(&mut self, frame: &Frame, adu: Adu<'_>, now: SimTime, learning: bool, topo: &Topology) {
        let (tid, unit, fc) = (adu.transaction_id(), adu.unit_id(), adu.function());
        // Timing and first sight of the (client, server, function).
        let key = (frame.src, frame.dst, fc);
        match self.pairs.get_mut(&key) {
            Some(p) => {
                if let Some(last) = p.last {
                    let ln = now.saturating_since(last).as_secs_f64().max(MIN_INTERVAL_S).ln();
                    if learning {
                        p.intervals.push(ln);
                    } else if p.learned && p.intervals.n >= MIN_INTERVALS {
                        let s = p.intervals.std().max(LN_FLOOR);
                        let score = ((p.intervals.mean - ln) / s).max(0.0);
                        if self.out.judge(&mut p.cool, TIMING, score, now) {
                            let text = format!(
                                "Modbus function {fc} from {} to {} after {:.3} s, usually every {:.3} s (score {score:.1})",
                                topo.host(frame.src).name,
                                topo.host(frame.dst).name,
                                ln.exp(),
                                p.intervals.mean.exp(),
                            );
                            let tech = matches!(fc, 5 | 6 | 15 | 16).then_some("T0806");
                            self.out.raise(frame, now, TIMING, score, text, tech);
                        }
                    }
                }
                p.last = Some(now);
            }
            None => {
                let mut p = Pair {
                    learned: learning,
                    last: Some(now),
                    intervals: Stats::EMPTY,
                    cool: Cooldown::NEW,
                };
                if !learning {
                    let score = f64::INFINITY;
                    if self.out.judge(&mut p.cool, NEW_PAIR, score, now) {
                        let text = format!(
                            "new Modbus function {fc} from {} to {} (not seen while learning)",
                            topo.host(frame.src).name,
                            topo.host(frame.dst).name
                        );
                        let tech = match fc {
                            17 | 43 => Some("T0888"),
                            5 | 6 | 15 | 16 | 22 | 23 => Some("T0855"),
                            _ => None,
                        };
                        self.out.raise(frame, now, NEW_PAIR, score, text, tech);
                    }
                }
                self.pairs.insert(key, p);
            }
        }
        match fc {
            3 | 4 => {
                let (Some(addr), Some(qty)) = (adu.data_u16(0), adu.data_u16(2)) else {
                    self.malformed += 1;
                    return;
                };
                let ck = (frame.src, frame.dst, frame.src_port);
                if !self.conns.contains_key(&ck) && self.conns.len() >= MAX_CONNECTIONS {
                    self.conns.clear();
                }
                let c = self.conns.entry(ck).or_insert(Conn {
                    slots: [None; SLOTS],
                    next: 0,
                });
                c.slots[c.next] = Some(Outstanding {
                    tid,
                    unit,
                    fc,
                    addr,
                    qty,
                });
                c.next = (c.next + 1) % SLOTS;
            }
            6 if !learning => {
                let (Some(addr), Some(v)) = (adu.data_u16(0), adu.data_u16(2)) else {
                    self.malformed += 1;
                    return;
                };
                self.written(frame, now, unit, addr, v, topo);
            }
            16 if !learning => {
                let (Some(addr), Some(qty), Some(bc)) = (adu.data_u16(0), adu.data_u16(2), adu.data_u8(4))
                else {
                    self.malformed += 1;
                    return;
                };
                if usize::from(bc) != 2 * usize::from(qty) || adu.data().len() != 5 + usize::from(bc) {
                    self.malformed += 1;
                    return;
                }
                for i in 0..qty {
                    let (Some(a), Some(v)) = (addr.checked_add(i), adu.data_u16(5 + 2 * usize::from(i)))
                    else {
                        break;
                    };
                    self.written(frame, now, unit, a, v, topo);
                }
            }
            _ => {}
        }
    }

    /// Scores a value written to a holding register.
    fn written(&mut self, frame: &Frame, now: SimTime, unit: u8, addr: u16, v: u16, topo: &Topology) {
        let Some(r) = self.registers.get_mut(&(frame.dst, unit, Table::Holding, addr)) else {
            self.values_unscored += 1;
            return;
        };
        if r.stats.n < MIN_VALUES {
            self.values_unscored += 1;
            return;
        }
        let x = f64::from(v);
        let score = r.stats.value_score(x);
        if self.out.judge(&mut r.write_cool, WRITTEN, score, now) {
            let (lo, hi, mean) = (r.stats.min, r.stats.max, r.stats.mean);
            let outside = !(lo..=hi).contains(&x);
            let text = format!(
                "{} writes hr:{addr} = {v} on {} (unit {unit}), learned {lo}..={hi} mean {mean:.1} (score {score:.1})",
                topo.host(frame.src).name,
                topo.host(frame.dst).name,
            );
            self.out
                .raise(frame, now, WRITTEN, score, text, outside.then_some("T0836"));
        }
    }

    fn response(&mut self, frame: &Frame, adu: Adu<'_>, now: SimTime, learning: bool, topo: &Topology) {
        let (tid, unit, fc) = (adu.transaction_id(), adu.unit_id(), adu.function());
        if fc != 3 && fc != 4 {
            return;
        }
        // The client is the destination of a response.
        let Some(c) = self.conns.get_mut(&(frame.dst, frame.src, frame.dst_port)) else {
            return;
        };
        let Some(req) = c
            .slots
            .iter_mut()
            .find(|s| s.is_some_and(|o| o.tid == tid && o.fc == fc && o.unit == unit))
            .and_then(Option::take)
        else {
            return;
        };
        let Some(bc) = adu.data_u8(0) else {
            self.malformed += 1;
            return;
        };
        let bc = usize::from(bc);
        if adu.data().len() != 1 + bc || bc != 2 * usize::from(req.qty) {
            self.malformed += 1;
            return;
        }
        let table = if fc == 3 { Table::Holding } else { Table::Input };
        for i in 0..req.qty {
            let (Some(addr), Some(v)) = (req.addr.checked_add(i), adu.data_u16(1 + 2 * usize::from(i)))
            else {
                break;
            };
            let key = (frame.src, unit, table, addr);
            let x = f64::from(v);
            if learning {
                self.registers
                    .entry(key)
                    .or_insert(Register {
                        stats: Stats::EMPTY,
                        read_cool: Cooldown::NEW,
                        write_cool: Cooldown::NEW,
                    })
                    .stats
                    .push(x);
                continue;
            }
            let Some(r) = self.registers.get_mut(&key) else {
                self.values_unscored += 1;
                continue;
            };
            if r.stats.n < MIN_VALUES {
                self.values_unscored += 1;
                continue;
            }
            let score = r.stats.value_score(x);
            if self.out.judge(&mut r.read_cool, VALUE, score, now) {
                let text = format!(
                    "{} {}:{addr} (unit {unit}) reads {v}, learned {}..={} mean {:.1} (score {score:.1})",
                    topo.host(frame.src).name,
                    table.prefix(),
                    r.stats.min,
                    r.stats.max,
                    r.stats.mean,
                );
                self.out.raise(frame, now, VALUE, score, text, None);
            }
        }
    }
}

impl Detector for Anomaly {
    fn name(&self) -> &str {
        &self.out.name
    }

    fn observe(&mut self, _node: HostId, frame: &Frame, now: SimTime, topo: &Topology) {
        if frame.service != Service::Modbus {
            return;
        }
        let Payload::Modbus(bytes) = &frame.payload else {
            return;
        };
        self.last_seen = self.last_seen.max(now);
        let Some(adu) = Adu::first_in(bytes) else {
            self.malformed += 1;
            return;
        };
        let learning = now < self.learn_until;
        if learning {
            self.frames_learned += 1;
        } else {
            self.frames_scored += 1;
        }
        let port = Service::Modbus.port();
        if frame.dst_port == port {
            self.request(frame, adu, now, learning, topo);
        } else if frame.src_port == port {
            self.response(frame, adu, now, learning, topo);
        }
    }

    fn alerts(&self) -> &[Alert] {
        &self.out.alerts
    }

    fn summary(&self) -> serde_json::Value {
        let hours = self.last_seen.saturating_since(self.learn_until).as_secs_f64() / 3600.0;
        let per_hour = |n: u64| if hours > 0.0 { Some(n as f64 / hours) } else { None };
        let mut by_sid = [0u64; SIDS.len()];
        for a in &self.out.alerts {
            by_sid[sid_index(a.signature_id)] += 1;
        }
        let totals = self.sweep_counts();
        let sweep: Vec<serde_json::Value> = SWEEP
            .iter()
            .enumerate()
            .map(|(i, t)| {
                serde_json::json!({
                    "threshold": t,
                    "alerts": totals[i],
                    "alerts_per_hour": per_hour(totals[i]),
                    "value": self.out.sweep[0][i],
                    "timing": self.out.sweep[1][i],
                    "written": self.out.sweep[2][i],
                    "new_pair": self.out.sweep[3][i],
                })
            })
            .collect();
        serde_json::json!({
            "learn_until_s": self.learn_until.as_secs_f64(),
            "threshold": self.out.threshold,
            "cooldown_s": COOLDOWN.as_secs_f64(),
            "learned_registers": self.registers.len(),
            "learned_pairs": self.pairs.values().filter(|p| p.learned).count(),
            "timed_pairs": self.pairs.values().filter(|p| p.learned && p.intervals.n >= MIN_INTERVALS).count(),
            "frames_learned": self.frames_learned,
            "frames_scored": self.frames_scored,
            "values_unscored": self.values_unscored,
            "malformed": self.malformed,
            "alerts": self.out.alerts.len(),
            "alerts_by_signature": {
                "value": by_sid[0],
                "timing": by_sid[1],
                "written": by_sid[2],
                "new_pair": by_sid[3],
            },
            "hours_after_learning": hours,
            "alerts_per_hour": per_hour(self.out.alerts.len() as u64),
            "sweep": sweep,
        })
    }
}
