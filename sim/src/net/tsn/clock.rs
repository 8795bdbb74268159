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

use crate::base::round::round_i64;

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
    /// The sync interval the clock is in.
    now: Interval,
    /// The residual of the interval after `now`, when a question about it came before the
    /// clock got there ([`Self::global_ahead`]). Each clock draws from its own stream, one
    /// residual per correction in order, so drawing one early changes no value.
    next_residual: Option<f64>,
    rng: ChaCha8Rng,
    /// Corrections applied so far.
    pub syncs: u64,
}

/// One sync interval's mapping from network time to the clock's reading.
#[derive(Debug, Clone, Copy)]
struct Interval {
    start: u64,
    end: u64,
    residual: f64,
    /// `residual` rounded to whole nanoseconds, kept with it: a clock without drift reads
    /// `t` plus this at every query (a rounding, at each of a TSN frame's
    /// several reads, before).
    residual_ns: i64,
}

impl Interval {
    fn new(start: u64, end: u64, residual: f64) -> Interval {
        Interval {
            start,
            end,
            residual,
            residual_ns: round_i64(residual),
        }
    }

    fn offset_ns(&self, drift: f64, t: u64) -> f64 {
        self.residual + drift * (t.saturating_sub(self.start)) as f64
    }

    fn local(&self, drift: f64, t: u64) -> i64 {
        if drift == 0.0 {
            return t as i64 + self.residual_ns;
        }
        t as i64 + round_i64(self.offset_ns(drift, t))
    }

    fn global(&self, drift: f64, l: i64) -> u64 {
        if drift == 0.0 {
            // A clock with a fixed offset: exact without iteration.
            let t = (l - self.residual_ns).max(self.start as i64) as u64;
            return t.min(self.end);
        }
        // The offset changes by a fraction of a nanosecond over the offset itself, so `l`
        // less the offset at `l` is within a nanosecond or so of the answer: no division.
        let s = self.start as i64;
        let at = l.max(s);
        let mut t = (at - (self.local(drift, at as u64) - at)).max(s) as u64;
        while self.local(drift, t) < l {
            t += 1;
            if t >= self.end {
                return self.end;
            }
        }
        while t > self.start && self.local(drift, t - 1) >= l {
            t -= 1;
        }
        t.min(self.end)
    }
}

impl SyncedClock {
    /// A clock following `spec`, drawing its residuals from `rng`.
    pub fn new(spec: ClockSpec, rng: ChaCha8Rng) -> Self {
        let mut c = SyncedClock {
            drift: spec.drift_ppm * 1e-6,
            now: Interval::new(0, u64::MAX, spec.initial_offset_ns),
            next_residual: None,
            rng,
            syncs: 0,
            spec,
        };
        c.now.end = c.next_sync_after(0);
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

    /// A correction's residual offset, within the sync's precision.
    fn draw_residual(&mut self) -> f64 {
        let p = self.spec.precision_ns as f64;
        if p > 0.0 {
            self.rng.random_range(-p..=p)
        } else {
            0.0
        }
    }

    /// The interval after the current one, its residual drawn if it was not yet.
    fn next_interval(&mut self) -> Interval {
        let residual = match self.next_residual {
            Some(r) => r,
            None => {
                let r = self.draw_residual();
                self.next_residual = Some(r);
                r
            }
        };
        let start = self.now.end;
        Interval::new(start, self.next_sync_after(start), residual)
    }

    /// Moves to the sync interval holding `now`, applying the corrections on the way.
    pub fn advance(&mut self, now: u64) {
        while now >= self.now.end {
            self.now = self.next_interval();
            self.next_residual = None;
            self.syncs += 1;
        }
    }

    /// The clock's offset from network time at `t` (in the current interval), in ns.
    pub fn offset_ns(&self, t: u64) -> f64 {
        self.now.offset_ns(self.drift, t)
    }

    /// The local reading at simulated time `t` (at or after the last [`advance`](Self::advance)).
    pub fn local(&self, t: u64) -> i64 {
        self.now.local(self.drift, t)
    }

    /// The earliest simulated time at which the local clock reads at least `l`, or the end of
    /// the current sync interval if that comes first (the caller asks again from there, where
    /// a correction may have moved the clock).
    pub fn global(&self, l: i64) -> u64 {
        self.now.global(self.drift, l)
    }

    /// As [`Self::global`], looking past the current interval's end into the next, as the
    /// clock will read there after its correction: a talker's release that falls just past
    /// a correction is then scheduled once, not first at the correction to be asked again
    /// (one event a stream a sync interval, 115,200 in the reference plant's hour). The end
    /// of the next interval if `l` lies past that too.
    pub fn global_ahead(&mut self, l: i64) -> u64 {
        let t = self.global(l);
        if t < self.now.end || self.now.end == u64::MAX {
            return t;
        }
        self.next_interval().global(self.drift, l)
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

    /// A release just past a correction, asked about before it: the answer is the one the
    /// clock gives once corrected, and asking early changes none of its later readings.
    #[test]
    fn looking_past_a_correction_reads_the_clock_it_will_be() {
        let spec = ClockSpec {
            drift_ppm: 80.0,
            initial_offset_ns: 300.0,
            sync_interval_ns: 1_000_000,
            precision_ns: 500,
            sync_lost_at: None,
        };
        let (mut early, mut late) = (clock(spec.clone()), clock(spec));
        for k in 0..50u64 {
            let now = k * 1_000_000 + 990_000;
            early.advance(now);
            late.advance(now);
            // Due 20 µs on the local clock: past this interval's end.
            let due = early.local(now) + 20_000;
            assert_eq!(early.global(due), (k + 1) * 1_000_000, "stops at the correction");
            let ahead = early.global_ahead(due);
            late.advance((k + 1) * 1_000_000);
            assert_eq!(ahead, late.global(due), "interval {k}");
            assert!(late.local(ahead) >= due && late.local(ahead - 1) < due);
            early.advance(ahead);
            assert_eq!(early.local(ahead), late.local(ahead));
        }
        assert_eq!(early.syncs, late.syncs);
        // Past the next interval too: its end, where the caller asks again.
        let now = early.now.start;
        assert_eq!(early.global_ahead(early.local(now) + 2_500_000), now + 2_000_000);
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

    /// The time a drifting clock reaches a reading is the first nanosecond at which it
    /// does, found by walking the clock one nanosecond at a time, or the interval's end.
    #[test]
    fn a_drifting_clock_reaches_a_reading_at_the_first_nanosecond_it_shows_it() {
        for (drift_ppm, initial_offset_ns) in [(80.0, 300.4), (-120.0, -250.5), (0.5, 0.5)] {
            let mut c = clock(ClockSpec {
                drift_ppm,
                initial_offset_ns,
                sync_interval_ns: 100_000,
                precision_ns: 700,
                sync_lost_at: None,
            });
            for k in 0..20u64 {
                let start = k * 100_000;
                c.advance(start);
                let first = c.local(start);
                let last = c.local(start + 99_999);
                // Readings in order: the walk goes on from where the last one stopped.
                let mut walked = start;
                for l in (first - 3)..=(last + 3) {
                    while walked < start + 100_000 && c.local(walked) < l {
                        walked += 1;
                    }
                    assert_eq!(c.global(l), walked, "drift {drift_ppm} interval {k} reading {l}");
                }
            }
        }
    }
}
