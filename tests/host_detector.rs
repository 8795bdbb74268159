//! The `host` detector: Sigma rules over the hosts' logs. The shipped rules score the
//! host-local steps of a playbook at technique level, benign activity raises only what a
//! rule honestly flags (the administrators' PowerShell with -ExecutionPolicy Bypass), and a
//! rule that cannot be used is an error naming its file, line and field.

mod common;

use common::{describe, fixture, read_json, repo_path, run_exercise};
use otrange_defenses::detect::Detector;
use otrange_defenses::detect::host::{HostDetector, load_rules};
use otrange_sim::SimTime;
use otrange_sim::devices::host_log::{HostActivity, HostEvent, LogonMethod, Transfer};
use otrange_sim::net::topology::HostId;
use std::path::Path;

/// A detector-set file in `dir` with one host detector over `rules` (relative to `dir`),
/// plus any extra settings.
fn host_set(dir: &Path, rules: &str, extra: &str) -> std::path::PathBuf {
    let path = dir.join("set.toml");
    std::fs::write(
        &path,
        format!("[[detector]]\nkind = \"host\"\nname = \"sigma\"\nrules = \"{rules}\"\n{extra}"),
    )
    .unwrap();
    path
}

#[test]
fn a_rule_with_an_error_is_reported_with_its_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("bad.yml"),
        "title: Shell\nlogsource:\n    product: windows\n    category: process_creation\n\
         detection:\n    selection:\n        Image|contians: '\\cmd.exe'\n    condition: selection\n",
    )
    .unwrap();
    let set = host_set(dir.path(), "rules", "");
    let o = run_exercise(
        &fixture("host-steps.toml"),
        &dir.path().join("out"),
        &["--detectors", set.to_str().unwrap(), "--no-report"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.yml:7:9: detection.selection.Image|contians: unknown Sigma modifier \"contians\""),
        "{err}"
    );
    assert!(err.contains("detector[0].rules"), "{err}");

    // An aggregation is refused at its column in the condition.
    std::fs::write(
        rules.join("bad.yml"),
        "title: Shell\nlogsource:\n    product: windows\n    category: process_creation\n\
         detection:\n    selection:\n        Image|endswith: '\\cmd.exe'\n    condition: selection | count() > 5\n",
    )
    .unwrap();
    let o = run_exercise(
        &fixture("host-steps.toml"),
        &dir.path().join("out"),
        &["--detectors", set.to_str().unwrap(), "--no-report"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.yml:8:26: detection.condition: aggregations (`| count() ...`) are not supported"),
        "{err}"
    );
}

#[test]
fn a_host_detector_cannot_prevent() {
    let dir = tempfile::tempdir().unwrap();
    let set = host_set(
        dir.path(),
        repo_path("scenarios/detectors/rules/host").to_str().unwrap(),
        "mode = \"prevent\"\n",
    );
    let o = run_exercise(
        &fixture("host-steps.toml"),
        &dir.path().join("out"),
        &["--detectors", set.to_str().unwrap(), "--no-report"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("detector[0].mode: a host detector reads logs after the fact"),
        "{err}"
    );
}

fn event(host: u32, label: u32, activity: HostActivity) -> HostEvent {
    HostEvent {
        t: SimTime::ZERO,
        host: HostId(host),
        label,
        activity,
    }
}

fn process(image: &str, command_line: &str, parent: &str, user: &str) -> HostActivity {
    HostActivity::ProcessStart {
        image: image.into(),
        command_line: command_line.into(),
        parent_image: parent.into(),
        user: user.into(),
    }
}

#[test]
fn benign_host_activity_raises_only_what_the_rules_honestly_flag() {
    let rules = load_rules(&repo_path("scenarios/detectors/rules/host")).unwrap();
    assert!(rules.len() >= 15, "{} rules", rules.len());
    let mut d = HostDetector::new("sigma", rules);
    let control_expert = r"C:\Program Files (x86)\Schneider Electric\Control Expert\ControlExpert.exe";
    let benign = [
        // Operators and engineers log on; the engineer opens and uploads projects.
        HostActivity::Logon {
            user: "operator".into(),
            method: LogonMethod::Interactive,
            source: None,
            success: true,
        },
        process(
            control_expert,
            r#""C:\Program Files (x86)\Schneider Electric\Control Expert\ControlExpert.exe" C:\Projects\plc-dist.stu"#,
            r"C:\Windows\explorer.exe",
            "engineer",
        ),
        HostActivity::FileWrite {
            path: r"C:\Projects\plc-dist.stu".into(),
            image: control_expert.into(),
        },
        HostActivity::ProgramTransfer {
            controller: "plc-dist".into(),
            direction: Transfer::Upload,
            project: r"C:\Projects\plc-dist.stu".into(),
            user: "engineer".into(),
        },
        // The administrators' inventory script: PowerShell with the policy bypassed.
        process(
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
            r"powershell.exe -NoProfile -ExecutionPolicy Bypass -File \\file-01\it\scripts\inventory.ps1",
            r"C:\Windows\System32\svchost.exe",
            r"CORP\it-admin",
        ),
        // The real svchost.
        process(
            r"C:\Windows\System32\svchost.exe",
            "svchost.exe -k netsvcs",
            r"C:\Windows\System32\services.exe",
            "SYSTEM",
        ),
    ];
    for a in benign {
        assert!(d.observe_event(&event(3, 0, a)));
    }
    let raised: Vec<(&str, Option<&str>, &[u32])> = d
        .alerts()
        .iter()
        .map(|a| (a.signature.as_str(), a.technique.as_deref(), a.steps.as_slice()))
        .collect();
    assert_eq!(
        raised,
        [(
            "PowerShell With Execution Policy Bypass or a Download Cradle",
            Some("T0853"),
            &[][..]
        )]
    );
    let a = &d.alerts()[0];
    assert_eq!((a.src, a.dst, a.severity), (HostId(3), HostId(3), 2));
    assert_eq!(a.tactic.as_deref(), Some("Execution"));

    // A masqueraded svchost from a labelled step: its alert carries the step.
    d.observe_event(&event(
        3,
        6,
        process(
            r"C:\Users\Public\svchost.exe",
            "svchost.exe -k netsvcs",
            r"C:\Users\Public\update.exe",
            "a.jones",
        ),
    ));
    let last = d.alerts().last().unwrap();
    assert_eq!(last.technique.as_deref(), Some("T0849"));
    assert_eq!(last.steps, [6]);

    // Read only the hosts it is placed on.
    let mut scoped = HostDetector::new(
        "sigma",
        load_rules(&repo_path("scenarios/detectors/rules/host")).unwrap(),
    )
    .reading(vec![HostId(5)]);
    assert!(!scoped.observe_event(&event(
        3,
        0,
        process(r"C:\Users\Public\svchost.exe", "svchost.exe", r"C:\x.exe", "u")
    )));
    assert!(scoped.alerts().is_empty());
}

#[test]
fn host_local_steps_are_detected_at_technique_level_from_the_hosts_logs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let set = repo_path("scenarios/detectors/host-sigma.toml");
    let o = run_exercise(
        &fixture("host-steps.toml"),
        &out,
        &["--detectors", set.to_str().unwrap(), "--no-report"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let r = read_json(&out.join("results.json"));
    let steps = r["steps"].as_array().unwrap();
    let scored: Vec<(&str, &str, &str)> = steps
        .iter()
        .map(|s| {
            (
                s["technique"].as_str().unwrap(),
                s["detection"].as_str().unwrap(),
                s["detected_by"][0]["signature"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        scored,
        [
            ("T0847", "technique", "Removable Storage Device Connected"),
            (
                "T0853",
                "technique",
                "PowerShell With Execution Policy Bypass or a Download Cradle"
            ),
            (
                "T0807",
                "technique",
                "Command Shell Started by a Program in a User-Writable Folder"
            ),
            ("T0872", "technique", "Windows Event Log Cleared With Wevtutil"),
            // Failed (the actor holds nothing on ews-01): nothing in any log.
            ("T0873", "none", "-"),
        ]
    );
    assert_eq!(steps[0]["detected_by"][0]["attributed_by"], "frames");
    assert_eq!(steps[0]["seen_by"][0], "sigma");
    // The alerts are in alerts.eve.json as EVE alerts on the host, with no protocol.
    let eve = std::fs::read_to_string(out.join("alerts.eve.json")).unwrap();
    let first: serde_json::Value = serde_json::from_str(eve.lines().next().unwrap()).unwrap();
    assert_eq!(first["alert"]["signature"], "Removable Storage Device Connected");
    assert_eq!(first["alert"]["metadata"]["mitre_technique_id"][0], "T0847");
    assert_eq!(first["proto"], "");
    assert_eq!(first["otrange"]["src"], "ws-03");
    // The detector's account: the rules, and how often each matched.
    let tap = r["taps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "sigma")
        .unwrap();
    let rules = tap["summary"]["figures"]["rules"].as_array().unwrap();
    let wevtutil = rules.iter().find(|x| x["technique"] == "T0872").unwrap();
    assert_eq!(wevtutil["matches"], 1);
    assert_eq!(
        wevtutil["file"],
        "rules/host/proc_creation_win_wevtutil_clear_log.yml"
    );
    assert!(tap["summary"]["figures"]["events_read"].as_u64().unwrap() > 5);
}

#[test]
fn every_host_local_technique_with_a_shipped_rule_is_scored_at_technique_level() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let set = repo_path("scenarios/detectors/host-sigma.toml");
    let o = run_exercise(
        &fixture("host-rules.toml"),
        &out,
        &["--detectors", set.to_str().unwrap(), "--no-report"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let r = read_json(&out.join("results.json"));
    let scored: Vec<(&str, &str)> = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["technique"].as_str().unwrap(), s["detection"].as_str().unwrap()))
        .collect();
    let techniques = [
        "T0847", "T0894", "T0895", "T0849", "T0840", "T0851", "T0874", "T0890", "T0881", "T0892",
    ];
    let want: Vec<(&str, &str)> = techniques.iter().map(|t| (*t, "technique")).collect();
    assert_eq!(scored, want);
}
