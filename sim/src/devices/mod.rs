//! The plant's devices as ECS components and the systems that run them: PLCs, HMIs with
//! their operators, historians, the engineering workstation and IT hosts.

pub mod ews;
pub mod historian;
pub mod hmi;
pub mod plc;
pub mod poller;
pub mod procedure;
pub mod traffic;
pub mod vendor;

use bevy_ecs::component::Component;

/// Marks a host whose client inbox some agent reads; other hosts' answers are discarded.
#[derive(Component, Debug, Default, Clone, Copy)]
pub struct ClientAgent;
