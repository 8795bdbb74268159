//! A run is set at a calendar time a SIEM accepts: the exercise's `start` (default
//! 2025-01-01T00:00:00Z), from which EVE alerts, pcap timestamps and the event log's
//! `run_started` take their times. Deterministic all the same.

mod common;

use common::{describe, otrange, repo_path, tshark_read};
use std::path::Path;

/// The Oldsmar exercise, copied into `dir` (its files named by absolute path) with
/// `start` set, or not.
fn exercise(dir: &Path, start: Option<&str>) -> std::path::PathBuf {
    let scenarios = repo_path("scenarios");
    let mut text = std::fs::read_to_string(scenarios.join("oldsmar.toml")).unwrap();
    for d in ["water-treatment/", "playbooks/", "detectors/", "policies/"] {
        text = text.replace(&format!("\"{d}"), &format!("\"{}/{d}", scenarios.display()));
    }
    if let Some(s) = start {
        text = text.replacen("[exercise]\n", &format!("[exercise]\nstart = \"{s}\"\n"), 1);
    }
    let file = dir.join("exercise.toml");
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn alerts_pcap_and_events_carry_times_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = exercise(dir.path(), Some("2024-01-22T06:00:00Z"));
    let out = dir.path().join("out");
    let o = otrange([
        "run",
        file.to_str().unwrap(),
        "--duration",
        "12m",
        "--pcap",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", describe(&o));

    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
    assert_eq!(first["event"], "run_started");
    assert_eq!(first["start"], "2024-01-22T06:00:00Z");
    assert_eq!(first["start_unix_ns"], 1_705_903_200_000_000_000u64);

    // Oldsmar's step 2 (RDP through the VPN gateway, about 10.5 min in) raises an alert.
    let eve = std::fs::read_to_string(out.join("alerts.eve.json")).unwrap();
    let alert: serde_json::Value = serde_json::from_str(eve.lines().next().expect("an alert")).unwrap();
    let ts = alert["timestamp"].as_str().unwrap();
    assert!(ts.starts_with("2024-01-22T06:10:"), "{ts}");

    // Wireshark reads the same calendar: the first frame is within the first seconds.
    let t0: f64 = tshark_read(
        &out.join("capture.pcap"),
        &["-c", "1", "-T", "fields", "-e", "frame.time_epoch"],
    )
    .trim()
    .parse()
    .unwrap();
    assert!((1_705_903_200.0..1_705_903_210.0).contains(&t0), "{t0}");
}

#[test]
fn the_default_start_is_2025_and_a_bad_one_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let file = exercise(dir.path(), None);
    let out = dir.path().join("out");
    let o = otrange([
        "run",
        file.to_str().unwrap(),
        "--duration",
        "1s",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", describe(&o));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["start"], "2025-01-01T00:00:00Z");

    let bad_dir = dir.path().join("bad");
    std::fs::create_dir_all(&bad_dir).unwrap();
    let file = exercise(&bad_dir, Some("2024-01-22 06:00"));
    let o = otrange(["check", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("exercise.toml:6:9: exercise.start: invalid start \"2024-01-22 06:00\""),
        "{err}"
    );
}
