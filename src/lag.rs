//! Whether live mode holds the speed asked for. The simulation catches up with the wall
//! clock in steps; when a step takes longer than the wall time it covers, the plant falls
//! behind. The meter records by how much (the lag, after each catch-up), warns on the
//! terminal when the plant is more than [`WARN_AFTER`] of wall time behind, and gives
//! results.json the achieved speed. It only observes: lag never becomes a process or
//! security event.

use otrange_sim::SimDuration;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Wall time behind the clock after which the terminal is told: a quarter of a second is
/// what a person watching a trend or a PLC's answer starts to notice.
pub const WARN_AFTER: Duration = Duration::from_millis(250);
/// While behind, the warning is repeated at most this often.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The `live` section of results.json.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LiveFigures {
    /// `--speed`.
    pub requested_speed: f64,
    /// Simulated seconds run per wall second, over the whole run.
    pub achieved_speed: f64,
    /// Wall seconds the run took.
    pub wall_s: f64,
    /// The largest lag seen after a catch-up, in simulated seconds, and in wall seconds
    /// (simulated / requested speed).
    pub max_lag_s: f64,
    /// See `max_lag_s`.
    pub max_lag_wall_s: f64,
    /// Wall seconds spent more than [`WARN_AFTER`] behind.
    pub behind_wall_s: f64,
    /// Warnings printed.
    pub warnings: u64,
}

/// Measures the lag of one live run.
#[derive(Debug)]
pub struct LagMeter {
    speed: f64,
    started: Instant,
    max_lag: SimDuration,
    behind_since: Option<Instant>,
    behind: Duration,
    last_warning: Option<Instant>,
    warnings: u64,
}

impl LagMeter {
    /// A meter for a run at `speed`, starting at `started`.
    pub fn new(speed: f64, started: Instant) -> Self {
        LagMeter {
            speed,
            started,
            max_lag: SimDuration::ZERO,
            behind_since: None,
            behind: Duration::ZERO,
            last_warning: None,
            warnings: 0,
        }
    }

    /// Records the lag after a catch-up at wall time `now`; returns a warning to print when
    /// the plant has fallen behind (once, then every 10 s while it stays behind).
    pub fn observe(&mut self, lag: SimDuration, now: Instant) -> Option<String> {
        self.max_lag = self.max_lag.max(lag);
        let wall = Duration::from_secs_f64(lag.as_secs_f64() / self.speed);
        if wall <= WARN_AFTER {
            if let Some(since) = self.behind_since.take() {
                self.behind += now.saturating_duration_since(since);
            }
            return None;
        }
        self.behind_since.get_or_insert(now);
        if self
            .last_warning
            .is_some_and(|w| now.saturating_duration_since(w) < WARN_EVERY)
        {
            return None;
        }
        self.last_warning = Some(now);
        self.warnings += 1;
        Some(format!(
            "WARNING: the plant is {:.2} s behind the wall clock ({:.1} simulated s) at --speed {}: this machine cannot hold that speed; lower it",
            wall.as_secs_f64(),
            lag.as_secs_f64(),
            self.speed
        ))
    }

    /// The figures, for `simulated` run in the wall time since the meter started.
    pub fn figures(&self, simulated: SimDuration, now: Instant) -> LiveFigures {
        let wall = now.saturating_duration_since(self.started).as_secs_f64();
        let behind = self.behind
            + self
                .behind_since
                .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        LiveFigures {
            requested_speed: self.speed,
            achieved_speed: if wall > 0.0 {
                simulated.as_secs_f64() / wall
            } else {
                0.0
            },
            wall_s: wall,
            max_lag_s: self.max_lag.as_secs_f64(),
            max_lag_wall_s: self.max_lag.as_secs_f64() / self.speed,
            behind_wall_s: behind.as_secs_f64(),
            warnings: self.warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_once_when_behind_then_every_ten_seconds() {
        let t0 = Instant::now();
        let mut m = LagMeter::new(100.0, t0);
        // 10 simulated seconds at 100x: 0.1 s of wall time, under the threshold.
        assert_eq!(m.observe(SimDuration::from_secs(10), t0), None);
        let w = m.observe(SimDuration::from_secs(50), t0 + Duration::from_secs(1));
        assert!(
            w.unwrap()
                .contains("0.50 s behind the wall clock (50.0 simulated s) at --speed 100")
        );
        assert_eq!(
            m.observe(SimDuration::from_secs(50), t0 + Duration::from_secs(5)),
            None
        );
        assert!(
            m.observe(SimDuration::from_secs(50), t0 + Duration::from_secs(12))
                .is_some()
        );
        // Caught up at 13 s: 12 s were spent behind.
        assert_eq!(m.observe(SimDuration::ZERO, t0 + Duration::from_secs(13)), None);
        let f = m.figures(SimDuration::from_secs(650), t0 + Duration::from_secs(13));
        assert_eq!((f.warnings, f.max_lag_s, f.max_lag_wall_s), (2, 50.0, 0.5));
        assert!((f.behind_wall_s - 12.0).abs() < 1e-9);
        assert!((f.achieved_speed - 50.0).abs() < 1e-9);
    }
}
