//! Helpers shared by the integration tests: paths inside the repository, running the
//! `otrange` binary, and reading what a run wrote.

// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

pub(crate) mod driver;
pub(crate) mod incident;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `otrange` binary Cargo built for these tests.
pub(crate) const OTRANGE: &str = env!("CARGO_BIN_EXE_otrange");

/// A path relative to the repository root.
pub(crate) fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The reference exercise: the water treatment works in benign operation.
pub(crate) fn reference_exercise() -> PathBuf {
    repo_path("scenarios/water-treatment.toml")
}

/// A file under `tests/fixtures/`.
pub(crate) fn fixture(rel: &str) -> PathBuf {
    repo_path("tests/fixtures").join(rel)
}

/// Runs `otrange` with `args` and returns what it did, whatever the exit code.
pub(crate) fn otrange<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(OTRANGE)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {OTRANGE}: {e}"))
}

/// `otrange run <exercise> --out <out> <extra...>`.
pub(crate) fn run_exercise(exercise: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("run"),
        exercise.as_os_str(),
        OsStr::new("--out"),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    otrange(args)
}

/// Runs the reference exercise into `out` and asserts it exited with code 0.
pub(crate) fn run_reference_ok(out: &Path, extra: &[&str]) -> Output {
    let o = run_exercise(&reference_exercise(), out, extra);
    assert_eq!(
        o.status.code(),
        Some(0),
        "otrange run {extra:?} failed:\n{}",
        describe(&o)
    );
    o
}

/// Exit status, stdout and stderr of a finished command, for assertion messages.
pub(crate) fn describe(o: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Reads a JSON file a run wrote.
pub(crate) fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Reads a file a run wrote, as bytes.
pub(crate) fn read_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `otrange run` that may fail its expectations (exit 1) but must run; returns results.json.
pub(crate) fn run_results(exercise: &Path, out: &Path, extra: &[&str]) -> serde_json::Value {
    let o = run_exercise(exercise, out, extra);
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "otrange run failed:\n{}",
        describe(&o)
    );
    read_json(&out.join("results.json"))
}

/// The status of every playbook step, in order.
pub(crate) fn step_statuses(r: &serde_json::Value) -> Vec<String> {
    r["steps"]
        .as_array()
        .expect("results.json has steps")
        .iter()
        .map(|s| s["status"].as_str().expect("a step has a status").to_string())
        .collect()
}

/// Runs `tshark -r <pcap> <args...>` and returns what it printed; a missing tshark or a
/// failed run stops the test with a message saying so.
pub(crate) fn tshark_read(pcap: &Path, args: &[&str]) -> String {
    let out = match Command::new("tshark").arg("-r").arg(pcap).args(args).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("tshark is not installed (or not on PATH); this test needs it: apt-get install -y tshark")
        }
        Err(e) => panic!("cannot run tshark: {e}"),
    };
    assert!(
        out.status.success(),
        "tshark -r {} {args:?} failed with {}:\n{}",
        pcap.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tshark prints UTF-8")
}

/// Runs only the first cell of a shipped sweep (`--shard 1/N`, N its cell count, which
/// the shard's sweep.json must confirm) and returns that sweep.json: the whole sweep loads
/// and is checked, one cell runs.
pub(crate) fn first_cell_of_sweep(rel: &str, cells: usize) -> serde_json::Value {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sweep");
    let o = otrange([
        "sweep".as_ref(),
        repo_path(rel).as_os_str(),
        "--shard".as_ref(),
        format!("1/{cells}").as_ref(),
        "--out".as_ref(),
        out.as_os_str(),
    ] as [&OsStr; 6]);
    assert_eq!(o.status.code(), Some(0), "{}", describe(&o));
    let s = read_json(&out.join("sweep.json"));
    assert_eq!(s["cells_total"], cells);
    s
}

/// Loads `url` in headless Chromium (Debian's `chromium`, which `.ci/run` installs): the
/// DOM it rendered, after a screenshot saved to `screenshot`, and whatever the page logged
/// on its console. `extra` goes to both runs (`--virtual-time-budget=3000` lets a live page
/// receive its first updates).
pub(crate) fn browse(url: &str, screenshot: &Path, extra: &[&str]) -> (String, String) {
    let chromium = |args: &[&str]| {
        // A page that never finishes loading must fail the test, not hang it.
        Command::new("timeout")
            .args([
                "60",
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .args(extra)
            .args(args)
            .arg(url)
            .output()
            .expect("chromium runs (apt-get install chromium; .ci/run installs it)")
    };
    let dom = chromium(&["--dump-dom"]);
    assert!(dom.status.success(), "{}", describe(&dom));
    let shot = chromium(&[
        "--window-size=1200,1600",
        &format!("--screenshot={}", screenshot.display()),
    ]);
    assert!(shot.status.success(), "{}", describe(&shot));
    let console: String = [&dom.stderr, &shot.stderr]
        .iter()
        .flat_map(|e| {
            String::from_utf8_lossy(e)
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|l| l.contains(":CONSOLE"))
        .collect::<Vec<_>>()
        .join("\n");
    (String::from_utf8_lossy(&dom.stdout).into_owned(), console)
}

/// A PNG that is more than one colour: its decompressed pixel rows hold many byte values.
pub(crate) fn not_blank(png: &Path) {
    let script = "import sys, zlib\n\
                  d = open(sys.argv[1], 'rb').read()\n\
                  i, idat = 8, b''\n\
                  while i < len(d):\n\
                  \u{20}   n = int.from_bytes(d[i:i+4], 'big'); t = d[i+4:i+8]\n\
                  \u{20}   if t == b'IDAT': idat += d[i+8:i+8+n]\n\
                  \u{20}   i += 12 + n\n\
                  print(len(set(zlib.decompress(idat))))";
    let o = Command::new("python3")
        .args(["-c", script, png.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    assert!(o.status.success(), "{}", describe(&o));
    let distinct: usize = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    assert!(
        distinct > 50,
        "the screenshot looks blank: {distinct} distinct byte values"
    );
}
