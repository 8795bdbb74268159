//! Playbooks against MITRE's records of the incidents they model (`otrange techniques
//! --coverage`): every shipped incident playbook covers at least 80 % of its record's
//! in-scope techniques and explains every one it leaves out, and every ATT&CK for ICS
//! technique has a meaning in the range.

mod common;

use common::{describe, otrange};
use serde_json::Value;

fn json_ok(args: &[&str]) -> Value {
    let o = otrange(args);
    assert_eq!(o.status.code(), Some(0), "otrange {args:?}:\n{}", describe(&o));
    serde_json::from_slice(&o.stdout).expect("--json prints JSON")
}

#[test]
fn every_technique_has_a_meaning() {
    let v = json_ok(&["techniques", "--json"]);
    let unexplained: Vec<&str> = v["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["meaning"] == "-")
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert!(
        unexplained.is_empty(),
        "techniques with no meaning in the range: {unexplained:?}"
    );
    for t in v["techniques"].as_array().unwrap() {
        if t["meaning"] == "out of scope" {
            assert!(
                t["out_of_scope_reason"].as_str().is_some_and(|r| r.len() > 10),
                "{} is out of scope without a reason",
                t["id"]
            );
        }
    }
}

/// The shipped exercises and the records their playbooks name: an exercise that drops
/// its records would otherwise leave the coverage test silently.
const MEASURED: &[(&str, &[&str])] = &[
    ("colonial.toml", &["S0446", "S0605", "S0496", "S0372"]),
    ("frostygoop.toml", &["C0041", "S1165"]),
    ("industroyer-substation.toml", &["C0025", "S0604"]),
    ("industroyer.toml", &["C0025", "S0604"]),
    ("maroochy.toml", &["C0020"]),
    ("pipedream.toml", &["S1045"]),
    ("stuxnet.toml", &["S0603"]),
    ("triton.toml", &["C0030", "S1009"]),
    ("ukraine-2015.toml", &["C0028"]),
    ("ukraine-2022.toml", &["C0034", "S1072"]),
    ("unitronics.toml", &["C0031"]),
];

#[test]
fn every_incident_playbook_covers_most_of_its_record_and_explains_the_rest() {
    let v = json_ok(&["techniques", "--coverage", "--json"]);
    let exercises = v["exercises"].as_array().unwrap();
    for (file, records) in MEASURED {
        let e = exercises
            .iter()
            .find(|e| e["file"].as_str().unwrap().ends_with(&format!("/{file}")))
            .unwrap_or_else(|| panic!("{file} is not among the measured exercises"));
        assert_eq!(e["records"], serde_json::json!(records), "{file}");
        let percent = e["percent"].as_f64().unwrap();
        assert!(
            percent >= 80.0,
            "{file} covers {percent} % of its records:\n{e:#}"
        );
        let missing: Vec<&str> = e["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["status"] == "missing")
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert!(
            missing.is_empty(),
            "{file}: neither executed nor left out with a reason: {missing:?}"
        );
    }
}

#[test]
fn a_campaign_view_shows_what_each_playbook_executes() {
    let o = otrange(["techniques", "--campaign", "C0030"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0], "campaign C0030 Triton Safety Instrumented System Attack",
        "{out}"
    );
    assert!(
        lines[1].ends_with("triton.toml"),
        "one column per exercise listing it:\n{out}"
    );
    let t0843 = lines.iter().find(|l| l.starts_with("T0843")).unwrap();
    assert!(t0843.contains("executor") && t0843.contains("step "), "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("triton.toml covers ") && l.contains("in-scope techniques")),
        "{out}"
    );
    // The same record by name, and software by name.
    let by_name = otrange([
        "techniques",
        "--campaign",
        "triton safety instrumented system attack",
    ]);
    assert_eq!(String::from_utf8(by_name.stdout).unwrap(), out);
    let o = otrange(["techniques", "--software", "Industroyer2"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .starts_with("software S1072 Industroyer2\n")
    );
}

#[test]
fn an_unknown_record_is_refused_with_close_names() {
    let o = otrange(["techniques", "--campaign", "ukraine"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("unknown ATT&CK for ICS campaign `ukraine`"), "{err}");
    assert!(
        err.contains("C0028 (2015 Ukraine Electric Power Attack)"),
        "{err}"
    );
}

/// A playbook file with one `[playbook]` table and `body` after it, written for the test.
fn playbook(name: &str, head: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("otrange-coverage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let text = format!(
        "[playbook]\nname = \"test\"\n{head}\n\n[[actor]]\nname = \"a\"\nentry = \"insider\"\nstart = \"ews-1\"\n\n\
         [[step]]\ntechnique = \"T0836\"\nactor = \"a\"\ntarget = \"plc-dosing\"\n\
         params = {{ register = \"hr:1\", value = 1 }}\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn refused(path: &std::path::Path) -> String {
    let o = otrange(["techniques".as_ref(), "--coverage".as_ref(), path.as_os_str()]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    String::from_utf8(o.stderr).unwrap()
}

#[test]
fn records_and_left_out_are_checked_at_their_lines() {
    let p = playbook("unknown.toml", "records = [\"C0041\", \"Frostygop\"]");
    let err = refused(&p);
    assert!(err.contains("unknown.toml:3:"), "{err}");
    assert!(err.contains("playbook.records[1]"), "{err}");
    assert!(err.contains("did you mean"), "{err}");

    let p = playbook(
        "not-in-record.toml",
        "records = [\"C0041\"]\nleft_out = [\n  { technique = \"T0855\", why = \"not here\" },\n]",
    );
    let err = refused(&p);
    assert!(err.contains("not-in-record.toml:5:"), "{err}");
    assert!(err.contains("playbook.left_out[0].technique"), "{err}");
    assert!(
        err.contains("is not in the playbook's records (C0041 (FrostyGoop Incident))"),
        "{err}"
    );

    let p = playbook(
        "executed.toml",
        "records = [\"C0041\"]\nleft_out = [{ technique = \"T0836\", why = \"x\" }]",
    );
    let err = refused(&p);
    assert!(
        err.contains("T0836 (Modify Parameter) is left out, but step[0] executes it"),
        "{err}"
    );

    let p = playbook(
        "no-why.toml",
        "records = [\"C0041\"]\nleft_out = [{ technique = \"T0857\", why = \" \" }]",
    );
    assert!(refused(&p).contains("say why the playbook leaves T0857 out"));

    // A playbook file on its own is measured by its steps.
    let p = playbook(
        "fine.toml",
        "records = [\"C0041\"]\nleft_out = [{ technique = \"T0857\", why = \"no firmware here\" }]",
    );
    let o = otrange([
        "techniques".as_ref(),
        "--campaign".as_ref(),
        "C0041".as_ref(),
        p.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("fine.toml covers 1 of 4 in-scope techniques (25%)"),
        "{out}"
    );
    assert!(out.contains("  left out T0857: no firmware here"), "{out}");
}
