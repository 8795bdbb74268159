//! One simulated hour of the reference exercise (benign operation), the figure the
//! simulation core's goal is stated in: under 0.36 s is 10,000x real time.
//!
//! `cargo bench --bench simulated_hour`

use criterion::{Criterion, criterion_group, criterion_main};
use otrange::scenario::Exercise;
use otrange_sim::base::time::{SimDuration, SimTime};
use std::path::Path;

fn hour(c: &mut Criterion) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/water-treatment.toml");
    let ex = Exercise::load(&file).expect("the reference exercise loads");
    let mut g = c.benchmark_group("reference plant");
    g.sample_size(10);
    g.bench_function("one simulated hour", |b| {
        b.iter(|| {
            let mut sim = ex.build(1).expect("the reference plant builds");
            sim.run_until(SimTime::ZERO + SimDuration::from_secs(3600));
            sim.ticks()
        });
    });
    g.finish();
}

criterion_group!(benches, hour);
criterion_main!(benches);
