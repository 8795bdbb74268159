//! The live clock: simulated time paced to the wall clock times a speed factor. This is
//! the only place the simulation's time is tied to a real clock, and only in live mode.
//!
//! The clock is shared (the simulation thread and every socket task hold a handle), because
//! an instructor can pause it and change its speed while the plant runs: each change
//! re-anchors the mapping at the moment it is made, so simulated time never jumps.

use crate::base::time::{SimDuration, SimTime};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Anchor {
    wall_start: Instant,
    sim_start: SimTime,
    speed: f64,
    /// Paused at this simulated time: the clock stands still.
    paused: Option<SimTime>,
}

impl Anchor {
    fn sim_at(&self, wall: Instant) -> SimTime {
        if let Some(t) = self.paused {
            return t;
        }
        let elapsed = wall.saturating_duration_since(self.wall_start).as_secs_f64();
        self.sim_start + SimDuration::from_secs_f64(elapsed * self.speed)
    }
}

/// Maps wall-clock instants to simulated time and back; clones share one clock.
#[derive(Debug, Clone)]
pub struct LiveClock(Arc<Mutex<Anchor>>);

impl LiveClock {
    /// Starts now at `sim_start`, running `speed` simulated seconds per wall second.
    pub fn start(sim_start: SimTime, speed: f64) -> Self {
        LiveClock(Arc::new(Mutex::new(Anchor {
            wall_start: Instant::now(),
            sim_start,
            speed,
            paused: None,
        })))
    }

    fn anchor(&self) -> MutexGuard<'_, Anchor> {
        // The anchor is plain data, whole after any panic.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Simulated seconds per wall second (while running).
    pub fn speed(&self) -> f64 {
        self.anchor().speed
    }

    /// Whether the clock stands still.
    pub fn paused(&self) -> bool {
        self.anchor().paused.is_some()
    }

    /// The simulated time of a wall-clock instant.
    pub fn sim_at(&self, wall: Instant) -> SimTime {
        self.anchor().sim_at(wall)
    }

    /// The simulated time now.
    pub fn sim_now(&self) -> SimTime {
        self.sim_at(Instant::now())
    }

    /// The wall-clock instant at which simulated time reaches `t` (while paused: as if the
    /// clock resumed now).
    pub fn wall_at(&self, t: SimTime) -> Instant {
        let a = *self.anchor();
        let (wall, sim) = match a.paused {
            Some(p) => (Instant::now(), p),
            None => (a.wall_start, a.sim_start),
        };
        wall + Duration::from_secs_f64(t.saturating_since(sim).as_secs_f64() / a.speed)
    }

    /// Runs at `speed` from now on, continuing from the simulated time reached.
    pub fn set_speed(&self, speed: f64) {
        let mut a = self.anchor();
        let now = Instant::now();
        a.sim_start = a.sim_at(now);
        a.wall_start = now;
        a.speed = speed;
    }

    /// Stops the clock where it is.
    pub fn pause(&self) {
        let mut a = self.anchor();
        if a.paused.is_none() {
            a.paused = Some(a.sim_at(Instant::now()));
        }
    }

    /// Starts it again from where it stood.
    pub fn resume(&self) {
        let mut a = self.anchor();
        if let Some(t) = a.paused.take() {
            a.sim_start = t;
            a.wall_start = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_holds_time_and_a_new_speed_continues_from_where_it_was() {
        let c = LiveClock::start(SimTime::ZERO, 1000.0);
        std::thread::sleep(Duration::from_millis(5));
        c.pause();
        let held = c.sim_now();
        assert!(held >= SimTime::ZERO + SimDuration::from_secs(5), "{held}");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(c.sim_now(), held, "paused: time stands still");
        c.resume();
        c.set_speed(1.0);
        let t = c.sim_now();
        // From where it stood, at 1x: a few milliseconds later, not seconds.
        assert!(
            t >= held && t < held + SimDuration::from_millis(50),
            "{held} then {t}"
        );
        assert_eq!(c.speed(), 1.0);
    }
}
