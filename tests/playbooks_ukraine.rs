//! The 2015 and 2022 Ukraine power attacks (ATT&CK C0028; C0034 with Industroyer2, S1072)
//! replayed against the substation: under the flat network every step succeeds and the
//! feeders lose their supply when the physics says; under a policy that closes the
//! attacker's path the chain stops at that step, with the rule named, and nothing happens to
//! the plant; each run is deterministic for a seed.

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

/// Every impact from a limit, in time order.
fn impacts_of<'a>(r: &'a serde_json::Value, limit: &str) -> Vec<&'a serde_json::Value> {
    impacts(r).iter().filter(|i| i["limit"] == limit).collect()
}

/// The first device impact (T0813, T0815, T0829) of a technique on a device.
fn device_impact<'a>(
    r: &'a serde_json::Value,
    technique: &str,
    device: &str,
) -> Option<&'a serde_json::Value> {
    impacts(r)
        .iter()
        .find(|i| i["technique"] == technique && i["component"] == device)
}

fn t(v: &serde_json::Value) -> f64 {
    v["t_s"].as_f64().unwrap()
}

/// A step by its id: the tests do not count steps, so steps added to a playbook (the
/// T0857 firmware steps, once that executor is merged) do not shift them.
fn step<'a>(r: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id:?} in {}", r["steps"]))
}

fn step_end(r: &serde_json::Value, id: &str) -> f64 {
    step(r, id)["ended_s"].as_f64().unwrap()
}

/// The feeder's supply at the end of the run (1 energized, 0 not).
fn energized(r: &serde_json::Value, feeder: &str) -> f64 {
    let key = format!("{feeder}.energized");
    r["process"]["final_values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == key.as_str())
        .and_then(|p| p[1].as_f64())
        .unwrap_or_else(|| panic!("no final value {key}"))
}

// ── 2015: C0028, over the VPN and the dispatcher's HMI ────────────────────────────────────

const UKRAINE_2015: &str = "scenarios/ukraine-2015.toml";

/// Each feeder, its relay and the step that opens its breaker.
const OPENED_2015: [(&str, &str, &str); 5] = [
    ("f1_res_north", "relay-f1", "open Q11 on the dispatcher's screen"),
    ("f2_hospital", "relay-f2", "open Q12 on the dispatcher's screen"),
    ("f3_water", "relay-f3", "open Q13"),
    ("f4_res_south", "relay-f4", "open Q14 with the SCADA client"),
    ("f5_industrial", "relay-f5", "open Q15 with the SCADA client"),
];

#[test]
fn ukraine_2015_opens_every_feeder_and_cuts_the_dispatcher_off_on_the_flat_network() {
    let r = run_flat(UKRAINE_2015);
    let s = statuses(&r);
    assert!(s.len() >= 19 && s.iter().all(|x| x == "succeeded"), "{s:?}");
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    assert_eq!(
        step(&r, "take the dispatcher's HMI")["detail"],
        "T0886 took scada-hmi over rdp as dispatcher"
    );
    assert_eq!(
        step(&r, "open Q11 on the dispatcher's screen")["detail"],
        "relay-f1 co:0 = 0 written 1 time(s)"
    );
    assert_eq!(
        step(&r, "the control room's UPS off")["detail"],
        "rtu-station forced into listen-only mode"
    );
    // Relays that got the gateways' bricking firmware (T0857), once that executor is merged.
    let bricked = |relay: &str| {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["technique"] == "T0857" && s["target"] == relay)
    };
    // Every feeder loses its supply once, the limit's 5 s after the write to its relay (and
    // a physics step); the dispatcher restores those whose relay still hears it.
    for (feeder, relay, id) in OPENED_2015 {
        let lost = impacts_of(&r, &format!("{feeder}_supply_lost"));
        assert_eq!(lost.len(), 1, "{feeder}: {lost:?}");
        assert_eq!(lost[0]["technique"], "T0826");
        let (at, w) = (t(lost[0]), step_end(&r, id));
        assert!(
            at > w + 5.0 && at < w + 7.0,
            "{feeder} lost at {at} s, opened at {w} s"
        );
        let cut_off = relay == "relay-f5" || bricked(relay);
        assert_eq!(energized(&r, feeder), if cut_off { 0.0 } else { 1.0 }, "{feeder}");
    }
    // The dispatcher's re-close of Q15, three minutes after its "open" alarm (2 s after the
    // write), is swallowed in the middle: Denial of Control within the answer timeout.
    let q15 = step_end(&r, "open Q15 with the SCADA client");
    let denied = device_impact(&r, "T0813", "relay-f5").expect("no T0813 on relay-f5");
    assert!(
        t(denied) > q15 + 182.0 && t(denied) < q15 + 186.0,
        "T0813 at {} s, Q15 opened at {q15} s",
        t(denied)
    );
    // After the merge, the bricked relays answer the re-close with silence too.
    for relay in ["relay-f3", "relay-f4"] {
        assert_eq!(
            device_impact(&r, "T0813", relay).is_some(),
            bricked(relay),
            "{relay}: {}",
            r["impacts"]
        );
    }
    // The HMI loses relay-f5 (its answers swallowed) and the silenced RTU: Denial of View
    // 10 s after the last answer, Loss of View 890 s after that.
    for (device, id) in [
        ("relay-f5", "Q15's gateway sends no more reports"),
        ("rtu-station", "the control room's UPS off"),
    ] {
        let dov = device_impact(&r, "T0815", device).expect("no T0815");
        let lov = device_impact(&r, "T0829", device).expect("no T0829");
        let from = step(&r, id)["started_s"].as_f64().unwrap();
        assert!(t(dov) > from + 9.0 && t(dov) < from + 12.0, "{device}: {dov}");
        assert!((t(lov) - t(dov) - 890.0).abs() < 1.0, "{device}: {lov}");
    }
}

#[test]
fn ukraine_2015_stops_where_remote_access_ends_in_the_dmz() {
    let r = run_with_policy(
        UKRAINE_2015,
        r#"
[policy]
name = "remote access ends in the DMZ"
default = "allow"

[[rule]]
name = "no RDP from the DMZ into the control room"
action = "deny"
at = "any-firewall"
from = "zone:dmz"
to = "zone:control-room"
service = "rdp"
"#,
    );
    assert_stopped_at(&r, 1, "no RDP from the DMZ into the control room");
    assert_eq!(r["steps"][1]["blocked_at"], "ot-fw");
}

#[test]
fn ukraine_2015_is_deterministic() {
    assert_deterministic(UKRAINE_2015, &[]);
}

// ── 2022: Industroyer2 (S1072), then the MicroSCADA attack (C0034) ─────────────────────────

const UKRAINE_2022: &str = "scenarios/ukraine-2022.toml";

#[test]
fn ukraine_2022_industroyer2_and_scilc_open_the_feeders_on_the_flat_network() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&repo_path(UKRAINE_2022), dir.path(), &[]);
    assert_eq!(statuses(&r), ["succeeded"; 18]);
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    assert_eq!(
        step(&r, "identify Q11's relay")["detail"],
        "relay-f1 is Siemens 7SJ6225-5EB21-1FA0 V4.91"
    );
    assert_eq!(
        step(&r, "toggle Q11 on and off")["detail"],
        "relay-f1 co:0..=co:0 toggled: 4 writes"
    );
    assert_eq!(
        step(&r, "Q13's pick-up below its load")["detail"],
        "relay-f3 hr:0 = 10 written 1 time(s)"
    );
    // Commands open Q11, Q12, Q14, Q15 and Q11 again: each feeder is lost the limit's 5 s
    // after its write, and the dispatcher restores it.
    for (limit, id, nth) in [
        ("f1_res_north_supply_lost", "toggle Q11 on and off", 0),
        ("f2_hospital_supply_lost", "open Q12", 0),
        ("f4_res_south_supply_lost", "s1.txt opens Q14", 0),
        ("f5_industrial_supply_lost", "s1.txt opens Q15", 0),
        ("f1_res_north_supply_lost", "s1.txt opens Q11", 1),
    ] {
        let lost = impacts_of(&r, limit);
        let (at, w) = (t(lost[nth]), step_end(&r, id));
        assert!(
            at > w + 5.0 && at < w + 7.0,
            "{limit} at {at} s, step {id:?} ended {w} s"
        );
    }
    // The pick-up below the load: the relay trips its own breaker 0.5 s after the write,
    // the feeder is lost 5 s later and stays out (lockout: the re-close is no 0 -> 1 edge).
    let q13 = impacts_of(&r, "f3_water_supply_lost");
    assert_eq!(q13.len(), 1, "{q13:?}");
    let w = step_end(&r, "Q13's pick-up below its load");
    assert!(
        t(q13[0]) > w + 5.5 && t(q13[0]) < w + 7.5,
        "{q13:?}, written at {w} s"
    );
    for (feeder, on) in [
        ("f1_res_north", 1.0),
        ("f2_hospital", 1.0),
        ("f3_water", 0.0),
        ("f4_res_south", 1.0),
        ("f5_industrial", 1.0),
    ] {
        assert_eq!(energized(&r, feeder), on, "{feeder}");
    }
    let hmi = &r["hmis"][0];
    assert_eq!(hmi["operator_actions"], 6, "{hmi}");
    assert_eq!(hmi["alarms_shown_at_end"], serde_json::json!(["Q13 open"]));
    // The MicroSCADA chain is on the SCADA server's own log: MicroSCADA's SCIL
    // interpreter, started by the batch file.
    let log = std::fs::read_to_string(dir.path().join("host-events.jsonl")).unwrap();
    let scilc = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["image"] == r"C:\sc\prog\exec\scilc.exe")
        .expect("no scilc.exe in the host log");
    assert_eq!(scilc["host"], "scada-hmi");
    assert_eq!(scilc["command_line"], r"scilc.exe -do E:\pack\scil\s1.txt");
    assert_eq!(scilc["parent_image"], r"C:\Windows\System32\cmd.exe");
}

#[test]
fn ukraine_2022_stops_where_the_relays_obey_the_scada_server_only() {
    let r = run_with_policy(
        UKRAINE_2022,
        r#"
[policy]
name = "relays obey the SCADA server only"
default = "allow"

[[rule]]
name = "the SCADA server commands the relays"
action = "allow"
from = "scada-hmi"
to = "zone:station"
service = "modbus"

[[rule]]
name = "no other host writes to the relays"
action = "deny"
at = "host"
to = "zone:station"
service = "modbus"
modbus = { access = "write" }
"#,
    );
    // Industroyer2 reads the relays from the engineering workstation, as its engineering
    // sessions do, but its first write, the toggling of Q11, is refused by the relay.
    assert_stopped_at(&r, 6, "no other host writes to the relays");
    assert_eq!(r["steps"][6]["blocked_at"], "relay-f1");
}

#[test]
fn ukraine_2022_is_deterministic() {
    assert_deterministic(UKRAINE_2022, &[]);
}
