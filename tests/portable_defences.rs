//! The shipped policies and detector sets are written against roles and Purdue levels
//! wherever the rule allows (`"role:switch & level:L1"`, `"level:L4"`,
//! `"role:remote-access-gateway"`), so most of them load on a plant they were not written
//! for: the substation. Those that must name a host (zero trust's per-host identities, the
//! DMZ's historian mirror, a rule about the dosing PLC) fail with an error that names it.

mod common;

use common::{describe, otrange, repo_path};

/// `otrange check` of the substation's benign day with a policy or detector set: Ok, or the
/// first error line.
fn check_on_substation(flag: &str, file: &str) -> Result<(), String> {
    let exercise = repo_path("scenarios/substation.toml");
    let o = otrange([
        "check",
        exercise.to_str().unwrap(),
        flag,
        repo_path(file).to_str().unwrap(),
    ]);
    match o.status.code() {
        Some(0) => Ok(()),
        Some(2) => Err(String::from_utf8_lossy(&o.stderr)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()),
        _ => panic!("{}", describe(&o)),
    }
}

#[test]
fn shipped_defences_load_on_the_substation_or_name_the_host_they_need() {
    // None: loads. Some(words): the error, which must name the host or variable.
    let cases: [(&str, &str, Option<&str>); 13] = [
        ("--policy", "scenarios/policies/flat.toml", None),
        (
            "--policy",
            "scenarios/policies/purdue.toml",
            Some(r#"rule[5].to: unknown host "hist-mirror""#),
        ),
        (
            "--policy",
            "scenarios/policies/zones-conduits.toml",
            Some(r#"rule[8].to: unknown host "hist-mirror""#),
        ),
        (
            "--policy",
            "scenarios/policies/zero-trust.toml",
            Some(r#"identity[3].host: unknown host "ws-04""#),
        ),
        ("--detectors", "scenarios/detectors/control-allow-list.toml", None),
        ("--detectors", "scenarios/detectors/ips-anomaly.toml", None),
        ("--detectors", "scenarios/detectors/plant-allow-list.toml", None),
        ("--detectors", "scenarios/detectors/plant-anomaly.toml", None),
        (
            "--detectors",
            "scenarios/detectors/plant-detection.toml",
            Some(r#"the value "plc-dosing" of $DOSING"#),
        ),
        (
            "--detectors",
            "scenarios/detectors/plant-invariants.toml",
            Some(r#"at[1]: unknown host "hmi-1""#),
        ),
        (
            "--detectors",
            "scenarios/detectors/plant-inventory.toml",
            Some(r#"at[5]: unknown host "sw-field""#),
        ),
        (
            "--detectors",
            "scenarios/detectors/tsn-cell-ips.toml",
            Some(r#"at[0]: unknown host "sw-tsn-filter""#),
        ),
        ("--detectors", "scenarios/benchmark/detectors/anomaly.toml", None),
    ];
    for (flag, file, expected) in cases {
        match (check_on_substation(flag, file), expected) {
            (Ok(()), None) => {}
            (Err(e), Some(words)) => assert!(e.contains(words), "{file}: expected {words:?} in\n{e}"),
            (got, _) => panic!("{file}: expected {expected:?}, got {got:?}"),
        }
    }
}

/// A selector that names no host of the plant is an error for a detector's place (a sensor
/// nowhere sees nothing), naming the entry.
#[test]
fn a_detector_placed_by_a_selector_that_matches_nothing_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set.toml");
    std::fs::write(
        &set,
        "[[detector]]\nkind = \"allow-list\"\nname = \"a\"\nat = [\"role:switch & level:L1\", \"role:firewall & level:L0\"]\n",
    )
    .unwrap();
    let exercise = repo_path("scenarios/water-treatment.toml");
    let o = otrange([
        "check",
        exercise.to_str().unwrap(),
        "--detectors",
        set.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(r#"detector[0].at[1]: "role:firewall & level:L0" names no host of this plant"#),
        "{err}"
    );
}
