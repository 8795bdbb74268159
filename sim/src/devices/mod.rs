//! The plant's devices as ECS components and the systems that run them: PLCs, HMIs with
//! their operators, historians, the engineering workstation and IT hosts; [`host`] holds what
//! every host has (its inboxes), [`modbus`] the Modbus server a PLC answers with.

pub mod ews;
pub mod historian;
pub mod hmi;
pub mod host;
pub mod modbus;
pub mod plc;
pub mod poller;
pub mod procedure;
pub mod traffic;
pub mod vendor;

use bevy_ecs::component::Component;

/// Marks a host whose client inbox some agent reads; other hosts' answers are discarded.
#[derive(Component, Debug, Default, Clone, Copy)]
pub struct ClientAgent;
