//! Reading captures for the detectors: pcap and pcapng records, TCP reassembly and MBAP
//! framing, proven on captures built here byte by byte (Ethernet/IPv4/TCP by `etherparse`,
//! files by `pcap-file`), so each case shows exactly one thing TCP can do to Modbus.

use etherparse::PacketBuilder;
use otrange_defenses::capture::{CaptureError, CaptureFile, CaptureStats, collect_hosts, replay};
use otrange_sim::net::Payload;
use otrange_sim::net::topology::{Role, Service};
use pcap_file::DataLink;
use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::path::Path;
use std::time::Duration;

const CLIENT: [u8; 4] = [10, 0, 0, 57];
const SERVER: [u8; 4] = [10, 0, 0, 3];
const CPORT: u16 = 2578;
const CISN: u32 = 1000;
const SISN: u32 = 5000;

/// One packet of the test conversation.
struct Pkt {
    to_server: bool,
    seq: u32,
    ack: Option<u32>,
    syn: bool,
    fin: bool,
    payload: Vec<u8>,
}

fn data(to_server: bool, seq: u32, payload: &[u8]) -> Pkt {
    Pkt {
        to_server,
        seq,
        ack: None,
        syn: false,
        fin: false,
        payload: payload.to_vec(),
    }
}

/// Client to server, `off` bytes after the handshake.
fn c(off: u32, payload: &[u8]) -> Pkt {
    data(true, CISN + 1 + off, payload)
}
/// Server to client.
fn s(off: u32, payload: &[u8]) -> Pkt {
    data(false, SISN + 1 + off, payload)
}

/// The three-way handshake.
fn handshake() -> Vec<Pkt> {
    vec![
        Pkt {
            to_server: true,
            seq: CISN,
            ack: None,
            syn: true,
            fin: false,
            payload: vec![],
        },
        Pkt {
            to_server: false,
            seq: SISN,
            ack: Some(CISN + 1),
            syn: true,
            fin: false,
            payload: vec![],
        },
        Pkt {
            to_server: true,
            seq: CISN + 1,
            ack: Some(SISN + 1),
            syn: false,
            fin: false,
            payload: vec![],
        },
    ]
}

/// The Ethernet frame of a packet.
fn ethernet(p: &Pkt) -> Vec<u8> {
    let (sa, da, sp, dp) = if p.to_server {
        (CLIENT, SERVER, CPORT, 502)
    } else {
        (SERVER, CLIENT, 502, CPORT)
    };
    let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(sa, da, 64)
        .tcp(sp, dp, p.seq, 64240);
    if p.syn {
        b = b.syn();
    }
    if p.fin {
        b = b.fin();
    }
    if let Some(a) = p.ack {
        b = b.ack(a);
    }
    let mut out = Vec::new();
    b.write(&mut out, &p.payload).expect("packet builds");
    out
}

/// A pcap file of the packets, one per millisecond.
fn pcap(packets: &[Pkt]) -> Vec<u8> {
    let frames: Vec<Vec<u8>> = packets.iter().map(ethernet).collect();
    pcap_of(&frames, |_| None)
}

/// A pcap file of raw Ethernet frames; `orig_len` may claim more bytes than were captured.
fn pcap_of(frames: &[Vec<u8>], orig_len: impl Fn(usize) -> Option<u32>) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new()).expect("pcap header");
    for (i, f) in frames.iter().enumerate() {
        let len = orig_len(i).unwrap_or(f.len() as u32);
        let t = Duration::from_millis(1_000_000 + i as u64);
        w.write_packet(&PcapPacket::new(t, len, f)).expect("record");
    }
    w.into_writer()
}

/// A Modbus read-holding-registers request (12 bytes) with transaction id `tid`.
fn read_req(tid: u16) -> Vec<u8> {
    let t = tid.to_be_bytes();
    vec![t[0], t[1], 0, 0, 0, 6, 1, 3, 0, 0, 0, 2]
}

/// What a replay handed the detectors: (frame number, bytes) of Modbus frames, and the figures.
fn run(bytes: Vec<u8>) -> (Vec<(u64, Vec<u8>)>, CaptureStats) {
    let file = CaptureFile::from_bytes(Path::new("test.pcap"), bytes).expect("a capture");
    let hosts = collect_hosts(&file).build().expect("hosts");
    let mut frames = Vec::new();
    let stats = replay(&file, &hosts, &mut |f, now| {
        assert_eq!(f.sent_at, now);
        if let Payload::Modbus(b) = &f.payload {
            assert_eq!(f.service, Service::Modbus);
            frames.push((f.id.0, b.to_vec()));
        }
    });
    (frames, stats)
}

#[test]
fn two_adus_in_one_segment_are_two_frames() {
    let mut p = handshake();
    p.push(c(0, &[read_req(1), read_req(2)].concat()));
    let (frames, st) = run(pcap(&p));
    assert_eq!(frames, vec![(4, read_req(1)), (4, read_req(2))]);
    assert_eq!(
        (st.modbus.adus, st.modbus.requests, st.modbus.non_modbus_units),
        (2, 2, 0)
    );
}

#[test]
fn an_adu_split_across_three_segments_is_one_frame_numbered_by_the_last() {
    let adu = read_req(7);
    let mut p = handshake();
    p.push(c(0, &adu[..3]));
    p.push(c(3, &adu[3..8]));
    p.push(c(8, &adu[8..]));
    let (frames, st) = run(pcap(&p));
    assert_eq!(frames, vec![(6, adu)]);
    assert_eq!(st.modbus.non_modbus_units, 0);
}

#[test]
fn a_retransmitted_segment_gives_no_duplicate_and_is_counted() {
    let mut p = handshake();
    p.push(c(0, &read_req(1)));
    p.push(c(0, &read_req(1))); // retransmission
    p.push(c(12, &read_req(2)));
    let (frames, st) = run(pcap(&p));
    assert_eq!(frames, vec![(4, read_req(1)), (6, read_req(2))]);
    assert_eq!(st.reassembly.retransmitted_segments, 1);
    assert_eq!(st.reassembly.retransmitted_bytes, 12);
}

#[test]
fn out_of_order_segments_come_out_in_stream_order() {
    let mut p = handshake();
    p.push(c(12, &read_req(2))); // frame 4 arrives before frame 5's bytes
    p.push(c(24, &read_req(3)));
    p.push(c(0, &read_req(1)));
    let (frames, st) = run(pcap(&p));
    let tids: Vec<u8> = frames.iter().map(|(_, b)| b[1]).collect();
    assert_eq!(tids, vec![1, 2, 3]);
    // Each ADU keeps the number of the packet that carried its bytes.
    assert_eq!(frames.iter().map(|f| f.0).collect::<Vec<_>>(), vec![6, 4, 5]);
    assert_eq!(st.reassembly.out_of_order_segments, 2);
    assert_eq!(st.reassembly.gaps, 0);
}

#[test]
fn non_modbus_bytes_on_502_are_reported_and_later_adus_still_decoded() {
    let http = b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n".to_vec();
    let mut p = handshake();
    p.push(c(0, &read_req(1)));
    p.push(c(12, &http));
    p.push(c(12 + http.len() as u32, &read_req(2)));
    let (frames, st) = run(pcap(&p));
    assert_eq!(st.modbus.non_modbus_units, 1);
    assert_eq!(st.modbus.non_modbus_bytes, http.len() as u64);
    let nm = &st.modbus.non_modbus[0];
    assert_eq!(nm.frame, 5);
    assert_eq!(nm.connection, "10.0.0.57:2578 -> 10.0.0.3:502");
    assert_eq!(nm.direction, "request");
    // Detectors see the bytes too (as a Modbus payload that is not a valid ADU).
    assert_eq!(frames, vec![(4, read_req(1)), (5, http), (6, read_req(2))]);
    assert_eq!(st.modbus.adus, 2);
}

#[test]
fn a_bad_length_is_not_modbus_and_discards_what_was_buffered() {
    // Three bytes of an unfinished ADU, then a header with length 0x8804 (the Quickdraw
    // oversized frame): everything buffered goes out as one non-Modbus unit.
    let mut p = handshake();
    p.push(c(0, &[0, 1, 0]));
    p.push(c(3, &[0, 0x88, 0x04, 1, 2, 3]));
    p.push(c(9, &read_req(9)));
    let (frames, st) = run(pcap(&p));
    assert_eq!(frames[0], (5, vec![0, 1, 0, 0, 0x88, 0x04, 1, 2, 3]));
    assert_eq!(frames[1], (6, read_req(9)));
    assert_eq!(st.modbus.non_modbus_units, 1);
}

#[test]
fn a_segment_the_capture_missed_is_a_gap_once_the_receiver_acks_past_it() {
    let mut p = handshake();
    p.push(c(0, &read_req(1)));
    // c(12, read_req(2)) was never captured; the server acknowledges it anyway.
    p.push(c(24, &read_req(3)));
    let mut ack = s(0, &[]);
    ack.ack = Some(CISN + 1 + 36);
    p.push(ack);
    p.push(c(36, &read_req(4)));
    let (frames, st) = run(pcap(&p));
    let tids: Vec<u8> = frames.iter().map(|(_, b)| b[1]).collect();
    assert_eq!(tids, vec![1, 3, 4]);
    assert_eq!((st.reassembly.gaps, st.reassembly.gap_bytes), (1, 12));
}

#[test]
fn responses_come_from_the_server_side_and_hosts_come_from_addresses() {
    let mut p = handshake();
    p.push(c(0, &read_req(1)));
    p.push(s(0, &[0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2]));
    let bytes = pcap(&p);
    let (_, st) = run(bytes.clone());
    assert_eq!((st.modbus.requests, st.modbus.responses), (1, 1));
    let file = CaptureFile::from_bytes(Path::new("t.pcap"), bytes).unwrap();
    let hosts = collect_hosts(&file).build().unwrap();
    let topo = &hosts.topology;
    let client = topo.host_by_name("10.0.0.57").expect("client by its address");
    let server = topo.host_by_name("10.0.0.3").expect("server by its address");
    assert_eq!(topo.host(client).role, Role::Workstation);
    assert_eq!(topo.host(server).role, Role::Plc);
    assert_eq!(topo.host(server).services, vec![Service::Modbus]);
    assert_eq!(topo.host(hosts.tap).name, "capture");
    assert_eq!(topo.host(hosts.tap).role, Role::Switch);
    assert!(topo.hosts.iter().all(|h| h.declared));
    // First appearance order: the client spoke first.
    assert!(client < server);
}

#[test]
fn a_truncated_packet_is_counted_and_skipped() {
    let mut p = handshake();
    p.push(c(0, &read_req(1)));
    p.push(c(12, &read_req(2)));
    let mut frames: Vec<Vec<u8>> = p.iter().map(ethernet).collect();
    let full = frames[3].len() as u32;
    frames[3].truncate(40); // snap length cut inside the TCP header
    let bytes = pcap_of(&frames, |i| (i == 3).then_some(full));
    let (adus, st) = run(bytes);
    assert_eq!(st.skipped.get("truncated"), Some(&1));
    assert_eq!(st.packets, 5);
    // The stream has a hole where the truncated packet was; the next ADU still frames,
    // after the hole is skipped at the end of the capture.
    assert_eq!(adus, vec![(5, read_req(2))]);
}

#[test]
fn a_file_cut_inside_a_record_is_read_up_to_the_cut() {
    let mut p = handshake();
    p.push(c(0, &read_req(1)));
    p.push(c(12, &read_req(2)));
    let mut bytes = pcap(&p);
    bytes.truncate(bytes.len() - 10);
    let (frames, st) = run(bytes);
    assert!(st.read_end.cut_short);
    assert_eq!(frames, vec![(4, read_req(1))]);
}

#[test]
fn garbage_and_empty_files_are_errors_naming_the_file() {
    for bytes in [
        b"this is not a capture at all".to_vec(),
        vec![],
        vec![0xd4, 0xc3, 0xb2],
    ] {
        let e = CaptureFile::from_bytes(Path::new("dir/garbage.pcap"), bytes)
            .err()
            .expect("an error");
        assert!(matches!(e, CaptureError::NotACapture { .. }));
        assert!(e.to_string().contains("dir/garbage.pcap"), "{e}");
    }
    let e = CaptureFile::open(Path::new("/nonexistent/x.pcap"))
        .err()
        .expect("an error");
    assert!(e.to_string().contains("/nonexistent/x.pcap"), "{e}");
}

#[test]
fn random_bytes_after_a_valid_header_never_panic() {
    let mut p = handshake();
    p.push(c(0, &read_req(1)));
    let good = pcap(&p);
    // A simple deterministic generator: every prefix, and the file with bytes flipped.
    for cut in 0..good.len() {
        if let Ok(f) = CaptureFile::from_bytes(Path::new("x"), good[..cut].to_vec()) {
            let hosts = collect_hosts(&f).build().unwrap();
            replay(&f, &hosts, &mut |_, _| {});
        }
    }
    let mut x: u32 = 12345;
    for _ in 0..200 {
        let mut b = good.clone();
        for _ in 0..8 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let i = 24 + (x as usize >> 8) % (b.len() - 24);
            b[i] ^= (x >> 3) as u8 | 1;
        }
        if let Ok(f) = CaptureFile::from_bytes(Path::new("x"), b) {
            let hosts = collect_hosts(&f).build().unwrap();
            replay(&f, &hosts, &mut |_, _| {});
        }
    }
}

#[test]
fn pcapng_is_read_with_its_interface_time_resolution() {
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    let mut p = handshake();
    p.push(c(0, &[read_req(1), read_req(2)].concat()));
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock::new(DataLink::ETHERNET, 65535))
        .unwrap();
    for (i, pk) in p.iter().enumerate() {
        let data = ethernet(pk);
        // No if_tsresol: the timestamp is in microseconds (pcap-file writes the raw value).
        let raw = 1_000_000_000 + 1_000 * i as u64;
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_nanos(raw),
            original_len: data.len() as u32,
            data: data.into(),
            options: vec![],
        })
        .unwrap();
    }
    let bytes = w.into_inner();
    let file = CaptureFile::from_bytes(Path::new("t.pcapng"), bytes).unwrap();
    assert_eq!(file.format(), otrange_defenses::capture::Format::Pcapng);
    let hosts = collect_hosts(&file).build().unwrap();
    let mut seen = Vec::new();
    let st = replay(&file, &hosts, &mut |f, now| seen.push((f.id.0, now.as_nanos())));
    // Packet 4 is 3 ms after packet 1 (1000 us apart).
    assert_eq!(seen, vec![(4, 3_000_000), (4, 3_000_000)]);
    assert_eq!(st.start_unix_ns, Some(1_000_000_000_000));
}

#[test]
fn vlan_tagged_and_raw_ip_packets_are_decoded() {
    use otrange_defenses::capture::packet::{Transport, decode};
    use otrange_defenses::capture::reader::{Record, linktype};
    let req = read_req(1);
    let mut vlan = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .single_vlan(etherparse::VlanId::try_new(42).unwrap())
        .ipv4(CLIENT, SERVER, 64)
        .tcp(CPORT, 502, 1, 1000)
        .write(&mut vlan, &req)
        .unwrap();
    let mut raw = Vec::new();
    PacketBuilder::ipv4(CLIENT, SERVER, 64)
        .tcp(CPORT, 502, 1, 1000)
        .write(&mut raw, &req)
        .unwrap();
    for (lt, data) in [(linktype::ETHERNET, &vlan), (linktype::RAW, &raw)] {
        let rec = Record {
            number: 1,
            ts_ns: 0,
            linktype: lt,
            data,
            orig_len: data.len() as u32,
        };
        let p = decode(&rec).expect("decodes");
        assert_eq!((p.src.octets(), p.dst_port), (CLIENT, 502));
        assert!(matches!(p.transport, Transport::Tcp { payload, .. } if payload == req.as_slice()));
    }
}

/// The captures in tests/data/pcaps (real ones, and fuzzed ones that broke readers).
fn sample_captures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/pcaps");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/data/pcaps")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    assert!(out.len() >= 8, "sample captures missing from {}", dir.display());
    out
}

/// Everything a detector is shown, one line a frame.
fn shown(
    replay_to: impl FnOnce(&mut dyn FnMut(&otrange_sim::net::Frame, otrange_sim::base::time::SimTime)),
) -> Vec<String> {
    let mut seen = Vec::new();
    replay_to(&mut |f, now| seen.push(format!("{f:?} at {now:?}")));
    seen
}

/// `Capture` reads the file once, collecting hosts while it replays; the result must be
/// what collecting the hosts first and replaying after gives, frame for frame.
fn assert_one_pass_matches_two(name: &str, bytes: Vec<u8>) {
    use otrange_defenses::capture::Capture;
    let Ok(file) = CaptureFile::from_bytes(Path::new(name), bytes.clone()) else {
        return;
    };
    let table = collect_hosts(&file);
    let hosts = table.build().unwrap();
    let mut two_stats = None;
    let two = shown(|emit| two_stats = Some(replay(&file, &hosts, emit)));
    let one = Capture::read(CaptureFile::from_bytes(Path::new(name), bytes).unwrap()).unwrap();
    let one_frames = shown(|emit| one.replay(emit));
    assert_eq!(one_frames, two, "{name}: frames");
    assert_eq!(Some(one.stats()), two_stats.as_ref(), "{name}: figures");
    assert_eq!(one.table.addresses(), table.addresses(), "{name}: hosts");
    assert_eq!(one.table.roles(), table.roles(), "{name}: roles");
    assert_eq!(one.hosts.tap, hosts.tap, "{name}: tap");
    assert_eq!(one.hosts.other, hosts.other, "{name}: other");
    let names = |h: &otrange_defenses::capture::CaptureHosts| {
        h.topology
            .hosts
            .iter()
            .map(|x| format!("{} {:?} {:?}", x.name, x.role, x.address))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&one.hosts), names(&hosts), "{name}: topology");
}

#[test]
fn one_pass_replays_exactly_what_two_passes_do() {
    for (name, bytes) in sample_captures() {
        assert_one_pass_matches_two(&name, bytes);
    }
    // Damaged files, as in random_bytes_after_a_valid_header_never_panic.
    let mut p = handshake();
    p.push(c(0, &read_req(1)));
    p.push(s(0, &[0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2]));
    p.push(c(12, &[read_req(2), read_req(3)].concat()));
    let good = pcap(&p);
    let mut x: u32 = 777;
    for _ in 0..200 {
        let mut b = good.clone();
        for _ in 0..6 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let i = 24 + (x as usize >> 8) % (b.len() - 24);
            b[i] ^= (x >> 3) as u8 | 1;
        }
        assert_one_pass_matches_two("mutated", b);
    }
}

#[test]
fn one_pass_names_hosts_beyond_the_limit_other_as_two_passes_do() {
    use otrange_defenses::capture::hosts::MAX_HOSTS;
    // More distinct addresses than hosts allowed, each sending a DNS query (a flow shown
    // to detectors), then Modbus from a folded address to a folded PLC and to a listed one.
    let mut frames = Vec::new();
    for i in 0..(MAX_HOSTS as u32 + 40) {
        let src = (0x0a00_0000u32 + 2 * i).to_be_bytes();
        let dst = (0x0a00_0001u32 + 2 * i).to_be_bytes();
        let mut f = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .udp(40000, 53)
            .write(&mut f, &[1, 2, 3, 4])
            .unwrap();
        frames.push(f);
    }
    let folded = (0x0a00_0000u32 + 2 * (MAX_HOSTS as u32 + 10)).to_be_bytes();
    let folded_plc = (0x0a00_0001u32 + 2 * (MAX_HOSTS as u32 + 20)).to_be_bytes();
    for (src, dst, sp, dp, payload) in [
        (folded, folded_plc, CPORT, 502, read_req(1)),
        (
            folded_plc,
            folded,
            502,
            CPORT,
            vec![0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2],
        ),
        (folded, SERVER, CPORT, 502, read_req(2)),
    ] {
        let mut f = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .tcp(sp, dp, 1, 1000)
            .write(&mut f, &payload)
            .unwrap();
        frames.push(f);
    }
    let bytes = pcap_of(&frames, |_| None);
    let file = CaptureFile::from_bytes(Path::new("many.pcap"), bytes.clone()).unwrap();
    let hosts = collect_hosts(&file).build().unwrap();
    assert!(hosts.other.is_some() && hosts.folded > 0);
    assert_one_pass_matches_two("many.pcap", bytes);
}

#[test]
fn the_fast_decoder_agrees_with_etherparse() {
    use otrange_defenses::capture::packet::{decode, decode_reference, fast};
    use otrange_defenses::capture::reader::Record;
    let mut fast_ok = 0;
    let mut check = |rec: &Record<'_>| {
        assert_eq!(decode(rec), decode_reference(rec), "record {:?}", rec.data);
        if let Some(r) = fast(rec) {
            assert_eq!(r, decode_reference(rec), "record {:?}", rec.data);
            fast_ok += 1;
        }
    };
    let mut packets: Vec<Vec<u8>> = Vec::new();
    for (name, bytes) in sample_captures() {
        let file = CaptureFile::from_bytes(Path::new(&name), bytes).unwrap();
        file.for_each(|rec| {
            check(&rec);
            if rec.linktype == 1 && packets.len() < 2000 {
                packets.push(rec.data.to_vec());
            }
        });
    }
    // Built packets of every shape the fast path takes, and some it must refuse.
    let eth = || PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    let mut b = Vec::new();
    eth()
        .ipv4(CLIENT, SERVER, 64)
        .tcp(CPORT, 502, 7, 1000)
        .syn()
        .ack(9)
        .write(&mut b, &read_req(1))
        .unwrap();
    packets.push(b);
    let mut b = Vec::new();
    eth()
        .ipv4(CLIENT, SERVER, 64)
        .udp(5353, 53)
        .write(&mut b, &[9; 30])
        .unwrap();
    packets.push(b);
    let mut b = Vec::new();
    eth()
        .ipv4(CLIENT, SERVER, 64)
        .icmpv4_echo_request(1, 2)
        .write(&mut b, &[0; 8])
        .unwrap();
    packets.push(b);
    // Every packet with each header byte of the first 80 mutated, and cut at each length.
    let mut x: u32 = 99;
    for p in &packets {
        let mut variants = vec![p.clone()];
        for i in 0..p.len().min(80) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let mut m = p.clone();
            m[i] ^= (x >> 7) as u8 | 1;
            variants.push(m);
            variants.push(p[..i].to_vec());
        }
        // Ethernet padding after the IP packet.
        variants.push([p.as_slice(), &[0; 6]].concat());
        for v in &variants {
            check(&Record {
                number: 1,
                ts_ns: 0,
                linktype: 1,
                data: v,
                orig_len: v.len() as u32,
            });
        }
    }
    assert!(fast_ok > 1000, "the fast path decoded only {fast_ok} records");
}

#[test]
fn a_capture_too_large_to_keep_is_read_twice_with_the_same_result() {
    use otrange_defenses::capture::Capture;
    let dir = std::env::temp_dir().join(format!("otrange-capture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in sample_captures() {
        let path = dir.join(Path::new(&name).file_name().unwrap());
        std::fs::write(&path, &bytes).unwrap();
        let kept = Capture::open(&path).unwrap();
        // A limit of 0 bytes: every file is "too large", its detectors read it again.
        let streamed = Capture::open_with_limit(&path, 0).unwrap();
        assert_eq!(
            shown(|emit| streamed.replay(emit)),
            shown(|emit| kept.replay(emit)),
            "{name}: frames"
        );
        let mut none: Vec<Box<dyn otrange_defenses::detect::Detector>> = Vec::new();
        assert_eq!(
            streamed.run_detectors(&mut none),
            kept.run_detectors(&mut none),
            "{name}: figures"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
