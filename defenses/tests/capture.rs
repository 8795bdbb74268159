//! Reading captures for the detectors: pcap and pcapng records, TCP reassembly and MBAP
//! framing, proven on captures built here byte by byte (Ethernet/IPv4/TCP by `etherparse`,
//! files by `pcap-file`), so each case shows exactly one thing TCP can do to Modbus.

use etherparse::PacketBuilder;
use otrange_defenses::capture::{CaptureError, CaptureFile, CaptureStats, collect_hosts, replay};
use otrange_sim::net::Payload;
use otrange_sim::topology::{Role, Service};
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
            frames.push((f.id.0, b.clone()));
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
