//! `[expect]` says which limit an exercise must (or must not) trip, not only how many
//! impacts: `impacts = [{ limit, technique, count }]` (exactly these), `impacts_include`
//! (these among others; `count = 0` for none) and `no_impacts_from`. The Oldsmar exercise
//! trips `naoh_overdose` (T0880) once and nothing else.

mod common;

use common::{describe, read_json, repo_path, run_exercise};
use std::path::{Path, PathBuf};

/// The Oldsmar exercise with its `[expect]` table replaced by `expect`, written next to the
/// shipped one so its relative paths hold.
fn oldsmar_expecting(dir: &Path, expect: &str) -> PathBuf {
    let shipped = std::fs::read_to_string(repo_path("scenarios/oldsmar.toml")).unwrap();
    let head = &shipped[..shipped.find("[expect]").unwrap()];
    let text = format!("{head}[expect]\n{expect}\n").replace(
        "plant = \"water-treatment/plant.toml\"",
        &format!("plant = {:?}", repo_path("scenarios/water-treatment/plant.toml")),
    );
    let text = text
        .replace(
            "playbook = \"playbooks/oldsmar.toml\"",
            &format!("playbook = {:?}", repo_path("scenarios/playbooks/oldsmar.toml")),
        )
        .replace(
            "detectors = \"detectors/plant-detection.toml\"",
            &format!(
                "detectors = {:?}",
                repo_path("scenarios/detectors/plant-detection.toml")
            ),
        );
    let path = dir.join("oldsmar.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// One expectation's report: name, expected, actual, passed.
type Row = (String, String, String, bool);

/// Runs `expect`, returning the exit code and each expectation's report.
fn run(expect: &str) -> (Option<i32>, Vec<Row>) {
    let dir = tempfile::tempdir().unwrap();
    let ex = oldsmar_expecting(dir.path(), expect);
    let out = dir.path().join("out");
    let o = run_exercise(&ex, &out, &["--no-report"]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", describe(&o));
    let r = read_json(&out.join("results.json"));
    let rows = r["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["expected"].as_str().unwrap().to_string(),
                e["actual"].as_str().unwrap().to_string(),
                e["passed"].as_bool().unwrap(),
            )
        })
        .collect();
    (o.status.code(), rows)
}

#[test]
fn the_limit_that_fired_is_what_the_exercise_expects() {
    let (code, rows) = run(
        r#"impacts = [{ limit = "naoh_overdose", technique = "T0880", count = 1 }]
impacts_include = [{ limit = "naoh_overdose" }, { limit = "town_supply_lost", count = 0 }]
no_impacts_from = ["filter_vessel.overpressure", "raw_tank.overflow"]"#,
    );
    assert_eq!(code, Some(0), "{rows:?}");
    assert_eq!(
        rows,
        vec![
            (
                "impacts".into(),
                "naoh_overdose T0880 x1".into(),
                "naoh_overdose T0880 x1".into(),
                true
            ),
            (
                "impacts_include".into(),
                "naoh_overdose x1+, town_supply_lost x0".into(),
                "naoh_overdose T0880 x1, town_supply_lost x0".into(),
                true
            ),
            (
                "no_impacts_from".into(),
                "filter_vessel.overpressure, raw_tank.overflow".into(),
                "none of them".into(),
                true
            ),
        ]
    );
}

#[test]
fn a_wrong_technique_a_missing_limit_or_a_forbidden_one_fails_the_run() {
    for (expect, name) in [
        (
            r#"impacts = [{ limit = "naoh_overdose", technique = "T0879" }]"#,
            "impacts",
        ),
        (r#"impacts = [{ limit = "town_supply_lost" }]"#, "impacts"),
        (r#"impacts = []"#, "impacts"),
        (
            r#"impacts_include = [{ limit = "naoh_overdose", count = 2 }]"#,
            "impacts_include",
        ),
        (r#"no_impacts_from = ["naoh_overdose"]"#, "no_impacts_from"),
    ] {
        let (code, rows) = run(expect);
        assert_eq!(code, Some(1), "{expect}: {rows:?}");
        let row = rows.iter().find(|r| r.0 == name).unwrap();
        assert!(!row.3, "{expect}: {row:?}");
        assert!(row.2.contains("naoh_overdose T0880 x1"), "{expect}: {row:?}");
    }
}

#[test]
fn an_unknown_limit_or_technique_is_refused_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let ex = oldsmar_expecting(
        dir.path(),
        r#"impacts = [{ limit = "naoh_overdos", technique = "T0880" }, { limit = "naoh_overdose", technique = "T0800" }]
no_impacts_from = ["filter_vesel.overpressure"]"#,
    );
    let text = std::fs::read_to_string(&ex).unwrap();
    let o = common::otrange(["check", ex.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let line = text.lines().position(|l| l.starts_with("impacts = [")).unwrap() + 1;
    let col = |needle: &str| text.lines().nth(line - 1).unwrap().find(needle).unwrap() + 1;
    assert!(
        err.contains(&format!(
            "oldsmar.toml:{line}:{}: expect.impacts[0].limit: unknown limit \"naoh_overdos\"; the plant's limits are: ",
            col("\"naoh_overdos\"")
        )),
        "{err}"
    );
    assert!(err.contains("naoh_overdose, naoh_storage_hot"), "{err}");
    assert!(
        err.contains(&format!(
            "oldsmar.toml:{line}:{}: expect.impacts[1].technique: \"T0800\" is not an ATT&CK impact technique",
            col("\"T0800\"")
        )),
        "{err}"
    );
    assert!(
        err.contains("expect.no_impacts_from[0]: unknown limit \"filter_vesel.overpressure\""),
        "{err}"
    );
    assert!(err.contains("3 errors"), "{err}");
}
