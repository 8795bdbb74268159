//! Seeded randomness. One master seed; each subsystem draws from its own named stream, so
//! adding random draws in one subsystem never shifts the numbers another one sees.

use bevy_ecs::resource::Resource;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

/// The run's master seed, from which every stream is derived.
#[derive(Resource, Clone, Copy, Debug)]
pub struct MasterSeed(pub u64);

impl MasterSeed {
    /// A generator for the named stream (e.g. `"it-traffic/ws-01"`). The derivation is a
    /// fixed hash of seed and name, stable across platforms and releases.
    pub fn stream(&self, name: &str) -> ChaCha8Rng {
        let mut key = [0u8; 32];
        let mut h = fnv1a(&self.0.to_le_bytes(), FNV_OFFSET);
        h = fnv1a(name.as_bytes(), h);
        for (i, chunk) in key.chunks_mut(8).enumerate() {
            let word = splitmix64(h.wrapping_add(i as u64));
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        ChaCha8Rng::from_seed(key)
    }
}

/// A gap of a Poisson process with the given mean: exponentially distributed, drawn from
/// `rng`. Engineering sessions, IT exchanges and routine host activity all arrive this way.
pub fn exponential_gap(
    rng: &mut ChaCha8Rng,
    mean: crate::base::time::SimDuration,
) -> crate::base::time::SimDuration {
    use rand::RngExt;
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    crate::base::time::SimDuration::from_secs_f64(-u.ln() * mean.as_secs_f64())
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn same_seed_same_stream_and_streams_differ() {
        let a: u64 = MasterSeed(7).stream("hmi").random();
        let b: u64 = MasterSeed(7).stream("hmi").random();
        let c: u64 = MasterSeed(7).stream("it").random();
        let d: u64 = MasterSeed(8).stream("hmi").random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }
}
