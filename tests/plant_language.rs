//! The plant language beyond PLC bits: an HMI raises its own alarm on a polled value (high
//! limit, deadband, delay), and site procedures start on an HMI alarm or on an impact, not
//! only on ransomware (tests/fixtures/plants/alarms.toml); registers hold signed and float
//! values that programs, initial values and attackers' writes read and write as such
//! (tests/fixtures/plants/typed.toml).

mod common;

use common::{describe, fixture, read_json, run_exercise, tshark_read};

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
/// set-back profile (21 °C from 06:00 to 22:00 local time, UTC+1) holds 21 all along, and
/// the PLC's schedule, on the same calendar, switches the heating on at 10:30 local time.
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
    // The PLC's schedule switches the heating on at 10:30 local, 09:30 UTC: 30 minutes
    // (and at most one 100 ms scan) into the run.
    assert_eq!(value("room.power"), 0.5);
    let impacts = r["impacts"].as_array().unwrap();
    assert_eq!(impacts.len(), 1, "{impacts:?}");
    assert_eq!(impacts[0]["limit"], "heating_on");
    let t = impacts[0]["t_s"].as_f64().unwrap();
    assert!((1800.0..=1800.2).contains(&t), "switched at {t} s");
}

#[test]
fn a_signed_set_point_written_by_an_attacker_turns_off_frost_protection() {
    let dir = tempfile::tempdir().unwrap();
    // Benign: the program compares -10.0 °C (a signed register) with +3.0 °C (a signed set
    // point) and heats the pipe at 0.8 (a float, low word first): it holds +6 °C.
    let out = dir.path().join("benign");
    let o = run_exercise(&fixture("typed.toml"), &out, &["--no-report"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let r = read_json(&out.join("results.json"));
    assert_eq!(r["impacts"].as_array().unwrap().len(), 0, "{}", r["impacts"]);
    let pipe = final_value(&r, "pipe.temperature");
    assert!((pipe - 6.0).abs() < 0.01, "pipe at {pipe} °C");

    // The attacker writes -200 (-20.0 °C) to the signed threshold at 10 min: -10 °C is no
    // longer frost, the heating stops and the pipe passes 0 °C 4000 x ln(1.6) = 1880 s later.
    let out = dir.path().join("attack");
    let o = run_exercise(&fixture("typed-attack.toml"), &out, &["--no-report", "--pcap"]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let r = read_json(&out.join("results.json"));
    let impacts = r["impacts"].as_array().unwrap();
    assert_eq!(impacts.len(), 1, "{impacts:?}");
    assert_eq!(impacts[0]["limit"], "pipe_frozen");
    let t = impacts[0]["t_s"].as_f64().unwrap();
    assert!((2479.0..=2481.0).contains(&t), "froze at {t} s");
    // On the wire, as Wireshark reads it: -200 as the 16-bit word 0xff38 (FC 6), and 0.25
    // as the float 0x3e800000 with its low word first (FC 16, registers 0 and 16000).
    let single = tshark_read(
        &out.join("capture.pcap"),
        &[
            "-Y",
            "modbus.func_code == 6 && mbtcp.prot_id == 0 && tcp.dstport == 502",
            "-T",
            "fields",
            "-e",
            "modbus.data",
        ],
    );
    assert_eq!(single.trim(), "ff38", "{single}");
    let multiple = tshark_read(
        &out.join("capture.pcap"),
        &[
            "-Y",
            "modbus.func_code == 16 && tcp.dstport == 502",
            "-T",
            "fields",
            "-e",
            "modbus.reference_num",
            "-e",
            "modbus.regval_uint16",
        ],
    );
    assert_eq!(multiple.trim(), "2\t0,16000", "{multiple}");
    // The historian's tags, decoded as the PLC holds them: the threshold went from +3.0 to
    // -20.0 °C, the outdoor temperature stayed at -10.0 and the power ended at 0.25.
    let tags = &r["historians"][0]["tags"];
    let tag = |name: &str| {
        tags.as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no tag {name} in {tags}"))
            .clone()
    };
    // (0.8 is 0.800000011920929 as an f32.)
    let close = |v: &serde_json::Value, x: f64| (v.as_f64().unwrap() - x).abs() < 1e-6;
    let threshold = tag("frost threshold");
    assert!(
        close(&threshold["max"], 3.0) && close(&threshold["min"], -20.0),
        "{threshold}"
    );
    let outdoor = tag("outdoor temperature");
    assert!(
        close(&outdoor["min"], -10.0) && close(&outdoor["max"], -10.0),
        "{outdoor}"
    );
    let power = tag("heating power");
    assert!(
        close(&power["max"], 0.8) && close(&power["last"], 0.25),
        "{power}"
    );
    // Every 10 s for 3 h, the first round at 10 s: 1,079 samples.
    assert_eq!(power["samples"], 1079, "{power}");
}

/// A process signal's value at the end of a run, from results.json.
fn final_value(r: &serde_json::Value, signal: &str) -> f64 {
    r["process"]["final_values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == signal)
        .unwrap_or_else(|| panic!("{signal} is not among the final values"))[1]
        .as_f64()
        .unwrap()
}

/// A type that does not fit where it is written is refused at its line and column: a float
/// past the end of the map, an unknown type, a value the type cannot hold, a type on a bit,
/// a signed value an attacker's step writes out of range.
#[test]
fn register_types_that_do_not_fit_are_errors_at_their_line() {
    let plant = std::fs::read_to_string(fixture("plants/typed.toml")).unwrap();
    let book = std::fs::read_to_string(fixture("playbooks/typed.toml")).unwrap();
    for (file, from, to, at, field, words) in [
        (
            "plants/typed.toml",
            "in = \"hr:2:f32:low_first\"",
            "in = \"hr:7:f32:low_first\"",
            "plants/typed.toml:106:6:",
            "plc[0].program[0].in",
            "takes two registers, hr:7 and hr:8, and the PLC has 8 holding registers",
        ),
        (
            "plants/typed.toml",
            "below = \"hr:0:i16\"",
            "below = \"hr:0:s16\"",
            "plants/typed.toml:112:40:",
            "plc[0].program[1].when.below",
            "expected a type u16, i16, u32, i32 or f32",
        ),
        (
            "plants/typed.toml",
            "value = 30",
            "value = 40000",
            "plants/typed.toml:99:9:",
            "plc[0].init[0].value",
            "expected an integer in -32768..=32767 for hr:0:i16, found 40000",
        ),
        (
            "plants/typed.toml",
            "address = \"hr:0:i16\"",
            "address = \"co:0:i16\"",
            "plants/typed.toml:98:11:",
            "plc[0].init[0].address",
            "co:0 is a bit",
        ),
        (
            "plants/typed.toml",
            "register = \"hr:2\", type = \"f32\"",
            "register = \"hr:3\", type = \"f32\"",
            "plants/typed.toml:127:57:",
            "historian[0].tag[2].register",
            "no poll block of this historian reads hr:3 of plc-1 and the register after it",
        ),
        (
            "playbooks/typed.toml",
            "value = -200",
            "value = -40000",
            "playbooks/typed.toml:",
            "params.value",
            "-40000 is not an integer in -32768..=32767, what hr:0:i16 holds",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("plants")).unwrap();
        std::fs::create_dir(dir.path().join("playbooks")).unwrap();
        std::fs::write(dir.path().join("plants/typed.toml"), &plant).unwrap();
        std::fs::write(dir.path().join("playbooks/typed.toml"), &book).unwrap();
        let text = if file.starts_with("plants") { &plant } else { &book };
        assert!(text.contains(from), "{from}");
        std::fs::write(dir.path().join(file), text.replacen(from, to, 1)).unwrap();
        std::fs::copy(fixture("typed-attack.toml"), dir.path().join("typed-attack.toml")).unwrap();
        let o = common::otrange(["check", dir.path().join("typed-attack.toml").to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(at) && err.contains(&format!("{field}: ")) && err.contains(words),
            "expected {at} {field}: {words}\n{err}"
        );
    }
}

/// A schedule's bad time or offset is refused at its line and column, naming the entry.
#[test]
fn a_bad_schedule_is_an_error_at_its_line() {
    let plant = std::fs::read_to_string(fixture("plants/outside.toml")).unwrap();
    for (from, to, at, words) in [
        (
            r#"["10:30", 500]"#,
            r#"["10:30", 500], ["09:00", 0]"#,
            "plants/outside.toml:57:44: plc[0].program[0].switch_at[2]",
            "is not after the time before it",
        ),
        (
            r#"["10:30", 500]"#,
            r#"["25:30", 500]"#,
            "plants/outside.toml:57:28: plc[0].program[0].switch_at[1]",
            "is not a time of day",
        ),
        (
            "utc_offset = \"+01:00\"\nout = \"hr:1\"",
            "utc_offset = \"CET\"\nout = \"hr:1\"",
            "plants/outside.toml:58:14: plc[0].program[0].utc_offset",
            "expected an offset from UTC",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("plants")).unwrap();
        assert!(plant.contains(from), "{from}");
        std::fs::write(
            dir.path().join("plants/outside.toml"),
            plant.replacen(from, to, 1),
        )
        .unwrap();
        std::fs::copy(
            fixture("plants/outside.csv"),
            dir.path().join("plants/outside.csv"),
        )
        .unwrap();
        std::fs::copy(fixture("outside.toml"), dir.path().join("outside.toml")).unwrap();
        let o = common::otrange(["check", dir.path().join("outside.toml").to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(at) && err.contains(words),
            "expected {at}: {words}\n{err}"
        );
    }
}
