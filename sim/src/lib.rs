//! otrange-sim: the simulated plant.
//!
//! One bevy_ecs world holds a plant, its network and its physics; one schedule is one tick
//! (see [`world`]); simulated time and seeded streams ([`base`]) make a run a pure function
//! of (scenario, seed). Every Modbus message is a real Modbus TCP ADU, read and written by
//! [`wire`] alone, so what the simulated network carries is what a real socket would.
//!
//! The layers, one folder each, bottom up; a layer uses only those above it in this list:
//!
//! | layer | what it holds |
//! |---|---|
//! | [`base`] | simulated time and clock, seeded streams, the event log, configuration errors |
//! | [`wire`] | the one place Modbus bytes are interpreted: ADU view, framing, requests, responses |
//! | [`net`] | topology, frames, transport hop by hop, middleboxes, capture to pcap |
//! | [`process`] | the physics: components, signals, limits, bands, impacts |
//! | [`plc_logic`] | the PLC program language: blocks, operands, memory |
//! | [`devices`] | PLCs (with their Modbus server), HMIs, historians, engineering workstations, IT hosts |
//! | [`live`] | real sockets and wall-clock pacing (feature `live`) |
//!
//! On top, [`plant`] builds a world from a plant file and [`world`] holds the schedule and
//! the runner.

#![forbid(unsafe_code)]

pub mod base;
pub mod devices;
#[cfg(feature = "live")]
pub mod live;
pub mod net;
pub mod plant;
pub mod plc_logic;
pub mod process;
pub mod templates;
pub mod wire;
pub mod world;

pub use base::config_error::ConfigError;
pub use base::time::{SimDuration, SimTime};
pub use world::{Sim, SimSet};
