//! A run is a pure function of (scenario, seed): the same seed gives the same bytes in every
//! deterministic output, and another seed gives another run.

mod common;

use common::{read_bytes, read_json, run_reference_ok};
use std::path::Path;

/// Ten simulated minutes of the reference plant with every output switched on. Frame logging
/// makes events.jsonl carry every frame, so its comparison is not of an empty file.
const ARGS: [&str; 4] = ["--duration", "10m", "--pcap", "--log-frames"];

fn run(out: &Path, seed: &str) {
    let mut args = ARGS.to_vec();
    args.extend(["--seed", seed]);
    run_reference_ok(out, &args);
}

/// Index and a few bytes around the first difference, for a readable failure.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let i = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let around =
        |v: &[u8]| String::from_utf8_lossy(&v[i.saturating_sub(60)..(i + 60).min(v.len())]).into_owned();
    format!(
        "lengths {} and {}, first difference at byte {i}:\n  a: {:?}\n  b: {:?}",
        a.len(),
        b.len(),
        around(a),
        around(b)
    )
}

#[test]
fn same_seed_gives_identical_outputs_and_another_seed_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
    run(&a, "7");
    run(&b, "7");
    run(&c, "8");

    for file in ["results.json", "events.jsonl", "capture.pcap"] {
        let (x, y) = (read_bytes(&a.join(file)), read_bytes(&b.join(file)));
        assert!(
            x == y,
            "{file} differs between two runs with seed 7: {}",
            first_difference(&x, &y)
        );
    }
    // The outputs compared above carry the run, not nothing.
    let events = std::fs::read_to_string(a.join("events.jsonl")).unwrap();
    assert!(
        events.lines().count() > 1000,
        "events.jsonl of a 10-minute run with --log-frames has only {} lines",
        events.lines().count()
    );
    assert!(
        events.contains("\"event\":\"frame_sent\""),
        "no frame_sent events logged"
    );
    assert!(
        read_bytes(&a.join("capture.pcap")).len() > 100_000,
        "capture.pcap is nearly empty"
    );
    // timing.json holds wall-clock values and is the one output allowed to differ.
    assert!(a.join("timing.json").is_file(), "timing.json missing");

    // Another seed: the seed itself is recorded, but the run must differ beyond it (device
    // start offsets, IT traffic, engineering sessions are all drawn from the seed).
    let (mut ra, mut rc) = (
        read_json(&a.join("results.json")),
        read_json(&c.join("results.json")),
    );
    assert_eq!(ra["seed"], 7);
    assert_eq!(rc["seed"], 8);
    ra.as_object_mut().unwrap().remove("seed");
    rc.as_object_mut().unwrap().remove("seed");
    assert_ne!(
        ra, rc,
        "results.json of seeds 7 and 8 are identical apart from the seed field"
    );
    assert_ne!(
        read_bytes(&a.join("capture.pcap")),
        read_bytes(&c.join("capture.pcap")),
        "capture.pcap of seeds 7 and 8 are identical"
    );
}
