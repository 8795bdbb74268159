//! End-to-end check: write captures with `PcapWriter` and let tshark judge them.
//!
//! These tests need `tshark` on `PATH`; without it they fail (never silently pass), because the
//! whole point of the writer is that Wireshark accepts its output.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;

use otrange_sim::net::pcap::{Endpoint, PcapWriter};

const SEC: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;

fn ep(ip: [u8; 4], port: u16) -> Endpoint {
    Endpoint { ip, port }
}

/// Run tshark with `args`, returning stdout; panics with a clear message if tshark is missing
/// or fails (e.g. a display filter it cannot parse).
fn tshark(args: &[&str]) -> String {
    let out = match Command::new("tshark").args(args).output() {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "tshark is not installed (or not on PATH); this test needs it to validate the \
             capture: apt-get install -y tshark"
        ),
        Err(e) => panic!("failed to run tshark: {e}"),
    };
    assert!(
        out.status.success(),
        "tshark {args:?} failed with {}:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("tshark output is UTF-8")
}

/// Options that make tshark as strict as possible: sequence analysis and all checksums on.
const STRICT: [&str; 8] = [
    "-o",
    "tcp.analyze_sequence_numbers:TRUE",
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "ip.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
];

/// Frames tshark flags with TCP analysis flags, malformed packets, or expert items of warning
/// severity or worse, one line per frame (`number  info`).
fn problems(file: &Path, extra_filter: &str) -> String {
    let filter =
        format!("(tcp.analysis.flags || _ws.malformed || _ws.expert.severity >= warning){extra_filter}");
    let mut args = vec!["-r", file.to_str().unwrap(), "-n"];
    args.extend(STRICT);
    args.extend([
        "-Y",
        &filter,
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "_ws.col.Info",
    ]);
    tshark(&args)
}

fn capture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// Modbus/TCP ADU: MBAP header (transaction id, protocol 0, length, unit id) + PDU.
fn adu(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(7 + pdu.len());
    v.extend_from_slice(&tid.to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
    v.push(unit);
    v.extend_from_slice(pdu);
    v
}

/// Read holding registers request and its response for `count` registers at `addr`.
fn read_holding(tid: u16, addr: u16, count: u16) -> (Vec<u8>, Vec<u8>) {
    let mut req = vec![0x03];
    req.extend_from_slice(&addr.to_be_bytes());
    req.extend_from_slice(&count.to_be_bytes());
    let mut resp = vec![0x03, (count * 2) as u8];
    for r in 0..count {
        resp.extend_from_slice(&(addr + r).wrapping_mul(37).to_be_bytes());
    }
    (adu(tid, 1, &req), adu(tid, 1, &resp))
}

/// Write multiple registers request and its response.
fn write_multiple(tid: u16, addr: u16, values: &[u16]) -> (Vec<u8>, Vec<u8>) {
    let n = values.len() as u16;
    let mut req = vec![0x10];
    req.extend_from_slice(&addr.to_be_bytes());
    req.extend_from_slice(&n.to_be_bytes());
    req.push((n * 2) as u8);
    for v in values {
        req.extend_from_slice(&v.to_be_bytes());
    }
    let mut resp = vec![0x10];
    resp.extend_from_slice(&addr.to_be_bytes());
    resp.extend_from_slice(&n.to_be_bytes());
    (adu(tid, 1, &req), adu(tid, 1, &resp))
}

/// A DNS A query for `name` (`answer: None`) or its response with one A record.
fn dns(id: u16, name: &str, answer: Option<[u8; 4]>) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    let flags: u16 = if answer.is_some() { 0x8180 } else { 0x0100 };
    v.extend_from_slice(&flags.to_be_bytes());
    v.extend_from_slice(&[0, 1, 0, u8::from(answer.is_some()), 0, 0, 0, 0]);
    for label in name.split('.') {
        v.push(label.len() as u8);
        v.extend_from_slice(label.as_bytes());
    }
    v.extend_from_slice(&[0, 0, 1, 0, 1]);
    if let Some(ip) = answer {
        v.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
        v.extend_from_slice(&ip);
    }
    v
}

fn http_response(body_len: usize) -> Vec<u8> {
    let mut v = format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body_len}\r\n\r\n")
        .into_bytes();
    v.extend((0..body_len).map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789\n"[i % 37]));
    v
}

#[test]
fn plant_capture_is_clean_in_tshark() {
    let path = capture_path("plant.pcap");
    let file = BufWriter::new(File::create(&path).unwrap());
    let mut w = PcapWriter::new(file).unwrap();

    // 20 HMI/historian -> PLC Modbus connections: 4 clients, 20 PLCs.
    let pairs: Vec<(Endpoint, Endpoint)> = (0..20u8)
        .map(|i| {
            let client = ep([10, 10, 1, 10 + i % 4], 49152 + u16::from(i));
            let plc = ep([10, 10, 2, 1 + i], 502);
            (client, plc)
        })
        .collect();
    let mut expected_modbus = BTreeSet::new();
    let mut modbus_messages = 0usize;
    let web_client = ep([10, 20, 0, 5], 51000);
    let web_server = ep([10, 20, 0, 80], 80);
    let dns_client = ep([10, 20, 0, 5], 53000);
    let dns_server = ep([10, 20, 0, 53], 53);
    let syslog = (ep([10, 10, 2, 1], 514), ep([10, 20, 0, 9], 514));

    let mut t = 1_700_000_000 * SEC;
    let mut tid = 1u16;
    for round in 0..8u64 {
        // All requests go out first, then responses come back in reverse order, so every
        // connection has an outstanding request while others are active.
        let mut exchanges = Vec::new();
        for (i, &(client, plc)) in pairs.iter().enumerate() {
            let (req, resp) = if (i as u64 + round).is_multiple_of(3) {
                write_multiple(tid, 100, &[1, 2, 3, u16::try_from(round).unwrap()])
            } else {
                read_holding(tid, 0, 10)
            };
            tid += 1;
            t += 50_000;
            expected_modbus.extend(w.tcp_payload(t, client, plc, &req).unwrap());
            exchanges.push((client, plc, resp));
        }
        for (client, plc, resp) in exchanges.into_iter().rev() {
            t += 120_000;
            expected_modbus.extend(w.tcp_payload(t, plc, client, &resp).unwrap());
        }
        modbus_messages += 2 * pairs.len();

        // IT traffic interleaved with the polling.
        match round {
            1 => {
                let q = dns(0x1234, "historian.plant.local", None);
                w.udp_payload(t + MS, dns_client, dns_server, &q).unwrap();
                let a = dns(0x1234, "historian.plant.local", Some([10, 10, 3, 4]));
                w.udp_payload(t + 2 * MS, dns_server, dns_client, &a).unwrap();
            }
            2 => {
                let get = b"GET /report.txt HTTP/1.1\r\nHost: historian\r\n\r\n";
                w.tcp_payload(t + MS, web_client, web_server, get).unwrap();
                let frames = w
                    .tcp_payload(t + 3 * MS, web_server, web_client, &http_response(4000))
                    .unwrap();
                assert_eq!(frames.len(), 3, "4000+ bytes split into 3 segments");
            }
            3 => {
                // Large body: forces window ACKs from the client.
                let get = b"GET /trend.csv HTTP/1.1\r\nHost: historian\r\n\r\n";
                w.tcp_payload(t + MS, web_client, web_server, get).unwrap();
                w.tcp_payload(t + 9 * MS, web_server, web_client, &http_response(200_000))
                    .unwrap();
            }
            4 => {
                let mut msg = b"<134>Jan  1 00:00:00 plc1 alarm dump: ".to_vec();
                msg.extend(std::iter::repeat_n(b'x', 3000));
                w.udp_payload(t + MS, syslog.0, syslog.1, &msg).unwrap();
                // Two hours of silence before the next poll round: no keep-alive artefacts.
                t += 2 * 3600 * SEC;
            }
            _ => {}
        }
        t += 250 * MS;
    }
    let total = w.frames_written();
    w.finish(t + SEC).unwrap();
    assert_eq!(expected_modbus.len(), modbus_messages);

    // Every Modbus message is dissected as Modbus/TCP, in exactly the frames we were told.
    let path_s = path.to_str().unwrap();
    let mut args = vec!["-r", path_s, "-n"];
    args.extend(STRICT);
    args.extend(["-Y", "mbtcp", "-T", "fields", "-e", "frame.number"]);
    let out = tshark(&args);
    let dissected: BTreeSet<u64> = out.lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(dissected, expected_modbus);
    println!("tshark -Y mbtcp: {} frames", dissected.len());
    let modbus_pdus = tshark(&[
        "-r",
        path_s,
        "-n",
        "-Y",
        "modbus",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    assert_eq!(
        modbus_pdus.lines().count(),
        modbus_messages,
        "every ADU has a Modbus PDU"
    );

    // No TCP analysis flags, malformed packets, or warnings anywhere.
    let bad = problems(&path, "");
    println!("problem filter output: {bad:?}");
    assert!(bad.is_empty(), "tshark flagged frames:\n{bad}");

    // The DNS and the reassembled syslog datagram dissect as such.
    let dns_frames = tshark(&[
        "-r",
        path_s,
        "-Y",
        "dns.a == 10.10.3.4",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    assert_eq!(dns_frames.lines().count(), 1);
    let syslog_frames = tshark(&["-r", path_s, "-Y", "syslog", "-T", "fields", "-e", "frame.number"]);
    assert_eq!(syslog_frames.lines().count(), 1);
    let http = tshark(&[
        "-r",
        path_s,
        "-Y",
        "http.response.code == 200",
        "-T",
        "fields",
        "-e",
        "http.content_length",
    ]);
    assert_eq!(http.lines().collect::<Vec<_>>(), vec!["4000", "200000"]);

    let conv = tshark(&["-r", path_s, "-n", "-q", "-z", "conv,tcp"]);
    println!("{conv}");
    let conversations = conv.lines().filter(|l| l.contains("<->")).count();
    assert_eq!(conversations, 21, "20 Modbus + 1 HTTP conversation");
    let frame_count = tshark(&["-r", path_s, "-T", "fields", "-e", "frame.number"])
        .lines()
        .count();
    assert!(frame_count as u64 > total);
}

#[test]
fn refused_and_reused_connections() {
    let path = capture_path("scan.pcap");
    let mut w = PcapWriter::new(BufWriter::new(File::create(&path).unwrap())).unwrap();
    let scanner = ep([10, 99, 0, 66], 40000);
    let target = [10, 10, 2, 1];
    let mut t = 1_700_000_000 * SEC;
    for port in [21, 22, 23, 80, 443, 3389] {
        t += MS;
        w.tcp_refused(t, scanner, ep(target, port)).unwrap();
    }
    // Open port: a full exchange, closed explicitly.
    let (req, resp) = read_holding(1, 0, 10);
    w.tcp_payload(t + MS, scanner, ep(target, 502), &req).unwrap();
    w.tcp_payload(t + 2 * MS, ep(target, 502), scanner, &resp)
        .unwrap();
    assert!(w.tcp_close(t + 3 * MS, scanner, ep(target, 502)).unwrap());
    // Server-speaks-first protocol: explicit connect, then the banner from the server.
    let ssh_client = ep([10, 20, 0, 5], 51500);
    let ssh_server = ep([10, 20, 0, 22], 22);
    w.tcp_connect(t + 4 * MS, ssh_client, ssh_server).unwrap();
    w.tcp_payload(t + 5 * MS, ssh_server, ssh_client, b"SSH-2.0-OpenSSH_9.2p1\r\n")
        .unwrap();
    w.tcp_payload(t + 6 * MS, ssh_client, ssh_server, b"SSH-2.0-OpenSSH_9.6\r\n")
        .unwrap();
    w.finish(t + SEC).unwrap();

    // Only the six RSTs are flagged, with Wireshark's "Connection reset" warning; nothing else.
    let bad = problems(&path, "");
    println!("problem filter output: {bad:?}");
    let rst = tshark(&[
        "-r",
        path.to_str().unwrap(),
        "-Y",
        "tcp.flags.reset == 1",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    let flagged: Vec<&str> = bad.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(flagged, rst.lines().collect::<Vec<_>>());
    assert_eq!(flagged.len(), 6);
    assert!(problems(&path, " && !(tcp.flags.reset == 1)").is_empty());
    let ssh = tshark(&[
        "-r",
        path.to_str().unwrap(),
        "-Y",
        "ssh.protocol",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    assert_eq!(ssh.lines().count(), 2);
}
