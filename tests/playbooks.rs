//! Shipped playbooks replayed against the reference plant: under the flat network the
//! attack reaches its physical impact; under a policy that closes the attacker's first
//! lateral path the chain stops there; the pcap's ground-truth labels match the frames
//! tshark numbers.

mod common;

use common::{repo_path, run_results, step_statuses};
use std::path::Path;
use std::process::Command;

fn run(exercise: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    run_results(exercise, out, extra)
}

fn statuses(r: &serde_json::Value) -> Vec<String> {
    step_statuses(r)
}

/// A copy of a shipped playbook without the step whose id starts with `id`, and an
/// exercise on the reference plant running it: the control experiment of a test.
fn without_step(dir: &Path, playbook: &str, id: &str, duration: &str) -> std::path::PathBuf {
    without_steps(dir, playbook, &[id], duration)
}

/// [`without_step`] for several steps.
fn without_steps(dir: &Path, playbook: &str, ids: &[&str], duration: &str) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(repo_path(playbook)).unwrap();
    for id in ids {
        let i = text
            .find(&format!("[[step]]\nid = \"{id}"))
            .expect("the step is in the playbook");
        let j = i + 5 + text[i + 5..].find("[[step]]").expect("a step follows it");
        text = format!("{}{}", &text[..i], &text[j..]);
    }
    std::fs::write(dir.join("without.toml"), text).unwrap();
    let ex = dir.join("without-ex.toml");
    std::fs::write(
        &ex,
        format!(
            "[exercise]\nname = \"control\"\nplant = {:?}\nplaybook = \"without.toml\"\nduration = {duration:?}\n",
            repo_path("scenarios/water-treatment/plant.toml").display().to_string()
        ),
    )
    .unwrap();
    ex
}

/// A policy that closes RDP from the vendor VPN into the control room: the first lateral
/// path of most shipped playbooks.
fn no_rdp_from_the_vpn(dir: &Path) -> std::path::PathBuf {
    let policy = dir.join("no-rdp-from-vpn.toml");
    std::fs::write(
        &policy,
        "[policy]\nname = \"no RDP from the VPN\"\ndefault = \"allow\"\n\n[[rule]]\nname = \"no RDP from remote access into the control room\"\naction = \"deny\"\nfrom = \"vpn-gw\"\nto = \"zone:supervisory\"\nservice = \"rdp\"\n",
    )
    .unwrap();
    policy
}

#[test]
fn oldsmar_reaches_loss_of_safety_on_the_flat_network() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&repo_path("scenarios/oldsmar.toml"), dir.path(), &[]);
    assert_eq!(statuses(&r), ["succeeded"; 4]);
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    let impacts = r["impacts"].as_array().unwrap();
    let first = &impacts[0];
    assert_eq!(first["technique"], "T0880");
    assert_eq!(first["limit"], "naoh_overdose");
    // The set point was written at the fourth step; the overdose follows within minutes,
    // as NaOH accumulates in the contact tank.
    let written = r["steps"][3]["ended_s"].as_f64().unwrap();
    let t = first["t_s"].as_f64().unwrap();
    assert!(
        t > written && t < written + 300.0,
        "impact at {t} s, write at {written} s"
    );
    assert_eq!(
        r["steps"][3]["detail"],
        "plc-dosing hr:0 = 11100 written 1 time(s)"
    );
}

#[test]
fn oldsmar_stops_where_a_policy_closes_the_first_lateral_path() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("no-rdp-from-vpn.toml");
    std::fs::write(
        &policy,
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
    )
    .unwrap();
    let out = dir.path().join("out");
    let r = run(
        &repo_path("scenarios/oldsmar.toml"),
        &out,
        &["--policy", policy.to_str().unwrap()],
    );
    assert_eq!(
        statuses(&r),
        ["succeeded", "blocked", "not_reached", "not_reached"]
    );
    assert_eq!(
        r["steps"][1]["rule"],
        "no RDP from remote access into the control room"
    );
    assert!(r["impacts"].as_array().unwrap().is_empty(), "{}", r["impacts"]);
    assert_eq!(r["passed"], false, "the exercise expects the attack to succeed");
}

#[test]
fn pcap_labels_point_at_the_attackers_frames() {
    let dir = tempfile::tempdir().unwrap();
    run(&repo_path("scenarios/oldsmar.toml"), dir.path(), &["--pcap"]);
    let labels = std::fs::read_to_string(dir.path().join("capture-labels.csv")).unwrap();
    let mut rows = labels.lines();
    assert_eq!(rows.next(), Some("frame,step,step_id,technique,tactic,sim_frame"));
    let write_frames: Vec<u64> = rows
        .filter(|l| l.contains(",T0836,"))
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(!write_frames.is_empty(), "no T0836 frame labelled:\n{labels}");
    // tshark's view of the same frame numbers: the set point write and its echo.
    let filter = write_frames
        .iter()
        .map(|n| format!("frame.number=={n}"))
        .collect::<Vec<_>>()
        .join(" || ");
    let o = Command::new("tshark")
        .arg("-r")
        .arg(dir.path().join("capture.pcap"))
        .args([
            "-Y",
            &filter,
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "modbus.func_code",
        ])
        .args(["-e", "modbus.data", "-e", "ip.src", "-e", "ip.dst"])
        .output()
        .expect("tshark");
    let text = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), write_frames.len(), "{text}");
    for l in &lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert_eq!(f[1], "6", "a labelled T0836 frame is not FC 6: {l}");
        // Wireshark shows an FC 6 value as raw data: 0x2b5c = 11100 ppm.
        assert_eq!(f[2].replace(':', ""), "2b5c", "{l}");
    }
    // The request goes from hmi-1 (the intruder's foothold) to plc-dosing.
    assert!(
        lines.iter().any(|l| l.ends_with("10.20.1.11\t10.10.1.22")),
        "{text}"
    );
}

#[test]
fn fc90_reads_and_changes_the_operating_mode_and_tshark_sees_function_90() {
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("stop.toml");
    std::fs::write(
        &pb,
        r#"
[playbook]
name = "stop the dosing PLC"

[[actor]]
name = "intruder"
entry = "internet-facing"
start = "intruder"

[[step]]
technique = "T0868"
actor = "intruder"
target = "plc-dosing"
at = "1m"

[[step]]
technique = "T0858"
actor = "intruder"
target = "plc-dosing"
params = { mode = "stop" }

[[step]]
technique = "T0868"
actor = "intruder"
target = "plc-dosing"
after = "1s"
"#,
    )
    .unwrap();
    let ex = dir.path().join("ex.toml");
    std::fs::write(
        &ex,
        format!(
            "[exercise]\nname = \"fc90\"\nplant = {:?}\nplaybook = \"stop.toml\"\nduration = \"3m\"\n",
            repo_path("scenarios/water-treatment/plant.toml")
                .display()
                .to_string()
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let r = run(&ex, &out, &["--pcap"]);
    assert_eq!(statuses(&r), ["succeeded"; 3]);
    assert_eq!(r["steps"][0]["detail"], "plc-dosing is in run mode");
    assert_eq!(r["steps"][1]["detail"], "plc-dosing told to stop");
    assert_eq!(r["steps"][2]["detail"], "plc-dosing is in stop mode");
    let dosing = r["plcs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "plc-dosing")
        .unwrap();
    assert_eq!(dosing["mode"], "stop");
    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    assert!(events.contains(r#""event":"mode_change","device":"plc-dosing","from":"run","to":"stop""#));
    // Wireshark's Modbus dissector shows function 90 with the vendor payload.
    let o = Command::new("tshark")
        .arg("-r")
        .arg(out.join("capture.pcap"))
        .args([
            "-Y",
            "modbus.func_code == 90",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "modbus.data",
        ])
        .output()
        .expect("tshark");
    let text = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "three requests and three answers:\n{text}");
    // Requests from the intruder: session 0, sub-function 0x04, 0x41, 0x04.
    assert!(lines[0].starts_with("203.0.113.66\t10.10.1.22\t"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("203.0.113.66") && l.ends_with("0041")),
        "{text}"
    );
}

fn hmi_actions(r: &serde_json::Value, name: &str) -> u64 {
    r["hmis"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap()["operator_actions"]
        .as_u64()
        .unwrap()
}

#[test]
fn stuxnet_like_freezes_the_view_so_the_operator_never_reacts() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        &repo_path("scenarios/stuxnet.toml"),
        &dir.path().join("attack"),
        &[],
    );
    assert_eq!(statuses(&r), ["succeeded"; STUXNET_STEPS]);
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    // The intake PLC's level input is forced to a normal 3.0 m, so the PLC never raises its
    // high-level alarm, and hmi-1 is shown recorded normal values: its operator does
    // nothing, and only the safety system, on its own transmitter, trips the intake.
    let events = std::fs::read_to_string(dir.path().join("attack/events.jsonl")).unwrap();
    assert!(!events.contains(r#""device":"plc-intake","name":"raw tank high","raised":true"#));
    assert!(events.contains(r#""device":"plc-sis","name":"SIS raw tank high-high","raised":true"#));
    assert_eq!(hmi_actions(&r, "hmi-1"), 0);
    assert_eq!(r["impacts"][0]["limit"], "intake_power_lost");

    // The same attack without the forced input and the frozen view: the PLC raises its
    // alarm, the operator sees it and stops the intake pumps before the safety system has
    // to trip.
    let ex = without_steps(
        dir.path(),
        "scenarios/playbooks/stuxnet.toml",
        &["force the level input", "freeze hmi-1"],
        "1h",
    );
    let r = run(&ex, &dir.path().join("control"), &[]);
    assert_eq!(statuses(&r), ["succeeded"; STUXNET_STEPS - 2]);
    assert_eq!(hmi_actions(&r, "hmi-1"), 1);
    assert!(r["impacts"].as_array().unwrap().is_empty(), "{}", r["impacts"]);
}

/// Stuxnet spread over SMB to the SCADA database server before it went for the PLC: a
/// policy that closes SMB from the control room into operations stops it there, before any
/// frame reaches a controller.
#[test]
fn stuxnet_like_stops_where_smb_into_operations_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("no-smb.toml");
    std::fs::write(
        &policy,
        "[policy]\nname = \"no SMB into operations\"\ndefault = \"allow\"\n\n[[rule]]\nname = \"no SMB from the control room to operations\"\naction = \"deny\"\nfrom = \"zone:supervisory\"\nto = \"zone:operations\"\nservice = \"smb\"\n",
    )
    .unwrap();
    let r = run(
        &repo_path("scenarios/stuxnet.toml"),
        &dir.path().join("out"),
        &["--policy", policy.to_str().unwrap()],
    );
    // USB, lure, drivers, rootkit, calls home, shell and API succeed on the workstation;
    // the SMB exploit towards the database server (step 9) is blocked.
    let mut want = vec!["succeeded"; 8];
    want.push("blocked");
    want.extend(vec!["not_reached"; STUXNET_STEPS - 9]);
    assert_eq!(statuses(&r), want);
    assert_eq!(
        r["steps"][8]["rule"],
        "no SMB from the control room to operations"
    );
    assert!(r["impacts"].as_array().unwrap().is_empty());
}

/// Steps in the Stuxnet playbook.
const STUXNET_STEPS: usize = 27;

#[test]
fn triton_like_removes_the_safety_trip_then_the_filter_overpressures() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        &repo_path("scenarios/triton.toml"),
        &dir.path().join("attack"),
        &[],
    );
    assert_eq!(statuses(&r), ["succeeded"; TRITON_STEPS]);
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    let events = std::fs::read_to_string(dir.path().join("attack/events.jsonl")).unwrap();
    assert!(events.contains(r#""event":"program_download","device":"plc-sis","accepted":true"#));
    assert!(
        r["steps"][14]["detail"].as_str().unwrap().contains("6 blocks"),
        "{}",
        r["steps"][14]
    );
    let overpressure = r["impacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["technique"] == "T0879")
        .expect("overpressure");
    assert_eq!(overpressure["limit"], "filter_vessel.overpressure");

    // The same attack without the program download that removes the trip: the safety system
    // still trips the feed pump at 7 bar and the vessel never reaches its design pressure.
    let ex = without_step(
        dir.path(),
        "scenarios/playbooks/triton.toml",
        "download a program",
        "40m",
    );
    let r = run(&ex, &dir.path().join("control"), &[]);
    assert_eq!(statuses(&r), ["succeeded"; TRITON_STEPS - 1]);
    assert!(
        r["impacts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["technique"] != "T0879"),
        "{}",
        r["impacts"]
    );
}

#[test]
fn triton_like_stops_where_rdp_from_the_vpn_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let policy = no_rdp_from_the_vpn(dir.path());
    let r = run(
        &repo_path("scenarios/triton.toml"),
        &dir.path().join("out"),
        &["--policy", policy.to_str().unwrap()],
    );
    let mut want = vec!["succeeded", "blocked"];
    want.extend(["not_reached"; TRITON_STEPS - 2]);
    assert_eq!(statuses(&r), want);
    assert!(r["impacts"].as_array().unwrap().is_empty());
}

/// Steps in the TRITON playbook.
const TRITON_STEPS: usize = 27;

#[test]
fn colonial_like_ransomware_in_it_ends_in_a_precautionary_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(&repo_path("scenarios/colonial.toml"), &dir.path().join("a"), &[]);
    assert_eq!(statuses(&r), ["succeeded"; 11]);
    assert_eq!(r["passed"], true, "{}", r["expectations"]);
    // The shutdown is the site's own procedure, logged as the control room's action.
    let events = std::fs::read_to_string(dir.path().join("a/events.jsonl")).unwrap();
    assert!(events.contains(r#""alarm":"procedure: precautionary shutdown after ransomware in IT""#));
    let encrypted_at = r["steps"][10]["ended_s"].as_f64().unwrap();
    let impact = &r["impacts"][0];
    assert_eq!(impact["technique"], "T0828");
    // 30 minutes of deliberation, then the reservoir drains for hours.
    assert!(impact["t_s"].as_f64().unwrap() > encrypted_at + 1800.0);
    // Deterministic for a seed.
    run(&repo_path("scenarios/colonial.toml"), &dir.path().join("b"), &[]);
    assert_eq!(
        std::fs::read(dir.path().join("a/results.json")).unwrap(),
        std::fs::read(dir.path().join("b/results.json")).unwrap()
    );
}

#[test]
fn colonial_like_stops_where_egress_to_the_internet_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        "[policy]\nname = \"no office egress\"\ndefault = \"allow\"\n\n[[rule]]\nname = \"workstations do not talk to the internet\"\naction = \"deny\"\nfrom = \"zone:enterprise\"\nto = \"zone:internet\"\n",
    )
    .unwrap();
    let r = run(
        &repo_path("scenarios/colonial.toml"),
        &dir.path().join("out"),
        &["--policy", policy.to_str().unwrap()],
    );
    let mut want = vec!["succeeded", "blocked"];
    want.extend(["not_reached"; 9]);
    assert_eq!(statuses(&r), want);
    assert_eq!(r["steps"][1]["rule"], "workstations do not talk to the internet");
    assert!(r["impacts"].as_array().unwrap().is_empty());
}

#[test]
fn the_allow_list_detects_oldsmars_set_point_write_and_says_when() {
    let dir = tempfile::tempdir().unwrap();
    let ex = dir.path().join("ex.toml");
    std::fs::write(
        &ex,
        format!(
            "[exercise]\nname = \"oldsmar watched\"\nplant = {:?}\nplaybook = {:?}\ndetectors = {:?}\nduration = \"20m\"\n",
            repo_path("scenarios/water-treatment/plant.toml").display().to_string(),
            repo_path("scenarios/playbooks/oldsmar.toml").display().to_string(),
            repo_path("scenarios/detectors/control-allow-list.toml").display().to_string(),
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let r = run(&ex, &out, &[]);
    assert_eq!(statuses(&r), ["succeeded"; 4]);
    let events: Vec<serde_json::Value> = std::fs::read_to_string(out.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let alerts: Vec<&serde_json::Value> = events.iter().filter(|e| e["event"] == "alert").collect();
    let write = alerts
        .iter()
        .find(|a| a["signature"] == "new Modbus function 6 from hmi-1 to plc-dosing (unit 1)")
        .unwrap_or_else(|| panic!("no alert on the set point write: {alerts:#?}"));
    // Seen at the control switch on its way to the PLC, within a second of the step's start.
    let started = r["steps"][3]["started_s"].as_f64().unwrap();
    let t = write["t"].as_f64().unwrap() / 1e9;
    assert!(
        t >= started && t < started + 1.0,
        "alert at {t} s, step at {started} s"
    );
    // The same alert in Suricata's EVE format beside the results.
    let eve = std::fs::read_to_string(out.join("alerts.eve.json")).unwrap();
    assert!(
        eve.lines()
            .any(|l| l.contains(r#""event_type":"alert""#) && l.contains("function 6"))
    );
}

#[test]
fn detectors_can_be_given_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let det = repo_path("scenarios/detectors/control-allow-list.toml");
    let r = run(
        &repo_path("scenarios/oldsmar.toml"),
        dir.path(),
        &["--detectors", det.to_str().unwrap(), "--duration", "15m"],
    );
    assert_eq!(
        r["taps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["name"] == "control allow-list")
            .count(),
        1
    );
    let eve = std::fs::read_to_string(dir.path().join("alerts.eve.json")).unwrap();
    assert_eq!(eve.lines().count(), 1, "{eve}");
    assert!(eve.contains("new Modbus function 6 from hmi-1 to plc-dosing"));
}
