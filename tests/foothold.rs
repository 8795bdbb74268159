//! Assume breach: a playbook started from a host the actor already holds. The steps that
//! only got it in are skipped, the actor works from the foothold with the accounts found
//! there, and a policy meets the attack where it now begins.

mod common;

use common::{describe, otrange, repo_path, run_results, step_statuses};
use serde_json::Value;

fn oldsmar(out: &std::path::Path, extra: &[&str]) -> Value {
    let zero_trust = repo_path("scenarios/policies/zero-trust.toml");
    let mut args = vec!["--policy", zero_trust.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_results(&repo_path("scenarios/oldsmar.toml"), out, &args)
}

fn techniques(r: &Value) -> Vec<&str> {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["technique"].as_str().unwrap())
        .collect()
}

#[test]
fn zero_trust_meets_oldsmar_later_from_inside() {
    let dir = tempfile::tempdir().unwrap();
    // From the internet: the VPN login is the first step and the last.
    let entry = oldsmar(&dir.path().join("entry"), &[]);
    assert_eq!(entry["foothold"], Value::Null);
    assert_eq!(
        step_statuses(&entry),
        ["blocked", "not_reached", "not_reached", "not_reached"]
    );

    // From hmi-1: the VPN login and the RDP session to hmi-1 only got the intruder in.
    // Reading the set point is what an HMI does (allowed); writing 11,100 ppm is outside
    // the operator's range, and that rule stops it: the chain ends at its last step.
    let hmi = oldsmar(&dir.path().join("hmi"), &["--foothold", "hmi-1"]);
    assert_eq!(
        hmi["foothold"],
        serde_json::json!({"host": "hmi-1", "skipped_steps": ["remote access", "take the HMI"]})
    );
    assert_eq!(techniques(&hmi), ["T0801", "T0836"]);
    assert_eq!(step_statuses(&hmi), ["succeeded", "blocked"]);
    assert_eq!(
        hmi["steps"][1]["rule"],
        "deny: writes outside operator set-point ranges"
    );
    assert_eq!(hmi["impacts"].as_array().unwrap().len(), 0);
    // The first kept step starts when the skipped chain would have begun, plus its delay:
    // 10 min + 1 min.
    assert_eq!(hmi["steps"][0]["started_s"].as_f64().unwrap().round(), 660.0);

    // From the vendor's gateway: the vendor's signed-in identity, with MFA, opens RDP into
    // the control room under zero trust (a supply-chain compromise), and the write is
    // stopped by the same value rule.
    let vendor = oldsmar(&dir.path().join("vendor"), &["--foothold", "vpn-gw"]);
    assert_eq!(techniques(&vendor), ["T0886", "T0801", "T0836"]);
    assert_eq!(step_statuses(&vendor), ["succeeded", "succeeded", "blocked"]);
}

#[test]
fn a_phished_workstation_calls_home_from_where_it_sits() {
    // Colonial from ws-02: the phishing mail and the opened attachment are skipped; the
    // beacons go from ws-02 to the actor's home on the internet, and the ransomware runs.
    let dir = tempfile::tempdir().unwrap();
    let r = run_results(
        &repo_path("scenarios/colonial.toml"),
        dir.path(),
        &["--foothold", "ws-02", "--duration", "50m"],
    );
    assert_eq!(
        r["foothold"]["skipped_steps"],
        serde_json::json!(["phishing mail", "attachment opened on ws-02"])
    );
    assert_eq!(
        techniques(&r),
        [
            "T0869", "T0840", "T0853", "T0849", "T0886", "T0882", "T0881", "T0809", "T0809"
        ]
    );
    assert_eq!(step_statuses(&r), ["succeeded"; 9]);
}

#[test]
fn from_the_host_a_step_takes_or_copies_to_the_step_still_makes_sense() {
    let dir = tempfile::tempdir().unwrap();
    // PIPEDREAM from the vendor's gateway: its first step logs on to that gateway with the
    // vendor's hardcoded account (T0891), which only got the actor in; it is skipped.
    let r = run_results(
        &repo_path("scenarios/benchmark/pipedream.toml"),
        &dir.path().join("pipedream"),
        &["--foothold", "vpn-gw"],
    );
    assert_eq!(
        r["foothold"]["skipped_steps"],
        serde_json::json!(["remote access"])
    );
    assert_eq!(step_statuses(&r)[0], "succeeded");

    // Stuxnet from hmi-1: the actor takes the historian, then copies itself there "from
    // ews-01", which it does not hold from this foothold. The copy leaves from hmi-1, its
    // latest foothold other than the historian itself, instead of failing as a frame from
    // the historian to itself.
    let r = run_results(
        &repo_path("scenarios/benchmark/stuxnet.toml"),
        &dir.path().join("stuxnet"),
        &["--foothold", "hmi-1"],
    );
    let steps = r["steps"].as_array().unwrap();
    let copy = steps.iter().find(|s| s["id"] == "copy itself there").unwrap();
    assert_eq!(copy["status"], "succeeded", "{copy}");
    assert!(
        !step_statuses(&r).contains(&"failed".to_string()),
        "{:?}",
        step_statuses(&r)
    );
}

#[test]
fn a_foothold_that_cannot_be_is_an_error_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let plant = repo_path("scenarios/water-treatment/plant.toml");
    let playbook = repo_path("scenarios/playbooks/oldsmar.toml");
    let cases = [
        (
            format!("[exercise]\nname = \"x\"\nplant = {plant:?}\nfoothold = \"hmi-1\"\n"),
            "x.toml:4:12: exercise.foothold: a foothold starts a playbook, and this exercise has none",
        ),
        (
            format!(
                "[exercise]\nname = \"x\"\nplant = {plant:?}\nplaybook = {playbook:?}\nfoothold = \"hmi-9\"\n"
            ),
            "x.toml:5:12: exercise.foothold: unknown host \"hmi-9\"",
        ),
    ];
    let file = dir.path().join("x.toml");
    for (text, want) in cases {
        std::fs::write(&file, text).unwrap();
        let o = otrange(["check", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(want), "expected {want:?} in:\n{err}");
    }
}
