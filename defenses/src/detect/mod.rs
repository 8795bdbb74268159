//! Detectors: sensors placed at taps that turn what they see into alerts. Every detector
//! sits behind one trait so users can bring their own; alerts leave in the shape of
//! Suricata's EVE `alert` events, which SIEM tooling already ingests.
//!
//! * [`alert`]: the alert and its EVE form.
//! * [`allowlist`]: learns who talks to whom, with which function codes and registers, then
//!   flags anything new.
//! * [`rules`]: Suricata-syntax Modbus rules (the Digital Bond Quickdraw set ships).
//! * [`anomaly`]: learns process values and traffic timing, scores deviations.
//! * [`invariants`]: physical consistency of what the plant reports.
//! * [`inventory`]: passive asset discovery, compared with the declared inventory.
//! * [`register`]: the owner's asset register from a CSV export, compared with what
//!   [`inventory`] saw.
//! * [`host`]: Sigma rules over the hosts' own logs (process starts, logons, file writes),
//!   where host-local techniques leave the trace the network does not show.
//! * [`config`]: detector-set files and how they become taps (or inline drops).

pub mod alert;
pub mod allowlist;
pub mod anomaly;
pub mod config;
pub mod host;
pub mod invariants;
pub mod inventory;
pub mod register;
pub mod rules;

pub use alert::Alert;
pub use allowlist::AllowList;
pub use config::{BuildContext, ConfigFault, DetectorConfig, DetectorSet, Mode, Placed};

use otrange_sim::base::events::EventKind;
use otrange_sim::base::time::SimTime;
use otrange_sim::devices::host_log::HostEvent;
use otrange_sim::net::topology::{HostId, Topology};
use otrange_sim::net::{Action, Frame, Hop, Middlebox};
use std::sync::Arc;

/// A detector. `observe` is called for every frame crossing one of its taps, in time order.
pub trait Detector: Send + Sync {
    /// The name its alerts, events and results.json carry; a drop in prevention mode names
    /// its rule after it (`<name> sid <signature id>`).
    fn name(&self) -> &str;
    /// Looks at one frame seen at tap `node` at simulated time `now`; an alert it raises is
    /// appended to what [`Detector::alerts`] returns.
    fn observe(&mut self, node: HostId, frame: &Frame, now: SimTime, topo: &Topology);
    /// Alerts raised so far (kept: a run reports them all at its end).
    fn alerts(&self) -> &[Alert];
    /// Detector-specific figures for results.json.
    fn summary(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    /// Whether it must see a frame at every tap it crosses, rather than once. Detectors
    /// that compare what two sensors saw of the same frame (a view changed in flight) do;
    /// the rest would count one frame twice.
    fn every_sighting(&self) -> bool {
        false
    }
    /// In prevention mode, whether the frame an alert rests on is dropped. Everything a
    /// detector flags, unless it says otherwise (a rules file drops only on `drop` rules).
    fn drops(&self, _alert: &Alert) -> bool {
        true
    }
    /// Reads one entry of a host's log (a host detector does; frame detectors ignore it);
    /// true if the entry is one it reads, which makes the entry's step telemetry for it.
    fn observe_host(&mut self, _event: &HostEvent, _topo: &Topology) -> bool {
        false
    }
    /// Whether it reads host logs at all (a host detector does, even when an event comes
    /// from a host it does not read), so its alerts are logged as soon as it has read.
    fn reads_host_logs(&self) -> bool {
        false
    }
}

impl Detector for Box<dyn Detector> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn observe(&mut self, node: HostId, frame: &Frame, now: SimTime, topo: &Topology) {
        (**self).observe(node, frame, now, topo);
    }
    fn alerts(&self) -> &[Alert] {
        (**self).alerts()
    }
    fn summary(&self) -> serde_json::Value {
        (**self).summary()
    }
    fn drops(&self, alert: &Alert) -> bool {
        (**self).drops(alert)
    }
    fn every_sighting(&self) -> bool {
        (**self).every_sighting()
    }
    fn observe_host(&mut self, event: &HostEvent, topo: &Topology) -> bool {
        (**self).observe_host(event, topo)
    }
    fn reads_host_logs(&self) -> bool {
        (**self).reads_host_logs()
    }
}

/// Puts a detector at taps of the simulated (or live) network.
pub struct DetectorTap<D: Detector> {
    /// The detector it shows frames to.
    pub detector: D,
    topo: Arc<Topology>,
    /// Alerts already handed to the event log.
    logged: usize,
    /// Alerts (by index) whose frame was dropped inline (prevention mode).
    blocked: std::collections::BTreeSet<usize>,
    /// The nodes it sits at, to show it each frame once (see [`Detector::every_sighting`]).
    taps: Vec<HostId>,
    /// Labels (an attacker's step numbers) of the frames, or host-log entries, it was shown:
    /// the sensor's telemetry, what a step scores when no alert counts for it.
    steps_seen: std::collections::BTreeSet<u32>,
}

impl<D: Detector> DetectorTap<D> {
    /// A tap for `detector` on the network of `topo`, at no node yet ([`DetectorTap::at`]):
    /// until placed at two or more, it shows the detector every frame it is asked about.
    pub fn new(detector: D, topo: Arc<Topology>) -> Self {
        DetectorTap {
            detector,
            topo,
            logged: 0,
            blocked: Default::default(),
            taps: Vec::new(),
            steps_seen: Default::default(),
        }
    }

    /// Where it sits: a frame crossing several of these nodes is shown to it once.
    pub fn at(mut self, nodes: &[HostId]) -> Self {
        self.taps = nodes.to_vec();
        self
    }

    fn shows(&self, node: HostId, frame: &Frame) -> bool {
        self.detector.every_sighting() || first_sighting(&self.taps, node, frame, &self.topo)
    }

    /// Shows the detector one frame, noting its label.
    fn observe(&mut self, node: HostId, frame: &Frame, now: SimTime) {
        if frame.label != 0 {
            self.steps_seen.insert(frame.label);
        }
        self.detector.observe(node, frame, now, &self.topo);
    }

    /// Prevention mode: shows the detector a frame in its path and says which rule drops
    /// it, if an alert it raised on this very frame asks for a drop.
    pub fn inline(&mut self, node: HostId, frame: &Frame, now: SimTime) -> Option<String> {
        if !self.shows(node, frame) {
            return None;
        }
        let before = self.detector.alerts().len();
        self.observe(node, frame, now);
        let mut rule = None;
        for (i, a) in self.detector.alerts().iter().enumerate().skip(before) {
            if a.frames.contains(&frame.id.0) && self.detector.drops(a) {
                self.blocked.insert(i);
                rule.get_or_insert_with(|| format!("{} sid {}", self.detector.name(), a.signature_id));
            }
        }
        rule
    }
}

impl<D: Detector> DetectorTap<D> {
    /// The alerts raised since the last call, as events for the log. An alert whose frame
    /// was dropped inline is already marked so: [`DetectorTap::inline`] marks it in the
    /// same call that raised it.
    pub fn take_alert_events(&mut self) -> Vec<(SimTime, EventKind)> {
        let from = self.logged;
        self.logged = self.detector.alerts().len();
        self.detector.alerts()[from..]
            .iter()
            .enumerate()
            .map(|(k, a)| {
                let blocked = self.blocked.contains(&(from + k));
                (a.t, EventKind::Alert(a.record(&self.topo, blocked)))
            })
            .collect()
    }
    /// The detector's own account of the run for results.json (its alerts travel as
    /// events), with the playbook steps whose frames it saw (`steps_seen`).
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "detector": self.detector.name(),
            "figures": self.detector.summary(),
            "steps_seen": self.steps_seen,
        })
    }
}

/// A detector in detection mode: a sensor at its nodes.
impl<D: Detector + 'static> Middlebox for DetectorTap<D> {
    fn name(&self) -> &str {
        self.detector.name()
    }
    fn on_frame(&mut self, hop: &Hop<'_>, frame: &mut Frame) -> Action {
        if self.shows(hop.node, frame) {
            self.observe(hop.node, frame, hop.now);
        }
        Action::Pass
    }
    fn take_events(&mut self) -> Vec<(SimTime, EventKind)> {
        self.take_alert_events()
    }
    fn sensor_summary(&self) -> Option<serde_json::Value> {
        Some(self.summary())
    }
    fn on_host_event(&mut self, event: &HostEvent, topo: &Topology) -> bool {
        let read = self.detector.observe_host(event, topo);
        if read && event.label != 0 {
            self.steps_seen.insert(event.label);
        }
        read || self.detector.reads_host_logs()
    }
}

/// Whether a frame seen at `node` is being seen for the first time by a sensor with these
/// taps. A frame crossing two tapped switches is observed at both; counting it twice would
/// halve inter-arrival times and double every count, so only the first tapped node on its
/// route counts. Without taps (a capture file) or a route, every observation counts.
pub(crate) fn first_sighting(taps: &[HostId], node: HostId, frame: &Frame, topo: &Topology) -> bool {
    if taps.len() < 2 {
        return true;
    }
    if taps.contains(&frame.src) {
        return node == frame.src;
    }
    let Some(route) = topo.route(frame.src, frame.dst) else {
        return true;
    };
    match route.iter().find(|h| taps.contains(&h.to)) {
        Some(h) => h.to == node,
        None => true,
    }
}
