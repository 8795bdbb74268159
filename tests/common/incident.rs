//! What every incident-playbook test checks: that a policy stopped the chain where it
//! should, and that a run is reproducible.

use super::{repo_path, run_results, step_statuses};

/// The chain stopped at `blocked` (0-based) by `rule`: every step before it succeeded, every
/// later one was not reached, the rule was hit, the plant suffered nothing, and the exercise
/// (which expects the attack to succeed) failed.
pub(crate) fn assert_stopped_at(r: &serde_json::Value, blocked: usize, rule: &str) {
    let s = step_statuses(r);
    for (i, st) in s.iter().enumerate() {
        let want = match i.cmp(&blocked) {
            std::cmp::Ordering::Less => "succeeded",
            std::cmp::Ordering::Equal => "blocked",
            std::cmp::Ordering::Greater => "not_reached",
        };
        assert_eq!(st, want, "step {} in {s:?}", i + 1);
    }
    assert_eq!(r["steps"][blocked]["rule"], rule);
    let hits = r["policy_summary"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == rule)
        .map(|x| x["hits"].as_u64().unwrap());
    assert!(hits.is_some_and(|h| h >= 1), "{}", r["policy_summary"]);
    assert!(r["impacts"].as_array().unwrap().is_empty(), "{}", r["impacts"]);
    assert_eq!(r["passed"], false, "the exercise expects the attack to succeed");
}

/// Two runs of `exercise` with seed 7 (and `extra` arguments) write byte-identical
/// results.json, events.jsonl and host-events.jsonl.
pub(crate) fn assert_deterministic(exercise: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let mut args = vec!["--seed", "7"];
    args.extend_from_slice(extra);
    run_results(&repo_path(exercise), &a, &args);
    run_results(&repo_path(exercise), &b, &args);
    for f in ["results.json", "events.jsonl", "host-events.jsonl"] {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(x == y, "{exercise}: two runs with seed 7 differ in {f}");
    }
}
