//! Middleboxes: whatever sits on a frame's way and may observe it, rewrite it or stop it.
//!
//! One trait for every such thing, so the network has one list and one loop: a sensor's
//! tap (a detector, a frame counter), an inline prevention system, an adversary in the
//! middle, a segmentation policy's enforcement points, and next, time-aware shapers. The
//! simulation knows none of them by type; defenses and attacks plug theirs in.
//!
//! A middlebox is placed at nodes with a [`Stage`], which says which hops of a frame's
//! route it is asked at and in what order at one node: first the sensors
//! ([`Stage::Observe`], at every node a frame crosses, its sender's and receiver's too),
//! then what sits inline in a forwarding node ([`Stage::Inline`]), then enforcement
//! ([`Stage::Enforce`], at routers and firewalls that enforce and at the receiver itself).
//! Middleboxes are owned by the network and called from the one simulation thread: no
//! locks on the batch path. Whoever placed one reaches it again by its [`MiddleboxId`].

use super::frame::Frame;
use super::hooks::{EnforcementPoint, PolicyHook, SharedPolicy, Verdict, lock_policy};
use crate::base::events::EventKind;
use crate::base::time::SimTime;
use crate::net::topology::{HostId, Topology};
use std::any::Any;
use std::sync::{Arc, Mutex};

/// Where on its way a frame meets a middlebox, and the order at one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// A sensor: every node the frame crosses, sender and receiver included. What it
    /// answers is ignored: a tap cannot stop traffic.
    Observe,
    /// In the path at a forwarding node (switch, router, firewall): may rewrite or stop.
    Inline,
    /// A policy decision: at enforcing routers and firewalls, and at the receiver (host
    /// micro-segmentation); the hop says which enforcement point.
    Enforce,
}

/// One hop of a frame's way, as a middlebox sees it.
#[derive(Debug, Clone, Copy)]
pub struct Hop<'a> {
    /// The node the frame is at.
    pub node: HostId,
    /// When it is there.
    pub now: SimTime,
    /// The plant's topology, for names and roles.
    pub topo: &'a Topology,
    /// The enforcement point this hop is, if any ([`Stage::Enforce`] is asked only there).
    pub enforcement: Option<EnforcementPoint>,
}

/// What a middlebox does with a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Let it go on (possibly changed).
    Pass,
    /// Swallow it silently, as an adversary in the middle does: nobody learns of it.
    Drop,
    /// Stop it and say why, as an enforcement point or an inline prevention system does:
    /// counted and logged as blocked, with the rule.
    Block {
        /// The rule that decided, for the log and the blocked-by-rule counters.
        rule: String,
        /// What the frame lacked, when an identity requirement stopped it (see
        /// [`crate::net::Verdict::Deny`]).
        why: Option<String>,
    },
}

/// Something on a frame's way. See the module documentation.
pub trait Middlebox: Any + Send + Sync {
    /// Short name for reports, e.g. the detector's name.
    fn name(&self) -> &str;
    /// One frame at one hop, in time order.
    fn on_frame(&mut self, hop: &Hop<'_>, frame: &mut Frame) -> Action;
    /// Findings since the last call (a detector's alerts), for the event log.
    fn take_events(&mut self) -> Vec<(SimTime, EventKind)> {
        Vec::new()
    }
    /// Whether [`Self::take_events`] can ever return anything. The network asks a box for
    /// its findings at every tick and after every frame it sees; a box that never has any
    /// (a frame counter) says so here, once, and is not asked.
    fn reports_events(&self) -> bool {
        true
    }
    /// How long the box holds each frame it passes in the path (deep inspection takes
    /// time), added to the node's forwarding delay. Asked of inline and enforcement boxes at
    /// forwarding nodes only; a sensor works on a copy and holds nothing.
    fn inline_delay(&self) -> crate::base::time::SimDuration {
        crate::base::time::SimDuration::ZERO
    }
    /// A sensor's account of the run for results.json's `taps`; `None` for a middlebox that
    /// is not a sensor (an enforcement point, an adversary).
    fn sensor_summary(&self) -> Option<serde_json::Value> {
        None
    }
    /// One entry of a host's log, in time order, for sensors that read host telemetry
    /// (an endpoint agent's events shipped to a SIEM) rather than frames; true if this box
    /// reads host logs at all (its findings are then collected at once). Frame sensors
    /// ignore it; a host sensor is placed at no node, so it sees no frame.
    fn on_host_event(&mut self, _event: &crate::devices::host_log::HostEvent, _topo: &Topology) -> bool {
        false
    }
}

/// A placed middlebox, for whoever placed it to reach it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MiddleboxId(pub(crate) usize);

/// The segmentation policy at the network's enforcement points. Owned by the network in
/// batch runs; live mode's socket tasks decide on real connections with the same rules,
/// so for them it becomes shared ([`Enforcement::share`]) and is locked per decision.
pub struct Enforcement {
    policy: PolicySlot,
    name: String,
    /// The policy can deny nothing: frames pass without asking it.
    open: bool,
}

enum PolicySlot {
    Owned(Box<dyn PolicyHook>),
    Shared(SharedPolicy),
}

impl Enforcement {
    /// Enforcement of `policy`.
    pub fn new(policy: Box<dyn PolicyHook>) -> Self {
        Enforcement {
            name: policy.name().to_string(),
            open: policy.allows_everything(),
            policy: PolicySlot::Owned(policy),
        }
    }
    /// The policy's name, e.g. "purdue".
    pub fn policy_name(&self) -> &str {
        &self.name
    }
    /// The policy's own account of the run, for results.json.
    pub fn summary(&self) -> serde_json::Value {
        match &self.policy {
            PolicySlot::Owned(p) => p.summary(),
            PolicySlot::Shared(p) => lock_policy(p).summary(),
        }
    }
    /// Whether the policy can deny nothing.
    pub fn is_open(&self) -> bool {
        self.open
    }
    /// The policy as a handle other threads can decide with (live mode's sockets); from
    /// now on the network locks it too.
    pub fn share(&mut self) -> SharedPolicy {
        if let PolicySlot::Owned(_) = self.policy {
            let PolicySlot::Owned(p) = std::mem::replace(
                &mut self.policy,
                PolicySlot::Shared(Arc::new(Mutex::new(Box::new(super::hooks::AllowAll)))),
            ) else {
                unreachable!("matched above")
            };
            self.policy = PolicySlot::Shared(Arc::new(Mutex::new(p)));
        }
        match &self.policy {
            PolicySlot::Shared(p) => Arc::clone(p),
            PolicySlot::Owned(_) => unreachable!("made shared above"),
        }
    }
}

impl Middlebox for Enforcement {
    fn name(&self) -> &str {
        &self.name
    }
    fn reports_events(&self) -> bool {
        false
    }
    fn on_frame(&mut self, hop: &Hop<'_>, frame: &mut Frame) -> Action {
        let Some(point) = hop.enforcement else {
            return Action::Pass;
        };
        if self.open {
            return Action::Pass;
        }
        let verdict = match &mut self.policy {
            PolicySlot::Owned(p) => p.decide(point, frame, hop.topo, hop.now),
            PolicySlot::Shared(p) => lock_policy(p).decide(point, frame, hop.topo, hop.now),
        };
        match verdict {
            Verdict::Allow => Action::Pass,
            Verdict::Deny { rule, why } => Action::Block { rule, why },
        }
    }
}

/// The simplest sensor: counts frames per node, so a run can show what each tap saw.
#[derive(Debug, Default, Clone)]
pub struct FrameCounter {
    name: String,
    counts: std::collections::BTreeMap<u32, u64>,
    modbus: u64,
}

impl FrameCounter {
    /// A counter reported under `name`.
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

impl Middlebox for FrameCounter {
    fn name(&self) -> &str {
        &self.name
    }
    fn on_frame(&mut self, hop: &Hop<'_>, frame: &mut Frame) -> Action {
        *self.counts.entry(hop.node.0).or_default() += 1;
        if frame.modbus_function().is_some() {
            self.modbus += 1;
        }
        Action::Pass
    }
    fn reports_events(&self) -> bool {
        false
    }
    fn sensor_summary(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "frames": self.counts.values().sum::<u64>(),
            "modbus_frames": self.modbus,
        }))
    }
}
