//! The network's two extension points. The simulation knows nothing of segmentation
//! policies or detectors; they plug in here.
//!
//! - A [`PolicyHook`] is consulted at every enforcement point a frame crosses (routers,
//!   firewalls, and the destination host itself for host-based micro-segmentation) and
//!   answers allow or deny with the rule that decided.
//! - A [`Tap`] is a sensor placement: it sees every frame that crosses its node, with the
//!   time it crossed, as a SPAN port would.

use super::frame::Frame;
use crate::time::SimTime;
use crate::topology::{HostId, Topology};
use std::sync::{Arc, Mutex, MutexGuard};

/// Where a policy decision is taken.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EnforcementPoint {
    /// A router or firewall on the path.
    Network(HostId),
    /// The destination host's own filter (micro-segmentation at the device).
    Host(HostId),
}

impl EnforcementPoint {
    pub fn node(self) -> HostId {
        match self {
            EnforcementPoint::Network(h) | EnforcementPoint::Host(h) => h,
        }
    }
}

/// A policy's answer for one frame at one point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Denied, naming the rule that decided so the log can say why.
    Deny {
        rule: String,
    },
}

/// A segmentation policy as the network sees it.
pub trait PolicyHook: Send + Sync {
    /// Decides one frame at one enforcement point. Called in time order.
    fn decide(&mut self, point: EnforcementPoint, frame: &Frame, topo: &Topology, now: SimTime) -> Verdict;
    /// Short name for reports, e.g. "flat".
    fn name(&self) -> &str;
    /// True when the policy can deny nothing (no rules, default allow): live mode then skips
    /// asking it per request, which would serialise every connection on its lock.
    fn allows_everything(&self) -> bool {
        false
    }
    /// What the policy did over the run (hits per rule, say) for results.json. Denials are
    /// also events, one per blocked frame.
    fn summary(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
}

/// A policy shared between the simulated network and live mode's socket tasks.
pub type SharedPolicy = Arc<Mutex<Box<dyn PolicyHook>>>;

/// Locks a shared policy; a panic elsewhere cannot leave a policy unusable.
pub fn lock_policy(p: &SharedPolicy) -> MutexGuard<'_, Box<dyn PolicyHook>> {
    p.lock().unwrap_or_else(|e| e.into_inner())
}

/// Decides a frame along its whole route at once, as live mode must (a real connection
/// has no simulated hops): every router or firewall on the route, then the destination
/// host. Returns the enforcement point and rule of the first denial.
pub fn decide_path(
    policy: &SharedPolicy,
    topo: &Topology,
    frame: &Frame,
    now: SimTime,
) -> Result<(), (EnforcementPoint, String)> {
    let mut p = lock_policy(policy);
    let route = topo.route(frame.src, frame.dst).unwrap_or(&[]);
    let points = route
        .iter()
        .map(|h| h.to)
        .filter(|&n| n != frame.dst && topo.host(n).role.enforces())
        .map(EnforcementPoint::Network)
        .chain(std::iter::once(EnforcementPoint::Host(frame.dst)));
    for point in points {
        if let Verdict::Deny { rule } = p.decide(point, frame, topo, now) {
            return Err((point, rule));
        }
    }
    Ok(())
}

/// Takes frames out of the simulated network before they enter it. Live mode installs one
/// so that the plant's own HMIs and historian talk to PLCs over real sockets.
pub trait FrameBridge: Send + Sync {
    /// Whether the bridge took the frame (it then never enters the simulated network).
    fn divert(&mut self, at: SimTime, frame: &Frame) -> bool;
}

/// What an interceptor does with a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intercept {
    /// Forward it (possibly changed).
    Pass,
    /// Swallow it silently (an adversary in the middle: nobody learns of it).
    Drop,
    /// Stop it and say why, as an enforcement point would: an inline prevention system
    /// (IPS) dropping what it flags. Counted and logged like a policy denial, with `rule`.
    Block { rule: String },
}

/// Something in the path of frames at a forwarding node, that can change or swallow them:
/// an adversary in the middle (ARP spoofing on a switched segment, a compromised router).
pub trait Interceptor: Send + Sync {
    fn intercept(&mut self, node: HostId, frame: &mut Frame, now: SimTime) -> Intercept;
}

/// The flat network: no enforcement anywhere, as in most legacy OT networks.
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl PolicyHook for AllowAll {
    fn decide(&mut self, _: EnforcementPoint, _: &Frame, _: &Topology, _: SimTime) -> Verdict {
        Verdict::Allow
    }
    fn name(&self) -> &str {
        "allow-all"
    }
    fn allows_everything(&self) -> bool {
        true
    }
}

/// A sensor that observes frames at the nodes it is placed on.
pub trait Tap: Send + Sync {
    /// Called once for each frame crossing one of this tap's nodes, in time order.
    fn observe(&mut self, node: HostId, frame: &Frame, now: SimTime);
    /// Short name for reports.
    fn name(&self) -> &str;
    /// A summary for results.json; detectors put their alerts and metrics here.
    fn summary(&self) -> serde_json::Value;
    /// Events found since the last call (a detector's alerts), for the event log.
    fn take_events(&mut self) -> Vec<(SimTime, crate::events::EventKind)> {
        Vec::new()
    }
}

/// The simplest tap: counts frames per node, so a run can show what each sensor saw.
#[derive(Debug, Default, Clone)]
pub struct FrameCounter {
    name: String,
    counts: std::collections::BTreeMap<u32, u64>,
    modbus: u64,
}

impl FrameCounter {
    pub fn new(name: impl Into<String>) -> Self {
        FrameCounter {
            name: name.into(),
            ..Default::default()
        }
    }
    /// Frames seen at a node.
    pub fn count(&self, node: HostId) -> u64 {
        self.counts.get(&node.0).copied().unwrap_or(0)
    }
}

impl Tap for FrameCounter {
    fn observe(&mut self, node: HostId, frame: &Frame, _now: SimTime) {
        *self.counts.entry(node.0).or_default() += 1;
        if frame.modbus_function().is_some() {
            self.modbus += 1;
        }
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "frames": self.counts.values().sum::<u64>(),
            "modbus_frames": self.modbus,
        })
    }
}
