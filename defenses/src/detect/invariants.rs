//! Process-aware invariants: checks that what the plant reports is physically consistent.
//! Signatures and statistics judge the traffic; these judge the values it carries, which is
//! what catches an attacker who speaks perfectly normal Modbus but lies about the process
//! (ATT&CK for ICS T0832 Manipulation of View, T0856 Spoof Reporting Message).
//!
//! Two checks, each over *signals*: a register of a PLC as it appears in read answers,
//! optionally only as seen at one sensor (`seen_at = "hmi-1"`: a host sensor on the HMI
//! sees what the operator is shown; a tap on the PLC's switch sees what the PLC sent).
//!
//! - `agree`: two signals measure the same quantity (the control PLC's level transmitter
//!   and the safety system's independent one; or what the HMI displays and what the PLC
//!   answered), so they must agree within a tolerance. A frozen or spoofed view drifts away
//!   from the sensor that still sees the truth.
//! - `balance`: a tank's level follows inflow minus outflow (mass balance): over a window,
//!   the level change must match the integrated net flow divided by the tank's area.
//!
//! ```toml
//! [[detector.check]]
//! type = "agree"
//! name = "raw tank level: hmi-1's view vs the SIS transmitter"
//! a = { plc = "plc-intake", register = "ir:0", scale = 0.01, seen_at = "hmi-1" }
//! b = { plc = "plc-sis", register = "ir:0", scale = 0.01 }
//! tolerance = 0.1
//! for = "10s"
//! ```

use super::{Alert, BuildContext, ConfigFault, Detector, DetectorConfig};
use otrange_sim::base::time::{DurationField, SimDuration, SimTime};
use otrange_sim::net::topology::{HostId, Topology};
use otrange_sim::net::{Frame, Payload};
use otrange_sim::plc_logic::{Area, RegRef, parse_typed_address};
use otrange_sim::wire::modbus::{Adu, be_u16};
use serde::Deserialize;
use std::collections::{BTreeMap, VecDeque};

/// Signature ids: two signals that should agree do not; a tank's mass balance fails.
///
/// An `agree` check's signals differ by more than its tolerance for longer than its `for`.
pub const DISAGREE: u64 = 9_400_001;
/// A `balance` check's level moved, over its window, more than its tolerance away from
/// what the net flow explains.
pub const IMBALANCE: u64 = 9_400_002;

/// Answers older than this no longer count as the signal's current value.
const MAX_AGE: SimDuration = SimDuration::from_secs(10);
/// Requests whose answers never came are forgotten beyond this many.
const MAX_PENDING: usize = 4096;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignalConfig {
    plc: String,
    /// "hr:0", "ir:3", "co:1", "di:0"; a register may carry the type its value is held in,
    /// as in PLC programs: "ir:3:i16", "hr:10:f32", "hr:10:f32:low_first".
    register: String,
    /// Engineering units per count of the (typed) value (a bit reads 0 or 1).
    #[serde(default = "one")]
    scale: f64,
    /// Added after scaling: the engineering value of a count of 0.
    #[serde(default)]
    offset: f64,
    /// Only answers seen at this host count (a tap or host sensor of the detector).
    #[serde(default)]
    seen_at: Option<String>,
}

fn one() -> f64 {
    1.0
}

/// `type = "agree"`: two readings of one quantity that must agree.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgreeConfig {
    name: String,
    a: SignalConfig,
    b: SignalConfig,
    /// Largest difference, in engineering units, that is still agreement.
    tolerance: f64,
    /// How long they must disagree before the alert (sampling skew is not an attack).
    #[serde(rename = "for", default = "ten_seconds")]
    persist: DurationField,
    #[serde(default)]
    technique: Option<String>,
}

/// `type = "balance"`: a level that must move as its flows say.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct BalanceConfig {
    name: String,
    level: SignalConfig,
    area_m2: f64,
    #[serde(default)]
    inflow: Vec<SignalConfig>,
    #[serde(default)]
    outflow: Vec<SignalConfig>,
    #[serde(default = "one_minute")]
    window: DurationField,
    /// Largest mismatch, in metres, between the level change and the net flow's.
    tolerance: f64,
    #[serde(default)]
    technique: Option<String>,
}

/// A check as its table declares it.
#[derive(Debug, Clone)]
enum CheckConfig {
    Agree(AgreeConfig),
    Balance(BalanceConfig),
}

impl CheckConfig {
    /// Reads a check's table by its `type`. The type is dispatched by hand rather than by
    /// serde's internal tagging, which buffers the table and loses the path to a bad value:
    /// errors here name the field under the check (`.for`, `.a.plc`), or "" for the table.
    fn read(table: &toml::Table) -> Result<Self, (String, String)> {
        fn fields<T: serde::de::DeserializeOwned>(t: toml::Table) -> Result<T, (String, String)> {
            serde_path_to_error::deserialize(toml::Value::Table(t)).map_err(|e| {
                let path = e.path().to_string();
                let at = if path == "." {
                    String::new()
                } else {
                    format!(".{path}")
                };
                (at, e.into_inner().message().to_string())
            })
        }
        let mut t = table.clone();
        let expected = "expected `agree` or `balance`";
        match t.remove("type") {
            None => Err((String::new(), "missing field `type`".into())),
            Some(toml::Value::String(k)) if k == "agree" => fields(t).map(CheckConfig::Agree),
            Some(toml::Value::String(k)) if k == "balance" => fields(t).map(CheckConfig::Balance),
            Some(toml::Value::String(k)) => {
                Err((".type".into(), format!("unknown variant `{k}`, {expected}")))
            }
            Some(v) => Err((".type".into(), format!("a {}, {expected}", v.type_str()))),
        }
    }
}

fn ten_seconds() -> DurationField {
    DurationField::default_of("10s")
}
fn one_minute() -> DurationField {
    DurationField::default_of("60s")
}

/// A register of a PLC as read answers carry it.
#[derive(Debug, Clone)]
struct Signal {
    server: HostId,
    reg: RegRef,
    scale: f64,
    offset: f64,
    seen_at: Option<HostId>,
    /// Latest value and when it was seen.
    value: Option<(SimTime, f64)>,
}

impl Signal {
    fn current(&self, now: SimTime) -> Option<f64> {
        self.value
            .filter(|(t, _)| now.saturating_since(*t) <= MAX_AGE)
            .map(|(_, v)| v)
    }
}

#[derive(Debug)]
enum Check {
    Agree {
        name: String,
        a: usize,
        b: usize,
        tolerance: f64,
        persist: SimDuration,
        technique: Option<String>,
        /// Since when they disagree, and whether this episode was reported.
        out_since: Option<SimTime>,
        reported: bool,
    },
    Balance {
        name: String,
        level: usize,
        area_m2: f64,
        inflow: Vec<usize>,
        outflow: Vec<usize>,
        window: SimDuration,
        tolerance: f64,
        technique: Option<String>,
        /// Integrated net flow (m3) so far, and the time it is integrated to.
        volume: f64,
        integrated_to: Option<SimTime>,
        /// (time, level, integrated volume) at each level sample within the window.
        history: VecDeque<(SimTime, f64, f64)>,
        reported: bool,
    },
}

/// A Modbus exchange: client, server, client port, transaction id.
type Exchange = (HostId, HostId, u16, u16);

/// The invariants detector: it follows its signals through read requests and their answers
/// and evaluates its checks on them, reporting each broken check once per episode
/// (severity 1, tactic Impair Process Control).
pub struct Invariants {
    name: String,
    signals: Vec<Signal>,
    checks: Vec<Check>,
    /// Read requests awaiting their answer: (client, server, client port, transaction id)
    /// to (area, first address, count).
    pending: BTreeMap<Exchange, (Area, u16, u16)>,
    alerts: Vec<Alert>,
    answers_read: u64,
    evaluations: u64,
}

fn area_of(fc: u8) -> Option<Area> {
    match fc {
        1 => Some(Area::Coil),
        2 => Some(Area::DiscreteInput),
        3 => Some(Area::HoldingRegister),
        4 => Some(Area::InputRegister),
        _ => None,
    }
}

impl Invariants {
    /// From a `[[detector]] kind = "invariants"` entry: at least one `[[detector.check]]`,
    /// naming PLCs and `seen_at` hosts of the topology; no other setting.
    pub fn from_config(cfg: &DetectorConfig, cx: &BuildContext) -> Result<Self, ConfigFault> {
        cfg.only(&["check"])?;
        if cfg.check.is_empty() {
            return Err((
                "check".into(),
                "an invariants detector needs at least one [[detector.check]]".into(),
            ));
        }
        let mut me = Invariants {
            name: cfg.name.clone(),
            signals: Vec::new(),
            checks: Vec::new(),
            pending: BTreeMap::new(),
            alerts: Vec::new(),
            answers_read: 0,
            evaluations: 0,
        };
        for (i, table) in cfg.check.iter().enumerate() {
            let field = |k: &str| format!("check[{i}]{k}");
            let check = CheckConfig::read(table).map_err(|(at, m)| (field(&at), m))?;
            let check = match check {
                CheckConfig::Agree(AgreeConfig {
                    name,
                    a,
                    b,
                    tolerance,
                    persist,
                    technique,
                }) => Check::Agree {
                    name,
                    a: me.signal(&a, cx.topo, &field(".a"))?,
                    b: me.signal(&b, cx.topo, &field(".b"))?,
                    tolerance: positive(tolerance, &field(".tolerance"))?,
                    persist: persist.value,
                    technique,
                    out_since: None,
                    reported: false,
                },
                CheckConfig::Balance(BalanceConfig {
                    name,
                    level,
                    area_m2,
                    inflow,
                    outflow,
                    window,
                    tolerance,
                    technique,
                }) => {
                    let mut ins = Vec::new();
                    for (k, s) in inflow.iter().enumerate() {
                        ins.push(me.signal(s, cx.topo, &field(&format!(".inflow[{k}]")))?);
                    }
                    let mut outs = Vec::new();
                    for (k, s) in outflow.iter().enumerate() {
                        outs.push(me.signal(s, cx.topo, &field(&format!(".outflow[{k}]")))?);
                    }
                    Check::Balance {
                        name,
                        level: me.signal(&level, cx.topo, &field(".level"))?,
                        area_m2: positive(area_m2, &field(".area_m2"))?,
                        inflow: ins,
                        outflow: outs,
                        window: window.value,
                        tolerance: positive(tolerance, &field(".tolerance"))?,
                        technique,
                        volume: 0.0,
                        integrated_to: None,
                        history: VecDeque::new(),
                        reported: false,
                    }
                }
            };
            me.checks.push(check);
        }
        Ok(me)
    }

    fn signal(&mut self, s: &SignalConfig, topo: &Topology, field: &str) -> Result<usize, ConfigFault> {
        let server = topo
            .host_by_name(&s.plc)
            .ok_or_else(|| (format!("{field}.plc"), format!("unknown host {:?}", s.plc)))?;
        let reg = parse_typed_address(&s.register).map_err(|e| (format!("{field}.register"), e))?;
        let seen_at = match &s.seen_at {
            Some(h) => Some(
                topo.host_by_name(h)
                    .ok_or_else(|| (format!("{field}.seen_at"), format!("unknown host {h:?}")))?,
            ),
            None => None,
        };
        if !s.scale.is_finite() {
            return Err((format!("{field}.scale"), "expected a finite number".into()));
        }
        if !s.offset.is_finite() {
            return Err((format!("{field}.offset"), "expected a finite number".into()));
        }
        self.signals.push(Signal {
            server,
            reg,
            scale: s.scale,
            offset: s.offset,
            seen_at,
            value: None,
        });
        Ok(self.signals.len() - 1)
    }

    /// Reads the values an answer carries into the signals it concerns; true if any.
    fn read_answer(&mut self, node: HostId, frame: &Frame, adu: Adu<'_>, now: SimTime) -> bool {
        let Some(byte_count) = adu.data_u8(0) else {
            return false;
        };
        let tid = adu.transaction_id();
        let key = (frame.dst, frame.src, frame.dst_port, tid);
        // The same answer crosses several sensors: keep the request until it times out.
        let Some(&(area, first, count)) = self.pending.get(&key) else {
            return false;
        };
        if area_of(adu.function()) != Some(area) {
            return false;
        }
        let data = &adu.data()[1..];
        if usize::from(byte_count) != data.len() {
            return false;
        }
        self.answers_read += 1;
        let mut any = false;
        for s in &mut self.signals {
            let r = s.reg;
            if s.server != frame.src
                || r.area != area
                || r.addr < first
                || r.last_addr() >= u32::from(first) + u32::from(count)
                || s.seen_at.is_some_and(|h| h != node)
            {
                continue;
            }
            let i = usize::from(r.addr - first);
            let word = |k: usize| be_u16(data, 2 * k);
            let raw = match area {
                Area::Coil | Area::DiscreteInput => data.get(i / 8).map(|b| f64::from((b >> (i % 8)) & 1)),
                _ => match r.ty.words() {
                    1 => word(i).map(|w| r.ty.decode(r.order, [w, 0])),
                    _ => word(i)
                        .zip(word(i + 1))
                        .map(|(a, b)| r.ty.decode(r.order, [a, b])),
                },
            };
            if let Some(raw) = raw {
                s.value = Some((now, raw * s.scale + s.offset));
                any = true;
            }
        }
        any
    }

    fn evaluate(&mut self, frame: &Frame, now: SimTime) {
        self.evaluations += 1;
        let signals = &self.signals;
        for c in &mut self.checks {
            match c {
                Check::Agree {
                    name,
                    a,
                    b,
                    tolerance,
                    persist,
                    technique,
                    out_since,
                    reported,
                } => {
                    let (Some(va), Some(vb)) = (signals[*a].current(now), signals[*b].current(now)) else {
                        continue;
                    };
                    let diff = (va - vb).abs();
                    if diff <= *tolerance {
                        *out_since = None;
                        *reported = false;
                        continue;
                    }
                    let since = *out_since.get_or_insert(now);
                    if !*reported && now.saturating_since(since) >= *persist {
                        *reported = true;
                        let text = format!(
                            "{name}: {va:.3} vs {vb:.3} (differ by {diff:.3} > {tolerance}) for {:.0} s",
                            now.saturating_since(since).as_secs_f64()
                        );
                        self.alerts
                            .push(physics_alert(frame, now, &self.name, DISAGREE, text, technique));
                    }
                }
                Check::Balance {
                    name,
                    level,
                    area_m2,
                    inflow,
                    outflow,
                    window,
                    tolerance,
                    technique,
                    volume,
                    integrated_to,
                    history,
                    reported,
                } => {
                    // Net flow as now known; integrate it from the last evaluation on (the
                    // flows held their values in between, as far as the traffic tells).
                    let sum = |ids: &[usize]| -> Option<f64> {
                        ids.iter().map(|&i| signals[i].current(now)).sum::<Option<f64>>()
                    };
                    let (Some(inn), Some(out), Some(lvl)) =
                        (sum(inflow), sum(outflow), signals[*level].current(now))
                    else {
                        history.clear();
                        *integrated_to = None;
                        continue;
                    };
                    if let Some(t) = *integrated_to {
                        *volume += (inn - out) * now.saturating_since(t).as_secs_f64();
                    }
                    *integrated_to = Some(now);
                    let level_seen_now = signals[*level].value.is_some_and(|(t, _)| t == now);
                    if !level_seen_now {
                        continue;
                    }
                    history.push_back((now, lvl, *volume));
                    while history.len() > 1 && now.saturating_since(history[1].0) >= *window {
                        history.pop_front();
                    }
                    let &(t0, l0, v0) = &history[0];
                    if now.saturating_since(t0) < *window {
                        continue;
                    }
                    let expected = (*volume - v0) / *area_m2;
                    let seen = lvl - l0;
                    let miss = (seen - expected).abs();
                    if miss <= *tolerance {
                        *reported = false;
                    } else if !*reported {
                        *reported = true;
                        let text = format!(
                            "{name}: level moved {seen:+.3} m in {:.0} s, the flows say {expected:+.3} m",
                            now.saturating_since(t0).as_secs_f64()
                        );
                        self.alerts
                            .push(physics_alert(frame, now, &self.name, IMBALANCE, text, technique));
                    }
                }
            }
        }
    }
}

/// An invariant broken: high severity, under the tactic its checks defend.
fn physics_alert(
    frame: &Frame,
    now: SimTime,
    detector: &str,
    sid: u64,
    text: String,
    technique: &Option<String>,
) -> Alert {
    let mut alert = Alert::on(frame, now, detector, sid, text);
    alert.severity = 1;
    alert.technique = technique.clone();
    alert.tactic = Some("Impair Process Control".into());
    alert
}

fn positive(v: f64, field: &str) -> Result<f64, ConfigFault> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err((
            field.to_string(),
            format!("expected a positive number, found {v}"),
        ))
    }
}

impl Detector for Invariants {
    fn name(&self) -> &str {
        &self.name
    }

    fn observe(&mut self, node: HostId, frame: &Frame, now: SimTime, _topo: &Topology) {
        let Payload::Modbus(bytes) = &frame.payload else {
            return;
        };
        // Unchecked: values are read wherever the bytes hold them, as a sensor would.
        let Some(adu) = Adu::new_unchecked(bytes) else {
            return;
        };
        if frame.dst_port == frame.service.port() {
            // A read request: remember what it asks for, so its answer can be read.
            if let Some(area) = area_of(adu.function())
                && let (Some(first), Some(count)) = (adu.data_u16(0), adu.data_u16(2))
                && self.signals.iter().any(|s| s.server == frame.dst)
            {
                let tid = adu.transaction_id();
                if self.pending.len() >= MAX_PENDING {
                    self.pending.clear();
                }
                self.pending
                    .insert((frame.src, frame.dst, frame.src_port, tid), (area, first, count));
            }
            return;
        }
        if self.read_answer(node, frame, adu, now) {
            self.evaluate(frame, now);
        }
    }

    fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    /// A signal may name the sensor it is read at: the same answer differs between them
    /// when someone changes it in flight.
    fn every_sighting(&self) -> bool {
        true
    }

    fn summary(&self) -> serde_json::Value {
        let checks: Vec<_> = self
            .checks
            .iter()
            .map(|c| match c {
                Check::Agree { name, .. } => serde_json::json!({"type": "agree", "name": name}),
                Check::Balance { name, .. } => serde_json::json!({"type": "balance", "name": name}),
            })
            .collect();
        serde_json::json!({
            "checks": checks,
            "answers_read": self.answers_read,
            "evaluations": self.evaluations,
            "alerts": self.alerts.len(),
        })
    }
}
