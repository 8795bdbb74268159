//! Playbooks modelled on public incidents (FrostyGoop 2024, a PIPEDREAM-like Modbus toolkit,
//! an Industroyer-like breaker attack) replayed against the reference plant: under the flat
//! network every step succeeds and the physics reaches the impact; under a policy that
//! closes the attacker's first network or lateral path the chain stops at that step, with
//! the rule named, and nothing happens to the plant; each run is deterministic for a seed.

mod common;

use common::incident::{assert_deterministic, assert_stopped_at};

use common::repo_path;
use std::path::Path;

fn run(exercise: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    common::run_results(exercise, out, extra)
}

/// Runs an exercise under a policy written into a temporary directory.
fn run_with_policy(exercise: &str, policy: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    std::fs::write(&file, policy).unwrap();
    let out = dir.path().join("out");
    run(&repo_path(exercise), &out, &["--policy", file.to_str().unwrap()])
}

fn run_flat(exercise: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    run(&repo_path(exercise), dir.path(), &[])
}

fn statuses(r: &serde_json::Value) -> Vec<String> {
    common::step_statuses(r)
}

fn impacts(r: &serde_json::Value) -> &Vec<serde_json::Value> {
    r["impacts"].as_array().unwrap()
}

/// The first impact from a limit, and when it happened.
fn first_impact<'a>(r: &'a serde_json::Value, limit: &str) -> Option<&'a serde_json::Value> {
    impacts(r).iter().find(|i| i["limit"] == limit)
}

fn step_end(r: &serde_json::Value, i: usize) -> f64 {
    r["steps"][i]["ended_s"].as_f64().unwrap()
}

// ── FrostyGoop 2024 ───────────────────────────────────────────────────────────────────────

const FROSTYGOOP: &str = "scenarios/frostygoop.toml";

#[test]
fn frostygoop_freezes_the_naoh_store_on_the_flat_network() {
    let r = run_flat(FROSTYGOOP);
    assert_eq!(statuses(&r), ["succeeded"; 10]);
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    assert_eq!(r["steps"][6]["detail"], "plc-dosing hr:4 = 0 written 1 time(s)");
    assert_eq!(r["steps"][7]["detail"], "plc-dosing hr:3 = 0 written 1 time(s)");
    // The bricked controller falls silent: hmi-1's view of it is denied, then lost.
    let silent: Vec<(&str, &str)> = impacts(&r)
        .iter()
        .filter(|i| i.get("limit").is_none())
        .map(|i| (i["technique"].as_str().unwrap(), i["component"].as_str().unwrap()))
        .collect();
    assert_eq!(silent, [("T0815", "plc-dosing"), ("T0829", "plc-dosing")]);
    // The only physical harm is the cold store, and it comes when the hand calculation
    // says: 20 °C to 12 °C with tau = C/UA = 20,000 s is 20,000 ln(15/7) = 15,243 s, plus
    // the limit's 600 s (the heater stays off with its controller bricked, too).
    assert_eq!(impacts(&r).len(), 3, "{}", r["impacts"]);
    let cold = first_impact(&r, "naoh_storage_cold").expect("no naoh_storage_cold impact");
    assert_eq!(cold["technique"], "T0826");
    let t = cold["t_s"].as_f64().unwrap();
    let expected = 20_000.0 * (15.0f64 / 7.0).ln() + 600.0;
    assert!(
        (t - expected).abs() < 60.0,
        "impact at {t} s, expected about {expected:.0} s"
    );
    assert!(t > step_end(&r, 7));
}

#[test]
fn frostygoop_stops_where_a_policy_closes_modbus_from_the_internet() {
    let r = run_with_policy(
        FROSTYGOOP,
        r#"
[policy]
name = "no Modbus from the internet"
default = "allow"

[[rule]]
name = "no Modbus from the internet to the controllers"
action = "deny"
from = "zone:internet"
to = "zone:control"
service = "modbus"
"#,
    );
    assert_stopped_at(&r, 0, "no Modbus from the internet to the controllers");
}

#[test]
fn frostygoop_is_deterministic() {
    assert_deterministic(FROSTYGOOP, &[]);
}

// ── PIPEDREAM-like Modbus toolkit ─────────────────────────────────────────────────────────

const PIPEDREAM: &str = "scenarios/pipedream.toml";

#[test]
fn pipedream_brute_force_opens_the_intake_breaker_on_the_flat_network() {
    let r = run_flat(PIPEDREAM);
    assert_eq!(statuses(&r), ["succeeded"; 17]);
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    assert_eq!(r["steps"][1]["detail"], "T0859 took ews-01 over rdp as engineer");
    assert_eq!(r["steps"][9]["detail"], "plc-intake has holding registers 0..=31");
    // The brute force's last pass leaves co:8 (breaker close) at 0: the intake breaker is
    // open for the limit's 5 s within seconds of the last write.
    let lost = first_impact(&r, "intake_power_lost").expect("no intake_power_lost impact");
    assert_eq!(lost["technique"], "T0826");
    let t = lost["t_s"].as_f64().unwrap();
    let (bf_start, bf_end) = (r["steps"][11]["started_s"].as_f64().unwrap(), step_end(&r, 11));
    assert!(
        t > bf_start && t < bf_end + 10.0,
        "impact at {t} s, brute force {bf_start}..{bf_end} s"
    );
    // Listen-only: the control room no longer hears from the intake PLC.
    let hmi1 = &r["hmis"][0];
    assert_eq!(hmi1["name"], "hmi-1");
    assert!(hmi1["timeouts"].as_u64().unwrap() > 0, "{hmi1}");
}

#[test]
fn pipedream_stops_where_a_policy_closes_rdp_from_the_vpn() {
    let r = run_with_policy(
        PIPEDREAM,
        r#"
[policy]
name = "no RDP from the VPN"
default = "allow"

[[rule]]
name = "no RDP from remote access into the control room"
action = "deny"
from = "vpn-gw"
to = "zone:supervisory"
service = "rdp"
"#,
    );
    assert_stopped_at(&r, 1, "no RDP from remote access into the control room");
}

#[test]
fn pipedream_is_deterministic() {
    assert_deterministic(PIPEDREAM, &[]);
}

// ── Industroyer-like breaker attack ───────────────────────────────────────────────────────

const INDUSTROYER: &str = "scenarios/industroyer.toml";

#[test]
fn industroyer_opens_the_breakers_and_empties_the_town_reservoir_on_the_flat_network() {
    let r = run_flat(INDUSTROYER);
    assert_eq!(statuses(&r), ["succeeded"; 24]);
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    // The flood drove plc-sis beyond its capacity: it answered busy.
    let flood = r["steps"][13]["detail"].as_str().unwrap();
    assert!(flood.contains("busy"), "{flood}");
    // Intake and distribution lose power seconds after their breakers are opened.
    let intake = first_impact(&r, "intake_power_lost").expect("no intake_power_lost impact");
    let dist = first_impact(&r, "distribution_power_lost").expect("no distribution_power_lost impact");
    for (i, step) in [(intake, 14), (dist, 18)] {
        assert_eq!(i["technique"], "T0826");
        let t = i["t_s"].as_f64().unwrap();
        let s = r["steps"][step]["started_s"].as_f64().unwrap();
        assert!(t > s && t < s + 10.0, "{} at {t} s, step at {s} s", i["limit"]);
    }
    // The operator re-closes the distribution breaker and it drops again: the reservoir
    // drains at the town's demand for more than two hours until supply is interrupted.
    let reclosed = impacts(&r)
        .iter()
        .filter(|i| i["limit"] == "distribution_power_lost")
        .count();
    assert!(reclosed > 10, "distribution opened {reclosed} times");
    let town = first_impact(&r, "town_supply_lost").expect("no town_supply_lost impact");
    assert_eq!(town["technique"], "T0828");
    let t = town["t_s"].as_f64().unwrap();
    let toggle = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["technique"] == "T0831")
        .expect("the toggle loop");
    let opened = r["steps"][toggle]["started_s"].as_f64().unwrap();
    assert!(
        t > opened + 2.0 * 3600.0 && t < step_end(&r, toggle),
        "town supply lost at {t} s, distribution opened at {opened} s"
    );
}

#[test]
fn industroyer_stops_where_the_hmi_refuses_rdp_from_the_dmz() {
    let r = run_with_policy(
        INDUSTROYER,
        r#"
[policy]
name = "HMI host firewall"
default = "allow"

[[rule]]
name = "hmi-1 takes no RDP from the DMZ"
action = "deny"
at = ["hmi-1"]
from = "zone:idmz"
to = "hmi-1"
service = "rdp"
"#,
    );
    assert_stopped_at(&r, 1, "hmi-1 takes no RDP from the DMZ");
    assert_eq!(r["steps"][1]["blocked_at"], "hmi-1");
}

#[test]
fn industroyer_is_deterministic() {
    assert_deterministic(INDUSTROYER, &[]);
}
