//! The plant network: its topology (hosts, zones, links, routes), frames, transport hop by hop, middleboxes (the one extension point
//! for sensors, inline boxes, adversaries and policy enforcement), and capture to pcap.

pub mod capture;
mod event_queue;
pub mod frame;
pub mod hooks;
pub mod identity;
mod link_state;
pub mod middlebox;
pub mod network;
mod paths;
pub mod pcap;
mod routes;
pub mod service_bytes;
pub mod topology;
pub mod tsn;

pub use frame::{Frame, FrameId, Payload, VlanTag};
pub use hooks::{
    AllowAll, EnforcementPoint, FrameBridge, PolicyHook, SharedPolicy, Verdict, decide_path, lock_policy,
};
pub use identity::{Identity, IdentityHandle};
pub use middlebox::{Action, Enforcement, FrameCounter, Hop, Middlebox, MiddleboxId, Stage};
pub use network::{Capture, Delivered, Fate, FateKind, NetStats, Network};
