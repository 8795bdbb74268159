//! Request capacity of a PLC CPU, as a token bucket in simulated time.
//!
//! Real PLC CPUs serve Modbus in a communication time slice of their scan
//! cycle and can only handle so many requests per second; a flood (an
//! attacker's scanner, a misconfigured historian) makes them answer
//! "server device busy" (exception 6) or stop answering. The range needs
//! that behaviour to be reproducible, so the model is:
//!
//! * The bucket holds at most `burst` tokens and starts full (an idle CPU).
//! * It refills at `capacity_rps` tokens per simulated second, computed from
//!   the difference between the `now_ns` of successive requests with exact
//!   integer arithmetic (the level is kept in units of 1e-9 token, so no
//!   rounding drift accumulates). Time going backwards refills nothing.
//! * Every request that the device would process costs one token.
//! * With no whole token left, the request is refused according to
//!   [`OverloadPolicy`]; a refused request costs nothing (answering "busy" is
//!   what the communication processor does without involving the CPU).
//!
//! No clock and no randomness: the same request times give the same answers.

use serde::Deserialize;

/// Fixed-point scale: one token is this many bucket units.
const UNITS_PER_TOKEN: u128 = 1_000_000_000;

/// What an overloaded device does with a request it cannot serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OverloadPolicy {
    /// Answer exception 6 (server device busy).
    #[default]
    Busy,
    /// Send no answer at all (the client times out).
    Drop,
}

/// Token bucket in simulated time; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBucket {
    rate_per_s: u64,
    burst: u64,
    /// Current level in 1e-9 tokens, at most `burst * UNITS_PER_TOKEN`.
    level: u128,
    /// Simulated time of the last refill.
    last_ns: u64,
}

impl TokenBucket {
    /// A full bucket. `rate_per_s` and `burst` are raised to at least 1.
    pub fn new(rate_per_s: u64, burst: u64) -> Self {
        let burst = burst.max(1);
        Self {
            rate_per_s: rate_per_s.max(1),
            burst,
            level: u128::from(burst) * UNITS_PER_TOKEN,
            last_ns: 0,
        }
    }

    /// Default burst for a rate: a tenth of a second of capacity, at least 1.
    pub fn default_burst(rate_per_s: u64) -> u64 {
        (rate_per_s / 10).max(1)
    }

    /// Refill rate in tokens per simulated second.
    pub fn rate_per_s(&self) -> u64 {
        self.rate_per_s
    }

    /// Bucket size in tokens.
    pub fn burst(&self) -> u64 {
        self.burst
    }

    fn refill(&mut self, now_ns: u64) {
        if now_ns > self.last_ns {
            let dt = u128::from(now_ns - self.last_ns);
            let cap = u128::from(self.burst) * UNITS_PER_TOKEN;
            self.level = self
                .level
                .saturating_add(dt.saturating_mul(u128::from(self.rate_per_s)))
                .min(cap);
            self.last_ns = now_ns;
        }
    }

    /// Whole tokens available at `now_ns` (refills as a side effect).
    pub fn available(&mut self, now_ns: u64) -> u64 {
        self.refill(now_ns);
        // level <= burst * UNITS, so the quotient fits in u64.
        (self.level / UNITS_PER_TOKEN) as u64
    }

    /// Takes one token if there is one; returns whether the request may be served.
    pub fn try_acquire(&mut self, now_ns: u64) -> bool {
        self.refill(now_ns);
        if self.level >= UNITS_PER_TOKEN {
            self.level -= UNITS_PER_TOKEN;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let mut b = TokenBucket::new(200, 20);
        let served = (0..100).filter(|_| b.try_acquire(0)).count();
        assert_eq!(served, 20, "a full bucket serves `burst` requests at once");
        // 5 ms at 200/s = exactly one token.
        assert!(!b.try_acquire(4_999_999));
        assert!(b.try_acquire(5_000_000));
        assert!(!b.try_acquire(5_000_000));
        // A long pause fills the bucket up to `burst`, no more.
        assert_eq!(b.available(10_000_000_000), 20);
        // Time going backwards refills nothing and does not panic.
        assert!(b.try_acquire(1));
        assert_eq!(b.available(1), 19);
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let mut b = TokenBucket::new(u64::MAX, u64::MAX);
        assert!(b.try_acquire(u64::MAX));
        assert_eq!(TokenBucket::default_burst(5), 1);
        assert_eq!(TokenBucket::default_burst(200), 20);
    }
}
