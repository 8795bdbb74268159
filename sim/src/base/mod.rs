//! The base layer everything else stands on: simulated time and the clock, seeded random
//! streams, the event log, located configuration errors, statistics and units.
//!
//! (DESIGN.md calls this layer `core`; it is spelt `base` because `core` is the name of
//! Rust's own core library, and `core::time` would read as the standard library's.)

pub mod calendar;
pub mod clock;
pub mod config_error;
pub mod due;
pub mod events;
pub mod rng;
pub mod round;
pub mod stats;
pub mod task_clock;
pub mod time;
pub mod units;
pub mod wallclock;
