//! Host telemetry: host-local attack steps leave records in the hosts' logs, labelled with
//! their step, beside the plant's benign routines (host-events.jsonl); a routine that is
//! badly written is an error at its line.

mod common;

use common::{describe, fixture, run_exercise};
use serde_json::Value;

fn host_events(out: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("host-events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn host_local_steps_are_in_the_hosts_logs_labelled_and_benign_routines_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run_exercise(&fixture("host-steps.toml"), &out, &["--no-report"]);
    // The last step fails (the actor holds nothing on ews-01); the exercise expects nothing.
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let events = host_events(&out);
    let attack: Vec<&Value> = events.iter().filter(|e| e.get("step").is_some()).collect();
    let summary: Vec<(u64, &str, &str)> = attack
        .iter()
        .map(|e| {
            (
                e["step"].as_u64().unwrap(),
                e["host"].as_str().unwrap(),
                e["activity"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "ws-03", "device_connected"),
            (1, "ws-03", "process_start"),
            (2, "ws-03", "process_start"),
            (3, "ws-03", "process_start"),
            (4, "ws-03", "process_start"),
        ]
    );
    assert_eq!(attack[0]["product"], "windows");
    assert_eq!(attack[0]["service"], "security");
    assert_eq!(attack[2]["category"], "process_creation");
    assert_eq!(
        attack[2]["command_line"],
        r"powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\Users\Public\run.ps1"
    );
    // A parameter overrides the default command line; the parent is the implant.
    assert_eq!(
        attack[3]["command_line"],
        "cmd.exe /c net group \"domain admins\" /domain"
    );
    assert_eq!(attack[3]["parent_image"], r"C:\Users\Public\update.exe");
    assert_eq!(attack[4]["command_line"], "wevtutil.exe cl Security");
    // Steps happen at 5, 6, 7 and 8 minutes.
    let t = |e: &Value| e["t"].as_f64().unwrap() / 1e9;
    assert!((300.0..301.0).contains(&t(attack[0])), "{}", t(attack[0]));
    assert!((480.0..484.0).contains(&t(attack[4])), "{}", t(attack[4]));
    // Benign activity is there too, unlabelled: domain logons from IT traffic at least.
    assert!(
        events
            .iter()
            .any(|e| e.get("step").is_none() && e["host"] == "dc-01" && e["activity"] == "logon"),
        "no benign domain logon in {} events",
        events.len()
    );
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let detail = results["steps"][4]["detail"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        detail.contains("holds no foothold on ews-01"),
        "{}",
        results["steps"][4]
    );
}

#[test]
fn a_routine_with_two_activities_is_an_error_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let plant = std::fs::read_to_string(fixture("plants/typed.toml")).unwrap();
    let bad = format!(
        "{plant}\n[[host_activity]]\nhosts = [\"{}\"]\nevery = \"1h\"\nlogon = {{ method = \"interactive\" }}\nfile = {{ path = 'C:\\x', image = 'C:\\y' }}\n",
        first_host(&plant)
    );
    std::fs::write(dir.path().join("plant.toml"), bad).unwrap();
    let path = dir.path().join("exercise.toml");
    std::fs::write(
        &path,
        "[exercise]\nname = \"bad routine\"\nplant = \"plant.toml\"\nduration = \"1h\"\n",
    )
    .unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_otrange"))
        .args(["check"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("host_activity[0]"), "{err}");
    assert!(
        err.contains("exactly one of process, logon, file or service"),
        "{err}"
    );
    assert!(err.contains("plant.toml:"), "{err}");
}

fn first_host(plant: &str) -> String {
    plant
        .lines()
        .skip_while(|l| l.trim() != "[[host]]")
        .find_map(|l| l.strip_prefix("name = "))
        .unwrap()
        .trim_matches('"')
        .to_string()
}
