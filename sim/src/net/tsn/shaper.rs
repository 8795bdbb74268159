//! The IEEE 802.1Qav credit-based shaper (802.1Q-2018 §8.6.8.2): a class may start a frame
//! only while its credit is not negative. Credit grows at the idle slope while frames of the
//! class wait, falls at the send slope (idle slope minus the port's rate) while one is sent,
//! is reset to zero when the queue empties with credit to spare, and recovers to zero at
//! the idle slope when it empties in debt. The long-run rate of a busy class is therefore
//! its idle slope, counted in bits on the wire (preamble to inter-frame gap).
//!
//! The state is kept lazily: it changes only at the port's events (a frame queued, started
//! or finished), so the credit at any instant follows from the last event and the state
//! since, without ticking.

/// What a class was doing since the shaper's last update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassState {
    /// No frame of the class queued.
    Empty,
    /// Frames waiting; none being sent.
    Waiting,
    /// One of its frames on the wire.
    Sending,
}

/// One class's credit-based shaper. Credit is kept exactly, in bit-nanoseconds per second
/// (bits x 10^9), so slopes in b/s times nanoseconds are whole numbers and long runs do not
/// drift by rounding.
#[derive(Debug, Clone)]
pub struct CreditShaper {
    /// Bits per second the class is reserved.
    pub idle_slope_bps: i128,
    /// Idle slope minus the port's rate (negative).
    pub send_slope_bps: i128,
    /// Upper bound of the credit (bits x 10^9).
    pub hi_credit: i128,
    /// Lower bound of the credit (bits x 10^9, negative).
    pub lo_credit: i128,
    credit: i128,
    since_ns: u64,
    state: ClassState,
}

const SCALE: i128 = 1_000_000_000;

impl CreditShaper {
    /// A shaper reserving `idle_slope_bps` of a port of `port_bps`. The credit bounds are
    /// the standard's (802.1Q-2018 Annex L): hiCredit from the largest frame that can delay
    /// the class (`max_interference_bits`), loCredit from the class's own largest frame.
    pub fn new(idle_slope_bps: u64, port_bps: u64, max_interference_bits: u64, max_frame_bits: u64) -> Self {
        let idle = i128::from(idle_slope_bps);
        let port = i128::from(port_bps);
        let send = idle - port;
        CreditShaper {
            idle_slope_bps: idle,
            send_slope_bps: send,
            hi_credit: i128::from(max_interference_bits) * idle * SCALE / port,
            lo_credit: i128::from(max_frame_bits) * send * SCALE / port,
            credit: 0,
            since_ns: 0,
            state: ClassState::Empty,
        }
    }

    /// The credit at `now` in bits, given the state held since the last update.
    pub fn credit_bits(&self, now: u64) -> f64 {
        self.credit_at(now) as f64 / SCALE as f64
    }

    fn credit_at(&self, now: u64) -> i128 {
        let dt = i128::from(now.saturating_sub(self.since_ns));
        match self.state {
            ClassState::Sending => (self.credit + self.send_slope_bps * dt).max(self.lo_credit),
            ClassState::Waiting => (self.credit + self.idle_slope_bps * dt).min(self.hi_credit),
            ClassState::Empty if self.credit < 0 => (self.credit + self.idle_slope_bps * dt).min(0),
            ClassState::Empty => 0,
        }
    }

    /// Whether the class has no credit at `now`.
    pub fn in_debt(&self, now: u64) -> bool {
        self.credit_at(now) < 0
    }

    /// Brings the credit up to `now` and records the class's state from now on.
    pub fn update(&mut self, now: u64, state: ClassState) {
        self.credit = self.credit_at(now);
        if state == ClassState::Empty && self.credit > 0 {
            self.credit = 0;
        }
        self.since_ns = now.max(self.since_ns);
        self.state = state;
    }

    /// When a waiting class's credit reaches zero (now, if it is not negative).
    pub fn eligible_at(&self, now: u64) -> u64 {
        let c = self.credit_at(now);
        if c >= 0 {
            return now;
        }
        let idle = self.idle_slope_bps;
        now + ((-c + idle - 1) / idle) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_falls_while_sending_and_recovers_at_the_idle_slope() {
        // 25 Mb/s of a 100 Mb/s port; a 1,000-bit frame takes 10 us.
        let mut s = CreditShaper::new(25_000_000, 100_000_000, 12_336, 12_336);
        s.update(0, ClassState::Sending);
        // Send slope -75 Mb/s: after 10 us, -750 bits.
        assert_eq!(s.credit_bits(10_000), -750.0);
        s.update(10_000, ClassState::Waiting);
        // 750 bits at 25 Mb/s: 30 us.
        assert_eq!(s.eligible_at(10_000), 40_000);
        s.update(40_000, ClassState::Empty);
        assert_eq!(s.credit_bits(1_000_000), 0.0);
    }

    #[test]
    fn positive_credit_is_dropped_when_the_queue_empties() {
        let mut s = CreditShaper::new(25_000_000, 100_000_000, 12_336, 12_336);
        s.update(0, ClassState::Waiting);
        assert!(s.credit_bits(100_000) > 0.0);
        s.update(100_000, ClassState::Empty);
        assert_eq!(s.credit_bits(100_000), 0.0);
        // Credit never exceeds hiCredit however long the class waits.
        s.update(100_000, ClassState::Waiting);
        assert_eq!(s.credit_at(10_000_000_000), s.hi_credit);
    }
}
