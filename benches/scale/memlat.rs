//! What one cache miss costs on this machine, by working-set size: a chain of dependent
//! loads through a random cyclic permutation of 64-byte lines (each load's address is the
//! previous load's value, so nothing overlaps and the hardware cannot predict the next line).
//! A PLC scan at a large plant starts like this: the PLC due next is anywhere in memory.
//!
//!     rustc -O -o /tmp/memlat benches/scale/memlat.rs && /tmp/memlat
//!
//! (benches/scale/run.sh does not run it; docs/src/performance.md quotes it.)

use std::time::Instant;

/// A small deterministic generator (xorshift64*), enough to shuffle; no dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn main() {
    const LINE: usize = 8; // u64s per 64-byte line
    const HOPS: usize = 20_000_000;
    println!("{:>12} {:>18}", "WORKING_SET", "NS_PER_LOAD");
    for kib in [
        64,
        512,
        2 << 10,
        8 << 10,
        16 << 10,
        32 << 10,
        128 << 10,
        512 << 10,
    ] {
        let lines = kib * 1024 / 64;
        // Visit the lines in a random order, each pointing at the next: one cycle over all.
        let mut order: Vec<usize> = (0..lines).collect();
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        for i in (1..lines).rev() {
            order.swap(i, (next(&mut rng) % (i as u64 + 1)) as usize);
        }
        let mut chain = vec![0usize; lines * LINE];
        for w in 0..lines {
            chain[order[w] * LINE] = order[(w + 1) % lines] * LINE;
        }
        let mut at = 0;
        for _ in 0..lines {
            at = chain[at]; // once round, to fault the pages in
        }
        let start = Instant::now();
        for _ in 0..HOPS {
            at = chain[at];
        }
        let ns = start.elapsed().as_nanos() as f64 / HOPS as f64;
        println!("{:>9} KiB {:>18.1}   (end {at})", kib, ns);
    }
}
