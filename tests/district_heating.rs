//! A district-heating network built from the heat and flow components
//! (tests/fixtures/plants/district-heating.toml): a boiler house heating two blocks of
//! flats through a supply main, a circulating pump in a closed loop, and one PLC with a
//! heating curve on the outdoor temperature and an indoor-temperature control per block.
//! On a January day the blocks stay warm; with the boiler's burner without power from the
//! start (as heat was lost in Lviv in January 2024) they cool toward the outdoor
//! temperature and the cold-flat limits fire.

mod common;

use common::{describe, fixture, read_json, run_exercise};
use serde_json::Value;

/// Runs the fixture exercise over `plant` (the fixture plant's text, possibly changed)
/// and returns results.json.
fn run_plant(plant: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plants")).unwrap();
    std::fs::write(dir.path().join("plants/district-heating.toml"), plant).unwrap();
    let exercise = dir.path().join("district-heating.toml");
    std::fs::copy(fixture("district-heating.toml"), &exercise).unwrap();
    let out = dir.path().join("out");
    let o = run_exercise(&exercise, &out, &["--no-report"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    read_json(&out.join("results.json"))
}

fn plant() -> String {
    std::fs::read_to_string(fixture("plants/district-heating.toml")).unwrap()
}

fn final_value(r: &Value, name: &str) -> f64 {
    r["process"]["final_values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v[0] == name)
        .unwrap_or_else(|| panic!("no final value of {name}"))[1]
        .as_f64()
        .unwrap()
}

/// The impacts of a run: (limit, technique, seconds).
fn impacts(r: &Value) -> Vec<(String, String, f64)> {
    r["impacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["limit"].as_str().unwrap().to_string(),
                i["technique"].as_str().unwrap().to_string(),
                i["t_s"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_blocks_stay_warm_through_a_january_day() {
    let r = run_plant(&plant());
    assert!(impacts(&r).is_empty(), "{:?}", impacts(&r));
    // Both blocks within 18.5..21.5 °C all day (their bands), and near 20 °C at the end.
    let bands = r["process"]["bands"].as_array().unwrap();
    assert_eq!(bands.len(), 2);
    for b in bands {
        assert_eq!(b["seconds_outside"].as_f64().unwrap(), 0.0, "{b}");
    }
    for block in ["block_1", "block_2"] {
        let t = final_value(&r, &format!("{block}.indoor"));
        assert!((t - 20.0).abs() < 1.0, "{block}: {t}");
    }
    // Heat flows: the boiler fires, the supply is hotter than the return, the loop at
    // fill pressure plus the pump's head.
    assert!(final_value(&r, "boiler.heat_kw") > 100.0);
    assert!(final_value(&r, "supply_main.outlet") > final_value(&r, "return_main.outlet") + 10.0);
    assert!(final_value(&r, "primary.pressure_bar") > 3.0);
}

#[test]
fn without_the_boiler_the_blocks_go_cold_and_the_limits_fire() {
    // The burner's breaker open from the start: the pump still circulates, nothing heats.
    let cold = plant().replace(
        "name = \"boiler_mcc\"\nload_kw = 15.0\ninitial_closed = true",
        "name = \"boiler_mcc\"\nload_kw = 15.0\ninitial_closed = false",
    );
    assert_ne!(cold, plant());
    let r = run_plant(&cold);
    let hits = impacts(&r);
    let names: Vec<(&str, &str)> = hits.iter().map(|(l, t, _)| (l.as_str(), t.as_str())).collect();
    assert_eq!(
        names,
        [("block_1_cold", "T0826"), ("block_2_cold", "T0826")],
        "{hits:?}"
    );
    // From 20 °C toward about -11 °C outdoors with a time constant of 20 h (C/UA), slowed
    // at first by the warm water still in the mains and radiators: below 12 °C after about
    // 0.3 τ = 6 h (plus the 10 minutes the limit waits).
    for (_, _, t) in &hits {
        assert!((4.0 * 3600.0..10.0 * 3600.0).contains(t), "{hits:?}");
    }
    assert!(final_value(&r, "block_1.indoor") < 10.0);
    assert_eq!(final_value(&r, "boiler.heat_kw"), 0.0);
    assert!(final_value(&r, "primary.flow") > 0.0, "the pump still runs");
}
