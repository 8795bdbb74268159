//! The plant language beyond PLC bits: an HMI raises its own alarm on a polled value (high
//! limit, deadband, delay), and site procedures start on an HMI alarm or on an impact, not
//! only on ransomware (tests/fixtures/plants/alarms.toml).

mod common;

use common::{describe, fixture, read_json, run_exercise};

/// The `operator_action` events of a run: (seconds, trigger, action).
fn actions(out: &std::path::Path) -> Vec<(f64, String, String)> {
    std::fs::read_to_string(out.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "operator_action")
        .map(|e| {
            (
                e["t"].as_f64().unwrap() / 1e9,
                e["alarm"].as_str().unwrap().to_string(),
                e["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn an_hmi_value_alarm_and_an_impact_start_the_sites_procedures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run_exercise(&fixture("alarms.toml"), &out, &["--no-report"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let mut acts = actions(&out);
    assert_eq!(acts.len(), 4, "{acts:?}");
    // -10 °C reaches the HMI as -100 in a signed register and as -10.0 in a float stored
    // low word first: both frost alarms show at the first poll (within a second), and their
    // procedures write 5 and 7 s later. Read as unsigned, or with the words swapped, they
    // would not (65436 is not below -50; the swapped float is a tiny positive number).
    let frost: Vec<_> = acts.drain(..2).collect();
    assert_eq!(
        frost[0].1, "procedure: frost seen in the signed register",
        "{frost:?}"
    );
    assert!((5.0..=6.2).contains(&frost[0].0), "{frost:?}");
    assert_eq!(frost[1].1, "procedure: frost seen in the float", "{frost:?}");
    assert!((7.0..=8.2).contains(&frost[1].0), "{frost:?}");
    // The limit fires when the level passes 1.2 m at 200 s (1 mm/s from 1.0 m); the
    // procedure writes ten seconds later.
    let (t, trigger, action) = &acts[0];
    assert_eq!(trigger, "procedure: log the level excursion");
    assert_eq!(action, "write hr:0 = 7");
    assert!((210.0..=210.2).contains(t), "{acts:?}");
    // The HMI's condition is a raw value above 150: 151 cm, which the PLC's rounding
    // reports from 1.505 m, at 505 s. It shows the alarm 30 s later (its delay; the 1 s poll
    // adds up to a second), and the procedure opens the drain a minute after that.
    let (t, trigger, action) = &acts[1];
    assert_eq!(trigger, "procedure: drain on high level");
    assert_eq!(action, "write co:1 = 1");
    assert!((595.0..=597.0).contains(t), "{acts:?}");
    // The drain (3 l/s against 1 l/s in) brings the level back down.
    let r = read_json(&out.join("results.json"));
    let level = r["process"]["final_values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v[0] == "tank.level")
        .unwrap()[1]
        .as_f64()
        .unwrap();
    assert!(level < 1.3, "{level}");
}

#[test]
fn a_procedure_needs_a_trigger_that_exists() {
    let plant = std::fs::read_to_string(fixture("plants/alarms.toml")).unwrap();
    for (from, to, field, words) in [
        (
            "alarm = \"tank high\" }]",
            "alarm = \"tank hi\" }]",
            "procedure[0].when_alarm[0].alarm",
            "hmi has no alarm \"tank hi\"; its alarms: tank high",
        ),
        (
            "when_impact = [\"level_1_2\"]",
            "when_impact = [\"level_12\"]",
            "procedure[1].when_impact[0]",
            "unknown limit \"level_12\"; the plant's limits are: tank.overflow, level_1_2",
        ),
        (
            "when_impact = [\"level_1_2\"]\n",
            "",
            "procedure[1].name",
            "a procedure needs a trigger",
        ),
        (
            "register = \"ir:0\", high = 150",
            "register = \"ir:0\"",
            "hmi[0].alarm[0].name",
            "either a PLC's bit",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("plants")).unwrap();
        assert!(plant.contains(from), "{from}");
        std::fs::write(dir.path().join("plants/alarms.toml"), plant.replacen(from, to, 1)).unwrap();
        std::fs::copy(fixture("alarms.toml"), dir.path().join("alarms.toml")).unwrap();
        let o = common::otrange(["check", dir.path().join("alarms.toml").to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("{field}: ")) && err.contains(words),
            "{err}"
        );
    }
}

/// A profile and a recorded series follow the exercise's calendar `start`, and the series is
/// read from beside the plant file. The run starts at 09:00 UTC and ends at 11:00; the CSV's
/// 14 °C at 10:00 and 20 °C at 12:00 give 17 °C at 11:00 (linear between samples). The
/// set-back profile (21 °C from 06:00 to 22:00 local time, UTC+1) holds 21 all along.
#[test]
fn profiles_and_series_follow_the_exercises_calendar() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run_exercise(&fixture("outside.toml"), &out, &["--no-report"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let r = read_json(&out.join("results.json"));
    let value = |name: &str| {
        r["process"]["final_values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v[0] == name)
            .unwrap()[1]
            .as_f64()
            .unwrap()
    };
    assert!(
        (value("outdoor.value") - 17.0).abs() < 1e-9,
        "{}",
        value("outdoor.value")
    );
    assert_eq!(value("setback.value"), 21.0);
}
