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

/// The index of the (first) step of a technique.
fn step_of(r: &Value, technique: &str) -> usize {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["technique"] == technique)
        .unwrap_or_else(|| panic!("no {technique} step"))
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
    // T0832 replaces hmi-1's answers from the intake PLC with recorded ones; the
    // tank then rises (the steps after it) while hmi-1 shows it still. The SIS's own transmitter,
    // polled by hmi-2, sees the rise: the two drift apart.
    // The intake PLC's level input is forced (T0835) shortly before the freeze: from then
    // on hmi-1's level and the SIS transmitter's disagree, whichever step caused it.
    let frozen = started_s(&r, step_of(&r, "T0835")).min(started_s(&r, step_of(&r, "T0832")));
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

/// The first alert of `detector` at or after `from` seconds, with its signature id.
fn first_alert<'a>(alerts: &'a [Value], detector: &str, from: f64) -> Option<&'a Value> {
    alerts
        .iter()
        .find(|a| a["detector"] == detector && t_s(a) >= from)
}

#[test]
fn rules_and_allow_list_see_oldsmar_under_flat_and_say_which_step_and_how_soon() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        "scenarios/oldsmar.toml",
        dir.path(),
        &["--detectors", &detectors("plant-detection")],
    );
    assert_eq!(step_statuses(&r), ["succeeded"; 4]);
    let alerts = alerts(dir.path());
    // Step 2, remote desktop from the VPN gateway into hmi-1: the rules, on the wire.
    let rdp = first_alert(&alerts, "plant rules", started_s(&r, 0)).expect("the rules see the RDP session");
    assert_eq!(rdp["signature_id"], 2_111_023);
    assert_eq!(rdp["technique"], "T0886");
    let after = t_s(rdp) - started_s(&r, 1);
    assert!((0.0..1.0).contains(&after), "RDP alert {after} s after step 2");
    // Step 4, the set point write: 11,100 ppm is outside the rule's operating range.
    let write = first_alert(&alerts, "plant rules", started_s(&r, 3)).expect("the rules see the write");
    assert_eq!(write["signature_id"], 2_111_021);
    assert_eq!(write["technique"], "T0836");
    assert!(t_s(write) - started_s(&r, 3) < 0.01);
    // The allow-list has never seen hmi-1 write to the dosing PLC (8 minutes of learning).
    let new = first_alert(&alerts, "control allow-list", 0.0).expect("the allow-list flags something");
    assert_eq!(
        new["signature"],
        "new Modbus function 6 from hmi-1 to plc-dosing (unit 1)"
    );
    assert!(t_s(new) - started_s(&r, 3) < 0.01);
    // results.json scores each step as ATT&CK Evaluations do, from the alerts resting on
    // its frames.
    let detection: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["detection"].as_str().unwrap())
        .collect();
    assert_eq!(detection, ["none", "technique", "telemetry", "technique"]);
    let by: Vec<&str> = r["steps"][3]["detected_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["detector"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["plant rules", "control allow-list"]);
    assert!(r["steps"][3]["time_to_detect_s"].as_f64().unwrap() < 0.01);
    assert!(r["steps"][0]["time_to_detect_s"].is_null());
    // Steps 1 and 3 leave no Modbus trace the rules could judge (VPN login, an HMI read).
    // Step 3's read crossed the tapped control switch, so it is telemetry: both detectors
    // saw it and said nothing. Step 1 stayed in the DMZ, where no detector sits.
    assert_eq!(
        r["steps"][2]["seen_by"],
        serde_json::json!(["plant rules", "control allow-list"])
    );
    assert_eq!(r["steps"][0]["seen_by"], serde_json::json!([]));
    assert!(
        !alerts
            .iter()
            .any(|a| t_s(a) < started_s(&r, 1) || (t_s(a) >= started_s(&r, 2) && t_s(a) < started_s(&r, 3))),
        "{alerts:#?}"
    );
}

#[test]
fn rules_and_allow_list_see_frostygoop_under_flat_from_its_first_request() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        "scenarios/frostygoop.toml",
        dir.path(),
        &["--detectors", &detectors("plant-detection"), "--duration", "10m"],
    );
    let alerts = alerts(dir.path());
    // Every step on the wire is seen by the rules within 0.1 s: the FC 17 sweep, FC 43, the
    // tool's Modbus session (reads), the reads, the two writes of heater set points to zero.
    // Starting the tool on the actor's own machine (step 3) puts nothing on the wire.
    let expect: [&[u64]; 8] = [
        &[2_111_007, 2_111_020],
        &[2_111_006, 2_111_007, 2_111_020],
        &[],
        &[2_111_008, 2_111_020],
        &[2_111_008, 2_111_020],
        &[2_111_008, 2_111_020],
        &[2_111_010, 2_111_020, 2_111_022],
        &[2_111_010, 2_111_020, 2_111_022],
    ];
    for (step, sids) in expect.iter().enumerate() {
        let start = started_s(&r, step);
        let end = r["steps"]
            .get(step + 1)
            .and_then(|s| s["started_s"].as_f64())
            .unwrap_or(f64::MAX);
        let mut seen: Vec<u64> = alerts
            .iter()
            .filter(|a| a["detector"] == "plant rules" && t_s(a) >= start && t_s(a) < end)
            .map(|a| a["signature_id"].as_u64().unwrap())
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(&seen, sids, "step {}", step + 1);
        if sids.is_empty() {
            continue;
        }
        let first = first_alert(&alerts, "plant rules", start).unwrap();
        assert!(
            t_s(first) - start < 0.1,
            "step {}: {}",
            step + 1,
            t_s(first) - start
        );
    }
    // The sweep is FC 17 (the rules call it T0888, discovery): the tactic, not the
    // technique (T0846); the tool's session and port are Modbus reads, which the rules see
    // but cannot call by those techniques (general); every other step on the wire by its
    // technique. The FC 90 firmware-update command is seen as the tactic (the rules know
    // FC 90 program and mode writes), the image transfer as Modbus traffic only.
    let detection: Vec<&str> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["detection"].as_str().unwrap())
        .collect();
    assert_eq!(
        detection,
        [
            "tactic",
            "technique",
            "none",
            "general",
            "general",
            "technique",
            "technique",
            "technique",
            "tactic",
            "general"
        ]
    );
    // The allow-list flags the intruder's first flow to a PLC.
    let new = first_alert(&alerts, "control allow-list", 0.0).expect("the allow-list flags the intruder");
    assert_eq!(new["src"], "intruder");
    assert!(t_s(new) - started_s(&r, 0) < 0.1);
}

#[test]
fn a_monitored_benign_day_raises_no_rule_allow_list_invariant_or_inventory_alert() {
    let dir = tempfile::tempdir().unwrap();
    let r = run("scenarios/water-treatment-monitored.toml", dir.path(), &[]);
    // Its own expectations (false-alarm budget, nothing legitimate blocked) hold.
    assert_eq!(r["passed"], true, "{:#}", r["expectations"]);
    let tap = |name: &str| -> Value {
        r["taps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no detector {name}"))["summary"]
            .clone()
    };
    for quiet in [
        "plant rules",
        "plant allow-list",
        "process invariants",
        "asset inventory",
    ] {
        assert_eq!(tap(quiet)["alerts"], serde_json::json!([]), "{quiet}");
    }
    assert!(
        tap("plant rules")["figures"]["frames_inspected"]
            .as_u64()
            .unwrap()
            > 1_000_000
    );
    let inventory = &tap("asset inventory")["figures"];
    // Every asset its taps can see: 13 of 14. The filtration line's TSN cell is a layer-2
    // network of its own with no tap, so passive discovery misses a module there, as it
    // would on a real site; the cell's traffic is measured by its streams instead.
    let coverage = inventory["coverage_percent"].as_f64().unwrap();
    assert!((coverage - 1300.0 / 14.0).abs() < 1e-9, "{coverage}");
    assert_eq!(inventory["unknown"], serde_json::json!([]));
    // The anomaly model after 6 h of learning: a handful of false alarms in 18 h, all of
    // them the engineering workstation's first visit to a PLC it had not touched while
    // learning. Reported per hour, at every threshold of the sweep.
    let anomaly = &tap("anomaly")["figures"];
    let per_hour = anomaly["alerts_per_hour"].as_f64().unwrap();
    assert!(per_hour < 1.0, "anomaly false alarms per hour: {per_hour}");
    let sweep = anomaly["sweep"].as_array().unwrap();
    assert_eq!(sweep.len(), 9);
    assert!(
        sweep
            .windows(2)
            .all(|w| w[0]["alerts"].as_u64() >= w[1]["alerts"].as_u64())
    );
}

#[test]
fn an_inline_rule_set_drops_frostygoops_writes_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    // An IPS in the control switch with one drop rule (writes only from the HMIs) and one
    // alert rule (identification from anyone but the engineering workstation): only the
    // drop rule stops frames; the alert rule reports.
    std::fs::write(
        dir.path().join("ips.rules"),
        "drop modbus !$HMI any -> $MODBUS_SERVER 502 (msg:\"write from a host other than an HMI\"; \
         modbus: access write; sid:3000001; rev:1;)\n\
         alert modbus !$ENGINEERING any -> $MODBUS_SERVER 502 (msg:\"identification\"; \
         modbus: function 43; sid:3000002; rev:1;)\n",
    )
    .unwrap();
    let set = dir.path().join("ips.toml");
    std::fs::write(
        &set,
        "[[detector]]\nkind = \"rules\"\nname = \"rules IPS\"\nat = [\"sw-ctl\"]\nmode = \"prevent\"\nrules = \"ips.rules\"\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let r = run(
        "scenarios/frostygoop.toml",
        &out,
        &["--detectors", set.to_str().unwrap(), "--duration", "2h"],
    );
    // Discovery and reads pass (and FC 43 is reported); both writes are stopped in sw-ctl.
    let mut want = vec!["succeeded"; 6];
    want.extend(["blocked", "not_reached", "not_reached", "not_reached"]);
    assert_eq!(step_statuses(&r), want);
    assert_eq!(r["steps"][6]["blocked_at"], "sw-ctl");
    assert_eq!(r["steps"][6]["rule"], "rules IPS sid 3000001");
    assert!(r["impacts"].as_array().unwrap().is_empty());
    // The plant's own traffic is untouched: rules that name roles do not guess.
    assert_eq!(r["network"]["blocked_legitimate"], 0);
    assert!(r["hmis"].as_array().unwrap().iter().all(|h| h["timeouts"] == 0));
    let eve = std::fs::read_to_string(out.join("alerts.eve.json")).unwrap();
    let actions: Vec<(u64, String)> = eve
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|e| {
            (
                e["alert"]["signature_id"].as_u64().unwrap(),
                e["alert"]["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [(3000002, "allowed".to_string()), (3000001, "blocked".to_string())]
    );
}

/// A detector that judges the plant's own traffic gets credit for the step whose effect it
/// sees: in the Stuxnet-like exercise the invariants detector's T0832 alert rests on the
/// safety PLC's answers (no step's frames), about two minutes after the step that froze hmi-1's view.
#[test]
fn the_invariants_see_the_frozen_view_of_stuxnet_at_technique_level() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_results(
        &repo_path("scenarios/stuxnet.toml"),
        dir.path(),
        &[
            "--detectors",
            repo_path("scenarios/detectors/plant-invariants.toml")
                .to_str()
                .unwrap(),
        ],
    );
    let step = &r["steps"][step_of(&r, "T0832")];
    assert_eq!(step["detection"], "technique", "{step:#}");
    let by = &step["detected_by"][0];
    assert_eq!(by["detector"], "process invariants");
    assert_eq!(by["attributed_by"], "technique");
    let ttd = step["time_to_detect_s"].as_f64().unwrap();
    // The drift the forced input (T0835) started was alerted on before the freeze; the
    // alert credited to the freeze comes when the frozen view drifts again.
    assert!((60.0..420.0).contains(&ttd), "time to detect {ttd} s");
}
