//! Segmentation policies as the network sees them, and the bridge live mode diverts frames
//! through. The simulation knows nothing of a policy's rules: a [`PolicyHook`] is consulted
//! at every enforcement point a frame crosses (routers, firewalls, and the destination host
//! itself for host-based micro-segmentation) and answers allow or deny with the rule that
//! decided. The network asks it through its [`super::middlebox::Enforcement`] middlebox.

use super::frame::Frame;
use crate::base::time::SimTime;
use crate::net::topology::{HostId, Topology};
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
    /// The node where the decision is taken, whichever kind of point it is.
    pub fn node(self) -> HostId {
        match self {
            EnforcementPoint::Network(h) | EnforcementPoint::Host(h) => h,
        }
    }
}

/// A policy's answer for one frame at one point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The frame goes on.
    Allow,
    /// Denied, naming the rule that decided so the log can say why.
    Deny {
        /// The rule's name, as `frame_blocked` events log it.
        rule: String,
        /// What the frame lacked that an allow rule asks for, when that is what stopped
        /// it (`MFA required by "..."`): the evidence of which denials an identity or MFA
        /// requirement made. None for an ordinary denial.
        why: Option<String>,
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
    /// The table of who is signed in where that the policy's identity rules read, shared
    /// with the network so that an actor's logins show in it; None for a policy with no
    /// identity rules.
    fn identities(&self) -> Option<crate::net::IdentityHandle> {
        None
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
) -> Result<(), (EnforcementPoint, String, Option<String>)> {
    let mut p = lock_policy(policy);
    let route = topo.route(frame.src, frame.dst).unwrap_or_else(|| Arc::from([]));
    let points = route
        .iter()
        .map(|h| h.to)
        .filter(|&n| n != frame.dst && topo.host(n).role.enforces())
        .map(EnforcementPoint::Network)
        .chain(std::iter::once(EnforcementPoint::Host(frame.dst)));
    for point in points {
        if let Verdict::Deny { rule, why } = p.decide(point, frame, topo, now) {
            return Err((point, rule, why));
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
