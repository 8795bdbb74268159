//! A sweep's `anomaly_thresholds` axis: one configuration per threshold for a detector set
//! with an anomaly detector (and one for a set without), the detection versus false-alarm
//! curve in report.md and report.html, and the errors a bad axis gets.

mod common;

use common::{describe, fixture, otrange, read_json};
use serde_json::Value;

/// The anomaly detector's figures in a run directory's results.json.
fn anomaly_figures(run: &std::path::Path) -> Value {
    let r = read_json(&run.join("results.json"));
    let tap = r["taps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "anomaly")
        .unwrap_or_else(|| panic!("no anomaly tap in {}", run.display()))
        .clone();
    tap["summary"]["figures"].clone()
}

#[test]
fn each_threshold_is_a_configuration_on_the_curve() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = otrange([
        "sweep",
        fixture("sweeps/thresholds.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let s = read_json(&out.join("sweep.json"));
    let cells = s["cells"].as_array().unwrap();
    let keys: Vec<&str> = cells.iter().map(|c| c["key"].as_str().unwrap()).collect();
    // The rules set has no anomaly detector: once. The anomaly set: once per threshold.
    assert_eq!(
        keys,
        [
            "oldsmar.flat.rules.s1",
            "oldsmar.flat.anomaly-t2.s1",
            "oldsmar.flat.anomaly-t4.s1",
            "oldsmar.flat.anomaly-t20.s1",
            "oldsmar.none.none.s1",
            "baseline.water-treatment.flat.rules.s1.1800s",
            "baseline.water-treatment.flat.anomaly-t2.s1.1800s",
            "baseline.water-treatment.flat.anomaly-t4.s1.1800s",
            "baseline.water-treatment.flat.anomaly-t20.s1.1800s",
            "baseline.water-treatment.none.none.s1.1800s",
        ]
    );
    let threshold = |k: usize| cells[k]["anomaly_threshold"].as_f64();
    assert_eq!(
        (threshold(0), threshold(1), threshold(3)),
        (None, Some(2.0), Some(20.0))
    );
    assert!(cells[0].get("anomaly_threshold").is_none(), "absent, not null");

    // Each cell's detector ran at its threshold: its alerts are exactly what every anomaly
    // detector of the benign plant counts at that threshold (the summary's own sweep), and
    // they fall as the threshold rises.
    let mut alerts = Vec::new();
    for (key, t) in [
        ("baseline.water-treatment.flat.anomaly-t2.s1.1800s", 2.0),
        ("baseline.water-treatment.flat.anomaly-t4.s1.1800s", 4.0),
        ("baseline.water-treatment.flat.anomaly-t20.s1.1800s", 20.0),
    ] {
        let f = anomaly_figures(&out.join("runs").join(key));
        assert_eq!(f["threshold"], t, "{key}");
        let at_t = f["sweep"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["threshold"] == t)
            .unwrap()["alerts"]
            .clone();
        assert_eq!(f["alerts"], at_t, "{key}: alerts at its threshold");
        alerts.push(f["alerts"].as_u64().unwrap());
    }
    assert!(
        alerts[0] > alerts[1] && alerts[1] > alerts[2],
        "false alarms fall with the threshold: {alerts:?}"
    );

    // report.md has the curve as a table; report.html draws it, one mark per threshold.
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Anomaly detector thresholds"), "{md}");
    for (t, n) in [(2, alerts[0]), (4, alerts[1]), (20, alerts[2])] {
        // 30 benign minutes: per hour, twice the count.
        let row = format!("| flat | anomaly | {t} | ");
        let line = md
            .lines()
            .find(|l| l.starts_with(&row))
            .unwrap_or_else(|| panic!("{row} in\n{md}"));
        assert!(line.ends_with(&format!(" | {:.1} |", 2.0 * n as f64)), "{line}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(html.matches(r#"class="mark threshold""#).count(), 3);
    assert!(
        html.contains("flat / anomaly at threshold 20: "),
        "hover text names the point"
    );
}

#[test]
fn a_bad_threshold_axis_is_refused_with_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    let root = std::env::current_dir().unwrap();
    let head = format!(
        "[sweep]\nname = \"x\"\n[axes]\nexercises = [{:?}]\ndetectors = [{:?}]\n",
        root.join("scenarios/benchmark/oldsmar.toml").to_str().unwrap(),
        root.join("scenarios/benchmark/detectors/anomaly.toml")
            .to_str()
            .unwrap(),
    );
    let rules_only = head.replace("anomaly.toml", "rules.toml");
    for (text, want) in [
        (
            format!("{head}anomaly_thresholds = [2.0, -1.0]\n"),
            "bad.toml:6:28: axes.anomaly_thresholds[1]: -1 is no threshold",
        ),
        (
            format!("{head}anomaly_thresholds = [2.0, 2.0]\n"),
            "bad.toml:6:28: axes.anomaly_thresholds[1]: 2 is given twice",
        ),
        (
            format!("{head}anomaly_thresholds = []\n"),
            "bad.toml:6:22: axes.anomaly_thresholds: give at least one threshold",
        ),
        (
            format!("{rules_only}anomaly_thresholds = [2.0]\n"),
            "bad.toml:6:22: axes.anomaly_thresholds: no detector set of the sweep has an anomaly detector",
        ),
    ] {
        std::fs::write(&bad, &text).unwrap();
        let o = otrange([
            "sweep",
            bad.to_str().unwrap(),
            "--out",
            tmp.path().join("o").to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "expected {want:?} in:\n{err}");
    }
}

/// The shipped threshold sweep loads (every exercise, detector set and threshold checked)
/// and its first cell runs; the whole is measured in docs/src/performance.md.
#[test]
fn the_shipped_threshold_sweep_loads_and_its_first_cell_runs() {
    // 7 exercises x 2 sets x 9 thresholds x 2 seeds, 14 undefended references, and
    // 2 x 9 x 2 + 2 baselines.
    let s = common::first_cell_of_sweep("scenarios/sweeps/anomaly-thresholds.toml", 304);
    assert_eq!(s["cells"][0]["key"], "oldsmar.flat.anomaly-t2.s1");
    assert_eq!(s["cells"][0]["anomaly_threshold"], 2.0);
}

/// sweep.json names every input with its SHA-256, and `merge` refuses shards whose inputs
/// differ: figures from two versions of a rules file are not one benchmark.
#[test]
fn merge_refuses_shards_run_on_different_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let shard = |k: u32| {
        let out = tmp.path().join(format!("shard{k}"));
        let o = otrange([
            "sweep",
            fixture("sweeps/thresholds.toml").to_str().unwrap(),
            "--shard",
            &format!("{k}/2"),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
        out
    };
    let (one, two) = (shard(1), shard(2));
    let s = read_json(&one.join("sweep.json"));
    let files: Vec<&str> = s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "../../../scenarios/benchmark/detectors/anomaly.toml",
            "../../../scenarios/benchmark/detectors/rules.toml",
            "../../../scenarios/benchmark/oldsmar.toml",
            "../../../scenarios/detectors/rules/plant-modbus.rules",
            "../../../scenarios/playbooks/oldsmar.toml",
            "../../../scenarios/policies/flat.toml",
            "../../../scenarios/water-treatment/plant.toml",
            "thresholds.toml",
        ]
    );
    // The same rules file, changed after shard 1 ran.
    let path = two.join("sweep.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let rules = s["inputs"][3]["sha256"].as_str().unwrap();
    std::fs::write(&path, text.replace(rules, &"0".repeat(64))).unwrap();
    let o = otrange([
        "merge",
        one.to_str().unwrap(),
        two.to_str().unwrap(),
        "--out",
        tmp.path().join("merged").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("this shard ran on other inputs than")
            && err.contains(&format!("../../../scenarios/detectors/rules/plant-modbus.rules has SHA-256 {rules} in one and {} in the other", "0".repeat(64))),
        "{err}"
    );
}
