//! The reference plant's TSN cell (the filtration line's PLC and its two remote I/O modules
//! on a switch with a gate schedule) under the attacks and defences that touch timing: a
//! flood from a laptop on the cell switch, and an inline inspection in it. And its frames
//! as Wireshark sees them. (Its 24 benign hours: tests/benign_day.rs.)

mod common;

use common::{read_json, repo_path, run_results, tshark_read};
use serde_json::Value;
use std::path::Path;

fn stream<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["tsn"]["streams"]
        .as_array()
        .expect("results.json has tsn.streams")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stream {name} in {}", r["tsn"]))
}

fn misses(r: &Value, name: &str) -> u64 {
    stream(r, name)["deadline_misses"].as_u64().unwrap()
}

/// Events of one kind from events.jsonl.
fn events(dir: &Path, kind: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event"] == kind)
        .collect()
}

#[test]
fn a_flood_in_the_io_priority_makes_the_io_late_and_says_where_and_a_best_effort_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_results(
        &repo_path("scenarios/tsn-flood.toml"),
        dir.path(),
        &["--no-report"],
    );
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    // The flood goes to rio-filter-1: the PLC's frames to it share the switch's port.
    let late = stream(&r, "rio-filter-1/out");
    assert!(misses(&r, "rio-filter-1/out") > 100, "{late}");
    let causes = late["misses_by_cause"].as_object().unwrap();
    assert!(
        causes
            .keys()
            .all(|k| k.starts_with("sw-tsn-filter, queue 7: queued behind")),
        "{causes:?}"
    );
    assert!(
        late["drops_by_cause"]["sw-tsn-filter: TSN queue 7 full"]
            .as_u64()
            .unwrap()
            > 0,
        "{late}"
    );
    // Nothing else in the cell was late.
    for other in ["rio-filter-1/in", "rio-filter-2/in", "rio-filter-2/out"] {
        assert_eq!(misses(&r, other), 0, "{}", stream(&r, other));
    }
    // The best-effort minute (step 1) left every frame on time: the first late frame comes
    // after the tagged flood (step 2) starts.
    let started: Vec<f64> = events(dir.path(), "step_started")
        .iter()
        .map(|e| e["t"].as_f64().unwrap())
        .collect();
    assert_eq!(started.len(), 2);
    let first_miss = events(dir.path(), "stream_deadline_missed")[0]["t"]
        .as_f64()
        .unwrap();
    assert!(
        first_miss >= started[1],
        "first miss at {first_miss}, steps at {started:?}"
    );
    let port = r["tsn"]["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sw-tsn-filter -> rio-filter-1")
        .unwrap();
    // Class 1 (best effort) carried the first flood, class 7 the second.
    assert!(port["sent"][1].as_u64().unwrap() > 100_000, "{port}");
    assert!(port["dropped"][7].as_u64().unwrap() > 1000, "{port}");
}

#[test]
fn an_inline_inspection_longer_than_the_slack_makes_every_io_frame_late_there() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_results(
        &repo_path("scenarios/tsn-inspection.toml"),
        dir.path(),
        &["--no-report"],
    );
    for name in [
        "rio-filter-1/in",
        "rio-filter-1/out",
        "rio-filter-2/in",
        "rio-filter-2/out",
    ] {
        let s = stream(&r, name);
        assert_eq!(s["deadline_misses"], s["delivered"], "{s}");
        let causes: Vec<&String> = s["misses_by_cause"].as_object().unwrap().keys().collect();
        assert_eq!(causes, ["sw-tsn-filter, queue 7: inline inspection delay"], "{s}");
    }
    let miss = &events(dir.path(), "stream_deadline_missed")[0];
    assert_eq!(miss["node"], "sw-tsn-filter");
    assert!(
        miss["waits"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("gate closed")),
        "the late frame then missed its window too: {miss}"
    );
    // Within the slack, the same inspection costs no deadline.
    let small = dir.path().join("small-ips.toml");
    let text = std::fs::read_to_string(repo_path("scenarios/detectors/tsn-cell-ips.toml"))
        .unwrap()
        .replace("inspection_delay = \"600us\"", "inspection_delay = \"100us\"")
        .replace(
            "rules/plant-modbus.rules",
            &repo_path("scenarios/detectors/rules/plant-modbus.rules")
                .display()
                .to_string(),
        );
    std::fs::write(&small, text).unwrap();
    let out2 = dir.path().join("small");
    let r = run_results(
        &repo_path("scenarios/tsn-inspection.toml"),
        &out2,
        &[
            "--no-report",
            "--detectors",
            small.to_str().unwrap(),
            "--duration",
            "2m",
        ],
    );
    let s = stream(&r, "rio-filter-1/in");
    assert_eq!(s["deadline_misses"], 0, "{s}");
    // 100 us of inspection on a 21.08 us path.
    assert_eq!(s["latency"]["max_ns"], 121_080, "{s}");
}

#[test]
fn wireshark_shows_the_io_frames_with_their_8021q_priority() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_results(
        &repo_path("scenarios/water-treatment.toml"),
        dir.path(),
        &["--no-report", "--pcap", "--duration", "10s"],
    );
    let sent: u64 = r["tsn"]["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sent"].as_u64().unwrap())
        .sum();
    let pcap = dir.path().join("capture.pcap");
    let lines = tshark_read(
        &pcap,
        &[
            "-n",
            "-Y",
            "vlan",
            "-T",
            "fields",
            "-e",
            "vlan.priority",
            "-e",
            "vlan.id",
            "-e",
            "vlan.etype",
            "-e",
            "eth.src",
        ],
    );
    let rows: Vec<&str> = lines.lines().collect();
    assert_eq!(rows.len() as u64, sent, "one tagged frame per stream frame");
    for row in &rows {
        let f: Vec<&str> = row.split('\t').collect();
        assert_eq!(&f[..3], ["7", "1", "0x88b5"], "{row}");
    }
    // The remote I/O modules' MACs (02:00 + their plant addresses) are the talkers.
    assert!(
        rows.iter().any(|r| r.ends_with("02:00:0a:00:02:0b")),
        "{}",
        rows[0]
    );
    let problems = tshark_read(
        &pcap,
        &[
            "-n",
            "-Y",
            "vlan && (_ws.malformed || _ws.expert.severity >= warning)",
        ],
    );
    assert!(problems.trim().is_empty(), "{problems}");
    let _ = read_json(&dir.path().join("results.json"));
}
