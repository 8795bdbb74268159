//! Scan ticks and scans done ahead change nothing: at an instant where only local work (PLC
//! scans) is due, the runner does only that work, without the schedule, and a PLC's scan
//! may run when its physics step opens rather than at its instant (docs/src/architecture.md,
//! "A tick touches what is due"), and a frame's next hop may be done as soon as it is
//! known when nothing in the network's queue comes first, and a PLC program that settled on
//! unchanged memory skips its scans. With `OTRANGE_FULL_TICKS=1` every tick runs every
//! system, every scan runs its program at its instant and every hop goes through the queue;
//! the outputs must be the same bytes.
//! A system that acts at ticks it did not ask for (an agent noticing a timeout at whatever
//! tick comes next) makes them differ, and this test names the file.

mod common;

use common::{OTRANGE, describe, fixture, read_json, repo_path};
use std::path::Path;
use std::process::Command;

/// Runs `exercise` for `duration` with every output on, scan ticks allowed or not.
fn run(exercise: &Path, duration: &str, out: &Path, full_ticks: bool) {
    let mut cmd = Command::new(OTRANGE);
    cmd.arg("run")
        .arg(exercise)
        .args([
            "--duration",
            duration,
            "--no-report",
            "--log-frames",
            "--pcap",
            "--out",
        ])
        .arg(out);
    if full_ticks {
        cmd.env("OTRANGE_FULL_TICKS", "1");
    } else {
        cmd.env_remove("OTRANGE_FULL_TICKS");
    }
    let o = cmd.output().expect("otrange runs");
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", describe(&o));
}

fn assert_same_outputs(exercise: &Path, duration: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (full, local) = (dir.path().join("full"), dir.path().join("local"));
    run(exercise, duration, &full, true);
    run(exercise, duration, &local, false);
    for f in [
        "results.json",
        "events.jsonl",
        "process.csv",
        "capture.pcap",
        "alerts.eve.json",
    ] {
        let a = std::fs::read(full.join(f)).ok();
        let b = std::fs::read(local.join(f)).ok();
        assert!(
            a == b,
            "{}: {f} differs between full and scan ticks",
            exercise.display()
        );
    }
}

#[test]
fn an_attack_with_timeouts_procedures_and_remote_io_is_the_same_either_way() {
    // FrostyGoop: the HMI's polls time out and its view of the bricked controller is lost;
    // Colonial: ransomware in IT triggers the site's shutdown procedure; the reference
    // plant's TSN cell runs remote I/O throughout.
    assert_same_outputs(&repo_path("scenarios/frostygoop.toml"), "1h");
    assert_same_outputs(&repo_path("scenarios/colonial.toml"), "1h30m");
}

#[test]
fn plcs_that_alarm_trip_and_take_downloads_are_the_same_either_way() {
    // Scans done ahead of their instant (one sweep per physics step) log their alarms at
    // their instant and leave the PLCs that read each other's signals to their instants:
    // Stuxnet's and Triton's controllers raise alarms and trip, Pipedream's take vendor
    // downloads, Unitronics' HMI is defaced while its PLC keeps scanning.
    for (exercise, duration) in [
        ("scenarios/stuxnet.toml", "1h"),
        ("scenarios/triton.toml", "1h"),
        ("scenarios/pipedream.toml", "1h"),
        ("scenarios/unitronics.toml", "1h"),
    ] {
        assert_same_outputs(&repo_path(exercise), duration);
    }
}

#[test]
fn a_plant_of_many_plcs_is_the_same_either_way() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plant");
    let generated = Command::new("python3")
        .arg(repo_path("benches/scale/gen.py"))
        .arg(&out)
        .args(["300", "2m"])
        .output()
        .expect("python3 runs");
    assert!(generated.status.success(), "{}", describe(&generated));
    assert_same_outputs(&out.join("exercise.toml"), "2m");
}

#[test]
fn answers_to_the_scada_hmi_need_no_full_tick() {
    // The reference plant's HMI and historian poll every PLC; an answer waiting for them,
    // with nothing else due, is handed over by a poller tick (devices::poller_tick), not by
    // the whole schedule, and so are their poll rounds. Full ticks are then the other
    // agents' wake-ups (IT traffic, attack steps) and the physics steps' impacts.
    let ex = otrange::scenario::Exercise::load(&repo_path("scenarios/water-treatment.toml")).unwrap();
    let mut sim = ex.build(1).unwrap();
    sim.run_until(otrange_sim::SimTime::ZERO + otrange_sim::SimDuration::from_secs(600));
    let counts = sim.tick_counts();
    let answers = sim
        .device_summaries()
        .iter()
        .filter_map(|(_, f)| serde_json::to_value(f).ok()?.get("answers")?.as_u64())
        .sum::<u64>();
    assert!(counts.pollers > 0, "{counts:?}");
    assert!(
        counts.full * 10 < answers,
        "{counts:?}: more than one full tick for every ten answers ({answers} answers)"
    );
}

#[test]
fn a_plc_that_also_serves_http_keeps_its_modbus_requests() {
    // A PLC offering HTTP as well gets IT requests served at their arrival, at whatever
    // kind of tick: serving them must leave the HMI's Modbus requests for the end of the
    // PLC's scan (they were once drained with the HTTP requests at full ticks).
    let dir = tempfile::tempdir().unwrap();
    let plant = std::fs::read_to_string(fixture("plants/minimal.toml"))
        .unwrap()
        .replace("services = [\"modbus\"]", "services = [\"modbus\", \"http\"]")
        + "\n[[traffic]]\nfrom = [\"hmi\"]\nto = \"plc-1\"\nservice = \"http\"\nevery = \"200ms\"\nrequest_bytes = [200, 400]\nresponse_bytes = [1000, 4000]\n";
    std::fs::write(dir.path().join("plant.toml"), plant).unwrap();
    let exercise = dir.path().join("exercise.toml");
    std::fs::write(
        &exercise,
        "[exercise]\nname = \"http on a PLC\"\nplant = \"plant.toml\"\nduration = \"10m\"\n",
    )
    .unwrap();
    assert_same_outputs(&exercise, "10m");
    let out = dir.path().join("out");
    run(&exercise, "10m", &out, false);
    let results = read_json(&out.join("results.json"));
    let hmi = &results["hmis"][0];
    assert_eq!(hmi["timeouts"], 0, "{hmi}");
    // Every poll answered but the last, still on its way when the run ends.
    let (polls, answers) = (hmi["polls"].as_u64().unwrap(), hmi["answers"].as_u64().unwrap());
    assert!(polls > 500 && answers + 1 == polls, "{hmi}");
    let it = &results["it"];
    assert!(it["served"].as_u64().unwrap() > 2_000, "{it}");
}
