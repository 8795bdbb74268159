//! HMI poll latency is a property of the plant, not of the seed: over seeds 1-20 the
//! reference plant's hmi-1 p50 and p99 stay within a few milliseconds of each other,
//! because PLC scans and poll loops keep time as real devices do (clock drift, jitter).
//! The same plant on perfect clocks is phase-locked, and its latency is the seed's.

mod common;

use common::{read_json, reference_exercise, repo_path, run_exercise};
use std::path::Path;

const SEEDS: std::ops::RangeInclusive<u64> = 1..=20;

/// hmi-1's (p50, p99) in ms for each seed, over ten simulated minutes of `exercise`.
fn latencies(exercise: &Path, out: &Path) -> Vec<(u64, f64, f64)> {
    SEEDS
        .map(|seed| {
            let dir = out.join(seed.to_string());
            let o = run_exercise(
                exercise,
                &dir,
                &["--duration", "10m", "--seed", &seed.to_string()],
            );
            assert!(o.status.success(), "{}", common::describe(&o));
            let r = read_json(&dir.join("results.json"));
            let hmi = &r["hmis"][0];
            assert_eq!(hmi["name"], "hmi-1");
            let l = &hmi["latency"];
            (seed, l["p50_ms"].as_f64().unwrap(), l["p99_ms"].as_f64().unwrap())
        })
        .collect()
}

/// Spread (max - min) of the p50s and the p99s, printed per seed for the record.
fn spread(label: &str, rows: &[(u64, f64, f64)]) -> (f64, f64) {
    let range = |f: fn(&(u64, f64, f64)) -> f64| {
        let v: Vec<f64> = rows.iter().map(f).collect();
        let max = v.iter().copied().fold(f64::MIN, f64::max);
        let min = v.iter().copied().fold(f64::MAX, f64::min);
        (min, max)
    };
    let (p50_lo, p50_hi) = range(|r| r.1);
    let (p99_lo, p99_hi) = range(|r| r.2);
    eprintln!(
        "{label}: hmi-1 over seeds 1-20, p50 {p50_lo:.1}..{p50_hi:.1} ms, p99 {p99_lo:.1}..{p99_hi:.1} ms"
    );
    for (seed, p50, p99) in rows {
        eprintln!("  seed {seed:2}: p50 {p50:6.1} ms  p99 {p99:6.1} ms");
    }
    (p50_hi - p50_lo, p99_hi - p99_lo)
}

#[test]
fn hmi_latency_does_not_depend_on_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let rows = latencies(&reference_exercise(), dir.path());
    let (p50, p99) = spread("drift and jitter (defaults)", &rows);
    // A 100 ms scan served at its end: p50 about half a scan, p99 about a whole one,
    // whatever the seed.
    assert!(p50 < 5.0, "p50 spread {p50:.1} ms over seeds 1-20");
    assert!(p99 < 5.0, "p99 spread {p99:.1} ms over seeds 1-20");
    assert!(rows.iter().all(|r| (40.0..65.0).contains(&r.1)), "{rows:?}");

    // The same plant with perfect clocks: each HMI keeps the phase its start offset gave
    // it, so the latency is the seed's (this is what the timing model is for).
    let locked = dir.path().join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    let plant = std::fs::read_to_string(repo_path("scenarios/water-treatment/plant.toml")).unwrap();
    let perfect = plant
        .replace("[[plc]]\n", "[[plc]]\njitter = \"0s\"\ndrift_ppm = 0\n")
        .replace("[[hmi]]\n", "[[hmi]]\njitter = \"0s\"\ndrift_ppm = 0\n");
    assert_ne!(perfect, plant);
    std::fs::write(locked.join("plant.toml"), perfect).unwrap();
    let exercise = std::fs::read_to_string(reference_exercise())
        .unwrap()
        .replace("water-treatment/plant.toml", "plant.toml");
    std::fs::write(locked.join("exercise.toml"), exercise).unwrap();
    let rows = latencies(&locked.join("exercise.toml"), &locked.join("runs"));
    let (p50, _) = spread("perfect clocks", &rows);
    assert!(
        p50 > 40.0,
        "perfect clocks should phase-lock: p50 spread only {p50:.1} ms"
    );
}
