//! events.jsonl is the run's record and results.json is computed from it alone, so the log
//! must be complete and in time order: a reader (a SIEM, the report, a replay) can stream
//! it without sorting. Every shipped exercise is held to that, with frame events on, over
//! its first 20 simulated minutes (long enough for every playbook's first steps and for
//! the exception storms of Industroyer and PIPEDREAM).

mod common;

use common::{describe, repo_path, run_exercise};

#[test]
fn every_shipped_exercise_logs_in_time_order_and_ends_with_its_summaries() {
    let mut exercises: Vec<_> = std::fs::read_dir(repo_path("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        // scenarios/benchmark.toml is a sweep, not an exercise.
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("[exercise]")))
        .collect();
    exercises.sort();
    assert!(exercises.len() >= 9, "shipped exercises: {exercises:?}");
    for ex in exercises {
        let dir = tempfile::tempdir().unwrap();
        let o = run_exercise(&ex, dir.path(), &["--duration", "20m", "--log-frames"]);
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{}: {}",
            ex.display(),
            describe(&o)
        );
        let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
        let events: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let mut last = 0;
        for (i, e) in events.iter().enumerate() {
            let t = e["t"].as_u64().unwrap();
            assert!(
                t >= last,
                "{}: line {} at t={t} comes after t={last}: {e}",
                ex.display(),
                i + 1
            );
            last = t;
        }
        let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
        assert_eq!(kinds.last(), Some(&"run_ended"), "{}", ex.display());
        for kind in ["device_summary", "process_summary", "network_summary"] {
            assert!(kinds.contains(&kind), "{}: no {kind}", ex.display());
        }
        // The steps results.json reports are the steps the log planned.
        let results: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("results.json")).unwrap()).unwrap();
        let planned = kinds.iter().filter(|k| **k == "step_planned").count();
        assert_eq!(
            results["steps"].as_array().unwrap().len(),
            planned,
            "{}",
            ex.display()
        );
    }
}
