//! The second reference plant, the Northgate 20 kV distribution substation: a benign day in
//! which the feeders follow the day's demand inside their bands with every breaker closed,
//! and Industroyer as in December 2016, which opens every feeder breaker from the SCADA HMI
//! over Modbus and holds the hospital feeder open while the dispatcher keeps re-closing it.
//! Also the relays' own protection: an overcurrent trip locks the breaker out, so the
//! dispatcher's routine re-close does not restore it.

mod common;

use common::{describe, otrange, repo_path, run_exercise, run_results, step_statuses};
use serde_json::Value;
use std::collections::BTreeMap;

const BENIGN: &str = "scenarios/substation.toml";
const INDUSTROYER: &str = "scenarios/industroyer-substation.toml";

/// The feeders: component, relay, rated kW.
const FEEDERS: [(&str, &str, f64); 5] = [
    ("f1_res_north", "relay-f1", 4000.0),
    ("f2_hospital", "relay-f2", 1500.0),
    ("f3_water", "relay-f3", 1200.0),
    ("f4_res_south", "relay-f4", 3500.0),
    ("f5_industrial", "relay-f5", 5000.0),
];

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("expected a number, got {v}"))
}

fn list<'a>(r: &'a Value, key: &str) -> &'a Vec<Value> {
    r[key]
        .as_array()
        .unwrap_or_else(|| panic!("results.json has no array {key:?}"))
}

/// The process's values at the end of the run, by signal.
fn final_values(r: &Value) -> BTreeMap<String, f64> {
    list(&r["process"], "final_values")
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), f(&p[1])))
        .collect()
}

fn impacts_of<'a>(r: &'a Value, limit: &str) -> Vec<&'a Value> {
    list(r, "impacts")
        .iter()
        .filter(|i| i["limit"] == limit)
        .collect()
}

#[test]
fn substation_files_check() {
    for file in [BENIGN, INDUSTROYER] {
        let o = otrange(["check", repo_path(file).to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "{file}:\n{}", describe(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("25 hosts, 6 PLCs, 1 HMIs"), "{out}");
    }
}

#[test]
fn a_benign_day_of_the_substation_stays_in_its_bands() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_exercise(&repo_path(BENIGN), dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let r = common::read_json(&dir.path().join("results.json"));
    assert_eq!(f(&r["duration_s"]), 86_400.0);
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    assert!(list(&r, "expectations").len() >= 5);
    assert!(list(&r, "impacts").is_empty(), "{}", r["impacts"]);

    // Every band held, and the feeders followed the day: each one's load swung by more than
    // a third of its rating between the night and its peak, without reaching the rating.
    let bands = list(&r["process"], "bands");
    assert_eq!(bands.len(), 2 + FEEDERS.len());
    for b in bands {
        assert_eq!(f(&b["seconds_outside"]), 0.0, "{b}");
    }
    for (feeder, _, rated) in FEEDERS {
        let signal = format!("{feeder}.load_kw");
        let b = bands.iter().find(|b| b["signal"] == signal.as_str()).unwrap();
        let (lo, hi) = (f(&b["observed_min"]), f(&b["observed_max"]));
        assert!(hi - lo > 0.15 * rated, "{signal}: {lo} to {hi} kW");
        assert!(lo > 0.0 && hi < rated, "{signal}: {lo} to {hi} kW");
    }

    // Nothing opened, so the dispatcher did nothing; every relay answered every request.
    let v = final_values(&r);
    for (feeder, _, _) in FEEDERS {
        assert_eq!(v[&format!("{feeder}.energized")], 1.0, "{feeder}");
    }
    assert_eq!(v["coupler.closed"], 0.0, "the bus coupler stays open");
    let hmi = &list(&r, "hmis")[0];
    assert_eq!(hmi["name"], "scada-hmi");
    assert_eq!(hmi["timeouts"], 0);
    assert_eq!(hmi["exceptions"], 0);
    assert_eq!(hmi["operator_actions"], 0);
    for plc in list(&r, "plcs") {
        assert_eq!(plc["exceptions"], 0, "{plc}");
        assert_eq!(plc["busy"], 0, "{plc}");
    }
}

#[test]
fn industroyer_opens_every_feeder_breaker_from_the_scada_hmi() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_exercise(&repo_path(INDUSTROYER), dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let r = common::read_json(&dir.path().join("results.json"));
    assert_eq!(step_statuses(&r), ["succeeded"; INDUSTROYER_STEPS]);
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    let steps = list(&r, "steps");
    let step = |id: &str| {
        steps
            .iter()
            .find(|s| s["id"] == id)
            .unwrap_or_else(|| panic!("no step {id:?}"))
    };

    // Discovery from the SCADA HMI found the RTU and the five relays; the DoS drove the
    // hospital feeder's relay beyond its capacity.
    let sweep = step("sweep the station bus")["detail"].as_str().unwrap();
    assert!(sweep.contains("6 of 6 hosts answer Modbus"), "{sweep}");
    let dos = step("DoS the hospital feeder's relay")["detail"]
        .as_str()
        .unwrap();
    assert!(dos.contains("busy"), "{dos}");

    // The impacts that are not limits crossed: the DoS keeps the SCADA HMI from hearing the
    // hospital feeder's relay (T0815); relay-f3, put into its firmware update mode, stops
    // protecting (T0837) and answers only "busy" (T0815, then T0829 when it lasts); the
    // dispatcher's re-close of Q15 is swallowed in the middle (T0813); then relay-f5's
    // answers are swallowed too, for good (T0815, T0829).
    let views: Vec<(&str, &str, &str)> = list(&r, "impacts")
        .iter()
        .filter(|i| i.get("limit").is_none())
        .map(|i| {
            (
                i["technique"].as_str().unwrap(),
                i["hmi"].as_str().unwrap_or("-"),
                i["component"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        views,
        [
            ("T0815", "scada-hmi", "relay-f2"),
            ("T0837", "-", "relay-f3"),
            ("T0815", "scada-hmi", "relay-f3"),
            ("T0813", "scada-hmi", "relay-f5"),
            ("T0829", "scada-hmi", "relay-f3"),
            ("T0815", "scada-hmi", "relay-f5"),
            ("T0829", "scada-hmi", "relay-f5"),
        ]
    );

    // Each feeder loses supply seconds after the write to its relay (Q14's by the range
    // mode's walk over its coil), and nothing else happens to the plant.
    let mut limits: Vec<String> = list(&r, "impacts")
        .iter()
        .filter_map(|i| i["limit"].as_str().map(str::to_string))
        .collect();
    limits.sort();
    limits.dedup();
    let want: Vec<String> = FEEDERS
        .iter()
        .map(|(f, _, _)| format!("{f}_supply_lost"))
        .collect();
    assert_eq!(limits, want);
    let opens = [
        ("open Q11 residential north", "T0855"),
        ("open Q12 hospital", "T0855"),
        ("open Q13 water pumping", "T0855"),
        ("open Q14 residential south", "T0806"),
        ("open Q15 industrial", "T0855"),
    ];
    for ((feeder, relay, _), (id, technique)) in FEEDERS.iter().zip(opens) {
        let step = step(id);
        assert_eq!(step["technique"], technique);
        assert_eq!(step["target"], *relay);
        let hits = impacts_of(&r, &format!("{feeder}_supply_lost"));
        let first = hits[0];
        assert_eq!(first["technique"], "T0826");
        let (t, s) = (f(&first["t_s"]), f(&step["started_s"]));
        assert!(
            t > s + 5.0 && t < s + 7.0,
            "{feeder} lost at {t} s, opened at {s} s"
        );
        // The dispatcher re-closes the feeders that are not held open, or cannot re-close
        // them at all: one outage each.
        if *feeder != "f2_hospital" {
            assert_eq!(hits.len(), 1, "{feeder}: {hits:?}");
        }
    }

    // The loop: every time the dispatcher re-closes Q12 it drops again, for an hour.
    let hospital = impacts_of(&r, "f2_hospital_supply_lost");
    assert!(hospital.len() > 15, "Q12 opened {} times", hospital.len());
    let hold = step("hold Q12 open");
    let loop_end = f(&hold["ended_s"]);
    assert!(f(&hold["started_s"]) + 3590.0 < loop_end);
    assert!(f(&hospital.last().unwrap()["t_s"]) < loop_end);
    let hmi = &list(&r, "hmis")[0];
    assert!(hmi["operator_actions"].as_u64().unwrap() >= 4 + 15, "{hmi}");

    // After the loop the dispatcher's next re-close holds: every feeder is back at the end
    // but the ones cut off from the HMI (its commands to Q15 swallowed in the middle, Q13's
    // relay in its firmware update mode).
    let v = final_values(&r);
    for (feeder, _, _) in FEEDERS {
        let out = OUT_AT_THE_END.contains(&feeder);
        assert_eq!(
            v[&format!("{feeder}.energized")],
            if out { 0.0 } else { 1.0 },
            "{feeder}"
        );
    }
}

/// Steps in the substation's Industroyer playbook.
const INDUSTROYER_STEPS: usize = 27;

/// Feeders the dispatcher cannot restore: the HMI's commands to Q15 never arrive, and
/// relay-f3, left in its firmware update mode, answers only "busy", so the dispatcher never
/// sees Q13's alarm to re-close it.
const OUT_AT_THE_END: [&str; 2] = ["f3_water", "f5_industrial"];

#[test]
fn industroyer_on_the_substation_stops_where_the_hmi_refuses_rdp_from_the_dmz() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        r#"
[policy]
name = "SCADA HMI host firewall"
default = "allow"

[[rule]]
name = "scada-hmi takes no RDP from the DMZ"
action = "deny"
at = ["scada-hmi"]
from = "zone:dmz"
to = "scada-hmi"
service = "rdp"
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let r = run_results(
        &repo_path(INDUSTROYER),
        &out,
        &["--policy", policy.to_str().unwrap()],
    );
    let mut want = vec!["succeeded", "blocked"];
    want.extend(["not_reached"; INDUSTROYER_STEPS - 2]);
    assert_eq!(step_statuses(&r), want);
    assert_eq!(r["steps"][1]["rule"], "scada-hmi takes no RDP from the DMZ");
    assert!(list(&r, "impacts").is_empty(), "{}", r["impacts"]);
}

#[test]
fn industroyer_on_the_substation_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run_results(&repo_path(INDUSTROYER), &a, &["--seed", "7"]);
    run_results(&repo_path(INDUSTROYER), &b, &["--seed", "7"]);
    let ra = std::fs::read(a.join("results.json")).unwrap();
    let rb = std::fs::read(b.join("results.json")).unwrap();
    assert!(ra == rb, "two runs with seed 7 differ in results.json");
}

/// A pick-up written below the load current (T0836) makes the relay's overcurrent element
/// trip Q15 half a second later; the dispatcher's re-close (co:0 = 1, already 1) is no
/// 0 → 1 edge, so the breaker stays locked out.
#[test]
fn an_overcurrent_trip_locks_the_feeder_out() {
    let dir = tempfile::tempdir().unwrap();
    let playbook = dir.path().join("pickup.toml");
    std::fs::write(
        &playbook,
        r#"
[playbook]
name = "pick-up lowered"

[[actor]]
name = "insider"
entry = "insider"
start = "scada-hmi"

[[step]]
id = "lower Q15's overcurrent pick-up to 10 A"
technique = "T0836"
actor = "insider"
target = "relay-f5"
at = "5m"
params = { register = "hr:0", value = 10 }
"#,
    )
    .unwrap();
    let exercise = dir.path().join("exercise.toml");
    std::fs::write(
        &exercise,
        format!(
            "[exercise]\nname = \"pick-up lowered\"\nplant = {:?}\nplaybook = {:?}\nduration = \"20m\"\nseed = 1\n",
            repo_path("scenarios/substation/plant.toml").to_str().unwrap(),
            playbook.to_str().unwrap()
        ),
    )
    .unwrap();
    let r = run_results(&exercise, &dir.path().join("out"), &[]);
    assert_eq!(step_statuses(&r), ["succeeded"]);
    let hits = impacts_of(&r, "f5_industrial_supply_lost");
    assert_eq!(list(&r, "impacts").len(), 1, "{}", r["impacts"]);
    let written = f(&r["steps"][0]["started_s"]);
    let t = f(&hits[0]["t_s"]);
    assert!(
        t > written + 5.0 && t < written + 7.0,
        "lost at {t} s, written at {written} s"
    );
    // The dispatcher answered the "Q15 open" alarm, to no effect.
    let hmi = &list(&r, "hmis")[0];
    assert_eq!(hmi["operator_actions"], 1, "{hmi}");
    let v = final_values(&r);
    assert_eq!(v["f5_industrial.closed"], 0.0);
    assert_eq!(v["f5_industrial.close"], 1.0, "the close command is still 1");
    assert_eq!(v["f5_industrial.load_kw"], 0.0);
    assert_eq!(
        v["f4_res_south.energized"], 1.0,
        "the other feeders are untouched"
    );
}
