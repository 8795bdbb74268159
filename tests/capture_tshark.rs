//! capture.pcap as Wireshark sees it: every Modbus frame the plant sends is dissected as
//! Modbus/TCP without complaint, the TCP streams are consistent (no retransmissions, gaps or
//! ACKs of unseen data), and the IT flows around the Modbus traffic are not malformed either.
//!
//! Needs `tshark` on PATH; without it these tests fail rather than pass silently.

mod common;

use common::{run_reference_ok, tshark_read};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// tshark as strict as it gets: reassembly on, sequence analysis and every checksum checked.
const STRICT: [&str; 11] = [
    "-n",
    "-o",
    "tcp.desegment_tcp_streams:TRUE",
    "-o",
    "tcp.analyze_sequence_numbers:TRUE",
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "ip.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
];

/// Frames with a problem of any kind.
const PROBLEM: &str = "(tcp.analysis.flags || _ws.malformed || _ws.expert.severity >= warning)";

/// Runs tshark on `pcap` with the strict options and `args`; returns stdout.
fn tshark(pcap: &Path, args: &[&str]) -> String {
    let mut all = STRICT.to_vec();
    all.extend_from_slice(args);
    tshark_read(pcap, &all)
}

/// Summary lines (number, time, addresses, protocol, info) of the frames matching `filter`.
fn frames(pcap: &Path, filter: &str) -> Vec<String> {
    tshark(pcap, &["-Y", filter])
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

fn count(pcap: &Path, filter: &str) -> usize {
    frames(pcap, filter).len()
}

/// The first lines of a frame list, for failure messages.
fn head(lines: &[String]) -> String {
    let mut s = lines.iter().take(30).cloned().collect::<Vec<_>>().join("\n");
    if lines.len() > 30 {
        s.push_str(&format!("\n... and {} more", lines.len() - 30));
    }
    s
}

/// `tshark -z expert` restricted to warnings and errors of the frames matching `filter`:
/// empty when there are none, else the report.
fn expert_warnings(pcap: &Path, filter: &str) -> String {
    let report = tshark(pcap, &["-q", "-z", &format!("expert,warn,{filter}")]);
    let flagged = report
        .lines()
        .any(|l| l.starts_with("Errors (") || l.starts_with("Warns ("));
    if flagged { report } else { String::new() }
}

/// Asserts that no frame matching `filter` has a problem, showing the offenders otherwise.
fn assert_clean(pcap: &Path, what: &str, filter: &str) {
    let bad = frames(pcap, &format!("({filter}) && {PROBLEM}"));
    assert!(
        bad.is_empty(),
        "{} {what} frames flagged by tshark (malformed, expert warning or TCP analysis):\n{}",
        bad.len(),
        head(&bad)
    );
    let report = expert_warnings(pcap, filter);
    assert!(
        report.is_empty(),
        "tshark expert info has warnings or errors on {what} frames:\n{report}"
    );
}

/// A capture of the reference plant, made once per test binary and kept under Cargo's
/// scratch directory for integration tests (overwritten by the next run), so a failure can be
/// inspected with Wireshark.
fn capture(duration: &'static str, cell: &'static OnceLock<PathBuf>) -> &'static Path {
    cell.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("capture_tshark-{duration}"));
        run_reference_ok(&dir, &["--duration", duration, "--pcap"]);
        dir.join("capture.pcap")
    })
}

/// Two minutes: every HMI and historian poll cycle, a few thousand Modbus frames.
fn two_minutes() -> &'static Path {
    static CELL: OnceLock<PathBuf> = OnceLock::new();
    capture("2m", &CELL)
}

/// An hour: long enough for the rarer IT services (Kerberos, historian mirroring) to appear.
fn one_hour() -> &'static Path {
    static CELL: OnceLock<PathBuf> = OnceLock::new();
    capture("1h", &CELL)
}

#[test]
fn every_modbus_segment_is_dissected_as_modbus_tcp() {
    let pcap = two_minutes();
    let payload = count(pcap, "tcp.port == 502 && tcp.len > 0");
    let mbtcp = count(pcap, "mbtcp");
    assert!(
        payload > 1000,
        "only {payload} Modbus data segments in two minutes"
    );
    let undissected = frames(pcap, "tcp.port == 502 && tcp.len > 0 && !mbtcp");
    assert!(
        payload == mbtcp && undissected.is_empty(),
        "{payload} data segments on port 502 but {mbtcp} Modbus/TCP frames; not dissected:\n{}",
        head(&undissected)
    );
    // Nothing but Modbus travels on port 502, and no Modbus elsewhere.
    assert_eq!(
        count(pcap, "mbtcp && !(tcp.port == 502)"),
        0,
        "Modbus/TCP off port 502"
    );
    // Every response follows a request with the same transaction id on the same connection,
    // so Wireshark pairs them.
    let responses = count(pcap, "mbtcp && tcp.srcport == 502");
    let unpaired = frames(pcap, "mbtcp && tcp.srcport == 502 && !modbus.request_frame");
    assert!(responses > 500, "only {responses} Modbus responses");
    assert!(
        unpaired.is_empty(),
        "{} Modbus responses Wireshark cannot pair with a request:\n{}",
        unpaired.len(),
        head(&unpaired)
    );
    // A benign plant gets no exception answers.
    let exceptions = frames(pcap, "modbus.exception_code");
    assert!(
        exceptions.is_empty(),
        "Modbus exceptions in benign operation:\n{}",
        head(&exceptions)
    );
}

#[test]
fn modbus_frames_are_not_malformed() {
    assert_clean(two_minutes(), "Modbus", "tcp.port == 502");
}

#[test]
fn tcp_streams_have_no_analysis_flags() {
    let pcap = two_minutes();
    let flagged = frames(pcap, "tcp.analysis.flags");
    assert!(
        flagged.is_empty(),
        "{} frames with TCP analysis flags (retransmission, out-of-order, lost segment, ACKed unseen...):\n{}",
        flagged.len(),
        head(&flagged)
    );
    // Connections open with a handshake, so the analysis above had streams to follow.
    assert!(
        count(
            pcap,
            "tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 502"
        ) >= 6
    );
}

/// Server ports of the connections and datagrams in a capture.
fn server_ports(pcap: &Path) -> Vec<u16> {
    let mut ports: Vec<u16> = tshark(
        pcap,
        &[
            "-Y",
            "(tcp.flags.syn == 1 && tcp.flags.ack == 0) || udp",
            "-T",
            "fields",
            "-e",
            "tcp.dstport",
            "-e",
            "udp.dstport",
        ],
    )
    .split_whitespace()
    .filter_map(|p| p.parse().ok())
    .filter(|p| *p < 49152)
    .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

#[test]
fn it_tcp_flows_are_not_malformed() {
    let pcap = one_hour();
    let ports = server_ports(pcap);
    for p in [443, 445, 88, 5450] {
        assert!(
            ports.contains(&p),
            "no flow to port {p} in an hour (ports seen: {ports:?})"
        );
    }
    assert_clean(pcap, "non-Modbus TCP", "tcp && !(tcp.port == 502)");
}

#[test]
fn dns_flows_are_not_malformed() {
    let pcap = one_hour();
    assert!(server_ports(pcap).contains(&53), "no DNS in an hour");
    assert_clean(pcap, "UDP (DNS)", "udp");
}
