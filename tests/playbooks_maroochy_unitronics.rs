//! Two water-sector incidents on the reference plant: the Maroochy Water Breach (2000, an
//! insider posing as the master station) and the Unitronics defacement campaign (2023, an
//! internet-exposed panel with its default password). Under the flat network each reaches
//! its impacts; under a policy that closes the actor's path it stops there, with the rule
//! named, and the plant suffers nothing; each run is deterministic for a seed.

mod common;

use common::incident::{assert_deterministic, assert_stopped_at};

use common::repo_path;

fn run(exercise: &str, extra: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    common::run_results(&repo_path(exercise), dir.path(), extra)
}

fn impacts(r: &serde_json::Value) -> Vec<(String, f64)> {
    r["impacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["technique"].as_str().unwrap().to_owned(),
                i["t_s"].as_f64().unwrap(),
            )
        })
        .collect()
}

fn first(r: &serde_json::Value, technique: &str) -> f64 {
    impacts(r)
        .iter()
        .find(|(t, _)| t == technique)
        .unwrap_or_else(|| panic!("no {technique} impact: {}", r["impacts"]))
        .1
}

fn step_end(r: &serde_json::Value, i: usize) -> f64 {
    r["steps"][i]["ended_s"].as_f64().unwrap()
}

// ── Maroochy Water Breach, 2000 ──────────────────────────────────────────────────────────

const MAROOCHY: &str = "scenarios/maroochy.toml";

#[test]
fn maroochy_overflows_the_well_behind_a_blind_control_room() {
    let r = run(MAROOCHY, &[]);
    assert_eq!(common::step_statuses(&r), ["succeeded"; 11]);
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    assert_eq!(r["steps"][1]["detail"], "plc-dist hr:3 = 0 written 1 time(s)");
    // Night one leaves the plant running on one pump: nothing happens until night two.
    let night_two = step_end(&r, 2);
    assert!(
        impacts(&r).iter().all(|(_, t)| *t > night_two),
        "{}",
        r["impacts"]
    );
    // The operator's re-close, three minutes after the breaker opens, goes unanswered; the
    // view goes 10 s after the answers are swallowed and is lost 15 min later; the well
    // overflows last.
    let opened = step_end(&r, 9);
    let denied = first(&r, "T0813");
    assert!(
        (denied - opened - 180.0).abs() < 10.0,
        "T0813 at {denied} s, breaker opened at {opened} s"
    );
    let blind = step_end(&r, 10);
    assert!((first(&r, "T0815") - blind - 10.0).abs() < 5.0);
    assert!((first(&r, "T0829") - first(&r, "T0815") - 890.0).abs() < 5.0);
    let spill = first(&r, "T0879");
    assert!(spill > first(&r, "T0829"), "{}", r["impacts"]);
    assert_eq!(
        r["impacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["technique"] == "T0879")
            .unwrap()["component"],
        "clear_well"
    );
}

#[test]
fn maroochy_stops_where_the_firewalls_close_the_vpn_to_the_controllers() {
    let r = run(
        MAROOCHY,
        &[
            "--policy",
            repo_path("scenarios/policies/purdue.toml").to_str().unwrap(),
        ],
    );
    // The VPN login works (the remote access path is meant to exist); its Modbus write to a
    // controller is what the Purdue model refuses.
    assert_stopped_at(&r, 1, "purdue: everything else is denied at the firewalls");
}

#[test]
fn maroochy_is_deterministic() {
    assert_deterministic(MAROOCHY, &["--duration", "4h10m"]);
}

// ── Unitronics defacement, 2023 ──────────────────────────────────────────────────────────

const UNITRONICS: &str = "scenarios/unitronics.toml";

#[test]
fn unitronics_defacement_stops_the_station_and_takes_the_view() {
    let r = run(UNITRONICS, &[]);
    assert_eq!(common::step_statuses(&r), ["succeeded"; 6]);
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    assert_eq!(r["steps"][1]["detail"], "T0812 took hmi-2 over rdp as admin");
    // The defacement project opens the breaker: power lost 5 s after the download.
    let downloaded = step_end(&r, 2);
    assert!(
        (first(&r, "T0826") - downloaded - 5.0).abs() < 2.0,
        "{}",
        r["impacts"]
    );
    assert!(first(&r, "T0829") > step_end(&r, 5));
    // The town runs dry hours later, as the reservoir drains with no pump.
    assert!(first(&r, "T0828") > 2.0 * 3600.0, "{}", r["impacts"]);
}

#[test]
fn unitronics_stops_where_the_panel_is_not_on_the_internet() {
    let r = run(
        UNITRONICS,
        &[
            "--policy",
            repo_path("scenarios/policies/purdue.toml").to_str().unwrap(),
        ],
    );
    assert_stopped_at(&r, 0, "purdue: no direct path from IT to the control system");
}

#[test]
fn unitronics_is_deterministic() {
    assert_deterministic(UNITRONICS, &["--duration", "40m"]);
}
