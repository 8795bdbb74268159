//! The plant network: frames, transport hop by hop, the policy and tap extension points,
//! and capture to pcap.

pub mod capture;
pub mod frame;
pub mod hooks;
pub mod network;

pub use frame::{Frame, FrameId, Payload};
pub use hooks::{
    AllowAll, EnforcementPoint, FrameBridge, FrameCounter, Intercept, Interceptor, PolicyHook, SharedPolicy,
    Tap, Verdict, decide_path, lock_policy,
};
pub use network::{Capture, Delivered, Fate, FateKind, NetStats, Network};
