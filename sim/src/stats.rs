//! Small statistics for results: latency distributions kept exactly, so percentiles are
//! reproducible to the nanosecond.

use crate::time::SimDuration;
use serde::Serialize;

/// Every latency sample of one client, in nanoseconds.
#[derive(Debug, Default, Clone)]
pub struct LatencyStats {
    samples: Vec<u64>,
}

/// Summary in milliseconds for results.json.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LatencyStats {
    pub fn record(&mut self, d: SimDuration) {
        self.samples.push(d.as_nanos());
    }
    pub fn count(&self) -> usize {
        self.samples.len()
    }
    /// Percentiles by the nearest-rank method.
    pub fn summary(&self) -> LatencySummary {
        let mut s = self.samples.clone();
        s.sort_unstable();
        let ms = |ns: u64| (ns as f64 / 1e6 * 1e6).round() / 1e6;
        let rank = |p: f64| -> u64 {
            if s.is_empty() {
                return 0;
            }
            let idx = ((p / 100.0) * s.len() as f64).ceil() as usize;
            s[idx.clamp(1, s.len()) - 1]
        };
        let mean = if s.is_empty() {
            0
        } else {
            s.iter().sum::<u64>() / s.len() as u64
        };
        LatencySummary {
            count: s.len() as u64,
            mean_ms: ms(mean),
            p50_ms: ms(rank(50.0)),
            p95_ms: ms(rank(95.0)),
            p99_ms: ms(rank(99.0)),
            max_ms: ms(s.last().copied().unwrap_or(0)),
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
