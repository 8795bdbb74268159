//! Device clocks for time-aware networking: each runs at its own rate (drift in ppm) and
//! is pulled back to network time at every sync interval, as gPTP (IEEE 802.1AS) does; the
//! residual error after a correction is drawn within the sync's precision. A clock that
//! loses sync keeps drifting, and a gate schedule on it slides against its talkers' clocks,
//! which is how a sync loss shows as missed windows.
//!
//! The mapping is piecewise linear: within one sync interval starting at `s` with residual
//! offset `r`, local(t) = t + r + drift x (t - s). Queries come in time order (the
//! network's events are processed in order), so the clock moves from interval to interval
//! as time goes on and never goes back.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

/// How a device's clock behaves. All zero: a perfect clock.
#[derive(Debug, Clone, PartialEq)]
pub struct ClockSpec {
    /// Rate error in parts per million (positive: runs fast).
    pub drift_ppm: f64,
    /// Offset from network time at the start, in nanoseconds, until the first sync.
    pub initial_offset_ns: f64,
    /// Time between two corrections; 0: never corrected.
    pub sync_interval_ns: u64,
    /// Bound of the residual offset after a correction, in nanoseconds.
    pub precision_ns: u64,
    /// From this simulated time on, no correction arrives.
    pub sync_lost_at: Option<u64>,
}

impl ClockSpec {
    /// A clock that is exactly network time.
    pub fn perfect() -> Self {
        ClockSpec {
            drift_ppm: 0.0,
            initial_offset_ns: 0.0,
            sync_interval_ns: 0,
            precision_ns: 0,
            sync_lost_at: None,
        }
    }
}

/// A device's clock during a run.
#[derive(Debug, Clone)]
pub struct SyncedClock {
    spec: ClockSpec,
    drift: f64,
    seg_start: u64,
    seg_end: u64,
    residual: f64,
    /// `residual` rounded to whole nanoseconds, kept with it: a clock without drift reads
    /// `t` plus this at every query (a library call to round, at each of a TSN frame's
    /// several reads, before).
    residual_ns: i64,
    rng: ChaCha8Rng,
    /// Corrections applied so far.
    pub syncs: u64,
}

impl SyncedClock {
    /// A clock following `spec`, drawing its residuals from `rng`.
    pub fn new(spec: ClockSpec, rng: ChaCha8Rng) -> Self {
        let mut c = SyncedClock {
            drift: spec.drift_ppm * 1e-6,
            seg_start: 0,
            seg_end: u64::MAX,
            residual: spec.initial_offset_ns,
            residual_ns: spec.initial_offset_ns.round() as i64,
            rng,
            syncs: 0,
            spec,
        };
        c.seg_end = c.next_sync_after(0);
        c
    }

    fn next_sync_after(&self, t: u64) -> u64 {
        let i = self.spec.sync_interval_ns;
        if i == 0 {
            return u64::MAX;
        }
        let next = (t / i + 1).saturating_mul(i);
        match self.spec.sync_lost_at {
            Some(lost) if next >= lost => u64::MAX,
            _ => next,
        }
    }

    /// Moves to the sync interval holding `now`, applying the corrections on the way.
    pub fn advance(&mut self, now: u64) {
        while now >= self.seg_end {
            self.seg_start = self.seg_end;
            self.seg_end = self.next_sync_after(self.seg_start);
            let p = self.spec.precision_ns as f64;
            self.residual = if p > 0.0 {
                self.rng.random_range(-p..=p)
            } else {
                0.0
            };
            self.residual_ns = self.residual.round() as i64;
            self.syncs += 1;
        }
    }

    /// The clock's offset from network time at `t` (in the current interval), in ns.
    pub fn offset_ns(&self, t: u64) -> f64 {
        self.residual + self.drift * (t.saturating_sub(self.seg_start)) as f64
    }

    /// The local reading at simulated time `t` (at or after the last [`advance`](Self::advance)).
    pub fn local(&self, t: u64) -> i64 {
        if self.drift == 0.0 {
            return t as i64 + self.residual_ns;
        }
        t as i64 + self.offset_ns(t).round() as i64
    }

    /// The earliest simulated time at which the local clock reads at least `l`, or the end of
    /// the current sync interval if that comes first (the caller asks again from there, where
    /// a correction may have moved the clock).
    pub fn global(&self, l: i64) -> u64 {
        if self.drift == 0.0 {
            // A clock with a fixed offset: exact without iteration.
            let t = (l - self.residual_ns).max(self.seg_start as i64) as u64;
            return t.min(self.seg_end);
        }
        let s = self.seg_start as f64;
        let approx = s + (l as f64 - s - self.residual) / (1.0 + self.drift);
        let mut t = approx.ceil().max(self.seg_start as f64) as u64;
        if t >= self.seg_end {
            return self.seg_end;
        }
        while self.local(t) < l {
            t += 1;
        }
        while t > self.seg_start && self.local(t - 1) >= l {
            t -= 1;
        }
        t.min(self.seg_end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn clock(spec: ClockSpec) -> SyncedClock {
        SyncedClock::new(spec, ChaCha8Rng::seed_from_u64(1))
    }

    #[test]
    fn a_perfect_clock_is_network_time() {
        let c = clock(ClockSpec::perfect());
        assert_eq!(c.local(123_456), 123_456);
        assert_eq!(c.global(123_456), 123_456);
    }

    #[test]
    fn drift_accumulates_until_the_next_sync_pulls_it_back() {
        let mut c = clock(ClockSpec {
            drift_ppm: 100.0,
            initial_offset_ns: 0.0,
            sync_interval_ns: 1_000_000,
            precision_ns: 0,
            sync_lost_at: None,
        });
        // 100 ppm over 999 us: 99.9 ns fast.
        assert_eq!(c.local(999_000), 999_100);
        assert_eq!(c.global(999_100), 999_000);
        c.advance(1_000_000);
        assert_eq!(c.local(1_000_000), 1_000_000);
        assert_eq!(c.syncs, 1);
    }

    #[test]
    fn a_lost_sync_lets_the_clock_run_away() {
        let mut c = clock(ClockSpec {
            drift_ppm: 50.0,
            initial_offset_ns: 0.0,
            sync_interval_ns: 1_000_000,
            precision_ns: 0,
            sync_lost_at: Some(2_000_000),
        });
        c.advance(10_000_000_000);
        // Last corrected at 1 ms: 50 ppm of the 9.999 s since is 499.95 us.
        assert_eq!(c.local(10_000_000_000) - 10_000_000_000, 499_950);
        assert_eq!(c.syncs, 1);
    }

    /// A clock without drift reads network time plus its offset rounded to the
    /// nanosecond, the offset it started with and each one a correction drew after.
    #[test]
    fn a_clock_without_drift_reads_its_rounded_offset_through_corrections() {
        let mut c = clock(ClockSpec {
            drift_ppm: 0.0,
            initial_offset_ns: 2.6,
            sync_interval_ns: 1_000_000,
            precision_ns: 40,
            sync_lost_at: None,
        });
        assert_eq!(c.local(500), 503);
        assert_eq!(c.global(503), 500);
        let mut offsets = std::collections::BTreeSet::new();
        for k in 1..=20u64 {
            let t = k * 1_000_000 + 123;
            c.advance(t);
            let offset = c.offset_ns(t).round() as i64;
            offsets.insert(offset);
            assert_eq!(c.local(t), t as i64 + offset, "after correction {k}");
            assert_eq!(c.global(c.local(t)), t, "after correction {k}");
        }
        assert_eq!(c.syncs, 20);
        assert!(offsets.len() > 1, "the corrections drew different offsets");
    }
}
