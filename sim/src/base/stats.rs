//! Small statistics for results: latency distributions kept exactly, so percentiles are
//! reproducible to the nanosecond.

use crate::base::time::SimDuration;
use serde::Serialize;
use std::collections::BTreeMap;

/// Every latency sample of one client, in nanoseconds, as a count per distinct value: exact
/// (percentiles to the nanosecond) yet small, because a simulated control loop repeats the
/// same few latencies millions of times a day.
#[derive(Debug, Default, Clone)]
pub struct LatencyStats {
    counts: BTreeMap<u64, u64>,
    n: u64,
    sum: u128,
}

/// Summary in milliseconds for results.json.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Mean latency in milliseconds, rounded to the nanosecond (0 without samples).
    pub mean_ms: f64,
    /// Median (nearest rank), in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile (nearest rank), in milliseconds.
    pub p95_ms: f64,
    /// 99th percentile (nearest rank), in milliseconds.
    pub p99_ms: f64,
    /// Largest sample, in milliseconds.
    pub max_ms: f64,
}

impl LatencyStats {
    /// Adds one sample, kept to the nanosecond.
    pub fn record(&mut self, d: SimDuration) {
        *self.counts.entry(d.as_nanos()).or_default() += 1;
        self.n += 1;
        self.sum += u128::from(d.as_nanos());
    }
    /// Number of samples recorded.
    pub fn count(&self) -> usize {
        self.n as usize
    }
    /// The sample of nearest rank `p` percent (the smallest value with at least p % of the
    /// samples at or below it).
    fn rank(&self, p: f64) -> u64 {
        if self.n == 0 {
            return 0;
        }
        let want = (((p / 100.0) * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0;
        for (&v, &c) in &self.counts {
            seen += c;
            if seen >= want {
                return v;
            }
        }
        0
    }
    /// Percentiles by the nearest-rank method.
    pub fn summary(&self) -> LatencySummary {
        let ms = |ns: u64| (ns as f64 / 1e6 * 1e6).round() / 1e6;
        let mean = if self.n == 0 {
            0
        } else {
            (self.sum / u128::from(self.n)) as u64
        };
        LatencySummary {
            count: self.n,
            mean_ms: ms(mean),
            p50_ms: ms(self.rank(50.0)),
            p95_ms: ms(self.rank(95.0)),
            p99_ms: ms(self.rank(99.0)),
            max_ms: ms(self.counts.keys().next_back().copied().unwrap_or(0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut l = LatencyStats::default();
        for ms in 1..=100 {
            l.record(SimDuration::from_millis(ms));
        }
        let s = l.summary();
        assert_eq!(s.count, 100);
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p95_ms, 95.0);
        assert_eq!(s.max_ms, 100.0);
        assert_eq!(s.mean_ms, 50.5);
    }
}
