//! The allow-list detector: during a learning window of benign operation it records every
//! flow (client, server, service) and, for Modbus, every (client, server, unit, function)
//! with the register span it touched; afterwards anything new raises an alert. Industrial
//! networks are repetitive enough that this catches most attacks with few false alarms,
//! and it needs no signature: it is the baseline anomaly tool of OT monitoring products.

use super::{Alert, Detector};
use otrange_sim::base::time::SimTime;
use otrange_sim::net::topology::{HostId, Service, Topology};
use otrange_sim::net::{Frame, Payload};
use otrange_sim::wire::modbus::Adu;
use std::collections::{BTreeMap, BTreeSet};

/// Signature ids of the allow-list's three findings.
///
/// A (client, server, service) request flow not seen while learning (severity 2).
pub const NEW_FLOW: u64 = 9_100_001;
/// A Modbus function code (per client, server and unit) not seen while learning
/// (severity 1).
pub const NEW_FUNCTION: u64 = 9_100_002;
/// A learned Modbus function touching registers outside the span learned for it
/// (severity 1).
pub const NEW_REGISTERS: u64 = 9_100_003;

type FlowKey = (HostId, HostId, Service);
type ModbusKey = (HostId, HostId, u8, u8);

/// The allow-list detector. It looks at requests only (frames to their service's port) and
/// reports each kind of finding once per client and server (and, for the Modbus ones, per
/// unit and function).
pub struct AllowList {
    name: String,
    learn_until: SimTime,
    flows: BTreeSet<FlowKey>,
    /// Learned register span (first, last) per Modbus key; None for functions without one.
    modbus: BTreeMap<ModbusKey, Option<(u16, u16)>>,
    reported: BTreeSet<(u64, HostId, HostId, u8, u8)>,
    alerts: Vec<Alert>,
    learned_frames: u64,
    checked_frames: u64,
}

/// The register span a request touches, for functions that address registers.
fn span(adu: Adu<'_>) -> Option<(u16, u16)> {
    let addr = adu.data_u16(0)?;
    let qty = match adu.function() {
        1..=4 | 15 | 16 | 23 => adu.data_u16(2)?.max(1),
        5 | 6 | 22 => 1,
        _ => return None,
    };
    Some((addr, addr.saturating_add(qty - 1)))
}

impl AllowList {
    /// An allow-list that learns from every request observed before `learn_until` (simulated
    /// time since the start of the run) and checks those after it.
    pub fn new(name: impl Into<String>, learn_until: SimTime) -> Self {
        AllowList {
            name: name.into(),
            learn_until,
            flows: BTreeSet::new(),
            modbus: BTreeMap::new(),
            reported: BTreeSet::new(),
            alerts: Vec::new(),
            learned_frames: 0,
            checked_frames: 0,
        }
    }

    fn raise(&mut self, frame: &Frame, now: SimTime, sid: u64, fc: u8, unit: u8, text: String) {
        if self.reported.insert((sid, frame.src, frame.dst, unit, fc)) {
            let mut a = Alert::on(frame, now, &self.name, sid, text);
            a.severity = if sid == NEW_FLOW { 2 } else { 1 };
            self.alerts.push(a);
        }
    }
}

impl Detector for AllowList {
    fn name(&self) -> &str {
        &self.name
    }

    fn observe(&mut self, _node: HostId, frame: &Frame, now: SimTime, topo: &Topology) {
        // Requests only: answers belong to the flow their request opened.
        if frame.dst_port != frame.service.port() {
            return;
        }
        let learning = now < self.learn_until;
        if learning {
            self.learned_frames += 1;
        } else {
            self.checked_frames += 1;
        }
        let flow = (frame.src, frame.dst, frame.service);
        if learning {
            self.flows.insert(flow);
        } else if !self.flows.contains(&flow) {
            let text = format!(
                "new flow {} -> {} {}",
                topo.host(frame.src).name,
                topo.host(frame.dst).name,
                frame.service.as_str()
            );
            self.raise(frame, now, NEW_FLOW, 0, 0, text);
        }
        let Payload::Modbus(bytes) = &frame.payload else {
            return;
        };
        // Unchecked: a malformed frame's function is as new as any other's.
        let Some(adu) = Adu::new_unchecked(bytes) else {
            return;
        };
        let (unit, fc) = (adu.unit_id(), adu.function());
        let key = (frame.src, frame.dst, unit, fc);
        let s = span(adu);
        if learning {
            let e = self.modbus.entry(key).or_insert(s);
            if let (Some((a, b)), Some((x, y))) = (*e, s) {
                *e = Some((a.min(x), b.max(y)));
            }
            return;
        }
        match self.modbus.get(&key) {
            None => {
                let text = format!(
                    "new Modbus function {fc} from {} to {} (unit {unit})",
                    topo.host(frame.src).name,
                    topo.host(frame.dst).name
                );
                self.raise(frame, now, NEW_FUNCTION, fc, unit, text);
            }
            Some(Some((a, b))) => {
                if let Some((x, y)) = s
                    && (x < *a || y > *b)
                {
                    let text = format!(
                        "Modbus function {fc} from {} to {} touches registers {x}..={y}, learned {a}..={b}",
                        topo.host(frame.src).name,
                        topo.host(frame.dst).name
                    );
                    self.raise(frame, now, NEW_REGISTERS, fc, unit, text);
                }
            }
            Some(None) => {}
        }
    }

    fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "learned_flows": self.flows.len(),
            "learned_modbus_keys": self.modbus.len(),
            "frames_learned": self.learned_frames,
            "frames_checked": self.checked_frames,
            "alerts": self.alerts.len(),
        })
    }
}
