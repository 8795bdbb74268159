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

use otrange_sim::events::EventKind;
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
    /// Alerts already handed to the event log.
    logged: usize,
}

impl<D: Detector> DetectorTap<D> {
    pub fn new(detector: D, topo: Arc<Topology>) -> Self {
        DetectorTap {
            detector,
            topo,
            logged: 0,
        }
    }
}

impl<D: Detector> Tap for DetectorTap<D> {
    fn observe(&mut self, node: HostId, frame: &Frame, now: SimTime) {
        self.detector.observe(node, frame, now, &self.topo);
    }
    fn name(&self) -> &str {
        self.detector.name()
    }
    fn take_events(&mut self) -> Vec<(SimTime, EventKind)> {
        let new = &self.detector.alerts()[self.logged..];
        self.logged += new.len();
        new.iter()
            .map(|a| {
                (
                    a.t,
                    EventKind::Alert {
                        detector: a.detector.clone(),
                        signature_id: a.signature_id,
                        signature: a.signature.clone(),
                        severity: a.severity,
                        src: self.topo.host(a.src).name.clone(),
                        dst: self.topo.host(a.dst).name.clone(),
                        technique: a.technique.clone(),
                        frames: a.frames.clone(),
                    },
                )
            })
            .collect()
    }
    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "detector": self.detector.name(),
            "alerts": self.detector.alerts().iter().map(|a| a.to_eve(&self.topo)).collect::<Vec<_>>(),
            "figures": self.detector.summary(),
        })
    }
}

/// `[[detector]]` in a detector-set file.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// "allow-list" (more kinds to come).
    pub kind: String,
    pub name: String,
    /// The hosts (switches, firewalls) whose traffic it sees.
    pub at: Vec<String>,
    /// Learning window from the start of the run, e.g. "1h".
    #[serde(default)]
    pub learn: Option<String>,
}

/// A detector-set file: which detectors, where.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSet {
    #[serde(rename = "detector", default)]
    pub detectors: Vec<DetectorConfig>,
}

/// A detector ready to install: the tap and the nodes it sits at.
pub type Placed = (Box<dyn Tap>, Vec<HostId>);

impl DetectorSet {
    /// Builds the detectors against the plant; errors name `detector[i].field`.
    pub fn build(&self, topo: &Arc<Topology>) -> Result<Vec<Placed>, (String, String)> {
        let mut out = Vec::new();
        for (i, d) in self.detectors.iter().enumerate() {
            let f = |k: &str| format!("detector[{i}].{k}");
            let mut nodes = Vec::new();
            for (k, h) in d.at.iter().enumerate() {
                nodes.push(
                    topo.host_by_name(h)
                        .ok_or_else(|| (f(&format!("at[{k}]")), format!("unknown host {h:?}")))?,
                );
            }
            let tap: Box<dyn Tap> = match d.kind.as_str() {
                "allow-list" => {
                    let learn = match &d.learn {
                        Some(s) => {
                            otrange_sim::time::parse_duration(s).map_err(|e| (f("learn"), e.to_string()))?
                        }
                        None => otrange_sim::SimDuration::from_secs(3600),
                    };
                    Box::new(DetectorTap::new(
                        AllowList::new(d.name.clone(), SimTime::ZERO + learn),
                        Arc::clone(topo),
                    ))
                }
                other => {
                    return Err((
                        f("kind"),
                        format!("unknown detector kind {other:?}: expected \"allow-list\""),
                    ));
                }
            };
            out.push((tap, nodes));
        }
        Ok(out)
    }
}
