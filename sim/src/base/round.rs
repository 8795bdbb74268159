//! Rounding to whole numbers (nanoseconds, register values) without a library call.
//!
//! `f64::round` (halves away from zero) compiles to a call into the runtime's software
//! routine on the baseline x86-64 target, which has no rounding instruction before SSE4.1:
//! about 70 instructions, paid at every reading of a drifting TSN clock, every start of a
//! task on a clock with a rate error and every value a PLC or remote I/O module puts into
//! a register, 3 % of the reference plant's hour's instructions (docs/src/performance.md,
//! "Rounding without the library call"). The truncating
//! conversion is one instruction and the remainder it leaves is exact, so a comparison gives
//! the same answer.

/// Magnitude from which every `f64` is a whole number (2^52).
const WHOLE: f64 = 4_503_599_627_370_496.0;

/// `x.round() as i64`, the same for every `x`: halves away from zero, out-of-range values
/// saturate and NaN gives 0, as the cast does.
#[inline]
pub fn round_i64(x: f64) -> i64 {
    if x.abs() < WHOLE {
        // |t| <= |x| < |t| + 1, both below 2^52: x - t is exact (Sterbenz).
        let t = x as i64;
        let rest = x - t as f64;
        // Flags, not branches: which way a clock's fraction falls is a coin toss, and a
        // mispredicted branch costs more than the library call saved.
        t + i64::from(rest >= 0.5) - i64::from(rest <= -0.5)
    } else {
        // Whole already, or infinite or NaN: the cast alone rounds as `round` would.
        x as i64
    }
}

/// `x.round() as u64`, the same for every `x`: negative values and NaN give 0, values past
/// `u64::MAX` saturate.
#[inline]
pub fn round_u64(x: f64) -> u64 {
    if (0.0..WHOLE).contains(&x) {
        let t = x as u64;
        t + u64::from(x - t as f64 >= 0.5)
    } else {
        x as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn check(x: f64) {
        assert_eq!(round_i64(x), x.round() as i64, "round_i64({x:e})");
        assert_eq!(round_u64(x), x.round() as u64, "round_u64({x:e})");
    }

    #[test]
    fn halves_and_their_neighbours_round_as_the_library_does() {
        for k in -1000i64..=1000 {
            let half = k as f64 + 0.5;
            for x in [half, half.next_up(), half.next_down(), k as f64] {
                check(x);
            }
        }
        // The classic trap of adding 0.5: the largest double below one half.
        check(0.5f64.next_down());
        check(-(0.5f64.next_down()));
    }

    #[test]
    fn every_magnitude_and_the_edges_round_as_the_library_does() {
        let edges = [
            0.0,
            -0.0,
            WHOLE,
            WHOLE.next_down(),
            WHOLE - 0.5,
            -WHOLE + 0.5,
            2f64.powi(53) + 2.0,
            9.3e18,
            -9.3e18,
            1.9e19,
            1e300,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for x in edges {
            check(x);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..200_000 {
            let exp = rng.random_range(-10..64);
            let mantissa: f64 = rng.random_range(-2.0..2.0);
            check(mantissa * 2f64.powi(exp));
        }
    }
}
