//! Rounding to an integer as `f64::round` (nearest, halves away from zero) and `f64::ceil`
//! do, without their library calls.
//!
//! x86-64's baseline instruction set has no rounding instruction (SSE4.1's `roundsd` is
//! not in it), so `f64::round` and `f64::ceil` compile to calls into the runtime's
//! software routines (about 45 instructions for `round`). Every PLC scan rounds three times (its next due time, its input
//! image, its outputs), which made the routine about 1 % of a 1,000-PLC run's time
//! (`perf record`). Truncation by a cast is one instruction, and below 2^52 the fraction
//! it leaves is exact, so rounding by it gives the same result; at and above 2^52 every
//! `f64` is already an integer.

/// `x.round()`: the same value and the same sign of zero; infinities as they are, NaN a
/// NaN (its payload not made quiet, which no caller can see: each maps NaN to 0 first).
pub fn round(x: f64) -> f64 {
    // 2^52: from here on every f64 is an integer (and NaN fails the test).
    const INTEGERS_FROM: f64 = 4_503_599_627_370_496.0;
    if x.abs() < INTEGERS_FROM {
        let t = x as i64 as f64;
        let fraction = x - t;
        let r = if fraction >= 0.5 {
            t + 1.0
        } else if fraction <= -0.5 {
            t - 1.0
        } else {
            t
        };
        // -0.4 rounds to -0.0, as `round` does.
        r.copysign(x)
    } else {
        x
    }
}

/// `x.ceil()`, the same way: the same value and sign of zero; infinities as they are, NaN
/// a NaN.
pub fn ceil(x: f64) -> f64 {
    const INTEGERS_FROM: f64 = 4_503_599_627_370_496.0;
    if x.abs() < INTEGERS_FROM {
        let t = x as i64 as f64;
        // Truncation moved a positive fraction down, a negative one already up.
        let r = if x > t { t + 1.0 } else { t };
        // -0.4 goes up to -0.0, as `ceil` does.
        r.copysign(x)
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_library_round_and_ceil_bit_for_bit() {
        let mut cases = vec![
            0.0,
            -0.0,
            0.49999999999999994,
            -0.49999999999999994,
            0.5,
            -0.5,
            1.5,
            -2.5,
            65535.5,
            -32768.5,
            4_503_599_627_370_495.5,  // 2^52 - 0.5
            -4_503_599_627_370_495.5, //
            4_503_599_627_370_497.0,  // 2^52 + 1
            9_007_199_254_740_993.0,  // past 2^53
            1.8446744073709552e19,    // 2^64
            1e300,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Values with random fractions around every magnitude a scan meets, and any
            // double at all.
            let v = (x >> 12) as f64 / 256.0;
            cases.extend([v, -v, v / 1e6, f64::from_bits(x)]);
        }
        for c in cases {
            if c.is_nan() {
                assert!(round(c).is_nan() && ceil(c).is_nan());
            } else {
                assert_eq!(round(c).to_bits(), c.round().to_bits(), "round {c:e}");
                assert_eq!(ceil(c).to_bits(), c.ceil().to_bits(), "ceil {c:e}");
            }
        }
    }
}
