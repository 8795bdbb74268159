//! The attacker's traffic as Wireshark sees it, playbooks' determinism, and playbook input
//! errors.

mod common;

use common::{OTRANGE, repo_path};
use std::path::Path;
use std::process::Command;

fn run(exercise: &Path, out: &Path, extra: &[&str]) {
    common::run_results(exercise, out, extra);
}

fn tshark(pcap: &Path, filter: &str, fields: &[&str]) -> Vec<String> {
    let mut c = Command::new("tshark");
    c.arg("-r").arg(pcap).args(["-Y", filter, "-T", "fields"]);
    for f in fields {
        c.args(["-e", f]);
    }
    let o = c.output().expect("tshark");
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn tshark_dissects_the_toolkits_identification_and_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    run(&repo_path("scenarios/pipedream.toml"), dir.path(), &["--pcap"]);
    let pcap = dir.path().join("capture.pcap");
    // FC 43 / MEI 14 read device identification, from the actor's foothold (ews-01).
    let ids = tshark(
        &pcap,
        "modbus.func_code == 43 && ip.src == 10.20.1.20",
        &["modbus.mei"],
    );
    assert!(!ids.is_empty() && ids.iter().all(|m| m == "14"), "{ids:?}");
    // FC 8 sub-function 4, force listen-only mode.
    let diag = tshark(
        &pcap,
        "modbus.func_code == 8",
        &["modbus.diagnostic_code", "ip.src"],
    );
    assert!(diag.iter().any(|l| l == "4\t10.20.1.20"), "{diag:?}");
    // FC 5 coil writes of the brute force, with on (0xFF00) and off (0x0000) values.
    let writes = tshark(
        &pcap,
        "modbus.func_code == 5 && ip.src == 10.20.1.20",
        &["modbus.data"],
    );
    assert!(writes.iter().any(|d| d.replace(':', "") == "ff00"), "{writes:?}");
    assert!(writes.iter().any(|d| d.replace(':', "") == "0000"), "{writes:?}");
    // No attacker frame is malformed.
    let bad = tshark(&pcap, "_ws.malformed && tcp.port == 502", &["frame.number"]);
    assert!(bad.is_empty(), "malformed Modbus frames: {bad:?}");
}

#[test]
fn every_shipped_playbook_run_is_deterministic() {
    for name in ["oldsmar", "stuxnet", "triton"] {
        let dir = tempfile::tempdir().unwrap();
        let ex = repo_path(&format!("scenarios/{name}.toml"));
        run(&ex, &dir.path().join("a"), &["--pcap"]);
        run(&ex, &dir.path().join("b"), &["--pcap"]);
        for f in [
            "results.json",
            "events.jsonl",
            "capture.pcap",
            "capture-labels.csv",
        ] {
            assert_eq!(
                std::fs::read(dir.path().join("a").join(f)).unwrap(),
                std::fs::read(dir.path().join("b").join(f)).unwrap(),
                "{name}: {f} differs between two runs with the same seed"
            );
        }
    }
}

#[test]
fn a_playbook_naming_an_unknown_or_deprecated_technique_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let plant = repo_path("scenarios/water-treatment/plant.toml");
    for (id, expect) in [
        ("T0855x", "unknown technique"),
        ("T0818", "deprecated"),
        ("T0826", "is an impact: the plant produces it"),
        ("T0860", "out of the range's scope: no radio links"),
    ] {
        let pb = dir.path().join("pb.toml");
        std::fs::write(
            &pb,
            format!(
                "[playbook]\nname = \"x\"\n\n[[actor]]\nname = \"a\"\nentry = \"insider\"\nstart = \"ews-01\"\n\n[[step]]\ntechnique = \"{id}\"\nactor = \"a\"\ntarget = \"plc-dosing\"\n"
            ),
        )
        .unwrap();
        let ex = dir.path().join("ex.toml");
        std::fs::write(
            &ex,
            format!(
                "[exercise]\nname = \"x\"\nplant = {:?}\nplaybook = \"pb.toml\"\n",
                plant.display().to_string()
            ),
        )
        .unwrap();
        let o = Command::new(OTRANGE).arg("check").arg(&ex).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{id}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("pb.toml:10:13: step[0].technique:"), "{id}: {err}");
        assert!(err.contains(id) && err.contains(expect), "{id}: {err}");
        assert!(!err.contains("panicked"));
    }
}
