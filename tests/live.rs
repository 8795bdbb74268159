//! Live mode with real peers: mbpoll and pymodbus talk to the simulated PLCs on loopback
//! addresses, tshark watches `lo`, a raw socket sends garbage. Every test starts its own
//! `otrange live`; they take turns (one lock), because each binds the plant's addresses.
//!
//! Needs mbpoll (apt), pymodbus (pip) and tshark (apt), as `.ci/run` installs them, and
//! permission to bind port 502 (root in CI); elsewhere PLCs fall back to `--port`.

mod common;

use common::{OTRANGE, repo_path};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const PLC_DOSING: &str = "127.10.1.22";
const HMI_1: &str = "127.20.1.11";

/// The live-mode benchmark's load generator, a binary of this package.
const LOADGEN: &str = env!("CARGO_BIN_EXE_otrange-loadgen");

/// A running `otrange live`, killed when dropped.
struct Live {
    child: Child,
    out: PathBuf,
    port: u16,
    /// What it printed so far, read by a thread as it comes.
    printed: std::sync::Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Live {
    /// Starts `otrange live` on `exercise` and waits until the manifest is written and the
    /// dosing PLC accepts connections.
    fn start(exercise: &Path, extra: &[&str]) -> Live {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let manifest = dir.path().join("manifest.json");
        let mut child = Command::new(OTRANGE)
            .arg("live")
            .arg(exercise)
            .arg("--out")
            .arg(&out)
            .arg("--manifest")
            .arg(&manifest)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start otrange live");
        let printed = std::sync::Arc::new(Mutex::new(String::new()));
        let reader = {
            let printed = std::sync::Arc::clone(&printed);
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let mut p = printed.lock().unwrap_or_else(|e| e.into_inner());
                    p.push_str(&line);
                    p.push('\n');
                }
            })
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !manifest.exists() {
            assert!(Instant::now() < deadline, "otrange live wrote no manifest");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
        let dosing = m
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "plc-dosing")
            .expect("plc-dosing in the manifest");
        assert_eq!(dosing["address"], PLC_DOSING);
        assert_eq!(dosing["plant_address"], "10.10.1.22");
        assert_eq!(dosing["role"], "plc");
        assert_eq!(dosing["zone"], "control");
        let port = dosing["port"].as_u64().unwrap() as u16;
        Live {
            child,
            out,
            port,
            printed,
            reader: Some(reader),
            _dir: dir,
        }
    }

    /// The instructor's token, from the console's line on the terminal.
    fn console_token(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let printed = self.printed();
            if let Some(t) = printed.split("instructor token: ").nth(1) {
                return t.chars().take_while(char::is_ascii_hexdigit).collect();
            }
            assert!(Instant::now() < deadline, "no console line in:\n{printed}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What it printed so far.
    fn printed(&self) -> String {
        self.printed.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops it with SIGTERM, as an operator's Ctrl-C would, and returns its output and
    /// output directory (which lives as long as `self`).
    fn stop(&mut self) -> (Output, PathBuf) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        self.wait(Duration::from_secs(10), "otrange live did not stop on SIGTERM")
    }

    /// Waits for it to end by itself (`--duration`), then returns as [`Live::stop`] does.
    fn wait(&mut self, limit: Duration, why: &str) -> (Output, PathBuf) {
        let deadline = Instant::now() + limit;
        loop {
            if self.child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "{why}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut stderr = String::new();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let stdout = self.printed();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = self.child.wait().unwrap();
        let out = self.out.clone();
        (
            Output {
                status,
                stdout: stdout.into_bytes(),
                stderr: stderr.into_bytes(),
            },
            out,
        )
    }
}

fn python(script: &str) -> String {
    let o = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .expect("python3");
    assert!(
        o.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn events(out: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(out.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn results(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

/// An exercise on the reference plant with its own `[live]` table.
fn exercise_with(dir: &Path, extra: &str) -> PathBuf {
    let plant = repo_path("scenarios/water-treatment/plant.toml");
    let path = dir.join("exercise.toml");
    std::fs::write(
        &path,
        format!(
            "[exercise]\nname = \"live test\"\nplant = {:?}\nduration = \"1h\"\nseed = 1\n\n{extra}\n",
            plant.display().to_string()
        ),
    )
    .unwrap();
    path
}

#[test]
fn mbpoll_reads_ten_holding_registers_of_the_dosing_plc() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut live = Live::start(&repo_path("scenarios/water-treatment.toml"), &[]);
    let o = Command::new("mbpoll")
        .args([
            "-m", "tcp", "-a", "1", "-r", "1", "-c", "10", "-t", "4", "-1", "-p",
        ])
        .arg(live.port.to_string())
        .arg(PLC_DOSING)
        .output()
        .expect("mbpoll (apt install mbpoll)");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "mbpoll failed:\n{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The dosing PLC's configured holding registers 0..4: NaOH setpoint 100 ppm, high alarm
    // 130, low alarm 60, heater on below 18.0 °C, off above 22.0 °C. mbpoll counts from 1.
    for (reg, value) in [(1, 100), (2, 130), (3, 60), (4, 180), (5, 220)] {
        assert!(
            text.contains(&format!("[{reg}]: \t{value}")),
            "register {reg} != {value}:\n{text}"
        );
    }
    assert_eq!(text.matches("]: \t").count(), 10, "ten registers:\n{text}");
    let (o, out) = live.stop();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = results(&out);
    let dosing = r["plcs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "plc-dosing")
        .unwrap();
    assert!(dosing["requests"].as_u64().unwrap() > 0);
}

#[test]
fn a_setpoint_written_by_pymodbus_moves_the_physics() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // 50x real time: 8 s of wall time are 400 s of plant time.
    let mut live = Live::start(&repo_path("scenarios/water-treatment.toml"), &["--speed", "50"]);
    let script = format!(
        r#"
import time
from pymodbus.client import ModbusTcpClient
c = ModbusTcpClient("{PLC_DOSING}", port={port})
assert c.connect()
before = c.read_input_registers(0, count=1, device_id=1).registers[0]
w = c.write_register(0, 150, device_id=1)
assert not w.isError(), w
back = c.read_holding_registers(0, count=1, device_id=1).registers[0]
time.sleep(8)
after = c.read_input_registers(0, count=1, device_id=1).registers[0]
print(before, back, after)
c.close()
"#,
        port = live.port
    );
    let printed = python(&script);
    let v: Vec<u16> = printed.split_whitespace().map(|x| x.parse().unwrap()).collect();
    let (before, back, after) = (v[0], v[1], v[2]);
    assert_eq!(back, 150, "the setpoint reads back");
    assert!(
        (95..=105).contains(&before),
        "NaOH starts near its 100 ppm setpoint: {before}"
    );
    // The PID raises the dosing stroke; NaOH in the 20 m³ contact volume (0.06 m³/s through
    // it, a 333 s residence time) climbs towards 150 ppm but cannot overshoot to 200 in 400 s.
    assert!(
        after > 115 && after < 200,
        "NaOH moved from {before} to {after} ppm in ~400 s"
    );
    let (o, out) = live.stop();
    assert_eq!(o.status.code(), Some(0));
    // What the real client did is on record as it happened, attributed to the host its
    // address stands for; the plant's own HMIs, polling the same PLC over real sockets
    // too, are not logged as real clients.
    let requests: Vec<serde_json::Value> = events(&out)
        .into_iter()
        .filter(|e| e["event"] == "client_request")
        .collect();
    let asked: Vec<(&str, &str, &str)> = requests
        .iter()
        .map(|e| {
            (
                e["device"].as_str().unwrap(),
                e["request"].as_str().unwrap(),
                e["answer"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        asked,
        [
            ("plc-dosing", "read ir:0", "answered"),
            ("plc-dosing", "write hr:0 = 150", "answered"),
            ("plc-dosing", "read hr:0", "answered"),
            ("plc-dosing", "read ir:0", "answered"),
        ]
    );
    assert!(
        requests
            .iter()
            .all(|e| e["client"] == "visitor-laptop" && e["function"].as_u64().is_some())
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("(visitor-laptop) -> plc-dosing: write hr:0 = 150: answered"),
        "{stdout}"
    );
    // Hosts without a loopback address are listed with the reason, not left out silently.
    assert!(
        stdout.contains("not on a live address (no loopback mapping in [live] address_map")
            && stdout.contains("intruder (203.0.113.66, zone internet)"),
        "{stdout}"
    );
    let r = results(&out);
    let dosing = r["plcs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "plc-dosing")
        .unwrap();
    assert!(dosing["requests"].as_u64().unwrap() >= 4);
}

#[test]
fn pymodbus_reads_device_identification() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let live = Live::start(&repo_path("scenarios/water-treatment.toml"), &[]);
    let script = format!(
        r#"
from pymodbus.client import ModbusTcpClient
c = ModbusTcpClient("{PLC_DOSING}", port={port})
assert c.connect()
r = c.read_device_information(device_id=1)
assert not r.isError(), r
print(r.information[0].decode(), "|", r.information[1].decode(), "|", r.information[2].decode())
c.close()
"#,
        port = live.port
    );
    assert_eq!(
        python(&script).trim(),
        "Schneider Electric | BMX P34 2020 | v3.20"
    );
}

#[test]
fn malformed_frames_close_their_connection_and_others_keep_being_served() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut live = Live::start(&repo_path("scenarios/water-treatment.toml"), &[]);
    let addr = format!("{PLC_DOSING}:{}", live.port);
    let bad: [&[u8]; 5] = [
        // protocol id 1 instead of 0
        &[0, 1, 0, 1, 0, 6, 1, 3, 0, 0, 0, 1],
        // a length that lies: 2000 bytes promised
        &[0, 2, 0, 0, 0x07, 0xD0, 1, 3, 0, 0, 0, 1],
        // length 1: no room for a function code
        &[0, 3, 0, 0, 0, 1, 1],
        // garbage
        b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n",
        // truncated: header promises 6 bytes, 2 arrive, then the peer closes
        &[0, 4, 0, 0, 0, 6, 1, 3],
    ];
    for frame in bad {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        s.write_all(frame).unwrap();
        if frame.len() == 8 {
            s.shutdown(std::net::Shutdown::Write).unwrap();
        }
        let mut buf = [0u8; 64];
        // The server answers nothing and closes (EOF or reset), within the timeout.
        match s.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("connection not closed after {frame:02x?}: {e}"),
            Ok(n) => panic!("answered a malformed frame with {:?}", &buf[..n]),
        }
    }
    // A good request on a fresh connection still gets its answer: FC 3, 1 register.
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.write_all(&[0, 9, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1]).unwrap();
    let mut buf = [0u8; 11];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(buf, [0, 9, 0, 0, 0, 5, 1, 3, 2, 0, 100]);
    std::thread::sleep(Duration::from_secs(2));
    let (o, out) = live.stop();
    assert_eq!(o.status.code(), Some(0));
    let reasons: Vec<String> = events(&out)
        .iter()
        .filter(|e| e["event"] == "malformed_request")
        .map(|e| e["reason"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reasons.len(), 5, "{reasons:?}");
    assert!(reasons[0].contains("protocol id 1"), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("truncated")), "{reasons:?}");
    // The plant's own HMIs kept polling through all this.
    let r = results(&out);
    for h in r["hmis"].as_array().unwrap() {
        assert_eq!(h["timeouts"], 0, "{h}");
        assert!(h["answers"].as_u64().unwrap() > 0, "{h}");
    }
}

#[test]
fn tshark_sees_the_hmi_poll_the_plc_between_their_own_addresses() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut tshark = Command::new("tshark")
        .args([
            "-i",
            "lo",
            "-a",
            "duration:6",
            "-l",
            "-Y",
            "mbtcp",
            "-T",
            "fields",
        ])
        .args([
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "mbtcp.prot_id",
            "-e",
            "modbus.func_code",
        ])
        .args(["-d", "tcp.port==5020,mbtcp", "-f", "tcp"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("tshark (apt install tshark)");
    std::thread::sleep(Duration::from_secs(1));
    let live = Live::start(&repo_path("scenarios/water-treatment.toml"), &[]);
    let lines: Vec<String> = BufReader::new(tshark.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect();
    let _ = tshark.wait();
    drop(live);
    let hmi_to_plc = lines
        .iter()
        .filter(|l| l.starts_with(&format!("{HMI_1}\t127.10.1.")) && l.contains("\t0\t"))
        .count();
    let plc_to_hmi = lines
        .iter()
        .filter(|l| l.starts_with("127.10.1.") && l.contains(&format!("\t{HMI_1}\t")))
        .count();
    assert!(
        hmi_to_plc >= 3 && plc_to_hmi >= 3,
        "expected Modbus/TCP between hmi-1 ({HMI_1}) and the PLCs, saw:\n{}",
        lines.join("\n")
    );
}

#[test]
fn connection_limits_and_idle_timeout_apply() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let ex = exercise_with(
        dir.path(),
        "[live]\nexternal_host = \"visitor-laptop\"\nmax_connections_per_device = 3\nidle_timeout = \"3s\"\n",
    );
    let mut live = Live::start(&ex, &[]);
    let addr = format!("{PLC_DOSING}:{}", live.port);
    // The HMIs hold one connection each to plc-dosing (hmi-1 polls it; see the plant).
    // Open four at once, then see which were reset.
    let conns: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    let mut held = Vec::new();
    let mut refused = 0;
    for mut s in conns {
        s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        let mut b = [0u8; 1];
        match s.read(&mut b) {
            Ok(0) => refused += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => refused += 1,
            _ => held.push(s),
        }
    }
    // At most 3 per device, and the plant's own clients may hold some of them.
    assert!(
        refused >= 1 && held.len() <= 3,
        "{refused} of 4 refused, {} held",
        held.len()
    );
    // An idle connection is closed after the idle timeout (3 s).
    std::thread::sleep(Duration::from_millis(3500));
    let mut s = held.pop().expect("one connection was accepted");
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut b = [0u8; 1];
    let closed = match s.read(&mut b) {
        Ok(0) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        Ok(_) => false,
    };
    assert!(closed, "idle connection still open after the idle timeout");
    let (_, out) = live.stop();
    assert!(
        events(&out)
            .iter()
            .any(|e| e["event"] == "connection_refused" && e["reason"].as_str().unwrap().contains("limit")),
        "refusals are logged"
    );
}

/// The Oldsmar exercise compressed into 100 s of plant time (step 1 at 10 s, the others
/// 5 s apart, step 2 keeping its 30 s), written into `dir`.
fn fast_oldsmar(dir: &Path) -> PathBuf {
    let shipped = std::fs::read_to_string(repo_path("scenarios/playbooks/oldsmar.toml")).unwrap();
    let fast = shipped
        .replace("at = \"10m\"", "at = \"10s\"")
        .replace("after = \"1m\"", "after = \"5s\"")
        .replace("after = \"2m\"", "after = \"5s\"");
    assert_ne!(fast, shipped);
    let playbook = dir.join("oldsmar-fast.toml");
    std::fs::write(&playbook, fast).unwrap();
    let exercise = dir.join("oldsmar-fast-exercise.toml");
    std::fs::write(
        &exercise,
        format!(
            "[exercise]\nname = \"oldsmar, fast\"\nplant = {:?}\nplaybook = {:?}\nduration = \"150s\"\nseed = 1\n\n[live]\nexternal_host = \"visitor-laptop\"\n",
            repo_path("scenarios/water-treatment/plant.toml").display().to_string(),
            playbook.display().to_string()
        ),
    )
    .unwrap();
    exercise
}

/// A playbook runs live as in batch mode: the Oldsmar playbook compressed into 100 s,
/// at 10x real time with pymodbus reading the dosing PLC all along, takes the same steps to
/// the same outcomes and the same impact. (Its Modbus steps, acting from hmi-1 whose own
/// polls go over real sockets, used to be answered to the HMI instead of the step.)
#[test]
fn a_playbook_runs_live_as_in_batch_while_a_real_client_polls() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let exercise = fast_oldsmar(dir.path());
    let batch = dir.path().join("batch");
    let detectors = repo_path("scenarios/detectors/plant-detection.toml");
    let o = common::otrange([
        "run".as_ref(),
        exercise.as_os_str(),
        "--detectors".as_ref(),
        detectors.as_os_str(),
        "--out".as_ref(),
        batch.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", common::describe(&o));

    let mut live = Live::start(
        &exercise,
        &[
            "--speed",
            "10",
            "--duration",
            "150s",
            "--detectors",
            detectors.to_str().unwrap(),
        ],
    );
    // 10 s of wall time: 100 s of plant time, to just past the impact.
    let script = format!(
        r#"
import time
from pymodbus.client import ModbusTcpClient
c = ModbusTcpClient("{PLC_DOSING}", port={port})
assert c.connect()
ok = 0
end = time.time() + 10
while time.time() < end:
    r = c.read_input_registers(0, count=1, device_id=1)
    ok += 0 if r.isError() else 1
    time.sleep(0.1)
print(ok)
c.close()
"#,
        port = live.port
    );
    let reads: u32 = python(&script).trim().parse().unwrap();
    assert!(reads >= 50, "pymodbus read the PLC {reads} times");
    let (o, out) = live.wait(
        Duration::from_secs(30),
        "otrange live did not end after --duration",
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let (b, l) = (results(&batch), results(&out));
    let outcomes = |r: &serde_json::Value| -> Vec<(String, String)> {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["technique"].as_str().unwrap().into(),
                    s["status"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    // The detectors see the step's requests on the real sockets as the step's frames, as in
    // batch mode: the NaOH write (T0836) is detected on its own frames. Live sees at least
    // what batch sees; pymodbus's reads add alerts of their own that name techniques.
    let rank = |d: &str| {
        ["none", "telemetry", "general", "tactic", "technique"]
            .iter()
            .position(|x| *x == d)
    };
    for (sb, sl) in b["steps"]
        .as_array()
        .unwrap()
        .iter()
        .zip(l["steps"].as_array().unwrap())
    {
        assert!(
            rank(sl["detection"].as_str().unwrap()) >= rank(sb["detection"].as_str().unwrap()),
            "step {}: {} live, {} in batch",
            sb["step"],
            sl["detection"],
            sb["detection"]
        );
    }
    // `detected_by` keeps each detector's first alert for the step, which may be one of
    // pymodbus's reads of the step's target; the write's own alert is in the event log.
    let write = &l["steps"][3];
    assert_eq!(write["technique"], "T0836");
    let events = std::fs::read_to_string(out.join("events.jsonl")).unwrap();
    let on_the_writes_frames = events
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|e| e["event"] == "alert" && e["technique"] == "T0836")
        .any(|e| e["steps"].as_array().is_some_and(|s| s.contains(&4.into())));
    assert!(on_the_writes_frames, "no T0836 alert on step 4's frames: {write}");
    assert_eq!(outcomes(&l), outcomes(&b), "live steps against batch");
    assert!(
        outcomes(&l).iter().all(|(_, s)| s == "succeeded"),
        "{:?}",
        outcomes(&l)
    );
    let impact = |r: &serde_json::Value| {
        let i = &r["impacts"][0];
        (
            i["technique"].as_str().unwrap().to_string(),
            i["t_s"].as_f64().unwrap(),
        )
    };
    let (bt, lt) = (impact(&b), impact(&l));
    assert_eq!((bt.0.as_str(), lt.0.as_str()), ("T0880", "T0880"));
    // Real sockets answer in their own time: the write lands a few milliseconds apart.
    assert!(
        (bt.1 - lt.1).abs() < 2.0,
        "impact at {} s in batch, {} s live",
        bt.1,
        lt.1
    );
}

/// A speed this machine cannot hold: the terminal is told, results.json records the speed
/// achieved and the lag, and the run still ends at its duration, without harm to the
/// process. Real sockets answer in wall-clock time, which at this speed is minutes of
/// simulated time: the HMIs lose their view (T0815, then T0829), and results say so.
#[test]
fn a_speed_the_machine_cannot_hold_is_reported() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut live = Live::start(
        &repo_path("scenarios/water-treatment.toml"),
        &["--speed", "100000", "--duration", "3h"],
    );
    let (o, out) = live.wait(
        Duration::from_secs(60),
        "otrange live did not end after --duration",
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        // During the run, or at its end when the run is over before it can fall behind.
        (stdout.contains("WARNING: the plant runs at ") || stdout.contains("WARNING: the plant ran at "))
            && stdout.contains("against the 100000x asked")
            && stdout.contains("this machine cannot hold that speed"),
        "{stdout}"
    );
    let r = results(&out);
    let l = &r["live"];
    assert_eq!(l["requested_speed"], 100000.0);
    let achieved = l["achieved_speed"].as_f64().unwrap();
    assert!(achieved > 100.0 && achieved < 50_000.0, "achieved {achieved}x");
    assert!(l["warnings"].as_u64().unwrap() >= 1, "{l}");
    assert_eq!(
        r["duration_s"], 10800.0,
        "the run ends at its duration, not past it"
    );
    let impacts = r["impacts"].as_array().unwrap();
    assert!(
        impacts.iter().all(|i| i["limit"].is_null()),
        "a process limit was crossed: {impacts:#?}"
    );
    assert!(
        impacts
            .iter()
            .all(|i| i["technique"] == "T0815" || i["technique"] == "T0829"),
        "{impacts:#?}"
    );
}

#[test]
fn sigterm_writes_results_and_a_non_loopback_map_needs_a_flag() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut live = Live::start(&repo_path("scenarios/water-treatment.toml"), &["--speed", "10"]);
    std::thread::sleep(Duration::from_secs(2));
    let (o, out) = live.stop();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r = results(&out);
    assert_eq!(r["schema_version"], 1);
    assert!(
        r["duration_s"].as_f64().unwrap() > 10.0,
        "10x for 2 s: {}",
        r["duration_s"]
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("stopped after"));

    let dir = tempfile::tempdir().unwrap();
    let ex = exercise_with(
        dir.path(),
        "[live]\naddress_map = [{ from = \"10.0.0.0/8\", to = \"10.0.0.0/8\" }]\n",
    );
    let o = Command::new(OTRANGE)
        .arg("live")
        .arg(&ex)
        .arg("--out")
        .arg(dir.path().join("o"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not a loopback address") && err.contains("--allow-non-loopback"),
        "{err}"
    );
}

#[test]
fn a_policy_that_denies_the_visitors_path_stops_mbpoll_and_says_which_rule() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let purdue = repo_path("scenarios/policies/purdue.toml");
    let mut live = Live::start(
        &repo_path("scenarios/water-treatment.toml"),
        &["--policy", purdue.to_str().unwrap()],
    );
    // mbpoll connects from 127.0.0.1, no simulated host: the visitor's laptop in the
    // enterprise zone, which the Purdue policy keeps away from the control zone.
    let o = Command::new("mbpoll")
        .args([
            "-m", "tcp", "-a", "1", "-r", "1", "-c", "10", "-t", "4", "-1", "-o", "2", "-p",
        ])
        .arg(live.port.to_string())
        .arg(PLC_DOSING)
        .output()
        .expect("mbpoll");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !text.contains("[1]: \t100"),
        "mbpoll read the PLC through the policy:\n{text}"
    );
    assert!(
        text.contains("Connection reset") || text.contains("Connection refused") || !o.status.success(),
        "{text}"
    );
    std::thread::sleep(Duration::from_secs(1));
    let (o, out) = live.stop();
    assert_eq!(o.status.code(), Some(0));
    let blocked: Vec<serde_json::Value> = events(&out)
        .into_iter()
        .filter(|e| e["event"] == "frame_blocked")
        .collect();
    assert!(!blocked.is_empty(), "no frame_blocked event");
    let b = &blocked[0];
    assert_eq!(b["src"], "visitor-laptop");
    assert_eq!(b["dst"], "plc-dosing");
    assert_eq!(b["at"], "it-fw", "{b}");
    assert!(b["rule"].as_str().unwrap().starts_with("purdue:"), "{b}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("BLOCKED visitor-laptop -> plc-dosing"));
    // The plant's own HMIs, inside the control network, are unaffected.
    let r = results(&out);
    assert_eq!(r["policy"], "purdue");
    for h in r["hmis"].as_array().unwrap() {
        assert_eq!(h["timeouts"], 0, "{h}");
    }
}

#[test]
fn a_real_clients_read_raises_the_rules_alerts_in_the_terminal_and_the_event_log() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let det = repo_path("scenarios/detectors/plant-detection.toml");
    let mut live = Live::start(
        &repo_path("scenarios/water-treatment.toml"),
        &["--detectors", det.to_str().unwrap()],
    );
    // mbpoll on 127.0.0.1 is the visitor's laptop in the office: it does not poll, and it
    // is outside the OT networks.
    let o = Command::new("mbpoll")
        .args([
            "-m", "tcp", "-a", "1", "-r", "1", "-c", "2", "-t", "4", "-1", "-p",
        ])
        .arg(live.port.to_string())
        .arg(PLC_DOSING)
        .output()
        .expect("mbpoll (apt install mbpoll)");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Alerts reach the terminal as the simulation takes the frames in: give it a moment.
    std::thread::sleep(Duration::from_millis(500));
    let (o, out) = live.stop();
    let stdout = String::from_utf8_lossy(&o.stdout);
    for sig in [
        "ALERT [plant rules] Modbus read from a host that does not poll (visitor-laptop -> plc-dosing)",
        "ALERT [plant rules] Modbus from outside the OT networks (visitor-laptop -> plc-dosing)",
    ] {
        assert!(stdout.contains(sig), "no {sig:?} in:\n{stdout}");
    }
    let alerts: Vec<serde_json::Value> = events(&out)
        .into_iter()
        .filter(|e| e["event"] == "alert" && e["src"] == "visitor-laptop")
        .collect();
    let sids: std::collections::BTreeSet<u64> = alerts
        .iter()
        .map(|a| a["signature_id"].as_u64().unwrap())
        .collect();
    assert_eq!(sids, [2_111_008, 2_111_020].into_iter().collect());
}

/// The load generator, with and without its own busy polling, against a PLC whose server
/// does not busy-poll (`busy_poll = "0s"`): every read answered, none lost, whichever side
/// spins or sleeps between requests.
#[test]
fn loadgen_is_served_with_and_without_busy_polling_on_either_side() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let ex = exercise_with(
        dir.path(),
        "[live]\nexternal_host = \"visitor-laptop\"\nbusy_poll = \"0s\"\n",
    );
    let mut live = Live::start(&ex, &[]);
    let target = format!("{PLC_DOSING}:{}", live.port);
    for client_busy_poll in ["0s", "50us"] {
        let o = Command::new(LOADGEN)
            .args(["--target", &target, "--duration", "700ms", "--warmup", "100ms"])
            .args(["--busy-poll", client_busy_poll, "--json"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "otrange-loadgen --busy-poll {client_busy_poll}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert!(r["answered"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["errors"], 0, "{r}");
        assert_eq!(r["exceptions"], 0, "{r}");
    }
    let (o, _) = live.stop();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}

/// One HTTP/1.1 exchange with the console: status code and body.
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("the console listens");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The web console: the page loads in Chromium with no console message and shows the
/// plant's values changing; the API refuses controls without the token, malformed bodies
/// and unknown actions, and obeys the instructor's pause, resume and speed, which go to
/// events.jsonl; starting a playbook the exercise has not got is refused (409); a restart
/// with a new seed writes this run's outputs and starts a second run into `restart-1`.
#[test]
fn the_console_shows_the_plant_and_obeys_only_the_token() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const PORT: u16 = 18089;
    let mut live = Live::start(
        &repo_path("scenarios/water-treatment.toml"),
        &["--speed", "20", "--console", &format!("127.0.0.1:{PORT}")],
    );
    let token = live.console_token();
    assert_eq!(token.len(), 32);
    std::thread::sleep(Duration::from_millis(500));
    let view = |port| -> serde_json::Value {
        let (status, body) = http(port, "GET", "/api/view", "");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    let v = view(PORT);
    let names: Vec<&str> = v["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"naoh_dosing.concentration"), "{names:?}");
    assert_eq!(
        v["hosts"].as_array().unwrap().len(),
        42,
        "every host of the plant"
    );
    assert_eq!(v["speed"], 20.0);

    // Refused, and nothing changes.
    for (body, status, says) in [
        (
            r#"{"token":"0000","action":"pause"}"#.to_string(),
            403,
            "bad token",
        ),
        ("pause".to_string(), 400, "not a control"),
        (
            format!(r#"{{"token":"{token}","action":"explode"}}"#),
            400,
            "unknown action",
        ),
        (
            format!(r#"{{"token":"{token}","action":"speed","speed":-3}}"#),
            400,
            "speed must be",
        ),
    ] {
        let (got, reply) = http(PORT, "POST", "/api/control", &body);
        assert_eq!(got, status, "{body}: {reply}");
        assert!(reply.contains(says), "{body}: {reply}");
    }
    assert_eq!(view(PORT)["paused"], false);

    // Obeyed: paused, the plant's time stands still; resumed at 40x it runs on.
    let (got, _) = http(
        PORT,
        "POST",
        "/api/control",
        &format!(r#"{{"token":"{token}","action":"pause"}}"#),
    );
    assert_eq!(got, 200);
    std::thread::sleep(Duration::from_millis(400));
    let held = view(PORT);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(view(PORT)["t_s"], held["t_s"], "paused");
    assert_eq!(held["paused"], true);
    for body in [
        format!(r#"{{"token":"{token}","action":"resume"}}"#),
        format!(r#"{{"token":"{token}","action":"speed","speed":40}}"#),
    ] {
        assert_eq!(http(PORT, "POST", "/api/control", &body).0, 200);
    }
    std::thread::sleep(Duration::from_millis(600));
    let running = view(PORT);
    assert!(running["t_s"].as_f64() > held["t_s"].as_f64(), "resumed");
    assert_eq!(running["speed"], 40.0);

    // The page, as a browser shows it: values, hosts and no console message; a second look
    // a moment later shows the plant moved on.
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{PORT}/");
    let (dom, console) = common::browse(&url, &dir.path().join("console.png"), &[]);
    assert!(console.is_empty(), "console messages:\n{console}");
    assert!(
        dom.contains("naoh_dosing.concentration") && dom.contains("plc-dosing"),
        "{dom}"
    );
    assert_eq!(dom.matches(r#"<tr class="signal">"#).count(), names.len());
    common::not_blank(&dir.path().join("console.png"));
    let clock = |dom: &str| {
        dom.split(r#"<span id="time">"#)
            .nth(1)
            .map(|s| s[..8].to_string())
    };
    std::thread::sleep(Duration::from_millis(1500));
    let (later, _) = common::browse(&url, &dir.path().join("console-2.png"), &[]);
    assert_ne!(clock(&dom), clock(&later), "the plant's time moves on the page");

    // No playbook here: starting one is refused for the exercise's state.
    let (got, reply) = http(
        PORT,
        "POST",
        "/api/control",
        &format!(r#"{{"token":"{token}","action":"start"}}"#),
    );
    assert_eq!((got, reply.contains("no playbook")), (409, true), "{reply}");

    // Restart with a new seed: this run's outputs are written, the next run starts afresh.
    let (got, reply) = http(
        PORT,
        "POST",
        "/api/control",
        &format!(r#"{{"token":"{token}","action":"restart","seed":7}}"#),
    );
    assert_eq!(got, 200, "{reply}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v = view(PORT);
        if v["run"] == 1 {
            assert_eq!(v["seed"], 7);
            assert!(v["t_s"].as_f64().unwrap() < running["t_s"].as_f64().unwrap() + 60.0);
            break;
        }
        assert!(Instant::now() < deadline, "no second run: {v}");
        std::thread::sleep(Duration::from_millis(200));
    }

    let (o, out) = live.stop();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let actions: Vec<String> = events(&out)
        .iter()
        .filter(|e| e["event"] == "instructor_action")
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["pause", "resume", "speed 40", "restart with seed 7"]);
    assert_eq!(results(&out)["seed"], 1);
    let second = out.join("restart-1");
    assert_eq!(results(&second)["seed"], 7, "the new run's results");
    let printed = String::from_utf8_lossy(&o.stdout);
    assert!(
        printed.contains("restarting the exercise with seed 7"),
        "{printed}"
    );
}

/// The instructor runs the exercise from the page, in headless Chromium: a control without
/// the token is refused on the page; with it, the held Oldsmar playbook starts, its steps
/// turn to succeeded and the T0880 impact shows on the page and in events.jsonl; the
/// process diagram shows the dosing going beyond its limit; an ad-hoc technique runs
/// against a chosen target; each view is saved as a screenshot (kept under the target
/// directory) and checked not to be blank.
#[test]
fn the_instructor_starts_oldsmar_from_the_page_and_sees_it_happen() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    const PORT: u16 = 18091;
    const DRIVER: u16 = 18092;
    let dir = tempfile::tempdir().unwrap();
    let exercise = fast_oldsmar(dir.path());
    let detectors = repo_path("scenarios/detectors/plant-detection.toml");
    let mut live = Live::start(
        &exercise,
        &[
            "--speed",
            "10",
            "--detectors",
            detectors.to_str().unwrap(),
            "--console",
            &format!("127.0.0.1:{PORT}"),
        ],
    );
    let token = live.console_token();
    assert!(
        live.printed().contains("waits for the instructor"),
        "{}",
        live.printed()
    );
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let b = common::driver::Browser::start(DRIVER, 1400, 1100).await;
        let page = format!("http://127.0.0.1:{PORT}/");
        b.client.goto(&page).await.unwrap();
        let long = Duration::from_secs(60);
        b.wait_text("#playbook-state", long, |t| t == "not started").await;
        // Held: nothing starts by itself.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let steps = b.text("#steps tbody").await;
        assert_eq!(steps.matches("planned").count(), 4, "{steps}");

        // Without the token the page is told no, and the playbook stays held.
        b.click("#pb-start").await;
        b.wait_text("#message", long, |t| t.contains("refused: bad token")).await;
        assert_eq!(b.text("#playbook-state").await, "not started");

        // A process value as the drawing shows it, before the attack.
        let dosing = "#diagram [data-signal=\"naoh_dosing.concentration\"]";
        let before = b.wait_text(dosing, long, |t| t.ends_with("mg/l")).await;

        b.type_into("#token", &token).await;
        b.click("#pb-start").await;
        b.wait_text("#message", long, |t| t == "done: playbook start").await;
        // 100 s of plant time at 10x: the four steps and the impact within about 10 s.
        let steps = b
            .wait_text("#steps tbody", long, |t| t.matches("succeeded").count() == 4)
            .await;
        assert!(steps.contains("T0836"), "{steps}");
        let impacts = b.wait_text("#impacts", long, |t| t.contains("T0880")).await;
        assert!(impacts.contains("IMPACT"), "{impacts}");
        b.wait_text("#playbook-state", long, |t| t == "finished").await;
        // The value shown moved with the physics: NaOH well above its 120 mg/l band. The
        // impact fires as it crosses 200 mg/l, which the drawing may still show rounded to
        // "200.0" at that moment: wait for the next value the page draws.
        let mg = |t: &str| t.trim_end_matches(" mg/l").parse::<f64>().unwrap_or(0.0);
        let after = b
            .wait_text(dosing, long, |t| t.ends_with("mg/l") && mg(t) > 200.0)
            .await;
        assert!(
            mg(&before) < 130.0 && mg(&after) > 200.0,
            "NaOH shown {before} before, {after} after"
        );
        // The drawing flags the dosing point beyond its limit, and draws the tanks' levels.
        let flagged = b
            .client
            .execute(
                "return [...document.querySelectorAll('#diagram .beyond-limit')].map(e => e.dataset.state || e.dataset.component).join(' ')",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            flagged.as_str().unwrap_or("").contains("naoh_dosing"),
            "flagged on the diagram: {flagged}"
        );
        let fills = b
            .client
            .execute(
                "return [...document.querySelectorAll('#diagram [data-fill]')].filter(e => Number(e.getAttribute('height')) > 0).length",
                vec![],
            )
            .await
            .unwrap();
        assert!(fills.as_u64().unwrap_or(0) >= 3, "tank levels drawn: {fills}");

        // The network drawing: links carry the plant's polls, and the attacked PLC is
        // marked with the alerts its attack raised.
        let net = b
            .client
            .execute(
                "return [document.querySelectorAll('#netmap .link.busy').length, document.querySelector('#netmap [data-host=\"plc-dosing\"]').classList.contains('hot'), document.querySelector('#netmap [data-marks=\"plc-dosing\"]').textContent]",
                vec![],
            )
            .await
            .unwrap();
        assert!(net[0].as_u64().unwrap_or(0) >= 3, "busy links: {net}");
        assert_eq!(net[1], true, "plc-dosing marked: {net}");
        assert!(net[2].as_str().unwrap_or("").contains("alerts"), "{net}");

        // An ad-hoc red-team action against a chosen target.
        b.select("#adhoc-technique", "T0888").await;
        b.select("#adhoc-target", "plc-dosing").await;
        b.click("#adhoc-run").await;
        b.wait_text("#message", long, |t| t.starts_with("done: technique T0888 on plc-dosing"))
            .await;
        b.wait_text("#steps tbody", long, |t| t.matches("succeeded").count() == 5)
            .await;
        // A malformed ad-hoc request is refused with the reason.
        b.select("#adhoc-technique", "T0855").await;
        b.type_into("#adhoc-params", "value = ").await;
        b.click("#adhoc-run").await;
        b.wait_text("#message", long, |t| t.contains("refused: params are not TOML")).await;

        // Each view alone, as a screenshot.
        for view in ["process", "network", "exercise-view", "blue"] {
            b.client.goto(&format!("{page}#{view}")).await.unwrap();
            b.wait_text("#exercise", long, |t| t == "oldsmar, fast").await;
            // Only that view is shown (WebDriver reads no text from hidden elements).
            let shown = b
                .client
                .execute(
                    "return [...document.querySelectorAll('main section')].filter(s => s.offsetParent !== null).map(s => s.id).join(' ')",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(shown.as_str(), Some(view), "sections shown for #{view}");
            let png = b.client.screenshot().await.unwrap();
            let path = shots.join(format!("{view}.png"));
            std::fs::write(&path, png).unwrap();
            common::not_blank(&path);
        }
        b.client.clone().close().await.unwrap();
    });

    let (o, out) = live.stop();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let ev = events(&out);
    let ended: Vec<(u64, String)> = ev
        .iter()
        .filter(|e| e["event"] == "step_ended")
        .map(|e| {
            (
                e["step"].as_u64().unwrap(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        ended,
        (1..=5).map(|i| (i, "succeeded".to_string())).collect::<Vec<_>>()
    );
    assert!(
        ev.iter()
            .any(|e| e["event"] == "impact" && e["technique"] == "T0880"),
        "the impact in events.jsonl"
    );
    let actions: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "instructor_action")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["playbook start", "technique T0888 on plc-dosing (step 5)"]
    );
    // The playbook's first step started when the instructor started it, plus its `at`.
    let t = |kind: &str, pick: &dyn Fn(&serde_json::Value) -> bool| {
        ev.iter()
            .find(|e| e["event"] == kind && pick(e))
            .and_then(|e| e["t"].as_u64())
            .unwrap()
    };
    let started = t("instructor_action", &|_| true);
    let first = t("step_started", &|e| e["step"] == 1);
    assert!(
        (first - started).abs_diff(10_000_000_000) < 100_000_000,
        "step 1 at {first} ns, started at {started} ns"
    );
}
