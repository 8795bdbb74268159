//! `otrange detect --pcap` on real captures (copies in tests/data/pcaps/, sources in its
//! README): every capture runs without a panic, Modbus ADU counts agree with tshark, bad
//! bytes on port 502 are reported, and the Quickdraw rules raise each finding Digital Bond's
//! test captures were made for, on the frames tshark shows for it.
//!
//! Needs `tshark` on PATH for the comparisons; without it those tests fail rather than pass
//! silently.

mod common;

use common::{describe, otrange, read_json, repo_path, tshark_read};
use serde_json::Value;
use std::path::{Path, PathBuf};

const ALL: [&str; 8] = [
    "4SICS-GeekLounge-151022-min.pcap",
    "fuzz-1011.pcap",
    "fuzz-72.pcap",
    "modbus-and-non-modbus-p502.pcap",
    "modbus-eit.pcap",
    "modbusSmall.pcap",
    "quickdraw-modbus-part1.pcap",
    "quickdraw-modbus-part2.pcap",
];

/// The regular master of each Quickdraw capture (the host that polls; see the README).
const PART1_CLIENT: &str = "10.0.0.57";
const PART2_CLIENT: &str = "192.168.66.235";

fn pcap(name: &str) -> PathBuf {
    repo_path("tests/data/pcaps").join(name)
}

/// What one `otrange detect` run wrote.
struct Detected {
    stdout: String,
    report: Value,
    eve: Vec<Value>,
    _dir: tempfile::TempDir,
}

impl Detected {
    /// Frame numbers of the alerts with this sid, in alert order.
    fn frames(&self, sid: u64) -> Vec<u64> {
        self.eve
            .iter()
            .filter(|e| e["alert"]["signature_id"] == sid)
            .flat_map(|e| e["otrange"]["frames"].as_array().expect("frames").clone())
            .map(|f| f.as_u64().expect("a frame number"))
            .collect()
    }
    fn stat(&self, path: &[&str]) -> u64 {
        let mut v = &self.report["capture"]["stats"];
        for p in path {
            v = &v[*p];
        }
        v.as_u64().unwrap_or(0)
    }
}

/// Runs `otrange detect --pcap <name> <extra...>` and asserts exit 0.
fn detect(name: &str, extra: &[&str]) -> Detected {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = vec![
        "detect".into(),
        "--pcap".into(),
        pcap(name).into_os_string(),
        "--out".into(),
        dir.path().as_os_str().to_owned(),
    ];
    args.extend(extra.iter().map(Into::into));
    let o = otrange(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "otrange detect {name}:\n{}",
        describe(&o)
    );
    let eve_text = std::fs::read_to_string(dir.path().join("alerts.eve.json")).expect("alerts.eve.json");
    let eve = eve_text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("EVE line is not JSON ({e}): {l}")))
        .collect();
    Detected {
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        report: read_json(&dir.path().join("detect.json")),
        eve,
        _dir: dir,
    }
}

/// (frame number, seconds since the first frame) of the frames tshark matches with `filter`.
fn tshark(file: &Path, filter: &str) -> Vec<(u64, f64)> {
    tshark_read(
        file,
        &[
            "-n",
            "-Y",
            filter,
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.time_relative",
        ],
    )
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(|l| {
        let mut f = l.split('\t');
        let n = f
            .next()
            .and_then(|x| x.trim().parse().ok())
            .expect("frame number");
        let t = f.next().and_then(|x| x.trim().parse().ok()).expect("time");
        (n, t)
    })
    .collect()
}

fn numbers(frames: &[(u64, f64)]) -> Vec<u64> {
    frames.iter().map(|f| f.0).collect()
}

/// Where Suricata's `threshold: type both, count N, seconds S` alerts on a sequence of
/// matching frames (one tracked host): once when the N-th match falls in a window of S
/// seconds opened by the window's first match; a match after the window opens a new one.
fn threshold_both(frames: &[(u64, f64)], count: usize, seconds: f64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut start = None;
    let mut n = 0;
    for &(f, t) in frames {
        match start {
            Some(s) if t - s < seconds => n += 1,
            _ => {
                start = Some(t);
                n = 1;
            }
        }
        if n == count {
            out.push(f);
        }
    }
    out
}

#[test]
fn every_capture_runs_without_a_panic() {
    for name in ALL {
        let d = detect(name, &[]);
        assert!(d.stdout.contains("packets:"), "{name}: no summary:\n{}", d.stdout);
        assert!(
            d.report["capture"]["stats"]["packets"].as_u64().unwrap_or(0) > 0,
            "{name}"
        );
        assert!(
            d.report["detectors"].as_array().is_some_and(|a| !a.is_empty()),
            "{name}"
        );
    }
}

#[test]
fn modbus_adu_counts_equal_tsharks() {
    for name in [
        "quickdraw-modbus-part1.pcap",
        "quickdraw-modbus-part2.pcap",
        "modbusSmall.pcap",
    ] {
        let expected = tshark(&pcap(name), "mbtcp").len() as u64;
        let d = detect(name, &[]);
        assert_eq!(
            d.stat(&["modbus", "adus"]),
            expected,
            "{name}: ADUs vs tshark's mbtcp frames"
        );
        assert_eq!(
            d.stat(&["modbus", "requests"]) + d.stat(&["modbus", "responses"]),
            expected,
            "{name}"
        );
    }
}

#[test]
fn non_modbus_and_malformed_bytes_are_reported() {
    let d = detect("modbus-and-non-modbus-p502.pcap", &[]);
    let listed: Vec<u64> = d.report["capture"]["stats"]["modbus"]["non_modbus"]
        .as_array()
        .expect("non_modbus list")
        .iter()
        .map(|n| n["frame"].as_u64().unwrap())
        .collect();
    // Each probe of the exposed PLCs (TLS, HTTP, RDP, ...) and each of their answers.
    for f in [29, 39, 49, 65, 70, 80] {
        assert!(
            listed.contains(&f),
            "frame {f} not reported as non-Modbus: {listed:?}"
        );
    }
    // The Modbus at the start of the capture is still decoded.
    assert_eq!(d.stat(&["modbus", "adus"]), 12);
    assert!(d.stdout.contains("non-Modbus on 502: 11 units"), "{}", d.stdout);
    for name in ["fuzz-72.pcap", "fuzz-1011.pcap"] {
        let d = detect(name, &[]);
        let bad = d.stat(&["modbus", "non_modbus_units"])
            + d.stat(&["skipped", "malformed"])
            + d.stat(&["skipped", "truncated"]);
        assert!(
            bad > 0,
            "{name}: nothing reported as non-Modbus or malformed:\n{}",
            d.stdout
        );
    }
}

#[test]
fn a_bad_capture_is_refused_with_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, b"definitely not a pcap file\n").unwrap();
    let missing = dir.path().join("missing.pcap");
    for f in [&junk, &missing] {
        let o = otrange(["detect".as_ref(), "--pcap".as_ref(), f.as_os_str()]);
        assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&*f.to_string_lossy()),
            "error does not name the file: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let o = otrange(["detect", "--pcap", "x.pcap", "--var", "NO_EQUALS_SIGN"]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    let o = otrange([
        "detect".as_ref(),
        "--pcap".as_ref(),
        pcap("modbus-eit.pcap").as_os_str(),
        "--detectors".as_ref(),
        missing.as_os_str(),
        "--out".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
}

#[test]
fn a_detector_set_file_runs_with_vars_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set.toml");
    let rules = repo_path("scenarios/detectors/rules/quickdraw-modbus.rules");
    std::fs::write(
        &set,
        format!(
            "[[detector]]\nkind = \"rules\"\nname = \"qd\"\nrules = {:?}\n",
            rules.display().to_string()
        ),
    )
    .unwrap();
    let set_s = set.to_string_lossy().into_owned();
    let var = format!("MODBUS_CLIENT={PART1_CLIENT}");
    let d = detect(
        "quickdraw-modbus-part1.pcap",
        &["--detectors", &set_s, "--var", &var],
    );
    assert_eq!(d.report["detectors"][0]["name"], "qd");
    assert_eq!(d.frames(1_111_006), vec![51, 54, 57]);
    // Without the variable, no client is known as the regular one: the capture's hosts are
    // all workstations, and the rule set's default (HMIs, historians, engineering
    // workstations) is then any address.
    let d = detect("quickdraw-modbus-part1.pcap", &["--detectors", &set_s]);
    assert!(d.frames(1_111_006).is_empty());
}

#[test]
fn alerts_are_in_time_order_with_the_captures_own_clock() {
    let var = format!("MODBUS_CLIENT={PART1_CLIENT}");
    let d = detect("quickdraw-modbus-part1.pcap", &["--var", &var]);
    let t: Vec<u64> = d
        .eve
        .iter()
        .map(|e| e["otrange"]["t_ns"].as_u64().unwrap())
        .collect();
    assert!(t.windows(2).all(|w| w[0] <= w[1]), "{t:?}");
    // Frame 8 is 15.266493 s after the first packet (2004-08-26 12:01:18.945447 UTC).
    assert_eq!(d.eve[0]["timestamp"], "2004-08-26T12:01:34.211940+0000");
    assert_eq!(d.report["capture"]["start"], "2004-08-26T12:01:18.945447+0000");
}

// Quickdraw acceptance: part 1 with its regular master as MODBUS_CLIENT (10.0.0.9 is the
// host that is not a known client), part 2 (one client, a function-code scan).

fn part1() -> Detected {
    detect(
        "quickdraw-modbus-part1.pcap",
        &["--var", &format!("MODBUS_CLIENT={PART1_CLIENT}")],
    )
}
fn part2() -> Detected {
    detect(
        "quickdraw-modbus-part2.pcap",
        &["--var", &format!("MODBUS_CLIENT={PART2_CLIENT}")],
    )
}
fn part1_frames(filter: &str) -> Vec<(u64, f64)> {
    tshark(&pcap("quickdraw-modbus-part1.pcap"), filter)
}
fn part2_frames(filter: &str) -> Vec<(u64, f64)> {
    tshark(&pcap("quickdraw-modbus-part2.pcap"), filter)
}

const REQUEST: &str = "tcp.dstport == 502";

#[test]
fn quickdraw_1111001_force_listen_only() {
    let want = part1_frames(&format!(
        "{REQUEST} && modbus.func_code == 8 && modbus.diagnostic_code == 4"
    ));
    assert_eq!(numbers(&want), vec![8, 10, 12]);
    assert_eq!(part1().frames(1_111_001), numbers(&want));
}

#[test]
fn quickdraw_1111002_restart_communications() {
    let want = part1_frames(&format!(
        "{REQUEST} && modbus.func_code == 8 && modbus.diagnostic_code == 1"
    ));
    assert_eq!(numbers(&want), vec![15, 17, 20]);
    assert_eq!(part1().frames(1_111_002), numbers(&want));
}

#[test]
fn quickdraw_1111003_clear_counters() {
    let want = part1_frames(&format!(
        "{REQUEST} && modbus.func_code == 8 && modbus.diagnostic_code == 10"
    ));
    assert_eq!(numbers(&want), vec![23, 26]);
    assert_eq!(part1().frames(1_111_003), numbers(&want));
}

#[test]
fn quickdraw_1111004_device_identification() {
    let want = part1_frames(&format!("{REQUEST} && modbus.func_code == 43"));
    assert_eq!(numbers(&want), vec![32, 34]);
    assert_eq!(part1().frames(1_111_004), numbers(&want));
    // Part 2's function-code scan tries it too.
    let want = part2_frames(&format!("{REQUEST} && modbus.func_code == 43"));
    assert_eq!(part2().frames(1_111_004), numbers(&want));
}

#[test]
fn quickdraw_1111005_report_server_id() {
    let want = part1_frames(&format!("{REQUEST} && modbus.func_code == 17"));
    assert_eq!(numbers(&want), vec![40, 43]);
    assert_eq!(part1().frames(1_111_005), numbers(&want));
    let want = part2_frames(&format!("{REQUEST} && modbus.func_code == 17"));
    assert_eq!(part2().frames(1_111_005), numbers(&want));
}

#[test]
fn quickdraw_1111006_reads_from_a_host_that_is_not_a_client() {
    let want = part1_frames(&format!(
        "{REQUEST} && ip.src != {PART1_CLIENT} && modbus.func_code >= 1 && modbus.func_code <= 4"
    ));
    assert_eq!(numbers(&want), vec![51, 54, 57]);
    assert_eq!(part1().frames(1_111_006), numbers(&want));
}

#[test]
fn quickdraw_1111007_writes_from_a_host_that_is_not_a_client() {
    let want = part1_frames(&format!(
        "{REQUEST} && ip.src != {PART1_CLIENT} && (modbus.func_code == 5 || modbus.func_code == 6 || modbus.func_code == 15 || modbus.func_code == 16)"
    ));
    assert_eq!(numbers(&want), vec![60, 63, 66]);
    assert_eq!(part1().frames(1_111_007), numbers(&want));
}

#[test]
fn quickdraw_1111010_busy_exceptions() {
    // Five "server busy" (6) exceptions within 8 s: the rule counts 3 in 60 s.
    let busy = part1_frames("tcp.srcport == 502 && modbus.exception_code == 6");
    assert_eq!(numbers(&busy), vec![91, 93, 95, 97, 99]);
    assert_eq!(part1().frames(1_111_010), threshold_both(&busy, 3, 60.0));
    assert_eq!(part1().frames(1_111_010), vec![95]);
}

#[test]
fn quickdraw_1111011_acknowledge_exceptions() {
    let ack = part1_frames("tcp.srcport == 502 && modbus.exception_code == 5");
    assert_eq!(numbers(&ack), vec![101, 103, 105, 107, 109]);
    assert_eq!(part1().frames(1_111_011), threshold_both(&ack, 3, 60.0));
}

#[test]
fn quickdraw_1111013_points_list_scan() {
    // Exception 2 (illegal data address), 5 in 60 s, per scanner.
    let illegal_address = part2_frames("tcp.srcport == 502 && modbus.exception_code == 2");
    assert!(illegal_address.len() >= 5, "{illegal_address:?}");
    let got = part2().frames(1_111_013);
    assert!(!got.is_empty());
    assert_eq!(got, threshold_both(&illegal_address, 5, 60.0));
}

#[test]
fn quickdraw_1111014_function_code_scan() {
    // Exception 1 (illegal function), 3 in 60 s, per scanner.
    let illegal_function = part2_frames("tcp.srcport == 502 && modbus.exception_code == 1");
    assert!(illegal_function.len() >= 3, "{illegal_function:?}");
    let got = part2().frames(1_111_014);
    assert!(!got.is_empty());
    assert_eq!(got, threshold_both(&illegal_function, 3, 60.0));
}

#[test]
fn quickdraw_oversized_and_non_modbus_frames_on_502() {
    let d = part1();
    // Frames 76 and 78 carry 451 bytes each behind a header whose length is 0x8804 (oversized
    // frame); 80 and 82 carry protocol id 0x0010: not Modbus. tshark dissects none of them as
    // Modbus either.
    let dissected = numbers(&part1_frames("mbtcp"));
    for f in [76, 78, 80, 82] {
        assert!(!dissected.contains(&f));
    }
    assert_eq!(d.frames(1_111_008), vec![76, 78]);
    assert_eq!(d.frames(1_111_009), vec![80, 82]);
}

/// (sid, source, destination) of a detector's EVE alerts, sorted.
fn alert_keys(eve: &[Value], detector: &str) -> Vec<(u64, String, String)> {
    let mut keys: Vec<_> = eve
        .iter()
        .filter(|e| e["otrange"]["detector"] == detector)
        .map(|e| {
            (
                e["alert"]["signature_id"].as_u64().unwrap(),
                e["otrange"]["src"].as_str().unwrap().to_string(),
                e["otrange"]["dest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    keys.sort();
    keys
}

#[test]
fn the_plants_own_capture_raises_what_the_simulation_raised_given_the_plant() {
    // The same bytes, two paths: the rules watching the simulated network, and the same
    // rules over the capture of that run, its addresses named by the plant file.
    let dir = tempfile::tempdir().unwrap();
    let sim_out = dir.path().join("sim");
    let o = otrange([
        "run".as_ref(),
        repo_path("scenarios/frostygoop.toml").as_os_str(),
        "--duration".as_ref(),
        "10m".as_ref(),
        "--pcap".as_ref(),
        "--detectors".as_ref(),
        repo_path("scenarios/detectors/plant-detection.toml").as_os_str(),
        "--out".as_ref(),
        sim_out.as_os_str(),
    ]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", describe(&o));
    let set = dir.path().join("set.toml");
    std::fs::write(
        &set,
        format!(
            "[[detector]]\nkind = \"rules\"\nname = \"plant rules\"\nrules = {:?}\n\
             vars = {{ MODBUS_CLIENT = \"[hmi-1, hmi-2, historian]\", ENGINEERING = \"ews-01\", DOSING = \"plc-dosing\", REMOTE_ACCESS = \"vpn-gw\" }}\n\n\
             [[detector]]\nkind = \"inventory\"\nname = \"asset inventory\"\n",
            repo_path("scenarios/detectors/rules/plant-modbus.rules").display().to_string()
        ),
    )
    .unwrap();
    let det_out = dir.path().join("detect");
    let o = otrange([
        "detect".as_ref(),
        "--pcap".as_ref(),
        sim_out.join("capture.pcap").as_os_str(),
        "--plant".as_ref(),
        repo_path("scenarios/water-treatment/plant.toml").as_os_str(),
        "--detectors".as_ref(),
        set.as_os_str(),
        "--out".as_ref(),
        det_out.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let lines = |p: PathBuf| -> Vec<Value> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let in_sim = alert_keys(&lines(sim_out.join("alerts.eve.json")), "plant rules");
    let in_capture = alert_keys(&lines(det_out.join("alerts.eve.json")), "plant rules");
    assert!(in_sim.len() >= 20, "{in_sim:?}");
    assert_eq!(in_capture, in_sim);
    // The inventory knows the plant's asset register: the intruder is not on it.
    let unknown = alert_keys(&lines(det_out.join("alerts.eve.json")), "asset inventory");
    assert_eq!(
        unknown,
        [(9_300_001, "intruder".to_string(), "plc-intake".to_string())]
    );
}
