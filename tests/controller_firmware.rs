//! Controller firmware, the input image and controller tasking over FC 90, on a fixture
//! plant (tests/fixtures/plants/firmware.toml): plc-1 opens a drain when its level input
//! passes 1.5 m, plc-2 holds the fill valve open. One playbook reads plc-1's input image,
//! forces its level input (T0877, T0835), puts plc-2 in firmware-update mode and bricks it
//! (T0800, T0857), and appends a task to plc-1's program (T0821); another implants plc-1's
//! firmware (T0839) and restarts plc-2 out of firmware-update mode (T0816).

mod common;

use common::{describe, fixture, otrange, run_results};
use std::ffi::OsStr;

fn steps(r: &serde_json::Value) -> Vec<(String, String, String)> {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["technique"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
                s["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn final_value(r: &serde_json::Value, signal: &str) -> f64 {
    r["process"]["final_values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v[0] == signal)
        .and_then(|v| v[1].as_f64())
        .unwrap_or_else(|| panic!("no final value of {signal}"))
}

fn plc<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    r["plcs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap()
}

fn events(out: &std::path::Path, kind: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == kind)
        .collect()
}

#[test]
fn a_forced_input_drives_the_logic_and_a_bricked_plc_stops_answering_and_driving() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = run_results(&fixture("firmware.toml"), &out, &["--no-report"]);
    let s = steps(&r);
    let status: Vec<(&str, &str)> = s.iter().map(|(t, st, _)| (t.as_str(), st.as_str())).collect();
    assert_eq!(
        status,
        [
            ("T0877", "succeeded"),
            ("T0835", "succeeded"),
            ("T0877", "succeeded"),
            ("T0800", "succeeded"),
            ("T0857", "succeeded"),
            ("T0821", "succeeded"),
            ("T0868", "failed"),
        ],
        "{s:?}"
    );
    // T0877 reads the level as latched (1.02 m at 20 s, in cm), then the forced value.
    assert_eq!(s[0].2, "plc-1's input image: ir:0 = 102");
    assert_eq!(s[2].2, "plc-1's input image: ir:0 = 200 (forced)");
    // The forced level (2.0 m) opens the drain though the tank never reached 1.5 m: it ends
    // below where it started. Left alone, the drain stays shut (the fixture's header).
    assert_eq!(final_value(&r, "drain.command"), 1.0);
    assert!(
        final_value(&r, "tank.level") < 1.0,
        "{}",
        final_value(&r, "tank.level")
    );
    // plc-2 refused the HMI's polls with exception 6 while in firmware-update mode, then,
    // bricked, answered nothing: the mode request for T0868 goes unanswered.
    let p2 = plc(&r, "plc-2");
    assert_eq!(p2["mode"], "bricked", "{p2}");
    assert!(p2["busy"].as_u64().unwrap() > 0, "{p2}");
    assert!(p2["dropped"].as_u64().unwrap() > 0, "{p2}");
    assert!(
        s[4].2
            .contains("65536-byte brick image installed on plc-2 in 276 FC 90 requests"),
        "{}",
        s[4].2
    );
    assert_eq!(s[6].2, "plc-2 left 1 requests unanswered");
    // Its fill valve, held open in run and in its safe state, is no longer driven: the
    // output de-energised when the image failed to boot.
    assert_eq!(final_value(&r, "fill.command"), 0.0);
    let modes: Vec<(String, String)> = events(&out, "mode_change")
        .iter()
        .map(|e| {
            (
                e["from"].as_str().unwrap().into(),
                e["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        modes,
        [
            ("run".to_string(), "firmware_update".to_string()),
            ("firmware_update".to_string(), "bricked".to_string())
        ]
    );
    let install = &events(&out, "firmware_install")[0];
    assert_eq!(
        (&install["device"], &install["booted"]),
        (&"plc-2".into(), &false.into())
    );
    // T0821 appends a task: plc-1 runs its 2 blocks and the task's 1, unlike T0889's
    // replacement.
    let dl = &events(&out, "program_download")[0];
    assert_eq!(dl["detail"], "task of 1 blocks appended (3 blocks run)");
    assert!(
        s[5].2
            .starts_with("task appended to plc-1's program (\"plc-1: 2 blocks"),
        "{}",
        s[5].2
    );
    // Firmware-update mode stops the protection PLC's logic (T0837); the HMI lost its view
    // of it (T0815) from the exceptions on.
    let impacts: Vec<&str> = r["impacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["technique"].as_str().unwrap())
        .collect();
    assert_eq!(impacts, ["T0837", "T0815"]);
}

#[test]
fn an_implant_runs_with_its_version_and_a_restart_leaves_firmware_update_mode() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let r = run_results(&fixture("firmware-implant.toml"), &out, &["--no-report"]);
    let s = steps(&r);
    let status: Vec<&str> = s.iter().map(|(_, st, _)| st.as_str()).collect();
    assert_eq!(
        status,
        [
            "succeeded",
            "succeeded",
            "succeeded",
            "succeeded",
            "succeeded",
            "failed"
        ],
        "{s:?}"
    );
    // The implant boots: plc-1 runs again, and its identity (FC 43) names the new version.
    assert!(s[1].2.contains("reports version v3.21"), "{}", s[1].2);
    assert_eq!(s[2].2, "plc-1 is Schneider Electric BMX P34 2020 v3.21");
    assert_eq!(plc(&r, "plc-1")["mode"], "run");
    // A restart (FC 8/1) takes plc-2 out of firmware-update mode, back to run; an image then
    // is refused, the step failing with the reason.
    assert_eq!(plc(&r, "plc-2")["mode"], "run");
    assert_eq!(
        s[5].2,
        "plc-2 refused the firmware image (FC 90 0x61): not in the mode the request needs \
         (T0857 needs firmware-update mode first: T0800 Activate Firmware Update Mode)"
    );
    let modes: Vec<(String, String, String)> = events(&out, "mode_change")
        .iter()
        .map(|e| {
            (
                e["device"].as_str().unwrap().into(),
                e["from"].as_str().unwrap().into(),
                e["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    let m = |d: &str, f: &str, t: &str| (d.to_string(), f.to_string(), t.to_string());
    assert_eq!(
        modes,
        [
            m("plc-1", "run", "firmware_update"),
            m("plc-1", "firmware_update", "run"),
            m("plc-2", "run", "firmware_update"),
            m("plc-2", "firmware_update", "run"),
        ]
    );
    assert_eq!(final_value(&r, "fill.command"), 1.0);
}

#[test]
fn bad_firmware_and_force_parameters_are_errors_naming_the_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let check = |name: &str, step: &str| {
        let pb = dir.path().join(format!("{name}-playbook.toml"));
        std::fs::write(
            &pb,
            format!(
                "[playbook]\nname = \"x\"\n[[actor]]\nname = \"a\"\nentry = \"insider\"\nstart = \"intruder\"\n\
                 [[step]]\nactor = \"a\"\ntarget = \"plc-1\"\n{step}\n"
            ),
        )
        .unwrap();
        let ex = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &ex,
            format!(
                "[exercise]\nname = \"x\"\nplant = {:?}\nplaybook = {:?}\nduration = \"1m\"\n",
                fixture("plants/firmware.toml").display().to_string(),
                pb.display().to_string()
            ),
        )
        .unwrap();
        let o = otrange([OsStr::new("check"), ex.as_os_str()]);
        (o.status.success(), describe(&o))
    };
    let (ok, text) = check(
        "coil",
        "technique = \"T0835\"\nparams = { register = \"co:1\", value = 1 }",
    );
    assert!(!ok, "{text}");
    assert!(text.contains("params.register"), "{text}");
    assert!(text.contains("co:1 is not an input"), "{text}");
    let (ok, text) = check(
        "bit",
        "technique = \"T0835\"\nparams = { register = \"di:0\", value = 2 }",
    );
    assert!(!ok, "{text}");
    assert!(text.contains("params.value"), "{text}");
    let (ok, text) = check("image", "technique = \"T0857\"\nparams = { image = \"wiper\" }");
    assert!(!ok, "{text}");
    assert!(text.contains("params.image"), "{text}");
    assert!(text.contains("\"wiper\""), "{text}");
    let (ok, text) = check("size", "technique = \"T0839\"\nparams = { size = 10 }");
    assert!(!ok, "{text}");
    assert!(text.contains("params.size"), "{text}");
    // An input outside plc-1's map (4 input registers): an error at load, located.
    let (ok, text) = check(
        "outside",
        "technique = \"T0835\"\nparams = { register = \"ir:9\", value = 1 }",
    );
    assert!(!ok, "{text}");
    assert!(
        text.contains(
            "step[0].params.register: ir:9 is outside plc-1's map, which has 4 input registers \
             (ir:0 to ir:3): a force (T0835) needs one of the PLC's own inputs"
        ),
        "{text}"
    );
}
