//! The asset register (`--assets`): the reference plant's shipped register
//! (`scenarios/water-treatment/assets.csv`) against what passive discovery sees, in the
//! simulation (`otrange run`) and on a capture of it (`otrange detect --pcap`), and the
//! errors a user gets for a bad register.
//!
//! The register has two deliberate discrepancies (docs/src/guide/detectors.md): plc-dist is
//! registered with firmware v3.10 but reports v3.20 over FC 43/14, and plc-backwash
//! (10.10.1.26) was decommissioned but is still registered. The only device identification
//! requests in the benign plant are the engineering workstation's sessions (one random PLC
//! each, about every 2 hours): with seed 1 the first one reads plc-dist at 7,735 s, and the
//! last silent host (jump-01) first talks at 5,139 s, so 2h10m is the shortest run (in whole
//! minutes, with 65 s to spare) in which the register shows exactly those two.

mod common;

use common::{describe, otrange, read_bytes, read_json, reference_exercise, repo_path, run_reference_ok};
use serde_json::{Value, json};

const REGISTER: &str = "scenarios/water-treatment/assets.csv";
const INVENTORY: &str = "scenarios/detectors/plant-inventory.toml";

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|a| a["name"].as_str().expect("a name"))
        .collect()
}

/// The two discrepancies and nothing else.
fn assert_shipped_discrepancies(c: &Value, what: &str) {
    assert_eq!(c["detector"], "asset inventory", "{what}");
    assert_eq!(
        (c["registered"].as_u64(), c["registered_seen"].as_u64()),
        (Some(27), Some(26)),
        "{what}"
    );
    assert_eq!(
        c["not_seen"],
        json!([{"name": "plc-backwash", "address": "10.10.1.26", "zone": "control"}]),
        "{what}"
    );
    assert_eq!(c["not_registered"], json!([]), "{what}");
    assert_eq!(
        c["identity_mismatches"],
        json!([{"name": "plc-dist", "address": "10.10.1.24", "field": "revision",
                "registered": "v3.10", "observed": "v3.20"}]),
        "{what}"
    );
    // The PLCs the engineer did not visit yet: seen, identity not verified (no mismatch).
    assert_eq!(
        names(&c["identity_unverified"]),
        [
            "analyzer-naoh",
            "plc-intake",
            "plc-dosing",
            "plc-filter",
            "plc-sis"
        ],
        "{what}"
    );
}

#[test]
fn run_and_detect_on_its_capture_find_the_two_shipped_discrepancies() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = run_reference_ok(
        &out,
        &[
            "--duration",
            "2h10m",
            "--detectors",
            INVENTORY,
            "--assets",
            REGISTER,
            "--pcap",
        ],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    for line in [
        "  asset register scenarios/water-treatment/assets.csv: 26 of 27 registered assets seen (96.3 %), \
         0 not registered, 1 identity mismatch, 5 unverified",
        "    registered, not seen: plc-backwash (10.10.1.26)",
        r#"    identity: plc-dist (10.10.1.24) revision: registered "v3.10", reports "v3.20""#,
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing {line:?} in:\n{stdout}"
        );
    }
    let results = read_json(&out.join("results.json"));
    let from_run = &results["asset_register"];
    assert_eq!(from_run["file"], REGISTER);
    assert_shipped_discrepancies(from_run, "run");
    // The NIS2 evidence files them under Article 21(2)(i), asset management.
    let nis2 = std::fs::read_to_string(out.join("nis2.md")).unwrap();
    assert!(
        nis2.contains("- Identity mismatch: plc-dist (10.10.1.24) revision: registered \"v3.10\", the device reports \"v3.20\"."),
        "{nis2}"
    );
    assert!(
        nis2.contains("registered but never seen: plc-backwash (10.10.1.26)"),
        "{nis2}"
    );

    // The same plant as a capture: hosts are the capture's addresses, named by the plant.
    let detected = dir.path().join("detect");
    let o = otrange([
        "detect".as_ref(),
        "--pcap".as_ref(),
        out.join("capture.pcap").as_os_str(),
        "--plant".as_ref(),
        repo_path("scenarios/water-treatment/plant.toml").as_os_str(),
        "--detectors".as_ref(),
        repo_path(INVENTORY).as_os_str(),
        "--assets".as_ref(),
        repo_path(REGISTER).as_os_str(),
        "--out".as_ref(),
        detected.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains(r#"identity: plc-dist (10.10.1.24) revision: registered "v3.10", reports "v3.20""#),
        "{stdout}"
    );
    // A run made without the register gets it afterwards from `otrange report --assets`:
    // the same results.json, NIS2 evidence and report, byte for byte, however often.
    let later = dir.path().join("later");
    run_reference_ok(&later, &["--duration", "2h10m", "--detectors", INVENTORY]);
    for _ in 0..2 {
        let o = otrange(["report", later.to_str().unwrap(), "--assets", REGISTER]);
        assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains("1 identity mismatch"),
            "{}",
            describe(&o)
        );
    }
    for file in ["results.json", "nis2.md", "report.html", "navigator-layer.json"] {
        assert!(
            read_bytes(&later.join(file)) == read_bytes(&out.join(file)),
            "{file}: report --assets differs from run --assets"
        );
    }

    let mut from_capture = read_json(&detected.join("detect.json"))["asset_register"].clone();
    // Only the file's name differs (given as an absolute path here).
    assert_eq!(from_capture["file"], repo_path(REGISTER).display().to_string());
    from_capture["file"] = from_run["file"].clone();
    assert_eq!(&from_capture, from_run, "the capture and the simulation agree");
}

#[test]
fn a_cmdb_export_with_its_own_headers_is_mapped() {
    let dir = tempfile::tempdir().unwrap();
    // The shipped register as another CMDB exports it: its own headers, order and case.
    let shipped = std::fs::read_to_string(repo_path(REGISTER)).unwrap();
    let mut cmdb = String::from("Site Zone,Hostname,IP Address,Manufacturer,Model,firmware\n");
    for line in shipped.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        cmdb += &format!("{},{},{},{},{},{}\n", f[5], f[0], f[1], f[2], f[3], f[4]);
    }
    let file = dir.path().join("cmdb-export.csv");
    std::fs::write(&file, cmdb).unwrap();
    let out = dir.path().join("run");
    let o = run_reference_ok(
        &out,
        &[
            "--duration",
            "10m",
            "--detectors",
            INVENTORY,
            "--assets",
            file.to_str().unwrap(),
            "--asset-columns",
            r#"name=Hostname,address="IP Address",vendor=Manufacturer,product=Model,revision=Firmware,zone=Site Zone"#,
        ],
    );
    let c = &read_json(&out.join("results.json"))["asset_register"];
    // Ten minutes in, three registered hosts have not talked yet and no engineer has read a
    // PLC's identity: silence, not a mismatch.
    assert_eq!(
        names(&c["not_seen"]),
        ["plc-backwash", "jump-01", "vpn-gw", "vendor-portal"],
        "{}",
        describe(&o)
    );
    assert_eq!(c["identity_mismatches"], json!([]));
    assert_eq!(c["identity_unverified"].as_array().unwrap().len(), 6);

    // Without --assets, results.json has no asset_register key (other runs are unchanged).
    let plain = dir.path().join("plain");
    run_reference_ok(&plain, &["--duration", "10m", "--detectors", INVENTORY]);
    assert!(
        read_json(&plain.join("results.json"))
            .get("asset_register")
            .is_none()
    );
}

/// Runs `otrange args...`, expects exit 2 and returns its stderr.
fn refused(args: &[&std::ffi::OsStr]) -> String {
    let o = otrange(args);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_registers_and_a_set_without_inventory_are_refused_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("assets.csv");
    std::fs::write(
        &bad,
        "name,address,vendor,product,revision,zone\nplc-1,10.10.1.21,,,,control\nplc-2,10.10.1.300,,,,control\n",
    )
    .unwrap();
    let ex = reference_exercise();
    let out = dir.path().join("out");
    let run = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> =
            vec!["run".as_ref(), ex.as_os_str(), "--out".as_ref(), out.as_os_str()];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        refused(&args)
    };
    let bad_s = bad.to_str().unwrap();
    let e = run(&["--detectors", INVENTORY, "--assets", bad_s]);
    assert_eq!(
        e.trim(),
        format!(r#"error: {bad_s}:3: address: "10.10.1.300" is not an IPv4 address"#)
    );
    let e = run(&[
        "--detectors",
        INVENTORY,
        "--assets",
        bad_s,
        "--asset-columns",
        "address=IP Address",
    ]);
    assert!(
        e.contains(r#":1: (header): no column "IP Address" for the asset's address (headers found: "name", "address", "#),
        "{e}"
    );
    let e = run(&[
        "--detectors",
        "scenarios/detectors/plant-detection.toml",
        "--assets",
        REGISTER,
    ]);
    assert!(
        e.contains("plant-detection.toml: --assets: this detector set has no `inventory` detector"),
        "{e}"
    );
    let e = run(&["--assets", REGISTER]);
    assert!(e.contains("--assets: the exercise has no detector set"), "{e}");

    // report --assets: a run without an inventory detector, and a directory that is no run.
    let plain = dir.path().join("plain");
    run_reference_ok(&plain, &["--duration", "1m"]);
    let e = refused(&[
        "report".as_ref(),
        plain.as_os_str(),
        "--assets".as_ref(),
        REGISTER.as_ref(),
    ]);
    assert!(
        e.contains("results.json: the run had no inventory detector, so there is nothing to compare"),
        "{e}"
    );
    let e = refused(&[
        "report".as_ref(),
        dir.path().as_os_str(),
        "--assets".as_ref(),
        REGISTER.as_ref(),
    ]);
    assert!(
        e.contains("--assets applies to a run's directory (results.json)"),
        "{e}"
    );
    let e = refused(&[
        "report".as_ref(),
        plain.as_os_str(),
        "--assets".as_ref(),
        bad.as_os_str(),
    ]);
    assert!(
        e.contains(r#"assets.csv:3: address: "10.10.1.300" is not an IPv4 address"#),
        "{e}"
    );

    // detect: the same errors (a bad register before the capture is read).
    let pcap = repo_path("tests/data/pcaps/quickdraw-modbus-part1.pcap");
    let detect = |extra: &[&str]| {
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "detect".as_ref(),
            "--pcap".as_ref(),
            pcap.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ];
        args.extend(extra.iter().map(std::ffi::OsStr::new));
        refused(&args)
    };
    let e = detect(&["--detectors", INVENTORY, "--assets", bad_s]);
    assert!(
        e.contains(r#"assets.csv:3: address: "10.10.1.300" is not an IPv4 address"#),
        "{e}"
    );
    let e = detect(&["--assets", REGISTER]);
    assert!(
        e.contains("--assets: without --detectors only the built-in Quickdraw rules run"),
        "{e}"
    );
}
