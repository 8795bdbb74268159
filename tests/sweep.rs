//! `otrange sweep` and `otrange merge`: the same sweep.json whatever the number of jobs,
//! however it is sharded, and however often it is interrupted.

mod common;

use common::{describe, fixture, otrange, read_bytes, read_json};
use std::path::Path;

fn sweep(args: &[&str]) -> std::process::Output {
    let mut a = vec![
        "sweep".to_string(),
        fixture("sweeps/small.toml").to_str().unwrap().to_string(),
    ];
    a.extend(args.iter().map(|s| s.to_string()));
    let o = otrange(&a);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", describe(&o));
    o
}

/// The run directories' results.json, by cell key.
fn results(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                read_bytes(&e.path().join("results.json")),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn jobs_shards_and_resume_give_the_same_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |n: &str| tmp.path().join(n);
    let one = dir("one");
    sweep(&["--out", one.to_str().unwrap(), "--jobs", "1"]);
    let two = dir("two");
    sweep(&["--out", two.to_str().unwrap(), "--jobs", "2"]);
    let reference = read_bytes(&one.join("sweep.json"));
    assert_eq!(
        reference,
        read_bytes(&two.join("sweep.json")),
        "--jobs 1 and 2 differ"
    );
    assert_eq!(results(&one), results(&two));

    // What the sweep holds: the cross product in axis order (the benign exercise once per
    // foothold axis, having no playbook), then one benign baseline per policy, detector set
    // and seed.
    let s = read_json(&one.join("sweep.json"));
    let cells = s["cells"].as_array().unwrap();
    let keys: Vec<&str> = cells.iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(keys.len(), 8 + 16 + 8, "{keys:#?}");
    assert_eq!(keys[0], "water-treatment.none.none.s1.720s");
    assert_eq!(keys[8], "oldsmar.from-entry.none.none.s1.720s");
    assert_eq!(keys[23], "oldsmar.from-hmi-1.zero-trust.rules-allow-list.s2.720s");
    assert_eq!(keys[24], "baseline.water-treatment.none.none.s1.360s");
    assert_eq!(
        keys[31],
        "baseline.water-treatment.zero-trust.rules-allow-list.s2.360s"
    );
    let scores = |key: &str| &cells[keys.iter().position(|k| *k == key).unwrap()]["scores"];
    let flat = scores("oldsmar.from-entry.none.none.s1.720s");
    assert_eq!(flat["steps"][0]["status"], "succeeded", "{flat}");
    let zero_trust = scores("oldsmar.from-entry.zero-trust.none.s1.720s");
    assert_eq!(zero_trust["blocked_at_step"], 1, "{zero_trust}");
    assert_eq!(zero_trust["chain"], "blocked", "{zero_trust}");
    // From hmi-1 the VPN login and the RDP session are skipped: the read of the set point
    // is the first step, and zero trust lets an HMI read what it displays.
    let inside = scores("oldsmar.from-hmi-1.zero-trust.none.s1.720s");
    assert_eq!(inside["steps"][0]["technique"], "T0801", "{inside}");
    assert_eq!(inside["steps"][0]["status"], "succeeded", "{inside}");
    // The step crossed the watched control switch and matched no rule: telemetry.
    let watched = scores("oldsmar.from-hmi-1.zero-trust.rules-allow-list.s1.720s");
    assert_eq!(watched["steps"][0]["detection"], "telemetry", "{watched}");
    assert_eq!(watched["steps_visible"], 1, "{watched}");
    assert_eq!(watched["steps_analytic"], 0, "{watched}");
    // Baselines are benign, and the undefended one is marked as the reference.
    assert_eq!(cells[24]["kind"], "baseline");
    assert_eq!(cells[24]["undefended"], true);
    assert_eq!(cells[24]["scores"]["chain"], "benign");
    assert_eq!(cells[26]["undefended"], false);

    // Cells that differ only in their (passive) detector set share one simulation: each
    // directory holds the bytes `otrange run` writes for that cell alone.
    let solo = dir("solo");
    let o = otrange([
        "run",
        "scenarios/oldsmar.toml",
        "--policy",
        "scenarios/policies/zero-trust.toml",
        "--detectors",
        "scenarios/benchmark/detectors/rules-allow-list.toml",
        "--foothold",
        "hmi-1",
        "--seed",
        "1",
        "--duration",
        "12m",
        "--out",
        solo.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let shared = one.join("runs/oldsmar.from-hmi-1.zero-trust.rules-allow-list.s1.720s");
    for f in ["events.jsonl", "results.json", "alerts.eve.json"] {
        assert!(
            read_bytes(&solo.join(f)) == read_bytes(&shared.join(f)),
            "{f}: the shared simulation wrote other bytes than a run of its own"
        );
    }

    // The CI outputs. Oldsmar's expectations were written for the flat network and a full
    // run: in 12 minutes, under zero trust or from a foothold they fail, so the sweep exits
    // 1, and JUnit, read by junitparser as a CI system would, says what sweep.json says.
    let o = sweep(&["--out", dir("ci").to_str().unwrap(), "--jobs", "2"]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let script = "import sys, junitparser\n\
                  x = junitparser.JUnitXml.fromfile(sys.argv[1])\n\
                  cases = [(s.name, c.name, [r.message for r in c.result]) for s in x for c in s]\n\
                  print(len(cases)); [print(s, c, m[0]) for s, c, m in cases if m]";
    let py = std::process::Command::new("python3")
        .args(["-c", script, dir("ci").join("junit.xml").to_str().unwrap()])
        .output()
        .expect("python3 runs");
    assert!(
        py.status.success(),
        "junitparser: {}",
        String::from_utf8_lossy(&py.stderr)
    );
    let out = String::from_utf8_lossy(&py.stdout);
    let mut lines = out.lines();
    let expectations: Vec<&serde_json::Value> = cells
        .iter()
        .flat_map(|c| c["scores"]["expectations"].as_array().unwrap())
        .collect();
    let unmet = expectations.iter().filter(|e| e["passed"] == false).count();
    assert_eq!(
        lines.next(),
        Some(expectations.len().to_string().as_str()),
        "{out}"
    );
    let failures: Vec<&str> = lines.collect();
    assert_eq!(failures.len(), unmet, "{out}");
    assert!(unmet > 0);
    assert!(
        failures.contains(&"oldsmar.from-entry.zero-trust.none.s1.720s steps steps: expected succeeded, succeeded, succeeded, succeeded, actual blocked, not_reached, not_reached, not_reached"),
        "{out}"
    );
    let report = std::fs::read_to_string(dir("ci").join("report.md")).unwrap();
    assert!(
        report.contains(
            "| `oldsmar.from-entry.zero-trust.none.s1.720s` | `B---` blocked at step 1 by `default deny` |"
        ),
        "{report}"
    );
    // The ranked configurations: zero trust first (it stopped the attacks from the
    // internet), the watched one above the unwatched (it saw steps); the undefended network
    // last.
    let ranked: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("| 1 |") || l.starts_with("| 2 |") || l.starts_with("| 4 |"))
        .collect();
    assert!(
        ranked[0].starts_with("| 1 | zero-trust | rules-allow-list | 2/4 (50 %) |"),
        "{report}"
    );
    assert!(ranked[1].starts_with("| 2 | zero-trust | none |"), "{report}");
    assert!(
        ranked[2].starts_with("| 4 | none | none | 0/4 (0 %) |"),
        "{report}"
    );
    assert!(report.contains("| zero-trust | hmi-1 | 0/4 (0 %) |"), "{report}");

    // Three shards as separate processes, merged: the unsharded sweep.
    let shards: Vec<_> = (1..=3).map(|k| dir(&format!("shard{k}"))).collect();
    for (k, d) in shards.iter().enumerate() {
        sweep(&[
            "--out",
            d.to_str().unwrap(),
            "--jobs",
            "1",
            "--shard",
            &format!("{}/3", k + 1),
        ]);
    }
    let merged = dir("merged");
    let mut args = vec![
        "merge".to_string(),
        "--out".into(),
        merged.to_str().unwrap().into(),
    ];
    args.extend(shards.iter().map(|d| d.to_str().unwrap().to_string()));
    let o = otrange(&args);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", describe(&o));
    assert_eq!(
        reference,
        read_bytes(&merged.join("sweep.json")),
        "merged shards differ"
    );
    assert_eq!(
        read_bytes(&one.join("junit.xml")),
        read_bytes(&merged.join("junit.xml"))
    );
    assert_eq!(results(&one), results(&merged));
    // A shard short is an error that says which cells are missing.
    let o = otrange([
        "merge",
        "--out",
        dir("partial").to_str().unwrap(),
        shards[0].to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("are in no shard"),
        "{}",
        describe(&o)
    );

    // Interrupted: two cells never finished. --resume runs those two and keeps the rest.
    for key in [
        "oldsmar.from-entry.none.none.s1.720s",
        "water-treatment.zero-trust.none.s2.720s",
    ] {
        std::fs::remove_dir_all(one.join("runs").join(key)).unwrap();
    }
    std::fs::remove_file(one.join("sweep.json")).unwrap();
    let o = sweep(&["--out", one.to_str().unwrap(), "--jobs", "2", "--resume"]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert_eq!(log.matches("kept (inputs unchanged)").count(), 30, "{log}");
    assert_eq!(
        reference,
        read_bytes(&one.join("sweep.json")),
        "resumed sweep differs"
    );
}

#[test]
fn a_bad_sweep_file_names_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    let cases = [
        (
            "[sweep]\nname = \"x\"\n[axes]\nexercises = [\"nowhere.toml\"]\n",
            "bad.toml:4:14: axes.exercises[0]: file",
        ),
        (
            "[sweep]\nname = \"x\"\n[axes]\nexercise = []\n",
            "bad.toml:4:1: axes.exercise: unknown field `exercise`",
        ),
        (
            "[sweep]\nname = \"x\"\n[axes]\nexercises = []\n",
            "bad.toml:4:13: axes.exercises: a sweep needs at least one exercise",
        ),
    ];
    let oldsmar = std::env::current_dir().unwrap().join("scenarios/oldsmar.toml");
    let foothold = format!(
        "[sweep]\nname = \"x\"\n[axes]\nexercises = [{:?}]\nfootholds = [\"entry\", \"nowhere\"]\n",
        oldsmar.to_str().unwrap()
    );
    let baselines = format!(
        "[sweep]\nname = \"x\"\n[axes]\nexercises = [{:?}]\n[baselines]\nduration = \"1 hour\"\n",
        oldsmar.to_str().unwrap()
    );
    let cases = cases.into_iter().map(|(t, w)| (t.to_string(), w)).chain([
        (foothold, "bad.toml:5:23: axes.footholds[1]: "),
        (baselines, "bad.toml:6:12: baselines.duration: "),
    ]);
    for (text, want) in cases {
        std::fs::write(&bad, text).unwrap();
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

/// The shipped benchmark loads (every exercise, policy, detector set and foothold checked
/// against the plant) and its first cell runs; the whole takes minutes, so it is measured in
/// docs/src/performance.md rather than run here.
#[test]
fn the_shipped_benchmark_loads_and_its_first_cell_runs() {
    let s = common::first_cell_of_sweep("scenarios/benchmark.toml", 1440);
    assert_eq!(s["cells"][0]["key"], "oldsmar.from-entry.flat.none.s1");
    assert_eq!(s["cells"][0]["undefended"], true);
    assert_eq!(s["cells"][0]["scores"]["impacts"], 1, "{}", s["cells"][0]);
}
