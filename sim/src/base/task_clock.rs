//! The timing of a device's periodic task as real hardware keeps it: a clock that runs a
//! little fast or slow, and a task that wakes a little late.
//!
//! Without them every periodic device would run on the simulator's perfect clock, and two
//! devices with commensurate periods (an HMI polling every 1 s, a PLC scanning every
//! 100 ms) would keep the phase their start offsets gave them for the whole run: the HMI's
//! poll latency would then be a property of the seed, not of the plant. With them the phase
//! wanders as it does between real devices, and a run's latency statistics converge.
//!
//! Defaults, with their sources:
//! - Clock drift: each device's clock rate is drawn once per run, uniformly within
//!   ±[`DEFAULT_DRIFT_PPM`] (100 ppm), the frequency accuracy IEEE 802.1AS-2020 (gPTP)
//!   requires of a free-running local clock (clause B.1.1); commodity quartz oscillators
//!   are specified at ±20 to ±100 ppm.
//! - Client jitter (HMIs, historians): each poll round wakes up to
//!   [`DEFAULT_CLIENT_JITTER`] (15.625 ms) late, the default timer resolution of Windows
//!   (64 ticks per second), which most HMI and historian software runs on; clamped to a
//!   tenth of the period for fast pollers.
//! - PLC scan jitter: each scan starts up to [`DEFAULT_SCAN_JITTER`] (200 µs) late, the
//!   order of cyclic-task jitter PLC runtimes report; clamped to a tenth of the scan period.
//!
//! Two ways of keeping a period, as real tasks do: a PLC's cyclic task is anchored (scan k
//! is due k periods after the first, on the PLC's clock, so its jitter does not
//! accumulate), while a client's poll loop is free-running (the next round is due a period
//! after this one actually went out, so its phase performs a random walk).

use crate::base::config_error::ConfigError;
use crate::base::round::round_u64;
use crate::base::time::{DurationField, SimDuration, SimTime};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use toml::Spanned;

/// Bound of a device clock's rate error, in parts per million (IEEE 802.1AS-2020 B.1.1).
pub const DEFAULT_DRIFT_PPM: f64 = 100.0;
/// Largest wake-up delay of a client's poll round: Windows' default timer resolution, 1/64 s.
pub const DEFAULT_CLIENT_JITTER: SimDuration = SimDuration::from_micros(15_625);
/// Largest delay of a PLC scan's start.
pub const DEFAULT_SCAN_JITTER: SimDuration = SimDuration::from_micros(200);
/// A clock's drift bound may not exceed this (1 %): beyond it the device is broken, not
/// drifting.
pub const MAX_DRIFT_PPM: f64 = 10_000.0;

/// How a periodic task keeps its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keeping {
    /// Due k periods after the first (a PLC's cyclic task): jitter does not accumulate.
    Anchored,
    /// Due a period after the last actual start (a client's poll loop): jitter accumulates.
    FreeRunning,
}

/// The timing settings a device's config may give, checked against its period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskTiming {
    /// Largest delay of one start past its due time.
    pub jitter: SimDuration,
    /// Bound of the clock's rate error, in ppm; the rate itself is drawn per run.
    pub drift_ppm: f64,
}

impl TaskTiming {
    /// Checks a device's `jitter` and `drift_ppm` fields; where one is absent, the default
    /// (the jitter's clamped to a tenth of `period`). `field` names the device entry, such
    /// as `hmi[0]`.
    pub fn from_config(
        jitter: Option<&Spanned<DurationField>>,
        drift_ppm: Option<&Spanned<f64>>,
        period: SimDuration,
        default_jitter: SimDuration,
        field: &str,
    ) -> Result<TaskTiming, ConfigError> {
        let jitter = match jitter {
            None => default_jitter.min(SimDuration(period.as_nanos() / 10)),
            Some(j) => {
                let v = j.get_ref().value;
                if v >= period {
                    return Err(ConfigError::new(
                        format!("{field}.jitter"),
                        Some(j.span()),
                        format!(
                            "jitter {:?} must be shorter than the period ({} ms)",
                            j.get_ref().text,
                            period.as_nanos() as f64 / 1e6
                        ),
                    ));
                }
                v
            }
        };
        let drift_ppm = match drift_ppm {
            None => DEFAULT_DRIFT_PPM,
            Some(d) => {
                let v = *d.get_ref();
                if !(0.0..=MAX_DRIFT_PPM).contains(&v) {
                    return Err(ConfigError::new(
                        format!("{field}.drift_ppm"),
                        Some(d.span()),
                        format!(
                            "drift_ppm {v} must be between 0 and {MAX_DRIFT_PPM} (a bound, drawn ± per run)"
                        ),
                    ));
                }
                v
            }
        };
        Ok(TaskTiming { jitter, drift_ppm })
    }

    /// No drift and no jitter: the simulator's perfect clock (for unit tests and for
    /// plants that want phase-locked devices on purpose).
    pub const IDEAL: TaskTiming = TaskTiming {
        jitter: SimDuration::ZERO,
        drift_ppm: 0.0,
    };
}

/// A periodic task's schedule on its device's own clock.
#[derive(Debug, Clone)]
#[repr(C, align(64))]
pub struct TaskClock {
    // In declaration order (`repr(C)`), starting a cache line: what every start reads, then
    // the generator, which rand_core 0.10 lays out with its position in its buffer first, in
    // the same line (a PLC's scan reads its clock at every scan; see `Plc`'s layout).
    /// Anchored: the first due time and the starts since.
    anchor: SimTime,
    count: u64,
    period: SimDuration,
    /// Simulated nanoseconds per nanosecond of the device's clock: 1 + drift.
    rate: f64,
    jitter_ns: u64,
    keeping: Keeping,
    rng: ChaCha8Rng,
}

impl TaskClock {
    /// A schedule whose first start is at `first`; the clock's rate is drawn from `rng`
    /// within the timing's drift bound, and every later jitter from the same stream.
    pub fn new(
        period: SimDuration,
        keeping: Keeping,
        timing: TaskTiming,
        first: SimTime,
        mut rng: ChaCha8Rng,
    ) -> TaskClock {
        let ppm = if timing.drift_ppm > 0.0 {
            rng.random_range(-timing.drift_ppm..=timing.drift_ppm)
        } else {
            0.0
        };
        TaskClock {
            period,
            keeping,
            rate: 1.0 + ppm * 1e-6,
            jitter_ns: timing.jitter.as_nanos(),
            rng,
            anchor: first,
            count: 0,
        }
    }

    /// The first start.
    pub fn first(&self) -> SimTime {
        self.anchor
    }

    /// The nominal period.
    pub fn period(&self) -> SimDuration {
        self.period
    }

    /// This device's clock error in ppm (positive: its periods last longer in true time).
    pub fn drift_ppm(&self) -> f64 {
        (self.rate - 1.0) * 1e6
    }

    /// When the next start is due, given that the current one happened at `now`.
    pub fn next(&mut self, now: SimTime) -> SimTime {
        self.count += 1;
        let late = if self.jitter_ns > 0 {
            self.rng.random_range(0..=self.jitter_ns)
        } else {
            0
        };
        let due = match self.keeping {
            Keeping::Anchored => {
                // k periods on the device's clock; f64 is exact to 2^53 ns (104 days).
                let span = round_u64(self.count as f64 * self.period.as_nanos() as f64 * self.rate);
                self.anchor + SimDuration(span)
            }
            Keeping::FreeRunning => now + SimDuration(round_u64(self.period.as_nanos() as f64 * self.rate)),
        };
        // Never at or before `now`: a start too late for its slot takes the next instant.
        (due + SimDuration(late)).max(now + SimDuration(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::rng::MasterSeed;

    fn clock(keeping: Keeping, timing: TaskTiming, seed: u64) -> TaskClock {
        TaskClock::new(
            SimDuration::from_millis(100),
            keeping,
            timing,
            SimTime::ZERO,
            MasterSeed(seed).stream("t"),
        )
    }

    #[test]
    fn an_ideal_clock_keeps_the_exact_period() {
        let mut c = clock(Keeping::Anchored, TaskTiming::IDEAL, 1);
        let mut t = SimTime::ZERO;
        for _ in 0..10 {
            t = c.next(t);
        }
        assert_eq!(t, SimTime::ZERO + SimDuration::from_secs(1));
    }

    #[test]
    fn an_anchored_task_drifts_by_its_rate_and_its_jitter_does_not_accumulate() {
        let timing = TaskTiming {
            jitter: SimDuration::from_micros(200),
            drift_ppm: 100.0,
        };
        let mut c = clock(Keeping::Anchored, timing, 3);
        let ppm = c.drift_ppm();
        assert!(ppm.abs() <= 100.0 && ppm != 0.0, "{ppm}");
        let mut t = SimTime::ZERO;
        for _ in 0..36_000 {
            t = c.next(t);
        }
        // One hour of scans: the drift's share, plus at most one jitter.
        let expected = 3.6e12 * (1.0 + ppm * 1e-6);
        let error = t.as_nanos() as f64 - expected;
        assert!((0.0..=200_001.0).contains(&error), "{error} ns");
    }

    #[test]
    fn a_free_running_loop_wanders_and_the_same_seed_wanders_the_same_way() {
        let timing = TaskTiming {
            jitter: SimDuration::from_millis(15),
            drift_ppm: 0.0,
        };
        let run = |seed| {
            let mut c = clock(Keeping::FreeRunning, timing, seed);
            let mut t = SimTime::ZERO;
            for _ in 0..1000 {
                t = c.next(t);
            }
            t
        };
        let late = run(1).as_nanos() - 100_000_000_000;
        // 1000 rounds each up to 15 ms late: about 7.5 s in all.
        assert!((6_000_000_000..9_000_000_000).contains(&late), "{late}");
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
    }

    #[test]
    fn settings_are_checked_against_the_period() {
        let period = SimDuration::from_millis(10);
        let j = Spanned::new(3..9, DurationField::default_of("10ms"));
        let e = TaskTiming::from_config(Some(&j), None, period, DEFAULT_CLIENT_JITTER, "hmi[0]").unwrap_err();
        assert_eq!(e.field, "hmi[0].jitter");
        assert!(e.message.contains("shorter than the period"), "{}", e.message);
        let d = Spanned::new(3..9, -5.0);
        let e = TaskTiming::from_config(None, Some(&d), period, DEFAULT_CLIENT_JITTER, "plc[1]").unwrap_err();
        assert_eq!(e.field, "plc[1].drift_ppm");
        // The default jitter is clamped to a tenth of a short period.
        let t = TaskTiming::from_config(None, None, period, DEFAULT_CLIENT_JITTER, "hmi[0]").unwrap();
        assert_eq!(t.jitter, SimDuration::from_millis(1));
        assert_eq!(t.drift_ppm, DEFAULT_DRIFT_PPM);
    }
}
