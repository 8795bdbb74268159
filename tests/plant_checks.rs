//! `otrange check` catches mis-wiring that used to run and produce wrong results: a PLC
//! output driving a component's state, two outputs on one actuator, an actuator driven from
//! an input register, an HMI poll past a PLC's register map (errors, every one of them in
//! one check, at file:line:column), and a playbook write past the map (a warning: the
//! exercise still runs). And a stiff plant with a 10 s physics step runs without the fake
//! damage explicit Euler used to produce, saying in results.json that it sub-stepped.

mod common;

use common::{describe, otrange, repo_path};
use std::path::{Path, PathBuf};

/// A copy of the reference exercise `exercise` (its plant, playbooks, detectors and
/// policies) in `dir`, with `edit` applied to the plant's text and `playbook_edit` to the
/// playbooks'.
fn copy_with(
    dir: &Path,
    exercise: &str,
    edit: impl Fn(String) -> String,
    playbook_edit: impl Fn(String) -> String,
) -> PathBuf {
    for sub in ["water-treatment", "playbooks", "detectors", "policies"] {
        copy_tree(&repo_path(&format!("scenarios/{sub}")), &dir.join(sub));
    }
    let plant = dir.join("water-treatment/plant.toml");
    std::fs::write(&plant, edit(std::fs::read_to_string(&plant).unwrap())).unwrap();
    for f in std::fs::read_dir(dir.join("playbooks")).unwrap() {
        let f = f.unwrap().path();
        std::fs::write(&f, playbook_edit(std::fs::read_to_string(&f).unwrap())).unwrap();
    }
    let ex = dir.join(exercise);
    std::fs::copy(repo_path(&format!("scenarios/{exercise}")), &ex).unwrap();
    ex
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap().path();
        let dest = to.join(f.file_name().unwrap());
        if f.is_dir() {
            copy_tree(&f, &dest);
        } else {
            std::fs::copy(&f, &dest).unwrap();
        }
    }
}

/// 1-based line and column of the first `needle` after the first `anchor` in `text`.
fn position(text: &str, anchor: &str, needle: &str) -> (usize, usize) {
    let a = text.find(anchor).unwrap_or_else(|| panic!("no {anchor:?}"));
    let at = a + text[a..].find(needle).unwrap_or_else(|| panic!("no {needle:?}"));
    let before = &text[..at];
    (
        before.matches('\n').count() + 1,
        before.rsplit('\n').next().unwrap().chars().count() + 1,
    )
}

const WIRES: &str = r#"[[plc.io]]
signal = "intake_pump_1.run"
from = "co:0"
"#;

/// Four mistakes in one plant: three actuator wires added to the intake PLC (the heater's
/// temperature, the standby pump's speed from an input register, the duty pump a second
/// time) and an HMI poll of 20 holding registers on the 16-register safety PLC.
fn miswired(text: String) -> String {
    let wires = format!(
        "{WIRES}# mis-wired 1\n[[plc.io]]\nsignal = \"naoh_heater.temperature\"\nfrom = \"hr:5\"\n\
         # mis-wired 2\n[[plc.io]]\nsignal = \"intake_pump_2.speed\"\nfrom = \"ir:3\"\n\
         # mis-wired 3\n[[plc.io]]\nsignal = \"intake_pump_1.run\"\nfrom = \"co:3\"\n"
    );
    let poll = r#"{ plc = "plc-sis", read = "ir:0", count = 2 },"#;
    assert!(text.contains(WIRES) && text.contains(poll));
    text.replacen(WIRES, &wires, 1).replacen(
        poll,
        &format!("{{ plc = \"plc-sis\", read = \"hr:0\", count = 20 }}, # mis-wired 4\n    {poll}"),
        1,
    )
}

#[test]
fn check_reports_every_miswiring_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let ex = copy_with(dir.path(), "oldsmar.toml", miswired, |t| t);
    let plant = std::fs::read_to_string(dir.path().join("water-treatment/plant.toml")).unwrap();
    for cmd in ["check", "run"] {
        let o = otrange(
            [
                cmd,
                ex.to_str().unwrap(),
                "--out",
                dir.path().join("out").to_str().unwrap(),
            ]
            .into_iter()
            .take(if cmd == "check" { 2 } else { 4 }),
        );
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", describe(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error: ")).collect();
        assert_eq!(lines.len(), 4, "{cmd}: {err}");
        assert!(err.contains("4 errors"), "{err}");
        let expect = [
            (
                position(&plant, "# mis-wired 1", "\"naoh_heater.temperature\""),
                "plc[0].io[5].signal",
                "naoh_heater.temperature is computed by the heater \"naoh_heater\"",
                "its commands are: power",
            ),
            (
                position(&plant, "# mis-wired 2", "\"ir:3\""),
                "plc[0].io[6].from",
                "an actuator is driven from a coil (co:) or a holding register (hr:)",
                "ir:3 is one of the PLC's input registers",
            ),
            (
                position(&plant, "# mis-wired 3", "\"intake_pump_1.run\""),
                "plc[0].io[7].signal",
                "intake_pump_1.run is already driven by plc[0].io[4].signal",
                "fight",
            ),
            (
                position(&plant, "read = \"hr:0\", count = 20", "\"hr:0\""),
                "hmi[1].poll[4].read",
                "hr:0 count 20 (to hr:19) is outside plc-sis's map, which has 16 holding registers (hr:0 to hr:15)",
                "exception 2",
            ),
        ];
        for (line, ((l, c), field, what, why)) in lines.iter().zip(expect) {
            let place = format!("water-treatment/plant.toml:{l}:{c}: {field}: ");
            assert!(line.contains(&place), "{cmd}: {line:?} is not at {place}");
            assert!(line.contains(what) && line.contains(why), "{cmd}: {line}");
        }
    }
}

#[test]
fn a_playbook_write_past_the_map_is_a_warning_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let ex = copy_with(
        dir.path(),
        "oldsmar.toml",
        |t| t,
        |t| {
            t.replace(
                "register = \"hr:0\", value = 11100",
                "register = \"hr:99\", value = 11100",
            )
        },
    );
    let o = otrange(["check", ex.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(", 1 warning"), "{out}");
    let err = String::from_utf8_lossy(&o.stderr);
    let book = std::fs::read_to_string(dir.path().join("playbooks/oldsmar.toml")).unwrap();
    // The step's `technique` value: its params table has no positions of its own.
    let (l, c) = position(&book, "id = \"raise NaOH", "\"T0836\"");
    let want = format!(
        "playbooks/oldsmar.toml:{l}:{c}: step[3].params.register: hr:99 is outside \
         plc-dosing's map, which has 32 holding registers"
    );
    assert!(
        err.starts_with("warning: ") && err.contains(&want),
        "{err}\nwanted {want}"
    );
}

/// The stiff loop of sim/tests/stiff_plant.rs (tests/fixtures/plants/stiff-loop.toml), with
/// its 10 s step:
/// it runs without impacts, and results.json says the steps were cut and for which component.
#[test]
fn a_stiff_plant_at_ten_seconds_runs_clean_and_says_it_sub_stepped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("exercise.toml"),
        format!("[exercise]\nname = \"stiff\"\nplant = {:?}\nduration = \"2h\"\nseed = 1\n\n[expect]\nimpacts = 0\nwithin_bands = true\n",
            repo_path("tests/fixtures/plants/stiff-loop.toml")
        ),
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = otrange([
        "run",
        dir.path().join("exercise.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-report",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let r = common::read_json(&out.join("results.json"));
    assert_eq!(r["impacts"].as_array().unwrap().len(), 0, "{}", r["impacts"]);
    let i = &r["process"]["integration"];
    assert_eq!(i["steps"], 720, "{i}");
    assert!(i["substeps"].as_u64().unwrap() > 720, "{i}");
    assert_eq!(i["capped_steps"], 0, "{i}");
    assert!(
        ["outlet", "loop"].contains(&i["stiffest_component"].as_str().unwrap()),
        "{i}"
    );
}
