//! Whether live mode holds the speed asked for. The simulation catches up with the wall
//! clock in steps; when a step takes longer than the wall time it covers, the plant falls
//! behind. The meter records by how much (the lag, after each catch-up) and the speed
//! achieved over each second of wall time, warns on the terminal when the plant is more
//! than [`WARN_AFTER`] of wall time behind or ran below 90 % of the speed asked over the
//! last second, and gives results.json the achieved speed. It only observes: lag never
//! becomes a process or security event.

use otrange_sim::SimDuration;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Wall time behind the clock after which the terminal is told: a quarter of a second is
/// what a person watching a trend or a PLC's answer starts to notice.
pub const WARN_AFTER: Duration = Duration::from_millis(250);
/// While behind, the warning is repeated at most this often.
const WARN_EVERY: Duration = Duration::from_secs(10);
/// The wall time over which the speed achieved is measured.
const WINDOW: Duration = Duration::from_secs(1);
/// Below this share of the speed asked, over a window, the plant is behind.
const HOLDS: f64 = 0.9;

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
    /// Start of the current window: wall instant and simulated time.
    window: Option<(Instant, otrange_sim::SimTime)>,
    /// The speed achieved over the last complete window.
    recent: Option<f64>,
    max_lag: SimDuration,
    behind_since: Option<Instant>,
    behind: Duration,
    last_warning: Option<Instant>,
    warnings: u64,
    /// Never paused and never asked for another speed: the whole run's average speed
    /// then says whether the speed asked was held.
    steady: bool,
}

impl LagMeter {
    /// A meter for a run at `speed`, starting at `started`.
    pub fn new(speed: f64, started: Instant) -> Self {
        LagMeter {
            speed,
            started,
            window: None,
            recent: None,
            max_lag: SimDuration::ZERO,
            behind_since: None,
            behind: Duration::ZERO,
            last_warning: None,
            warnings: 0,
            steady: true,
        }
    }

    /// Records the lag after a catch-up that brought the plant to `sim` at wall time `now`,
    /// at the clock's current `speed` (`paused`: the clock stands still and nothing is
    /// behind); returns a warning to print when the plant has fallen behind (once, then
    /// every 10 s while it stays behind).
    pub fn observe(
        &mut self,
        lag: SimDuration,
        sim: otrange_sim::SimTime,
        now: Instant,
        speed: f64,
        paused: bool,
    ) -> Option<String> {
        self.steady &= !paused && speed == self.speed;
        self.speed = speed;
        if paused {
            self.window = None;
            self.recent = None;
        } else {
            match self.window {
                None => self.window = Some((now, sim)),
                Some((w0, s0)) if now.saturating_duration_since(w0) >= WINDOW => {
                    let wall = now.saturating_duration_since(w0).as_secs_f64();
                    self.recent = Some(sim.saturating_since(s0).as_secs_f64() / wall);
                    self.window = Some((now, sim));
                }
                Some(_) => {}
            }
        }
        self.max_lag = self.max_lag.max(lag);
        let wall = Duration::from_secs_f64(lag.as_secs_f64() / self.speed);
        let slow = self.recent.is_some_and(|r| r < HOLDS * speed);
        if wall <= WARN_AFTER && !slow {
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
            "WARNING: the plant runs at {} against the {}x asked, {:.2} s behind the wall clock: this machine cannot hold that speed; lower it",
            self.recent.map_or("less".to_string(), |r| format!("{r:.0}x")),
            self.speed,
            wall.as_secs_f64()
        ))
    }

    /// At the end of a run: the warning [`observe`](Self::observe) could not give, for a run
    /// too short to fill a window of wall time or to fall [`WARN_AFTER`] behind, that still
    /// ran below 90 % of the speed asked over its whole length (a 3-hour run asked at
    /// 100,000x, over in a second). Nothing when a warning was given, or when the run was
    /// paused or its speed changed, which the average over the run does not measure.
    pub fn closing_warning(&mut self, simulated: SimDuration, now: Instant) -> Option<String> {
        let figures = self.figures(simulated, now);
        if self.warnings > 0 || !self.steady || figures.wall_s <= 0.0 {
            return None;
        }
        let achieved = figures.achieved_speed;
        if achieved >= HOLDS * self.speed {
            return None;
        }
        self.warnings += 1;
        Some(format!(
            "WARNING: the plant ran at {achieved:.0}x against the {}x asked over the whole run: this machine cannot hold that speed; lower it",
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
    use otrange_sim::SimTime;

    fn sim(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    #[test]
    fn warns_once_when_behind_then_every_ten_seconds() {
        let t0 = Instant::now();
        let mut m = LagMeter::new(100.0, t0);
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut observe =
            |lag: u64, s: u64, t: u64| m.observe(SimDuration::from_secs(lag), sim(s), at(t), 100.0, false);
        // 10 simulated seconds at 100x: 0.1 s of wall time, under the threshold.
        assert_eq!(observe(10, 0, 0), None);
        let w = observe(50, 100, 1);
        assert!(
            w.unwrap()
                .contains("the plant runs at 100x against the 100x asked, 0.50 s behind")
        );
        assert_eq!(observe(50, 500, 5), None);
        assert!(observe(50, 1200, 12).is_some());
        // Caught up at 13 s, at full speed: 12 s were spent behind.
        assert_eq!(observe(0, 1300, 13), None);
        let f = m.figures(SimDuration::from_secs(650), at(13));
        assert_eq!((f.warnings, f.max_lag_s, f.max_lag_wall_s), (2, 50.0, 0.5));
        assert!((f.behind_wall_s - 12.0).abs() < 1e-9);
        assert!((f.achieved_speed - 50.0).abs() < 1e-9);
    }

    #[test]
    fn a_second_below_the_speed_asked_is_behind_even_when_each_catch_up_is_short() {
        let t0 = Instant::now();
        let mut m = LagMeter::new(1000.0, t0);
        let short = SimDuration::from_millis(10);
        // Short catch-ups, but only 500 simulated seconds per wall second.
        assert_eq!(m.observe(short, sim(0), t0, 1000.0, false), None);
        let w = m.observe(short, sim(500), t0 + Duration::from_secs(1), 1000.0, false);
        assert!(
            w.unwrap()
                .contains("the plant runs at 500x against the 1000x asked")
        );
        // Paused: nothing is behind.
        let p = m.observe(
            SimDuration::ZERO,
            sim(500),
            t0 + Duration::from_secs(20),
            1000.0,
            true,
        );
        assert_eq!(p, None);
    }

    #[test]
    fn a_run_too_short_to_fall_behind_is_told_at_its_end() {
        let t0 = Instant::now();
        let mut m = LagMeter::new(100_000.0, t0);
        // Short catch-ups over less than a second of wall time: no warning on the way.
        let short = SimDuration::from_millis(100);
        assert_eq!(m.observe(short, sim(0), t0, 100_000.0, false), None);
        let half = t0 + Duration::from_millis(500);
        assert_eq!(m.observe(short, sim(5_000), half, 100_000.0, false), None);
        // 10,800 simulated seconds in 0.98 s: 11,020x of the 100,000x asked.
        let end = t0 + Duration::from_millis(980);
        let w = m.closing_warning(SimDuration::from_secs(10_800), end).unwrap();
        assert!(
            w.contains("ran at 11020x against the 100000x asked over the whole run"),
            "{w}"
        );
        assert_eq!(m.figures(SimDuration::from_secs(10_800), end).warnings, 1);

        // Held: nothing to say.
        let mut held = LagMeter::new(1_000.0, t0);
        assert_eq!(held.observe(short, sim(0), t0, 1_000.0, false), None);
        assert_eq!(
            held.closing_warning(SimDuration::from_secs(950), t0 + Duration::from_secs(1)),
            None
        );
        // Paused on the way: the average does not measure the speed held.
        let mut paused = LagMeter::new(1_000.0, t0);
        assert_eq!(
            paused.observe(SimDuration::ZERO, sim(0), half, 1_000.0, true),
            None
        );
        assert_eq!(paused.closing_warning(SimDuration::from_secs(10), end), None);
    }
}
