//! Templates: a cell written once (tests/fixtures/templates/cells/pumping-station.toml) and
//! instantiated fifty times from the plant file with `range = { n = [1, 50] }`. The plant
//! runs; a mistake in the template is reported once, at the template's own line and column,
//! naming the instance and how many others share it; a mistake in an instance is reported
//! at the instance.

mod common;

use common::{describe, otrange, read_json, repo_path};
use std::path::{Path, PathBuf};

fn fixture_copy(
    dir: &Path,
    edit_cell: impl Fn(String) -> String,
    edit_plant: impl Fn(String) -> String,
) -> PathBuf {
    let src = repo_path("tests/fixtures/templates");
    std::fs::create_dir_all(dir.join("cells")).unwrap();
    let cell = std::fs::read_to_string(src.join("cells/pumping-station.toml")).unwrap();
    std::fs::write(dir.join("cells/pumping-station.toml"), edit_cell(cell)).unwrap();
    let plant = std::fs::read_to_string(src.join("stations.toml")).unwrap();
    std::fs::write(dir.join("stations.toml"), edit_plant(plant)).unwrap();
    let ex = dir.join("stations-exercise.toml");
    std::fs::copy(src.join("stations-exercise.toml"), &ex).unwrap();
    ex
}

fn check_errors(ex: &Path) -> Vec<String> {
    let o = otrange(["check", ex.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.starts_with("error: "))
        .map(String::from)
        .collect()
}

/// Line and column (1-based) of `needle` in `text`.
fn at(text: &str, needle: &str) -> (usize, usize) {
    let i = text.find(needle).unwrap_or_else(|| panic!("no {needle:?}"));
    let before = &text[..i];
    (
        before.matches('\n').count() + 1,
        before.rsplit('\n').next().unwrap().len() + 1,
    )
}

#[test]
fn fifty_instances_of_a_cell_build_and_run() {
    let ex = repo_path("tests/fixtures/templates/stations-exercise.toml");
    let o = otrange(["check", ex.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("52 hosts, 50 PLCs, 1 HMIs"),
        "{}",
        describe(&o)
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = common::run_exercise(&ex, &out, &["--no-report"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let r = read_json(&out.join("results.json"));
    let finals = r["process"]["final_values"].as_array().unwrap();
    // Every station's well is watched by its own PLC: level between the pump's on and off
    // points after ten minutes (1.0 to 2.0 m), for the first and the last station.
    for n in [1, 50] {
        let level = finals
            .iter()
            .find(|v| v[0] == format!("ps{n}_well.level"))
            .unwrap()[1]
            .as_f64()
            .unwrap();
        assert!((0.9..=2.1).contains(&level), "station {n}: {level}");
    }
    let plcs: Vec<&str> = r["plcs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(plcs.len(), 50);
    assert!(plcs.contains(&"ps-50-plc"), "{plcs:?}");
}

#[test]
fn a_mistake_in_the_template_is_reported_once_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    // A parameter the instance does not give.
    let ex = fixture_copy(
        dir.path(),
        |t| t.replace("name = \"ps${n}_pump\"", "name = \"ps${n}_pump${m}\""),
        |t| t,
    );
    let cell = std::fs::read_to_string(dir.path().join("cells/pumping-station.toml")).unwrap();
    let (l, c) = at(&cell, "${m}");
    let errors = check_errors(&ex);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(&format!(
            "error: {}:{l}:{c}: ${{...}}: in ${{m}}: unknown parameter \"m\"; the instance gives: n, zone",
            dir.path().join("cells/pumping-station.toml").display()
        )) || errors[0].starts_with(&format!(
            "error: cells/pumping-station.toml:{l}:{c}: ${{...}}: in ${{m}}: unknown parameter"
        )),
        "{errors:?}"
    );
    assert!(
        errors[0].contains("n = 1, zone = \"field\"; the same in 49 other instances)"),
        "{errors:?}"
    );

    // A value the plant builder refuses, found after expansion: mapped back to the template.
    let dir = tempfile::tempdir().unwrap();
    let ex = fixture_copy(
        dir.path(),
        |t| t.replacen("max_flow_m3s = 0.02", "max_flow_m3s = -0.02", 1),
        |t| t,
    );
    let cell = std::fs::read_to_string(dir.path().join("cells/pumping-station.toml")).unwrap();
    let (l, _) = at(&cell, "[[process.pump]]");
    let errors = check_errors(&ex);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(&format!(
            "pumping-station.toml:{l}:1: process.pump[0].max_flow_m3s: "
        )),
        "{errors:?}"
    );
    assert!(errors[0].contains("the same in 49 other instances"), "{errors:?}");

    // A template whose addresses collide from the eighth instance on.
    let dir = tempfile::tempdir().unwrap();
    let ex = fixture_copy(
        dir.path(),
        |t| {
            t.replace(
                "\"10.30.${n / 200}.${n % 200 + 10}\"",
                "\"10.30.0.${n % 7 + 10}\"",
            )
        },
        |t| t,
    );
    let errors = check_errors(&ex);
    assert!(
        errors[0].contains("address 10.30.0.11 is already used by host \"ps-1-plc\"")
            && errors[0].contains("n = 8, zone = \"field\""),
        "{errors:?}"
    );
}

#[test]
fn a_mistake_in_an_instance_is_reported_at_the_instance() {
    let dir = tempfile::tempdir().unwrap();
    let ex = fixture_copy(
        dir.path(),
        |t| t,
        |t| {
            t.replace(
                "params = { zone = \"field\" }",
                "params = { zone = \"field\", pumps = 2 }",
            )
        },
    );
    let plant = std::fs::read_to_string(dir.path().join("stations.toml")).unwrap();
    let (l, c) = at(&plant, "2 }");
    let errors = check_errors(&ex);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains(&format!(
            "stations.toml:{l}:{c}: instance[0].params.pumps: the template \"cells/pumping-station.toml\" has no parameter \"pumps\"; its params: n, zone"
        )),
        "{errors:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let ex = fixture_copy(
        dir.path(),
        |t| t,
        |t| t.replace("params = { zone = \"field\" }\n", ""),
    );
    let errors = check_errors(&ex);
    assert!(
        errors[0].contains(
            "instance[0].params: the template \"cells/pumping-station.toml\" needs a value for \"zone\""
        ),
        "{errors:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let ex = fixture_copy(
        dir.path(),
        |t| t,
        |t| t.replace("cells/pumping-station.toml", "cells/pumping-statio.toml"),
    );
    let errors = check_errors(&ex);
    assert!(
        errors[0].contains("instance[0].template: cannot read template")
            && errors[0].contains("pumping-statio.toml"),
        "{errors:?}"
    );
}
