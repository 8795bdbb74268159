//! A link's state as the frames crossing it use it: its transmitters' queues, its timing,
//! its frame count.

use crate::base::time::{SimDuration, SimTime};
use crate::net::topology::Link;

/// A link as frames use it, in one cache line: a frame crossing the link reads and writes
/// all of it at once. In a plant of thousands of PLCs each access link is crossed twice a
/// poll, far apart in time, and each crossing found its transmitter's state, its timing
/// (from the topology) and its frame count in three tables as long as the plant: three
/// cold reads where one does.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
pub(crate) struct LinkState {
    /// Per direction (a to b, b to a): when its transmitter is free again.
    pub(crate) busy_until: [SimTime; 2],
    /// Frames that crossed the link, both directions, live traffic included (what a
    /// network view draws as flows).
    pub(crate) frames: u64,
    /// The topology's rate and propagation delay.
    bandwidth_bps: u64,
    pub(crate) latency: SimDuration,
    /// Nanoseconds a bit takes when a whole number (every rate that divides 1 Gbit/s), else
    /// 0: the serialisation time is then a product, equal to the rounded-up quotient it
    /// stands for, instead of a 64-bit division.
    ns_per_bit: u64,
}

impl LinkState {
    pub(crate) fn new(link: &Link) -> Self {
        const NS_PER_S: u64 = 1_000_000_000;
        let bps = link.bandwidth_bps;
        LinkState {
            busy_until: [SimTime::ZERO; 2],
            frames: 0,
            bandwidth_bps: bps,
            latency: link.latency,
            ns_per_bit: if NS_PER_S.is_multiple_of(bps) {
                NS_PER_S / bps
            } else {
                0
            },
        }
    }

    /// Time to put `bits` on the wire, rounded up to the nanosecond. A flow of gigabytes
    /// at a few bits a second would outlast the clock: it saturates instead of wrapping.
    pub(crate) fn serialisation(&self, bits: u64) -> SimDuration {
        SimDuration(match self.ns_per_bit {
            0 => {
                let ns = (u128::from(bits) * 1_000_000_000).div_ceil(u128::from(self.bandwidth_bps));
                u64::try_from(ns).unwrap_or(u64::MAX)
            }
            per_bit => bits.saturating_mul(per_bit),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::topology::{HostId, LinkId};

    fn link(bandwidth_bps: u64) -> LinkState {
        LinkState::new(&Link {
            id: LinkId(0),
            a: HostId(0),
            b: HostId(1),
            bandwidth_bps,
            latency: SimDuration::from_micros(5),
        })
    }

    #[test]
    fn serialisation_is_the_rounded_up_quotient_whatever_the_rate() {
        // Rates that divide 1 Gbit/s (a product) and rates that do not (the division).
        for bps in [
            1_000_000_000,
            100_000_000,
            10_000_000,
            1_000_000,
            9_600,
            2_500_000_000,
            10_000_000_000,
            3,
        ] {
            let l = link(bps);
            for bits in [0, 1, 7, 512, 672, 1_000, 12_336, 1_000_003] {
                let want = (bits * 1_000_000_000u64).div_ceil(bps);
                assert_eq!(
                    l.serialisation(bits),
                    SimDuration(want),
                    "{bits} bits at {bps} bit/s"
                );
            }
        }
        // A minimum Ethernet frame with its preamble and gap (84 bytes) at 100 Mbit/s.
        assert_eq!(link(100_000_000).serialisation(84 * 8), SimDuration(6_720));
    }

    #[test]
    fn a_flow_too_long_for_the_clock_saturates() {
        // Four gigabytes in segments are about 3.5e10 bits, whose product with 10^9 does
        // not fit 64 bits: at 1 bit/s (a product) and at 3 bit/s (a division) the time
        // would be longer than the clock can hold.
        let bits = 35_000_000_000;
        assert_eq!(link(1).serialisation(bits), SimDuration(u64::MAX));
        assert_eq!(link(3).serialisation(100_000_000_000), SimDuration(u64::MAX));
        // At 9.6 kbit/s it still fits: 3.5e10 bits take 3.6458e15 ns, rounded up.
        assert_eq!(
            link(9_600).serialisation(bits),
            SimDuration(3_645_833_333_333_334)
        );
    }

    #[test]
    fn a_link_fits_one_cache_line() {
        assert_eq!(std::mem::size_of::<LinkState>(), 64);
    }
}
