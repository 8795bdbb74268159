//! Defences measured on the reference plant: which policy rule stops an attack, which
//! detector sees which step and how soon, what an inline detector costs the plant's own
//! operations, and how quiet the detectors are on a benign day.

mod common;

use common::{repo_path, run_results, step_statuses};
use serde_json::Value;
use std::path::Path;

fn events(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("events.jsonl"))
        .expect("the run wrote events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("an event is JSON"))
        .collect()
}

fn alerts(out: &Path) -> Vec<Value> {
    events(out)
        .into_iter()
        .filter(|e| e["event"] == "alert")
        .collect()
}

/// Seconds of simulated time of an event or alert.
fn t_s(e: &Value) -> f64 {
    e["t"].as_f64().expect("an event has a time") / 1e9
}

fn started_s(r: &Value, step: usize) -> f64 {
    r["steps"][step]["started_s"]
        .as_f64()
        .unwrap_or_else(|| panic!("step {step} never started: {:#}", r["steps"]))
}

fn run(exercise: &str, out: &Path, extra: &[&str]) -> Value {
    run_results(&repo_path(exercise), out, extra)
}

fn policy(name: &str) -> String {
    repo_path(&format!("scenarios/policies/{name}.toml"))
        .display()
        .to_string()
}

fn detectors(name: &str) -> String {
    repo_path(&format!("scenarios/detectors/{name}.toml"))
        .display()
        .to_string()
}

#[test]
fn zero_trust_stops_oldsmar_at_the_internet_router_by_default_deny() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        "scenarios/oldsmar.toml",
        dir.path(),
        &["--policy", &policy("zero-trust")],
    );
    assert_eq!(
        step_statuses(&r),
        ["blocked", "not_reached", "not_reached", "not_reached"]
    );
    // No rule lets an unauthenticated internet host reach the VPN gateway: the only one
    // asks for the vendor's identity with MFA, so the default decides.
    assert_eq!(r["steps"][0]["blocked_at"], "inet-rtr");
    assert_eq!(r["steps"][0]["rule"], "default deny");
    assert!(r["impacts"].as_array().unwrap().is_empty());
}

#[test]
fn zero_trust_stops_frostygoop_at_its_first_modbus_request_by_the_identification_rule() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        "scenarios/frostygoop.toml",
        dir.path(),
        &["--policy", &policy("zero-trust")],
    );
    assert_eq!(step_statuses(&r)[0], "blocked");
    assert!(
        step_statuses(&r)[1..].iter().all(|s| s == "not_reached"),
        "{:#}",
        r["steps"]
    );
    assert_eq!(r["steps"][0]["blocked_at"], "inet-rtr");
    assert_eq!(
        r["steps"][0]["rule"],
        "deny: identification and diagnostics outside engineering"
    );
    assert!(r["impacts"].as_array().unwrap().is_empty());
}

#[test]
fn an_inline_anomaly_detector_stops_oldsmar_and_costs_the_hmis_their_answers() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        "scenarios/oldsmar.toml",
        dir.path(),
        &["--detectors", &detectors("ips-anomaly")],
    );
    // The set point write is new to the model (a new FC 6 pair, a value never seen): dropped
    // in the control switch, logged as a block by the detector's signature.
    assert_eq!(
        step_statuses(&r),
        ["succeeded", "succeeded", "succeeded", "blocked"]
    );
    assert_eq!(r["steps"][3]["blocked_at"], "sw-ctl");
    let rule = r["steps"][3]["rule"].as_str().unwrap();
    assert!(rule.starts_with("anomaly IPS sid 92000"), "{rule}");
    assert!(r["impacts"].as_array().unwrap().is_empty(), "{:#}", r["impacts"]);
    // The price: answers whose values the 8-minute model never saw are dropped too, and the
    // HMIs time out on them.
    let legit = r["network"]["blocked_legitimate"].as_u64().unwrap();
    assert!(legit > 10, "legitimate frames blocked: {legit}");
    let timeouts: u64 = r["hmis"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["timeouts"].as_u64().unwrap())
        .sum();
    assert!(timeouts > 10, "HMI timeouts: {timeouts}");
    // The EVE alerts of dropped frames say so.
    let eve = std::fs::read_to_string(dir.path().join("alerts.eve.json")).unwrap();
    assert!(eve.contains(r#""action":"blocked""#));
}

#[test]
fn process_invariants_catch_stuxnets_frozen_view_from_the_safety_transmitter() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        "scenarios/stuxnet.toml",
        dir.path(),
        &["--detectors", &detectors("plant-invariants"), "--duration", "20m"],
    );
    // Step 4 (T0832) replaces hmi-1's answers from the intake PLC with recorded ones; the
    // tank then rises (steps 5-7) while hmi-1 shows it still. The SIS's own transmitter,
    // polled by hmi-2, sees the rise: the two drift apart.
    let frozen = started_s(&r, 3);
    let alerts = alerts(dir.path());
    let view = alerts
        .iter()
        .find(|a| a["signature_id"] == 9_400_001)
        .unwrap_or_else(|| panic!("no invariant alert: {alerts:#?}"));
    assert_eq!(view["technique"], "T0832");
    let after = t_s(view) - frozen;
    // 0.10 m of drift at about 1 mm/s, held 15 s: a few minutes, not hours.
    assert!(
        after > 15.0 && after < 300.0,
        "alert {after:.0} s after the freeze"
    );
}

#[test]
fn process_invariants_are_quiet_on_a_benign_day() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        "scenarios/water-treatment.toml",
        dir.path(),
        &["--detectors", &detectors("plant-invariants")],
    );
    let tap = r["taps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "process invariants")
        .expect("the invariants detector reports");
    assert!(tap["summary"]["figures"]["answers_read"].as_u64().unwrap() > 100_000);
    assert_eq!(tap["summary"]["alerts"], serde_json::json!([]));
}
