//! Detectors: sensors placed at taps that turn what they see into alerts. Every detector
//! sits behind one trait so users can bring their own; alerts leave in the shape of
//! Suricata's EVE `alert` events, which SIEM tooling already ingests.
//!
//! * [`alert`]: the alert and its EVE form.
//! * [`allowlist`]: learns who talks to whom, with which function codes and registers, then
//!   flags anything new.

pub mod alert;
pub mod allowlist;

pub use alert::Alert;
pub use allowlist::AllowList;

use otrange_sim::net::{Frame, Tap};
use otrange_sim::time::SimTime;
use otrange_sim::topology::{HostId, Topology};
use std::sync::Arc;

/// A detector. `observe` is called for every frame crossing one of its taps, in time order.
pub trait Detector: Send + Sync {
    fn name(&self) -> &str;
    fn observe(&mut self, node: HostId, frame: &Frame, now: SimTime, topo: &Topology);
    /// Alerts raised so far (kept: a run reports them all at its end).
    fn alerts(&self) -> &[Alert];
    /// Detector-specific figures for results.json.
    fn summary(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

/// Puts a detector at taps of the simulated (or live) network.
pub struct DetectorTap<D: Detector> {
    pub detector: D,
    topo: Arc<Topology>,
}

impl<D: Detector> DetectorTap<D> {
    pub fn new(detector: D, topo: Arc<Topology>) -> Self {
        DetectorTap { detector, topo }
    }
}

impl<D: Detector> Tap for DetectorTap<D> {
    fn observe(&mut self, node: HostId, frame: &Frame, now: SimTime) {
        self.detector.observe(node, frame, now, &self.topo);
    }
    fn name(&self) -> &str {
        self.detector.name()
    }
    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "detector": self.detector.name(),
            "alerts": self.detector.alerts().iter().map(|a| a.to_eve(&self.topo)).collect::<Vec<_>>(),
            "figures": self.detector.summary(),
        })
    }
}
