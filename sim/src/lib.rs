//! otrange-sim: the simulated plant.
//!
//! One bevy_ecs world holds a plant, its network and its physics; one schedule is one tick
//! (see [`world`]); simulated time ([`time`]) and seeded streams ([`rng`]) make a run a pure
//! function of (scenario, seed). Every Modbus message is a real Modbus TCP ADU ([`wire`]),
//! so what the simulated network carries is what a real socket would.
//!
//! Layers, bottom up: [`time`], [`rng`], [`wire`] (the one place Modbus bytes are read and written), [`topology`], [`net`] (frames, transport, the
//! policy and tap extension points, pcap capture), [`modbus`] (register maps and the request
//! handler), [`process`] (physics), [`plc`] (declarative programs), [`devices`] (PLC, HMI,
//! historian, engineering workstation, IT hosts), [`plant`] (the plant file and the world
//! built from it), [`world`] (schedule and runner).

#![forbid(unsafe_code)]

pub mod clock;
pub mod config_error;
pub mod devices;
pub mod events;
pub mod host;
#[cfg(feature = "live")]
pub mod live;
pub mod modbus;
pub mod net;
pub mod pcap;
pub mod plant;
pub mod plc;
pub mod process;
pub mod process_state;
pub mod rng;
pub mod stats;
pub mod time;
pub mod topology;
pub mod units;
pub mod wire;
pub mod world;

pub use config_error::ConfigError;
pub use time::{SimDuration, SimTime};
pub use world::{Sim, SimSet};
