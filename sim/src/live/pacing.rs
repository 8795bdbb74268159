//! The live clock: simulated time paced to the wall clock times a speed factor. This is
//! the only place the simulation's time is tied to a real clock, and only in live mode.

use crate::base::time::{SimDuration, SimTime};
use std::time::{Duration, Instant};

/// Maps wall-clock instants to simulated time and back.
#[derive(Debug, Clone, Copy)]
pub struct LiveClock {
    wall_start: Instant,
    sim_start: SimTime,
    speed: f64,
}

impl LiveClock {
    /// Starts now at `sim_start`, running `speed` simulated seconds per wall second.
    pub fn start(sim_start: SimTime, speed: f64) -> Self {
        LiveClock {
            wall_start: Instant::now(),
            sim_start,
            speed,
        }
    }

    /// Simulated seconds per wall second.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// The simulated time of a wall-clock instant.
    pub fn sim_at(&self, wall: Instant) -> SimTime {
        let elapsed = wall.saturating_duration_since(self.wall_start).as_secs_f64();
        self.sim_start + SimDuration::from_secs_f64(elapsed * self.speed)
    }

    /// The simulated time now.
    pub fn sim_now(&self) -> SimTime {
        self.sim_at(Instant::now())
    }

    /// The wall-clock instant at which simulated time reaches `t`.
    pub fn wall_at(&self, t: SimTime) -> Instant {
        let sim = t.saturating_since(self.sim_start).as_secs_f64();
        self.wall_start + Duration::from_secs_f64(sim / self.speed)
    }
}
